//! AgentSession: one actor per logged-in agent, a child of AgentSup. From the login that the Dn
//! actor ran until the logout, it owns the DN's agent machine (`crate::agent`): the Dn routes
//! every agent input to it, in the order the Dn received them (agent requests, the DN's call
//! events, client departures, out of service, a call that rang out), and it runs its own timers
//! (ACW, legal guard, auto-logout, no-answer). Each step is written to its snapshot
//! (`agent-session:<dn>`) before its events leave, so a crashed session is rebuilt exactly where it
//! was, timers re-armed, while the Dn keeps what arrives meanwhile (`dn_session.rs`); its
//! neighbours — the Dn, the calls, other agents — never notice.
//!
//! The Dn keeps a mirror of the machine (EventRegistered, presence, views): every answer to a
//! routed input carries the machine when it changed, and a timer's step is sent to the Dn as
//! [`DnMsg::SessionStepped`]. When the agent is logged out, the Dn takes the machine back
//! ([`AgentSessionMsg::Handback`]) and AgentSup stops the session.

use crate::actors::agent_core::{AgentCore, AgentHost, AgentWork, TimerTask};
use crate::actors::context::ServerContext;
use crate::actors::dn::DnMsg;
use crate::agent::{AgentMachine, TimerKey};
use crate::model::{AgentId, DnName};
use crate::store::{AgentSessionSnapshot, Snapshot};
use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus, RpcReplyPort};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

pub struct AgentSessionActor;

pub struct AgentSessionArgs {
    pub ctx: Arc<ServerContext>,
    pub dn: DnName,
}

pub struct AgentSessionState {
    core: AgentCore,
    me: ActorRef<AgentSessionMsg>,
    record: Record,
    /// The Dn that attached last (its address survives a Dn restart only through a new attach).
    dn_ref: Option<ActorRef<DnMsg>>,
    /// Set once the machine went back to the Dn: a timer already in the mailbox is ignored.
    handed_back: bool,
}

/// What the session snapshot keeps besides the machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Record {
    pub revision: u64,
    pub epoch: u64,
    pub applied: u64,
}

/// The machine after a step, for the Dn's mirror; `machine` is None when the step changed nothing.
pub struct Mirror {
    pub machine: Option<AgentMachine>,
    pub revision: u64,
    /// The login the session serves: a mirror of another login's session is ignored.
    pub epoch: u64,
    /// The last input carried out (the Dn numbers the next ones after it).
    pub applied: u64,
}

pub enum AgentSessionMsg {
    /// Input number `seq` the Dn routed here; answered once it is carried out (at once, when it
    /// was carried out before: the Dn sends an input again when it could not tell).
    Work {
        seq: u64,
        work: Box<AgentWork>,
        reply: RpcReplyPort<Mirror>,
    },
    Timer {
        key: TimerKey,
        token: u64,
    },
    /// A Dn takes this session as its agent's (a login, a Dn restart, a session restart): the
    /// machine as it is, and where to send the steps of the session's timers.
    Attach {
        dn: ActorRef<DnMsg>,
        reply: RpcReplyPort<Mirror>,
    },
    /// The agent is logged out: the machine goes back to the Dn, which writes it to its own
    /// snapshot before this one's is removed; AgentSup stops the actor.
    Handback(RpcReplyPort<AgentMachine>),
    /// Test hook: panic inside the handler, to exercise supervision.
    Crash,
    GetView(RpcReplyPort<AgentSessionView>),
}

/// What `GET /tree/{name}` and tests see of a session.
#[derive(Clone, Debug, Serialize)]
pub struct AgentSessionView {
    pub dn: DnName,
    pub agent_id: Option<AgentId>,
    pub machine: AgentMachine,
    pub armed_timers: usize,
    pub revision: u64,
    pub epoch: u64,
    pub applied: u64,
}

/// The session's name in the tree and its snapshot key: one DN per agent and one agent per DN,
/// and the DN names it the same across the agent's logins there (so a login right after a
/// logout never meets the previous session's leftovers under another name).
pub fn child_name(dn: &DnName) -> String {
    format!("agent-session:{dn}")
}

/// Writes the snapshot a session starts from (the Dn, handing its machine over) or is at.
pub fn write_snapshot(ctx: &ServerContext, machine: &AgentMachine, r: Record) {
    let snap = AgentSessionSnapshot::V1 {
        dn: machine.dn().clone(),
        machine: machine.clone(),
        revision: r.revision,
        epoch: r.epoch,
        applied: r.applied,
    };
    ctx.snapshots.put(&child_name(machine.dn()), Snapshot::AgentSession(snap));
}

/// The machine a session's snapshot holds, if there is one.
pub fn read_snapshot(ctx: &ServerContext, dn: &DnName) -> Option<(AgentMachine, Record)> {
    match ctx.snapshots.get(&child_name(dn)) {
        Some(Snapshot::AgentSession(AgentSessionSnapshot::V1 { machine, revision, epoch, applied, .. })) => {
            Some((machine, Record { revision, epoch, applied }))
        }
        _ => None,
    }
}

