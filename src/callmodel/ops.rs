//! How pending operations progress: which switch event answers a request (carries its
//! ReferenceID, the event the guide's table marks with `*`), which event starts the next step of a
//! multi-step request, what the Connector's RESPONSE and the request timeout do (EventError with
//! the Connector's code, 236, 237), and the completions that move parties between two calls.
//! Called by `switch.rs` at each event; never emits an event a generic rule would emit too.

use super::events::EventExt;
use super::io::Output;
use super::requests::Msg;
use super::types::{uri_key, Party, PartyState, PendingOp, Stage};
use super::{CallError, CallTable};
use crate::model::{CallState, ConnId, DnName, DnRole, ErrorCode};
use crate::tlib::{EventKind, RequestKind as K};

fn is_new(op: &PendingOp, uri: &str) -> bool {
    !op.known.contains(&uri_key(uri))
}

impl CallTable {
    /// The operation at the home of `c`, if its requester is the party `uri` of `c`.
    fn op_of_party(&self, c: ConnId, uri: &str) -> Option<(ConnId, &PendingOp)> {
        let h = self.op_home(c)?;
        let op = self.op(h)?;
        let p = self.calls[&c].party(uri)?;
        p.is_dn(&op.requester).then_some((h, op))
    }

    pub(super) fn set_stage(&mut self, h: ConnId, stage: Stage) {
        if let Some(op) = self.op_mut(h) {
            op.stage = stage;
        }
    }

    /// EventDialing answers TMakeCall (on the new call) and TInitiateTransfer / Conference (on
    /// the consultation call).
    pub(super) fn dialing_answer(&mut self, c: ConnId, uri: &str) -> Option<u32> {
        let (h, op) = self.op_of_party(c, uri)?;
        let dials_here = match op.kind {
            K::MakeCall => h == c,
            K::InitiateTransfer | K::InitiateConference => op.partner == Some(c),
            _ => false,
        };
        if !(dials_here && op.stage == Stage::Dial) {
            return None;
        }
        self.set_stage(h, Stage::Done);
        self.take_answer(h)
    }

    /// Who brought a new party in (ThirdPartyDN of its EventRinging) and whether that
    /// EventRinging answers TSingleStepConference.
    pub(super) fn ringing_context(&mut self, c: ConnId, uri: &str) -> (Option<(DnName, DnRole)>, Option<u32>) {
        let Some(op) = self.op(c).filter(|op| is_new(op, uri)) else { return (None, None) };
        let requester = op.requester.clone();
        match op.kind {
            K::SingleStepTransfer => (Some((requester, DnRole::TransferredBy)), None),
            K::SingleStepConference => {
                let is_dn = self.calls[&c].party(uri).is_some_and(|p| p.dn.is_some());
                let reference = if is_dn {
                    self.set_stage(c, Stage::Done);
                    self.take_answer(c)
                } else {
                    None
                };
                (Some((requester, DnRole::ConferencedBy)), reference)
            }
            _ => (None, None),
        }
    }

    /// EventPartyAdded to the requester answers TSingleStepConference to a destination that is
    /// not a DN (it had no EventRinging to carry the answer).
    pub(super) fn join_answer(&mut self, c: ConnId, uri: &str) -> Option<u32> {
        self.op(c).filter(|op| op.kind == K::SingleStepConference && is_new(op, uri))?;
        self.set_stage(c, Stage::Done);
        self.take_answer(c)
    }

