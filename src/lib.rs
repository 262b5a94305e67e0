//! sfb-tserver: a T-Server for Skype for Business (T-Library CTI server), its MLTP Connector and a
//! simulated Skype for Business, built as an actor system on ractor + tokio.
//!
//! `src/` is the functional core (domain model, protocols, configuration, stores); `actors/` is the
//! actor shell that owns state, timers and I/O. `src/` never depends on `actors/` or on ractor.

pub mod agent;
pub mod callmodel;
pub mod cli;
pub mod client;
pub mod conference_pool;
pub mod config;
pub mod dialplan;
pub mod latency;
pub mod links;
pub mod load;
pub mod metrics;
pub mod mltp;
pub mod model;
pub mod presence;
pub mod router;
pub mod sim;
pub mod store;
pub mod supervision;
pub mod tlib;
pub mod transport;

#[path = "../actors/mod.rs"]
pub mod actors;
