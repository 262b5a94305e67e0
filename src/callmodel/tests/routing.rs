//! Routing Points (issue 5): arrival (EventQueued, EventRouteRequest), TRouteCall, alternate
//! routing to default-dn, delivery supervision (no-answer-timeout, TERR_DN_NO_ANSWER, routed
//! again), abandon while queued, treatments on the Routing Point (voice and IM).

use super::*;
use crate::callmodel::{RoutingOptions, TimerKind};
use crate::model::{DnName, KvList, RouteType, TreatmentType};
use crate::tlib::RequestKind as K;

fn dn(s: &str) -> Option<DnName> {
    Some(uri(s).as_str().into())
}

fn rig_with(options: RoutingOptions, routers: bool) -> Rig {
    let mut r = Rig::new();
    let dir = RoutingDirectory { routers };
    r.table = CallTable::new(
        Arc::new(dir),
        Arc::new(ConnIdGenerator::new(0)),
        CallModelOptions { routing: options, ..CallModelOptions::default() },
    );
    r
}

/// The test directory, with or without a routing client on the Routing Point.
struct RoutingDirectory {
    routers: bool,
}

impl Directory for RoutingDirectory {
    fn lookup(&self, uri: &str) -> Option<crate::callmodel::DnInfo> {
        directory().lookup(uri)
    }
    fn routing_clients(&self, _rp: &DnName) -> bool {
        self.routers
    }
}

fn options() -> RoutingOptions {
    RoutingOptions {
        default_dn: dn("agent04"),
        router_timeout_ms: 10_000,
        no_answer_timeout_ms: 15_000,
        redirect_limit: 2,
    }
}

fn customer_calls_rp(r: &mut Rig) -> ConnId {
    r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri("rp1"), sim::Media::Voice, None).unwrap()));
    r.conn(1)
}

#[test]
fn a_call_at_a_routing_point_is_queued_routed_and_delivered() {
    let mut r = rig_with(options(), true);
    let c1 = customer_calls_rp(&mut r);
    golden(r.log.take(), &[
        "rp1 EventQueued ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
        "rp1 EventRouteRequest ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
    ]);
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent01");
        a.route_type = Some(RouteType::Default);
    });
    golden(r.log.take(), &[
        "agent01 EventRinging ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "rp1 EventRouteUsed ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Destination CallState=Ok CallType=Inbound MediaType=0 ReferenceID=1 ThisQueue=rp1",
        "rp1 EventDiverted ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination ThirdPartyDN=agent01 ThirdPartyDNRole=Destination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
    ]);
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    golden(r.log.take(), &[
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    assert!(r.table.armed_timers().is_empty(), "delivered: no supervision left");
}

#[test]
fn without_a_routing_client_the_call_goes_to_default_dn() {
    let mut r = rig_with(options(), false);
    customer_calls_rp(&mut r);
    golden(r.log.take(), &[
        "rp1 EventQueued ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
        "rp1 EventRouteRequest ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
        "agent04 EventRinging ConnID=c1 ThisDN=agent04 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "rp1 EventDiverted ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination ThirdPartyDN=agent04 ThirdPartyDNRole=Destination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
    ]);
}

#[test]
fn router_timeout_sends_the_call_to_default_dn() {
    let mut r = rig_with(options(), true);
    customer_calls_rp(&mut r);
    r.log.take();
    r.fire(TimerKind::Router);
    golden(r.log.take(), &[
        "agent04 EventRinging ConnID=c1 ThisDN=agent04 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "rp1 EventDiverted ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination ThirdPartyDN=agent04 ThirdPartyDNRole=Destination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
    ]);
}

#[test]
fn a_destination_that_does_not_answer_is_released_and_the_call_routed_again() {
    let mut r = rig_with(options(), true);
    let c1 = customer_calls_rp(&mut r);
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent01");
        a.extensions = Some(KvList::new().with("NO_ANSWER_TIMEOUT", "5"));
    });
    r.log.take();
    let t = r.timers.last().unwrap().clone();
    assert_eq!((t.timer.kind, t.after_ms), (TimerKind::NoAnswer, 5_000), "the extension wins over the option");
    r.fire(TimerKind::NoAnswer);
    golden(r.log.take(), &[
        "rp1 EventError ConnID=c1 ThisDN=rp1 OtherDN=agent01 ErrorCode=232",
        "rp1 EventQueued ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
        "rp1 EventRouteRequest ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    // Routed again, answered this time: no more supervision.
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent02");
    });
    r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
    r.log.take();
    assert!(r.table.armed_timers().is_empty(), "delivered: {:?}", r.table.armed_timers());
}

