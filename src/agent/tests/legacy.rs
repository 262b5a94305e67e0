//! The request-only interface the Dn actor uses today behaves as before the machine existed.

use super::*;
use crate::model::AgentStatus;

fn login(id: &str, mode: Option<AgentWorkMode>) -> AgentRequest {
    AgentRequest::Login { agent_id: AgentId::new(id), work_mode: mode, reasons: KvList::new() }
}

#[test]
fn login_state_follows_work_mode_then_emulated_login_state() {
    let out = apply(None, login("1001", None), LoginContext::default()).unwrap();
    assert_eq!(out.events, vec![AgentEvent::Login, AgentEvent::NotReady]);
    assert_eq!(out.session.unwrap().status, AgentStatus::NotReady);
    let ready = LoginContext { login_ready: true, ..Default::default() };
    let out = apply(None, login("1001", None), ready).unwrap();
    assert_eq!(out.events, vec![AgentEvent::Login, AgentEvent::Ready]);
    let out = apply(None, login("1001", Some(AgentWorkMode::AuxWork)), ready).unwrap();
    assert_eq!(out.session.unwrap().status, AgentStatus::NotReady, "an explicit work mode wins");
    let out = apply(None, login("1001", Some(AgentWorkMode::ManualIn)), LoginContext::default()).unwrap();
    assert_eq!(out.events, vec![AgentEvent::Login, AgentEvent::Ready]);
    assert_eq!(out.session.unwrap().status, AgentStatus::Ready);
}

#[test]
fn one_agent_per_dn_and_strict_ids() {
    let s = apply(None, login("1001", None), LoginContext::default()).unwrap().session.unwrap();
    assert_eq!(apply(Some(&s), login("1002", None), LoginContext::default()), Err(ErrorCode::SoftAgentAlreadyLoggedIn));
    let again = apply(Some(&s), login("1001", None), LoginContext::default()).unwrap();
    assert_eq!(again.events, vec![AgentEvent::Login]);
    assert_eq!(again.session, Some(s));
    let strict = LoginContext { unknown_agent_refused: true, ..Default::default() };
    assert_eq!(apply(None, login("9999", None), strict), Err(ErrorCode::SoftAgentWrongId));
    let elsewhere = LoginContext { logged_in_elsewhere: true, ..Default::default() };
    assert_eq!(apply(None, login("1001", None), elsewhere), Err(ErrorCode::SoftAgentAlreadyLoggedIn));
}

#[test]
fn requests_need_a_logged_in_agent() {
    let r = AgentRequest::SetReady { work_mode: None, reasons: KvList::new() };
    assert_eq!(apply(None, r, LoginContext::default()), Err(ErrorCode::SoftAgentNotLoggedIn));
    let r = AgentRequest::Logout { reasons: KvList::new() };
    assert_eq!(apply(None, r, LoginContext::default()), Err(ErrorCode::SoftAgentNotLoggedIn));
}

#[test]
fn not_ready_self_transition_is_reported_with_new_mode() {
    let s = apply(None, login("1001", None), LoginContext::default()).unwrap().session.unwrap();
    let r = AgentRequest::SetNotReady {
        work_mode: Some(AgentWorkMode::AuxWork),
        reasons: KvList::new().with("ReasonCode", "Lunch"),
    };
    let out = apply(Some(&s), r, LoginContext::default()).unwrap();
    assert_eq!(out.events, vec![AgentEvent::NotReady]);
    let s2 = out.session.unwrap();
    assert_eq!(s2.work_mode, AgentWorkMode::AuxWork);
    assert_eq!(s2.reasons.get_str("ReasonCode"), Some("Lunch"));
    let acw = AgentRequest::SetNotReady { work_mode: Some(AgentWorkMode::AfterCallWork), reasons: KvList::new() };
    let s3 = apply(Some(&s2), acw, LoginContext::default()).unwrap().session.unwrap();
    assert_eq!((s3.status, s3.work_mode), (AgentStatus::AfterCallWork, AgentWorkMode::AfterCallWork));
    let ready =
        apply(Some(&s3), AgentRequest::SetReady { work_mode: None, reasons: KvList::new() }, LoginContext::default());
    assert_eq!(ready.unwrap().session.unwrap().status, AgentStatus::Ready, "an (untimed) ACW ends on request");
    let bad = AgentRequest::SetReady { work_mode: Some(AgentWorkMode::AuxWork), reasons: KvList::new() };
    assert_eq!(apply(Some(&s2), bad, LoginContext::default()), Err(ErrorCode::InvalidAttr));
    let out = apply(Some(&s2), AgentRequest::Logout { reasons: KvList::new() }, LoginContext::default()).unwrap();
    assert_eq!((out.session, out.events), (None, vec![AgentEvent::Logout]));
}
