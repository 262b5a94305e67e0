//! The T-Library message catalogue: every request of the guide's "T-Library Functionality" table
//! (supported or not) and every event this server can send, with their wire codes, their names
//! (requests without the leading `T`, events as GenEM writes them) and the table's support marks.
//! This module only describes messages; it must never decide how a request is served beyond the
//! table (the call model does that) and never touches bytes.

use super::Attributes;
use crate::model::{AddressInfoType, CallInfoType, MakeCallType, TreatmentType};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The table's "Supported" column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Support {
    /// `Y`
    Supported,
    /// `N`: answered with EventError 51 (TERR_UNSUP_OPER).
    NotSupported,
    /// `E`: the event is delivered, but there is no request of its own behind it.
    EventOnly,
    /// `I`: reserved for Genesys Engineering; this server answers EventError 51 like `N`.
    Reserved,
}

impl Support {
    /// The letter the guide's table uses.
    pub fn mark(self) -> char {
        match self {
            Support::Supported => 'Y',
            Support::NotSupported => 'N',
            Support::EventOnly => 'E',
            Support::Reserved => 'I',
        }
    }
}

/// Declares `EventKind` with explicit wire codes; names are the variant prefixed with `Event`.
macro_rules! events {
    ($($variant:ident = $code:literal),+ $(,)?) => {
        /// Every event this server sends. The wire code is stable: never renumber, only append.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind { $($variant),+ }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $(EventKind::$variant => concat!("Event", stringify!($variant))),+ }
            }
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(concat!("Event", stringify!($variant)) => Some(EventKind::$variant),)+ _ => None }
            }
            /// The wire code (see docs/protocol.md).
            pub fn code(self) -> u32 {
                match self { $(EventKind::$variant => $code),+ }
            }
            pub fn from_code(code: u32) -> Option<Self> {
                match code { $($code => Some(EventKind::$variant),)+ _ => None }
            }
        }
    };
}

events! {
    // Connection, registration, errors.
    Error = 1, ACK = 2, ServerConnected = 3, ServerDisconnected = 4, ServerInfo = 5,
    Registered = 6, Unregistered = 7, AddressInfo = 8, DNOutOfService = 9, DNBackInService = 10,
    // Call events.
    Ringing = 11, Established = 12, Released = 13, Dialing = 14, Abandoned = 15, Held = 16,
    Retrieved = 17, PartyChanged = 18, PartyAdded = 19, PartyDeleted = 20, Queued = 21,
    Diverted = 22, NetworkReached = 23,
    // Routing and treatments.
    RouteRequest = 24, RouteUsed = 25, TreatmentApplied = 26, TreatmentNotApplied = 27,
    TreatmentEnd = 28,
    // User data and queries.
    AttachedDataChanged = 29, PartyInfo = 30, LocationInfo = 31, CallInfoChanged = 32,
    // Agents and supervision.
    AgentLogin = 33, AgentLogout = 34, AgentReady = 35, AgentNotReady = 36,
    AgentIdleReasonSet = 37, AgentReserved = 38, MonitoringNextCall = 39,
    MonitoringCanceled = 40, MuteOn = 41, MuteOff = 42, DNDOn = 43, DNDOff = 44,
    // Special requests, ISCC and network.
    DTMFSent = 45, PrivateInfo = 46, UserEvent = 47, AnswerAccessNumber = 48,
    ReqGetAccessNumberCanceled = 49, TransactionStatus = 50, NetworkCallStatus = 51,
    NetworkPrivateInfo = 52, RemoteConnectionSuccess = 53, RemoteConnectionFailed = 54,
    // Call-based monitoring.
    CallCreated = 55, CallDataChanged = 56, CallDeleted = 57, CallPartyAdded = 58,
    CallPartyState = 59, CallPartyMoved = 60, CallPartyDeleted = 61,
}

/// Declares `RequestKind` from the guide's table: code, support mark, corresponding events, and
/// the event the table marks with `*` (the one carrying the request's ReferenceID), if any.
macro_rules! requests {
    ($($variant:ident = $code:literal, $support:ident, [$($ev:ident),*] $(, *$star:ident)?;)+) => {
        /// Every request of the guide's T-Library Functionality table, plus call-based monitoring.
        /// The wire code is stable: never renumber, only append.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RequestKind { $($variant),+ }

        impl RequestKind {
            pub const ALL: &'static [RequestKind] = &[$(RequestKind::$variant),+];

            /// The table's name without the leading `T` (`MakeCall`, `AgentSetNotReady`).
            pub fn name(self) -> &'static str {
                match self { $(RequestKind::$variant => stringify!($variant)),+ }
            }
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($variant) => Some(RequestKind::$variant),)+ _ => None }
            }
            /// The wire code (see docs/protocol.md).
            pub fn code(self) -> u32 {
                match self { $(RequestKind::$variant => $code),+ }
            }
            pub fn from_code(code: u32) -> Option<Self> {
                match code { $($code => Some(RequestKind::$variant),)+ _ => None }
            }
            /// The table's mark for the request as a whole.
            pub fn support(self) -> Support {
                match self { $(RequestKind::$variant => $support),+ }
            }
            /// The table's "Corresponding Events", in the table's order.
            pub fn answered_by(self) -> &'static [EventKind] {
                match self { $(RequestKind::$variant => &[$(EventKind::$ev),*]),+ }
            }
            /// The event the table marks with `*`, if it marks one.
            pub fn marked_event(self) -> Option<EventKind> {
                match self { $(RequestKind::$variant => None $(.or(Some(EventKind::$star)))?),+ }
            }
        }
    };
}

