//! The guide's subscription rules, one test each.

use super::*;
use crate::tlib::RequestKind;

const SUP: &str = "sip:supervisor1@skype.lab";
const SUP2: &str = "sip:supervisor2@skype.lab";
const AGENT: &str = "sip:agent01@skype.lab";
const AGENT2: &str = "sip:agent02@skype.lab";

fn defaults() -> Defaults {
    Defaults { mode: MonitorMode::Mute, scope: MonitorScope::Call }
}

fn configured(dn: &DnName) -> bool {
    dn.as_str().ends_with("@skype.lab")
}

fn monitor(sup: &str, agent: &str, ext: Option<KvList>, kind: Option<MonitorNextCallType>) -> Request {
    let mut r = Request::new(RequestKind::MonitorNextCall);
    r.attrs.reference_id = Some(7);
    r.attrs.this_dn = Some(DnName::new(sup));
    r.attrs.other_dn = Some(DnName::new(agent));
    r.attrs.extensions = ext;
    r.attrs.monitor_next_call_type = kind;
    r
}

/// ThisDN, event, its monitoring mode and scope, and its ReferenceID.
type Mode<'a> = (String, EventKind, Option<&'a str>, Option<&'a str>, Option<u32>);

fn modes(events: &[(DnName, Event)]) -> Vec<Mode<'_>> {
    events
        .iter()
        .map(|(dn, e)| {
            let x = e.attrs.extensions.as_ref().unwrap();
            (dn.to_string(), e.kind, x.get_str(MONITOR_MODE), x.get_str(MONITOR_SCOPE), e.attrs.reference_id)
        })
        .collect()
}

#[test]
fn a_subscription_is_confirmed_to_supervisor_and_agent_with_both_extensions() {
    let mut s = Subscriptions::default();
    let ext = KvList::new().with(MONITOR_MODE, "coach").with(MONITOR_SCOPE, "agent");
    let ev = s
        .monitor_next_call(
            1,
            &monitor(SUP, AGENT, Some(ext), Some(MonitorNextCallType::AllCalls)),
            defaults(),
            configured,
        )
        .unwrap();
    assert_eq!(
        modes(&ev),
        vec![
            (SUP.into(), EventKind::MonitoringNextCall, Some("coach"), Some("agent"), Some(7)),
            (AGENT.into(), EventKind::MonitoringNextCall, Some("coach"), Some("agent"), None),
        ]
    );
    assert_eq!(ev[0].1.attrs.other_dn, Some(DnName::new(AGENT)));
    assert_eq!(s.for_agent(&DnName::new(AGENT)).unwrap().kind, MonitorNextCallType::AllCalls);
}

#[test]
fn missing_or_incorrect_extensions_take_the_defaults() {
    let mut s = Subscriptions::default();
    let ext = KvList::new().with(MONITOR_MODE, "shout");
    let ev = s.monitor_next_call(1, &monitor(SUP, AGENT, Some(ext), None), defaults(), configured).unwrap();
    assert_eq!(modes(&ev)[0].2, Some("mute"));
    assert_eq!(modes(&ev)[0].3, Some("call"));
    assert_eq!(s.for_supervisor(&DnName::new(SUP)).unwrap().kind, MonitorNextCallType::OneCall);
}

#[test]
fn an_existing_subscription_on_either_dn_refuses_but_the_identical_one_is_confirmed() {
    let mut s = Subscriptions::default();
    s.monitor_next_call(1, &monitor(SUP, AGENT, None, None), defaults(), configured).unwrap();
    let again = s.monitor_next_call(2, &monitor(SUP, AGENT, None, None), defaults(), configured).unwrap();
    assert_eq!(again.len(), 2, "the same subscription is answered, not refused");
    let busy_sup = s.monitor_next_call(1, &monitor(SUP, AGENT2, None, None), defaults(), configured);
    assert_eq!(busy_sup.unwrap_err().0, ErrorCode::InvalidState);
    let busy_agent = s.monitor_next_call(1, &monitor(SUP2, AGENT, None, None), defaults(), configured);
    assert_eq!(busy_agent.unwrap_err().0, ErrorCode::InvalidState);
    assert_eq!(s.all().count(), 1);
}

#[test]
fn unconfigured_dns_are_refused() {
    let mut s = Subscriptions::default();
    let r = s.monitor_next_call(1, &monitor(SUP, "sip:nobody@elsewhere.com", None, None), defaults(), configured);
    assert_eq!(r.unwrap_err().0, ErrorCode::NotConfigured);
}

#[test]
fn cancel_monitoring_and_its_refusal() {
    let mut s = Subscriptions::default();
    s.monitor_next_call(1, &monitor(SUP, AGENT, None, None), defaults(), configured).unwrap();
    let mut cancel = monitor(SUP, AGENT2, None, None);
    cancel.kind = RequestKind::CancelMonitoring;
    assert!(s.cancel(&cancel).is_err(), "no subscription for that pair");
    cancel.attrs.other_dn = Some(DnName::new(AGENT));
    let ev = s.cancel(&cancel).unwrap();
    assert_eq!(ev.iter().map(|(_, e)| e.kind).collect::<Vec<_>>(), vec![EventKind::MonitoringCanceled; 2]);
    assert!(s.cancel(&cancel).is_err(), "cancelled already");
}

#[test]
fn one_call_subscriptions_end_with_their_session_all_calls_do_not() {
    let mut s = Subscriptions::default();
    s.monitor_next_call(1, &monitor(SUP, AGENT, None, Some(MonitorNextCallType::OneCall)), defaults(), configured)
        .unwrap();
    s.monitor_next_call(1, &monitor(SUP2, AGENT2, None, Some(MonitorNextCallType::AllCalls)), defaults(), configured)
        .unwrap();
    assert_eq!(s.session_ended(&DnName::new(SUP)).len(), 2);
    assert!(s.session_ended(&DnName::new(SUP2)).is_empty());
    assert_eq!(s.all().count(), 1);
}

#[test]
fn the_subscribing_client_leaving_cancels_its_subscriptions() {
    let mut s = Subscriptions::default();
    s.monitor_next_call(1, &monitor(SUP, AGENT, None, None), defaults(), configured).unwrap();
    s.monitor_next_call(2, &monitor(SUP2, AGENT2, None, None), defaults(), configured).unwrap();
    let ev = s.client_gone(1);
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|(_, e)| e.attrs.extensions.as_ref().unwrap().get_str(MONITOR_MODE).is_some()));
    assert_eq!(s.all().map(|x| x.supervisor.to_string()).collect::<Vec<_>>(), vec![SUP2.to_string()]);
}
