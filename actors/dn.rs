//! One Dn actor per configured DN. It owns the DN's state (service state on the switch, the
//! registrations' LogoutOnDisconnect, presence) and answers the DN-scoped requests
//! (TRegisterAddress and TUnregisterAddress, TQueryAddress, agent requests), fanning its events
//! out, in order, to every client registered on the DN. It is the single entry of the DN's agent
//! inputs (agent requests, and the DN's call events while the agent machine follows its calls,
//! so the agent's events go out in the guide's order): it runs the emulated agent's machine
//! itself while nobody is logged in, and routes them to the agent's AgentSession while an agent
//! is (`dn_session.rs`), keeping a mirror of that machine. Its state is written to the snapshot
//! table on every transition *before* the events leave, so a restarted incarnation (after a
//! panic or an operator restart) reloads exactly what clients were last told, finds its agent's
//! session or re-arms the agent's timers.

use crate::actors::agent_core::{self, AgentCore, AgentHost, AgentWork};
use crate::actors::agent_session::{AgentSessionMsg, Mirror};
use crate::actors::context::ServerContext;
use crate::actors::outbound::ClientHandle;
use crate::actors::registry::RegistryMsg;
use crate::agent::{AgentInput, AgentMachine, AgentSession, AgentSettings, NoAnswerOverride, TimerKey};
use crate::callmodel::{DirectCallPolicy, DirectCallsOverride};
use crate::model::{ConnId, DnName, DnServiceState, DnType, ErrorCode, KvList};
use crate::tlib::{Event, EventKind, Request, RequestKind};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

#[path = "dn_agent.rs"]
mod dn_agent;
pub use dn_agent::through_dn;
#[path = "dn_presence.rs"]
mod dn_presence;
#[path = "dn_session.rs"]
mod dn_session;

pub struct DnActor;

pub struct DnState {
    ctx: Arc<ServerContext>,
    me: ActorRef<DnMsg>,
    dn: DnName,
    dn_type: DnType,
    /// The guide's `register` flag: false means the DN is never in service (no on-demand registration).
    register: bool,
    service: DnServiceState,
    /// The emulated agent of the DN and the calls it follows (`crate::agent`): run here while
    /// nobody is logged in; a mirror of the AgentSession's while an agent is.
    core: AgentCore,
    /// The agent's AgentSession, while an agent is logged in (`dn_session.rs`).
    session: Option<dn_session::SessionLink>,
    /// Agent inputs not yet carried out (waiting for a session being restarted).
    inbox: VecDeque<dn_session::Queued>,
    /// The epoch of the last session this Dn started or attached (each login's is higher).
    last_epoch: u64,
    /// The LogoutOnDisconnect extension of each registered client's TRegisterAddress.
    logout_ext: BTreeMap<u64, bool>,
    revision: u64,
    presence: dn_presence::DnPresence,
}

pub struct DnArgs {
    pub ctx: Arc<ServerContext>,
    pub dn: DnName,
}

pub enum DnMsg {
    /// TRegisterAddress: subscribe the client and answer EventRegistered with the DN's state.
    Register {
        client: ClientHandle,
        reference_id: Option<u32>,
        /// The request's LogoutOnDisconnect extension, if it gave one.
        logout_on_disconnect: Option<bool>,
    },
    /// TUnregisterAddress.
    Unregister {
        client: ClientHandle,
        reference_id: Option<u32>,
    },
    /// A client registered on this DN disconnected (its session already unsubscribed it).
    ClientGone {
        client: u64,
    },
    /// Any other request whose ThisDN is this DN.
    Request {
        client: ClientHandle,
        request: Box<Request>,
    },
    /// The switch side registered or lost this DN (connector links; guide: EventDNOutOfService `cause`).
    SwitchState {
        in_service: bool,
        cause: String,
    },
    /// A call event for this DN from its Call actor, sent here (not to the clients) because the
    /// agent machine follows the DN's calls: the machine sees it first, then it is published.
    /// `requester` also gets it when not registered on the DN (`Recipient::DnAndRequester`);
    /// `no_answer` is what the TRouteCall that sent the call here said (NO_ANSWER_*).
    CallEvent {
        event: Box<Event>,
        requester: Option<ClientHandle>,
        no_answer: NoAnswerOverride,
    },
    /// Routing's delivery supervision found that a call rang out on this DN (TERR_DN_NO_ANSWER).
    NotAnswered {
        conn_id: ConnId,
    },
    /// A timer the agent machine asked for fired.
    AgentTimer {
        key: TimerKey,
        token: u64,
    },
    /// PRESENCE_CHANGED for this DN from its connector link.
    PresenceChanged {
        availability: u32,
        activity: Option<String>,
        presence_type: crate::mltp::PresenceType,
    },
    /// An incarnation of the DN's AgentSession is up.
    SessionUp(ActorRef<AgentSessionMsg>),
    /// AgentSup saw that incarnation of the DN's AgentSession fail.
    SessionDown(ractor::ActorId),
    /// The AgentSession's machine after one of its timers.
    SessionStepped(Box<Mirror>),
    /// A while after the AgentSession went away: give it up if it is still away.
    CheckSession {
        generation: u64,
    },
    /// Retry a bind that raced a Registry restart.
    Rebind,
    /// Test hook: panic inside the handler, to exercise supervision.
    Crash,
    GetView(RpcReplyPort<DnView>),
}

