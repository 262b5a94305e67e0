//! The simulation control API (HTTP JSON): the contract that tests, demos and the load generator
//! use to act as customers and SfB clients, plus the connectors' state and their stop commands.
//! Served on a Connector process's control port, and under the T-Server's admin endpoint in
//! embedded mode. Unknown users and impossible actions answer 4xx with `{"error": ...}`; bad
//! JSON answers 400 — never a 500 for a caller's mistake.

// Handlers return early with a ready axum Response; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use crate::actors::connector::connector::{ConnectorMsg, ConnectorView};
use crate::actors::connector::sfb_sim::{ControlCmd, SfbMsg, SimLink};
use crate::sim::{AnswerMode, CallId, Media, SimError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parking_lot::RwLock;
use ractor::ActorRef;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The connectors of this process, by name (for views and stop commands).
#[derive(Default)]
pub struct ConnectorDirectory {
    pub connectors: RwLock<BTreeMap<String, ActorRef<ConnectorMsg>>>,
}

#[derive(Clone)]
pub struct ControlState {
    pub sim: Arc<SimLink>,
    pub connectors: Arc<ConnectorDirectory>,
}

pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/sim/calls", post(start_call))
        .route("/sim/users/{uri}", get(view))
        .route("/sim/users/{uri}/{action}", post(action))
        .route("/sim/users/{uri}/presence", put(presence))
        .route("/sim/users/{uri}/behavior", put(behavior))
        .route("/sim/traffic", get(traffic_view).post(traffic_start).delete(traffic_stop))
        .route("/connectors", get(connectors))
        .route("/connectors/{name}/shutdown", post(shutdown))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn sim_error(e: SimError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::CONFLICT);
    (status, Json(json!({"error": e.to_string(), "error_code": e.error_code().code()}))).into_response()
}

/// Parses an optional JSON body; an empty body is `T::default()`.
fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, Response> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