#[test]
fn a_caller_hanging_up_while_queued_is_abandoned_at_the_routing_point() {
    let mut r = rig_with(options(), true);
    customer_calls_rp(&mut r);
    r.log.take();
    r.person(|w, now| w.hangup(now, CUSTOMER, None).unwrap());
    golden(r.log.take(), &[
        "rp1 EventAbandoned ConnID=c1 ThisDN=rp1 ThisDNRole=Destination CallState=Abandoned CallType=Inbound MediaType=0 ThisQueue=rp1",
    ]);
    assert!(r.table.calls().next().is_none());
}

#[test]
fn route_type_call_disconnect_ends_the_call() {
    let mut r = rig_with(options(), true);
    let c1 = customer_calls_rp(&mut r);
    r.log.take();
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(c1);
        a.route_type = Some(RouteType::CallDisconnect);
    });
    golden(r.log.take(), &[
        "rp1 EventRouteUsed ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ReferenceID=1 ThisQueue=rp1",
        "rp1 EventReleased ConnID=c1 ThisDN=rp1 ThisDNRole=Destination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
    ]);
    assert!(r.table.calls().next().is_none());
}

#[test]
fn the_redirection_limit_stops_a_loop() {
    let mut o = options();
    o.redirect_limit = 1;
    let mut r = rig_with(o, false);
    customer_calls_rp(&mut r);
    // default-dn declines: the call comes back, and the limit keeps it at the Routing Point.
    r.person(|w, now| w.reject(now, &uri("agent04"), None).unwrap());
    let lines = r.log.take();
    let count = |p: &str| lines.iter().filter(|l| l.starts_with(p)).count();
    assert_eq!(count("rp1 EventQueued"), 2, "{lines:#?}");
    assert_eq!(count("agent04 EventRinging"), 1, "redirected once only: {lines:#?}");
    assert!(r.table.calls().next().unwrap().routing.as_ref().unwrap().queued);
}

#[test]
fn voice_treatment_collects_digits() {
    let mut r = rig_with(options(), true);
    let c1 = customer_calls_rp(&mut r);
    r.log.take();
    r.request(K::ApplyTreatment, "rp1", |a| {
        a.conn_id = Some(c1);
        a.treatment_type = Some(TreatmentType::PlayAnnouncementAndDigits);
        a.treatment_parms = Some(KvList::new().with("PROMPT", "welcome").with("TOTAL_DIGITS", 2i64));
    });
    golden(r.log.take(), &[
        "rp1 EventTreatmentApplied ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ReferenceID=1 ThisQueue=rp1 TreatmentType=PlayAnnouncementAndDigits",
    ]);
    r.person(|w, now| w.send_dtmf(now, CUSTOMER, None, "42").unwrap());
    let end = &r.log.deliveries.last().unwrap().event;
    let ext = end.attrs.extensions.clone().unwrap();
    assert_eq!((ext.get_str("COMPLETION_STATUS"), ext.get_int("INTERRUPTED")), (Some("normal"), Some(0)));
    golden(r.log.take(), &[
        "rp1 EventTreatmentEnd ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1 TreatmentType=PlayAnnouncementAndDigits CollectedDigits=42",
    ]);
}

