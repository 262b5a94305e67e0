//! B2BUA calling (guide: "Calling using Back-to-Back User Agent"): the dial plan or the request's
//! `calling-method` Extension choose B2BUA; MAKE_CALL / REDIRECT_CALL carry `calling-method` and
//! `cpn`; the destination is reported as the requested Tel URI until the answering SfB user
//! replaces it, and its EventRinging carries `calling-method = b2b`. Scripted MLTP: the flow's
//! PSTN leg is SIP Server's, which the simulation does not model.

use super::*;
use crate::config::CallingMethod;
use crate::dialplan::{DialPlan, Rule};
use crate::mltp::{Direction, PartyState as S};
use crate::model::{DnName, KvList};
use crate::tlib::RequestKind as K;

const B_TEL: &str = "tel:+14155550102";

/// The directory with a dial plan: Tel URIs are called by B2BUA with a caller ID.
struct PlanDirectory;

impl Directory for PlanDirectory {
    fn lookup(&self, uri: &str) -> Option<crate::callmodel::DnInfo> {
        directory().lookup(uri)
    }
    fn dial_plan(&self, _dn: &DnName) -> Option<DialPlan> {
        let rule = Rule::parse("tel:+{#};calling-method=b2b;cpn=sip:helpdesk@skype.lab").unwrap();
        Some(DialPlan::new(DnName::new("sip:dialplan@skype.lab"), [(1, rule)], CallingMethod::Dialout, None, None))
    }
}

fn sent_make_call(s: &Script) -> Mltp {
    s.sent.iter().rev().find(|r| matches!(r.msg, Mltp::MakeCall { .. })).map(|r| r.msg.clone()).unwrap()
}

/// "User A makes a call to User B's Tel URI" (A agent01, B agent02 answering its Tel URI).
#[test]
fn user_a_makes_a_call_to_b_tel_uri_by_b2bua() {
    let mut s = Script::new();
    s.table = CallTable::new(Arc::new(PlanDirectory), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    s.request(K::MakeCall, "agent01", |a| a.other_dn = Some(DnName::new(B_TEL)));
    let Mltp::MakeCall { to, calling_method, cpn, .. } = sent_make_call(&s) else { unreachable!() };
    assert_eq!(
        (to.as_str(), calling_method.as_deref(), cpn.as_deref()),
        (B_TEL, Some("b2b"), Some("sip:helpdesk@skype.lab"))
    );
    let corr = s.sent[0].corr;
    s.respond(corr, Ok(vec![("call".into(), "7".into()), ("conversation-id".into(), "conv7".into())]));
    s.created(7, "agent01", B_TEL, Direction::Outbound);
    s.party(7, "agent01", S::Dialing);
    s.party(7, B_TEL, S::Alerting);
    golden(s.log.take(), &[
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=tel:+14155550102 OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=0 ReferenceID=1",
        "agent01 EventNetworkReached ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=tel:+14155550102 OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=0",
    ]);
    // B answers: its SIP URI replaces the Tel URI party.
    s.gone(7, B_TEL, "forwarded");
    s.party(7, "agent02", S::Alerting);
    golden(s.log.take(), &[
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Forwarded CallType=Outbound MediaType=0",
    ]);
    s.state(7, "agent02", S::Connected);
    s.state(7, "agent01", S::Connected);
    golden(s.log.take(), &[
        "agent02 EventEstablished ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Outbound MediaType=0",
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=0",
    ]);
    let ringing = s.log.deliveries.iter().find(|d| d.event.kind == crate::tlib::EventKind::Ringing).unwrap();
    let ext = ringing.event.attrs.extensions.as_ref().unwrap();
    assert_eq!(ext.get_str("calling-method"), Some("b2b"));
}

#[test]
fn the_request_extension_decides_over_the_dial_plan() {
    let mut s = Script::new();
    s.table = CallTable::new(Arc::new(PlanDirectory), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    s.request(K::MakeCall, "agent01", |a| {
        a.other_dn = Some(DnName::new(B_TEL));
        a.extensions = Some(KvList::new().with("calling-method", "dialout"));
    });
    let Mltp::MakeCall { calling_method, cpn, .. } = sent_make_call(&s) else { unreachable!() };
    assert_eq!((calling_method, cpn), (None, None), "dialout: no B2BUA headers");
    // Without a dial plan, the Extension alone asks for B2BUA, with CPNDigits as the caller ID.
    let mut s = Script::new();
    s.request(K::MakeCall, "agent01", |a| {
        a.other_dn = Some(DnName::new(uri("agent02")));
        a.extensions = Some(KvList::new().with("calling-method", "b2b").with("CPNDigits", "sip:sales@skype.lab"));
    });
    let Mltp::MakeCall { calling_method, cpn, .. } = sent_make_call(&s) else { unreachable!() };
    assert_eq!((calling_method.as_deref(), cpn.as_deref()), (Some("b2b"), Some("sip:sales@skype.lab")));
}
