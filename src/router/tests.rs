//! Unit tests of the routing core: events in, requests out, time given by the test.

use super::*;
use crate::model::{AgentStatus, ConnId, DnServiceState, ErrorCode, KvValue, MediaType, RouteType, TreatmentType};
use crate::tlib::{Event, EventKind as E, Request, RequestKind};

pub(super) const RP: &str = "sip:rp1@skype.lab";

pub(super) fn dn(s: &str) -> DnName {
    DnName::new(s)
}

pub(super) fn agent(i: usize) -> DnName {
    dn(&format!("sip:agent{i:02}@skype.lab"))
}

pub(super) fn settings(agents: usize) -> RouterSettings {
    RouterSettings {
        routing_points: vec![dn(RP)],
        target_group: "test".into(),
        agents: (1..=agents).map(agent).collect(),
        treatment: RouterTreatment::Music,
        music: None,
        im_prompt: "please wait".into(),
        no_answer_pause_ms: 30_000,
        reservation_ms: 10_000,
        retry_ms: 250,
    }
}

pub(super) fn event(kind: E, this_dn: &DnName, conn: Option<u64>) -> Event {
    let mut ev = Event::new(kind);
    ev.attrs.this_dn = Some(this_dn.clone());
    ev.attrs.conn_id = conn.map(ConnId);
    ev
}

pub(super) fn route_request(conn: u64, im: bool) -> Event {
    let mut ev = event(E::RouteRequest, &dn(RP), Some(conn));
    ev.attrs.media_type = Some(if im { MediaType::CHAT } else { MediaType::VOICE });
    ev
}

pub(super) fn answer(kind: E, req: &Request) -> Event {
    let mut ev = Event::answering(kind, req);
    ev.attrs.this_dn = req.attrs.this_dn.clone();
    ev.attrs.conn_id = req.attrs.conn_id;
    ev
}

fn error(code: ErrorCode, this_dn: &DnName, conn: u64, reference_id: Option<u32>) -> Event {
    let mut ev = event(E::Error, this_dn, Some(conn));
    ev.attrs.error_code = Some(code);
    ev.attrs.reference_id = reference_id;
    ev
}

struct Rig {
    router: Router,
    now: u64,
}

impl Rig {
    fn new(s: RouterSettings) -> Rig {
        Rig { router: Router::new(s, 0), now: 0 }
    }
    fn at(&mut self, now: u64) -> &mut Self {
        self.now = now;
        self
    }
    fn on(&mut self, ev: Event) -> Vec<Request> {
        self.router.on_event(self.now, &ev)
    }
    fn agent(&mut self, i: usize, kind: E) -> Vec<Request> {
        self.on(event(kind, &agent(i), None))
    }
    fn agent_call(&mut self, i: usize, kind: E, conn: u64) -> Vec<Request> {
        self.on(event(kind, &agent(i), Some(conn)))
    }
    fn ready(&mut self, i: usize) -> Vec<Request> {
        self.agent(i, E::AgentLogin);
        self.agent(i, E::AgentReady)
    }
    fn tick(&mut self, now: u64) -> Vec<Request> {
        self.now = now;
        self.router.on_tick(now)
    }
    fn available(&self) -> Vec<DnName> {
        self.router.view(self.now).agents.into_iter().filter(|a| a.available).map(|a| a.dn).collect()
    }
}

/// The one TRouteCall in `out`, checked for its fixed attributes; returns (ConnID, agent).
fn routed(out: &[Request]) -> (u64, DnName) {
    assert_eq!(out.len(), 1, "{out:#?}");
    let r = &out[0];
    assert_eq!(r.kind, RequestKind::RouteCall);
    assert_eq!(r.attrs.this_dn, Some(dn(RP)));
    assert_eq!(r.attrs.route_type, Some(RouteType::Default));
    assert!(r.attrs.reference_id.unwrap() >= FIRST_REFERENCE_ID);
    (r.attrs.conn_id.unwrap().0, r.attrs.other_dn.clone().unwrap())
}

fn treatment(out: &[Request]) -> (TreatmentType, Option<crate::model::KvList>) {
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].kind, RequestKind::ApplyTreatment);
    (out[0].attrs.treatment_type.unwrap(), out[0].attrs.treatment_parms.clone())
}

#[test]
fn each_call_goes_to_the_longest_idle_ready_agent() {
    let mut r = Rig::new(settings(3));
    r.at(10).ready(2);
    r.at(20).ready(1);
    r.at(30).agent(3, E::AgentLogin); // logged in, NotReady
    let out = r.at(40).on(route_request(1, false));
    assert_eq!(routed(&out), (1, agent(2)), "agent02 has been Ready longest");
    // agent02 is reserved before its call even rings: the next call goes to agent01.
    assert_eq!(routed(&r.on(route_request(2, false))), (2, agent(1)));
    // Nobody is left: music.
    let out = r.on(route_request(3, false));
    assert_eq!(treatment(&out), (TreatmentType::Music, None));
    assert_eq!(r.router.view(40).waiting.len(), 1);
}

