//! Random call-control sequences through the real actors (client sessions, CallSup, Call actors,
//! connector link, Connector, simulated SfB): whatever the order of customer calls, answers,
//! hang-ups and desktop requests, no Call actor fails, every request is answered exactly once
//! (one event carrying its ReferenceID, never a second), and when the customers and agents hang up
//! no call, call snapshot or Call actor is left behind. The pure model has its own, much larger
//! property test (src/callmodel/tests/proptests.rs); this one proves the shell keeps its promises.

use crate::util::*;
use sfb_tserver::client::Client;
use sfb_tserver::model::{ConnId, DnName, KvList};
use sfb_tserver::tlib::{Request, RequestKind as K};
use std::collections::HashSet;
use std::time::Duration;

const AGENTS: [&str; 3] = ["sip:agent01@skype.lab", "sip:agent02@skype.lab", "sip:agent03@skype.lab"];
const STEPS: usize = 40;

/// xorshift64*: reproducible from the seed printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

struct Desk {
    dn: &'static str,
    client: Client,
    /// ReferenceIDs answered so far.
    answered: HashSet<u32>,
    /// ConnIDs this desktop has seen.
    conns: Vec<ConnId>,
}

impl Desk {
    /// Reads what arrived unsolicited: remembers ConnIDs, fails on a second answer to a request.
    async fn drain(&mut self, seed: u64) {
        while let Some(ev) = self.client.next_event_within(Duration::from_millis(5)).await {
            if let Some(r) = ev.attrs.reference_id.filter(|r| *r != 0) {
                assert!(!self.answered.contains(&r), "seed {seed}: request {r} answered twice: {ev:?}");
            }
            for c in [ev.attrs.conn_id, ev.attrs.transfer_conn_id].into_iter().flatten() {
                if !self.conns.contains(&c) {
                    self.conns.push(c);
                }
            }
        }
    }
}

const KINDS: &[K] = &[
    K::MakeCall,
    K::ReleaseCall,
    K::ClearCall,
    K::HoldCall,
    K::RetrieveCall,
    K::InitiateTransfer,
    K::CompleteTransfer,
    K::InitiateConference,
    K::CompleteConference,
    K::DeleteFromConference,
    K::ReconnectCall,
    K::AlternateCall,
    K::SingleStepTransfer,
    K::SingleStepConference,
    K::AttachUserData,
    K::UpdateUserData,
    K::DeleteAllUserData,
    K::QueryCall,
    K::SendDTMF,
    K::AnswerCall,
];

fn random_request(rng: &mut Rng, desk: &Desk) -> Request {
    let kind = *rng.pick(KINDS);
    let mut r = req(kind, desk.dn);
    // Mostly the newest calls (the older ones have usually ended).
    let conn = |rng: &mut Rng| match desk.conns.len() {
        0 => ConnId(0x0bad),
        n => desk.conns[n - 1 - rng.below(n.min(3))],
    };
    if kind != K::MakeCall {
        r.attrs.conn_id = Some(if rng.below(10) == 0 { ConnId(0x0bad) } else { conn(rng) });
    }
    if matches!(kind, K::CompleteTransfer | K::CompleteConference | K::ReconnectCall | K::AlternateCall) {
        r.attrs.transfer_conn_id = Some(conn(rng));
    }
    let others: Vec<&str> = AGENTS.iter().copied().filter(|a| *a != desk.dn).collect();
    r.attrs.other_dn = Some(DnName::new(if rng.below(8) == 0 { "tel:+14155550999" } else { rng.pick(&others) }));
    r.attrs.user_data = Some(KvList::new().with("step", format!("{}", rng.below(100)).as_str()));
    r.attrs.dtmf_digits = Some("12".into());
    r
}

