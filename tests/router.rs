//! The reference router end to end (issue 8 item 1): inside `run` as the `router` actor, as the
//! embedded default ships it, and standalone as `sfb-tserver router`. Agents log in and go Ready
//! through their own T-Library desktops; customers call rp1 through the simulation's control API
//! and the tests watch where the calls ring and what the waiting customer hears.

use crate::util::*;
use sfb_tserver::client::Client;
use sfb_tserver::model::{AgentId, AgentWorkMode, KvList};
use sfb_tserver::router::RouterView;
use sfb_tserver::tlib::{Event, EventKind, RequestKind};

const RP1: &str = "sip:rp1@skype.lab";

fn router_view(server: &TestServer) -> Option<RouterView> {
    server.h().ctx.router_status.view()
}

async fn wait_routing(server: &TestServer) {
    let routing = wait_until(STEP, || async { server.h().ctx.router_status.is_routing() }).await;
    assert!(routing, "the router registers: {:?}", server.h().ctx.router_status.last_error());
}

/// Waits until the router's published view satisfies `pred`.
async fn wait_view(server: &TestServer, what: &str, pred: impl Fn(&RouterView) -> bool) {
    let ok = wait_until(STEP, || async { router_view(server).is_some_and(|v| pred(&v)) }).await;
    assert!(ok, "router view never showed {what}: {:#?}", router_view(server));
}

fn available(v: &RouterView, dn: &str) -> bool {
    v.agents.iter().any(|a| a.dn.as_str() == dn && a.available)
}

/// A desktop: registers the DN, logs the agent in NotReady with a reason (as desktops do), then
/// TAgentSetReady.
async fn desktop_ready(server: &TestServer, dn: &str, agent_id: &str) -> Client {
    let desk = server.client().await;
    desk.register(dn).await.unwrap();
    let mut login = req(RequestKind::AgentLogin, dn);
    login.attrs.agent_id = Some(AgentId::new(agent_id));
    login.attrs.agent_work_mode = Some(AgentWorkMode::AuxWork);
    login.attrs.reasons = Some(KvList::new().with("ReasonCode", "Login"));
    assert_eq!(desk.request(login).await.unwrap().kind, EventKind::AgentLogin);
    set_ready(&desk, dn).await;
    desk
}

async fn set_ready(desk: &Client, dn: &str) {
    let mut ready = req(RequestKind::AgentSetReady, dn);
    ready.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    assert_eq!(desk.request(ready).await.unwrap().kind, EventKind::AgentReady);
}

