//! The simulation's traffic generator, pure (no actors, no I/O): a world of agent Extensions
//! answering automatically after 100 ms, callers placed at a fixed rate to them round robin,
//! each holding a fixed time, the clock advanced one millisecond at a time (as the SfbSim ticker
//! would under load) with the world's events drained every step. One element = one call placed,
//! answered and completed, so criterion's elements/s is calls per second of CPU. The `20k`
//! case is the target: 1,000 calls per second, 20 s hold, 20,000 calls in progress.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use sfb_tserver::sim::{SimConfig, TrafficRequest, UserKind, UserSpec, World};
use std::hint::black_box;
use std::time::Duration;

fn world(agents: usize) -> World {
    let mut cfg = SimConfig::new("skype.lab");
    for i in 0..agents {
        cfg = cfg.with_user(UserSpec::new(&format!("sip:agent{i:05}@skype.lab"), UserKind::Extension));
    }
    World::new(cfg)
}

/// Places and completes `calls` calls at `cps` with `hold_ms`; returns the peak in progress.
fn run(base: &World, agents: usize, calls: u64, cps: f64, hold_ms: u64, im_share: f64) -> u64 {
    let mut w = base.clone();
    let to: Vec<String> = (0..agents.min(1000)).map(|i| format!("sip:agent{i:05}@skype.lab")).collect();
    let req: TrafficRequest = serde_json::from_value(serde_json::json!({
        "cps": cps, "calls": calls, "to": to, "hold_ms": hold_ms,
        "media": {"voice": 1.0 - im_share, "im": im_share},
        "agents": {"pattern": "sip:agent*@skype.lab", "answer_delay_ms": 100},
    }))
    .expect("bench profile");
    w.start_traffic(0, req).expect("profile accepted");
    let mut now = 0;
    loop {
        now += 1;
        w.advance(now);
        black_box(w.drain_events());
        let c = w.traffic_counters();
        if c.offered == calls && c.in_progress == 0 {
            assert_eq!(c.completed, calls, "every call completes: {c:?}");
            return c.peak_in_progress;
        }
    }
}

fn traffic(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim_traffic");
    // One run is 0.1 to 0.6 s: flat sampling (the same number of runs per sample) keeps it short.
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    // (case, agents, calls, cps, hold, IM share)
    let cases = [
        ("1k_in_progress", 1_000, 10_000, 1000.0, 1_000, 0.0),
        ("1k_in_progress_im30", 1_000, 10_000, 1000.0, 1_000, 0.3),
        ("20k_in_progress", 10_000, 40_000, 1000.0, 20_000, 0.0),
    ];
    for (case, agents, calls, cps, hold, im) in cases {
        let base = world(agents);
        let peak = run(&base, agents, calls, cps, hold, im);
        eprintln!("{case}: {calls} calls, peak {peak} in progress");
        group.throughput(Throughput::Elements(calls));
        group.bench_with_input(BenchmarkId::new("calls", case), &base, |b, base| {
            b.iter(|| run(base, agents, calls, cps, hold, im))
        });
    }
    group.finish();
}

criterion_group!(benches, traffic);
criterion_main!(benches);
