//! The CPU cost of one full call lifecycle through the pure call model (`CallTable::apply`), no
//! actors, no I/O: a customer calls a Routing Point (EventQueued, EventRouteRequest), the routing
//! client's TRouteCall sends it to an agent (REDIRECT_CALL, EventRinging, EventRouteUsed,
//! EventDiverted), the agent answers (EventEstablished), the agent's desktop does 3
//! TUpdateUserData (EventAttachedDataChanged), the customer hangs up (EventReleased, CallEnded).
//! The Connector's MLTP is written by hand, in the order the simulated SfB produces it for this
//! flow (`sim::World`: CALL_CREATED, the two parties, both Connected, the agent offered and the
//! Routing Point deleted as redirected, ...), and, as the actor shell does, every switch request
//! gets its RESPONSE and later its SwitchTimeout and every timer the model asked for fires (both
//! stale by then). One element = one call; criterion's elements/s is calls per second of one core.
//!
//! Cases: `other_calls_in_the_table/N`: one table holds N other calls (established, never ended)
//! while the measured call runs, to see whether the cost per input grows with the calls in a
//! table (it does: `CallTable::apply` ends with `sweep`, a scan of every call for finished
//! operations, and CALL_CREATED scans every call for its Conversation-ID — README, Benchmarks).
//! `table_per_call_family`: a new table per call, as the actor shell runs the model (one table
//! per call family, created by CallSup), creating and dropping the table included.
//! The inputs of a call (a few small strings) are built outside the measured time
//! (`iter_batched`); building the events and dropping the outputs is inside it.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sfb_tserver::callmodel::{
    CallModelOptions, CallTable, ClientRef, Directory, Effect, Input, Output, StaticDirectory, SwitchRequest,
    TimerRequest,
};
use sfb_tserver::mltp::{Direction, Media, Mltp, PartyState};
use sfb_tserver::model::{ConnIdGenerator, DnName, DnType, KvList, RouteType};
use sfb_tserver::tlib::{Attributes, EventKind, Request, RequestKind};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const RP: &str = "sip:rp1@skype.lab";
const LINK: &str = "connector1";
/// Agents 0..BACKGROUND take the background calls; the measured calls go to the next 100 agents
/// in turn. Every case has the same directory, so only the number of calls differs.
const BACKGROUND: usize = 10_000;
const MEASURED_AGENTS: usize = 100;
const ROUTER: ClientRef = ClientRef(1);
const DESKTOP: ClientRef = ClientRef(2);

fn agent(i: usize) -> String {
    format!("sip:agent{i:05}@skype.lab")
}

fn directory() -> Arc<dyn Directory> {
    let agents: Vec<String> = (0..BACKGROUND + MEASURED_AGENTS).map(agent).collect();
    let dns = std::iter::once((RP, DnType::RoutingPoint)).chain(agents.iter().map(|a| (a.as_str(), DnType::Extension)));
    Arc::new(StaticDirectory::new(dns))
}

fn table(directory: &Arc<dyn Directory>, conn_ids: &Arc<ConnIdGenerator>) -> CallTable {
    CallTable::new(directory.clone(), conn_ids.clone(), CallModelOptions::default())
}

/// The hand-written inputs of one call on Connector call `call`.
struct CallInputs {
    arrival: Vec<Mltp>,
    route: Request,
    delivery: Vec<Mltp>,
    answer: Mltp,
    updates: Vec<Request>,
    release: Vec<Mltp>,
}

fn request(kind: RequestKind, this: &str, reference: u32) -> Request {
    let attrs = Attributes { reference_id: Some(reference), this_dn: Some(DnName::new(this)), ..Default::default() };
    Request::with_attrs(kind, attrs)
}

