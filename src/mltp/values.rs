//! Header value types: how each typed field of the catalogue is written on one header line and
//! parsed back ([`HeaderValue`]), and the enumerations MLTP defines (media, party state, connector
//! state, ...). Parsing is strict (numbers are digits only, enumerations one of their values,
//! compared without regard to ASCII case) and an error is a reason phrase that never quotes a
//! sensitive value.

use super::frame::parse_decimal;
use crate::model::{ConnId, DnName, DnServiceState, DnType, ErrorCode, KvList, MediaType, RouteType, TreatmentType};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A value that travels as one header line.
pub trait HeaderValue: Sized {
    /// The wire text: one line, no leading or trailing whitespace.
    fn to_value(&self) -> String;
    /// Parses the (trimmed) wire text. The error is a reason phrase naming what was expected.
    fn from_value(s: &str) -> Result<Self, String>;
    /// The accepted syntax, as docs/mltp.md lists it.
    fn syntax() -> String;
}

/// At most 64 characters of a value, for error messages.
fn quote(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((at, _)) => format!("{:?}...", &s[..at]),
        None => format!("{s:?}"),
    }
}

/// Free text on one line: CR and LF become spaces and the ends are trimmed, so any string can be
/// sent (a reason text from an exception, say) without breaking the framing.
impl HeaderValue for String {
    fn to_value(&self) -> String {
        if self.contains(['\r', '\n']) {
            self.replace(['\r', '\n'], " ").trim().to_string()
        } else {
            self.trim().to_string()
        }
    }
    fn from_value(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
    fn syntax() -> String {
        "text".into()
    }
}

macro_rules! decimal_value {
    ($($ty:ty => $syntax:literal),+) => {$(
        impl HeaderValue for $ty {
            fn to_value(&self) -> String {
                self.to_string()
            }
            fn from_value(s: &str) -> Result<Self, String> {
                parse_decimal(s).ok_or_else(|| format!("{} is not a {}", quote(s), $syntax))
            }
            fn syntax() -> String {
                $syntax.into()
            }
        }
    )+};
}

decimal_value!(u64 => "decimal u64", u32 => "decimal u32");

impl HeaderValue for bool {
    fn to_value(&self) -> String {
        self.to_string()
    }
    fn from_value(s: &str) -> Result<Self, String> {
        match s {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("{} is not true or false", quote(s))),
        }
    }
    fn syntax() -> String {
        "true | false".into()
    }
}

/// A configured DN: lower-cased as everywhere in the server; empty is refused.
impl HeaderValue for DnName {
    fn to_value(&self) -> String {
        self.as_str().to_string()
    }
    fn from_value(s: &str) -> Result<Self, String> {
        let dn = DnName::new(s);
        if dn.is_empty() {
            return Err("expected a DN name, found nothing".into());
        }
        Ok(dn)
    }
    fn syntax() -> String {
        "DN name (SIP URI, lower case)".into()
    }
}

/// The Genesys ConnID, 16 hex digits.
impl HeaderValue for ConnId {
    fn to_value(&self) -> String {
        self.to_string()
    }
    fn from_value(s: &str) -> Result<Self, String> {
        ConnId::parse(s).ok_or_else(|| format!("{} is not a ConnID (up to 16 hex digits)", quote(s)))
    }
    fn syntax() -> String {
        "16 hex digits".into()
    }
}

/// One of the guide's error codes, as its number.
impl HeaderValue for ErrorCode {
    fn to_value(&self) -> String {
        self.code().to_string()
    }
    fn from_value(s: &str) -> Result<Self, String> {
        let code: i32 = parse_decimal(s).ok_or_else(|| format!("{} is not a decimal error code", quote(s)))?;
        ErrorCode::from_code(code).ok_or_else(|| format!("{code} is not an error code of this T-Server"))
    }
    fn syntax() -> String {
        "error code (decimal)".into()
    }
}

/// User data or treatment parameters: a key-value list as one line of JSON (an object in order,
/// binary values as `{"$binary": "<base64>"}`). Sensitive: errors give a position, never content.
impl HeaderValue for KvList {
    fn to_value(&self) -> String {
        // A KvList has string keys and infallible values, and serde_json escapes control
        // characters, so this is always one line and cannot fail.
        serde_json::to_string(self).expect("a key-value list always serializes to JSON")
    }
    fn from_value(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| {
            format!("expected a JSON object of key-value pairs (error at column {} of {})", e.column(), s.len())
        })
    }
    fn syntax() -> String {
        "JSON object (key-value list)".into()
    }
}

/// GenEM enumerations travel as their GenEM names (`RoutingPoint`, `PlayAnnouncement`, `Default`).
macro_rules! genem_value {
    ($($ty:ident),+) => {$(
        impl HeaderValue for $ty {
            fn to_value(&self) -> String {
                self.name().to_string()
            }
            fn from_value(s: &str) -> Result<Self, String> {
                $ty::ALL
                    .iter()
                    .find(|v| v.name().eq_ignore_ascii_case(s))
                    .copied()
                    .ok_or_else(|| format!("{} is not a {} name", quote(s), stringify!($ty)))
            }
            fn syntax() -> String {
                $ty::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(" | ")
            }
        }
    )+};
}

genem_value!(DnType, TreatmentType, RouteType);

/// Declares an MLTP enumeration with its wire spellings (also its serde spellings).
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            /// The value spelled `s`, compared without regard to ASCII case.
            pub fn parse(s: &str) -> Option<Self> {
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl HeaderValue for $name {
            fn to_value(&self) -> String {
                self.as_str().to_string()
            }
            fn from_value(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| format!("{} is not one of {}", quote(s), Self::syntax()))
            }
            fn syntax() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(" | ")
            }
        }
    };
}

