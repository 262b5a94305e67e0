//! Escalations of a conversation (guide: "Supported Media Types", "Escalation Between IM Call and
//! Audio Call"): voice <-> IM is a new call with a new ConnID in the same SfB conversation (same
//! Conversation-ID, no main/consultation relation, user data inherited with
//! `escalation-user-data = inherited`); voice <-> video is the same call, still reported as voice.

use super::*;
use crate::model::KvList;
use crate::sim;
use crate::tlib::RequestKind as K;

fn voice_call_with_user_data(r: &mut Rig) -> ConnId {
    r.request(K::MakeCall, "agent01", |a| a.other_dn = Some(crate::model::DnName::new(uri("agent02"))));
    r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
    let c1 = r.conn(1);
    r.request(K::AttachUserData, "agent01", |a| {
        a.conn_id = Some(c1);
        a.user_data = Some(KvList::new().with("case", "42"));
    });
    r.log.take();
    c1
}

#[test]
fn voice_to_im_is_a_new_call_in_the_same_conversation_and_back() {
    let mut r = Rig::new();
    let c1 = voice_call_with_user_data(&mut r);
    r.person(|w, now| drop(w.escalate(now, &uri("agent01"), None, sim::Media::Im).unwrap()));
    r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
    let c2 = r.conn(2);
    assert_ne!(c1, c2, "an IM escalation gets its own ConnID");
    let lines = r.log.take();
    let mine: Vec<&String> = lines.iter().filter(|l| l.contains("ConnID=c2")).collect();
    assert!(!mine.is_empty() && mine.iter().all(|l| l.contains("MediaType=5")), "{lines:#?}");
    assert!(mine.iter().any(|l| l.starts_with("agent02 EventRinging")), "{lines:#?}");
    assert!(mine.iter().any(|l| l.starts_with("agent02 EventEstablished")), "{lines:#?}");
    let (voice, im) = (r.table.call(c1).unwrap(), r.table.call(c2).unwrap());
    assert_eq!(voice.conversation_id, im.conversation_id, "same SfB conversation");
    assert!(!voice.conversation_id.is_empty());
    assert!(im.link.is_none() && !im.consult && voice.link.is_none(), "no main/consultation relation");
    assert_eq!(im.user_data.get_str("case"), Some("42"), "escalation-user-data = inherited (default)");
    // The voice leg ends; the conversation goes on in IM, and the IM call keeps its ConnID.
    r.request(K::ReleaseCall, "agent01", |a| a.conn_id = Some(c1));
    let lines = r.log.take();
    assert!(lines.iter().all(|l| l.contains("ConnID=c1")), "releasing the voice call touches only it: {lines:#?}");
    assert!(r.table.call(c1).is_none() && r.table.call(c2).is_some());
    // And back to voice: a third ConnID, same conversation.
    r.person(|w, now| drop(w.escalate(now, &uri("agent02"), None, sim::Media::Voice).unwrap()));
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    let c3 = r.conn(3);
    let back = r.table.call(c3).expect("the voice escalation is a call");
    assert_eq!(back.media, crate::model::MediaType::VOICE);
    assert_eq!(back.conversation_id, r.table.call(c2).unwrap().conversation_id);
    let lines = r.log.take();
    assert!(
        lines.iter().any(|l| l.starts_with("agent01 EventRinging ConnID=c3") && l.contains("MediaType=0")),
        "{lines:#?}"
    );
}

#[test]
fn voice_to_video_is_the_same_call_reported_as_voice() {
    let mut r = Rig::new();
    let c1 = voice_call_with_user_data(&mut r);
    r.person(|w, now| drop(w.escalate(now, &uri("agent01"), None, sim::Media::Video).unwrap()));
    assert!(r.log.take().is_empty(), "adding video is no call event");
    assert!(r.table.calls().count() == 1, "no new call");
    r.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    golden(r.log.take(), &[
        "agent01 EventHeld ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=3",
    ]);
}

#[test]
fn escalated_user_data_is_not_inherited_when_configured() {
    let mut r = Rig::new();
    r.table = CallTable::new(
        directory(),
        Arc::new(crate::model::ConnIdGenerator::new(0)),
        CallModelOptions { escalation_user_data_inherited: false, ..CallModelOptions::default() },
    );
    voice_call_with_user_data(&mut r);
    r.person(|w, now| drop(w.escalate(now, &uri("agent01"), None, sim::Media::Im).unwrap()));
    let im = r.table.call(r.conn(2)).unwrap();
    assert!(im.user_data.is_empty(), "{:?}", im.user_data);
}
