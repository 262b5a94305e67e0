//! Scenario tests of the simulated world, deterministic with explicit `now`: each behaviour the
//! issue lists, checked through events (golden sequences), user views and errors.

use super::*;

pub(super) const SWITCH: &str = r#"
[TServer]
link-1-name = "connector1"
[connector1]
hostname = "127.0.0.1"
port = 9001
protocol = "tcp"
pool-name = ""
use-certificate = true
[switch.annex.conference-services]
count = 3
uri-pattern = "sip:conf{DD}@skype.lab"
[switch.annex.connector]
music-on-hold-file-path = "moh.wma"
ringtone-file-path = "ring.wma"
[[dn]]
number = "sip:rp1@skype.lab"
type = "Routing Point"
[[dn]]
number = "sip:erp1@skype.lab"
type = "External Routing Point"
association = "+14155551212"
[[dn]]
number = "sip:agent01@skype.lab"
type = "Extension"
[[dn]]
number = "sip:agent02@skype.lab"
type = "Extension"
[[dn]]
number = "sip:agent03@skype.lab"
type = "Extension"
[[dn]]
number = "sip:supervisor1@skype.lab"
type = "Extension"
"#;

pub(super) const CUSTOMER: &str = "tel:+14155550100";
pub(super) const A1: &str = "sip:agent01@skype.lab";
pub(super) const A2: &str = "sip:agent02@skype.lab";
pub(super) const A3: &str = "sip:agent03@skype.lab";
pub(super) const SUP: &str = "sip:supervisor1@skype.lab";
pub(super) const RP: &str = "sip:rp1@skype.lab";

pub(super) fn section(toml: &str) -> SimSection {
    if toml.trim().is_empty() {
        return SimSection::default();
    }
    let c = ::config::Config::builder()
        .add_source(::config::File::from_str(toml, ::config::FileFormat::Toml))
        .build()
        .unwrap();
    c.get::<SimSection>("sim").unwrap()
}

/// A world from [`SWITCH`] (music on hold and ring-back configured unless `plain`) plus a `[sim]`
/// section, with the Routing Points registered.
pub(super) fn world_from(plain: bool, sim: &str) -> World {
    let mut toml = SWITCH.to_string();
    if plain {
        toml = toml
            .replace("music-on-hold-file-path = \"moh.wma\"\n", "")
            .replace("ringtone-file-path = \"ring.wma\"\n", "");
    }
    let server = crate::config::load_str(&toml).unwrap();
    let mut w = World::new(SimConfig::from_server_config(&server, section(sim)).unwrap());
    w.register_endpoint(RP).unwrap();
    w.register_endpoint("sip:erp1@skype.lab").unwrap();
    w
}

pub(super) fn world(sim: &str) -> World {
    world_from(false, sim)
}

fn short(uri: &str) -> String {
    match uri.strip_prefix("sip:").and_then(|u| u.split_once('@')) {
        Some((user, _)) => user.to_string(),
        None => uri.to_string(),
    }
}

/// One line per event, URIs shortened: golden sequences stay readable.
pub(super) fn show(e: &SimEvent) -> String {
    match e {
        SimEvent::CallCreated { call, media, from, to, direction, .. } => {
            format!("CallCreated {call} {media:?} {}->{} {direction:?}", short(from), short(to))
        }
        SimEvent::PartyCreated { call, party, state } => format!("PartyCreated {call} {} {state:?}", short(party)),
        SimEvent::PartyStateChanged { call, party, state, cause } => {
            format!("PartyStateChanged {call} {} {state:?} {cause:?}", short(party))
        }
        SimEvent::PartyDeleted { call, party, cause } => format!("PartyDeleted {call} {} {cause:?}", short(party)),
        SimEvent::CallDeleted { call, cause } => format!("CallDeleted {call} {cause:?}"),
        SimEvent::MediaChanged { call, media } => format!("MediaChanged {call} {media:?}"),
        SimEvent::PresenceChanged { user, availability, activity, presence_type } => {
            format!("PresenceChanged {} {availability} {activity:?} {presence_type:?}", short(user))
        }
        SimEvent::ImReceived { call, from, text } => format!("ImReceived {call} {} {text:?}", short(from)),
        SimEvent::DtmfReceived { call, party, digits } => format!("DtmfReceived {call} {} {digits}", short(party)),
        SimEvent::PlaybackEnded { call, party, status, .. } => {
            format!("PlaybackEnded {call} {} {status:?}", short(party))
        }
        SimEvent::ConferenceScheduled { id, endpoint } => format!("ConferenceScheduled {id} {}", short(endpoint)),
        SimEvent::ConferenceFailed { id, endpoint, .. } => format!("ConferenceFailed {id} {}", short(endpoint)),
        SimEvent::ConferenceExpired { id, endpoint } => format!("ConferenceExpired {id} {}", short(endpoint)),
    }
}

pub(super) fn drain(w: &mut World) -> Vec<String> {
    w.drain_events().iter().map(show).collect()
}

fn call_of(w: &World, user: &str) -> CallView {
    let v = w.user_view(user).unwrap();
    assert_eq!(v.calls.len(), 1, "{user}: {:?}", v.calls);
    v.calls[0].clone()
}

fn state(w: &World, user: &str, call: CallId) -> Option<PartyState> {
    w.user_view(user).unwrap().calls.iter().find(|c| c.id == call).map(|c| c.state)
}

/// A customer call routed from the Routing Point to agent01 and answered: (call, events).
fn routed_call(w: &mut World, t: u64) -> CallId {
    let c = w.start_call(t, CUSTOMER, RP, Media::Voice, None).unwrap().call;
    w.app_redirect(t + 100, c, A1).unwrap();
    w.answer(t + 200, A1, None).unwrap();
    c
}

