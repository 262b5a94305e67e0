//! CallManager: the actor shell around the pure call model (`src/callmodel`). It feeds the
//! `CallTable` the requests of clients, the Connectors' call events and their answers, and
//! carries out what comes back: T-Library events fanned out to the clients registered on each
//! party's DN (or to the requester alone), MLTP requests sent on the right connector link with a
//! timeout (the guide's error 236 when it expires), and each changed call's versioned snapshot
//! written to the snapshot table before its events leave — so a restarted CallManager rebuilds
//! every call from its snapshot.
//!
//! One actor serializes all calls: two-call operations (transfer, conference, alternate,
//! reconnect) need both calls' states in one step, which the table gives atomically. Splitting
//! into one actor per ConnID is the planned next step (issue #4).

use crate::actors::connector_link::{link_ref, LinkMsg};
use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::actors::supervision::{child, ChildSpec, RestartPolicy};
use crate::callmodel::{CallModelOptions, CallTable, ClientRef, DnInfo, Effect, Input, Recipient, SwitchRoute};
use crate::mltp::Mltp;
use crate::model::{DnName, ErrorCode};
use crate::store::Snapshot;
use crate::tlib::{Event, Request};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const NAME: &str = "call-manager";
/// How long a Connector has to answer a call-control request (then EventError 236).
const SWITCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct CallManager;

pub struct CallState {
    ctx: Arc<ServerContext>,
    table: CallTable,
    clients: HashMap<u64, ClientHandle>,
    epoch: Instant,
}

pub enum CallMsg {
    /// A client's call request (its ThisDN registration already checked).
    Request {
        client: ClientHandle,
        request: Box<Request>,
    },
    /// A Connector event about a call, from the link named `link`.
    Switch {
        link: String,
        msg: Box<Mltp>,
    },
    /// The Connector's answer to a request this actor sent.
    SwitchResponse {
        corr: u64,
        link: String,
        result: Result<Vec<(String, String)>, (ErrorCode, String)>,
    },
    SwitchTimeout {
        corr: u64,
    },
    /// Test hook: panic inside the handler, to exercise rebuilding calls from snapshots.
    Crash,
}

/// The call model's view of configured DNs and their service state.
struct DnDirectory(Arc<ServerContext>);

impl crate::callmodel::Directory for DnDirectory {
    fn lookup(&self, uri: &str) -> Option<DnInfo> {
        let dn = DnName::new(uri);
        self.0.config.dns.get(&dn).map(|d| DnInfo { dn, dn_type: d.dn_type })
    }

    fn in_service(&self, dn: &DnName) -> bool {
        self.0.directory.serving_link(dn).is_some()
    }

    /// `allow-pass-through-calls` set on the DN itself (the Application value is the default).
    fn pass_through(&self, dn: &DnName) -> Option<crate::callmodel::PassThroughPolicy> {
        let ctx = crate::config::OptionContext::for_dn(dn);
        match self.0.config.resolve_enum::<crate::config::PassThroughCalls>("TServer", "allow-pass-through-calls", &ctx)
        {
            Some((v, crate::config::Level::Dn)) => Some(v.into()),
            _ => None,
        }
    }
}

pub fn snapshot_key(conn: crate::model::ConnId) -> String {
    format!("call:{conn}")
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "CallManager", RestartPolicy::permanent(), move || (CallManager, ctx.clone()))
}

impl Actor for CallManager {
    type Msg = CallMsg;
    type State = CallState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(&self, me: ActorRef<CallMsg>, ctx: Arc<ServerContext>) -> Result<CallState, ActorProcessingErr> {
        ctx.set_call_manager(me);
        let directory: Arc<dyn crate::callmodel::Directory> = Arc::new(DnDirectory(ctx.clone()));
        let table =
            CallTable::new(directory, ctx.conn_ids.clone(), CallModelOptions::from_tserver(&ctx.config.tserver));
        Ok(CallState { ctx, table, clients: HashMap::new(), epoch: Instant::now() })
    }