/// The observable state, served to tests and by `GET /tree/{name}`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DnView {
    pub dn: DnName,
    pub dn_type: DnType,
    pub service: DnServiceState,
    pub agent: Option<AgentSession>,
    /// The whole agent machine: agent state with its periods, calls followed, armed timers.
    pub machine: AgentMachine,
    /// The AgentSession running the machine (its actor id, or "away"); None: this actor.
    pub agent_session: Option<String>,
    /// Agent inputs waiting for the AgentSession.
    pub waiting: usize,
    pub subscribers: usize,
    pub revision: u64,
}

pub fn snapshot_key(dn: &DnName) -> String {
    format!("dn:{dn}")
}

/// The DN's direct-call handling now: its options (DN level first) with a desktop's override on
/// top. The call model reads it through its Directory; EventRegistered reports it.
pub fn direct_calls(ctx: &ServerContext, dn: &DnName) -> DirectCallPolicy {
    let policy = DirectCallPolicy::for_dn(&ctx.config, dn);
    match ctx.directory.direct_override(dn) {
        Some(o) => policy.with_override(&o),
        None => policy,
    }
}

/// TPrivateService (after the call model answered it): a desktop's override of the DN's
/// direct-call handling, kept while that client stays registered on the DN.
pub fn private_service(ctx: &ServerContext, dn: &DnName, client_id: u64, extensions: &KvList) {
    if let Ok(Some(o)) = DirectCallsOverride::from_extensions(extensions) {
        if ctx.directory.set_direct_override(dn, client_id, o) {
            tracing::info!(%dn, client = client_id, policy = ?direct_calls(ctx, dn), "direct-call handling overridden");
        } else {
            tracing::warn!(%dn, client = client_id, "direct-call override ignored: the client is not registered on the DN");
        }
    }
}

impl Actor for DnActor {
    type Msg = DnMsg;
    type State = DnState;
    type Arguments = DnArgs;

    async fn pre_start(&self, myself: ActorRef<DnMsg>, args: DnArgs) -> Result<DnState, ActorProcessingErr> {
        let cfg = args.ctx.config.dns.get(&args.dn).ok_or_else(|| format!("DN {} is not configured", args.dn))?;
        let machine = AgentMachine::new(args.dn.clone(), AgentSettings::for_dn(&args.ctx.config, &args.dn));
        let state = DnState {
            dn_type: cfg.dn_type,
            register: cfg.register,
            ctx: args.ctx.clone(),
            me: myself,
            dn: args.dn.clone(),
            service: DnServiceState::OutOfService,
            core: AgentCore::new(args.ctx.clone(), args.dn.clone(), machine),
            session: None,
            inbox: VecDeque::new(),
            last_epoch: 0,
            logout_ext: BTreeMap::new(),
            revision: 0,
            presence: Default::default(),
        };
        Ok(state)
    }

    async fn post_start(&self, myself: ActorRef<DnMsg>, st: &mut DnState) -> Result<(), ActorProcessingErr> {
        st.restore().await;
        // In service when a connector link has the DN registered on the switch (LinkSup keeps that
        // table outside this actor, so a restarted incarnation knows at once).
        st.service = if st.register && st.ctx.directory.serving_link(&st.dn).is_some() {
            DnServiceState::InService
        } else {
            DnServiceState::OutOfService
        };
        st.bind(&myself);
        st.presence_sync();
        Ok(())
    }