use Support::{NotSupported as N, Reserved as I, Supported as Y};

requests! {
    // General requests.
    OpenServer = 1, Y, [ServerConnected];
    OpenServerEx = 2, Y, [ServerConnected];
    CloseServer = 3, Y, [ServerDisconnected];
    SetInputMask = 4, Y, [ACK];
    // Registration requests (only the requester is notified).
    RegisterAddress = 5, Y, [Registered];
    UnregisterAddress = 6, Y, [Unregistered];
    // Call-handling requests. TAnswerCall lists no event: SfB answers on the endpoint itself.
    MakeCall = 7, Y, [Dialing], *Dialing;
    AnswerCall = 8, N, [];
    ReleaseCall = 9, Y, [Released];
    ClearCall = 10, Y, [Released];
    HoldCall = 11, Y, [Held];
    RetrieveCall = 12, Y, [Retrieved];
    // Transfer / conference requests.
    InitiateTransfer = 13, Y, [Held, Dialing], *Dialing;
    CompleteTransfer = 14, Y, [Released, PartyChanged], *Released;
    InitiateConference = 15, Y, [Held, Dialing], *Dialing;
    CompleteConference = 16, Y, [Released, Retrieved, PartyAdded, PartyChanged], *Released;
    DeleteFromConference = 17, Y, [PartyDeleted, Released], *PartyDeleted;
    ReconnectCall = 18, Y, [Released, Retrieved], *Retrieved;
    AlternateCall = 19, Y, [Held, Retrieved], *Held;
    // Both subtypes (ForTransfer, ForConference) are N; the union of their events.
    MergeCalls = 20, N, [Held, Released, Retrieved, PartyChanged, PartyAdded], *Released;
    SingleStepTransfer = 21, Y, [Released, PartyChanged], *Released;
    SingleStepConference = 22, Y, [Ringing, Established, PartyAdded], *Ringing;
    // Call-routing requests (every RouteType this server knows is supported).
    RouteCall = 23, Y, [RouteUsed];
    // Call-treatment requests.
    ApplyTreatment = 24, Y, [TreatmentApplied, TreatmentEnd, TreatmentNotApplied];
    GiveMusicTreatment = 25, N, [TreatmentApplied];
    GiveRingBackTreatment = 26, N, [TreatmentApplied];
    GiveSilenceTreatment = 27, N, [TreatmentApplied];
    // Agent & DN feature requests. The table writes "AgentLogout" without the T.
    AgentLogin = 28, Y, [AgentLogin];
    AgentLogout = 29, Y, [AgentLogout];
    AgentSetIdleReason = 30, N, [AgentIdleReasonSet];
    AgentSetReady = 31, Y, [AgentReady];
    AgentSetNotReady = 32, Y, [AgentNotReady];
    MonitorNextCall = 33, Y, [MonitoringNextCall];
    CancelMonitoring = 34, Y, [MonitoringCanceled];
    SetMuteOff = 35, Y, [MuteOff];
    SetMuteOn = 36, Y, [MuteOn];
    // Query requests. QueryCall: StatusQuery Y, PartiesQuery N (see subtype_supported).
    QueryCall = 37, Y, [PartyInfo];
    QueryAddress = 38, Y, [AddressInfo];
    QueryLocation = 39, I, [LocationInfo];
    QueryServer = 40, Y, [ServerInfo];
    // User-data requests.
    AttachUserData = 41, Y, [AttachedDataChanged];
    UpdateUserData = 42, Y, [AttachedDataChanged];
    DeleteUserData = 43, Y, [AttachedDataChanged];
    DeleteAllUserData = 44, Y, [AttachedDataChanged];
    // ISCC requests.
    GetAccessNumber = 45, Y, [AnswerAccessNumber];
    CancelReqGetAccessNumber = 46, Y, [ReqGetAccessNumberCanceled];
    // Special requests.
    ReserveAgent = 47, I, [AgentReserved];
    SendEvent = 48, I, [ACK];
    SendEventEx = 49, I, [ACK];
    SetCallAttributes = 50, I, [CallInfoChanged];
    SendUserEvent = 51, Y, [ACK];
    SendDTMF = 52, Y, [DTMFSent], *DTMFSent;
    PrivateService = 53, Y, [PrivateInfo], *PrivateInfo;
    NetworkSingleStepTransfer = 54, N, [NetworkCallStatus];
    NetworkPrivateService = 55, N, [NetworkPrivateInfo];
    // ISCC transaction monitoring: EventACK Y, then EventTransactionStatus E.
    TransactionMonitoring = 56, Y, [ACK, TransactionStatus];
    // Call-based monitoring: not in the guide's table; this server offers it to supervision
    // clients, acknowledged with EventACK, then EventCall* events follow.
    StartCallMonitoring = 57, Y, [ACK];
    StopCallMonitoring = 58, Y, [ACK];
}

