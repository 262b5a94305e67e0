//! What a load run does, resolved from the command line: the profile (a custom run, the vendor's
//! sizing, or a stepped search for the maximum rate), rates, times and mixes, and the pure
//! stepping rule of `--profile max` (RFC 7502 style: double the rate until the first failed call
//! or p99 above the limit, then bisect between the last good and the first bad rate; the knee is
//! the highest good rate). No I/O and no clock.

use serde::Serialize;
use std::time::Duration;

/// The guide's sizing ("Sizing guidelines"): one T-Server with a pool of Connectors supports
/// 1,200 simultaneous calls, 1,000 registered agents, 6 calls per second and 100 user-data updates
/// per call.
pub const VENDOR_CPS: f64 = 6.0;
pub const VENDOR_SIMULTANEOUS_CALLS: u64 = 1_200;
pub const VENDOR_AGENTS: usize = 1_000;
pub const VENDOR_UPDATES_PER_CALL: u32 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// --agents, --cps, --duration, --hold, --updates as given.
    Custom,
    /// The vendor's sizing: 6 CPS, 1,200 simultaneous calls, 1,000 agents, 100 updates per call.
    Vendor,
    /// Step the rate up until the first failed call or p99 above the limit; report the knee.
    Max,
}

/// Relative weights of the callers' media (sent to the simulation as they are).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MediaMix {
    pub voice: f64,
    pub im: f64,
    pub video: f64,
}

impl std::str::FromStr for MediaMix {
    type Err = String;
    /// `voice=8,im=1,video=1` (missing media weigh 0).
    fn from_str(s: &str) -> Result<MediaMix, String> {
        let mut mix = MediaMix { voice: 0.0, im: 0.0, video: 0.0 };
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("{part:?}: expected media=weight"))?;
            let w: f64 = v.trim().parse().map_err(|_| format!("{v:?} is not a weight"))?;
            match k.trim() {
                "voice" => mix.voice = w,
                "im" => mix.im = w,
                "video" => mix.video = w,
                other => return Err(format!("{other:?} is not voice, im or video")),
            }
        }
        Ok(mix)
    }
}

/// The stepping of `--profile max`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MaxSearch {
    pub start_cps: f64,
    pub factor: f64,
    /// How long each step generates callers.
    #[serde(with = "humantime_serde")]
    pub step_duration: Duration,
    /// A step fails when its request -> event p99 is above this (milliseconds).
    pub p99_limit_ms: f64,
    /// Steps at most (doubling and bisecting together).
    pub max_steps: usize,
    /// Bisection steps between the last good and the first bad rate.
    pub refine_steps: usize,
}

impl Default for MaxSearch {
    fn default() -> Self {
        MaxSearch {
            start_cps: 10.0,
            factor: 2.0,
            step_duration: Duration::from_secs(10),
            p99_limit_ms: 50.0,
            max_steps: 10,
            refine_steps: 2,
        }
    }
}

/// A resolved load run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadPlan {
    pub profile: ProfileKind,
    pub agents: usize,
    pub cps: f64,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// How long a caller stays once an agent answered (the simulation's hold_ms).
    #[serde(with = "humantime_serde")]
    pub hold: Duration,
    pub updates_per_call: u32,
    #[serde(with = "humantime_serde")]
    pub answer_delay: Duration,
    /// How long a caller waits for an agent before hanging up (abandoned).
    #[serde(with = "humantime_serde")]
    pub patience: Duration,
    pub media: MediaMix,
    pub transfer_ratio: f64,
    pub conference_ratio: f64,
    /// Calls the internal router gives one agent at once (an SfB client holds several
    /// conversations; the vendor profile needs 2: 1,200 calls on 1,000 agents).
    pub calls_per_agent: u32,
    pub routing_point: String,
    pub external_router: bool,
    pub seed: u64,
    pub max: MaxSearch,
}

