//! The report of a load run: one [`StepReport`] per step (one for a custom or vendor run, one per
//! rate for `--profile max`), built from the simulation's traffic counters before and after the
//! step, the run's histograms and counters, and the T-Server's /proc readings; rendered as JSON
//! (the `--json` file) and as a human summary. Pure: the driver gathers the inputs.

use super::plan::{Knee, LoadPlan, StepVerdict};
use super::procstat::{Machine, ProcSample};
use super::stats::{LatencySummary, StepCounters, StepHistograms};
use crate::tlib::RequestKind;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The simulation's traffic counters (`GET /sim/traffic` -> `counters`, and `mean_answer_ms`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrafficCounts {
    pub offered: u64,
    pub connected: u64,
    pub completed: u64,
    pub failed: u64,
    pub abandoned: u64,
    pub in_progress: u64,
    pub peak_in_progress: u64,
}

impl TrafficCounts {
    /// Reads the counters of a `GET /sim/traffic` answer; None when it has none.
    pub fn from_view(view: &Value) -> Option<TrafficCounts> {
        let c = view.get("counters")?;
        let n = |k: &str| c.get(k).and_then(Value::as_u64);
        Some(TrafficCounts {
            offered: n("offered")?,
            connected: n("connected")?,
            completed: n("completed")?,
            failed: n("failed")?,
            abandoned: n("abandoned")?,
            in_progress: n("in_progress")?,
            peak_in_progress: n("peak_in_progress")?,
        })
    }
}

/// The T-Server process over one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerUsage {
    pub pid: u32,
    pub cpu_seconds: f64,
    /// CPU seconds per wall-clock second, in percent of one core.
    pub cpu_percent_of_one_core: f64,
    pub rss_mib: f64,
    /// The process's peak resident set since it started (VmHWM).
    pub peak_rss_mib: f64,
}

impl ServerUsage {
    pub fn between(pid: u32, before: ProcSample, after: ProcSample, wall_s: f64) -> ServerUsage {
        let cpu = (after.cpu_seconds - before.cpu_seconds).max(0.0);
        ServerUsage {
            pid,
            cpu_seconds: cpu,
            cpu_percent_of_one_core: if wall_s > 0.0 { 100.0 * cpu / wall_s } else { 0.0 },
            rss_mib: after.rss_kib as f64 / 1024.0,
            peak_rss_mib: after.peak_rss_kib as f64 / 1024.0,
        }
    }
}

/// Everything measured over one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    pub offered_cps: f64,
    /// Callers generated per second of generation (offered / duration).
    pub generated_cps: f64,
    /// Calls answered by an agent per second of generation.
    pub achieved_cps: f64,
    pub duration_s: f64,
    /// From the first caller to the end of the drain.
    pub wall_s: f64,
    pub offered: u64,
    pub connected: u64,
    pub completed: u64,
    pub failed: u64,
    pub abandoned: u64,
    /// Callers still in a call when the drain ended ("long after the run").
    pub stuck: u64,
    /// Calls the agent desktops still saw when the drain ended.
    pub agent_calls_left: i64,
    /// The simulation's peak of calls in progress (cumulative over the run's steps).
    pub peak_simultaneous_calls: u64,
    pub route_latency: LatencySummary,
    pub request_latency: LatencySummary,
    pub update_latency: LatencySummary,
    /// Request -> event by request name (RouteCall, UpdateUserData, SingleStepTransfer, ...).
    pub latency_by_request: BTreeMap<String, LatencySummary>,
    /// Request -> event as the T-Server measured it (read -> answer written, `GET /latency`),
    /// errors included: the part of `request_latency` between the server's read and its write.
    /// None: not available.
    pub server_request_latency: Option<LatencySummary>,
    pub events_per_second: f64,
    /// Requests second by second: count, how many over 2 ms, the slowest.
    pub timeline: Vec<super::stats::SecondStats>,
    pub counters: StepCounters,
    pub server: Option<ServerUsage>,
    /// Why the step is not healthy (None: it is).
    pub failure: Option<String>,
}

