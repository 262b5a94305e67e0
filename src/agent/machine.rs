//! [`AgentMachine`]: the emulated agent of one DN and the calls on it. `step(now_ms, input)`
//! applies one input and returns the events, the answer, the timers and the effects it causes;
//! this file holds the machine, its step and the four agent requests. ACW rules are in `acw.rs`,
//! call facts in `calls.rs`, timers and automatic logouts in `supervision.rs`.

use super::acw;
use super::settings::{bool_extension, AgentSettings};
use super::types::{
    AgentInput, AgentState, Answer, ArmedTimer, CallOnDn, CallPhase, ClientRequest, Effect, LoginCheck, LoginSession,
    LogoutCause, Output, RequestAction,
};
use crate::model::{AgentId, AgentWorkMode, DnName, ErrorCode, KvList};
use crate::tlib::EventKind;
use serde::{Deserialize, Serialize};

/// A refused request: the guide's error code and a message for EventError.
pub(super) type Refusal = (ErrorCode, String);

/// The agent side of one DN. Serialisable as a whole: a snapshot of it restores the agent, its
/// ACW and legal-guard periods, the calls on the DN and the armed timers (`rearm`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentMachine {
    pub(super) dn: DnName,
    /// The DN's own option values (no agent): what applies to calls while nobody is logged in.
    pub(super) dn_settings: AgentSettings,
    pub(super) session: Option<LoginSession>,
    pub(super) calls: Vec<CallOnDn>,
    pub(super) armed: Vec<ArmedTimer>,
    pub(super) next_token: u64,
}

impl AgentMachine {
    pub fn new(dn: DnName, dn_settings: AgentSettings) -> Self {
        AgentMachine { dn, dn_settings, session: None, calls: Vec::new(), armed: Vec::new(), next_token: 1 }
    }

    pub fn dn(&self) -> &DnName {
        &self.dn
    }

    /// The logged-in agent, if any.
    pub fn session(&self) -> Option<&LoginSession> {
        self.session.as_ref()
    }

    /// The calls on the DN the machine knows of.
    pub fn calls(&self) -> &[CallOnDn] {
        &self.calls
    }

    /// The timers that are armed now (key, deadline, token).
    pub fn armed(&self) -> &[ArmedTimer] {
        &self.armed
    }

    /// Applies one input at time `now_ms` (any monotonic millisecond clock the actor keeps; the
    /// same clock for every input).
    pub fn step(&mut self, now_ms: u64, input: AgentInput) -> Output {
        let mut out = Output::default();
        match input {
            AgentInput::Request(req) => self.on_request(now_ms, req, &mut out),
            AgentInput::Call(fact) => self.on_call(now_ms, fact, &mut out),
            AgentInput::TimerExpired { key, token } => self.on_timer(now_ms, key, token, &mut out),
            AgentInput::ClientGone { client, logout_on_disconnect } => {
                self.on_client_gone(client, logout_on_disconnect, &mut out)
            }
            AgentInput::OutOfService => self.on_out_of_service(&mut out),
        }
        self.sync_timers(now_ms, &mut out);
        out
    }

    fn on_request(&mut self, now: u64, req: ClientRequest, out: &mut Output) {
        if let Some(s) = self.session.as_mut() {
            s.last_activity_ms = now;
        }
        let start = out.events.len();
        let result = match &req.action {
            RequestAction::Login { agent_id, work_mode, check } => {
                self.login(now, &req, agent_id, *work_mode, check, out)
            }
            RequestAction::Logout => self.logout_request(&req, out),
            RequestAction::SetReady { work_mode } => self.set_ready(now, &req, *work_mode, out),
            RequestAction::SetNotReady { work_mode } => self.set_not_ready(now, &req, *work_mode, out),
        };
        out.answer = Some(match result {
            Ok(()) => {
                // Only the event answering the request carries its ReferenceID; the EventAgentReady
                // that follows a login is unsolicited.
                out.events[start].attrs.reference_id = req.reference_id;
                Answer::Event(start)
            }
            Err((code, message)) => Answer::Error { code, message },
        });
    }

