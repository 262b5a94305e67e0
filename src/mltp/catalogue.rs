//! The MLTP message catalogue: every message name, its direction, its headers (typed, required or
//! optional) and its body, declared once in [`catalogue!`] from which [`MessageName`], the typed
//! [`Mltp`] enum, the frame conversions and the header specs of docs/mltp.md are all generated.
//! Names and header names are a contract with Connectors written elsewhere: add optional headers,
//! never rename. Receivers ignore headers they do not know, so adding one is backward compatible.
//! This module never touches bytes; the codec does.

use super::values::*;
use super::{canonical_header_name, MltpError, MltpMessage, TxId};
use crate::model::{ConnId, DnName, DnType, ErrorCode, KvList, RouteType, TreatmentType};
use std::fmt;

/// Who sends a message and how it is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// T-Server to Connector, with a numeric id, answered by `RESPONSE <same id>`.
    Request,
    /// The answer to a request: `RESPONSE <id of the request>`.
    Response,
    /// Connector to T-Server, unsolicited (id `*`), never answered.
    Event,
}

/// One header (or the body) of a catalogue entry, for documentation and tooling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderSpec {
    /// The header name as written on output; `body` for the body.
    pub name: &'static str,
    pub required: bool,
    /// The value syntax (for the body: what it holds).
    pub syntax: String,
}

/// The Rust type of a field, from its kind.
macro_rules! field_ty {
    (opt $t:ty) => { Option<$t> };
    ($how:ident $t:ty) => { $t };
}

/// The spec of a field, from its kind.
macro_rules! spec {
    (req $t:ty, $h:literal) => {
        HeaderSpec { name: $h, required: true, syntax: <$t as HeaderValue>::syntax() }
    };
    (opt $t:ty, $h:literal) => {
        HeaderSpec { name: $h, required: false, syntax: <$t as HeaderValue>::syntax() }
    };
    (json_array $t:ty, $h:literal) => {
        HeaderSpec { name: "body", required: true, syntax: $h.into() }
    };
    ($body:ident $t:ty, $h:literal) => {
        HeaderSpec { name: "body", required: false, syntax: $h.into() }
    };
}

/// Writes a field into a frame, from its kind.
macro_rules! put {
    (req $msg:ident, $v:expr, $h:literal) => {
        $msg.push_header($h, HeaderValue::to_value($v))
    };
    (opt $msg:ident, $v:expr, $h:literal) => {
        if let Some(v) = $v {
            $msg.push_header($h, HeaderValue::to_value(v))
        }
    };
    ($body:ident $msg:ident, $v:expr, $h:literal) => {
        $msg.body = (!$v.is_empty()).then(|| $v.clone())
    };
}

/// Reads a field from a frame, from its kind.
macro_rules! get {
    (req $r:ident, $t:ty, $h:literal) => {
        $r.req::<$t>($h)
    };
    (opt $r:ident, $t:ty, $h:literal) => {
        $r.opt::<$t>($h)
    };
    (text $r:ident, $t:ty, $h:literal) => {
        Ok::<String, MltpError>($r.msg.body_str().to_string())
    };
    (json $r:ident, $t:ty, $h:literal) => {
        $r.json(false)
    };
    (json_array $r:ident, $t:ty, $h:literal) => {
        $r.json(true)
    };
}