#[test]
fn routing_point_call_is_hosted_monitored_and_routed() {
    let mut w = world_from(true, "");
    let started = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap();
    let c = started.call;
    assert_eq!(started.conversation_id.len(), 32);
    assert_eq!(
        drain(&mut w),
        [
            "CallCreated 1 Voice tel:+14155550100->rp1 Inbound",
            "PartyCreated 1 tel:+14155550100 Dialing",
            "PartyCreated 1 rp1 Alerting",
            "PartyStateChanged 1 rp1 Connected Answered",
            "PartyStateChanged 1 tel:+14155550100 Connected Answered",
        ]
    );
    assert_eq!(w.call_view(c).unwrap().conference.as_deref(), Some("sip:conf01@skype.lab"));
    w.app_redirect(1000, c, A1).unwrap();
    assert_eq!(drain(&mut w), ["PartyCreated 1 agent01 Alerting", "PartyDeleted 1 rp1 Redirected"]);
    w.answer(2000, A1, None).unwrap();
    assert_eq!(
        drain(&mut w),
        ["PartyStateChanged 1 agent01 Connected Answered"],
        "the customer was connected to the conference already"
    );
    assert_eq!(call_of(&w, A1).hears, [CUSTOMER]);
    assert_eq!(call_of(&w, CUSTOMER).hears, [A1]);
    w.hangup(3000, CUSTOMER, None).unwrap();
    assert_eq!(
        drain(&mut w),
        ["PartyDeleted 1 tel:+14155550100 Hangup", "PartyDeleted 1 agent01 CallEnded", "CallDeleted 1 Hangup"]
    );
    assert!(w.calls().is_empty());
}

#[test]
fn an_unregistered_routing_point_does_not_take_calls() {
    let mut w = world("");
    w.unregister_endpoint(RP);
    w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap();
    let ev = drain(&mut w);
    assert_eq!(ev[2], "PartyCreated 1 rp1 Alerting");
    assert_eq!(
        &ev[3..],
        ["PartyDeleted 1 rp1 Unavailable", "PartyDeleted 1 tel:+14155550100 CallEnded", "CallDeleted 1 Unavailable"]
    );
}

#[test]
fn external_parties_are_created_on_first_use_and_lines_reach_their_users() {
    let mut w = world("");
    assert!(matches!(w.user_view(CUSTOMER), Err(SimError::UnknownUser(_))));
    let c = w.start_call(0, "+1 (415) 555-0100", A1, Media::Voice, None).unwrap().call;
    let v = w.user_view(CUSTOMER).unwrap();
    assert_eq!(v.kind, UserKind::External);
    assert_eq!(v.calls[0].direction, Direction::Inbound);
    assert_eq!(v.calls[0].state, PartyState::Dialing);
    assert_eq!(w.call_view(c).unwrap().conference, None, "a direct call is peer-to-peer");
    // Another domain is external too; the domain's own unknown users are not.
    w.start_call(0, A2, "sip:bob@contoso.com", Media::Voice, None).unwrap();
    assert_eq!(w.user_view("sip:bob@contoso.com").unwrap().calls[0].direction, Direction::Outbound);
    let e = w.start_call(0, A2, "sip:nobody@skype.lab", Media::Voice, None).unwrap_err();
    assert_eq!((e.http_status(), e.error_code().code()), (422, 415));
    // The External Routing Point's Association number reaches it.
    let c = w.start_call(0, "tel:+16505550001", "tel:+14155551212", Media::Voice, None).unwrap().call;
    assert!(w.call_view(c).unwrap().parties.iter().any(|p| p.uri == "sip:erp1@skype.lab"));
    let e = w.start_call(0, CUSTOMER, "tel:+16505550001", Media::Voice, None).unwrap_err();
    assert!(e.to_string().contains("neither party"), "{e}");
}

#[test]
fn calls_between_unmonitored_users_are_invisible() {
    let mut w = world("[[sim.user]]\nuri = \"sip:bob@skype.lab\"\n[[sim.user]]\nuri = \"sip:carol@skype.lab\"\n");
    let c = w.start_call(0, "sip:bob@skype.lab", "sip:carol@skype.lab", Media::Voice, None).unwrap().call;
    w.answer(10, "sip:carol@skype.lab", None).unwrap();
    w.hangup(20, "sip:bob@skype.lab", None).unwrap();
    assert!(drain(&mut w).is_empty());
    assert!(matches!(w.app_release(30, c, "sip:bob@skype.lab"), Err(SimError::NoSuchCall(_))));
}

#[test]
fn a_user_with_two_endpoints_is_forked_and_the_first_answer_wins() {
    let mut w = world("[[sim.user]]\nuri = \"sip:agent01@skype.lab\"\nendpoints = 2\n");
    let c = w.start_call(0, CUSTOMER, A1, Media::Voice, None).unwrap().call;
    assert_eq!(call_of(&w, A1).alerting_endpoints, [1, 2]);
    w.reject_endpoint(10, A1, None, 1).unwrap();
    assert_eq!(call_of(&w, A1).alerting_endpoints, [2], "declined on one endpoint, still alerting on the other");
    assert!(matches!(w.answer_endpoint(20, A1, None, 1), Err(SimError::BadArgument(_))));
    w.answer_endpoint(30, A1, Some(c), 2).unwrap();
    let v = call_of(&w, A1);
    assert_eq!((v.state, v.answered_on, v.alerting_endpoints.len()), (PartyState::Connected, Some(2), 0));
    // Declined on every endpoint: rejected.
    let c2 = w.start_call(40, "tel:+16505550002", A1, Media::Voice, None).unwrap().call;
    w.reject_endpoint(50, A1, Some(c2), 2).unwrap();
    w.reject_endpoint(60, A1, Some(c2), 1).unwrap();
    assert!(w.call_view(c2).is_err());
    let ev = drain(&mut w);
    assert!(ev.contains(&"PartyDeleted 2 agent01 Rejected".to_string()), "{ev:?}");
}

#[test]
fn call_forwarding_immediate_and_after_alerting() {
    let mut w = world(
        "[[sim.user]]\nuri = \"sip:agent01@skype.lab\"\nforward-to = \"sip:agent02@skype.lab\"\n\
         [[sim.user]]\nuri = \"sip:agent02@skype.lab\"\nforward-to = \"tel:+16505550003\"\nforward-after = \"5s\"\n",
    );
    w.start_call(0, CUSTOMER, A1, Media::Voice, None).unwrap();
    assert_eq!(
        drain(&mut w),
        [
            "CallCreated 1 Voice tel:+14155550100->agent01 Inbound",
            "PartyCreated 1 tel:+14155550100 Dialing",
            "PartyCreated 1 agent01 Alerting",
            "PartyDeleted 1 agent01 Forwarded",
            "PartyCreated 1 agent02 Alerting",
        ]
    );
    w.advance(4999);
    assert!(drain(&mut w).is_empty());
    w.advance(5000);
    assert_eq!(drain(&mut w), ["PartyDeleted 1 agent02 Forwarded", "PartyCreated 1 tel:+16505550003 Alerting"]);
    w.answer(6000, "tel:+16505550003", None).unwrap();
    assert_eq!(call_of(&w, CUSTOMER).hears, ["tel:+16505550003"]);
    assert_eq!(call_of(&w, CUSTOMER).state, PartyState::Connected);
}

