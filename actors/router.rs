//! Router: the reference router running inside `run` (`[router] enabled = true`). It owns one task,
//! the same loop `sfb-tserver router` runs (`crate::router::session`), which waits until the server
//! is READY and then connects to the server's own T-Library port as any routing client would —
//! no shortcut into the actors, so the embedded router exercises the real protocol path. Every
//! decision is in the pure core (`crate::router`); this actor only starts the loop, publishes its
//! status on the context (`GET /tree/router` shows it) and fails if the loop ever ends, so its
//! supervisor restarts it.

use crate::actors::context::ServerContext;
use crate::actors::supervision::{child, ChildSpec, RestartPolicy};
use crate::actors::task::AbortOnDrop;
use crate::router::{session, RouterSettings, Target};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "router";

pub struct RouterActor;

pub struct RouterState {
    ctx: Arc<ServerContext>,
    task: Option<AbortOnDrop<()>>,
}

pub enum RouterMsg {
    /// The routing loop ended (it only does by panicking, or when TLS cannot be set up).
    LoopEnded(String),
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "Router", RestartPolicy::permanent(), move || (RouterActor, ctx.clone()))
}

/// `[router] server`, else the T-Library port this server bound (loopback for a wildcard address).
fn target(ctx: &ServerContext) -> Result<Target, String> {
    let cfg = &ctx.config.router;
    let addr = match &cfg.server {
        Some(a) => a.clone(),
        None => {
            let mut bound: SocketAddr = ctx.tlib_listener.local_addr().map_err(|e| e.to_string())?;
            if bound.ip().is_unspecified() {
                bound.set_ip(if bound.is_ipv4() {
                    [127, 0, 0, 1].into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            bound.to_string()
        }
    };
    let tls = match &cfg.tls_ca {
        Some(ca) => Some((
            crate::transport::client_config(ca).map_err(|e| format!("[router] tls-ca: {e}"))?,
            cfg.tls_name.clone(),
        )),
        None => None,
    };
    Ok(Target { addr, tls })
}

impl Actor for RouterActor {
    type Msg = RouterMsg;
    type State = RouterState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        _me: ActorRef<RouterMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<RouterState, ActorProcessingErr> {
        Ok(RouterState { ctx, task: None })
    }

    /// The loop starts here, not in `pre_start`: a failure now is reported to the supervisor.
    async fn post_start(&self, me: ActorRef<RouterMsg>, st: &mut RouterState) -> Result<(), ActorProcessingErr> {
        let ctx = st.ctx.clone();
        let target = target(&ctx)?;
        let settings = RouterSettings::from(&ctx.config.router);
        let status = ctx.router_status.clone();
        st.task = Some(AbortOnDrop::spawn(async move {
            while !ctx.ready.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut inner = AbortOnDrop::spawn(session::run(settings, target, status));
            let reason = match (&mut inner.0).await {
                Ok(()) => "the routing loop returned".to_string(),
                Err(e) => format!("the routing loop failed: {e}"),
            };
            let _ = me.cast(RouterMsg::LoopEnded(reason));
        }));
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<RouterMsg>, st: &mut RouterState) -> Result<(), ActorProcessingErr> {
        st.task = None;
        st.ctx.router_status.mark_stopped();
        Ok(())
    }

    async fn handle(
        &self,
        _me: ActorRef<RouterMsg>,
        msg: RouterMsg,
        _st: &mut RouterState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RouterMsg::LoopEnded(reason) => Err(reason.into()),
        }
    }
}
