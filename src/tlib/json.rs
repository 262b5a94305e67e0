//! The JSON mapping of T-Library messages, for the CLI and future web desktops: one JSON object
//! per message, `{"request":"MakeCall","ReferenceID":3,"ThisDN":"sip:agent01@skype.lab",...}` or
//! `{"event":"EventRinging","ConnID":"006c02462a161006",...}`. Keys are the attribute keys of
//! [`super::ATTRIBUTES`], absent attributes are omitted, enums are GenEM names, MediaType and
//! ErrorCode are numbers, ConnIDs 16 hex digits, key-value lists objects in order.
//! Parsing is strict: an unknown key, name or value is a [`JsonError`] naming the key; it must
//! never guess. Objects are read as a stream so key-value lists keep their order and duplicates.

use super::attributes::{for_each_attribute, AttrValue, Timestamp};
use super::{Attributes, Event, EventKind, Message, Request, RequestKind};
use crate::model::*;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a JSON line is not a T-Library message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("invalid JSON message: {0}")]
    Syntax(String),
    #[error("unknown key {0:?}")]
    UnknownKey(String),
    #[error("unknown request {0:?}")]
    UnknownRequest(String),
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    #[error("key {key:?}: {reason}")]
    BadValue { key: String, reason: String },
    #[error("key {0:?} appears twice")]
    DuplicateKey(String),
    #[error("a message needs a \"request\" or an \"event\" key")]
    MissingKind,
    #[error("a message has both a \"request\" and an \"event\" key")]
    BothKinds,
}

/// The JSON line for `msg` (no trailing newline).
pub fn to_json(msg: &Message) -> String {
    // serde_json fails only on non-string map keys or failing Serialize impls; neither exists
    // in a Message, so this cannot fire on any value.
    serde_json::to_string(msg).expect("a T-Library message always serializes to JSON")
}

/// Parses one JSON message. Trailing non-whitespace is an error.
pub fn from_json(s: &str) -> Result<Message, JsonError> {
    let mut slot = None;
    let mut de = serde_json::Deserializer::from_str(s);
    let result = MessageSeed { err: &mut slot }.deserialize(&mut de).and_then(|m| de.end().map(|()| m));
    result.map_err(|e| slot.take().unwrap_or_else(|| JsonError::Syntax(e.to_string())))
}

/// Outcome of reading one attribute entry.
enum Slot {
    Set,
    Unknown,
    Duplicate,
    Invalid(String),
}

macro_rules! attr_json {
    ($($tag:literal $field:ident : $ty:ty => $key:literal, $vis:ident, $doc:literal;)+) => {
        /// Writes the present attributes in tag order (ReferenceID and ConnID first).
        fn serialize_attrs<M: SerializeMap>(a: &Attributes, map: &mut M) -> Result<(), M::Error> {
            $(if let Some(v) = &a.$field {
                map.serialize_entry($key, v)?;
            })+
            Ok(())
        }

        /// Reads the value of attribute `key` from `map` into `a`.
        fn read_attr<'de, A: MapAccess<'de>>(
            a: &mut Attributes,
            key: &str,
            map: &mut A,
        ) -> Result<Slot, A::Error> {
            match key {
                $($key => {
                    if a.$field.is_some() {
                        return Ok(Slot::Duplicate);
                    }
                    let v: $ty = map.next_value()?;
                    if let Err(reason) = AttrValue::check_limits(&v) {
                        return Ok(Slot::Invalid(reason));
                    }
                    a.$field = Some(v);
                })+
                _ => return Ok(Slot::Unknown),
            }
            Ok(Slot::Set)
        }
    };
}

for_each_attribute!(attr_json);

/// Records the typed error for [`from_json`] and hands serde an error that stops parsing.
fn fail<E: de::Error>(slot: &mut Option<JsonError>, err: JsonError) -> E {
    let msg = err.to_string();
    *slot = Some(err);
    E::custom(msg)
}

