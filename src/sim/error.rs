//! Errors of the simulated world's operations, each mapped to an HTTP status (for the control
//! API a demo or test drives) and to the guide's T-Library error code (for the EventError the
//! T-Server sends when a request fails on the SfB side). An operation that fails changes nothing;
//! this module never decides policy, it only names what went wrong.

use super::types::{CallId, Media};
use crate::model::ErrorCode;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The acting user (or a DN the application named) does not exist.
    #[error("unknown user {0}")]
    UnknownUser(String),
    /// A destination that cannot be called (unknown user of the domain, a Response Group from an
    /// application conference, a malformed URI, ...).
    #[error("invalid destination {to}: {reason}")]
    InvalidDestination { to: String, reason: String },
    #[error("no such call {0}")]
    NoSuchCall(CallId),
    /// `call: None` and the user has no call in a state the operation needs.
    #[error("{user} has no {wanted} call")]
    NoCall { user: String, wanted: String },
    #[error("{user} is not a party of call {call}")]
    NotAParty { call: CallId, user: String },
    #[error("invalid state: expected {expected}, found {actual}")]
    InvalidState { expected: String, actual: String },
    /// Skype for Business refuses the operation (configuration, federation, lobby, ...).
    #[error("refused: {0}")]
    Refused(String),
    /// The operation does not exist for this media (guide: IM call limitations).
    #[error("{operation} is not supported for {media:?} calls")]
    Unsupported { operation: String, media: Media },
    /// A malformed argument (availability out of range, non-DTMF digits, ...).
    #[error("bad argument: {0}")]
    BadArgument(String),
    /// The call needs an application conference and none can host it (guide: "Conference
    /// Resource Pools", "Disable Lobby Bypass").
    #[error("no conference can host the call: {0}")]
    NoConference(NoConference),
}

/// Why no application conference can host a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoConference {
    /// Every scheduled conference is in use and none may be scheduled on demand: 42
    /// TERR_RESOURCE_SEIZED (a transient condition: the pool refills).
    #[error("{0}")]
    Exhausted(String),
    /// Conferences cannot be scheduled at all: the application's LobbyBypass flag disagrees with
    /// the pool's PstnCallersBypassLobby: 1140 TERR_CSTA_OPER_REQ_INCOMPAT (a configuration error).
    #[error("{0}")]
    Lobby(String),
}

impl SimError {
    pub(crate) fn state(expected: impl Into<String>, actual: impl std::fmt::Debug) -> SimError {
        SimError::InvalidState { expected: expected.into(), actual: format!("{actual:?}") }
    }
    pub(crate) fn destination(to: &str, reason: impl Into<String>) -> SimError {
        SimError::InvalidDestination { to: to.to_string(), reason: reason.into() }
    }
    pub(crate) fn unsupported(operation: &str, media: Media) -> SimError {
        SimError::Unsupported { operation: operation.to_string(), media }
    }

    /// The HTTP status of the control API for this error (always 4xx).
    pub fn http_status(&self) -> u16 {
        match self {
            SimError::UnknownUser(_) | SimError::NoSuchCall(_) => 404,
            SimError::NoCall { .. } | SimError::NotAParty { .. } | SimError::InvalidState { .. } => 409,
            SimError::Refused(_) | SimError::NoConference(_) => 403,
            SimError::InvalidDestination { .. } | SimError::Unsupported { .. } => 422,
            SimError::BadArgument(_) => 400,
        }
    }

    /// The guide's T-Library error code this failure is reported with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            SimError::UnknownUser(_) => ErrorCode::InvCallDn,
            SimError::InvalidDestination { .. } => ErrorCode::InvDestDn,
            SimError::NoSuchCall(_) => ErrorCode::InvConnId,
            SimError::NoCall { .. } => ErrorCode::NoCall,
            SimError::NotAParty { .. } => ErrorCode::PartyNotOnCall,
            SimError::InvalidState { .. } => ErrorCode::InvalidState,
            SimError::Refused(_) => ErrorCode::CstaOperReqIncompat,
            SimError::Unsupported { .. } => ErrorCode::UnsupOper,
            SimError::BadArgument(_) => ErrorCode::BadParam,
            SimError::NoConference(NoConference::Exhausted(_)) => ErrorCode::ResourceSeized,
            SimError::NoConference(NoConference::Lobby(_)) => ErrorCode::CstaOperReqIncompat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_4xx_and_guide_codes() {
        let cases = [
            (SimError::UnknownUser("sip:x@skype.lab".into()), 404, 61),
            (SimError::destination("sip:rg@skype.lab", "response group"), 422, 415),
            (SimError::NoSuchCall(CallId(7)), 404, 56),
            (SimError::NoCall { user: "u".into(), wanted: "alerting".into() }, 409, 563),
            (SimError::NotAParty { call: CallId(1), user: "u".into() }, 409, 470),
            (SimError::state("Connected", super::super::PartyState::Alerting), 409, 565),
            (SimError::Refused("lobby".into()), 403, 1140),
            (SimError::unsupported("hold", Media::Im), 422, 51),
            (SimError::BadArgument("digits".into()), 400, 223),
            (SimError::NoConference(NoConference::Exhausted("pool".into())), 403, 42),
            (SimError::NoConference(NoConference::Lobby("lobby".into())), 403, 1140),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.http_status(), status, "{e}");
            assert_eq!(e.error_code().code(), code, "{e}");
            assert!((400..500).contains(&e.http_status()));
        }
        assert_eq!(
            SimError::state("Connected", super::super::PartyState::Alerting).to_string(),
            "invalid state: expected Connected, found Alerting"
        );
    }
}
