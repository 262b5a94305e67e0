//! Simulated time: a queue of deadlines (auto-answer, immediate declines, delayed forwarding,
//! Response Group alert time, treatment ends, IM replay cut-off and idle release, conference
//! scheduling and expiry) run in deadline order, each at its own time, by `advance` and before and
//! after every operation. Time only moves forward and only when the caller says so: this module
//! never reads a clock.

use super::types::{CallId, Cause, ConferenceId};
use super::World;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    Answer { call: CallId, user: String, token: u64 },
    Decline { call: CallId, user: String, token: u64, cause: Cause },
    Forward { call: CallId, user: String, token: u64 },
    Hunt { call: CallId, hunt: u32, token: u64 },
    Playback { call: CallId, user: String, token: u64 },
    ImReplayCutoff { call: CallId },
    ImIdle { call: CallId },
    ConferenceReady { id: ConferenceId },
    ConferenceExpiry { id: ConferenceId },
    Traffic(super::traffic_run::TrafficTimer),
}

/// Deadlines in (time, arming order): two timers due at once run in the order they were armed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    queue: BTreeMap<(u64, u64), Timer>,
    seq: u64,
}

impl Timers {
    pub fn arm(&mut self, at: u64, t: Timer) {
        self.seq += 1;
        self.queue.insert((at, self.seq), t);
    }
    pub fn next_deadline(&self) -> Option<u64> {
        self.queue.keys().next().map(|(at, _)| *at)
    }
    fn pop_due(&mut self, now: u64) -> Option<(u64, Timer)> {
        let (&(at, seq), _) = self.queue.iter().next()?;
        if at > now {
            return None;
        }
        self.queue.remove(&(at, seq)).map(|t| (at, t))
    }
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

impl World {
    /// Runs every timer due at or before `now`, in order, then sets the clock to `now`.
    pub fn advance(&mut self, now: u64) {
        let now = now.max(self.now);
        self.run_due(now);
        self.now = now;
    }

    /// The next time something happens by itself (call `advance` then); None when nothing is due.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.next_deadline()
    }

    /// The world's clock: the latest `now` it was given.
    pub fn now(&self) -> u64 {
        self.now
    }

    pub(crate) fn run_due(&mut self, now: u64) {
        while let Some((at, t)) = self.timers.pop_due(now) {
            self.now = self.now.max(at);
            self.fire(t);
            self.flush();
        }
    }

    /// Starts an operation at `now` (never before the clock): due timers run first, so the world
    /// the operation sees is up to date.
    pub(crate) fn begin(&mut self, now: u64) -> u64 {
        self.advance(now);
        self.now
    }

    /// Ends an operation: timers it armed for `now` (immediate declines, zero-delay answers) run,
    /// then derived state (presence on calls, playback) is brought up to date.
    pub(crate) fn finish(&mut self, now: u64) {
        self.flush();
        self.run_due(now);
        self.flush();
    }

    fn fire(&mut self, t: Timer) {
        match t {
            Timer::Answer { .. } | Timer::Decline { .. } | Timer::Forward { .. } | Timer::Hunt { .. } => {
                self.fire_offer_timer(t)
            }
            Timer::Playback { call, user, token } => self.treatment_timeout(call, &user, token),
            Timer::ImReplayCutoff { call } => self.im_replay_cutoff(call),
            Timer::ImIdle { call } => self.im_idle(call),
            Timer::ConferenceReady { id } => self.conference_ready(id),
            Timer::ConferenceExpiry { id } => self.conference_expiry(id),
            Timer::Traffic(t) => self.fire_traffic(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_run_in_deadline_then_arming_order() {
        let mut t = Timers::default();
        t.arm(20, Timer::ImIdle { call: CallId(1) });
        t.arm(10, Timer::ImIdle { call: CallId(2) });
        t.arm(10, Timer::ImIdle { call: CallId(3) });
        assert_eq!(t.next_deadline(), Some(10));
        assert_eq!(t.pop_due(5), None);
        assert_eq!(t.pop_due(10), Some((10, Timer::ImIdle { call: CallId(2) })));
        assert_eq!(t.pop_due(10), Some((10, Timer::ImIdle { call: CallId(3) })));
        assert_eq!(t.pop_due(30), Some((20, Timer::ImIdle { call: CallId(1) })));
        assert_eq!(t.len(), 0);
    }
}