/// Declares the catalogue. Field kinds: `req` / `opt` a header (named by the literal), `text` the
/// body as UTF-8 text, `json` the body as JSON text (may be empty), `json_array` the body as a
/// JSON array (required); for body kinds the literal says what the body holds.
macro_rules! catalogue {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident = $wire:literal, $kind:ident {
            $($field:ident : $ty:ty = $how:ident $h:literal),* $(,)?
        }
    )+) => {
        /// Every MLTP message name, as written in start lines.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MessageName { $($variant,)+ Response }

        impl MessageName {
            pub const ALL: &'static [MessageName] = &[$(MessageName::$variant,)+ MessageName::Response];

            pub fn as_str(self) -> &'static str {
                match self { $(MessageName::$variant => $wire,)+ MessageName::Response => "RESPONSE" }
            }

            /// The name spelled exactly `s` (names are upper case).
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some(MessageName::$variant),)+
                    "RESPONSE" => Some(MessageName::Response),
                    _ => None,
                }
            }

            pub fn kind(self) -> MessageKind {
                match self {
                    $(MessageName::$variant => MessageKind::$kind,)+
                    MessageName::Response => MessageKind::Response,
                }
            }

            /// The headers (and body) of this message, in the order they are written.
            pub fn headers(self) -> Vec<HeaderSpec> {
                match self {
                    $(MessageName::$variant => vec![$(spec!($how $ty, $h)),*],)+
                    MessageName::Response => vec![
                        spec!(req ResponseStatus, "status"),
                        spec!(opt ErrorCode, "error-code"),
                        spec!(opt String, "reason"),
                    ],
                }
            }

            /// What the message means (the catalogue's doc comment).
            pub fn doc(self) -> String {
                let lines: &[&str] = match self {
                    $(MessageName::$variant => &[$($doc),+],)+
                    MessageName::Response => &[" The answer to a request: status, error and result headers."],
                };
                lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
            }
        }

        /// Every MLTP message with its typed headers. Body fields are `String`s: empty means no body.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Mltp {
            $($(#[doc = $doc])+ $variant { $($field: field_ty!($how $ty)),* },)+
            /// `RESPONSE <id>`: the answer to the request with that id.
            Response(Response),
        }

        impl Mltp {
            pub fn name(&self) -> MessageName {
                match self {
                    $(Mltp::$variant { .. } => MessageName::$variant,)+
                    Mltp::Response(_) => MessageName::Response,
                }
            }

            /// The frame of this message with transaction id `id` (a request's own id, the id of
            /// the request a RESPONSE answers, or `TxId::Unsolicited` for events).
            pub fn to_message(&self, id: TxId) -> MltpMessage {
                let mut msg = MltpMessage::new(self.name(), id);
                match self {
                    $(Mltp::$variant { $($field),* } => { $(put!($how msg, $field, $h);)* })+
                    Mltp::Response(r) => r.put(&mut msg),
                }
                msg
            }

            /// The typed message of a frame. Unknown headers are ignored; a missing required
            /// header, a bad value or a transaction id of the wrong kind is an error naming it.
            pub fn from_message(msg: &MltpMessage) -> Result<Mltp, MltpError> {
                check_tx_id(msg)?;
                let r = Fields { msg };
                Ok(match msg.name {
                    $(MessageName::$variant => Mltp::$variant { $($field: get!($how r, $ty, $h)?),* },)+
                    MessageName::Response => Mltp::Response(Response::read(&r)?),
                })
            }
        }

        /// A message of kind `name` with every field drawn from `s` (tests only).
        #[cfg(test)]
        pub(super) fn sample(name: MessageName, s: &mut super::tests::Seed) -> Mltp {
            #[allow(unused_imports)]
            use super::tests::Sample;
            match name {
                $(MessageName::$variant => Mltp::$variant { $($field: sample!($how s, $ty)),* },)+
                MessageName::Response => Mltp::Response(s.response()),
            }
        }
    };
}

/// Draws a field of a test message, from its kind.
#[cfg(test)]
macro_rules! sample {
    (req $s:ident, $t:ty) => {
        <$t as Sample>::sample($s)
    };
    (opt $s:ident, $t:ty) => {
        if $s.present() {
            Some(<$t as Sample>::sample($s))
        } else {
            None
        }
    };
    (text $s:ident, $t:ty) => {
        $s.body_text()
    };
    (json $s:ident, $t:ty) => {
        $s.json()
    };
    (json_array $s:ident, $t:ty) => {
        $s.json_array()
    };
}

