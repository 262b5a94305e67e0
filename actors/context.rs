//! What every actor of one T-Server instance shares: the validated configuration, the server's
//! identity (start time, event sequence, ConnID generator), and the tables that must outlive
//! actor incarnations (snapshots, supervision board, directory). Nothing here is global: two
//! servers in one process (as in the integration tests) never see each other.

use crate::actors::board::Board;
use crate::actors::directory::Directory;
use crate::actors::registry::RegistryMsg;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::model::sensitive::Visibility;
use crate::model::{ConnIdGenerator, DnName};
use crate::store::{DurableStore, SnapshotTable};
use crate::tlib::{Event, Timestamp};
use crate::transport::Acceptor;
use ractor::ActorRef;
use std::collections::{BTreeSet, HashMap};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub struct ServerContext {
    pub config: Arc<ServerConfig>,
    pub start_time: Timestamp,
    /// Client ids are unique for the server's life (not per listener incarnation): they key
    /// subscriptions and the requester of pending call operations.
    client_seq: AtomicU64,
    pub conn_ids: Arc<ConnIdGenerator>,
    pub snapshots: SnapshotTable,
    pub durable: Arc<DurableStore>,
    pub board: Board,
    pub directory: Directory,
    pub metrics: Metrics,
    /// `hide-sensitive-data` of [TServer]: how user data and digits appear in logs.
    pub visibility: Visibility,
    /// Bound before any actor starts, so a restarted listener actor keeps the same port
    /// (each incarnation accepts on a clone of the same socket).
    pub tlib_listener: TcpListener,
    pub tlib_acceptor: Acceptor,
    /// TLS client configuration for connector links with `protocol = tls` ([server] link-ca).
    pub link_tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    pub admin_listener: TcpListener,
    /// Readiness (`GET /ready`): every listener bound and every DN registered; cleared first on stop.
    pub ready: AtomicBool,
    /// False while the durable store refuses writes (readiness and metrics report it).
    pub persistence_ok: AtomicBool,
    /// Test hooks (panic a DN on request) are only honoured when enabled.
    pub test_hooks: bool,
    /// The simulation control API, served under the admin endpoint in embedded mode.
    pub sim_control: Option<crate::actors::connector::control_http::ControlState>,
    /// What the embedded reference router publishes (`[router] enabled`): outlives its actor.
    pub router_status: Arc<crate::router::RouterStatus>,
    /// The current Registry incarnation (set by the Registry itself when it starts).
    registry: parking_lot::RwLock<Option<ActorRef<RegistryMsg>>>,
    /// The current CallSup incarnation (set by itself when it starts).
    call_sup: parking_lot::RwLock<Option<ActorRef<crate::actors::call_sup::CallSupMsg>>>,
    monitor_sup: parking_lot::RwLock<Option<ActorRef<crate::actors::monitor_sup::MonitorMsg>>>,
    agent_sup: parking_lot::RwLock<Option<ActorRef<crate::actors::agent_sup::AgentSupMsg>>>,
    /// Which call families each configured DN takes part in (Call actors write their own).
    dn_families: parking_lot::RwLock<HashMap<DnName, BTreeSet<u64>>>,
    /// Call supervision subscriptions (MonitorSup writes; Call actors read).
    pub subscriptions: parking_lot::RwLock<crate::supervision::Subscriptions>,
}

