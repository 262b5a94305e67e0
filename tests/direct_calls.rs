//! Direct (1pcc) calls end to end (guide: "Handling Direct Calls", "Emulated Ringing", "Call
//! Monitoring", "IM Suppression"): calls placed or answered on a SfB client (the simulation's
//! control API) reach the desktops registered on the DN — or not, as `handle-direct-calls`,
//! `handle-direct-calls-media` and the desktop's override decide.

use crate::util::*;
use sfb_tserver::client::Client;
use sfb_tserver::config::{self, ServerConfig};
use sfb_tserver::model::{CallType, ConnId, DnName, DnRole, KvList, MediaType};
use sfb_tserver::tlib::{Event, EventKind, RequestKind};

const CUSTOMER: &str = "tel:+14155550100";

fn ext<'a>(ev: &'a Event, key: &str) -> Option<&'a str> {
    ev.attrs.extensions.as_ref().and_then(|x| x.get_str(key))
}

/// The embedded configuration with `from` replaced by `to` (options written as the guide names
/// them, so the Application table and the typed view agree).
fn configured(from: &str, to: &str) -> impl FnOnce(&mut ServerConfig) {
    assert!(config::EMBEDDED_DEFAULT.contains(from), "{from}");
    let text = config::EMBEDDED_DEFAULT.replace(from, to);
    config_text(text)
}

/// A DN annex for agent `n` of the embedded configuration.
fn dn_annex(n: &str, annex: &str) -> impl FnOnce(&mut ServerConfig) {
    let number = format!("number = \"sip:agent{n}@skype.lab\"\ntype = \"Extension\"\n");
    configured(&number.clone(), &format!("{number}annex = {{ TServer = {{ {annex} }} }}\n"))
}

