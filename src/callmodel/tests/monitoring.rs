//! Monitoring sessions (issue 7): the supervisor (agent04 here) invited when a call is established
//! on the monitored agent (agent01), hidden in silent and coaching modes, released with the agent
//! (scope agent), mode switches with TSetMuteOn / TSetMuteOff, assistance; who hears whom checked
//! in the simulated SfB.

use super::*;
use crate::callmodel::MonitorSpec;
use crate::config::{MonitorMode, MonitorScope};
use crate::model::{DnName, KvList};
use crate::tlib::RequestKind as K;

struct Monitored {
    mode: MonitorMode,
    scope: MonitorScope,
    /// The supervisor is on another call.
    busy: bool,
}

impl Directory for Monitored {
    fn lookup(&self, uri: &str) -> Option<crate::callmodel::DnInfo> {
        directory().lookup(uri)
    }
    fn on_call(&self, dn: &DnName) -> bool {
        self.busy && dn.as_str() == uri("agent04")
    }
    fn monitor(&self, dn: &DnName) -> Option<MonitorSpec> {
        (dn.as_str() == uri("agent01")).then(|| MonitorSpec {
            supervisor: DnName::new(uri("agent04")),
            mode: self.mode,
            scope: self.scope,
        })
    }
}

fn rig(mode: MonitorMode, scope: MonitorScope) -> Rig {
    rig_with(Monitored { mode, scope, busy: false })
}

fn rig_with(dir: Monitored) -> Rig {
    let mut r = Rig::new();
    r.table = CallTable::new(Arc::new(dir), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    r
}

fn hears(r: &Rig, who: &str) -> Vec<String> {
    let v = r.world.user_view(&uri(who)).unwrap();
    v.calls.first().map(|c| c.hears.clone()).unwrap_or_default()
}

fn answered_customer_call(r: &mut Rig) -> ConnId {
    r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri("agent01"), sim::Media::Voice, None).unwrap()));
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    r.conn(1)
}