impl LoadPlan {
    /// The vendor profile over `base` (which gives addresses and the options it does not fix):
    /// hold chosen so that 6 CPS x hold = 1,200 simultaneous calls, a run long enough to hold
    /// that plateau for 100 s unless `duration` was given.
    pub fn vendor(mut base: LoadPlan, duration: Option<Duration>) -> LoadPlan {
        let hold_s = VENDOR_SIMULTANEOUS_CALLS as f64 / VENDOR_CPS;
        base.profile = ProfileKind::Vendor;
        base.cps = VENDOR_CPS;
        base.agents = VENDOR_AGENTS;
        base.updates_per_call = VENDOR_UPDATES_PER_CALL;
        base.hold = Duration::from_secs_f64(hold_s);
        base.duration = duration.unwrap_or(Duration::from_secs_f64(hold_s + 100.0));
        base.calls_per_agent = VENDOR_SIMULTANEOUS_CALLS.div_ceil(VENDOR_AGENTS as u64) as u32;
        base
    }

    /// The most calls per second the agents can take: each call holds an agent slot for the answer
    /// delay, the hold time and a margin for routing and release.
    pub fn agent_capacity_cps(&self) -> f64 {
        (self.agents as f64 * self.calls_per_agent as f64) / self.slot_seconds_per_call()
    }

    /// How long one call holds an agent's slot: answer delay, hold, and a margin for routing and
    /// release.
    fn slot_seconds_per_call(&self) -> f64 {
        self.answer_delay.as_secs_f64() + self.hold.as_secs_f64() + 0.25
    }

    /// Why the agents cannot take the offered rate (None: they can). Above their capacity every
    /// second adds callers to a queue that never drains: the step then measures that queue (the
    /// route wait, and with it the latency of everything around it, rising all run), not the
    /// server at that rate. Not for `--profile max`, whose steps stop below the capacity.
    pub fn over_capacity(&self) -> Option<String> {
        let capacity = self.agent_capacity_cps();
        let per_call = self.slot_seconds_per_call();
        (self.profile != ProfileKind::Max && self.cps > capacity).then(|| {
            format!(
                "{} CPS is more than the agents can take ({capacity:.0} CPS: {} agents x {} calls, {per_call:.2} s \
                 each): callers queue for agents and the queue grows all run; raise --agents or \
                 --calls-per-agent, or shorten --hold",
                self.cps, self.agents, self.calls_per_agent
            )
        })
    }
}

/// One measured step, as the stepping rule sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepVerdict {
    pub cps: f64,
    /// None when the step passed; else why it failed.
    pub failure: Option<String>,
}

/// What `--profile max` does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Run(f64),
    Stop(Knee),
}

/// The highest rate that passed and why the search stopped.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Knee {
    pub cps: Option<f64>,
    pub reason: String,
}

impl MaxSearch {
    /// The next step after `history`, or the knee. `capacity_cps` is what the agents can take
    /// ([`LoadPlan::agent_capacity_cps`]): a rate above it would fail for lack of agents, which
    /// measures the run, not the server, so the search stops below it.
    pub fn next(&self, history: &[StepVerdict], capacity_cps: f64) -> Next {
        let Some(last) = history.last() else { return Next::Run(self.start_cps.min(capacity_cps)) };
        let good = history.iter().filter(|s| s.failure.is_none()).map(|s| s.cps).fold(None, max_opt);
        let first_bad = history.iter().position(|s| s.failure.is_some());
        let stop = |reason: String| Next::Stop(Knee { cps: good, reason });
        if history.len() >= self.max_steps {
            return stop(format!("step limit ({}) reached", self.max_steps));
        }
        let Some(first_bad) = first_bad else {
            // No failure yet: keep doubling.
            let next = last.cps * self.factor;
            if next > capacity_cps {
                return stop(format!(
                    "{next:.0} CPS would need more agents than the run has (capacity {capacity_cps:.0} CPS); \
                     no failure up to {:.0} CPS",
                    last.cps
                ));
            }
            return Next::Run(next);
        };
        let bad = history.iter().filter(|s| s.failure.is_some()).map(|s| s.cps).fold(f64::INFINITY, f64::min);
        let why = history.iter().find(|s| s.cps == bad).and_then(|s| s.failure.clone()).unwrap_or_default();
        let refined = history.len() - first_bad - 1;
        match good {
            Some(g) if g < bad && refined < self.refine_steps && (bad - g) / g > 0.1 => Next::Run((g + bad) / 2.0),
            _ => stop(format!("first failure at {bad:.0} CPS: {why}")),
        }
    }
}

