//! Carrying out a DN's agent machine, shared by the two actors that can own one: the Dn actor
//! while nobody is logged in on the DN (the machine then follows the DN's calls and answers agent
//! requests — a login among them), and the AgentSession while an agent is (`agent_session.rs`).
//! The machine is pure (`crate::agent`, docs/agents.md); this is what its output means, in this
//! order: the AgentID claimed or released in the directory, the owner's snapshot written, the
//! agent events published, the timers armed, the owner's follow-up (the Dn: which calls come
//! through it, presence), the ringing party of a no-answer taken off its call (through CallSup).
//! A refused request is answered to its requester only.
//!
//! Call events reach the owner (instead of going straight to the clients) while the machine
//! follows the DN's calls, so the machine sees each one before the clients do:
//! EventAgentNotReady(AfterCallWork) goes out before EventReleased, and WrapUpTime is added to
//! EventEstablished. Nothing here talks to the Connector.

use crate::actors::call::now_ms;
use crate::actors::call_sup::CallSupMsg;
use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::agent::{
    AgentInput, AgentMachine, Answer, CallFact, CallPhase, ClientRequest, Effect, NoAnswerOverride, Output, TimerCmd,
    TimerKey,
};
use crate::model::{DnName, ErrorCode, KvList};
use crate::tlib::{Event, EventKind};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// An armed timer's task (aborted when the machine cancels or re-arms it).
pub type TimerTask = tokio::task::AbortHandle;

/// One input for the owner of a DN's agent machine, in the order the Dn actor received it.
#[derive(Clone)]
pub enum AgentWork {
    /// An agent request (TAgentLogin's checks already resolved by the Dn).
    Request { client: ClientHandle, request: ClientRequest },
    /// A call event of the DN; `requester` also gets it when not registered on the DN.
    CallEvent { event: Box<Event>, requester: Option<ClientHandle>, no_answer: NoAnswerOverride },
    /// Anything that answers nobody: a client gone, out of service, a call that rang out.
    Input(AgentInput),
}

/// Whether the input can change the machine: a call event it has nothing to learn from (user
/// data, a party added elsewhere, digits) only passes through.
pub fn concerns_machine(machine: &AgentMachine, work: &AgentWork) -> bool {
    match work {
        AgentWork::CallEvent { event, .. } => !call_facts(machine, event, NoAnswerOverride::default()).is_empty(),
        _ => true,
    }
}

/// A DN's agent machine with its armed timers.
pub struct AgentCore {
    pub ctx: Arc<ServerContext>,
    pub dn: DnName,
    pub machine: AgentMachine,
    timers: HashMap<TimerKey, (u64, TimerTask)>,
}

impl AgentCore {
    pub fn new(ctx: Arc<ServerContext>, dn: DnName, machine: AgentMachine) -> Self {
        AgentCore { ctx, dn, machine, timers: HashMap::new() }
    }

    /// A timer fired: forgotten here; the machine ignores it when its token is stale.
    pub fn timer_fired(&mut self, key: TimerKey, token: u64) {
        if self.timers.get(&key).is_some_and(|(t, _)| *t == token) {
            self.timers.remove(&key);
        }
    }

    /// Aborts every armed timer (the machine moves to another owner, or the actor stops; the
    /// next owner re-arms them from the machine's deadlines).
    pub fn abort_timers(&mut self) {
        for (_, (_, task)) in self.timers.drain() {
            task.abort();
        }
    }

    pub fn armed_timers(&self) -> usize {
        self.timers.len()
    }
}

/// An owner of a DN's agent machine. The provided methods are the whole execution; an owner
/// says how it persists, how a timer reaches it, and what it does after each step.
pub trait AgentHost {
    fn core(&mut self) -> &mut AgentCore;

    /// Writes the owner's snapshot; called before any event of the step leaves, so a crash after
    /// it loses nothing a client was told.
    fn persist(&mut self);

    /// Arms one of the machine's timers: a message to the owner after `after`.
    fn arm_timer(&self, key: TimerKey, token: u64, after: Duration) -> TimerTask;

    /// After a step was carried out.
    fn stepped(&mut self) {}

