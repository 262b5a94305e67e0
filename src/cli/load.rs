//! `sfb-tserver load`: the load generator's command line. Resolves the arguments into a
//! [`LoadPlan`] (profiles fill in what they fix), runs it against a T-Server and writes the report
//! (human summary on stdout, `--json FILE`, `--plot FILE.svg`); or, with `--write-config FILE`,
//! writes a configuration with `--agents` agents and exits. Exit status 0 for a healthy run, 2 for
//! a run that completed unhealthy (failed, abandoned or stuck calls; for `--profile max`: no step
//! passed), 1 for an error.

use crate::load::config_gen::{self, GenOptions};
use crate::load::http::Admin;
use crate::load::plot::{self, Series};
use crate::load::{self, LoadPlan, LoadReport, MaxSearch, MediaMix, Naming, ProfileKind, Target};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Duration;

fn duration(s: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(s)
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// T-Library address of the T-Server (the `tlib=` of its READY line).
    #[arg(long, default_value = "127.0.0.1:7000")]
    pub server: String,
    /// Admin HTTP address of the T-Server (the `admin=` of its READY line; serves /sim/traffic).
    #[arg(long, default_value = "127.0.0.1:7080")]
    pub admin: String,
    /// Simulation control address when the Connector runs as its own process (the `control=` of
    /// `sfb-tserver connector`'s READY line); default: --admin (the embedded Connector).
    #[arg(long)]
    pub sim: Option<String>,
    /// Bearer token of the admin endpoint ([server] admin-token).
    #[arg(long)]
    pub admin_token: Option<String>,
    /// custom (the options below), vendor (the guide's sizing) or max (step the rate up).
    #[arg(long, value_enum, default_value_t = ProfileKind::Custom)]
    pub profile: ProfileKind,
    /// Agent desktops (custom: 10, vendor: 1000, max: 1000).
    #[arg(long)]
    pub agents: Option<usize>,
    /// Callers per second (custom).
    #[arg(long, default_value_t = 2.0)]
    pub cps: f64,
    /// How long callers are generated (custom: 10s; vendor: hold + 100s; max: see --step-duration).
    #[arg(long, value_parser = duration)]
    pub duration: Option<Duration>,
    /// How long a caller stays once answered (custom and max: 2s / 1s; vendor: 200s).
    #[arg(long, value_parser = duration)]
    pub hold: Option<Duration>,
    /// TUpdateUserData per call, spread over the hold time (custom and max: 3; vendor: 100).
    #[arg(long)]
    pub updates: Option<u32>,
    /// How long an agent's SfB client rings before it answers.
    #[arg(long, default_value = "100ms", value_parser = duration)]
    pub answer_delay: Duration,
    /// How long a caller waits for an agent before hanging up (counted as abandoned).
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub patience: Duration,
    /// Callers' media weights, e.g. voice=8,im=1,video=1.
    #[arg(long, default_value = "voice=1")]
    pub media: MediaMix,
    /// Share of calls the agent single-step transfers to another Ready agent (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub transfer_ratio: f64,
    /// Share of calls the agent single-step conferences with another Ready agent (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub conference_ratio: f64,
    /// Calls the internal router gives one agent at once (vendor: 2).
    #[arg(long)]
    pub calls_per_agent: Option<u32>,
    /// The Routing Point callers dial.
    #[arg(long, default_value = "sip:rp1@skype.lab")]
    pub routing_point: String,
    /// Extension DNs whose name starts with this are the agents.
    #[arg(long, default_value = "sip:agent")]
    pub agent_prefix: String,
    /// Agent i logs in as login-base + i (1001, 1002, ...).
    #[arg(long, default_value_t = 1000)]
    pub login_base: u64,
    /// Another client routes the calls (the reference router): run no internal router.
    #[arg(long)]
    pub external_router: bool,
    /// The T-Server's process id, for CPU and RSS; default: the process listening on --server's port.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Seed of the simulation's draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the latency plot (SVG) to this file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// max: first rate (CPS).
    #[arg(long, default_value_t = 10.0)]
    pub start_cps: f64,
    /// max: how long each step generates callers.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub step_duration: Duration,
    /// max: a step fails when request -> event p99 is above this (ms).
    #[arg(long, default_value_t = 50.0)]
    pub p99_limit_ms: f64,
    /// max: steps at most.
    #[arg(long, default_value_t = 10)]
    pub max_steps: usize,
    /// Write a configuration with --agents agents (default 1000) to this file and exit.
    #[arg(long)]
    pub write_config: Option<PathBuf>,
    /// --write-config: the SfB domain of the agents' URIs.
    #[arg(long, default_value = "skype.lab")]
    pub domain: String,
    /// --write-config: [TServer] wrap-up-time of the generated file (e.g. 5, untimed).
    #[arg(long)]
    pub wrap_up_time: Option<String>,
    /// Print the BENCHMARKS.md results table of a vendor and a max JSON report, and exit.
    #[arg(long, num_args = 2, value_names = ["VENDOR_JSON", "MAX_JSON"])]
    pub results_table: Vec<PathBuf>,
}

