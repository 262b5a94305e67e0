//! The load generator's minimal internal router, used while the server runs no reference router
//! (and without `--external-router`): one T-Library connection registered on the Routing Point,
//! answering each EventRouteRequest with TRouteCall to the longest-idle free Ready agent, or
//! queueing the call until one is free. It measures EventRouteRequest -> EventRouteUsed (waiting
//! for an agent included) and TRouteCall -> EventRouteUsed. It routes; it plays no treatment.
//! When another router routes (`observe` mode) it only registers on the Routing Point and measures
//! EventRouteRequest -> EventRouteUsed by ConnID from the events every registered client sees.

use super::pool::AgentPool;
use super::stats::{Count, Stats};
use super::LoadError;
use crate::client::Client;
use crate::model::{ConnId, DnName, RouteType};
use crate::tlib::{Attributes, Event, EventKind, Request, RequestKind};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::time::Instant;

/// A call sent to an agent that has not rung there after this long will not (its caller hung up).
const RESERVATION_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(10);
const RESERVATION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Router {
    client: Client,
    pool: Arc<AgentPool>,
    stats: Arc<Stats>,
    /// Calls waiting for a free agent: ConnID, Routing Point, when EventRouteRequest came.
    waiting: VecDeque<(ConnId, DnName, Instant)>,
    /// TRouteCall sent: ReferenceID -> (ConnID, EventRouteRequest time, sent time).
    in_flight: HashMap<u32, (ConnId, Instant, Instant)>,
    /// Observe mode: calls seen in EventRouteRequest, not routed yet.
    observed: Option<HashMap<ConnId, Instant>>,
}

impl Router {
    /// Connects and registers the Routing Points; routes unless `observe`.
    pub async fn connect(
        tlib: &str,
        routing_points: &[DnName],
        pool: Arc<AgentPool>,
        stats: Arc<Stats>,
        observe: bool,
    ) -> Result<Router, LoadError> {
        let client = Client::connect_with(tlib, None, "sfb-tserver-load-router").await?;
        for rp in routing_points {
            let ev = client.register(rp.as_str()).await?;
            if ev.kind != EventKind::Registered {
                return Err(LoadError::Agent {
                    dn: rp.to_string(),
                    what: format!("the router cannot register: {}", ev.attrs.error_message.unwrap_or_default()),
                });
            }
        }
        let observed = observe.then(HashMap::new);
        Ok(Router { client, pool, stats, waiting: VecDeque::new(), in_flight: HashMap::new(), observed })
    }

    /// Routes until `stop` turns true or the server closes the connection.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let pool = self.pool.clone();
        let mut expiry = tokio::time::interval(RESERVATION_CHECK);
        loop {
            tokio::select! {
                _ = expiry.tick() => {
                    if pool.expire(RESERVATION_MAX_AGE) > 0 && self.observed.is_none() {
                        self.dispatch().await;
                    }
                }
                ev = self.client.next_stamped_event() => match ev {
                    Some((ev, read_at)) => self.on_event(ev, Instant::from_std(read_at)).await,
                    None => {
                        tracing::warn!("the server closed the router's connection");
                        return;
                    }
                },
                _ = pool.wake.notified(), if self.observed.is_none() => self.dispatch().await,
                _ = stop.changed() => return,
            }
        }
    }

    /// `now`: when the event's bytes were read (latencies end there, not when this task ran).
    async fn on_event(&mut self, ev: Event, now: Instant) {
        self.stats.count(Count::Event);
        if let Some((conn, asked, sent)) = ev.attrs.reference_id.and_then(|r| self.in_flight.remove(&r)) {
            if ev.kind == EventKind::RouteUsed {
                self.stats.answered(RequestKind::RouteCall, now - sent);
                self.stats.routed_after(now - asked);
                self.stats.count(Count::Routed);
            } else {
                let code = ev.attrs.error_code.map(|c| c.code()).unwrap_or(0);
                tracing::debug!(conn = %conn, code, "TRouteCall refused");
                self.stats.refused(code);
                self.pool.unreserve(conn);
            }
            return;
        }
        if let Some(observed) = &mut self.observed {
            match (ev.kind, ev.attrs.conn_id) {
                (EventKind::RouteRequest, Some(conn)) => {
                    observed.insert(conn, now);
                }
                (EventKind::RouteUsed, Some(conn)) => {
                    if let Some(asked) = observed.remove(&conn) {
                        self.stats.routed_after(now - asked);
                        self.stats.count(Count::Routed);
                    }
                }
                (EventKind::Abandoned | EventKind::Released, Some(conn)) => {
                    observed.remove(&conn);
                }
                _ => {}
            }
            return;
        }
        match (ev.kind, ev.attrs.conn_id, ev.attrs.this_dn) {
            (EventKind::RouteRequest, Some(conn), Some(rp)) => {
                self.waiting.push_back((conn, rp, now));
                self.dispatch().await;
            }
            (EventKind::Abandoned | EventKind::Released | EventKind::Diverted, Some(conn), _) => {
                self.waiting.retain(|(c, _, _)| *c != conn);
            }
            _ => {}
        }
    }

    /// Routes waiting calls while agents are free.
    async fn dispatch(&mut self) {
        while !self.waiting.is_empty() {
            let Some(&(conn, _, _)) = self.waiting.front() else { return };
            let Some(agent) = self.pool.take(None, conn) else { return };
            let Some((conn, rp, asked)) = self.waiting.pop_front() else { return };
            let attrs = Attributes {
                this_dn: Some(rp),
                conn_id: Some(conn),
                other_dn: Some(self.pool.dn(agent)),
                route_type: Some(RouteType::Default),
                ..Default::default()
            };
            let sent = Instant::now();
            self.stats.count(Count::Request);
            match self.client.send(Request::with_attrs(RequestKind::RouteCall, attrs)).await {
                Ok(reference) => {
                    self.in_flight.insert(reference, (conn, asked, sent));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot send TRouteCall");
                    self.pool.unreserve(conn);
                    return;
                }
            }
        }
    }
}
