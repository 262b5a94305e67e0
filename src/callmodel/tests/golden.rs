//! Golden event sequences through the simulated SfB: every party's events, attribute by attribute
//! (see `Log::render` for the attributes each line shows; UserData, Conversation-ID, ANI and DNIS
//! are checked by the tests that are about them).

use super::*;
use crate::model::{DnName, KvList};
use crate::tlib::RequestKind as K;

fn dn(s: &str) -> Option<DnName> {
    Some(uri(s).as_str().into())
}

/// A customer calls `agent` directly (a direct call, seen through the agent's endpoint).
fn customer_calls(r: &mut Rig, agent: &str) {
    r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri(agent), sim::Media::Voice, None).unwrap()));
}

fn answers(r: &mut Rig, who: &str) {
    r.person(|w, now| w.answer(now, &uri(who), None).unwrap());
}

fn hangs_up(r: &mut Rig, who: &str) {
    r.person(|w, now| w.hangup(now, &uri(who), None).unwrap());
}

/// agent01 calls agent02 with TMakeCall and agent02 answers: c1.
fn internal_call(r: &mut Rig) -> ConnId {
    r.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    answers(r, "agent02");
    r.log.take();
    r.conn(1)
}

#[test]
fn inbound_call_answered_and_released_by_the_agent() {
    let mut r = Rig::new();
    customer_calls(&mut r, "agent01");
    golden(r.log.take(), &[
        "agent01 EventRinging ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    answers(&mut r, "agent01");
    golden(r.log.take(), &[
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    let c1 = r.conn(1);
    r.request(K::ReleaseCall, "agent01", |a| a.conn_id = Some(c1));
    golden(r.log.take(), &[
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ReferenceID=1",
    ]);
    assert!(r.log.ended.contains(&c1) && r.table.call(c1).is_none());
}

#[test]
fn inbound_call_released_by_the_customer() {
    let mut r = Rig::new();
    customer_calls(&mut r, "agent01");
    answers(&mut r, "agent01");
    r.log.take();
    hangs_up(&mut r, "customer");
    golden(r.log.take(), &[
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
}

#[test]
fn internal_make_call_answered_and_released_by_the_callee() {
    let mut r = Rig::new();
    r.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    golden(r.log.take(), &[
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=1",
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
    answers(&mut r, "agent02");
    golden(r.log.take(), &[
        "agent02 EventEstablished ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
    ]);
    hangs_up(&mut r, "agent02");
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
    ]);
}

#[test]
fn hold_and_retrieve_from_the_desktop_and_from_the_sfb_client() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    r.request(K::RetrieveCall, "agent01", |a| a.conn_id = Some(c1));
    golden(r.log.take(), &[
        "agent01 EventHeld ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=2",
        "agent01 EventRetrieved ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=3",
    ]);
    // The same done on agent02's SfB client: the events carry no ReferenceID.
    r.person(|w, now| w.hold(now, &uri("agent02"), None).unwrap());
    r.person(|w, now| w.retrieve(now, &uri("agent02"), None).unwrap());
    golden(r.log.take(), &[
        "agent02 EventHeld ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        "agent02 EventRetrieved ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
    // The Connector plays music on hold to the held party (the simulation shows it).
    r.request(K::HoldCall, "agent02", |a| a.conn_id = Some(c1));
    let view = r.world.user_view(&uri("agent01")).unwrap();
    assert!(view.playback.iter().any(|p| matches!(p.what, sim::Playback::MusicOnHold { .. })), "{view:?}");
}

#[test]
fn two_step_transfer_completed_after_answer() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::InitiateTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    golden(r.log.take(), &[
        "agent02 EventHeld ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0 TransferConnID=c2",
        "agent02 EventDialing ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1 ReferenceID=2",
        "agent03 EventRinging ConnID=c2 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent02 OtherDNRole=Origination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
    ]);
    answers(&mut r, "agent03");
    golden(r.log.take(), &[
        "agent03 EventEstablished ConnID=c2 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent02 OtherDNRole=Origination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent02 EventEstablished ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
    ]);
    let c2 = r.conn(2);
    r.request(K::CompleteTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent03 EventPartyChanged ConnID=c1 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent02 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Internal MediaType=0 PreviousConnID=c2",
        "agent01 EventPartyChanged ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination ThirdPartyDN=agent02 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Internal MediaType=0 PreviousConnID=c2",
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Transferred CallType=Internal MediaType=0 ReferenceID=3",
    ]);
    assert!(r.log.ended.contains(&c2) && !r.log.ended.contains(&c1), "the held call keeps its ConnID");
    hangs_up(&mut r, "agent03");
    golden(r.log.take(), &[
        "agent03 EventReleased ConnID=c1 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
    ]);
}

#[test]
fn two_step_transfer_completed_before_answer() {
    let mut r = Rig::new();
    customer_calls(&mut r, "agent01");
    answers(&mut r, "agent01");
    let c1 = r.conn(1);
    r.request(K::InitiateTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent02");
    });
    r.log.take();
    let c2 = r.conn(2);
    r.request(K::CompleteTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    golden(r.log.take(), &[
        "agent01 EventReleased ConnID=c2 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent02 EventPartyChanged ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination ThirdPartyDN=agent01 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Inbound MediaType=0 PreviousConnID=c2",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Transferred CallType=Inbound MediaType=0 ReferenceID=2",
    ]);
    answers(&mut r, "agent02");
    golden(r.log.take(), &[
        "agent02 EventEstablished ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
}

#[test]
fn two_step_conference_and_delete_from_conference() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::InitiateConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    answers(&mut r, "agent03");
    r.log.take();
    let c2 = r.conn(2);
    r.request(K::CompleteConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1 ReferenceID=3",
        "agent03 EventPartyChanged ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=ConferenceMember ThirdPartyDN=agent02 ThirdPartyDNRole=ConferencedBy CallState=Conferenced CallType=Internal MediaType=0 PreviousConnID=c2",
        "agent01 EventPartyAdded ConnID=c1 ThisDN=agent01 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0 PreviousConnID=c2",
        "agent02 EventPartyAdded ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0 PreviousConnID=c2",
        "agent02 EventRetrieved ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=ConferenceMember CallState=Ok CallType=Internal MediaType=0",
    ]);
    r.request(K::DeleteFromConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    golden(r.log.take(), &[
        "agent03 EventReleased ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=ConferenceMember CallState=Ok CallType=Internal MediaType=0",
        "agent01 EventPartyDeleted ConnID=c1 ThisDN=agent01 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=DeletedParty ThirdPartyDN=agent02 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Internal MediaType=0",
        "agent02 EventPartyDeleted ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=DeletedParty ThirdPartyDN=agent02 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Internal MediaType=0 ReferenceID=4",
    ]);
}

#[test]
fn reconnect_and_alternate() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::InitiateTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    answers(&mut r, "agent03");
    r.log.take();
    let c2 = r.conn(2);
    let pair = |a: &mut Attributes| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    };
    r.request(K::AlternateCall, "agent02", pair);
    golden(r.log.take(), &[
        "agent02 EventHeld ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1 ReferenceID=3",
        "agent02 EventRetrieved ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0 TransferConnID=c2",
    ]);
    r.request(K::AlternateCall, "agent02", pair);
    golden(r.log.take(), &[
        "agent02 EventHeld ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0 TransferConnID=c2 ReferenceID=4",
        "agent02 EventRetrieved ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
    ]);
    r.request(K::ReconnectCall, "agent02", pair);
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent03 EventReleased ConnID=c2 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent02 OtherDNRole=Origination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent02 EventRetrieved ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0 ReferenceID=5",
    ]);
}

#[test]
fn single_step_transfer_releases_the_transferring_dn_only_after_the_recipient_connects() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::SingleStepTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    golden(r.log.take(), &[
        "agent03 EventRinging ConnID=c1 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent02 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Internal MediaType=0",
    ]);
    answers(&mut r, "agent03");
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Transferred CallType=Internal MediaType=0 ReferenceID=2",
        "agent01 EventPartyChanged ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination ThirdPartyDN=agent02 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Internal MediaType=0",
        "agent03 EventEstablished ConnID=c1 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent02 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Internal MediaType=0",
    ]);
}

