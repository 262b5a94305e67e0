//! Supervision over real actors: a DN that panics and one restarted through the admin endpoint
//! both come back with their state, neighbours keep serving, the board counts restarts, and the
//! drawn tree matches the tree actually spawned.

use crate::util::*;
use sfb_tserver::actors::board::ChildStatus;
use sfb_tserver::actors::dn::DnMsg;
use sfb_tserver::actors::DRAWN_TREE;
use sfb_tserver::model::{AgentId, AgentStatus, AgentWorkMode, DnName};
use sfb_tserver::tlib::{EventKind, RequestKind};

async fn login_ready(c: &sfb_tserver::client::Client, dn: &str, agent: &str) {
    c.register(dn).await.unwrap();
    let mut login = req(RequestKind::AgentLogin, dn);
    login.attrs.agent_id = Some(AgentId::new(agent));
    login.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    assert_eq!(c.request(login).await.unwrap().kind, EventKind::AgentLogin);
}

fn restarts(server: &TestServer, name: &str) -> u64 {
    server.h().ctx.board.child(name).map_or(0, |c| c.restarts)
}

#[tokio::test]
async fn panicking_dn_restarts_with_its_state_and_neighbours_keep_serving() {
    let server = TestServer::start().await;
    let agent = server.client().await;
    login_ready(&agent, AGENT01, "1001").await;
    let neighbour = server.client().await;
    neighbour.register(AGENT02).await.unwrap();

    let name = format!("dn:{AGENT01}");
    let old = server.h().ctx.directory.dn(&DnName::new(AGENT01)).unwrap();
    old.cast(DnMsg::Crash).unwrap();
    // The neighbour is served while agent01 restarts.
    let mut l2 = req(RequestKind::AgentLogin, AGENT02);
    l2.attrs.agent_id = Some(AgentId::new("1002"));
    assert_eq!(neighbour.request(l2).await.unwrap().kind, EventKind::AgentLogin);

    assert!(wait_until(STEP, || async { restarts(&server, &name) == 1 }).await, "restart counted on the board");
    // The restarted DN reports the agent still logged in and Ready to a fresh registration.
    let fresh = server.client().await;
    let ev = fresh.register(AGENT01).await.unwrap();
    assert_eq!(ev.attrs.agent_status, Some(AgentStatus::Ready));
    assert_eq!(ev.attrs.agent_id, Some(AgentId::new("1001")));
    // The old registration survived too: the agent's client keeps receiving its DN's events.
    let ev = agent.request(req(RequestKind::AgentSetNotReady, AGENT01)).await.unwrap();
    assert_eq!(ev.kind, EventKind::AgentNotReady);
    let new = server.h().ctx.directory.dn(&DnName::new(AGENT01)).unwrap();
    assert_ne!(old.get_id(), new.get_id(), "a new incarnation serves the DN");
    let (status, body) = server.admin("GET", "/tree").await;
    assert_eq!(status, 200);
    assert!(body.contains(&format!("\"name\":\"{name}\"")), "{body}");
}

