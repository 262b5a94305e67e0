//! The load generator end to end (`sfb-tserver load`, issue #8): a few seconds at a low rate
//! against a T-Server on the embedded configuration (20 agents), through the same entry point as
//! the command line. The run must be healthy (no failed, abandoned or stuck call), and the JSON
//! report and the SVG plot must be well formed with sane numbers.

use crate::util::*;
use clap::Parser;
use serde_json::Value;
use sfb_tserver::cli::load::{self, LoadArgs};

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    args: LoadArgs,
}

fn args(server: &TestServer, extra: &[&str]) -> LoadArgs {
    let h = server.h();
    let (tlib, admin, pid) = (h.tlib_addr.to_string(), h.admin_addr.to_string(), std::process::id().to_string());
    let mut argv = vec!["load", "--server", &tlib, "--admin", &admin, "--server-pid", &pid];
    argv.extend_from_slice(extra);
    Cmd::try_parse_from(argv).expect("the arguments parse").args
}

fn num(v: &Value, path: &str) -> f64 {
    v.pointer(path).and_then(Value::as_f64).unwrap_or_else(|| panic!("{path} is not a number in {v:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_run_is_healthy_and_reported_as_json_and_svg() {
    init_log();
    let server = TestServer::start().await;
    let out = tempfile::tempdir().unwrap();
    let (json, svg) = (out.path().join("report.json"), out.path().join("latency.svg"));
    let a = args(
        &server,
        &[
            "--agents",
            "10",
            "--cps",
            "2",
            "--duration",
            "3s",
            "--hold",
            "1s",
            "--updates",
            "3",
            "--answer-delay",
            "50ms",
            "--transfer-ratio",
            "0.2",
            "--conference-ratio",
            "0.2",
            "--json",
            json.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
        ],
    );
    let status = load::run(a).await.expect("the load run completes");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("the report is JSON");
    assert_eq!(status, 0, "a healthy run exits 0: {report:#}");

    for key in ["version", "machine", "plan", "router", "steps", "knee", "healthy"] {
        assert!(report.get(key).is_some(), "{key} missing: {report:#}");
    }
    assert_eq!((&report["healthy"], &report["router"]), (&Value::Bool(true), &Value::from("internal")));
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "a custom run is one step");
    let s = &steps[0];
    assert_eq!(s["failure"], Value::Null, "{s:#}");
    // 2 CPS for 3 s: 6 callers, all answered and completed.
    for (path, want) in [("/offered", 6.0), ("/connected", 6.0), ("/completed", 6.0)] {
        assert_eq!(num(s, path), want, "{path}: {s:#}");
    }
    for path in ["/failed", "/abandoned", "/stuck", "/agent_calls_left", "/counters/request_errors"] {
        assert_eq!(num(s, path), 0.0, "{path}: {s:#}");
    }
    assert!((1.5..=2.5).contains(&num(s, "/achieved_cps")), "{s:#}");
    assert!((1.0..=10.0).contains(&num(s, "/peak_simultaneous_calls")), "{s:#}");
    // Every answered call got its 3 updates, each answered by EventAttachedDataChanged.
    assert!(num(s, "/counters/updates") >= 18.0, "{s:#}");
    assert_eq!(num(s, "/update_latency/count"), num(s, "/counters/updates"), "{s:#}");
    assert!(num(s, "/counters/transfers") + num(s, "/counters/conferences") >= 1.0, "{s:#}");
    assert_eq!(num(s, "/route_latency/count"), 6.0, "each call routed once: {s:#}");
    // The server's own side of the step's requests: every one the desktops timed, and those
    // answered by EventError too (none here). Each is a part of what its desktop saw, so the
    // median is lower (by the loopback and two tasks' wake-ups: never close on this scale).
    assert!(num(s, "/server_request_latency/count") >= num(s, "/request_latency/count"), "{s:#}");
    assert!(num(s, "/server_request_latency/p50_ms") <= num(s, "/request_latency/p50_ms"), "{s:#}");
    for l in ["request_latency", "server_request_latency", "update_latency", "route_latency"] {
        let (p50, p99, p999, max) = (
            num(s, &format!("/{l}/p50_ms")),
            num(s, &format!("/{l}/p99_ms")),
            num(s, &format!("/{l}/p999_ms")),
            num(s, &format!("/{l}/max_ms")),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= p999 && p999 <= max && max < 5_000.0, "{l}: {s:#}");
    }
    assert!(num(s, "/events_per_second") > 1.0, "{s:#}");
    assert!(num(s, "/server/cpu_seconds") > 0.0 && num(s, "/server/peak_rss_mib") > 1.0, "{s:#}");

    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg"), "{plot}");
    assert!(plot.contains("<polyline") && plot.trim_end().ends_with("</svg>"));

    // The agents were logged out at the end and no call is left in the simulation.
    let (status, traffic) = server.admin_json("GET", "/sim/traffic", "").await;
    assert_eq!((status, &traffic["counters"]["in_progress"]), (200, &Value::from(0)), "{traffic}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_needing_more_agents_than_the_server_has_says_how_to_get_them() {
    let server = TestServer::start().await;
    let err = load::run(args(&server, &["--agents", "50", "--duration", "1s"])).await.expect_err("20 agents only");
    let text = format!("{err:#}");
    assert!(text.contains("has 20 Extension DNs") && text.contains("--write-config"), "{text}");
}

/// The Connector with the simulated SfB in its own process (as deployed: the guide's Connector
/// runs on its own host): `--sim` takes the traffic to that process's control API, while the
/// agents and the router speak T-Library to the T-Server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_run_drives_a_standalone_connectors_simulation_with_sim() {
    init_log();
    let dir = tempfile::tempdir().unwrap();
    let pool = crate::connectors::start_pool(&["connector1"], dir.path(), None).await;
    let server = TestServer::start_with(crate::connectors::external(&pool)).await;
    let (status, _) = server.admin_json("GET", "/sim/traffic", "").await;
    assert_eq!(status, 404, "no simulation behind the T-Server's admin endpoint here");
    let control = pool.control_addr.unwrap().to_string();
    let mut a = args(&server, &["--agents", "5", "--cps", "2", "--duration", "2s", "--hold", "500ms"]);
    a.sim = Some(control);
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("report.json");
    a.json = Some(json.clone());
    assert_eq!(load::run(a).await.expect("the load run completes"), 0, "a healthy run exits 0");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let s = &report["steps"][0];
    for (path, want) in [("/offered", 4.0), ("/connected", 4.0), ("/completed", 4.0), ("/failed", 0.0)] {
        assert_eq!(num(s, path), want, "{path}: {s:#}");
    }
    assert_eq!(num(s, "/route_latency/count"), 4.0, "routed by the T-Server's Routing Point: {s:#}");
    let (status, traffic) = crate::connectors::control(&pool, "GET", "/sim/traffic", "").await;
    assert_eq!((status, &traffic["counters"]["offered"]), (200, &Value::from(4)), "{traffic}");
}
