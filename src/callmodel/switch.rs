//! The Connector's call events turned into per-party T-Library events: a new call (bound to the
//! request that dialed it, or a direct / inbound call with a new ConnID), parties appearing
//! (EventDialing, emulated EventRinging, EventNetworkReached), state changes (EventEstablished,
//! EventPartyAdded, EventHeld, EventRetrieved), departures (EventReleased, EventAbandoned,
//! EventPartyDeleted) and the end of the call. What a pending operation makes of an event (its
//! ReferenceID, its next step) is decided in `ops.rs`; this module holds the generic rules.

use super::events::{cause_key, released_state, EventExt};
use super::io::Output;
use super::types::{uri_key, Deferred, Party, PartyState, SwitchCall};
use super::{CallError, CallTable};
use crate::mltp::{Mltp, PartyState as SwitchState};
use crate::model::{CallState, ConnId, DnName, DnRole};
use crate::tlib::{EventKind, RequestKind as K};

impl CallTable {
    pub(super) fn on_switch(&mut self, link: &str, msg: Mltp, now: u64, out: &mut Output) {
        let call_of = |t: &CallTable, call: u64| t.by_switch.get(&SwitchCall { link: link.to_string(), call }).copied();
        match msg {
            Mltp::CallCreated { .. } => self.call_created(link, msg, now, out),
            Mltp::PartyCreated { call, party, party_state, .. } => {
                if let Some(c) = call_of(self, call) {
                    self.party_created(c, &party, party_state, out);
                }
            }
            Mltp::PartyStateChanged { call, party, party_state, .. } => {
                if let Some(c) = call_of(self, call) {
                    self.flush_deferred(c, None, out);
                    match state_of(party_state) {
                        Some(s) => self.party_changed(c, &party, s, out),
                        None => {
                            let departed = self.dn_of_party(c, &party);
                            let gone = self.calls[&c].party(&party).cloned();
                            self.party_deleted(c, &party, "", out);
                            self.departed.extend(departed.map(|d| (c, d)));
                            if let Some(p) = gone.filter(|_| self.calls.contains_key(&c)) {
                                self.monitoring_departure(c, &p, out);
                            }
                        }
                    }
                }
            }
            Mltp::PartyDeleted { call, party, cause } => {
                if let Some(c) = call_of(self, call) {
                    let departed = self.dn_of_party(c, &party);
                    let gone = self.calls[&c].party(&party).cloned();
                    self.party_deleted(c, &party, &cause_key(cause.as_deref()), out);
                    self.departed.extend(departed.map(|d| (c, d)));
                    if let Some(p) = gone.filter(|_| self.calls.contains_key(&c)) {
                        self.monitoring_departure(c, &p, out);
                    }
                }
            }
            Mltp::CallDeleted { call, .. } => {
                if let Some(c) = call_of(self, call) {
                    self.call_deleted(c, out);
                }
            }
            Mltp::Error { error_code, reason, call: Some(call) } => {
                if let Some(h) = call_of(self, call).and_then(|c| self.op_home(c)) {
                    self.fail_op(h, CallError::Switch { code: error_code, reason }, out);
                }
            }
            Mltp::ImReceived { call, from, text } => {
                if let Some(c) = call_of(self, call) {
                    self.im_received(c, &from, &text, out);
                }
            }
            Mltp::TreatmentEnded { call, status, digits, .. } => {
                if let Some(c) = call_of(self, call) {
                    self.treatment_ended(c, status, digits, out);
                }
            }
            // DTMF of a voice treatment comes with TREATMENT_ENDED.
            _ => {}
        }
    }

