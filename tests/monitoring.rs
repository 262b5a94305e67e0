//! Call supervision end to end (issue 7): subscriptions over T-Library, the supervisor invited
//! when a call is established on the monitored agent, hidden from the customer (who never hears
//! a silent or coaching supervisor in the simulated SfB), mode switches, cancellation.

use crate::util::*;
use sfb_tserver::model::{DnName, DnRole, KvList, MonitorNextCallType};
use sfb_tserver::tlib::{EventKind, RequestKind};

const SUP: &str = "sip:supervisor1@skype.lab";
const CUSTOMER: &str = "tel:+14155550301";

async fn hears(server: &TestServer, who: &str) -> Vec<String> {
    let (_, v) = server.admin_json("GET", &format!("/sim/users/{who}"), "").await;
    let calls = v["calls"].as_array().cloned().unwrap_or_default();
    let first = calls.first().cloned().unwrap_or_default();
    first["hears"]
        .as_array()
        .map(|h| h.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_supervisor_joins_hidden_and_can_switch_to_open_supervision() {
    let server = TestServer::start().await;
    let mut sup = server.client().await;
    let mut agent = server.client().await;
    sup.register(SUP).await.unwrap();
    agent.register(AGENT01).await.unwrap();
    let mut monitor = req(RequestKind::MonitorNextCall, SUP);
    monitor.attrs.other_dn = Some(DnName::new(AGENT01));
    monitor.attrs.monitor_next_call_type = Some(MonitorNextCallType::OneCall);
    monitor.attrs.extensions = Some(KvList::new().with("MonitorMode", "mute").with("MonitorScope", "call"));
    let ok = sup.request(monitor.clone()).await.unwrap();
    assert_eq!(ok.kind, EventKind::MonitoringNextCall, "{ok:?}");
    let ext = ok.attrs.extensions.clone().unwrap();
    assert_eq!((ext.get_str("MonitorMode"), ext.get_str("MonitorScope")), (Some("mute"), Some("call")));
    let seen = agent.wait_for(STEP, |e| e.kind == EventKind::MonitoringNextCall).await.expect("the agent is told");
    assert_eq!(seen.attrs.other_dn, Some(DnName::new(SUP)));
    // The identical request is confirmed again, not refused; another supervisor is refused.
    assert_eq!(sup.request(monitor).await.unwrap().kind, EventKind::MonitoringNextCall);

    server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{CUSTOMER}","to":"{AGENT01}"}}"#)).await;
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    let ringing = sup.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("the supervisor is invited");
    assert_eq!(ringing.attrs.this_dn_role, Some(DnRole::Observer));
    let conn = ringing.attrs.conn_id.unwrap();
    server.admin_json("POST", &format!("/sim/users/{SUP}/answer"), "").await;
    let added = agent.wait_for(STEP, |e| e.kind == EventKind::PartyAdded).await.expect("EventPartyAdded at the agent");
    assert_eq!(added.attrs.other_dn_role, Some(DnRole::Observer), "lets the desktop hide the supervisor");
    assert!(wait_until(STEP, || async { hears(&server, SUP).await.contains(&AGENT01.to_string()) }).await);
    assert!(!hears(&server, CUSTOMER).await.contains(&SUP.to_string()), "the customer never hears it");
    assert!(!hears(&server, AGENT01).await.contains(&SUP.to_string()));

    let mut open = req(RequestKind::SetMuteOff, SUP);
    open.attrs.conn_id = Some(conn);
    let off = sup.request(open).await.unwrap();
    assert_eq!(off.kind, EventKind::MuteOff, "{off:?}");
    assert_eq!(off.attrs.extensions.unwrap().get_str("MonitorMode"), Some("connect"));
    assert!(agent.wait_for(STEP, |e| e.kind == EventKind::MuteOff).await.is_some());
    assert!(hears(&server, CUSTOMER).await.contains(&SUP.to_string()), "open supervision: everyone hears");

    // The customer hangs up; the supervisor leaves with the call and the one-call subscription ends.
    server.admin_json("POST", &format!("/sim/users/{CUSTOMER}/hangup"), "").await;
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/hangup"), "").await;
    let cancelled = sup.wait_for(STEP, |e| e.kind == EventKind::MonitoringCanceled).await.expect("one call: cancelled");
    assert_eq!(cancelled.attrs.other_dn, Some(DnName::new(AGENT01)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_refused_and_cancelled_as_the_guide_says() {
    let server = TestServer::start().await;
    let sup = server.client().await;
    let sup2 = server.client().await;
    sup.register(SUP).await.unwrap();
    sup2.register("sip:supervisor2@skype.lab").await.unwrap();
    let monitor = |who: &str, agent: &str| {
        let mut m = req(RequestKind::MonitorNextCall, who);
        m.attrs.other_dn = Some(DnName::new(agent));
        m
    };
    assert_eq!(sup.request(monitor(SUP, AGENT01)).await.unwrap().kind, EventKind::MonitoringNextCall);
    let busy = sup2.request(monitor("sip:supervisor2@skype.lab", AGENT01)).await.unwrap();
    assert_eq!(error_code(&busy), Some(565), "the agent is already monitored");
    let unknown = sup2.request(monitor("sip:supervisor2@skype.lab", "sip:nobody@skype.lab")).await.unwrap();
    assert_eq!(error_code(&unknown), Some(59));
    let mut cancel = req(RequestKind::CancelMonitoring, SUP);
    cancel.attrs.other_dn = Some(DnName::new(AGENT01));
    assert_eq!(sup.request(cancel.clone()).await.unwrap().kind, EventKind::MonitoringCanceled);
    assert_eq!(error_code(&sup.request(cancel).await.unwrap()), Some(565), "nothing left to cancel");
}

/// `cancel-monitor-on-disconnect`: the supervisor's desktop disconnects, the agent is told the
/// subscription is cancelled (and another supervisor may now take the agent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnecting_supervisor_desktop_cancels_its_subscription() {
    let server = TestServer::start_with(|c| c.tserver.cancel_monitor_on_disconnect = true).await;
    let sup = server.client().await;
    let mut agent = server.client().await;
    let sup2 = server.client().await;
    sup.register(SUP).await.unwrap();
    agent.register(AGENT01).await.unwrap();
    sup2.register("sip:supervisor2@skype.lab").await.unwrap();
    let mut m = req(RequestKind::MonitorNextCall, SUP);
    m.attrs.other_dn = Some(DnName::new(AGENT01));
    m.attrs.monitor_next_call_type = Some(MonitorNextCallType::AllCalls);
    assert_eq!(sup.request(m).await.unwrap().kind, EventKind::MonitoringNextCall);
    drop(sup);
    let cancelled = agent.wait_for(STEP, |e| e.kind == EventKind::MonitoringCanceled).await.expect("cancelled");
    assert_eq!(cancelled.attrs.other_dn, Some(DnName::new(SUP)));
    let mut m2 = req(RequestKind::MonitorNextCall, "sip:supervisor2@skype.lab");
    m2.attrs.other_dn = Some(DnName::new(AGENT01));
    assert_eq!(sup2.request(m2).await.unwrap().kind, EventKind::MonitoringNextCall, "the agent is free again");
}

/// Intrusion (`intrusion-enabled`): subscribing to an agent already on a call invites the
/// supervisor into that call at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intrusion_invites_the_supervisor_into_the_call_in_progress() {
    let server = TestServer::start_with(|c| c.tserver.intrusion_enabled = true).await;
    let mut sup = server.client().await;
    let mut agent = server.client().await;
    sup.register(SUP).await.unwrap();
    agent.register(AGENT01).await.unwrap();
    server.admin_json("POST", "/sim/calls", &format!(r#"{{"from":"{CUSTOMER}","to":"{AGENT01}"}}"#)).await;
    server.admin_json("POST", &format!("/sim/users/{AGENT01}/answer"), "").await;
    let est = agent.wait_for(STEP, |e| e.kind == EventKind::Established).await.expect("the call is established");
    let mut m = req(RequestKind::MonitorNextCall, SUP);
    m.attrs.other_dn = Some(DnName::new(AGENT01));
    assert_eq!(sup.request(m).await.unwrap().kind, EventKind::MonitoringNextCall);
    let ringing = sup.wait_for(STEP, |e| e.kind == EventKind::Ringing).await.expect("invited into the call");
    assert_eq!(ringing.attrs.conn_id, est.attrs.conn_id);
}