    pub(super) fn held(&mut self, c: ConnId, uri: &str, out: &mut Output) {
        let mut reference = None;
        let mut next = None;
        if let Some((h, op)) = self.op_of_party(c, uri) {
            match (op.kind, op.stage) {
                (K::HoldCall, Stage::Effect) if h == c => {
                    self.set_stage(h, Stage::Done);
                    reference = self.take_answer(h);
                }
                (K::InitiateTransfer | K::InitiateConference, Stage::Hold) if h == c => next = Some((h, None)),
                (K::AlternateCall, Stage::Hold) if op.first == Some(c) => {
                    let other = if h == c { op.partner } else { Some(h) };
                    let requester = op.requester.clone();
                    reference = self.take_answer(h);
                    next = Some((h, other.map(|o| (o, requester))));
                }
                _ => {}
            }
        }
        let call = &self.calls[&c];
        let p = call.party(uri).expect("held party");
        if let Some(dn) = p.call_events_dn().or(reference.and(p.dn.as_ref())) {
            out.deliver(dn, call.event(EventKind::Held, p).reference(reference));
        }
        match next {
            Some((h, None)) => self.dial_consult(h, out),
            Some((h, Some((other, requester)))) => {
                self.set_stage(h, Stage::Retrieve);
                self.send_party_msg_for(h, other, &requester, Msg::Retrieve, true, out);
            }
            None => {}
        }
    }

    pub(super) fn retrieved(&mut self, c: ConnId, uri: &str, out: &mut Output) {
        let mut reference = None;
        if let Some((h, op)) = self.op_of_party(c, uri) {
            match (op.kind, op.stage) {
                (K::RetrieveCall, Stage::Effect) | (K::ReconnectCall, Stage::Retrieve) if h == c => {
                    self.set_stage(h, Stage::Done);
                    reference = self.take_answer(h);
                }
                (K::AlternateCall, Stage::Retrieve) if op.first != Some(c) => self.set_stage(h, Stage::Done),
                _ => {}
            }
        }
        let call = &self.calls[&c];
        let p = call.party(uri).expect("retrieved party");
        if let Some(dn) = p.call_events_dn().or(reference.and(p.dn.as_ref())) {
            out.deliver(dn, call.event(EventKind::Retrieved, p).reference(reference));
        }
    }

    /// The ReferenceID for a departing party's own event (TReleaseCall, TClearCall), and the
    /// requester when TDeleteFromConference deleted it.
    pub(super) fn departure_answer(&mut self, c: ConnId, party: &Party) -> (Option<u32>, Option<DnName>) {
        let Some(op) = self.op(c) else { return (None, None) };
        match op.kind {
            K::ReleaseCall | K::ClearCall if party.is_dn(&op.requester) => {
                self.set_stage(c, Stage::Done);
                (self.take_answer(c), None)
            }
            K::DeleteFromConference if op.target.as_deref() == Some(uri_key(&party.uri).as_str()) => {
                let requester = op.requester.clone();
                self.set_stage(c, Stage::Done);
                (None, Some(requester))
            }
            _ => (None, None),
        }
    }

    /// Departures an operation explains: the consultation dismantled by a completion, the
    /// transferring party of a completed or single-step transfer, the requester leaving the
    /// consultation on TReconnectCall. Returns whether it handled (and removed) the party.
    pub(super) fn op_departure(&mut self, h: ConnId, c: ConnId, party: &Party, cause: &str, out: &mut Output) -> bool {
        let Some(op) = self.op(h) else { return false };
        let is_requester = party.is_dn(&op.requester);
        let (kind, stage, partner) = (op.kind, op.stage, op.partner);
        let remove = |t: &mut CallTable| {
            t.call_mut(c).expect("live call").remove_party(&party.uri);
        };
        match kind {
            K::CompleteTransfer | K::CompleteConference if partner == Some(c) => {
                // A party on both calls already, or leaving for a reason of its own, just leaves
                // the consultation; the others move into the main call.
                let moves = matches!(cause, "transferred" | "conferenced" | "");
                if !is_requester && (!moves || self.calls[&h].party(&party.uri).is_some()) {
                    return false;
                }
                if is_requester {
                    let reference = if kind == K::CompleteConference { self.take_answer(h) } else { None };
                    self.released(c, party, CallState::Ok, reference, out);
                } else if let Some(op) = self.op_mut(h) {
                    op.moving.push(party.clone());
                }
                remove(self);
                self.check_merge_done(h);
                true
            }
            K::CompleteTransfer if h == c && is_requester => {
                let reference = self.take_answer(h);
                self.released(c, party, CallState::Transferred, reference, out);
                remove(self);
                self.check_merge_done(h);
                true
            }
            K::SingleStepTransfer if h == c && is_requester => {
                remove(self);
                let recipient = self.op(h).filter(|o| o.recipient_connected).and_then(|o| o.target.clone());
                self.op_mut(h).expect("op").released = Some(party.clone());
                if let Some(r) = recipient {
                    self.transfer_released(h, Some(&r), out);
                }
                true
            }
            K::ReconnectCall if partner == Some(c) && is_requester && stage == Stage::Release => {
                self.released(c, party, CallState::Ok, None, out);
                remove(self);
                let requester = party.dn.clone().expect("requester is a DN");
                self.set_stage(h, Stage::Retrieve);
                self.send_party_msg_for(h, h, &requester, Msg::Retrieve, true, out);
                true
            }
            _ => false,
        }
    }