#[test]
fn im_treatment_as_in_the_guide() {
    let mut r = rig_with(options(), true);
    r.person(|w, now| {
        drop(w.start_call(now, &uri("agent03"), &uri("rp1"), sim::Media::Im, Some("hello".into())).unwrap())
    });
    let c1 = r.conn(1);
    r.log.take();
    let entry = |t: &str| KvList::new().with("TEXT", t);
    let prompt = KvList::new()
        .with("1", entry("Hi!"))
        .with("2", entry("Please enter 1 for account history or 2 to be connected to an operator."))
        .with("3", entry("Thank you!"));
    r.request(K::ApplyTreatment, "rp1", |a| {
        a.conn_id = Some(c1);
        a.treatment_type = Some(TreatmentType::PlayAnnouncementAndDigits);
        a.treatment_parms = Some(KvList::new().with("PROMPT", prompt).with("TOTAL_TIMEOUT", 15i64));
    });
    golden(r.log.take(), &[
        "rp1 EventTreatmentApplied ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=agent03 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=5 ReferenceID=1 ThisQueue=rp1 TreatmentType=PlayAnnouncementAndDigits",
    ]);
    let t = r.timers.last().unwrap().clone();
    assert_eq!((t.timer.kind, t.after_ms), (TimerKind::Treatment, 15_000));
    let ims = |r: &Rig, who: &str| -> Vec<String> {
        r.world.user_view(&uri(who)).unwrap().ims.iter().map(|m| m.text.clone()).collect()
    };
    let seen = ims(&r, "agent03");
    assert_eq!(
        seen[seen.len() - 3..],
        ["Hi!", "Please enter 1 for account history or 2 to be connected to an operator.", "Thank you!"],
        "the prompts reach the customer as instant messages"
    );
    r.person(|w, now| w.send_im(now, &uri("agent03"), None, "2").unwrap());
    golden(r.log.take(), &[
        "rp1 EventTreatmentEnd ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=agent03 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=5 ThisQueue=rp1 TreatmentType=PlayAnnouncementAndDigits CollectedDigits=2",
    ]);
    // Routed to an agent: the transcript of the exchange follows (pass-transcript-to-agent).
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent01");
    });
    r.log.take();
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    let changed = r.log.deliveries.iter().rev().find(|d| d.event.kind == crate::tlib::EventKind::AttachedDataChanged);
    let data = changed.and_then(|d| d.event.attrs.user_data.clone()).expect("the transcript, once established");
    let transcript = data.get_str("IMTranscript").unwrap().to_string();
    assert!(
        transcript.contains("sip:rp1@skype.lab: Thank you!") && transcript.ends_with("sip:agent03@skype.lab: 2"),
        "{transcript}"
    );
}

#[test]
fn the_last_router_leaving_sends_waiting_calls_to_default_dn() {
    let mut r = rig_with(options(), true);
    customer_calls_rp(&mut r);
    r.log.take();
    r.apply(Input::RoutersGone { rp: DnName::new(uri("rp1")) });
    let lines = r.log.take();
    assert!(lines.iter().any(|l| l.starts_with("agent04 EventRinging")), "{lines:#?}");
}

#[test]
fn an_im_digit_collection_ends_after_total_timeout() {
    let mut r = rig_with(options(), true);
    r.person(|w, now| {
        drop(w.start_call(now, &uri("agent03"), &uri("rp1"), sim::Media::Im, Some("hi".into())).unwrap())
    });
    let c1 = r.conn(1);
    r.request(K::ApplyTreatment, "rp1", |a| {
        a.conn_id = Some(c1);
        a.treatment_type = Some(TreatmentType::CollectDigits);
        a.treatment_parms = Some(KvList::new().with("TOTAL_TIMEOUT", 5i64));
    });
    r.log.take();
    r.fire(TimerKind::Treatment);
    let end = &r.log.deliveries.last().unwrap().event;
    assert_eq!(end.kind, crate::tlib::EventKind::TreatmentEnd);
    assert_eq!(end.attrs.extensions.as_ref().unwrap().get_str("COMPLETION_STATUS"), Some("timeout"));
    assert_eq!(end.attrs.collected_digits, None);
    // Music is no IM treatment: EventTreatmentNotApplied answers.
    r.request(K::ApplyTreatment, "rp1", |a| {
        a.conn_id = Some(c1);
        a.treatment_type = Some(TreatmentType::Music);
    });
    let na = &r.log.deliveries.last().unwrap().event;
    assert_eq!((na.kind, na.attrs.reference_id), (crate::tlib::EventKind::TreatmentNotApplied, Some(2)));
}