    fn party_created(&mut self, c: ConnId, uri: &str, state: SwitchState, out: &mut Output) {
        let forwarded = self.flush_deferred(c, Some(uri), out);
        let Some(state) = state_of(state) else { return };
        if self.calls[&c].party(uri).is_some() {
            return self.party_changed(c, uri, state, out);
        }
        if let Some(h) = self.op_home(c) {
            if self.place_moving(h, c, uri, state, out) {
                return;
            }
        }
        let info = self.directory.lookup(uri);
        let call = &self.calls[&c];
        // The recipient of a single-step transfer takes the transferring party's place.
        let replaced = call.op.as_ref().filter(|o| o.kind == K::SingleStepTransfer).map(|o| o.requester.clone());
        let active =
            call.parties.iter().filter(|p| p.state.is_active() && replaced.as_ref().is_none_or(|r| !p.is_dn(r)));
        // A Routing Point the call is being routed from is not a conference member.
        let active = active.filter(|p| !super::routing::is_routing_point(p.dn_type));
        let active = active.count();
        let origin = state == PartyState::Dialing || (call.parties.is_empty() && uri_key(uri) == uri_key(&call.ani));
        let role = match () {
            _ if origin => DnRole::Origination,
            _ if active >= 2 => DnRole::ConferenceMember,
            _ => DnRole::Destination,
        };
        // An invited supervisor: Observer when silent or coaching (hidden from the others).
        let role = self.supervisor_role(c, uri).unwrap_or(role);
        let party = Party {
            uri: uri.to_string(),
            dn: info.as_ref().map(|i| i.dn.clone()),
            dn_type: info.map(|i| i.dn_type),
            state,
            role,
            rang: false,
            added_by: None,
        };
        if super::routing::is_routing_point(party.dn_type) {
            return self.rp_arrived(c, party, out);
        }
        self.call_mut(c).expect("live call").parties.push(party);
        match state {
            PartyState::Dialing => self.dialing(c, uri, out),
            PartyState::Alerting => self.ringing(c, uri, forwarded, out),
            PartyState::Connected | PartyState::Held => self.emit(c, uri, EventKind::Established, out),
        }
    }

    /// Sends `kind` to the party's DN, from its point of view.
    pub(super) fn emit(&mut self, c: ConnId, uri: &str, kind: EventKind, out: &mut Output) {
        let call = &self.calls[&c];
        let Some(p) = call.party(uri) else { return };
        if let Some(dn) = p.call_events_dn() {
            out.deliver(dn, call.event(kind, p));
        }
    }

    fn dialing(&mut self, c: ConnId, uri: &str, out: &mut Output) {
        let reference = self.dialing_answer(c, uri);
        let call = &self.calls[&c];
        let p = call.party(uri).expect("just added");
        let Some(dn) = p.call_events_dn().or(reference.and(p.dn.as_ref())) else { return };
        let ev = call.event(EventKind::Dialing, p).other(DnName::new(&call.dnis), DnRole::Destination);
        out.deliver(dn, ev.reference(reference));
    }

    fn ringing(&mut self, c: ConnId, uri: &str, forwarded: bool, out: &mut Output) {
        let (third, reference) = self.ringing_context(c, uri);
        let call = self.call_mut(c).expect("live call");
        let p = call.party_mut(uri).expect("just added");
        p.rang = p.call_events_dn().is_some();
        if let Some((by, _)) = &third {
            p.added_by = Some(by.clone());
        }
        let call = &self.calls[&c];
        let p = call.party(uri).expect("just added");
        if let Some(dn) = p.call_events_dn().or(reference.and(p.dn.as_ref())) {
            let mut ev = call.event(EventKind::Ringing, p).reference(reference);
            if let Some((by, role)) = third {
                ev = ev.third(by, role);
            }
            if forwarded {
                ev = ev.state(CallState::Forwarded);
            }
            // Guide: EventRinging of a destination called by B2BUA carries calling-method = b2b.
            if call.b2b.is_some() && p.role != DnRole::Origination {
                let ext = ev.attrs.extensions.take().unwrap_or_default();
                ev.attrs.extensions = Some(ext.with(crate::dialplan::CALLING_METHOD_KEY, "b2b"));
            }
            out.deliver(dn, ev);
        }
        // The guide's flow to a Tel URI: EventNetworkReached once the call left the monitored side.
        if p.dn.is_none() {
            if let Some(o) =
                call.parties.iter().find(|o| o.role == DnRole::Origination && o.state == PartyState::Dialing)
            {
                if let Some(dn) = o.call_events_dn() {
                    let ev = call.event(EventKind::NetworkReached, o).other(p.name(), DnRole::Destination);
                    out.deliver(dn, ev);
                }
            }
        }
    }

