//! Requests one at a time against a scripted Connector: the error codes of the guide's table
//! (51, 53, 56, 58, 415, 470, 496, 565, the Connector's own), the answers that need no switch
//! (TQueryCall, TSendUserEvent, TPrivateService), TSendDTMF, how a dialed call is bound to the
//! Connector's call (conn-id, the RESPONSE, or origin and destination), and what is sent to it.

use super::*;
use crate::mltp::{Direction, PartyState as S};
use crate::model::{CallInfoType, DnName, KvList, MakeCallType};
use crate::tlib::{EventKind, RequestKind as K};

fn dn(s: &str) -> Option<DnName> {
    Some(uri(s).as_str().into())
}

/// agent01 talks to the customer on call 7 (an inbound call): c1.
fn connected(s: &mut Script) -> ConnId {
    s.created(7, "customer", "agent01", Direction::Inbound);
    s.party(7, "customer", S::Dialing);
    s.party(7, "agent01", S::Alerting);
    s.state(7, "agent01", S::Connected);
    s.state(7, "customer", S::Connected);
    s.log.take();
    s.log.conns[0]
}

fn last_error(s: &Script) -> i32 {
    let d = s.log.deliveries.last().expect("an answer");
    assert_eq!(d.to, Recipient::Client(ClientRef(1)), "EventError goes to the requesting client only");
    d.event.attrs.error_code.expect("EventError").code()
}

#[test]
fn refusals_use_the_guide_error_codes() {
    let mut s = Script::new();
    let c1 = connected(&mut s);
    type Fill = Box<dyn Fn(&mut Attributes)>;
    let cases: Vec<(i32, K, Fill)> = vec![
        (51, K::AnswerCall, Box::new(move |a| a.conn_id = Some(c1))),
        (51, K::MergeCalls, Box::new(move |a| a.conn_id = Some(c1))),
        (
            51,
            K::QueryCall,
            Box::new(move |a| {
                a.conn_id = Some(c1);
                a.call_info_type = Some(CallInfoType::PartiesQuery);
            }),
        ),
        (
            51,
            K::MakeCall,
            Box::new(|a| {
                a.other_dn = dn("agent02");
                a.make_call_type = Some(MakeCallType::DirectAgent);
            }),
        ),
        // A call that is not waiting on the requester's Routing Point.
        (470, K::RouteCall, Box::new(move |a| a.conn_id = Some(c1))),
        (53, K::MakeCall, Box::new(|_| {})),
        (53, K::HoldCall, Box::new(|_| {})),
        (53, K::AttachUserData, Box::new(move |a| a.conn_id = Some(c1))),
        (53, K::DeleteUserData, Box::new(move |a| a.conn_id = Some(c1))),
        (53, K::SendDTMF, Box::new(move |a| a.conn_id = Some(c1))),
        (53, K::CompleteTransfer, Box::new(move |a| a.conn_id = Some(c1))),
        (
            53,
            K::MakeCall,
            Box::new(|a| {
                a.other_dn = dn("agent02");
                a.extensions = Some(KvList::new().with("chat", "maybe"));
            }),
        ),
        (56, K::HoldCall, Box::new(|a| a.conn_id = Some(ConnId(0xdead)))),
        (
            56,
            K::CompleteTransfer,
            Box::new(move |a| {
                a.conn_id = Some(c1);
                a.transfer_conn_id = Some(ConnId(0xdead));
            }),
        ),
        (415, K::MakeCall, Box::new(|a| a.other_dn = dn("agent01"))),
        (
            415,
            K::SingleStepTransfer,
            Box::new(move |a| {
                a.conn_id = Some(c1);
                a.other_dn = dn("customer");
            }),
        ),
        (496, K::RetrieveCall, Box::new(move |a| a.conn_id = Some(c1))),
        (
            565,
            K::DeleteFromConference,
            Box::new(move |a| {
                a.conn_id = Some(c1);
                a.other_dn = dn("customer");
            }),
        ),
    ];
    for (i, (code, kind, f)) in cases.into_iter().enumerate() {
        let r = s.request(kind, "agent01", |a| f(a));
        assert_eq!(last_error(&s), code, "case {i}: {kind}");
        assert_eq!(s.log.deliveries.last().unwrap().event.attrs.reference_id, Some(r));
    }
    // 470: agent02 is not on the call; nor is the party to delete.
    s.request(K::HoldCall, "agent02", |a| a.conn_id = Some(c1));
    assert_eq!(last_error(&s), 470);
    s.request(K::DeleteFromConference, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent03");
    });
    assert_eq!(last_error(&s), 470);
    assert!(s.sent.is_empty(), "nothing reaches the Connector for a refused request");
    assert!(s.table.call(c1).unwrap().op.is_none(), "a refused request changes nothing");
}