    fn work(&mut self, work: AgentWork) {
        match work {
            AgentWork::Request { client, request } => self.request(client, request),
            AgentWork::CallEvent { event, requester, no_answer } => self.call_event(*event, requester, no_answer),
            AgentWork::Input(input) => {
                self.step(input);
            }
        }
    }

    /// TAgentLogin / TAgentLogout / TAgentSetReady / TAgentSetNotReady.
    fn request(&mut self, client: ClientHandle, request: ClientRequest) {
        let reference_id = request.reference_id;
        // One DN per agent is a cross-DN fact: the step is kept only if the AgentID can be claimed
        // (two DNs racing to log the same agent in cannot both win).
        let core = self.core();
        let mut next = core.machine.clone();
        let mut out = next.step(now_ms(), AgentInput::Request(request));
        for effect in &out.effects {
            if let Effect::AgentLoggedIn { agent_id } = effect {
                if let Err(other) = core.ctx.directory.claim_agent(agent_id, &core.dn) {
                    let msg = format!("agent {agent_id} is logged in on {other}");
                    return reply_error(
                        &core.ctx,
                        &core.dn,
                        &client,
                        reference_id,
                        ErrorCode::SoftAgentAlreadyLoggedIn,
                        &msg,
                    );
                }
            }
        }
        core.machine = next;
        self.carry_out(&mut out);
        if let Some(Answer::Error { code, message }) = out.answer {
            let core = self.core();
            reply_error(&core.ctx, &core.dn, &client, reference_id, code, &message);
        }
    }

    /// A call event of the DN: the machine first (its events go out before the call event),
    /// then the event itself, amended (WrapUpTime in EventEstablished).
    fn call_event(&mut self, mut event: Event, requester: Option<ClientHandle>, no_answer: NoAnswerOverride) {
        for fact in call_facts(&self.core().machine, &event, no_answer) {
            let out = self.step(AgentInput::Call(fact));
            if event.kind == EventKind::Established && !out.call_extensions.is_empty() {
                event.attrs.extensions.get_or_insert_with(KvList::new).update(&out.call_extensions);
            }
        }
        let core = self.core();
        distribute(&core.ctx, &core.dn, event, requester);
    }

    /// Applies one input that answers nobody and carries out its output.
    fn step(&mut self, input: AgentInput) -> Output {
        let mut out = self.core().machine.step(now_ms(), input);
        self.carry_out(&mut out);
        out
    }

    fn carry_out(&mut self, out: &mut Output) {
        let core = self.core();
        for effect in &out.effects {
            match effect {
                // Claimed before the step was kept; claiming again is a no-op.
                Effect::AgentLoggedIn { agent_id } => {
                    let _ = core.ctx.directory.claim_agent(agent_id, &core.dn);
                }
                Effect::AgentLoggedOut { agent_id, cause } => {
                    core.ctx.directory.release_agent(agent_id, &core.dn);
                    tracing::info!(dn = %core.dn, agent = %agent_id, ?cause, "agent logged out");
                }
                Effect::NoAnswer { .. } => {}
            }
        }
        self.persist();
        for ev in out.events.drain(..) {
            let core = self.core();
            publish(&core.ctx, &core.dn, ev);
        }
        self.arm(std::mem::take(&mut out.timers));
        self.stepped();
        let core = self.core();
        for effect in &out.effects {
            if let Effect::NoAnswer { conn_id } = effect {
                tracing::info!(dn = %core.dn, conn = %conn_id, "no answer: the ringing party is taken off the call");
                let sent = core
                    .ctx
                    .call_sup()
                    .is_some_and(|sup| sup.cast(CallSupMsg::ReleaseParty(*conn_id, core.dn.clone())).is_ok());
                if !sent {
                    tracing::warn!(dn = %core.dn, conn = %conn_id, "no-answer release not sent: call handling is restarting");
                }
            }
        }
    }

