//! Request -> event latency as the T-Server itself sees it: from the read that brought a request
//! in to the write that carried the first event with its ReferenceID back to the same connection.
//! A desktop sees more (its own scheduling and the network on both sides); this is the part the
//! server answers for, and what an operator watches (`/metrics`, `GET /latency`). A load run on
//! one machine reports both, to say where the time goes.
//!
//! Two pieces, no I/O: [`RequestClock`], one per connection, remembers when each pending request
//! was read; [`RequestLatency`], one per server, is the histogram every answer is recorded in.
//!
//! Not counted: the time the request's bytes waited for the reader task (a busy worker delays
//! it: server queueing that happens before the read), and answers the server never wrote.
//! Approximate where several clients watch one DN: ReferenceIDs are each connection's own
//! numbering and an event answering one client goes to every client registered on its DN, so
//! another client's answer with the same number can be taken for this one's (its own answer then
//! goes unmeasured). One client per DN, as agent desktops and the load generator run, is exact.

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Longest latency recorded (longer ones are clamped): one minute, in microseconds.
const MAX_MICROS: u64 = 60_000_000;

/// A connection's pending requests at most: a client that sends requests whose answers never
/// carry their ReferenceID (or none at all) must not grow the map; past this it starts afresh
/// (a few answers go unmeasured, nothing else is affected).
const MAX_PENDING: usize = 256;

/// A pending request older than this is not timed when an event with its number turns up: its
/// answer was lost (an actor crash) or never carried the number, and the event is another's.
const STALE: Duration = Duration::from_secs(10);

/// The `le` bounds of the Prometheus histogram, in seconds.
const BUCKETS_S: &[f64] = &[0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

/// When each of one connection's pending requests was read, by ReferenceID.
#[derive(Default)]
pub struct RequestClock {
    pending: Mutex<HashMap<u32, Instant>>,
}

impl RequestClock {
    /// A request with ReferenceID `reference_id` (0: none, not measured) was read at `at`.
    pub fn requested(&self, reference_id: u32, at: Instant) {
        if reference_id == 0 {
            return;
        }
        let mut pending = self.pending.lock();
        if pending.len() >= MAX_PENDING {
            pending.retain(|_, read| at.saturating_duration_since(*read) < STALE);
            if pending.len() >= MAX_PENDING {
                *pending = HashMap::new(); // its capacity goes too
            }
        }
        pending.insert(reference_id, at);
    }

    /// An event with `reference_id` was written at `written`: when its request was read, the
    /// first time (None: no such request pending, or it is stale).
    pub fn answered(&self, reference_id: u32, written: Instant) -> Option<Instant> {
        let read = self.pending.lock().remove(&reference_id)?;
        (written.saturating_duration_since(read) < STALE).then_some(read)
    }
}

/// The recorded values of a histogram, microseconds and counts: what `GET /latency` returns,
/// and what a load run subtracts to get one step's distribution.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyRecord {
    /// (microseconds, count) for every non-empty bucket, in ascending order.
    pub micros: Vec<(u64, u64)>,
}

impl LatencyRecord {
    /// The histogram these values describe.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for (us, n) in &self.micros {
            let _ = h.record_n((*us).clamp(1, MAX_MICROS), *n);
        }
        h
    }

    /// What was recorded after `before` (a later record of the same server minus an earlier one).
    pub fn since(&self, before: &LatencyRecord) -> Histogram<u64> {
        let mut h = self.histogram();
        // An earlier record of the same histogram holds no more in any bucket. One that does is
        // a different server's (restarted): then the whole of the later one is the answer. (A
        // restarted server that has already recorded more than the earlier one everywhere cannot
        // be told apart; a load step does not span a restart.)
        if h.subtract(before.histogram()).is_err() {
            return self.histogram();
        }
        h
    }
}

/// The server's request -> event histogram.
pub struct RequestLatency {
    h: Mutex<Histogram<u64>>,
}

impl Default for RequestLatency {
    fn default() -> Self {
        RequestLatency { h: Mutex::new(new_histogram()) }
    }
}

