//! One route through the actors (issue 5): the server started in-process on its embedded default
//! configuration (Connector and simulated SfB in the same process, joined by loopback MLTP; ports
//! 0; a temporary data directory, so call snapshots are persisted as in production; the embedded
//! reference router off), a routing client registered on `sip:rp1@skype.lab` and one desktop
//! registered on the 20 agents, both speaking T-Library over TCP. One iteration is one call:
//!
//! 1. a customer (a new tel: number each time) calls rp1 through the simulation control API
//!    (`POST /sim/calls` on the admin address),
//! 2. the router waits for EventRouteRequest and routes the call with TRouteCall to the next
//!    agent (EventRouteUsed),
//! 3. the desktop sees EventRinging, the agent answers on its simulated SfB client
//!    (`POST /sim/users/{uri}/answer`), the desktop waits for EventEstablished,
//! 4. outside the measured time: the customer hangs up and the desktop waits for EventReleased.
//!
//! `route_request_to_established` times 2-3 (EventRouteRequest received -> EventEstablished
//! received), `customer_call_to_established` times 1-3. `agent_call_lifecycle` times a whole call
//! of an emulated agent (logged in, its machine run by its AgentSession, untimed ACW): 1-3, then
//! three TUpdateUserData, the customer's hang-up up to EventAgentNotReady(AfterCallWork) and
//! EventReleased, and TAgentSetReady up to EventAgentReady. Both include the simulated agent's
//! answer, one HTTP request on a new loopback connection; `sim_http_request` times one such
//! request alone (`GET /sim/users/{uri}`) to tell that part apart. Wall-clock latency on a
//! multi-threaded tokio runtime of 2 workers, clients and server in the same process.

use criterion::{criterion_group, criterion_main, Criterion};
use sfb_tserver::actors::server::{self, ServerHandle, StartOptions};
use sfb_tserver::client::Client;
use sfb_tserver::config;
use sfb_tserver::model::{AgentId, AgentWorkMode, ConnId, DnName, KvList, RouteType};
use sfb_tserver::tlib::{Attributes, Event, EventKind, Request, RequestKind};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RP1: &str = "sip:rp1@skype.lab";
const STEP: Duration = Duration::from_secs(10);

/// The running server and its two clients.
struct Bench {
    server: Option<ServerHandle>,
    _dir: tempfile::TempDir,
    admin: String,
    router: Client,
    desk: Client,
    agents: Vec<String>,
    calls: u64,
}

/// What one benchmark of the group measures.
#[derive(Clone, Copy)]
enum Measure {
    Route,
    Call,
    SimRequest,
    AgentCall,
}

/// The measured parts of one call.
/// A call answered by an agent: who, which ConnID, and when it was placed, routed and answered.
struct Answered {
    customer: String,
    agent: String,
    conn: ConnId,
    start: Instant,
    routed: Instant,
    established: Instant,
}

/// An event of call `conn` of kind `kind`.
fn on_call(kind: EventKind, conn: ConnId) -> impl Fn(&Event) -> bool {
    move |e: &Event| e.kind == kind && e.attrs.conn_id == Some(conn)
}

struct Timings {
    route: Duration,
    call: Duration,
}

