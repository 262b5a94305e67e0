//! The request-only interface the Dn actor uses today (`apply`, `AgentSession`): one request on an
//! optional session, no calls, no timers. It runs the same [`AgentMachine`] with the built-in
//! option defaults (no ACW timer can start: `wrap-up-time` is 0), so its answers are the
//! machine's. Kept until the actor layer feeds the full machine; `AgentSession` stays the shape of
//! the agent in `DnSnapshotV1`, EventRegistered and EventAddressInfo.

use super::machine::AgentMachine;
use super::settings::AgentSettings;
use super::types::{
    AcwPeriod, AgentInput, AgentState, Answer, ClientRequest, LoginCheck, LoginSession, RequestAction, Resume,
};
use crate::model::{AgentId, AgentStatus, AgentWorkMode, DnName, ErrorCode, KvList};
use crate::tlib::EventKind;
use serde::{Deserialize, Serialize};

/// The agent of a DN as clients see it (status, work mode, reasons).
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

/// Applies one agent request to the DN's session: the new session and the events, or the guide's
/// error code.
pub fn apply(
    current: Option<&AgentSession>,
    request: AgentRequest,
    ctx: LoginContext,
) -> Result<AgentOutcome, ErrorCode> {
    let settings = AgentSettings { emulated_login_ready: ctx.login_ready, ..AgentSettings::default() };
    let mut machine = AgentMachine::new(DnName::default(), settings.clone());
    if let Some(cur) = current {
        machine.session = Some(LoginSession::from_agent_session(cur, settings.clone(), 0, 0));
    }
    let (action, reasons) = match request {
        AgentRequest::Login { agent_id, work_mode, reasons } => {
            let check = LoginCheck {
                settings,
                strict_id_refused: ctx.unknown_agent_refused,
                logged_in_elsewhere: ctx.logged_in_elsewhere,
            };
            (RequestAction::Login { agent_id, work_mode, check }, reasons)
        }
        AgentRequest::Logout { reasons } => (RequestAction::Logout, reasons),
        AgentRequest::SetReady { work_mode, reasons } => (RequestAction::SetReady { work_mode }, reasons),
        AgentRequest::SetNotReady { work_mode, reasons } => (RequestAction::SetNotReady { work_mode }, reasons),
    };
    let request =
        ClientRequest { client: 0, reference_id: None, this_queue: None, reasons, extensions: KvList::new(), action };
    let out = machine.step(0, AgentInput::Request(request));
    if let Some(Answer::Error { code, .. }) = out.answer {
        return Err(code);
    }
    let events = out
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::AgentLogin => Some(AgentEvent::Login),
            EventKind::AgentLogout => Some(AgentEvent::Logout),
            EventKind::AgentReady => Some(AgentEvent::Ready),
            EventKind::AgentNotReady => Some(AgentEvent::NotReady),
            _ => None,
        })
        .collect();
    Ok(AgentOutcome { session: machine.agent_session(), events })
}

impl LoginSession {
    /// A session rebuilt from its client-visible shape (a `DnSnapshotV1`): an ACW comes back
    /// untimed, since V1 kept no deadline.
    pub fn from_agent_session(s: &AgentSession, settings: AgentSettings, login_client: u64, now_ms: u64) -> Self {
        let state = match s.status {
            AgentStatus::Ready => AgentState::Ready { mode: s.work_mode },
            AgentStatus::AfterCallWork => AgentState::AfterCallWork {
                period: AcwPeriod::Untimed,
                resume: Resume::Ready { mode: AgentWorkMode::ManualIn },
            },
            AgentStatus::NotReady | AgentStatus::LoggedOut => AgentState::NotReady { mode: s.work_mode },
        };
        let ready_mode = match s.work_mode {
            AgentWorkMode::AutoIn if s.status == AgentStatus::Ready => AgentWorkMode::AutoIn,
            _ => AgentWorkMode::ManualIn,
        };
        LoginSession {
            agent_id: s.agent_id.clone(),
            state,
            reasons: s.reasons.clone(),
            queue: None,
            login_client,
            settings,
            ready_mode,
            last_activity_ms: now_ms,
        }
    }
}

impl AgentMachine {
    /// The agent as EventRegistered / EventAddressInfo and `DnSnapshotV1` show it.
    pub fn agent_session(&self) -> Option<AgentSession> {
        self.session.as_ref().map(|s| AgentSession {
            agent_id: s.agent_id.clone(),
            status: s.state.status(),
            work_mode: s.state.work_mode(),
            reasons: s.reasons.clone(),
        })
    }

    /// A machine whose agent comes from a `DnSnapshotV1` (no calls, no timers).
    pub fn with_agent_session(dn: DnName, dn_settings: AgentSettings, session: LoginSession) -> Self {
        let mut m = AgentMachine::new(dn, dn_settings);
        m.session = Some(session);
        m
    }
}
