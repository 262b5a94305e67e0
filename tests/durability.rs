//! State that must survive a process restart: the durable snapshot store.

use crate::util::*;
use sfb_tserver::model::{AgentId, AgentStatus, AgentWorkMode, KvList};
use sfb_tserver::store::Snapshot;
use sfb_tserver::tlib::{EventKind, RequestKind};

#[tokio::test]
async fn dn_state_survives_a_process_restart() {
    let server = TestServer::start().await;
    let c = server.client().await;
    c.register(AGENT01).await.unwrap();
    let mut login = req(RequestKind::AgentLogin, AGENT01);
    login.attrs.agent_id = Some(AgentId::new("1001"));
    c.request(login).await.unwrap();
    let mut nr = req(RequestKind::AgentSetNotReady, AGENT01);
    nr.attrs.agent_work_mode = Some(AgentWorkMode::AuxWork);
    nr.attrs.reasons = Some(KvList::new().with("ReasonCode", "Training"));
    assert_eq!(c.request(nr).await.unwrap().kind, EventKind::AgentNotReady);
    drop(c);
    let dir = server.shutdown().await;

    let server = TestServer::start_in(dir, |_| {}).await;
    let c = server.client().await;
    let ev = c.register(AGENT01).await.unwrap();
    assert_eq!(ev.attrs.agent_id, Some(AgentId::new("1001")));
    assert_eq!(ev.attrs.agent_status, Some(AgentStatus::NotReady));
    assert_eq!(ev.attrs.agent_work_mode, Some(AgentWorkMode::AuxWork));
    assert_eq!(ev.attrs.reasons.unwrap().get_str("ReasonCode"), Some("Training"));
    // AgentSup brought the agent's session back from its snapshot, and the Dn found it.
    let dn = sfb_tserver::model::DnName::new(AGENT01);
    assert!(server.h().ctx.directory.agent_session(&dn).is_some(), "the agent's session is back");
    let actor = server.h().ctx.directory.dn(&dn).unwrap();
    let view = ractor::call_t!(actor, sfb_tserver::actors::dn::DnMsg::GetView, 2000).unwrap();
    assert!(view.agent_session.is_some(), "{view:?}");
    // The agent is still claimed: logging it in elsewhere is refused.
    c.register(AGENT02).await.unwrap();
    let mut again = req(RequestKind::AgentLogin, AGENT02);
    again.attrs.agent_id = Some(AgentId::new("1001"));
    assert_eq!(error_code(&c.request(again).await.unwrap()), Some(1706));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_during_a_call_starts_again_with_the_call() {
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    let conn = server.ring(&mut desk, "tel:+14155550190", AGENT01).await.attrs.conn_id.unwrap();
    drop(desk);
    let dir = server.shutdown().await;
    // Every snapshot kind written during a call (DN, call, HA mirror) must load again.
    let server = TestServer::start_in(dir, |_| {}).await;
    let families = server.h().ctx.snapshots.with_prefix("calls:");
    let back = families.iter().any(|(_, s)| matches!(s, Snapshot::Calls(t) if t.routes().conns.contains(&conn)));
    assert!(back, "the call's snapshot is back: {families:?}");
    assert!(!server.h().ctx.snapshots.with_prefix("ha:").is_empty(), "the HA mirror is back");
}
