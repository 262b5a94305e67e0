//! Timers and automatic decisions: which timers the current state needs (armed and cancelled by
//! comparing with what is armed, so the actor only ever sees data), their expiry, and the
//! automatic logouts — `logout-on-disconnect` / LogoutOnDisconnect, `logout-on-out-of-service`,
//! `auto-logout-timeout` / `auto-logout-ready` — and the no-answer actions (`no-answer-action`
//! none / notready / logout; call's NO_ANSWER_ACTION > login's > Agent Login > DN > Application).

use super::acw;
use super::machine::AgentMachine;
use super::settings::no_answer_action;
use super::types::{
    AcwPeriod, AgentState, ArmedTimer, CallPhase, ClientId, Effect, LoginSession, LogoutCause, Output, TimerCmd,
    TimerKey,
};
use crate::config::NoAnswerAction;
use crate::model::{AgentWorkMode, ConnId, KvList};

/// Whether `auto-logout-timeout` applies in the agent's state: always with `auto-logout-ready`,
/// otherwise not in Ready, NotReady/ACW, NotReady/AuxWork or NotReady/LegalGuard (option text).
pub fn auto_logout_applies(s: &LoginSession) -> bool {
    s.settings.auto_logout_ready
        || match s.state {
            AgentState::Ready { .. } | AgentState::AfterCallWork { .. } | AgentState::LegalGuard { .. } => false,
            AgentState::NotReady { mode } => mode != AgentWorkMode::AuxWork,
        }
}

impl AgentMachine {
    /// Every timer the state calls for, with its deadline.
    pub fn wanted_timers(&self) -> Vec<(TimerKey, u64)> {
        let mut wanted = Vec::new();
        if let Some(s) = &self.session {
            match &s.state {
                AgentState::AfterCallWork { period: AcwPeriod::Timed { until_ms }, .. } => {
                    wanted.push((TimerKey::AcwEnd, *until_ms))
                }
                AgentState::LegalGuard { until_ms, .. } => wanted.push((TimerKey::LegalGuardEnd, *until_ms)),
                _ => {}
            }
            // Inactivity: no call on the DN and no agent request for the whole timeout.
            if s.settings.auto_logout_timeout_ms > 0 && self.calls.is_empty() && auto_logout_applies(s) {
                wanted
                    .push((TimerKey::AutoLogout, s.last_activity_ms.saturating_add(s.settings.auto_logout_timeout_ms)));
            }
        }
        for call in &self.calls {
            if let (CallPhase::Ringing, Some(until_ms)) = (call.phase, call.no_answer_until) {
                wanted.push((TimerKey::NoAnswer(call.conn_id), until_ms));
            }
        }
        wanted
    }

    /// Brings the armed timers in line with the state: a new or moved deadline is armed (with a
    /// fresh token, so a late expiry of the old one is ignored), a timer no longer wanted is
    /// cancelled.
    pub(super) fn sync_timers(&mut self, now: u64, out: &mut Output) {
        let wanted = self.wanted_timers();
        let armed = std::mem::take(&mut self.armed);
        for t in &armed {
            if !wanted.iter().any(|(k, _)| *k == t.key) {
                out.timers.push(TimerCmd::Cancel { key: t.key });
            }
        }
        for (key, until_ms) in wanted {
            match armed.iter().find(|t| t.key == key && t.until_ms == until_ms) {
                Some(kept) => self.armed.push(*kept),
                None => {
                    let token = self.next_token;
                    self.next_token += 1;
                    self.armed.push(ArmedTimer { key, until_ms, token });
                    out.timers.push(TimerCmd::Arm { key, token, after_ms: until_ms.saturating_sub(now) });
                }
            }
        }
    }

    /// Arms what the state needs and was never armed (a machine built from a `DnSnapshotV1`).
    pub fn refresh_timers(&mut self, now_ms: u64) -> Vec<TimerCmd> {
        let mut out = Output::default();
        self.sync_timers(now_ms, &mut out);
        out.timers
    }

