//! The call model as pure state machines (issue 4): the calls of the server ([`CallTable`], one
//! [`Call`] per ConnID with its parties, user data, consultation link and pending operation),
//! fed with T-Library requests, the Connector's MLTP call events and its answers, producing
//! per-party T-Library events, MLTP requests and effects for the actor layer.
//!
//! Pure and deterministic: no tokio, no actors, no I/O, no clock (time comes in as `now_ms`).
//! The rules — which event each party gets, with which attributes, and how every request is
//! answered exactly once — are described in docs/callmodel.md; the guide's B2BUA flow tables are
//! golden tests here. Routing Points (issue 5), agent ACW (issue 6) and supervision (issue 7) plug
//! in at the extension points that page names; this module must never import the actor layer.

mod b2b;
mod binding;
mod direct;
mod error;
mod events;
mod io;
mod monitoring;
mod no_answer;
mod ops;
mod pass_through;
mod requests;
mod responses;
mod routes;
mod routing;
mod switch;
mod table;
mod treatment;
mod two_call;
mod types;
mod userdata;

#[cfg(test)]
mod tests;

pub use direct::{
    DirectCallPolicy, DirectCallsOverride, HandleDirectCallsMode, HANDLE_DIRECT_CALLS, HANDLE_DIRECT_CALLS_MEDIA,
};
pub use error::CallError;
pub use events::CONVERSATION_ID;
/// The extension of EventRegistered / EventAddressInfo naming the IM reporting mode.
pub const IM_REPORTING: &str = "im-reporting";
pub use io::{Delivery, Effect, Input, Output, Recipient, SwitchRequest, SwitchRoute, TimerRequest};
pub use monitoring::{MonitorSpec, Session, SessionKind};
pub use routes::{switch_key, CallRoutes, SwitchKey};
pub use routing::{CallTimer, Routing, RoutingOptions, TimerKind};
pub use table::{CallModelOptions, CallTable, Corr, TableSnapshot};
pub use types::{
    uri_key, Call, CallSnapshot, ClientRef, Deferred, Directory, DnInfo, Link, LinkKind, Party, PartyState,
    PassThroughPolicy, PendingOp, Stage, StaticDirectory, SwitchCall,
};
