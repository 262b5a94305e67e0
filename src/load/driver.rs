//! The async shell of a load run: finds the agents' Extensions in the server's actor tree
//! (`GET /tree`), logs the desktops in, starts the internal router unless the server runs one (a
//! `router` actor in the tree) or `--external-router` says one is there (then the same client only
//! observes the Routing Point, to measure route latency), then runs each step —
//! `POST /sim/traffic`, wait for the duration, drain until every caller and every agent call has
//! ended (or a grace period passed: what is left is "stuck"), `GET /sim/traffic` again — and reads
//! the T-Server's /proc entry around it. Everything else is in the pure modules.

use super::desktop::{self, CallScript, Desktop, Shared};
use super::http::Admin;
use super::plan::{LoadPlan, Next, ProfileKind};
use super::pool::AgentPool;
use super::procstat::{self, ProcSample};
use super::report::{LoadReport, ServerUsage, StepInputs, StepReport, TrafficCounts};
use super::router::Router;
use super::stats::Stats;
use super::LoadError;
use crate::model::DnName;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

/// Where the T-Server is.
#[derive(Clone, Debug)]
pub struct Target {
    pub tlib: String,
    pub admin: Admin,
    /// The simulation's control API (`/sim/traffic`): the T-Server's admin endpoint when the
    /// Connector is embedded, the Connector process's control endpoint when it runs on its own.
    pub sim: Admin,
    /// The T-Server's process id; None: the process listening on the T-Library port.
    pub server_pid: Option<u32>,
}

/// How the agents are named on the server.
#[derive(Clone, Debug)]
pub struct Naming {
    /// Extension DNs whose name starts with this are the agents (`sip:agent`), taken in order.
    pub agent_prefix: String,
    /// Agent `i` (1-based) logs in as `login_base + i` (1001, 1002, ...).
    pub login_base: u64,
}

/// Logins run this many at a time, so a thousand desktops do not all connect in one instant.
const LOGIN_CONCURRENCY: usize = 64;

/// How often the drain looks whether every call has ended.
const DRAIN_POLL: Duration = Duration::from_millis(500);

/// The traffic profile of one step (`POST /sim/traffic`).
pub fn traffic_request(plan: &LoadPlan, cps: f64, duration: Duration, agents: &[DnName]) -> Value {
    json!({
        "cps": cps,
        "to": plan.routing_point,
        "duration_ms": duration.as_millis() as u64,
        "hold_ms": plan.hold.as_millis() as u64,
        "patience_ms": plan.patience.as_millis() as u64,
        "media": {"voice": plan.media.voice, "im": plan.media.im, "video": plan.media.video},
        "agents": {"uris": agents.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                   "answer_delay_ms": plan.answer_delay.as_millis() as u64},
        "seed": plan.seed,
    })
}

/// Every `dn:<number>` of the actor tree whose number starts with `prefix`, and whether the tree
/// has a router actor.
pub fn scan_tree(tree: &Value, prefix: &str) -> (Vec<DnName>, bool) {
    fn walk(node: &Value, prefix: &str, dns: &mut Vec<DnName>, router: &mut bool) {
        let name = node.get("name").and_then(Value::as_str).unwrap_or("");
        let kind = node.get("kind").and_then(Value::as_str).unwrap_or("");
        if let Some(dn) = name.strip_prefix("dn:").filter(|n| n.starts_with(prefix)) {
            dns.push(DnName::new(dn));
        }
        *router |= name == "router" || kind.eq_ignore_ascii_case("router");
        for child in node.get("children").and_then(Value::as_array).into_iter().flatten() {
            walk(child, prefix, dns, router);
        }
    }
    let (mut dns, mut router) = (Vec::new(), false);
    walk(tree, prefix, &mut dns, &mut router);
    dns.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    dns.dedup();
    (dns, router)
}

struct Run {
    plan: LoadPlan,
    target: Target,
    pid: Option<u32>,
    agents: Vec<DnName>,
    stats: Arc<Stats>,
}