#[test]
fn a_waiting_call_reaches_the_first_agent_that_becomes_ready_and_free() {
    let mut r = Rig::new(settings(2));
    r.ready(1);
    let (c1, _) = routed(&r.on(route_request(1, false)));
    r.on(answer(E::RouteUsed, &Request::new(RequestKind::RouteCall)));
    let t = r.on(route_request(2, false));
    assert_eq!(r.on(answer(E::TreatmentApplied, &t[0])), vec![]);
    assert!(r.agent_call(1, E::Ringing, c1).is_empty());
    assert!(r.agent_call(1, E::Established, c1).is_empty());
    // The agent goes NotReady during the call: free afterwards but not Ready -> no route.
    r.agent(1, E::AgentNotReady);
    assert!(r.at(100).agent_call(1, E::Released, c1).is_empty());
    // agent02 logs in and becomes Ready: the waiting call goes there.
    r.at(200).agent(2, E::AgentLogin);
    assert_eq!(routed(&r.at(300).agent(2, E::AgentReady)), (2, agent(2)));
    assert!(r.router.view(300).waiting.is_empty());
    assert_eq!(r.router.counters().routed, 2);
}

#[test]
fn waiting_calls_are_served_first_come_first_served() {
    let mut r = Rig::new(settings(1));
    for c in [7, 5, 9] {
        let t = r.on(route_request(c, false));
        r.on(answer(E::TreatmentApplied, &t[0]));
    }
    let order: Vec<u64> = r.router.view(0).waiting.iter().map(|w| w.conn.0).collect();
    assert_eq!(order, [7, 5, 9]);
    assert_eq!(routed(&r.ready(1)).0, 7);
    r.agent_call(1, E::Ringing, 7);
    assert_eq!(routed(&r.agent_call(1, E::Released, 7)).0, 5);
}

#[test]
fn a_call_is_not_routed_while_its_treatment_is_being_applied() {
    let mut r = Rig::new(settings(1));
    let t = r.on(route_request(1, false));
    assert_eq!(treatment(&t).0, TreatmentType::Music);
    // TRouteCall now would be refused (291): wait for the treatment's answer.
    assert!(r.ready(1).is_empty());
    assert_eq!(routed(&r.on(answer(E::TreatmentApplied, &t[0]))), (1, agent(1)));
}

#[test]
fn im_callers_get_the_prompt_once_and_treatment_none_means_silence() {
    let mut r = Rig::new(settings(1));
    let (kind, parms) = treatment(&r.on(route_request(1, true)));
    assert_eq!(kind, TreatmentType::PlayAnnouncement);
    let Some(KvValue::List(prompt)) = parms.as_ref().and_then(|p| p.get("PROMPT")).cloned() else {
        panic!("{parms:?}")
    };
    let Some((_, KvValue::List(entry))) = prompt.iter().next().cloned() else { panic!("{prompt:?}") };
    assert_eq!(entry.get_str("TEXT"), Some("please wait"));
    let mut s = settings(1);
    s.treatment = RouterTreatment::None;
    s.im_prompt = String::new();
    let mut r = Rig::new(s);
    assert!(r.on(route_request(1, false)).is_empty());
    assert!(r.on(route_request(2, true)).is_empty());
    assert_eq!(routed(&r.ready(1)).0, 1);
}

#[test]
fn an_unanswered_route_comes_back_first_in_line_and_the_agent_is_paused() {
    let mut r = Rig::new(settings(2));
    r.at(1).ready(1);
    r.at(2).ready(2);
    let route = r.at(10).on(route_request(1, false));
    let (c1, a) = routed(&route);
    assert_eq!(a, agent(1));
    r.on(answer(E::RouteUsed, &route[0]));
    r.on(event(E::Diverted, &dn(RP), Some(c1)));
    r.agent_call(1, E::Ringing, c1);
    let (c2, a) = routed(&r.on(route_request(2, false)));
    assert_eq!(a, agent(2));
    r.agent_call(2, E::Ringing, c2);
    let t = r.on(route_request(3, false));
    r.on(answer(E::TreatmentApplied, &t[0]));
    // agent01 lets call 1 ring out: TERR_DN_NO_ANSWER, released, back at the Routing Point.
    r.at(1000).on(error(ErrorCode::DnNoAnswer, &dn(RP), c1, None));
    assert!(r.agent_call(1, E::Released, c1).is_empty(), "agent01 is paused");
    let t = r.on(route_request(c1, false));
    assert_eq!(treatment(&t).0, TreatmentType::Music, "the music stopped when the call left; it starts again");
    r.on(answer(E::TreatmentApplied, &t[0]));
    let waiting: Vec<u64> = r.router.view(1000).waiting.iter().map(|w| w.conn.0).collect();
    assert_eq!(waiting, [1, 3], "the call that came back keeps its place");
    assert_eq!(r.router.counters().returned, 1);
    assert_eq!(r.router.next_wakeup(1000), Some(31_000), "the pause ends");
    assert!(r.tick(30_999).is_empty());
    assert_eq!(routed(&r.tick(31_000)), (1, agent(1)));
}

