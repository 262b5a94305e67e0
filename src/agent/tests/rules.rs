//! One test per rule of the machine.

use super::*;
use crate::model::AgentStatus;

fn login_with(r: &mut Rig, agent: &str, check: LoginCheck) -> Output {
    r.request(RequestAction::Login { agent_id: AgentId::new(agent), work_mode: None, check })
}

#[test]
fn login_errors_follow_the_guide() {
    let mut r = Rig::new(settings_with(|_| {}));
    let refused = LoginCheck { strict_id_refused: true, ..Default::default() };
    assert_eq!(error_code(&login_with(&mut r, "9999", refused)), Some(ErrorCode::SoftAgentWrongId));
    let elsewhere = LoginCheck { logged_in_elsewhere: true, ..Default::default() };
    assert_eq!(error_code(&login_with(&mut r, "1001", elsewhere)), Some(ErrorCode::SoftAgentAlreadyLoggedIn));
    assert_eq!(error_code(&login_with(&mut r, "", LoginCheck::default())), Some(ErrorCode::InvalidAttr));
    assert!(r.m.session().is_none());
    r.login("1001", None);
    assert_eq!(error_code(&r.login("1002", None)), Some(ErrorCode::SoftAgentAlreadyLoggedIn), "one agent per DN");
    assert_eq!(r.m.session().unwrap().agent_id, AgentId::new("1001"));
}

#[test]
fn requests_of_an_agent_not_logged_in_get_1707() {
    let mut r = Rig::new(AgentSettings::default());
    for action in [
        RequestAction::Logout,
        RequestAction::SetReady { work_mode: None },
        RequestAction::SetNotReady { work_mode: Some(AgentWorkMode::AfterCallWork) },
    ] {
        assert_eq!(error_code(&r.request(action)), Some(ErrorCode::SoftAgentNotLoggedIn));
    }
}

#[test]
fn emulated_login_state_and_login_work_modes() {
    let cases = [
        (true, None, "EventAgentReady ManualIn"),
        (false, None, "EventAgentNotReady Unknown"),
        (false, Some(AgentWorkMode::ManualIn), "EventAgentReady ManualIn"),
        (true, Some(AgentWorkMode::AuxWork), "EventAgentNotReady AuxWork"),
        (true, Some(AgentWorkMode::Unknown), "EventAgentReady ManualIn"),
        (false, Some(AgentWorkMode::AfterCallWork), "EventAgentNotReady AfterCallWork WrapUpTime=untimed"),
    ];
    for (ready, mode, second) in cases {
        let mut r = Rig::new(settings_with(|s| s.emulated_login_ready = ready));
        let out = r.login("1001", mode);
        assert_eq!(shown(&out)[1], second, "emulated-login-state ready={ready}, work mode {mode:?}");
        assert_eq!(out.events[0].attrs.this_queue, Some(DnName::new("vq_sales")));
        assert_eq!(out.events[1].attrs.this_queue, Some(DnName::new("vq_sales")), "the login queue stays");
        assert_eq!(out.effects, vec![Effect::AgentLoggedIn { agent_id: AgentId::new("1001") }]);
    }
}

#[test]
fn not_ready_self_transitions_are_reported_with_mode_and_reasons() {
    let mut r = Rig::new(settings_with(|_| {}));
    r.login("1001", None);
    let lunch = KvList::new().with("ReasonCode", "Lunch");
    let out =
        r.request_from(1, RequestAction::SetNotReady { work_mode: Some(AgentWorkMode::AuxWork) }, lunch, KvList::new());
    assert_eq!(shown(&out), ["EventAgentNotReady AuxWork ReasonCode:Lunch ref=2"]);
    let again = KvList::new().with("ReasonCode", "Meeting");
    let out =
        r.request_from(1, RequestAction::SetNotReady { work_mode: Some(AgentWorkMode::AuxWork) }, again, KvList::new());
    assert_eq!(shown(&out), ["EventAgentNotReady AuxWork ReasonCode:Meeting ref=3"]);
    assert_eq!(r.m.agent_session().unwrap().reasons.get_str("ReasonCode"), Some("Meeting"));
    let bad = r.request(RequestAction::SetReady { work_mode: Some(AgentWorkMode::AuxWork) });
    assert_eq!(error_code(&bad), Some(ErrorCode::InvalidAttr));
    let bad = r.request(RequestAction::SetNotReady { work_mode: Some(AgentWorkMode::AutoIn) });
    assert_eq!(error_code(&bad), Some(ErrorCode::InvalidAttr), "LegalGuard is not requested by agents");
}