/// Inputs of one step gathered by the driver.
pub struct StepInputs {
    pub offered_cps: f64,
    pub duration_s: f64,
    pub wall_s: f64,
    pub before: TrafficCounts,
    pub after: TrafficCounts,
    pub histograms: StepHistograms,
    pub counters: StepCounters,
    pub agent_calls_left: i64,
    pub server: Option<ServerUsage>,
    /// The T-Server's own request -> event histogram over the step.
    pub server_latency: Option<hdrhistogram::Histogram<u64>>,
    /// The p99 request -> event limit a healthy step stays under (ms); None: no limit.
    pub p99_limit_ms: Option<f64>,
}

impl StepReport {
    pub fn build(i: StepInputs) -> StepReport {
        let d = |f: fn(&TrafficCounts) -> u64| f(&i.after).saturating_sub(f(&i.before));
        let offered = d(|c| c.offered);
        let connected = d(|c| c.connected);
        let per_s = |n: f64, s: f64| if s > 0.0 { n / s } else { 0.0 };
        let request_latency = LatencySummary::of(&i.histograms.request);
        let mut r = StepReport {
            offered_cps: i.offered_cps,
            generated_cps: per_s(offered as f64, i.duration_s),
            achieved_cps: per_s(connected as f64, i.duration_s),
            duration_s: i.duration_s,
            wall_s: i.wall_s,
            offered,
            connected,
            completed: d(|c| c.completed),
            failed: d(|c| c.failed),
            abandoned: d(|c| c.abandoned),
            stuck: i.after.in_progress,
            agent_calls_left: i.agent_calls_left,
            peak_simultaneous_calls: i.after.peak_in_progress,
            route_latency: LatencySummary::of(&i.histograms.route),
            update_latency: i.histograms.of(RequestKind::UpdateUserData).map(LatencySummary::of).unwrap_or_default(),
            latency_by_request: i
                .histograms
                .by_request
                .iter()
                .map(|(k, h)| (k.to_string(), LatencySummary::of(h)))
                .collect(),
            server_request_latency: i.server_latency.as_ref().map(LatencySummary::of),
            events_per_second: per_s(i.counters.events as f64, i.wall_s),
            timeline: i.histograms.timeline,
            request_latency,
            counters: i.counters,
            server: i.server,
            failure: None,
        };
        r.failure = r.judge(i.p99_limit_ms);
        r
    }

    fn judge(&self, p99_limit_ms: Option<f64>) -> Option<String> {
        let mut why = Vec::new();
        for (n, what) in [
            (self.failed, "failed"),
            (self.abandoned, "abandoned"),
            (self.stuck, "stuck"),
            (self.agent_calls_left.max(0) as u64, "left on agents' DNs"),
            (self.counters.request_errors, "requests refused"),
        ] {
            if n > 0 {
                why.push(format!("{n} {what}"));
            }
        }
        if self.offered == 0 {
            why.push("no caller was generated".into());
        }
        if let Some(limit) = p99_limit_ms {
            if self.request_latency.p99_ms > limit {
                why.push(format!("p99 {:.1} ms above {limit} ms", self.request_latency.p99_ms));
            }
        }
        (!why.is_empty()).then(|| why.join(", "))
    }

    pub fn verdict(&self) -> StepVerdict {
        StepVerdict { cps: self.offered_cps, failure: self.failure.clone() }
    }
}

/// The whole run (the `--json` file).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadReport {
    pub version: u32,
    pub machine: Machine,
    pub plan: LoadPlan,
    /// The router that routed the calls: "internal" (this load generator) or "external".
    pub router: String,
    pub steps: Vec<StepReport>,
    /// `--profile max`: the highest rate that passed and why the search stopped.
    pub knee: Option<Knee>,
    /// Every step healthy (for `--profile max`: at least one step passed).
    pub healthy: bool,
}

impl LoadReport {
    pub fn new(machine: Machine, plan: LoadPlan, router: &str, steps: Vec<StepReport>, knee: Option<Knee>) -> Self {
        let healthy = match &knee {
            Some(k) => k.cps.is_some(),
            None => !steps.is_empty() && steps.iter().all(|s| s.failure.is_none()),
        };
        LoadReport { version: 1, machine, plan, router: router.into(), steps, knee, healthy }
    }