#[test]
fn forwarding_loops_are_undeliverable() {
    let mut w = world(
        "[[sim.user]]\nuri = \"sip:agent01@skype.lab\"\nforward-to = \"sip:agent02@skype.lab\"\n\
         [[sim.user]]\nuri = \"sip:agent02@skype.lab\"\nforward-to = \"sip:agent01@skype.lab\"\n",
    );
    let c = w.start_call(0, CUSTOMER, A1, Media::Voice, None).unwrap().call;
    assert!(w.call_view(c).is_err());
    let ev = drain(&mut w);
    assert!(ev.ends_with(&["CallDeleted 1 Unavailable".to_string()]), "{ev:?}");
}

#[test]
fn simultaneous_ringing_first_answer_wins() {
    let mut w = world("[[sim.user]]\nuri = \"sip:agent01@skype.lab\"\nsimultaneous-ring = \"tel:+16505550004\"\n");
    let c = w.start_call(0, A2, A1, Media::Voice, None).unwrap().call;
    assert_eq!(state(&w, "tel:+16505550004", c), Some(PartyState::Alerting));
    assert_eq!(state(&w, A1, c), Some(PartyState::Alerting));
    drain(&mut w);
    w.answer(10, "tel:+16505550004", None).unwrap();
    assert_eq!(
        drain(&mut w),
        [
            "PartyDeleted 1 agent01 AnsweredElsewhere",
            "PartyStateChanged 1 tel:+16505550004 Connected Answered",
            "PartyStateChanged 1 agent02 Connected Answered",
        ]
    );
    // One member declining does not end the ringing.
    let c = w.start_call(20, A3, A1, Media::Voice, None).unwrap().call;
    w.reject(30, A1, Some(c)).unwrap();
    assert_eq!(state(&w, "tel:+16505550004", c), Some(PartyState::Alerting));
    w.reject(40, "tel:+16505550004", Some(c)).unwrap();
    assert!(w.call_view(c).is_err(), "all declined: the call failed");
}

const RG: &str = "sip:helpdesk@skype.lab";

fn rg_world(mode: &str) -> World {
    world(&format!(
        "[[sim.user]]\nuri = \"{RG}\"\nmembers = [\"sip:bob@skype.lab\", \"sip:carol@skype.lab\"]\nmode = \"{mode}\"\n\
         alert-time = \"10s\"\n[[sim.user]]\nuri = \"sip:bob@skype.lab\"\n[[sim.user]]\nuri = \"sip:carol@skype.lab\"\n"
    ))
}

#[test]
fn response_group_serial_hunting() {
    let mut w = rg_world("serial");
    let c = w.start_call(0, A1, RG, Media::Voice, None).unwrap().call;
    assert_eq!(
        drain(&mut w),
        [
            "CallCreated 1 Voice agent01->helpdesk Internal",
            "PartyCreated 1 agent01 Dialing",
            "PartyCreated 1 helpdesk Alerting",
            "PartyStateChanged 1 helpdesk Connected Answered",
            "PartyStateChanged 1 agent01 Connected Answered",
            "PartyCreated 1 bob Alerting",
        ],
        "the Response Group answers, then offers its members (guide: B2BUA event flow)"
    );
    w.advance(10_000);
    assert_eq!(drain(&mut w), ["PartyDeleted 1 bob NoAnswer", "PartyCreated 1 carol Alerting"]);
    w.answer(12_000, "sip:carol@skype.lab", None).unwrap();
    assert_eq!(drain(&mut w), ["PartyStateChanged 1 carol Connected Answered", "PartyDeleted 1 helpdesk Transferred"]);
    assert_eq!(call_of(&w, A1).hears, ["sip:carol@skype.lab"]);
    assert_eq!(w.call_view(c).unwrap().parties.len(), 2);
}

#[test]
fn response_group_parallel_hunting_and_timeout() {
    let mut w = rg_world("parallel");
    let c = w.start_call(0, A1, RG, Media::Voice, None).unwrap().call;
    assert_eq!(state(&w, "sip:bob@skype.lab", c), Some(PartyState::Alerting));
    assert_eq!(state(&w, "sip:carol@skype.lab", c), Some(PartyState::Alerting));
    drain(&mut w);
    w.answer(1000, "sip:carol@skype.lab", None).unwrap();
    assert_eq!(
        drain(&mut w),
        [
            "PartyDeleted 1 bob AnsweredElsewhere",
            "PartyStateChanged 1 carol Connected Answered",
            "PartyDeleted 1 helpdesk Transferred",
        ]
    );
    let c = w.start_call(2000, A2, RG, Media::Voice, None).unwrap().call;
    drain(&mut w);
    w.advance(12_000);
    assert_eq!(
        drain(&mut w),
        [
            "PartyDeleted 2 bob NoAnswer",
            "PartyDeleted 2 carol NoAnswer",
            "PartyDeleted 2 helpdesk NoAnswer",
            "PartyDeleted 2 agent02 CallEnded",
            "CallDeleted 2 NoAnswer",
        ]
    );
    assert!(w.call_view(c).is_err());
}

#[test]
fn response_groups_reject_calls_from_the_application() {
    let mut w = rg_world("serial");
    let c = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap().call;
    let e = w.app_redirect(10, c, RG).unwrap_err();
    assert_eq!(e.error_code().code(), 415);
    assert!(w.app_make_call(10, A1, RG, Media::Voice, None).is_err());
    assert!(w.app_add_party(10, c, RG, PartyMode::Normal).is_err());
    // Members must be unmonitored users.
    let server = crate::config::load_str(SWITCH).unwrap();
    let bad = section(&format!("[[sim.user]]\nuri = \"{RG}\"\nmembers = [\"{A1}\"]\n"));
    assert!(SimConfig::from_server_config(&server, bad).unwrap_err().to_string().contains("unmonitored"));
}