    fn released(&self, c: ConnId, party: &Party, state: CallState, reference: Option<u32>, out: &mut Output) {
        let call = &self.calls[&c];
        if let Some(dn) = party.call_events_dn().or(reference.and(party.dn.as_ref())) {
            out.deliver(dn, call.event(EventKind::Released, party).state(state).reference(reference));
        }
    }

    /// The recipient of TSingleStepTransfer connected: the transferring party's EventReleased
    /// (guide: only now), EventPartyChanged to the others, EventEstablished to the recipient.
    pub(super) fn transfer_recipient(&mut self, c: ConnId, uri: &str, out: &mut Output) -> bool {
        let Some(op) = self.op(c).filter(|o| o.kind == K::SingleStepTransfer && is_new(o, uri)) else { return false };
        let requester = op.requester.clone();
        let released = op.released.is_some();
        let op = self.op_mut(c).expect("op");
        op.recipient_connected = true;
        op.target = Some(uri_key(uri));
        if released {
            self.transfer_released(c, Some(uri), out);
        }
        let call = &self.calls[&c];
        let p = call.party(uri).expect("recipient");
        if let Some(dn) = p.call_events_dn() {
            out.deliver(dn, call.event(EventKind::Established, p).third(requester, DnRole::TransferredBy));
        }
        true
    }

    /// Sends the transferring party's EventReleased (the answer) and the others' EventPartyChanged.
    pub(super) fn transfer_released(&mut self, h: ConnId, recipient: Option<&str>, out: &mut Output) {
        let Some(party) = self.op_mut(h).and_then(|o| o.released.take()) else { return };
        let reference = self.take_answer(h);
        self.set_stage(h, Stage::Done);
        self.released(h, &party, CallState::Transferred, reference, out);
        let call = &self.calls[&h];
        let Some(new) = recipient.and_then(|r| call.party(r)) else { return };
        for o in call.parties.iter().filter(|o| o.uri != new.uri) {
            let Some(dn) = o.call_events_dn() else { continue };
            let ev = call.event(EventKind::PartyChanged, o).other(new.name(), new.role);
            out.deliver(dn, ev.third(party.name(), DnRole::TransferredBy));
        }
    }

