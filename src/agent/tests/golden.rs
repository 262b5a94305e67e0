//! Golden event sequences: what every client registered on the DN sees, in order, for the guide's
//! agent scenarios.

use super::*;

#[test]
fn login_ready_call_timed_acw_ready() {
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Timed(secs(5))));
    assert_eq!(shown(&r.login("1001", None)), ["EventAgentLogin Unknown ref=1", "EventAgentNotReady Unknown"]);
    assert_eq!(shown(&r.ready()), ["EventAgentReady ManualIn ref=2"]);
    // Ringing and answer change no agent state (Busy-Ready); EventEstablished says how much ACW
    // will follow.
    assert!(r.call(ringing(7)).events.is_empty());
    let est = r.call(CallFact::Established { conn_id: ConnId(7), business: true });
    assert!(est.events.is_empty());
    assert_eq!(est.call_extensions, ext("WrapUpTime", 5i64));
    // The release: EventAgentNotReady(ACW) with WrapUpTime, to be published before EventReleased.
    let rel = r.release(7);
    assert_eq!(shown(&rel), ["EventAgentNotReady AfterCallWork WrapUpTime=5"]);
    let acw_timer = rel.timers.iter().find(|t| matches!(t, TimerCmd::Arm { key: TimerKey::AcwEnd, .. }));
    assert!(matches!(acw_timer, Some(TimerCmd::Arm { after_ms: 5000, .. })), "{:?}", rel.timers);
    assert!(r.advance(4999).is_empty(), "ACW lasts the full wrap-up time");
    assert_eq!(shown_all(&r.advance(1)), ["EventAgentReady ManualIn"]);
    assert_eq!(r.m.session().unwrap().state, AgentState::Ready { mode: AgentWorkMode::ManualIn });
    assert!(r.timers.is_empty());
}

#[test]
fn untimed_acw_waits_for_the_agent() {
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Untimed));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    assert_eq!(r.answered_call(1), ext("WrapUpTime", "untimed"));
    assert_eq!(shown(&r.release(1)), ["EventAgentNotReady AfterCallWork WrapUpTime=untimed"]);
    assert!(r.timers.is_empty(), "untimed ACW arms nothing");
    assert!(r.advance(secs(3600)).is_empty());
    assert_eq!(r.state().unwrap().status(), crate::model::AgentStatus::AfterCallWork);
    assert_eq!(shown(&r.ready()), ["EventAgentReady ManualIn ref=2"]);
}

#[test]
fn extending_acw_reports_adds_and_goes_untimed() {
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Timed(secs(10))));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.answered_call(1);
    r.release(1);
    r.advance(secs(4));
    let acw = AgentWorkMode::AfterCallWork;
    // WrapUpTime 0: no change, the remaining time is reported.
    assert_eq!(
        shown(&r.not_ready(acw, ext("WrapUpTime", 0i64))),
        ["EventAgentNotReady AfterCallWork WrapUpTime=6 ref=2"]
    );
    assert_eq!(r.timers[&TimerKey::AcwEnd].1, secs(10));
    // +5 s.
    let out = r.not_ready(acw, ext("WrapUpTime", "5"));
    assert_eq!(shown(&out), ["EventAgentNotReady AfterCallWork WrapUpTime=11 ref=3"]);
    assert_eq!(r.timers[&TimerKey::AcwEnd].1, secs(15), "the timer moved");
    assert!(r.advance(secs(10)).is_empty());
    assert_eq!(shown_all(&r.advance(secs(1))), ["EventAgentReady ManualIn"]);

    // A second call, then untimed: the timer is cancelled and nothing ends the ACW.
    r.answered_call(2);
    r.release(2);
    let out = r.not_ready(acw, ext("WrapUpTime", "untimed"));
    assert_eq!(shown(&out), ["EventAgentNotReady AfterCallWork WrapUpTime=untimed ref=4"]);
    assert!(out.timers.contains(&TimerCmd::Cancel { key: TimerKey::AcwEnd }));
    assert!(r.advance(secs(60)).is_empty());
    // +N on untimed ACW leaves it untimed.
    assert_eq!(
        shown(&r.not_ready(acw, ext("WrapUpTime", 30i64))),
        ["EventAgentNotReady AfterCallWork WrapUpTime=untimed ref=5"]
    );
}