#[test]
fn federated_users_show_five_presence_states_and_refuse_publishing() {
    let mut w = world("[[sim.user]]\nuri = \"sip:agent03@skype.lab\"\nfederated = true\n");
    assert_eq!(w.register_endpoint(A3).unwrap(), PresenceType::Remote);
    assert_eq!(w.register_endpoint(A1).unwrap(), PresenceType::Local);
    w.subscribe_presence(A3).unwrap();
    assert_eq!(drain(&mut w), ["PresenceChanged agent03 3000 None Remote"]);
    w.set_presence(10, A3, 4600, Some("idle".into())).unwrap();
    w.set_presence(20, A3, 12500, Some("lunch".into())).unwrap();
    w.set_presence(30, A3, 7600, None).unwrap();
    w.set_presence(40, A3, 3200, Some("note".into())).unwrap();
    assert_eq!(
        drain(&mut w),
        [
            "PresenceChanged agent03 15000 None Remote",
            "PresenceChanged agent03 6000 None Remote",
            "PresenceChanged agent03 3000 None Remote",
        ],
        "idle and be-right-back show as Away (reported once), busy-idle as Busy, no activity text"
    );
    let e = w.publish_presence(50, A3, 6000, None).unwrap_err();
    assert!(matches!(e, SimError::Refused(_)), "{e}");
    assert_eq!(w.user_view(A3).unwrap().presence.unwrap().base.availability, 3200);
    // A call presented directly to an Office 365 user is not monitored (guide limitation).
    w.start_call(60, CUSTOMER, A3, Media::Voice, None).unwrap();
    w.answer(70, A3, None).unwrap();
    assert_eq!(drain(&mut w), ["PresenceChanged agent03 6000 None Remote"], "on a call: Busy, without 'in a call'");
}

#[test]
fn on_call_presence_is_busy_and_restored_after() {
    let mut w = world("");
    w.subscribe_presence(A1).unwrap();
    w.set_presence(0, A1, 3500, Some("ready".into())).unwrap();
    drain(&mut w);
    let c = routed_call(&mut w, 100);
    let ev = drain(&mut w);
    assert_eq!(ev.last().unwrap(), "PresenceChanged agent01 6000 Some(\"in-a-call\") Local");
    assert_eq!(w.user_view(A1).unwrap().presence.unwrap().state, PresenceState::Busy);
    w.app_hold(1000, c, A1).unwrap();
    assert!(!drain(&mut w).iter().any(|e| e.starts_with("Presence")), "holding is still on a call");
    w.hangup(2000, A1, None).unwrap();
    assert_eq!(drain(&mut w).last().unwrap(), "PresenceChanged agent01 3500 Some(\"ready\") Local");
    w.unsubscribe_presence(A1);
    w.set_presence(3000, A1, 9000, None).unwrap();
    assert!(drain(&mut w).is_empty());
    assert!(w.set_presence(0, A1, 18001, None).is_err());
    assert!(w.subscribe_presence(CUSTOMER).is_err());
}

#[test]
fn answer_behaviours() {
    let mut w = world(
        "[[sim.user]]\nuri = \"sip:agent01@skype.lab\"\nanswer = \"auto\"\nanswer-delay = \"2s\"\n\
         [[sim.user]]\nuri = \"sip:agent02@skype.lab\"\nanswer = \"reject\"\n",
    );
    let c = w.start_call(1000, CUSTOMER, A1, Media::Voice, None).unwrap().call;
    assert_eq!(w.next_deadline(), Some(3000));
    w.advance(2999);
    assert_eq!(state(&w, A1, c), Some(PartyState::Alerting));
    w.advance(3000);
    assert_eq!(state(&w, A1, c), Some(PartyState::Connected));
    assert_eq!(state(&w, CUSTOMER, c), Some(PartyState::Connected));
    // reject: declined at once.
    let c2 = w.start_call(4000, "tel:+16505550005", A2, Media::Voice, None).unwrap().call;
    assert!(w.call_view(c2).is_err());
    // never: alerts until the caller gives up.
    w.set_behavior(A3, Behavior { answer: AnswerMode::Never, delay_ms: 0 }).unwrap();
    let c3 = w.start_call(5000, "tel:+16505550006", A3, Media::Voice, None).unwrap().call;
    w.advance(1_000_000);
    assert_eq!(state(&w, A3, c3), Some(PartyState::Alerting));
    // DND and Offline endpoints reject.
    w.set_presence(0, SUP, 9500, None).unwrap();
    let c4 = w.start_call(1_000_001, "tel:+16505550007", SUP, Media::Voice, None).unwrap().call;
    assert!(w.call_view(c4).is_err());
    w.set_presence(0, SUP, 18000, None).unwrap();
    w.start_call(1_000_002, "tel:+16505550008", SUP, Media::Voice, None).unwrap();
    let ev = drain(&mut w);
    assert!(ev.contains(&"PartyDeleted 2 agent02 Rejected".into()), "{ev:?}");
    assert!(ev.contains(&"PartyDeleted 4 supervisor1 Busy".into()), "{ev:?}");
    assert!(ev.contains(&"PartyDeleted 5 supervisor1 Unavailable".into()), "{ev:?}");
    assert!(matches!(w.start_call(0, SUP, A1, Media::Voice, None), Err(SimError::Refused(_))), "signed out");
}

#[test]
fn hold_plays_music_on_hold_only_when_configured() {
    let mut w = world("");
    let c = routed_call(&mut w, 0);
    w.app_hold(1000, c, A1).unwrap();
    assert_eq!(call_of(&w, A1).state, PartyState::Held);
    let cust = call_of(&w, CUSTOMER);
    assert_eq!(cust.playback, Some(Playback::MusicOnHold { file: "moh.wma".into() }));
    assert!(cust.hears.is_empty() && call_of(&w, A1).hears.is_empty());
    assert_eq!(call_of(&w, A1).playback, None, "the holding agent hears nothing");
    w.app_retrieve(4000, c, A1).unwrap();
    let v = w.user_view(CUSTOMER).unwrap();
    assert_eq!(v.playback, None);
    let moh = v.playback_history.iter().find(|r| matches!(r.what, Playback::MusicOnHold { .. })).unwrap();
    assert_eq!((moh.started_at, moh.ended_at, &moh.status), (1000, 4000, &PlaybackStatus::Ended));

    let mut w = world_from(true, "");
    let c = routed_call(&mut w, 0);
    w.hold(1000, A1, None).unwrap();
    assert_eq!(call_of(&w, CUSTOMER).playback, None, "no musicOnHoldFilePath: no music on hold");
    assert!(matches!(w.app_hold(1001, c, A1), Err(SimError::InvalidState { .. })));
    assert_eq!(w.app_hold(1001, c, A1).unwrap_err().error_code().code(), 565);
}