#[test]
fn out_of_service_dns_cannot_dial() {
    struct Down;
    impl Directory for Down {
        fn lookup(&self, uri: &str) -> Option<DnInfo> {
            directory().lookup(uri)
        }
        fn in_service(&self, _dn: &DnName) -> bool {
            false
        }
    }
    let mut s = Script::new();
    s.table = CallTable::new(Arc::new(Down), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    s.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    assert_eq!(last_error(&s), 58);
    assert!(s.table.calls().next().is_none());
}

#[test]
fn make_call_sends_the_connid_and_user_data_and_fails_with_the_connector_code() {
    let mut s = Script::new();
    s.request(K::MakeCall, "agent01", |a| {
        a.other_dn = Some(DnName::new("+1 (415) 555-0100"));
        a.user_data = Some(KvList::new().with("Order", "A-17"));
    });
    let c1 = s.log.conns[0];
    let req = s.sent.pop().unwrap();
    assert_eq!(req.route, SwitchRoute::ServingDn(DnName::new("sip:agent01@skype.lab")));
    match &req.msg {
        Mltp::MakeCall { conn_id, from, to, media, data, .. } => {
            assert_eq!((*conn_id, from.as_str(), media), (c1, "sip:agent01@skype.lab", &mltp::Media::Voice));
            assert_eq!(to, "+1 (415) 555-0100");
            assert_eq!(data.as_ref().unwrap().get_str("Order"), Some("A-17"));
        }
        other => panic!("{other:?}"),
    }
    s.respond(req.corr, Err((ErrorCode::InvDestDn, "no such number".into())));
    let d = s.log.deliveries.last().unwrap();
    assert_eq!((d.event.kind, d.event.attrs.error_code), (EventKind::Error, Some(ErrorCode::InvDestDn)));
    assert_eq!(d.event.attrs.error_message.as_deref(), Some("no such number"));
    assert!(s.log.ended.contains(&c1) && s.table.call(c1).is_none(), "the call never existed");
}

#[test]
fn a_dialed_call_is_bound_by_conn_id_by_the_response_or_by_origin_and_destination() {
    for how in ["conn-id", "response", "origin"] {
        let mut s = Script::new();
        s.request(K::MakeCall, "agent01", |a| a.other_dn = dn("customer"));
        let c1 = s.log.conns[0];
        let corr = s.sent[0].corr;
        if how == "response" {
            s.respond(corr, Ok(vec![("call".into(), "9".into()), ("conversation-id".into(), "cv".into())]));
        }
        s.sw(Mltp::CallCreated {
            call: 9,
            conversation_id: "cv".into(),
            media: mltp::Media::Voice,
            from: uri("agent01"),
            to: CUSTOMER.into(),
            direction: Direction::Outbound,
            monitored: true,
            conn_id: (how == "conn-id").then_some(c1),
        });
        s.party(9, "agent01", S::Dialing);
        if how != "response" {
            s.respond(corr, Ok(vec![("call".into(), "9".into())]));
        }
        assert_eq!(s.log.conns, vec![c1], "{how}: no second call");
        let lines = s.log.take();
        assert!(lines[0].starts_with("agent01 EventDialing ConnID=c1") && lines[0].ends_with("ReferenceID=1"), "{how}");
        assert_eq!(s.table.call(c1).unwrap().conversation_id, "cv");
    }
}

#[test]
fn a_connector_error_event_fails_the_pending_request() {
    let mut s = Script::new();
    let c1 = connected(&mut s);
    s.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    s.sw(Mltp::Error { error_code: ErrorCode::CallDisconnected, reason: "dropped by SfB".into(), call: Some(7) });
    assert_eq!(last_error(&s), 237);
    s.request(K::HoldCall, "agent01", |a| a.conn_id = Some(c1));
    assert!(matches!(s.sent.last().unwrap().msg, Mltp::HoldCall { call: 7, .. }), "the call is free again");
}

#[test]
fn query_call_answers_the_requester_only() {
    let mut s = Script::new();
    let c1 = connected(&mut s);
    let r = s.request(K::QueryCall, "agent02", |a| a.conn_id = Some(c1));
    let d = s.log.deliveries.last().unwrap();
    assert_eq!(d.to, Recipient::Client(ClientRef(1)));
    let a = &d.event.attrs;
    assert_eq!((d.event.kind, a.reference_id, a.conn_id), (EventKind::PartyInfo, Some(r), Some(c1)));
    assert_eq!(a.dn_list.as_ref().unwrap().len(), 2);
    assert_eq!((a.ani.as_deref(), a.call_type), (Some(CUSTOMER), Some(crate::model::CallType::Inbound)));
    let parties = a.extensions.as_ref().unwrap().get("Parties").unwrap();
    assert!(matches!(parties, crate::model::KvValue::List(l) if l.get_str(&uri("agent01")) == Some("Connected")));
}

#[test]
fn send_dtmf_is_answered_when_the_connector_accepts_it() {
    let mut s = Script::new();
    let c1 = connected(&mut s);
    s.request(K::SendDTMF, "agent01", |a| {
        a.conn_id = Some(c1);
        a.dtmf_digits = Some("1234#".into());
    });
    let req = s.sent.pop().unwrap();
    assert!(matches!(&req.msg, Mltp::SendDtmf { call: 7, digits, .. } if digits == "1234#"));
    s.respond(req.corr, Ok(Vec::new()));
    golden(s.log.take(), &[
        "agent01 EventDTMFSent ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ReferenceID=1",
    ]);
    assert_eq!(s.log.deliveries.last().unwrap().event.attrs.dtmf_digits.as_deref(), Some("1234#"));
}

#[test]
fn user_events_and_private_services() {
    let mut s = Script::new();
    let r = s.request(K::SendUserEvent, "agent01", |a| a.user_data = Some(KvList::new().with("Note", "hi")));
    let ds = &s.log.deliveries;
    assert_eq!(
        (ds[0].to.clone(), ds[0].event.kind, ds[0].event.attrs.reference_id),
        (Recipient::Client(ClientRef(1)), EventKind::ACK, Some(r))
    );
    assert_eq!(
        (ds[1].to.clone(), ds[1].event.kind),
        (Recipient::Dn(DnName::new(uri("agent01"))), EventKind::UserEvent)
    );
    assert_eq!(ds[1].event.attrs.reference_id, None);
    assert_eq!(ds[1].event.attrs.user_data.as_ref().unwrap().get_str("Note"), Some("hi"));
    let ext = KvList::new().with("handle-direct-calls", "false");
    let r = s.request(K::PrivateService, "agent01", |a| {
        a.private_msg_id = Some(4);
        a.extensions = Some(ext.clone());
    });
    let d = s.log.deliveries.last().unwrap();
    assert_eq!(
        (d.event.kind, d.event.attrs.reference_id, d.event.attrs.private_msg_id),
        (EventKind::PrivateInfo, Some(r), Some(4))
    );
    let out = s.table.apply(
        Input::Request {
            client: ClientRef(1),
            request: Box::new(Request::with_attrs(
                K::PrivateService,
                Attributes {
                    this_dn: dn("agent01"),
                    private_msg_id: Some(4),
                    extensions: Some(ext.clone()),
                    ..Default::default()
                },
            )),
        },
        0,
    );
    assert_eq!(
        out.effects,
        vec![Effect::PrivateService {
            dn: DnName::new(uri("agent01")),
            client: ClientRef(1),
            msg_id: 4,
            extensions: ext
        }]
    );
}

#[test]
fn effects_tell_the_actor_which_calls_to_persist() {
    let mut s = Script::new();
    let c1 = connected(&mut s);
    let out = s.table.apply(
        Input::Request {
            client: ClientRef(1),
            request: Box::new(Request::with_attrs(
                K::AttachUserData,
                Attributes {
                    this_dn: dn("agent01"),
                    conn_id: Some(c1),
                    user_data: Some(KvList::new().with("a", "b")),
                    ..Default::default()
                },
            )),
        },
        0,
    );
    assert_eq!(out.effects, vec![Effect::CallChanged(c1)]);
    let out = s.table.apply(Input::Switch { link: LINK.into(), msg: Mltp::CallDeleted { call: 7, cause: None } }, 0);
    assert!(out.effects.contains(&Effect::CallEnded(c1)) && !out.effects.contains(&Effect::CallChanged(c1)));
    assert_eq!(out.events.len(), 1, "agent01 released as the call ends: {out:?}");
}

/// agent01 talks to the customer on call 7 and consults agent02 on call 8 (answered): (c1, c2).
fn consulting(s: &mut Script) -> (ConnId, ConnId) {
    let c1 = connected(s);
    s.request(K::InitiateTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent02");
    });
    assert!(matches!(s.sent.last().unwrap().msg, Mltp::HoldCall { call: 7, .. }));
    s.state(7, "agent01", S::Held);
    assert!(matches!(s.sent.last().unwrap().msg, Mltp::MakeCall { .. }), "dials once held");
    s.created(8, "agent01", "agent02", Direction::Internal);
    s.party(8, "agent01", S::Dialing);
    s.party(8, "agent02", S::Alerting);
    s.state(8, "agent02", S::Connected);
    s.state(8, "agent01", S::Connected);
    s.log.take();
    (c1, s.log.conns[1])
}