catalogue! {
    // Link.
    /// First message on a link: the T-Server introduces itself and the pool it serves.
    Hello = "HELLO", Request {
        version: String = req "version", tserver: String = req "tserver", pool: String = req "pool",
    }
    /// Keepalive; a link that misses answers is considered down.
    Ping = "PING", Request {}
    /// The T-Server closes the link after the RESPONSE.
    Bye = "BYE", Request { cause: String = opt "cause" }

    // Endpoints.
    /// Start serving a DN: create its endpoint, report its calls.
    RegisterDn = "REGISTER_DN", Request { dn: DnName = req "dn", dn_type: DnType = req "dn-type" }
    /// Stop serving a DN (it was remapped to another Connector or removed).
    UnregisterDn = "UNREGISTER_DN", Request { dn: DnName = req "dn", cause: String = opt "cause" }

    // Presence.
    /// Report the DN's SfB presence with PRESENCE_CHANGED from now on.
    SubscribePresence = "SUBSCRIBE_PRESENCE", Request { dn: DnName = req "dn" }
    /// Stop reporting the DN's presence.
    UnsubscribePresence = "UNSUBSCRIBE_PRESENCE", Request { dn: DnName = req "dn" }
    /// Set the DN's SfB presence (agent state mapped to availability).
    PublishPresence = "PUBLISH_PRESENCE", Request {
        dn: DnName = req "dn", availability: u32 = req "availability", activity: String = opt "activity",
    }

    // Call control.
    /// Place a call from a DN; for IM the body is the first message.
    MakeCall = "MAKE_CALL", Request {
        conn_id: ConnId = req "conn-id", from: String = req "from", to: String = req "to", media: Media = req "media",
        conversation_id: String = opt "conversation-id", data: KvList = opt "Data",
        calling_method: String = opt "calling-method", cpn: String = opt "cpn",
        text: String = text "UTF-8 text: the first instant message (IM calls)",
    }
    /// Release the party from the call (the call ends when one party is left).
    ReleaseCall = "RELEASE_CALL", Request { call: u64 = req "call", party: String = req "party" }
    /// Put the party's side of the call on hold.
    HoldCall = "HOLD_CALL", Request { call: u64 = req "call", party: String = req "party" }
    /// Retrieve a held call.
    RetrieveCall = "RETRIEVE_CALL", Request { call: u64 = req "call", party: String = req "party" }
    /// Complete a two-step transfer: the party leaves, its two peers are joined.
    TransferCall = "TRANSFER_CALL", Request {
        call: u64 = req "call", consult_call: u64 = req "consult-call", party: String = req "party",
    }
    /// Complete a two-step conference: the consultation call is merged into the main call.
    ConferenceCall = "CONFERENCE_CALL", Request {
        call: u64 = req "call", consult_call: u64 = req "consult-call", party: String = req "party",
    }
    /// Transfer the call to a destination without consultation; the party leaves.
    SingleStepTransfer = "SINGLE_STEP_TRANSFER", Request {
        call: u64 = req "call", party: String = req "party", to: String = req "to",
    }
    /// Add a destination to the call without consultation (supervisors: in a monitor mode).
    SingleStepConference = "SINGLE_STEP_CONFERENCE", Request {
        call: u64 = req "call", to: String = req "to", mode: MonitorMode = opt "mode",
    }
    /// Route a call waiting on a Routing Point to a destination.
    RedirectCall = "REDIRECT_CALL", Request {
        call: u64 = req "call", to: String = req "to", route_type: RouteType = opt "route-type",
        calling_method: String = opt "calling-method", cpn: String = opt "cpn",
    }
    /// Remove another party from a conference.
    DeleteParty = "DELETE_PARTY", Request { call: u64 = req "call", party: String = req "party" }
    /// Send an instant message into an IM call.
    SendIm = "SEND_IM", Request {
        call: u64 = req "call", from: String = req "from", text: String = text "UTF-8 text: the message",
    }
    /// Send DTMF digits on the party's leg.
    SendDtmf = "SEND_DTMF", Request {
        call: u64 = req "call", party: String = req "party", digits: String = req "digits",
    }
    /// Apply a treatment (music, announcement, digit collection) to a call.
    PlayTreatment = "PLAY_TREATMENT", Request {
        call: u64 = req "call", party: String = opt "party", treatment_type: TreatmentType = req "treatment-type",
        params: KvList = opt "Treatment-Params",
    }
    /// Stop the treatment running on the call.
    StopTreatment = "STOP_TREATMENT", Request { call: u64 = req "call" }
    /// Change a supervisor's monitoring mode on the call.
    SetMute = "SET_MUTE", Request {
        call: u64 = req "call", party: String = req "party", mode: MonitorMode = req "mode",
    }

    // HA data.
    /// One HA record stored (put) or removed (delete) by the Connector, mirrored to the T-Server.
    HaData = "HA_DATA", Event {
        call: u64 = req "call", kind: HaKind = req "kind", op: HaOp = req "op", key: String = opt "key",
        data: String = json "JSON text: the record (empty on delete)",
    }
    /// After a Connector restart: every HA record the T-Server holds for it.
    HaRestore = "HA_RESTORE", Request { records: String = json_array "JSON array: the stored HA_DATA bodies, verbatim" }

    // Events.
    /// A call appeared on a served DN (or was created by MAKE_CALL).
    CallCreated = "CALL_CREATED", Event {
        call: u64 = req "call", conversation_id: String = req "conversation-id", media: Media = req "media",
        from: String = req "from", to: String = req "to", direction: Direction = req "direction",
        monitored: bool = req "monitored", conn_id: ConnId = opt "conn-id",
    }
    /// A party joined the call.
    PartyCreated = "PARTY_CREATED", Event {
        call: u64 = req "call", party: String = req "party", media: Media = req "media", from: String = req "from",
        to: String = req "to", party_state: PartyState = req "party-state",
    }
    /// A party's state changed.
    PartyStateChanged = "PARTY_STATE_CHANGED", Event {
        call: u64 = req "call", party: String = req "party", party_state: PartyState = req "party-state",
        cause: String = opt "cause",
    }
    /// A party left the call.
    PartyDeleted = "PARTY_DELETED", Event {
        call: u64 = req "call", party: String = req "party", cause: String = opt "cause",
    }
    /// The call ended; its id is not reused.
    CallDeleted = "CALL_DELETED", Event { call: u64 = req "call", cause: String = opt "cause" }
    /// A subscribed DN's SfB presence changed.
    PresenceChanged = "PRESENCE_CHANGED", Event {
        dn: DnName = req "dn", availability: u32 = req "availability", activity: String = opt "activity",
        presence_type: PresenceType = req "presence-type",
    }
    /// An instant message arrived in an IM call.
    ImReceived = "IM_RECEIVED", Event {
        call: u64 = req "call", from: String = req "from", text: String = text "UTF-8 text: the message",
    }
    /// DTMF digits arrived from a party.
    DtmfReceived = "DTMF_RECEIVED", Event {
        call: u64 = req "call", party: String = req "party", digits: String = req "digits",
    }
    /// A treatment finished, with any digits it collected.
    TreatmentEnded = "TREATMENT_ENDED", Event {
        call: u64 = req "call", treatment_type: TreatmentType = req "treatment-type",
        status: TreatmentStatus = req "status", digits: String = opt "digits",
    }
    /// The Connector's state changed (graceful shutdown starts with `suspending`).
    ConnectorState = "CONNECTOR_STATE", Event { state: ConnectorState = req "state" }
    /// The Connector can no longer serve a DN, or can again.
    DnState = "DN_STATE", Event { dn: DnName = req "dn", state: DnState = req "state", cause: String = opt "cause" }
    /// An error not tied to a request (a call failed in SfB, say).
    Error = "ERROR", Event {
        error_code: ErrorCode = req "error-code", reason: String = req "reason", call: u64 = opt "call",
    }
}

