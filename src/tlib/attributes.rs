//! T-Library attributes: the one definition of every attribute a request or event may carry — its
//! Rust field, its type, its JSON key (GenEM name without `Attribute`), its binary wire tag and
//! whether it is sensitive — plus the log rendering that honours `hide-sensitive-data`.
//! The list is written once, in [`for_each_attribute!`]; the struct, the binary codec, the JSON
//! mapping and the log rendering are all generated from it, so they cannot drift apart.
//! This module must never log a sensitive value unmasked, and never encode bytes itself.

use super::EventKind;
use crate::model::sensitive::{mask, Visibility};
use crate::model::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Invokes `$callback!` with the attribute list: `tag field: Type => "Key", plain|secret, "doc";`.
/// Tags are the binary wire tags: stable forever — never renumber or reuse one, only append.
/// `secret` attributes are masked in logs when `hide-sensitive-data` is on.
macro_rules! for_each_attribute {
    ($callback:ident) => {
        $callback! {
            1 reference_id: u32 => "ReferenceID", plain, "Client-chosen request number, echoed in the event answering the request.";
            2 conn_id: ConnId => "ConnID", plain, "The call (for two-call requests: the held, original call).";
            3 this_dn: DnName => "ThisDN", plain, "The most significant DN of the message (the DN acting, the routing point).";
            4 this_dn_role: DnRole => "ThisDNRole", plain, "Role of ThisDN in the call.";
            5 this_queue: DnName => "ThisQueue", plain, "The ACD queue or routing point relevant to ThisDN.";
            6 other_dn: DnName => "OtherDN", plain, "The other party; the destination of MakeCall, transfers and RouteCall.";
            7 other_dn_role: DnRole => "OtherDNRole", plain, "Role of OtherDN.";
            8 other_queue: DnName => "OtherQueue", plain, "The queue relevant to OtherDN.";
            9 third_party_dn: DnName => "ThirdPartyDN", plain, "A third party: transferring or conferencing party, routing target.";
            10 third_party_dn_role: DnRole => "ThirdPartyDNRole", plain, "Role of ThirdPartyDN.";
            11 third_party_queue: DnName => "ThirdPartyQueue", plain, "The queue relevant to ThirdPartyDN.";
            12 previous_conn_id: ConnId => "PreviousConnID", plain, "The call this one replaced (consult call merged by a completion).";
            13 transfer_conn_id: ConnId => "TransferConnID", plain, "The consultation call of a two-call request.";
            14 call_uuid: String => "CallUUID", plain, "Unique call identifier of this T-Server instance.";
            15 call_id: u64 => "CallID", plain, "The switch's own call identifier.";
            16 call_state: CallState => "CallState", plain, "TCallState.";
            17 call_type: CallType => "CallType", plain, "TCallType, judged from this switch's point of view.";
            18 media_type: MediaType => "MediaType", plain, "0 voice (audio and video), 5 IM.";
            19 agent_id: AgentId => "AgentID", plain, "The agent's login ID.";
            20 agent_work_mode: AgentWorkMode => "AgentWorkMode", plain, "TAgentWorkMode.";
            21 ani: String => "ANI", plain, "Calling number.";
            22 dnis: String => "DNIS", plain, "Dialed number.";
            23 collected_digits: String => "CollectedDigits", secret, "Digits collected by a treatment.";
            24 dtmf_digits: String => "DTMFDigits", secret, "Digits to send (SendDTMF) or sent.";
            25 last_digit: String => "LastDigit", secret, "Last digit collected.";
            26 treatment_type: TreatmentType => "TreatmentType", plain, "ApplyTreatment subtype.";
            27 treatment_parms: KvList => "TreatmentParms", secret, "Treatment parameters (prompts, digits to collect).";
            28 route_type: RouteType => "RouteType", plain, "RouteCall subtype.";
            29 make_call_type: MakeCallType => "MakeCallType", plain, "MakeCall subtype (default Regular).";
            30 address_info_type: AddressInfoType => "AddressInfoType", plain, "QueryAddress subtype (default DNStatus).";
            31 call_info_type: CallInfoType => "CallInfoType", plain, "QueryCall subtype (default StatusQuery).";
            32 monitor_next_call_type: MonitorNextCallType => "MonitorNextCallType", plain, "MonitorNextCall subtype.";
            33 register_mode: RegisterMode => "RegisterMode", plain, "RegisterAddress mode.";
            34 control_mode: ControlMode => "ControlMode", plain, "RegisterAddress control mode.";
            35 dn_type: DnType => "AddressType", plain, "Type of ThisDN.";
            36 agent_status: AgentStatus => "AgentStatus", plain, "Agent state on ThisDN (EventRegistered, EventAddressInfo).";
            37 service_state: DnServiceState => "DNServiceState", plain, "Whether ThisDN is in service.";
            38 key: String => "Key", plain, "The user-data key DeleteUserData removes.";
            39 user_event: EventKind => "UserEvent", plain, "SendUserEvent: the event being distributed.";
            40 private_msg_id: i32 => "PrivateMsgID", plain, "PrivateService / EventPrivateInfo message identifier.";
            41 input_mask: Vec<EventKind> => "InputMask", plain, "SetInputMask: the events the client wants (empty: all).";
            42 application_name: String => "ApplicationName", plain, "OpenServer: the client application's name.";
            43 protocol_version: u32 => "ProtocolVersion", plain, "OpenServer / EventServerConnected: protocol version (1).";
            44 server_version: String => "ServerVersion", plain, "EventServerConnected / EventServerInfo: server version.";
            45 error_code: ErrorCode => "ErrorCode", plain, "EventError: the guide's error code.";
            46 error_message: String => "ErrorMessage", plain, "EventError: human-readable reason.";
            47 event_sequence_number: u64 => "EventSequenceNumber", plain, "Per-connection event number (1, 2, 3, ... no gap), to detect a lost event.";
            48 server_start_time: Timestamp => "ServerStartTime", plain, "When this server run started.";
            49 time: Timestamp => "Time", plain, "When the event was generated.";
            50 user_data: KvList => "UserData", secret, "Business data attached to the call.";
            51 extensions: KvList => "Extensions", plain, "Switch- and feature-specific data (see the guide's Attribute Extensions).";
            52 reasons: KvList => "Reasons", plain, "Reasons, mostly for agent-state changes.";
            53 dn_list: Vec<DnName> => "DNs", plain, "A list of DNs (EventServerInfo, multi-DN answers).";
        }
    };
}
pub(crate) use for_each_attribute;

