//! Call: one actor per call family — a call (ConnID) together with the consultation calls made
//! from it and the escalations of its SfB conversation, because two-call operations (complete
//! transfer / conference, reconnect, alternate, releasing an escalated IM conversation) must see
//! both calls in one step. A plain call is a family of one. The actor owns a `CallTable` holding
//! only its family, feeds it what CallSup routes here, and carries out what comes back: the
//! family's snapshot (calls and switch requests in flight) is written before any event leaves,
//! T-Library events go to the parties' DNs or the requester, MLTP requests go to the connector
//! links with a timeout (EventError 236 when it expires).
//!
//! A crashed Call actor is rebuilt by CallSup from that snapshot: the calls go on, the timeouts
//! of requests in flight are re-armed, and the inputs CallSup had routed but this actor had not
//! finished are replayed (the one it was handling when it failed is skipped and, if it was a
//! request, answered with EventError 52). The actor stops when its family has no call left.

use crate::actors::call_sup::CallSupMsg;
use crate::actors::connector_link::{link_ref, LinkMsg};
use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::agent::NoAnswerOverride;
use crate::callmodel::{
    CallModelOptions, CallRoutes, CallTable, CallTimer, ClientRef, DnInfo, Effect, Input, Output, Recipient,
    SwitchRoute,
};
use crate::mltp::Mltp;
use crate::model::{ConnId, DnName, ErrorCode};
use crate::store::Snapshot;
use crate::tlib::{Event, EventKind, Request, RequestKind};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a Connector has to answer a call-control request (then EventError 236).
pub const SWITCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct CallActor;

/// How far a family's actor got through the inputs CallSup numbered for it. Shared by CallSup
/// and every incarnation of the actor, so a restart knows what to replay.
#[derive(Default)]
pub struct Progress {
    /// The input being handled (or last handled).
    pub started: AtomicU64,
    /// The last input whose effects are in the snapshot.
    pub done: AtomicU64,
}

/// An input CallSup routes to a family, kept by CallSup until the actor has handled it.
#[derive(Clone)]
pub enum Routed {
    Request {
        client: ClientHandle,
        request: Box<Request>,
    },
    Switch {
        link: String,
        msg: Box<Mltp>,
    },
    SwitchResponse {
        corr: u64,
        link: String,
        result: Result<Vec<(String, String)>, (ErrorCode, String)>,
    },
    /// The agent of `dn` let the call ring out (no-answer-action): release that ringing party.
    ReleaseParty {
        conn: ConnId,
        dn: DnName,
    },
    /// Test hook: panic while handling this input.
    Crash,
}

pub enum CallMsg {
    Input {
        seq: u64,
        input: Routed,
    },
    SwitchTimeout {
        corr: u64,
    },
    /// router-timeout, no-answer-timeout, a treatment's TOTAL_TIMEOUT.
    Timer(CallTimer),
    /// An input for every family (the last routing client left a Routing Point; intrusion).
    Broadcast(Input),
}

pub struct CallArgs {
    pub ctx: Arc<ServerContext>,
    pub family: u64,
    pub progress: Arc<Progress>,
}

pub struct CallState {
    ctx: Arc<ServerContext>,
    family: u64,
    progress: Arc<Progress>,
    table: CallTable,
    clients: HashMap<u64, ClientHandle>,
    routes: CallRoutes,
    /// The configured DNs on this family's calls, as published in the server context.
    dns: std::collections::BTreeSet<DnName>,
    /// NO_ANSWER_TIMEOUT / NO_ANSWER_ACTION of the TRouteCall that sent a call to a DN, for that
    /// DN's agent machine when the call rings there (not in the snapshot: a rebuilt family's
    /// agents fall back to their own no-answer options).
    route_no_answer: HashMap<ConnId, (DnName, NoAnswerOverride)>,
}

pub fn child_name(family: u64) -> String {
    format!("call-{family}")
}

pub fn snapshot_key(family: u64) -> String {
    format!("calls:{family}")
}

/// The call model's view of configured DNs and their service state.
pub struct DnDirectory(pub Arc<ServerContext>);

