//! `allow-pass-through-calls` (guide, "Handling Pass-Through Calls") through the simulated SfB:
//! refusals 98 / 1148 / 705 and the release of a call left with external parties only.

use super::*;
use crate::model::DnName;
use crate::tlib::RequestKind as K;

const OTHER: &str = "tel:+14155550199";

fn dn(s: &str) -> Option<DnName> {
    Some(uri(s).as_str().into())
}

fn rig(policy: PassThroughPolicy) -> Rig {
    let mut r = Rig::new();
    let options = CallModelOptions { allow_pass_through: policy, ..CallModelOptions::default() };
    r.table = CallTable::new(directory(), Arc::new(ConnIdGenerator::new(0)), options);
    r
}

fn answers(r: &mut Rig, who: &str) {
    r.person(|w, now| w.answer(now, &uri(who), None).unwrap());
}

/// The customer calls agent01, who answers: c1.
fn customer_with_agent01(r: &mut Rig) -> ConnId {
    r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri("agent01"), sim::Media::Voice, None).unwrap()));
    answers(r, "agent01");
    r.log.take();
    r.conn(1)
}

/// agent01 consults the external OTHER, who answers: (c1, c2).
fn consulting_external(r: &mut Rig) -> (ConnId, ConnId) {
    let c1 = customer_with_agent01(r);
    r.request(K::InitiateTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn(OTHER);
    });
    answers(r, OTHER);
    r.log.take();
    (c1, r.conn(2))
}

fn complete(r: &mut Rig, c1: ConnId, c2: ConnId) {
    r.request(K::CompleteTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
}

#[test]
fn complete_transfer_to_an_external_party_is_refused_with_98_when_pass_through_is_off() {
    let mut r = rig(PassThroughPolicy::None);
    let (c1, c2) = consulting_external(&mut r);
    let sent = r.sent.len();
    complete(&mut r, c1, c2);
    golden(r.log.take(), &["client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=2 ErrorCode=98"]);
    assert_eq!(r.sent.len(), sent, "nothing goes to the switch");
    assert!(r.table.call(c1).is_some_and(|c| !c.is_locked()) && r.table.call(c2).is_some_and(|c| !c.is_locked()));
}

#[test]
fn pass_through_calls_are_allowed_by_default_and_with_iscc() {
    for policy in [CallModelOptions::default().allow_pass_through, PassThroughPolicy::Iscc] {
        let mut r = rig(policy);
        let (c1, c2) = consulting_external(&mut r);
        complete(&mut r, c1, c2);
        let lines = r.log.take();
        assert!(
            lines.iter().any(|l| l.contains("EventReleased ConnID=c1") && l.contains("ReferenceID=2")),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.contains("EventError")), "{lines:?}");
    }
    let server = crate::config::load_str(SWITCH).unwrap();
    let o = CallModelOptions::from_tserver(&server.tserver);
    assert_eq!(o.allow_pass_through, PassThroughPolicy::All, "the option's default is all");
}

#[test]
fn single_step_transfer_to_an_external_party_is_refused_with_1148_when_pass_through_is_off() {
    let mut r = rig(PassThroughPolicy::None);
    let c1 = customer_with_agent01(&mut r);
    let sent = r.sent.len();
    r.request(K::SingleStepTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn(OTHER);
    });
    golden(r.log.take(), &["client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=1 ErrorCode=1148"]);
    assert_eq!(r.sent.len(), sent, "nothing goes to the switch");
    // To a configured DN it is carried out.
    r.request(K::SingleStepTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent02");
    });
    assert!(r.log.take().iter().any(|l| l.starts_with("agent02 EventRinging")));
}

#[test]
fn a_dn_level_value_takes_precedence() {
    struct Dir(Arc<dyn Directory>);
    impl Directory for Dir {
        fn lookup(&self, uri: &str) -> Option<DnInfo> {
            self.0.lookup(uri)
        }
        fn pass_through(&self, dn: &DnName) -> Option<PassThroughPolicy> {
            (dn.as_str() == uri("agent01")).then_some(PassThroughPolicy::None)
        }
    }
    let mut r = Rig::new();
    r.table =
        CallTable::new(Arc::new(Dir(directory())), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    let c1 = customer_with_agent01(&mut r);
    r.request(K::SingleStepTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn(OTHER);
    });
    golden(r.log.take(), &["client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=1 ErrorCode=1148"]);
}

#[test]
fn a_conference_left_with_external_parties_only_is_released_when_pass_through_is_off() {
    for (policy, released) in [(PassThroughPolicy::None, true), (PassThroughPolicy::All, false)] {
        let mut r = rig(policy);
        let c1 = customer_with_agent01(&mut r);
        r.request(K::SingleStepConference, "agent01", |a| {
            a.conn_id = Some(c1);
            a.other_dn = dn(OTHER);
        });
        answers(&mut r, OTHER);
        r.log.take();
        let sent = r.sent.len();
        r.person(|w, now| w.hangup(now, &uri("agent01"), None).unwrap());
        let lines = r.log.take();
        assert!(lines[0].starts_with("agent01 EventReleased ConnID=c1"), "{lines:?}");
        assert_eq!(r.sent.len() > sent, released, "{policy:?}");
        assert_eq!(r.log.ended.contains(&c1), released, "{policy:?}: the call ends");
        if released {
            assert!(r.table.call(c1).is_none());
        }
    }
}

#[test]
fn route_call_to_an_external_destination_is_refused_with_705_when_pass_through_is_off() {
    for (policy, refused) in [(PassThroughPolicy::None, true), (PassThroughPolicy::All, false)] {
        let mut s = Script::new();
        s.table = CallTable::new(
            directory(),
            Arc::new(ConnIdGenerator::new(0)),
            CallModelOptions { allow_pass_through: policy, ..CallModelOptions::default() },
        );
        s.created(7, "customer", "rp1", mltp::Direction::Inbound);
        s.party(7, "customer", mltp::PartyState::Dialing);
        s.party(7, "rp1", mltp::PartyState::Connected);
        let c1 = s.log.conns[0];
        let rp = DnName::new(uri("rp1"));
        let r = s.table.check_route_call(c1, &rp, OTHER);
        assert_eq!(r.err().map(|e| e.code().code()), refused.then_some(705), "{policy:?}");
        assert!(s.table.check_route_call(c1, &rp, &uri("agent01")).is_ok(), "to a configured DN");
    }
}