#[test]
fn silent_monitoring_is_hidden_and_ends_with_the_agent() {
    let mut r = rig(MonitorMode::Mute, MonitorScope::Agent);
    answered_customer_call(&mut r);
    golden(r.log.take(), &[
        "agent01 EventRinging ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "agent04 EventRinging ConnID=c1 ThisDN=agent04 ThisDNRole=Observer OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    r.person(|w, now| w.answer(now, &uri("agent04"), None).unwrap());
    golden(r.log.take(), &[
        "agent01 EventPartyAdded ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=agent04 OtherDNRole=Observer ThirdPartyDN=agent01 ThirdPartyDNRole=AddedBy CallState=Ok CallType=Inbound MediaType=0",
        "agent04 EventEstablished ConnID=c1 ThisDN=agent04 ThisDNRole=Observer OtherDN=agent01 OtherDNRole=Destination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    assert!(!hears(&r, "customer").contains(&uri("agent04")), "nobody hears a silent supervisor");
    assert!(!hears(&r, "agent01").contains(&uri("agent04")));
    assert!(hears(&r, "agent04").contains(&uri("agent01")), "the supervisor hears the call");
    // Scope agent: the supervisor leaves with the agent; the session's end is an effect.
    r.person(|w, now| w.hangup(now, &uri("agent01"), None).unwrap());
    golden(r.log.take(), &[
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "agent04 EventPartyDeleted ConnID=c1 ThisDN=agent04 ThisDNRole=Observer OtherDN=agent01 OtherDNRole=DeletedParty ThirdPartyDN=agent01 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Inbound MediaType=0",
        "agent04 EventReleased ConnID=c1 ThisDN=agent04 ThisDNRole=Observer OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
}

#[test]
fn coaching_is_heard_by_the_agent_only_and_set_mute_off_opens_it() {
    let mut r = rig(MonitorMode::Coach, MonitorScope::Call);
    let c1 = answered_customer_call(&mut r);
    r.person(|w, now| w.answer(now, &uri("agent04"), None).unwrap());
    r.log.take();
    assert!(hears(&r, "agent01").contains(&uri("agent04")), "the agent hears the coach");
    assert!(!hears(&r, "customer").contains(&uri("agent04")), "the customer never hears a coach");
    r.request(K::SetMuteOff, "agent04", |a| a.conn_id = Some(c1));
    golden(r.log.take(), &[
        "agent04 EventMuteOff ConnID=c1 ThisDN=agent04 ThisDNRole=ConferenceMember OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ReferenceID=1",
        "agent01 EventMuteOff ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    assert!(hears(&r, "customer").contains(&uri("agent04")), "connect: everyone hears the supervisor");
    let modes: Vec<Option<String>> = r
        .log
        .deliveries
        .iter()
        .rev()
        .take(2)
        .map(|d| d.event.attrs.extensions.as_ref().and_then(|x| x.get_str("MonitorMode")).map(str::to_string))
        .collect();
    assert_eq!(modes, vec![Some("connect".to_string()); 2]);
    // Back to coaching: TSetMuteOn with MonitorMode=coach.
    r.request(K::SetMuteOn, "agent04", |a| {
        a.conn_id = Some(c1);
        a.extensions = Some(KvList::new().with("MonitorMode", "coach"));
    });
    assert!(!hears(&r, "customer").contains(&uri("agent04")));
    // Only the supervisor of the call may switch.
    r.request(K::SetMuteOn, "agent01", |a| a.conn_id = Some(c1));
    assert!(r.log.deliveries.last().unwrap().event.attrs.error_code.is_some());
}

#[test]
fn im_and_internal_calls_are_not_supervised() {
    let mut r = rig(MonitorMode::Mute, MonitorScope::Agent);
    r.request(K::MakeCall, "agent02", |a| a.other_dn = Some(DnName::new(uri("agent01"))));
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    assert!(r.table.calls().all(|c| c.monitors.is_empty()), "internal: monitor-internal-calls is off");
    let mut r = rig(MonitorMode::Mute, MonitorScope::Agent);
    r.person(|w, now| {
        drop(w.start_call(now, &uri("agent03"), &uri("agent01"), sim::Media::Im, Some("hi".into())).unwrap())
    });
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    assert!(r.table.calls().all(|c| c.monitors.is_empty()), "IM calls are not supervised");
}

#[test]
fn assistance_invites_a_coach_for_the_call() {
    let mut r = rig(MonitorMode::Mute, MonitorScope::Agent);
    r.table = CallTable::new(directory(), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    let c1 = answered_customer_call(&mut r);
    r.log.take();
    r.request(K::SingleStepConference, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = Some(DnName::new(uri("agent04")));
        a.extensions = Some(KvList::new().with("AssistMode", "coach"));
    });
    r.person(|w, now| w.answer(now, &uri("agent04"), None).unwrap());
    let s = &r.table.call(c1).unwrap().monitors;
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].kind, s[0].scope, s[0].mode),
        (crate::callmodel::SessionKind::Assistance, MonitorScope::Call, MonitorMode::Coach)
    );
    assert!(!hears(&r, "customer").contains(&uri("agent04")));
}

/// Every mode x scope: who hears the supervisor, how it is shown to the agent, and whether it
/// stays when the agent leaves while the customer remains.
#[test]
fn modes_and_scopes() {
    for mode in [MonitorMode::Mute, MonitorMode::Coach, MonitorMode::Connect] {
        for scope in [MonitorScope::Agent, MonitorScope::Call] {
            let what = format!("{mode:?} {scope:?}");
            let mut r = rig(mode, scope);
            answered_customer_call(&mut r);
            r.person(|w, now| w.answer(now, &uri("agent04"), None).unwrap());
            let added = r.log.deliveries.iter().rev().find(|d| d.event.kind == crate::tlib::EventKind::PartyAdded);
            let role = added.and_then(|d| d.event.attrs.other_dn_role).expect("EventPartyAdded at the agent");
            let hidden = mode != MonitorMode::Connect;
            assert_eq!(role == crate::model::DnRole::Observer, hidden, "{what}");
            let sup = uri("agent04");
            assert_eq!(hears(&r, "customer").contains(&sup), mode == MonitorMode::Connect, "{what}: customer");
            assert_eq!(hears(&r, "agent01").contains(&sup), mode != MonitorMode::Mute, "{what}: agent");
            // The agent leaves; the customer stays on.
            r.person(|w, now| w.hangup(now, &uri("agent01"), None).unwrap());
            let still = r.table.calls().any(|c| c.party_of_dn(&DnName::new(&sup)).is_some());
            assert_eq!(still, scope == MonitorScope::Call, "{what}: supervisor after the agent left");
        }
    }
}

#[test]
fn a_supervisor_on_another_call_is_not_invited() {
    let mut r = rig_with(Monitored { mode: MonitorMode::Mute, scope: MonitorScope::Call, busy: true });
    answered_customer_call(&mut r);
    assert!(r.table.calls().all(|c| c.monitors.is_empty()), "busy supervisor: no session");
}

/// Guide, "Intrusion": a call two-step transferred to a monitored agent does not notify the
/// supervisor.
#[test]
fn a_two_step_transfer_to_the_monitored_agent_does_not_invite_the_supervisor() {
    let mut r = rig(MonitorMode::Mute, MonitorScope::Call);
    r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri("agent02"), sim::Media::Voice, None).unwrap()));
    r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
    let c1 = r.conn(1);
    r.request(K::InitiateTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = Some(DnName::new(uri("agent01")));
    });
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    let c2 = r.conn(2);
    r.request(K::CompleteTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    assert!(r.table.call(c1).unwrap().party_of_dn(&DnName::new(uri("agent01"))).is_some(), "transferred");
    assert!(r.table.calls().all(|c| c.monitors.is_empty()), "no supervisor for the transferred call");
}

/// A subscription that exists only once `on` is set (made while the call is in progress).
struct Later(Arc<std::sync::atomic::AtomicBool>);

impl Directory for Later {
    fn lookup(&self, uri: &str) -> Option<crate::callmodel::DnInfo> {
        directory().lookup(uri)
    }
    fn monitor(&self, dn: &DnName) -> Option<MonitorSpec> {
        let on = self.0.load(std::sync::atomic::Ordering::Relaxed);
        Monitored { mode: MonitorMode::Mute, scope: MonitorScope::Call, busy: false }.monitor(dn).filter(|_| on)
    }
}

/// Intrusion (`intrusion-enabled`): a subscription made while the agent is on an established
/// call invites the supervisor into that call at once.
#[test]
fn intrusion_joins_the_call_in_progress() {
    let on = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut r = Rig::new();
    r.table =
        CallTable::new(Arc::new(Later(on.clone())), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    answered_customer_call(&mut r);
    assert!(r.table.calls().all(|c| c.monitors.is_empty()), "no subscription yet");
    on.store(true, std::sync::atomic::Ordering::Relaxed);
    r.apply(Input::Intrude { agent: DnName::new(uri("agent01")) });
    assert_eq!(r.table.calls().next().unwrap().monitors.len(), 1, "invited into the call in progress");
    r.apply(Input::Intrude { agent: DnName::new(uri("agent01")) });
    assert_eq!(r.table.calls().next().unwrap().monitors.len(), 1, "not twice");
    r.person(|w, now| w.answer(now, &uri("agent04"), None).unwrap());
    assert!(hears(&r, "agent04").contains(&uri("agent01")));
    assert!(!hears(&r, "customer").contains(&uri("agent04")));
}

/// The guide's example: Agent1's call has Supervisor1 by subscription, then Agent1 asks
/// Supervisor2 for assistance: two sessions on one call at once.
#[test]
fn a_subscription_session_and_an_assistance_session_on_one_call() {
    let mut r = rig(MonitorMode::Mute, MonitorScope::Call);
    let c1 = answered_customer_call(&mut r);
    r.person(|w, now| w.answer(now, &uri("agent04"), None).unwrap());
    r.request(K::SingleStepConference, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = Some(DnName::new(uri("agent03")));
        a.extensions = Some(KvList::new().with("AssistMode", "connect"));
    });
    r.person(|w, now| w.answer(now, &uri("agent03"), None).unwrap());
    let kinds: Vec<_> = r.table.call(c1).unwrap().monitors.iter().map(|s| (s.supervisor.to_string(), s.kind)).collect();
    use crate::callmodel::SessionKind::*;
    assert_eq!(kinds, vec![(uri("agent04"), Subscription), (uri("agent03"), Assistance)]);
    assert!(hears(&r, "customer").contains(&uri("agent03")), "open assistance is heard");
    assert!(!hears(&r, "customer").contains(&uri("agent04")), "the silent one is not");
}

/// `monitor-consult-calls`: a consultation received by the monitored agent is supervised with
/// `dest` and `all`, not with `none` or `orig`.
#[test]
fn consultations_follow_monitor_consult_calls() {
    use crate::config::MonitorConsultCalls as M;
    for (option, invited) in [(M::None, false), (M::Orig, false), (M::Dest, true), (M::All, true)] {
        let mut r = Rig::new();
        let options = CallModelOptions { monitor_consult_calls: option, ..CallModelOptions::default() };
        let dir = Monitored { mode: MonitorMode::Mute, scope: MonitorScope::Call, busy: false };
        r.table = CallTable::new(Arc::new(dir), Arc::new(ConnIdGenerator::new(0)), options);
        r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri("agent02"), sim::Media::Voice, None).unwrap()));
        r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
        let c1 = r.conn(1);
        r.request(K::InitiateTransfer, "agent02", |a| {
            a.conn_id = Some(c1);
            a.other_dn = Some(DnName::new(uri("agent01")));
        });
        r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
        let consult = r.table.call(r.conn(2)).unwrap();
        assert_eq!(!consult.monitors.is_empty(), invited, "{option:?}");
    }
}

/// A silent supervisor leaving is shown to the agent with OtherDNRole Observer, like its arrival.
#[test]
fn a_hidden_supervisor_leaving_is_still_an_observer() {
    let mut r = rig(MonitorMode::Mute, MonitorScope::Call);
    answered_customer_call(&mut r);
    r.person(|w, now| w.answer(now, &uri("agent04"), None).unwrap());
    r.log.take();
    r.person(|w, now| w.hangup(now, &uri("agent04"), None).unwrap());
    let deleted = r.log.deliveries.iter().rev().find(|d| d.event.kind == crate::tlib::EventKind::PartyDeleted);
    let ev = &deleted.expect("EventPartyDeleted at the agent").event;
    assert_eq!(ev.attrs.other_dn_role, Some(crate::model::DnRole::Observer));
    assert_eq!(ev.attrs.this_dn, Some(DnName::new(uri("agent01"))));
}
