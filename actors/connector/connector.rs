//! Connector: one UCMA Connector of the pool. It accepts the T-Server's MLTP links on its CTI port
//! (one LinkSession child each, temporary), owns its conference pool, turns the simulated SfB's
//! events about its calls into MLTP events for its links, keeps the HA data of its calls durable
//! (and mirrors it to the T-Server with HA_DATA), and implements the guide's two stops: a normal
//! stop frees everything at once; a graceful shutdown enters "Suspending" — its DNs are remapped
//! by the T-Server at once, it keeps only its existing calls, and stops when the last one ends.

use crate::actors::connector::link_session::{LinkSession, SessionArgs, SessionMsg};
use crate::actors::connector::sfb_sim::{AppCmd, SfbMsg, SimLink};
use crate::actors::context::ServerContext;
use crate::actors::supervision::{ChildSpec, Children, RestartPolicy, SupervisorCmd};
use crate::conference_pool::{ConferencePool, PoolConfig};
use crate::config::ServerConfig;
use crate::mltp::{ConnectorState, Mltp};
use crate::sim::{CallId, SimEvent};
use crate::store::DurableStore;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

pub struct Connector;

// The Connector's HA call data lives in its own file (same actor, separate responsibility).
#[path = "connector_ha.rs"]
mod ha;

/// How long a scheduled conference stays usable ("typically, in the region of 8 hours").
const CONFERENCE_LIFETIME_MS: u64 = 8 * 3600 * 1000;

pub struct ConnectorArgs {
    pub name: String,
    pub config: Arc<ServerConfig>,
    pub listener: Arc<std::net::TcpListener>,
    pub sim: Arc<SimLink>,
    pub store: Arc<DurableStore>,
    pub hide_sensitive_data: bool,
    pub board: crate::actors::board::Board,
    pub acceptor: crate::transport::Acceptor,
}

pub enum ConnectorMsg {
    Accepted(TcpStream),
    SimEvents(Vec<SimEvent>),
    /// Graceful shutdown: suspend now, stop when the last call ends.
    Suspend,
    /// MAKE_CALL from a link: anchor the call in a pool conference, answer the link.
    MakeCall {
        /// The T-Server's ConnID, echoed in the call's CALL_CREATED.
        conn_id: crate::model::ConnId,
        from: String,
        to: String,
        media: crate::sim::Media,
        text: Option<String>,
        tx: crate::mltp::TxId,
        session: ActorRef<SessionMsg>,
    },
    PoolTick,
    /// Write the HA records if they changed.
    HaTick,
    /// A T-Server link said HELLO: mirror every call to it.
    Resync(ActorRef<SessionMsg>),
    Cmd(SupervisorCmd),
    GetView(RpcReplyPort<ConnectorView>),
}