    /// The human summary printed on stdout.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let p = &self.plan;
        let _ = writeln!(
            out,
            "load run ({:?}): {} agents, {} CPS for {:?}, hold {:?}, {} updates per call, router {}",
            p.profile, p.agents, p.cps, p.duration, p.hold, p.updates_per_call, self.router
        );
        let _ = writeln!(
            out,
            "machine: {} cores, {}, {} MiB",
            self.machine.nproc, self.machine.cpu_model, self.machine.mem_total_mib
        );
        if let Some(why) = self.plan.over_capacity().filter(|_| self.router == "internal") {
            let _ = writeln!(out, "warning: {why}");
        }
        for s in &self.steps {
            let _ = writeln!(out, "-- {:.1} CPS offered: {}", s.offered_cps, s.failure.as_deref().unwrap_or("healthy"));
            let _ = writeln!(
                out,
                "   calls: {} offered ({:.2}/s), {} answered ({:.2}/s), {} completed, {} failed, {} abandoned, {} stuck; peak {} simultaneous",
                s.offered, s.generated_cps, s.connected, s.achieved_cps, s.completed, s.failed, s.abandoned, s.stuck,
                s.peak_simultaneous_calls
            );
            let by_request = s.latency_by_request.iter().map(|(k, l)| (format!("  {k}"), l));
            let server_side = s.server_request_latency.iter().map(|l| ("  T-Server side".to_string(), l));
            let lines = [("request -> event".to_string(), &s.request_latency)]
                .into_iter()
                .chain(server_side)
                .chain(by_request)
                .chain([("route (queue incl.)".to_string(), &s.route_latency)]);
            for (name, l) in lines {
                let _ = writeln!(
                    out,
                    "   {name:<22} n={:<8} p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
                    l.count, l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms
                );
            }
            if let Some(line) = super::stats::timeline_line(&s.timeline) {
                let _ = writeln!(out, "   {line}");
            }
            let c = &s.counters;
            let _ = writeln!(
                out,
                "   {:.0} events/s; {} updates, {} transfers, {} conferences, {} requests refused {:?}",
                s.events_per_second, c.updates, c.transfers, c.conferences, c.request_errors, c.errors_by_code
            );
            match &s.server {
                Some(u) => {
                    let _ = writeln!(
                        out,
                        "   T-Server (pid {}): {:.2} CPU s = {:.2}% of one core, RSS {:.1} MiB, peak {:.1} MiB",
                        u.pid, u.cpu_seconds, u.cpu_percent_of_one_core, u.rss_mib, u.peak_rss_mib
                    );
                }
                None => out.push_str("   T-Server CPU / RSS: not measured (no pid, or no /proc)\n"),
            }
        }
        if let Some(k) = &self.knee {
            let cps = k.cps.map_or("none".to_string(), |c| format!("{c:.1} CPS"));
            let _ = writeln!(out, "knee: {cps} ({})", k.reason);
        }
        let _ = writeln!(out, "{}", if self.healthy { "HEALTHY" } else { "NOT HEALTHY" });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stats::Stats;
    use serde_json::json;
    use std::time::Duration;

    fn counts(offered: u64, connected: u64, completed: u64, in_progress: u64) -> TrafficCounts {
        TrafficCounts { offered, connected, completed, in_progress, peak_in_progress: 9, ..Default::default() }
    }

    fn step(after: TrafficCounts, limit: Option<f64>) -> StepReport {
        let stats = Stats::default();
        for ms in [1, 2, 3, 80] {
            stats.answered(RequestKind::UpdateUserData, Duration::from_millis(ms));
        }
        stats.routed_after(Duration::from_millis(4));
        let (histograms, counters) = stats.take_step();
        StepReport::build(StepInputs {
            offered_cps: 2.0,
            duration_s: 5.0,
            wall_s: 8.0,
            before: counts(4, 4, 4, 0),
            after,
            histograms,
            counters,
            agent_calls_left: 0,
            server: None,
            server_latency: Some(crate::latency::LatencyRecord { micros: vec![(300, 3), (1_500, 1)] }.histogram()),
            p99_limit_ms: limit,
        })
    }

