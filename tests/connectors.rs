//! Connectors and the simulated SfB behind real MLTP links: the control API, a pool of three
//! connectors with one killed under calls, graceful shutdown, and recovery of calls from HA data
//! after a connector restart.

use crate::util::*;
use sfb_tserver::actors::connector::{self, connector::ConnectorMsg, ConnectorOptions, ConnectorProcess};
use sfb_tserver::config::{LinkConfig, LinkProtocol, ServerConfig};
use sfb_tserver::model::{DnName, DnServiceState};
use sfb_tserver::tlib::{EventKind, RequestKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn start_pool(names: &[&str], dir: &std::path::Path, ports: Option<&[SocketAddr]>) -> ConnectorProcess {
    start_pool_with(sfb_tserver::config::embedded_default(), names, dir, ports).await
}

pub async fn start_pool_with(
    cfg: ServerConfig,
    names: &[&str],
    dir: &std::path::Path,
    ports: Option<&[SocketAddr]>,
) -> ConnectorProcess {
    start_pool_tls(cfg, names, dir, ports, None).await
}

pub async fn start_pool_tls(
    cfg: ServerConfig,
    names: &[&str],
    dir: &std::path::Path,
    ports: Option<&[SocketAddr]>,
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
) -> ConnectorProcess {
    let connectors = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), ports.map(|p| p[i].to_string()).unwrap_or_else(|| "127.0.0.1:0".into())))
        .collect();
    let opts = ConnectorOptions {
        connectors,
        control_listen: Some("127.0.0.1:0".into()),
        data_dir: dir.to_path_buf(),
        sim: sfb_tserver::sim::SimSection::from_value(&cfg.sim).unwrap(),
        tls,
    };
    connector::start(Arc::new(cfg), opts).await.expect("connectors start")
}

fn link_to(n: u32, name: &str, addr: SocketAddr) -> LinkConfig {
    LinkConfig {
        n,
        name: name.into(),
        hostname: addr.ip().to_string(),
        port: addr.port(),
        protocol: LinkProtocol::Tcp,
        pool_name: "default".into(),
        use_certificate: true,
    }
}

pub fn external(pool: &ConnectorProcess) -> impl Fn(&mut ServerConfig) + '_ {
    move |cfg: &mut ServerConfig| {
        cfg.server.embedded_connector = false;
        cfg.links = pool.connectors.iter().enumerate().map(|(i, (n, a))| link_to(i as u32 + 1, n, *a)).collect();
    }
}

fn registered_dns(server: &TestServer) -> usize {
    server.h().ctx.config.dns.values().filter(|d| d.register).count()
}

/// Every registered DN is served, spread evenly over the pool's links (rebalancing is over).
async fn all_served(server: &TestServer) -> bool {
    let ctx = &server.h().ctx;
    let links: Vec<u32> = ctx.config.links.iter().map(|l| l.n).collect();
    let total = registered_dns(server);
    wait_until(STEP, || async {
        let per_link = |n: u32| ctx.config.dns.keys().filter(|d| ctx.directory.serving_link(d) == Some(n)).count();
        ctx.directory.serving_count() == total && links.iter().all(|n| per_link(*n) >= total / links.len())
    })
    .await
}