/// Seconds and microseconds since the Unix epoch, as GenEM's TEvent time fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timestamp {
    pub seconds: u64,
    pub micros: u32,
}

impl Timestamp {
    pub fn now() -> Self {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp { seconds: d.as_secs(), micros: d.subsec_micros() }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.seconds, self.micros)
    }
}

/// Deepest key-value list nesting either encoding accepts. It bounds decoder recursion (a stack
/// overflow aborts the whole server, unlike a typed error) and is far above any real user data.
pub const MAX_KV_DEPTH: usize = 32;

/// Nesting depth of a key-value list: 1 for a flat list.
pub fn kv_depth(list: &KvList) -> usize {
    1 + list
        .iter()
        .map(|(_, v)| match v {
            KvValue::List(l) => kv_depth(l),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// Static description of one attribute, for documentation and tooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeInfo {
    pub tag: u32,
    pub key: &'static str,
    pub field: &'static str,
    pub rust_type: &'static str,
    pub sensitive: bool,
    pub doc: &'static str,
}

/// What an attribute value must offer besides its encodings: a log rendering and the limits
/// both encodings enforce.
pub(crate) trait AttrValue {
    fn log_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// Structural limits a decoded value must respect; `Err` names the violated limit.
    fn check_limits(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Values that may be masked: their masked length is their byte length.
pub(crate) trait SecretValue: AttrValue {
    fn secret_len(&self) -> usize;
}

macro_rules! is_secret {
    (plain) => {
        false
    };
    (secret) => {
        true
    };
}

macro_rules! log_attr {
    (plain, $v:expr, $vis:expr, $f:expr) => {
        AttrValue::log_fmt($v, $f)
    };
    (secret, $v:expr, $vis:expr, $f:expr) => {
        match $vis {
            Visibility::Hidden => $f.write_str(&mask(SecretValue::secret_len($v))),
            Visibility::Shown => AttrValue::log_fmt($v, $f),
        }
    };
}

macro_rules! define_attributes {
    ($($tag:literal $field:ident : $ty:ty => $key:literal, $vis:ident, $doc:literal;)+) => {
        /// Every attribute a T-Library request or event may carry; `None` means absent (absent
        /// attributes cost nothing on the wire and are omitted from JSON). Build with
        /// `Attributes { this_dn: Some(..), ..Default::default() }`.
        #[derive(Clone, Debug, PartialEq, Default)]
        pub struct Attributes {
            $(#[doc = $doc] pub $field: Option<$ty>,)+
        }

        /// Every attribute in tag order.
        pub const ATTRIBUTES: &[AttributeInfo] = &[$(AttributeInfo {
            tag: $tag,
            key: $key,
            field: stringify!($field),
            rust_type: stringify!($ty),
            sensitive: is_secret!($vis),
            doc: $doc,
        }),+];

        impl Attributes {
            /// How many attributes are present.
            pub fn len(&self) -> usize {
                0 $(+ usize::from(self.$field.is_some()))+
            }
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
            /// Checks the structural limits of every present attribute (see [`MAX_KV_DEPTH`]);
            /// `Err` carries the attribute key and the reason.
            pub fn check_limits(&self) -> Result<(), (&'static str, String)> {
                $(if let Some(v) = &self.$field {
                    AttrValue::check_limits(v).map_err(|e| ($key, e))?;
                })+
                Ok(())
            }
        }

        impl fmt::Display for AttrsLog<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut sep = "";
                $(if let Some(v) = &self.attrs.$field {
                    write!(f, concat!("{}", $key, "="), sep)?;
                    log_attr!($vis, v, self.visibility, f)?;
                    sep = " ";
                })+
                let _ = sep;
                Ok(())
            }
        }
    };
}

for_each_attribute!(define_attributes);

/// Log rendering of attributes: `Key=value` pairs in tag order, sensitive values masked as
/// `**** (length:nn)` when the visibility is [`Visibility::Hidden`].
pub struct AttrsLog<'a> {
    attrs: &'a Attributes,
    visibility: Visibility,
}

impl AttrsLog<'_> {
    /// Whether there is nothing to render.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }
}

impl Attributes {
    /// Renders the present attributes for a log line (see [`AttrsLog`]).
    pub fn log_display(&self, visibility: Visibility) -> AttrsLog<'_> {
        AttrsLog { attrs: self, visibility }
    }
}