impl ServerContext {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<ServerConfig>,
        durable: Arc<DurableStore>,
        tlib_listener: TcpListener,
        tlib_acceptor: Acceptor,
        link_tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
        admin_listener: TcpListener,
        test_hooks: bool,
    ) -> Self {
        let start_time = Timestamp::now();
        let visibility = Visibility::from_hide_flag(config.tserver.hide_sensitive_data);
        ServerContext {
            config,
            start_time,
            client_seq: AtomicU64::new(0),
            conn_ids: Arc::new(ConnIdGenerator::new(start_time.seconds)),
            snapshots: SnapshotTable::new(),
            durable,
            board: Board::new(),
            directory: Directory::default(),
            metrics: Metrics::new(),
            visibility,
            tlib_listener,
            tlib_acceptor,
            link_tls,
            admin_listener,
            ready: AtomicBool::new(false),
            persistence_ok: AtomicBool::new(true),
            test_hooks,
            registry: parking_lot::RwLock::new(None),
            call_sup: parking_lot::RwLock::new(None),
            monitor_sup: parking_lot::RwLock::new(None),
            agent_sup: parking_lot::RwLock::new(None),
            subscriptions: parking_lot::RwLock::new(Default::default()),
            dn_families: parking_lot::RwLock::new(HashMap::new()),
            sim_control: None,
            router_status: Arc::default(),
        }
    }

    /// Whether `dn` is on a call (in any call family).
    pub fn dn_on_call(&self, dn: &DnName) -> bool {
        self.dn_families.read().get(dn).is_some_and(|f| !f.is_empty())
    }

    /// Call family `family` now has exactly the DNs `now` on its calls (idempotent: a rebuilt
    /// family states the same again).
    pub fn set_family_dns(&self, family: u64, before: &BTreeSet<DnName>, now: &BTreeSet<DnName>) {
        let mut map = self.dn_families.write();
        for dn in before.difference(now) {
            if let Some(f) = map.get_mut(dn) {
                f.remove(&family);
                if f.is_empty() {
                    map.remove(dn);
                }
            }
        }
        for dn in now {
            map.entry(dn.clone()).or_default().insert(family);
        }
    }

    pub fn monitor_sup(&self) -> Option<ActorRef<crate::actors::monitor_sup::MonitorMsg>> {
        self.monitor_sup.read().clone()
    }

    pub(crate) fn set_monitor_sup(&self, m: ActorRef<crate::actors::monitor_sup::MonitorMsg>) {
        *self.monitor_sup.write() = Some(m);
    }

    pub fn agent_sup(&self) -> Option<ActorRef<crate::actors::agent_sup::AgentSupMsg>> {
        self.agent_sup.read().clone()
    }

    pub(crate) fn set_agent_sup(&self, m: ActorRef<crate::actors::agent_sup::AgentSupMsg>) {
        *self.agent_sup.write() = Some(m);
    }

    pub fn call_sup(&self) -> Option<ActorRef<crate::actors::call_sup::CallSupMsg>> {
        self.call_sup.read().clone()
    }

    pub(crate) fn set_call_sup(&self, m: ActorRef<crate::actors::call_sup::CallSupMsg>) {
        *self.call_sup.write() = Some(m);
    }

    pub fn registry(&self) -> Option<ActorRef<RegistryMsg>> {
        self.registry.read().clone()
    }

    pub(crate) fn set_registry(&self, registry: ActorRef<RegistryMsg>) {
        *self.registry.write() = Some(registry);
    }

    /// Gives an outgoing event its identity: ServerStartTime and Time. The EventSequenceNumber
    /// is written by each connection's writer (contiguous per client, see `outbound`).
    pub fn stamp(&self, event: &mut Event) {
        event.attrs.server_start_time = Some(self.start_time);
        event.attrs.time = Some(Timestamp::now());
    }

    /// A tokio listener on a clone of a socket bound at start-up.
    pub fn clone_listener(listener: &TcpListener) -> std::io::Result<tokio::net::TcpListener> {
        let std = listener.try_clone()?;
        std.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(std)
    }

    pub fn next_client_id(&self) -> u64 {
        self.client_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A client left `dn`: if it was the last one on a Routing Point, the calls waiting there are
    /// sent to default-dn (guide: "Alternate Routing").
    pub fn routing_client_left(&self, dn: &crate::model::DnName) {
        use crate::model::DnType;
        let is_rp = self
            .config
            .dns
            .get(dn)
            .is_some_and(|d| matches!(d.dn_type, DnType::RoutingPoint | DnType::ExternalRoutingPoint));
        if is_rp && self.directory.subscriber_count(dn) == 0 {
            if let Some(sup) = self.call_sup() {
                let _ = sup.cast(crate::actors::call_sup::CallSupMsg::RoutersGone { rp: dn.clone() });
            }
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && self.persistence_ok.load(Ordering::Relaxed)
    }
}
