//! What a load run measures while it runs, shared by the agent desktops and the internal router:
//! latency histograms (HDR, microseconds), event and request counters, and the number of calls the
//! desktops hold. Recording is a lock of a few nanoseconds or an atomic add, so thousands of
//! desktops can share one `Stats`. `take_step` hands the histograms over and starts fresh ones, so
//! each step of a stepped run is measured on its own. No I/O here.

use crate::tlib::RequestKind;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest latency a histogram records (longer ones are clamped): one minute, in microseconds.
const MAX_MICROS: u64 = 60_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

/// A latency distribution: count, mean, p50 / p90 / p99 / p99.9 and max, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// (percentile, milliseconds) points for the plot, from p0 to p99.99 and the max.
    #[serde(skip)]
    pub curve: Vec<(f64, f64)>,
}

/// The percentiles the plot draws (the x axis is logarithmic in 1 / (1 - p)).
pub const CURVE_PERCENTILES: &[f64] =
    &[0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999];

impl LatencySummary {
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        let at = |p: f64| ms(h.value_at_percentile(p));
        LatencySummary {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: at(50.0),
            p90_ms: at(90.0),
            p99_ms: at(99.0),
            p999_ms: at(99.9),
            max_ms: ms(h.max()),
            curve: CURVE_PERCENTILES.iter().map(|p| (*p, at(*p))).collect(),
        }
    }
}

/// The request -> event threshold the per-second timeline counts against: the p99 target.
pub const SLOW_MICROS: u64 = 2_000;

/// One second of a step's requests, by when the desktop took the answer in: a p99 over a whole
/// run hides whether the slow requests are spread out or come in bursts (a stall, a burst of work).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SecondStats {
    /// Seconds since the step's measurements began (the previous `take_step`).
    pub second: u32,
    pub count: u64,
    /// Requests that took longer than [`SLOW_MICROS`].
    pub over_2ms: u64,
    pub max_ms: f64,
}

/// The histograms of one step, as handed over by [`Stats::take_step`].
pub struct StepHistograms {
    /// Every request a desktop or the router sent -> the event answering it (its ReferenceID).
    pub request: Histogram<u64>,
    /// The same by request (`UpdateUserData`: TUpdateUserData -> EventAttachedDataChanged; a
    /// TSingleStepTransfer is answered once the new party answers, so it includes the answer delay).
    pub by_request: BTreeMap<&'static str, Histogram<u64>>,
    /// EventRouteRequest received -> EventRouteUsed received (includes waiting for a free agent).
    pub route: Histogram<u64>,
    /// The step's requests second by second.
    pub timeline: Vec<SecondStats>,
}

impl StepHistograms {
    pub fn of(&self, request: RequestKind) -> Option<&Histogram<u64>> {
        self.by_request.get(request.name())
    }
}

/// Counters of a step (reset by [`Stats::take_step`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepCounters {
    pub events: u64,
    pub requests: u64,
    pub request_errors: u64,
    /// EventError codes answering our requests, by code.
    pub errors_by_code: BTreeMap<i32, u64>,
    pub updates: u64,
    pub transfers: u64,
    pub conferences: u64,
    /// Transfers and conferences not tried because no other agent was free.
    pub handoffs_skipped: u64,
    /// Calls routed by the internal router.
    pub routed: u64,
    /// The most calls the agent desktops held at once.
    pub peak_agent_calls: i64,
    /// Agents put back to Ready after ACW (or an unexpected NotReady) by their desktop.
    pub ready_again: u64,
}

#[derive(Default)]
struct Counters {
    events: AtomicU64,
    requests: AtomicU64,
    request_errors: AtomicU64,
    updates: AtomicU64,
    transfers: AtomicU64,
    conferences: AtomicU64,
    handoffs_skipped: AtomicU64,
    routed: AtomicU64,
    ready_again: AtomicU64,
}

