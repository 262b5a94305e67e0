//! The `sfb-tserver` binary: `run` (the T-Server, on config/default.toml unless --config is given),
//! `client` (the T-Library CLI, human or JSON lines), `router` (the reference router), `load` (the load
//! generator), `check-config FILE`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sfb_tserver::actors::server::{self, StartOptions};
use sfb_tserver::cli;
use sfb_tserver::config;
use std::path::PathBuf;

/// mimalloc instead of the system allocator: the server allocates per event, and glibc's malloc
/// was 13% of its CPU (a fifth less CPU with mimalloc, resident memory about the same;
/// BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "sfb-tserver", version, about = "T-Server for Skype for Business (T-Library CTI server)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the T-Server (the default command).
    Run(RunArgs),
    /// Run Connectors with the simulated Skype for Business (standalone, next to a T-Server).
    Connector(ConnectorArgs),
    /// T-Library client: interactive, or one JSON request per line with --json.
    Client(cli::client::ClientArgs),
    /// Load generator: agent desktops, callers from the simulation, a report (JSON, summary, SVG).
    Load(Box<cli::load::LoadArgs>),
    /// The reference router: registers the [router] Routing Points and routes each call to the
    /// longest-idle Ready agent of its target group (music or an IM prompt while none is free).
    Router(cli::router::RouterArgs),
    /// Validate a configuration file and print the resolved model.
    CheckConfig {
        file: PathBuf,
        /// Also check each pool's conference-pool-size against the guide's sizing rule for this
        /// many simultaneous calls (maxCalls).
        #[arg(long)]
        max_calls: Option<u32>,
        /// Connectors of a pool that may be stopped at any time (numStopped), with --max-calls.
        #[arg(long, default_value_t = 0, requires = "max_calls")]
        stopped_connectors: u32,
    },
}

#[derive(clap::Args, Default)]
struct RunArgs {
    /// Configuration file (TOML); the embedded config/default.toml when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// T-Library listen address, overriding [server] tlib-listen (port 0 picks a free port).
    #[arg(long)]
    tlib_listen: Option<String>,
    /// Admin HTTP listen address, overriding [server] admin-listen (port 0 picks a free port).
    #[arg(long)]
    admin_listen: Option<String>,
    /// Directory of the durable snapshot store, overriding [server] data-dir.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Embedded connector's CTI listen address, overriding link 1's hostname:port (port 0 allowed).
    #[arg(long)]
    connector_listen: Option<String>,
    /// Enable test hooks (never in production).
    #[arg(long, hide = true)]
    test_hooks: bool,
}

#[derive(clap::Args, Default)]
struct ConnectorArgs {
    /// Configuration file (TOML): the Switch annex, DNs and [sim]; the embedded default when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A Connector to run, as NAME=HOST:PORT (repeatable). Default: one per link section.
    #[arg(long = "connector")]
    connectors: Vec<String>,
    /// Simulation control API listen address.
    #[arg(long, default_value = "127.0.0.1:9080")]
    control_listen: String,
    /// Directory of the Connectors' HA data.
    #[arg(long, default_value = "data/connector")]
    data_dir: PathBuf,
    /// TLS on the CTI ports: certificate (PEM); the T-Server trusts it through [server] link-ca.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS on the CTI ports: private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn init_tracing() {
    init_tracing_at("info");
}

/// Logs to stderr at `RUST_LOG`, or `default` when it is not set.
fn init_tracing_at(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn load_config(path: Option<&std::path::Path>) -> Result<config::ServerConfig> {
    let overrides = config::env_overrides();
    let cfg = match path {
        Some(path) => config::load_file_with_overrides(path, &overrides)
            .with_context(|| format!("{} is refused", path.display()))?,
        None => config::load(config::EMBEDDED_DEFAULT, "embedded config/default.toml", &overrides)
            .context("the embedded configuration is refused")?,
    };
    // The [sim] section is validated here too, so a broken one is refused at start.
    sfb_tserver::sim::SimSection::from_value(&cfg.sim).map_err(|e| anyhow::anyhow!("[sim] is refused: {e}"))?;
    Ok(cfg)
}

/// Keeps the kernel from backing this process's heap with transparent huge pages. The allocator
/// (mimalloc) maps its arenas aligned, so with THP on `madvise` they were faulted in 2 MiB at a
/// time: tens of thousands of actors allocate and free small blocks all over those arenas, and a
/// huge page stays resident while any part of it is used. 10,000 agents at 1,000 CPS: 86 MiB of
/// the T-Server's RSS were huge pages, and its peak fell from 965-972 MiB to 931-950 MiB without
/// them; with 1,200 calls 131 -> 96 MiB and 7.0-7.4 -> 6.5 CPU s (fewer page faults), BENCHMARKS.md.
/// Linux only; a refusal leaves the process as it was (logging is not set up yet here).
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only; PR_SET_THP_DISABLE sets a flag on this process.
    unsafe {
        libc::prctl(
            libc::PR_SET_THP_DISABLE,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        );
    }
}

