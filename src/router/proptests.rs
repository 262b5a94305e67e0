//! Property tests of the routing core against a small model of the switch: random callers,
//! agents going Ready / NotReady / logged out, answers, hang-ups, unanswered routes (232) and
//! direct calls. The switch executes every request the router sends at once and checks, on each
//! TRouteCall: the agent is logged in, Ready and has no call (so no agent ever has two calls at
//! once), and the call is the oldest waiting one (FIFO, a returning call keeping its place).
//! At the end every agent becomes Ready and free until nothing waits: every call is routed.

use super::tests::{agent, answer, event, route_request, settings, RP};
use super::*;
use crate::model::ErrorCode;
use crate::tlib::{Event, EventKind as E, Request, RequestKind};
use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Debug)]
enum Act {
    Call {
        im: bool,
    },
    Ready(usize),
    NotReady(usize),
    Logout(usize),
    Answer(usize),
    /// The agent's call (or the oldest waiting caller when `None`) hangs up.
    HangUp(Option<usize>),
    NoAnswer(usize),
    Direct(usize),
    Wait(u64),
}

fn act(agents: usize) -> impl Strategy<Value = Act> {
    let i = 0..agents;
    prop_oneof![
        3 => any::<bool>().prop_map(|im| Act::Call { im }),
        3 => i.clone().prop_map(Act::Ready),
        1 => i.clone().prop_map(Act::NotReady),
        1 => i.clone().prop_map(Act::Logout),
        2 => i.clone().prop_map(Act::Answer),
        2 => proptest::option::of(i.clone()).prop_map(Act::HangUp),
        1 => i.clone().prop_map(Act::NoAnswer),
        1 => i.prop_map(Act::Direct),
        1 => (1u64..40_000).prop_map(Act::Wait),
    ]
}

#[derive(Default)]
struct AgentModel {
    logged_in: bool,
    ready: bool,
    /// ConnID -> established.
    calls: BTreeMap<u64, bool>,
}

struct Switch {
    router: Router,
    now: u64,
    agents: Vec<AgentModel>,
    /// Calls waiting at the Routing Point: ConnID -> arrival number.
    waiting: BTreeMap<u64, u64>,
    arrival: BTreeMap<u64, u64>,
    next_conn: u64,
    routed: u64,
}

impl Switch {
    fn new(n: usize) -> Switch {
        let mut s = settings(n);
        s.reservation_ms = 5_000;
        Switch {
            router: Router::new(s, 0),
            now: 0,
            agents: (0..n).map(|_| AgentModel::default()).collect(),
            waiting: BTreeMap::new(),
            arrival: BTreeMap::new(),
            next_conn: 0,
            routed: 0,
        }
    }