    #[test]
    fn a_step_is_the_difference_of_the_counters_and_healthy_when_nothing_failed() {
        let s = step(counts(14, 14, 14, 0), None);
        assert_eq!((s.offered, s.connected, s.completed, s.stuck), (10, 10, 10, 0));
        assert_eq!((s.generated_cps, s.achieved_cps, s.peak_simultaneous_calls), (2.0, 2.0, 9));
        assert_eq!(s.update_latency.count, 4);
        assert_eq!(s.latency_by_request.keys().collect::<Vec<_>>(), vec!["UpdateUserData"]);
        assert_eq!(s.route_latency.count, 1);
        assert_eq!(s.failure, None);
        assert_eq!(s.verdict().failure, None);
    }

    #[test]
    fn stuck_calls_and_a_p99_above_the_limit_make_a_step_unhealthy() {
        let s = step(counts(14, 13, 12, 2), Some(50.0));
        let why = s.failure.clone().unwrap();
        assert!(why.contains("2 stuck") && why.contains("p99 80.") && why.contains("above 50 ms"), "{why}");
        let report = LoadReport::new(Default::default(), crate::load::tests::plan(), "internal", vec![s], None);
        assert!(!report.healthy);
        assert!(report.summary().contains("NOT HEALTHY"), "{}", report.summary());
    }

    #[test]
    fn the_summary_warns_of_a_rate_over_the_agents_capacity_when_it_routes() {
        let mut plan = crate::load::tests::plan();
        plan.cps = 20.0; // 10 agents x 1 call for 1.35 s each: 7 CPS
        let warned = |router: &str| {
            let report = LoadReport::new(Default::default(), plan.clone(), router, vec![], None);
            report.summary().contains("warning: 20 CPS is more than the agents can take (7 CPS")
        };
        assert!(warned("internal"));
        assert!(!warned("external"), "another router has its own agents");
    }

    #[test]
    fn the_json_report_has_the_documented_keys() {
        let report = LoadReport::new(
            Default::default(),
            crate::load::tests::plan(),
            "internal",
            vec![step(counts(14, 14, 14, 0), None)],
            None,
        );
        assert!(report.healthy);
        let v = serde_json::to_value(&report).unwrap();
        for key in ["version", "machine", "plan", "router", "steps", "knee", "healthy"] {
            assert!(v.get(key).is_some(), "{key}: {v}");
        }
        let s = &v["steps"][0];
        for key in [
            "offered_cps",
            "achieved_cps",
            "peak_simultaneous_calls",
            "failed",
            "abandoned",
            "stuck",
            "route_latency",
            "request_latency",
            "update_latency",
            "events_per_second",
            "timeline",
            "server_request_latency",
            "server",
        ] {
            assert!(s.get(key).is_some(), "{key}: {s}");
        }
        assert_eq!(v["plan"]["hold"], json!("1s"));
        assert!(s["request_latency"]["p999_ms"].as_f64().unwrap() >= s["request_latency"]["p99_ms"].as_f64().unwrap());
        assert!(report.summary().contains("UpdateUserData"));
        assert!(report.summary().contains("  T-Server side        n=4 "), "{}", report.summary());
        assert_eq!(s["server_request_latency"]["count"], json!(4));
    }

    #[test]
    fn counters_are_read_from_the_traffic_view() {
        let view = json!({"counters": {"offered": 5, "connected": 4, "completed": 3, "failed": 1, "abandoned": 0,
                                       "in_progress": 1, "peak_in_progress": 2, "waiting": 0}});
        let c = TrafficCounts::from_view(&view).unwrap();
        assert_eq!((c.offered, c.failed, c.in_progress, c.peak_in_progress), (5, 1, 1, 2));
        assert_eq!(TrafficCounts::from_view(&json!({"error": "x"})), None);
    }
}
