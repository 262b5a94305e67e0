//! The traffic generator inside the world: one arrival timer places every call due (as many as
//! the clock passed, so the rate is exact however late the world is advanced), each caller is a
//! generated `tel:` number unique among the calls in progress, hangs up after its hold time once
//! a person answered or after its patience while nobody did, and may reply to treatments. Calls
//! are followed through hooks the call primitives call (a person connected, a caller left, a call
//! ending), so a caller's fate is known without polling. Everything runs on the world's own
//! timers and clock; the generator never acts for the application.

use super::error::SimError;
use super::timers::Timer;
use super::traffic::{glob_match, SplitMix64, TrafficCounters, TrafficProfile, TrafficRequest, TrafficView};
use super::types::{Behavior, CallId, Cause, Media, UserKind};
use super::World;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The generator's own deadlines, run by the world's timer queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TrafficTimer {
    /// Place every call due; a new profile or a stop makes older generations stale.
    Arrival {
        generation: u64,
    },
    /// The caller's hold time after the answer is over.
    Hangup {
        caller: String,
        seq: u64,
    },
    /// The caller's patience ran out (abandons if nobody answered).
    Patience {
        caller: String,
        seq: u64,
    },
    /// The caller left its last call (checked after the step, as a merge may move it on).
    Left {
        caller: String,
        seq: u64,
    },
    Dtmf {
        caller: String,
        seq: u64,
        call: CallId,
    },
    ImReply {
        caller: String,
        seq: u64,
        call: CallId,
    },
}

/// A generated caller with a call in progress.
#[derive(Clone, Debug)]
pub(super) struct Live {
    pub(super) seq: u64,
    pub(super) number: u32,
    pub(super) started_at: u64,
    pub(super) answered_at: Option<u64>,
    pub(super) hold_ms: u64,
    pub(super) gave_up: bool,
    /// Why the caller's call ended or the caller was removed (the first reason seen).
    pub(super) left_cause: Option<Cause>,
    pub(super) im_replied: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Traffic {
    pub(super) profile: Option<TrafficProfile>,
    pub(super) generating: bool,
    pub(super) generation: u64,
    pub(super) started_at: u64,
    pub(super) generated: u64,
    pub(super) poisson_offset: f64,
    pub(super) rng: SplitMix64,
    pub(super) callers: HashMap<String, Live>,
    pub(super) free: BTreeSet<u32>,
    pub(super) next_number: u32,
    pub(super) seq: u64,
    pub(super) counters: TrafficCounters,
    pub(super) failures: BTreeMap<String, u64>,
    pub(super) last_failure: Option<String>,
    pub(super) answer_ms_total: u64,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            profile: None,
            generating: false,
            generation: 0,
            started_at: 0,
            generated: 0,
            poisson_offset: 0.0,
            rng: SplitMix64::new(1),
            callers: HashMap::new(),
            free: BTreeSet::new(),
            next_number: 0,
            seq: 0,
            counters: TrafficCounters::default(),
            failures: BTreeMap::new(),
            last_failure: None,
            answer_ms_total: 0,
        }
    }
}

impl Traffic {
    pub(super) fn fail(&mut self, reason: String, detail: String) {
        self.counters.failed += 1;
        *self.failures.entry(reason).or_default() += 1;
        self.last_failure = Some(detail);
    }
    pub(super) fn live(&self, caller: &str, seq: u64) -> Option<&Live> {
        self.callers.get(caller).filter(|l| l.seq == seq)
    }
}

