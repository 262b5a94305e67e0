//! Emulated agents through the actors (issue 6; guide: "Emulated Agents", "No-Answer
//! Supervision"): the Dn actor's agent machine sees the DN's call events before the desktops do
//! (EventAgentNotReady(AfterCallWork) before EventReleased, WrapUpTime in EventEstablished), ends
//! a timed ACW on its own, logs an agent out when its desktop leaves, applies no-answer-action
//! when a call rings out, and keeps all of it across a Dn actor crash. Customers and SfB users act
//! through the simulation's control API; timers are configured in seconds, the smallest unit the
//! options take.

use crate::util::*;
use sfb_tserver::client::Client;
use sfb_tserver::config::{self, ServerConfig};
use sfb_tserver::model::{AgentId, AgentStatus, AgentWorkMode, ConnId, DnName, KvList, RouteType};
use sfb_tserver::tlib::{Event, EventKind, RequestKind};
use std::time::{Duration, Instant};

pub(crate) const CUSTOMER: &str = "tel:+14155550160";
const RP1: &str = "sip:rp1@skype.lab";

/// The embedded configuration with some `[TServer]` options set (TOML values, as the file
/// writes them), so the option hierarchy sees them at the Application level.
pub(crate) fn options(set: &[(&str, &str)]) -> impl FnOnce(&mut ServerConfig) {
    let mut text = String::new();
    let mut found = 0;
    for line in config::EMBEDDED_DEFAULT.lines() {
        match set.iter().find(|(k, _)| line.split('=').next().is_some_and(|l| l.trim() == *k)) {
            Some((k, v)) if found < set.len() => {
                found += 1;
                text.push_str(&format!("{k} = {v}\n"));
            }
            _ => text.push_str(&format!("{line}\n")),
        }
    }
    assert_eq!(found, set.len(), "every option is in the embedded configuration: {set:?}");
    config_text(text)
}

pub(crate) fn ext_int(ev: &Event, key: &str) -> Option<i64> {
    ev.attrs.extensions.as_ref().and_then(|x| x.get_int(key))
}

fn ext_str<'a>(ev: &'a Event, key: &str) -> Option<&'a str> {
    ev.attrs.extensions.as_ref().and_then(|x| x.get_str(key))
}

pub(crate) async fn login(desk: &mut Client, dn: &str, agent: &str) {
    let mut login = req(RequestKind::AgentLogin, dn);
    login.attrs.agent_id = Some(AgentId::new(agent));
    login.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    assert_eq!(desk.request(login).await.unwrap().kind, EventKind::AgentLogin);
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await.is_some(), "Ready after login");
}

pub(crate) async fn act(server: &TestServer, user: &str, action: &str) {
    let (status, v) = server.admin_json("POST", &format!("/sim/users/{user}/{action}"), "").await;
    assert_eq!(status, 200, "{action} {user}: {v}");
}

pub(crate) async fn customer_calls(server: &TestServer, to: &str) {
    let (status, v) = server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{CUSTOMER}","to":"{to}"}}"#)).await;
    assert_eq!(status, 201, "{v}");
}

/// Every event up to and including the first one matching `last`.
pub(crate) async fn events_until(desk: &mut Client, last: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        let ev = desk.next_event_within(STEP).await.unwrap_or_else(|| panic!("stopped after {seen:#?}"));
        let done = last(&ev);
        seen.push(ev);
        if done {
            return seen;
        }
    }
}

fn position(events: &[Event], kind: EventKind) -> usize {
    events.iter().position(|e| e.kind == kind).unwrap_or_else(|| panic!("no {kind:?} in {events:#?}"))
}

pub(crate) fn is_acw(e: &Event) -> bool {
    e.kind == EventKind::AgentNotReady && e.attrs.agent_work_mode == Some(AgentWorkMode::AfterCallWork)
}

