//! A T-Library connection's I/O, run for its ClientSession: the TLS handshake (when configured),
//! then a reader that decodes frames and casts each request to the session (or, for most call
//! requests, straight to CallSup: `client_lane`), and a writer that
//! drains the client's bounded outbound queue in bursts (one write and one flush per burst, not
//! per event). Either side ending, or the handle marked for disconnection, ends both. The two
//! halves time each request between them (`crate::latency`): read -> its answer written.

use crate::actors::client_lane::Lane;
use crate::actors::client_session::SessionMsg;
use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, ClientQueue, CloseReason, SharedEvent};
use crate::actors::task::AbortOnDrop;
use crate::latency::RequestClock;
use crate::tlib::{FrameCodec, Message};
use bytes::BytesMut;
use ractor::ActorRef;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a connecting client has to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many queued events go into one socket write.
const WRITE_BURST: usize = 256;
/// The reader's initial buffer: a request is a few hundred bytes, and the buffer grows for a
/// larger one. Every connection holds it while it waits for its next request.
const READ_BUFFER: usize = 512;
/// Each burst's buffer to begin with; it grows to the burst. It lives for one write only: kept
/// between bursts, an idle desktop held its largest burst (4 KiB each, 39 MiB at 10,000 agents,
/// for a malloc and a free per burst beside a write system call).
const WRITE_BUFFER: usize = 1024;

/// Drains the outbound queue in bursts: one buffer, one write, one flush per burst. When the
/// connection is being closed it writes what is already queued and returns.
async fn write_loop(
    mut wr: tokio::io::WriteHalf<crate::transport::Stream>,
    mut rx: tokio::sync::mpsc::Receiver<Arc<SharedEvent>>,
    mut kill: tokio::sync::watch::Receiver<bool>,
    codec: FrameCodec,
    clock: Arc<RequestClock>,
    ctx: Arc<ServerContext>,
) {
    // The ReferenceIDs this burst carries, timed once it is written.
    let mut answered: Vec<u32> = Vec::new();
    // EventSequenceNumber: contiguous per connection, 1 for the first event.
    let mut seq = 0u64;
    loop {
        let first = tokio::select! {
            biased;
            ev = rx.recv() => ev,
            _ = kill.wait_for(|k| *k) => None,
        };
        let mut out = Vec::with_capacity(WRITE_BUFFER);
        answered.clear();
        let mut next = first;
        let mut n = 0;
        while let Some(ev) = next {
            if let Some(frame) = ev.frame(codec.max_frame()) {
                seq += 1;
                frame.write(seq, &mut out);
                answered.extend(ev.event.attrs.reference_id);
            }
            n += 1;
            next = if n < WRITE_BURST || *kill.borrow() { rx.try_recv().ok() } else { None };
        }
        if !out.is_empty() && (wr.write_all(&out).await.is_err() || wr.flush().await.is_err()) {
            return;
        }
        let written = Instant::now();
        for read_at in answered.iter().filter_map(|r| clock.answered(*r, written)) {
            ctx.metrics.request_latency.record(written - read_at);
        }
        if *kill.borrow() {
            let _ = wr.shutdown().await;
            return;
        }
    }
}

/// The connection's I/O: TLS handshake (when configured), then a reader and a writer running
/// until either side ends or the handle is marked for disconnection.
pub(super) async fn run_io(
    ctx: Arc<ServerContext>,
    tcp: TcpStream,
    queue: ClientQueue,
    handle: ClientHandle,
    lane: Arc<Lane>,
    session: ActorRef<SessionMsg>,
) {
    let ClientQueue { rx, mut kill } = queue;
    // A peer that never finishes its TLS handshake must not hold a session forever.
    let accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, ctx.tlib_acceptor.accept(tcp))
        .await
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")));
    let stream = match accepted {
        Ok(s) => s,
        Err(e) => {
            handle.disconnect(CloseReason::Protocol(format!("TLS handshake failed: {e}")));
            let _ = session.cast(SessionMsg::Closed);
            return;
        }
    };
    let codec = FrameCodec::new(ctx.config.server.max_frame_size);
    let (mut rd, wr) = tokio::io::split(stream);
    let clock = Arc::new(RequestClock::default());
    let reader = {
        let (handle, session, clock, ctx) = (handle.clone(), session.clone(), clock.clone(), ctx.clone());
        async move {
            // 8 KiB each was 80 MB at 10,000 agents, 2 KiB 19 MiB (see READ_BUFFER).
            let mut buf = BytesMut::with_capacity(READ_BUFFER);
            let mut read_at = Instant::now();
            loop {
                loop {
                    match codec.decode(&mut buf) {
                        Ok(Some(Message::Request(req))) => {
                            clock.requested(req.attrs.reference_id.unwrap_or(0), read_at);
                            let Some(req) = lane.try_forward(&ctx, &handle, req) else { continue };
                            lane.to_session();
                            if session.cast(SessionMsg::Inbound(Box::new(req))).is_err() {
                                return;
                            }
                        }
                        Ok(Some(Message::Event(ev))) => {
                            let msg = format!("clients send requests, not events (got {})", ev.kind.name());
                            return handle.disconnect(CloseReason::Protocol(msg));
                        }
                        Ok(None) => break,
                        Err(e) => return handle.disconnect(CloseReason::Protocol(e.to_string())),
                    }
                }
                match rd.read_buf(&mut buf).await {
                    Ok(0) if buf.is_empty() => return handle.disconnect(CloseReason::ClientClosed),
                    Ok(0) => {
                        return handle.disconnect(CloseReason::Protocol(format!(
                            "connection closed inside a frame ({} bytes pending)",
                            buf.len()
                        )))
                    }
                    Ok(_) => read_at = Instant::now(),
                    Err(e) => return handle.disconnect(CloseReason::Protocol(format!("read failed: {e}"))),
                }
            }
        }
    };
    // Held in an AbortOnDrop: if this task is cancelled, the writer goes with it.
    let mut writer = AbortOnDrop::spawn(write_loop(wr, rx, kill.clone(), codec, clock, ctx.clone()));
    let writer_done = tokio::select! {
        _ = reader => false,
        _ = &mut writer.0 => {
            // The writer returns on its own once the connection is closing and its queue is
            // written (or a write failed).
            handle.disconnect(CloseReason::ClientClosed);
            true
        }
        _ = kill.wait_for(|k| *k) => false,
    };
    // After a protocol error or TCloseServer the client is still reading: let the answers already
    // queued (the EventError, EventServerDisconnected) reach it, briefly. A slow client, or one
    // that has gone, is dropped at once.
    if !writer_done {
        if let Some(CloseReason::Protocol(_) | CloseReason::CloseRequested) = handle.close_reason() {
            let _ = tokio::time::timeout(Duration::from_millis(500), &mut writer.0).await;
        }
    }
    drop(writer);
    let _ = session.cast(SessionMsg::Closed);
}