/// Runs the plan against the server and returns the report.
pub async fn run(plan: LoadPlan, target: Target, naming: Naming) -> Result<LoadReport, LoadError> {
    let tree = target.admin.json("GET", "/tree", "").await?;
    let (mut agents, server_router) = scan_tree(&tree, &naming.agent_prefix);
    if agents.len() < plan.agents {
        return Err(LoadError::NotEnoughAgents { have: agents.len(), want: plan.agents, prefix: naming.agent_prefix });
    }
    agents.truncate(plan.agents);
    let internal = !plan.external_router && !server_router;
    let port = target.tlib.rsplit(':').next().and_then(|p| p.parse().ok());
    let pid = target.server_pid.or_else(|| port.and_then(procstat::find_listener));
    let stats = Arc::new(Stats::default());
    let pool = Arc::new(AgentPool::new(agents.clone(), plan.calls_per_agent));
    let script = CallScript::new(plan.updates_per_call, plan.hold, plan.transfer_ratio, plan.conference_ratio);
    let shared = Arc::new(Shared { stats: stats.clone(), pool: pool.clone(), script });

    if let Some(why) = plan.over_capacity().filter(|_| internal) {
        tracing::warn!("{why}");
    }
    tracing::info!(agents = agents.len(), internal_router = internal, pid, "logging the agents in");
    let clients = log_in_all(&target.tlib, &agents, naming.login_base).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // The internal router routes; with another router it only observes the Routing Point.
    let rp = [DnName::new(&plan.routing_point)];
    let router = Router::connect(&target.tlib, &rp, pool.clone(), stats.clone(), !internal).await?;
    let router = tokio::spawn(router.run(stop_rx.clone()));
    let desktops: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(Desktop::new(c, i, shared.clone()).run(stop_rx.clone())))
        .collect();
    stats.take_step(); // the log-in phase is not part of any step

    let run = Run { plan: plan.clone(), target, pid, agents, stats };
    let outcome = run.steps().await;
    let _ = stop_tx.send(true);
    let mut logouts = tokio::task::JoinSet::new();
    let limit = Arc::new(Semaphore::new(LOGIN_CONCURRENCY));
    for d in desktops {
        let limit = limit.clone();
        logouts.spawn(async move {
            if let Ok(d) = d.await {
                let _permit = limit.acquire().await;
                d.log_out().await;
            }
        });
    }
    while logouts.join_next().await.is_some() {}
    let _ = router.await;
    let (steps, knee) = outcome?;
    let router_name = if internal { "internal" } else { "external" };
    Ok(LoadReport::new(procstat::machine(), plan, router_name, steps, knee))
}