impl LoadArgs {
    /// The plan these arguments describe.
    pub fn plan(&self) -> Result<LoadPlan> {
        for (name, r) in [("--transfer-ratio", self.transfer_ratio), ("--conference-ratio", self.conference_ratio)] {
            anyhow::ensure!((0.0..=1.0).contains(&r), "{name} {r} is not between 0 and 1");
        }
        anyhow::ensure!(
            self.transfer_ratio + self.conference_ratio <= 1.0,
            "transfer and conference ratios add up past 1"
        );
        let max_profile = self.profile == ProfileKind::Max;
        let base = LoadPlan {
            profile: self.profile,
            agents: self.agents.unwrap_or(if max_profile { 1000 } else { 10 }),
            cps: self.cps,
            duration: self.duration.unwrap_or(Duration::from_secs(10)),
            hold: self.hold.unwrap_or(Duration::from_secs(if max_profile { 1 } else { 2 })),
            updates_per_call: self.updates.unwrap_or(3),
            answer_delay: self.answer_delay,
            patience: self.patience,
            media: self.media,
            transfer_ratio: self.transfer_ratio,
            conference_ratio: self.conference_ratio,
            calls_per_agent: self.calls_per_agent.unwrap_or(1),
            routing_point: self.routing_point.clone(),
            external_router: self.external_router,
            seed: self.seed,
            max: MaxSearch {
                start_cps: self.start_cps,
                step_duration: self.step_duration,
                p99_limit_ms: self.p99_limit_ms,
                max_steps: self.max_steps,
                ..MaxSearch::default()
            },
        };
        let mut plan = match self.profile {
            ProfileKind::Vendor => LoadPlan::vendor(base, self.duration),
            _ => base,
        };
        // Explicit options win over what a profile fills in.
        if let Some(a) = self.agents {
            plan.agents = a;
        }
        if let Some(h) = self.hold {
            plan.hold = h;
        }
        if let Some(u) = self.updates {
            plan.updates_per_call = u;
        }
        if let Some(c) = self.calls_per_agent {
            plan.calls_per_agent = c;
        }
        anyhow::ensure!(plan.agents > 0, "--agents must be at least 1");
        anyhow::ensure!(plan.cps > 0.0, "--cps must be above 0");
        Ok(plan)
    }
}

/// Runs the command; returns the process exit status.
pub async fn run(args: LoadArgs) -> Result<i32> {
    if let [vendor, max] = args.results_table.as_slice() {
        let read = |p: &PathBuf| -> Result<serde_json::Value> {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a JSON report", p.display()))
        };
        print!("{}", crate::load::table::results_table(&read(vendor)?, &read(max)?));
        return Ok(0);
    }
    if let Some(path) = &args.write_config {
        let agents = args.agents.unwrap_or(1000);
        let opts = GenOptions { wrap_up_time: args.wrap_up_time.clone() };
        let text = config_gen::generate(crate::config::EMBEDDED_DEFAULT, agents, &args.domain, args.login_base, &opts);
        crate::config::load_str(&text).context("the generated configuration is refused")?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {} ({agents} agents)", path.display());
        return Ok(0);
    }
    let plan = args.plan()?;
    let target = Target {
        tlib: args.server.clone(),
        admin: Admin { addr: args.admin.clone(), token: args.admin_token.clone() },
        sim: match &args.sim {
            Some(addr) => Admin { addr: addr.clone(), token: None },
            None => Admin { addr: args.admin.clone(), token: args.admin_token.clone() },
        },
        server_pid: args.server_pid,
    };
    let naming = Naming { agent_prefix: args.agent_prefix.clone(), login_base: args.login_base };
    let report = load::run(plan, target, naming).await?;
    write_outputs(&report, args.json.as_deref(), args.plot.as_deref())?;
    print!("{}", report.summary());
    Ok(if report.healthy { 0 } else { 2 })
}

/// Writes the JSON report and the SVG plot where asked.
pub fn write_outputs(report: &LoadReport, json: Option<&std::path::Path>, svg: Option<&std::path::Path>) -> Result<()> {
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = svg {
        std::fs::write(path, plot_of(report)).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// One step: request, update and route latency; several steps: request latency per step.
pub fn plot_of(report: &LoadReport) -> String {
    let series: Vec<Series> = match report.steps.as_slice() {
        [one] => [
            ("request -> event", &one.request_latency),
            ("TUpdateUserData", &one.update_latency),
            ("route", &one.route_latency),
        ]
        .into_iter()
        .filter(|(_, l)| l.count > 0)
        .map(|(label, l)| Series { label: label.into(), points: l.curve.clone() })
        .collect(),
        steps => steps
            .iter()
            .map(|s| Series { label: format!("{:.0} CPS", s.offered_cps), points: s.request_latency.curve.clone() })
            .collect(),
    };
    let p = &report.plan;
    let title = format!(
        "sfb-tserver load ({:?}): {} agents, {} CPS, {} updates/call",
        p.profile, p.agents, p.cps, p.updates_per_call
    );
    plot::render(&title, &series)
}
