//! Property test: random sequences of people's and application operations (and time) never panic
//! and keep the world's invariants — no call without parties, every party of a deleted call gone,
//! user indexes consistent with calls — and the event stream consistent: a call's events come
//! between its CallCreated and CallDeleted, a party's between its PartyCreated and PartyDeleted,
//! and the parties the events describe are exactly the parties of each monitored call.

use super::tests::{section, SWITCH};
use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const USERS: &[&str] = &[
    "tel:+14155550100",
    "tel:+14155550101",
    "sip:agent01@skype.lab",
    "sip:agent02@skype.lab",
    "sip:agent03@skype.lab",
    "sip:supervisor1@skype.lab",
    "sip:rp1@skype.lab",
    "sip:bob@skype.lab",
    "sip:carol@skype.lab",
    "sip:helpdesk@skype.lab",
    "sip:dave@skype.lab",
    "sip:x@contoso.com",
    "tel:+14155551212",
    "sip:conf01@skype.lab",
    "sip:nobody@skype.lab",
];

const SIM: &str = r#"
[sim]
conference-scheduling-rate = 5
conference-expiry = "20s"
im-idle-timeout = "30s"
[[sim.user]]
uri = "sip:bob@skype.lab"
[[sim.user]]
uri = "sip:carol@skype.lab"
answer = "auto"
answer-delay = "1s"
[[sim.user]]
uri = "sip:helpdesk@skype.lab"
members = ["sip:bob@skype.lab", "sip:carol@skype.lab"]
alert-time = "3s"
[[sim.user]]
uri = "sip:dave@skype.lab"
forward-to = "sip:agent01@skype.lab"
[[sim.user]]
uri = "sip:agent02@skype.lab"
endpoints = 2
simultaneous-ring = "tel:+14155550101"
[[sim.user]]
uri = "sip:agent03@skype.lab"
federated = true
forward-to = "sip:bob@skype.lab"
forward-after = "2s"
[[sim.user]]
uri = "sip:supervisor1@skype.lab"
answer = "auto"
answer-delay = "500ms"
"#;

#[derive(Clone, Debug)]
enum Op {
    Start(u8, u8, u8, bool),
    Answer(u8, Option<u8>),
    Reject(u8, Option<u8>),
    Hangup(u8),
    Hold(u8),
    Retrieve(u8),
    SendIm(u8),
    Dtmf(u8),
    Presence(u8, u32),
    Escalate(u8, u8),
    MakeCall(u8, u8, u8),
    Release(u8, u8),
    AppHold(u8, u8, bool),
    Redirect(u8, u8),
    AddParty(u8, u8, u8),
    DeleteParty(u8, u8),
    Merge(u8, u8, Option<u8>),
    Transfer(u8, u8, u8),
    AppIm(u8, u8),
    AppDtmf(u8, u8),
    Play(u8, Option<u8>, u8),
    StopPlay(u8),
    SetMode(u8, u8, u8),
    Schedule(u8, bool),
    Subscribe(u8),
    Advance(u32),
    ExportImport,
}

