//! The results table of BENCHMARKS.md, rendered from the JSON reports of a vendor-profile run and
//! a max-profile run (`sfb-tserver load --results-table VENDOR.json MAX.json`, called by
//! `scripts/bench-report.sh`): the vendor's figures and the targets beside what was
//! measured, then one row per step of the max run. Pure: JSON in, Markdown out.

use serde_json::Value;
use std::fmt::Write;

fn f(v: &Value, path: &str) -> f64 {
    v.pointer(path).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn lat(step: &Value, which: &str) -> String {
    format!(
        "{:.2} / {:.2} / {:.2} ms",
        f(step, &format!("/{which}/p50_ms")),
        f(step, &format!("/{which}/p99_ms")),
        f(step, &format!("/{which}/p999_ms"))
    )
}

/// The T-Server's own side of request -> event (reports made before it was measured have none).
fn server_lat(step: &Value) -> String {
    match step.get("server_request_latency").filter(|s| !s.is_null()) {
        Some(_) => lat(step, "server_request_latency"),
        None => "not measured".into(),
    }
}

fn cpu(step: &Value) -> String {
    match step.get("server").filter(|s| !s.is_null()) {
        Some(s) => format!("{:.2}% of one core ({:.1} CPU s)", f(s, "/cpu_percent_of_one_core"), f(s, "/cpu_seconds")),
        None => "not measured".into(),
    }
}

fn rss(step: &Value) -> String {
    match step.get("server").filter(|s| !s.is_null()) {
        Some(s) => format!("{:.0} MiB", f(s, "/peak_rss_mib")),
        None => "not measured".into(),
    }
}

fn bad(step: &Value) -> String {
    format!("{} / {} / {}", f(step, "/failed"), f(step, "/abandoned"), f(step, "/stuck"))
}

/// The step of a max run at its knee (the highest rate that passed), else its last step.
fn knee_step(max: &Value) -> (&Value, String) {
    let steps = max.get("steps").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let knee = max.pointer("/knee/cps").and_then(Value::as_f64);
    let reason = max.pointer("/knee/reason").and_then(Value::as_str).unwrap_or("").to_string();
    let at = knee.and_then(|k| steps.iter().find(|s| (f(s, "/offered_cps") - k).abs() < 1e-9));
    (at.or(steps.last()).unwrap_or(&Value::Null), reason)
}

/// The Markdown block (machine line, summary table, max steps table).
pub fn results_table(vendor: &Value, max: &Value) -> String {
    let v = vendor.pointer("/steps/0").unwrap_or(&Value::Null);
    let (k, reason) = knee_step(max);
    let knee = max.pointer("/knee/cps").and_then(Value::as_f64).map_or("none".to_string(), |c| format!("{c:.0} CPS"));
    let m = &vendor["machine"];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {} cores ({}), {} MiB RAM. Vendor run: {:.0} s of callers ({}), max run: {} agents, steps of {}.\n",
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or("unknown"),
        m["mem_total_mib"],
        f(v, "/duration_s"),
        vendor.pointer("/plan/duration").and_then(Value::as_str).unwrap_or("?"),
        max.pointer("/plan/agents").unwrap_or(&Value::Null),
        max.pointer("/plan/max/step_duration").and_then(Value::as_str).unwrap_or("?"),
    );
    out.push_str("| | vendor's sizing (guide) | target (issue #8) | measured: vendor profile | measured: max profile (at the knee) |\n");
    out.push_str("|---|---|---|---|---|\n");
    let rows: Vec<(&str, &str, &str, String, String)> = vec![
        (
            "calls per second",
            "6",
            "≥ 1,000 for 10 min",
            format!("{:.2} offered, {:.2} answered", f(v, "/generated_cps"), f(v, "/achieved_cps")),
            format!("knee {knee}: {:.1} answered/s", f(k, "/achieved_cps")),
        ),
        (
            "simultaneous calls (peak)",
            "1,200",
            "20,000",
            format!("{}", f(v, "/peak_simultaneous_calls")),
            format!("{}", f(k, "/peak_simultaneous_calls")),
        ),
        (
            "registered agents",
            "1,000",
            "10,000",
            format!("{}", vendor.pointer("/plan/agents").unwrap_or(&Value::Null)),
            format!("{}", max.pointer("/plan/agents").unwrap_or(&Value::Null)),
        ),
        (
            "user-data updates per call",
            "100",
            "",
            format!(
                "{} ({} in all)",
                vendor.pointer("/plan/updates_per_call").unwrap_or(&Value::Null),
                f(v, "/counters/updates")
            ),
            format!("{}", max.pointer("/plan/updates_per_call").unwrap_or(&Value::Null)),
        ),
        ("failed / abandoned / stuck calls", "", "0 / 0 / 0", bad(v), bad(k)),
        ("request -> event p50 / p99 / p99.9", "", "p99 ≤ 2 ms", lat(v, "request_latency"), lat(k, "request_latency")),
        ("  the T-Server's side (read -> answer written)", "", "", server_lat(v), server_lat(k)),
        ("TUpdateUserData p50 / p99 / p99.9", "", "", lat(v, "update_latency"), lat(k, "update_latency")),
        ("route (EventRouteRequest -> EventRouteUsed)", "", "", lat(v, "route_latency"), lat(k, "route_latency")),
        (
            "events per second (clients)",
            "",
            "",
            format!("{:.0}", f(v, "/events_per_second")),
            format!("{:.0}", f(k, "/events_per_second")),
        ),
        (
            "T-Server CPU",
            "limit was SfB conference scheduling, not CPU",
            "≤ 5% of one core (vendor profile)",
            cpu(v),
            cpu(k),
        ),
        ("T-Server peak RSS", "", "≤ 1 GiB", rss(v), rss(k)),
    ];
    for (what, vendor_fig, target, ours, max_fig) in rows {
        let _ = writeln!(out, "| {what} | {vendor_fig} | {target} | {ours} | {max_fig} |");
    }
    let _ = writeln!(out, "\nMax profile: the search stopped because {reason}.\n");
    out.push_str(
        "| CPS offered | answered/s | peak agent calls | failed / abandoned / stuck | request p50 / p99 / p99.9 | T-Server CPU | verdict |\n",
    );
    out.push_str("|---:|---:|---:|---|---|---|---|\n");
    for s in max.get("steps").and_then(Value::as_array).into_iter().flatten() {
        let _ = writeln!(
            out,
            "| {:.0} | {:.1} | {} | {} | {} | {} | {} |",
            f(s, "/offered_cps"),
            f(s, "/achieved_cps"),
            f(s, "/counters/peak_agent_calls"),
            bad(s),
            lat(s, "request_latency"),
            cpu(s),
            s["failure"].as_str().unwrap_or("pass")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(cps: f64, failure: Value) -> Value {
        json!({"offered_cps": cps, "generated_cps": cps, "achieved_cps": cps, "duration_s": 300.0, "peak_simultaneous_calls": 1200,
               "failed": 0, "abandoned": 0, "stuck": 0, "events_per_second": 900.0, "counters": {"updates": 180000, "peak_agent_calls": 1100},
               "request_latency": {"p50_ms": 0.2, "p99_ms": 0.9, "p999_ms": 3.0},
               "update_latency": {"p50_ms": 0.2, "p99_ms": 0.8, "p999_ms": 2.0},
               "route_latency": {"p50_ms": 0.3, "p99_ms": 1.0, "p999_ms": 1.5},
               "server_request_latency": {"p50_ms": 0.1, "p99_ms": 0.5, "p999_ms": 1.2},
               "server": {"cpu_percent_of_one_core": 4.2, "cpu_seconds": 21.0, "peak_rss_mib": 180.0}, "failure": failure})
    }

    #[test]
    fn the_table_puts_the_vendor_figures_beside_the_measured_ones() {
        let machine = json!({"nproc": 2, "cpu_model": "AMD EPYC", "mem_total_mib": 24000});
        let vendor = json!({"machine": machine, "plan": {"agents": 1000, "updates_per_call": 100, "duration": "5m"},
                            "steps": [step(6.0, Value::Null)]});
        let max = json!({"plan": {"agents": 1000, "updates_per_call": 3, "max": {"step_duration": "10s"}},
                         "steps": [step(10.0, Value::Null), step(20.0, Value::Null), step(40.0, json!("p99 80 ms above 50 ms"))],
                         "knee": {"cps": 20.0, "reason": "first failure at 40 CPS: p99 80 ms above 50 ms"}});
        let t = results_table(&vendor, &max);
        assert!(t.starts_with("Machine: 2 cores (AMD EPYC), 24000 MiB RAM."), "{t}");
        assert!(t.contains("| calls per second | 6 | ≥ 1,000 for 10 min | 6.00 offered, 6.00 answered | knee 20 CPS: 20.0 answered/s |"), "{t}");
        assert!(t.contains("| T-Server CPU | limit was SfB conference scheduling, not CPU | ≤ 5% of one core (vendor profile) | 4.20% of one core (21.0 CPU s)"), "{t}");
        assert!(t.contains("|   the T-Server's side (read -> answer written) |  |  | 0.10 / 0.50 / 1.20 ms |"), "{t}");
        let mut older = vendor.clone();
        older["steps"][0].as_object_mut().unwrap().remove("server_request_latency");
        assert!(results_table(&older, &max).contains("(read -> answer written) |  |  | not measured |"));
        assert!(t.contains("| 40 | 40.0 | 1100 | 0 / 0 / 0 | 0.20 / 0.90 / 3.00 ms |"), "{t}");
        assert!(t.contains("p99 80 ms above 50 ms |") && t.contains("| pass |"), "{t}");
    }
}
