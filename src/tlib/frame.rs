//! Length-prefixed framing of T-Library messages — `[u32 big-endian payload length][payload]` —
//! and the connection handshake rule. Sans-IO: the caller owns the socket and its read buffer and
//! calls [`FrameCodec::decode`] whenever bytes arrive. An incomplete frame is a signal
//! (`Ok(None)`: read more), not an error. This module must never buffer an oversized frame (the
//! header alone condemns it) and never panic on what a peer sends.

use super::codec::{self, CodecError, MAX_PAYLOAD};
use super::{Message, Request, RequestKind, PROTOCOL_VERSION};
use crate::model::ErrorCode;
use bytes::{Buf, BufMut, BytesMut};

/// Size of the length header.
pub const HEADER_LEN: usize = 4;

/// Default largest payload: 1 MiB, well above the guide's ~64 KB of attached data per call.
pub const DEFAULT_MAX_FRAME: usize = 1_048_576;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The header announces a payload above the limit; the connection cannot be resynchronised.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// The frame was complete but its payload is not a valid message. The frame has been
    /// consumed from the buffer.
    #[error("bad frame payload: {0}")]
    Codec(#[from] CodecError),
}

/// Frames and unframes messages with a maximum payload size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameCodec {
    max_frame: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec { max_frame: DEFAULT_MAX_FRAME }
    }
}

impl FrameCodec {
    /// A codec refusing payloads above `max_frame` bytes (capped at the codec's own maximum,
    /// 16 MiB, which bounds decoding memory).
    pub fn new(max_frame: usize) -> Self {
        FrameCodec { max_frame: max_frame.min(MAX_PAYLOAD) }
    }

    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Takes one message off the front of `buf`. `Ok(None)`: the frame is incomplete (nothing
    /// consumed; capacity for the rest of the frame is reserved). `TooLarge` is reported from the
    /// header alone, before any of the payload is buffered.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Message>, FrameError> {
        let Some(header) = buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > self.max_frame {
            return Err(FrameError::TooLarge { len, max: self.max_frame });
        }
        let total = HEADER_LEN + len;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        buf.advance(HEADER_LEN);
        let payload = buf.split_to(len);
        Ok(Some(codec::decode(&payload)?))
    }

    /// Appends one framed message to `buf`. A message whose payload would exceed the limit is
    /// refused and `buf` is left as it was.
    pub fn encode(&self, msg: &Message, buf: &mut BytesMut) -> Result<(), FrameError> {
        let start = buf.len();
        buf.put_u32(0);
        let result = codec::encode(msg, buf).map_err(FrameError::from).and_then(|()| {
            let len = buf.len() - start - HEADER_LEN;
            if len > self.max_frame {
                return Err(FrameError::TooLarge { len, max: self.max_frame });
            }
            // len <= max_frame <= MAX_PAYLOAD, so it fits the u32 header.
            buf[start..start + HEADER_LEN].copy_from_slice(&(len as u32).to_be_bytes());
            Ok(())
        });
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }
}

/// The handshake rule: a client's first message must be OpenServer or OpenServerEx, with
/// ProtocolVersion 1 (absent means 1). Anything else is answered EventError 55
/// (TERR_PROTO_VERS) — a client that does not open the session is not speaking this protocol.
pub fn check_open_server(request: &Request) -> Result<(), ErrorCode> {
    let opens = matches!(request.kind, RequestKind::OpenServer | RequestKind::OpenServerEx);
    let version = request.attrs.protocol_version.unwrap_or(PROTOCOL_VERSION);
    if opens && version == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(ErrorCode::ProtoVers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlib::{Event, EventKind};

    fn ringing() -> Message {
        let mut ev = Event::new(EventKind::Ringing);
        ev.attrs.reference_id = Some(9);
        Message::Event(ev)
    }

    #[test]
    fn frames_round_trip_back_to_back() {
        let codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        codec.encode(&ringing(), &mut buf).unwrap();
        codec.encode(&Message::Request(Request::new(RequestKind::QueryServer)), &mut buf).unwrap();
        assert_eq!(&buf[..HEADER_LEN], &[0, 0, 0, 5]);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(ringing()));
        assert!(matches!(codec.decode(&mut buf).unwrap(), Some(Message::Request(_))));
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
    }

    #[test]
    fn truncated_frames_are_incomplete_not_errors() {
        let codec = FrameCodec::default();
        let mut full = BytesMut::new();
        codec.encode(&ringing(), &mut full).unwrap();
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert_eq!(codec.decode(&mut part).unwrap(), None, "cut at {cut}");
            assert_eq!(part.len(), cut, "nothing consumed");
        }
    }

    #[test]
    fn oversized_header_is_refused_before_the_body_arrives() {
        let codec = FrameCodec::new(1024);
        let mut buf = BytesMut::from(&[0u8, 0, 4, 1][..]);
        assert_eq!(codec.decode(&mut buf), Err(FrameError::TooLarge { len: 1025, max: 1024 }));
        let mut buf = BytesMut::from(&[0xffu8, 0xff, 0xff, 0xff][..]);
        assert!(matches!(codec.decode(&mut buf), Err(FrameError::TooLarge { .. })));
        assert!(buf.capacity() < 1024, "no buffer reserved for an oversized frame");
    }

    #[test]
    fn encode_refuses_frames_above_the_limit() {
        let codec = FrameCodec::new(16);
        let mut ev = Event::new(EventKind::Ringing);
        ev.attrs.ani = Some("x".repeat(64));
        let mut buf = BytesMut::from(&b"keep"[..]);
        let err = codec.encode(&Message::Event(ev), &mut buf).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { max: 16, .. }));
        assert_eq!(&buf[..], b"keep");
    }

    #[test]
    fn bad_payloads_are_consumed_and_typed() {
        let codec = FrameCodec::default();
        let mut buf = BytesMut::from(&[0u8, 0, 0, 2, 7, 7, 0, 0][..]);
        assert_eq!(codec.decode(&mut buf), Err(FrameError::Codec(CodecError::UnknownMessageType(7))));
        assert_eq!(&buf[..], &[0, 0], "the bad frame was consumed");
    }

    #[test]
    fn handshake_requires_open_server_version_1() {
        let mut open = Request::new(RequestKind::OpenServer);
        assert_eq!(check_open_server(&open), Ok(()));
        open.attrs.protocol_version = Some(1);
        assert_eq!(check_open_server(&open), Ok(()));
        open.attrs.protocol_version = Some(2);
        assert_eq!(check_open_server(&open), Err(ErrorCode::ProtoVers));
        assert_eq!(check_open_server(&Request::new(RequestKind::OpenServerEx)), Ok(()));
        assert_eq!(check_open_server(&Request::new(RequestKind::MakeCall)), Err(ErrorCode::ProtoVers));
    }
}
