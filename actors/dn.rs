//! One Dn actor per configured DN. It owns the DN's state (service state on the switch, the
//! emulated agent logged in on it), answers the DN-scoped requests (TRegisterAddress and
//! TUnregisterAddress, TQueryAddress, agent requests) and fans its events out, in order, to every
//! client registered on the DN. Its state is written to the snapshot table on every transition
//! *before* the events leave, so a restarted incarnation (after a panic or an operator restart)
//! reloads exactly what clients were last told.

use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::actors::registry::RegistryMsg;
use crate::agent::{self, AgentEvent, AgentRequest, AgentSession, LoginContext};
use crate::callmodel::{DirectCallPolicy, DirectCallsOverride};
use crate::model::{AgentId, DnName, DnServiceState, DnType, ErrorCode, KvList};
use crate::store::{DnSnapshot, DnSnapshotV1, Snapshot};
use crate::tlib::{Attributes, Event, EventKind, Request, RequestKind};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde::Serialize;
use std::sync::Arc;

pub struct DnActor;

pub struct DnState {
    ctx: Arc<ServerContext>,
    dn: DnName,
    dn_type: DnType,
    /// The guide's `register` flag: false means the DN is never in service (no on-demand registration).
    register: bool,
    service: DnServiceState,
    agent: Option<AgentSession>,
    revision: u64,
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
    },
    /// TUnregisterAddress.
    Unregister {
        client: ClientHandle,
        reference_id: Option<u32>,
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

    async fn pre_start(&self, _myself: ActorRef<DnMsg>, args: DnArgs) -> Result<DnState, ActorProcessingErr> {
        let cfg = args.ctx.config.dns.get(&args.dn).ok_or_else(|| format!("DN {} is not configured", args.dn))?;
        let state = DnState {
            dn_type: cfg.dn_type,
            register: cfg.register,
            ctx: args.ctx.clone(),
            dn: args.dn.clone(),
            service: DnServiceState::OutOfService,
            agent: None,
            revision: 0,
        };
        Ok(state)
    }

    async fn post_start(&self, myself: ActorRef<DnMsg>, st: &mut DnState) -> Result<(), ActorProcessingErr> {
        if let Some(Snapshot::Dn(snap)) = st.ctx.snapshots.get(&snapshot_key(&st.dn)) {
            let v = snap.current();
            st.revision = v.revision;
            st.agent = match (v.agent_id, v.agent_status, v.agent_work_mode) {
                (Some(agent_id), Some(status), Some(work_mode)) => {
                    Some(AgentSession { agent_id, status, work_mode, reasons: v.reasons })
                }
                _ => None,
            };
            if let Some(a) = &st.agent {
                if let Err(other) = st.ctx.directory.claim_agent(&a.agent_id, &st.dn) {
                    tracing::error!(dn = %st.dn, agent = %a.agent_id, %other, "restored agent is also logged in elsewhere");
                }
            }
            tracing::debug!(dn = %st.dn, revision = st.revision, "dn state restored from snapshot");
        }
        // In service when a connector link has the DN registered on the switch (LinkSup keeps that
        // table outside this actor, so a restarted incarnation knows at once).
        st.service = if st.register && st.ctx.directory.serving_link(&st.dn).is_some() {
            DnServiceState::InService
        } else {
            DnServiceState::OutOfService
        };
        st.bind(&myself);
        Ok(())
    }

    async fn post_stop(&self, myself: ActorRef<DnMsg>, st: &mut DnState) -> Result<(), ActorProcessingErr> {
        if let Some(registry) = st.ctx.registry() {
            let _ = registry.cast(RegistryMsg::UnbindDn(st.dn.clone(), myself.get_id()));
        }
        Ok(())
    }

    async fn handle(&self, myself: ActorRef<DnMsg>, msg: DnMsg, st: &mut DnState) -> Result<(), ActorProcessingErr> {
        match msg {
            DnMsg::Register { client, reference_id } => {
                st.ctx.directory.subscribe(&st.dn, client.clone());
                let mut ev = st.state_event(EventKind::Registered);
                ev.attrs.reference_id = reference_id;
                st.reply(&client, ev);
            }
            DnMsg::Unregister { client, reference_id } => {
                if !st.ctx.directory.unsubscribe(&st.dn, client.id) {
                    st.error(&client, reference_id, ErrorCode::NotRegistered, "client is not registered on this DN");
                    return Ok(());
                }
                crate::actors::call_sup::client_left(&st.ctx, &st.dn);
                let mut ev = Event::new(EventKind::Unregistered);
                ev.attrs.this_dn = Some(st.dn.clone());
                ev.attrs.reference_id = reference_id;
                st.reply(&client, ev);
            }
            DnMsg::Request { client, request } => st.on_request(client, *request),
            DnMsg::SwitchState { in_service, cause } => {
                let new =
                    if in_service && st.register { DnServiceState::InService } else { DnServiceState::OutOfService };
                if new != st.service {
                    st.service = new;
                    let kind = match new {
                        DnServiceState::InService => EventKind::DNBackInService,
                        DnServiceState::OutOfService => EventKind::DNOutOfService,
                    };
                    let mut ev = st.state_event(kind);
                    if new == DnServiceState::OutOfService {
                        ev.attrs.extensions = Some(KvList::new().with("cause", cause));
                    }
                    st.publish(ev);
                }
            }
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
            agent: self.agent.clone(),
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
        match &self.agent {
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
        // Guide, "Handling Direct Calls": the desktop learns the setting at registration.
        if matches!(kind, EventKind::Registered | EventKind::AddressInfo) && self.dn_type == DnType::Extension {
            a.extensions = Some(direct_calls(&self.ctx, &self.dn).extensions());
        }
        ev
    }

    fn on_request(&mut self, client: ClientHandle, req: Request) {
        let reference_id = req.attrs.reference_id;
        if self.service == DnServiceState::OutOfService && req.kind != RequestKind::QueryAddress {
            return self.error(&client, reference_id, ErrorCode::OutOfService, "DN is out of service");
        }
        match req.kind {
            RequestKind::QueryAddress => {
                let mut ev = self.state_event(EventKind::AddressInfo);
                ev.attrs.reference_id = reference_id;
                ev.attrs.address_info_type =
                    Some(req.attrs.address_info_type.unwrap_or(crate::model::AddressInfoType::DNStatus));
                self.reply(&client, ev);
            }
            RequestKind::AgentLogin
            | RequestKind::AgentLogout
            | RequestKind::AgentSetReady
            | RequestKind::AgentSetNotReady => self.on_agent_request(client, req),
            // ClientSession sends only DN-scoped requests here; call requests go to CallSup.
            other => self.error(
                &client,
                reference_id,
                ErrorCode::Internal,
                &format!("{} is not a DN request (routing error in the T-Server)", other.name()),
            ),
        }
    }

    fn on_agent_request(&mut self, client: ClientHandle, req: Request) {
        let reference_id = req.attrs.reference_id;
        let a = &req.attrs;
        let reasons = a.reasons.clone().unwrap_or_default();
        let request = match req.kind {
            RequestKind::AgentLogin => AgentRequest::Login {
                agent_id: a.agent_id.clone().unwrap_or_else(|| AgentId::new("")),
                work_mode: a.agent_work_mode,
                reasons,
            },
            RequestKind::AgentLogout => AgentRequest::Logout { reasons },
            RequestKind::AgentSetReady => AgentRequest::SetReady { work_mode: a.agent_work_mode, reasons },
            _ => AgentRequest::SetNotReady { work_mode: a.agent_work_mode, reasons },
        };
        let mut login = LoginContext::default();
        if let AgentRequest::Login { agent_id, .. } = &request {
            let tserver = &self.ctx.config.tserver;
            login.unknown_agent_refused =
                tserver.agent_strict_id && !self.ctx.config.agent_logins.contains_key(agent_id);
            login.login_ready = tserver.emulated_login_state == crate::config::EmulatedLoginState::Ready;
            login.logged_in_elsewhere =
                self.agent.is_none() && self.ctx.directory.agent_dn(agent_id).is_some_and(|dn| dn != self.dn);
        }
        let outcome = match agent::apply(self.agent.as_ref(), request, login) {
            Ok(o) => o,
            Err(code) => return self.error(&client, reference_id, code, code.description()),
        };
        // Claim the AgentID atomically: two DNs racing to log the same agent in cannot both win.
        if let (None, Some(new)) = (&self.agent, &outcome.session) {
            if let Err(other) = self.ctx.directory.claim_agent(&new.agent_id, &self.dn) {
                let msg = format!("agent {} is logged in on {other}", new.agent_id);
                return self.error(&client, reference_id, ErrorCode::SoftAgentAlreadyLoggedIn, &msg);
            }
        }
        if let (Some(old), None) = (&self.agent, &outcome.session) {
            self.ctx.directory.release_agent(&old.agent_id, &self.dn);
        }
        let previous = std::mem::replace(&mut self.agent, outcome.session);
        self.persist();
        let shown = self.agent.as_ref().or(previous.as_ref());
        // Only the event answering the request carries its ReferenceID (EventAgentLogin for a
        // login); a consequence such as the EventAgentReady that follows it is unsolicited.
        for (i, event) in outcome.events.into_iter().enumerate() {
            let kind = match event {
                AgentEvent::Login => EventKind::AgentLogin,
                AgentEvent::Logout => EventKind::AgentLogout,
                AgentEvent::Ready => EventKind::AgentReady,
                AgentEvent::NotReady => EventKind::AgentNotReady,
            };
            let mut ev = Event::new(kind);
            ev.attrs = Attributes {
                this_dn: Some(self.dn.clone()),
                this_queue: req.attrs.this_queue.clone(),
                reference_id: if i == 0 { reference_id } else { None },
                agent_id: shown.map(|s| s.agent_id.clone()),
                agent_work_mode: self.agent.as_ref().map(|s| s.work_mode),
                reasons: req.attrs.reasons.clone(),
                extensions: req.attrs.extensions.clone(),
                ..Default::default()
            };
            self.publish(ev);
        }
    }

    /// Writes the snapshot before any event leaves: a crash after this point replays nothing twice
    /// and loses nothing a client was told.
    fn persist(&mut self) {
        self.revision += 1;
        let snap = DnSnapshotV1 {
            dn: self.dn.clone(),
            agent_id: self.agent.as_ref().map(|a| a.agent_id.clone()),
            agent_status: self.agent.as_ref().map(|a| a.status),
            agent_work_mode: self.agent.as_ref().map(|a| a.work_mode),
            reasons: self.agent.as_ref().map(|a| a.reasons.clone()).unwrap_or_default(),
            calls: Vec::new(),
            revision: self.revision,
        };
        self.ctx.snapshots.put(&snapshot_key(&self.dn), Snapshot::Dn(DnSnapshot::V1(snap)));
    }

    /// Sends an event to every client registered on the DN.
    fn publish(&self, mut ev: Event) {
        self.ctx.stamp(&mut ev);
        tracing::debug!(dn = %self.dn, event = %ev.log_display(self.ctx.visibility), "distribute");
        let n = self.ctx.directory.fan_out(&self.dn, &SharedEvent::new(ev));
        self.ctx.metrics.events(n as u64);
    }

    /// Sends an event to the requesting client only (table note 1: registration and queries).
    fn reply(&self, client: &ClientHandle, mut ev: Event) {
        self.ctx.stamp(&mut ev);
        if client.reply(ev) {
            self.ctx.metrics.events(1);
        }
    }

    fn error(&self, client: &ClientHandle, reference_id: Option<u32>, code: ErrorCode, message: &str) {
        self.ctx.metrics.error(code.code());
        let mut ev = Event::error(reference_id.unwrap_or(0), code, message);
        ev.attrs.this_dn = Some(self.dn.clone());
        self.reply(client, ev);
    }
}
