//! The agent side of the Dn actor (a child module of `dn.rs`): it feeds the DN's pure
//! [`AgentMachine`] (docs/agents.md) with agent requests, the DN's call events, timer expiries,
//! client departures and out-of-service, with the time in ms, and carries out what it returns —
//! in this order: the AgentID claimed or released in the directory, the snapshot written, the
//! agent events published, the timers armed, the ringing party of a no-answer taken off its call
//! (through CallSup). A refused request is answered to its requester only.
//!
//! Call events reach this actor (instead of going straight to the clients) while the machine
//! follows the DN's calls — an agent is logged in, or calls it saw are still on the DN — so the
//! machine sees each one before the clients do: EventAgentNotReady(AfterCallWork) goes out before
//! EventReleased, and WrapUpTime is added to EventEstablished. It never talks to the Connector.

use super::{snapshot_key, DnMsg, DnState};
use crate::actors::call::now_ms;
use crate::actors::call_sup::CallSupMsg;
use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::agent::{
    AgentInput, AgentMachine, AgentSettings, Answer, CallFact, CallPhase, ClientRequest, Effect, LoginCheck,
    NoAnswerOverride, Output, RequestAction, TimerCmd,
};
use crate::callmodel::{CallSnapshot, ClientRef, Recipient, TableSnapshot};
use crate::model::{AgentId, ConnId, ErrorCode, KvList};
use crate::store::{DnSnapshot, DnSnapshotV2, Snapshot};
use crate::tlib::{Event, EventKind, Request, RequestKind};
use ractor::ActorRef;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

impl DnState {
    /// Reloads the machine from the snapshot (any version) and re-arms its timers.
    pub(super) fn restore(&mut self, me: &ActorRef<DnMsg>) {
        let now = now_ms();
        if let Some(Snapshot::Dn(snap)) = self.ctx.snapshots.get(&snapshot_key(&self.dn)) {
            let (cfg, dn) = (&self.ctx.config, &self.dn);
            let v =
                snap.current(&AgentSettings::for_dn(cfg, dn), |a| AgentSettings::for_login(cfg, dn, a, &KvList::new()));
            self.revision = v.revision;
            self.machine = v.machine;
            self.logout_ext = v.logout_on_disconnect.into_iter().collect();
            self.presence.restore_dnd(v.dnd);
            if let Some(s) = self.machine.session() {
                if let Err(other) = self.ctx.directory.claim_agent(&s.agent_id, &self.dn) {
                    tracing::error!(dn = %self.dn, agent = %s.agent_id, %other, "restored agent is also logged in elsewhere");
                }
            }
            tracing::debug!(dn = %self.dn, revision = self.revision, "dn state restored from snapshot");
            self.forget_ended_calls(me);
        }
        // Deadlines already passed fire at once; a machine upgraded from V1 arms what it needs.
        let mut timers = self.machine.rearm(now);
        timers.extend(self.machine.refresh_timers(now));
        self.arm(me, timers);
        self.follow_calls();
    }

    /// TAgentLogin / TAgentLogout / TAgentSetReady / TAgentSetNotReady.
    pub(super) fn on_agent_request(&mut self, me: &ActorRef<DnMsg>, client: ClientHandle, req: Request) {
        let reference_id = req.attrs.reference_id;
        let a = req.attrs;
        let extensions = a.extensions.unwrap_or_default();
        let action = match req.kind {
            RequestKind::AgentLogin => {
                let agent_id = a.agent_id.unwrap_or_else(|| AgentId::new(""));
                let elsewhere = self.ctx.directory.agent_dn(&agent_id).is_some_and(|dn| dn != self.dn);
                let check = LoginCheck::resolve(&self.ctx.config, &self.dn, &agent_id, &extensions, elsewhere);
                self.presence_login(&agent_id, &extensions);
                RequestAction::Login { agent_id, work_mode: a.agent_work_mode, check }
            }
            RequestKind::AgentLogout => RequestAction::Logout,
            RequestKind::AgentSetReady => RequestAction::SetReady { work_mode: a.agent_work_mode },
            _ => RequestAction::SetNotReady { work_mode: a.agent_work_mode },
        };
        if matches!(req.kind, RequestKind::AgentLogin | RequestKind::AgentLogout) {
            self.forget_ended_calls(me); // agent-emu-login-on-call must not see a call long gone
        }
        let request = ClientRequest {
            client: client.id,
            reference_id,
            this_queue: a.this_queue,
            reasons: a.reasons.unwrap_or_default(),
            extensions,
            action,
        };
        // One DN per agent is a cross-DN fact: the step is kept only if the AgentID can be claimed
        // (two DNs racing to log the same agent in cannot both win).
        let mut next = self.machine.clone();
        let mut out = next.step(now_ms(), AgentInput::Request(request));
        for effect in &out.effects {
            if let Effect::AgentLoggedIn { agent_id } = effect {
                if let Err(other) = self.ctx.directory.claim_agent(agent_id, &self.dn) {
                    let msg = format!("agent {agent_id} is logged in on {other}");
                    return self.error(&client, reference_id, ErrorCode::SoftAgentAlreadyLoggedIn, &msg);
                }
            }
        }
        self.machine = next;
        self.carry_out(me, &mut out);
        if let Some(Answer::Error { code, message }) = out.answer {
            self.error(&client, reference_id, code, &message);
        }
    }

