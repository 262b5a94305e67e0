//! Server counters and their Prometheus text rendering. Counters are plain atomics (or a short
//! mutex for the labelled maps) so the hot path never waits on anything but a cache line; the
//! admin endpoint renders them on demand together with the actor table it reads from the board.

use crate::tlib::RequestKind;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub clients_connected: AtomicU64,
    pub clients_accepted: AtomicU64,
    pub clients_disconnected_slow: AtomicU64,
    pub clients_disconnected_protocol: AtomicU64,
    pub events_sent: AtomicU64,
    /// Call requests the connection's reader sent to CallSup itself (`actors::client_lane`).
    pub requests_fast_lane: AtomicU64,
    /// Connector call events and HA records an MLTP link's reader handled itself (`actors::link_lane`).
    pub switch_fast_lane: AtomicU64,
    requests: RequestCounts,
    errors: Mutex<BTreeMap<i32, u64>>,
    /// Request read -> its first event written, per request answered (see `crate::latency`).
    pub request_latency: crate::latency::RequestLatency,
}

/// Requests received, one counter per request kind at the kind's place in `RequestKind::ALL`
/// (its discriminant): counted on every request, by the readers' fast lanes too, so an atomic
/// rather than a map behind a lock.
struct RequestCounts([AtomicU64; RequestKind::ALL.len()]);

