//! `sfb-tserver router`: the reference router as its own process, next to a running T-Server.
//! It reads the `[router]` section of a configuration file (the embedded default when none is
//! given; `enabled` is ignored here — running the command is the intent), connects to `--server`
//! (else `[router] server`, else `[server] tlib-listen`), and routes until SIGINT / SIGTERM,
//! reconnecting with backoff whenever the connection is lost. Once it has registered every DN it
//! prints one line on stdout for scripts: `ROUTING server=ADDR routing-points=N agents=M`.

use crate::config::ServerConfig;
use crate::router::{session, RouterSettings, RouterStatus, Target};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug, Default)]
pub struct RouterArgs {
    /// T-Server address (host:port); default: [router] server, else [server] tlib-listen.
    #[arg(long)]
    pub server: Option<String>,
    /// Configuration file with the [router] section (and the DNs it names); the embedded
    /// config/default.toml when absent.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Connect with TLS, trusting the CA certificate(s) in this PEM file (default: [router] tls-ca).
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Server name to verify with TLS (default: [router] tls-name).
    #[arg(long)]
    pub tls_name: Option<String>,
}

/// Where to connect and how, from the flags over the configuration.
pub fn target(cfg: &ServerConfig, args: &RouterArgs) -> Result<Target> {
    let r = &cfg.router;
    let addr = args.server.clone().or_else(|| r.server.clone()).unwrap_or_else(|| cfg.server.tlib_listen.to_string());
    let tls = match args.tls_ca.as_ref().or(r.tls_ca.as_ref()) {
        Some(ca) => Some((crate::transport::client_config(ca)?, args.tls_name.clone().unwrap_or(r.tls_name.clone()))),
        None => None,
    };
    Ok(Target { addr, tls })
}

pub async fn run(cfg: ServerConfig, args: RouterArgs) -> Result<()> {
    let settings = RouterSettings::from(&cfg.router);
    if settings.routing_points.is_empty() || settings.agents.is_empty() {
        bail!("[router] names no routing-points or no agents: nothing to route");
    }
    let target = target(&cfg, &args)?;
    let status = Arc::new(RouterStatus::default());
    let line = format!(
        "ROUTING server={} routing-points={} agents={}",
        target.addr,
        settings.routing_points.len(),
        settings.agents.len()
    );
    let task = tokio::spawn(session::run(settings, target, status.clone()));
    let announce = {
        let status = status.clone();
        tokio::spawn(async move {
            while !status.is_routing() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            println!("{line}");
            use std::io::Write;
            let _ = std::io::stdout().flush();
        })
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping the router"),
        _ = term.recv() => tracing::info!("SIGTERM: stopping the router"),
    }
    announce.abort();
    task.abort();
    let counters = status.view().map(|v| v.counters);
    tracing::info!(?counters, "router stopped");
    Ok(())
}