impl crate::callmodel::Directory for DnDirectory {
    fn lookup(&self, uri: &str) -> Option<DnInfo> {
        let dn = DnName::new(uri);
        self.0.config.dns.get(&dn).map(|d| DnInfo { dn, dn_type: d.dn_type })
    }

    fn in_service(&self, dn: &DnName) -> bool {
        self.0.directory.serving_link(dn).is_some()
    }

    fn direct_calls(&self, dn: &DnName) -> Option<crate::callmodel::DirectCallPolicy> {
        Some(crate::actors::dn::direct_calls(&self.0, dn))
    }

    fn agent_logged_in(&self, dn: &DnName) -> bool {
        self.0.directory.has_agent(dn)
    }

    fn routing_clients(&self, rp: &DnName) -> bool {
        self.0.directory.subscriber_count(rp) > 0
    }

    /// `default-dn` and `router-timeout` set on the Routing Point itself, over the Application's.
    fn routing_options(&self, rp: &DnName) -> Option<crate::callmodel::RoutingOptions> {
        use crate::config::Level;
        let cfg = &self.0.config;
        let ctx = crate::config::OptionContext::for_dn(rp);
        let mut o = options(&self.0).routing;
        if let Some((d, Level::Dn)) = cfg.resolve_duration("TServer", "router-timeout", &ctx) {
            o.router_timeout_ms = d.as_millis() as u64;
        }
        if let Some((dn, Level::Dn)) = cfg.resolve_str("TServer", "default-dn", &ctx) {
            o.default_dn = Some(DnName::new(dn.as_ref()));
        }
        Some(o)
    }

    fn monitor(&self, dn: &DnName) -> Option<crate::callmodel::MonitorSpec> {
        let subs = self.0.subscriptions.read();
        let s = subs.for_agent(dn)?;
        Some(crate::callmodel::MonitorSpec { supervisor: s.supervisor.clone(), mode: s.mode, scope: s.scope })
    }

    fn on_call(&self, dn: &DnName) -> bool {
        self.0.dn_on_call(dn)
    }

