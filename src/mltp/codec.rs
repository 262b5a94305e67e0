//! The MLTP text codec, sans-IO: bytes in, [`MltpMessage`]s out, and back. A frame is a start
//! line `NAME SP id SP MLTP/1.0`, header lines `name: value`, a blank line, then `content-length`
//! bytes of UTF-8 body. Lines end in CRLF (LF alone is accepted on input).
//!
//! Decoding is incremental and linear: the codec remembers how far it has parsed the buffer, so
//! a frame trickling in byte by byte is read once, and every limit is enforced as soon as it can
//! be known (a line as soon as it outgrows the limit, a body from its `content-length`), so a
//! peer can never make it buffer more than the limits allow. It must never panic on any input.

use super::frame::{canonical_header_name, is_header_name, parse_decimal, CONTENT_LENGTH, VERSION};
use super::{MessageName, MltpError, MltpMessage, TxId};
use bytes::{BufMut, BytesMut};

/// Default longest start or header line (without its line end): 8 KiB.
pub const DEFAULT_MAX_LINE: usize = 8 * 1024;
/// Default most headers in a frame, `content-length` not counted.
pub const DEFAULT_MAX_HEADERS: usize = 64;
/// Default largest body: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Encoder and incremental decoder with limits. Decoding keeps per-stream state: use one codec
/// per connection, only ever append to the buffer it decodes from, and close the connection
/// after a fatal error ([`MltpError::is_fatal`]). After any other error the bad frame has been
/// consumed and decoding continues with the next one.
#[derive(Clone, Debug)]
pub struct MltpCodec {
    /// Longest start or header line in bytes, line end excluded.
    pub max_line: usize,
    /// Most headers per frame, `content-length` excluded.
    pub max_headers: usize,
    /// Largest body in bytes.
    pub max_body: usize,
    partial: Partial,
}

impl Default for MltpCodec {
    fn default() -> Self {
        MltpCodec::new(DEFAULT_MAX_LINE, DEFAULT_MAX_HEADERS, DEFAULT_MAX_BODY)
    }
}

/// What has been parsed of the frame at the front of the buffer.
#[derive(Clone, Debug, Default)]
struct Partial {
    /// Bytes of the buffer parsed so far (always whole lines).
    scanned: usize,
    start: Option<(Option<MessageName>, TxId)>,
    headers: Vec<(String, String)>,
    content_length: Option<usize>,
    /// Length of the head, blank line included, once the blank line has been seen.
    head_len: Option<usize>,
    /// The first error that does not break the framing, reported once the frame is consumed.
    deferred: Option<MltpError>,
}

impl MltpCodec {
    pub fn new(max_line: usize, max_headers: usize, max_body: usize) -> Self {
        MltpCodec { max_line, max_headers, max_body, partial: Partial::default() }
    }

