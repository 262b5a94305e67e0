//! DN registration and DN requests: EventRegistered content, unregister, unknown DNs, queries,
//! agent requests fanned out to every registered client in order.

use crate::util::*;
use sfb_tserver::model::{AgentId, AgentStatus, AgentWorkMode, DnServiceState, DnType, KvList};
use sfb_tserver::tlib::{EventKind, RequestKind};

#[tokio::test]
async fn register_answers_event_registered_with_the_dn_state() {
    let server = TestServer::start().await;
    let c = server.client().await;
    let mut r = req(RequestKind::RegisterAddress, "SIP:Agent01@Skype.lab"); // case-insensitive
    r.attrs.reference_id = Some(17);
    let ev = c.request(r).await.unwrap();
    assert_eq!(ev.kind, EventKind::Registered);
    assert_eq!(ev.attrs.reference_id, Some(17));
    assert_eq!(ev.attrs.this_dn.as_ref().unwrap().as_str(), AGENT01);
    assert_eq!(ev.attrs.dn_type, Some(DnType::Extension));
    assert_eq!(ev.attrs.service_state, Some(DnServiceState::InService));
    assert_eq!(ev.attrs.agent_status, Some(AgentStatus::LoggedOut));

    let rp = c.register("sip:rp1@skype.lab").await.unwrap();
    assert_eq!(rp.attrs.dn_type, Some(DnType::RoutingPoint));

    let ev = c.request(req(RequestKind::UnregisterAddress, AGENT01)).await.unwrap();
    assert_eq!(ev.kind, EventKind::Unregistered);
    let ev = c.request(req(RequestKind::UnregisterAddress, AGENT01)).await.unwrap();
    assert_eq!(error_code(&ev), Some(41), "unregistering twice: TERR_NOT_REGISTERED");
}

#[tokio::test]
async fn unknown_dn_and_unregistered_dn_get_the_guides_codes() {
    let server = TestServer::start().await;
    let c = server.client().await;
    let ev = c.register("sip:nobody@skype.lab").await.unwrap();
    assert_eq!(ev.kind, EventKind::Error);
    assert_eq!(error_code(&ev), Some(59), "TERR_NOT_CONFIGURED");
    let ev = c.request(sfb_tserver::tlib::Request::new(RequestKind::RegisterAddress)).await.unwrap();
    assert_eq!(error_code(&ev), Some(53), "missing ThisDN: TERR_INVALID_ATTR");
    let mut login = req(RequestKind::AgentLogin, AGENT01);
    login.attrs.agent_id = Some(AgentId::new("1001"));
    let ev = c.request(login).await.unwrap();
    assert_eq!(error_code(&ev), Some(41), "requests on a DN need a registration first");
}

#[tokio::test]
async fn query_address_answers_address_info_to_the_requester_only() {
    let server = TestServer::start().await;
    let a = server.client().await;
    let mut other = server.client().await;
    other.register(AGENT01).await.unwrap();
    let ev = a.request(req(RequestKind::QueryAddress, AGENT01)).await.unwrap();
    assert_eq!(ev.kind, EventKind::AddressInfo);
    assert_eq!(ev.attrs.agent_status, Some(AgentStatus::LoggedOut));
    assert!(
        other.next_event_within(std::time::Duration::from_millis(200)).await.is_none(),
        "only the requester is notified"
    );
}

#[tokio::test]
async fn agent_events_fan_out_to_every_registered_client_in_order() {
    let server = TestServer::start().await;
    let desktop = server.client().await;
    let mut stat = server.client().await;
    desktop.register(AGENT01).await.unwrap();
    stat.register(AGENT01).await.unwrap();
    let mut login = req(RequestKind::AgentLogin, AGENT01);
    login.attrs.agent_id = Some(AgentId::new("1001"));
    login.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    desktop.send(login).await.unwrap();
    let mut nr = req(RequestKind::AgentSetNotReady, AGENT01);
    nr.attrs.reasons = Some(KvList::new().with("ReasonCode", "Lunch"));
    desktop.send(nr).await.unwrap();
    desktop.send(req(RequestKind::AgentLogout, AGENT01)).await.unwrap();
    let mut kinds = Vec::new();
    let mut seqs = Vec::new();
    while kinds.len() < 4 {
        let ev = stat.next_event_within(STEP).await.expect("event");
        kinds.push(ev.kind);
        seqs.push(ev.attrs.event_sequence_number.unwrap());
    }
    assert_eq!(
        kinds,
        vec![EventKind::AgentLogin, EventKind::AgentReady, EventKind::AgentNotReady, EventKind::AgentLogout]
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "sequence numbers increase: {seqs:?}");

    // One agent per DN, one DN per agent.
    let mut a = req(RequestKind::AgentLogin, AGENT01);
    a.attrs.agent_id = Some(AgentId::new("1001"));
    assert_eq!(desktop.request(a).await.unwrap().kind, EventKind::AgentLogin);
    desktop.register(AGENT02).await.unwrap();
    let mut b = req(RequestKind::AgentLogin, AGENT02);
    b.attrs.agent_id = Some(AgentId::new("1001"));
    assert_eq!(error_code(&desktop.request(b).await.unwrap()), Some(1706));
    let ev = desktop.request(req(RequestKind::AgentSetReady, AGENT02)).await.unwrap();
    assert_eq!(error_code(&ev), Some(1707));
}

#[tokio::test]
async fn switch_state_changes_reach_registered_clients() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.register(AGENT01).await.unwrap();
    let dn = server.h().ctx.directory.dn(&sfb_tserver::model::DnName::new(AGENT01)).unwrap();
    use sfb_tserver::actors::dn::DnMsg;
    dn.cast(DnMsg::SwitchState { in_service: false, cause: "link down".into() }).unwrap();
    let ev = c.next_event_within(STEP).await.unwrap();
    assert_eq!(ev.kind, EventKind::DNOutOfService);
    assert_eq!(ev.attrs.extensions.as_ref().and_then(|e| e.get_str("cause")), Some("link down"));
    let ev = c.request(req(RequestKind::AgentSetReady, AGENT01)).await.unwrap();
    assert_eq!(error_code(&ev), Some(58), "TERR_OUT_OF_SERVICE while the DN is out of service");
    dn.cast(DnMsg::SwitchState { in_service: true, cause: String::new() }).unwrap();
    let ev = c.wait_for(STEP, |e| e.kind == EventKind::DNBackInService).await;
    assert!(ev.is_some());
}

#[tokio::test]
async fn input_mask_filters_distributed_events_but_not_answers() {
    let server = TestServer::start().await;
    let mut c = server.client().await;
    c.register(AGENT01).await.unwrap();
    let mut mask = sfb_tserver::tlib::Request::new(RequestKind::SetInputMask);
    mask.attrs.input_mask = Some(vec![EventKind::AgentReady]);
    assert_eq!(c.request(mask).await.unwrap().kind, EventKind::ACK);
    let mut login = req(RequestKind::AgentLogin, AGENT01);
    login.attrs.agent_id = Some(AgentId::new("1001"));
    login.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    // Agent events are distributed to every client on the DN, so the mask applies to them too:
    // EventAgentLogin is masked, EventAgentReady passes.
    c.send(login).await.unwrap();
    let ev = c.next_event_within(STEP).await.expect("an event");
    assert_eq!(ev.kind, EventKind::AgentReady, "EventAgentLogin is masked out");
    // Requests answered by the session itself are never masked (an error is always delivered).
    let ev = c.request(req(RequestKind::AnswerCall, AGENT01)).await.unwrap();
    assert_eq!(error_code(&ev), Some(51));
}