    /// Arms and cancels the machine's timers; an expiry the machine no longer expects is ignored
    /// by it (its token is stale), so a cancel that loses the race is harmless.
    fn arm(&mut self, cmds: Vec<TimerCmd>) {
        for cmd in cmds {
            match cmd {
                TimerCmd::Arm { key, token, after_ms } => {
                    let task = self.arm_timer(key, token, Duration::from_millis(after_ms));
                    if let Some((_, old)) = self.core().timers.insert(key, (token, task)) {
                        old.abort();
                    }
                }
                TimerCmd::Cancel { key } => {
                    if let Some((_, old)) = self.core().timers.remove(&key) {
                        old.abort();
                    }
                }
            }
        }
    }

    /// The machine just came to this owner: its timers armed from their deadlines (passed ones
    /// fire at once; a machine upgraded from a V1 snapshot arms what its state needs).
    fn rearm(&mut self) {
        let now = now_ms();
        let machine = &mut self.core().machine;
        let mut timers = machine.rearm(now);
        timers.extend(machine.refresh_timers(now));
        self.arm(timers);
    }
}

/// Sends an event to every client registered on the DN.
pub fn publish(ctx: &ServerContext, dn: &DnName, mut ev: Event) {
    ctx.stamp(&mut ev);
    tracing::debug!(%dn, event = %ev.log_display(ctx.visibility), "distribute");
    let n = ctx.directory.fan_out(dn, &SharedEvent::new(ev));
    ctx.metrics.events(n as u64);
}

/// A call event of the DN to every client registered on it; the answer to a request of a client
/// not registered on the DN (`requester`) still reaches that client.
pub fn distribute(ctx: &ServerContext, dn: &DnName, mut event: Event, requester: Option<ClientHandle>) {
    ctx.stamp(&mut event);
    tracing::debug!(%dn, event = %event.log_display(ctx.visibility), "distribute");
    let shared = SharedEvent::new(event);
    let n = ctx.directory.fan_out(dn, &shared);
    ctx.metrics.events(n as u64);
    let requester = requester.filter(|c| !ctx.directory.is_subscribed(dn, c.id));
    if requester.is_some_and(|c| c.deliver_answer(&shared)) {
        ctx.metrics.events(1);
    }
}

/// EventError to the requesting client only.
pub fn reply_error(
    ctx: &ServerContext,
    dn: &DnName,
    client: &ClientHandle,
    reference_id: Option<u32>,
    code: ErrorCode,
    message: &str,
) {
    ctx.metrics.error(code.code());
    let mut ev = Event::error(reference_id.unwrap_or(0), code, message);
    ev.attrs.this_dn = Some(dn.clone());
    ctx.stamp(&mut ev);
    if client.reply(ev) {
        ctx.metrics.events(1);
    }
}

/// What a call event of the DN tells the agent machine. Every call is a business call in this
/// T-Server (guide, "Emulated Agents").
fn call_facts(machine: &AgentMachine, ev: &Event, no_answer: NoAnswerOverride) -> Vec<CallFact> {
    let Some(conn_id) = ev.attrs.conn_id else { return Vec::new() };
    let business = true;
    match ev.kind {
        EventKind::Ringing => vec![CallFact::Ringing { conn_id, business, no_answer }],
        EventKind::Dialing => vec![CallFact::Dialing { conn_id, business }],
        EventKind::Established => vec![CallFact::Established { conn_id, business }],
        // The DN left the call.
        EventKind::Released | EventKind::Abandoned | EventKind::Diverted => vec![CallFact::Released { conn_id }],
        // A completed transfer / conference: the DN's call goes on under the main call's ConnID.
        // The new one is recorded first, so leaving the old one is not the end of a business call.
        EventKind::PartyChanged | EventKind::PartyAdded => {
            let Some(prev) = ev.attrs.previous_conn_id.filter(|p| *p != conn_id) else { return Vec::new() };
            let Some(call) = machine.calls().iter().find(|c| c.conn_id == prev) else { return Vec::new() };
            let moved = match call.phase {
                CallPhase::Ringing => CallFact::Ringing { conn_id, business, no_answer: NoAnswerOverride::default() },
                CallPhase::Dialing => CallFact::Dialing { conn_id, business },
                CallPhase::Established => CallFact::Established { conn_id, business },
            };
            vec![moved, CallFact::Released { conn_id: prev }]
        }
        _ => Vec::new(),
    }
}