#[test]
fn route_call_refusals() {
    let mut r = rig_with(options(), true);
    let c1 = customer_calls_rp(&mut r);
    // Not a Routing Point of this call.
    r.request(K::RouteCall, "agent01", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent02");
    });
    assert_eq!(r.log.deliveries.last().unwrap().event.attrs.error_code.map(|c| c.code()), Some(470));
    // Unknown ConnID.
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(ConnId(0xbad));
        a.other_dn = dn("agent02");
    });
    assert_eq!(r.log.deliveries.last().unwrap().event.attrs.error_code.map(|c| c.code()), Some(56));
    // Pass-through not allowed: routing the customer to another external number is refused with 705.
    let mut o = CallModelOptions { routing: options(), ..CallModelOptions::default() };
    o.allow_pass_through = crate::callmodel::PassThroughPolicy::None;
    r.table = CallTable::new(Arc::new(RoutingDirectory { routers: true }), Arc::new(ConnIdGenerator::new(100)), o);
    r.person(|w, now| drop(w.start_call(now, "tel:+14155550177", &uri("rp1"), sim::Media::Voice, None).unwrap()));
    let c2 = *r.log.conns.last().unwrap();
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(c2);
        a.other_dn = Some(DnName::new("tel:+14155550999"));
    });
    assert_eq!(r.log.deliveries.last().unwrap().event.attrs.error_code.map(|c| c.code()), Some(705));
}

// ---- the agent's no-answer supervision taking a ringing party off the call (issue 6) ----

fn release_ringing(r: &mut Rig, conn: ConnId, who: &str) {
    r.apply(Input::ReleaseParty { conn, dn: uri(who).as_str().into() });
}

#[test]
fn the_agents_no_answer_on_a_routed_call_is_reported_as_routing_supervision_does() {
    let mut r = rig_with(options(), true);
    let c1 = customer_calls_rp(&mut r);
    r.request(K::RouteCall, "rp1", |a| {
        a.conn_id = Some(c1);
        a.other_dn = dn("agent01");
    });
    r.log.take();
    release_ringing(&mut r, c1, "agent01");
    golden(r.log.take(), &[
        "rp1 EventError ConnID=c1 ThisDN=rp1 OtherDN=agent01 ErrorCode=232",
        "rp1 EventQueued ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
        "rp1 EventRouteRequest ConnID=c1 ThisDN=rp1 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0 ThisQueue=rp1",
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    // Routing's own supervision timer, armed for the same ringing, is stale now.
    r.fire(TimerKind::NoAnswer);
    assert_eq!(r.log.take(), Vec::<String>::new());
}

#[test]
fn the_agents_no_answer_on_a_direct_call_releases_the_ringing_party() {
    let mut r = Rig::new();
    r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri("agent01"), sim::Media::Voice, None).unwrap()));
    let c1 = r.conn(1);
    r.log.take();
    let before = r.sent.len();
    release_ringing(&mut r, c1, "agent01");
    assert_eq!(r.sent.len(), before + 1, "one RELEASE_CALL for the ringing party");
    let log = r.log.take();
    assert!(log.iter().any(|l| l.starts_with("agent01 EventReleased ConnID=c1")), "{log:#?}");
    assert!(r.world.user_view(&uri("agent01")).unwrap().calls.is_empty(), "the invitation to agent01 is withdrawn");
}

#[test]
fn a_party_that_answered_or_left_is_not_released() {
    let mut r = Rig::new();
    r.person(|w, now| drop(w.start_call(now, CUSTOMER, &uri("agent01"), sim::Media::Voice, None).unwrap()));
    let c1 = r.conn(1);
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    r.log.take();
    let before = r.sent.len();
    release_ringing(&mut r, c1, "agent01");
    release_ringing(&mut r, c1, "agent02");
    release_ringing(&mut r, ConnId(0xdead), "agent01");
    assert_eq!(r.sent.len(), before, "no switch request");
    assert_eq!(r.log.take(), Vec::<String>::new());
}