/// A customer calls the agent, who answers: returns the ConnID and the EventEstablished.
pub(crate) async fn answered_call(server: &TestServer, desk: &mut Client) -> (ConnId, Event) {
    customer_calls(server, AGENT01).await;
    let ringing = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("EventRinging");
    assert_eq!(ext_int(&ringing, "WrapUpTime"), None, "the guide: not in EventRinging");
    act(server, AGENT01, "answer").await;
    let est = desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("EventEstablished");
    (ringing.attrs.conn_id.unwrap(), est)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_acw_goes_out_before_event_released_and_ends_in_ready() {
    let server = TestServer::start_with(options(&[("wrap-up-time", "1")])).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    let (conn, est) = answered_call(&server, &mut desk).await;
    assert_eq!(ext_int(&est, "WrapUpTime"), Some(1), "the expected ACW in EventEstablished: {est:?}");
    assert!(ext_str(&est, "Conversation-ID").is_some(), "the call's own extensions are kept: {est:?}");

    act(&server, CUSTOMER, "hangup").await;
    let seen = events_until(&mut desk, |e| e.kind == EventKind::Released).await;
    let acw = seen.iter().find(|e| is_acw(e)).unwrap_or_else(|| panic!("no ACW before EventReleased: {seen:#?}"));
    let acw_at = Instant::now();
    assert_eq!(acw.attrs.agent_id, Some(AgentId::new("1001")));
    assert_eq!(ext_int(acw, "WrapUpTime"), Some(1), "{acw:?}");
    assert_eq!(acw.attrs.reference_id, None, "unsolicited");
    assert_eq!(seen.last().unwrap().attrs.conn_id, Some(conn));
    // A desktop registering now learns the agent is in ACW.
    let fresh = server.client().await;
    let reg = fresh.register(AGENT01).await.unwrap();
    assert_eq!(reg.attrs.agent_status, Some(AgentStatus::AfterCallWork), "{reg:?}");

    let ready = desk.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await.expect("automatic EventAgentReady");
    assert!(acw_at.elapsed() >= Duration::from_millis(700), "ACW lasted {:?}", acw_at.elapsed());
    assert_eq!(ready.attrs.agent_work_mode, Some(AgentWorkMode::ManualIn));
    assert_eq!(ready.attrs.reference_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untimed_acw_lasts_until_the_agent_asks_for_ready() {
    let server = TestServer::start_with(options(&[("wrap-up-time", "\"untimed\"")])).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    let (_, est) = answered_call(&server, &mut desk).await;
    assert_eq!(ext_str(&est, "WrapUpTime"), Some("untimed"), "{est:?}");
    act(&server, AGENT01, "hangup").await;
    let seen = events_until(&mut desk, |e| e.kind == EventKind::Released).await;
    assert!(position(&seen, EventKind::AgentNotReady) < position(&seen, EventKind::Released), "{seen:#?}");
    assert!(seen.iter().any(|e| is_acw(e) && ext_str(e, "WrapUpTime") == Some("untimed")), "{seen:#?}");
    // Nothing ends an untimed ACW but the agent (a timed one of 1 s would have ended by now).
    assert!(desk.next_event_within(Duration::from_millis(1500)).await.is_none(), "still in ACW");
    let q = desk.request(req(RequestKind::QueryAddress, AGENT01)).await.unwrap();
    assert_eq!(q.attrs.agent_status, Some(AgentStatus::AfterCallWork));
    let ready = desk.request(req(RequestKind::AgentSetReady, AGENT01)).await.unwrap();
    assert_eq!(ready.kind, EventKind::AgentReady);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_is_logged_out_when_the_desktop_that_logged_it_in_leaves() {
    let server = TestServer::start_with(options(&[("logout-on-disconnect", "true")])).await;
    let mut observer = server.client().await;
    observer.register(AGENT01).await.unwrap();
    observer.register(AGENT02).await.unwrap();
    let mut a = server.client().await;
    a.register(AGENT01).await.unwrap();
    login(&mut a, AGENT01, "1001").await;
    // This desktop's registration says otherwise (the extension beats the option).
    let mut b = server.client().await;
    let mut reg = req(RequestKind::RegisterAddress, AGENT02);
    reg.attrs.extensions = Some(KvList::new().with("LogoutOnDisconnect", "false"));
    assert_eq!(b.request(reg).await.unwrap().kind, EventKind::Registered);
    login(&mut b, AGENT02, "1002").await;

    assert_eq!(b.request(req(RequestKind::UnregisterAddress, AGENT02)).await.unwrap().kind, EventKind::Unregistered);
    let q = observer.request(req(RequestKind::QueryAddress, AGENT02)).await.unwrap();
    assert_eq!(q.attrs.agent_status, Some(AgentStatus::Ready), "LogoutOnDisconnect=false keeps the agent");

    drop(a);
    let out = observer
        .wait_for(STEP, |e| e.kind == EventKind::AgentLogout && e.attrs.this_dn == Some(DnName::new(AGENT01)))
        .await
        .expect("EventAgentLogout when the desktop disconnects");
    assert_eq!(out.attrs.agent_id, Some(AgentId::new("1001")));
    // The AgentID is free again.
    let mut again = req(RequestKind::AgentLogin, AGENT01);
    again.attrs.agent_id = Some(AgentId::new("1001"));
    assert_eq!(observer.request(again).await.unwrap().kind, EventKind::AgentLogin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_lets_a_routed_call_ring_out_is_made_not_ready() {
    let tweak = options(&[("no-answer-action", "\"notready\""), ("router-timeout", "60")]);
    let server = TestServer::start_with(tweak).await;
    let mut router = server.client().await;
    let mut desk = server.client().await;
    router.register(RP1).await.unwrap();
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    customer_calls(&server, RP1).await;
    let conn = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.unwrap().attrs.conn_id.unwrap();
    let mut route = req(RequestKind::RouteCall, RP1);
    route.attrs.conn_id = Some(conn);
    route.attrs.other_dn = Some(DnName::new(AGENT01));
    route.attrs.route_type = Some(RouteType::Default);
    route.attrs.extensions = Some(KvList::new().with("NO_ANSWER_TIMEOUT", "1"));
    assert_eq!(router.request(route).await.unwrap().kind, EventKind::RouteUsed);
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.is_some());
    // The agent does not answer within a second.
    let seen = events_until(&mut desk, |e| e.kind == EventKind::Released).await;
    let nr = &seen[position(&seen, EventKind::AgentNotReady)];
    assert_eq!(nr.attrs.agent_work_mode, Some(AgentWorkMode::AuxWork), "{nr:?}");
    assert!(position(&seen, EventKind::AgentNotReady) < position(&seen, EventKind::Released), "{seen:#?}");
    let err = router.wait_for(STEP, |e| e.kind == EventKind::Error).await.expect("TERR_DN_NO_ANSWER");
    assert_eq!(error_code(&err), Some(232));
    assert!(router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.is_some(), "routed again");
    let q = desk.request(req(RequestKind::QueryAddress, AGENT01)).await.unwrap();
    assert_eq!(q.attrs.agent_status, Some(AgentStatus::NotReady));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_own_no_answer_timeout_takes_it_off_a_direct_call_and_logs_it_out() {
    let tweak = options(&[("no-answer-timeout", "1"), ("no-answer-action", "\"logout\"")]);
    let server = TestServer::start_with(tweak).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    customer_calls(&server, AGENT01).await;
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.is_some());
    let seen = events_until(&mut desk, |e| e.kind == EventKind::Released).await;
    assert!(position(&seen, EventKind::AgentLogout) < position(&seen, EventKind::Released), "{seen:#?}");
    let gone = || async {
        let v = server.admin_json("GET", &format!("/sim/users/{AGENT01}"), "").await.1;
        v["calls"].as_array().is_some_and(|c| c.is_empty())
    };
    assert!(wait_until(STEP, gone).await, "the SfB user no longer rings");
    let q = desk.request(req(RequestKind::QueryAddress, AGENT01)).await.unwrap();
    assert_eq!(q.attrs.agent_status, Some(AgentStatus::LoggedOut));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dn_actor_crash_keeps_the_agent_its_call_and_its_acw_timer() {
    use sfb_tserver::actors::dn::DnMsg;
    let server = TestServer::start_with(options(&[("wrap-up-time", "2")])).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    let (conn, _) = answered_call(&server, &mut desk).await;
    let crash = || async {
        let dir = &server.h().ctx.directory;
        let dn = DnName::new(AGENT01);
        let old = dir.dn(&dn).unwrap();
        old.cast(DnMsg::Crash).unwrap();
        let back = || async { dir.dn(&dn).is_some_and(|a| a.get_id() != old.get_id()) };
        assert!(wait_until(STEP, back).await, "a new incarnation serves the DN");
    };
    crash().await;
    // The restarted machine still knows the established call: its end starts the ACW.
    act(&server, CUSTOMER, "hangup").await;
    let seen = events_until(&mut desk, |e| e.kind == EventKind::Released).await;
    assert!(seen.iter().any(is_acw), "ACW after a restart: {seen:#?}");
    assert_eq!(seen.last().unwrap().attrs.conn_id, Some(conn));
    // Crashed again during the ACW: its timer is re-armed from the snapshot.
    crash().await;
    let reg = server.client().await.register(AGENT01).await.unwrap();
    assert_eq!(reg.attrs.agent_status, Some(AgentStatus::AfterCallWork), "{reg:?}");
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await.is_some(), "the ACW still ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_end_the_dn_missed_does_not_keep_its_agent_busy() {
    use sfb_tserver::actors::dn::DnMsg;
    use sfb_tserver::agent::{AgentInput, CallFact};
    use sfb_tserver::store::{DnSnapshot, Snapshot};
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    // The DN's snapshot holds a call no call family has any more, as if its EventReleased had
    // been lost with the mailbox of a crashed Dn actor.
    let (ctx, dn) = (&server.h().ctx, DnName::new(AGENT01));
    let key = format!("dn:{AGENT01}");
    let Some(Snapshot::Dn(DnSnapshot::V2(mut v))) = ctx.snapshots.get(&key) else { panic!("a V2 snapshot") };
    v.machine.step(0, AgentInput::Call(CallFact::Established { conn_id: ConnId(0x77), business: true }));
    assert_eq!(v.machine.calls().len(), 1);
    ctx.snapshots.put(&key, Snapshot::Dn(DnSnapshot::V2(v)));
    let old = ctx.directory.dn(&dn).unwrap();
    old.cast(DnMsg::Crash).unwrap();
    let back = || async { ctx.directory.dn(&dn).is_some_and(|a| a.get_id() != old.get_id()) };
    assert!(wait_until(STEP, back).await, "a new incarnation serves the DN");
    let view = ractor::call_t!(ctx.directory.dn(&dn).unwrap(), DnMsg::GetView, 1000).unwrap();
    assert!(view.machine.calls().is_empty(), "the ended call is forgotten: {:?}", view.machine.calls());
    // Without it, agent-emu-login-on-call = false would refuse the logout (496).
    let out = desk.request(req(RequestKind::AgentLogout, AGENT01)).await.unwrap();
    assert_eq!(out.kind, EventKind::AgentLogout, "{out:?}");
}
