//! One AgentSession actor per logged-in agent (issue 6): the login the Dn ran hands the agent's
//! machine to a session under AgentSup, the logout brings it back; a crashed session is rebuilt
//! from its snapshot with its timers, and what reached the Dn meanwhile is carried out after,
//! in order; a session that keeps failing is given up and the Dn runs the agent itself.

use crate::agents::{act, answered_call, events_until, is_acw, login, options, CUSTOMER};
use crate::util::*;
use sfb_tserver::actors::agent_session::{child_name, AgentSessionMsg};
use sfb_tserver::actors::dn::{DnMsg, DnView};
use sfb_tserver::model::{AgentStatus, DnName};
use sfb_tserver::tlib::{EventKind, RequestKind};

async fn view(server: &TestServer, dn: &str) -> DnView {
    let actor = server.h().ctx.directory.dn(&DnName::new(dn)).unwrap();
    ractor::call_t!(actor, DnMsg::GetView, 2000).unwrap()
}

fn session_restarts(server: &TestServer, dn: &str) -> Option<u64> {
    server.h().ctx.board.child(&child_name(&DnName::new(dn))).map(|c| c.restarts)
}

/// Panics the DN's current session and waits for the next incarnation.
async fn crash_session(server: &TestServer, dn: &str) {
    let dir = &server.h().ctx.directory;
    let dn = DnName::new(dn);
    let old = dir.agent_session(&dn).expect("a session");
    old.cast(AgentSessionMsg::Crash).unwrap();
    let back = || async { dir.agent_session(&dn).is_some_and(|a| a.get_id() != old.get_id()) };
    assert!(wait_until(STEP, back).await, "a new incarnation runs the agent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_starts_the_agents_session_and_the_logout_ends_it() {
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    assert_eq!(view(&server, AGENT01).await.agent_session, None, "nobody logged in: the Dn runs the machine");
    login(&mut desk, AGENT01, "1001").await;
    let v = view(&server, AGENT01).await;
    assert!(v.agent_session.as_ref().is_some_and(|s| s != "away"), "{v:?}");
    assert_eq!(session_restarts(&server, AGENT01), Some(0), "AgentSup supervises it");
    let session = server.h().ctx.directory.agent_session(&DnName::new(AGENT01)).unwrap();
    let sv = ractor::call_t!(session, AgentSessionMsg::GetView, 2000).unwrap();
    assert_eq!(sv.agent_id.map(|a| a.to_string()).as_deref(), Some("1001"));
    // The admin endpoint shows it live, and an operator restart keeps its state.
    let name = child_name(&DnName::new(AGENT01));
    let (status, node) = server.admin_json("GET", &format!("/tree/{name}"), "").await;
    assert_eq!((status, &node["view"]["agent_id"]), (200, &serde_json::json!("1001")), "{node}");
    assert_eq!(node["snapshot"]["kind"], "AgentSession", "{node}");
    assert_eq!(server.admin("POST", &format!("/restart/{name}")).await.0, 200);
    let restarted = || async {
        server.h().ctx.directory.agent_session(&DnName::new(AGENT01)).is_some_and(|a| a.get_id() != session.get_id())
    };
    assert!(wait_until(STEP, restarted).await, "a new incarnation");
    // Requests are run by the session; the Dn's mirror follows.
    let nr = desk.request(req(RequestKind::AgentSetNotReady, AGENT01)).await.unwrap();
    assert_eq!(nr.kind, EventKind::AgentNotReady);
    let q = desk.request(req(RequestKind::QueryAddress, AGENT01)).await.unwrap();
    assert_eq!(q.attrs.agent_status, Some(AgentStatus::NotReady), "{q:?}");

    assert_eq!(desk.request(req(RequestKind::AgentLogout, AGENT01)).await.unwrap().kind, EventKind::AgentLogout);
    let ended = || async { session_restarts(&server, AGENT01).is_none() };
    assert!(wait_until(STEP, ended).await, "the session ends with the logout");
    let v = view(&server, AGENT01).await;
    assert_eq!((v.agent_session, v.agent.is_none()), (None, true), "the machine is back in the Dn");
    assert!(server.h().ctx.snapshots.get(&child_name(&DnName::new(AGENT01))).is_none(), "its snapshot is gone");
    // The next login gets a new session; a second agent on the same DN is still refused.
    login(&mut desk, AGENT01, "1001").await;
    assert!(view(&server, AGENT01).await.agent_session.is_some());
    let mut other = req(RequestKind::AgentLogin, AGENT01);
    other.attrs.agent_id = Some(sfb_tserver::model::AgentId::new("1002"));
    assert_eq!(error_code(&desk.request(other).await.unwrap()), Some(1706));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_crash_keeps_the_agent_its_call_its_acw_and_what_arrived_meanwhile() {
    init_log();
    let server = TestServer::start_with(options(&[("wrap-up-time", "2")])).await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    let (conn, _) = answered_call(&server, &mut desk).await;
    // Crashed with the call established, and the call's end sent at once: the end waits in the
    // Dn for the next incarnation, which knows the call and starts the ACW.
    let old = server.h().ctx.directory.agent_session(&DnName::new(AGENT01)).unwrap();
    old.cast(AgentSessionMsg::Crash).unwrap();
    act(&server, CUSTOMER, "hangup").await;
    let seen = events_until(&mut desk, |e| e.kind == EventKind::Released).await;
    assert!(seen.iter().any(is_acw), "ACW before EventReleased after a session crash: {seen:#?}");
    assert_eq!(seen.last().unwrap().attrs.conn_id, Some(conn));
    assert!(wait_until(STEP, || async { session_restarts(&server, AGENT01) == Some(1) }).await);
    // Crashed again during the ACW: its timer is re-armed from the snapshot and still ends it.
    crash_session(&server, AGENT01).await;
    let reg = server.client().await.register(AGENT01).await.unwrap();
    assert_eq!(reg.attrs.agent_status, Some(AgentStatus::AfterCallWork), "{reg:?}");
    assert!(desk.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await.is_some(), "the ACW still ends");
    // Its neighbours did not notice: the Dn is the same incarnation, another agent unaffected.
    assert_eq!(server.h().ctx.board.child(&format!("dn:{AGENT01}")).unwrap().restarts, 0);
    let mut other = server.client().await;
    other.register(AGENT02).await.unwrap();
    login(&mut other, AGENT02, "1002").await;
}

/// TAgentSetNotReady(AfterCallWork) with WrapUpTime: an ACW in idle of `secs` seconds.
fn acw_in_idle(secs: i64) -> sfb_tserver::tlib::Request {
    let mut nr = req(RequestKind::AgentSetNotReady, AGENT01);
    nr.attrs.agent_work_mode = Some(sfb_tserver::model::AgentWorkMode::AfterCallWork);
    nr.attrs.extensions = Some(sfb_tserver::model::KvList::new().with("WrapUpTime", secs));
    nr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_keeps_failing_is_given_up_and_the_dn_runs_the_agent() {
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    assert!(is_acw(&desk.request(acw_in_idle(2)).await.unwrap()), "ACW in idle");
    // More failures than AgentSup's restart window allows: the session is parked, with nothing
    // else arriving for the agent — its ACW must still end.
    let name = child_name(&DnName::new(AGENT01));
    for _ in 0..5 {
        crash_session(&server, AGENT01).await;
    }
    let dir = &server.h().ctx.directory;
    dir.agent_session(&DnName::new(AGENT01)).unwrap().cast(AgentSessionMsg::Crash).unwrap();
    let parked = || async { server.h().ctx.board.child(&name).is_none_or(|c| c.parked) };
    assert!(wait_until(STEP, parked).await, "parked");
    let ready = desk.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await;
    assert!(ready.is_some(), "the Dn gave the session up and ended the ACW itself");
    let v = view(&server, AGENT01).await;
    assert_eq!(v.agent_session, None, "the Dn runs the agent: {v:?}");
    assert!(wait_until(STEP, || async { server.h().ctx.board.child(&name).is_none() }).await, "discarded");
    // It answers the agent's requests, and the logout and a new login get a session again.
    let nr = desk.request(req(RequestKind::AgentSetNotReady, AGENT01)).await.unwrap();
    assert_eq!(nr.kind, EventKind::AgentNotReady, "{nr:?}");
    assert_eq!(desk.request(req(RequestKind::AgentLogout, AGENT01)).await.unwrap().kind, EventKind::AgentLogout);
    login(&mut desk, AGENT01, "1001").await;
    assert!(view(&server, AGENT01).await.agent_session.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_come_back_when_agent_sup_fails() {
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    assert!(is_acw(&desk.request(acw_in_idle(2)).await.unwrap()), "ACW in idle");
    // Killed (as a panic or an escalation would): its sessions die with it, without post_stop.
    let ctx = &server.h().ctx;
    let old = ctx.agent_sup().unwrap();
    old.get_cell().kill();
    assert!(wait_until(STEP, || async { ctx.agent_sup().is_some_and(|s| s.get_id() != old.get_id()) }).await);
    // The new AgentSup brings the session back from its snapshot; its timer ends the ACW.
    let ready = desk.wait_for(STEP, |e| e.kind == EventKind::AgentReady).await;
    assert!(ready.is_some(), "the ACW ends after an AgentSup failure");
    let v = view(&server, AGENT01).await;
    assert!(v.agent_session.as_ref().is_some_and(|s| s != "away"), "{v:?}");
    let running = ctx.board.children().into_iter().filter(|c| c.kind == "AgentSession").count();
    assert_eq!(running, 1, "one session on the board, not the dead one as well");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_from_another_logins_session_is_ignored() {
    use sfb_tserver::actors::agent_session::Mirror;
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();
    login(&mut desk, AGENT01, "1001").await;
    let before = view(&server, AGENT01).await;
    // A late step of a previous login's session: another epoch, a higher revision, no agent.
    let mut logged_out = before.machine.clone();
    let request = sfb_tserver::agent::ClientRequest {
        client: 0,
        reference_id: Some(1),
        this_queue: None,
        reasons: Default::default(),
        extensions: Default::default(),
        action: sfb_tserver::agent::RequestAction::Logout,
    };
    logged_out.step(0, sfb_tserver::agent::AgentInput::Request(request));
    assert!(logged_out.session().is_none());
    let stale = Mirror { machine: Some(logged_out), revision: u64::MAX / 2, epoch: 1, applied: 0 };
    let dn = server.h().ctx.directory.dn(&DnName::new(AGENT01)).unwrap();
    dn.cast(DnMsg::SessionStepped(Box::new(stale))).unwrap();
    // Still the current session's agent, and the session still answers.
    let q = desk.request(req(RequestKind::QueryAddress, AGENT01)).await.unwrap();
    assert_eq!(q.attrs.agent_status, Some(AgentStatus::Ready), "{q:?}");
    let nr = desk.request(req(RequestKind::AgentSetNotReady, AGENT01)).await.unwrap();
    assert_eq!(nr.kind, EventKind::AgentNotReady);
    let v = view(&server, AGENT01).await;
    assert_eq!(v.agent.map(|a| a.status), Some(AgentStatus::NotReady), "the mirror follows its own session");
}