impl World {
    /// Starts (or replaces) the traffic profile at `now`: agents are set to answer automatically,
    /// and the first caller is placed at once. Calls of an earlier profile go on to their end.
    /// Counters are cumulative across profiles.
    pub fn start_traffic(&mut self, now: u64, req: TrafficRequest) -> Result<TrafficView, SimError> {
        let now = self.begin(now);
        let mut profile = req.validate().map_err(SimError::BadArgument)?;
        for (i, to) in profile.to.iter_mut().enumerate() {
            let uri = self.lookup(to).ok_or_else(|| {
                SimError::BadArgument(format!("to[{i}] {to:?}: no such user or endpoint in the simulated SfB"))
            })?;
            if matches!(self.kind_of(&uri), UserKind::ConferenceService | UserKind::External) {
                return Err(SimError::BadArgument(format!("to[{i}] {uri}: not a destination callers can dial")));
            }
            *to = uri;
        }
        let agents = match &profile.agents {
            Some(a) => {
                let mut set = BTreeSet::new();
                for u in &a.uris {
                    let uri = self.lookup(u).filter(|u| self.user(u).is_sfb_person()).ok_or_else(|| {
                        SimError::BadArgument(format!("agents.uris {u:?}: not a SfB user of the simulation"))
                    })?;
                    set.insert(uri);
                }
                if let Some(p) = &a.pattern {
                    let p = p.trim().to_lowercase();
                    let before = set.len();
                    let matching = self.users.iter().filter(|(uri, u)| u.is_sfb_person() && glob_match(&p, uri));
                    set.extend(matching.map(|(uri, _)| uri.clone()));
                    if set.len() == before && a.uris.is_empty() {
                        return Err(SimError::BadArgument(format!("agents.pattern {p:?} matches no SfB user")));
                    }
                }
                set.into_iter().map(|u| (u, Behavior::auto(a.answer_delay_ms))).collect()
            }
            None => Vec::new(),
        };
        for (uri, b) in agents {
            self.user_mut(&uri).spec.behavior = b;
        }
        let t = &mut self.traffic;
        let renumbered = t
            .profile
            .as_ref()
            .is_none_or(|p| (&p.caller_prefix, p.caller_digits) != (&profile.caller_prefix, profile.caller_digits));
        if renumbered {
            t.free.clear();
            t.next_number = 0;
        }
        t.rng = SplitMix64::new(profile.seed);
        t.profile = Some(profile);
        t.generating = true;
        t.generation += 1;
        t.started_at = now;
        t.generated = 0;
        t.poisson_offset = 0.0;
        let generation = t.generation;
        self.timers.arm(now, Timer::Traffic(TrafficTimer::Arrival { generation }));
        self.finish(now);
        Ok(self.traffic_view())
    }

    /// Stops generating callers; calls in progress go on to their end.
    pub fn stop_traffic(&mut self, now: u64) -> TrafficView {
        let now = self.begin(now);
        self.traffic.generating = false;
        self.traffic.generation += 1;
        self.finish(now);
        self.traffic_view()
    }

    /// The profile and the counters.
    pub fn traffic_view(&self) -> TrafficView {
        let t = &self.traffic;
        TrafficView {
            profile: t.profile.clone(),
            generating: t.generating,
            started_at: t.profile.as_ref().map(|_| t.started_at),
            generated: t.generated,
            counters: t.counters.clone(),
            failures: t.failures.clone(),
            last_failure: t.last_failure.clone(),
            mean_answer_ms: (t.counters.connected > 0).then(|| t.answer_ms_total as f64 / t.counters.connected as f64),
        }
    }

    /// The counters alone (cheap: no copy of the profile).
    pub fn traffic_counters(&self) -> &TrafficCounters {
        &self.traffic.counters
    }

    pub(crate) fn fire_traffic(&mut self, t: TrafficTimer) {
        match t {
            TrafficTimer::Arrival { generation } => self.traffic_arrivals(generation),
            TrafficTimer::Hangup { caller, seq } => self.traffic_hang_up(&caller, seq, false),
            TrafficTimer::Patience { caller, seq } => self.traffic_hang_up(&caller, seq, true),
            TrafficTimer::Left { caller, seq } => self.traffic_finish(&caller, seq),
            TrafficTimer::Dtmf { caller, seq, call } => self.traffic_dtmf_reply(&caller, seq, call),
            TrafficTimer::ImReply { caller, seq, call } => self.traffic_im_reply(&caller, seq, call),
        }
    }

