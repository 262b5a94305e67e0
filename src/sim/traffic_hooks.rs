//! How the traffic generator follows its calls: hooks the call primitives call (a person was
//! connected, a caller left, a call is ending, a treatment started, an IM arrived), the caller
//! hanging up after its hold time or patience, the count of a finished call, and the replies to
//! treatments. Every decision is queued as a world timer, so no hook re-enters an operation.

use super::timers::Timer;
use super::traffic_run::TrafficTimer;
use super::types::{CallId, Cause, PartyState, Playback};
use super::World;

impl World {
    /// The caller leaves every call it is in: after its hold time (answered calls) or when its
    /// patience ran out (unanswered ones).
    pub(super) fn traffic_hang_up(&mut self, caller: &str, seq: u64, patience: bool) {
        let Some(l) = self.traffic.live(caller, seq) else { return };
        if patience == l.answered_at.is_some() {
            return;
        }
        if patience {
            self.traffic.callers.get_mut(caller).expect("live").gave_up = true;
        }
        let calls: Vec<CallId> = self.users.get(caller).map(|u| u.calls.iter().copied().collect()).unwrap_or_default();
        for id in calls {
            self.leave(id, caller, Cause::Hangup);
        }
    }

    /// The caller is in no call any more: the call is counted and its number freed.
    pub(super) fn traffic_finish(&mut self, caller: &str, seq: u64) {
        if self.traffic.live(caller, seq).is_none() || self.users.get(caller).is_some_and(|u| !u.calls.is_empty()) {
            return;
        }
        let t = &mut self.traffic;
        let l = t.callers.remove(caller).expect("live");
        if t.profile.as_ref().is_some_and(|p| p.caller(l.number) == caller) {
            t.free.insert(l.number);
        }
        let c = &mut t.counters;
        c.in_progress -= 1;
        if l.answered_at.is_some() {
            c.talking -= 1;
            c.completed += 1;
        } else if l.gave_up {
            c.waiting -= 1;
            c.abandoned += 1;
        } else {
            c.waiting -= 1;
            let cause = l.left_cause.unwrap_or(Cause::CallEnded);
            t.fail(format!("ended unanswered: {cause:?}"), format!("{caller}: the call ended unanswered ({cause:?})"));
        }
    }

    /// Hook (a party is connected on call `id`): a caller of the call is answered once another
    /// person is connected with it.
    pub(crate) fn traffic_connected(&mut self, id: CallId) {
        if self.traffic.callers.is_empty() {
            return;
        }
        let Some(c) = self.calls.get(&id) else { return };
        let callers = &self.traffic.callers;
        let answered = c.parties.iter().any(|p| {
            p.state == PartyState::Connected && !callers.contains_key(&p.uri) && self.kind_of(&p.uri).is_person()
        });
        if !answered {
            return;
        }
        let waiting: Vec<String> = c
            .parties
            .iter()
            .filter(|p| callers.get(&p.uri).is_some_and(|l| l.answered_at.is_none() && !l.gave_up))
            .map(|p| p.uri.clone())
            .collect();
        let now = self.now;
        for caller in waiting {
            let t = &mut self.traffic;
            let l = t.callers.get_mut(&caller).expect("live");
            l.answered_at = Some(now);
            let (seq, hold) = (l.seq, l.hold_ms);
            t.answer_ms_total += now - l.started_at;
            t.counters.connected += 1;
            t.counters.waiting -= 1;
            t.counters.talking += 1;
            self.timers.arm(now + hold, Timer::Traffic(TrafficTimer::Hangup { caller, seq }));
        }
    }

    /// Hook (party `uri` left call `id` for `cause`): a caller left with no call is counted after
    /// the step.
    pub(crate) fn traffic_left(&mut self, uri: &str, cause: Cause) {
        let Some(l) = self.traffic.callers.get_mut(uri) else { return };
        l.left_cause.get_or_insert(cause);
        let seq = l.seq;
        if self.users.get(uri).is_some_and(|u| u.calls.is_empty()) {
            let caller = uri.to_string();
            self.timers.arm(self.now, Timer::Traffic(TrafficTimer::Left { caller, seq }));
        }
    }

    /// Hook (call `id` ends for `cause`): the reason its callers leave.
    pub(crate) fn traffic_call_ending(&mut self, id: CallId, cause: Cause) {
        if self.traffic.callers.is_empty() {
            return;
        }
        let Some(c) = self.calls.get(&id) else { return };
        for p in &c.parties {
            if let Some(l) = self.traffic.callers.get_mut(&p.uri) {
                l.left_cause.get_or_insert(cause);
            }
        }
    }

    /// Hook (a treatment starts for `uri`): a caller answers a collect-digits treatment.
    pub(crate) fn traffic_treatment(&mut self, id: CallId, uri: &str, what: &Playback) {
        let Some(l) = self.traffic.callers.get(uri) else { return };
        let Some(r) = self.traffic.profile.as_ref().and_then(|p| p.dtmf_reply.as_ref()) else { return };
        if matches!(what, Playback::CollectDigits { .. }) {
            let t = TrafficTimer::Dtmf { caller: uri.to_string(), seq: l.seq, call: id };
            self.timers.arm(self.now + r.delay_ms, Timer::Traffic(t));
        }
    }

    /// Hook (`uri` received an IM on call `id`): a caller not answered yet replies to the first.
    pub(crate) fn traffic_im_received(&mut self, id: CallId, uri: &str) {
        let Some(r) = self.traffic.profile.as_ref().and_then(|p| p.im_reply.as_ref()) else { return };
        let delay = r.delay_ms;
        let Some(l) = self.traffic.callers.get_mut(uri).filter(|l| l.answered_at.is_none() && !l.im_replied) else {
            return;
        };
        l.im_replied = true;
        let t = TrafficTimer::ImReply { caller: uri.to_string(), seq: l.seq, call: id };
        self.timers.arm(self.now + delay, Timer::Traffic(t));
    }
    pub(super) fn traffic_dtmf_reply(&mut self, caller: &str, seq: u64, call: CallId) {
        let Some(r) = self.traffic.profile.as_ref().and_then(|p| p.dtmf_reply.as_ref()) else { return };
        let digits = r.text.clone();
        let ok = self.traffic.live(caller, seq).is_some()
            && self.calls.contains_key(&call)
            && self.check_dtmf(call, caller, &digits).is_ok();
        if ok {
            let ev = super::event::SimEvent::DtmfReceived { call, party: caller.to_string(), digits: digits.clone() };
            self.emit_call(call, ev);
            self.deliver_dtmf(call, caller, &digits);
            self.collect_digits(call, caller, &digits);
        }
    }

    pub(super) fn traffic_im_reply(&mut self, caller: &str, seq: u64, call: CallId) {
        let Some(r) = self.traffic.profile.as_ref().and_then(|p| p.im_reply.as_ref()) else { return };
        let text = r.text.clone();
        let ok = self.traffic.live(caller, seq).is_some()
            && self.calls.contains_key(&call)
            && self.check_im_sender(call, caller, &text).is_ok();
        if ok {
            self.im_post(call, caller, &text, true);
        }
    }
}
