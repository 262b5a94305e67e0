//! The complete set of error codes the guide's "Error Messages" table says T-Server distributes in
//! EventError, plus the three refusals of its "Handling Pass-Through Calls" section (98, 705,
//! 1148, named as the guide words them) and TERR_DN_NO_ANSWER, which its "No-Answer Supervision"
//! section names without a number (232 in the public T-Library error list). Nothing else may
//! appear in an EventError's ErrorCode.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($variant:ident = $code:expr, $symbol:expr, $text:expr;)+) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "i32", try_from = "i32")]
        pub enum ErrorCode { $($variant),+ }
        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];
            pub fn code(self) -> i32 { match self { $(ErrorCode::$variant => $code),+ } }
            /// The table's "Symbolic Name" column.
            pub fn symbol(self) -> &'static str { match self { $(ErrorCode::$variant => $symbol),+ } }
            /// The table's "Description" column, used as ErrorMessage when nothing better is known.
            pub fn description(self) -> &'static str { match self { $(ErrorCode::$variant => $text),+ } }
            pub fn from_code(code: i32) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)+ _ => None }
            }
        }
    };
}

error_codes! {
    NoMoreLicense = 40, "TERR_NOMORE_LICENSE", "No more licenses are available.";
    NotRegistered = 41, "TERR_NOT_REGISTERED", "Client has not registered for the DN.";
    ResourceSeized = 42, "TERR_RESOURCE_SEIZED", "Resource is already seized";
    InSameState = 43, "TERR_IN_SAME_STATE", "Object is already in requested state.";
    UnknownError = 50, "TERR_UNKNOWN_ERROR", "Unknown error code. Request cannot be processed.";
    UnsupOper = 51, "TERR_UNSUP_OPER", "Operation is not supported.";
    Internal = 52, "TERR_INTERNAL", "Internal error.";
    InvalidAttr = 53, "TERR_INVALID_ATTR", "Attribute in request operation is invalid.";
    ProtoVers = 55, "TERR_PROTO_VERS", "Incorrect protocol version.";
    InvConnId = 56, "TERR_INV_CONNID", "Connection ID in request is invalid.";
    Timeout = 57, "TERR_TIMEOUT", "Switch or T-Server did not respond in time.";
    OutOfService = 58, "TERR_OUT_OF_SERVICE", "Device is out of service.";
    NotConfigured = 59, "TERR_NOT_CONFIGURED", "DN is not configured in the Configuration Database.";
    InvCallDn = 61, "TERR_INV_CALL_DN", "DN in request is invalid.";
    InvCaldDn = 71, "TERR_INV_CALD_DN", "Invalid called DN.";
    DestInvState = 93, "TERR_DEST_INV_STATE", "Destination Invalid State.";
    CannotCompleteTransfer = 98, "Cannot Complete Transfer", "Pass-through calls are not allowed: the transfer would leave no T-Server controlled party in the call.";
    TooManyReq = 111, "TERR_TOO_MANY_REQ", "Too many outstanding requests.";
    DnNotExist = 123, "TERR_DN_NOT_EXIST", "DN for association does not exist.";
    TargDnInv = 177, "TERR_TARG_DN_INV", "Target DN Invalid.";
    BadParam = 223, "TERR_BAD_PARAM", "Bad parameter is passed to function.";
    OutOfMem = 226, "TERR_OUT_OF_MEM", "Out of memory (local).";
    DnNoAnswer = 232, "TERR_DN_NO_ANSWER", "No answer at DN: the routing destination did not accept the call within no-answer-timeout.";
    ConnectorTimeout = 236, "Timeout performing operation", "Request failed as no response from Connector (hence from SfB) for requested service received during timeout.";
    CallDisconnected = 237, "Call has disconnected", "Request failed due to the main call being disconnected.";
    OperationInProgress = 291, "Other telephony operation in progress", "Request failed because there is still pending request for the same call/device/etc in progress.";
    InvDestDn = 415, "TERR_INV_DEST_DN", "The destination DN in the request is invalid.";
    PartyNotOnCall = 470, "TERR_PARTY_NOT_ON_CALL", "Party in request is not involved in a call.";
    NotSignedAgent = 481, "TERR_NOT_SIGNED_AGENT", "The destination agent is not signed in.";
    InvCallState = 496, "TERR_INV_CALL_STATE", "Party in request is in the call state.";
    NoCall = 563, "TERR_NO_CALL", "No call.";
    InvalidState = 565, "TERR_INVALID_STATE", "Invalid State.";
    ProhibitedRouteCallToExternal = 705, "Prohibited Route Call To External", "Pass-through calls are not allowed: routing would leave no T-Server controlled party in the call.";
    CstaOperReqIncompat = 1140, "TERR_CSTA_OPER_REQ_INCOMPAT", "Request incompatible with object.";
    PrivilegeViolationOnCalledDevice = 1148, "Privilege violation on called device", "Pass-through calls are not allowed: the single-step transfer would leave no T-Server controlled party in the call.";
    SoftAgentWrongId = 1703, "TERR_SOFT_AGENT_WRONG_ID", "Agent has a wrong ID.";
    SoftAgentAlreadyLoggedIn = 1706, "TERR_SOFT_AGENT_ALREADY_LOGGED_IN", "Agent has already logged in.";
    SoftAgentNotLoggedIn = 1707, "TERR_SOFT_AGENT_NOT_LOGGED_IN", "Agent has not logged in.";
}

impl From<ErrorCode> for i32 {
    fn from(c: ErrorCode) -> i32 {
        c.code()
    }
}

impl TryFrom<i32> for ErrorCode {
    type Error = String;
    fn try_from(code: i32) -> Result<Self, String> {
        ErrorCode::from_code(code).ok_or_else(|| format!("{code} is not an error code of this T-Server"))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()));
            assert_eq!(ErrorCode::from_code(c.code()), Some(*c));
        }
        assert_eq!(ErrorCode::UnsupOper.code(), 51);
        assert_eq!(ErrorCode::ALL.len(), 38);
        assert_eq!(ErrorCode::CannotCompleteTransfer.code(), 98);
        assert_eq!(ErrorCode::ProhibitedRouteCallToExternal.code(), 705);
        assert_eq!(ErrorCode::PrivilegeViolationOnCalledDevice.code(), 1148);
        assert_eq!(ErrorCode::from_code(1148).unwrap().symbol(), "Privilege violation on called device");
        assert_eq!(serde_json::to_string(&ErrorCode::InvConnId).unwrap(), "56");
    }
}