#[test]
fn single_step_transfer_to_a_recipient_who_declines() {
    let mut r = Rig::new();
    customer_calls(&mut r, "agent01");
    answers(&mut r, "agent01");
    let c1 = r.conn(1);
    r.log.take();
    r.request(K::SingleStepTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent02");
    });
    r.person(|w, now| w.reject(now, &uri("agent02"), None).unwrap());
    golden(r.log.take(), &[
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination ThirdPartyDN=agent01 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Inbound MediaType=0",
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=1 ErrorCode=93",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
}

#[test]
fn single_step_conference() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::SingleStepConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    golden(r.log.take(), &[
        // The new party's EventRinging answers; the requester (registered on agent02) gets it too.
        "agent03+client1 EventRinging ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent02 ThirdPartyDNRole=ConferencedBy CallState=Ok CallType=Internal MediaType=0 ReferenceID=2",
    ]);
    answers(&mut r, "agent03");
    golden(r.log.take(), &[
        "agent01 EventPartyAdded ConnID=c1 ThisDN=agent01 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0",
        "agent02 EventPartyAdded ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=agent03 OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0",
        "agent03 EventEstablished ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=ConferenceMember CallState=Conferenced CallType=Internal MediaType=0",
    ]);
    // A member leaving by itself: the others see it deleted by itself.
    hangs_up(&mut r, "agent01");
    golden(r.log.take(), &[
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=ConferenceMember OtherDN=agent02 OtherDNRole=ConferenceMember CallState=Ok CallType=Internal MediaType=0",
        "agent02 EventPartyDeleted ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=DeletedParty ThirdPartyDN=agent01 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Internal MediaType=0",
        "agent03 EventPartyDeleted ConnID=c1 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=DeletedParty ThirdPartyDN=agent01 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Internal MediaType=0",
    ]);
}