    fn dial_plan(&self, dn: &DnName) -> Option<crate::dialplan::DialPlan> {
        Some(self.0.config.dial_plan_for(dn))
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

/// An empty table wired to the server's directory and ConnID generator.
pub fn new_table(ctx: &Arc<ServerContext>) -> CallTable {
    CallTable::new(Arc::new(DnDirectory(ctx.clone())), ctx.conn_ids.clone(), options(ctx))
}

fn options(ctx: &ServerContext) -> CallModelOptions {
    CallModelOptions::from_tserver(&ctx.config.tserver)
}

/// Milliseconds for the call model's clock (wall clock: it survives restarts of the actor).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Actor for CallActor {
    type Msg = CallMsg;
    type State = CallState;
    type Arguments = CallArgs;

    async fn pre_start(&self, _me: ActorRef<CallMsg>, args: CallArgs) -> Result<CallState, ActorProcessingErr> {
        let table = match args.ctx.snapshots.get(&snapshot_key(args.family)) {
            Some(Snapshot::Calls(snap)) => CallTable::restore(
                snap,
                Arc::new(DnDirectory(args.ctx.clone())),
                args.ctx.conn_ids.clone(),
                options(&args.ctx),
            ),
            _ => new_table(&args.ctx),
        };
        let routes = table.routes();
        Ok(CallState {
            ctx: args.ctx,
            family: args.family,
            progress: args.progress,
            table,
            clients: HashMap::new(),
            routes,
            dns: Default::default(),
            route_no_answer: HashMap::new(),
        })
    }

    /// A rebuilt family re-arms the timeouts of the switch requests it still waits for.
    async fn post_start(&self, me: ActorRef<CallMsg>, st: &mut CallState) -> Result<(), ActorProcessingErr> {
        // A rebuilt family states its DNs again (idempotent).
        st.dns = st.table.active_dns();
        st.ctx.set_family_dns(st.family, &Default::default(), &st.dns);
        for corr in st.table.corrs_in_flight() {
            me.send_after(SWITCH_TIMEOUT, move || CallMsg::SwitchTimeout { corr });
        }
        let now = now_ms();
        for (timer, deadline) in st.table.armed_timers() {
            me.send_after(Duration::from_millis(deadline.saturating_sub(now)), move || CallMsg::Timer(timer));
        }
        // Restarted after its last call ended: ask again to be drained.
        if st.table.is_empty() && st.progress.started.load(Ordering::Acquire) > 0 {
            st.report_empty();
        }
        Ok(())
    }

    async fn handle(&self, me: ActorRef<CallMsg>, msg: CallMsg, st: &mut CallState) -> Result<(), ActorProcessingErr> {
        let (seq, input) = match msg {
            CallMsg::SwitchTimeout { corr } => (None, Input::SwitchTimeout { corr }),
            CallMsg::Timer(t) => (None, Input::Timer(t)),
            CallMsg::Broadcast(input) => (None, input),
            CallMsg::Input { seq, input } => {
                st.progress.started.store(seq, Ordering::Release);
                let input = match input {
                    Routed::Request { client, request } => {
                        st.note_route(&request);
                        let r = ClientRef(client.id);
                        st.clients.insert(client.id, client);
                        Input::Request { client: r, request }
                    }
                    Routed::Switch { link, msg } => Input::Switch { link, msg: *msg },
                    Routed::SwitchResponse { corr, link, result } => Input::SwitchResponse { corr, link, result },
                    Routed::ReleaseParty { conn, dn } => Input::ReleaseParty { conn, dn },
                    Routed::Crash => {
                        if st.ctx.test_hooks {
                            panic!("test hook: call family {} crashed on request", st.family);
                        }
                        st.progress.done.store(seq, Ordering::Release);
                        return Ok(());
                    }
                };
                (Some(seq), input)
            }
        };
        let out = st.table.apply(input, now_ms());
        st.commit(&out, seq);
        st.carry_out(&me, out);
        Ok(())
    }
}

impl CallState {
    /// Snapshot first: nothing a client is told can be lost by a crash after this point.
    fn commit(&mut self, out: &Output, seq: Option<u64>) {
        let key = snapshot_key(self.family);
        if self.table.is_empty() {
            self.ctx.snapshots.remove(&key);
        } else if !out.effects.is_empty() || !out.switch.is_empty() || seq.is_some() {
            self.ctx.snapshots.put(&key, Snapshot::Calls(self.table.snapshot()));
        }
        if let Some(seq) = seq {
            self.progress.done.store(seq, Ordering::Release);
        }
        let dns = self.table.active_dns();
        if dns != self.dns {
            self.ctx.set_family_dns(self.family, &self.dns, &dns);
            self.dns = dns;
        }
        // CallSup learns new ConnIDs before any client can see them in an event.
        let routes = self.table.routes();
        if routes != self.routes {
            let old = std::mem::replace(&mut self.routes, routes);
            if let Some(sup) = self.ctx.call_sup() {
                let _ = sup.cast(CallSupMsg::Routes { family: self.family, old, new: self.routes.clone() });
            }
        }
    }

    fn carry_out(&mut self, me: &ActorRef<CallMsg>, out: Output) {
        private_services(&self.ctx, &out.effects);
        for d in out.events {
            let no_answer = match (&d.to, d.event.kind, d.event.attrs.conn_id) {
                (Recipient::Dn(dn), EventKind::Ringing, Some(conn)) => {
                    self.route_no_answer.get(&conn).filter(|(to, _)| to == dn).map(|(_, o)| *o)
                }
                _ => None,
            };
            deliver_with(&self.ctx, &self.clients, d.to, d.event, no_answer.unwrap_or_default());
        }
        for effect in &out.effects {
            if let Effect::CallEnded(conn) = effect {
                self.route_no_answer.remove(conn);
            }
        }
        for req in out.switch {
            self.send_switch(me, req.corr, req.route, req.msg);
        }
        for t in out.timers {
            let timer = t.timer;
            me.send_after(Duration::from_millis(t.after_ms), move || CallMsg::Timer(timer));
        }
        self.clients.retain(|_, c| !c.is_closing());
        if self.table.is_empty() {
            self.report_empty();
        }
    }