async fn call(server: &TestServer, from: &str, to: &str, media: &str) -> (u64, String) {
    let body = format!(r#"{{"from":"{from}","to":"{to}","media":"{media}"}}"#);
    let body = if media == "im" { body.replace("}", r#","text":"hello"}"#) } else { body };
    let (status, v) = server.admin_json("POST", "/sim/calls", &body).await;
    assert_eq!(status, 201, "{v}");
    (v["id"].as_u64().unwrap(), v["conversation_id"].as_str().unwrap().to_string())
}

async fn act(server: &TestServer, user: &str, action: &str, body: &str) {
    let (status, v) = server.admin_json("POST", &format!("/sim/users/{user}/{action}"), body).await;
    assert_eq!(status, 200, "{action} {user}: {v}");
}

async fn view(server: &TestServer, user: &str) -> serde_json::Value {
    server.admin_json("GET", &format!("/sim/users/{user}"), "").await.1
}

/// The next event on the desktop, which must be `kind` on `conn`, unsolicited, with the call's
/// Conversation-ID.
async fn next(desk: &mut Client, kind: EventKind, conn: Option<ConnId>, conversation: &str) -> Event {
    let ev = desk.next_event_within(STEP).await.unwrap_or_else(|| panic!("no {kind:?}"));
    assert_eq!(ev.kind, kind, "{ev:?}");
    if conn.is_some() {
        assert_eq!(ev.attrs.conn_id, conn, "{ev:?}");
    }
    assert_eq!(ev.attrs.reference_id, None, "done on the SfB client: {ev:?}");
    assert_eq!(ext(&ev, "Conversation-ID"), Some(conversation), "{ev:?}");
    ev
}

/// A 3pcc call agent01 -> agent02 whose EventRinging must be the next event on `b` (agent02):
/// a barrier proving nothing was delivered to agent02 before it.
async fn barrier(a: &Client, b: &mut Client) {
    let mut make = req(RequestKind::MakeCall, AGENT01);
    make.attrs.other_dn = Some(DnName::new(AGENT02));
    let dialing = a.request(make).await.unwrap();
    assert_eq!(dialing.kind, EventKind::Dialing, "{dialing:?}");
    let ev = b.next_event_within(STEP).await.expect("the 3pcc call rings");
    assert_eq!((ev.kind, ev.attrs.conn_id), (EventKind::Ringing, dialing.attrs.conn_id), "{ev:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_call_through_forking_with_emulated_ringing_and_hold_on_the_sfb_client() {
    // agent01's SfB user is signed in on two endpoints: the call forks to both.
    let server = TestServer::start_with(|c| {
        c.sim = serde_json::json!({ "user": [{ "uri": AGENT01, "endpoints": 2 }] });
    })
    .await;
    let mut desk = server.client().await;
    let reg = desk.register(AGENT01).await.unwrap();
    assert_eq!((ext(&reg, "handle-direct-calls"), ext(&reg, "handle-direct-calls-media")), (Some("true"), Some("all")));

    let (_, conversation) = call(&server, CUSTOMER, AGENT01, "voice").await;
    // Emulated ringing: the desktop's EventRinging carries the Conversation-ID the SfB client
    // shows for the alerting call, so the desktop can match the two.
    let ringing = next(&mut desk, EventKind::Ringing, None, &conversation).await;
    let conn = ringing.attrs.conn_id.expect("ConnID");
    let a = &ringing.attrs;
    assert_eq!(a.this_dn, Some(DnName::new(AGENT01)));
    assert_eq!((a.this_dn_role, a.other_dn.clone()), (Some(DnRole::Destination), Some(DnName::new(CUSTOMER))));
    assert_eq!((a.call_type, a.media_type), (Some(CallType::Inbound), Some(MediaType::VOICE)));
    let v = view(&server, AGENT01).await;
    assert_eq!(v["calls"][0]["conversation_id"], conversation.as_str(), "{v}");
    assert_eq!(v["calls"][0]["alerting_endpoints"], serde_json::json!([1, 2]), "{v}");

    act(&server, AGENT01, "answer", r#"{"endpoint":2}"#).await;
    next(&mut desk, EventKind::Established, Some(conn), &conversation).await;
    let v = view(&server, AGENT01).await;
    assert_eq!(
        (v["calls"][0]["answered_on"].as_u64(), &v["calls"][0]["conference"]),
        (Some(2), &serde_json::Value::Null)
    );

    act(&server, AGENT01, "hold", "").await;
    let held = next(&mut desk, EventKind::Held, Some(conn), &conversation).await;
    assert_eq!(held.attrs.this_dn, Some(DnName::new(AGENT01)));
    act(&server, AGENT01, "retrieve", "").await;
    next(&mut desk, EventKind::Retrieved, Some(conn), &conversation).await;
    act(&server, CUSTOMER, "hangup", "").await;
    next(&mut desk, EventKind::Released, Some(conn), &conversation).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_call_is_left_alone_when_the_application_does_not_handle_them() {
    let server =
        TestServer::start_with(configured("handle-direct-calls = \"true\"", "handle-direct-calls = \"false\"")).await;
    let a = server.client().await;
    let mut b = server.client().await;
    a.register(AGENT01).await.unwrap();
    let reg = b.register(AGENT02).await.unwrap();
    assert_eq!(ext(&reg, "handle-direct-calls"), Some("false"), "{reg:?}");

    call(&server, CUSTOMER, AGENT02, "voice").await;
    act(&server, AGENT02, "answer", "").await;
    act(&server, AGENT02, "hold", "").await;
    act(&server, AGENT02, "retrieve", "").await;
    // The SfB call is connected peer-to-peer, untouched by the T-Server.
    let v = view(&server, AGENT02).await;
    let c = &v["calls"][0];
    assert_eq!((c["state"].as_str(), &c["conference"]), (Some("Connected"), &serde_json::Value::Null), "{v}");
    assert_eq!(c["hears"], serde_json::json!([CUSTOMER]), "{v}");
    act(&server, CUSTOMER, "hangup", "").await;
    // Nothing of the ignored call outlives it in the T-Server.
    let ctx = &server.h().ctx;
    let no_calls = || async { ctx.board.children().iter().all(|c| c.supervisor != "call-sup") };
    assert!(wait_until(STEP, no_calls).await, "{:?}", ctx.board.children());
    assert!(ctx.snapshots.with_prefix("calls:").is_empty());
    // A 3pcc call is handled as usual; it is the first thing agent02's desktop sees.
    barrier(&a, &mut b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_ims_are_suppressed_by_handle_direct_calls_media_av() {
    let server =
        TestServer::start_with(configured("handle-direct-calls-media = \"all\"", "handle-direct-calls-media = \"av\""))
            .await;
    let mut desk = server.client().await;
    let reg = desk.register(AGENT01).await.unwrap();
    assert_eq!(ext(&reg, "handle-direct-calls-media"), Some("av"), "{reg:?}");
    call(&server, CUSTOMER, AGENT01, "im").await;
    act(&server, AGENT01, "answer", "").await;
    // The IM reached the agent's SfB client all the same.
    let v = view(&server, AGENT01).await;
    assert_eq!(v["calls"][0]["media"], "Im", "{v}");
    assert_eq!(v["ims"][0]["text"], "hello", "{v}");
    act(&server, CUSTOMER, "hangup", "").await;
    // A voice call is handled: its EventRinging is the first event the desktop gets.
    let (_, conversation) = call(&server, "tel:+14155550111", AGENT01, "voice").await;
    let ev = next(&mut desk, EventKind::Ringing, None, &conversation).await;
    assert_eq!(ev.attrs.media_type, Some(MediaType::VOICE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dn_level_setting_wins_over_the_application() {
    let server = TestServer::start_with(dn_annex("02", "handle-direct-calls = \"false\"")).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    let reg = a.register(AGENT01).await.unwrap();
    assert_eq!(ext(&reg, "handle-direct-calls"), Some("true"));
    let reg = b.register(AGENT02).await.unwrap();
    assert_eq!(ext(&reg, "handle-direct-calls"), Some("false"));
    call(&server, CUSTOMER, AGENT02, "voice").await;
    act(&server, CUSTOMER, "hangup", "").await;
    let (_, conversation) = call(&server, "tel:+14155550111", AGENT01, "voice").await;
    next(&mut a, EventKind::Ringing, None, &conversation).await;
    barrier(&a, &mut b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_login_handles_direct_calls_only_with_an_agent_logged_in() {
    let server = TestServer::start_with(dn_annex("02", "handle-direct-calls = \"on-login\"")).await;
    let a = server.client().await;
    let mut b = server.client().await;
    a.register(AGENT01).await.unwrap();
    let reg = b.register(AGENT02).await.unwrap();
    assert_eq!(ext(&reg, "handle-direct-calls"), Some("on-login"));
    call(&server, CUSTOMER, AGENT02, "voice").await;
    act(&server, CUSTOMER, "hangup", "").await;
    barrier(&a, &mut b).await;
    act(&server, AGENT02, "reject", "").await;
    assert!(b.wait_for(STEP, |e| e.kind == EventKind::Released).await.is_some());

    let mut login = req(RequestKind::AgentLogin, AGENT02);
    login.attrs.agent_id = Some(sfb_tserver::model::AgentId::new("1002"));
    assert_eq!(b.request(login).await.unwrap().kind, EventKind::AgentLogin);
    assert!(b.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await.is_some());
    let (_, conversation) = call(&server, "tel:+14155550111", AGENT02, "voice").await;
    next(&mut b, EventKind::Ringing, None, &conversation).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_overrides_the_setting_while_it_stays_connected() {
    let server = TestServer::start().await;
    let a = server.client().await;
    let wde = server.client().await;
    let mut watch = server.client().await;
    a.register(AGENT01).await.unwrap();
    watch.register(AGENT02).await.unwrap();
    let reg = wde.register(AGENT02).await.unwrap();
    assert_eq!(ext(&reg, "handle-direct-calls"), Some("true"), "{reg:?}");
    // Workspace in parallel mode turns direct-call handling off for its DN.
    let mut ps = req(RequestKind::PrivateService, AGENT02);
    ps.attrs.private_msg_id = Some(1);
    ps.attrs.extensions = Some(KvList::new().with("handle-direct-calls", "false"));
    let info = wde.request(ps).await.unwrap();
    assert_eq!(info.kind, EventKind::PrivateInfo, "{info:?}");
    let q = a.request(req(RequestKind::QueryAddress, AGENT02)).await.unwrap();
    assert_eq!(ext(&q, "handle-direct-calls"), Some("false"), "EventAddressInfo reports the override: {q:?}");
    // An invalid value is refused.
    let mut bad = req(RequestKind::PrivateService, AGENT02);
    bad.attrs.private_msg_id = Some(1);
    bad.attrs.extensions = Some(KvList::new().with("handle-direct-calls-media", "fax"));
    assert_eq!(error_code(&wde.request(bad).await.unwrap()), Some(53));

    call(&server, CUSTOMER, AGENT02, "voice").await;
    act(&server, CUSTOMER, "hangup", "").await;
    barrier(&a, &mut watch).await;
    act(&server, AGENT02, "reject", "").await;
    assert!(watch.wait_for(STEP, |e| e.kind == EventKind::Released).await.is_some());

    // The override ends with the Workspace connection.
    drop(wde);
    let back = || async {
        let q = a.request(req(RequestKind::QueryAddress, AGENT02)).await.unwrap();
        ext(&q, "handle-direct-calls") == Some("true")
    };
    assert!(wait_until(STEP, back).await, "the configured value applies again");
    let (_, conversation) = call(&server, "tel:+14155550111", AGENT02, "voice").await;
    next(&mut watch, EventKind::Ringing, None, &conversation).await;
}
