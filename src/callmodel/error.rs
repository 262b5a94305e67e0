//! Why the call model refuses or fails a request, each reason mapped to the guide's error code
//! (the "Error Messages" table) for the EventError that answers the request.

use crate::model::{ConnId, DnName, ErrorCode};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// 51: the request (or this use of it) is not supported by this T-Server.
    #[error("{0} is not supported by this T-Server")]
    Unsupported(String),
    /// 53: a mandatory attribute is missing, or an attribute is invalid.
    #[error("attribute {0} is missing or invalid")]
    InvalidAttribute(&'static str),
    /// 56: no call with this ConnID.
    #[error("no call with ConnID {0}")]
    UnknownCall(ConnId),
    /// 58: the DN cannot place calls now.
    #[error("{0} is out of service")]
    OutOfService(DnName),
    /// 291: the call (or its partner) has another telephony operation in progress.
    #[error("another telephony operation is in progress on call {0}")]
    OperationInProgress(ConnId),
    /// 415: the destination is not a valid one.
    #[error("invalid destination {0:?}")]
    InvalidDestination(String),
    /// 470: the DN (or the named party) is not on the call.
    #[error("{party} is not a party of call {conn}")]
    NotOnCall { party: String, conn: ConnId },
    /// 496: the party is not in a state that allows the request.
    #[error("{party} is {actual} on call {conn}; the request needs {needed}")]
    PartyState { party: DnName, conn: ConnId, actual: &'static str, needed: &'static str },
    /// 565: the call is not in a state that allows the request.
    #[error("call {conn} cannot do this now: {reason}")]
    CallState { conn: ConnId, reason: &'static str },
    /// The Connector refused the request: its code and reason are passed on.
    #[error("{reason}")]
    Switch { code: ErrorCode, reason: String },
    /// 236: the Connector did not answer (or its effect did not follow) in time.
    #[error("no response from the connector in time")]
    Timeout,
    /// 237: the call went away before the request could be carried out.
    #[error("the call has disconnected")]
    Disconnected,
    /// 98 (TCompleteTransfer), 1148 (TSingleStepTransfer), 705 (TRouteCall): pass-through calls
    /// are not allowed and the request would leave no configured DN in the call.
    #[error("{}: the call would be left with no T-Server controlled party", .0.symbol())]
    PassThrough(ErrorCode),
    /// 52: the Connector reported the call under another id than the one it answered.
    #[error("{0}")]
    Internal(String),
}

impl CallError {
    /// The guide's error code for this reason.
    pub fn code(&self) -> ErrorCode {
        match self {
            CallError::Unsupported(_) => ErrorCode::UnsupOper,
            CallError::InvalidAttribute(_) => ErrorCode::InvalidAttr,
            CallError::UnknownCall(_) => ErrorCode::InvConnId,
            CallError::OutOfService(_) => ErrorCode::OutOfService,
            CallError::OperationInProgress(_) => ErrorCode::OperationInProgress,
            CallError::InvalidDestination(_) => ErrorCode::InvDestDn,
            CallError::NotOnCall { .. } => ErrorCode::PartyNotOnCall,
            CallError::PartyState { .. } => ErrorCode::InvCallState,
            CallError::CallState { .. } => ErrorCode::InvalidState,
            CallError::Switch { code, .. } => *code,
            CallError::Timeout => ErrorCode::ConnectorTimeout,
            CallError::Disconnected => ErrorCode::CallDisconnected,
            CallError::PassThrough(code) => *code,
            CallError::Internal(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_map_to_the_guide_codes() {
        let c = ConnId(1);
        let cases = [
            (CallError::UnknownCall(c), 56),
            (CallError::NotOnCall { party: "x".into(), conn: c }, 470),
            (CallError::PartyState { party: DnName::new("a"), conn: c, actual: "Held", needed: "Connected" }, 496),
            (CallError::CallState { conn: c, reason: "r" }, 565),
            (CallError::OperationInProgress(c), 291),
            (CallError::Timeout, 236),
            (CallError::Disconnected, 237),
            (CallError::OutOfService(DnName::new("a")), 58),
            (CallError::InvalidDestination("x".into()), 415),
            (CallError::InvalidAttribute("OtherDN"), 53),
            (CallError::Unsupported("x".into()), 51),
            (CallError::PassThrough(ErrorCode::CannotCompleteTransfer), 98),
            (CallError::PassThrough(ErrorCode::PrivilegeViolationOnCalledDevice), 1148),
            (CallError::PassThrough(ErrorCode::ProhibitedRouteCallToExternal), 705),
        ];
        for (e, code) in cases {
            assert_eq!(e.code().code(), code, "{e}");
        }
    }
}