#[test]
fn single_step_conference_of_an_external_party_is_answered_by_event_party_added() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::SingleStepConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("customer");
    });
    assert_eq!(r.log.take(), Vec::<String>::new(), "an external party rings unseen");
    answers(&mut r, "customer");
    golden(r.log.take(), &[
        "agent01 EventPartyAdded ConnID=c1 ThisDN=agent01 ThisDNRole=ConferenceMember OtherDN=customer OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0",
        "agent02 EventPartyAdded ConnID=c1 ThisDN=agent02 ThisDNRole=ConferenceMember OtherDN=customer OtherDNRole=NewParty ThirdPartyDN=agent02 ThirdPartyDNRole=AddedBy CallState=Conferenced CallType=Internal MediaType=0 ReferenceID=2",
    ]);
}

#[test]
fn user_data_is_seen_by_every_party_and_copied_to_the_consultation() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    let data = |pairs: &[(&str, &str)]| pairs.iter().fold(KvList::new(), |l, (k, v)| l.with(*k, *v));
    r.request(K::AttachUserData, "agent01", |a| {
        a.conn_id = Some(c1);
        a.user_data = Some(data(&[("Customer", "Alice"), ("Segment", "gold")]));
    });
    golden(r.log.take(), &[
        "agent01 EventAttachedDataChanged ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination ThirdPartyDN=agent01 ThirdPartyDNRole=Origination CallState=Ok CallType=Internal MediaType=0 ReferenceID=2",
        "agent02 EventAttachedDataChanged ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent01 ThirdPartyDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
    let user_data = |r: &Rig| r.log.deliveries.last().unwrap().event.attrs.user_data.clone().unwrap();
    assert_eq!(user_data(&r), data(&[("Customer", "Alice"), ("Segment", "gold")]));
    r.request(K::UpdateUserData, "agent02", |a| {
        a.conn_id = Some(c1);
        a.user_data = Some(data(&[("Segment", "platinum"), ("Order", "A-17")]));
    });
    assert_eq!(user_data(&r), data(&[("Customer", "Alice"), ("Segment", "platinum"), ("Order", "A-17")]));
    let lines = r.log.take();
    assert!(
        lines.len() == 2 && lines[1].contains("ThirdPartyDN=agent02") && lines[1].contains("ReferenceID=3"),
        "{lines:?}"
    );
    r.request(K::DeleteUserData, "agent01", |a| {
        a.conn_id = Some(c1);
        a.key = Some("Customer".into());
    });
    assert_eq!(user_data(&r), data(&[("Segment", "platinum"), ("Order", "A-17")]));
    // The consultation starts with the main call's user data; every call event carries it.
    r.request(K::InitiateTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    let ringing = r.log.deliveries.last().unwrap().event.clone();
    assert_eq!(ringing.kind, crate::tlib::EventKind::Ringing);
    assert_eq!(ringing.attrs.user_data, Some(data(&[("Segment", "platinum"), ("Order", "A-17")])));
    r.request(K::DeleteAllUserData, "agent02", |a| a.conn_id = Some(c1));
    assert_eq!(user_data(&r), KvList::new());
    let c2 = r.conn(2);
    assert_eq!(r.table.call(c2).unwrap().user_data.len(), 2, "the consultation keeps its own copy");
}

#[test]
fn a_call_abandoned_while_ringing() {
    let mut r = Rig::new();
    r.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    r.log.take();
    hangs_up(&mut r, "agent01");
    golden(r.log.take(), &[
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
        "agent02 EventAbandoned ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Abandoned CallType=Internal MediaType=0",
    ]);
    // A consultation abandoned while ringing names the main call in PreviousConnID.
    let c1 = internal_call_after(&mut r);
    r.request(K::InitiateTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    r.log.take();
    let c3 = *r.log.conns.last().unwrap();
    r.request(K::ReleaseCall, "agent02", |a| a.conn_id = Some(c3));
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c3 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c2 ReferenceID=4",
        "agent03 EventAbandoned ConnID=c3 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent02 OtherDNRole=Origination CallState=Abandoned CallType=Consult MediaType=0 PreviousConnID=c2 TransferConnID=c2",
    ]);
}

/// A second internal call agent01 -> agent02, answered.
fn internal_call_after(r: &mut Rig) -> ConnId {
    r.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    answers(r, "agent02");
    r.log.take();
    *r.log.conns.last().unwrap()
}

#[test]
fn a_second_operation_while_one_is_pending_is_refused_with_291() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.silent = true;
    r.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    r.request(K::HoldCall, "agent02", |a| a.conn_id = Some(c1));
    // Requests that need no switch are still served.
    r.request(K::AttachUserData, "agent02", |a| {
        a.conn_id = Some(c1);
        a.user_data = Some(KvList::new().with("k", "v"));
    });
    r.release_silence();
    golden(r.log.take(), &[
        "client1 EventError ConnID=c1 ThisDN=agent02 ReferenceID=3 ErrorCode=291",
        "agent01 EventAttachedDataChanged ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination ThirdPartyDN=agent02 ThirdPartyDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
        "agent02 EventAttachedDataChanged ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent02 ThirdPartyDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=4",
        "agent01 EventHeld ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=2",
    ]);
}

