//! The Connector's conference pool at work (guide: "Conference Resource Pools", "Disable Lobby
//! Bypass"): it tells SfB how it hosts calls (LobbyBypass flag, on-demand scheduling, reuse),
//! keeps `conference-pool-size` conferences scheduled, mirrors what SfB reports about them (SfB
//! hosts Routing Point calls and direct calls the application acts on in them too), and places
//! MAKE_CALL in a free pooled conference — else SfB hosts it on demand or refuses, and the refusal
//! answers the request with its error code (42 pool exhausted, 1140 lobby settings inconsistent).

use super::ConnectorActorState;
use crate::actors::connector::sfb_sim::AppCmd;
use crate::conference_pool::{PoolConfig, Seen};
use crate::config::{ServerConfig, DEFAULT_POOL};
use crate::mltp::Response;
use crate::sim::{ConferenceId, ConferenceState, Hosting, HostingPolicy, SimError};

/// The pool options of the pool this Connector serves (its link section's `pool-name`).
pub(super) fn pool_config(cfg: &ServerConfig, connector: &str) -> (PoolConfig, bool) {
    let pool = cfg.links.iter().find(|l| l.name == connector).map_or(DEFAULT_POOL, |l| l.pool_name.as_str());
    crate::conference_pool::pool_config(cfg, pool)
}

impl ConnectorActorState {
    /// Tells SfB how this Connector hosts calls (every Connector of a deployment is configured
    /// alike: the guide asks to restart them all after a change of conference options).
    pub(super) async fn set_hosting_policy(&self) {
        let cfg = self.pool.config();
        let policy = HostingPolicy { lobby_bypass: self.lobby_bypass, on_demand: cfg.on_demand(), reuse: cfg.caching };
        if let Err(e) = self.args.sim.app(&self.args.name, AppCmd::SetHostingPolicy(policy)).await {
            tracing::warn!(connector = %self.args.name, error = %e, "cannot tell SfB the hosting policy");
        }
    }

    /// Brings the pool up to date with what SfB says about its conferences. Runs after every
    /// batch of SfB events, so it looks only at the pool's conferences (see `count_ad_hoc`).
    pub(super) fn sync_pool(&mut self) {
        let ids = self.pool.ids();
        let seen: Vec<(u64, Seen)> = {
            let w = self.args.sim.shared.world.lock();
            ids.into_iter()
                .map(|id| {
                    let s = match w.conference(ConferenceId(id)).map(|c| &c.state) {
                        None => Seen::Gone,
                        Some(ConferenceState::Scheduling { failure }) => Seen::Scheduling { failure: failure.clone() },
                        Some(ConferenceState::Ready) => Seen::Ready,
                        Some(ConferenceState::InUse { call }) => Seen::InUse { call: call.0 },
                    };
                    (id, s)
                })
                .collect()
        };
        for (id, s) in seen {
            self.pool.sync(id, s);
        }
    }

    /// How many of this Connector's calls are hosted ad hoc (on demand). Only the pool's view
    /// shows that number, so it is counted when a view is asked for: counting it after every batch
    /// of SfB events looked up every call in progress each time (a fifth of the Connector's time
    /// at 1,200 calls).
    pub(super) fn count_ad_hoc(&mut self) {
        let ad_hoc = {
            let w = self.args.sim.shared.world.lock();
            self.calls.iter().filter(|c| w.hosting(**c) == Some(Hosting::AdHoc)).count()
        };
        self.pool.set_ad_hoc(ad_hoc);
    }

    /// Schedules the next pool conference if the pool wants one (one at a time).
    pub(super) async fn refill_pool(&mut self) {
        self.sync_pool();
        let Some(endpoint) = self.pool.want() else { return };
        let cmd = AppCmd::ScheduleConference { endpoint: endpoint.clone(), lobby_bypass: self.lobby_bypass };
        let ticket = self.args.sim.app(&self.args.name, cmd).await.and_then(|v| {
            serde_json::from_value::<crate::sim::ConferenceTicket>(v).map_err(|e| SimError::Refused(e.to_string()))
        });
        match ticket {
            Ok(t) => {
                self.pool.on_ticket(t.id.0, endpoint);
                self.sync_pool();
            }
            Err(e) => {
                tracing::warn!(connector = %self.args.name, %endpoint, error = %e, "conference scheduling failed");
                self.pool.on_failed(e.to_string());
            }
        }
    }

    /// Places a call for the T-Server in a free pooled conference; without one SfB hosts it in
    /// a conference scheduled on demand, or refuses when none can be (pool exhausted with caching
    /// off, inconsistent lobby settings).
    pub(super) async fn make_call(
        &mut self,
        conn_id: crate::model::ConnId,
        from: String,
        to: String,
        media: crate::sim::Media,
        text: Option<String>,
    ) -> Response {
        self.sync_pool();
        let mut result = Err(SimError::Refused("no pooled conference".into()));
        if let Some(id) = self.pool.free_conference() {
            let conference = ConferenceId(id);
            let cmd = AppCmd::MakeCallIn { conference, from: from.clone(), to: to.clone(), media, text: text.clone() };
            result = self.args.sim.app(&self.args.name, cmd).await;
        }
        if result.is_err() {
            // No free pooled conference (or it was taken meanwhile).
            result = self.args.sim.app(&self.args.name, AppCmd::MakeCall { from, to, media, text }).await;
        }
        let started = result.and_then(|v| {
            serde_json::from_value::<crate::sim::CallStarted>(v).map_err(|e| SimError::Refused(e.to_string()))
        });
        let response = match started {
            Ok(started) => {
                self.calls.insert(started.call);
                // Its CALL_CREATED (queued behind this request) carries the T-Server's ConnID.
                self.conn_ids.insert(started.call, conn_id);
                Response::ok().with("call", started.call.0).with("conversation-id", started.conversation_id)
            }
            Err(e) => {
                if matches!(e, SimError::NoConference(_)) {
                    tracing::warn!(connector = %self.args.name, error = %e, "call refused: no conference");
                    self.pool.on_refused(e.to_string());
                }
                Response::error(e.error_code(), e.to_string())
            }
        };
        self.sync_pool();
        response
    }
}