async fn run(state: &ControlState, cmd: ControlCmd) -> Result<serde_json::Value, Response> {
    let Some(actor) = state.sim.actor.read().clone() else {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "the simulated Skype for Business is restarting"));
    };
    match actor.call(|reply| SfbMsg::Control(cmd, reply), Some(Duration::from_secs(5))).await {
        Ok(ractor::rpc::CallResult::Success(Ok(v))) => Ok(v),
        Ok(ractor::rpc::CallResult::Success(Err(e))) => Err(sim_error(e)),
        _ => Err(error(StatusCode::SERVICE_UNAVAILABLE, "the simulated Skype for Business did not answer")),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewCall {
    from: String,
    to: String,
    #[serde(default)]
    media: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

fn media(s: Option<&str>) -> Result<Media, Response> {
    match s.unwrap_or("voice") {
        "voice" => Ok(Media::Voice),
        "video" => Ok(Media::Video),
        "im" => Ok(Media::Im),
        other => Err(error(StatusCode::UNPROCESSABLE_ENTITY, format!("media {other:?}: expected voice, im or video"))),
    }
}

async fn start_call(State(s): State<ControlState>, bytes: Bytes) -> Response {
    let req: NewCall = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    let media = match media(req.media.as_deref()) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match run(&s, ControlCmd::StartCall { from: req.from, to: req.to, media, text: req.text }).await {
        Ok(v) => (StatusCode::CREATED, Json(json!({"id": v["call"], "conversation_id": v["conversation_id"]})))
            .into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CallArg {
    call: Option<u64>,
    text: Option<String>,
    digits: Option<String>,
    /// answer / reject on one endpoint of a user whose call forks to several.
    endpoint: Option<u32>,
}

async fn action(State(s): State<ControlState>, Path((uri, action)): Path<(String, String)>, bytes: Bytes) -> Response {
    let arg: CallArg = match body(&bytes) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (user, call) = (uri, arg.call.map(CallId));
    let cmd = match action.as_str() {
        "answer" => ControlCmd::Answer { user, call, endpoint: arg.endpoint },
        "reject" => ControlCmd::Reject { user, call, endpoint: arg.endpoint },
        "hangup" => ControlCmd::Hangup { user, call },
        "hold" => ControlCmd::Hold { user, call },
        "retrieve" => ControlCmd::Retrieve { user, call },
        "im" => match arg.text {
            Some(text) => ControlCmd::Im { user, call, text },
            None => return error(StatusCode::UNPROCESSABLE_ENTITY, "im needs {\"text\": ...}"),
        },
        "dtmf" => match arg.digits {
            Some(digits) => ControlCmd::Dtmf { user, call, digits },
            None => return error(StatusCode::UNPROCESSABLE_ENTITY, "dtmf needs {\"digits\": ...}"),
        },
        other => return error(StatusCode::NOT_FOUND, format!("no action {other:?}")),
    };
    match run(&s, cmd).await {
        Ok(_) => Json(json!({"ok": true})).into_response(),
        Err(r) => r,
    }
}

async fn view(State(s): State<ControlState>, Path(uri): Path<String>) -> Response {
    match run(&s, ControlCmd::View { user: uri }).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PresenceArg {
    availability: u32,
    activity: Option<String>,
}

async fn presence(State(s): State<ControlState>, Path(uri): Path<String>, bytes: Bytes) -> Response {
    let arg: PresenceArg = match serde_json::from_slice(&bytes) {
        Ok(a) => a,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    match run(&s, ControlCmd::Presence { user: uri, availability: arg.availability, activity: arg.activity }).await {
        Ok(_) => Json(json!({"ok": true})).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BehaviorArg {
    answer: String,
    #[serde(default)]
    delay_ms: u64,
}

async fn behavior(State(s): State<ControlState>, Path(uri): Path<String>, bytes: Bytes) -> Response {
    let arg: BehaviorArg = match serde_json::from_slice(&bytes) {
        Ok(a) => a,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    let answer = match arg.answer.as_str() {
        "manual" => AnswerMode::Manual,
        "auto" => AnswerMode::Auto,
        "never" => AnswerMode::Never,
        "reject" => AnswerMode::Reject,
        other => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("answer {other:?}: expected manual, auto, never or reject"),
            )
        }
    };
    match run(&s, ControlCmd::Behavior { user: uri, answer, delay_ms: arg.delay_ms }).await {
        Ok(_) => Json(json!({"ok": true})).into_response(),
        Err(r) => r,
    }
}

/// `POST /sim/traffic`: starts or replaces the traffic profile (`crate::sim::TrafficRequest`);
/// answers the profile and the counters.
async fn traffic_start(State(s): State<ControlState>, bytes: Bytes) -> Response {
    let req: crate::sim::TrafficRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid traffic profile: {e}")),
    };
    match run(&s, ControlCmd::TrafficStart(Box::new(req))).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

async fn traffic_view(State(s): State<ControlState>) -> Response {
    match run(&s, ControlCmd::TrafficView).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// `DELETE /sim/traffic`: no new callers; calls in progress go on to their end.
async fn traffic_stop(State(s): State<ControlState>) -> Response {
    match run(&s, ControlCmd::TrafficStop).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

async fn connectors(State(s): State<ControlState>) -> Response {
    let refs: Vec<_> = s.connectors.connectors.read().values().cloned().collect();
    let mut views: Vec<ConnectorView> = Vec::new();
    for c in refs {
        if let Ok(v) = ractor::call_t!(c, ConnectorMsg::GetView, 2000) {
            views.push(v);
        }
    }
    Json(views).into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ShutdownArg {
    #[serde(default)]
    graceful: bool,
}

async fn shutdown(State(s): State<ControlState>, Path(name): Path<String>, bytes: Bytes) -> Response {
    let arg: ShutdownArg = match body(&bytes) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(c) = s.connectors.connectors.read().get(&name).cloned() else {
        return error(StatusCode::NOT_FOUND, format!("no connector named {name}"));
    };
    if arg.graceful {
        let _ = c.cast(ConnectorMsg::Suspend);
        Json(json!({"connector": name, "state": "suspending"})).into_response()
    } else {
        c.stop(Some("normal stop".into()));
        Json(json!({"connector": name, "state": "stopped"})).into_response()
    }
}

/// ControlHttp: serves the control API on the connector process's control port.
pub struct ControlHttp;

pub struct ControlArgs {
    pub state: ControlState,
    pub listener: Arc<std::net::TcpListener>,
}

impl ractor::Actor for ControlHttp {
    type Msg = ();
    type State = Option<crate::actors::task::AbortOnDrop<()>>;
    type Arguments = ControlArgs;

    async fn pre_start(&self, _me: ActorRef<()>, args: ControlArgs) -> Result<Self::State, ractor::ActorProcessingErr> {
        let listener = crate::actors::context::ServerContext::clone_listener(&args.listener)?;
        let app = router(args.state);
        Ok(Some(crate::actors::task::AbortOnDrop::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "control endpoint stopped");
            }
        })))
    }
}