async fn log_in_all(tlib: &str, agents: &[DnName], login_base: u64) -> Result<Vec<crate::client::Client>, LoadError> {
    let limit = Arc::new(Semaphore::new(LOGIN_CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    for (i, dn) in agents.iter().enumerate() {
        let (limit, tlib, dn) = (limit.clone(), tlib.to_string(), dn.clone());
        let agent = super::config_gen::agent_login(i + 1, login_base);
        set.spawn(async move {
            let _permit = limit.acquire().await;
            (i, desktop::log_in(&tlib, &dn, &agent).await)
        });
    }
    let mut clients: Vec<Option<crate::client::Client>> = (0..agents.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (i, client) = joined.map_err(|e| LoadError::Simulation(format!("a log-in task failed: {e}")))?;
        clients[i] = Some(client?);
    }
    Ok(clients.into_iter().flatten().collect())
}

impl Run {
    async fn steps(&self) -> Result<(Vec<StepReport>, Option<super::plan::Knee>), LoadError> {
        let plan = &self.plan;
        if plan.profile != ProfileKind::Max {
            return Ok((vec![self.step(plan.cps, plan.duration, None).await?], None));
        }
        let mut steps: Vec<StepReport> = Vec::new();
        loop {
            let verdicts: Vec<_> = steps.iter().map(StepReport::verdict).collect();
            match plan.max.next(&verdicts, plan.agent_capacity_cps()) {
                Next::Run(cps) => {
                    tracing::info!(cps, "max profile: next step");
                    steps.push(self.step(cps, plan.max.step_duration, Some(plan.max.p99_limit_ms)).await?);
                }
                Next::Stop(knee) => return Ok((steps, Some(knee))),
            }
        }
    }

    async fn counts(&self) -> Result<TrafficCounts, LoadError> {
        let view = self.target.sim.json("GET", "/sim/traffic", "").await?;
        TrafficCounts::from_view(&view).ok_or_else(|| LoadError::Simulation(view.to_string()))
    }

    /// The T-Server's own request -> event histogram (None: its admin endpoint has none).
    async fn server_latency(&self) -> Option<crate::latency::LatencyRecord> {
        let v = self.target.admin.json("GET", "/latency", "").await.ok()?;
        serde_json::from_value(v).ok()
    }

    fn sample(&self) -> Option<ProcSample> {
        self.pid.and_then(procstat::sample)
    }

    async fn step(&self, cps: f64, duration: Duration, p99_limit_ms: Option<f64>) -> Result<StepReport, LoadError> {
        let plan = &self.plan;
        let before = self.counts().await?;
        let latency_before = self.server_latency().await;
        let proc_before = self.sample();
        let t0 = Instant::now();
        let profile = traffic_request(plan, cps, duration, &self.agents);
        self.target.sim.json("POST", "/sim/traffic", &profile.to_string()).await?;
        tokio::time::sleep(duration).await;
        // Drain: every caller gone and every agent call ended, or "long after the run".
        let grace = plan.hold + plan.patience + plan.answer_delay + Duration::from_secs(10);
        let drain_end = Instant::now() + grace;
        let mut after = self.counts().await?;
        while (after.in_progress > 0 || self.stats.agent_calls() > 0) && Instant::now() < drain_end {
            // Each look costs the measured process: the simulation's view echoes the profile,
            // every agent URI included (at 10 a second, 2% of the T-Server's CPU during a drain).
            tokio::time::sleep(DRAIN_POLL).await;
            after = self.counts().await?;
        }
        let wall_s = t0.elapsed().as_secs_f64();
        let server = match (self.pid, proc_before, self.sample()) {
            (Some(pid), Some(b), Some(a)) => Some(ServerUsage::between(pid, b, a, wall_s)),
            _ => None,
        };
        let (histograms, counters) = self.stats.take_step();
        let server_latency = match (latency_before, self.server_latency().await) {
            (Some(before), Some(after)) => Some(after.since(&before)),
            _ => None,
        };
        Ok(StepReport::build(StepInputs {
            offered_cps: cps,
            duration_s: duration.as_secs_f64(),
            wall_s,
            before,
            after,
            histograms,
            counters,
            agent_calls_left: self.stats.agent_calls(),
            server,
            server_latency,
            p99_limit_ms,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_and_a_router_are_found_in_the_actor_tree() {
        let tree = json!({"name": "root", "kind": "Root", "children": [
            {"name": "dn-sup", "kind": "DnSup", "children": [
                {"name": "dn:sip:agent02@skype.lab", "kind": "Dn", "children": []},
                {"name": "dn:sip:rp1@skype.lab", "kind": "Dn", "children": []},
                {"name": "dn:sip:agent01@skype.lab", "kind": "Dn", "children": []}]},
            {"name": "router", "kind": "Router", "children": []}]});
        let (dns, router) = scan_tree(&tree, "sip:agent");
        assert_eq!(dns, vec![DnName::new("sip:agent01@skype.lab"), DnName::new("sip:agent02@skype.lab")]);
        assert!(router);
        assert!(!scan_tree(&json!({"name": "root", "children": []}), "sip:agent").1);
    }

    #[test]
    fn the_traffic_profile_sends_callers_to_the_routing_point_and_sets_the_agents_answering() {
        let plan = crate::load::tests::plan();
        let v = traffic_request(&plan, 2.5, Duration::from_secs(3), &[DnName::new("sip:agent01@skype.lab")]);
        assert_eq!(v["cps"], json!(2.5));
        assert_eq!(v["to"], json!("sip:rp1@skype.lab"));
        assert_eq!((&v["duration_ms"], &v["hold_ms"], &v["patience_ms"]), (&json!(3000), &json!(1000), &json!(30000)));
        assert_eq!(v["agents"], json!({"uris": ["sip:agent01@skype.lab"], "answer_delay_ms": 100}));
    }
}
