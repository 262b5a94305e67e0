//! An event encoded once for every connection that receives it, with the `EventSequenceNumber`
//! left out: each connection numbers its own events 1, 2, 3, ... with no gap, which a shared
//! global counter cannot give (a client sees only some of the server's events). The number is
//! written as the payload's first attribute, then the shared bytes follow unchanged, so a fan-out
//! to a thousand desktops still encodes the event once. Receivers accept attributes in any order
//! (docs/protocol.md, 3.2).

use super::codec::{self, CodecError};
use super::frame::{FrameError, HEADER_LEN};
use super::Event;
use bytes::{Bytes, BytesMut};

/// The wire tag of `EventSequenceNumber`.
pub const EVENT_SEQUENCE_NUMBER_TAG: u64 = 47;

/// Worst-case bytes the per-connection part adds: a count growing by one (9) + tag (9) + seq (9).
const SEQ_OVERHEAD: usize = 27;

/// One event's payload, split around the place of its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequencedFrame {
    /// Message type and event code.
    head: Bytes,
    /// Attributes other than EventSequenceNumber.
    count: u64,
    attrs: Bytes,
}

impl SequencedFrame {
    /// Encodes `event` without its sequence number (any it carries is ignored), refusing a
    /// payload that could exceed `max_frame` once numbered.
    pub fn encode(event: &Event, max_frame: usize) -> Result<Self, FrameError> {
        let mut buf = BytesMut::new();
        if event.attrs.event_sequence_number.is_some() {
            let mut ev = event.clone();
            ev.attrs.event_sequence_number = None;
            codec::encode_event(&ev, &mut buf)?;
        } else {
            codec::encode_event(event, &mut buf)?;
        }
        if buf.len() + SEQ_OVERHEAD > max_frame {
            return Err(FrameError::TooLarge { len: buf.len() + SEQ_OVERHEAD, max: max_frame });
        }
        let bytes = buf.freeze();
        let mut at = 0;
        read_varint(&bytes, &mut at)?; // message type
        read_varint(&bytes, &mut at)?; // event code
        let head_end = at;
        let count = read_varint(&bytes, &mut at)?;
        Ok(SequencedFrame { head: bytes.slice(..head_end), count, attrs: bytes.slice(at..) })
    }

    /// Appends the whole frame (length header included) numbered `seq` to `out`.
    pub fn write(&self, seq: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_LEN]);
        out.extend_from_slice(&self.head);
        write_varint(self.count + 1, out);
        write_varint(EVENT_SEQUENCE_NUMBER_TAG, out);
        write_varint(seq, out);
        out.extend_from_slice(&self.attrs);
        let len = (out.len() - start - HEADER_LEN) as u32;
        out[start..start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
    }
}

/// bincode's standard unsigned varint (docs/protocol.md, 3.1).
fn write_varint(v: u64, out: &mut Vec<u8>) {
    match v {
        0..=250 => out.push(v as u8),
        251..=0xFFFF => {
            out.push(0xFB);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(0xFC);
            out.extend_from_slice(&(v as u32).to_le_bytes());
        }
        _ => {
            out.push(0xFD);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

fn read_varint(b: &[u8], at: &mut usize) -> Result<u64, CodecError> {
    let first = *b.get(*at).ok_or(CodecError::Truncated)?;
    *at += 1;
    let width = match first {
        0..=250 => return Ok(first as u64),
        0xFB => 2,
        0xFC => 4,
        0xFD => 8,
        _ => return Err(CodecError::Malformed(format!("varint marker {first:#x}"))),
    };
    let bytes = b.get(*at..*at + width).ok_or(CodecError::Truncated)?;
    *at += width;
    let mut le = [0u8; 8];
    le[..width].copy_from_slice(bytes);
    Ok(u64::from_le_bytes(le))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnId, KvList};
    use crate::tlib::{EventKind, FrameCodec, Message};

    fn sample() -> Event {
        let mut ev = Event::new(EventKind::Ringing);
        ev.attrs.this_dn = Some("sip:agent01@skype.lab".into());
        ev.attrs.conn_id = Some(ConnId(0x006c_0246_2a16_1006));
        ev.attrs.user_data = Some(KvList::new().with("k", "v"));
        ev
    }

    #[test]
    fn numbered_frames_decode_to_the_event_with_that_number() {
        let frame = SequencedFrame::encode(&sample(), 1 << 20).unwrap();
        for seq in [0u64, 1, 250, 251, 65_535, 65_536, u32::MAX as u64 + 1, u64::MAX] {
            let mut out = Vec::new();
            frame.write(seq, &mut out);
            let mut buf = BytesMut::from(&out[..]);
            let Some(Message::Event(got)) = FrameCodec::default().decode(&mut buf).unwrap() else { panic!() };
            let mut want = sample();
            want.attrs.event_sequence_number = Some(seq);
            assert_eq!(got, want, "seq {seq}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn a_number_already_set_is_replaced_not_duplicated() {
        let mut ev = sample();
        ev.attrs.event_sequence_number = Some(99);
        let mut out = Vec::new();
        SequencedFrame::encode(&ev, 1 << 20).unwrap().write(5, &mut out);
        let Some(Message::Event(got)) = FrameCodec::default().decode(&mut BytesMut::from(&out[..])).unwrap() else {
            panic!()
        };
        assert_eq!(got.attrs.event_sequence_number, Some(5));
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut ev = sample();
        ev.attrs.ani = Some("x".repeat(100));
        assert!(matches!(SequencedFrame::encode(&ev, 64), Err(FrameError::TooLarge { .. })));
    }
}
