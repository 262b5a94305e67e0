//! Binary payload encoding of one T-Library message, and the only place T-Library touches
//! bincode (2.x, `config::standard()`: little-endian, variable-length integers), so the crate can
//! be swapped without touching callers. Layout (docs/protocol.md has the byte-level description):
//! message type, kind code, then only the attributes present, as `(tag, value)` pairs — an absent
//! attribute costs nothing. Decoding is driven here field by field, so every malformed input ends
//! in a typed [`CodecError`]; this module must never panic on input, never recurse without bound,
//! and never allocate more than a fixed multiple of the payload it was given.

use super::attributes::{for_each_attribute, AttrValue, Timestamp, MAX_KV_DEPTH};
use super::{Attributes, Event, EventKind, Message, Request, RequestKind};
use crate::model::*;
use bincode::config::Config;
use bincode::de::read::{Reader, SliceReader};
use bincode::de::{Decoder, DecoderImpl};
use bincode::enc::write::Writer;
use bincode::enc::{Encoder, EncoderImpl};
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use bytes::BytesMut;

/// Largest payload this codec decodes, whatever the frame limit (the frame layer is stricter).
pub const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Message type discriminants, the first field of every payload.
pub const MESSAGE_TYPE_REQUEST: u32 = 0;
pub const MESSAGE_TYPE_EVENT: u32 = 1;

/// Decoding an attribute value: the variant numbers of a key-value list value.
const KV_STR: u32 = 0;
const KV_INT: u32 = 1;
const KV_BIN: u32 = 2;
const KV_LIST: u32 = 3;

/// bincode claims at most 8 bytes of memory per byte of input (a one-byte varint read into a
/// u64), so a limit of 16x the payload never rejects a valid message yet bounds what a lying
/// length prefix can make us allocate before the read fails.
const CLAIM_FACTOR: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("payload truncated")]
    Truncated,
    #[error("payload of {len} bytes exceeds the codec maximum of {max} bytes")]
    PayloadTooLarge { len: usize, max: usize },
    #[error("payload declares more data than it can hold (decode limit exceeded)")]
    LimitExceeded,
    #[error("invalid UTF-8 in a string")]
    InvalidUtf8,
    #[error("unknown message type {0}")]
    UnknownMessageType(u32),
    #[error("unknown request code {0}")]
    UnknownRequest(u32),
    #[error("unknown event code {0}")]
    UnknownEvent(u32),
    #[error("unknown attribute tag {0}")]
    UnknownTag(u32),
    #[error("attribute {key} (tag {tag}) appears twice")]
    DuplicateAttribute { tag: u32, key: &'static str },
    #[error("attribute {key}: invalid value {value}")]
    InvalidValue { key: &'static str, value: i64 },
    #[error("attribute {key}: key-value list nested deeper than {MAX_KV_DEPTH} levels")]
    TooDeep { key: &'static str },
    #[error("trailing bytes after the message")]
    TrailingBytes,
    #[error("malformed payload: {0}")]
    Malformed(String),
}

fn de_err(e: DecodeError) -> CodecError {
    match e {
        DecodeError::UnexpectedEnd { .. } => CodecError::Truncated,
        DecodeError::LimitExceeded => CodecError::LimitExceeded,
        DecodeError::Utf8 { .. } => CodecError::InvalidUtf8,
        other => CodecError::Malformed(other.to_string()),
    }
}

fn en_err(e: EncodeError) -> CodecError {
    CodecError::Malformed(e.to_string())
}

/// Appends the payload of `msg` (no frame header) to `out`. On error `out` may hold a partial
/// payload; the frame layer truncates it.
pub fn encode(msg: &Message, out: &mut BytesMut) -> Result<(), CodecError> {
    match msg {
        Message::Request(r) => encode_parts(MESSAGE_TYPE_REQUEST, r.kind.code(), &r.attrs, out),
        Message::Event(ev) => encode_event(ev, out),
    }
}

/// [`encode`] for an event the caller does not own.
pub fn encode_event(ev: &Event, out: &mut BytesMut) -> Result<(), CodecError> {
    encode_parts(MESSAGE_TYPE_EVENT, ev.kind.code(), &ev.attrs, out)
}

fn encode_parts(ty: u32, code: u32, attrs: &Attributes, out: &mut BytesMut) -> Result<(), CodecError> {
    let mut e = EncoderImpl::new(BufWriter(out), bincode::config::standard());
    put(&mut e, &ty)?;
    put(&mut e, &code)?;
    encode_attrs(attrs, &mut e)
}

/// The payload of `msg` as a vector (tests, benches, tooling).
pub fn encode_to_vec(msg: &Message) -> Result<Vec<u8>, CodecError> {
    let mut buf = BytesMut::new();
    encode(msg, &mut buf)?;
    Ok(buf.to_vec())
}

/// Decodes exactly one message from `payload`; trailing bytes are an error.
pub fn decode(payload: &[u8]) -> Result<Message, CodecError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(CodecError::PayloadTooLarge { len: payload.len(), max: MAX_PAYLOAD });
    }
    // bincode's limit is a const generic: pick the smallest limit covering this payload, so the
    // bound follows the frame actually received rather than the largest one allowed.
    let need = payload.len().saturating_mul(CLAIM_FACTOR);
    macro_rules! limits {
        ($($n:expr),+) => {$(
            if need <= $n {
                return decode_with(payload, bincode::config::standard().with_limit::<{ $n }>());
            }
        )+};
    }
    limits!(64 * 1024, 1024 * 1024, 16 * 1024 * 1024, 256 * 1024 * 1024);
    Err(CodecError::PayloadTooLarge { len: payload.len(), max: MAX_PAYLOAD })
}

