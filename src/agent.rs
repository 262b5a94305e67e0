//! The emulated agent state machine (guide: "Emulated Agents"), pure: `(session, request) ->
//! (session, events)` or the guide's error code. The Dn actor owns one optional session per DN and
//! persists it; timers (timed ACW, auto-logout, no-answer) are effects the actor schedules, never
//! sleeps here.
//!
//! Rules applied: one agent per DN (a second AgentID gets 1706 TERR_SOFT_AGENT_ALREADY_LOGGED_IN,
//! the same AgentID logging in again is reported again); `agent-strict-id` refuses AgentIDs with
//! no Agent Login object (1703 TERR_SOFT_AGENT_WRONG_ID); requests of an agent not logged in get
//! 1707 TERR_SOFT_AGENT_NOT_LOGGED_IN; NotReady self-transitions are reported (guide: "T-Server
//! also reports any change in agent mode requested by the agent while remaining in a NotReady
//! state").

use crate::model::{AgentId, AgentStatus, AgentWorkMode, ErrorCode, KvList};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSession {
    pub agent_id: AgentId,
    pub status: AgentStatus,
    pub work_mode: AgentWorkMode,
    pub reasons: KvList,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AgentRequest {
    Login { agent_id: AgentId, work_mode: Option<AgentWorkMode>, reasons: KvList },
    Logout { reasons: KvList },
    SetReady { work_mode: Option<AgentWorkMode>, reasons: KvList },
    SetNotReady { work_mode: Option<AgentWorkMode>, reasons: KvList },
}

/// What the configuration and the rest of the server say about a login attempt.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoginContext {
    /// `agent-strict-id` is set and the AgentID has no Agent Login object.
    pub unknown_agent_refused: bool,
    /// The AgentID is logged in on another DN.
    pub logged_in_elsewhere: bool,
    /// `emulated-login-state = ready`: a login without a work mode lands in Ready.
    pub login_ready: bool,
}

/// The agent event to emit, from the agent's point of view after the transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentEvent {
    Login,
    Logout,
    Ready,
    NotReady,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AgentOutcome {
    pub session: Option<AgentSession>,
    pub events: Vec<AgentEvent>,
}

fn ready_mode(m: Option<AgentWorkMode>) -> Result<AgentWorkMode, ErrorCode> {
    match m.unwrap_or(AgentWorkMode::ManualIn) {
        mode @ (AgentWorkMode::ManualIn | AgentWorkMode::AutoIn | AgentWorkMode::Unknown) => Ok(mode),
        _ => Err(ErrorCode::InvalidAttr),
    }
}

fn not_ready_mode(m: Option<AgentWorkMode>) -> Result<AgentWorkMode, ErrorCode> {
    match m.unwrap_or(AgentWorkMode::AuxWork) {
        AgentWorkMode::ManualIn | AgentWorkMode::AutoIn => Err(ErrorCode::InvalidAttr),
        mode => Ok(mode),
    }
}