fn inputs(call: u64, agent: &str) -> CallInputs {
    let customer = format!("tel:+1415{:07}", call % 10_000_000);
    let created = |party: &str, state| Mltp::PartyCreated {
        call,
        party: party.to_string(),
        media: Media::Voice,
        from: String::new(),
        to: String::new(),
        party_state: state,
    };
    let changed = |party: &str, state, cause: &str| Mltp::PartyStateChanged {
        call,
        party: party.to_string(),
        party_state: state,
        cause: Some(cause.to_string()),
    };
    let deleted = |party: &str, cause: &str| Mltp::PartyDeleted {
        call,
        party: party.to_string(),
        cause: Some(cause.to_string()),
    };
    let arrival = vec![
        Mltp::CallCreated {
            call,
            conversation_id: format!("{call:032x}"),
            media: Media::Voice,
            from: customer.clone(),
            to: RP.to_string(),
            direction: Direction::Inbound,
            monitored: true,
            conn_id: None,
        },
        created(&customer, PartyState::Dialing),
        created(RP, PartyState::Alerting),
        changed(RP, PartyState::Connected, "answered"),
        changed(&customer, PartyState::Connected, "answered"),
    ];
    let mut route = request(RequestKind::RouteCall, RP, 1);
    route.attrs.other_dn = Some(DnName::new(agent));
    route.attrs.route_type = Some(RouteType::Default);
    let updates = (0..3)
        .map(|n| {
            let mut r = request(RequestKind::UpdateUserData, agent, 2 + n);
            r.attrs.user_data = Some(KvList::new().with("CustomerSegment", "gold").with(format!("Step{n}"), n as i64));
            r
        })
        .collect();
    CallInputs {
        arrival,
        route,
        delivery: vec![created(agent, PartyState::Alerting), deleted(RP, "redirected")],
        answer: changed(agent, PartyState::Connected, "answered"),
        updates,
        release: vec![
            deleted(&customer, "hangup"),
            deleted(agent, "callended"),
            Mltp::CallDeleted { call, cause: Some("hangup".into()) },
        ],
    }
}

/// A table and its clock, feeding inputs as the Call actor does.
struct Model {
    table: CallTable,
    now: u64,
    /// Inputs applied so far.
    inputs: u64,
}

/// What one call left for later: switch requests to time out and timers to fire.
#[derive(Default)]
struct Pending {
    switch: Vec<SwitchRequest>,
    timers: Vec<TimerRequest>,
}

impl Model {
    fn apply(&mut self, input: Input, pending: &mut Pending, kinds: &mut Option<Vec<EventKind>>) -> Output {
        self.now += 1;
        self.inputs += 1;
        let mut out = self.table.apply(input, self.now);
        pending.switch.append(&mut out.switch);
        pending.timers.append(&mut out.timers);
        if let Some(k) = kinds {
            k.extend(out.events.iter().map(|d| d.event.kind));
        }
        out
    }

    fn sw(&mut self, msg: Mltp, pending: &mut Pending, kinds: &mut Option<Vec<EventKind>>) -> Output {
        self.apply(Input::Switch { link: LINK.to_string(), msg }, pending, kinds)
    }

    /// Runs a call up to EventEstablished (and its three user-data updates); returns what is
    /// left to release it.
    fn establish(&mut self, c: CallInputs, pending: &mut Pending, kinds: &mut Option<Vec<EventKind>>) -> Vec<Mltp> {
        let mut conn = None;
        for m in c.arrival {
            let out = self.sw(m, pending, kinds);
            conn = conn.or(out.effects.iter().find_map(|e| match e {
                Effect::CallCreated(c) => Some(*c),
                _ => None,
            }));
        }
        let conn = conn.expect("CALL_CREATED at a Routing Point makes a call");
        let mut route = c.route;
        route.attrs.conn_id = Some(conn);
        let redirect_from = pending.switch.len();
        self.apply(Input::Request { client: ROUTER, request: Box::new(route) }, pending, kinds);
        let redirect = pending.switch[redirect_from..].first().expect("TRouteCall sends REDIRECT_CALL").corr;
        for m in c.delivery {
            self.sw(m, pending, kinds);
        }
        let response = Input::SwitchResponse { corr: redirect, link: LINK.to_string(), result: Ok(Vec::new()) };
        self.apply(response, pending, kinds);
        self.sw(c.answer, pending, kinds);
        for mut u in c.updates {
            u.attrs.conn_id = Some(conn);
            self.apply(Input::Request { client: DESKTOP, request: Box::new(u) }, pending, kinds);
        }
        c.release
    }