impl From<SupervisorCmd> for ConnectorMsg {
    fn from(cmd: SupervisorCmd) -> Self {
        ConnectorMsg::Cmd(cmd)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ConnectorView {
    pub name: String,
    pub state: ConnectorState,
    pub links: usize,
    pub calls: Vec<u64>,
    pub pool_ready: usize,
    pub pool_in_use: usize,
    pub pool: crate::conference_pool::PoolStats,
}

pub struct ConnectorActorState {
    args: ConnectorArgs,
    children: Children,
    state: ConnectorState,
    sessions: HashMap<String, ActorRef<SessionMsg>>,
    next_session: u64,
    accept: Option<crate::actors::task::AbortOnDrop<()>>,
    pool: ConferencePool,
    calls: BTreeSet<CallId>,
    conferences: HashMap<CallId, crate::conference_pool::Conference>,
    facts: HashMap<CallId, crate::actors::connector::events::CallFacts>,
    /// ConnIDs of calls placed by MAKE_CALL whose CALL_CREATED has not been sent yet.
    conn_ids: HashMap<CallId, crate::model::ConnId>,
    /// HA records of this connector's calls (what is written to its store and mirrored).
    ha: std::collections::BTreeMap<CallId, serde_json::Value>,
    ha_dirty: bool,
    /// Whether this connector started with its own HA data (told to the T-Server in HELLO).
    ha_present: Arc<std::sync::atomic::AtomicBool>,
}

impl Actor for Connector {
    type Msg = ConnectorMsg;
    type State = ConnectorActorState;
    type Arguments = ConnectorArgs;

    async fn pre_start(
        &self,
        me: ActorRef<ConnectorMsg>,
        args: ConnectorArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let sup_name = format!("connector:{}", args.name);
        let children = Children::new(&sup_name, &me, args.board.clone());
        let cfg = &args.config;
        let pool = ConferencePool::new(PoolConfig {
            size: cfg.switch.connector.conference_pool_size as usize,
            caching: cfg.switch.connector.caching_enabled,
            reuse_avcall: cfg.switch.connector.reuse_avcall,
            endpoints: cfg.switch.conference_services.as_ref().map(|c| c.endpoint_uris()).unwrap_or_default(),
        });
        Ok(ConnectorActorState {
            args,
            children,
            state: ConnectorState::Active,
            sessions: HashMap::new(),
            next_session: 1,
            accept: None,
            pool,
            calls: BTreeSet::new(),
            conferences: HashMap::new(),
            facts: HashMap::new(),
            conn_ids: HashMap::new(),
            ha: Default::default(),
            ha_dirty: false,
            ha_present: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    async fn post_start(&self, me: ActorRef<ConnectorMsg>, st: &mut Self::State) -> Result<(), ActorProcessingErr> {
        if let Some(sim) = st.args.sim.actor.read().clone() {
            sim.cast(SfbMsg::Attach { connector: st.args.name.clone(), actor: me.clone() })?;
        }
        st.recover_calls().await;
        let listener = ServerContext::clone_listener(&st.args.listener)?;
        let me2 = me.clone();
        st.accept = Some(crate::actors::task::AbortOnDrop::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((tcp, _)) => {
                        if me2.cast(ConnectorMsg::Accepted(tcp)).is_err() {
                            return;
                        }
                    }
                    // EMFILE, ECONNABORTED...: keep the CTI port open, try again shortly.
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed on the CTI port");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
        me.send_interval(Duration::from_millis(200), || ConnectorMsg::PoolTick);
        me.send_interval(Duration::from_millis(20), || ConnectorMsg::HaTick);
        tracing::info!(connector = %st.args.name, addr = ?st.args.listener.local_addr().ok(), "connector listening");
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<ConnectorMsg>, st: &mut Self::State) -> Result<(), ActorProcessingErr> {
        st.accept = None;
        st.flush_ha().await;
        if let Some(sim) = st.args.sim.actor.read().clone() {
            let _ = sim.cast(SfbMsg::Detach { connector: st.args.name.clone() });
        }
        st.children.stop_all(Duration::from_secs(2)).await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<ConnectorMsg>,
        msg: ConnectorMsg,
        st: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ConnectorMsg::Accepted(tcp) => st.accept_link(&me, tcp).await,
            ConnectorMsg::SimEvents(events) => {
                for ev in events {
                    st.on_sim_event(ev).await;
                }
                st.maybe_finish_suspend(&me);
            }
            ConnectorMsg::Suspend => {
                if st.state != ConnectorState::Suspending {
                    tracing::info!(connector = %st.args.name, calls = st.calls.len(), "graceful shutdown: suspending");
                    st.state = ConnectorState::Suspending;
                    st.broadcast(Mltp::ConnectorState { state: ConnectorState::Suspending });
                    st.maybe_finish_suspend(&me);
                }
            }
            ConnectorMsg::MakeCall { conn_id, from, to, media, text, tx, session } => {
                let response = st.make_call(conn_id, from, to, media, text).await;
                let _ = session.cast(SessionMsg::Reply(tx, Box::new(response)));
            }
            ConnectorMsg::PoolTick => st.refill_pool().await,
            ConnectorMsg::HaTick => st.flush_ha().await,
            ConnectorMsg::Resync(session) => st.resync_ha(&session),
            ConnectorMsg::Cmd(cmd) => st.children.on_cmd(cmd, &me.get_cell()).await,
            ConnectorMsg::GetView(reply) => {
                let _ = reply.send(st.view());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<ConnectorMsg>,
        evt: SupervisionEvent,
        st: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorTerminated(cell, ..) | SupervisionEvent::ActorFailed(cell, _) = &evt {
            st.sessions.retain(|_, s| s.get_id() != cell.get_id());
        }
        st.children.on_event(&me, evt)
    }
}

impl ConnectorActorState {
    fn view(&self) -> ConnectorView {
        ConnectorView {
            name: self.args.name.clone(),
            state: self.state,
            links: self.sessions.len(),
            calls: self.calls.iter().map(|c| c.0).collect(),
            pool_ready: self.pool.ready_len(),
            pool_in_use: self.pool.in_use(),
            pool: self.pool.stats.clone(),
        }
    }

    async fn accept_link(&mut self, me: &ActorRef<ConnectorMsg>, tcp: TcpStream) {
        let id = self.next_session;
        self.next_session += 1;
        let slot = Arc::new(parking_lot::Mutex::new(Some(tcp)));
        let args = Arc::new((
            self.args.name.clone(),
            self.args.sim.clone(),
            me.clone(),
            self.args.hide_sensitive_data,
            self.args.config.switch.log.hide_header.clone(),
            self.args.acceptor.clone(),
            self.ha_present.clone(),
        ));
        let state = self.state;
        let spec = ChildSpec {
            name: format!("mltp:{}:{id}", self.args.name),
            kind: "LinkSession",
            policy: RestartPolicy::temporary(),
            spawn: Arc::new(move |sup| {
                let tcp = slot.lock().take();
                let a = args.clone();
                Box::pin(async move {
                    let tcp =
                        tcp.ok_or_else(|| ractor::SpawnErr::StartupFailed("connection already handed over".into()))?;
                    let session = SessionArgs {
                        connector: a.0.clone(),
                        sim: a.1.clone(),
                        owner: a.2.clone(),
                        tcp,
                        state,
                        hide_sensitive_data: a.3,
                        hide_header: a.4.clone(),
                        acceptor: a.5.clone(),
                        ha_present: a.6.clone(),
                    };
                    Ok(Actor::spawn_linked(None, LinkSession, session, sup).await?.0.get_cell())
                })
            }),
        };
        let name = spec.name.clone();
        match self.children.start(spec, &me.get_cell()).await {
            Ok(cell) => {
                self.sessions.insert(name, ActorRef::from(cell));
            }
            Err(e) => tracing::error!(connector = %self.args.name, error = %e, "cannot start link session"),
        }
    }

    fn broadcast(&self, m: Mltp) {
        for s in self.sessions.values() {
            let _ = s.cast(SessionMsg::Event(Box::new(m.clone())));
        }
    }

    async fn on_sim_event(&mut self, ev: SimEvent) {
        if let SimEvent::CallCreated { call, media, from, to, .. } = &ev {
            self.calls.insert(*call);
            let conn_id = self.conn_ids.remove(call);
            let facts = crate::actors::connector::events::CallFacts {
                media: *media,
                from: from.clone(),
                to: to.clone(),
                conn_id,
            };
            self.facts.insert(*call, facts);
        }
        let call = ev.call();
        if let Some(m) = crate::actors::connector::events::to_mltp(&ev, call.and_then(|c| self.facts.get(&c))) {
            self.broadcast(m);
        }
        if let SimEvent::CallDeleted { call, .. } = ev {
            self.calls.remove(&call);
            self.facts.remove(&call);
            self.conn_ids.remove(&call);
            if let Some(conf) = self.conferences.remove(&call) {
                self.pool.release(conf, self.args.sim.shared.now());
            }
            if self.ha.remove(&call).is_some() {
                self.ha_dirty = true;
            }
            self.broadcast(Mltp::HaData {
                call: call.0,
                kind: crate::mltp::HaKind::Call,
                op: crate::mltp::HaOp::Delete,
                key: None,
                data: String::new(),
            });
        } else if let Some(call) = call {
            self.mirror_ha(call).await;
        }
    }

    /// Places a call for the T-Server, hosted by a ready pool conference when there is one (the
    /// guide's conference pooling), else by an ad-hoc conference.
    async fn make_call(
        &mut self,
        conn_id: crate::model::ConnId,
        from: String,
        to: String,
        media: crate::sim::Media,
        text: Option<String>,
    ) -> crate::mltp::Response {
        use crate::mltp::Response;
        let now = self.args.sim.shared.now();
        let conf = self.pool.acquire(now);
        let hosted = conf.as_ref().and_then(|c| c.id.parse::<u64>().ok()).map(crate::sim::ConferenceId);
        let cmd = match hosted {
            Some(conference) => {
                AppCmd::MakeCallIn { conference, from: from.clone(), to: to.clone(), media, text: text.clone() }
            }
            None => AppCmd::MakeCall { from: from.clone(), to: to.clone(), media, text: text.clone() },
        };
        let mut result = self.args.sim.app(&self.args.name, cmd).await;
        let mut conf = conf;
        if result.is_err() && hosted.is_some() {
            // The pooled conference is not usable (not ready yet, expired): discard it — it must
            // not go back to the pool — and host the call ad hoc.
            if let Some(c) = conf.take() {
                self.pool.discard(c);
            }
            result = self.args.sim.app(&self.args.name, AppCmd::MakeCall { from, to, media, text }).await;
        }
        match result.and_then(|v| {
            serde_json::from_value::<crate::sim::CallStarted>(v)
                .map_err(|e| crate::sim::SimError::Refused(e.to_string()))
        }) {
            Ok(started) => {
                self.calls.insert(started.call);
                // Its CALL_CREATED (queued behind this request) carries the T-Server's ConnID.
                self.conn_ids.insert(started.call, conn_id);
                if let Some(c) = conf {
                    self.conferences.insert(started.call, c);
                }
                Response::ok().with("call", started.call.0).with("conversation-id", started.conversation_id)
            }
            Err(e) => {
                if let Some(c) = conf {
                    self.pool.release(c, now);
                }
                Response::error(e.error_code(), e.to_string())
            }
        }
    }

    async fn refill_pool(&mut self) {
        let now = self.args.sim.shared.now();
        self.pool.expire(now);
        if let Some(endpoint) = self.pool.want() {
            match self.schedule(&endpoint).await {
                Ok((id, expires_at)) => self.pool.on_scheduled(id, endpoint, expires_at),
                Err(reason) => {
                    tracing::warn!(connector = %self.args.name, %endpoint, %reason, "conference scheduling failed");
                    self.pool.on_failed(reason);
                }
            }
        }
    }

    async fn schedule(&self, endpoint: &str) -> Result<(String, u64), String> {
        let lobby_bypass = self.args.config.switch.conference_services.as_ref().is_some_and(|c| c.lobby_bypass_enabled);
        let cmd = AppCmd::ScheduleConference { endpoint: endpoint.to_string(), lobby_bypass };
        let v = self.args.sim.app(&self.args.name, cmd).await.map_err(|e| e.to_string())?;
        let ticket: crate::sim::ConferenceTicket = serde_json::from_value(v).map_err(|e| e.to_string())?;
        // SfB expires unused conference resources after about 8 hours (guide).
        Ok((ticket.id.0.to_string(), ticket.ready_at + CONFERENCE_LIFETIME_MS))
    }

    fn maybe_finish_suspend(&self, me: &ActorRef<ConnectorMsg>) {
        if self.state == ConnectorState::Suspending && self.calls.is_empty() {
            tracing::info!(connector = %self.args.name, "graceful shutdown complete: no calls left");
            me.stop(Some("graceful shutdown complete".into()));
        }
    }
}
