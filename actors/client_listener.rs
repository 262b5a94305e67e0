//! ClientListener: accepts T-Library connections on the socket bound at start-up (kept in the
//! context, so a restarted listener serves the same port) and supervises one ClientSession per
//! connection. Sessions are temporary children: when one ends it is not restarted (the client
//! reconnects and re-registers), and one session's failure never touches another.

use crate::actors::client_session::{ClientSession, SessionArgs};
use crate::actors::context::ServerContext;
use crate::actors::supervision::{child, ChildSpec, Children, RestartPolicy, SupervisorCmd};
use crate::actors::task::AbortOnDrop;
use parking_lot::Mutex;
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

pub const NAME: &str = "client-listener";

pub struct ClientListener;

pub struct ListenerState {
    ctx: Arc<ServerContext>,
    children: Children,
    accept: Option<AbortOnDrop<()>>,
}

pub enum ListenerMsg {
    Accepted(TcpStream, SocketAddr),
    Cmd(SupervisorCmd),
}

impl From<SupervisorCmd> for ListenerMsg {
    fn from(cmd: SupervisorCmd) -> Self {
        ListenerMsg::Cmd(cmd)
    }
}

/// The ClientListener child spec, as Root declares it.
pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "ClientListener", RestartPolicy::permanent(), move || (ClientListener, ctx.clone()))
}

impl Actor for ClientListener {
    type Msg = ListenerMsg;
    type State = ListenerState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        me: ActorRef<ListenerMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<ListenerState, ActorProcessingErr> {
        let children = Children::new(NAME, &me, ctx.board.clone());
        Ok(ListenerState { ctx, children, accept: None })
    }

    async fn post_start(&self, me: ActorRef<ListenerMsg>, st: &mut ListenerState) -> Result<(), ActorProcessingErr> {
        let listener = ServerContext::clone_listener(&st.ctx.tlib_listener)?;
        // The accept loop only accepts; the TLS handshake happens in the session, so one slow
        // handshake never delays other connections.
        st.accept = Some(AbortOnDrop::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((tcp, peer)) => {
                        if me.cast(ListenerMsg::Accepted(tcp, peer)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<ListenerMsg>, st: &mut ListenerState) -> Result<(), ActorProcessingErr> {
        st.accept = None;
        st.children.stop_all(Duration::from_secs(2)).await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<ListenerMsg>,
        msg: ListenerMsg,
        st: &mut ListenerState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ListenerMsg::Accepted(tcp, peer) => {
                let id = st.ctx.next_client_id();
                st.ctx.metrics.clients_accepted.fetch_add(1, Ordering::Relaxed);
                // A TcpStream cannot be cloned: the spec hands it to the one and only incarnation.
                let slot = Arc::new(Mutex::new(Some(tcp)));
                let ctx = st.ctx.clone();
                let spec = ChildSpec {
                    name: format!("client:{id}"),
                    kind: "ClientSession",
                    policy: RestartPolicy::temporary(),
                    spawn: Arc::new(move |sup| {
                        let (ctx, tcp) = (ctx.clone(), slot.lock().take());
                        Box::pin(async move {
                            let tcp = tcp.ok_or_else(|| {
                                ractor::SpawnErr::StartupFailed("connection already handed over".into())
                            })?;
                            let (actor, _) =
                                Actor::spawn_linked(None, ClientSession, SessionArgs { ctx, id, tcp, peer }, sup)
                                    .await?;
                            Ok(actor.get_cell())
                        })
                    }),
                };
                if let Err(e) = st.children.start(spec, &me.get_cell()).await {
                    tracing::error!(%peer, error = %e, "cannot start client session");
                }
            }
            ListenerMsg::Cmd(cmd) => st.children.on_cmd(cmd, &me.get_cell()).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<ListenerMsg>,
        evt: SupervisionEvent,
        st: &mut ListenerState,
    ) -> Result<(), ActorProcessingErr> {
        st.children.on_event(&me, evt)
    }
}