async fn customer_calls(server: &TestServer, from: &str, media: &str) {
    let body = format!(r#"{{"from":"{from}","to":"{RP1}","media":"{media}"}}"#);
    let (status, v) = server.admin_json("POST", "/sim/calls", &body).await;
    assert_eq!(status, 201, "{v}");
}

/// The next EventRinging on this desktop, checked to be `customer`'s call.
async fn rings(desk: &mut Client, customer: &str) -> Event {
    let ev = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("EventRinging");
    assert_eq!(ev.attrs.ani.as_deref(), Some(customer), "{customer}'s call rings: {ev:?}");
    ev
}

async fn playback(server: &TestServer, user: &str) -> serde_json::Value {
    let (status, v) = server.admin_json("GET", &format!("/sim/users/{user}"), "").await;
    assert_eq!(status, 200, "{v}");
    v["calls"][0]["playback"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_reach_the_longest_idle_agent_and_wait_with_music() {
    let server = TestServer::start_with(|c| c.router.enabled = true).await;
    wait_routing(&server).await;
    // agent02 becomes Ready first, so it has been idle the longest.
    let mut desk2 = desktop_ready(&server, AGENT02, "1002").await;
    wait_view(&server, "agent02 available", |v| available(v, AGENT02)).await;
    let mut desk1 = desktop_ready(&server, AGENT01, "1001").await;
    wait_view(&server, "agent01 available", |v| available(v, AGENT01)).await;

    const A: &str = "tel:+14155550301";
    const B: &str = "tel:+14155550302";
    const C: &str = "tel:+14155550303";
    customer_calls(&server, A, "voice").await;
    let a = rings(&mut desk2, A).await;
    customer_calls(&server, B, "voice").await;
    let b = rings(&mut desk1, B).await;
    assert_ne!(a.attrs.conn_id, b.attrs.conn_id);

    // Nobody is free: the third customer hears music at the Routing Point.
    customer_calls(&server, C, "voice").await;
    let music = wait_until(STEP, || async { playback(&server, C).await["type"] == "music" }).await;
    assert!(music, "music while waiting: {}", playback(&server, C).await);
    wait_view(&server, "one waiting call", |v| v.waiting.len() == 1).await;

    // agent01 talks to B, goes NotReady, B hangs up: agent01 is free but not Ready -> C waits.
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    desk1.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("EventEstablished");
    let mut not_ready = req(RequestKind::AgentSetNotReady, AGENT01);
    not_ready.attrs.agent_work_mode = Some(AgentWorkMode::AuxWork);
    assert_eq!(desk1.request(not_ready).await.unwrap().kind, EventKind::AgentNotReady);
    server.admin_json("POST", &format!("/sim/users/{B}/hangup"), "").await;
    desk1.wait_for(STEP, |e| e.kind == EventKind::Released).await.expect("EventReleased");
    wait_view(&server, "agent01 free and NotReady", |v| {
        v.agents.iter().any(|a| a.dn.as_str() == AGENT01 && a.calls.is_empty() && !a.available)
    })
    .await;
    let v = router_view(&server).unwrap();
    assert_eq!(v.waiting.len(), 1, "C still waits: {v:#?}");
    assert_eq!(playback(&server, C).await["type"], "music");

    // agent01 is Ready again: C's call rings there and the music stops.
    set_ready(&desk1, AGENT01).await;
    let c = rings(&mut desk1, C).await;
    assert_ne!(c.attrs.conn_id, b.attrs.conn_id);
    let stopped = wait_until(STEP, || async { playback(&server, C).await["type"] != "music" }).await;
    assert!(stopped, "the music stops when the call leaves the Routing Point: {}", playback(&server, C).await);
    wait_view(&server, "3 calls routed, 1 treatment, no error", |v| {
        let c = &v.counters;
        (c.routed, c.treatments, c.route_errors, c.delivered) == (3, 1, 0, 1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_im_caller_gets_the_prompt_while_no_agent_is_free() {
    let server = TestServer::start_with(|c| {
        c.router.enabled = true;
        c.router.im_prompt = "Hold on, an agent will be with you.".into();
    })
    .await;
    wait_routing(&server).await;
    const D: &str = "sip:customer-d@example.com";
    customer_calls(&server, D, "im").await;
    let prompted = wait_until(STEP, || async {
        let (_, v) = server.admin_json("GET", &format!("/sim/users/{D}"), "").await;
        v["ims"].as_array().is_some_and(|ims| ims.iter().any(|m| m["text"] == "Hold on, an agent will be with you."))
    })
    .await;
    assert!(prompted, "the IM prompt reaches the customer");
    let mut desk = desktop_ready(&server, AGENT03, "1003").await;
    let ringing = rings(&mut desk, D).await;
    assert_eq!(ringing.attrs.media_type, Some(sfb_tserver::model::MediaType::CHAT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_rings_out_goes_to_the_next_agent_and_the_first_one_is_paused() {
    let server = TestServer::start_with(|c| {
        c.router.enabled = true;
        c.tserver.no_answer_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    wait_routing(&server).await;
    let mut desk1 = desktop_ready(&server, AGENT01, "1001").await;
    wait_view(&server, "agent01 available", |v| available(v, AGENT01)).await;
    let mut desk2 = desktop_ready(&server, AGENT02, "1002").await;
    wait_view(&server, "agent02 available", |v| available(v, AGENT02)).await;
    const E: &str = "tel:+14155550304";
    customer_calls(&server, E, "voice").await;
    let first = rings(&mut desk1, E).await;
    // Nobody answers agent01 within no-answer-timeout: TERR_DN_NO_ANSWER, back to rp1, agent02.
    let second = rings(&mut desk2, E).await;
    assert_eq!(first.attrs.conn_id, second.attrs.conn_id, "the same call, routed again");
    desk1.wait_for(STEP, |e| e.kind == EventKind::Released).await.expect("agent01's ringing ends");
    wait_view(&server, "agent01 paused, the call counted as returned", |v| {
        let a1 = v.agents.iter().find(|a| a.dn.as_str() == AGENT01).unwrap();
        a1.paused_until_ms.is_some() && !a1.available && v.counters.returned == 1
    })
    .await;
}

/// What `cargo run` starts: the embedded default, router on, only ports and data directory changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_default_routes_a_caller_to_a_ready_agent() {
    let server = TestServer::start_as_shipped().await;
    assert!(server.h().ctx.config.router.enabled, "config/default.toml enables the router");
    assert!(server.h().ctx.board.child("router").is_some(), "the router actor runs under root");
    wait_routing(&server).await;
    let mut desk = server.client().await;
    desk.register("sip:agent07@skype.lab").await.unwrap();
    let mut login = req(RequestKind::AgentLogin, "sip:agent07@skype.lab");
    login.attrs.agent_id = Some(AgentId::new("1007"));
    login.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    assert_eq!(desk.request(login).await.unwrap().kind, EventKind::AgentLogin);
    wait_view(&server, "agent07 available", |v| available(v, "sip:agent07@skype.lab")).await;
    customer_calls(&server, "tel:+14155550310", "voice").await;
    let ringing = rings(&mut desk, "tel:+14155550310").await;
    server.admin_json("POST", "/sim/users/sip:agent07@skype.lab/answer", "").await;
    let est = desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("EventEstablished");
    assert_eq!(est.attrs.conn_id, ringing.attrs.conn_id);
}

/// `sfb-tserver router --server ADDR` next to a T-Server without its own router.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_router_command_routes_too() {
    use std::io::{BufRead, BufReader};
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = TestServer::start().await;
    assert!(server.h().ctx.board.child("router").is_none(), "the harness runs no router of its own");
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_sfb-tserver"))
            .args(["router", "--server", &server.tlib()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(STEP * 2, line).await.expect("ROUTING within 20 s").unwrap().unwrap();
    assert_eq!(line.trim(), format!("ROUTING server={} routing-points=1 agents=20", server.tlib()));
    // Whether or not the router has seen agent04 go Ready when the call arrives, the call ends
    // up ringing there (at once, or after waiting with music).
    let mut desk = desktop_ready(&server, AGENT04, "1004").await;
    customer_calls(&server, "tel:+14155550320", "voice").await;
    rings(&mut desk, "tel:+14155550320").await;
    drop(child);
}