    /// Takes one frame off the front of `buf`: `Ok(None)` while it is incomplete (nothing is
    /// consumed), the message once complete (its bytes are consumed), or an error.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<MltpMessage>, MltpError> {
        let result = self.step(buf);
        if !matches!(result, Ok(None)) {
            self.partial = Partial::default();
        }
        result
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<MltpMessage>, MltpError> {
        if self.partial.scanned > buf.len() {
            // Not the buffer this frame was being read from: start over rather than index past it.
            self.partial = Partial::default();
        }
        loop {
            if let Some(head_len) = self.partial.head_len {
                return self.finish(buf, head_len);
            }
            let rest = &buf[self.partial.scanned..];
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                // A CR may still be waiting for its LF, hence the one byte of slack.
                if rest.len() > self.max_line + 1 {
                    return Err(MltpError::LineTooLong { max: self.max_line });
                }
                return Ok(None);
            };
            let line = rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]);
            if line.len() > self.max_line {
                return Err(MltpError::LineTooLong { max: self.max_line });
            }
            self.partial.scanned += lf + 1;
            self.line(line)?;
        }
    }

    /// One complete line of the head.
    fn line(&mut self, line: &[u8]) -> Result<(), MltpError> {
        let p = &mut self.partial;
        if p.start.is_none() {
            let (name, id) = parse_start_line(line)?;
            let known = MessageName::parse(name);
            if known.is_none() {
                p.deferred = Some(MltpError::UnknownMessage { name: name.to_string(), id });
            }
            p.start = Some((known, id));
            return Ok(());
        }
        if line.is_empty() {
            p.head_len = Some(p.scanned);
            return Ok(());
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            defer(&mut p.deferred, MltpError::BadHeaderLine(String::from_utf8_lossy(line).into_owned()));
            return Ok(());
        };
        let (raw_name, raw_value) = (&line[..colon], &line[colon + 1..]);
        let name = String::from_utf8_lossy(raw_name);
        if !is_header_name(&name) {
            defer(&mut p.deferred, MltpError::InvalidHeaderName(name.into_owned()));
            return Ok(());
        }
        let name = canonical_header_name(&name);
        let value = std::str::from_utf8(raw_value).map(str::trim);
        if name == CONTENT_LENGTH {
            let value = value.map_err(|_| MltpError::BadContentLength("not UTF-8".into()))?;
            if p.content_length.is_some() {
                return Err(MltpError::BadContentLength("appears twice".into()));
            }
            let len: usize = parse_decimal(value)
                .ok_or_else(|| MltpError::BadContentLength(format!("{value:?} is not a number")))?;
            if len > self.max_body {
                return Err(MltpError::BodyTooLarge { len, max: self.max_body });
            }
            p.content_length = Some(len);
            return Ok(());
        }
        if p.headers.len() >= self.max_headers {
            return Err(MltpError::TooManyHeaders { max: self.max_headers });
        }
        match value {
            Err(_) => defer(&mut p.deferred, MltpError::InvalidUtf8 { header: name }),
            Ok(_) if p.headers.iter().any(|(n, _)| *n == name) => {
                defer(&mut p.deferred, MltpError::DuplicateHeader { header: name })
            }
            Ok(value) => p.headers.push((name, value.to_string())),
        }
        Ok(())
    }

    /// The head is complete: wait for the body, then consume the frame.
    fn finish(&mut self, buf: &mut BytesMut, head_len: usize) -> Result<Option<MltpMessage>, MltpError> {
        let body_len = self.partial.content_length.unwrap_or(0);
        let total = head_len + body_len;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let frame = buf.split_to(total);
        let p = std::mem::take(&mut self.partial);
        if let Some(e) = p.deferred {
            return Err(e);
        }
        let body =
            std::str::from_utf8(&frame[head_len..]).map_err(|_| MltpError::InvalidUtf8 { header: "body".into() })?;
        // A deferred error is set whenever the name is unknown, so the name is known here.
        let Some((Some(name), id)) = p.start else {
            return Err(MltpError::BadStartLine("no start line".into()));
        };
        let body = (!body.is_empty()).then(|| body.to_string());
        Ok(Some(MltpMessage { name, id, headers: p.headers, body }))
    }

    /// Appends `msg` as one frame. A frame the decoder would refuse (bad or duplicate header name,
    /// multi-line value, over a limit) is an error and leaves `buf` as it was. Values are trimmed.
    pub fn encode(&self, msg: &MltpMessage, buf: &mut BytesMut) -> Result<(), MltpError> {
        self.check(msg)?;
        let body = msg.body_str();
        let start = format!("{} {} {VERSION}\r\n", msg.name.as_str(), msg.id);
        buf.reserve(
            start.len() + body.len() + 32 + msg.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>(),
        );
        buf.put_slice(start.as_bytes());
        for (name, value) in &msg.headers {
            put_line(buf, name, value.trim());
        }
        put_line(buf, CONTENT_LENGTH, &body.len().to_string());
        buf.put_slice(b"\r\n");
        buf.put_slice(body.as_bytes());
        Ok(())
    }

    fn check(&self, msg: &MltpMessage) -> Result<(), MltpError> {
        let start_len = msg.name.as_str().len() + 2 + msg.id.to_string().len() + VERSION.len();
        if start_len > self.max_line {
            return Err(MltpError::LineTooLong { max: self.max_line });
        }
        if msg.headers.len() > self.max_headers {
            return Err(MltpError::TooManyHeaders { max: self.max_headers });
        }
        let body_len = msg.body_str().len();
        if body_len > self.max_body {
            return Err(MltpError::BodyTooLarge { len: body_len, max: self.max_body });
        }
        for (i, (name, value)) in msg.headers.iter().enumerate() {
            if !is_header_name(name) {
                return Err(MltpError::InvalidHeaderName(name.clone()));
            }
            if name.eq_ignore_ascii_case(CONTENT_LENGTH) {
                return Err(MltpError::ReservedHeader(name.clone()));
            }
            if value.contains(['\r', '\n']) {
                return Err(MltpError::MultiLineValue { header: name.clone() });
            }
            if name.len() + 2 + value.trim().len() > self.max_line {
                return Err(MltpError::LineTooLong { max: self.max_line });
            }
            if msg.headers[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(MltpError::DuplicateHeader { header: name.clone() });
            }
        }
        Ok(())
    }
}

fn defer(slot: &mut Option<MltpError>, e: MltpError) {
    slot.get_or_insert(e);
}

fn put_line(buf: &mut BytesMut, name: &str, value: &str) {
    buf.put_slice(name.as_bytes());
    buf.put_slice(b": ");
    buf.put_slice(value.as_bytes());
    buf.put_slice(b"\r\n");
}

/// `NAME SP id SP MLTP/1.0`: the name as written (it may be unknown) and the id.
fn parse_start_line(line: &[u8]) -> Result<(&str, TxId), MltpError> {
    let bad = |why: &str| MltpError::BadStartLine(why.to_string());
    let line = std::str::from_utf8(line).map_err(|_| bad("not UTF-8"))?;
    let mut parts = line.split(' ');
    let (Some(name), Some(id), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected `NAME id MLTP/1.0`"));
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("the message name must be printable ASCII"));
    }
    let id = TxId::parse(id).ok_or_else(|| bad("the transaction id must be `*` or a decimal number"))?;
    if version != VERSION {
        return Err(MltpError::UnsupportedVersion(version.chars().take(32).collect()));
    }
    Ok((name, id))
}