    /// A party of the consultation arrives in the main call of a completion in progress:
    /// EventPartyChanged to it (PreviousConnID = the consultation), and to the others
    /// EventPartyChanged (transfer) or EventPartyAdded (conference).
    pub(super) fn place_moving(
        &mut self,
        h: ConnId,
        c: ConnId,
        uri: &str,
        state: PartyState,
        out: &mut Output,
    ) -> bool {
        let Some(op) = self.op(h) else { return false };
        let transfer = op.kind == K::CompleteTransfer;
        if h != c || !(transfer || op.kind == K::CompleteConference) {
            return false;
        }
        let Some(i) = op.moving.iter().position(|p| uri_key(&p.uri) == uri_key(uri)) else { return false };
        let (requester, consult) = (op.requester.clone(), op.partner.unwrap_or_default());
        let mut party = self.op_mut(h).expect("op").moving.remove(i);
        party.state = state;
        if !transfer {
            party.role = DnRole::ConferenceMember;
            party.added_by = (state == PartyState::Alerting).then(|| requester.clone());
        }
        let moved = party.clone();
        let call = self.call_mut(c).expect("main call");
        call.parties.push(party);
        if !transfer && state.is_active() {
            for o in call.parties.iter_mut().filter(|o| o.state.is_active()) {
                o.role = DnRole::ConferenceMember;
            }
        }
        let call = &self.calls[&c];
        let by_role = if transfer { DnRole::TransferredBy } else { DnRole::ConferencedBy };
        if let Some(dn) = moved.call_events_dn() {
            let mut ev =
                call.event(EventKind::PartyChanged, &moved).previous(consult).third(requester.clone(), by_role);
            if let Some(o) = call.parties.iter().find(|o| o.uri != moved.uri && !o.is_dn(&requester)) {
                ev = ev.other(o.name(), o.role);
            }
            if !transfer {
                ev = ev.state(CallState::Conferenced);
            }
            out.deliver(dn, ev);
        }
        for o in call.parties.iter().filter(|o| o.uri != moved.uri) {
            let Some(dn) = o.call_events_dn() else { continue };
            let ev = if transfer && !o.is_dn(&requester) {
                let ev = call.event(EventKind::PartyChanged, o).other(moved.name(), moved.role);
                ev.third(requester.clone(), DnRole::TransferredBy).previous(consult)
            } else if !transfer && state.is_active() {
                let ev = call.event(EventKind::PartyAdded, o).other(moved.name(), DnRole::NewParty);
                ev.third(requester.clone(), DnRole::AddedBy).state(CallState::Conferenced).previous(consult)
            } else {
                continue;
            };
            out.deliver(dn, ev);
        }
        self.check_merge_done(h);
        true
    }

    /// A party a single-step operation brought in left before connecting: the operation failed
    /// (93, unless EventRinging already answered it).
    pub(super) fn new_party_left(&mut self, c: ConnId, uri: &str, out: &mut Output) {
        let Some(op) = self.op(c) else { return };
        let single_step = matches!(op.kind, K::SingleStepTransfer | K::SingleStepConference);
        if single_step && is_new(op, uri) && !op.recipient_connected {
            let reason = format!("{uri} left before answering");
            self.fail_op(c, CallError::Switch { code: ErrorCode::DestInvState, reason }, out);
        }
    }

    /// A completion is done once answered, the consultation is gone and its parties arrived.
    pub(super) fn check_merge_done(&mut self, h: ConnId) {
        if let Some(op) = self.op_mut(h) {
            if op.answered && op.partner_gone && op.moving.is_empty() {
                op.stage = Stage::Done;
            }
        }
    }

    /// The second call of an operation homed elsewhere ended. Returns whether the call must be
    /// kept (unrouted) a little longer: a consultation whose parties are still on their way into
    /// the main call stays until the completion finishes, so a party that never arrives can still
    /// be released on it.
    pub(super) fn partner_ended(&mut self, c: ConnId, out: &mut Output) -> bool {
        let Some(h) = self.op_home(c).filter(|h| *h != c) else { return false };
        let op = self.op(h).expect("op");
        match (op.kind, op.stage, op.answered) {
            (K::CompleteTransfer | K::CompleteConference, _, _) => {
                let waiting = !op.moving.is_empty();
                self.op_mut(h).expect("op").partner_gone = true;
                self.check_merge_done(h);
                return waiting;
            }
            (K::ReconnectCall, Stage::Retrieve, _) => {}
            (K::ReconnectCall, Stage::Release, _) => {
                let requester = op.requester.clone();
                self.set_stage(h, Stage::Retrieve);
                self.send_party_msg_for(h, h, &requester, Msg::Retrieve, true, out);
            }
            (_, _, false) => self.fail_op(h, CallError::Disconnected, out),
            (_, _, true) => self.finish_op(h, out),
        }
        false
    }
}