    fn party_changed(&mut self, c: ConnId, uri: &str, new: PartyState, out: &mut Output) {
        let Some(p) = self.call_mut(c).and_then(|call| call.party_mut(uri)) else { return };
        let old = p.state;
        if old == new {
            return;
        }
        p.state = new;
        if super::routing::is_routing_point(p.dn_type) {
            return; // a Routing Point answering is no call event (EventQueued was its arrival)
        }
        match (old, new) {
            (PartyState::Alerting, PartyState::Connected) => {
                if self.supervisor_joined(c, uri, out) {
                    return;
                }
                let routed = self.route_delivered(c, uri);
                self.answered(c, uri, out);
                if routed {
                    self.pass_transcript(c, out);
                }
                self.maybe_monitor(c, uri, out);
            }
            (PartyState::Dialing, PartyState::Connected) => {
                self.emit(c, uri, EventKind::Established, out);
                self.maybe_monitor(c, uri, out);
            }
            (PartyState::Connected, PartyState::Held) => self.held(c, uri, out),
            (PartyState::Held, PartyState::Connected) => self.retrieved(c, uri, out),
            (PartyState::Alerting | PartyState::Dialing, PartyState::Held) => {
                self.emit(c, uri, EventKind::Established, out);
                self.held(c, uri, out);
            }
            _ => {}
        }
    }

    /// An offered party answered: a plain answer, a party joining a conversation in progress
    /// (EventPartyAdded to the others), or the recipient of a single-step transfer.
    fn answered(&mut self, c: ConnId, uri: &str, out: &mut Output) {
        if self.transfer_recipient(c, uri, out) {
            return;
        }
        let call = &self.calls[&c];
        let p = call.party(uri).expect("changed party");
        let others_active = call.parties.iter().filter(|o| o.uri != p.uri && o.state.is_active()).count();
        if others_active < 2 && p.added_by.is_none() {
            return self.emit(c, uri, EventKind::Established, out);
        }
        let adder = p.added_by.clone().or_else(|| {
            let first = call.parties.iter().filter(|o| o.uri != p.uri && o.state.is_active());
            first.clone().find(|o| o.role != DnRole::Origination).or(first.clone().next()).map(|o| o.name())
        });
        let reference = self.join_answer(c, uri);
        let call = self.call_mut(c).expect("live call");
        for o in call.parties.iter_mut().filter(|o| o.state.is_active() || o.uri == uri) {
            o.role = DnRole::ConferenceMember;
        }
        let call = &self.calls[&c];
        let new = call.party(uri).expect("changed party");
        let added = |o: &Party| {
            let ev = call.event(EventKind::PartyAdded, o).other(new.name(), DnRole::NewParty);
            let ev = ev.state(CallState::Conferenced);
            match &adder {
                Some(a) => ev.third(a.clone(), DnRole::AddedBy),
                None => ev,
            }
        };
        let answering = reference.is_some() && adder.is_some();
        let is_adder = |o: &Party| adder.as_ref().is_some_and(|a| o.is_dn(a));
        for o in call.parties.iter().filter(|o| o.uri != uri && o.state.is_active() && !(answering && is_adder(o))) {
            if let Some(dn) = o.call_events_dn() {
                out.deliver(dn, added(o));
            }
        }
        // The requester's copy answers TSingleStepConference to a destination that is no DN.
        if let (true, Some(a)) = (answering, &adder) {
            let stand_in = Party::for_dn(a);
            let requester = call.party_of_dn(a).unwrap_or(&stand_in);
            out.deliver(a, added(requester).reference(reference));
        }
        if let Some(dn) = new.call_events_dn() {
            out.deliver(dn, call.event(EventKind::Established, new).state(CallState::Conferenced));
        }
    }