#[test]
fn agent_emu_login_on_call_refuses_login_and_logout_with_a_call() {
    let mut r = Rig::new(settings_with(|_| {}));
    r.call(ringing(1));
    assert_eq!(error_code(&r.login("1001", None)), Some(ErrorCode::InvCallState));
    let allowed = settings_with(|s| s.emu_login_on_call = true);
    let out = login_with(&mut r, "1001", LoginCheck { settings: allowed, ..Default::default() });
    assert!(matches!(out.answer, Some(Answer::Event(0))));
    r.m.session.as_mut().unwrap().settings.emu_login_on_call = false;
    assert_eq!(error_code(&r.request(RequestAction::Logout)), Some(ErrorCode::InvCallState));
    // The AgentEmuLoginOnCall extension of TAgentLogout wins over the option.
    let out = r.request_from(1, RequestAction::Logout, KvList::new(), ext("AgentEmuLoginOnCall", "true"));
    assert_eq!(shown(&out), ["EventAgentLogout ref=4"]);
}

#[test]
fn no_acw_for_a_call_never_answered_or_while_another_call_remains() {
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Timed(secs(5))));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.call(ringing(1));
    assert!(r.release(1).events.is_empty(), "released from ringing: no ACW");
    r.answered_call(2);
    r.answered_call(3);
    assert!(r.release(2).events.is_empty(), "still involved in call 3");
    assert_eq!(shown(&r.release(3)), ["EventAgentNotReady AfterCallWork WrapUpTime=5"]);
    // A non-business call never causes ACW.
    r.ready();
    r.call(CallFact::Established { conn_id: ConnId(4), business: false });
    assert!(r.release(4).events.is_empty());
    assert!(r.release(99).events.is_empty(), "an unknown call is ignored");
}

#[test]
fn a_not_ready_agent_stays_not_ready_after_a_call() {
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Timed(secs(5))));
    r.login("1001", Some(AgentWorkMode::AuxWork));
    r.answered_call(1);
    assert!(r.release(1).events.is_empty());
    assert_eq!(r.state(), Some(&AgentState::NotReady { mode: AgentWorkMode::AuxWork }));
}

#[test]
fn acw_requested_during_a_call_starts_at_release() {
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Timed(secs(5))));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.answered_call(1);
    let out = r.not_ready(AgentWorkMode::AfterCallWork, ext("WrapUpTime", 20i64));
    assert_eq!(shown(&out), ["EventAgentNotReady AfterCallWork WrapUpTime=20 ref=2"]);
    assert!(r.timers.is_empty(), "the ACW period starts when the call ends");
    r.advance(secs(60));
    assert_eq!(shown(&r.release(1)), ["EventAgentNotReady AfterCallWork WrapUpTime=20"]);
    assert_eq!(shown_all(&r.advance(secs(20))), ["EventAgentReady ManualIn"]);
}

#[test]
fn legal_guard_after_a_business_call_without_acw() {
    let mut r = Rig::new(settings_with(|s| s.legal_guard_ms = secs(4)));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.answered_call(1);
    assert_eq!(shown(&r.release(1)), ["EventAgentNotReady AutoIn"]);
    assert_eq!(r.m.agent_session().unwrap().status, AgentStatus::NotReady);
    // The agent may end it early.
    assert_eq!(shown(&r.ready()), ["EventAgentReady ManualIn ref=2"]);
    assert!(r.timers.is_empty());
}

