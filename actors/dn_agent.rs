//! The agent side of the Dn actor (a child module of `dn.rs`). It turns agent requests, the DN's
//! call events, client departures, out-of-service and calls that rang out into [`AgentWork`] and
//! routes it (`dn_session.rs`): to the DN's AgentSession while an agent is logged in, else to the
//! Dn's own machine, which it runs as an [`AgentHost`] (`agent_core.rs`) — the machine then
//! follows the DN's calls and answers agent requests, a login among them.

use super::{snapshot_key, DnMsg, DnState};
use crate::actors::agent_core::{AgentCore, AgentHost, AgentWork, TimerTask};
use crate::actors::context::ServerContext;
use crate::actors::outbound::ClientHandle;
use crate::agent::{
    AgentInput, AgentSettings, CallFact, ClientRequest, LoginCheck, NoAnswerOverride, RequestAction, TimerKey,
};
use crate::callmodel::{CallSnapshot, ClientRef, Recipient, TableSnapshot};
use crate::model::{AgentId, ConnId, ErrorCode, KvList};
use crate::store::{DnSnapshot, DnSnapshotV2, Snapshot};
use crate::tlib::{Event, EventKind, Request, RequestKind};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

impl AgentHost for DnState {
    fn core(&mut self) -> &mut AgentCore {
        &mut self.core
    }

    /// Writes the snapshot before any event leaves: a crash after this point replays nothing
    /// twice and loses nothing a client was told.
    fn persist(&mut self) {
        self.revision += 1;
        let snap = DnSnapshotV2 {
            dn: self.dn.clone(),
            machine: self.core.machine.clone(),
            logout_on_disconnect: self.logout_ext.iter().map(|(c, v)| (*c, *v)).collect(),
            dnd: self.presence.dnd(),
            revision: self.revision,
        };
        self.ctx.snapshots.put(&snapshot_key(&self.dn), Snapshot::Dn(DnSnapshot::V2(snap)));
    }

    fn arm_timer(&self, key: TimerKey, token: u64, after: Duration) -> TimerTask {
        self.me.send_after(after, move || DnMsg::AgentTimer { key, token }).abort_handle()
    }

    fn stepped(&mut self) {
        self.follow_calls();
        self.presence_sync();
    }
}

impl DnState {
    /// Reloads the DN's state from its snapshot (any version), then finds who runs its agent:
    /// its AgentSession when one is up or due (its snapshot is the newer), else this actor.
    pub(super) async fn restore(&mut self) {
        if let Some(Snapshot::Dn(snap)) = self.ctx.snapshots.get(&snapshot_key(&self.dn)) {
            let (cfg, dn) = (&self.ctx.config, &self.dn);
            let v =
                snap.current(&AgentSettings::for_dn(cfg, dn), |a| AgentSettings::for_login(cfg, dn, a, &KvList::new()));
            self.revision = v.revision;
            self.core.machine = v.machine;
            self.logout_ext = v.logout_on_disconnect.into_iter().collect();
            self.presence.restore_dnd(v.dnd);
            tracing::debug!(dn = %self.dn, revision = self.revision, "dn state restored from snapshot");
        }
        self.find_session().await;
        if let Some(s) = self.core.machine.session() {
            if let Err(other) = self.ctx.directory.claim_agent(&s.agent_id, &self.dn) {
                tracing::error!(dn = %self.dn, agent = %s.agent_id, %other, "restored agent is also logged in elsewhere");
            }
        }
        self.forget_ended_calls().await;
        self.follow_calls();
        self.drain().await; // a session found with its agent logged out gives the machine back
    }

    /// TAgentLogin / TAgentLogout / TAgentSetReady / TAgentSetNotReady.
    pub(super) async fn on_agent_request(&mut self, client: ClientHandle, req: Request) {
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
            self.forget_ended_calls().await; // agent-emu-login-on-call must not see a call long gone
        }
        let request = ClientRequest {
            client: client.id,
            reference_id: a.reference_id,
            this_queue: a.this_queue,
            reasons: a.reasons.unwrap_or_default(),
            extensions,
            action,
        };
        self.route(AgentWork::Request { client, request }).await;
    }

    /// A client left the DN (TUnregisterAddress or disconnection): logout-on-disconnect.
    pub(super) async fn client_gone(&mut self, client: u64) {
        let logout_on_disconnect = self.logout_ext.remove(&client);
        if logout_on_disconnect.is_some() && self.session.is_some() {
            self.persist(); // the session's step writes only the session's snapshot
        }
        self.route(AgentWork::Input(AgentInput::ClientGone { client, logout_on_disconnect })).await;
    }

    /// A timer of this actor's own machine fired (the session runs its own while it has one).
    pub(super) fn agent_timer(&mut self, key: TimerKey, token: u64) {
        if self.session.is_none() {
            self.core.timer_fired(key, token);
            self.step(AgentInput::TimerExpired { key, token });
        }
    }

    /// The calls the machine follows that no call family holds with this DN any more: their end
    /// never reached the machine (a crashed Dn loses its mailbox; events go straight to the
    /// clients while it restarts). They end now, so the agent is not kept busy by them. Every
    /// live call is in its family's snapshot, written before its events leave.
    async fn forget_ended_calls(&mut self) {
        if self.core.machine.calls().is_empty() {
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
        let calls = self.core.machine.calls();
        let ended: Vec<ConnId> = calls.iter().map(|c| c.conn_id).filter(|c| !live.contains(c)).collect();
        for conn_id in ended {
            tracing::warn!(dn = %self.dn, conn = %conn_id, "the end of a call was missed; the agent leaves it now");
            self.route(AgentWork::Input(AgentInput::Call(CallFact::Released { conn_id }))).await;
        }
    }

    /// Tells the Call actors whether this DN's call events must come through here.
    pub(super) fn follow_calls(&self) {
        // Push presence publishes the device state too (Busy while a call is on the DN), so a DN in
        // push mode follows its calls with or without an agent.
        let push = matches!(self.presence_mode(), crate::presence::PresenceMode::Push { .. });
        let machine = &self.core.machine;
        let follow = self.session.is_some() || machine.session().is_some() || !machine.calls().is_empty() || push;
        self.ctx.directory.set_follows_calls(&self.dn, follow);
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