wire_enum!(
    /// The media of a call: audio, instant messaging or video.
    Media { Voice = "voice", Im = "im", Video = "video" }
);

impl Media {
    /// AttributeMediaType: audio and video are both TMediaVoice (0), IM is TMediaChat (5).
    pub fn media_type(self) -> MediaType {
        match self {
            Media::Voice | Media::Video => MediaType::VOICE,
            Media::Im => MediaType::CHAT,
        }
    }
}

wire_enum!(
    /// A party's state in a call, as the Connector sees it in SfB.
    PartyState {
        Dialing = "DIALING",
        Alerting = "ALERTING",
        Connected = "CONNECTED",
        Held = "HELD",
        Disconnected = "DISCONNECTED",
    }
);

wire_enum!(
    /// A Connector's own state. `suspending`: gracefully shutting down; it keeps its existing calls
    /// but must be given no new DN.
    ConnectorState { Active = "active", Suspending = "suspending" }
);

wire_enum!(
    /// Whether a DN's presence is monitored by this Connector's endpoint (`local`) or learned
    /// through a presence subscription (`remote`).
    PresenceType { Local = "local", Remote = "remote" }
);

wire_enum!(
    /// How a supervisor joins a call: fully (`connect`), heard by the agent only (`coach`), or
    /// listening (`mute`).
    MonitorMode { Connect = "connect", Coach = "coach", Mute = "mute" }
);

wire_enum!(
    /// A call's direction as SfB presents it to the monitored side.
    Direction { Inbound = "inbound", Outbound = "outbound", Internal = "internal" }
);

wire_enum!(
    /// The outcome in a RESPONSE.
    ResponseStatus { Ok = "ok", Error = "error" }
);

wire_enum!(
    /// What an HA_DATA record describes (the guide's "UCMA HA Data Storage" list).
    HaKind { Conference = "conference", Conversation = "conversation", Call = "call", Party = "party", B2b = "b2b" }
);

wire_enum!(
    /// Whether an HA_DATA record is stored (replacing any previous one) or removed.
    HaOp { Put = "put", Delete = "delete" }
);

wire_enum!(
    /// How a treatment ended: played or collected in full, timed out, or stopped.
    TreatmentStatus { Normal = "normal", Timeout = "timeout", Cancelled = "cancelled" }
);

wire_enum!(
    /// Whether the Connector can serve a DN.
    DnState { InService = "in-service", OutOfService = "out-of-service" }
);

impl From<DnState> for DnServiceState {
    fn from(s: DnState) -> Self {
        match s {
            DnState::InService => DnServiceState::InService,
            DnState::OutOfService => DnServiceState::OutOfService,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: HeaderValue + PartialEq + fmt::Debug>(v: T) {
        assert_eq!(T::from_value(&v.to_value()).as_ref(), Ok(&v));
    }

    #[test]
    fn values_round_trip() {
        round_trip(0u64);
        round_trip(u64::MAX);
        round_trip(u32::MAX);
        round_trip(true);
        round_trip(false);
        round_trip("Zoë: 3 €".to_string());
        round_trip(DnName::new("sip:agent01@skype.lab"));
        round_trip(ConnId(0x006c_0246_2a16_1006));
        round_trip(KvList::new().with("a", "ü").with("n", -3i64).with("b", vec![0u8, 255]));
        for c in ErrorCode::ALL {
            round_trip(*c);
        }
        for t in TreatmentType::ALL {
            round_trip(*t);
        }
        for m in Media::ALL {
            round_trip(*m);
        }
        for s in PartyState::ALL {
            round_trip(*s);
        }
        assert_eq!(ConnId(1).to_value(), "0000000000000001");
    }

    #[test]
    fn strict_parsing_with_reasons() {
        assert_eq!(u64::from_value("+1"), Err("\"+1\" is not a decimal u64".into()));
        assert!(u32::from_value("4294967296").is_err());
        assert_eq!(ErrorCode::from_value("9999"), Err("9999 is not an error code of this T-Server".into()));
        assert_eq!(ErrorCode::from_value("236"), Ok(ErrorCode::ConnectorTimeout));
        assert_eq!(Media::from_value("fax"), Err("\"fax\" is not one of voice | im | video".into()));
        assert_eq!(PartyState::from_value("alerting"), Ok(PartyState::Alerting));
        assert_eq!(DnType::from_value("routingpoint"), Ok(DnType::RoutingPoint));
        assert!(DnName::from_value("").is_err());
        assert!(bool::from_value("yes").is_err());
        let secret = r#""4111 1111 1111 1111""#;
        let err = KvList::from_value(secret).unwrap_err();
        assert!(!err.contains("4111"), "reason must not quote user data: {err}");
    }

    #[test]
    fn free_text_stays_on_one_line() {
        assert_eq!("  line one\r\nline two \n".to_string().to_value(), "line one  line two");
        assert_eq!(quote(&"x".repeat(100)).len(), 64 + 2 + 3);
    }

    #[test]
    fn media_and_dn_state_map_to_the_tlib_model() {
        assert_eq!(Media::Video.media_type(), MediaType::VOICE);
        assert_eq!(Media::Im.media_type(), MediaType::CHAT);
        assert_eq!(DnServiceState::from(DnState::OutOfService), DnServiceState::OutOfService);
        assert_eq!(serde_json::to_string(&PartyState::Held).unwrap(), "\"HELD\"");
    }
}
