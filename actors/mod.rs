//! The actor shell of the T-Server. The supervision tree, drawn once (README.md copies it and a
//! test checks it against the actors actually spawned):
//!
//! ```text
//! root                      Root (Supervisor)      ordered start, reverse-order stop
//! ├─ persister              Persister              permanent   snapshots -> durable store, group commit
//! ├─ registry               Registry               permanent   single writer of the DN address book
//! ├─ agent-sup              AgentSup               permanent   starts sessions for Dns; brings them back at start
//! │  └─ agent-session:<dn>  AgentSession           transient   one per logged-in agent; rebuilt from its snapshot
//! ├─ dn-sup                 DnSup (Supervisor)     permanent
//! │  └─ dn:<number>         Dn                     permanent   one per configured DN
//! ├─ link-sup               LinkSup                permanent   DN-to-link assignment across each pool
//! │  └─ link-<n>            ConnectorLink          permanent   one MLTP link per link-n-name section
//! ├─ call-sup               CallSup                permanent   routes call inputs by ConnID / Connector call
//! │  └─ call-<n>            Call                   transient   one per call (with its consultations); rebuilt from its snapshot
//! ├─ monitor-sup            MonitorSup             permanent   creates call supervision subscriptions
//! │  └─ subscription:<dn>   Subscription           transient   one per subscription (by supervisor DN); owns its end
//! ├─ client-listener        ClientListener         permanent   accepts T-Library clients
//! │  └─ client:<n>          ClientSession          temporary   one per connection, never restarted
//! ├─ router                 Router                 permanent   reference router, a T-Library client ([router] enabled)
//! └─ admin-http             AdminHttp              permanent   health, ready, tree, restart, metrics
//! ```
//!
//! The Connector side (simulated SfB and Connectors) has its own tree: see [`connector`].
//!
//! Shared, actor-independent tables live in [`context::ServerContext`]; [`server`] starts and
//! stops the whole tree.

pub mod admin_http;
pub mod agent_core;
pub mod agent_session;
pub mod agent_sup;
pub mod board;
pub mod call;
pub mod call_sup;
pub mod client_io;
pub mod client_lane;
pub mod client_listener;
pub mod client_session;
pub mod connector;
pub mod connector_link;
pub mod context;
pub mod directory;
pub mod dn;
pub mod dn_sup;
pub mod link_lane;
pub mod link_sup;
pub mod mltp_stream;
pub mod monitor_sup;
pub mod outbound;
pub mod persister;
pub mod registry;
pub mod root;
pub mod router;
pub mod server;
pub mod subscription;
pub mod supervision;
pub mod supervisor;
pub mod task;

/// The drawn tree as (name pattern, kind, supervisor) rows: what the tree test compares with the
/// board. `<...>` stands for one child per configured DN / per connection.
pub const DRAWN_TREE: &[(&str, &str, &str)] = &[
    ("persister", "Persister", "root"),
    ("registry", "Registry", "root"),
    ("agent-sup", "AgentSup", "root"),
    ("agent-session:<dn>", "AgentSession", "agent-sup"),
    ("dn-sup", "DnSup", "root"),
    ("dn:<number>", "Dn", "dn-sup"),
    ("link-sup", "LinkSup", "root"),
    ("link-<n>", "ConnectorLink", "link-sup"),
    ("call-sup", "CallSup", "root"),
    ("call-<n>", "Call", "call-sup"),
    ("monitor-sup", "MonitorSup", "root"),
    ("subscription:<dn>", "Subscription", "monitor-sup"),
    ("client-listener", "ClientListener", "root"),
    ("client:<n>", "ClientSession", "client-listener"),
    ("router", "Router", "root"),
    ("admin-http", "AdminHttp", "root"),
];