#[test]
fn logout_when_the_login_client_disconnects() {
    let mut r = Rig::new(settings_with(|s| s.logout_on_disconnect = true));
    let check = LoginCheck { settings: r.settings.clone(), ..Default::default() };
    let login = RequestAction::Login { agent_id: AgentId::new("1001"), work_mode: None, check };
    r.request_from(7, login, KvList::new(), KvList::new());
    // Another client leaving changes nothing; a later login from another client does not take
    // the agent over.
    assert!(r.feed(AgentInput::ClientGone { client: 8, logout_on_disconnect: Some(true) }).events.is_empty());
    let check = LoginCheck { settings: r.settings.clone(), ..Default::default() };
    let again = RequestAction::Login { agent_id: AgentId::new("1001"), work_mode: None, check };
    assert_eq!(shown(&r.request_from(8, again, KvList::new(), KvList::new())), ["EventAgentLogin Unknown ref=2"]);
    assert!(r.feed(AgentInput::ClientGone { client: 8, logout_on_disconnect: None }).events.is_empty());
    // The client whose TAgentLogin logged the agent in goes: EventAgentLogout, AgentID released.
    let out = r.feed(AgentInput::ClientGone { client: 7, logout_on_disconnect: None });
    assert_eq!(shown(&out), ["EventAgentLogout"]);
    assert_eq!(out.events[0].attrs.agent_id, Some(AgentId::new("1001")));
    assert_eq!(
        out.effects,
        vec![Effect::AgentLoggedOut { agent_id: AgentId::new("1001"), cause: LogoutCause::ClientGone }]
    );
    assert!(r.m.session().is_none());
}

#[test]
fn auto_logout_after_inactivity() {
    let mut r = Rig::new(settings_with(|s| s.auto_logout_timeout_ms = secs(1800)));
    // Logged in NotReady without a work mode (Unknown): auto-logout applies.
    r.login("1001", None);
    assert_eq!(r.timers[&TimerKey::AutoLogout].1, secs(1800));
    r.advance(secs(600));
    // Any request is activity: the deadline moves.
    r.not_ready(AgentWorkMode::WalkAway, KvList::new());
    assert_eq!(r.timers[&TimerKey::AutoLogout].1, secs(2400));
    // A call on the DN is activity too, and nobody is logged out in the middle of one.
    r.answered_call(1);
    assert!(!r.timers.contains_key(&TimerKey::AutoLogout));
    r.advance(secs(3600));
    r.release(1);
    assert_eq!(r.timers[&TimerKey::AutoLogout].1, secs(600 + 3600 + 1800));
    let outs = r.advance(secs(1800));
    assert_eq!(shown_all(&outs), ["EventAgentLogout"]);
    assert_eq!(
        outs[0].effects,
        vec![Effect::AgentLoggedOut { agent_id: AgentId::new("1001"), cause: LogoutCause::AutoLogout }]
    );
    assert!(r.timers.is_empty());
}

#[test]
fn legal_guard_after_timed_acw_then_ready() {
    let mut r = Rig::new(settings_with(|s| {
        s.wrap_up = WrapUp::Timed(secs(3));
        s.legal_guard_ms = secs(2);
    }));
    r.login("1001", Some(AgentWorkMode::AutoIn));
    r.answered_call(1);
    assert_eq!(shown(&r.release(1)), ["EventAgentNotReady AfterCallWork WrapUpTime=3"]);
    // GenEM's AgentLegalGuard is work mode AutoIn under NotReady.
    assert_eq!(shown_all(&r.advance(secs(3))), ["EventAgentNotReady AutoIn"]);
    assert_eq!(shown_all(&r.advance(secs(2))), ["EventAgentReady AutoIn"]);
}

#[test]
fn no_answer_notready_then_logout_from_the_call() {
    let mut r = Rig::new(settings_with(|s| {
        s.no_answer_timeout_ms = secs(10);
        s.no_answer_action = NoAnswerAction::NotReady;
    }));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.call(ringing(1));
    let outs = r.advance(secs(10));
    assert_eq!(shown_all(&outs), ["EventAgentNotReady AuxWork"]);
    assert_eq!(outs[0].effects, vec![Effect::NoAnswer { conn_id: ConnId(1) }]);
    r.release(1);
    r.ready();
    // The routed call's NO_ANSWER_ACTION / NO_ANSWER_TIMEOUT win over the agent's.
    let over = NoAnswerOverride::from_route_extensions(
        &KvList::new().with("NO_ANSWER_ACTION", "logout").with("NO_ANSWER_TIMEOUT", "4"),
    );
    r.call(CallFact::Ringing { conn_id: ConnId(2), business: true, no_answer: over });
    assert_eq!(r.timers[&TimerKey::NoAnswer(ConnId(2))].1, r.now + secs(4));
    assert_eq!(shown_all(&r.advance(secs(4))), ["EventAgentLogout"]);
}
