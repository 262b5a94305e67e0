//! The Connector's answers to switch requests and their timeouts: a RESPONSE error fails the
//! operation whose step it was (EventError with the Connector's code), a RESPONSE to MAKE_CALL
//! binds the dialed call to the Connector's call id, TSendDTMF is answered by its RESPONSE, and a
//! request timeout fails an operation still waiting for that request's effect with 236. Late
//! answers and timeouts of finished work are ignored.

use super::events::EventExt;
use super::io::Output;
use super::types::{Party, Stage, SwitchCall};
use super::{CallError, CallTable};
use crate::model::{ConnId, ErrorCode};
use crate::tlib::{EventKind, RequestKind as K};

impl CallTable {
    pub(super) fn on_response(
        &mut self,
        corr: u64,
        link: &str,
        result: Result<Vec<(String, String)>, (ErrorCode, String)>,
        out: &mut Output,
    ) {
        let Some(entry) = self.corrs.get_mut(&corr) else { return };
        entry.responded = true;
        let entry = entry.clone();
        let awaited =
            self.op(entry.home).is_some_and(|o| o.stage_corr == Some(corr) && !(o.answered && o.stage == Stage::Done));
        if !awaited {
            self.corrs.remove(&corr);
        }
        match result {
            Err(_) if awaited && self.op(entry.home).is_some_and(|o| o.kind == K::ApplyTreatment) => {
                self.treatment_refused(entry.home, out);
            }
            Err((code, reason)) if awaited => self.fail_op(entry.home, CallError::Switch { code, reason }, out),
            Err(_) => {}
            Ok(results) => {
                if entry.make_call {
                    self.bind_answered(entry.home, entry.call, link, &results, out);
                }
                let step = self.op(entry.home).filter(|o| o.stage == Stage::Response && awaited).map(|o| o.kind);
                match step {
                    Some(K::RouteCall) => return self.route_used(entry.home, out),
                    Some(K::ApplyTreatment) => return self.treatment_started(entry.home, out),
                    Some(K::SetMuteOn | K::SetMuteOff) => return self.mute_applied(entry.home, out),
                    _ => {}
                }
                let dtmf = self
                    .op(entry.home)
                    .filter(|o| o.stage == Stage::Response && awaited && o.kind == K::SendDTMF)
                    .cloned();
                if let Some(op) = dtmf {
                    let call = &self.calls[&entry.home];
                    let stand_in = Party::for_dn(&op.requester);
                    let p = call.party_of_dn(&op.requester).unwrap_or(&stand_in);
                    let mut ev = call.event(EventKind::DTMFSent, p).reference(Some(op.reference_id));
                    ev.attrs.dtmf_digits = op.target.clone();
                    out.deliver(&op.requester, ev);
                    self.take_answer(entry.home);
                    self.set_stage(entry.home, Stage::Done);
                }
            }
        }
    }

    /// MAKE_CALL answered with the Connector's call id: bind it unless CALL_CREATED did.
    fn bind_answered(
        &mut self,
        home: ConnId,
        call: ConnId,
        link: &str,
        results: &[(String, String)],
        out: &mut Output,
    ) {
        let get = |k: &str| results.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        let Some(id) = get("call").and_then(|v| v.trim().parse::<u64>().ok()) else { return };
        let key = SwitchCall { link: link.to_string(), call: id };
        match self.by_switch.get(&key).copied() {
            Some(c) if c == call => {}
            Some(other) => {
                let reason = format!("the connector reported call {id} under ConnID {other}, not {call}");
                self.fail_op(home, CallError::Internal(reason), out);
            }
            None if self.calls.get(&call).is_some_and(|c| c.switch.is_none()) => {
                self.bind(call, key, &get("conversation-id").unwrap_or_default());
            }
            None => {}
        }
    }

    pub(super) fn on_timeout(&mut self, corr: u64, out: &mut Output) {
        let Some(entry) = self.corrs.remove(&corr) else { return };
        let Some(op) = self.op(entry.home) else { return };
        if op.stage_corr != Some(corr) {
            return;
        }
        if op.answered {
            self.finish_op(entry.home, out);
        } else {
            self.fail_op(entry.home, CallError::Timeout, out);
        }
    }
}