#[test]
fn ring_back_plays_to_the_caller_while_the_destination_alerts() {
    let mut w = world("");
    let c = w.app_make_call(0, A1, CUSTOMER, Media::Voice, None).unwrap().call;
    assert_eq!(call_of(&w, A1).state, PartyState::Dialing);
    assert_eq!(call_of(&w, A1).playback, Some(Playback::Ringback { file: "ring.wma".into() }));
    w.answer(3000, CUSTOMER, Some(c)).unwrap();
    let v = w.user_view(A1).unwrap();
    assert_eq!(v.playback, None);
    assert_eq!(v.playback_history[0].ended_at, 3000);
    // A direct peer-to-peer call: the SfB client rings back, not the Connector.
    w.start_call(4000, A2, A3, Media::Voice, None).unwrap();
    assert_eq!(call_of(&w, A2).playback, None);
}

#[test]
fn coach_and_mute_hearing_matrix() {
    let mut w = world("[[sim.user]]\nuri = \"sip:supervisor1@skype.lab\"\nanswer = \"auto\"\n");
    let c = routed_call(&mut w, 0);
    w.app_add_party(1000, c, SUP, PartyMode::Coach).unwrap();
    let hears = |w: &World, u: &str| {
        let mut h = call_of(w, u).hears;
        h.sort();
        h
    };
    assert_eq!(hears(&w, A1), [SUP, CUSTOMER], "the agent hears the coach");
    assert_eq!(hears(&w, CUSTOMER), [A1], "the customer does not hear the coach");
    assert_eq!(hears(&w, SUP), [A1, CUSTOMER]);
    w.app_set_mode(c, SUP, PartyMode::Mute).unwrap();
    assert_eq!(hears(&w, A1), [CUSTOMER]);
    assert_eq!(hears(&w, CUSTOMER), [A1]);
    assert_eq!(hears(&w, SUP), [A1, CUSTOMER], "a muted supervisor hears everyone");
    w.app_set_mode(c, SUP, PartyMode::Normal).unwrap();
    assert_eq!(hears(&w, CUSTOMER), [A1, SUP]);
    w.app_hold(2000, c, A1).unwrap();
    assert_eq!(hears(&w, A1), Vec::<String>::new());
    assert_eq!(hears(&w, CUSTOMER), [SUP]);
    assert_eq!(call_of(&w, CUSTOMER).playback, None, "not alone: no music on hold");
    let fed = world("[[sim.user]]\nuri = \"sip:agent03@skype.lab\"\nfederated = true\n");
    let mut fed = fed;
    let c = routed_call(&mut fed, 0);
    assert!(matches!(fed.app_add_party(10, c, A3, PartyMode::Mute), Err(SimError::Refused(_))));
}

#[test]
fn im_mcu_replays_the_first_40_seconds_to_late_joiners() {
    let mut w = world("[[sim.user]]\nuri = \"sip:supervisor1@skype.lab\"\nanswer = \"auto\"\n");
    let c = w.start_call(0, CUSTOMER, RP, Media::Im, Some("hello".into())).unwrap().call;
    w.send_im(10_000, CUSTOMER, None, "anyone there?").unwrap();
    w.app_redirect(20_000, c, A1).unwrap();
    w.answer(30_000, A1, None).unwrap();
    let ims = w.user_view(A1).unwrap().ims;
    let got: Vec<(&str, u64, bool)> = ims.iter().map(|m| (m.text.as_str(), m.sent_at, m.replayed)).collect();
    assert_eq!(got, [("hello", 0, true), ("anyone there?", 10_000, true)]);
    w.send_im(35_000, A1, None, "hi, how can I help?").unwrap();
    assert_eq!(w.user_view(CUSTOMER).unwrap().ims.last().unwrap().text, "hi, how can I help?");
    // A joiner after the 40-second window only receives live messages.
    w.app_add_party(50_000, c, SUP, PartyMode::Normal).unwrap();
    assert!(w.user_view(SUP).unwrap().ims.is_empty());
    w.send_im(60_000, CUSTOMER, None, "thanks").unwrap();
    let sup: Vec<String> = w.user_view(SUP).unwrap().ims.iter().map(|m| m.text.clone()).collect();
    assert_eq!(sup, ["thanks"]);
    let ev = drain(&mut w);
    let ims: Vec<&String> = ev.iter().filter(|e| e.starts_with("ImReceived")).collect();
    assert_eq!(ims.len(), 4, "{ims:?}");
    assert!(matches!(w.hold(61_000, A1, Some(c)), Err(SimError::Unsupported { .. })));
    assert!(matches!(w.send_dtmf(61_000, A1, Some(c), "1"), Err(SimError::Unsupported { .. })));
}

#[test]
fn a_late_joiner_inside_the_window_gets_the_replay_but_not_after_the_cut_off() {
    let mut w = world("");
    let c = w.app_make_call(0, RP, A1, Media::Im, Some("queued".into())).unwrap().call;
    w.advance(39_999);
    w.answer(39_999, A1, Some(c)).unwrap();
    assert_eq!(w.user_view(A1).unwrap().ims.len(), 1);
    let c = w.app_make_call(50_000, RP, A2, Media::Im, Some("queued".into())).unwrap().call;
    w.answer(90_000, A2, Some(c)).unwrap();
    assert!(w.user_view(A2).unwrap().ims.is_empty(), "joined at 40 s: the MCU buffer is gone");
    // A peer-to-peer invitation carries what was typed before it was accepted.
    let c = w.start_call(100_000, CUSTOMER, A3, Media::Im, Some("hi".into())).unwrap().call;
    w.send_im(101_000, CUSTOMER, Some(c), "still there?").unwrap();
    w.answer(200_000, A3, Some(c)).unwrap();
    assert_eq!(w.user_view(A3).unwrap().ims.len(), 2);
}

