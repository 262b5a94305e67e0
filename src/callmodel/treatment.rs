//! TApplyTreatment on a Routing Point (guide: "T-Library Functionality", "IM Treatments").
//! Voice: PLAY_TREATMENT to the Connector; its RESPONSE answers with EventTreatmentApplied (or
//! EventTreatmentNotApplied), TREATMENT_ENDED gives EventTreatmentEnd with the collected digits
//! and the completion status. IM calls: only CollectDigits, PlayAnnouncement and
//! PlayAnnouncementAndDigits; the PROMPT list is sent as instant messages from the Routing Point,
//! the customer's IM reply is the collected digits, TOTAL_TIMEOUT (seconds) bounds the wait (none:
//! forever). Every IM of the exchange is kept as the transcript `pass-transcript-to-agent` hands
//! to the agent once the routed call is established.

use super::events::EventExt;
use super::io::Output;
use super::routing::TimerKind;
use super::types::{ClientRef, Party, Stage};
use super::{CallError, CallTable};
use crate::mltp::{Mltp, TreatmentStatus};
use crate::model::{ConnId, KvList, KvValue, MediaType, TreatmentType as T};
use crate::tlib::{EventKind, Request};
use serde::{Deserialize, Serialize};

/// A treatment running on a call waiting at a Routing Point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Treatment {
    pub kind: T,
    /// IM treatment waiting for the customer's reply.
    pub collecting: bool,
    pub im: bool,
}

/// The user data key carrying the IM transcript to the agent (`pass-transcript-to-agent`).
pub const TRANSCRIPT_KEY: &str = "IMTranscript";

/// IM treatments the guide lists.
const IM_TREATMENTS: [T; 3] = [T::CollectDigits, T::PlayAnnouncement, T::PlayAnnouncementAndDigits];