/// TApplyTreatment subtypes the table marks Y.
pub const SUPPORTED_TREATMENTS: &[TreatmentType] = &[
    TreatmentType::PlayApplication,
    TreatmentType::Music,
    TreatmentType::RingBack,
    TreatmentType::Silence,
    TreatmentType::Busy,
    TreatmentType::CollectDigits,
    TreatmentType::PlayAnnouncement,
    TreatmentType::PlayAnnouncementAndDigits,
    TreatmentType::RecordUserAnnouncement,
    TreatmentType::FastBusy,
];

impl RequestKind {
    /// The event that carries the request's ReferenceID: the one the table marks with `*`,
    /// else the first corresponding event; `None` only for requests the table lists no event for.
    pub fn reference_event(self) -> Option<EventKind> {
        self.marked_event().or_else(|| self.answered_by().first().copied())
    }

    /// Whether the server executes this request at all. `N` and `I` requests are answered with
    /// EventError 51 (TERR_UNSUP_OPER) carrying their ReferenceID.
    pub fn is_served(self) -> bool {
        self.support() == Support::Supported
    }

    /// The table's mark for one of this request's events: `E` for EventTransactionStatus after
    /// TTransactionMonitoring (the table's only `E`), the request's own mark for the others,
    /// `None` for an event the table does not list with this request.
    pub fn event_support(self, event: EventKind) -> Option<Support> {
        if self == RequestKind::TransactionMonitoring && event == EventKind::TransactionStatus {
            return Some(Support::EventOnly);
        }
        self.answered_by().contains(&event).then(|| self.support())
    }

    /// Whether the subtype carried by `attrs` is one the table marks Y for this request. Absent
    /// subtypes take the project defaults (MakeCallType Regular, CallInfoType StatusQuery,
    /// AddressInfoType DNStatus). A missing mandatory subtype (ApplyTreatment without
    /// TreatmentType) passes here: reporting it is the validator's job (TERR_INVALID_ATTR).
    /// Callers answer EventError 51 when this returns false; [`super::Request::check_supported`]
    /// combines it with [`RequestKind::is_served`].
    pub fn subtype_supported(self, attrs: &Attributes) -> bool {
        match self {
            RequestKind::MakeCall => attrs.make_call_type.is_none_or(|t| t == MakeCallType::Regular),
            RequestKind::QueryCall => attrs.call_info_type.is_none_or(|t| t == CallInfoType::StatusQuery),
            RequestKind::QueryAddress => attrs.address_info_type.is_none_or(|t| t == AddressInfoType::DNStatus),
            RequestKind::ApplyTreatment => attrs.treatment_type.is_none_or(|t| SUPPORTED_TREATMENTS.contains(&t)),
            _ => true,
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Kinds serialize as their names in human-readable formats (JSON, the admin API) and as their
/// wire codes in binary formats (snapshots).
macro_rules! kind_serde {
    ($ty:ident, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(self.name())
                } else {
                    s.serialize_u32(self.code())
                }
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                if d.is_human_readable() {
                    let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                    $ty::from_name(&name)
                        .ok_or_else(|| D::Error::custom(format!(concat!("unknown ", $what, " {:?}"), name)))
                } else {
                    let code = u32::deserialize(d)?;
                    $ty::from_code(code)
                        .ok_or_else(|| D::Error::custom(format!(concat!("unknown ", $what, " code {}"), code)))
                }
            }
        }
    };
}

