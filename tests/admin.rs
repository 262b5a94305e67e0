//! The admin endpoint: health, readiness, tree, metrics, bearer token.

use crate::util::*;
use sfb_tserver::tlib::RequestKind;
use std::time::Duration;

#[tokio::test]
async fn health_ready_tree_and_metrics() {
    let server = TestServer::start().await;
    assert_eq!(server.admin("GET", "/health").await.0, 200);
    assert_eq!(server.admin("GET", "/ready").await.0, 200);
    let c = server.client().await;
    c.register(AGENT01).await.unwrap();
    c.request(req(RequestKind::AnswerCall, AGENT01)).await.unwrap();

    let (status, body) = server.admin("GET", "/tree").await;
    assert_eq!(status, 200);
    let tree: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(tree["name"], "root");
    let names: Vec<&str> = tree["children"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "admin-http",
            "agent-sup",
            "call-sup",
            "client-listener",
            "dn-sup",
            "link-sup",
            "monitor-sup",
            "persister",
            "registry"
        ]
    );
    let dn_sup = tree["children"].as_array().unwrap().iter().find(|c| c["name"] == "dn-sup").unwrap();
    assert_eq!(dn_sup["children"].as_array().unwrap().len(), server.h().ctx.config.dns.len());
    assert_eq!(dn_sup["children"][0]["restarts"], 0);
    assert_eq!(dn_sup["children"][0]["parked"], false);

    let (status, text) = server.admin("GET", "/metrics").await;
    assert_eq!(status, 200);
    let dns = server.h().ctx.config.dns.len();
    assert!(text.contains(&format!("tserver_actors{{kind=\"Dn\"}} {dns}")), "{text}");
    assert!(text.contains("tserver_clients 1"), "{text}");
    assert!(text.contains("tserver_requests_total{request=\"RegisterAddress\"} 1"), "{text}");
    assert!(text.contains("tserver_errors_total{code=\"51\"} 1"), "{text}");
    assert!(text.contains("tserver_events_sent_total"), "{text}");
    // The runtime's own figures, one line per worker for the per-worker ones.
    let alive: u64 = text.lines().find_map(|l| l.strip_prefix("tokio_alive_tasks ")).unwrap().parse().unwrap();
    assert!(alive > dns as u64, "every Dn actor is a task: {alive}");
    assert!(text.contains("tokio_worker_busy_seconds_total{worker=\"0\"}"), "{text}");
    assert!(text.contains("tokio_worker_parks_total{worker=\"0\"}"), "{text}");

    // The three requests (the client's TOpenServer, TRegisterAddress, and TAnswerCall answered by
    // EventError) were timed by the server, read -> answer written: recorded just after the
    // write, so possibly a moment after the client read the answer.
    let answered = || async {
        let (status, body) = server.admin("GET", "/latency").await;
        let record: sfb_tserver::latency::LatencyRecord = serde_json::from_str(&body).unwrap();
        status == 200 && record.micros.iter().map(|(_, n)| n).sum::<u64>() == 3
    };
    assert!(wait_until(Duration::from_secs(5), answered).await, "{:?}", server.admin("GET", "/latency").await);
    let (_, text) = server.admin("GET", "/metrics").await;
    assert!(text.contains("# TYPE tserver_request_latency_seconds histogram"), "{text}");
    assert!(text.contains("tserver_request_latency_seconds_count 3"), "{text}");

    let dir = server.shutdown().await;
    drop(dir);
}

#[tokio::test]
async fn bearer_token_protects_everything_but_health_and_ready() {
    let server = TestServer::start_with(|c| c.server.admin_token = Some("s3cret".into())).await;
    let addr = server.h().admin_addr.to_string();
    assert_eq!(http(&addr, "GET", "/health", None).await.0, 200);
    assert_eq!(http(&addr, "GET", "/ready", None).await.0, 200);
    assert_eq!(http(&addr, "GET", "/tree", None).await.0, 401);
    assert_eq!(http(&addr, "GET", "/metrics", Some("wrong")).await.0, 401);
    assert_eq!(http(&addr, "POST", "/restart/registry", None).await.0, 401);
    assert_eq!(http(&addr, "GET", "/tree", Some("s3cret")).await.0, 200);
}
