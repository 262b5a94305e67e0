//! Connector: one UCMA Connector of the pool. It accepts the T-Server's MLTP links on its CTI port
//! (one LinkSession child each, temporary), owns its conference pool, turns the simulated SfB's
//! events about its calls into MLTP events for its links, keeps the HA data of its calls durable
//! (and mirrors it to the T-Server with HA_DATA), and implements the guide's two stops: a normal
//! stop frees everything at once; a graceful shutdown enters "Suspending" — its DNs are remapped
//! by the T-Server at once, it keeps only its existing calls, and stops when the last one ends.
//! The pool and MAKE_CALL are in `connector_pool.rs`, the HA data in `connector_ha.rs`.

use crate::actors::connector::link_session::{LinkSession, SessionArgs, SessionMsg};
use crate::actors::connector::sfb_sim::{SfbMsg, SimLink};
use crate::actors::context::ServerContext;
use crate::actors::supervision::{ChildSpec, Children, RestartPolicy, SupervisorCmd};
use crate::conference_pool::ConferencePool;
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

/// How often the HA records that changed are written to the Connector's store: one commit (one
/// fsync) per tick at most. The records are mirrored to the T-Server at once (HA_DATA), so a
/// Connector crash within a tick loses only what the T-Server holds too; 50 ms like the T-Server's
/// Persister (at 20 ms these commits were 6% of the process's CPU at 1,200 calls in progress).
const HA_FLUSH_INTERVAL: Duration = Duration::from_millis(50);

pub struct Connector;

// The Connector's HA call data and its conference pool live in their own files (same actor,
// separate responsibilities).
#[path = "connector_b2b.rs"]
mod b2b;
#[path = "connector_ha.rs"]
mod ha;
#[path = "connector_pool.rs"]
mod pool;

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
    /// A REDIRECT_CALL by B2BUA is about to run on `call` (see `connector_b2b.rs`).
    NoteB2b {
        call: CallId,
        to: String,
    },
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
        /// `calling-method: b2b` (see `connector_b2b.rs`).
        b2b: bool,
        tx: crate::mltp::TxId,
        session: ActorRef<SessionMsg>,
    },
    /// SfB's export of the HA records of calls a batch of events changed (`mirror_ha`).
    HaRecords(Result<serde_json::Value, String>),
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
    /// Conference pool occupancy (free / in use / scheduling / ad hoc) and counters.
    pub pool: crate::conference_pool::PoolView,
}

