//! Connection-level behaviour over real sockets: handshake, unsupported requests, malformed and
//! oversized frames, slow clients. One misbehaving client never disturbs another.

use crate::util::*;
use sfb_tserver::client::Client;
use sfb_tserver::model::{AgentId, AgentWorkMode, KvList};
use sfb_tserver::tlib::{EventKind, FrameCodec, Message, Request, RequestKind, PROTOCOL_VERSION};
use std::sync::atomic::Ordering;
use std::time::Duration;

async fn raw(server: &TestServer) -> Client {
    let stream = sfb_tserver::transport::connect(&server.tlib(), None).await.unwrap();
    Client::over(stream, FrameCodec::default())
}

/// A second client that registers and queries: proof the server still serves others.
async fn still_serves(server: &TestServer) {
    let c = server.client().await;
    let ev = c.register(AGENT02).await.unwrap();
    assert_eq!(ev.kind, EventKind::Registered);
}

#[tokio::test]
async fn handshake_answers_server_connected_and_server_info() {
    let server = TestServer::start().await;
    let c = raw(&server).await;
    let mut open = Request::new(RequestKind::OpenServer);
    open.attrs.protocol_version = Some(PROTOCOL_VERSION);
    let ev = c.request(open).await.unwrap();
    assert_eq!(ev.kind, EventKind::ServerConnected);
    assert_eq!(ev.attrs.protocol_version, Some(1));
    assert_eq!(ev.attrs.server_start_time, Some(server.h().ctx.start_time));
    assert!(ev.attrs.event_sequence_number.is_some());
    let info = c.request(Request::new(RequestKind::QueryServer)).await.unwrap();
    assert_eq!(info.kind, EventKind::ServerInfo);
    assert!(info.attrs.server_version.unwrap().starts_with("sfb-tserver"));
    assert!(info.attrs.event_sequence_number > ev.attrs.event_sequence_number);
    // TCloseServer: EventServerDisconnected reaches the client, then the connection closes.
    let bye = c.request(Request::new(RequestKind::CloseServer)).await.unwrap();
    assert_eq!(bye.kind, EventKind::ServerDisconnected);
    assert!(wait_until(STEP, || async { c.is_closed() }).await);
    let m = &server.h().ctx.metrics;
    assert!(wait_until(STEP, || async { m.clients_connected.load(Ordering::Relaxed) == 0 }).await);
}

#[tokio::test]
async fn wrong_protocol_version_or_no_handshake_is_refused_and_closed() {
    let server = TestServer::start().await;
    let c = raw(&server).await;
    let mut open = Request::new(RequestKind::OpenServer);
    open.attrs.protocol_version = Some(99);
    let ev = c.request(open).await.unwrap();
    assert_eq!(ev.kind, EventKind::Error);
    assert_eq!(error_code(&ev), Some(55));
    assert!(wait_until(STEP, || async { c.is_closed() }).await, "connection closed after a refused handshake");

    let c = raw(&server).await;
    let ev = c.request(req(RequestKind::RegisterAddress, AGENT01)).await.unwrap();
    assert_eq!(error_code(&ev), Some(55), "a request before TOpenServer is refused");
    assert!(wait_until(STEP, || async { c.is_closed() }).await);
    still_serves(&server).await;
}

#[tokio::test]
async fn unsupported_request_gets_event_error_51_with_its_reference_id() {
    let server = TestServer::start().await;
    let c = server.client().await;
    c.register(AGENT01).await.unwrap();
    for kind in
        [RequestKind::AnswerCall, RequestKind::MergeCalls, RequestKind::GiveMusicTreatment, RequestKind::ReserveAgent]
    {
        let mut r = req(kind, AGENT01);
        r.attrs.reference_id = Some(4242);
        let ev = c.request(r).await.unwrap();
        assert_eq!(ev.kind, EventKind::Error, "{kind:?}");
        assert_eq!(error_code(&ev), Some(51), "{kind:?}");
        assert_eq!(ev.attrs.reference_id, Some(4242));
    }
    assert_eq!(server.h().ctx.metrics.errors_of(51), 4);
}