    /// Places every call due by now, then arms the timer of the next one.
    fn traffic_arrivals(&mut self, generation: u64) {
        let now = self.now;
        loop {
            let t = &mut self.traffic;
            let Some(p) = t.profile.as_ref().filter(|_| t.generating && t.generation == generation) else { return };
            let n = t.generated;
            let offset = match p.arrival {
                super::traffic::Arrival::Uniform => n as f64 * 1000.0 / p.cps,
                super::traffic::Arrival::Poisson => t.poisson_offset,
            };
            if !p.wants(n, offset) {
                t.generating = false;
                return;
            }
            // The epsilon keeps n * 1000 / cps from landing a hair below a whole millisecond.
            let due = t.started_at + (offset + 1e-6).floor() as u64;
            if due > now {
                self.timers.arm(due, Timer::Traffic(TrafficTimer::Arrival { generation }));
                return;
            }
            t.generated += 1;
            if p.arrival == super::traffic::Arrival::Poisson {
                let u = t.rng.next_f64();
                t.poisson_offset += -(1.0 - u).ln() * 1000.0 / p.cps;
            }
            self.traffic_place(n);
        }
    }

    /// A free caller number: the lowest freed one, else the next never used; never one whose URI
    /// is a configured user (a LineURI) or is still in a call.
    fn traffic_number(&mut self) -> Option<(u32, String)> {
        loop {
            let t = &mut self.traffic;
            let p = t.profile.as_ref()?;
            let n = match t.free.pop_first() {
                Some(n) => n,
                None if (t.next_number as u64) < p.numbers() => {
                    t.next_number += 1;
                    t.next_number - 1
                }
                None => return None,
            };
            let uri = p.caller(n);
            let busy = t.callers.contains_key(&uri)
                || self
                    .lookup(&uri)
                    .is_some_and(|u| self.kind_of(&u) != UserKind::External || !self.user(&u).calls.is_empty());
            if !busy {
                return Some((n, uri));
            }
        }
    }

    /// Places arrival `n`: draws its media, hold time and patience, then calls.
    fn traffic_place(&mut self, n: u64) {
        let now = self.now;
        let t = &mut self.traffic;
        let p = t.profile.as_ref().expect("generating has a profile");
        let to = p.to[(n % p.to.len() as u64) as usize].clone();
        let media = p.media.draw(&mut t.rng);
        let hold_ms = p.hold_ms.draw(&mut t.rng);
        let patience = p.patience_ms.map(|s| s.draw(&mut t.rng));
        let text = (media == Media::Im).then(|| p.im_text.clone());
        t.counters.offered += 1;
        match media {
            Media::Voice => t.counters.offered_voice += 1,
            Media::Im => t.counters.offered_im += 1,
            Media::Video => t.counters.offered_video += 1,
        }
        let Some((number, caller)) = self.traffic_number() else {
            let detail = "every caller number of the profile is in a call".to_string();
            return self.traffic.fail("refused: no free caller number".into(), detail);
        };
        let t = &mut self.traffic;
        t.seq += 1;
        let seq = t.seq;
        let live = Live {
            seq,
            number,
            started_at: now,
            answered_at: None,
            hold_ms,
            gave_up: false,
            left_cause: None,
            im_replied: false,
        };
        // Known before the call exists: the hooks see the caller from its first step.
        t.callers.insert(caller.clone(), live);
        match self.place_call(now, &caller, &to, media, text) {
            Ok(_) => {
                let c = &mut self.traffic.counters;
                c.in_progress += 1;
                c.waiting += 1;
                c.peak_in_progress = c.peak_in_progress.max(c.in_progress);
                if let Some(ms) = patience {
                    self.timers.arm(now + ms, Timer::Traffic(TrafficTimer::Patience { caller, seq }));
                }
            }
            Err(e) => {
                let t = &mut self.traffic;
                t.callers.remove(&caller);
                t.free.insert(number);
                t.fail(format!("refused: {:?}", e.error_code()), e.to_string());
            }
        }
    }
}
