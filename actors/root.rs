//! Root: the top of the T-Server's tree. Its children are declared here, in start order, and
//! stopped in the reverse order:
//! 1. `persister` first, so every snapshot written by anyone below reaches the durable store,
//!    and last to stop, so the final flush sees every other actor's last transition;
//! 2. `registry` before anything that binds itself in the address book;
//! 3. `agent-sup` before the Dns: it brings back the session of every agent logged in when the
//!    store was last written, so a starting Dn finds its agent's session instead of starting one;
//!    `dn-sup` (every Dn) before clients can connect, so a client's first TRegisterAddress
//!    finds its DN;
//! 4. `link-sup` once DNs exist: its links register them on the switch and tell each Dn when it
//!    goes in or out of service;
//! 5. `call-manager` once links exist (it sends call control on them) and before clients;
//! 6. `client-listener` once DNs exist; stopped early on shutdown so no request arrives at a
//!    stopping DN;
//! 7. `router` (only with `[router] enabled`) once clients can connect: it is one of them, and
//!    it stops before the listener so its session ends as any client's would;
//! 8. `admin-http` last to start (readiness reflects the rest) and first to stop.

use crate::actors::context::ServerContext;
use crate::actors::persister::Persister;
use crate::actors::registry::Registry;
use crate::actors::supervision::{child, ChildSpec, RestartPolicy};
use crate::actors::{admin_http, agent_sup, call_sup, client_listener, dn_sup, link_sup, monitor_sup, router};
use std::sync::Arc;

pub const NAME: &str = "root";

pub fn children(ctx: &Arc<ServerContext>) -> Vec<ChildSpec> {
    let mut children = vec![
        {
            let ctx = ctx.clone();
            child("persister", "Persister", RestartPolicy::permanent(), move || (Persister, ctx.clone()))
        },
        {
            let ctx = ctx.clone();
            child("registry", "Registry", RestartPolicy::permanent(), move || (Registry, ctx.clone()))
        },
        agent_sup::spec(ctx.clone()),
        dn_sup::spec(ctx.clone()),
        link_sup::spec(ctx.clone()),
        call_sup::spec(ctx.clone()),
        monitor_sup::spec(ctx.clone()),
        client_listener::spec(ctx.clone()),
    ];
    if ctx.config.router.enabled {
        children.push(router::spec(ctx.clone()));
    }
    children.push(admin_http::spec(ctx.clone()));
    children
}