impl Default for RequestCounts {
    fn default() -> Self {
        RequestCounts(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// What the actor layer knows about its actors when metrics are rendered.
#[derive(Default)]
pub struct ActorStats {
    pub by_kind: BTreeMap<String, u64>,
    pub restarts_by_kind: BTreeMap<String, u64>,
    pub parked: u64,
}

/// What the tokio runtime reports of itself when metrics are rendered: where request latency
/// grows at constant load, busy time against CPU time and the parks per second say whether the
/// workers wait (a lock, a page fault) or queue.
#[derive(Default)]
pub struct RuntimeStats {
    pub alive_tasks: u64,
    pub global_queue_depth: u64,
    /// Per worker: seconds spent polling tasks, and times parked.
    pub busy_seconds: Vec<f64>,
    pub parks: Vec<u64>,
}

impl RuntimeStats {
    /// The figures of the runtime `handle` belongs to.
    pub fn of(handle: &tokio::runtime::Handle) -> Self {
        let m = handle.metrics();
        let workers = 0..m.num_workers();
        RuntimeStats {
            alive_tasks: m.num_alive_tasks() as u64,
            global_queue_depth: m.global_queue_depth() as u64,
            busy_seconds: workers.clone().map(|w| m.worker_total_busy_duration(w).as_secs_f64()).collect(),
            parks: workers.map(|w| m.worker_park_count(w)).collect(),
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn request(&self, kind: RequestKind) {
        self.requests.0[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn error(&self, code: i32) {
        *self.errors.lock().entry(code).or_default() += 1;
    }

    pub fn events(&self, n: u64) {
        self.events_sent.fetch_add(n, Ordering::Relaxed);
    }

    pub fn requests_of(&self, kind: RequestKind) -> u64 {
        self.requests.0[kind as usize].load(Ordering::Relaxed)
    }

    pub fn errors_of(&self, code: i32) -> u64 {
        self.errors.lock().get(&code).copied().unwrap_or(0)
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, actors: &ActorStats, runtime: &RuntimeStats) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        gauge(&mut out, "tserver_actors", "Running actors by kind.", "gauge");
        for (kind, n) in &actors.by_kind {
            let _ = writeln!(out, "tserver_actors{{kind=\"{kind}\"}} {n}");
        }
        gauge(&mut out, "tserver_actor_restarts_total", "Actor restarts by kind.", "counter");
        for (kind, n) in &actors.restarts_by_kind {
            let _ = writeln!(out, "tserver_actor_restarts_total{{kind=\"{kind}\"}} {n}");
        }
        gauge(&mut out, "tserver_actors_parked", "Children parked after failing too often.", "gauge");
        let _ = writeln!(out, "tserver_actors_parked {}", actors.parked);
        gauge(&mut out, "tserver_clients", "Connected T-Library clients.", "gauge");
        let _ = writeln!(out, "tserver_clients {}", self.clients_connected.load(Ordering::Relaxed));
        gauge(&mut out, "tserver_clients_accepted_total", "T-Library connections accepted.", "counter");
        let _ = writeln!(out, "tserver_clients_accepted_total {}", self.clients_accepted.load(Ordering::Relaxed));
        gauge(
            &mut out,
            "tserver_clients_disconnected_total",
            "Clients disconnected by the server, by reason.",
            "counter",
        );
        let _ = writeln!(
            out,
            "tserver_clients_disconnected_total{{reason=\"slow\"}} {}",
            self.clients_disconnected_slow.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "tserver_clients_disconnected_total{{reason=\"protocol\"}} {}",
            self.clients_disconnected_protocol.load(Ordering::Relaxed)
        );
        gauge(&mut out, "tserver_requests_total", "T-Library requests received, by request.", "counter");
        for kind in RequestKind::ALL {
            let n = self.requests_of(*kind);
            if n > 0 {
                let _ = writeln!(out, "tserver_requests_total{{request=\"{}\"}} {n}", kind.name());
            }
        }
        gauge(
            &mut out,
            "tserver_requests_fast_lane_total",
            "Call requests the connection's reader passed to the call model itself.",
            "counter",
        );
        let _ = writeln!(out, "tserver_requests_fast_lane_total {}", self.requests_fast_lane.load(Ordering::Relaxed));
        gauge(
            &mut out,
            "tserver_switch_fast_lane_total",
            "Connector call events and HA records an MLTP link's reader handled itself.",
            "counter",
        );
        let _ = writeln!(out, "tserver_switch_fast_lane_total {}", self.switch_fast_lane.load(Ordering::Relaxed));
        gauge(&mut out, "tserver_events_sent_total", "T-Library events queued to clients.", "counter");
        let _ = writeln!(out, "tserver_events_sent_total {}", self.events_sent.load(Ordering::Relaxed));
        gauge(&mut out, "tserver_errors_total", "EventError sent, by error code.", "counter");
        for (code, n) in self.errors.lock().iter() {
            let _ = writeln!(out, "tserver_errors_total{{code=\"{code}\"}} {n}");
        }
        self.request_latency.render(&mut out);
        gauge(&mut out, "tokio_alive_tasks", "Tasks alive in the runtime.", "gauge");
        let _ = writeln!(out, "tokio_alive_tasks {}", runtime.alive_tasks);
        gauge(&mut out, "tokio_global_queue_depth", "Tasks waiting in the runtime's shared queue.", "gauge");
        let _ = writeln!(out, "tokio_global_queue_depth {}", runtime.global_queue_depth);
        gauge(&mut out, "tokio_worker_busy_seconds_total", "Time each worker spent polling tasks.", "counter");
        for (w, s) in runtime.busy_seconds.iter().enumerate() {
            let _ = writeln!(out, "tokio_worker_busy_seconds_total{{worker=\"{w}\"}} {s:.6}");
        }
        gauge(&mut out, "tokio_worker_parks_total", "Times each worker parked for want of work.", "counter");
        for (w, n) in runtime.parks.iter().enumerate() {
            let _ = writeln!(out, "tokio_worker_parks_total{{worker=\"{w}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_kind_counts_at_its_place_in_the_catalogue() {
        for (i, kind) in RequestKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{kind:?}");
        }
        let m = Metrics::new();
        m.request(RequestKind::UpdateUserData);
        assert_eq!((m.requests_of(RequestKind::UpdateUserData), m.requests_of(RequestKind::MakeCall)), (1, 0));
    }

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.request(RequestKind::MakeCall);
        m.request(RequestKind::MakeCall);
        m.error(51);
        m.events(3);
        let mut actors = ActorStats::default();
        actors.by_kind.insert("Dn".into(), 22);
        let runtime =
            RuntimeStats { alive_tasks: 7, busy_seconds: vec![1.5, 2.0], parks: vec![3, 4], ..Default::default() };
        let text = m.render(&actors, &runtime);
        assert!(text.contains("tokio_alive_tasks 7"), "{text}");
        assert!(text.contains("tokio_worker_busy_seconds_total{worker=\"1\"} 2.000000"), "{text}");
        assert!(text.contains("tokio_worker_parks_total{worker=\"0\"} 3"), "{text}");
        assert!(text.contains("tserver_requests_total{request=\"MakeCall\"} 2"), "{text}");
        assert!(text.contains("tserver_errors_total{code=\"51\"} 1"));
        assert!(text.contains("tserver_events_sent_total 3"));
        assert!(text.contains("tserver_actors{kind=\"Dn\"} 22"));
        assert!(text.contains("# TYPE tserver_clients gauge"));
        assert!(text.contains("tserver_request_latency_seconds_count 0"), "{text}");
    }
}