fn op() -> impl Strategy<Value = Op> {
    let u = || any::<u8>();
    prop_oneof![
        4 => (u(), u(), 0u8..3, any::<bool>()).prop_map(|(a, b, m, t)| Op::Start(a, b, m, t)),
        4 => (u(), proptest::option::of(1u8..3)).prop_map(|(a, e)| Op::Answer(a, e)),
        2 => (u(), proptest::option::of(1u8..3)).prop_map(|(a, e)| Op::Reject(a, e)),
        2 => u().prop_map(Op::Hangup),
        1 => u().prop_map(Op::Hold),
        1 => u().prop_map(Op::Retrieve),
        1 => u().prop_map(Op::SendIm),
        1 => u().prop_map(Op::Dtmf),
        1 => (u(), prop_oneof![Just(3500u32), Just(6500), Just(9500), Just(15000), Just(18000)])
            .prop_map(|(a, v)| Op::Presence(a, v)),
        1 => (u(), 0u8..3).prop_map(|(a, m)| Op::Escalate(a, m)),
        3 => (u(), u(), 0u8..3).prop_map(|(a, b, m)| Op::MakeCall(a, b, m)),
        2 => (u(), u()).prop_map(|(c, p)| Op::Release(c, p)),
        2 => (u(), u(), any::<bool>()).prop_map(|(c, p, h)| Op::AppHold(c, p, h)),
        3 => (u(), u()).prop_map(|(c, t)| Op::Redirect(c, t)),
        2 => (u(), u(), 0u8..3).prop_map(|(c, t, m)| Op::AddParty(c, t, m)),
        1 => (u(), u()).prop_map(|(c, p)| Op::DeleteParty(c, p)),
        2 => (u(), u(), proptest::option::of(u())).prop_map(|(c, d, k)| Op::Merge(c, d, k)),
        1 => (u(), u(), u()).prop_map(|(c, p, t)| Op::Transfer(c, p, t)),
        1 => (u(), u()).prop_map(|(c, p)| Op::AppIm(c, p)),
        1 => (u(), u()).prop_map(|(c, p)| Op::AppDtmf(c, p)),
        1 => (u(), proptest::option::of(u()), 0u8..4).prop_map(|(c, p, k)| Op::Play(c, p, k)),
        1 => u().prop_map(Op::StopPlay),
        1 => (u(), u(), 0u8..3).prop_map(|(c, p, m)| Op::SetMode(c, p, m)),
        1 => (u(), any::<bool>()).prop_map(|(e, f)| Op::Schedule(e, f)),
        1 => u().prop_map(Op::Subscribe),
        4 => (0u32..25_000).prop_map(Op::Advance),
        1 => Just(Op::ExportImport),
    ]
}

fn user(i: u8) -> &'static str {
    USERS[i as usize % USERS.len()]
}
fn media(i: u8) -> Media {
    [Media::Voice, Media::Video, Media::Im][i as usize % 3]
}
fn mode(i: u8) -> PartyMode {
    [PartyMode::Normal, PartyMode::Coach, PartyMode::Mute][i as usize % 3]
}

/// Someone on a call half the time (so people's operations often apply), anyone otherwise.
fn person(w: &World, i: u8) -> String {
    if i % 2 == 0 && !w.calls.is_empty() {
        let c = call(w, i / 2 + 1);
        return party(w, c, i / 4 + 1);
    }
    user(i).to_string()
}

/// A call of the world (or, now and then, one that does not exist).
fn call(w: &World, i: u8) -> CallId {
    let ids: Vec<CallId> = w.calls.keys().copied().collect();
    if ids.is_empty() || i % 13 == 0 {
        return CallId(i as u64 % 7 + 1);
    }
    ids[i as usize % ids.len()]
}

/// A party of the call (or any user, now and then).
fn party(w: &World, c: CallId, i: u8) -> String {
    match w.calls.get(&c) {
        Some(call) if i % 11 != 0 => call.parties[i as usize % call.parties.len()].uri.clone(),
        _ => user(i).to_string(),
    }
}