/// The TEXT of each PROMPT entry, in order.
fn prompts(params: Option<&KvList>) -> Vec<String> {
    let Some(KvValue::List(list)) = params.and_then(|p| p.get("PROMPT")) else { return Vec::new() };
    list.iter()
        .filter_map(|(_, v)| match v {
            KvValue::List(entry) => entry.get_str("TEXT").map(str::to_string),
            KvValue::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

impl CallTable {
    pub(super) fn apply_treatment(
        &mut self,
        client: ClientRef,
        req: &Request,
        out: &mut Output,
    ) -> Result<(), CallError> {
        let rp = req.attrs.this_dn.clone().ok_or(CallError::InvalidAttribute("ThisDN"))?;
        let conn = req.attrs.conn_id.ok_or(CallError::InvalidAttribute("ConnID"))?;
        let call = self.calls.get(&conn).ok_or(CallError::UnknownCall(conn))?;
        if call.is_locked() {
            return Err(CallError::OperationInProgress(conn));
        }
        if !call.routing.as_ref().is_some_and(|r| r.queued && r.rp == rp) || call.party_of_dn(&rp).is_none() {
            return Err(CallError::NotOnCall { party: rp.to_string(), conn });
        }
        let kind = req.attrs.treatment_type.ok_or(CallError::InvalidAttribute("TreatmentType"))?;
        let im = call.media == MediaType::CHAT;
        let caller = call.parties.iter().find(|p| p.uri != rp.as_str() && p.state.is_active()).map(|p| p.uri.clone());
        // A routing instruction: router-timeout no longer applies.
        self.disarm(conn, TimerKind::Router);
        self.start_op(conn, client, req, Stage::Response);
        if im && !IM_TREATMENTS.contains(&kind) {
            self.treatment_answer(conn, EventKind::TreatmentNotApplied, out);
            return Ok(());
        }
        self.set_treatment(conn, Some(Treatment { kind, collecting: false, im }));
        let (route, call_id) = self.switch_of(conn);
        if !im {
            let msg = Mltp::PlayTreatment {
                call: call_id,
                party: caller,
                treatment_type: kind,
                params: req.attrs.treatment_parms.clone(),
            };
            self.send(conn, conn, route, msg, true, out);
            return Ok(());
        }
        let texts = prompts(req.attrs.treatment_parms.as_ref());
        let total = req.attrs.treatment_parms.as_ref().and_then(|p| {
            p.get_int("TOTAL_TIMEOUT").or_else(|| p.get_str("TOTAL_TIMEOUT").and_then(|s| s.trim().parse().ok()))
        });
        if let Some(r) = self.call_mut(conn).and_then(|c| c.routing.as_mut()) {
            r.transcript.extend(texts.iter().map(|t| format!("{rp}: {t}")));
            if let Some(t) = r.treatment.as_mut() {
                t.collecting = kind != T::PlayAnnouncement;
            }
        }
        let n = texts.len();
        for (i, text) in texts.into_iter().enumerate() {
            let msg = Mltp::SendIm { call: call_id, from: rp.to_string(), text };
            self.send(conn, conn, route.clone(), msg, i + 1 == n, out);
        }
        if let Some(secs) = total.filter(|s| *s > 0 && kind != T::PlayAnnouncement) {
            self.arm(conn, TimerKind::Treatment, secs as u64 * 1000, out);
        }
        if n == 0 {
            self.treatment_started(conn, out);
        }
        Ok(())
    }

    fn set_treatment(&mut self, c: ConnId, t: Option<Treatment>) {
        if let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) {
            r.treatment = t;
        }
    }

    /// The answering EventTreatmentApplied / EventTreatmentNotApplied of the pending request.
    fn treatment_answer(&mut self, home: ConnId, kind: EventKind, out: &mut Output) {
        let Some(op) = self.op(home).cloned() else { return };
        let call = &self.calls[&home];
        let stand_in = Party::for_dn(&op.requester);
        let p = call.party_of_dn(&op.requester).unwrap_or(&stand_in);
        let mut ev = call.event(kind, p).reference(Some(op.reference_id));
        ev.attrs.this_queue = Some(op.requester.clone());
        ev.attrs.treatment_type = call.routing.as_ref().and_then(|r| r.treatment.as_ref()).map(|t| t.kind);
        out.deliver(&op.requester, ev);
        self.take_answer(home);
        self.set_stage(home, Stage::Done);
        if kind == EventKind::TreatmentNotApplied {
            self.set_treatment(home, None);
        }
    }

    /// The Connector accepted the treatment (or the last prompt): EventTreatmentApplied; an IM
    /// announcement without digit collection ends at once.
    pub(super) fn treatment_started(&mut self, home: ConnId, out: &mut Output) {
        self.treatment_answer(home, EventKind::TreatmentApplied, out);
        let t = self.calls.get(&home).and_then(|c| c.routing.as_ref()).and_then(|r| r.treatment.clone());
        if let Some(t) = t.filter(|t| t.im && !t.collecting) {
            self.treatment_end(home, t.kind, "normal", None, out);
        }
    }

    /// The Connector refused the treatment.
    pub(super) fn treatment_refused(&mut self, home: ConnId, out: &mut Output) {
        self.treatment_answer(home, EventKind::TreatmentNotApplied, out);
    }

    /// EventTreatmentEnd to the Routing Point's clients.
    pub(super) fn treatment_end(&mut self, c: ConnId, kind: T, status: &str, digits: Option<String>, out: &mut Output) {
        self.set_treatment(c, None);
        let Some(call) = self.calls.get(&c) else { return };
        let Some(r) = call.routing.as_ref() else { return };
        let rp = r.rp.clone();
        let stand_in = Party::for_dn(&rp);
        let p = call.party_of_dn(&rp).unwrap_or(&stand_in);
        let mut ev = call.event(EventKind::TreatmentEnd, p);
        ev.attrs.this_queue = Some(rp.clone());
        ev.attrs.treatment_type = Some(kind);
        ev.attrs.collected_digits = digits;
        let interrupted = status == "cancelled";
        let ext = ev.attrs.extensions.take().unwrap_or_default();
        ev.attrs.extensions =
            Some(ext.with("COMPLETION_STATUS", status).with("INTERRUPTED", if interrupted { 1i64 } else { 0 }));
        out.deliver(&rp, ev);
        if r.timer.is_some_and(|(k, _, _)| k == TimerKind::Treatment) {
            self.disarm(c, TimerKind::Treatment);
        }
    }

    /// TREATMENT_ENDED from the Connector.
    pub(super) fn treatment_ended(
        &mut self,
        c: ConnId,
        status: TreatmentStatus,
        digits: Option<String>,
        out: &mut Output,
    ) {
        let Some(t) = self.calls.get(&c).and_then(|x| x.routing.as_ref()).and_then(|r| r.treatment.clone()) else {
            return;
        };
        let status = match status {
            TreatmentStatus::Normal => "normal",
            TreatmentStatus::Timeout => "timeout",
            TreatmentStatus::Cancelled => "cancelled",
        };
        self.treatment_end(c, t.kind, status, digits, out);
    }

    /// TOTAL_TIMEOUT of an IM digit collection.
    pub(super) fn treatment_timeout(&mut self, c: ConnId, out: &mut Output) {
        let t = self.calls.get(&c).and_then(|x| x.routing.as_ref()).and_then(|r| r.treatment.clone());
        if let Some(t) = t {
            self.treatment_end(c, t.kind, "timeout", None, out);
        }
    }

    /// An IM of the customer: part of the transcript, and the collected digits of an IM treatment.
    pub(super) fn im_received(&mut self, c: ConnId, from: &str, text: &str, out: &mut Output) {
        let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) else { return };
        if !r.queued {
            return;
        }
        r.transcript.push(format!("{from}: {text}"));
        let collecting = r.treatment.as_ref().filter(|t| t.collecting).map(|t| t.kind);
        if let Some(kind) = collecting {
            self.treatment_end(c, kind, "normal", Some(text.trim().to_string()), out);
        }
    }

    /// An interrupted treatment when the call leaves its Routing Point.
    pub(super) fn treatment_interrupted(&mut self, c: ConnId, out: &mut Output) {
        let t = self.calls.get(&c).and_then(|x| x.routing.as_ref()).and_then(|r| r.treatment.clone());
        if let Some(t) = t {
            self.treatment_end(c, t.kind, "cancelled", None, out);
        }
    }

    /// `pass-transcript-to-agent`: the IM exchange at the Routing Point reaches the agent the
    /// call was routed to once it is established — as the user data key `IMTranscript` (one line
    /// per message, `sender: text`), announced by EventAttachedDataChanged. (The SfB conference
    /// replays only the first seconds of an IM conversation to a joining party.)
    pub(super) fn pass_transcript(&mut self, c: ConnId, out: &mut Output) {
        let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) else { return };
        if !r.pass_transcript || r.transcript.is_empty() {
            return;
        }
        let text = std::mem::take(&mut r.transcript).join("\n");
        let rp = r.rp.clone();
        let call = self.call_mut(c).expect("live call");
        call.user_data.update(&KvList::new().with(TRANSCRIPT_KEY, text.as_str()));
        let call = &self.calls[&c];
        for p in call.parties.iter().filter(|p| p.dn.is_some() && p.state.is_active()) {
            let mut ev = call.event(EventKind::AttachedDataChanged, p).third(rp.clone(), crate::model::DnRole::Unknown);
            ev.attrs.user_data = Some(call.user_data.clone());
            out.deliver(p.dn.as_ref().expect("filtered"), ev);
        }
        self.touch(c);
    }
}