/// Reads a message object, recording the first typed error in `err`.
struct MessageSeed<'a> {
    err: &'a mut Option<JsonError>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Message;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a T-Library message object with a \"request\" or \"event\" key")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let err = self.err;
        let mut request: Option<String> = None;
        let mut event: Option<String> = None;
        let mut attrs = Attributes::default();
        while let Some(key) = map.next_key::<String>()? {
            let kind_slot = match key.as_str() {
                "request" => Some(&mut request),
                "event" => Some(&mut event),
                _ => None,
            };
            if let Some(kind_slot) = kind_slot {
                if kind_slot.is_some() {
                    return Err(fail(err, JsonError::DuplicateKey(key)));
                }
                let name: String = map.next_value().map_err(|e: A::Error| {
                    fail::<A::Error>(err, JsonError::BadValue { key: key.clone(), reason: e.to_string() })
                })?;
                *kind_slot = Some(name);
                continue;
            }
            match read_attr(&mut attrs, &key, &mut map) {
                Ok(Slot::Set) => {}
                Ok(Slot::Unknown) => return Err(fail(err, JsonError::UnknownKey(key))),
                Ok(Slot::Duplicate) => return Err(fail(err, JsonError::DuplicateKey(key))),
                Ok(Slot::Invalid(reason)) => return Err(fail(err, JsonError::BadValue { key, reason })),
                Err(e) => {
                    return Err(fail(err, JsonError::BadValue { key, reason: e.to_string() }));
                }
            }
        }
        match (request, event) {
            (Some(name), None) => match RequestKind::from_name(&name) {
                Some(kind) => Ok(Message::Request(Request { kind, attrs })),
                None => Err(fail(err, JsonError::UnknownRequest(name))),
            },
            (None, Some(name)) => match EventKind::from_name(&name) {
                Some(kind) => Ok(Message::Event(Event { kind, attrs })),
                None => Err(fail(err, JsonError::UnknownEvent(name))),
            },
            (Some(_), Some(_)) => Err(fail(err, JsonError::BothKinds)),
            (None, None) => Err(fail(err, JsonError::MissingKind)),
        }
    }
}

fn serialize_message<S: Serializer>(s: S, kind_key: &str, name: &str, attrs: &Attributes) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1 + attrs.len()))?;
    map.serialize_entry(kind_key, name)?;
    serialize_attrs(attrs, &mut map)?;
    map.end()
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Message::Request(r) => r.serialize(s),
            Message::Event(e) => e.serialize(s),
        }
    }
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_message(s, "request", self.kind.name(), &self.attrs)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_message(s, "event", self.kind.name(), &self.attrs)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MessageSeed { err: &mut None }.deserialize(d)
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Message::deserialize(d)? {
            Message::Request(r) => Ok(r),
            Message::Event(e) => Err(de::Error::custom(format!("expected a request, found {}", e.kind))),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Message::deserialize(d)? {
            Message::Event(e) => Ok(e),
            Message::Request(r) => Err(de::Error::custom(format!("expected an event, found {}", r.kind))),
        }
    }
}