impl RequestLatency {
    pub fn record(&self, d: Duration) {
        let _ = self.h.lock().record((d.as_micros() as u64).clamp(1, MAX_MICROS));
    }

    pub fn record_of(&self) -> LatencyRecord {
        let h = self.h.lock();
        LatencyRecord { micros: h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect() }
    }

    /// Prometheus histogram `tserver_request_latency_seconds` (cumulative buckets, sum, count).
    pub fn render(&self, out: &mut String) {
        let h = self.h.lock();
        let name = "tserver_request_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} T-Library request read -> first event with its ReferenceID written.\n# TYPE {name} histogram"
        );
        for le in BUCKETS_S {
            let micros = (le * 1e6).round() as u64;
            let n = h.count_between(0, micros);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.len());
        let _ = writeln!(out, "{name}_sum {}", h.mean() * h.len() as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {}", h.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_timed_from_its_own_request_once() {
        let clock = RequestClock::default();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(1);
        clock.requested(7, t0);
        clock.requested(0, t0); // no ReferenceID: not measured
        assert_eq!(clock.answered(8, t1), None);
        assert_eq!(clock.answered(7, t1), Some(t0));
        assert_eq!(clock.answered(7, t1), None, "a second event with the same ReferenceID is not an answer");
        assert_eq!(clock.answered(0, t1), None);
        // An event turning up long after its number was sent is not that request's answer.
        clock.requested(9, t0);
        assert_eq!(clock.answered(9, t0 + STALE), None);
        assert!(clock.pending.lock().is_empty());
    }

    #[test]
    fn a_connection_never_holds_more_than_its_limit() {
        let clock = RequestClock::default();
        let t0 = Instant::now();
        // Unanswered and stale: dropped when the limit is reached.
        for r in 1..=(MAX_PENDING as u32 - 1) {
            clock.requested(r, t0);
        }
        let t1 = t0 + STALE;
        for r in 1000..1010 {
            clock.requested(r, t1);
        }
        assert_eq!(clock.pending.lock().len(), 10);
        assert_eq!(clock.answered(1005, t1), Some(t1));
        // All fresh: the map starts afresh rather than grow.
        for r in 1..=(MAX_PENDING as u32 + 10) {
            clock.requested(r, t1);
        }
        assert!(clock.pending.lock().len() <= MAX_PENDING);
        assert_eq!(clock.answered(MAX_PENDING as u32 + 10, t1), Some(t1));
    }

    #[test]
    fn a_record_round_trips_and_a_later_one_minus_an_earlier_one_is_the_step() {
        let lat = RequestLatency::default();
        for ms in [1u64, 1, 3] {
            lat.record(Duration::from_millis(ms));
        }
        let before = lat.record_of();
        assert_eq!(before.histogram().len(), 3);
        for us in [100u64, 200, 300, 400] {
            lat.record(Duration::from_micros(us));
        }
        let after: LatencyRecord = serde_json::from_str(&serde_json::to_string(&lat.record_of()).unwrap()).unwrap();
        let step = after.since(&before);
        assert_eq!(step.len(), 4);
        assert_eq!(step.max(), 400);
        // Not the same server (it restarted): the later record is taken whole.
        let other = LatencyRecord { micros: vec![(5_000, 9)] };
        assert_eq!(after.since(&other).len(), 7);
    }

    #[test]
    fn renders_a_prometheus_histogram() {
        let lat = RequestLatency::default();
        lat.record(Duration::from_micros(300));
        lat.record(Duration::from_millis(3));
        let mut text = String::new();
        lat.render(&mut text);
        assert!(text.contains("# TYPE tserver_request_latency_seconds histogram"), "{text}");
        assert!(text.contains("tserver_request_latency_seconds_bucket{le=\"0.00025\"} 0"), "{text}");
        assert!(text.contains("tserver_request_latency_seconds_bucket{le=\"0.0005\"} 1"), "{text}");
        assert!(text.contains("tserver_request_latency_seconds_bucket{le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("tserver_request_latency_seconds_bucket{le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("tserver_request_latency_seconds_count 2"), "{text}");
    }
}
