//! The snapshot log's on-disk format, sans IO: a header, then frames. One frame is one batch the
//! Persister committed — all of it or none of it (a batch larger than [`MAX_FRAME`], which the
//! Persister's batches are not, is split, and then each part is all-or-nothing): a frame whose
//! length or checksum does not hold is a write the process did not finish (it crashed mid-append,
//! before the fsync that would have acknowledged the batch), and it ends the log.
//!
//! ```text
//! header  "SFBSNAPLOG" 0x00 0x01            12 bytes (magic, format version 1)
//! frame   body_len: u32 LE | crc32(body): u32 LE | body
//! body    entry*
//! entry   0x01 key_len: u16 LE value_len: u32 LE key value     a snapshot written
//!         0x02 key_len: u16 LE key                              a snapshot removed
//! ```

/// The file's first bytes: what it is and the format's version.
pub const HEADER: &[u8; 12] = b"SFBSNAPLOG\x00\x01";
/// Frame length and checksum.
pub const FRAME_HEAD: usize = 8;
/// The largest frame written: a larger batch is split (each part still all-or-nothing). Also the
/// largest frame read, so a corrupt length cannot ask for gigabytes.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;
const PUT: u8 = 1;
const REMOVE: u8 = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogFormatError {
    #[error("not a snapshot log (header {0:02x?})")]
    Header(Vec<u8>),
    #[error("key of {0} bytes (at most 65535)")]
    KeyTooLong(usize),
    #[error("snapshot of {0} bytes does not fit in one frame")]
    ValueTooLarge(usize),
}

/// One entry of a frame, borrowed from the bytes it was read from. `value` is its position in
/// those bytes (the store keeps positions, not values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<'a> {
    Put { key: &'a str, value: std::ops::Range<usize> },
    Remove { key: &'a str },
}

/// Whether one entry can be written: a key over 65,535 bytes or a snapshot that would not fit in
/// one frame cannot (the store refuses that entry alone, not its batch).
pub fn check_entry(key: &str, value: Option<&[u8]>) -> Result<(), LogFormatError> {
    if u16::try_from(key.len()).is_err() {
        return Err(LogFormatError::KeyTooLong(key.len()));
    }
    let size = 3 + key.len() + value.map_or(0, |v| 4 + v.len());
    if size > MAX_FRAME - FRAME_HEAD {
        return Err(LogFormatError::ValueTooLarge(size));
    }
    Ok(())
}

/// Appends frames for `entries` to `out`, a new frame whenever the current one would pass
/// [`MAX_FRAME`]. `None` removes the key. Fails, writing nothing more, at the first entry
/// [`check_entry`] refuses. Returns the entries written, values as positions in `out` (the store
/// indexes them without reading its own bytes back).
pub fn encode_batch<'a>(
    out: &mut Vec<u8>,
    entries: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
) -> Result<Vec<Entry<'a>>, LogFormatError> {
    let mut written = Vec::new();
    let mut frame_start = start_frame(out);
    for (key, value) in entries {
        check_entry(key, value)?;
        let key_len = key.len() as u16;
        let size = 3 + key.len() + value.map_or(0, |v| 4 + v.len());
        if out.len() - frame_start + size > MAX_FRAME {
            finish_frame(out, frame_start);
            frame_start = start_frame(out);
        }
        match value {
            Some(v) => {
                out.push(PUT);
                out.extend_from_slice(&key_len.to_le_bytes());
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(key.as_bytes());
                written.push(Entry::Put { key, value: out.len()..out.len() + v.len() });
                out.extend_from_slice(v);
            }
            None => {
                out.push(REMOVE);
                out.extend_from_slice(&key_len.to_le_bytes());
                out.extend_from_slice(key.as_bytes());
                written.push(Entry::Remove { key });
            }
        }
    }
    finish_frame(out, frame_start);
    Ok(written)
}

fn start_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEAD]);
    start
}

/// Fills in the frame's length and checksum; an empty frame is taken back out.
fn finish_frame(out: &mut Vec<u8>, start: usize) {
    let body = &out[start + FRAME_HEAD..];
    if body.is_empty() {
        out.truncate(start);
        return;
    }
    let len = (body.len() as u32).to_le_bytes();
    let crc = crc32fast::hash(body).to_le_bytes();
    out[start..start + 4].copy_from_slice(&len);
    out[start + 4..start + 8].copy_from_slice(&crc);
}

/// What a log's bytes hold: every entry of every whole frame, in order, and where the whole
/// frames end. Bytes after `valid_len` are an unfinished append (or damage) to cut off.
#[derive(Debug)]
pub struct Scan<'a> {
    pub entries: Vec<Entry<'a>>,
    pub valid_len: usize,
}