/// Attributes alone serialize as the same flat object, without the kind key (snapshots, admin).
impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        serialize_attrs(self, &mut map)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AttrsVisitor;
        impl<'de> Visitor<'de> for AttrsVisitor {
            type Value = Attributes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of T-Library attributes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attributes, A::Error> {
                let mut attrs = Attributes::default();
                while let Some(key) = map.next_key::<String>()? {
                    match read_attr(&mut attrs, &key, &mut map)? {
                        Slot::Set => {}
                        Slot::Unknown => return Err(de::Error::custom(JsonError::UnknownKey(key))),
                        Slot::Duplicate => return Err(de::Error::custom(JsonError::DuplicateKey(key))),
                        Slot::Invalid(reason) => return Err(de::Error::custom(JsonError::BadValue { key, reason })),
                    }
                }
                Ok(attrs)
            }
        }
        d.deserialize_map(AttrsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_call_matches_the_documented_form() {
        let mut r = Request::new(RequestKind::MakeCall);
        r.attrs.reference_id = Some(3);
        r.attrs.this_dn = Some(DnName::new("sip:agent01@skype.lab"));
        r.attrs.other_dn = Some(DnName::new("sip:agent02@skype.lab"));
        let json = to_json(&r.clone().into());
        assert_eq!(
            json,
            r#"{"request":"MakeCall","ReferenceID":3,"ThisDN":"sip:agent01@skype.lab","OtherDN":"sip:agent02@skype.lab"}"#
        );
        assert_eq!(from_json(&json), Ok(Message::Request(r)));
    }

    #[test]
    fn events_use_genem_names_numbers_and_hex_conn_ids() {
        let mut e = Event::new(EventKind::Ringing);
        e.attrs.conn_id = Some(ConnId(0x006c02462a161006));
        e.attrs.call_type = Some(CallType::Inbound);
        e.attrs.media_type = Some(MediaType::CHAT);
        e.attrs.this_dn_role = Some(DnRole::Destination);
        e.attrs.user_data = Some(KvList::new().with("b", vec![1u8, 2]).with("n", KvList::new().with("x", 1i64)));
        e.attrs.input_mask = Some(vec![EventKind::Ringing]);
        let json = to_json(&e.clone().into());
        assert_eq!(
            json,
            r#"{"event":"EventRinging","ConnID":"006c02462a161006","ThisDNRole":"Destination","CallType":"Inbound","MediaType":5,"InputMask":["EventRinging"],"UserData":{"b":{"$binary":"AQI="},"n":{"x":1}}}"#
        );
        assert_eq!(from_json(&json), Ok(Message::Event(e)));
        let err = Event::error(4, ErrorCode::UnsupOper, "Operation is not supported.");
        assert_eq!(
            to_json(&err.into()),
            r#"{"event":"EventError","ReferenceID":4,"ErrorCode":51,"ErrorMessage":"Operation is not supported."}"#
        );
    }

    #[test]
    fn strict_parsing_names_the_key() {
        use JsonError::*;
        let bad = |s: &str| from_json(s).unwrap_err();
        assert_eq!(bad(r#"{"request":"MakeCall","Bogus":1}"#), UnknownKey("Bogus".into()));
        assert_eq!(bad(r#"{"request":"Nope"}"#), UnknownRequest("Nope".into()));
        assert_eq!(bad(r#"{"event":"Ringing"}"#), UnknownEvent("Ringing".into()));
        assert_eq!(bad(r#"{"ThisDN":"x"}"#), MissingKind);
        assert_eq!(bad(r#"{"request":"MakeCall","event":"EventRinging"}"#), BothKinds);
        assert_eq!(bad(r#"{"request":"MakeCall","ThisDN":"a","ThisDN":"b"}"#), DuplicateKey("ThisDN".into()));
        for (json, key) in [
            (r#"{"request":"MakeCall","ReferenceID":"3"}"#, "ReferenceID"),
            (r#"{"request":"MakeCall","ConnID":"xyz"}"#, "ConnID"),
            (r#"{"event":"EventRinging","CallType":"Sideways"}"#, "CallType"),
            (r#"{"event":"EventError","ErrorCode":12345}"#, "ErrorCode"),
            (r#"{"request":"SetInputMask","InputMask":["EventNope"]}"#, "InputMask"),
            (r#"{"request":"MakeCall","UserData":[1]}"#, "UserData"),
            (r#"{"request":7}"#, "request"),
        ] {
            match bad(json) {
                BadValue { key: k, reason } => {
                    assert_eq!(k, key, "{json}: {reason}");
                    assert!(bad(json).to_string().contains(key));
                }
                other => panic!("{json}: expected BadValue, got {other:?}"),
            }
        }
        assert!(matches!(bad("[1,2]"), Syntax(_)));
        assert!(matches!(bad(r#"{"request":"MakeCall"} x"#), Syntax(_)));
        assert!(matches!(bad(r#"{"request":"MakeCall""#), Syntax(_)));
    }

    #[test]
    fn deep_lists_are_refused_by_key() {
        let mut json = String::new();
        for _ in 0..40 {
            json.push_str(r#"{"n":"#);
        }
        json.push('1');
        json.push_str(&"}".repeat(40));
        let line = format!(r#"{{"request":"AttachUserData","UserData":{json}}}"#);
        assert!(matches!(from_json(&line), Err(JsonError::BadValue { key, .. }) if key == "UserData"));
    }

    #[test]
    fn timestamps_are_objects() {
        let mut e = Event::new(EventKind::ServerConnected);
        e.attrs.time = Some(Timestamp { seconds: 1_700_000_000, micros: 42 });
        let json = to_json(&e.clone().into());
        assert!(json.contains(r#""Time":{"seconds":1700000000,"micros":42}"#));
        assert_eq!(from_json(&json), Ok(e.into()));
    }
}