#[tokio::test]
async fn malformed_frames_close_only_that_client() {
    let server = TestServer::start().await;
    let watcher = server.client().await;
    watcher.register(AGENT01).await.unwrap();

    // Garbage: a plausible length followed by bytes that are no message.
    let bad = raw(&server).await;
    bad.write_raw(&[0, 0, 0, 5, 0xff, 0xfe, 0xfd, 0xfc, 0xfb]).await.unwrap();
    assert!(wait_until(STEP, || async { bad.is_closed() }).await, "garbage closes the connection");

    // Truncated: a header announcing more than is ever sent, then EOF from the client.
    let stream = sfb_tserver::transport::connect(&server.tlib(), None).await.unwrap();
    let trunc = Client::over(stream, FrameCodec::default());
    trunc.write_raw(&[0, 0, 0, 50, 1, 2, 3]).await.unwrap();
    drop(trunc);

    // Oversized: the header alone is refused (default limit 1 MiB), before any body arrives.
    let big = raw(&server).await;
    big.write_raw(&(2u32 * 1024 * 1024).to_be_bytes()).await.unwrap();
    assert!(wait_until(STEP, || async { big.is_closed() }).await, "oversized frame closes the connection");

    // A client sending an event instead of a request.
    let liar = server.client().await;
    liar.write(&Message::Event(sfb_tserver::tlib::Event::new(EventKind::Ringing))).await.unwrap();
    assert!(wait_until(STEP, || async { liar.is_closed() }).await);

    let m = &server.h().ctx.metrics;
    assert!(wait_until(STEP, || async { m.clients_disconnected_protocol.load(Ordering::Relaxed) >= 3 }).await);
    // The well-behaved client is untouched and still gets its DN's events.
    let mut login = req(RequestKind::AgentLogin, AGENT01);
    login.attrs.agent_id = Some(AgentId::new("1001"));
    let ev = watcher.request(login).await.unwrap();
    assert_eq!(ev.kind, EventKind::AgentLogin);
    still_serves(&server).await;
    assert!(!watcher.is_closed());
}

#[tokio::test]
async fn slow_client_is_disconnected_and_others_keep_their_events() {
    let server = TestServer::start_with(|c| c.server.client_queue_limit = 16).await;
    // A raw socket that opens a session, registers, and never reads a byte: its socket buffers
    // fill, then its bounded queue.
    let mut slow = tokio::net::TcpStream::connect(server.tlib()).await.unwrap();
    let codec = FrameCodec::default();
    let mut frames = bytes::BytesMut::new();
    let mut open = Request::new(RequestKind::OpenServer);
    open.attrs.protocol_version = Some(1);
    codec.encode(&Message::Request(open), &mut frames).unwrap();
    codec.encode(&Message::Request(req(RequestKind::RegisterAddress, AGENT01)), &mut frames).unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut slow, &frames).await.unwrap();
    let dn = sfb_tserver::model::DnName::new(AGENT01);
    let dir = &server.h().ctx.directory;
    assert!(wait_until(STEP, || async { dir.subscriber_count(&dn) == 1 }).await);
    let slow_stream_holder = slow;
    let fast_agent = server.client().await;
    let mut fast = server.client().await;
    fast_agent.register(AGENT01).await.unwrap();
    fast.register(AGENT01).await.unwrap();
    let mut login = req(RequestKind::AgentLogin, AGENT01);
    login.attrs.agent_id = Some(AgentId::new("1001"));
    fast_agent.request(login).await.unwrap();
    // Big NotReady events (64 KiB of reasons each) fill kernel buffers quickly.
    let filler = "x".repeat(64 * 1024);
    let rounds = 300;
    let mut seen: Vec<String> = Vec::new();
    let code = |e: &sfb_tserver::tlib::Event| {
        (e.kind == EventKind::AgentNotReady)
            .then(|| e.attrs.reasons.as_ref().and_then(|r| r.get_str("ReasonCode")).map(str::to_string))
            .flatten()
    };
    for i in 0..rounds {
        let mut r = req(RequestKind::AgentSetNotReady, AGENT01);
        r.attrs.agent_work_mode = Some(AgentWorkMode::AuxWork);
        r.attrs.reasons = Some(KvList::new().with("ReasonCode", format!("r{i}")).with("pad", filler.as_str()));
        fast_agent.send(r).await.unwrap();
        // Keep the fast reader draining as we go.
        while let Some(e) = fast.next_event_within(Duration::from_millis(0)).await {
            seen.extend(code(&e));
        }
    }
    let m = &server.h().ctx.metrics;
    assert!(
        wait_until(STEP, || async { m.clients_disconnected_slow.load(Ordering::Relaxed) == 1 }).await,
        "the slow client is disconnected"
    );
    // The fast client receives every NotReady, in order.
    while seen.len() < rounds {
        let Some(e) = fast.next_event_within(STEP).await else { break };
        seen.extend(code(&e));
    }
    let expected: Vec<String> = (0..rounds).map(|i| format!("r{i}")).collect();
    assert_eq!(seen, expected, "fast client got every event in order");
    assert!(!fast.is_closed());
    drop(slow_stream_holder);
}