#[test]
fn route_errors_pause_the_agent_retry_later_or_forget_the_call() {
    let mut r = Rig::new(settings(2));
    r.at(1).ready(1);
    r.at(2).ready(2);
    let route = r.at(10).on(route_request(1, false));
    assert_eq!(routed(&route).1, agent(1));
    // The destination cannot take it: someone else gets it, agent01 is paused.
    let again = r.on(error(ErrorCode::OutOfService, &dn(RP), 1, route[0].attrs.reference_id));
    assert_eq!(routed(&again), (1, agent(2)));
    assert!(r.available().is_empty());
    // 291: another request on the call is in progress: retried after retry_ms, nobody paused.
    let retry = r.on(error(ErrorCode::OperationInProgress, &dn(RP), 1, again[0].attrs.reference_id));
    assert!(retry.is_empty());
    assert_eq!(r.available(), [agent(2)]);
    assert_eq!(r.router.next_wakeup(10), Some(260));
    let third = r.tick(260);
    assert_eq!(routed(&third), (1, agent(2)));
    // 56: the call is gone; agent02 is free again and nothing waits.
    assert!(r.on(error(ErrorCode::InvConnId, &dn(RP), 1, third[0].attrs.reference_id)).is_empty());
    assert_eq!(r.available(), [agent(2)]);
    assert!(r.router.view(300).waiting.is_empty());
    assert_eq!(r.router.counters().route_errors, 3);
}

#[test]
fn calls_that_leave_while_waiting_are_dropped() {
    let mut r = Rig::new(settings(1));
    for c in [1, 2] {
        let t = r.on(route_request(c, false));
        r.on(answer(E::TreatmentApplied, &t[0]));
    }
    r.on(event(E::Abandoned, &dn(RP), Some(1)));
    r.on(event(E::Diverted, &dn(RP), Some(2))); // router-timeout: default-dn took it
    assert!(r.ready(1).is_empty());
    let c = r.router.counters();
    assert_eq!((c.abandoned, c.left), (1, 1));
}

#[test]
fn after_call_work_and_busy_agents_are_not_available() {
    let mut r = Rig::new(settings(2));
    r.at(5).ready(1);
    r.at(6).ready(2);
    let (c1, _) = routed(&r.on(route_request(1, false)));
    r.agent_call(1, E::Ringing, c1);
    r.agent_call(1, E::Established, c1);
    assert_eq!(r.router.counters().delivered, 1);
    let mut acw = event(E::AgentNotReady, &agent(1), None);
    acw.attrs.agent_work_mode = Some(crate::model::AgentWorkMode::AfterCallWork);
    r.at(50).on(acw);
    r.agent_call(1, E::Released, c1);
    assert_eq!(r.available(), [agent(2)]);
    // agent01 ends its ACW later than agent02 became Ready: agent02 is still the longest idle.
    r.at(60).agent(1, E::AgentReady);
    assert_eq!(routed(&r.on(route_request(2, false))).1, agent(2));
    // A direct call makes agent01 busy too.
    r.agent_call(1, E::Ringing, 99);
    assert!(r.available().is_empty());
    r.at(70).agent_call(1, E::Released, 99);
    assert_eq!(r.available(), [agent(1)]);
    // A repeated EventAgentReady does not move agent01 to the back of the line.
    let before = r.router.view(70).agents[0].idle_since_ms;
    r.at(80).agent(1, E::AgentReady);
    assert_eq!(r.router.view(80).agents[0].idle_since_ms, before);
}

#[test]
fn registration_state_out_of_service_and_logout() {
    let mut r = Rig::new(settings(2));
    let mut reg = event(E::Registered, &agent(1), None);
    reg.attrs.agent_status = Some(AgentStatus::Ready);
    reg.attrs.service_state = Some(DnServiceState::InService);
    r.on(reg.clone());
    reg.attrs.this_dn = Some(agent(2));
    reg.attrs.service_state = Some(DnServiceState::OutOfService);
    r.on(reg);
    assert_eq!(r.available(), [agent(1)]);
    r.agent(1, E::DNOutOfService);
    r.agent(2, E::DNBackInService);
    assert_eq!(r.available(), [agent(2)]);
    r.agent(2, E::AgentLogout);
    assert!(r.available().is_empty());
}

#[test]
fn a_reservation_whose_call_never_arrives_expires() {
    let mut r = Rig::new(settings(1));
    r.ready(1);
    let route = r.at(100).on(route_request(1, false));
    r.on(answer(E::RouteUsed, &route[0]));
    assert!(r.available().is_empty());
    assert_eq!(r.router.next_wakeup(100), Some(10_100));
    r.tick(10_100);
    assert_eq!(r.available(), [agent(1)]);
}

#[test]
fn events_of_other_dns_and_unknown_answers_are_ignored() {
    let mut r = Rig::new(settings(1));
    r.ready(1);
    assert!(r.on(route_request(1, false)).len() == 1);
    assert!(r.on(event(E::RouteRequest, &dn("sip:rp2@skype.lab"), Some(5))).is_empty());
    let mut stray = event(E::Error, &dn(RP), Some(5));
    stray.attrs.reference_id = Some(3);
    assert!(r.on(stray).is_empty());
    assert_eq!(r.router.registrations(), [dn(RP), agent(1)]);
}
