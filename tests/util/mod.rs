//! Test harness: a T-Server on port 0 with its own data directory, fake T-Library clients (the
//! client library plus raw sockets), a minimal HTTP client for the admin endpoint, and
//! `wait_until` instead of sleeps.

#![allow(dead_code)]

pub mod mltp_peer;

use sfb_tserver::actors::server::{self, ServerHandle, StartOptions};
use sfb_tserver::client::Client;
use sfb_tserver::config::{self, ServerConfig};
use sfb_tserver::model::DnName;
use sfb_tserver::tlib::{Attributes, Event, Request, RequestKind};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const AGENT01: &str = "sip:agent01@skype.lab";
pub const AGENT02: &str = "sip:agent02@skype.lab";
pub const AGENT03: &str = "sip:agent03@skype.lab";
pub const AGENT04: &str = "sip:agent04@skype.lab";
pub const STEP: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub handle: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, tweak).await
    }

    /// Starts on an existing data directory (durability tests restart the process this way).
    /// The embedded reference router is off unless `tweak` turns it on: most tests act as the
    /// routing client themselves or count the clients and actors they made.
    pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        Self::start_shipped_in(dir, |cfg| {
            cfg.router.enabled = false;
            tweak(cfg)
        })
        .await
    }

    /// Starts on the embedded default exactly as `cargo run` does (reference router included),
    /// only the ports and the data directory changed.
    pub async fn start_as_shipped() -> TestServer {
        Self::start_shipped_in(tempfile::tempdir().unwrap(), |_| {}).await
    }

    async fn start_shipped_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let mut cfg = config::embedded_default();
        tweak(&mut cfg);
        let opts = StartOptions {
            tlib_listen: Some("127.0.0.1:0".into()),
            admin_listen: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().to_path_buf()),
            test_hooks: true,
            connector_listen: Some("127.0.0.1:0".into()),
        };
        let handle = server::start(cfg, opts).await.expect("server starts");
        TestServer { handle: Some(handle), dir }
    }

    pub fn h(&self) -> &ServerHandle {
        self.handle.as_ref().unwrap()
    }

    pub fn tlib(&self) -> String {
        self.h().tlib_addr.to_string()
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.tlib()).await.expect("client connects")
    }

    pub async fn admin(&self, method: &str, path: &str) -> (u16, String) {
        http(&self.h().admin_addr.to_string(), method, path, None).await
    }

    /// A JSON request to the admin endpoint (which also serves the simulation API when embedded).
    pub async fn admin_json(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let (status, text) = http_body(&self.h().admin_addr.to_string(), method, path, None, body).await;
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// A simulated caller `from` dials `to` (a SfB URI or Tel URI); the EventRinging `desk`, which
    /// registered the DN, gets for the call.
    pub async fn ring(&self, desk: &mut Client, from: &str, to: &str) -> Event {
        self.admin_json("POST", "/sim/calls", &serde_json::json!({"from": from, "to": to}).to_string()).await;
        desk.wait_for(STEP, |e| e.kind == sfb_tserver::tlib::EventKind::Ringing).await.expect("EventRinging")
    }

    pub async fn shutdown(mut self) -> tempfile::TempDir {
        self.handle.take().unwrap().shutdown().await;
        self.dir
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub async fn wait_until<F, Fut>(timeout: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One HTTP/1.1 request; returns (status, body).
pub async fn http(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    http_body(addr, method, path, token, "").await
}

/// One HTTP/1.1 request with a JSON body; returns (status, body).
pub async fn http_body(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let len = body.len();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let text = String::from_utf8_lossy(&resp).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

pub fn req(kind: RequestKind, this_dn: &str) -> Request {
    Request::with_attrs(kind, Attributes { this_dn: Some(DnName::new(this_dn)), ..Default::default() })
}

/// A whole configuration from `text` for [`TestServer::start_with`], the reference router kept off
/// as `start_with` promises (replacing the configuration would otherwise turn the embedded
/// default's router back on, and it would race the test's own routing client).
pub fn config_text(text: String) -> impl FnOnce(&mut ServerConfig) {
    move |c| {
        *c = config::load_str(&text).expect("valid test configuration");
        c.router.enabled = false;
    }
}

pub fn error_code(ev: &Event) -> Option<i32> {
    ev.attrs.error_code.map(|c| c.code())
}

/// Logs to the test's output when `TEST_LOG` is set (e.g. `TEST_LOG=debug cargo test name`).
pub fn init_log() {
    if let Ok(level) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(level).with_test_writer().try_init();
    }
}
