//! The T-Library client library: connect (plain or TLS), open the session (TOpenServer ->
//! EventServerConnected), register DNs, send requests and await the event that answers each
//! ReferenceID, and stream every event. Used by the CLI, the tests and the load generator.
//! One reader task decodes frames; requests are written by the caller directly (one frame, one
//! write), so there is no extra queue to fill.

use crate::model::DnName;
use crate::tlib::{
    Attributes, Event, EventKind, FrameCodec, FrameError, Message, Request, RequestKind, PROTOCOL_VERSION,
};
use crate::transport::{self, Stream};
use bytes::BytesMut;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("connection closed by the server")]
    Closed,
    #[error("protocol error: {0}")]
    Frame(#[from] FrameError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("no answer to ReferenceID {0} within {1:?}")]
    Timeout(u32, Duration),
    #[error("server refused the session: {0}")]
    Refused(String),
}

type Pending = Arc<Mutex<HashMap<u32, oneshot::Sender<Event>>>>;

pub struct Client {
    writer: tokio::sync::Mutex<WriteHalf<Stream>>,
    codec: FrameCodec,
    next_ref: AtomicU32,
    pending: Pending,
    /// Events with the instant their bytes were read (see `next_stamped_event`).
    events: mpsc::UnboundedReceiver<(Event, std::time::Instant)>,
    reader: tokio::task::JoinHandle<()>,
    /// How long `request` waits for its answer.
    pub timeout: Duration,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Client {
    /// Connects over plain TCP and opens the session.
    pub async fn connect(addr: &str) -> Result<Client, ClientError> {
        Self::connect_with(addr, None, "sfb-tserver-client").await
    }

    /// Connects (TLS when `tls` is given: client configuration and server name) and opens the session.
    pub async fn connect_with(
        addr: &str,
        tls: Option<(Arc<tokio_rustls::rustls::ClientConfig>, &str)>,
        application_name: &str,
    ) -> Result<Client, ClientError> {
        let stream = transport::connect(addr, tls)
            .await
            .map_err(|e| ClientError::Connect { addr: addr.to_string(), reason: e.to_string() })?;
        let client = Self::over(stream, FrameCodec::default());
        let mut open = Request::new(RequestKind::OpenServer);
        open.attrs.protocol_version = Some(PROTOCOL_VERSION);
        open.attrs.application_name = Some(application_name.to_string());
        let ev = client.request(open).await?;
        if ev.kind != EventKind::ServerConnected {
            return Err(ClientError::Refused(ev.attrs.error_message.unwrap_or_else(|| ev.kind.name().to_string())));
        }
        Ok(client)
    }

    /// Wraps an already connected stream without a handshake (tests speaking raw protocol use it).
    pub fn over(stream: Stream, codec: FrameCodec) -> Client {
        let (rd, wr) = tokio::io::split(stream);
        let pending: Pending = Arc::default();
        let (tx, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(rd, codec, pending.clone(), tx));
        Client {
            writer: tokio::sync::Mutex::new(wr),
            codec,
            next_ref: AtomicU32::new(1),
            pending,
            events,
            reader,
            timeout: Duration::from_secs(10),
        }
    }

    /// A fresh ReferenceID (never 0, which means "none").
    pub fn next_reference_id(&self) -> u32 {
        self.next_ref.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a request without waiting; assigns a ReferenceID when it has none and returns it.
    pub async fn send(&self, mut req: Request) -> Result<u32, ClientError> {
        let reference_id = *req.attrs.reference_id.get_or_insert_with(|| self.next_reference_id());
        self.write(&Message::Request(req)).await?;
        Ok(reference_id)
    }

    /// Sends a request and waits for the first event carrying its ReferenceID (its answer or
    /// EventError). That event is returned here only; every other event (including further events
    /// with the same ReferenceID) appears in [`Client::next_event`].
    pub async fn request(&self, mut req: Request) -> Result<Event, ClientError> {
        let reference_id = *req.attrs.reference_id.get_or_insert_with(|| self.next_reference_id());
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(reference_id, tx);
        if let Err(e) = self.write(&Message::Request(req)).await {
            self.pending.lock().remove(&reference_id);
            return Err(e);
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(ev)) => Ok(ev),
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                self.pending.lock().remove(&reference_id);
                Err(ClientError::Timeout(reference_id, self.timeout))
            }
        }
    }

    /// TRegisterAddress for `dn`; returns EventRegistered (or EventError).
    pub async fn register(&self, dn: &str) -> Result<Event, ClientError> {
        let attrs = Attributes { this_dn: Some(DnName::new(dn)), ..Default::default() };
        self.request(Request::with_attrs(RequestKind::RegisterAddress, attrs)).await
    }

    /// Writes one raw message (tests use it to send what a well-behaved client would not).
    pub async fn write(&self, msg: &Message) -> Result<(), ClientError> {
        let mut buf = BytesMut::new();
        self.codec.encode(msg, &mut buf)?;
        let mut w = self.writer.lock().await;
        w.write_all(&buf).await?;
        w.flush().await?;
        Ok(())
    }

    /// Writes raw bytes (tests: garbage, truncated and oversized frames).
    pub async fn write_raw(&self, bytes: &[u8]) -> Result<(), ClientError> {
        let mut w = self.writer.lock().await;
        w.write_all(bytes).await?;
        w.flush().await?;
        Ok(())
    }

    /// The next event, in arrival order; None once the connection is closed and drained.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await.map(|(ev, _)| ev)
    }

    /// The next event with the instant its bytes were read from the socket: a latency measured
    /// to it leaves out how long the event then waited for the caller's task (the load generator
    /// runs ten thousand desktops on two threads; that wait is the tool's, not the server's).
    pub async fn next_stamped_event(&mut self) -> Option<(Event, std::time::Instant)> {
        self.events.recv().await
    }

    /// The next event within `timeout`; None on timeout or close.
    pub async fn next_event_within(&mut self, timeout: Duration) -> Option<Event> {
        tokio::time::timeout(timeout, self.events.recv()).await.ok().flatten().map(|(ev, _)| ev)
    }

    /// Waits for the first event matching `pred`, skipping others; None on timeout or close.
    pub async fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Event) -> bool) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (ev, _) = tokio::time::timeout_at(deadline, self.events.recv()).await.ok().flatten()?;
            if pred(&ev) {
                return Some(ev);
            }
        }
    }

    /// Whether the server has closed the connection (the reader has ended).
    pub fn is_closed(&self) -> bool {
        self.reader.is_finished()
    }
}

async fn read_loop(
    mut rd: ReadHalf<Stream>,
    codec: FrameCodec,
    pending: Pending,
    tx: mpsc::UnboundedSender<(Event, std::time::Instant)>,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut read_at = std::time::Instant::now();
    loop {
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(Message::Event(ev))) => {
                    let waiter = ev.attrs.reference_id.filter(|r| *r != 0).and_then(|r| pending.lock().remove(&r));
                    match waiter {
                        Some(w) => {
                            let _ = w.send(ev);
                        }
                        None => {
                            let _ = tx.send((ev, read_at));
                        }
                    }
                }
                Ok(Some(Message::Request(_))) => {
                    tracing::warn!("server sent a request; closing");
                    return;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable frame from server; closing");
                    return;
                }
            }
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                pending.lock().clear();
                return;
            }
            Ok(_) => read_at = std::time::Instant::now(),
        }
    }
}