/// The GenEM enumerations the protocol carries, listed once: `with_genem_enums!(m, Extra...)`
/// invokes `m!(Extra..., DnRole, CallState, ...)`, so the log rendering, the wire codec and the
/// generated docs and tests cannot disagree on which enums exist.
macro_rules! with_genem_enums {
    ($m:ident $(, $extra:ident)*) => {
        $m!($($extra,)* DnRole, CallState, CallType, AgentWorkMode, TreatmentType, RouteType, MakeCallType, AddressInfoType, CallInfoType, MonitorNextCallType, RegisterMode, ControlMode, DnType, AgentStatus, DnServiceState);
    };
}
pub(crate) use with_genem_enums;

macro_rules! display_value {
    ($($ty:ty),+) => {$(
        impl AttrValue for $ty {
            fn log_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    )+};
}

with_genem_enums!(display_value, DnName, ConnId, u64, u32, i32, AgentId, ErrorCode, EventKind, Timestamp);

impl AttrValue for MediaType {
    fn log_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Strings are quoted so that spaces and empty values stay unambiguous in a log line.
impl AttrValue for String {
    fn log_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl SecretValue for String {
    fn secret_len(&self) -> usize {
        self.len()
    }
}

impl AttrValue for KvList {
    fn log_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The JSON form keeps order, duplicates and binary values readable.
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
    fn check_limits(&self) -> Result<(), String> {
        let depth = kv_depth(self);
        if depth > MAX_KV_DEPTH {
            return Err(format!("key-value list nested {depth} levels deep (at most {MAX_KV_DEPTH})"));
        }
        Ok(())
    }
}

impl SecretValue for KvList {
    fn secret_len(&self) -> usize {
        self.byte_len()
    }
}

impl<T: fmt::Display> AttrValue for Vec<T> {
    fn log_fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            fmt::Display::fmt(v, f)?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tags_keys_and_fields_are_unique() {
        let mut tags = HashSet::new();
        let mut keys = HashSet::new();
        for a in ATTRIBUTES {
            assert!(a.tag > 0);
            assert!(tags.insert(a.tag), "duplicate tag {}", a.tag);
            assert!(keys.insert(a.key), "duplicate key {}", a.key);
        }
        assert!(ATTRIBUTES.windows(2).all(|w| w[0].tag < w[1].tag), "list is in tag order");
        let secret: Vec<_> = ATTRIBUTES.iter().filter(|a| a.sensitive).map(|a| a.key).collect();
        assert_eq!(secret, ["CollectedDigits", "DTMFDigits", "LastDigit", "TreatmentParms", "UserData"]);
    }

    #[test]
    fn log_rendering_shows_key_value_pairs_in_tag_order() {
        let a = Attributes {
            conn_id: Some(ConnId(0x006c02462a161006)),
            this_dn: Some(DnName::new("sip:agent01@skype.lab")),
            ani: Some("+1 555".into()),
            call_type: Some(CallType::Inbound),
            input_mask: Some(vec![EventKind::Ringing, EventKind::Released]),
            ..Default::default()
        };
        assert_eq!(
            a.log_display(Visibility::Shown).to_string(),
            "ConnID=006c02462a161006 ThisDN=sip:agent01@skype.lab CallType=Inbound \
             ANI=\"+1 555\" InputMask=[EventRinging,EventReleased]"
        );
        assert_eq!(Attributes::default().log_display(Visibility::Hidden).to_string(), "");
    }

    #[test]
    fn masked_rendering_never_contains_the_secret() {
        let user_data =
            KvList::new().with("CardNumber", "4111111111111111").with("Nested", KvList::new().with("Pin", "9876"));
        let parms = KvList::new().with("Prompt", "SecretPrompt");
        let a = Attributes {
            this_dn: Some(DnName::new("sip:agent01@skype.lab")),
            user_data: Some(user_data.clone()),
            collected_digits: Some("123456".into()),
            dtmf_digits: Some("5555".into()),
            last_digit: Some("7".into()),
            treatment_parms: Some(parms.clone()),
            ..Default::default()
        };
        let hidden = a.log_display(Visibility::Hidden).to_string();
        for secret in ["4111111111111111", "9876", "CardNumber", "123456", "5555", "=\"7\"", "SecretPrompt"] {
            assert!(!hidden.contains(secret), "{secret} leaked into {hidden}");
        }
        assert!(hidden.contains("ThisDN=sip:agent01@skype.lab"));
        assert!(hidden.contains(&format!("UserData=**** (length:{})", user_data.byte_len())));
        assert!(hidden.contains("CollectedDigits=**** (length:6)"));
        assert!(hidden.contains("DTMFDigits=**** (length:4)"));
        assert!(hidden.contains("LastDigit=**** (length:1)"));
        assert!(hidden.contains(&format!("TreatmentParms=**** (length:{})", parms.byte_len())));
        let shown = a.log_display(Visibility::Shown).to_string();
        assert!(shown.contains("4111111111111111") && shown.contains("CollectedDigits=\"123456\""));
    }

    #[test]
    fn depth_limit_is_enforced() {
        let mut l = KvList::new().with("leaf", "x");
        for _ in 1..MAX_KV_DEPTH {
            l = KvList::new().with("n", l);
        }
        assert_eq!(kv_depth(&l), MAX_KV_DEPTH);
        let mut a = Attributes { user_data: Some(l.clone()), ..Default::default() };
        assert!(a.check_limits().is_ok());
        a.user_data = Some(KvList::new().with("n", l));
        assert_eq!(a.check_limits().unwrap_err().0, "UserData");
        assert_eq!(kv_depth(&KvList::new()), 1);
    }
}