pub struct ConnectorActorState {
    args: ConnectorArgs,
    children: Children,
    state: ConnectorState,
    sessions: HashMap<String, ActorRef<SessionMsg>>,
    next_session: u64,
    accept: Option<crate::actors::task::AbortOnDrop<()>>,
    pool: ConferencePool,
    /// The LobbyBypass flag conferences are scheduled with (`lobby-bypass-enabled`).
    lobby_bypass: bool,
    calls: BTreeSet<CallId>,
    facts: HashMap<CallId, crate::actors::connector::events::CallFacts>,
    /// ConnIDs of calls placed by MAKE_CALL whose CALL_CREATED has not been sent yet.
    conn_ids: HashMap<CallId, crate::model::ConnId>,
    /// HA records of this connector's calls (what is written to its store and mirrored).
    ha: std::collections::BTreeMap<CallId, crate::store::JsonRecord>,
    ha_dirty: bool,
    /// Calls whose HA record changed (or went) since the last write: only these are written.
    ha_changed: std::collections::BTreeSet<CallId>,
    /// The HA write in flight (see `start_ha_write`).
    ha_write: Option<tokio::task::JoinHandle<Option<ha::HaFailure>>>,
    /// Whether this connector started with its own HA data (told to the T-Server in HELLO).
    ha_present: Arc<std::sync::atomic::AtomicBool>,
    /// B2BUA calls whose destination has not answered yet.
    b2b: HashMap<CallId, b2b::B2bAlias>,
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
        let (pool_cfg, lobby_bypass) = pool::pool_config(&args.config, &args.name);
        Ok(ConnectorActorState {
            args,
            children,
            state: ConnectorState::Active,
            sessions: HashMap::new(),
            next_session: 1,
            accept: None,
            pool: ConferencePool::new(pool_cfg),
            lobby_bypass,
            calls: BTreeSet::new(),
            facts: HashMap::new(),
            conn_ids: HashMap::new(),
            ha: Default::default(),
            ha_dirty: false,
            ha_changed: Default::default(),
            ha_write: None,
            b2b: HashMap::new(),
            ha_present: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    async fn post_start(&self, me: ActorRef<ConnectorMsg>, st: &mut Self::State) -> Result<(), ActorProcessingErr> {
        if let Some(sim) = st.args.sim.actor.read().clone() {
            sim.cast(SfbMsg::Attach { connector: st.args.name.clone(), actor: me.clone() })?;
        }
        st.set_hosting_policy().await;
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
        me.send_interval(HA_FLUSH_INTERVAL, || ConnectorMsg::HaTick);
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
                // Every event goes out first; then one HA export for the calls they changed.
                let mut changed = BTreeSet::new();
                for ev in events {
                    st.on_sim_event(ev, &mut changed);
                }
                st.mirror_ha(&me, changed);
                st.sync_pool();
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
            ConnectorMsg::MakeCall { conn_id, from, to, media, text, b2b, tx, session } => {
                let requested = to.clone();
                let response = st.make_call(conn_id, from, to, media, text).await;
                if let Some(call) = response.get("call").and_then(|c| c.parse().ok()).filter(|_| b2b) {
                    st.note_b2b(CallId(call), &requested);
                }
                let _ = session.cast(SessionMsg::Reply(tx, Box::new(response)));
            }
            ConnectorMsg::NoteB2b { call, to } => st.note_b2b(call, &to),
            ConnectorMsg::HaRecords(records) => st.keep_ha_records(records),
            ConnectorMsg::PoolTick => st.refill_pool().await,
            ConnectorMsg::HaTick => st.start_ha_write().await,
            ConnectorMsg::Resync(session) => st.resync_ha(&session),
            ConnectorMsg::Cmd(cmd) => st.children.on_cmd(cmd, &me.get_cell()).await,
            ConnectorMsg::GetView(reply) => {
                st.sync_pool();
                st.count_ad_hoc();
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
            pool: self.pool.view(),
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

    /// Publishes one event of the simulated SfB; the call it changed joins `changed` (its HA
    /// record is mirrored after the batch), a deleted call leaves it.
    fn on_sim_event(&mut self, ev: SimEvent, changed: &mut BTreeSet<CallId>) {
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
        let events = self.b2b_events(&ev).unwrap_or_else(|| vec![ev.clone()]);
        for e in &events {
            if let Some(m) = crate::actors::connector::events::to_mltp(e, call.and_then(|c| self.facts.get(&c))) {
                self.broadcast(m);
            }
        }
        if let SimEvent::CallDeleted { call, .. } = ev {
            changed.remove(&call);
            self.calls.remove(&call);
            self.facts.remove(&call);
            self.conn_ids.remove(&call);
            if self.ha.remove(&call).is_some() {
                self.ha_changed.insert(call);
            }
            self.broadcast(Mltp::HaData {
                call: call.0,
                kind: crate::mltp::HaKind::Call,
                op: crate::mltp::HaOp::Delete,
                key: None,
                data: String::new(),
            });
        } else if let Some(call) = call {
            changed.insert(call);
        }
    }

    fn maybe_finish_suspend(&self, me: &ActorRef<ConnectorMsg>) {
        if self.state == ConnectorState::Suspending && self.calls.is_empty() {
            tracing::info!(connector = %self.args.name, "graceful shutdown complete: no calls left");
            me.stop(Some("graceful shutdown complete".into()));
        }
    }
}