impl Bench {
    async fn start() -> Bench {
        let dir = tempfile::tempdir().expect("temporary data directory");
        let opts = StartOptions {
            tlib_listen: Some("127.0.0.1:0".into()),
            admin_listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_path_buf()),
            test_hooks: false,
            connector_listen: Some("127.0.0.1:0".into()),
        };
        // The bench's router is the routing client: the embedded reference router stays off.
        let mut cfg = config::embedded_default();
        cfg.router.enabled = false;
        let handle = server::start(cfg, opts).await.expect("server starts");
        let tlib = handle.tlib_addr.to_string();
        let admin = handle.admin_addr.to_string();
        let router = Client::connect(&tlib).await.expect("router connects");
        let desk = Client::connect(&tlib).await.expect("desktop connects");
        expect(router.register(RP1).await.expect("router registers"), EventKind::Registered);
        let agents: Vec<String> = (1..=20).map(|i| format!("sip:agent{i:02}@skype.lab")).collect();
        for a in &agents {
            expect(desk.register(a).await.expect("desktop registers"), EventKind::Registered);
        }
        Bench { server: Some(handle), _dir: dir, admin, router, desk, agents, calls: 0 }
    }

    /// Logs the agents in (Ready, untimed ACW), so their calls go through their AgentSessions.
    async fn log_agents_in(&self) {
        for (i, a) in self.agents.iter().enumerate() {
            let mut login = dn_request(RequestKind::AgentLogin, a);
            login.attrs.agent_id = Some(AgentId::new(format!("{}", 1001 + i)));
            login.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
            login.attrs.extensions = Some(KvList::new().with("WrapUpTime", "untimed"));
            expect(self.desk.request(login).await.expect("login answered"), EventKind::AgentLogin);
        }
    }

    /// A customer calls rp1; the call is routed to the next agent and answered on the agent's SfB
    /// client: what both call measurements start with.
    async fn answered_call(&mut self) -> Answered {
        self.calls += 1;
        let customer = format!("tel:+1415{:07}", self.calls);
        let agent = self.agents[self.calls as usize % self.agents.len()].clone();
        let start = Instant::now();
        let body = format!(r#"{{"from":"{customer}","to":"{RP1}"}}"#);
        let (status, text) = http(&self.admin, "POST", "/sim/calls", &body).await;
        assert_eq!(status, 201, "POST /sim/calls: {text}");
        let rr = wait(&mut self.router, |e| e.kind == EventKind::RouteRequest, "EventRouteRequest").await;
        let routed = Instant::now();
        assert_eq!(rr.attrs.ani.as_deref(), Some(customer.as_str()), "the route request is this call's");
        let conn = rr.attrs.conn_id.expect("EventRouteRequest carries ConnID");
        expect(self.router.request(route(conn, &agent)).await.expect("TRouteCall answered"), EventKind::RouteUsed);
        wait(&mut self.desk, on_call(EventKind::Ringing, conn), "EventRinging").await;
        let (status, text) = http(&self.admin, "POST", &format!("/sim/users/{agent}/answer"), "").await;
        assert_eq!(status, 200, "answer: {text}");
        wait(&mut self.desk, on_call(EventKind::Established, conn), "EventEstablished").await;
        Answered { customer, agent, conn, start, routed, established: Instant::now() }
    }

    /// One whole call of a logged-in agent: routed, answered, three user-data updates, released
    /// into ACW, and the agent Ready again.
    async fn agent_call(&mut self) -> Duration {
        let Answered { customer, agent, conn, start, .. } = self.answered_call().await;
        for n in 0..3 {
            let mut update = dn_request(RequestKind::UpdateUserData, &agent);
            update.attrs.conn_id = Some(conn);
            update.attrs.user_data = Some(KvList::new().with("step", n));
            let ev = self.desk.request(update).await.expect("TUpdateUserData answered");
            expect(ev, EventKind::AttachedDataChanged);
        }
        let (status, text) = http(&self.admin, "POST", &format!("/sim/users/{customer}/hangup"), "").await;
        assert_eq!(status, 200, "hangup: {text}");
        let on_agent = |kind: EventKind, a: String| {
            move |e: &Event| e.kind == kind && e.attrs.this_dn.as_ref().is_some_and(|d| d.as_str() == a)
        };
        wait(&mut self.desk, on_agent(EventKind::AgentNotReady, agent.clone()), "EventAgentNotReady").await;
        wait(&mut self.desk, on_call(EventKind::Released, conn), "EventReleased").await;
        expect(
            self.desk.request(dn_request(RequestKind::AgentSetReady, &agent)).await.expect("ready"),
            EventKind::AgentReady,
        );
        start.elapsed()
    }

    /// One call routed to an agent and answered, then released outside the timings.
    async fn call(&mut self) -> Timings {
        let Answered { customer, conn, start, routed, established, .. } = self.answered_call().await;
        let (status, text) = http(&self.admin, "POST", &format!("/sim/users/{customer}/hangup"), "").await;
        assert_eq!(status, 200, "hangup: {text}");
        wait(&mut self.desk, on_call(EventKind::Released, conn), "EventReleased").await;
        Timings { route: established - routed, call: established - start }
    }

    /// `iters` measurements of one kind, summed (criterion's `iter_custom`).
    async fn total(&mut self, what: Measure, iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            total += match what {
                Measure::Route => self.call().await.route,
                Measure::Call => self.call().await.call,
                Measure::SimRequest => self.sim_request().await,
                Measure::AgentCall => self.agent_call().await,
            };
        }
        total
    }

    async fn sim_request(&self) -> Duration {
        let start = Instant::now();
        let (status, text) = http(&self.admin, "GET", &format!("/sim/users/{}", self.agents[0]), "").await;
        assert_eq!(status, 200, "GET /sim/users: {text}");
        start.elapsed()
    }
}

fn route(conn: ConnId, to: &str) -> Request {
    let attrs = Attributes {
        this_dn: Some(DnName::new(RP1)),
        conn_id: Some(conn),
        other_dn: Some(DnName::new(to)),
        route_type: Some(RouteType::Default),
        ..Default::default()
    };
    Request::with_attrs(RequestKind::RouteCall, attrs)
}

fn dn_request(kind: RequestKind, dn: &str) -> Request {
    Request::with_attrs(kind, Attributes { this_dn: Some(DnName::new(dn)), ..Default::default() })
}

fn expect(ev: Event, kind: EventKind) {
    assert_eq!(ev.kind, kind, "{ev:?}");
}

async fn wait(client: &mut Client, pred: impl Fn(&Event) -> bool, what: &str) -> Event {
    match client.wait_for(STEP, pred).await {
        Some(ev) => ev,
        None => panic!("no {what} within {STEP:?}"),
    }
}

/// One HTTP/1.1 request on a new connection; returns (status, body).
async fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("admin address accepts");
    let len = body.len();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}"
    );
    s.write_all(req.as_bytes()).await.expect("request written");
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.expect("response read");
    let text = String::from_utf8_lossy(&resp).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn routes(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut bench = rt.block_on(Bench::start());
    let mut group = c.benchmark_group("route");
    group.warm_up_time(Duration::from_secs(1));
    let mut measure = |name: &str, what: Measure, bench: &mut Bench| {
        group.bench_function(name, |b| b.iter_custom(|iters| rt.block_on(bench.total(what, iters))));
    };
    measure("route_request_to_established", Measure::Route, &mut bench);
    measure("customer_call_to_established", Measure::Call, &mut bench);
    measure("sim_http_request", Measure::SimRequest, &mut bench);
    rt.block_on(bench.log_agents_in());
    measure("agent_call_lifecycle", Measure::AgentCall, &mut bench);
    group.finish();
    eprintln!("route: {} calls routed, answered and released", bench.calls);
    if let Some(server) = bench.server.take() {
        rt.block_on(server.shutdown());
    }
}

criterion_group!(benches, routes);
criterion_main!(benches);
