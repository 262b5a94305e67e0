//! Offering a call to a destination, and what follows from it: application endpoints and Response
//! Groups answer at once, call forwarding (immediate or after alerting), simultaneous ringing,
//! Response Group hunting (serial / parallel), forking to every endpoint of a user, presence and
//! answer behaviours (DND and Offline endpoints reject; `auto` answers after a delay; `reject`
//! declines). Outcomes that the destination decides (answer, decline) are queued as timers, so an
//! operation never re-enters itself. Never validates requests: callers do before calling.

use super::calls::Hunt;
use super::presence::PresenceState;
use super::timers::Timer;
use super::types::{AnswerMode, CallId, Cause, PartyMode, PartyState, UserKind};
use super::World;
use std::collections::VecDeque;

/// Forwarding hops after which a call is treated as undeliverable (a forwarding loop).
const MAX_FORWARD_DEPTH: u8 = 5;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Offer {
    pub mode: PartyMode,
    pub hunt: Option<u32>,
    pub depth: u8,
}

impl Offer {
    pub fn plain(mode: PartyMode) -> Offer {
        Offer { mode, hunt: None, depth: 0 }
    }
    fn next(self, hunt: Option<u32>) -> Offer {
        Offer { mode: self.mode, hunt, depth: self.depth + 1 }
    }
}

impl World {
    /// Offers call `id` to the (existing) user `uri`, who must not be a party yet.
    pub(crate) fn offer(&mut self, id: CallId, uri: &str, o: Offer) {
        if self.call(id).has(uri) {
            return;
        }
        let user = self.user(uri);
        let (kind, registered) = (user.kind(), user.registered);
        match kind {
            UserKind::RoutingPoint | UserKind::ExternalRoutingPoint if registered => {
                self.add_party(id, uri, PartyState::Alerting, o.mode, o.hunt);
                self.answer_party(id, uri, Some(1));
            }
            UserKind::RoutingPoint | UserKind::ExternalRoutingPoint | UserKind::ConferenceService => {
                self.alert_then_decline(id, uri, o, Cause::Unavailable)
            }
            // Guide: "Dialing out from the conference and conference invitation are rejected."
            UserKind::ResponseGroup if self.call(id).host.is_some() => {
                self.alert_then_decline(id, uri, o, Cause::Rejected)
            }
            UserKind::ResponseGroup => {
                self.add_party(id, uri, PartyState::Alerting, o.mode, o.hunt);
                self.answer_party(id, uri, Some(1));
                self.start_response_group(id, uri);
            }
            UserKind::Extension | UserKind::User | UserKind::External => self.offer_person(id, uri, o),
        }
    }

    fn offer_person(&mut self, id: CallId, uri: &str, o: Offer) {
        let spec = self.user(uri).spec.clone();
        if let Some(target) = spec.forward_to.clone() {
            let target = self.materialize_uri(&target);
            if o.depth >= MAX_FORWARD_DEPTH || self.call(id).has(&target) {
                return self.alert_then_decline(id, uri, o, Cause::Unavailable);
            }
            if spec.forward_after_ms.is_none() {
                self.add_party(id, uri, PartyState::Alerting, o.mode, o.hunt);
                self.remove_party(id, uri, Cause::Forwarded);
                return self.offer(id, &target, o.next(o.hunt));
            }
        }
        let mut hunt = o.hunt;
        let ring_also: Vec<String> =
            spec.simultaneous_ring.iter().filter(|t| !self.call(id).has(t) && *t != uri).cloned().collect();
        if hunt.is_none() && !ring_also.is_empty() {
            hunt = Some(self.new_hunt(id, VecDeque::new(), None, false, None));
        }
        self.add_party(id, uri, PartyState::Alerting, o.mode, hunt);
        let token = self.call(id).party(uri).map_or(0, |p| p.token);
        if o.hunt.is_none() && hunt.is_some() {
            for t in ring_also {
                let t = self.materialize_uri(&t);
                self.offer(id, &t, o.next(hunt));
            }
        }
        let now = self.now;
        let state = PresenceState::of(self.user(uri).base.availability);
        let decline = match state {
            _ if spec.kind == UserKind::External => None,
            PresenceState::Offline => Some(Cause::Unavailable),
            PresenceState::DoNotDisturb => Some(Cause::Busy),
            _ => None,
        };
        let behavior = self.user(uri).spec.behavior;
        let call = id;
        let user = uri.to_string();
        match (decline, behavior.answer) {
            (Some(cause), _) => self.timers.arm(now, Timer::Decline { call, user, token, cause }),
            (None, AnswerMode::Reject) => {
                self.timers.arm(now, Timer::Decline { call, user, token, cause: Cause::Rejected })
            }
            (None, AnswerMode::Auto) => self.timers.arm(now + behavior.delay_ms, Timer::Answer { call, user, token }),
            (None, AnswerMode::Manual | AnswerMode::Never) => {}
        }
        if let (Some(after), true) = (spec.forward_after_ms, spec.forward_to.is_some()) {
            self.timers.arm(now + after, Timer::Forward { call: id, user: uri.to_string(), token });
        }
    }