#[tokio::test]
async fn operator_restart_in_place_keeps_state_and_counts() {
    let server = TestServer::start().await;
    let agent = server.client().await;
    login_ready(&agent, AGENT01, "1001").await;
    let name = format!("dn:{AGENT01}");
    let (status, body) = server.admin("POST", &format!("/restart/{name}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(restarts(&server, &name), 1);
    let (status, body) = server.admin("GET", &format!("/tree/{name}")).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["actor"]["restarts"], 1);
    assert_eq!(v["view"]["agent"]["status"], "Ready", "{body}");
    // The snapshot holds the whole agent machine (DnSnapshot V2).
    assert_eq!(v["snapshot"]["version"], "V2", "{body}");
    assert_eq!(v["snapshot"]["machine"]["session"]["state"]["Ready"]["mode"], "ManualIn", "{body}");

    // A whole subtree: every DN comes back with its state.
    let (status, body) = server.admin("POST", "/restart/dn-sup").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(restarts(&server, "dn-sup"), 1);
    let fresh = server.client().await;
    let ev = fresh.register(AGENT01).await.unwrap();
    assert_eq!(ev.attrs.agent_status, Some(AgentStatus::Ready));
    assert_eq!(server.admin("POST", "/restart/no-such-actor").await.0, 404);
}

#[tokio::test]
async fn a_dn_that_keeps_failing_is_parked_alone() {
    let server = TestServer::start().await;
    let name = format!("dn:{AGENT01}");
    let dn = DnName::new(AGENT01);
    for i in 0..6 {
        let ctx = &server.h().ctx;
        assert!(
            wait_until(STEP, || async {
                ctx.directory.dn(&dn).is_some_and(|a| a.get_status() == ractor::ActorStatus::Running)
            })
            .await
        );
        let before = restarts(&server, &name);
        ctx.directory.dn(&dn).unwrap().cast(DnMsg::Crash).unwrap();
        if i < 5 {
            assert!(wait_until(STEP, || async { restarts(&server, &name) == before + 1 }).await);
        }
    }
    assert!(wait_until(STEP, || async { server.h().ctx.board.child(&name).is_some_and(|c| c.parked) }).await);
    // Siblings are unaffected.
    let c = server.client().await;
    assert_eq!(c.register(AGENT02).await.unwrap().kind, EventKind::Registered);
    assert_eq!(server.h().ctx.board.child("dn-sup").unwrap().status, ChildStatus::Running);
    // An operator restart un-parks it.
    assert_eq!(server.admin("POST", &format!("/restart/{name}")).await.0, 200);
    assert_eq!(server.h().ctx.board.child(&name).unwrap().status, ChildStatus::Running);
}

#[tokio::test]
async fn drawn_tree_matches_the_spawned_tree() {
    let server = TestServer::start_with(|c| c.router.enabled = true).await;
    // A ClientSession, a Call, a Subscription and an AgentSession must exist for their rows to be checked.
    let c = server.client().await;
    server.admin_json("POST", "/sim/calls", r#"{"from":"tel:+14155550177","to":"sip:agent01@skype.lab"}"#).await;
    c.register("sip:supervisor1@skype.lab").await.unwrap();
    let mut monitor = req(sfb_tserver::tlib::RequestKind::MonitorNextCall, "sip:supervisor1@skype.lab");
    monitor.attrs.other_dn = Some(sfb_tserver::model::DnName::new("sip:agent02@skype.lab"));
    assert_eq!(c.request(monitor).await.unwrap().kind, sfb_tserver::tlib::EventKind::MonitoringNextCall);
    // A logged-in agent has its AgentSession.
    c.register("sip:agent03@skype.lab").await.unwrap();
    let mut login = req(sfb_tserver::tlib::RequestKind::AgentLogin, "sip:agent03@skype.lab");
    login.attrs.agent_id = Some(sfb_tserver::model::AgentId::new("1003"));
    assert_eq!(c.request(login).await.unwrap().kind, sfb_tserver::tlib::EventKind::AgentLogin);
    let ctx = &server.h().ctx;
    let spawned = |kind: &'static str| move || async move { ctx.board.children().iter().any(|c| c.kind == kind) };
    assert!(wait_until(STEP, spawned("ClientSession")).await);
    assert!(wait_until(STEP, spawned("Call")).await);
    assert!(wait_until(STEP, spawned("Subscription")).await);
    assert!(wait_until(STEP, spawned("AgentSession")).await);
    // The reference router's own session is one of the clients: let it settle before counting.
    assert!(wait_until(STEP, || async { ctx.router_status.is_routing() }).await, "the router connects");
    let board = ctx.board.children();
    let pattern_matches = |pattern: &str, name: &str| match pattern.split_once('<') {
        Some((prefix, _)) => name.starts_with(prefix),
        None => pattern == name,
    };
    for c in &board {
        assert!(
            DRAWN_TREE
                .iter()
                .any(|(p, kind, sup)| pattern_matches(p, &c.name) && *kind == c.kind && *sup == c.supervisor),
            "{} ({} under {}) is spawned but not drawn",
            c.name,
            c.kind,
            c.supervisor
        );
    }
    for (p, kind, sup) in DRAWN_TREE {
        assert!(
            board.iter().any(|c| pattern_matches(p, &c.name) && c.kind == *kind && c.supervisor == *sup),
            "{p} is drawn but not spawned"
        );
    }
    assert_eq!(board.iter().filter(|c| c.kind == "Dn").count(), ctx.config.dns.len());
    // The board agrees with ractor's own view of the tree.
    fn count(cell: &ractor::ActorCell) -> usize {
        cell.get_children().iter().map(|c| 1 + count(c)).sum()
    }
    assert_eq!(count(&server.h().root.get_cell()), board.len());
}