    async fn post_stop(&self, myself: ActorRef<DnMsg>, st: &mut DnState) -> Result<(), ActorProcessingErr> {
        // The next incarnation re-arms them from the snapshot.
        st.core.abort_timers();
        if let Some(registry) = st.ctx.registry() {
            let _ = registry.cast(RegistryMsg::UnbindDn(st.dn.clone(), myself.get_id()));
        }
        Ok(())
    }

    async fn handle(&self, myself: ActorRef<DnMsg>, msg: DnMsg, st: &mut DnState) -> Result<(), ActorProcessingErr> {
        // Boxed: ractor keeps the handler's future inside the actor's task for its whole life, and
        // the request paths make it ~10 KiB. Boxed, an idle DN's task is ~1 KiB and the handler's
        // future lives only while a message is handled (with the ClientSession's, boxed alike:
        // 10,000 agents logged in, 730 -> 595 MiB).
        Box::pin(on_message(myself, msg, st)).await
    }
}

/// The Dn's handler (see `handle`).
async fn on_message(myself: ActorRef<DnMsg>, msg: DnMsg, st: &mut DnState) -> Result<(), ActorProcessingErr> {
    match msg {
        DnMsg::Register { client, reference_id, logout_on_disconnect } => {
            st.ctx.directory.subscribe(&st.dn, client.clone());
            let changed = match logout_on_disconnect {
                Some(v) => st.logout_ext.insert(client.id, v) != Some(v),
                None => st.logout_ext.remove(&client.id).is_some(),
            };
            st.refresh_mirror().await;
            if changed {
                st.persist();
            }
            let mut ev = st.state_event(EventKind::Registered);
            ev.attrs.reference_id = reference_id;
            st.reply(&client, ev);
        }
        DnMsg::Unregister { client, reference_id } => {
            if !st.ctx.directory.unsubscribe(&st.dn, client.id) {
                st.error(&client, reference_id, ErrorCode::NotRegistered, "client is not registered on this DN");
                return Ok(());
            }
            st.ctx.routing_client_left(&st.dn);
            let mut ev = Event::new(EventKind::Unregistered);
            ev.attrs.this_dn = Some(st.dn.clone());
            ev.attrs.reference_id = reference_id;
            st.reply(&client, ev);
            st.client_gone(client.id).await;
        }
        DnMsg::ClientGone { client } => st.client_gone(client).await,
        DnMsg::Request { client, request } => st.on_request(client, *request).await,
        DnMsg::CallEvent { event, requester, no_answer } => {
            st.route(AgentWork::CallEvent { event, requester, no_answer }).await;
        }
        DnMsg::NotAnswered { conn_id } => {
            let fact = crate::agent::CallFact::NotAnswered { conn_id, action: None };
            st.route(AgentWork::Input(AgentInput::Call(fact))).await;
        }
        DnMsg::AgentTimer { key, token } => st.agent_timer(key, token),
        DnMsg::SessionUp(actor) => st.session_up(actor).await,
        DnMsg::SessionDown(id) => st.session_down(id),
        DnMsg::SessionStepped(mirror) => st.session_stepped(*mirror).await,
        DnMsg::CheckSession { generation } => st.check_session(generation).await,
        DnMsg::SwitchState { in_service, cause } => {
            let new = if in_service && st.register { DnServiceState::InService } else { DnServiceState::OutOfService };
            if new != st.service {
                st.service = new;
                let kind = match new {
                    DnServiceState::InService => EventKind::DNBackInService,
                    DnServiceState::OutOfService => EventKind::DNOutOfService,
                };
                let mut ev = st.state_event(kind);
                if new == DnServiceState::OutOfService {
                    let ext = ev.attrs.extensions.take().unwrap_or_default();
                    ev.attrs.extensions = Some(ext.with("cause", cause));
                }
                st.publish(ev);
                if new == DnServiceState::OutOfService {
                    st.route(AgentWork::Input(AgentInput::OutOfService)).await;
                }
            }
            st.presence_sync(); // also when the DN moved to another link
        }
        DnMsg::PresenceChanged { availability, presence_type, .. } => st.on_presence(availability, presence_type),
        DnMsg::Rebind => st.bind(&myself),
        DnMsg::Crash => {
            if st.ctx.test_hooks {
                panic!("test hook: dn {} crashed on request", st.dn);
            }
        }
        DnMsg::GetView(reply) => {
            if !reply.is_closed() {
                let _ = reply.send(st.view());
            }
        }
    }
    Ok(())
}