    pub(super) fn party_deleted(&mut self, c: ConnId, uri: &str, cause: &str, out: &mut Output) {
        let Some(party) = self.calls[&c].party(uri).cloned() else { return };
        if super::routing::is_routing_point(party.dn_type) {
            self.treatment_interrupted(c, out);
            return self.rp_left(c, &party, cause, out);
        }
        // A routing destination declining: the call goes back to its Routing Point.
        if party.state == PartyState::Alerting && matches!(cause, "rejected" | "busy" | "noanswer" | "unavailable") {
            self.route_failed(c, uri, out);
        }
        if let Some(h) = self.op_home(c) {
            if self.op_departure(h, c, &party, cause, out) {
                return;
            }
        }
        if party.state == PartyState::Alerting && cause == "forwarded" {
            let call = self.call_mut(c).expect("live call");
            call.remove_party(&party.uri);
            call.deferred.push(Deferred { party });
            return;
        }
        let (reference, deleted_by) = self.departure_answer(c, &party);
        let call = &self.calls[&c];
        let abandoned = party.state == PartyState::Alerting
            && party.rang
            && reference.is_none()
            && matches!(cause, "abandoned" | "callended");
        let ev = if abandoned {
            let ev = call.event(EventKind::Abandoned, &party).state(CallState::Abandoned);
            match (call.consult, call.link) {
                (true, Some(l)) => ev.previous(l.other),
                _ => ev,
            }
        } else {
            call.event(EventKind::Released, &party).state(released_state(cause))
        };
        if let Some(dn) = party.call_events_dn().or(if reference.is_some() { party.dn.as_ref() } else { None }) {
            out.deliver(dn, ev.reference(reference));
        }
        let call = self.call_mut(c).expect("live call");
        call.remove_party(&party.uri);
        let remaining = call.parties.iter().filter(|p| p.state.is_active()).count();
        if !party.state.is_active() {
            self.new_party_left(c, &party.uri, out);
        }
        if !((party.state.is_active() && remaining >= 2) || deleted_by.is_some()) {
            return;
        }
        // A party left a conference: the others see it deleted (by itself, or by the requester).
        let by = deleted_by.clone().unwrap_or_else(|| party.name());
        let answer = deleted_by.as_ref().and_then(|_| self.op_home(c)).and_then(|h| self.take_answer(h));
        let call = &self.calls[&c];
        let stand_in = Party::for_dn(&by);
        let requester = call.party_of_dn(&by).unwrap_or(&stand_in);
        let answering = answer.is_some();
        let deleted = |o: &Party| {
            // A hidden supervisor leaving stays recognisable as one (OtherDNRole Observer).
            let role = if party.role == DnRole::Observer { DnRole::Observer } else { DnRole::DeletedParty };
            let ev = call.event(EventKind::PartyDeleted, o).other(party.name(), role);
            ev.third(by.clone(), DnRole::DeletedBy)
        };
        for o in call.parties.iter().filter(|o| o.state.is_active() && !(answering && o.is_dn(&by))) {
            if let Some(dn) = o.call_events_dn() {
                out.deliver(dn, deleted(o));
            }
        }
        // The requester's copy answers TDeleteFromConference, whatever its own state.
        if answering {
            out.deliver(&by, deleted(requester).reference(answer));
        }
    }

    fn call_deleted(&mut self, c: ConnId, out: &mut Output) {
        self.flush_deferred(c, None, out);
        let uris: Vec<String> = self.calls[&c].parties.iter().map(|p| p.uri.clone()).collect();
        for uri in uris {
            if self.calls.contains_key(&c) {
                self.party_deleted(c, &uri, "callended", out);
            }
        }
        if !self.calls.contains_key(&c) {
            return;
        }
        if self.partner_ended(c, out) {
            // Gone from the switch: unrouted, and no longer the main call's consultation.
            if let Some(sw) = self.call_mut(c).and_then(|x| x.switch.take()) {
                self.by_switch.remove(&sw);
            }
            if let Some(l) = self.call_mut(c).and_then(|x| x.link.take()) {
                if let Some(main) = self.call_mut(l.other) {
                    main.link = None;
                }
            }
            return;
        }
        if self.op(c).is_some_and(|o| o.kind == K::SingleStepTransfer) {
            self.transfer_released(c, None, out);
        }
        self.end_call(c, out);
    }

    /// Forwarded parties waiting for their EventReleased: `next` is the party the call went to
    /// (ThirdPartyDN, role DeletedBy). Returns whether there were any.
    pub(super) fn flush_deferred(&mut self, c: ConnId, next: Option<&str>, out: &mut Output) -> bool {
        let Some(call) = self.calls.get(&c) else { return false };
        if call.deferred.is_empty() {
            return false;
        }
        let next = next.map(|u| self.directory.lookup(u).map_or_else(|| DnName::new(u), |i| i.dn));
        let deferred = std::mem::take(&mut self.call_mut(c).expect("live call").deferred);
        let call = &self.calls[&c];
        for d in deferred {
            let Some(dn) = d.party.call_events_dn() else { continue };
            let mut ev = call.event(EventKind::Released, &d.party).state(CallState::Forwarded);
            if let Some(n) = &next {
                ev = ev.third(n.clone(), DnRole::DeletedBy);
            }
            out.deliver(dn, ev);
        }
        true
    }
}

/// The model's party state for a Connector's (None: the party is gone).
fn state_of(s: SwitchState) -> Option<PartyState> {
    match s {
        SwitchState::Dialing => Some(PartyState::Dialing),
        SwitchState::Alerting => Some(PartyState::Alerting),
        SwitchState::Connected => Some(PartyState::Connected),
        SwitchState::Held => Some(PartyState::Held),
        SwitchState::Disconnected => None,
    }
}
