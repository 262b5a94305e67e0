//! The guide's B2BUA event-flow tables ("Calling using Back-to-Back User Agent") as golden
//! sequences. Each line is checked against the table's attributes for that party; the model adds
//! the attributes every call event carries (CallType, MediaType, OtherDN where the table omits it).
//! The forwarded-call and Tel URI flows run through the simulated SfB; the Response Group flow is
//! scripted MLTP, because in the simulation Response Group members are unmonitored users (the
//! guide's table shows the member C as a monitored DN).

use super::*;
use crate::mltp::{Direction, PartyState as S};
use crate::model::DnName;
use crate::tlib::RequestKind as K;

fn dn(s: &str) -> Option<DnName> {
    Some(uri(s).as_str().into())
}

/// "User B has forwarded calls to User C, User A makes a call to User B" (A agent01, B agent02,
/// C agent03).
#[test]
fn user_b_has_forwarded_calls_to_user_c() {
    let w = world("[sim]\n[[sim.user]]\nuri = \"sip:agent02@skype.lab\"\nforward-to = \"sip:agent03@skype.lab\"\n");
    let mut r = Rig::with_world(w);
    r.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    golden(r.log.take(), &[
        // PARTY A: EventDialing ConnID 1 ThisDN A ThisDNRole Origination OtherDN B OtherDNRole Destination CallState Ok
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=1",
        // PARTY B: EventRinging ConnID 1 ThisDN B ThisDNRole Destination OtherDN A OtherDNRole Origination CallState Ok
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        // PARTY B: EventReleased ConnID 1 ThisDN B ThisDNRole Destination ThirdPartyDN C ThirdPartyDNRole DeletedBy CallState Forwarded
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent03 ThirdPartyDNRole=DeletedBy CallState=Forwarded CallType=Internal MediaType=0",
        // PARTY C: EventRinging ConnID 1 ThisDN C ThisDNRole Destination OtherDN A OtherDNRole Origination CallState Forwarded
        "agent03 EventRinging ConnID=c1 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Forwarded CallType=Internal MediaType=0",
    ]);
    r.person(|w, now| w.answer(now, &uri("agent03"), None).unwrap());
    golden(r.log.take(), &[
        // PARTY C: EventEstablished ConnID 1 ThisDN C ThisDNRole Destination OtherDN A OtherDNRole Origination CallState Ok
        "agent03 EventEstablished ConnID=c1 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        // PARTY A: EventEstablished ConnID 1 ThisDN A ThisDNRole Origination OtherDN C OtherDNRole Destination CallState Ok
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
    ]);
}

/// "User A makes a call to User B's Tel URI", A's side (B's number answered outside the
/// monitored side; the B2BUA replacement of the Tel URI by B's SIP URI is SIP Server's job).
#[test]
fn user_a_makes_a_call_to_a_tel_uri() {
    let mut r = Rig::new();
    r.request(K::MakeCall, "agent01", |a| a.other_dn = dn("customer"));
    golden(r.log.take(), &[
        // PARTY A: EventDialing ConnID 1 ThisDN A ThisDNRole Origination OtherDN B Tel URI OtherDNRole Destination CallState Ok
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=customer OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=0 ReferenceID=1",
        // PARTY A: EventNetworkReached ConnID 1 ThisDN A ThisDNRole Origination OtherDN B Tel URI OtherDNRole Destination CallState Ok
        "agent01 EventNetworkReached ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=customer OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=0",
    ]);
    r.person(|w, now| w.answer(now, CUSTOMER, None).unwrap());
    golden(r.log.take(), &[
        // PARTY A: EventEstablished ConnID 1 ThisDN A ThisDNRole Origination OtherDN B OtherDNRole Destination CallState Ok
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=customer OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=0",
    ]);
}

/// "User A makes a call to Response Group B, the call delivered to Response Group Member C"
/// (A agent01, B agent02 answering for the group, C agent03).
#[test]
fn user_a_makes_a_call_to_a_response_group() {
    let mut s = Script::new();
    s.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    let corr = s.sent[0].corr;
    s.respond(corr, Ok(vec![("call".into(), "7".into()), ("conversation-id".into(), "conv7".into())]));
    s.created(7, "agent01", "agent02", Direction::Internal);
    s.party(7, "agent01", S::Dialing);
    s.party(7, "agent02", S::Alerting);
    golden(s.log.take(), &[
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=1",
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
    s.state(7, "agent02", S::Connected);
    s.state(7, "agent01", S::Connected);
    golden(s.log.take(), &[
        "agent02 EventEstablished ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
    ]);
    // SfB Client Accept Call: C rings as a conference member.
    s.party(7, "agent03", S::Alerting);
    golden(s.log.take(), &[
        "agent03 EventRinging ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
    s.state(7, "agent03", S::Connected);
    golden(s.log.take(), &[
        // PARTY A and B: EventPartyAdded ThisDNRole ConfMember OtherDN C OtherDNRole NewParty ThirdPartyDN B ThirdPartyDNRole AddedBy CallState Conferenced
        "agent01 EventPartyAdded ConnID=c1 ThisDN=agent01 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0",
        "agent02 EventPartyAdded ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0",
        // PARTY C: EventEstablished ThisDNRole ConfMember CallState Conferenced
        "agent03 EventEstablished ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=ConferenceMember CallState=Conferenced CallType=Internal MediaType=0",
    ]);
    s.gone(7, "agent02", "transferred");
    golden(s.log.take(), &[
        // PARTY B: EventReleased ThisDNRole ConfMember CallState Ok
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=ConferenceMember CallState=Ok CallType=Internal MediaType=0",
        // PARTY A and C: EventPartyDeleted ThisDNRole ConfMember OtherDN B OtherDNRole Deleted ThirdPartyDN B ThirdPartyDNRole DeletedBy CallState Ok
        "agent01 EventPartyDeleted ConnID=c1 ThisDN=agent01 ThisDNRole=ConferenceMember OtherDN=agent02 OtherDNRole=DeletedParty ThirdPartyDN=agent02 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Internal MediaType=0",
        "agent03 EventPartyDeleted ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent02 OtherDNRole=DeletedParty ThirdPartyDN=agent02 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Internal MediaType=0",
    ]);
    // Conversation-ID from CALL_CREATED on every event.
    let conv =
        s.log.deliveries.iter().map(|d| d.event.attrs.extensions.as_ref().and_then(|e| e.get_str(CONVERSATION_ID)));
    assert!(conv.into_iter().all(|c| c == Some("conv7")));
}
