//! Conference resource pools end to end (guide: "Conference Resource Pools", "Disable Lobby
//! Bypass"): calls the application acts on take a pooled conference and give it back; TMakeCall
//! is refused with the Connector's error code when no conference can host it — 42 when the pool
//! is exhausted with caching off, 1140 when the lobby settings are inconsistent.

use crate::util::*;
use sfb_tserver::model::DnName;
use sfb_tserver::tlib::{EventKind, RequestKind};

/// The embedded Connector's pool, as `GET /connectors` shows it.
async fn pool(server: &TestServer) -> serde_json::Value {
    let (status, v) = server.admin_json("GET", "/connectors", "").await;
    assert_eq!(status, 200, "{v}");
    v[0]["pool"].clone()
}

async fn pool_holds(server: &TestServer, cond: impl Fn(&serde_json::Value) -> bool) -> bool {
    wait_until(STEP, || async { cond(&pool(server).await) }).await
}

fn make_call(from: &str, to: &str) -> sfb_tserver::tlib::Request {
    let mut make = req(RequestKind::MakeCall, from);
    make.attrs.other_dn = Some(DnName::new(to));
    make
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_call_is_refused_with_42_when_the_pool_is_exhausted_with_caching_off() {
    let server = TestServer::start_with(|c| {
        c.switch.connector.conference_pool_size = 1;
        c.switch.connector.caching_enabled = false;
        // SfB schedules one conference a second: the pool's replacement is not ready at once.
        c.sim["conference-scheduling-rate"] = serde_json::json!(1);
    })
    .await;
    assert!(pool_holds(&server, |p| p["free"] == 1).await, "the pool is pre-created");
    let a = server.client().await;
    let b = server.client().await;
    a.register(AGENT01).await.unwrap();
    b.register(AGENT02).await.unwrap();

    let first = a.request(make_call(AGENT01, "tel:+14155550131")).await.unwrap();
    assert_eq!(first.kind, EventKind::Dialing, "{first:?}");
    let conn = first.attrs.conn_id.expect("ConnID");
    let refused = b.request(make_call(AGENT02, "tel:+14155550132")).await.unwrap();
    assert_eq!(refused.kind, EventKind::Error, "{refused:?}");
    assert_eq!(error_code(&refused), Some(42), "TERR_RESOURCE_SEIZED: {refused:?}");
    let message = refused.attrs.error_message.clone().unwrap_or_default();
    assert!(message.contains("conference pool is exhausted") && message.contains("caching-enabled = 0"), "{message}");
    let p = pool(&server).await;
    assert_eq!((p["in_use"].as_u64(), p["stats"]["calls_refused"].as_u64()), (Some(1), Some(1)), "{p}");
    assert!(server.h().ctx.snapshots.with_prefix("calls:").len() <= 1, "the refused call left nothing behind");

    // Without caching the conference serves one call: released, it is deleted, not reused.
    let mut release = req(RequestKind::ReleaseCall, AGENT01);
    release.attrs.conn_id = Some(conn);
    assert_eq!(a.request(release).await.unwrap().kind, EventKind::Released);
    assert!(pool_holds(&server, |p| p["in_use"] == 0 && p["stats"]["retired"] == 1).await, "{}", pool(&server).await);
    // Once the pool has refilled, calls go through again.
    assert!(pool_holds(&server, |p| p["free"] == 1).await);
    let again = b.request(make_call(AGENT02, "tel:+14155550133")).await.unwrap();
    assert_eq!(again.kind, EventKind::Dialing, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_call_is_refused_with_1140_when_lobby_bypass_is_inconsistent() {
    // The T-Server asks LobbyBypass=true; the simulated pool (default.toml [sim]) uses lobbies.
    let server = TestServer::start_with(|c| {
        c.switch.conference_services.as_mut().unwrap().lobby_bypass_enabled = true;
        c.switch.connector.conference_pool_size = 2;
    })
    .await;
    assert!(pool_holds(&server, |p| p["stats"]["failed"].as_u64() > Some(0)).await, "pool scheduling fails");
    let a = server.client().await;
    a.register(AGENT01).await.unwrap();
    let refused = a.request(make_call(AGENT01, "tel:+14155550141")).await.unwrap();
    assert_eq!(refused.kind, EventKind::Error, "{refused:?}");
    assert_eq!(error_code(&refused), Some(1140), "{refused:?}");
    let message = refused.attrs.error_message.clone().unwrap_or_default();
    assert!(
        message.contains("lobby settings are inconsistent") && message.contains("lobby-bypass-enabled"),
        "{message}"
    );
    // A customer calling a Routing Point cannot be hosted either (SfB refuses the call).
    let (status, v) =
        server.admin_json("POST", "/sim/calls", r#"{"from":"tel:+14155550142","to":"sip:rp1@skype.lab"}"#).await;
    assert_eq!((status, v["error_code"].as_i64()), (403, Some(1140)), "{v}");
    // A direct call stays peer-to-peer and works: it needs no conference until the application acts.
    let (status, v) =
        server.admin_json("POST", "/sim/calls", r#"{"from":"tel:+14155550143","to":"sip:agent01@skype.lab"}"#).await;
    assert_eq!(status, 201, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_calls_give_their_conference_back_to_the_pool() {
    let server = TestServer::start_with(|c| c.switch.connector.conference_pool_size = 1).await;
    assert!(pool_holds(&server, |p| p["free"] == 1).await, "the pool is pre-created");
    let a = server.client().await;
    a.register(AGENT01).await.unwrap();

    // TMakeCall takes the pooled conference (and the pool schedules a replacement).
    let dialing = a.request(make_call(AGENT01, "tel:+14155550151")).await.unwrap();
    assert_eq!(dialing.kind, EventKind::Dialing, "{dialing:?}");
    assert!(pool_holds(&server, |p| p["in_use"] == 1 && p["free"] == 1 && p["ad_hoc"] == 0).await);
    let mut release = req(RequestKind::ReleaseCall, AGENT01);
    release.attrs.conn_id = dialing.attrs.conn_id;
    assert_eq!(a.request(release).await.unwrap().kind, EventKind::Released);
    assert!(pool_holds(&server, |p| p["in_use"] == 0 && p["free"] == 2).await, "{}", pool(&server).await);

    // A customer calling a Routing Point is hosted by a pooled conference too (reusing one).
    let (status, v) =
        server.admin_json("POST", "/sim/calls", r#"{"from":"tel:+14155550152","to":"sip:rp1@skype.lab"}"#).await;
    assert_eq!(status, 201, "{v}");
    assert!(pool_holds(&server, |p| p["in_use"] == 1 && p["stats"]["reused"] == 1).await, "{}", pool(&server).await);
    server.admin_json("POST", "/sim/users/tel:+14155550152/hangup", "").await;
    assert!(pool_holds(&server, |p| p["in_use"] == 0 && p["free"] == 2).await, "{}", pool(&server).await);
    let p = pool(&server).await;
    assert_eq!((p["stats"]["expired"].as_u64(), p["stats"]["retired"].as_u64()), (Some(0), Some(0)), "{p}");
}
