//! Routing end to end (issue 5): a routing client speaking T-Library on a Routing Point, customers
//! calling it through the simulated SfB, agents' desktops. Timers are configured short (hundreds
//! of milliseconds); the pure model's golden tests fire them without waiting
//! (src/callmodel/tests/routing.rs).

use crate::util::*;
use sfb_tserver::model::{DnName, RouteType};
use sfb_tserver::tlib::{EventKind, RequestKind};
use std::time::Duration;

const RP1: &str = "sip:rp1@skype.lab";

fn route(conn: sfb_tserver::model::ConnId, to: &str) -> sfb_tserver::tlib::Request {
    let mut r = req(RequestKind::RouteCall, RP1);
    r.attrs.conn_id = Some(conn);
    r.attrs.other_dn = Some(DnName::new(to));
    r.attrs.route_type = Some(RouteType::Default);
    r
}

async fn customer_calls(server: &TestServer, from: &str) {
    let (status, v) = server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{from}","to":"{RP1}"}}"#)).await;
    assert_eq!(status, 201, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_client_routes_a_customer_to_an_agent() {
    let server = TestServer::start().await;
    let mut router = server.client().await;
    let mut desk = server.client().await;
    router.register(RP1).await.unwrap();
    desk.register(AGENT01).await.unwrap();
    customer_calls(&server, "tel:+14155550201").await;
    let queued = router.wait_for(STEP, |e| e.kind == EventKind::Queued).await.expect("EventQueued");
    let rr = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.expect("EventRouteRequest");
    let conn = rr.attrs.conn_id.unwrap();
    assert_eq!(queued.attrs.conn_id, Some(conn));
    assert_eq!(rr.attrs.this_dn, Some(DnName::new(RP1)));
    assert_eq!(rr.attrs.ani.as_deref(), Some("tel:+14155550201"));
    let used = router.request(route(conn, AGENT01)).await.unwrap();
    assert_eq!(used.kind, EventKind::RouteUsed, "{used:?}");
    assert_eq!(used.attrs.other_dn, Some(DnName::new(AGENT01)));
    let diverted = router.wait_for(STEP, |e| e.kind == EventKind::Diverted).await.expect("EventDiverted");
    assert_eq!(diverted.attrs.third_party_dn, Some(DnName::new(AGENT01)));
    let ringing = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("EventRinging");
    assert_eq!(ringing.attrs.conn_id, Some(conn), "the routed call keeps its ConnID");
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    let est = desk.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("EventEstablished");
    assert_eq!(est.attrs.conn_id, Some(conn));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_reach_default_dn_when_the_routing_client_disconnects_mid_route() {
    let server = TestServer::start_with(|c| {
        c.tserver.default_dn = Some(DnName::new(AGENT04));
        c.tserver.router_timeout = Duration::from_secs(60);
    })
    .await;
    let mut router = server.client().await;
    let mut desk = server.client().await;
    router.register(RP1).await.unwrap();
    desk.register(AGENT04).await.unwrap();
    customer_calls(&server, "tel:+14155550202").await;
    let conn = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.unwrap().attrs.conn_id;
    drop(router); // the routing strategy dies before routing the call
    let ringing = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("the call reached default-dn");
    assert_eq!(ringing.attrs.conn_id, conn);
    // A call arriving with no routing client registered goes there at once.
    customer_calls(&server, "tel:+14155550203").await;
    let second = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("second call at default-dn");
    assert_ne!(second.attrs.conn_id, conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_timeout_sends_the_call_to_default_dn() {
    let server = TestServer::start_with(|c| {
        c.tserver.default_dn = Some(DnName::new(AGENT04));
        c.tserver.router_timeout = Duration::from_millis(300);
    })
    .await;
    let mut router = server.client().await;
    let mut desk = server.client().await;
    router.register(RP1).await.unwrap();
    desk.register(AGENT04).await.unwrap();
    customer_calls(&server, "tel:+14155550204").await;
    let rr = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.unwrap();
    // The router stays silent.
    let ringing = desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("router-timeout -> default-dn");
    assert_eq!(ringing.attrs.conn_id, rr.attrs.conn_id);
    assert!(router.wait_for(STEP, |e| e.kind == EventKind::Diverted).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_route_is_reported_and_routed_again() {
    let server = TestServer::start_with(|c| c.tserver.router_timeout = Duration::from_secs(60)).await;
    let mut router = server.client().await;
    let mut desk = server.client().await;
    router.register(RP1).await.unwrap();
    desk.register(AGENT01).await.unwrap();
    customer_calls(&server, "tel:+14155550205").await;
    let conn = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.unwrap().attrs.conn_id.unwrap();
    let mut r = route(conn, AGENT01);
    r.attrs.extensions = Some(sfb_tserver::model::KvList::new().with("NO_ANSWER_TIMEOUT", "1"));
    assert_eq!(router.request(r).await.unwrap().kind, EventKind::RouteUsed);
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.is_some());
    // Nobody answers agent01 within a second.
    let err = router.wait_for(STEP, |e| e.kind == EventKind::Error).await.expect("TERR_DN_NO_ANSWER");
    assert_eq!(error_code(&err), Some(232));
    assert_eq!(err.attrs.conn_id, Some(conn));
    let again = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.expect("routed again");
    assert_eq!(again.attrs.conn_id, Some(conn));
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::Released).await.is_some(), "the ringing agent is released");
}

/// Routing to another Routing Point, to an External Routing Point (reached by its Association
/// number too) and to an external Tel URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_to_routing_points_and_external_numbers() {
    const RP2: &str = "sip:rp2@skype.lab";
    const ERP1: &str = "sip:erp1@skype.lab";
    let server = TestServer::start_with(|c| c.tserver.router_timeout = Duration::from_secs(60)).await;
    let mut router = server.client().await;
    let mut router2 = server.client().await;
    let mut erp = server.client().await;
    router.register(RP1).await.unwrap();
    router2.register(RP2).await.unwrap();
    erp.register(ERP1).await.unwrap();

    customer_calls(&server, "tel:+14155550206").await;
    let conn = router.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.unwrap().attrs.conn_id.unwrap();
    assert_eq!(router.request(route(conn, RP2)).await.unwrap().kind, EventKind::RouteUsed);
    let at_rp2 = router2.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.expect("queued at rp2");
    assert_eq!(at_rp2.attrs.conn_id, Some(conn));
    // rp2's router sends it on to the External Routing Point.
    let mut r = route(conn, ERP1);
    r.attrs.this_dn = Some(DnName::new(RP2));
    let used = router2.request(r).await.unwrap();
    assert_eq!(used.kind, EventKind::RouteUsed, "{used:?}");
    let at_erp = erp.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.expect("queued at erp1");
    assert_eq!(at_erp.attrs.conn_id, Some(conn));
    // ...which routes it out to an external number (pass-through calls are allowed by default).
    let mut r = route(conn, "tel:+14155550999");
    r.attrs.this_dn = Some(DnName::new(ERP1));
    let used = erp.request(r).await.unwrap();
    assert_eq!(used.kind, EventKind::RouteUsed, "{used:?}");
    assert!(erp.wait_for(STEP, |e| e.kind == EventKind::Diverted).await.is_some());

    // A caller dialing the External Routing Point's Association number reaches it.
    customer_calls_to(&server, "tel:+14155550207", "tel:+14155551212").await;
    let assoc = erp.wait_for(STEP, |e| e.kind == EventKind::RouteRequest).await.expect("reached by Association");
    assert_ne!(assoc.attrs.conn_id, Some(conn));
}

async fn customer_calls_to(server: &TestServer, from: &str, to: &str) {
    let (status, v) = server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{from}","to":"{to}"}}"#)).await;
    assert_eq!(status, 201, "{v}");
}
