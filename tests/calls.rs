//! Calls end to end: a customer (the simulation's control API) calls an agent, and an agent calls
//! another with TMakeCall; the desktops registered on the DNs see the T-Library call events.

use crate::util::*;
use sfb_tserver::model::{CallType, DnName};
use sfb_tserver::tlib::{EventKind, RequestKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_call_rings_establishes_and_releases_on_the_agent_desktop() {
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    let (status, v) =
        server.admin_json("POST", "/sim/calls", r#"{"from":"tel:+14155550100","to":"sip:agent01@skype.lab"}"#).await;
    assert_eq!(status, 201, "{v}");
    let ringing = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("EventRinging");
    let conn = ringing.attrs.conn_id.expect("ConnID");
    assert_eq!(ringing.attrs.this_dn, Some(DnName::new(AGENT01)));
    assert_eq!(ringing.attrs.call_type, Some(CallType::Inbound));
    assert!(ringing.attrs.extensions.as_ref().and_then(|x| x.get_str("Conversation-ID")).is_some(), "{ringing:?}");
    server.admin_json("POST", "/sim/users/sip:agent01@skype.lab/answer", "").await;
    let est = desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("EventEstablished");
    assert_eq!(est.attrs.conn_id, Some(conn));
    server.admin_json("POST", "/sim/users/tel:+14155550100/hangup", "").await;
    let rel = desk.wait_for(STEP, |e| e.kind == EventKind::Released).await.expect("EventReleased");
    assert_eq!(rel.attrs.conn_id, Some(conn));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_call_between_agents_and_release() {
    let server = TestServer::start().await;
    let a = server.client().await;
    let mut a_events = server.client().await;
    let mut b = server.client().await;
    a.register(AGENT01).await.unwrap();
    a_events.register(AGENT01).await.unwrap();
    b.register(AGENT02).await.unwrap();
    let mut make = req(RequestKind::MakeCall, AGENT01);
    make.attrs.other_dn = Some(DnName::new(AGENT02));
    make.attrs.reference_id = Some(500);
    let dialing = a.request(make).await.unwrap();
    assert_eq!(dialing.kind, EventKind::Dialing, "{dialing:?}");
    assert_eq!(dialing.attrs.reference_id, Some(500));
    let conn = dialing.attrs.conn_id.expect("ConnID");
    let ringing = b.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("EventRinging at B");
    assert_eq!(ringing.attrs.conn_id, Some(conn));
    assert_eq!(ringing.attrs.other_dn, Some(DnName::new(AGENT01)));
    server.admin_json("POST", "/sim/users/sip:agent02@skype.lab/answer", "").await;
    assert!(b.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());
    assert!(a_events.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());
    let mut release = req(RequestKind::ReleaseCall, AGENT01);
    release.attrs.conn_id = Some(conn);
    let rel = a.request(release).await.unwrap();
    assert_eq!(rel.kind, EventKind::Released, "{rel:?}");
    assert!(b.wait_for(STEP, |e| e.kind == EventKind::Released).await.is_some());
    // Once the call is over (its snapshot is gone), a request on it gets TERR_INV_CONNID.
    let snaps = &server.h().ctx.snapshots;
    assert!(wait_until(STEP, || async { snaps.with_prefix("calls:").is_empty() }).await, "the call ended");
    let mut again = req(RequestKind::HoldCall, AGENT01);
    again.attrs.conn_id = Some(conn);
    assert_eq!(error_code(&a.request(again).await.unwrap()), Some(56));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_transfer_of_a_customer_call() {
    let server = TestServer::start().await;
    let a = server.client().await;
    let mut a_ev = server.client().await;
    let mut b = server.client().await;
    a.register(AGENT01).await.unwrap();
    a_ev.register(AGENT01).await.unwrap();
    b.register(AGENT02).await.unwrap();
    let customer = "tel:+14155550111";
    let ringing = server.ring(&mut a_ev, customer, AGENT01).await;
    let main = ringing.attrs.conn_id.unwrap();
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    assert!(a_ev.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());

    let mut init = req(RequestKind::InitiateTransfer, AGENT01);
    init.attrs.conn_id = Some(main);
    init.attrs.other_dn = Some(DnName::new(AGENT02));
    let dialing = a.request(init).await.unwrap();
    assert_eq!(dialing.kind, EventKind::Dialing, "{dialing:?}");
    let consult = dialing.attrs.conn_id.unwrap();
    assert_ne!(consult, main);
    assert!(a_ev.wait_for(STEP, |e| e.kind == EventKind::Held && e.attrs.conn_id == Some(main)).await.is_some());
    let r = b.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("consult rings at B");
    assert_eq!(r.attrs.call_type, Some(CallType::Consult));
    server.admin_json("POST", &format!("/sim/users/{AGENT02}/answer"), "").await;
    assert!(b.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());

    let mut complete = req(RequestKind::CompleteTransfer, AGENT01);
    complete.attrs.conn_id = Some(main);
    complete.attrs.transfer_conn_id = Some(consult);
    let done = a.request(complete).await.unwrap();
    assert_eq!(done.kind, EventKind::Released, "{done:?}");
    let changed = b.wait_for(STEP, |e| e.kind == EventKind::PartyChanged).await.expect("EventPartyChanged at B");
    assert_eq!(changed.attrs.conn_id, Some(main), "the resulting call keeps the held call's ConnID");
    assert_eq!(changed.attrs.previous_conn_id, Some(consult));
    // In the simulated SfB the customer now talks to agent02.
    let (_, v) = server.admin_json("GET", &format!("/sim/users/{customer}"), "").await;
    let hears: Vec<&str> =
        v["calls"][0]["hears"].as_array().map(|h| h.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
    assert_eq!(hears, vec![AGENT02], "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_survive_a_call_sup_restart() {
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    let customer = "tel:+14155550122";
    let conn = server.ring(&mut desk, customer, AGENT01).await.attrs.conn_id.unwrap();
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());

    let (status, body) = server.admin("POST", "/restart/call-sup").await;
    assert_eq!(status, 200, "{body}");
    // The rebuilt call model still knows the call: a hold request on it works...
    let mut hold = req(RequestKind::HoldCall, AGENT01);
    hold.attrs.conn_id = Some(conn);
    let ev = desk.request(hold).await.unwrap();
    assert_eq!(ev.kind, EventKind::Held, "{ev:?}");
    // ...and the customer's hang-up still reaches the desktop with the same ConnID.
    server.admin_json("POST", &format!("/sim/users/{customer}/hangup"), "").await;
    let rel = desk.wait_for(STEP, |e| e.kind == EventKind::Released).await.expect("EventReleased");
    assert_eq!(rel.attrs.conn_id, Some(conn));
}

/// A Call actor panics mid-call: only that call's actor restarts (from its snapshot), the call
/// goes on, and a desktop watching the DN sees every event exactly once, numbered without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_call_actor_is_rebuilt_without_touching_its_neighbour() {
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    let mut watch = server.client().await;
    let mut other = server.client().await;
    desk.register(AGENT01).await.unwrap();
    watch.register(AGENT01).await.unwrap();
    other.register(AGENT02).await.unwrap();
    let (customer, neighbour) = ("tel:+14155550133", "tel:+14155550134");
    server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{customer}","to":"{AGENT01}"}}"#)).await;
    server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{neighbour}","to":"{AGENT02}"}}"#)).await;
    let conn = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.unwrap().attrs.conn_id.unwrap();
    let conn2 = other.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.unwrap().attrs.conn_id.unwrap();
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());

    let ctx = &server.h().ctx;
    let families = || {
        let all = ctx.board.children().into_iter().filter(|c| c.supervisor == "call-sup");
        all.map(|c| (c.name, c.restarts)).collect::<Vec<_>>()
    };
    assert_eq!(families().len(), 2, "one Call actor per call: {:?}", families());
    ctx.call_sup().unwrap().cast(sfb_tserver::actors::call_sup::CallSupMsg::Crash { conn }).unwrap();
    // A request sent right behind the crash is held during the restart and replayed.
    let mut hold = req(RequestKind::HoldCall, AGENT01);
    hold.attrs.conn_id = Some(conn);
    let ev = desk.request(hold).await.unwrap();
    assert_eq!(ev.kind, EventKind::Held, "the call survived the crash: {ev:?}");
    let restarts: Vec<u64> = families().into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        {
            let mut r = restarts.clone();
            r.sort();
            r
        },
        vec![0, 1],
        "only the crashed call restarted"
    );

    // The neighbour's call was never touched: it is answered and released as usual.
    server.admin_json("POST", &format!("/sim/users/{AGENT02}/answer"), "").await;
    let est = other.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("neighbour established");
    assert_eq!(est.attrs.conn_id, Some(conn2));
    server.admin_json("POST", &format!("/sim/users/{customer}/hangup"), "").await;
    let rel = desk.wait_for(STEP, |e| e.kind == EventKind::Released).await.expect("EventReleased");
    assert_eq!(rel.attrs.conn_id, Some(conn));

    // Everything the watching desktop received: once each, sequence numbers without a gap.
    let mut seen = Vec::new();
    while let Some(ev) = watch.next_event_within(std::time::Duration::from_millis(300)).await {
        seen.push((ev.kind, ev.attrs.event_sequence_number.unwrap()));
    }
    let kinds: Vec<EventKind> = seen.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        vec![EventKind::Ringing, EventKind::Established, EventKind::Held, EventKind::Released],
        "{seen:?}"
    );
    let seqs: Vec<u64> = seen.iter().map(|(_, s)| *s).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "contiguous: {seqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_refusal_when_not_allowed() {
    let server =
        TestServer::start_with(|c| c.tserver.allow_pass_through_calls = sfb_tserver::config::PassThroughCalls::None)
            .await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    let conn = server.ring(&mut desk, "tel:+14155550144", AGENT01).await.attrs.conn_id.unwrap();
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());
    // Transferring the customer to another external number would leave no configured DN.
    let mut sst = req(RequestKind::SingleStepTransfer, AGENT01);
    sst.attrs.conn_id = Some(conn);
    sst.attrs.other_dn = Some(DnName::new("tel:+14155550999"));
    let ev = desk.request(sst).await.unwrap();
    assert_eq!(error_code(&ev), Some(1148), "{ev:?}");
}