    /// A call event of this DN: the machine first (its events go out before the call event),
    /// then the event itself, amended (WrapUpTime in EventEstablished).
    pub(super) fn on_call_event(
        &mut self,
        me: &ActorRef<DnMsg>,
        mut event: Event,
        requester: Option<ClientHandle>,
        no_answer: NoAnswerOverride,
    ) {
        for fact in call_facts(&self.machine, &event, no_answer) {
            let out = self.step(me, AgentInput::Call(fact));
            if event.kind == EventKind::Established && !out.call_extensions.is_empty() {
                event.attrs.extensions.get_or_insert_with(KvList::new).update(&out.call_extensions);
            }
        }
        self.ctx.stamp(&mut event);
        tracing::debug!(dn = %self.dn, event = %event.log_display(self.ctx.visibility), "distribute");
        let shared = SharedEvent::new(event);
        let n = self.ctx.directory.fan_out(&self.dn, &shared);
        self.ctx.metrics.events(n as u64);
        // The answer to a request of a client not registered on this DN still reaches it.
        let requester = requester.filter(|c| !self.ctx.directory.is_subscribed(&self.dn, c.id));
        if requester.is_some_and(|c| c.deliver_answer(&shared)) {
            self.ctx.metrics.events(1);
        }
    }

    /// A client left the DN (TUnregisterAddress or disconnection): logout-on-disconnect.
    pub(super) fn client_gone(&mut self, me: &ActorRef<DnMsg>, client: u64) {
        let logout_on_disconnect = self.logout_ext.remove(&client);
        self.step(me, AgentInput::ClientGone { client, logout_on_disconnect });
    }

    /// Applies one input that answers nobody and carries out its output.
    pub(super) fn step(&mut self, me: &ActorRef<DnMsg>, input: AgentInput) -> Output {
        let mut out = self.machine.step(now_ms(), input);
        self.carry_out(me, &mut out);
        out
    }

    fn carry_out(&mut self, me: &ActorRef<DnMsg>, out: &mut Output) {
        for effect in &out.effects {
            match effect {
                // Claimed before the step was kept; claiming again is a no-op.
                Effect::AgentLoggedIn { agent_id } => {
                    let _ = self.ctx.directory.claim_agent(agent_id, &self.dn);
                }
                Effect::AgentLoggedOut { agent_id, cause } => {
                    self.ctx.directory.release_agent(agent_id, &self.dn);
                    tracing::info!(dn = %self.dn, agent = %agent_id, ?cause, "agent logged out");
                }
                Effect::NoAnswer { .. } => {}
            }
        }
        self.follow_calls();
        self.persist();
        for ev in out.events.drain(..) {
            self.publish(ev);
        }
        self.arm(me, std::mem::take(&mut out.timers));
        self.presence_sync();
        for effect in &out.effects {
            if let Effect::NoAnswer { conn_id } = effect {
                tracing::info!(dn = %self.dn, conn = %conn_id, "no answer: the ringing party is taken off the call");
                let sent = self
                    .ctx
                    .call_sup()
                    .is_some_and(|sup| sup.cast(CallSupMsg::ReleaseParty(*conn_id, self.dn.clone())).is_ok());
                if !sent {
                    tracing::warn!(dn = %self.dn, conn = %conn_id, "no-answer release not sent: call handling is restarting");
                }
            }
        }
    }

