//! The Connector side: the simulated Skype for Business and the UCMA Connectors that drive it.
//! One process (a standalone `sfb-tserver connector`, or embedded in `run`) holds one simulated
//! SfB deployment and one or more Connectors attached to it, each with its own CTI port:
//!
//! ```text
//! connector-root            Root (Supervisor)     ordered start, reverse-order stop
//! ├─ sfb-sim                SfbSim                permanent   the simulated SfB (world kept outside the actor)
//! ├─ connector:<name>       Connector             transient   CTI port, conference pool, HA data; a stop is final
//! │  └─ mltp:<name>:<n>     LinkSession           temporary   one per T-Server link
//! └─ control-http           ControlHttp           permanent   the simulation control API
//! ```
//!
//! The simulated SfB starts first (connectors attach to it) and stops last.

// The folder is the Connector *process*; this file is its Connector *actor*.
#[allow(clippy::module_inception)]
pub mod connector;
pub mod control_http;
pub mod events;
pub mod link_session;
pub mod sfb_sim;
pub mod sim_link;
pub mod sim_ticker;

use crate::actors::board::Board;
use crate::actors::supervision::{child, ChildSpec, Restart, RestartPolicy};
use crate::actors::supervisor::{Supervisor, SupervisorArgs, SupervisorMsg};
use crate::config::ServerConfig;
use crate::sim::{SimConfig, SimSection, World};
use crate::store::DurableStore;
use connector::{Connector, ConnectorArgs};
use control_http::{ConnectorDirectory, ControlArgs, ControlHttp, ControlState};
use ractor::{Actor, ActorRef};
use sfb_sim::{SfbSim, SimLink, SimShared};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The drawn connector tree, as (name pattern, kind, supervisor) rows (checked by a test).
pub const DRAWN_TREE: &[(&str, &str, &str)] = &[
    ("sfb-sim", "SfbSim", "connector-root"),
    ("connector:<name>", "Connector", "connector-root"),
    ("mltp:<name>:<n>", "LinkSession", "connector:<name>"),
    ("control-http", "ControlHttp", "connector-root"),
];

pub struct ConnectorOptions {
    /// (connector name, CTI listen address) for each Connector of this process.
    pub connectors: Vec<(String, String)>,
    pub control_listen: Option<String>,
    pub data_dir: PathBuf,
    pub sim: SimSection,
    /// TLS on the Connectors' CTI ports: (certificate, private key) PEM files.
    pub tls: Option<(PathBuf, PathBuf)>,
}

pub struct ConnectorProcess {
    pub root: ActorRef<SupervisorMsg>,
    pub board: Board,
    pub sim: Arc<SimLink>,
    pub control: ControlState,
    /// (name, bound CTI address) per Connector.
    pub connectors: Vec<(String, SocketAddr)>,
    pub control_addr: Option<SocketAddr>,
    join: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorStartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("HA data store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("simulation configuration: {0}")]
    Sim(String),
    #[error("connector tree failed to start: {0}")]
    Spawn(String),
    #[error("TLS: {0}")]
    Tls(#[from] crate::transport::TransportError),
}

fn bind(addr: &str) -> Result<Arc<std::net::TcpListener>, ConnectorStartError> {
    std::net::TcpListener::bind(addr)
        .map(Arc::new)
        .map_err(|source| ConnectorStartError::Bind { addr: addr.to_string(), source })
}

pub async fn start(config: Arc<ServerConfig>, opts: ConnectorOptions) -> Result<ConnectorProcess, ConnectorStartError> {
    let sim_cfg = SimConfig::from_server_config(&config, opts.sim.clone())
        .map_err(|e| ConnectorStartError::Sim(e.to_string()))?;
    let shared = SimShared::new(World::new(sim_cfg));
    let sim = SimLink::new(shared);
    let store_path = opts.data_dir.join("connector-ha.log");
    let store = tokio::task::spawn_blocking(move || DurableStore::open(&store_path))
        .await
        .map_err(|e| ConnectorStartError::Spawn(e.to_string()))??;
    let store = Arc::new(store);
    let acceptor = match &opts.tls {
        Some((cert, key)) => crate::transport::Acceptor::tls(crate::transport::server_config(cert, key)?),
        None => crate::transport::Acceptor::plain(),
    };
    let board = Board::new();
    let directory = Arc::new(ConnectorDirectory::default());
    let control = ControlState { sim: sim.clone(), connectors: directory.clone() };

    let mut children = vec![{
        let sim = sim.clone();
        child("sfb-sim", "SfbSim", RestartPolicy::permanent(), move || (SfbSim, sim.clone()))
    }];
    let mut bound = Vec::new();
    for (name, addr) in &opts.connectors {
        let listener = bind(addr)?;
        bound.push((
            name.clone(),
            listener.local_addr().map_err(|source| ConnectorStartError::Bind { addr: addr.clone(), source })?,
        ));
        let (name, config, sim, store, board, directory, acceptor) = (
            name.clone(),
            config.clone(),
            sim.clone(),
            store.clone(),
            board.clone(),
            directory.clone(),
            acceptor.clone(),
        );
        let hide = config.tserver.hide_sensitive_data;
        // A stop (normal or after a graceful shutdown) is final; only a failure restarts it.
        let policy = RestartPolicy { restart: Restart::Transient, ..RestartPolicy::permanent() };
        children.push(ChildSpec {
            name: format!("connector:{name}"),
            kind: "Connector",
            policy,
            spawn: Arc::new(move |sup| {
                let args = ConnectorArgs {
                    name: name.clone(),
                    config: config.clone(),
                    listener: listener.clone(),
                    sim: sim.clone(),
                    store: store.clone(),
                    hide_sensitive_data: hide,
                    board: board.clone(),
                    acceptor: acceptor.clone(),
                };
                // Published once spawned, so `start` (and the control API) can find it.
                let (directory, name) = (directory.clone(), name.clone());
                Box::pin(async move {
                    let (actor, _) = Actor::spawn_linked(None, Connector, args, sup).await?;
                    directory.connectors.write().insert(name, actor.clone());
                    Ok(actor.get_cell())
                })
            }),
        });
    }
    let mut control_addr = None;
    if let Some(addr) = &opts.control_listen {
        let listener = bind(addr)?;
        control_addr = listener.local_addr().ok();
        let state = control.clone();
        children.push(child("control-http", "ControlHttp", RestartPolicy::permanent(), move || {
            (ControlHttp, ControlArgs { state: state.clone(), listener: listener.clone() })
        }));
    }
    let args = SupervisorArgs {
        name: "connector-root".into(),
        board: board.clone(),
        children,
        stop_timeout: Duration::from_secs(10),
    };
    let (root, join) =
        Actor::spawn(None, Supervisor, args).await.map_err(|e| ConnectorStartError::Spawn(e.to_string()))?;
    // The root starts its children in its post_start: wait until every Connector is up, so the
    // caller can use them as soon as this returns.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while directory.connectors.read().len() < bound.len() {
        if tokio::time::Instant::now() > deadline {
            root.stop(None);
            return Err(ConnectorStartError::Spawn("connectors did not start within 10 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(ConnectorProcess { root, board, sim, control, connectors: bound, control_addr, join })
}

impl ConnectorProcess {
    pub async fn shutdown(self) {
        let _ = self.root.stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(20))).await;
        let _ = self.join.await;
    }

    /// Resolves when the root exits on its own.
    pub async fn stopped(&mut self) {
        let _ = (&mut self.join).await;
    }
}