    /// One whole call: arrival, route, ring, answer, 3 updates, release; then the stale
    /// timeouts and timers.
    fn lifecycle(&mut self, c: CallInputs, kinds: &mut Option<Vec<EventKind>>) {
        let mut pending = Pending::default();
        let release = self.establish(c, &mut pending, kinds);
        for m in release {
            black_box(self.sw(m, &mut pending, kinds));
        }
        for r in std::mem::take(&mut pending.switch) {
            self.apply(Input::SwitchTimeout { corr: r.corr }, &mut pending, kinds);
        }
        for t in std::mem::take(&mut pending.timers) {
            self.apply(Input::Timer(t.timer), &mut pending, kinds);
        }
    }
}

/// A model with `background` established calls.
fn model(directory: &Arc<dyn Directory>, background: usize) -> Model {
    let mut m = Model { table: table(directory, &Arc::new(ConnIdGenerator::new(0))), now: 1_000, inputs: 0 };
    for i in 0..background {
        let mut pending = Pending::default();
        m.establish(inputs(1_000_000 + i as u64, &agent(i)), &mut pending, &mut None);
    }
    assert_eq!(m.table.calls().count(), background);
    m
}

/// One call checked event by event, so the bench measures the flow it claims to.
fn check(directory: &Arc<dyn Directory>) -> u64 {
    let mut m = model(directory, 0);
    let mut kinds = Some(Vec::new());
    m.lifecycle(inputs(1, &agent(BACKGROUND)), &mut kinds);
    use EventKind as E;
    let expected = [
        E::Queued,
        E::RouteRequest,
        E::Ringing,
        E::RouteUsed,
        E::Diverted,
        E::Established,
        E::AttachedDataChanged,
        E::AttachedDataChanged,
        E::AttachedDataChanged,
        E::Released,
    ];
    assert_eq!(kinds.unwrap(), expected, "the lifecycle's events");
    assert_eq!(m.table.calls().count(), 0, "the call ended");
    m.inputs
}

fn lifecycle(c: &mut Criterion) {
    let directory = directory();
    let per_call = check(&directory);
    eprintln!("call_lifecycle: {per_call} inputs per call");
    let mut group = c.benchmark_group("call_lifecycle");
    group.throughput(Throughput::Elements(1));
    group.warm_up_time(Duration::from_secs(1));
    for background in [0usize, 1_000, 10_000] {
        let mut m = model(&directory, background);
        let mut next = 1u64;
        group.bench_function(BenchmarkId::new("other_calls_in_the_table", background), |b| {
            b.iter_batched(
                || {
                    next += 1;
                    inputs(next, &agent(BACKGROUND + (next as usize % MEASURED_AGENTS)))
                },
                |c| m.lifecycle(c, &mut None),
                BatchSize::SmallInput,
            )
        });
        assert_eq!(m.table.calls().count(), background, "every measured call ended");
    }
    // As the actor shell runs it: one table per call family, created for the call (CallSup).
    let conn_ids = Arc::new(ConnIdGenerator::new(0));
    let mut next = 1u64;
    group.bench_function("table_per_call_family", |b| {
        b.iter_batched(
            || {
                next += 1;
                inputs(next, &agent(BACKGROUND + (next as usize % MEASURED_AGENTS)))
            },
            |c| {
                let mut m = Model { table: table(&directory, &conn_ids), now: 1_000, inputs: 0 };
                m.lifecycle(c, &mut None);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
