//! Ordered key-value lists (TKVList): UserData, Extensions and Reasons. Keys may repeat and order
//! is kept. JSON writes a list as an object in order, binary values as `{"$binary": "<base64>"}`;
//! binary formats write a tagged sequence.

use base64::Engine;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const BINARY_KEY: &str = "$binary";

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct KvList(pub Vec<(String, KvValue)>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvValue {
    Str(String),
    Int(i64),
    Bin(Vec<u8>),
    List(KvList),
}

impl KvList {
    pub fn new() -> Self {
        KvList(Vec::new())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &(String, KvValue)> {
        self.0.iter()
    }
    /// First value under `key`.
    pub fn get(&self, key: &str) -> Option<&KvValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            KvValue::Str(s) => Some(s),
            _ => None,
        }
    }
    /// An integer value, or a string holding one (extensions such as WrapUpTime arrive either way).
    pub fn get_int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            KvValue::Int(i) => Some(*i),
            KvValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
    pub fn push(&mut self, key: impl Into<String>, value: KvValue) {
        self.0.push((key.into(), value));
    }
    pub fn with(mut self, key: impl Into<String>, value: impl Into<KvValue>) -> Self {
        self.push(key, value.into());
        self
    }
    /// TAttachUserData semantics: append pairs (keys may repeat).
    pub fn attach(&mut self, other: &KvList) {
        self.0.extend(other.0.iter().cloned());
    }
    /// TUpdateUserData semantics: replace values of existing keys in place, append new keys.
    pub fn update(&mut self, other: &KvList) {
        for (k, v) in &other.0 {
            match self.0.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = v.clone(),
                None => self.0.push((k.clone(), v.clone())),
            }
        }
    }
    /// TDeleteUserData semantics: remove every pair under `key`; returns whether any was removed.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(k, _)| k != key);
        before != self.0.len()
    }
    /// Encoded size estimate used for log masking and limits (keys + values, recursively).
    pub fn byte_len(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.byte_len()).sum()
    }
}

impl KvValue {
    pub fn byte_len(&self) -> usize {
        match self {
            KvValue::Str(s) => s.len(),
            KvValue::Int(_) => 8,
            KvValue::Bin(b) => b.len(),
            KvValue::List(l) => l.byte_len(),
        }
    }
}

impl From<&str> for KvValue {
    fn from(s: &str) -> Self {
        KvValue::Str(s.to_string())
    }
}
impl From<String> for KvValue {
    fn from(s: String) -> Self {
        KvValue::Str(s)
    }
}
impl From<i64> for KvValue {
    fn from(i: i64) -> Self {
        KvValue::Int(i)
    }
}
impl From<Vec<u8>> for KvValue {
    fn from(b: Vec<u8>) -> Self {
        KvValue::Bin(b)
    }
}
impl From<KvList> for KvValue {
    fn from(l: KvList) -> Self {
        KvValue::List(l)
    }
}

impl FromIterator<(String, KvValue)> for KvList {
    fn from_iter<T: IntoIterator<Item = (String, KvValue)>>(iter: T) -> Self {
        KvList(iter.into_iter().collect())
    }
}

/// Binary (non-human-readable) form of a value: an ordinary tagged enum.
#[derive(Serialize, Deserialize)]
enum WireValue {
    Str(String),
    Int(i64),
    Bin(Vec<u8>),
    List(KvList),
}

impl Serialize for KvList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        } else {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                seq.serialize_element(&(k, v))?;
            }
            seq.end()
        }
    }
}