#[test]
fn idle_im_sessions_are_released_after_ten_minutes() {
    let mut w = world("");
    let c = w.start_call(0, CUSTOMER, A1, Media::Im, Some("hi".into())).unwrap().call;
    w.answer(1000, A1, None).unwrap();
    w.send_im(300_000, A1, None, "hello").unwrap();
    w.advance(899_999);
    assert!(w.call_view(c).is_ok());
    w.advance(900_000);
    assert!(w.call_view(c).is_err());
    assert!(drain(&mut w).last().unwrap().ends_with("IdleTimeout"));
}

#[test]
fn escalation_keeps_the_conversation_id() {
    let mut w = world("");
    let im = w.start_call(0, CUSTOMER, A1, Media::Im, Some("hi".into())).unwrap();
    w.answer(10, A1, None).unwrap();
    let av = w.escalate(20, A1, Some(im.call), Media::Voice).unwrap();
    assert_ne!(av.call, im.call);
    assert_eq!(av.conversation_id, im.conversation_id);
    w.answer(30, CUSTOMER, Some(av.call)).unwrap();
    let v = w.escalate(40, CUSTOMER, Some(av.call), Media::Video).unwrap();
    assert_eq!(v.call, av.call);
    assert!(drain(&mut w).contains(&"MediaChanged 2 Video".to_string()));
    // The holding party of the audio call does not receive IMs.
    w.hold(50, A1, Some(av.call)).unwrap();
    w.send_im(60, CUSTOMER, Some(im.call), "hello?").unwrap();
    assert!(!w.user_view(A1).unwrap().ims.iter().any(|m| m.text == "hello?"));
}

#[test]
fn dtmf_and_treatments() {
    let mut w = world("");
    let c = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap().call;
    drain(&mut w);
    let collect = Playback::CollectDigits {
        prompt: Some("menu.wav".into()),
        max_digits: 4,
        terminator: Some('#'),
        timeout_ms: 10_000,
    };
    w.app_play(100, c, None, collect.clone()).unwrap();
    assert_eq!(call_of(&w, CUSTOMER).playback, Some(collect.clone()));
    w.send_dtmf(200, CUSTOMER, None, "12").unwrap();
    w.send_dtmf(300, CUSTOMER, None, "#9").unwrap();
    assert_eq!(
        drain(&mut w),
        [
            "DtmfReceived 1 tel:+14155550100 12",
            "DtmfReceived 1 tel:+14155550100 #9",
            "PlaybackEnded 1 tel:+14155550100 Collected { digits: \"12\" }",
        ]
    );
    let ann = Playback::Announcement { file: "welcome.wav".into(), duration_ms: Some(3000) };
    w.app_play(1000, c, Some(CUSTOMER), ann).unwrap();
    w.advance(4000);
    w.app_play(5000, c, None, Playback::Music { file: "jazz.wav".into(), duration_ms: None }).unwrap();
    w.app_stop_play(6000, c).unwrap();
    w.app_play(7000, c, None, collect).unwrap();
    w.advance(17_000);
    assert_eq!(
        drain(&mut w),
        [
            "PlaybackEnded 1 tel:+14155550100 Completed",
            "PlaybackEnded 1 tel:+14155550100 Stopped",
            "PlaybackEnded 1 tel:+14155550100 TimedOut { digits: \"\" }",
        ]
    );
    let h = w.user_view(CUSTOMER).unwrap().playback_history;
    assert_eq!(h.len(), 4);
    assert!(w.send_dtmf(18_000, CUSTOMER, None, "x").is_err());
    w.app_redirect(19_000, c, A1).unwrap();
    w.answer(19_500, A1, None).unwrap();
    w.app_send_dtmf(20_000, c, A1, "55").unwrap();
    assert_eq!(w.user_view(CUSTOMER).unwrap().dtmf[0].digits, "55");
}

#[test]
fn treatments_end_when_the_party_leaves() {
    let mut w = world("");
    let c = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap().call;
    w.app_play(10, c, None, Playback::Silence { duration_ms: None }).unwrap();
    w.hangup(20, CUSTOMER, None).unwrap();
    let ev = drain(&mut w);
    let i = ev.iter().position(|e| e.starts_with("PlaybackEnded")).unwrap();
    assert_eq!(ev[i], "PlaybackEnded 1 tel:+14155550100 Interrupted");
    assert_eq!(ev[i + 1], "PartyDeleted 1 tel:+14155550100 Hangup");
}

#[test]
fn single_step_transfer_and_merges() {
    let mut w = world("[[sim.user]]\nuri = \"sip:agent02@skype.lab\"\nanswer = \"auto\"\n");
    let c = routed_call(&mut w, 0);
    drain(&mut w);
    w.app_single_step_transfer(1000, c, A1, A2).unwrap();
    assert_eq!(
        drain(&mut w),
        [
            "PartyCreated 1 agent02 Alerting",
            "PartyDeleted 1 agent01 Transferred",
            "PartyStateChanged 1 agent02 Connected Answered",
        ]
    );
    // Consultation then complete transfer: agent02 leaves, agent03 joins the main call.
    w.app_hold(2000, c, A2).unwrap();
    let consult = w.app_make_call(2100, A2, A3, Media::Voice, None).unwrap().call;
    w.answer(2200, A3, Some(consult)).unwrap();
    drain(&mut w);
    w.app_merge(2300, c, consult, Some(A2)).unwrap();
    assert_eq!(
        drain(&mut w),
        [
            "PartyDeleted 2 agent02 Transferred",
            "PartyDeleted 2 agent03 Transferred",
            "CallDeleted 2 Transferred",
            "PartyCreated 1 agent03 Connected",
            "PartyDeleted 1 agent02 Transferred",
        ]
    );
    let mut parties: Vec<String> = w.call_view(c).unwrap().parties.into_iter().map(|p| p.uri).collect();
    parties.sort();
    assert_eq!(parties, [A3, CUSTOMER]);
    // Consultation then complete conference: the holding agent is retrieved.
    w.app_hold(3000, c, A3).unwrap();
    let consult = w.app_make_call(3100, A3, SUP, Media::Voice, None).unwrap().call;
    w.answer(3200, SUP, Some(consult)).unwrap();
    w.app_merge(3300, c, consult, None).unwrap();
    let s = w.call_view(c).unwrap();
    assert_eq!(s.parties.len(), 3);
    assert!(s.parties.iter().all(|p| p.state == PartyState::Connected));
    assert!(w.app_merge(3400, c, c, None).is_err());
}