pub fn apply(
    current: Option<&AgentSession>,
    request: AgentRequest,
    ctx: LoginContext,
) -> Result<AgentOutcome, ErrorCode> {
    match (current, request) {
        (Some(cur), AgentRequest::Login { agent_id, .. }) => {
            if cur.agent_id != agent_id {
                return Err(ErrorCode::SoftAgentAlreadyLoggedIn);
            }
            Ok(AgentOutcome { session: Some(cur.clone()), events: vec![AgentEvent::Login] })
        }
        (None, AgentRequest::Login { agent_id, work_mode, reasons }) => {
            if agent_id.as_str().is_empty() {
                return Err(ErrorCode::InvalidAttr);
            }
            if ctx.unknown_agent_refused {
                return Err(ErrorCode::SoftAgentWrongId);
            }
            if ctx.logged_in_elsewhere {
                return Err(ErrorCode::SoftAgentAlreadyLoggedIn);
            }
            // A login work mode of ManualIn/AutoIn logs straight into Ready, another one into
            // NotReady; without one, `emulated-login-state` decides.
            let (status, mode, second) = match work_mode {
                Some(m @ (AgentWorkMode::ManualIn | AgentWorkMode::AutoIn)) => {
                    (AgentStatus::Ready, m, AgentEvent::Ready)
                }
                Some(m) if m != AgentWorkMode::Unknown => {
                    (AgentStatus::NotReady, not_ready_mode(Some(m))?, AgentEvent::NotReady)
                }
                _ if ctx.login_ready => (AgentStatus::Ready, AgentWorkMode::ManualIn, AgentEvent::Ready),
                _ => (AgentStatus::NotReady, AgentWorkMode::Unknown, AgentEvent::NotReady),
            };
            let session = AgentSession { agent_id, status, work_mode: mode, reasons };
            Ok(AgentOutcome { session: Some(session), events: vec![AgentEvent::Login, second] })
        }
        (None, _) => Err(ErrorCode::SoftAgentNotLoggedIn),
        (Some(_), AgentRequest::Logout { .. }) => Ok(AgentOutcome { session: None, events: vec![AgentEvent::Logout] }),
        (Some(cur), AgentRequest::SetReady { work_mode, reasons }) => {
            let mode = ready_mode(work_mode)?;
            let session = AgentSession { status: AgentStatus::Ready, work_mode: mode, reasons, ..cur.clone() };
            Ok(AgentOutcome { session: Some(session), events: vec![AgentEvent::Ready] })
        }
        (Some(cur), AgentRequest::SetNotReady { work_mode, reasons }) => {
            let mode = not_ready_mode(work_mode)?;
            let status =
                if mode == AgentWorkMode::AfterCallWork { AgentStatus::AfterCallWork } else { AgentStatus::NotReady };
            let session = AgentSession { status, work_mode: mode, reasons, ..cur.clone() };
            Ok(AgentOutcome { session: Some(session), events: vec![AgentEvent::NotReady] })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(id: &str, mode: Option<AgentWorkMode>) -> AgentRequest {
        AgentRequest::Login { agent_id: AgentId::new(id), work_mode: mode, reasons: KvList::new() }
    }

    #[test]
    fn login_state_follows_work_mode_then_emulated_login_state() {
        let out = apply(None, login("1001", None), LoginContext::default()).unwrap();
        assert_eq!(out.events, vec![AgentEvent::Login, AgentEvent::NotReady]);
        assert_eq!(out.session.unwrap().status, AgentStatus::NotReady);
        let ready = LoginContext { login_ready: true, ..Default::default() };
        let out = apply(None, login("1001", None), ready).unwrap();
        assert_eq!(out.events, vec![AgentEvent::Login, AgentEvent::Ready]);
        let out = apply(None, login("1001", Some(AgentWorkMode::AuxWork)), ready).unwrap();
        assert_eq!(out.session.unwrap().status, AgentStatus::NotReady, "an explicit work mode wins");
        let out = apply(None, login("1001", Some(AgentWorkMode::ManualIn)), LoginContext::default()).unwrap();
        assert_eq!(out.events, vec![AgentEvent::Login, AgentEvent::Ready]);
        assert_eq!(out.session.unwrap().status, AgentStatus::Ready);
    }

    #[test]
    fn one_agent_per_dn_and_strict_ids() {
        let s = apply(None, login("1001", None), LoginContext::default()).unwrap().session.unwrap();
        assert_eq!(
            apply(Some(&s), login("1002", None), LoginContext::default()),
            Err(ErrorCode::SoftAgentAlreadyLoggedIn)
        );
        assert_eq!(
            apply(Some(&s), login("1001", None), LoginContext::default()).unwrap().events,
            vec![AgentEvent::Login]
        );
        let strict = LoginContext { unknown_agent_refused: true, ..Default::default() };
        assert_eq!(apply(None, login("9999", None), strict), Err(ErrorCode::SoftAgentWrongId));
        let elsewhere = LoginContext { logged_in_elsewhere: true, ..Default::default() };
        assert_eq!(apply(None, login("1001", None), elsewhere), Err(ErrorCode::SoftAgentAlreadyLoggedIn));
    }

    #[test]
    fn requests_need_a_logged_in_agent() {
        let r = AgentRequest::SetReady { work_mode: None, reasons: KvList::new() };
        assert_eq!(apply(None, r, LoginContext::default()), Err(ErrorCode::SoftAgentNotLoggedIn));
        assert_eq!(
            apply(None, AgentRequest::Logout { reasons: KvList::new() }, LoginContext::default()),
            Err(ErrorCode::SoftAgentNotLoggedIn)
        );
    }

    #[test]
    fn not_ready_self_transition_is_reported_with_new_mode() {
        let s = apply(None, login("1001", None), LoginContext::default()).unwrap().session.unwrap();
        let r = AgentRequest::SetNotReady {
            work_mode: Some(AgentWorkMode::AuxWork),
            reasons: KvList::new().with("ReasonCode", "Lunch"),
        };
        let out = apply(Some(&s), r, LoginContext::default()).unwrap();
        assert_eq!(out.events, vec![AgentEvent::NotReady]);
        let s2 = out.session.unwrap();
        assert_eq!(s2.work_mode, AgentWorkMode::AuxWork);
        assert_eq!(s2.reasons.get_str("ReasonCode"), Some("Lunch"));
        let acw = AgentRequest::SetNotReady { work_mode: Some(AgentWorkMode::AfterCallWork), reasons: KvList::new() };
        assert_eq!(
            apply(Some(&s2), acw, LoginContext::default()).unwrap().session.unwrap().status,
            AgentStatus::AfterCallWork
        );
        let bad = AgentRequest::SetReady { work_mode: Some(AgentWorkMode::AuxWork), reasons: KvList::new() };
        assert_eq!(apply(Some(&s2), bad, LoginContext::default()), Err(ErrorCode::InvalidAttr));
    }
}