fn max_opt(acc: Option<f64>, v: f64) -> Option<f64> {
    Some(acc.map_or(v, |a| a.max(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(cps: f64) -> StepVerdict {
        StepVerdict { cps, failure: None }
    }
    fn bad(cps: f64) -> StepVerdict {
        StepVerdict { cps, failure: Some("p99 80 ms".into()) }
    }

    #[test]
    fn doubles_until_a_failure_then_bisects_and_reports_the_knee() {
        let s = MaxSearch::default();
        assert_eq!(s.next(&[], 1e9), Next::Run(10.0));
        assert_eq!(s.next(&[ok(10.0)], 1e9), Next::Run(20.0));
        let h = vec![ok(10.0), ok(20.0), ok(40.0), bad(80.0)];
        assert_eq!(s.next(&h, 1e9), Next::Run(60.0));
        let h2 = [h.clone(), vec![ok(60.0)]].concat();
        assert_eq!(s.next(&h2, 1e9), Next::Run(70.0));
        let h3 = [h2, vec![bad(70.0)]].concat();
        match s.next(&h3, 1e9) {
            Next::Stop(k) => {
                assert_eq!(k.cps, Some(60.0));
                assert!(k.reason.contains("first failure at 70 CPS: p99 80 ms"), "{}", k.reason);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_first_step_that_fails_has_no_knee_and_the_agents_bound_the_search() {
        let s = MaxSearch::default();
        assert!(matches!(s.next(&[bad(10.0)], 1e9), Next::Stop(Knee { cps: None, .. })));
        match s.next(&[ok(10.0), ok(20.0)], 30.0) {
            Next::Stop(k) => assert!(k.cps == Some(20.0) && k.reason.contains("more agents"), "{k:?}"),
            other => panic!("{other:?}"),
        }
        let many: Vec<_> = (0..10).map(|i| ok(10.0 * 2f64.powi(i))).collect();
        assert!(matches!(s.next(&many, 1e12), Next::Stop(Knee { reason, .. }) if reason.contains("step limit")));
    }

    #[test]
    fn media_mixes_parse_and_bad_ones_are_named() {
        let m: MediaMix = "voice=8, im=1,video=1".parse().unwrap();
        assert_eq!((m.voice, m.im, m.video), (8.0, 1.0, 1.0));
        assert!("fax=1".parse::<MediaMix>().unwrap_err().contains("fax"));
        assert!("voice".parse::<MediaMix>().is_err());
    }

    #[test]
    fn a_rate_over_the_agents_capacity_is_named() {
        let mut p = crate::load::tests::plan();
        (p.agents, p.cps, p.hold, p.answer_delay) =
            (10_000, 1000.0, Duration::from_secs(20), Duration::from_millis(100));
        p.calls_per_agent = 2; // 20,000 slots for 20.35 s each: 983 CPS
        let why = p.over_capacity().expect("1,000 CPS is over 983");
        assert!(why.contains("983 CPS") && why.contains("10000 agents x 2 calls"), "{why}");
        p.calls_per_agent = 3;
        assert_eq!(p.over_capacity(), None);
        assert_eq!(LoadPlan::vendor(crate::load::tests::plan(), None).over_capacity(), None);
    }

    #[test]
    fn the_vendor_profile_holds_1200_calls_at_6_cps() {
        let base = crate::load::tests::plan();
        let v = LoadPlan::vendor(base, None);
        assert_eq!((v.cps, v.agents, v.updates_per_call, v.calls_per_agent), (6.0, 1000, 100, 2));
        assert_eq!(v.hold, Duration::from_secs(200));
        assert!((v.cps * v.hold.as_secs_f64() - 1200.0).abs() < 1e-9);
        assert!(v.duration > v.hold, "long enough to reach the plateau");
    }
}
