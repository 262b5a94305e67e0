//! The router's I/O loop: connect to the T-Server over T-Library (TLS when configured), register
//! the Routing Points and the agents' DNs, then feed every event and timer to the pure core and
//! send the requests it returns. A lost connection starts over after a backoff (100 ms doubling
//! to 5 s; back to 100 ms once a session has registered): the switch's state is re-learnt from
//! EventRegistered, so each session starts with a fresh core. No decision is made here.

use super::{Router, RouterSettings, RouterView};
use crate::client::{Client, ClientError};
use crate::tlib::EventKind;
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Where the router connects.
#[derive(Clone)]
pub struct Target {
    /// host:port of the T-Library port.
    pub addr: String,
    /// TLS client configuration and the server name to verify.
    pub tls: Option<(Arc<tokio_rustls::rustls::ClientConfig>, String)>,
}

/// What the loop publishes for operators and tests: whether it is routing, and its last view
/// (refreshed at most every [`VIEW_EVERY`]).
#[derive(Default)]
pub struct RouterStatus {
    routing: AtomicBool,
    sessions: AtomicU64,
    view: Mutex<Option<RouterView>>,
    last_error: Mutex<Option<String>>,
}

pub const VIEW_EVERY: Duration = Duration::from_millis(50);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Serialize)]
struct StatusJson<'a> {
    routing: bool,
    sessions: u64,
    last_error: Option<&'a str>,
    view: Option<&'a RouterView>,
}

impl RouterStatus {
    /// Connected, with every DN registered.
    pub fn is_routing(&self) -> bool {
        self.routing.load(Ordering::Acquire)
    }
    /// Sessions that reached the routing state so far.
    pub fn sessions(&self) -> u64 {
        self.sessions.load(Ordering::Relaxed)
    }
    pub fn view(&self) -> Option<RouterView> {
        self.view.lock().clone()
    }
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().clone()
    }
    /// The loop is gone (its owner stopped it).
    pub fn mark_stopped(&self) {
        self.routing.store(false, Ordering::Release);
    }
    pub fn to_json(&self) -> serde_json::Value {
        let view = self.view.lock();
        let err = self.last_error.lock();
        let s = StatusJson {
            routing: self.is_routing(),
            sessions: self.sessions(),
            last_error: err.as_deref(),
            view: view.as_ref(),
        };
        serde_json::to_value(s).unwrap_or_default()
    }
}

/// Runs the router until the task is dropped: one session after another.
pub async fn run(settings: RouterSettings, target: Target, status: Arc<RouterStatus>) {
    let clock = Instant::now();
    let mut backoff = BACKOFF_FIRST;
    loop {
        let before = status.sessions();
        let err = session(&settings, &target, &status, clock).await;
        status.routing.store(false, Ordering::Release);
        if status.sessions() > before {
            backoff = BACKOFF_FIRST;
        }
        tracing::warn!(server = %target.addr, error = %err, retry_in = ?backoff, "router session ended");
        *status.last_error.lock() = Some(err.to_string());
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection, from the handshake to its loss.
async fn session(settings: &RouterSettings, target: &Target, status: &RouterStatus, clock: Instant) -> ClientError {
    let now = || clock.elapsed().as_millis() as u64;
    let tls = target.tls.as_ref().map(|(c, name)| (c.clone(), name.as_str()));
    let mut client = match Client::connect_with(&target.addr, tls, "sfb-tserver-router").await {
        Ok(c) => c,
        Err(e) => return e,
    };
    let mut core = Router::new(settings.clone(), now());
    for dn in core.registrations() {
        let ev = match client.register(dn.as_str()).await {
            Ok(ev) => ev,
            Err(e) => return e,
        };
        if ev.kind != EventKind::Registered {
            tracing::warn!(%dn, answer = ev.kind.name(), error = ?ev.attrs.error_message, "router cannot register DN");
        }
        if let Err(e) = send_all(&client, core.on_event(now(), &ev)).await {
            return e;
        }
    }
    tracing::info!(
        server = %target.addr,
        routing_points = settings.routing_points.len(),
        agents = settings.agents.len(),
        group = %settings.target_group,
        "router registered; routing"
    );
    *status.view.lock() = Some(core.view(now()));
    status.sessions.fetch_add(1, Ordering::Relaxed);
    status.routing.store(true, Ordering::Release);
    let mut published = Instant::now();
    let mut dirty = false;
    loop {
        let wake = core.next_wakeup(now()).map(|ms| clock + Duration::from_millis(ms));
        let publish = dirty.then_some(published + VIEW_EVERY);
        let deadline = [wake, publish].into_iter().flatten().min();
        let requests = tokio::select! {
            ev = client.next_event() => match ev {
                Some(ev) => core.on_event(now(), &ev),
                None => return ClientError::Closed,
            },
            _ = sleep_until(deadline) => core.on_tick(now()),
        };
        dirty = true;
        if let Err(e) = send_all(&client, requests).await {
            return e;
        }
        if Instant::now() >= published + VIEW_EVERY {
            *status.view.lock() = Some(core.view(now()));
            published = Instant::now();
            dirty = false;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn send_all(client: &Client, requests: Vec<crate::tlib::Request>) -> Result<(), ClientError> {
    for r in requests {
        tracing::debug!(request = r.kind.name(), conn = ?r.attrs.conn_id, to = ?r.attrs.other_dn, "router sends");
        client.send(r).await?;
    }
    Ok(())
}