impl DnState {
    /// Publishes this incarnation in the address book; retried shortly if the Registry is restarting.
    fn bind(&self, myself: &ActorRef<DnMsg>) {
        let sent = self.ctx.registry().map(|r| r.cast(RegistryMsg::BindDn(self.dn.clone(), myself.clone())).is_ok());
        if sent != Some(true) {
            myself.send_after(std::time::Duration::from_millis(5), || DnMsg::Rebind);
        }
    }

    fn view(&self) -> DnView {
        DnView {
            dn: self.dn.clone(),
            dn_type: self.dn_type,
            service: self.service,
            agent: self.core.machine.agent_session(),
            machine: self.core.machine.clone(),
            agent_session: self.session.as_ref().map(|s| s.describe()),
            waiting: self.inbox.len(),
            subscribers: self.ctx.directory.subscriber_count(&self.dn),
            revision: self.revision,
        }
    }

    /// An event describing the DN's current state (EventRegistered, EventAddressInfo, service events).
    fn state_event(&self, kind: EventKind) -> Event {
        let mut ev = Event::new(kind);
        let a = &mut ev.attrs;
        a.this_dn = Some(self.dn.clone());
        a.dn_type = Some(self.dn_type);
        a.service_state = Some(self.service);
        match &self.core.machine.agent_session() {
            Some(s) => {
                a.agent_id = Some(s.agent_id.clone());
                a.agent_status = Some(s.status);
                a.agent_work_mode = Some(s.work_mode);
                if !s.reasons.is_empty() {
                    a.reasons = Some(s.reasons.clone());
                }
            }
            None => a.agent_status = Some(crate::model::AgentStatus::LoggedOut),
        }
        // Guide, "Handling Direct Calls": the desktop learns the setting at registration; "IM
        // Suppression": every device learns the IM reporting mode there too.
        if matches!(kind, EventKind::Registered | EventKind::AddressInfo) {
            let mut ext = if self.dn_type == DnType::Extension {
                direct_calls(&self.ctx, &self.dn).extensions()
            } else {
                crate::model::KvList::new()
            };
            let im = crate::config::OptionEnum::as_str(self.ctx.config.tserver.im_reporting);
            ext = ext.with(crate::callmodel::IM_REPORTING, im);
            a.extensions = Some(ext);
        }
        // Guide, "Attribute Extensions": PresenceType (local / remote) in DN-status events, once
        // the Connector told which presence it monitors for the DN.
        let status =
            [EventKind::Registered, EventKind::AddressInfo, EventKind::DNBackInService, EventKind::DNOutOfService];
        if let Some(t) = self.ctx.directory.presence_type(&self.dn).filter(|_| status.contains(&kind)) {
            let ext = a.extensions.take().unwrap_or_default();
            a.extensions = Some(ext.with("PresenceType", t.as_str()));
        }
        ev
    }

    async fn on_request(&mut self, client: ClientHandle, req: Request) {
        let reference_id = req.attrs.reference_id;
        if self.service == DnServiceState::OutOfService && req.kind != RequestKind::QueryAddress {
            return self.error(&client, reference_id, ErrorCode::OutOfService, "DN is out of service");
        }
        match req.kind {
            RequestKind::QueryAddress => {
                self.refresh_mirror().await;
                let mut ev = self.state_event(EventKind::AddressInfo);
                ev.attrs.reference_id = reference_id;
                ev.attrs.address_info_type =
                    Some(req.attrs.address_info_type.unwrap_or(crate::model::AddressInfoType::DNStatus));
                self.reply(&client, ev);
            }
            RequestKind::AgentLogin
            | RequestKind::AgentLogout
            | RequestKind::AgentSetReady
            | RequestKind::AgentSetNotReady => self.on_agent_request(client, req).await,
            // ClientSession sends only DN-scoped requests here; call requests go to CallSup.
            other => self.error(
                &client,
                reference_id,
                ErrorCode::Internal,
                &format!("{} is not a DN request (routing error in the T-Server)", other.name()),
            ),
        }
    }

    /// Sends an event to every client registered on the DN.
    fn publish(&self, ev: Event) {
        agent_core::publish(&self.ctx, &self.dn, ev);
    }

    /// Sends an event to the requesting client only (table note 1: registration and queries).
    fn reply(&self, client: &ClientHandle, mut ev: Event) {
        self.ctx.stamp(&mut ev);
        if client.reply(ev) {
            self.ctx.metrics.events(1);
        }
    }

    fn error(&self, client: &ClientHandle, reference_id: Option<u32>, code: ErrorCode, message: &str) {
        agent_core::reply_error(&self.ctx, &self.dn, client, reference_id, code, message);
    }
}
