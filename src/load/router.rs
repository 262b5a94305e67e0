//! The load generator's minimal internal router, used while the server runs no reference router
//! (and without `--external-router`): one T-Library connection registered on the Routing Point,
//! answering each EventRouteRequest with TRouteCall to the longest-idle free Ready agent, or
//! queueing the call until one is free. It measures EventRouteRequest -> EventRouteUsed (waiting
//! for an agent included) and TRouteCall -> EventRouteUsed. It routes; it plays no treatment.

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

pub struct Router {
    client: Client,
    pool: Arc<AgentPool>,
    stats: Arc<Stats>,
    /// Calls waiting for a free agent: ConnID, Routing Point, when EventRouteRequest came.
    waiting: VecDeque<(ConnId, DnName, Instant)>,
    /// TRouteCall sent: ReferenceID -> (ConnID, agent, EventRouteRequest time, sent time).
    in_flight: HashMap<u32, (ConnId, usize, Instant, Instant)>,
}

impl Router {
    /// Connects and registers the Routing Points.
    pub async fn connect(
        tlib: &str,
        routing_points: &[DnName],
        pool: Arc<AgentPool>,
        stats: Arc<Stats>,
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
        Ok(Router { client, pool, stats, waiting: VecDeque::new(), in_flight: HashMap::new() })
    }

    /// Routes until `stop` turns true or the server closes the connection.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let pool = self.pool.clone();
        loop {
            tokio::select! {
                ev = self.client.next_event() => match ev {
                    Some(ev) => self.on_event(ev).await,
                    None => {
                        tracing::warn!("the server closed the router's connection");
                        return;
                    }
                },
                _ = pool.wake.notified() => self.dispatch().await,
                _ = stop.changed() => return,
            }
        }
    }

    async fn on_event(&mut self, ev: Event) {
        self.stats.count(Count::Event);
        let now = Instant::now();
        if let Some((conn, agent, asked, sent)) = ev.attrs.reference_id.and_then(|r| self.in_flight.remove(&r)) {
            if ev.kind == EventKind::RouteUsed {
                self.stats.answered(RequestKind::RouteCall, now - sent);
                self.stats.routed_after(now - asked);
                self.stats.count(Count::Routed);
            } else {
                let code = ev.attrs.error_code.map(|c| c.code()).unwrap_or(0);
                tracing::debug!(conn = %conn, code, "TRouteCall refused");
                self.stats.refused(code);
                self.pool.unreserve(agent);
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
            let Some(agent) = self.pool.take(None) else { return };
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
                    self.in_flight.insert(reference, (conn, agent, asked, sent));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot send TRouteCall");
                    self.pool.unreserve(agent);
                    return;
                }
            }
        }
    }
}