    fn feed(&mut self, first: Event) -> Result<(), TestCaseError> {
        let mut events = VecDeque::from([first]);
        while let Some(ev) = events.pop_front() {
            let requests = self.router.on_event(self.now, &ev);
            for r in requests {
                self.execute(r, &mut events)?;
            }
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), TestCaseError> {
        let mut events = VecDeque::new();
        for r in self.router.on_tick(self.now) {
            self.execute(r, &mut events)?;
        }
        while let Some(ev) = events.pop_front() {
            for r in self.router.on_event(self.now, &ev) {
                self.execute(r, &mut events)?;
            }
        }
        Ok(())
    }

    fn execute(&mut self, r: Request, events: &mut VecDeque<Event>) -> Result<(), TestCaseError> {
        let conn = r.attrs.conn_id.expect("ConnID").0;
        match r.kind {
            RequestKind::ApplyTreatment => events.push_back(answer(E::TreatmentApplied, &r)),
            RequestKind::RouteCall => {
                let to = r.attrs.other_dn.clone().expect("OtherDN");
                let i = (1..=self.agents.len()).position(|i| agent(i) == to).expect("an agent of the group");
                let a = &self.agents[i];
                prop_assert!(a.logged_in && a.ready, "routed to agent {} who is not Ready", i + 1);
                prop_assert!(a.calls.is_empty(), "agent {} gets a second call: {:?} + {conn}", i + 1, a.calls);
                let oldest = self.waiting.iter().min_by_key(|(_, seq)| **seq).map(|(c, _)| *c);
                prop_assert_eq!(oldest, Some(conn), "FIFO: {:?}", self.waiting);
                self.waiting.remove(&conn);
                self.agents[i].calls.insert(conn, false);
                self.routed += 1;
                events.push_back(answer(E::RouteUsed, &r));
                events.push_back(event(E::Diverted, &DnName::new(RP), Some(conn)));
                events.push_back(event(E::Ringing, &to, Some(conn)));
            }
            other => prop_assert!(false, "unexpected request {other:?}"),
        }
        Ok(())
    }

    fn step(&mut self, a: Act) -> Result<(), TestCaseError> {
        match a {
            Act::Call { im } => {
                self.next_conn += 1;
                let c = self.next_conn;
                self.arrival.insert(c, c);
                self.waiting.insert(c, c);
                self.feed(route_request(c, im))?;
            }
            Act::Ready(i) => {
                if !self.agents[i].logged_in {
                    self.agents[i].logged_in = true;
                    self.feed(event(E::AgentLogin, &agent(i + 1), None))?;
                }
                self.agents[i].ready = true;
                self.feed(event(E::AgentReady, &agent(i + 1), None))?;
            }
            Act::NotReady(i) if self.agents[i].logged_in => {
                self.agents[i].ready = false;
                self.feed(event(E::AgentNotReady, &agent(i + 1), None))?;
            }
            Act::Logout(i) if self.agents[i].logged_in && self.agents[i].calls.is_empty() => {
                self.agents[i] = AgentModel::default();
                self.feed(event(E::AgentLogout, &agent(i + 1), None))?;
            }
            Act::Answer(i) => {
                if let Some((&c, established)) = self.agents[i].calls.iter_mut().find(|(_, e)| !**e) {
                    *established = true;
                    self.feed(event(E::Established, &agent(i + 1), Some(c)))?;
                }
            }
            Act::HangUp(Some(i)) => {
                if let Some(&c) = self.agents[i].calls.keys().next() {
                    self.agents[i].calls.remove(&c);
                    self.feed(event(E::Released, &agent(i + 1), Some(c)))?;
                }
            }
            Act::HangUp(None) => {
                if let Some((&c, _)) = self.waiting.iter().min_by_key(|(_, s)| **s) {
                    self.waiting.remove(&c);
                    self.feed(event(E::Abandoned, &DnName::new(RP), Some(c)))?;
                }
            }
            Act::NoAnswer(i) => {
                let ringing = self.agents[i].calls.iter().find(|(c, e)| !**e && self.arrival.contains_key(c));
                if let Some((&c, _)) = ringing {
                    self.agents[i].calls.remove(&c);
                    let mut err = event(E::Error, &DnName::new(RP), Some(c));
                    err.attrs.error_code = Some(ErrorCode::DnNoAnswer);
                    self.feed(err)?;
                    self.feed(event(E::Released, &agent(i + 1), Some(c)))?;
                    self.waiting.insert(c, self.arrival[&c]);
                    self.feed(route_request(c, false))?;
                }
            }
            Act::Direct(i) => {
                self.next_conn += 1;
                let c = 1_000_000 + self.next_conn;
                self.agents[i].calls.insert(c, false);
                self.feed(event(E::Ringing, &agent(i + 1), Some(c)))?;
            }
            Act::Wait(ms) => {
                self.now += ms;
                self.tick()?;
            }
            _ => {}
        }
        // The router's own view agrees with the switch on who is available.
        let view = self.router.view(self.now);
        for (i, a) in view.agents.iter().enumerate() {
            let m = &self.agents[i];
            if a.available {
                prop_assert!(m.logged_in && m.ready && m.calls.is_empty(), "agent {} shown available: {a:?}", i + 1);
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_double_calls_fifo_and_every_waiting_call_is_routed(n in 1usize..4, acts in proptest::collection::vec(act(3), 1..80)) {
        let mut sw = Switch::new(n);
        for a in acts {
            let a = match a {
                Act::Ready(i) | Act::NotReady(i) | Act::Logout(i) | Act::Answer(i) | Act::NoAnswer(i) | Act::Direct(i) if i >= n => continue,
                Act::HangUp(Some(i)) if i >= n => continue,
                a => a,
            };
            sw.step(a)?;
        }
        // Liveness: agents free up and become Ready until nobody waits.
        for _ in 0..=sw.waiting.len() + 1 {
            if sw.waiting.is_empty() {
                break;
            }
            for i in 0..n {
                while let Some(&c) = sw.agents[i].calls.keys().next() {
                    sw.agents[i].calls.remove(&c);
                    sw.feed(event(E::Released, &agent(i + 1), Some(c)))?;
                }
                sw.step(Act::Ready(i))?;
            }
            sw.step(Act::Wait(60_000))?;
        }
        prop_assert!(sw.waiting.is_empty(), "calls left waiting: {:?} ({:?})", sw.waiting, sw.router.view(sw.now));
        prop_assert!(sw.router.view(sw.now).waiting.is_empty());
    }
}