    /// The destination is offered the call and declines it at once (queued, so the offer's
    /// events come first).
    fn alert_then_decline(&mut self, id: CallId, uri: &str, o: Offer, cause: Cause) {
        self.add_party(id, uri, PartyState::Alerting, o.mode, o.hunt);
        let token = self.call(id).party(uri).map_or(0, |p| p.token);
        self.timers.arm(self.now, Timer::Decline { call: id, user: uri.to_string(), token, cause });
    }

    /// Re-arms the answer behaviour of an alerting party (after it moved to another call).
    pub(crate) fn arm_alert_timers(&mut self, id: CallId, uri: &str) {
        let Some(p) = self.call(id).party(uri).filter(|p| p.state == PartyState::Alerting) else { return };
        let token = p.token;
        let b = self.user(uri).spec.behavior;
        if b.answer == AnswerMode::Auto {
            self.timers.arm(self.now + b.delay_ms, Timer::Answer { call: id, user: uri.to_string(), token });
        }
    }

    fn new_hunt(
        &mut self,
        id: CallId,
        queue: VecDeque<String>,
        alert_ms: Option<u64>,
        serial: bool,
        rg: Option<String>,
    ) -> u32 {
        let token = self.token();
        let c = self.call_mut(id);
        let hid = c.next_hunt;
        c.next_hunt += 1;
        c.hunts.push(Hunt { id: hid, members: Vec::new(), queue, alert_ms, serial, response_group: rg, token });
        hid
    }

    fn start_response_group(&mut self, id: CallId, rg: &str) {
        let Some(spec) = self.user(rg).spec.response_group.clone() else { return };
        let members: VecDeque<String> = spec.members.iter().filter(|m| !self.call(id).has(m)).cloned().collect();
        let serial = spec.mode == super::types::HuntMode::Serial;
        let h = self.new_hunt(id, members.clone(), Some(spec.alert_ms), serial, Some(rg.to_string()));
        if serial {
            return self.hunt_next(id, h, Cause::NoAnswer);
        }
        self.call_mut(id).hunt_mut(h).expect("new hunt").queue.clear();
        self.arm_hunt_timer(id, h);
        for m in members {
            self.offer(id, &m, Offer { mode: PartyMode::Normal, hunt: Some(h), depth: 1 });
        }
        if self.call(id).hunts.iter().any(|x| x.id == h && x.members.is_empty()) {
            self.hunt_failed(id, h, Cause::NoAnswer);
        }
    }

    fn arm_hunt_timer(&mut self, id: CallId, h: u32) {
        let token = self.token();
        let now = self.now;
        let Some(hunt) = self.call_mut(id).hunt_mut(h) else { return };
        hunt.token = token;
        if let Some(ms) = hunt.alert_ms {
            self.timers.arm(now + ms, Timer::Hunt { call: id, hunt: h, token });
        }
    }

    /// A serial hunt offers its next member; an exhausted hunt fails.
    fn hunt_next(&mut self, id: CallId, h: u32, cause: Cause) {
        loop {
            let Some(hunt) = self.call_mut(id).hunt_mut(h) else { return };
            if !hunt.members.is_empty() {
                return;
            }
            let Some(next) = hunt.queue.pop_front() else { break };
            if self.call(id).has(&next) {
                continue;
            }
            self.arm_hunt_timer(id, h);
            self.offer(id, &next, Offer { mode: PartyMode::Normal, hunt: Some(h), depth: 1 });
            return;
        }
        self.hunt_failed(id, h, cause);
    }