#[test]
fn a_silent_connector_fails_the_request_with_236() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.silent = true;
    r.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    r.expire();
    golden(r.log.take(), &["client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=2 ErrorCode=236"]);
    // The call accepts operations again.
    r.queue.clear();
    r.silent = false;
    r.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    assert!(r.log.take()[0].contains("EventHeld"));
}

#[test]
fn a_call_that_ends_during_a_request_fails_it_with_237() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.silent = true;
    r.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    hangs_up(&mut r, "agent02");
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
        "client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=2 ErrorCode=237",
    ]);
    r.release_silence();
    r.expire();
    assert_eq!(r.log.take(), Vec::<String>::new(), "the late answer and timeout are ignored");
}

#[test]
fn an_im_call_with_the_chat_extension() {
    let mut r = Rig::new();
    r.request(K::MakeCall, "agent01", |a| {
        a.other_dn = dn("agent02");
        a.extensions = Some(KvList::new().with("chat", "true"));
    });
    answers(&mut r, "agent02");
    golden(r.log.take(), &[
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=5 ReferenceID=1",
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=5",
        "agent02 EventEstablished ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=5",
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=5",
    ]);
    assert_eq!(r.world.call_view(r.sim_call("agent01")).unwrap().media, sim::Media::Im);
    // The guide's IM limitations.
    let c1 = r.conn(1);
    r.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    r.request(K::InitiateTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    golden(
        r.log.take(),
        &[
            "client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=2 ErrorCode=51",
            "client1 EventError ConnID=c1 ThisDN=agent01 ReferenceID=3 ErrorCode=51",
        ],
    );
    // Escalation to voice: a new ConnID in the same conversation; releasing the IM call
    // releases the whole conversation.
    r.person(|w, now| drop(w.escalate(now, &uri("agent01"), None, sim::Media::Voice).unwrap()));
    answers(&mut r, "agent02");
    r.log.take();
    let c2 = r.conn(2);
    let (im, voice) = (r.table.call(c1).unwrap(), r.table.call(c2).unwrap());
    assert_eq!(im.conversation_id, voice.conversation_id);
    assert!(voice.link.is_none() && !voice.consult, "no main/consultation relation");
    r.request(K::ReleaseCall, "agent01", |a| a.conn_id = Some(c1));
    let lines = r.log.take();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[0].starts_with("agent01 EventReleased ConnID=c1") && lines[0].ends_with("ReferenceID=4"));
    assert!(lines[2].starts_with("agent01 EventReleased ConnID=c2"));
    assert!(r.table.calls().next().is_none());
}