#[test]
fn a_failed_route_leaves_the_customer_in_the_conference_to_be_routed_again() {
    let mut w = world("[[sim.user]]\nuri = \"sip:agent01@skype.lab\"\nanswer = \"reject\"\n");
    let c = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap().call;
    w.app_redirect(100, c, A1).unwrap();
    assert_eq!(w.call_view(c).unwrap().parties.len(), 1, "the customer waits in the conference");
    w.app_redirect(200, c, A2).unwrap();
    w.advance(5000);
    w.app_release(5000, c, A2).unwrap(); // no-answer supervision releases the destination
    assert_eq!(w.call_view(c).unwrap().parties.len(), 1);
    w.app_release(6000, c, CUSTOMER).unwrap();
    assert!(w.call_view(c).is_err());
}

#[test]
fn conference_scheduling_checks_lobby_bypass() {
    let mut w = world("");
    let e = w.schedule_conference(0, "sip:conf01@skype.lab", false).unwrap_err();
    assert!(e.to_string().contains("PstnCallersBypassLobby=true"), "{e}");
    assert_eq!(e.http_status(), 403);
    assert!(matches!(w.schedule_conference(0, "sip:conf99@skype.lab", true), Err(SimError::UnknownUser(_))));
    assert!(matches!(w.schedule_conference(0, RP, true), Err(SimError::UnknownUser(_))));
    let t = w.schedule_conference(0, "sip:conf02@skype.lab", true).unwrap();
    assert_eq!(t.ready_at, 0);
    assert_eq!(drain(&mut w), ["ConferenceScheduled 1 conf02"]);
    // The pool uses lobbies: only conferences without lobby bypass can be scheduled.
    let mut w = world("[sim]\npstn-callers-bypass-lobby = false\n");
    assert!(w.schedule_conference(0, "sip:conf01@skype.lab", true).is_err());
    assert!(w.schedule_conference(0, "sip:conf01@skype.lab", false).is_ok());
}

#[test]
fn conference_scheduling_rate_delays_completion_and_conferences_expire() {
    let mut w = world("[sim]\nconference-scheduling-rate = 2\nconference-expiry = \"1h\"\n");
    let a = w.schedule_conference(0, "sip:conf01@skype.lab", true).unwrap();
    let b = w.schedule_conference(0, "sip:conf02@skype.lab", true).unwrap();
    let f = w.schedule_conference(100, "sip:conf03@skype.lab", false).unwrap();
    assert_eq!((a.ready_at, b.ready_at, f.ready_at), (500, 1000, 1500));
    assert!(drain(&mut w).is_empty());
    assert_eq!(w.next_deadline(), Some(500));
    w.advance(1000);
    assert_eq!(drain(&mut w), ["ConferenceScheduled 1 conf01", "ConferenceScheduled 2 conf02"]);
    w.advance(1500);
    assert_eq!(drain(&mut w), ["ConferenceFailed 3 conf03"], "lobby mismatch reported when SfB answers");
    // A call uses a scheduled conference; it expires when the call ends.
    let c = w.app_make_call_in(2000, b.id, A1, CUSTOMER, Media::Voice, None).unwrap().call;
    assert_eq!(w.call_view(c).unwrap().conference.as_deref(), Some("sip:conf02@skype.lab"));
    assert!(w.app_make_call_in(2000, b.id, A2, CUSTOMER, Media::Voice, None).is_err(), "in use");
    w.advance(3_600_500);
    assert_eq!(drain(&mut w).last().unwrap(), "ConferenceExpired 1 conf01");
    w.hangup(3_700_000, A1, Some(c)).unwrap();
    assert_eq!(drain(&mut w).last().unwrap(), "ConferenceExpired 2 conf02");
    assert!(w.conferences().is_empty());
}

#[test]
fn required_scheduled_conferences_gate_application_calls() {
    let mut w = world("[sim]\nrequire-scheduled-conference = true\n");
    let e = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap_err();
    assert!(matches!(e, SimError::NoConference(NoConference::Exhausted(_))), "{e}");
    assert_eq!(e.error_code().code(), 42);
    w.schedule_conference(0, "sip:conf03@skype.lab", true).unwrap();
    let c = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap().call;
    assert_eq!(w.call_view(c).unwrap().conference.as_deref(), Some("sip:conf03@skype.lab"));
    assert!(w.app_make_call(0, A1, CUSTOMER, Media::Voice, None).is_err(), "the only conference is in use");
    w.hangup(10, CUSTOMER, None).unwrap();
    assert!(w.app_make_call(20, A1, CUSTOMER, Media::Voice, None).is_ok(), "reused after the call");
}