/// Shared measurements of a run.
pub struct Stats {
    request: Mutex<Histogram<u64>>,
    by_request: Mutex<BTreeMap<&'static str, Histogram<u64>>>,
    route: Mutex<Histogram<u64>>,
    timeline: Mutex<(Instant, Vec<SecondStats>)>,
    errors_by_code: Mutex<BTreeMap<i32, u64>>,
    c: Counters,
    agent_calls: AtomicI64,
    peak_agent_calls: AtomicI64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            request: Mutex::new(new_histogram()),
            by_request: Mutex::default(),
            route: Mutex::new(new_histogram()),
            timeline: Mutex::new((Instant::now(), Vec::new())),
            errors_by_code: Mutex::default(),
            c: Counters::default(),
            agent_calls: AtomicI64::new(0),
            peak_agent_calls: AtomicI64::new(0),
        }
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, MAX_MICROS)
}

/// Which counter an occurrence adds to.
#[derive(Clone, Copy, Debug)]
pub enum Count {
    Event,
    Request,
    Transfer,
    Conference,
    HandoffSkipped,
    Routed,
    ReadyAgain,
}

impl Stats {
    pub fn count(&self, what: Count) {
        let c = &self.c;
        let counter = match what {
            Count::Event => &c.events,
            Count::Request => &c.requests,
            Count::Transfer => &c.transfers,
            Count::Conference => &c.conferences,
            Count::HandoffSkipped => &c.handoffs_skipped,
            Count::Routed => &c.routed,
            Count::ReadyAgain => &c.ready_again,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A request answered by its event after `d`.
    pub fn answered(&self, kind: RequestKind, d: Duration) {
        let us = micros(d);
        let _ = self.request.lock().record(us);
        if kind == RequestKind::UpdateUserData {
            self.c.updates.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.by_request.lock().entry(kind.name()).or_insert_with(new_histogram).record(us);
        let mut timeline = self.timeline.lock();
        let second = timeline.0.elapsed().as_secs() as u32;
        let seconds = &mut timeline.1;
        while seconds.len() <= second as usize {
            seconds.push(SecondStats { second: seconds.len() as u32, ..Default::default() });
        }
        let s = &mut seconds[second as usize];
        s.count += 1;
        s.over_2ms += u64::from(us > SLOW_MICROS);
        s.max_ms = s.max_ms.max(us as f64 / 1000.0);
    }

    /// A request answered by EventError with `code`.
    pub fn refused(&self, code: i32) {
        self.c.request_errors.fetch_add(1, Ordering::Relaxed);
        *self.errors_by_code.lock().entry(code).or_default() += 1;
    }

    /// EventRouteRequest -> EventRouteUsed took `d`.
    pub fn routed_after(&self, d: Duration) {
        let _ = self.route.lock().record(micros(d));
    }

    /// A desktop's call began (+1) or ended (-1).
    pub fn agent_call(&self, delta: i64) {
        let now = self.agent_calls.fetch_add(delta, Ordering::Relaxed) + delta;
        self.peak_agent_calls.fetch_max(now, Ordering::Relaxed);
    }

    /// Calls the desktops hold now.
    pub fn agent_calls(&self) -> i64 {
        self.agent_calls.load(Ordering::Relaxed)
    }

    /// Hands over this step's histograms and counters and starts the next step from zero.
    pub fn take_step(&self) -> (StepHistograms, StepCounters) {
        let take = |m: &Mutex<Histogram<u64>>| std::mem::replace(&mut *m.lock(), new_histogram());
        let hist = StepHistograms {
            request: take(&self.request),
            by_request: std::mem::take(&mut *self.by_request.lock()),
            route: take(&self.route),
            timeline: std::mem::replace(&mut *self.timeline.lock(), (Instant::now(), Vec::new())).1,
        };
        let z = |a: &AtomicU64| a.swap(0, Ordering::Relaxed);
        let c = &self.c;
        let counters = StepCounters {
            events: z(&c.events),
            requests: z(&c.requests),
            request_errors: z(&c.request_errors),
            errors_by_code: std::mem::take(&mut *self.errors_by_code.lock()),
            updates: z(&c.updates),
            transfers: z(&c.transfers),
            conferences: z(&c.conferences),
            handoffs_skipped: z(&c.handoffs_skipped),
            routed: z(&c.routed),
            peak_agent_calls: self.peak_agent_calls.swap(self.agent_calls(), Ordering::Relaxed),
            ready_again: z(&c.ready_again),
        };
        (hist, counters)
    }
}

/// Seconds with fewer requests than this are left out of [`timeline_line`]: one slow request in
/// a second of the drain would be "100% above 2 ms".
pub const TIMELINE_MIN_COUNT: u64 = 100;

/// Whether the slow requests of a step were spread out or bunched: how many seconds had more
/// than 1% of their requests over 2 ms (the p99 target), and the worst second. None when no
/// second had [`TIMELINE_MIN_COUNT`] requests (a low-rate run).
pub fn timeline_line(timeline: &[SecondStats]) -> Option<String> {
    let share = |s: &SecondStats| s.over_2ms as f64 / s.count.max(1) as f64;
    let busy: Vec<&SecondStats> = timeline.iter().filter(|s| s.count >= TIMELINE_MIN_COUNT).collect();
    let worst = busy.iter().max_by(|a, b| share(a).total_cmp(&share(b)))?;
    let bad = busy.iter().filter(|s| share(s) > 0.01).count();
    Some(format!(
        "by second: {bad} of {} seconds (with {TIMELINE_MIN_COUNT}+ requests) with over 1% of requests above 2 ms; worst second {} ({:.1}% above 2 ms, max {:.3} ms)",
        busy.len(),
        worst.second,
        share(worst) * 100.0,
        worst.max_ms
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_values_in_milliseconds() {
        let stats = Stats::default();
        for ms in 1..=1000u64 {
            let kind = if ms % 2 == 0 { RequestKind::UpdateUserData } else { RequestKind::RouteCall };
            stats.answered(kind, Duration::from_millis(ms));
        }
        stats.refused(56);
        stats.agent_call(1);
        stats.agent_call(1);
        stats.agent_call(-1);
        let (h, c) = stats.take_step();
        let all = LatencySummary::of(&h.request);
        assert_eq!(all.count, 1000);
        assert!((all.p50_ms - 500.0).abs() < 1.0, "{all:?}");
        assert!((all.p99_ms - 990.0).abs() < 1.0, "{all:?}");
        assert!((all.max_ms - 1000.0).abs() < 1.0, "{all:?}");
        assert_eq!(all.curve.len(), CURVE_PERCENTILES.len());
        assert_eq!(LatencySummary::of(h.of(RequestKind::UpdateUserData).unwrap()).count, 500);
        assert_eq!(h.by_request.len(), 2);
        assert_eq!((c.updates, c.request_errors, c.errors_by_code.get(&56)), (500, 1, Some(&1)));
        assert_eq!(c.peak_agent_calls, 2);
        // All recorded within the first second: 1,000 requests, the 998 above 2 ms counted.
        assert_eq!(h.timeline, vec![SecondStats { second: 0, count: 1000, over_2ms: 998, max_ms: 1000.0 }]);
        // The next step starts from zero, but the calls still held count towards its peak.
        let (h, c) = stats.take_step();
        assert_eq!((LatencySummary::of(&h.request).count, c.updates, c.peak_agent_calls), (0, 0, 1));
        assert!(h.timeline.is_empty());
    }

    #[test]
    fn an_empty_histogram_summarises_as_zeros() {
        assert_eq!(LatencySummary::of(&new_histogram()), LatencySummary::default());
    }

    #[test]
    fn the_timeline_line_counts_seconds_over_one_percent_and_names_the_worst() {
        let sec = |second, count, over_2ms, max_ms| SecondStats { second, count, over_2ms, max_ms };
        assert_eq!(timeline_line(&[]), None);
        assert_eq!(timeline_line(&[sec(0, 99, 99, 9.0)]), None, "too few requests to say");
        let seconds = [sec(0, 1000, 5, 1.5), sec(1, 1000, 30, 9.0), sec(2, 100, 2, 3.0), sec(3, 1, 1, 50.0)];
        assert_eq!(
            timeline_line(&seconds).unwrap(),
            "by second: 2 of 3 seconds (with 100+ requests) with over 1% of requests above 2 ms; worst second 1 (3.0% above 2 ms, max 9.000 ms)"
        );
    }
}