impl AgentHost for AgentSessionState {
    fn core(&mut self) -> &mut AgentCore {
        &mut self.core
    }

    fn persist(&mut self) {
        self.record.revision += 1;
        write_snapshot(&self.core.ctx, &self.core.machine, self.record);
    }

    fn arm_timer(&self, key: TimerKey, token: u64, after: Duration) -> TimerTask {
        self.me.send_after(after, move || AgentSessionMsg::Timer { key, token }).abort_handle()
    }
}

impl AgentSessionState {
    fn mirror(&self, since: Option<u64>) -> Mirror {
        let r = &self.record;
        let machine = (since != Some(r.revision)).then(|| self.core.machine.clone());
        Mirror { machine, revision: r.revision, epoch: r.epoch, applied: r.applied }
    }

    /// The Dn to tell of a timer's step: the one that attached, unless it stopped since.
    fn dn(&self) -> Option<ActorRef<DnMsg>> {
        let alive = |a: &ActorRef<DnMsg>| matches!(a.get_status(), ActorStatus::Running | ActorStatus::Starting);
        self.dn_ref.clone().filter(alive).or_else(|| self.core.ctx.directory.dn(&self.core.dn))
    }
}

impl Actor for AgentSessionActor {
    type Msg = AgentSessionMsg;
    type State = AgentSessionState;
    type Arguments = AgentSessionArgs;

    async fn pre_start(
        &self,
        me: ActorRef<AgentSessionMsg>,
        args: AgentSessionArgs,
    ) -> Result<AgentSessionState, ActorProcessingErr> {
        let (machine, record) =
            read_snapshot(&args.ctx, &args.dn).ok_or_else(|| format!("no agent session snapshot for {}", args.dn))?;
        let core = AgentCore::new(args.ctx, args.dn, machine);
        Ok(AgentSessionState { core, me, record, dn_ref: None, handed_back: false })
    }

    async fn post_start(
        &self,
        me: ActorRef<AgentSessionMsg>,
        st: &mut AgentSessionState,
    ) -> Result<(), ActorProcessingErr> {
        st.rearm();
        let ctx = &st.core.ctx;
        ctx.directory.bind_agent_session(&st.core.dn, me.clone());
        // A Dn that is restarting finds this incarnation in the directory instead.
        if let Some(dn) = ctx.directory.dn(&st.core.dn) {
            let _ = dn.cast(DnMsg::SessionUp(me));
        }
        let agent = st.core.machine.session().map(|s| s.agent_id.to_string()).unwrap_or_default();
        tracing::debug!(dn = %st.core.dn, %agent, epoch = st.record.epoch, "agent session started");
        Ok(())
    }

    async fn post_stop(
        &self,
        me: ActorRef<AgentSessionMsg>,
        st: &mut AgentSessionState,
    ) -> Result<(), ActorProcessingErr> {
        st.core.abort_timers();
        st.core.ctx.directory.unbind_agent_session(&st.core.dn, me.get_id());
        Ok(())
    }

    async fn handle(
        &self,
        _me: ActorRef<AgentSessionMsg>,
        msg: AgentSessionMsg,
        st: &mut AgentSessionState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            AgentSessionMsg::Work { seq, work, reply } => {
                let since = st.record.revision;
                if seq > st.record.applied && !st.handed_back {
                    // Written with the step's own snapshot: a crash after it is not run twice.
                    st.record.applied = seq;
                    st.work(*work);
                }
                let _ = reply.send(st.mirror(Some(since)));
            }
            AgentSessionMsg::Timer { .. } if st.handed_back => {}
            AgentSessionMsg::Timer { key, token } => {
                let since = st.record.revision;
                st.core.timer_fired(key, token);
                st.step(crate::agent::AgentInput::TimerExpired { key, token });
                if st.record.revision != since {
                    if let Some(dn) = st.dn() {
                        let _ = dn.cast(DnMsg::SessionStepped(Box::new(st.mirror(Some(since)))));
                    }
                }
            }
            AgentSessionMsg::Attach { dn, reply } => {
                st.dn_ref = Some(dn);
                let _ = reply.send(st.mirror(None));
            }
            AgentSessionMsg::Handback(reply) => {
                st.handed_back = true;
                st.core.abort_timers();
                st.core.ctx.directory.unbind_agent_session(&st.core.dn, st.me.get_id());
                let _ = reply.send(st.core.machine.clone());
            }
            AgentSessionMsg::Crash => {
                if st.core.ctx.test_hooks {
                    panic!("test hook: the agent session of {} crashed on request", st.core.dn);
                }
            }
            AgentSessionMsg::GetView(reply) => {
                let view = AgentSessionView {
                    dn: st.core.dn.clone(),
                    agent_id: st.core.machine.session().map(|s| s.agent_id.clone()),
                    machine: st.core.machine.clone(),
                    armed_timers: st.core.armed_timers(),
                    revision: st.record.revision,
                    epoch: st.record.epoch,
                    applied: st.record.applied,
                };
                let _ = reply.send(view);
            }
        }
        Ok(())
    }
}