    /// Arms and cancels the machine's timers; an expiry the machine no longer expects is ignored
    /// by it (its token is stale), so a cancel that loses the race is harmless.
    pub(super) fn arm(&mut self, me: &ActorRef<DnMsg>, cmds: Vec<TimerCmd>) {
        for cmd in cmds {
            match cmd {
                TimerCmd::Arm { key, token, after_ms } => {
                    let task = me.send_after(Duration::from_millis(after_ms), move || DnMsg::AgentTimer { key, token });
                    if let Some((_, old)) = self.timers.insert(key, (token, task)) {
                        old.abort();
                    }
                }
                TimerCmd::Cancel { key } => {
                    if let Some((_, old)) = self.timers.remove(&key) {
                        old.abort();
                    }
                }
            }
        }
    }

    /// The calls the machine follows that no call family holds with this DN any more: their end
    /// never reached the machine (a crashed Dn loses its mailbox; events go straight to the
    /// clients while it restarts). They end now, so the agent is not kept busy by them. Every
    /// live call is in its family's snapshot, written before its events leave.
    fn forget_ended_calls(&mut self, me: &ActorRef<DnMsg>) {
        if self.machine.calls().is_empty() {
            return;
        }
        let mut live = HashSet::new();
        self.ctx.snapshots.for_each_with_prefix("calls:", |_, snap| {
            if let Snapshot::Calls(TableSnapshot::V1 { calls, .. }) = snap {
                for CallSnapshot::V1(call) in calls {
                    if call.parties.iter().any(|p| p.is_dn(&self.dn)) {
                        live.insert(call.conn_id);
                    }
                }
            }
        });
        let ended: Vec<ConnId> = self.machine.calls().iter().map(|c| c.conn_id).filter(|c| !live.contains(c)).collect();
        for conn_id in ended {
            tracing::warn!(dn = %self.dn, conn = %conn_id, "the end of a call was missed; the agent leaves it now");
            self.step(me, AgentInput::Call(CallFact::Released { conn_id }));
        }
    }

    /// Tells the Call actors whether this DN's call events must come through here.
    fn follow_calls(&self) {
        // Push presence publishes the device state too (Busy while a call is on the DN), so a DN in
        // push mode follows its calls with or without an agent.
        let push = matches!(self.presence_mode(), crate::presence::PresenceMode::Push { .. });
        let follow = self.machine.session().is_some() || !self.machine.calls().is_empty() || push;
        self.ctx.directory.set_follows_calls(&self.dn, follow);
    }

    /// Writes the snapshot before any event leaves: a crash after this point replays nothing twice
    /// and loses nothing a client was told.
    pub(super) fn persist(&mut self) {
        self.revision += 1;
        let snap = DnSnapshotV2 {
            dn: self.dn.clone(),
            machine: self.machine.clone(),
            logout_on_disconnect: self.logout_ext.iter().map(|(c, v)| (*c, *v)).collect(),
            dnd: self.presence.dnd(),
            revision: self.revision,
        };
        self.ctx.snapshots.put(&snapshot_key(&self.dn), Snapshot::Dn(DnSnapshot::V2(snap)));
    }
}

/// The call model's event for `to`, handed to the DN's actor when its agent machine follows the
/// DN's calls (None then); otherwise given back for the caller to deliver straight to the
/// clients. Also tells a DN that routing's delivery supervision timed its ringing out
/// (EventError TERR_DN_NO_ANSWER to the Routing Point, OtherDN = the DN): its agent's
/// no-answer-action applies.
pub fn through_dn(
    ctx: &ServerContext,
    clients: &HashMap<u64, ClientHandle>,
    to: &Recipient,
    event: Event,
    no_answer: NoAnswerOverride,
) -> Option<Event> {
    if event.kind == EventKind::Error && event.attrs.error_code == Some(ErrorCode::DnNoAnswer) {
        if let (Some(dn), Some(conn_id)) = (&event.attrs.other_dn, event.attrs.conn_id) {
            if let Some(actor) = ctx.directory.dn(dn).filter(|_| ctx.directory.follows_calls(dn)) {
                let _ = actor.cast(DnMsg::NotAnswered { conn_id });
            }
        }
    }
    let Some(actor) = to.dn().filter(|dn| ctx.directory.follows_calls(dn)).and_then(|dn| ctx.directory.dn(dn)) else {
        return Some(event);
    };
    let requester = match to {
        Recipient::DnAndRequester(_, ClientRef(id)) => clients.get(id).cloned(),
        _ => None,
    };
    match actor.cast(DnMsg::CallEvent { event: Box::new(event), requester, no_answer }) {
        Ok(()) => None,
        // The Dn is restarting: the clients get the event all the same.
        Err(ractor::MessagingErr::SendErr(DnMsg::CallEvent { event, .. })) => Some(*event),
        Err(_) => None,
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