fn apply(w: &mut World, t: &mut u64, op: &Op, cfg: &SimConfig) {
    *t += 10;
    let t = *t;
    let _ = match op.clone() {
        Op::Start(a, b, m, text) => w
            .start_call(t, user(a), user(b), media(m), (text && media(m) == Media::Im).then(|| "hi".into()))
            .map(|_| ()),
        Op::Answer(a, None) => w.answer(t, &person(w, a), None),
        Op::Answer(a, Some(e)) => w.answer_endpoint(t, &person(w, a), None, e as u32),
        Op::Reject(a, None) => w.reject(t, &person(w, a), None),
        Op::Reject(a, Some(e)) => w.reject_endpoint(t, &person(w, a), None, e as u32),
        Op::Hangup(a) => w.hangup(t, &person(w, a), None),
        Op::Hold(a) => w.hold(t, &person(w, a), None),
        Op::Retrieve(a) => w.retrieve(t, &person(w, a), None),
        Op::SendIm(a) => w.send_im(t, &person(w, a), None, "text"),
        Op::Dtmf(a) => w.send_dtmf(t, &person(w, a), None, "1#"),
        Op::Presence(a, v) => w.set_presence(t, user(a), v, None),
        Op::Escalate(a, m) => w.escalate(t, &person(w, a), None, media(m)).map(|_| ()),
        Op::MakeCall(a, b, m) => w.app_make_call(t, user(a), user(b), media(m), None).map(|_| ()),
        Op::Release(c, p) => {
            let c = call(w, c);
            w.app_release(t, c, &party(w, c, p))
        }
        Op::AppHold(c, p, hold) => {
            let c = call(w, c);
            let p = party(w, c, p);
            if hold {
                w.app_hold(t, c, &p)
            } else {
                w.app_retrieve(t, c, &p)
            }
        }
        Op::Redirect(c, to) => w.app_redirect(t, call(w, c), user(to)),
        Op::AddParty(c, to, m) => w.app_add_party(t, call(w, c), user(to), mode(m)),
        Op::DeleteParty(c, p) => {
            let c = call(w, c);
            w.app_delete_party(t, c, &party(w, c, p))
        }
        Op::Merge(c, d, keep) => {
            let (c, d) = (call(w, c), call(w, d));
            let keep = keep.map(|k| party(w, c, k));
            w.app_merge(t, c, d, keep.as_deref())
        }
        Op::Transfer(c, p, to) => {
            let c = call(w, c);
            w.app_single_step_transfer(t, c, &party(w, c, p), user(to))
        }
        Op::AppIm(c, p) => {
            let c = call(w, c);
            w.app_send_im(t, c, &party(w, c, p), "treatment")
        }
        Op::AppDtmf(c, p) => {
            let c = call(w, c);
            w.app_send_dtmf(t, c, &party(w, c, p), "9")
        }
        Op::Play(c, p, k) => {
            let c = call(w, c);
            let p = p.map(|p| party(w, c, p));
            let what = match k {
                0 => Playback::Announcement { file: "a.wav".into(), duration_ms: Some(1500) },
                1 => Playback::Music { file: "m.wav".into(), duration_ms: None },
                2 => Playback::Silence { duration_ms: Some(100) },
                _ => Playback::CollectDigits { prompt: None, max_digits: 2, terminator: Some('#'), timeout_ms: 2000 },
            };
            w.app_play(t, c, p.as_deref(), what)
        }
        Op::StopPlay(c) => w.app_stop_play(t, call(w, c)),
        Op::SetMode(c, p, m) => {
            let c = call(w, c);
            w.app_set_mode(c, &party(w, c, p), mode(m))
        }
        Op::Schedule(e, flag) => {
            w.schedule_conference(t, &format!("sip:conf{:02}@skype.lab", e % 4 + 1), flag).map(|_| ())
        }
        Op::Subscribe(a) => w.subscribe_presence(user(a)),
        Op::Advance(ms) => {
            w.advance(t + ms as u64);
            Ok(())
        }
        Op::ExportImport => {
            let records = w.export_calls();
            let mut fresh = World::new(cfg.clone());
            fresh.register_endpoint("sip:rp1@skype.lab").unwrap();
            fresh.advance(w.now());
            let n = fresh.import_calls(records.clone()).expect("exported records import");
            assert_eq!(n, records.len());
            assert_eq!(fresh.calls(), w.calls(), "export/import round trip");
            assert_eq!(fresh.export_calls(), records);
            Ok(())
        }
    };
}

/// What the event stream says about calls.
#[derive(Default)]
struct Tracker {
    live: BTreeMap<CallId, BTreeSet<String>>,
    deleted: BTreeSet<CallId>,
}