kind_serde!(EventKind, "event");
kind_serde!(RequestKind, "request");

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_codes_round_trip_and_are_unique() {
        let mut codes = HashSet::new();
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::from_name(k.name()), Some(*k));
            assert_eq!(RequestKind::from_code(k.code()), Some(*k));
            let mut chars = k.name().chars();
            let t_prefixed = chars.next() == Some('T') && chars.next().is_some_and(char::is_uppercase);
            assert!(!t_prefixed, "{k}: requests drop the leading T");
            assert!(codes.insert(k.code()), "duplicate request code {}", k.code());
        }
        let mut codes = HashSet::new();
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_name(k.name()), Some(*k));
            assert_eq!(EventKind::from_code(k.code()), Some(*k));
            assert!(k.name().starts_with("Event"));
            assert!(codes.insert(k.code()), "duplicate event code {}", k.code());
        }
        assert_eq!(EventKind::ALL.len(), 61);
        assert_eq!(EventKind::from_name("Ringing"), None);
        assert_eq!(RequestKind::from_name("TMakeCall"), None);
    }

    #[test]
    fn support_marks_match_the_guide_table() {
        use RequestKind as R;
        let expect = [
            (R::OpenServer, 'Y'),
            (R::SetInputMask, 'Y'),
            (R::RegisterAddress, 'Y'),
            (R::MakeCall, 'Y'),
            (R::AnswerCall, 'N'),
            (R::MergeCalls, 'N'),
            (R::SingleStepConference, 'Y'),
            (R::RouteCall, 'Y'),
            (R::ApplyTreatment, 'Y'),
            (R::GiveMusicTreatment, 'N'),
            (R::GiveRingBackTreatment, 'N'),
            (R::GiveSilenceTreatment, 'N'),
            (R::AgentLogout, 'Y'),
            (R::AgentSetIdleReason, 'N'),
            (R::SetMuteOn, 'Y'),
            (R::QueryCall, 'Y'),
            (R::QueryLocation, 'I'),
            (R::QueryServer, 'Y'),
            (R::ReserveAgent, 'I'),
            (R::SendEvent, 'I'),
            (R::SendEventEx, 'I'),
            (R::SetCallAttributes, 'I'),
            (R::SendUserEvent, 'Y'),
            (R::NetworkSingleStepTransfer, 'N'),
            (R::NetworkPrivateService, 'N'),
            (R::TransactionMonitoring, 'Y'),
        ];
        for (k, mark) in expect {
            assert_eq!(k.support().mark(), mark, "{k}");
            assert_eq!(k.is_served(), mark == 'Y', "{k}");
        }
        assert_eq!(R::TransactionMonitoring.event_support(EventKind::TransactionStatus), Some(Support::EventOnly));
        assert_eq!(R::MakeCall.event_support(EventKind::Ringing), None);
    }

    #[test]
    fn reference_events_follow_the_asterisks() {
        use EventKind as E;
        use RequestKind as R;
        assert_eq!(R::MakeCall.reference_event(), Some(E::Dialing));
        assert_eq!(R::InitiateTransfer.reference_event(), Some(E::Dialing));
        assert_eq!(R::ReconnectCall.reference_event(), Some(E::Retrieved));
        assert_eq!(R::AlternateCall.reference_event(), Some(E::Held));
        assert_eq!(R::DeleteFromConference.reference_event(), Some(E::PartyDeleted));
        assert_eq!(R::SingleStepConference.reference_event(), Some(E::Ringing));
        assert_eq!(R::RouteCall.marked_event(), None);
        assert_eq!(R::RouteCall.reference_event(), Some(E::RouteUsed));
        assert_eq!(R::AnswerCall.reference_event(), None);
        for k in RequestKind::ALL {
            if let Some(e) = k.marked_event() {
                assert!(k.answered_by().contains(&e), "{k}: marked event not listed");
            }
        }
    }

    #[test]
    fn subtypes_follow_the_table() {
        let mut a = Attributes::default();
        assert!(RequestKind::QueryCall.subtype_supported(&a));
        a.call_info_type = Some(CallInfoType::PartiesQuery);
        assert!(!RequestKind::QueryCall.subtype_supported(&a));
        a.make_call_type = Some(MakeCallType::DirectAgent);
        assert!(!RequestKind::MakeCall.subtype_supported(&a));
        a.treatment_type = Some(TreatmentType::TextToSpeech);
        assert!(!RequestKind::ApplyTreatment.subtype_supported(&a));
        a.treatment_type = Some(TreatmentType::Music);
        assert!(RequestKind::ApplyTreatment.subtype_supported(&a));
        a.address_info_type = Some(AddressInfoType::QueueStatus);
        assert!(!RequestKind::QueryAddress.subtype_supported(&a));
    }

    #[test]
    fn kinds_serialize_as_names_in_json() {
        assert_eq!(serde_json::to_string(&EventKind::DTMFSent).unwrap(), "\"EventDTMFSent\"");
        let k: RequestKind = serde_json::from_str("\"AgentSetNotReady\"").unwrap();
        assert_eq!(k, RequestKind::AgentSetNotReady);
        assert!(serde_json::from_str::<EventKind>("\"EventNope\"").is_err());
    }
}
