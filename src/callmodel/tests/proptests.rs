//! Property tests: random request sequences mixed with random actions of people on the simulated
//! SfB, a silent Connector now and then, and timeouts. Nothing panics, every request is answered
//! exactly once (its answering event or EventError carries its ReferenceID), no event follows a
//! call's end (both checked by `Log` as events flow), the table ends in step with the simulated
//! SfB, and snapshots round-trip.

use super::*;
use crate::model::KvList;
use crate::tlib::RequestKind as K;
use proptest::prelude::*;

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
    K::DeleteUserData,
    K::DeleteAllUserData,
    K::QueryCall,
    K::SendDTMF,
    K::SendUserEvent,
    K::PrivateService,
    K::AnswerCall,
    K::MergeCalls,
];

const PEOPLE: &[&str] = &["customer", "agent01", "agent02", "agent03", "agent04"];

#[derive(Clone, Debug)]
enum Step {
    Request { kind: usize, this: usize, conn: usize, other: usize, transfer: usize, flags: u8 },
    CustomerCalls { agent: usize },
    Answer(usize),
    Hangup(usize),
    Hold(usize),
    Retrieve(usize),
    Advance(u64),
    Silent(bool),
    Expire,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..KINDS.len(), 1..PEOPLE.len(), 0..8usize, 0..PEOPLE.len(), 0..8usize, any::<u8>()).prop_map(
            |(kind, this, conn, other, transfer, flags)| Step::Request { kind, this, conn, other, transfer, flags }
        ),
        2 => (1..PEOPLE.len()).prop_map(|agent| Step::CustomerCalls { agent }),
        6 => (0..PEOPLE.len()).prop_map(Step::Answer),
        2 => (0..PEOPLE.len()).prop_map(Step::Hangup),
        1 => (1..PEOPLE.len()).prop_map(Step::Hold),
        1 => (1..PEOPLE.len()).prop_map(Step::Retrieve),
        1 => (0..30_000u64).prop_map(Step::Advance),
        1 => any::<bool>().prop_map(Step::Silent),
        1 => Just(Step::Expire),
    ]
}

fn run(r: &mut Rig, s: &Step) {
    match s.clone() {
        Step::Request { kind, this, conn, other, transfer, flags } => {
            // Mostly the calls the requester is on (newest first), sometimes any call or none.
            let me = crate::model::DnName::new(uri(PEOPLE[this]));
            let mine: Vec<ConnId> =
                r.table.calls().rev().filter(|c| c.party_of_dn(&me).is_some()).map(|c| c.conn_id).collect();
            let all = &r.log.conns;
            let pick = |i: usize| match (i, mine.len(), all.len()) {
                (0..=5, n, _) if n > 0 => mine[i % n],
                (0..=6, _, n) if n > 0 => all[all.len() - 1 - i % n],
                _ => ConnId(0xdead),
            };
            let c = pick(conn);
            let t = [pick(transfer), pick(transfer + 1)].into_iter().find(|t| *t != c).unwrap_or(c);
            // Attributes are present unless `flags` (rarely) drops one.
            let drop = |bit: u8| flags & 0xf0 == 0xf0 && flags & bit != 0;
            r.request(KINDS[kind], PEOPLE[this], |a| {
                a.conn_id = (!drop(1)).then_some(c);
                a.transfer_conn_id = (!drop(2)).then_some(t);
                a.other_dn = (!drop(4)).then(|| uri(PEOPLE[other]).as_str().into());
                a.user_data = (!drop(8)).then(|| KvList::new().with("k", format!("v{flags}")));
                a.key = Some("k".to_string());
                a.dtmf_digits = Some("12#".to_string());
                a.private_msg_id = Some(7);
                a.extensions = (flags & 7 == 7).then(|| KvList::new().with("chat", "true"));
            });
        }
        Step::CustomerCalls { agent } => r.person(|w, now| {
            let _ = w.start_call(now, CUSTOMER, &uri(PEOPLE[agent]), sim::Media::Voice, None);
        }),
        Step::Answer(p) => r.person(|w, now| drop(w.answer(now, &uri(PEOPLE[p]), None))),
        Step::Hangup(p) => r.person(|w, now| drop(w.hangup(now, &uri(PEOPLE[p]), None))),
        Step::Hold(p) => r.person(|w, now| drop(w.hold(now, &uri(PEOPLE[p]), None))),
        Step::Retrieve(p) => r.person(|w, now| drop(w.retrieve(now, &uri(PEOPLE[p]), None))),
        Step::Advance(ms) => r.advance(ms),
        Step::Silent(true) => r.silent = true,
        Step::Silent(false) => r.release_silence(),
        Step::Expire => r.expire(),
    }
}

/// Lets the Connector answer everything and every request timeout elapse.
fn quiesce(r: &mut Rig) {
    r.release_silence();
    for _ in 0..10 {
        if r.sent.is_empty() {
            break;
        }
        r.expire();
    }
}

/// The end state: every request answered once, no operation left, the table in step with the
/// simulated SfB (same calls, same parties), the snapshot round-trips.
fn check_final(r: &Rig) -> Result<(), TestCaseError> {
    for id in &r.log.requests {
        prop_assert_eq!(r.log.answers.get(id).copied().unwrap_or(0), 1, "request {} not answered once", id);
    }
    prop_assert!(r.table.calls().all(|c| c.op.is_none() && c.locked_by.is_none()), "operations left pending");
    let monitored: BTreeSet<u64> = r.world.calls().iter().filter(|c| c.monitored).map(|c| c.id.0).collect();
    let known: BTreeSet<u64> = r.table.calls().filter_map(|c| c.switch.as_ref().map(|s| s.call)).collect();
    prop_assert_eq!(&monitored, &known, "table and switch disagree on the calls");
    prop_assert!(r.table.calls().all(|c| c.switch.is_some()), "a dialed call was never reported");
    for c in r.table.calls() {
        let parties: BTreeSet<String> = c.parties.iter().map(|p| uri_key(&p.uri)).collect();
        let view = r.world.call_view(CallId(c.switch.as_ref().unwrap().call)).unwrap();
        let switch: BTreeSet<String> = view.parties.iter().map(|p| uri_key(&p.uri)).collect();
        prop_assert_eq!(parties, switch, "parties of {}", c.conn_id);
    }
    let snap = r.table.snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    let back: TableSnapshot = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(back, snap);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_contract(steps in proptest::collection::vec(step(), 1..80), respond_first: bool) {
        let mut r = Rig::new();
        r.respond_first = respond_first;
        // Two answered customer calls to start from, so two-call operations have material.
        for agent in ["agent01", "agent03"] {
            r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri(agent), sim::Media::Voice, None)));
            r.person(|w, now| drop(w.answer(now, &uri(agent), None)));
        }
        for s in &steps {
            run(&mut r, s);
        }
        quiesce(&mut r);
        if std::env::var("CALLMODEL_STATS").is_ok() {
            let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
            for d in &r.log.deliveries {
                let k = match d.event.attrs.error_code {
                    Some(c) => format!("Error{}", c.code()),
                    None if d.event.attrs.reference_id.is_some() => format!("{}*", d.event.kind.name()),
                    None => d.event.kind.name().to_string(),
                };
                *kinds.entry(k).or_default() += 1;
            }
            eprintln!("STATS {kinds:?}");
        }
        check_final(&r)?;
    }
}
