//! AdminHttp: the operator's endpoint (HTTP, loopback by default, optional bearer token).
//! `GET /health` (process alive), `GET /ready` (listeners bound, every DN registered),
//! `GET /tree` (every actor: name, kind, supervisor, status, restarts, parked), `GET /tree/{name}`
//! (that actor's live view or snapshot), `POST /restart/{name}` (restart that actor or subtree in
//! place), `GET /metrics` (Prometheus text). It reads shared tables and never calls up the tree.

use crate::actors::agent_session::AgentSessionMsg;
use crate::actors::board::{ChildInfo, ChildStatus};
use crate::actors::context::ServerContext;
use crate::actors::dn::DnMsg;
use crate::actors::supervision::{child, ChildSpec, RestartPolicy};
use crate::actors::task::AbortOnDrop;
use crate::metrics::{ActorStats, RuntimeStats};
use crate::model::DnName;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "admin-http";

pub struct AdminHttp;

pub struct AdminState {
    ctx: Arc<ServerContext>,
    server: Option<AbortOnDrop<()>>,
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "AdminHttp", RestartPolicy::permanent(), move || (AdminHttp, ctx.clone()))
}

impl Actor for AdminHttp {
    type Msg = ();
    type State = AdminState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(&self, _me: ActorRef<()>, ctx: Arc<ServerContext>) -> Result<AdminState, ActorProcessingErr> {
        Ok(AdminState { ctx, server: None })
    }

    async fn post_start(&self, _me: ActorRef<()>, st: &mut AdminState) -> Result<(), ActorProcessingErr> {
        let listener = ServerContext::clone_listener(&st.ctx.admin_listener)?;
        let app = router(st.ctx.clone());
        st.server = Some(AbortOnDrop::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "admin endpoint stopped");
            }
        }));
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<()>, st: &mut AdminState) -> Result<(), ActorProcessingErr> {
        st.server = None;
        Ok(())
    }
}

pub fn router(ctx: Arc<ServerContext>) -> Router {
    let protected = Router::new()
        .route("/tree", get(tree))
        .route("/tree/{name}", get(tree_node))
        .route("/restart/{name}", post(restart))
        .route("/metrics", get(metrics))
        .route("/latency", get(latency))
        .route_layer(middleware::from_fn_with_state(ctx.clone(), bearer));
    let mut app = Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .merge(protected)
        .with_state(ctx.clone());
    // Embedded mode: the simulation control API lives here too, behind the same bearer token.
    if let Some(control) = ctx.sim_control.clone() {
        let guard = middleware::from_fn_with_state(ctx.clone(), bearer);
        app = app.merge(crate::actors::connector::control_http::router(control).route_layer(guard));
    }
    app
}

async fn bearer(State(ctx): State<Arc<ServerContext>>, req: Request, next: Next) -> Response {
    let token = ctx.config.server.admin_token.as_deref().unwrap_or("");
    if !token.is_empty() {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !constant_time_eq(given.as_bytes(), format!("Bearer {token}").as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing or wrong bearer token\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Compares without an early exit, so response timing does not reveal how much of a guessed
/// token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn ready(State(ctx): State<Arc<ServerContext>>) -> Response {
    if ctx.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

fn root_info() -> ChildInfo {
    ChildInfo {
        name: crate::actors::root::NAME.into(),
        kind: "Root".into(),
        supervisor: String::new(),
        status: ChildStatus::Running,
        restarts: 0,
        parked: false,
        last_error: None,
        actor_id: None,
    }
}

async fn tree(State(ctx): State<Arc<ServerContext>>) -> Response {
    Json(ctx.board.tree(root_info())).into_response()
}

async fn tree_node(State(ctx): State<Arc<ServerContext>>, Path(name): Path<String>) -> Response {
    let Some(info) = ctx.board.child(&name).or_else(|| (name == crate::actors::root::NAME).then(root_info)) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": format!("no actor named {name}")}))).into_response();
    };
    // A Dn and an AgentSession answer with their live view; every other actor with its stored snapshot, if it has one.
    let mut view = serde_json::Value::Null;
    if name == crate::actors::router::NAME {
        view = ctx.router_status.to_json();
    }
    if let Some(dn) = name.strip_prefix("dn:").map(DnName::new) {
        if let Some(actor) = ctx.directory.dn(&dn) {
            if let Ok(v) = ractor::call_t!(actor, DnMsg::GetView, 1000) {
                view = serde_json::to_value(v).unwrap_or_default();
            }
        }
    }
    if let Some(dn) = name.strip_prefix("agent-session:").map(DnName::new) {
        if let Some(actor) = ctx.directory.agent_session(&dn) {
            if let Ok(v) = ractor::call_t!(actor, AgentSessionMsg::GetView, 1000) {
                view = serde_json::to_value(v).unwrap_or_default();
            }
        }
    }
    let snapshot = ctx.snapshots.get(&name).map(|s| serde_json::to_value(s).unwrap_or_default());
    Json(json!({"actor": info, "view": view, "snapshot": snapshot})).into_response()
}

async fn restart(State(ctx): State<Arc<ServerContext>>, Path(name): Path<String>) -> Response {
    match ctx.board.restart(&name, Duration::from_secs(15)).await {
        Ok(()) => {
            tracing::info!(actor = %name, "restarted in place by operator");
            Json(json!({"restarted": name, "actor": ctx.board.child(&name)})).into_response()
        }
        Err(e) if e.starts_with("no actor") => (StatusCode::NOT_FOUND, Json(json!({"error": e}))).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": e}))).into_response(),
    }
}

async fn metrics(State(ctx): State<Arc<ServerContext>>) -> Response {
    let mut stats = ActorStats::default();
    for c in ctx.board.children() {
        if c.status == ChildStatus::Running {
            *stats.by_kind.entry(c.kind.clone()).or_default() += 1;
        }
        *stats.restarts_by_kind.entry(c.kind.clone()).or_default() += c.restarts;
        stats.parked += c.parked as u64;
    }
    *stats.by_kind.entry("Root".into()).or_default() += 1;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(&stats, &RuntimeStats::of(&tokio::runtime::Handle::current())),
    )
        .into_response()
}

/// The request -> event histogram's recorded values (a load run takes the difference per step).
async fn latency(State(ctx): State<Arc<ServerContext>>) -> Json<crate::latency::LatencyRecord> {
    Json(ctx.metrics.request_latency.record_of())
}