async fn run_seed(seed: u64) {
    init_log();
    let server = TestServer::start().await;
    let mut rng = Rng(seed | 1);
    let mut desks = Vec::new();
    for dn in AGENTS {
        let client = server.client().await;
        client.register(dn).await.unwrap();
        desks.push(Desk { dn, client, answered: HashSet::new(), conns: Vec::new() });
    }
    let customers: Vec<String> = (0..3).map(|i| format!("tel:+1415555030{i}")).collect();
    let ctx = &server.h().ctx;
    for step in 0..STEPS {
        match rng.below(12) {
            0 | 1 => {
                let (from, to) = (rng.pick(&customers).clone(), *rng.pick(&AGENTS));
                eprintln!("step {step}: {from} calls {to}");
                server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{from}","to":"{to}"}}"#)).await;
            }
            2..=4 => {
                let who = rng.pick(&AGENTS);
                eprintln!("step {step}: {who} answers");
                server.admin_json("POST", &format!("/sim/users/{who}/answer"), "").await;
            }
            5 => {
                let who = rng.pick(&customers);
                eprintln!("step {step}: {who} hangs up");
                server.admin_json("POST", &format!("/sim/users/{who}/hangup"), "").await;
            }
            _ => {
                let d = rng.below(desks.len());
                let mut request = random_request(&mut rng, &desks[d]);
                // Disjoint ReferenceIDs per desk: another desk's answer is never mistaken for ours.
                request.attrs.reference_id = Some((d as u32 + 1) * 100_000 + step as u32);
                let kind = request.kind;
                eprintln!(
                    "step {step}: {} {kind:?} {:?} {:?} {:?}",
                    desks[d].dn, request.attrs.conn_id, request.attrs.transfer_conn_id, request.attrs.other_dn
                );
                let ev = desks[d].client.request(request).await;
                let ev = ev.unwrap_or_else(|e| panic!("seed {seed} step {step}: {kind:?} not answered: {e}"));
                eprintln!("   -> {:?} {:?} {:?}", ev.kind, ev.attrs.error_code, ev.attrs.error_message);
                desks[d].answered.insert(ev.attrs.reference_id.expect("the answer carries the ReferenceID"));
            }
        }
        for d in &mut desks {
            d.drain(seed).await;
        }
        let failed: Vec<_> =
            ctx.board.children().into_iter().filter(|c| c.supervisor == "call-sup" && c.restarts > 0).collect();
        assert!(failed.is_empty(), "seed {seed} step {step}: a Call actor failed: {failed:?}");
    }

    // Everybody hangs up; then nothing of any call may remain.
    let users: Vec<String> = customers.iter().cloned().chain(AGENTS.iter().map(|a| a.to_string())).collect();
    let idle = || async {
        for u in &users {
            let (_, v) = server.admin_json("GET", &format!("/sim/users/{u}"), "").await;
            if v["calls"].as_array().is_some_and(|c| !c.is_empty()) {
                server.admin_json("POST", &format!("/sim/users/{u}/hangup"), "").await;
                return false;
            }
        }
        true
    };
    assert!(wait_until(Duration::from_secs(20), idle).await, "seed {seed}: the simulation still has calls");
    let gone = || async {
        ctx.snapshots.with_prefix("calls:").is_empty()
            && !ctx.board.children().iter().any(|c| c.supervisor == "call-sup")
    };
    let left = || {
        let actors: Vec<String> =
            ctx.board.children().into_iter().filter(|c| c.supervisor == "call-sup").map(|c| c.name).collect();
        (ctx.snapshots.with_prefix("calls:"), actors)
    };
    assert!(wait_until(Duration::from_secs(10), gone).await, "seed {seed}: calls outlived their calls: {:?}", left());
    for d in &mut desks {
        d.drain(seed).await;
    }
    // Still serving: a request on a call that no longer exists is refused with 56.
    let mut probe = req(K::HoldCall, AGENTS[0]);
    probe.attrs.conn_id = desks[0].conns.first().copied().or(Some(ConnId(0x0bad)));
    assert_eq!(error_code(&desks[0].client.request(probe).await.unwrap()), Some(56));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_call_control_through_the_actors() {
    let seeds: Vec<u64> = match std::env::var("CALL_PROPERTY_SEED") {
        Ok(s) => vec![s.parse().expect("CALL_PROPERTY_SEED is a number")],
        Err(_) => vec![1, 2, 3, 0x5eed],
    };
    for seed in seeds {
        run_seed(seed).await;
    }
}