#[test]
fn hosting_policy_decides_on_demand_conferences_reuse_and_lobby() {
    // Caching off with a pool: conferences are single use and none is scheduled on demand.
    let mut w = world("");
    w.set_hosting_policy(HostingPolicy { lobby_bypass: true, on_demand: false, reuse: false });
    let t = w.schedule_conference(0, "sip:conf01@skype.lab", true).unwrap();
    let c = w.start_call(0, CUSTOMER, RP, Media::Voice, None).unwrap().call;
    assert_eq!(w.hosting(c), Some(Hosting::Scheduled { conference: t.id }), "a Routing Point call takes it");
    assert!(matches!(w.conference(t.id).map(|v| &v.state), Some(ConferenceState::InUse { call }) if *call == c));
    let e = w.app_make_call(10, A1, "tel:+14155550101", Media::Voice, None).unwrap_err();
    assert!(matches!(&e, SimError::NoConference(NoConference::Exhausted(r)) if r.contains("exhausted")), "{e}");
    assert_eq!((e.error_code().code(), e.http_status()), (42, 403));
    assert!(e.to_string().starts_with("no conference can host the call: "), "{e}");
    w.hangup(20, CUSTOMER, Some(c)).unwrap();
    assert!(w.conference(t.id).is_none(), "without reuse a conference is deleted after its call");
    assert!(w.app_make_call(30, A1, "tel:+14155550101", Media::Voice, None).is_err(), "still none on demand");

    // On demand (ad hoc) when allowed and the lobby settings agree; not reused as a scheduled one.
    w.set_hosting_policy(HostingPolicy { lobby_bypass: true, on_demand: true, reuse: true });
    let c = w.app_make_call(40, A1, "tel:+14155550101", Media::Voice, None).unwrap().call;
    assert_eq!(w.hosting(c), Some(Hosting::AdHoc));
    let direct = w.start_call(50, A2, A3, Media::Voice, None).unwrap().call;
    assert_eq!(w.hosting(direct), None, "a direct call is peer-to-peer");

    // A LobbyBypass flag the pool refuses: no conference at all, scheduled or ad hoc (guide: "The
    // Skype T-Server will not be able to schedule conferences for new calls").
    w.set_hosting_policy(HostingPolicy { lobby_bypass: false, on_demand: true, reuse: true });
    let e = w.start_call(60, CUSTOMER, RP, Media::Voice, None).unwrap_err();
    assert!(matches!(&e, SimError::NoConference(NoConference::Lobby(r)) if r.contains("PstnCallersBypassLobby")));
    assert_eq!(e.error_code().code(), 1140);
    let e = w.app_add_party(70, direct, "sip:supervisor1@skype.lab", PartyMode::Normal).unwrap_err();
    assert!(matches!(e, SimError::NoConference(NoConference::Lobby(_))), "acting on a direct call needs one: {e}");
    assert_eq!(w.hosting(direct), None, "a refused operation changes nothing");
}

#[test]
fn export_import_round_trip_of_av_and_im_calls() {
    let mut w = world("[[sim.user]]\nuri = \"sip:supervisor1@skype.lab\"\nanswer = \"auto\"\n");
    let routed = routed_call(&mut w, 0);
    w.app_add_party(1000, routed, SUP, PartyMode::Coach).unwrap();
    w.app_hold(2000, routed, A1).unwrap();
    let direct = w.start_call(3000, "sip:bob@contoso.com", A2, Media::Voice, None).unwrap().call;
    let im = w.start_call(4000, "tel:+16505550009", RP, Media::Im, Some("hello".into())).unwrap().call;
    w.advance(5000);
    let records = w.export_calls();
    let json = serde_json::to_string(&records).unwrap();
    assert!(json.contains("\"version\":\"V1\""), "{json}");
    let back: Vec<CallRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, records);

    let mut fresh = world("[[sim.user]]\nuri = \"sip:supervisor1@skype.lab\"\nanswer = \"auto\"\n");
    assert_eq!(fresh.import_calls(back.clone()).unwrap(), 3);
    assert_eq!(fresh.calls(), w.calls());
    for u in [A1, A2, SUP, CUSTOMER] {
        assert_eq!(fresh.user_view(u).unwrap().calls, w.user_view(u).unwrap().calls, "{u}");
    }
    assert_eq!(fresh.user_view(A1).unwrap().presence.unwrap().availability, 6000);
    assert!(fresh.drain_events().is_empty(), "no call events on import");
    assert_eq!(fresh.import_calls(back.clone()).unwrap(), 0, "already there");
    // The restored calls work; new calls do not reuse ids or Conversation-IDs.
    fresh.app_retrieve(6000, routed, A1).unwrap();
    fresh.answer(6000, A2, Some(direct)).unwrap();
    fresh.send_im(6000, "tel:+16505550009", Some(im), "still there?").unwrap();
    let n = fresh.start_call(7000, CUSTOMER, A3, Media::Voice, None).unwrap();
    assert!(n.call.0 > im.0);
    assert!(w.calls().iter().all(|c| c.conversation_id != n.conversation_id));
    // The guide's behaviour: IM calls are not recovered.
    let mut guide = world("[sim]\nrecover-im-calls = false\n");
    assert_eq!(guide.import_calls(back).unwrap(), 2);
}

#[test]
fn imports_are_all_or_nothing() {
    let mut w = world("");
    let c = routed_call(&mut w, 0);
    let mut records = w.export_calls();
    let mut bad = records[0].clone();
    bad.call = CallId(99);
    bad.parties[0].uri = "sip:ghost@skype.lab".into();
    records.push(bad);
    let mut fresh = world("");
    assert!(matches!(fresh.import_calls(records), Err(SimError::UnknownUser(_))));
    assert!(fresh.calls().is_empty());
    assert!(fresh.call_view(c).is_err());
}

#[test]
fn errors_name_the_problem() {
    let mut w = world("");
    assert!(matches!(w.answer(0, A1, None), Err(SimError::NoCall { .. })));
    assert!(matches!(w.answer(0, "sip:ghost@skype.lab", None), Err(SimError::UnknownUser(_))));
    assert!(matches!(w.hangup(0, A1, Some(CallId(42))), Err(SimError::NoSuchCall(_))));
    let c = routed_call(&mut w, 0);
    let e = w.app_release(10, c, A2).unwrap_err();
    assert_eq!((e.http_status(), e.error_code().code()), (409, 470));
    assert!(matches!(w.answer(10, A1, Some(c)), Err(SimError::InvalidState { .. })));
    assert!(matches!(w.start_call(10, RP, A1, Media::Voice, None), Err(SimError::Refused(_))));
    assert!(matches!(w.start_call(10, A1, A1, Media::Voice, None), Err(SimError::InvalidDestination { .. })));
    assert!(matches!(w.start_call(10, A1, A2, Media::Voice, Some("x".into())), Err(SimError::BadArgument(_))));
    assert!(matches!(w.app_add_party(10, c, A1, PartyMode::Normal), Err(SimError::InvalidState { .. })));
    assert!(matches!(w.register_endpoint(CUSTOMER), Err(SimError::UnknownUser(_))));
    // A failed operation changes nothing and queues no event.
    drain(&mut w);
    let before = w.calls();
    let _ = w.app_redirect(20, c, "sip:nobody@skype.lab");
    assert_eq!(w.calls(), before);
    assert!(drain(&mut w).is_empty());
}