#[test]
fn a_call_ended_during_legal_guard_gets_its_acw() {
    let mut r = Rig::new(settings_with(|s| {
        s.wrap_up = WrapUp::Timed(secs(3));
        s.legal_guard_ms = secs(10);
    }));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.answered_call(1);
    r.release(1);
    assert_eq!(shown_all(&r.advance(secs(3))), ["EventAgentNotReady AutoIn"]);
    // A direct call answered during the legal guard: its end is a business call's end.
    r.answered_call(2);
    assert_eq!(shown(&r.release(2)), ["EventAgentNotReady AfterCallWork WrapUpTime=3"]);
    assert!(!r.timers.contains_key(&TimerKey::LegalGuardEnd));
    assert_eq!(shown_all(&r.advance(secs(3))), ["EventAgentNotReady AutoIn"]);
    assert_eq!(shown_all(&r.advance(secs(10))), ["EventAgentReady ManualIn"]);
}

#[test]
fn acw_in_idle_periods() {
    let acw = AgentWorkMode::AfterCallWork;
    // timed-acw-in-idle with wrap-up-time.
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Timed(secs(7))));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    assert_eq!(shown(&r.not_ready(acw, KvList::new())), ["EventAgentNotReady AfterCallWork WrapUpTime=7 ref=2"]);
    assert_eq!(shown_all(&r.advance(secs(7))), ["EventAgentReady ManualIn"]);
    // The request's WrapUpTime sets the period.
    assert_eq!(
        shown(&r.not_ready(acw, ext("WrapUpTime", 3i64))),
        ["EventAgentNotReady AfterCallWork WrapUpTime=3 ref=3"]
    );
    // timed-acw-in-idle = false: untimed.
    let mut r = Rig::new(settings_with(|s| {
        s.wrap_up = WrapUp::Timed(secs(7));
        s.timed_acw_in_idle = false;
    }));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    assert_eq!(shown(&r.not_ready(acw, KvList::new())), ["EventAgentNotReady AfterCallWork WrapUpTime=untimed ref=2"]);
    assert!(r.timers.is_empty());
}

#[test]
fn acw_in_idle_without_force_ready_returns_to_the_previous_state() {
    let mut r = Rig::new(settings_with(|s| {
        s.wrap_up = WrapUp::Timed(secs(5));
        s.acw_in_idle_force_ready = false;
    }));
    r.login("1001", None);
    let lunch = KvList::new().with("ReasonCode", "Lunch");
    r.request_from(1, RequestAction::SetNotReady { work_mode: Some(AgentWorkMode::AuxWork) }, lunch, KvList::new());
    r.not_ready(AgentWorkMode::AfterCallWork, KvList::new());
    assert_eq!(shown_all(&r.advance(secs(5))), ["EventAgentNotReady AuxWork ReasonCode:Lunch"]);
    // With force-ready (the default) the same ACW ends in Ready.
    r.m.session.as_mut().unwrap().settings.acw_in_idle_force_ready = true;
    r.not_ready(AgentWorkMode::AfterCallWork, KvList::new());
    assert_eq!(shown_all(&r.advance(secs(5))), ["EventAgentReady ManualIn"]);
}

#[test]
fn out_of_service_logs_out_only_with_the_option() {
    let mut r = Rig::new(settings_with(|_| {}));
    r.login("1001", None);
    assert!(r.feed(AgentInput::OutOfService).events.is_empty());
    r.m.session.as_mut().unwrap().settings.logout_on_out_of_service = true;
    let out = r.feed(AgentInput::OutOfService);
    assert_eq!(shown(&out), ["EventAgentLogout"]);
    assert!(matches!(out.effects[..], [Effect::AgentLoggedOut { cause: LogoutCause::OutOfService, .. }]));
}

#[test]
fn logout_on_disconnect_extension_beats_the_option() {
    for (option, extension, logged_out) in
        [(false, None, false), (true, None, true), (false, Some(true), true), (true, Some(false), false)]
    {
        let mut r = Rig::new(settings_with(|s| s.logout_on_disconnect = option));
        r.login("1001", None);
        let out = r.feed(AgentInput::ClientGone { client: 1, logout_on_disconnect: extension });
        assert_eq!(!out.events.is_empty(), logged_out, "option {option}, extension {extension:?}");
    }
}