impl Serialize for KvValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            match self {
                KvValue::Str(v) => s.serialize_str(v),
                KvValue::Int(v) => s.serialize_i64(*v),
                KvValue::Bin(v) => {
                    let mut map = s.serialize_map(Some(1))?;
                    let b64 = base64::engine::general_purpose::STANDARD.encode(v);
                    map.serialize_entry(BINARY_KEY, &b64)?;
                    map.end()
                }
                KvValue::List(l) => l.serialize(s),
            }
        } else {
            // Serialize through a borrowed tagged view without cloning large values.
            match self {
                KvValue::Str(v) => s.serialize_newtype_variant("WireValue", 0, "Str", v),
                KvValue::Int(v) => s.serialize_newtype_variant("WireValue", 1, "Int", v),
                KvValue::Bin(v) => s.serialize_newtype_variant("WireValue", 2, "Bin", v),
                KvValue::List(v) => s.serialize_newtype_variant("WireValue", 3, "List", v),
            }
        }
    }
}

impl<'de> Deserialize<'de> for KvList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_map(ListVisitor)
        } else {
            let pairs = Vec::<(String, KvValue)>::deserialize(d)?;
            Ok(KvList(pairs))
        }
    }
}

impl<'de> Deserialize<'de> for KvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(ValueVisitor)
        } else {
            Ok(match WireValue::deserialize(d)? {
                WireValue::Str(v) => KvValue::Str(v),
                WireValue::Int(v) => KvValue::Int(v),
                WireValue::Bin(v) => KvValue::Bin(v),
                WireValue::List(v) => KvValue::List(v),
            })
        }
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = KvList;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key-value list as a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KvList, A::Error> {
        let mut pairs = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, KvValue>()? {
            pairs.push((k, v));
        }
        Ok(KvList(pairs))
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = KvValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, an integer, {\"$binary\": base64} or a nested object")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<KvValue, E> {
        Ok(KvValue::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<KvValue, E> {
        Ok(KvValue::Str(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<KvValue, E> {
        Ok(KvValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<KvValue, E> {
        i64::try_from(v).map(KvValue::Int).map_err(|_| E::custom("integer out of range for a key-value list"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<KvValue, E> {
        Err(E::custom("key-value lists hold integers, not floating-point numbers"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<KvValue, A::Error> {
        Err(de::Error::custom("key-value lists hold no arrays"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KvValue, A::Error> {
        let mut pairs: Vec<(String, KvValue)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let v: KvValue = map.next_value()?;
            pairs.push((k, v));
        }
        // {"$binary": "<base64>"} alone is a binary value; anything else is a nested list.
        if let [(k, KvValue::Str(b64))] = pairs.as_slice() {
            if k == BINARY_KEY {
                return base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map(KvValue::Bin)
                    .map_err(|e| de::Error::custom(format!("invalid $binary base64: {e}")));
            }
        }
        Ok(KvValue::List(KvList(pairs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KvList {
        KvList::new()
            .with("Customer", "Alice")
            .with("Segment", 3i64)
            .with("Blob", vec![0u8, 1, 255])
            .with("Nested", KvList::new().with("a", "b"))
            .with("Customer", "again")
    }

    #[test]
    fn json_keeps_order_duplicates_and_binary() {
        let json = serde_json::to_string(&sample()).unwrap();
        assert_eq!(
            json,
            r#"{"Customer":"Alice","Segment":3,"Blob":{"$binary":"AAH/"},"Nested":{"a":"b"},"Customer":"again"}"#
        );
        let back: KvList = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn json_rejects_arrays_and_floats() {
        assert!(serde_json::from_str::<KvList>(r#"{"a":[1]}"#).is_err());
        assert!(serde_json::from_str::<KvList>(r#"{"a":1.5}"#).is_err());
    }

    #[test]
    fn binary_round_trip() {
        let cfg = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(sample(), cfg).unwrap();
        let (back, _): (KvList, _) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn update_replaces_and_appends() {
        let mut l = KvList::new().with("a", "1").with("b", "2");
        l.update(&KvList::new().with("b", "3").with("c", "4"));
        assert_eq!(l, KvList::new().with("a", "1").with("b", "3").with("c", "4"));
        assert!(l.remove("a"));
        assert!(!l.remove("zz"));
    }
}