    /// Keeps what a TRouteCall says about no-answer supervision for the DN it routes to.
    fn note_route(&mut self, req: &Request) {
        if req.kind != RequestKind::RouteCall {
            return;
        }
        let (Some(conn), Some(to), Some(ext)) = (req.attrs.conn_id, &req.attrs.other_dn, &req.attrs.extensions) else {
            return;
        };
        let o = NoAnswerOverride::from_route_extensions(ext);
        if o != NoAnswerOverride::default() {
            self.route_no_answer.insert(conn, (DnName::new(to.as_str()), o));
        }
    }

    fn report_empty(&self) {
        if let Some(sup) = self.ctx.call_sup() {
            let last = self.progress.done.load(Ordering::Acquire);
            let _ = sup.cast(CallSupMsg::Done { family: self.family, last });
        }
    }

    /// Sends an MLTP request on the link the route names; an unreachable link is answered at once
    /// as a timeout would be, so the requester still gets its EventError.
    fn send_switch(&self, me: &ActorRef<CallMsg>, corr: u64, route: SwitchRoute, msg: Mltp) {
        let link = match &route {
            SwitchRoute::Link(name) => self.ctx.config.links.iter().find(|l| &l.name == name).map(|l| l.n),
            SwitchRoute::ServingDn(dn) => self.ctx.directory.serving_link(dn),
        };
        let family = self.family;
        let sent = link
            .and_then(|n| link_ref(&self.ctx, n))
            .is_some_and(|l| l.cast(LinkMsg::CallRequest { family, corr, msg: Box::new(msg) }).is_ok());
        if sent {
            me.send_after(SWITCH_TIMEOUT, move || CallMsg::SwitchTimeout { corr });
        } else {
            tracing::warn!(?route, corr, "no connector link for the request");
            let _ = me.cast(CallMsg::SwitchTimeout { corr });
        }
    }
}

/// Sends one event of the call model: to every client registered on a DN, or to one client.
pub fn deliver(ctx: &ServerContext, clients: &HashMap<u64, ClientHandle>, to: Recipient, event: Event) {
    deliver_with(ctx, clients, to, event, NoAnswerOverride::default())
}

/// [`deliver`]; a DN whose agent machine follows its calls gets its events through its Dn actor
/// (which feeds the machine first), with `no_answer` for an EventRinging of a routed call.
fn deliver_with(
    ctx: &ServerContext,
    clients: &HashMap<u64, ClientHandle>,
    to: Recipient,
    event: Event,
    no_answer: NoAnswerOverride,
) {
    let Some(mut event) = crate::actors::dn::through_dn(ctx, clients, &to, event, no_answer) else { return };
    ctx.stamp(&mut event);
    match to {
        Recipient::Dn(dn) => {
            let n = ctx.directory.fan_out(&dn, &SharedEvent::new(event));
            ctx.metrics.events(n as u64);
        }
        Recipient::DnAndRequester(dn, ClientRef(id)) => {
            let shared = SharedEvent::new(event);
            let n = ctx.directory.fan_out(&dn, &shared);
            ctx.metrics.events(n as u64);
            let requester = clients.get(&id).filter(|c| !ctx.directory.is_subscribed(&dn, c.id));
            if requester.is_some_and(|c| c.deliver_answer(&shared)) {
                ctx.metrics.events(1);
            }
        }
        Recipient::Client(ClientRef(id)) => {
            if let Some(code) = event.attrs.error_code {
                ctx.metrics.error(code.code());
            }
            if clients.get(&id).is_some_and(|c| c.reply(event)) {
                ctx.metrics.events(1);
            }
        }
    }
}

/// TPrivateService effects: a desktop overriding its DN's direct-call handling.
pub fn private_services(ctx: &ServerContext, effects: &[Effect]) {
    for effect in effects {
        match effect {
            Effect::PrivateService { dn, client, extensions, .. } => {
                crate::actors::dn::private_service(ctx, dn, client.0, extensions);
            }
            Effect::MonitoringEnded { supervisor, .. } => {
                if let Some(m) = ctx.monitor_sup() {
                    let _ =
                        m.cast(crate::actors::monitor_sup::MonitorMsg::SessionEnded { supervisor: supervisor.clone() });
                }
            }
            _ => {}
        }
    }
}