/// Reads a whole log (header included). Only a wrong header is an error: a torn or damaged frame
/// ends the scan there.
pub fn scan(bytes: &[u8]) -> Result<Scan<'_>, LogFormatError> {
    if bytes.len() < HEADER.len() || &bytes[..HEADER.len()] != HEADER {
        return Err(LogFormatError::Header(bytes[..bytes.len().min(HEADER.len())].to_vec()));
    }
    Ok(frames(bytes, HEADER.len()))
}

/// The whole frames from `at` on (a log's tail, or a batch just encoded with positions relative
/// to its own bytes).
pub fn frames(bytes: &[u8], mut at: usize) -> Scan<'_> {
    let mut entries = Vec::new();
    while let Some((body, next)) = frame_at(bytes, at) {
        let before = entries.len();
        if !parse_body(bytes, body, &mut entries) {
            entries.truncate(before);
            break;
        }
        at = next;
    }
    Scan { entries, valid_len: at }
}

/// The body of the frame at `at` and where the next one starts, if the frame is whole.
fn frame_at(bytes: &[u8], at: usize) -> Option<(std::ops::Range<usize>, usize)> {
    let head = bytes.get(at..at + FRAME_HEAD)?;
    let len = u32::from_le_bytes(head[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
    if len == 0 || len > MAX_FRAME {
        return None;
    }
    let body = at + FRAME_HEAD..at + FRAME_HEAD + len;
    (crc32fast::hash(bytes.get(body.clone())?) == crc).then_some((body.clone(), body.end))
}

/// The entries of a checksummed body; false if they do not parse (a bug or a matching checksum
/// over damage: either way the frame is not trusted).
fn parse_body<'a>(bytes: &'a [u8], body: std::ops::Range<usize>, out: &mut Vec<Entry<'a>>) -> bool {
    let mut at = body.start;
    let u16_at = |i: usize| bytes.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |i: usize| bytes.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    while at < body.end {
        let (Some(op), Some(key_len)) = (bytes.get(at), u16_at(at + 1)) else { return false };
        let (key_at, value_len) = match *op {
            PUT => match u32_at(at + 3) {
                Some(n) => (at + 7, n),
                None => return false,
            },
            REMOVE => (at + 3, 0),
            _ => return false,
        };
        // Checked: on a 32-bit target a damaged body with a matching checksum could overflow.
        let Some(end) = key_at.checked_add(key_len).and_then(|e| e.checked_add(value_len)) else { return false };
        if end > body.end {
            return false;
        }
        let Ok(key) = std::str::from_utf8(&bytes[key_at..key_at + key_len]) else { return false };
        out.push(match *op {
            PUT => Entry::Put { key, value: key_at + key_len..end },
            _ => Entry::Remove { key },
        });
        at = end;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    type Batch<'a> = &'a [(&'a str, Option<&'a [u8]>)];

    fn log(batches: &[Batch<'_>]) -> Vec<u8> {
        let mut out = HEADER.to_vec();
        for b in batches {
            encode_batch(&mut out, b.iter().copied()).unwrap();
        }
        out
    }

    fn entries(bytes: &[u8]) -> Vec<(String, Option<Vec<u8>>)> {
        let scan = scan(bytes).unwrap();
        let owned = scan.entries.iter().map(|e| match e {
            Entry::Put { key, value } => (key.to_string(), Some(bytes[value.clone()].to_vec())),
            Entry::Remove { key } => (key.to_string(), None),
        });
        owned.collect()
    }

    #[test]
    fn batches_round_trip_in_order() {
        let bytes = log(&[&[("dn:a", Some(b"{1}")), ("call:1", Some(b""))], &[("dn:a", None), ("dn:b", Some(b"x"))]]);
        let back = entries(&bytes);
        let want = [("dn:a", Some(&b"{1}"[..])), ("call:1", Some(b"")), ("dn:a", None), ("dn:b", Some(b"x"))];
        let want: Vec<_> = want.iter().map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec))).collect();
        assert_eq!(back, want);
        assert_eq!(scan(&bytes).unwrap().valid_len, bytes.len());
    }

    /// The positions encode_batch reports (what the store indexes) are the ones a scan finds.
    #[test]
    fn encoded_positions_match_what_a_scan_reads() {
        let mut bytes = HEADER.to_vec();
        let written = encode_batch(&mut bytes, [("a", Some(&b"one"[..])), ("b", None), ("c", Some(b""))]).unwrap();
        assert_eq!(written, scan(&bytes).unwrap().entries);
    }

    #[test]
    fn an_empty_batch_writes_nothing() {
        let mut out = Vec::new();
        encode_batch(&mut out, std::iter::empty()).unwrap();
        assert!(out.is_empty());
    }

    /// A crash mid-append leaves part of the last frame: every cut drops that whole batch and
    /// nothing before it.
    #[test]
    fn a_torn_last_frame_is_dropped_whole_at_every_cut() {
        let first = log(&[&[("dn:a", Some(b"one"))]]);
        let both = log(&[&[("dn:a", Some(b"one"))], &[("dn:a", Some(b"two")), ("dn:b", Some(b"three"))]]);
        for cut in first.len()..both.len() {
            let s = scan(&both[..cut]).unwrap();
            assert_eq!(s.valid_len, first.len(), "cut at {cut}");
            assert_eq!(s.entries.len(), 1, "cut at {cut}");
        }
    }

    #[test]
    fn a_damaged_frame_ends_the_log() {
        let mut bytes = log(&[&[("dn:a", Some(b"one"))], &[("dn:b", Some(b"two"))], &[("dn:c", Some(b"3"))]]);
        let second = log(&[&[("dn:a", Some(b"one"))]]).len();
        bytes[second + FRAME_HEAD + 3] ^= 0x40;
        let s = scan(&bytes).unwrap();
        assert_eq!((s.valid_len, s.entries.len()), (second, 1));
    }

    #[test]
    fn a_wrong_header_is_refused_and_a_huge_length_is_not_read() {
        assert!(matches!(scan(b"SQLite format 3\0"), Err(LogFormatError::Header(_))));
        assert!(scan(b"").is_err());
        let mut bytes = HEADER.to_vec();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        assert_eq!(scan(&bytes).unwrap().valid_len, HEADER.len());
    }

    #[test]
    fn limits_are_errors_and_large_batches_split_into_frames() {
        let long_key = "k".repeat(70_000);
        assert_eq!(encode_batch(&mut Vec::new(), [(long_key.as_str(), None)]), Err(LogFormatError::KeyTooLong(70_000)));
        let big = vec![7u8; MAX_FRAME];
        assert!(matches!(
            encode_batch(&mut Vec::new(), [("k", Some(&big[..]))]),
            Err(LogFormatError::ValueTooLarge(_))
        ));
        let half = vec![1u8; MAX_FRAME / 2];
        let mut out = HEADER.to_vec();
        encode_batch(&mut out, [("a", Some(&half[..])), ("b", Some(&half[..])), ("c", Some(&half[..]))]).unwrap();
        let frames = std::iter::successors(Some(HEADER.len()), |&at| frame_at(&out, at).map(|(_, next)| next));
        assert_eq!(frames.count() - 1, 3, "three frames, each under the limit");
        assert_eq!(entries(&out).len(), 3);
    }

    use proptest::prelude::*;

    fn batch() -> impl Strategy<Value = Vec<(String, Option<Vec<u8>>)>> {
        let entry = ("[a-z:]{0,12}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)));
        proptest::collection::vec(entry, 0..8)
    }

    proptest! {
        /// Any batches read back as written, in order.
        #[test]
        fn any_batches_round_trip(batches in proptest::collection::vec(batch(), 0..6)) {
            let mut bytes = HEADER.to_vec();
            for b in &batches {
                encode_batch(&mut bytes, b.iter().map(|(k, v)| (k.as_str(), v.as_deref()))).unwrap();
            }
            let want: Vec<_> = batches.into_iter().flatten().collect();
            prop_assert_eq!(entries(&bytes), want);
            prop_assert_eq!(scan(&bytes).unwrap().valid_len, bytes.len());
        }

        /// A body of any bytes under a checksum that matches (damage the checksum cannot see, or
        /// a bug): parsed without panicking, every value inside the body.
        #[test]
        fn any_checksummed_body_parses_without_panic(body in proptest::collection::vec(any::<u8>(), 1..256)) {
            let mut bytes = HEADER.to_vec();
            bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
            bytes.extend_from_slice(&body);
            let s = scan(&bytes).unwrap();
            prop_assert!(s.valid_len == HEADER.len() || s.valid_len == bytes.len());
            for e in &s.entries {
                if let Entry::Put { value, .. } = e {
                    prop_assert!(value.start <= value.end && value.end <= bytes.len());
                }
            }
        }

        /// Whatever follows the header (damage, a torn frame, another file's bytes), the scan
        /// ends without panicking, inside the bytes, on a frame boundary it checked.
        #[test]
        fn any_bytes_scan_without_panic(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut bytes = HEADER.to_vec();
            bytes.extend_from_slice(&tail);
            let s = scan(&bytes).unwrap();
            prop_assert!(s.valid_len >= HEADER.len() && s.valid_len <= bytes.len());
            for e in &s.entries {
                if let Entry::Put { value, .. } = e {
                    prop_assert!(value.end <= s.valid_len);
                }
            }
        }
    }
}