pub async fn control(pool: &ConnectorProcess, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, text) = http_body(&pool.control_addr.unwrap().to_string(), method, path, None, body).await;
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// Starts a call from an external number to `agent` and has the agent answer; returns its id.
async fn answered_call(pool: &ConnectorProcess, from: &str, agent: &str) -> u64 {
    let (status, v) =
        control(pool, "POST", "/sim/calls", &format!(r#"{{"from":"{from}","to":"{agent}","media":"voice"}}"#)).await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_u64().unwrap();
    let (status, v) =
        control(pool, "POST", &format!("/sim/users/{agent}/answer"), &format!(r#"{{"call":{id}}}"#)).await;
    assert_eq!(status, 200, "{v}");
    id
}

async fn has_connected_call(pool: &ConnectorProcess, user: &str, id: u64) -> bool {
    let (status, v) = control(pool, "GET", &format!("/sim/users/{user}"), "").await;
    status == 200
        && v["calls"].as_array().is_some_and(|calls| {
            calls.iter().any(|c| {
                c["id"].as_u64() == Some(id) && c["state"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("connected"))
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_answers_4xx_never_500() {
    let server = TestServer::start().await; // embedded: the control API is under the admin endpoint
    let (status, v) =
        server.admin_json("POST", "/sim/calls", r#"{"from":"tel:+14155550100","to":"sip:agent01@skype.lab"}"#).await;
    assert_eq!(status, 201, "{v}");
    assert!(v["id"].as_u64().is_some() && v["conversation_id"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    let (status, v) = server.admin_json("GET", "/sim/users/sip:agent01@skype.lab", "").await;
    assert_eq!(status, 200, "{v}");
    assert!(v["calls"].as_array().is_some_and(|c| !c.is_empty()), "the call is offered to the agent: {v}");
    assert_eq!(server.admin_json("GET", "/sim/users/sip:nobody@skype.lab", "").await.0, 404);
    assert_eq!(server.admin_json("POST", "/sim/calls", "{not json").await.0, 400);
    assert_eq!(
        server
            .admin_json("POST", "/sim/calls", r#"{"from":"tel:+1","to":"sip:agent01@skype.lab","media":"fax"}"#)
            .await
            .0,
        422
    );
    let (status, _) = server.admin_json("POST", "/sim/users/sip:agent02@skype.lab/answer", "").await;
    assert!((400..500).contains(&status), "answering with no call offered is a 4xx, got {status}");
    let (status, _) =
        server.admin_json("PUT", "/sim/users/sip:agent02@skype.lab/behavior", r#"{"answer":"sometimes"}"#).await;
    assert_eq!(status, 422);
    let (status, _) =
        server.admin_json("PUT", "/sim/users/sip:agent02@skype.lab/presence", r#"{"availability":6500}"#).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_rehomes_dns_within_two_seconds_when_a_connector_dies() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool(&["c1", "c2", "c3"], dir.path(), None).await;
    let server = TestServer::start_with(external(&pool)).await;
    assert!(all_served(&server).await, "every DN registered through the pool");
    let dir_ = &server.h().ctx.directory;
    let on = |n: u32| -> Vec<DnName> {
        server.h().ctx.config.dns.keys().filter(|d| dir_.serving_link(d) == Some(n)).cloned().collect()
    };
    let (l1, l2, l3) = (on(1), on(2), on(3));
    let total = registered_dns(&server);
    for l in [&l1, &l2, &l3] {
        assert!(
            l.len() >= total / 3 && l.len() <= total / 3 + 1,
            "DNs spread evenly: {} {} {}",
            l1.len(),
            l2.len(),
            l3.len()
        );
    }
    // Calls on agents served by each connector.
    let agent_on = |dns: &[DnName]| dns.iter().find(|d| d.as_str().starts_with("sip:agent")).unwrap().to_string();
    let (a1, a2, a3) = (agent_on(&l1), agent_on(&l2), agent_on(&l3));
    let c1 = answered_call(&pool, "tel:+14155550101", &a1).await;
    let _c2 = answered_call(&pool, "tel:+14155550102", &a2).await;
    let c3 = answered_call(&pool, "tel:+14155550103", &a3).await;
    // A desktop on a DN of the dying connector must see no out-of-service blip.
    let mut desktop = server.client().await;
    assert_eq!(desktop.register(l2[0].as_str()).await.unwrap().kind, EventKind::Registered);

    let victim = pool.control.connectors.connectors.read().get("c2").cloned().unwrap();
    let killed = Instant::now();
    victim.kill();
    let rehomed = wait_until(Duration::from_secs(2), || async {
        l2.iter().all(|d| matches!(dir_.serving_link(d), Some(1) | Some(3)))
    })
    .await;
    let took = killed.elapsed();
    println!("DNs of the killed connector re-homed in {took:?}");
    assert!(rehomed, "re-homed within 2 s (took {took:?})");
    assert!(has_connected_call(&pool, &a1, c1).await, "call on connector c1 untouched");
    assert!(has_connected_call(&pool, &a3, c3).await, "call on connector c3 untouched");
    let ev = desktop.next_event_within(Duration::from_millis(300)).await;
    assert!(
        ev.as_ref().is_none_or(|e| e.kind != EventKind::DNOutOfService),
        "no EventDNOutOfService while links remain: {ev:?}"
    );
    // The re-homed DN works: requests reach it.
    let r = desktop.request(req(RequestKind::QueryAddress, l2[0].as_str())).await.unwrap();
    assert_eq!(r.attrs.service_state, Some(DnServiceState::InService));
    drop(server);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_connector_lost_takes_dns_out_of_service_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool(&["solo"], dir.path(), None).await;
    let addr = pool.connectors[0].1;
    let server = TestServer::start_with(external(&pool)).await;
    assert!(all_served(&server).await);
    let mut c = server.client().await;
    c.register(AGENT01).await.unwrap();
    pool.shutdown().await;
    let ev = c.wait_for(STEP, |e| e.kind == EventKind::DNOutOfService).await.expect("EventDNOutOfService");
    assert!(ev.attrs.extensions.as_ref().and_then(|x| x.get_str("cause")).is_some());
    let dir2 = tempfile::tempdir().unwrap();
    let pool = start_pool(&["solo"], dir2.path(), Some(&[addr])).await;
    assert!(
        c.wait_for(STEP, |e| e.kind == EventKind::DNBackInService).await.is_some(),
        "EventDNBackInService when a link returns"
    );
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_moves_dns_keeps_calls_and_ends_with_the_last_call() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool(&["g1", "g2"], dir.path(), None).await;
    let server = TestServer::start_with(external(&pool)).await;
    assert!(all_served(&server).await);
    let dir_ = &server.h().ctx.directory;
    let on1: Vec<DnName> =
        server.h().ctx.config.dns.keys().filter(|d| dir_.serving_link(d) == Some(1)).cloned().collect();
    let agent = on1.iter().find(|d| d.as_str().starts_with("sip:agent")).unwrap().to_string();
    // The T-Server counts the DN served once g1 acknowledges it; if it was moved from g2 at
    // start-up, g2's late registration or pending unregistration may still route a new call there.
    let only_g1 = || async { pool.sim.shared.endpoint_owners(&agent) == ["g1"] };
    assert!(wait_until(STEP, only_g1).await, "only g1 has {agent}: {:?}", pool.sim.shared.endpoint_owners(&agent));
    let call = answered_call(&pool, "tel:+14155550199", &agent).await;
    let g1 = pool.control.connectors.connectors.read().get("g1").cloned().unwrap();
    assert!(
        wait_until(STEP, || async {
            ractor::call_t!(g1, ConnectorMsg::GetView, 1000).is_ok_and(|v| v.calls.contains(&call))
        })
        .await,
        "connector g1 owns the call (owner {:?}, agent {agent} on link {:?})",
        pool.sim.shared.call_owner(sfb_tserver::sim::CallId(call)),
        dir_.serving_link(&DnName::new(&agent))
    );

    let (status, v) = control(&pool, "POST", "/connectors/g1/shutdown", r#"{"graceful":true}"#).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        wait_until(Duration::from_secs(2), || async { on1.iter().all(|d| dir_.serving_link(d) == Some(2)) }).await,
        "DNs remapped at once"
    );
    assert!(has_connected_call(&pool, &agent, call).await, "the suspending connector keeps its call");
    assert_eq!(g1.get_status(), ractor::ActorStatus::Running, "still running while its call lasts");
    let (status, _) =
        control(&pool, "POST", &format!("/sim/users/{agent}/hangup"), &format!(r#"{{"call":{call}}}"#)).await;
    assert_eq!(status, 200);
    assert!(g1.wait(Some(STEP)).await.is_ok(), "the connector stops when its last call ends");
    drop(server);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_restart_recovers_its_calls_from_ha_data() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool(&["ha1"], dir.path(), None).await;
    let addr = pool.connectors[0].1;
    let server = TestServer::start_with(external(&pool)).await;
    assert!(all_served(&server).await);
    let av = answered_call(&pool, "tel:+14155550150", AGENT01).await;
    let (status, v) = control(
        &pool,
        "POST",
        "/sim/calls",
        r#"{"from":"tel:+14155550151","to":"sip:agent02@skype.lab","media":"im","text":"hello"}"#,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let im = v["id"].as_u64().unwrap();
    control(&pool, "POST", &format!("/sim/users/{AGENT02}/answer"), &format!(r#"{{"call":{im}}}"#)).await;
    assert!(has_connected_call(&pool, AGENT01, av).await);
    // Give the connector a moment to persist its HA data, observed through its view.
    let c = pool.control.connectors.connectors.read().get("ha1").cloned().unwrap();
    assert!(
        wait_until(STEP, || async {
            ractor::call_t!(c, ConnectorMsg::GetView, 1000)
                .is_ok_and(|v| v.calls.contains(&av) && v.calls.contains(&im))
        })
        .await
    );
    pool.shutdown().await; // the whole connector process goes away (and its simulated SfB with it)

    let pool = start_pool(&["ha1"], dir.path(), Some(&[addr])).await;
    assert!(
        wait_until(STEP * 2, || async { has_connected_call(&pool, AGENT01, av).await }).await,
        "the AV call is recovered from HA data after the restart"
    );
    assert!(has_connected_call(&pool, AGENT02, im).await, "the IM call is recovered too (beyond the guide)");
    assert!(all_served(&server).await, "the T-Server re-registers its DNs on the restarted connector");
    drop(server);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tserver_gives_ha_data_back_to_a_connector_that_lost_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool(&["ha2"], dir.path(), None).await;
    let addr = pool.connectors[0].1;
    let server = TestServer::start_with(external(&pool)).await;
    assert!(all_served(&server).await);
    let av = answered_call(&pool, "tel:+14155550160", AGENT03).await;
    let snapshots = &server.h().ctx.snapshots;
    assert!(
        wait_until(STEP, || async {
            // Mirrored after the answer: the record held shows the call connected.
            sfb_tserver::store::ha::records(snapshots, "ha2").iter().any(|r| r.contains("Connected"))
        })
        .await,
        "the T-Server mirrors the connector's HA data (HA_DATA)"
    );
    pool.shutdown().await;

    // A new connector on a new host: nothing on its disk, only what the T-Server holds.
    let fresh = tempfile::tempdir().unwrap();
    let pool = start_pool(&["ha2"], fresh.path(), Some(&[addr])).await;
    // The T-Server reconnects with backoff (up to 5 s between attempts), then restores.
    let restored = wait_until(STEP * 2, || async { has_connected_call(&pool, AGENT03, av).await }).await;
    if !restored {
        let link = sfb_tserver::actors::connector_link::link_ref(&server.h().ctx, 1).unwrap();
        let view = ractor::call_t!(link, sfb_tserver::actors::connector_link::LinkMsg::GetView, 1000);
        let (_, user) = control(&pool, "GET", &format!("/sim/users/{AGENT03}"), "").await;
        panic!(
            "the call is not restored from the T-Server's HA_RESTORE: link {view:?}; records {}; sim {user}",
            snapshots.with_prefix(&format!("ha:ha2:{av}:")).len()
        );
    }
    let (status, _) =
        control(&pool, "POST", &format!("/sim/users/{AGENT03}/hangup"), &format!(r#"{{"call":{av}}}"#)).await;
    assert_eq!(status, 200);
    assert!(
        wait_until(STEP, || async { snapshots.with_prefix(&format!("ha:ha2:{av}:")).is_empty() }).await,
        "the record is deleted when the call ends"
    );
    drop(server);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_run_over_tls_through_the_same_transport_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let cfg = sfb_tserver::config::embedded_default();
    let pool = start_pool_tls(cfg, &["t1"], dir.path(), None, Some((cert.clone(), key))).await;
    let addr = pool.connectors[0].1;
    let server = TestServer::start_with(move |c| {
        c.server.embedded_connector = false;
        c.server.link_ca = Some(cert);
        let mut link = link_to(1, "t1", addr);
        link.hostname = "localhost".into(); // the name the certificate is issued for
        link.protocol = LinkProtocol::Tls;
        c.links = vec![link];
    })
    .await;
    assert!(all_served(&server).await, "DNs registered over the TLS link");
    // A plain-TCP peer gets no MLTP from the TLS port (the handshake fails and the link closes).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"PING 1 MLTP/1.0\r\ncontent-length: 0\r\n\r\n").await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), plain.read_to_end(&mut reply)).await;
    assert!(!String::from_utf8_lossy(&reply).contains("RESPONSE"), "no MLTP answer without TLS");
    drop(server);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_link_registers_its_dns_again() {
    let server = TestServer::start().await; // embedded connector on link-1
    assert!(all_served(&server).await);
    let (status, body) = server.admin("POST", "/restart/link-1").await;
    assert_eq!(status, 200, "{body}");
    let link = sfb_tserver::actors::connector_link::link_ref(&server.h().ctx, 1).unwrap();
    let registered = || async {
        ractor::call_t!(link, sfb_tserver::actors::connector_link::LinkMsg::GetView, 1000)
            .is_ok_and(|v| v.registered.len() == registered_dns(&server))
    };
    assert!(wait_until(STEP, registered).await, "the new link incarnation registered every DN");
    assert!(all_served(&server).await);
    let c = server.client().await;
    let ev = c.register(AGENT01).await.unwrap();
    assert_eq!(ev.attrs.service_state, Some(DnServiceState::InService));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_ended_while_the_tserver_was_down_is_not_resurrected() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool(&["hz"], dir.path(), None).await;
    let server = TestServer::start_with(external(&pool)).await;
    assert!(all_served(&server).await);
    let customer = "tel:+14155550170";
    let call = answered_call(&pool, customer, AGENT04).await;
    let snapshots = &server.h().ctx.snapshots;
    assert!(wait_until(STEP, || async { !sfb_tserver::store::ha::records(snapshots, "hz").is_empty() }).await);
    let ts_dir = server.shutdown().await;
    // The customer hangs up while the T-Server is away.
    let (status, _) =
        control(&pool, "POST", &format!("/sim/users/{customer}/hangup"), &format!(r#"{{"call":{call}}}"#)).await;
    assert_eq!(status, 200);
    let server = TestServer::start_in(ts_dir, external(&pool)).await;
    assert!(all_served(&server).await);
    let snapshots = &server.h().ctx.snapshots;
    assert!(
        wait_until(STEP, || async { sfb_tserver::store::ha::records(snapshots, "hz").is_empty() }).await,
        "the T-Server drops its stale copy when the connector kept its own HA data"
    );
    let (_, v) = control(&pool, "GET", &format!("/sim/users/{AGENT04}"), "").await;
    assert!(v["calls"].as_array().is_some_and(|c| c.is_empty()), "the ended call stays ended: {v}");
    drop(server);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drawn_connector_tree_matches_the_spawned_tree() {
    let dir = tempfile::tempdir().unwrap();
    let pool = start_pool(&["d1"], dir.path(), None).await;
    let mut peer = crate::util::mltp_peer::MltpPeer::connect(&pool.connectors[0].1.to_string()).await;
    let hello = sfb_tserver::mltp::Mltp::Hello { version: "1.0".into(), tserver: "t".into(), pool: "default".into() };
    assert!(peer.request(hello).await.is_ok());
    let board = pool.board.children();
    let matches = |pattern: &str, name: &str| match pattern.split_once('<') {
        Some((prefix, _)) => name.starts_with(prefix),
        None => pattern == name,
    };
    let drawn = sfb_tserver::actors::connector::DRAWN_TREE;
    for c in &board {
        assert!(
            drawn.iter().any(|(p, kind, sup)| matches(p, &c.name) && *kind == c.kind && matches(sup, &c.supervisor)),
            "{} ({} under {}) is spawned but not drawn",
            c.name,
            c.kind,
            c.supervisor
        );
    }
    for (p, kind, sup) in drawn {
        assert!(
            board.iter().any(|c| matches(p, &c.name) && c.kind == *kind && matches(sup, &c.supervisor)),
            "{p} is drawn but not spawned"
        );
    }
    pool.shutdown().await;
}

/// A connector that answers everything but the first REGISTER_DN of `silent` (a busy connector
/// at start-up): the T-Server asks again after the request timeout and the DN comes into service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_register_dn_is_asked_again() {
    use sfb_tserver::mltp::{link_codec, Mltp, Response};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = DnName::new(AGENT04);
    let fake = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let codec = link_codec();
        let mut codec_in = link_codec();
        let (mut buf, mut dropped) = (bytes::BytesMut::new(), false);
        loop {
            while let Ok(Some(msg)) = codec_in.decode(&mut buf) {
                let reply = match Mltp::from_message(&msg) {
                    Ok(Mltp::Hello { .. }) => Response::ok()
                        .with("connector", "fake".to_string())
                        .with("state", "active".to_string())
                        .with("version", "1.0".to_string())
                        .with("ha-data", "none".to_string()),
                    Ok(Mltp::RegisterDn { dn, .. }) if dn == silent && !dropped => {
                        dropped = true;
                        continue;
                    }
                    Ok(Mltp::RegisterDn { .. }) => Response::ok().with("presence-type", "local".to_string()),
                    _ => Response::ok(),
                };
                let mut out = bytes::BytesMut::new();
                codec.encode(&Mltp::Response(reply).to_message(msg.id), &mut out).unwrap();
                if sock.write_all(&out).await.is_err() {
                    return;
                }
            }
            let mut chunk = [0u8; 8192];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    });
    let server = TestServer::start_with(move |cfg| {
        cfg.server.embedded_connector = false;
        cfg.links = vec![link_to(1, "fake", addr)];
    })
    .await;
    let ctx = &server.h().ctx;
    let served = || async { ctx.directory.serving_link(&DnName::new(AGENT04)).is_some() };
    assert!(wait_until(Duration::from_secs(15), served).await, "asked again and served");
    fake.abort();
}