#[test]
fn auto_logout_ready_decides_which_states_are_logged_out() {
    let mut r = Rig::new(settings_with(|s| s.auto_logout_timeout_ms = secs(60)));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    assert!(!r.timers.contains_key(&TimerKey::AutoLogout), "Ready is spared without auto-logout-ready");
    r.not_ready(AgentWorkMode::AuxWork, KvList::new());
    assert!(!r.timers.contains_key(&TimerKey::AutoLogout), "NotReady/AuxWork is spared");
    r.m.session.as_mut().unwrap().settings.auto_logout_ready = true;
    r.ready();
    assert_eq!(r.timers[&TimerKey::AutoLogout].1, r.now + secs(60));
}

#[test]
fn stale_timer_tokens_are_ignored() {
    let mut r = Rig::new(settings_with(|s| s.wrap_up = WrapUp::Timed(secs(10))));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.answered_call(1);
    r.release(1);
    let (old, _) = r.timers[&TimerKey::AcwEnd];
    r.not_ready(AgentWorkMode::AfterCallWork, ext("WrapUpTime", 5i64));
    let out = r.feed(AgentInput::TimerExpired { key: TimerKey::AcwEnd, token: old });
    assert_eq!(out, Output::default(), "a re-armed timer's old expiry does nothing");
    assert_eq!(r.state().unwrap().status(), AgentStatus::AfterCallWork);
}

#[test]
fn not_answered_is_applied_once_and_only_to_ringing_calls() {
    let mut r = Rig::new(settings_with(|s| s.no_answer_action = NoAnswerAction::Logout));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.answered_call(1);
    let out = r.call(CallFact::NotAnswered { conn_id: ConnId(1), action: NO_ACTION });
    assert!(out.events.is_empty(), "an established call cannot ring out");
    r.call(ringing(2));
    let out = r.call(CallFact::NotAnswered { conn_id: ConnId(2), action: Some(NoAnswerAction::NotReady) });
    assert_eq!(shown(&out), ["EventAgentNotReady AuxWork"], "the call's action wins");
    assert!(out.effects.is_empty(), "reported by routing: nothing for the actor to release");
    assert!(r.call(CallFact::NotAnswered { conn_id: ConnId(2), action: NO_ACTION }).events.is_empty());
}

#[test]
fn snapshot_round_trip_keeps_state_and_timers() {
    let mut r = Rig::new(settings_with(|s| {
        s.wrap_up = WrapUp::Timed(secs(30));
        s.no_answer_timeout_ms = secs(15);
    }));
    r.login("1001", Some(AgentWorkMode::ManualIn));
    r.answered_call(1);
    r.release(1);
    r.call(ringing(2));
    r.advance(secs(10));
    let json = serde_json::to_string(&r.m).unwrap();
    let back: AgentMachine = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r.m);
    let mut rearm = back.rearm(r.now);
    rearm.sort_by_key(|t| match t {
        TimerCmd::Arm { after_ms, .. } => *after_ms,
        TimerCmd::Cancel { .. } => 0,
    });
    let delays: Vec<u64> = rearm
        .iter()
        .map(|t| match t {
            TimerCmd::Arm { after_ms, .. } => *after_ms,
            TimerCmd::Cancel { .. } => panic!("rearm only arms"),
        })
        .collect();
    assert_eq!(delays, [secs(5), secs(20)], "no-answer in 5 s, ACW end in 20 s");
}

#[test]
fn legacy_sessions_rebuild_and_arm_what_they_need() {
    let settings = settings_with(|s| s.auto_logout_timeout_ms = secs(60));
    let legacy = AgentSession {
        agent_id: AgentId::new("1001"),
        status: AgentStatus::NotReady,
        work_mode: AgentWorkMode::WalkAway,
        reasons: KvList::new(),
    };
    let session = LoginSession::from_agent_session(&legacy, settings.clone(), 3, 1000);
    let mut m = AgentMachine::with_agent_session(DnName::new(DN), settings, session);
    assert_eq!(m.agent_session(), Some(legacy));
    let cmds = m.refresh_timers(1000);
    assert!(matches!(cmds[..], [TimerCmd::Arm { key: TimerKey::AutoLogout, after_ms: 60_000, .. }]), "{cmds:?}");
}
