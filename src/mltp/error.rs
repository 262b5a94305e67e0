//! The one error type of the MLTP layer, for decoding, encoding and typed conversion. Errors that
//! leave the byte stream unsynchronised are told apart by [`MltpError::is_fatal`]: after one the
//! connection must be closed; after any other the bad frame has been consumed and the next one
//! decodes normally, so a link can answer `RESPONSE <id>` with an error and carry on.
//! Messages never quote a sensitive value (user data, digits, treatment parameters).

use super::{MessageName, TxId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MltpError {
    /// A start or header line longer than the limit (fatal; reported before the rest arrives).
    #[error("line longer than {max} bytes")]
    LineTooLong { max: usize },
    /// More headers than the limit (fatal).
    #[error("more than {max} headers")]
    TooManyHeaders { max: usize },
    /// `content-length` above the limit, or a body to encode above it (fatal).
    #[error("body of {len} bytes exceeds the maximum of {max} bytes")]
    BodyTooLarge { len: usize, max: usize },
    /// The first line is not `NAME SP id SP MLTP/1.0` (fatal).
    #[error("bad start line: {0}")]
    BadStartLine(String),
    /// The start line names another protocol version (fatal).
    #[error("unsupported protocol version {0:?} (expected MLTP/1.0)")]
    UnsupportedVersion(String),
    /// `content-length` is not a decimal number or appears twice (fatal: the frame's end is unknown).
    #[error("bad content-length: {0}")]
    BadContentLength(String),

    /// A well-formed frame whose name is not in the catalogue; `id` lets the receiver answer it.
    #[error("unknown message {name:?}")]
    UnknownMessage { name: String, id: TxId },
    /// A header line without a colon.
    #[error("malformed header line {0:?}")]
    BadHeaderLine(String),
    /// A header name outside `[A-Za-z0-9-]+`, or empty.
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String),
    /// A header value (or, with header `body`, the body) that is not UTF-8.
    #[error("{header}: not valid UTF-8")]
    InvalidUtf8 { header: String },
    #[error("header {header} appears twice")]
    DuplicateHeader { header: String },
    /// Encoding a value holding CR or LF: it would break the framing.
    #[error("header {header}: value spans several lines")]
    MultiLineValue { header: String },
    /// Encoding a frame that sets `content-length` itself: the codec writes it from the body.
    #[error("header {0} is written by the codec from the body, not by the message")]
    ReservedHeader(String),

    /// A typed message lacks a header (or body) its catalogue entry requires.
    #[error("{message}: missing required header {header}")]
    MissingHeader { message: MessageName, header: String },
    /// A header value that does not parse as its catalogue type.
    #[error("{message}: header {header}: {reason}")]
    BadValue { message: MessageName, header: String, reason: String },
    /// A request or RESPONSE with id `*`, or an event with a numeric id.
    #[error("{message} cannot carry transaction id {id}")]
    WrongTxId { message: MessageName, id: TxId },
}

impl MltpError {
    /// Whether the byte stream can no longer be followed: the connection must be closed.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            MltpError::LineTooLong { .. }
                | MltpError::TooManyHeaders { .. }
                | MltpError::BodyTooLarge { .. }
                | MltpError::BadStartLine(_)
                | MltpError::UnsupportedVersion(_)
                | MltpError::BadContentLength(_)
        )
    }
}
