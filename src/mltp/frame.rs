//! The generic MLTP frame: a message name from the catalogue, a transaction id, ordered headers
//! and an optional UTF-8 body. This is what the codec reads and writes; [`super::Mltp`] gives it
//! types. `content-length` is framing, never one of a frame's headers: the codec derives it from
//! the body. Plain data: no I/O, no validation beyond what accessors need.

use super::MessageName;
use std::fmt;

/// The version token ending every start line.
pub const VERSION: &str = "MLTP/1.0";

/// The header carrying the body length; written by the codec, never stored in a frame.
pub const CONTENT_LENGTH: &str = "content-length";

/// Headers the guide writes with capitals (`Data`, `Treatment-Params`); every other header name is
/// lower case. Input is accepted in any case and normalised to these spellings.
pub const CAPITALISED_HEADERS: &[&str] = &["Data", "Treatment-Params"];

/// The transaction id of a start line: chosen by the requester and echoed by `RESPONSE`, or `*`
/// for unsolicited messages (events).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxId {
    Tx(u64),
    Unsolicited,
}

impl TxId {
    /// `*` or a decimal u64 (digits only).
    pub fn parse(s: &str) -> Option<TxId> {
        if s == "*" {
            Some(TxId::Unsolicited)
        } else {
            parse_decimal(s).map(TxId::Tx)
        }
    }

    /// The numeric id, `None` for `*`.
    pub fn tx(self) -> Option<u64> {
        match self {
            TxId::Tx(n) => Some(n),
            TxId::Unsolicited => None,
        }
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxId::Tx(n) => write!(f, "{n}"),
            TxId::Unsolicited => f.write_str("*"),
        }
    }
}

/// A decimal number written with digits only (no sign, no spaces), as every MLTP number is.
pub(crate) fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether `name` may be a header name: `[A-Za-z0-9-]+`.
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The catalogue spelling of a header name: `Data` and `Treatment-Params` as the guide writes them,
/// every other name in lower case.
pub fn canonical_header_name(name: &str) -> String {
    match CAPITALISED_HEADERS.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        Some(c) => (*c).to_string(),
        None => name.to_ascii_lowercase(),
    }
}

/// One MLTP message as framed on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MltpMessage {
    pub name: MessageName,
    pub id: TxId,
    /// In wire order, without `content-length`. Names as the catalogue spells them.
    pub headers: Vec<(String, String)>,
    /// `None` and `Some("")` are the same on the wire (`content-length: 0`); the decoder gives `None`.
    pub body: Option<String>,
}

impl MltpMessage {
    pub fn new(name: MessageName, id: TxId) -> Self {
        MltpMessage { name, id, headers: Vec::new(), body: None }
    }

    /// The first value of header `name`, compared without regard to ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Appends a header (no check: the encoder validates names, values and duplicates).
    pub fn push_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push_header(name, value);
        self
    }

    /// Sets the body; an empty text means no body.
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        let body = body.into();
        self.body = (!body.is_empty()).then_some(body);
        self
    }

    /// The body, `""` when there is none.
    pub fn body_str(&self) -> &str {
        self.body.as_deref().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_ids_parse_digits_or_star() {
        assert_eq!(TxId::parse("*"), Some(TxId::Unsolicited));
        assert_eq!(TxId::parse("42"), Some(TxId::Tx(42)));
        assert_eq!(TxId::parse("18446744073709551615"), Some(TxId::Tx(u64::MAX)));
        for bad in ["", "+1", "-1", " 1", "1a", "18446744073709551616", "**"] {
            assert_eq!(TxId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(TxId::Tx(7).to_string(), "7");
        assert_eq!(TxId::Unsolicited.to_string(), "*");
    }

    #[test]
    fn header_names_keep_the_catalogue_spelling() {
        assert_eq!(canonical_header_name("DATA"), "Data");
        assert_eq!(canonical_header_name("treatment-params"), "Treatment-Params");
        assert_eq!(canonical_header_name("Party-State"), "party-state");
        assert!(is_header_name("conn-id"));
        assert!(!is_header_name("conn_id"));
        assert!(!is_header_name(""));
        assert!(!is_header_name("a b"));
    }

    #[test]
    fn header_lookup_ignores_case_and_empty_bodies_are_none() {
        let m = MltpMessage::new(MessageName::Ping, TxId::Tx(1)).with_header("Data", "{}").with_body("");
        assert_eq!(m.header("data"), Some("{}"));
        assert_eq!(m.header("call"), None);
        assert_eq!(m.body, None);
        assert_eq!(m.body_str(), "");
    }
}
