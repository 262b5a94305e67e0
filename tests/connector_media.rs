//! The Connector's own resources, driven by a fake T-Server speaking raw MLTP: the conference
//! pool (pre-created, used by MAKE_CALL, reused with caching), ring-back and music on hold as the
//! simulation records them, and the guide's lobby-bypass consistency rule.

use crate::connectors::{control, start_pool_with};
use crate::util::mltp_peer::MltpPeer;
use crate::util::*;
use sfb_tserver::actors::connector::connector::ConnectorMsg;
use sfb_tserver::mltp::{Media, Mltp, TxId};
use sfb_tserver::model::{ConnId, DnName, DnType};

fn hello() -> Mltp {
    Mltp::Hello { version: "1.0".into(), tserver: "test".into(), pool: "default".into() }
}

/// MAKE_CALL of a voice call from `from` to `to`, the T-Server's ConnID `conn`.
fn make_call(conn: u64, from: &str, to: &str) -> Mltp {
    Mltp::MakeCall {
        conn_id: ConnId(conn),
        from: from.into(),
        to: to.into(),
        media: Media::Voice,
        conversation_id: None,
        data: None,
        calling_method: None,
        cpn: None,
        text: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_conferences_ringback_and_music_on_hold() {
    let mut cfg = sfb_tserver::config::embedded_default();
    cfg.switch.connector.conference_pool_size = 2;
    cfg.switch.connector.music_on_hold_file_path = Some("moh.wma".into());
    cfg.switch.connector.ringtone_file_path = Some("ring.wma".into());
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool_with(cfg, &["m1"], dir.path(), None).await;
    let c = pool.control.connectors.connectors.read().get("m1").cloned().unwrap();
    assert!(
        wait_until(STEP, || async { ractor::call_t!(c, ConnectorMsg::GetView, 1000).is_ok_and(|v| v.pool.free == 2) })
            .await,
        "conference-pool-size conferences are pre-created"
    );
    let mut ts = MltpPeer::connect(&pool.connectors[0].1.to_string()).await;
    assert!(ts.request(hello()).await.is_ok());
    let r = ts.request(Mltp::RegisterDn { dn: DnName::new(AGENT01), dn_type: DnType::Extension }).await;
    assert!(r.is_ok(), "{r:?}");
    let customer = "tel:+14155550177";
    let r = ts.request(make_call(0x42, AGENT01, customer)).await;
    assert!(r.is_ok(), "{r:?}");
    let call: u64 = r.get("call").unwrap().parse().unwrap();
    let view = ractor::call_t!(c, ConnectorMsg::GetView, 1000).unwrap();
    assert_eq!(view.pool.in_use, 1, "the call is hosted by a pooled conference");
    assert_eq!(view.pool.ad_hoc, 0);
    assert!(
        wait_until(STEP, || async {
            ractor::call_t!(c, ConnectorMsg::GetView, 1000).is_ok_and(|v| v.pool.free == 2 && v.pool.in_use == 1)
        })
        .await,
        "a conference taken from the pool is replaced"
    );

    // While the customer's phone alerts, the agent (the caller) hears the ring-back tone.
    let (_, v) = control(&pool, "GET", &format!("/sim/users/{AGENT01}"), "").await;
    assert_eq!(v["calls"][0]["playback"]["type"], "ringback", "{v}");
    assert_eq!(v["calls"][0]["playback"]["file"], "ring.wma", "{v}");
    let (status, v) = control(&pool, "POST", &format!("/sim/users/{customer}/answer"), "").await;
    assert_eq!(status, 200, "{v}");

    // The agent holds: the customer hears music on hold.
    let r = ts.request(Mltp::HoldCall { call, party: AGENT01.into() }).await;
    assert!(r.is_ok(), "{r:?}");
    let (_, v) = control(&pool, "GET", &format!("/sim/users/{customer}"), "").await;
    assert_eq!(v["calls"][0]["playback"]["type"], "music-on-hold", "{v}");
    assert_eq!(v["calls"][0]["playback"]["file"], "moh.wma", "{v}");
    let r = ts.request(Mltp::RetrieveCall { call, party: AGENT01.into() }).await;
    assert!(r.is_ok(), "{r:?}");
    let (_, v) = control(&pool, "GET", &format!("/sim/users/{customer}"), "").await;
    assert!(v["calls"][0]["playback"].is_null(), "music stops on retrieve: {v}");

    // Release: the event reaches the fake T-Server and the conference returns to the pool, next
    // to the one scheduled to replace it while it was in use.
    let r = ts.request(Mltp::ReleaseCall { call, party: AGENT01.into() }).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(ts.wait_event(STEP, |m| matches!(m, Mltp::CallDeleted { call: c, .. } if *c == call)).await);
    assert!(
        wait_until(STEP, || async {
            ractor::call_t!(c, ConnectorMsg::GetView, 1000).is_ok_and(|v| v.pool.in_use == 0 && v.pool.free == 3)
        })
        .await,
        "with caching-enabled the conference is kept for reuse: {:?}",
        ractor::call_t!(c, ConnectorMsg::GetView, 1000).map(|v| v.pool)
    );
    let r = ts.request(make_call(0x43, AGENT01, customer)).await;
    assert!(r.is_ok(), "{r:?}");
    let view = ractor::call_t!(c, ConnectorMsg::GetView, 1000).unwrap();
    assert_eq!((view.pool.in_use, view.pool.stats.reused), (1, 1), "the next call reuses it: {view:?}");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inconsistent_lobby_bypass_makes_conference_scheduling_fail() {
    init_log();
    let mut cfg = sfb_tserver::config::embedded_default();
    cfg.switch.connector.conference_pool_size = 2;
    // The T-Server says lobby bypass is on, the simulated pool (default.toml [sim]) says off.
    cfg.switch.conference_services.as_mut().unwrap().lobby_bypass_enabled = true;
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool_with(cfg, &["l1"], dir.path(), None).await;
    let c = pool.control.connectors.connectors.read().get("l1").cloned().unwrap();
    assert!(
        wait_until(STEP, || async {
            ractor::call_t!(c, ConnectorMsg::GetView, 1000).is_ok_and(|v| v.pool.stats.failed > 0)
        })
        .await,
        "scheduling fails"
    );
    let v = ractor::call_t!(c, ConnectorMsg::GetView, 1000).unwrap();
    assert_eq!(v.pool.free, 0);
    assert!(
        v.pool.stats.last_failure.as_deref().is_some_and(|f| f.to_lowercase().contains("lobby")),
        "{:?}",
        v.pool.stats.last_failure
    );
    // No conference can be scheduled on demand either: MAKE_CALL is refused with 1140 and why.
    let mut ts = MltpPeer::connect(&pool.connectors[0].1.to_string()).await;
    assert!(ts.request(hello()).await.is_ok());
    let r = ts.request(Mltp::RegisterDn { dn: DnName::new(AGENT01), dn_type: DnType::Extension }).await;
    assert!(r.is_ok(), "{r:?}");
    let r = ts.request(make_call(0x44, AGENT01, "tel:+14155550178")).await;
    let (code, reason) = r.failure().expect("refused");
    assert_eq!(code.code(), 1140, "{r:?}");
    assert!(reason.starts_with("no conference can host the call: lobby settings are inconsistent"), "{reason}");
    let v = ractor::call_t!(c, ConnectorMsg::GetView, 1000).unwrap();
    assert_eq!((v.calls.len(), v.pool.stats.calls_refused), (0, 1), "{v:?}");
    pool.shutdown().await;
}

/// Requests that are one command to SfB are sent on without waiting for SfB's answer: sent in one
/// burst, with another kind of request among them (it waits for those before it), they are all
/// answered, in the order sent, each before the events its command caused; a command SfB refuses
/// is answered with SfB's error, not a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_requests_are_pipelined_and_answered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool_with(sfb_tserver::config::embedded_default(), &["q1"], dir.path(), None).await;
    let mut ts = MltpPeer::connect(&pool.connectors[0].1.to_string()).await;
    assert!(ts.request(hello()).await.is_ok());
    assert!(ts.request(Mltp::RegisterDn { dn: DnName::new(AGENT01), dn_type: DnType::Extension }).await.is_ok());
    let customer = "tel:+14155550178";
    let make = make_call(0x44, AGENT01, customer);
    let r = ts.request(make).await;
    let call: u64 = r.get("call").expect("MAKE_CALL answers the call").parse().unwrap();
    let (status, v) = control(&pool, "POST", &format!("/sim/users/{customer}/answer"), "").await;
    assert_eq!(status, 200, "{v}");

    let agent = || AGENT01.to_string();
    let txs = ts
        .send_all(vec![
            Mltp::HoldCall { call, party: agent() },
            Mltp::RetrieveCall { call, party: agent() },
            Mltp::SubscribePresence { dn: DnName::new(AGENT01) },
            Mltp::HoldCall { call: 999_999, party: agent() },
            Mltp::ReleaseCall { call, party: agent() },
        ])
        .await;
    let mut answered = Vec::new();
    let mut deleted_after = None;
    while answered.len() < txs.len() || deleted_after.is_none() {
        let (id, m) = ts.next_message(STEP).await.expect("every request is answered and the call deleted");
        match m {
            Mltp::Response(r) => answered.push((id, r)),
            Mltp::CallDeleted { call: c, .. } if c == call => deleted_after = Some(answered.len()),
            _ => {}
        }
    }
    let ids: Vec<TxId> = answered.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, txs.iter().map(|t| TxId::Tx(*t)).collect::<Vec<_>>(), "answers in the order sent");
    let ok: Vec<bool> = answered.iter().map(|(_, r)| r.is_ok()).collect();
    assert_eq!(ok, [true, true, true, false, true], "{answered:?}");
    let refused = answered[3].1.error.as_ref().map(|(_, text)| text.clone()).unwrap_or_default();
    assert!(!refused.contains("no answer"), "SfB's own refusal, not a lost command: {refused}");
    assert_eq!(deleted_after, Some(5), "the release is answered before the call's deletion is reported");
    pool.shutdown().await;
}