impl MessageName {
    /// The result headers a RESPONSE to this request carries on success, beyond `status`.
    pub fn result_headers(self) -> Vec<HeaderSpec> {
        let spec = |name, syntax: String| HeaderSpec { name, required: true, syntax };
        match self {
            MessageName::Hello => vec![
                spec("connector", String::syntax()),
                spec("state", ConnectorState::syntax()),
                spec("version", String::syntax()),
                // `present`: the Connector kept its own HA data (the T-Server drops its copy and
                // receives fresh HA_DATA); `none`: a new Connector asks for HA_RESTORE.
                spec("ha-data", "present|none".to_string()),
            ],
            MessageName::RegisterDn => vec![spec("presence-type", PresenceType::syntax())],
            MessageName::MakeCall => vec![spec("call", u64::syntax()), spec("conversation-id", String::syntax())],
            MessageName::HaRestore => vec![spec("restored", u64::syntax())],
            _ => Vec::new(),
        }
    }
}

impl Mltp {
    /// `HA_RESTORE` carrying `records` — the bodies of the `HA_DATA` puts still in force, each
    /// verbatim — as one JSON array. Empty records (deletes) are skipped.
    pub fn ha_restore<I, S>(records: I) -> Mltp
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut body = String::from("[");
        for record in records {
            let record = record.as_ref().trim();
            if !record.is_empty() {
                if body.len() > 1 {
                    body.push(',');
                }
                body.push_str(record);
            }
        }
        body.push(']');
        Mltp::HaRestore { records: body }
    }
}

impl fmt::Display for MessageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Requests and RESPONSE carry a numeric id, events `*`.
fn check_tx_id(msg: &MltpMessage) -> Result<(), MltpError> {
    match (msg.name.kind(), msg.id) {
        (MessageKind::Event, TxId::Unsolicited) | (MessageKind::Request | MessageKind::Response, TxId::Tx(_)) => Ok(()),
        _ => Err(MltpError::WrongTxId { message: msg.name, id: msg.id }),
    }
}

/// Typed access to a frame's headers, with errors naming message and header.
struct Fields<'a> {
    msg: &'a MltpMessage,
}

