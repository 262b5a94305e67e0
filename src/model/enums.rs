//! T-Library enumerations, named as the Genesys Events and Models Reference names them. In JSON they
//! appear as their GenEM names ("Inbound", "Destination", "AfterCallWork"); `code()` gives the
//! GenEM numeric value where one exists.

use serde::{Deserialize, Serialize};

/// Declares a fieldless enum with GenEM numeric codes, `code()`, `from_code()`, `name()` and `ALL`.
macro_rules! genem_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $code:expr),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* $variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn code(self) -> i32 { match self { $($name::$variant => $code),+ } }
            pub fn from_code(code: i32) -> Option<Self> {
                match code { $(c if c == $code => Some($name::$variant),)+ _ => None }
            }
            pub fn name(self) -> &'static str { match self { $($name::$variant => stringify!($variant)),+ } }
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $(stringify!($variant) => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.name()) }
        }
    };
}

genem_enum!(
    /// DN types the guide supports under the T-Server's Switch ("Devices for T-Server").
    DnType {
        Extension = 1,
        RoutingPoint = 2,
        ExternalRoutingPoint = 3,
        VirtualQueue = 4,
        VoipService = 5,
        TrunkGroup = 6,
        AcdQueue = 7,
    }
);

genem_enum!(
    /// TCallState.
    CallState {
        Ok = 0, Transferred = 1, Conferenced = 2, GeneralError = 3, SystemError = 4,
        RemoteRelease = 5, Busy = 6, NoAnswer = 7, SitDetected = 8, AnsweringMachineDetected = 9,
        AllTrunksBusy = 10, SitInvalidNum = 11, SitVacant = 12, SitIntercept = 13,
        SitUnknown = 14, SitNoCircuit = 15, SitReorder = 16, FaxDetected = 17, QueueFull = 18,
        Cleared = 19, Overflowed = 20, Abandoned = 21, Redirected = 22, Forwarded = 23,
        Consult = 24, Pickedup = 25, Dropped = 26, DroppedNoAnswer = 27, Unknown = 28,
        Covered = 29, ConverseOn = 30, Bridged = 31, Deafened = 49, Held = 50,
    }
);

genem_enum!(
    /// TCallType: judged from the local switch's point of view, so it can differ per leg.
    CallType { Unknown = 0, Internal = 1, Inbound = 2, Outbound = 3, Consult = 4 }
);

genem_enum!(
    /// TDNRole.
    DnRole {
        Unknown = 0, Origination = 1, Destination = 2, ConferenceMember = 3, NewParty = 4,
        AddedBy = 5, DeletedBy = 6, TransferredBy = 7, DeletedParty = 8, ConferencedBy = 9,
        Observer = 10,
    }
);

genem_enum!(
    /// TAgentWorkMode.
    AgentWorkMode {
        Unknown = 0, ManualIn = 1, AutoIn = 2, AfterCallWork = 3, AuxWork = 4,
        NoCallDisconnect = 5, WalkAway = 6, ReturnBack = 7,
    }
);

genem_enum!(
    /// TAddressInfoType (TQueryAddress subtype). Only DNStatus is supported by this T-Server.
    AddressInfoType {
        AddressStatus = 0, MessageWaitingStatus = 1, AssociationStatus = 2, CallForwardingStatus = 3,
        AgentStatus = 4, NumberOfAgentsInQueue = 5, NumberOfAvailableAgentsInQueue = 6,
        NumberOfCallsInQueue = 7, AddressType = 8, CallsQuery = 9, SendAllCallsStatus = 10,
        QueueLoginAudit = 11, NumberOfIdleClassifiers = 12, NumberOfClassifiersInUse = 13,
        NumberOfIdleTrunks = 14, NumberOfTrunksInUse = 15, DatabaseValue = 16, DNStatus = 17,
        QueueStatus = 18,
    }
);

genem_enum!(
    /// TCallInfoType (TQueryCall subtype): PartiesQuery is not supported, StatusQuery is.
    CallInfoType { PartiesQuery = 0, StatusQuery = 1 }
);

genem_enum!(
    /// TMakeCallType: only Regular is supported by this T-Server.
    MakeCallType {
        Regular = 0, DirectAgent = 1, SupervisorAssist = 2, Priority = 3, DirectPriority = 4,
        DirectAgentSupervisor = 5,
    }
);

genem_enum!(
    /// TRouteType values this T-Server supports in TRouteCall.
    RouteType { Unknown = 0, Default = 1, Reject = 4, CallDisconnect = 12 }
);

genem_enum!(
    /// TTreatmentType values listed in the guide's TApplyTreatment row.
    TreatmentType {
        Unknown = 0, IVR = 1, Music = 2, RingBack = 3, Silence = 4, Busy = 5, CollectDigits = 6,
        PlayAnnouncement = 7, PlayAnnouncementAndDigits = 8, VerifyDigits = 9,
        RecordUserAnnouncement = 10, DeleteUserAnnouncement = 11, CancelCall = 12,
        PlayApplication = 13, SetDefaultRoute = 14, TextToSpeech = 15,
        TextToSpeechAndDigits = 16, FastBusy = 17, RAN = 18,
    }
);

genem_enum!(
    /// TMonitorNextCallType.
    MonitorNextCallType { OneCall = 0, AllCalls = 1 }
);

genem_enum!(
    /// TRegisterMode of TRegisterAddress.
    RegisterMode { ModeShare = 0, ModePrivate = 1, ModeMonitor = 2 }
);

genem_enum!(
    /// TControlMode of TRegisterAddress (this T-Server always registers on the switch).
    ControlMode { RegisterDefault = 0, RegisterOn = 1, RegisterOff = 2 }
);

genem_enum!(
    /// The agent's state on a DN as reported in EventRegistered / EventAddressInfo
    /// (GenEM agent-state diagram, without the Busy-* combinations, which follow from calls).
    AgentStatus { LoggedOut = 0, NotReady = 1, Ready = 2, AfterCallWork = 3 }
);

genem_enum!(
    /// Whether the DN is usable: registered on the switch through a connector link or not.
    DnServiceState { OutOfService = 0, InService = 1 }
);

/// AttributeMediaType. Audio and video calls are both reported as 0 (TMediaVoice); IM calls as 5
/// (guide: "Supported Media Types"). Kept numeric because the JSON mapping writes a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct MediaType(pub i32);

impl MediaType {
    pub const VOICE: MediaType = MediaType(0);
    pub const CHAT: MediaType = MediaType(5);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for v in CallState::ALL {
            assert_eq!(CallState::from_code(v.code()), Some(*v));
            assert_eq!(CallState::from_name(v.name()), Some(*v));
        }
        assert_eq!(DnRole::Observer.code(), 10);
        assert_eq!(AgentWorkMode::AfterCallWork.code(), 3);
        assert_eq!(serde_json::to_string(&CallType::Inbound).unwrap(), "\"Inbound\"");
        assert_eq!(serde_json::to_string(&MediaType::CHAT).unwrap(), "5");
    }
}
