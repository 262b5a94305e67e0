//! B2BUA calling end to end (issue 5; guide: "User A makes a call to User B's Tel URI"): the
//! destination is reported as the requested Tel URI until the SfB user owning that number
//! answers, then as that user, whose EventRinging carries `calling-method = b2b`.

use crate::util::*;
use sfb_tserver::config;
use sfb_tserver::model::{CallState, DnName, KvList};
use sfb_tserver::tlib::{EventKind, RequestKind};

const B_TEL: &str = "tel:+14155550102";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_b2bua_call_to_a_users_tel_uri_is_reported_as_the_guide_shows() {
    let mut text = config::EMBEDDED_DEFAULT.to_string();
    let sim = "[sim]\npstn-callers-bypass-lobby = false\n";
    assert!(text.contains(sim));
    let with_line = format!("{sim}\n[[sim.user]]\nuri = \"{AGENT02}\"\nline-uri = \"{B_TEL}\"\n");
    text = text.replacen(sim, &with_line, 1);
    let server = TestServer::start_with(config_text(text)).await;
    let a = server.client().await;
    let mut a_events = server.client().await;
    let mut b = server.client().await;
    a.register(AGENT01).await.unwrap();
    a_events.register(AGENT01).await.unwrap();
    b.register(AGENT02).await.unwrap();

    let mut make = req(RequestKind::MakeCall, AGENT01);
    make.attrs.other_dn = Some(DnName::new(B_TEL));
    make.attrs.extensions = Some(KvList::new().with("calling-method", "b2b"));
    let dialing = a.request(make).await.unwrap();
    assert_eq!(dialing.kind, EventKind::Dialing, "{dialing:?}");
    assert_eq!(dialing.attrs.other_dn, Some(DnName::new(B_TEL)));
    let reached = a_events.wait_for(STEP, |e| e.kind == EventKind::NetworkReached).await.expect("EventNetworkReached");
    assert_eq!(reached.attrs.other_dn, Some(DnName::new(B_TEL)), "the requested Tel URI until answered");

    // B's SfB client rings (the simulation shows it); B answers.
    server.admin_json("POST", &format!("/sim/users/{AGENT02}/answer"), "").await;
    let ringing = b.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("B's EventRinging");
    assert_eq!(ringing.attrs.call_state, Some(CallState::Forwarded));
    assert_eq!(ringing.attrs.other_dn, Some(DnName::new(AGENT01)));
    assert_eq!(ringing.attrs.extensions.as_ref().and_then(|x| x.get_str("calling-method")), Some("b2b"));
    assert!(b.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());
    let est = a_events.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("A's EventEstablished");
    assert_eq!(est.attrs.other_dn, Some(DnName::new(AGENT02)), "replaced by the answering user's SIP URI");
}

/// TRouteCall by B2BUA to a user's Tel URI: the same reporting, and the answering user counts as
/// the delivery (no TERR_DN_NO_ANSWER afterwards).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_by_b2bua_to_a_tel_uri_is_delivered_to_the_user_who_answers() {
    let mut text = config::EMBEDDED_DEFAULT.to_string();
    let sim = "[sim]\npstn-callers-bypass-lobby = false\n";
    let with_line = format!("{sim}\n[[sim.user]]\nuri = \"{AGENT02}\"\nline-uri = \"{B_TEL}\"\n");
    text = text.replacen(sim, &with_line, 1);
    let server = TestServer::start_with(config_text(text)).await;
    let mut router = server.client().await;
    let mut b = server.client().await;
    router.register("sip:rp1@skype.lab").await.unwrap();
    b.register(AGENT02).await.unwrap();
    server.admin_json("POST", "/sim/calls", r#"{"from":"tel:+14155550601","to":"sip:rp1@skype.lab"}"#).await;
    let rr = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.expect("EventRouteRequest");
    let mut route = req(RequestKind::RouteCall, "sip:rp1@skype.lab");
    route.attrs.conn_id = rr.attrs.conn_id;
    route.attrs.other_dn = Some(DnName::new(B_TEL));
    route.attrs.extensions = Some(KvList::new().with("calling-method", "b2b").with("NO_ANSWER_TIMEOUT", "1"));
    let used = router.request(route).await.unwrap();
    assert_eq!(used.kind, EventKind::RouteUsed, "{used:?}");
    server.admin_json("POST", &format!("/sim/users/{AGENT02}/answer"), "").await;
    let ringing = b.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("B's EventRinging");
    assert_eq!(ringing.attrs.extensions.as_ref().and_then(|x| x.get_str("calling-method")), Some("b2b"));
    assert!(b.wait_for(STEP, |e| e.kind == EventKind::Established).await.is_some());
    let late = router.wait_for(std::time::Duration::from_millis(1500), |e| e.kind == EventKind::Error).await;
    assert!(late.is_none(), "delivered: no TERR_DN_NO_ANSWER: {late:?}");
}