/// Call requests go from the connection's reader straight to the call model when the session has
/// nothing pending (the fast lane; the Connector's call events likewise from the MLTP link's
/// reader); they still answer as before, and one written right behind a
/// TUnregisterAddress, in the same write, still finds the DN unregistered (TERR_NOT_REGISTERED)
/// instead of overtaking it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_requests_take_the_fast_lane_without_overtaking_earlier_requests() {
    use bytes::BytesMut;
    use sfb_tserver::model::KvList;
    use sfb_tserver::tlib::{FrameCodec, Message};
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    let ringing = server.ring(&mut desk, "tel:+14155550100", AGENT01).await;
    let conn = ringing.attrs.conn_id.expect("ConnID");
    let update = |key: &str| {
        let mut r = req(RequestKind::UpdateUserData, AGENT01);
        r.attrs.conn_id = Some(conn);
        r.attrs.user_data = Some(KvList::new().with(key, "v"));
        r
    };
    // The lanes count a message once it is handed on, which can be after its answer is out.
    let metrics = &server.h().ctx.metrics;
    let switch_fast = || async { metrics.switch_fast_lane.load(std::sync::atomic::Ordering::Relaxed) > 0 };
    assert!(wait_until(STEP, switch_fast).await, "the Connector's call events reached CallSup from the link's reader");
    let fast = || metrics.requests_fast_lane.load(std::sync::atomic::Ordering::Relaxed);
    let before = fast();
    let ev = desk.request(update("first")).await.unwrap();
    assert_eq!(ev.kind, EventKind::AttachedDataChanged, "{ev:?}");
    let counted = || async { fast() == before + 1 };
    assert!(wait_until(STEP, counted).await, "TUpdateUserData on a registered DN takes the fast lane");

    let codec = FrameCodec::default();
    let mut buf = BytesMut::new();
    let mut unregister = req(RequestKind::UnregisterAddress, AGENT01);
    unregister.attrs.reference_id = Some(desk.next_reference_id());
    let mut behind = update("second");
    let behind_ref = desk.next_reference_id();
    behind.attrs.reference_id = Some(behind_ref);
    codec.encode(&Message::Request(unregister), &mut buf).unwrap();
    codec.encode(&Message::Request(behind), &mut buf).unwrap();
    desk.write_raw(&buf).await.unwrap();
    let answer = desk.wait_for(STEP, |e| e.attrs.reference_id == Some(behind_ref)).await.expect("an answer");
    assert_eq!(error_code(&answer), Some(41), "the update behind the unregister: {answer:?}");
    assert_eq!(fast(), before + 1, "it went through the session");
}
