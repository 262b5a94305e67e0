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
        (51, K::RouteCall, Box::new(move |a| a.conn_id = Some(c1))),
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
        vec![Effect::PrivateService { dn: DnName::new(uri("agent01")), msg_id: 4, extensions: ext }]
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