fn decode_with<C: Config>(payload: &[u8], config: C) -> Result<Message, CodecError> {
    let mut d = DecoderImpl::new(SliceReader::new(payload), config, ());
    let ty: u32 = get(&mut d)?;
    let code: u32 = get(&mut d)?;
    // The kind is checked before the attributes so the error names the first thing wrong.
    let mut msg = match ty {
        MESSAGE_TYPE_REQUEST => {
            let kind = RequestKind::from_code(code).ok_or(CodecError::UnknownRequest(code))?;
            Message::Request(Request::new(kind))
        }
        MESSAGE_TYPE_EVENT => {
            let kind = EventKind::from_code(code).ok_or(CodecError::UnknownEvent(code))?;
            Message::Event(Event::new(kind))
        }
        other => return Err(CodecError::UnknownMessageType(other)),
    };
    let attrs = msg.attrs_mut();
    let count: u64 = get(&mut d)?;
    // No preallocation from `count`: each attribute needs at least two bytes, so a lying count
    // simply runs into the end of the payload.
    for _ in 0..count {
        let tag: u32 = get(&mut d)?;
        decode_attr(tag, attrs, &mut d)?;
    }
    if d.reader().peek_read(1).is_some() {
        return Err(CodecError::TrailingBytes);
    }
    Ok(msg)
}

struct BufWriter<'a>(&'a mut BytesMut);

impl Writer for BufWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

fn put<T: Encode + ?Sized, E: Encoder>(e: &mut E, v: &T) -> Result<(), CodecError> {
    v.encode(e).map_err(en_err)
}

fn get<T: Decode<()>, D: Decoder<Context = ()>>(d: &mut D) -> Result<T, CodecError> {
    T::decode(d).map_err(de_err)
}