fn main() -> Result<()> {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::CheckConfig { file, max_calls, stopped_connectors } => {
            let cfg = load_config(Some(&file))?;
            print!("{}", config::render(&cfg));
            if let Some(max_calls) = max_calls {
                println!(
                    "\n{}",
                    sfb_tserver::conference_pool::sizing_report(&cfg, max_calls, stopped_connectors).join("\n")
                );
            }
            Ok(())
        }
        Command::Connector(args) => {
            init_tracing();
            let cfg = load_config(args.config.as_deref())?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(run_connectors(cfg, args))
        }
        Command::Client(args) => {
            init_tracing();
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(cli::client::run(args))
        }
        Command::Load(args) => {
            init_tracing_at("warn");
            let rt = tokio::runtime::Runtime::new()?;
            let status = rt.block_on(cli::load::run(*args))?;
            std::process::exit(status);
        }
        Command::Router(args) => {
            init_tracing();
            let cfg = load_config(args.config.as_deref())?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(cli::router::run(cfg, args))
        }
        Command::Run(args) => {
            init_tracing();
            let cfg = load_config(args.config.as_deref())?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(run(cfg, args))
        }
    }
}

async fn run(cfg: config::ServerConfig, args: RunArgs) -> Result<()> {
    let opts = StartOptions {
        tlib_listen: args.tlib_listen,
        admin_listen: args.admin_listen,
        data_dir: args.data_dir,
        test_hooks: args.test_hooks,
        connector_listen: args.connector_listen,
    };
    let mut handle = server::start(cfg, opts).await?;
    // The start-up contract for scripts: exactly one line, once everything is bound and registered.
    println!("READY tlib={} admin={}", handle.tlib_addr, handle.admin_addr);
    use std::io::Write;
    std::io::stdout().flush()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = handle.stopped() => anyhow::bail!("the actor tree stopped on its own (escalated failure); see the log"),
    }
    handle.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn run_connectors(cfg: config::ServerConfig, args: ConnectorArgs) -> Result<()> {
    use sfb_tserver::actors::connector::{self, connector::ConnectorMsg, ConnectorOptions};
    let connectors: Vec<(String, String)> = if args.connectors.is_empty() {
        cfg.links.iter().map(|l| (l.name.clone(), format!("{}:{}", l.hostname, l.port))).collect()
    } else {
        args.connectors
            .iter()
            .map(|c| c.split_once('=').map(|(n, a)| (n.to_string(), a.to_string())))
            .collect::<Option<_>>()
            .context("--connector takes NAME=HOST:PORT")?
    };
    let sim = sfb_tserver::sim::SimSection::from_value(&cfg.sim).map_err(|e| anyhow::anyhow!("[sim]: {e}"))?;
    let tls = args.tls_cert.zip(args.tls_key);
    let opts =
        ConnectorOptions { connectors, control_listen: Some(args.control_listen), data_dir: args.data_dir, sim, tls };
    let mut process = connector::start(std::sync::Arc::new(cfg), opts).await?;
    let list: Vec<String> = process.connectors.iter().map(|(n, a)| format!("{n}@{a}")).collect();
    let control = process.control_addr.map(|a| a.to_string()).unwrap_or_default();
    println!("READY control={control} connectors={}", list.join(","));
    use std::io::Write;
    std::io::stdout().flush()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("SIGINT: normal stop (resources freed at once)");
            process.shutdown().await;
            return Ok(());
        }
        _ = term.recv() => tracing::info!("SIGTERM: graceful shutdown (suspending; exit when calls end)"),
        _ = process.stopped() => anyhow::bail!("the connector tree stopped on its own; see the log"),
    }
    let refs: Vec<_> = process.control.connectors.connectors.read().values().cloned().collect();
    for c in &refs {
        let _ = c.cast(ConnectorMsg::Suspend);
    }
    // Exit once every Connector has stopped (its last call ended), or on a second signal.
    let all_stopped = async {
        for c in &refs {
            let _ = c.wait(None).await;
        }
    };
    tokio::select! {
        _ = all_stopped => tracing::info!("graceful shutdown complete"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT during graceful shutdown: stopping now"),
        _ = term.recv() => tracing::info!("second SIGTERM: stopping now"),
    }
    process.shutdown().await;
    Ok(())
}