impl Fields<'_> {
    fn opt<T: HeaderValue>(&self, header: &str) -> Result<Option<T>, MltpError> {
        match self.msg.header(header) {
            None => Ok(None),
            Some(v) => T::from_value(v).map(Some).map_err(|reason| MltpError::BadValue {
                message: self.msg.name,
                header: header.to_string(),
                reason,
            }),
        }
    }

    fn req<T: HeaderValue>(&self, header: &str) -> Result<T, MltpError> {
        self.opt(header)?.ok_or_else(|| MltpError::MissingHeader { message: self.msg.name, header: header.to_string() })
    }

    /// The body as JSON text: checked to parse (and to be an array when `array`), kept verbatim.
    fn json(&self, array: bool) -> Result<String, MltpError> {
        let body = self.msg.body_str();
        let bad = |reason: String| MltpError::BadValue { message: self.msg.name, header: "body".into(), reason };
        if body.is_empty() {
            return if array {
                Err(MltpError::MissingHeader { message: self.msg.name, header: "body".into() })
            } else {
                Ok(String::new())
            };
        }
        let checked = if array {
            serde_json::from_str::<Vec<serde::de::IgnoredAny>>(body).map(drop)
        } else {
            serde_json::from_str::<serde::de::IgnoredAny>(body).map(drop)
        };
        let what = if array { "a JSON array" } else { "JSON" };
        checked.map_err(|e| bad(format!("expected {what} (error at line {}, column {})", e.line(), e.column())))?;
        Ok(body.to_string())
    }
}

/// The answer to a request. `error` is set when `status` is `error`; `results` holds every other
/// header in order (the request's result headers, see [`MessageName::result_headers`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: ResponseStatus,
    pub error: Option<(ErrorCode, String)>,
    pub results: Vec<(String, String)>,
}

impl Response {
    pub fn ok() -> Self {
        Response { status: ResponseStatus::Ok, error: None, results: Vec::new() }
    }

    /// `status: error` with the guide's error code and a reason text.
    pub fn error(code: ErrorCode, reason: impl Into<String>) -> Self {
        Response { status: ResponseStatus::Error, error: Some((code, reason.into())), results: Vec::new() }
    }

    /// Adds a result header.
    pub fn with(mut self, name: &str, value: impl HeaderValue) -> Self {
        self.results.push((canonical_header_name(name), value.to_value()));
        self
    }

    pub fn is_ok(&self) -> bool {
        self.status == ResponseStatus::Ok
    }

    /// The first result header `name` (ASCII case ignored).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.results.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Result header `name` parsed as `T`; a bad value is an error naming the header.
    pub fn get_as<T: HeaderValue>(&self, name: &str) -> Result<Option<T>, MltpError> {
        self.get(name).map(T::from_value).transpose().map_err(|reason| MltpError::BadValue {
            message: MessageName::Response,
            header: name.to_string(),
            reason,
        })
    }

    /// The `reason` text of an error.
    pub fn reason(&self) -> Option<&str> {
        self.error.as_ref().map(|(_, r)| r.as_str())
    }

    /// Why the request failed, `None` when it succeeded. A `status: error` without `error-code`
    /// counts as 50 (TERR_UNKNOWN_ERROR).
    pub fn failure(&self) -> Option<(ErrorCode, &str)> {
        match (self.status, &self.error) {
            (ResponseStatus::Ok, _) => None,
            (ResponseStatus::Error, Some((code, reason))) => Some((*code, reason)),
            (ResponseStatus::Error, None) => Some((ErrorCode::UnknownError, ErrorCode::UnknownError.description())),
        }
    }

    fn put(&self, msg: &mut MltpMessage) {
        msg.push_header("status", self.status.to_value());
        if let Some((code, reason)) = &self.error {
            msg.push_header("error-code", code.to_value());
            msg.push_header("reason", reason.to_value());
        }
        msg.headers.extend(self.results.iter().cloned());
    }

    /// `error-code` and `reason` are read together: a reason without a code stays a result
    /// header, a code without a reason gets the code's description.
    fn read(r: &Fields<'_>) -> Result<Response, MltpError> {
        let status: ResponseStatus = r.req("status")?;
        let code: Option<ErrorCode> = r.opt("error-code")?;
        let error =
            code.map(|c| (c, r.msg.header("reason").map_or_else(|| c.description().to_string(), str::to_string)));
        let reserved: &[&str] = if error.is_some() { &["status", "error-code", "reason"] } else { &["status"] };
        let results = r
            .msg
            .headers
            .iter()
            .filter(|(n, _)| !reserved.iter().any(|x| x.eq_ignore_ascii_case(n)))
            .cloned()
            .collect();
        Ok(Response { status, error, results })
    }
}

impl From<Response> for Mltp {
    fn from(r: Response) -> Self {
        Mltp::Response(r)
    }
}
