//! The reference router (issue 8): a T-Library routing client that registers Routing Points and
//! the agents of one target group, and routes each EventRouteRequest to the longest-idle Ready
//! agent, with music (or an IM prompt) while no agent is free.
//!
//! - `core.rs`, `pool.rs`, `queue.rs`: the decisions, pure — events and the time in, requests
//!   out; no clock, no socket, no task. Unit and property tests drive them directly.
//! - `session.rs`: the thin I/O loop over [`crate::client::Client`] (connect, register, feed
//!   events, send what the core asks, reconnect with backoff), used by `sfb-tserver router` and,
//!   inside `run`, by the router actor.
//!
//! What it must never do: decide anything in the I/O loop, or depend on the server's internals —
//! it sees the switch only as a desktop does, through T-Library events.

mod core;
mod pool;
mod queue;
pub mod session;

pub use self::core::{Counters, Router, FIRST_REFERENCE_ID};
pub use pool::{AgentState, AgentView};
pub use queue::WaitingView;
pub use session::{RouterStatus, Target};

use crate::config::{RouterConfig, RouterTreatment};
use crate::model::DnName;
use serde::Serialize;

/// What the core needs from `[router]`, with times in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct RouterSettings {
    pub routing_points: Vec<DnName>,
    pub target_group: String,
    pub agents: Vec<DnName>,
    pub treatment: RouterTreatment,
    pub music: Option<String>,
    /// Empty: IM callers get no prompt.
    pub im_prompt: String,
    pub no_answer_pause_ms: u64,
    /// How long an agent stays reserved for a routed call that has not reached it yet (and how
    /// long the router waits for a treatment to be acknowledged before routing that call anyway).
    pub reservation_ms: u64,
    /// Retry delay for a TRouteCall refused because another request on the call was in progress.
    pub retry_ms: u64,
}

impl From<&RouterConfig> for RouterSettings {
    fn from(c: &RouterConfig) -> Self {
        RouterSettings {
            routing_points: c.routing_points.clone(),
            target_group: c.target_group.clone(),
            agents: c.agents.clone(),
            treatment: c.treatment,
            music: c.music.clone(),
            im_prompt: c.im_prompt.clone(),
            no_answer_pause_ms: c.no_answer_pause.as_millis() as u64,
            reservation_ms: 10_000,
            retry_ms: 250,
        }
    }
}

/// The router's state as operators and tests see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouterView {
    pub target_group: String,
    pub routing_points: Vec<DnName>,
    pub agents: Vec<AgentView>,
    /// Waiting calls, oldest first.
    pub waiting: Vec<WaitingView>,
    pub counters: Counters,
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