#[test]
fn every_call_event_carries_the_conversation_id_ani_and_dnis() {
    let mut r = Rig::new();
    customer_calls(&mut r, "agent01");
    answers(&mut r, "agent01");
    let c1 = r.conn(1);
    r.request(K::InitiateConference, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent02");
    });
    answers(&mut r, "agent02");
    let c2 = r.conn(2);
    r.request(K::CompleteConference, "agent01", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    hangs_up(&mut r, "customer");
    let mut conversations = BTreeMap::new();
    for d in &r.log.deliveries {
        let a = &d.event.attrs;
        let conv = a.extensions.as_ref().and_then(|e| e.get_str(CONVERSATION_ID)).unwrap_or("");
        assert_eq!(conv.len(), 32, "Conversation-ID on {}", r.log.render(d));
        let first = conversations.entry(a.conn_id.unwrap()).or_insert(conv.to_string());
        assert_eq!(first, conv, "one Conversation-ID per call");
        let (ani, dnis) = (a.ani.as_deref().unwrap(), a.dnis.as_deref().unwrap());
        if a.conn_id == Some(c1) {
            assert_eq!((ani, dnis), (CUSTOMER, uri("agent01").as_str()));
        } else {
            assert_eq!((ani, dnis), (uri("agent01").as_str(), uri("agent02").as_str()));
        }
        assert!(a.call_uuid.as_ref().is_some_and(|u| u.len() == 32));
    }
}

/// The events of a conference scenario, with the Connector's RESPONSE before or after the
/// events it caused.
fn conference_scenario(respond_first: bool) -> Vec<String> {
    let mut r = Rig::new();
    r.respond_first = respond_first;
    let c1 = internal_call(&mut r);
    r.request(K::InitiateConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    answers(&mut r, "agent03");
    let c2 = r.conn(2);
    r.request(K::CompleteConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    r.request(K::SingleStepTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent04");
    });
    answers(&mut r, "agent04");
    r.request(K::ClearCall, "agent04", |a| a.conn_id = Some(c1));
    r.log.take()
}

#[test]
fn events_do_not_depend_on_the_order_of_response_and_events() {
    let a = conference_scenario(false);
    assert_eq!(a, conference_scenario(true));
    assert!(a.iter().filter(|l| l.contains("ReferenceID=")).count() == 4, "{a:#?}");
}

#[test]
fn a_table_restored_from_its_snapshot_goes_on_identically() {
    let mut r = Rig::new();
    let c1 = internal_call(&mut r);
    r.request(K::InitiateTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    r.silent = true;
    let c2 = r.conn(2);
    r.request(K::CompleteTransfer, "agent02", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    r.log.take();
    // Crash here: rebuild from the JSON snapshot (a pending operation included).
    let json = serde_json::to_string(&r.table.snapshot()).unwrap();
    let snapshot: TableSnapshot = serde_json::from_str(&json).unwrap();
    let generator = Arc::new(ConnIdGenerator::new(0));
    r.table = CallTable::restore(snapshot, directory(), generator.clone(), CallModelOptions::default());
    r.release_silence();
    golden(r.log.take(), &[
        "agent02 EventReleased ConnID=c2 ThisDN=agent02 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent03 EventPartyChanged ConnID=c1 ThisDN=agent03 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination ThirdPartyDN=agent02 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Internal MediaType=0 PreviousConnID=c2",
        "agent01 EventPartyChanged ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent03 OtherDNRole=Destination ThirdPartyDN=agent02 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Internal MediaType=0 PreviousConnID=c2",
        "agent02 EventReleased ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Transferred CallType=Internal MediaType=0 ReferenceID=3",
    ]);
    assert!(generator.next().0 > r.conn(2).0, "ConnIDs resume after the restored ones");
    // One call alone, as a Call actor would persist and reload it.
    let one = r.table.call_snapshot(c1).unwrap();
    let json = serde_json::to_value(&one).unwrap();
    assert_eq!(json["version"], "V1");
    let back: CallSnapshot = serde_json::from_value(json).unwrap();
    assert_eq!(back, one);
}