/// The wire form of one attribute value. `key` names the attribute in errors.
trait Wire: Sized + AttrValue {
    fn put<E: Encoder>(&self, e: &mut E, key: &'static str) -> Result<(), CodecError>;
    fn get<D: Decoder<Context = ()>>(d: &mut D, key: &'static str) -> Result<Self, CodecError>;
}

macro_rules! attr_codec {
    ($($tag:literal $field:ident : $ty:ty => $key:literal, $vis:ident, $doc:literal;)+) => {
        fn encode_attrs<E: Encoder>(a: &Attributes, e: &mut E) -> Result<(), CodecError> {
            put(e, &(a.len() as u64))?;
            $(if let Some(v) = &a.$field {
                put(e, &($tag as u32))?;
                Wire::put(v, e, $key)?;
            })+
            Ok(())
        }

        fn decode_attr<D: Decoder<Context = ()>>(
            tag: u32,
            a: &mut Attributes,
            d: &mut D,
        ) -> Result<(), CodecError> {
            match tag {
                $($tag => {
                    if a.$field.is_some() {
                        return Err(CodecError::DuplicateAttribute { tag, key: $key });
                    }
                    a.$field = Some(<$ty as Wire>::get(d, $key)?);
                })+
                other => return Err(CodecError::UnknownTag(other)),
            }
            Ok(())
        }
    };
}

for_each_attribute!(attr_codec);

/// Values written as a bincode primitive of the same type.
macro_rules! wire_plain {
    ($($ty:ty),+) => {$(
        impl Wire for $ty {
            fn put<E: Encoder>(&self, e: &mut E, _: &'static str) -> Result<(), CodecError> {
                put(e, self)
            }
            fn get<D: Decoder<Context = ()>>(d: &mut D, _: &'static str) -> Result<Self, CodecError> {
                get(d)
            }
        }
    )+};
}

wire_plain!(u64, u32, i32, String);

/// GenEM enumerations travel as their GenEM numeric code (i32, zigzag varint), never as a
/// Rust variant index, so reordering an enum cannot change the wire.
macro_rules! wire_code {
    ($($ty:ident),+) => {$(
        impl Wire for $ty {
            fn put<E: Encoder>(&self, e: &mut E, _: &'static str) -> Result<(), CodecError> {
                put(e, &self.code())
            }
            fn get<D: Decoder<Context = ()>>(d: &mut D, key: &'static str) -> Result<Self, CodecError> {
                let code: i32 = get(d)?;
                $ty::from_code(code).ok_or(CodecError::InvalidValue { key, value: code.into() })
            }
        }
    )+};
}

super::attributes::with_genem_enums!(wire_code, ErrorCode);

/// Newtypes written as their inner value: `Type: |v| inner-ref, InnerType => constructor;`.
macro_rules! wire_via {
    ($($ty:ty: |$v:ident| $to:expr, $inner:ty => $from:expr;)+) => {$(
        impl Wire for $ty {
            fn put<E: Encoder>(&self, e: &mut E, _: &'static str) -> Result<(), CodecError> {
                let $v = self;
                put(e, $to)
            }
            fn get<D: Decoder<Context = ()>>(d: &mut D, _: &'static str) -> Result<Self, CodecError> {
                get::<$inner, D>(d).map($from)
            }
        }
    )+};
}

wire_via! {
    MediaType: |v| &v.0, i32 => MediaType;
    DnName: |v| v.as_str(), String => DnName::new;
    AgentId: |v| v.as_str(), String => AgentId;
    ConnId: |v| &v.0, u64 => ConnId;
}

impl Wire for EventKind {
    fn put<E: Encoder>(&self, e: &mut E, _: &'static str) -> Result<(), CodecError> {
        put(e, &self.code())
    }
    fn get<D: Decoder<Context = ()>>(d: &mut D, key: &'static str) -> Result<Self, CodecError> {
        let code: u32 = get(d)?;
        EventKind::from_code(code).ok_or(CodecError::InvalidValue { key, value: code.into() })
    }
}

impl Wire for Timestamp {
    fn put<E: Encoder>(&self, e: &mut E, _: &'static str) -> Result<(), CodecError> {
        put(e, &self.seconds)?;
        put(e, &self.micros)
    }
    fn get<D: Decoder<Context = ()>>(d: &mut D, _: &'static str) -> Result<Self, CodecError> {
        Ok(Timestamp { seconds: get(d)?, micros: get(d)? })
    }
}

/// Lists: a u64 length, then the elements. Never preallocated from the declared length.
impl<T: Wire + std::fmt::Display> Wire for Vec<T> {
    fn put<E: Encoder>(&self, e: &mut E, key: &'static str) -> Result<(), CodecError> {
        put(e, &(self.len() as u64))?;
        self.iter().try_for_each(|v| v.put(e, key))
    }
    fn get<D: Decoder<Context = ()>>(d: &mut D, key: &'static str) -> Result<Self, CodecError> {
        let len: u64 = get(d)?;
        let mut out = Vec::new();
        for _ in 0..len {
            out.push(T::get(d, key)?);
        }
        Ok(out)
    }
}

/// The same layout as `KvList`'s own binary serde form (so snapshots and frames agree), written
/// by hand to bound the nesting depth while decoding.
impl Wire for KvList {
    fn put<E: Encoder>(&self, e: &mut E, key: &'static str) -> Result<(), CodecError> {
        put_kv(self, e, key, 1)
    }
    fn get<D: Decoder<Context = ()>>(d: &mut D, key: &'static str) -> Result<Self, CodecError> {
        get_kv(d, key, 1)
    }
}

fn put_kv<E: Encoder>(l: &KvList, e: &mut E, key: &'static str, depth: usize) -> Result<(), CodecError> {
    if depth > MAX_KV_DEPTH {
        return Err(CodecError::TooDeep { key });
    }
    put(e, &(l.len() as u64))?;
    for (k, v) in l.iter() {
        put(e, k.as_str())?;
        match v {
            KvValue::Str(s) => {
                put(e, &KV_STR)?;
                put(e, s.as_str())?;
            }
            KvValue::Int(i) => {
                put(e, &KV_INT)?;
                put(e, i)?;
            }
            KvValue::Bin(b) => {
                put(e, &KV_BIN)?;
                put(e, b.as_slice())?;
            }
            KvValue::List(inner) => {
                put(e, &KV_LIST)?;
                put_kv(inner, e, key, depth + 1)?;
            }
        }
    }
    Ok(())
}

fn get_kv<D: Decoder<Context = ()>>(d: &mut D, key: &'static str, depth: usize) -> Result<KvList, CodecError> {
    if depth > MAX_KV_DEPTH {
        return Err(CodecError::TooDeep { key });
    }
    let len: u64 = get(d)?;
    let mut out = KvList::new();
    for _ in 0..len {
        let k: String = get(d)?;
        let variant: u32 = get(d)?;
        let v = match variant {
            KV_STR => KvValue::Str(get(d)?),
            KV_INT => KvValue::Int(get(d)?),
            KV_BIN => KvValue::Bin(get(d)?),
            KV_LIST => KvValue::List(get_kv(d, key, depth + 1)?),
            other => return Err(CodecError::InvalidValue { key, value: other.into() }),
        };
        out.push(k, v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(attrs: Attributes) -> Message {
        Message::Event(Event { kind: EventKind::Ringing, attrs })
    }

    #[test]
    fn absent_attributes_cost_nothing() {
        let bytes = encode_to_vec(&event(Attributes::default())).unwrap();
        assert_eq!(bytes, [1, 11, 0]);
        let bytes = encode_to_vec(&event(Attributes { reference_id: Some(3), ..Default::default() })).unwrap();
        assert_eq!(bytes, [1, 11, 1, 1, 3]);
        let req = Message::Request(Request::new(RequestKind::MakeCall));
        assert_eq!(encode_to_vec(&req).unwrap(), [0, 7, 0]);
    }

    #[test]
    fn kv_lists_match_the_model_binary_form() {
        let l = KvList::new()
            .with("a", "b")
            .with("n", -5i64)
            .with("bin", vec![0u8, 255])
            .with("nested", KvList::new().with("x", 1i64));
        let ours = encode_to_vec(&event(Attributes { user_data: Some(l.clone()), ..Default::default() })).unwrap();
        let model = bincode::serde::encode_to_vec(&l, bincode::config::standard()).unwrap();
        // Header: type, kind, count, tag 50.
        assert_eq!(&ours[..4], &[1, 11, 1, 50]);
        assert_eq!(&ours[4..], model.as_slice());
    }

    #[test]
    fn serde_forms_survive_binary_snapshots() {
        // Snapshots (store/) may hold messages through serde + bincode rather than this codec.
        let mut ev = Event::new(EventKind::AttachedDataChanged);
        ev.attrs.conn_id = Some(ConnId(u64::MAX));
        ev.attrs.input_mask = Some(vec![EventKind::Ringing]);
        ev.attrs.time = Some(Timestamp { seconds: 5, micros: 6 });
        ev.attrs.error_code = Some(ErrorCode::NoCall);
        ev.attrs.user_data = Some(KvList::new().with("k", vec![1u8]).with("n", KvList::new()));
        let msg = Message::Event(ev);
        let cfg = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(&msg, cfg).unwrap();
        let (back, _): (Message, _) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn typed_errors_for_bad_payloads() {
        assert_eq!(decode(&[]), Err(CodecError::Truncated));
        assert_eq!(decode(&[2, 1, 0]), Err(CodecError::UnknownMessageType(2)));
        assert_eq!(decode(&[0, 200, 0]), Err(CodecError::UnknownRequest(200)));
        assert_eq!(decode(&[1, 0, 0]), Err(CodecError::UnknownEvent(0)));
        assert_eq!(decode(&[1, 11, 1, 99, 0]), Err(CodecError::UnknownTag(99)));
        assert_eq!(decode(&[1, 11, 0, 0]), Err(CodecError::TrailingBytes));
        assert_eq!(decode(&[1, 11, 2, 1, 3, 1, 4]), Err(CodecError::DuplicateAttribute { tag: 1, key: "ReferenceID" }));
        // CallType 99 (zigzag 198).
        assert_eq!(decode(&[1, 11, 1, 17, 198]), Err(CodecError::InvalidValue { key: "CallType", value: 99 }));
        // ANI with invalid UTF-8.
        assert_eq!(decode(&[1, 11, 1, 21, 1, 0xff]), Err(CodecError::InvalidUtf8));
        // ANI declaring 2^32 bytes: refused by the limit, not allocated.
        let lying = [1, 11, 1, 21, 253, 0, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(decode(&lying), Err(CodecError::LimitExceeded));
    }

    #[test]
    fn nesting_is_bounded_both_ways() {
        let mut l = KvList::new();
        for _ in 0..MAX_KV_DEPTH {
            l = KvList::new().with("n", l);
        }
        let msg = event(Attributes { user_data: Some(l), ..Default::default() });
        assert_eq!(encode_to_vec(&msg), Err(CodecError::TooDeep { key: "UserData" }));
        // A hand-made payload nesting 10_000 lists: refused at depth 33, no stack overflow.
        let mut bytes = vec![1, 11, 1, 50];
        for _ in 0..10_000 {
            bytes.extend_from_slice(&[1, 1, b'n', KV_LIST as u8]);
        }
        assert_eq!(decode(&bytes), Err(CodecError::TooDeep { key: "UserData" }));
    }

    #[test]
    fn large_valid_payloads_stay_under_the_limit() {
        // Many tiny pairs maximise bincode's claimed-bytes-per-input-byte ratio.
        let mut l = KvList::new();
        for _ in 0..300_000 {
            l.push("", KvValue::Int(0));
        }
        let msg = event(Attributes { user_data: Some(l), ..Default::default() });
        let bytes = encode_to_vec(&msg).unwrap();
        assert!(bytes.len() < 1024 * 1024);
        assert_eq!(decode(&bytes).unwrap(), msg);
    }
}
