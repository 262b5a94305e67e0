//! Starting and stopping one T-Server: bind every listener first (so `--tlib-listen 127.0.0.1:0`
//! works and a restarted listener keeps its port), open the durable store and load its snapshots,
//! spawn the tree, and declare readiness once every DN is registered. Shutdown is one ordered
//! path: readiness off, then the tree stopped from the root (children in reverse start order,
//! the persister's final flush last).

use crate::actors::connector::{self, ConnectorOptions, ConnectorProcess, ConnectorStartError};
use crate::actors::context::ServerContext;
use crate::actors::root;
use crate::actors::supervisor::{Supervisor, SupervisorArgs, SupervisorMsg};
use crate::config::ServerConfig;
use crate::store::DurableStore;
use crate::transport::{self, Acceptor};
use ractor::{Actor, ActorRef};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Overrides `[server] tlib-listen`.
    pub tlib_listen: Option<String>,
    /// Overrides `[server] admin-listen`.
    pub admin_listen: Option<String>,
    /// Overrides `[server] data-dir`.
    pub data_dir: Option<PathBuf>,
    /// Honour test hooks (a DN panicking on request). Never set in production.
    pub test_hooks: bool,
    /// Embedded connector: its CTI listen address, overriding link 1's hostname:port (port 0 allowed).
    pub connector_listen: Option<String>,
}

pub struct ServerHandle {
    pub ctx: Arc<ServerContext>,
    /// The Connector and simulated SfB started in-process (`[server] embedded-connector`).
    pub embedded: Option<ConnectorProcess>,
    pub root: ActorRef<SupervisorMsg>,
    pub tlib_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    join: JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {what} address {addr}: {source}")]
    Bind { what: &'static str, addr: String, source: std::io::Error },
    #[error("[server] tls-cert/tls-key: {0}")]
    Tls(#[from] transport::TransportError),
    #[error("snapshot store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("actor tree failed to start: {0}")]
    Spawn(String),
    #[error("not every DN registered within {0:?}")]
    NotReady(Duration),
    #[error("embedded connector: {0}")]
    Connector(#[from] ConnectorStartError),
}

fn bind(what: &'static str, addr: &str) -> Result<std::net::TcpListener, StartError> {
    std::net::TcpListener::bind(addr).map_err(|source| StartError::Bind { what, addr: addr.to_string(), source })
}

pub async fn start(mut config: ServerConfig, opts: StartOptions) -> Result<ServerHandle, StartError> {
    let data_dir = opts.data_dir.clone().unwrap_or_else(|| config.server.data_dir.clone());
    // Embedded mode: the Connector and the simulated SfB run in this process, joined to the
    // T-Server by a real loopback MLTP connection on link 1 — the same code as a distributed setup.
    let embedded = match config.links.first() {
        Some(link) if config.server.embedded_connector => {
            let listen = opts.connector_listen.clone().unwrap_or_else(|| format!("{}:{}", link.hostname, link.port));
            let sim =
                crate::sim::SimSection::from_value(&config.sim).map_err(|e| ConnectorStartError::Sim(e.to_string()))?;
            let copts = ConnectorOptions {
                connectors: vec![(link.name.clone(), listen)],
                control_listen: None,
                data_dir: data_dir.join("connector"),
                sim,
                tls: None,
            };
            let process = connector::start(Arc::new(config.clone()), copts).await?;
            let bound = process.connectors[0].1;
            config.links[0].hostname = bound.ip().to_string();
            config.links[0].port = bound.port();
            config.links[0].protocol = crate::config::LinkProtocol::Tcp;
            Some(process)
        }
        _ => None,
    };
    let config = Arc::new(config);
    let server = &config.server;
    let tlib = bind("tlib-listen", &opts.tlib_listen.clone().unwrap_or_else(|| server.tlib_listen.to_string()))?;
    let admin = bind("admin-listen", &opts.admin_listen.clone().unwrap_or_else(|| server.admin_listen.to_string()))?;
    let acceptor = match &server.tls {
        Some(files) => Acceptor::tls(transport::server_config(&files.cert, &files.key)?),
        None => Acceptor::plain(),
    };
    let link_tls = match &server.link_ca {
        Some(ca) => Some(transport::client_config(ca)?),
        None => None,
    };
    let store_path = data_dir.join("snapshots.log");
    let durable = tokio::task::spawn_blocking(move || DurableStore::open(&store_path))
        .await
        .map_err(|e| StartError::Spawn(e.to_string()))??;
    let durable = Arc::new(durable);
    let loaded = {
        let d = durable.clone();
        tokio::task::spawn_blocking(move || d.load_all()).await.map_err(|e| StartError::Spawn(e.to_string()))??
    };
    let tlib_addr =
        tlib.local_addr().map_err(|source| StartError::Bind { what: "tlib-listen", addr: "?".into(), source })?;
    let admin_addr =
        admin.local_addr().map_err(|source| StartError::Bind { what: "admin-listen", addr: "?".into(), source })?;
    let mut ctx = ServerContext::new(config.clone(), durable, tlib, acceptor, link_tls, admin, opts.test_hooks);
    ctx.sim_control = embedded.as_ref().map(|p| p.control.clone());
    let ctx = Arc::new(ctx);
    tracing::info!(snapshots = loaded.len(), "snapshots loaded from the durable store");
    ctx.snapshots.load(loaded);

    let args = SupervisorArgs {
        name: root::NAME.into(),
        board: ctx.board.clone(),
        children: root::children(&ctx),
        stop_timeout: Duration::from_secs(10),
    };
    let (root, join) = Actor::spawn(None, Supervisor, args).await.map_err(|e| StartError::Spawn(e.to_string()))?;

    // Ready once every DN actor is up (snapshot restored) and, with the embedded connector, every
    // DN of its pool is registered on the switch. External connectors do not gate readiness: a
    // T-Server whose connectors are down still serves clients, with those DNs out of service.
    let expected = config.dns.len();
    let on_switch = match &embedded {
        Some(_) => {
            let pool = &config.links[0].pool_name;
            config.dns.values().filter(|d| d.register && &d.pool == pool).count()
        }
        None => 0,
    };
    let deadline = Duration::from_secs(30);
    let started = Instant::now();
    while ctx.directory.dn_count() < expected || ctx.directory.serving_count() < on_switch {
        if started.elapsed() > deadline {
            root.stop(None);
            return Err(StartError::NotReady(deadline));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    ctx.ready.store(true, Ordering::Release);
    tracing::info!(%tlib_addr, %admin_addr, dns = expected, "T-Server ready");
    Ok(ServerHandle { ctx, embedded, root, tlib_addr, admin_addr, join })
}

impl ServerHandle {
    /// The one ordered stop: readiness off first, then the tree from the root.
    pub async fn shutdown(self) {
        self.ctx.ready.store(false, Ordering::Release);
        if self.root.stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(30))).await.is_err() {
            tracing::warn!("root did not stop in time");
        }
        let _ = self.join.await;
        if let Some(c) = self.embedded {
            c.shutdown().await;
        }
    }

    /// Resolves when the root exits on its own (escalated failure).
    pub async fn stopped(&mut self) {
        let _ = (&mut self.join).await;
    }
}
