//! Presence end to end (guide: "Presence", issue 6 item 4) through the simulation: pull mode (a
//! SfB user's presence -> EventDNDOn / EventDNDOff with PresenceType on the desktop) and push mode
//! (agent states -> the presence the simulation shows for the user; never for a federated user).

use crate::util::*;
use sfb_tserver::client::Client;
use sfb_tserver::config::{self, ServerConfig};
use sfb_tserver::model::{AgentId, AgentWorkMode};
use sfb_tserver::tlib::{Event, EventKind, RequestKind};

fn presence_type(ev: &Event) -> Option<&str> {
    ev.attrs.extensions.as_ref().and_then(|x| x.get_str("PresenceType"))
}

/// The embedded configuration with `edits` applied (each `from` must be there).
fn configured(edits: &[(&str, &str)]) -> impl FnOnce(&mut ServerConfig) {
    let mut text = config::EMBEDDED_DEFAULT.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    config_text(text)
}

async fn set_presence(server: &TestServer, user: &str, availability: u32) {
    let body = format!(r#"{{"availability":{availability}}}"#);
    let (status, v) = server.admin_json("PUT", &format!("/sim/users/{user}/presence"), &body).await;
    assert_eq!(status, 200, "{v}");
}

async fn dnd(desk: &mut Client) -> Event {
    desk.wait_for(STEP, |e| matches!(e.kind, EventKind::DNDOn | EventKind::DNDOff)).await.expect("a DND event")
}

const PULL_EVERYWHERE: (&str, &str) =
    ("# presence-profile = \"sip:presence@skype.lab\"", "presence-profile = \"sip:presence@skype.lab\"");

/// agent03 as an Office 365 (federated) user.
const FEDERATED: (&str, &str) = (
    "[sim]\npstn-callers-bypass-lobby = false\n",
    "[sim]\npstn-callers-bypass-lobby = false\n\n[[sim.user]]\nuri = \"sip:agent03@skype.lab\"\nfederated = true\n",
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_mode_maps_sfb_presence_to_dnd_on_change_only() {
    let server = TestServer::start_with(configured(&[PULL_EVERYWHERE])).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    set_presence(&server, AGENT01, 6000).await; // Busy
    let on = dnd(&mut desk).await;
    assert_eq!((on.kind, on.attrs.this_dn.as_ref().map(|d| d.as_str())), (EventKind::DNDOn, Some(AGENT01)));
    assert_eq!(presence_type(&on), Some("local"));
    set_presence(&server, AGENT01, 9000).await; // Do Not Disturb: DND stays on, nothing new
    set_presence(&server, AGENT01, 4500).await; // IdleOnline, inside 3000-5999
    let off = dnd(&mut desk).await;
    assert_eq!((off.kind, presence_type(&off)), (EventKind::DNDOff, Some("local")), "{off:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_mode_on_a_federated_user_reports_remote_presence() {
    let server = TestServer::start_with(configured(&[PULL_EVERYWHERE, FEDERATED])).await;
    let mut desk = server.client().await;
    let reg = desk.register(AGENT03).await.unwrap();
    assert_eq!(presence_type(&reg), Some("remote"), "PresenceType in EventRegistered too: {reg:?}");
    let local = server.client().await.register(AGENT01).await.unwrap();
    assert_eq!(presence_type(&local), Some("local"));
    set_presence(&server, AGENT03, 12000).await; // Be Right Back: Away for a federated user
    let on = dnd(&mut desk).await;
    assert_eq!((on.kind, presence_type(&on)), (EventKind::DNDOn, Some("remote")));
    set_presence(&server, AGENT03, 3000).await;
    assert_eq!(dnd(&mut desk).await.kind, EventKind::DNDOff);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_profile_presence_is_not_mapped_while_direct_calls_are_handled() {
    // The default-availability-range applies only where direct-call handling is off: agent02.
    let server = TestServer::start_with(configured(&[(
        "number = \"sip:agent02@skype.lab\"\ntype = \"Extension\"\n",
        "number = \"sip:agent02@skype.lab\"\ntype = \"Extension\"\nannex = { TServer = { handle-direct-calls = \"false\" } }\n",
    )]))
    .await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    desk.register(AGENT02).await.unwrap();
    set_presence(&server, AGENT01, 9000).await;
    set_presence(&server, AGENT02, 9000).await;
    let on = dnd(&mut desk).await;
    assert_eq!(on.attrs.this_dn.as_ref().map(|d| d.as_str()), Some(AGENT02), "only agent02 maps presence: {on:?}");
}

const MAP: &str = r#"<?xml version="1.0"?>
<agentStates xmlns="http://schemas.genesys.com/09/2014/mslyncteserver/agentStates">
  <agentState ID="IDLE_OUT" availability="18000"><activity LCID="1033">Logged out</activity></agentState>
  <agentState ID="IDLE_READY" availability="3501"><activity LCID="1033">I am available</activity></agentState>
  <agentState ID="IDLE_NOTREADY" availability="6001"><activity LCID="1033">I am not available</activity></agentState>
  <agentState ID="INCALL" availability="7001"><activity LCID="1033">Working with customer</activity></agentState>
</agentStates>"#;

async fn sim_presence(server: &TestServer, user: &str) -> (u64, String) {
    let (_, v) = server.admin_json("GET", &format!("/sim/users/{user}"), "").await;
    let p = &v["presence"];
    (p["availability"].as_u64().unwrap_or(0), p["activity"].as_str().unwrap_or("").to_string())
}

async fn shows(server: &TestServer, user: &str, availability: u64, activity: &str) {
    let ok =
        wait_until(STEP, || async { sim_presence(server, user).await == (availability, activity.to_string()) }).await;
    assert!(ok, "{user} shows {:?}, expected {availability} {activity:?}", sim_presence(server, user).await);
}

async fn agent_request(desk: &Client, kind: RequestKind, dn: &str) -> Event {
    let mut r = req(kind, dn);
    if kind == RequestKind::AgentLogin {
        r.attrs.agent_id = Some(AgentId::new(if dn == AGENT01 { "1001" } else { "1003" }));
        r.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    }
    desk.request(r).await.unwrap()
}

/// Push mode on every DN: a presence profile with the map above and its aggregated states, and
/// agent03 federated. The directory holds the map file for as long as the server runs.
fn push_everywhere(aggregated: &str) -> (tempfile::TempDir, impl FnOnce(&mut ServerConfig)) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent-states.xml");
    std::fs::write(&path, MAP).unwrap();
    let profile = format!(
        "[[dn]]\nnumber = \"sip:push@skype.lab\"\ntype = \"Voice over IP Service\"\nannex = {{ TServer = {{ \
         service-type = \"presence-profile\", agent-presence-map = {:?}, \
         aggregated-states = {aggregated:?} }} }}\n\n[[dn]]\n",
        path.display().to_string()
    );
    let tweak = configured(&[
        (PULL_EVERYWHERE.0, "presence-profile = \"sip:push@skype.lab\""),
        ("[[dn]]\n", &profile),
        FEDERATED,
    ]);
    (dir, tweak)
}

/// What the T-Server last published for the user (its own presence, which the simulation shows
/// its subscribers as "in a call" while it is on one).
async fn published(server: &TestServer, user: &str, availability: u64, activity: &str) {
    let base = || async {
        let (_, v) = server.admin_json("GET", &format!("/sim/users/{user}"), "").await;
        let b = &v["presence"]["base"];
        (b["availability"].as_u64().unwrap_or(0), b["activity"].as_str().unwrap_or("").to_string())
    };
    let ok = wait_until(STEP, || async { base().await == (availability, activity.to_string()) }).await;
    assert!(ok, "{user} has {:?} published, expected {availability} {activity:?}", base().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_mode_publishes_the_device_state_of_a_dn_without_an_agent() {
    use crate::agents::{act, customer_calls, CUSTOMER};
    // Logged out and idle shows "not available" here, not Offline: an Offline user is not offered calls.
    let (_dir, tweak) = push_everywhere("1=IDLE_NOTREADY, 6=INCALL");
    let server = TestServer::start_with(tweak).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    published(&server, AGENT01, 6001, "I am not available").await; // row 1: logged out, idle
    customer_calls(&server, AGENT01).await;
    desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("EventRinging");
    // Ringing is not Busy yet (publishing Busy would change what the invitation meets).
    assert_eq!(sim_presence(&server, AGENT01).await.0, 6001);
    act(&server, AGENT01, "answer").await;
    desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("EventEstablished");
    published(&server, AGENT01, 7001, "Working with customer").await; // row 6: logged out, busy
    act(&server, CUSTOMER, "hangup").await;
    desk.wait_for(STEP, |e| e.kind == EventKind::Released).await.expect("EventReleased");
    published(&server, AGENT01, 6001, "I am not available").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_mode_publishes_agent_states_to_the_simulation() {
    let (_dir, tweak) = push_everywhere("1=IDLE_OUT, 2=IDLE_READY, 3=IDLE_NOTREADY, 6=INCALL, 7=INCALL, 8=INCALL");
    let server = TestServer::start_with(tweak).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    shows(&server, AGENT01, 18000, "Logged out").await;
    agent_request(&desk, RequestKind::AgentLogin, AGENT01).await;
    desk.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await.expect("Ready after login");
    shows(&server, AGENT01, 3501, "I am available").await;
    let nr = agent_request(&desk, RequestKind::AgentSetNotReady, AGENT01).await;
    assert_eq!(nr.kind, EventKind::AgentNotReady, "{nr:?}");
    shows(&server, AGENT01, 6001, "I am not available").await;
    agent_request(&desk, RequestKind::AgentSetReady, AGENT01).await;
    shows(&server, AGENT01, 3501, "I am available").await;
    agent_request(&desk, RequestKind::AgentLogout, AGENT01).await;
    shows(&server, AGENT01, 18000, "Logged out").await;

    // A federated user (agent03): nothing is published (the T-Server does not try; the simulation
    // would refuse), its presence stays its own.
    set_presence(&server, AGENT03, 12000).await;
    desk.register(AGENT03).await.unwrap();
    agent_request(&desk, RequestKind::AgentLogin, AGENT03).await;
    desk.wait_for(STEP, |e| {
        e.kind == EventKind::AgentReady && e.attrs.this_dn.as_ref().is_some_and(|d| d.as_str() == AGENT03)
    })
    .await
    .expect("agent03 Ready");
    // agent01 logging in again shows the push path is live; agent03 still shows Away (federated view).
    agent_request(&desk, RequestKind::AgentLogin, AGENT01).await;
    shows(&server, AGENT01, 3501, "I am available").await;
    assert_eq!(sim_presence(&server, AGENT03).await.0, 15000);
}

/// The DND state is in the Dn snapshot: after the Dn actor crashes, a presence that keeps DND on
/// reports nothing, and leaving DND reports EventDNDOff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dnd_state_survives_a_dn_actor_crash() {
    let server = TestServer::start_with(configured(&[PULL_EVERYWHERE])).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    set_presence(&server, AGENT01, 6000).await; // Busy
    assert_eq!(dnd(&mut desk).await.kind, EventKind::DNDOn);
    let ctx = &server.h().ctx;
    let dn = sfb_tserver::model::DnName::new(AGENT01);
    let old = ctx.directory.dn(&dn).unwrap();
    old.cast(sfb_tserver::actors::dn::DnMsg::Crash).unwrap();
    let restarted = || async { ctx.directory.dn(&dn).is_some_and(|a| a.get_id() != old.get_id()) };
    assert!(wait_until(STEP, restarted).await, "the Dn actor restarted");
    set_presence(&server, AGENT01, 9000).await; // still DND: nothing to report
    set_presence(&server, AGENT01, 3500).await; // Available
    let next = dnd(&mut desk).await;
    assert_eq!(next.kind, EventKind::DNDOff, "the first DND event after the crash is the real change: {next:?}");
}