impl Tracker {
    fn feed(&mut self, events: &[SimEvent]) -> Result<(), String> {
        for e in events {
            let Some(c) = e.call() else { continue };
            if self.deleted.contains(&c) {
                return Err(format!("{e:?} after CallDeleted"));
            }
            match e {
                SimEvent::CallCreated { .. } if self.live.insert(c, BTreeSet::new()).is_some() => {
                    return Err(format!("second {e:?}"));
                }
                SimEvent::CallCreated { .. } => {}
                _ if !self.live.contains_key(&c) => return Err(format!("{e:?} before CallCreated")),
                SimEvent::PartyCreated { party, .. } if !self.live.get_mut(&c).unwrap().insert(party.clone()) => {
                    return Err(format!("{e:?}: the party exists"));
                }
                SimEvent::PartyStateChanged { party, .. } | SimEvent::DtmfReceived { party, .. }
                    if !self.live[&c].contains(party) =>
                {
                    return Err(format!("{e:?} before PartyCreated"));
                }
                SimEvent::PartyDeleted { party, .. } if !self.live.get_mut(&c).unwrap().remove(party) => {
                    return Err(format!("{e:?} before PartyCreated"));
                }
                SimEvent::CallDeleted { .. } => {
                    if !self.live[&c].is_empty() {
                        return Err(format!("{e:?} with parties {:?}", self.live[&c]));
                    }
                    self.live.remove(&c);
                    self.deleted.insert(c);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn check(w: &World, tr: &Tracker) -> Result<(), String> {
    for (id, c) in &w.calls {
        if c.parties.is_empty() {
            return Err(format!("call {id} has no parties"));
        }
        let uris: BTreeSet<String> = c.parties.iter().map(|p| p.uri.clone()).collect();
        if uris.len() != c.parties.len() {
            return Err(format!("call {id} has a party twice"));
        }
        for p in &c.parties {
            if !w.users.get(&p.uri).is_some_and(|u| u.calls.contains(id)) {
                return Err(format!("{} does not know it is on call {id}", p.uri));
            }
            if p.state == PartyState::Disconnected {
                return Err(format!("{} is Disconnected on call {id}", p.uri));
            }
        }
        for h in &c.hunts {
            if h.members.iter().any(|m| !c.has(m)) {
                return Err(format!("call {id}: hunt {} has a member that left", h.id));
            }
        }
        match (c.monitored, tr.live.get(id)) {
            (true, Some(seen)) if *seen != uris => {
                return Err(format!("call {id}: events say {seen:?}, the world {uris:?}"))
            }
            (true, None) => return Err(format!("monitored call {id} was never reported")),
            (false, Some(_)) => return Err(format!("unmonitored call {id} was reported")),
            _ => {}
        }
    }
    for id in tr.live.keys() {
        if !w.calls.contains_key(id) {
            return Err(format!("call {id} is gone without CallDeleted"));
        }
    }
    for (uri, u) in &w.users {
        for id in &u.calls {
            if !w.calls.get(id).is_some_and(|c| c.has(uri)) {
                return Err(format!("{uri} thinks it is on call {id}"));
            }
        }
        for id in u.playing.keys() {
            if !w.calls.get(id).is_some_and(|c| c.has(uri)) {
                return Err(format!("{uri} hears a playback of call {id} it is not on"));
            }
        }
    }
    if !w.dirty_calls.is_empty() || !w.dirty_users.is_empty() {
        return Err("derived state left stale after an operation".into());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_world_consistent(ops in proptest::collection::vec(op(), 1..80)) {
        let server = crate::config::load_str(SWITCH).unwrap();
        let cfg = SimConfig::from_server_config(&server, section(SIM)).unwrap();
        let mut w = World::new(cfg.clone());
        w.register_endpoint("sip:rp1@skype.lab").unwrap();
        let mut tr = Tracker::default();
        let mut t = 0;
        for op in &ops {
            apply(&mut w, &mut t, op, &cfg);
            let events = w.drain_events();
            if let Err(e) = tr.feed(&events).and_then(|_| check(&w, &tr)) {
                return Err(TestCaseError::fail(format!("after {op:?}: {e}\nevents: {events:#?}")));
            }
        }
        w.advance(t + 10_000_000);
        let events = w.drain_events();
        tr.feed(&events).map_err(TestCaseError::fail)?;
        check(&w, &tr).map_err(TestCaseError::fail)?;
    }
}