    /// Rebuilds every call from its snapshot (after a crash or an operator restart).
    async fn post_start(&self, _me: ActorRef<CallMsg>, st: &mut CallState) -> Result<(), ActorProcessingErr> {
        let mut restored = 0;
        for (_, snap) in st.ctx.snapshots.with_prefix("call:") {
            if let Snapshot::Call(call) = snap {
                st.table.restore_call(call);
                restored += 1;
            }
        }
        if restored > 0 {
            tracing::info!(calls = restored, "calls restored from snapshots");
        }
        Ok(())
    }

    async fn handle(&self, me: ActorRef<CallMsg>, msg: CallMsg, st: &mut CallState) -> Result<(), ActorProcessingErr> {
        let now = st.epoch.elapsed().as_millis() as u64;
        let input = match msg {
            CallMsg::Request { client, request } => {
                let r = ClientRef(client.id);
                st.clients.insert(client.id, client);
                Input::Request { client: r, request }
            }
            CallMsg::Switch { link, msg } => Input::Switch { link, msg: *msg },
            CallMsg::SwitchResponse { corr, link, result } => Input::SwitchResponse { corr, link, result },
            CallMsg::SwitchTimeout { corr } => Input::SwitchTimeout { corr },
            CallMsg::Crash => {
                if st.ctx.test_hooks {
                    panic!("test hook: the call manager crashed on request");
                }
                return Ok(());
            }
        };
        let out = st.table.apply(input, now);
        // Snapshots first: nothing a client is told can be lost by a crash after this point.
        for effect in &out.effects {
            match effect {
                Effect::CallChanged(conn) | Effect::CallCreated(conn) => {
                    if let Some(snap) = st.table.call_snapshot(*conn) {
                        st.ctx.snapshots.put(&snapshot_key(*conn), Snapshot::Call(snap));
                    }
                }
                Effect::CallEnded(conn) => {
                    st.ctx.snapshots.remove(&snapshot_key(*conn));
                }
                Effect::PrivateService { dn, msg_id, .. } => {
                    tracing::debug!(%dn, msg_id, "TPrivateService");
                }
            }
        }
        for d in out.events {
            st.deliver(d.to, d.event);
        }
        for req in out.switch {
            st.send_switch(&me, req.corr, req.route, req.msg);
        }
        st.clients.retain(|_, c| !c.is_closing());
        Ok(())
    }
}

impl CallState {
    fn deliver(&self, to: Recipient, mut event: Event) {
        self.ctx.stamp(&mut event);
        match to {
            Recipient::Dn(dn) => {
                let n = self.ctx.directory.fan_out(&dn, &SharedEvent::new(event));
                self.ctx.metrics.events(n as u64);
            }
            Recipient::Client(ClientRef(id)) => {
                if let Some(code) = event.attrs.error_code {
                    self.ctx.metrics.error(code.code());
                }
                if self.clients.get(&id).is_some_and(|c| c.reply(event)) {
                    self.ctx.metrics.events(1);
                }
            }
        }
    }

    /// Sends an MLTP request on the link the route names; an unreachable link is answered at once
    /// as a timeout would be, so the requester still gets its EventError.
    fn send_switch(&self, me: &ActorRef<CallMsg>, corr: u64, route: SwitchRoute, msg: Mltp) {
        let link = match &route {
            SwitchRoute::Link(name) => self.ctx.config.links.iter().find(|l| &l.name == name).map(|l| l.n),
            SwitchRoute::ServingDn(dn) => self.ctx.directory.serving_link(dn),
        };
        let sent = link
            .and_then(|n| link_ref(&self.ctx, n))
            .is_some_and(|l| l.cast(LinkMsg::CallRequest { corr, msg: Box::new(msg), reply: me.clone() }).is_ok());
        if sent {
            me.send_after(SWITCH_TIMEOUT, move || CallMsg::SwitchTimeout { corr });
        } else {
            tracing::warn!(?route, corr, "no connector link for the request");
            let _ = me.cast(CallMsg::SwitchTimeout { corr });
        }
    }
}