    /// The commands that re-arm every armed timer, for an actor restored from a snapshot (a
    /// deadline already passed fires at once).
    pub fn rearm(&self, now_ms: u64) -> Vec<TimerCmd> {
        self.armed
            .iter()
            .map(|t| TimerCmd::Arm { key: t.key, token: t.token, after_ms: t.until_ms.saturating_sub(now_ms) })
            .collect()
    }

    pub(super) fn on_timer(&mut self, now: u64, key: TimerKey, token: u64, out: &mut Output) {
        // A timer cancelled or re-armed since it was scheduled may still fire: only the armed
        // token counts.
        let Some(pos) = self.armed.iter().position(|t| t.key == key && t.token == token) else { return };
        self.armed.remove(pos);
        match key {
            TimerKey::AcwEnd | TimerKey::LegalGuardEnd => self.period_ended(now, out),
            TimerKey::AutoLogout => self.logout(LogoutCause::AutoLogout, &KvList::new(), None, out),
            TimerKey::NoAnswer(conn_id) => self.rang_out(conn_id, None, true, out),
        }
    }

    /// The end of a timed ACW or of the legal-guard time.
    fn period_ended(&mut self, now: u64, out: &mut Output) {
        let Some(s) = self.session.as_mut() else { return };
        let (next, reasons) = match &s.state {
            AgentState::AfterCallWork { period: AcwPeriod::Timed { .. }, resume } => {
                acw::ended(resume, &s.settings, now)
            }
            AgentState::LegalGuard { ready_mode, .. } => (AgentState::Ready { mode: *ready_mode }, KvList::new()),
            _ => return,
        };
        s.state = next;
        s.reasons = reasons.clone();
        out.events.push(s.state_event(&self.dn, &reasons, now));
    }

    pub(super) fn on_client_gone(&mut self, client: ClientId, extension: Option<bool>, out: &mut Output) {
        let Some(s) = &self.session else { return };
        // Only the client whose TAgentLogin first logged the agent in (guide, "Agent Logout on
        // Client Unregistering from DN"); its LogoutOnDisconnect extension beats the option.
        if s.login_client == client && extension.unwrap_or(s.settings.logout_on_disconnect) {
            self.logout(LogoutCause::ClientGone, &KvList::new(), None, out);
        }
    }

    pub(super) fn on_out_of_service(&mut self, out: &mut Output) {
        if self.session.as_ref().is_some_and(|s| s.settings.logout_on_out_of_service) {
            self.logout(LogoutCause::OutOfService, &KvList::new(), None, out);
        }
    }

    /// A call rang out on the DN (own timer, or reported by routing supervision): the no-answer
    /// action, once per ringing.
    pub(super) fn rang_out(
        &mut self,
        conn_id: ConnId,
        reported: Option<NoAnswerAction>,
        own_timer: bool,
        out: &mut Output,
    ) {
        let Some(call) = self.calls.iter_mut().find(|c| c.conn_id == conn_id && c.phase == CallPhase::Ringing) else {
            return;
        };
        if call.no_answer_done {
            return;
        }
        call.no_answer_done = true;
        call.no_answer_until = None;
        let call_action = reported.or(call.no_answer_action);
        if own_timer {
            out.effects.push(Effect::NoAnswer { conn_id });
        }
        match no_answer_action(call_action, self.session.as_ref().map(|s| &s.settings)) {
            NoAnswerAction::None => {}
            NoAnswerAction::NotReady => {
                let Some(s) = self.session.as_mut() else { return };
                // Only an agent who would get calls is made NotReady; ACW and NotReady stay as they are.
                if matches!(s.state, AgentState::Ready { .. } | AgentState::LegalGuard { .. }) {
                    s.state = AgentState::NotReady { mode: AgentWorkMode::AuxWork };
                    s.reasons = KvList::new();
                    out.events.push(s.state_event(&self.dn, &KvList::new(), 0));
                }
            }
            NoAnswerAction::Logout => self.logout(LogoutCause::NoAnswer, &KvList::new(), None, out),
        }
    }
}
