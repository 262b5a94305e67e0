//! The `sfb-tserver` binary: `run` (the T-Server, on config/default.toml unless --config is given),
//! `client` (the T-Library CLI, human or JSON lines), `check-config FILE`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sfb_tserver::actors::server::{self, StartOptions};
use sfb_tserver::cli;
use sfb_tserver::config;
use std::path::PathBuf;

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
    /// T-Library client: interactive, or one JSON request per line with --json.
    Client(cli::client::ClientArgs),
    /// Validate a configuration file and print the resolved model.
    CheckConfig { file: PathBuf },
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
    /// Enable test hooks (never in production).
    #[arg(long, hide = true)]
    test_hooks: bool,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::CheckConfig { file } => {
            let cfg = config::load_file_with_overrides(&file, &config::env_overrides())
                .with_context(|| format!("{} is refused", file.display()))?;
            print!("{}", config::render(&cfg));
            Ok(())
        }
        Command::Client(args) => {
            init_tracing();
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(cli::client::run(args))
        }
        Command::Run(args) => {
            init_tracing();
            let overrides = config::env_overrides();
            let cfg = match &args.config {
                Some(path) => config::load_file_with_overrides(path, &overrides)
                    .with_context(|| format!("{} is refused", path.display()))?,
                None => config::load(config::EMBEDDED_DEFAULT, "embedded config/default.toml", &overrides)
                    .context("the embedded configuration is refused")?,
            };
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
