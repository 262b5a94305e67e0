//! Call facts: the machine follows the calls on its DN (ringing, dialing, established, released)
//! because the agent rules depend on them: ACW after the last established business call,
//! WrapUpTime in EventEstablished, `agent-emu-login-on-call`, no-answer supervision of ringing
//! calls, and inactivity for `auto-logout-timeout`. It never changes a call.

use super::acw;
use super::machine::AgentMachine;
use super::settings::no_answer_timeout_ms;
use super::types::{CallFact, CallOnDn, CallPhase, Output};
use crate::model::{ConnId, KvList};

impl AgentMachine {
    pub(super) fn on_call(&mut self, now: u64, fact: CallFact, out: &mut Output) {
        if let Some(s) = self.session.as_mut() {
            s.last_activity_ms = now;
        }
        match fact {
            CallFact::Ringing { conn_id, business, no_answer } => {
                let login = self.session.as_ref().map(|s| &s.settings);
                let timeout = no_answer_timeout_ms(&no_answer, login, &self.dn_settings);
                let call = self.call_mut(conn_id, business);
                call.phase = CallPhase::Ringing;
                call.no_answer_action = no_answer.action;
                call.no_answer_until = (timeout > 0).then(|| now.saturating_add(timeout));
                call.no_answer_done = false;
            }
            CallFact::Dialing { conn_id, business } => {
                let call = self.call_mut(conn_id, business);
                call.phase = CallPhase::Dialing;
                call.no_answer_until = None;
            }
            CallFact::Established { conn_id, business } => {
                let call = self.call_mut(conn_id, business);
                call.phase = CallPhase::Established;
                call.was_established = true;
                call.no_answer_until = None;
                // Guide: the expected ACW is indicated in EventEstablished (not in EventRinging:
                // it may change between ringing and answer).
                if let (true, Some(s)) = (business, &self.session) {
                    out.call_extensions.push("WrapUpTime", s.settings.wrap_up.extension_value());
                }
            }
            CallFact::Released { conn_id } => {
                let Some(pos) = self.calls.iter().position(|c| c.conn_id == conn_id) else { return };
                let call = self.calls.remove(pos);
                if call.was_established && call.business && !self.in_business_call() {
                    self.after_business_call(now, out);
                }
            }
            CallFact::NotAnswered { conn_id, action } => self.rang_out(conn_id, action, false, out),
        }
    }

    /// The call's record, created on first sight (a fact may arrive for a call the machine has not
    /// seen ringing, e.g. an established call after a restore).
    fn call_mut(&mut self, conn_id: ConnId, business: bool) -> &mut CallOnDn {
        let pos = match self.calls.iter().position(|c| c.conn_id == conn_id) {
            Some(pos) => pos,
            None => {
                self.calls.push(CallOnDn {
                    conn_id,
                    phase: CallPhase::Ringing,
                    business,
                    was_established: false,
                    no_answer_action: None,
                    no_answer_until: None,
                    no_answer_done: false,
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[pos];
        call.business = business;
        call
    }

    /// Guide: "T-Server sends EventNotReady(ACW) before EventReleased at the end of the business
    /// call" — the events returned here go out before the actor publishes EventReleased.
    fn after_business_call(&mut self, now: u64, out: &mut Output) {
        let Some(s) = self.session.as_mut() else { return };
        if let Some(next) = acw::after_call(&s.state, &s.settings, now) {
            s.state = next;
            s.reasons = KvList::new();
            out.events.push(s.state_event(&self.dn, &KvList::new(), now));
        }
    }
}