    fn login(
        &mut self,
        now: u64,
        req: &ClientRequest,
        agent_id: &AgentId,
        work_mode: Option<AgentWorkMode>,
        check: &LoginCheck,
        out: &mut Output,
    ) -> Result<(), Refusal> {
        if agent_id.as_str().is_empty() {
            return Err((ErrorCode::InvalidAttr, "TAgentLogin without AgentID".into()));
        }
        if let Some(s) = &self.session {
            if s.agent_id != *agent_id {
                let msg = format!("agent {} is logged in on {}", s.agent_id, self.dn);
                return Err((ErrorCode::SoftAgentAlreadyLoggedIn, msg));
            }
            // GenEM allows repeated logins: reported again, nothing changes.
            let ev =
                s.facts(&self.dn, &req.reasons).event(EventKind::AgentLogin, Some(s.state.work_mode()), KvList::new());
            out.events.push(ev);
            return Ok(());
        }
        if check.strict_id_refused {
            let msg = format!("agent-strict-id: AgentID {agent_id} has no Agent Login object");
            return Err((ErrorCode::SoftAgentWrongId, msg));
        }
        if check.logged_in_elsewhere {
            return Err((ErrorCode::SoftAgentAlreadyLoggedIn, format!("agent {agent_id} is logged in on another DN")));
        }
        if !self.calls.is_empty() && !check.settings.emu_login_on_call {
            return Err((ErrorCode::InvCallState, "a call is in progress on the DN (agent-emu-login-on-call)".into()));
        }
        let settings = check.settings.clone();
        let default_state = if settings.emulated_login_ready {
            AgentState::Ready { mode: AgentWorkMode::ManualIn }
        } else {
            AgentState::NotReady { mode: AgentWorkMode::Unknown }
        };
        let state = match work_mode {
            Some(mode @ (AgentWorkMode::ManualIn | AgentWorkMode::AutoIn)) => AgentState::Ready { mode },
            Some(AgentWorkMode::AfterCallWork) => {
                let busy = self.in_business_call();
                acw::requested(
                    &default_state,
                    busy,
                    &req.extensions,
                    &settings,
                    AgentWorkMode::ManualIn,
                    &req.reasons,
                    now,
                )
            }
            Some(AgentWorkMode::Unknown) | None => default_state,
            Some(mode) => AgentState::NotReady { mode },
        };
        let ready_mode = match state {
            AgentState::Ready { mode: AgentWorkMode::AutoIn } => AgentWorkMode::AutoIn,
            _ => AgentWorkMode::ManualIn,
        };
        let session = LoginSession {
            agent_id: agent_id.clone(),
            state,
            reasons: req.reasons.clone(),
            queue: req.this_queue.clone(),
            login_client: req.client,
            settings,
            ready_mode,
            last_activity_ms: now,
        };
        let facts = session.facts(&self.dn, &req.reasons);
        out.events.push(facts.event(EventKind::AgentLogin, Some(session.state.work_mode()), KvList::new()));
        out.events.push(session.state_event(&self.dn, &req.reasons, now));
        out.effects.push(Effect::AgentLoggedIn { agent_id: agent_id.clone() });
        self.session = Some(session);
        Ok(())
    }

    fn logout_request(&mut self, req: &ClientRequest, out: &mut Output) -> Result<(), Refusal> {
        let s = self.session.as_ref().ok_or_else(not_logged_in)?;
        let on_call_allowed =
            bool_extension(&req.extensions, "AgentEmuLoginOnCall").unwrap_or(s.settings.emu_login_on_call);
        if !self.calls.is_empty() && !on_call_allowed {
            return Err((ErrorCode::InvCallState, "a call is in progress on the DN (agent-emu-login-on-call)".into()));
        }
        self.logout(LogoutCause::Request, &req.reasons, req.this_queue.as_ref(), out);
        Ok(())
    }

    /// Ends the session: EventAgentLogout and the AgentID released.
    pub(super) fn logout(&mut self, cause: LogoutCause, reasons: &KvList, queue: Option<&DnName>, out: &mut Output) {
        if let Some(s) = self.session.take() {
            let mut ev = s.facts(&self.dn, reasons).event(EventKind::AgentLogout, None, KvList::new());
            if queue.is_some() {
                ev.attrs.this_queue = queue.cloned();
            }
            out.events.push(ev);
            out.effects.push(Effect::AgentLoggedOut { agent_id: s.agent_id, cause });
        }
    }

    fn set_ready(
        &mut self,
        now: u64,
        req: &ClientRequest,
        work_mode: Option<AgentWorkMode>,
        out: &mut Output,
    ) -> Result<(), Refusal> {
        let s = self.session.as_mut().ok_or_else(not_logged_in)?;
        let mode = match work_mode.unwrap_or(AgentWorkMode::ManualIn) {
            m @ (AgentWorkMode::ManualIn | AgentWorkMode::AutoIn | AgentWorkMode::Unknown) => m,
            other => return Err(bad_mode("TAgentSetReady", other)),
        };
        s.state = AgentState::Ready { mode };
        if mode != AgentWorkMode::Unknown {
            s.ready_mode = mode;
        }
        s.reasons = req.reasons.clone();
        out.events.push(s.state_event(&self.dn, &req.reasons, now));
        Ok(())
    }

    fn set_not_ready(
        &mut self,
        now: u64,
        req: &ClientRequest,
        work_mode: Option<AgentWorkMode>,
        out: &mut Output,
    ) -> Result<(), Refusal> {
        let busy = self.in_business_call();
        let s = self.session.as_mut().ok_or_else(not_logged_in)?;
        let mode = match work_mode.unwrap_or(AgentWorkMode::AuxWork) {
            m @ (AgentWorkMode::ManualIn | AgentWorkMode::AutoIn) => return Err(bad_mode("TAgentSetNotReady", m)),
            m => m,
        };
        s.state = if mode == AgentWorkMode::AfterCallWork {
            acw::requested(&s.state, busy, &req.extensions, &s.settings, s.ready_mode, &s.reasons, now)
        } else {
            AgentState::NotReady { mode }
        };
        s.reasons = req.reasons.clone();
        out.events.push(s.state_event(&self.dn, &req.reasons, now));
        Ok(())
    }

    /// The agent is involved in a business call (dialing or established; a ringing call does not
    /// count): ACW waits for its end.
    pub(super) fn in_business_call(&self) -> bool {
        self.calls.iter().any(|c| c.business && matches!(c.phase, CallPhase::Dialing | CallPhase::Established))
    }
}

fn not_logged_in() -> Refusal {
    (ErrorCode::SoftAgentNotLoggedIn, "no agent is logged in on this DN".into())
}

fn bad_mode(request: &str, mode: AgentWorkMode) -> Refusal {
    (ErrorCode::InvalidAttr, format!("{request} does not accept AgentWorkMode {mode}"))
}