    fn hunt_failed(&mut self, id: CallId, h: u32, cause: Cause) {
        let c = self.call_mut(id);
        let Some(i) = c.hunts.iter().position(|x| x.id == h) else { return };
        let hunt = c.hunts.remove(i);
        match hunt.response_group {
            Some(rg) if self.call(id).has(&rg) => {
                self.remove_party(id, &rg, Cause::NoAnswer);
                self.settle(id, Cause::NoAnswer, true);
            }
            _ => self.settle(id, cause, true),
        }
    }

    /// A party answers (on `endpoint`): other members of its hunt stop alerting, a Response Group
    /// hands the call over, the originator is connected.
    pub(crate) fn answer_party(&mut self, id: CallId, uri: &str, endpoint: Option<u32>) {
        let Some(p) = self.call(id).party(uri) else { return };
        let first = p.alerting.first().copied();
        let hunt = p.hunt.and_then(|h| {
            let c = self.call_mut(id);
            let i = c.hunts.iter().position(|x| x.id == h)?;
            Some(c.hunts.remove(i))
        });
        if let Some(h) = &hunt {
            for m in h.members.iter().filter(|m| *m != uri) {
                self.remove_party(id, m, Cause::AnsweredElsewhere);
            }
        }
        if let Some(p) = self.call_mut(id).party_mut(uri) {
            p.answered_on = endpoint.or(first);
            p.hunt = None;
        }
        self.set_state(id, uri, PartyState::Connected, Cause::Answered);
        if let Some(rg) = hunt.and_then(|h| h.response_group) {
            self.remove_party(id, &rg, Cause::Transferred);
        }
        self.connect_originators(id);
    }

    /// An offered party stops alerting for `cause`; its hunt goes on, or the call settles.
    pub(crate) fn decline(&mut self, id: CallId, uri: &str, cause: Cause) {
        let Some(p) = self.call(id).party(uri) else { return };
        let hunt = p.hunt;
        self.remove_party(id, uri, cause);
        match hunt.filter(|h| self.call(id).hunts.iter().any(|x| x.id == *h)) {
            Some(h) => self.hunt_next(id, h, cause),
            None => self.settle(id, cause, true),
        }
    }

    /// A party leaves by itself or is released: an alerting party declines, others hang up.
    pub(crate) fn leave(&mut self, id: CallId, uri: &str, cause: Cause) {
        let Some(p) = self.call(id).party(uri) else { return };
        if p.state == PartyState::Alerting {
            return self.decline(id, uri, cause);
        }
        self.remove_party(id, uri, cause);
        self.settle(id, cause, false);
    }

    pub(crate) fn fire_offer_timer(&mut self, t: Timer) {
        let alerting = |w: &World, call: super::types::CallId, user: &str, token: u64| {
            w.calls
                .get(&call)
                .and_then(|c| c.party(user))
                .is_some_and(|p| p.state == PartyState::Alerting && p.token == token)
        };
        match t {
            Timer::Answer { call, user, token } if alerting(self, call, &user, token) => {
                self.answer_party(call, &user, None)
            }
            Timer::Decline { call, user, token, cause } if alerting(self, call, &user, token) => {
                self.decline(call, &user, cause)
            }
            Timer::Forward { call, user, token } if alerting(self, call, &user, token) => {
                let Some(target) = self.user(&user).spec.forward_to.clone() else { return };
                let target = self.materialize_uri(&target);
                if self.call(call).has(&target) {
                    return self.decline(call, &user, Cause::Unavailable);
                }
                let p = self.call(call).party(&user).expect("alerting party");
                let o = Offer { mode: p.mode, hunt: p.hunt, depth: 1 };
                self.remove_party(call, &user, Cause::Forwarded);
                self.offer(call, &target, o);
            }
            Timer::Hunt { call, hunt, token } => {
                let Some(h) = self.calls.get_mut(&call).and_then(|c| c.hunt_mut(hunt)) else { return };
                if h.token != token {
                    return;
                }
                let (members, serial) = (h.members.clone(), h.serial);
                for m in members {
                    self.remove_party(call, &m, Cause::NoAnswer);
                }
                if serial {
                    self.hunt_next(call, hunt, Cause::NoAnswer);
                } else {
                    self.hunt_failed(call, hunt, Cause::NoAnswer);
                }
            }
            _ => {}
        }
    }
}