/// Found by the property test: a party that leaves the consultation on its own while a
/// completion dismantles it is released, not taken for a party moving into the main call.
#[test]
fn a_party_leaving_a_consultation_being_completed_is_released() {
    let mut s = Script::new();
    let (c1, c2) = consulting(&mut s);
    s.request(K::SingleStepConference, "agent01", |a| {
        a.conn_id = Some(c2);
        a.other_dn = dn("agent03");
    });
    s.party(8, "agent03", S::Alerting);
    s.request(K::CompleteTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    s.log.take();
    s.gone(8, "agent03", "rejected");
    s.gone(8, "agent01", "transferred");
    s.gone(8, "agent02", "transferred");
    s.sw(Mltp::CallDeleted { call: 8, cause: None });
    assert!(!s.log.ended.contains(&c2), "kept until its moving party arrived");
    s.party(7, "agent02", S::Connected);
    s.gone(7, "agent01", "transferred");
    golden(s.log.take(), &[
        "agent03 EventReleased ConnID=c2 ThisDN=agent03 ThisDNRole=ConferenceMember OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent01 EventReleased ConnID=c2 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Consult MediaType=0 TransferConnID=c1",
        "agent02 EventPartyChanged ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination ThirdPartyDN=agent01 ThirdPartyDNRole=TransferredBy CallState=Ok CallType=Inbound MediaType=0 PreviousConnID=c2",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Transferred CallType=Inbound MediaType=0 ReferenceID=3",
    ]);
    assert!(s.log.ended.contains(&c2) && s.table.call(c2).is_none());
    assert!(s.table.call(c1).unwrap().op.is_none());
}

/// A completion whose moving party never shows up in the main call: released on the
/// consultation when the operation times out, before the consultation ends.
#[test]
fn a_moving_party_the_connector_never_reports_is_released_on_the_consultation() {
    let mut s = Script::new();
    let (c1, c2) = consulting(&mut s);
    s.request(K::CompleteTransfer, "agent01", |a| {
        a.conn_id = Some(c1);
        a.transfer_conn_id = Some(c2);
    });
    let corr = s.sent.last().unwrap().corr;
    s.gone(8, "agent01", "transferred");
    s.gone(8, "agent02", "transferred");
    s.sw(Mltp::CallDeleted { call: 8, cause: None });
    s.gone(7, "agent01", "transferred");
    s.respond(corr, Ok(Vec::new()));
    s.log.take();
    s.apply(Input::SwitchTimeout { corr });
    golden(s.log.take(), &[
        "agent02 EventReleased ConnID=c2 ThisDN=agent02 ThisDNRole=Destination CallState=Ok CallType=Consult MediaType=0",
    ]);
    assert!(s.log.ended.contains(&c2));
}

/// Found by the property test: TDeleteFromConference asked by a party still ringing is answered.
#[test]
fn delete_from_conference_by_a_ringing_party_is_answered() {
    let mut s = Script::new();
    s.created(7, "agent01", "agent02", Direction::Internal);
    s.party(7, "agent01", S::Dialing);
    s.party(7, "agent02", S::Alerting);
    s.party(7, "customer", S::Alerting);
    let c1 = s.log.conns[0];
    s.log.take();
    s.request(K::DeleteFromConference, "agent02", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent01");
    });
    assert!(matches!(&s.sent.last().unwrap().msg, Mltp::DeleteParty { call: 7, party } if *party == uri("agent01")));
    s.gone(7, "agent01", "deleted");
    golden(s.log.take(), &[
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=customer OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
        "agent02 EventPartyDeleted ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=DeletedParty ThirdPartyDN=agent02 ThirdPartyDNRole=DeletedBy CallState=Ok CallType=Internal MediaType=0 ReferenceID=1",
    ]);
}

/// Found by the property test: two identical TMakeCalls in flight are bound in order (a
/// Connector executes requests in order) when CALL_CREATED carries no conn-id.
#[test]
fn two_identical_make_calls_in_flight_are_bound_in_order() {
    let mut s = Script::new();
    s.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    s.request(K::MakeCall, "agent01", |a| a.other_dn = dn("agent02"));
    let (c1, c2) = (s.log.conns[0], s.log.conns[1]);
    for call in [9, 10] {
        s.created(call, "agent01", "agent02", Direction::Internal);
        s.party(call, "agent01", S::Dialing);
    }
    s.respond(s.sent[0].corr, Ok(vec![("call".into(), "9".into())]));
    s.respond(s.sent[1].corr, Ok(vec![("call".into(), "10".into())]));
    golden(s.log.take(), &[
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=1",
        "agent01 EventDialing ConnID=c2 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=2",
    ]);
    assert_eq!(s.table.call(c1).unwrap().switch.as_ref().unwrap().call, 9);
    assert_eq!(s.table.call(c2).unwrap().switch.as_ref().unwrap().call, 10);
}
