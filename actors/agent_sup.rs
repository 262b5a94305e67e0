//! AgentSup: supervises one AgentSession per logged-in agent (transient: a crashed session is
//! restarted from its snapshot; a logout is the end of its life). A Dn actor asks it to start a
//! session once its agent is logged in, and tells it when it took the machine back after the
//! logout: both come from the Dn, so the end of one session and the start of the next under the
//! same DN are ordered; a session is forgotten at once when it ends (never waited for), so the
//! next may take its name. When a session fails, its Dn is told at once, so inputs wait for the
//! next incarnation — or the Dn runs the agent itself if the session is parked. At start it
//! brings back a session for every session snapshot (a process restart with a durable store, or
//! its own restart): it starts before DnSup, so a starting Dn finds its agent's session.

use crate::actors::agent_session::{child_name, AgentSessionActor, AgentSessionArgs, AgentSessionMsg};
use crate::actors::context::ServerContext;
use crate::actors::dn::DnMsg;
use crate::actors::supervision::{child, ChildSpec, Children, Restart, RestartPolicy, SupervisorCmd};
use crate::model::DnName;
use crate::store::Snapshot;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "agent-sup";

pub struct AgentSup;

pub enum AgentSupMsg {
    /// A Dn wrote the session snapshot of its DN: start (or find) the session. `Ok(None)`: it is
    /// being restarted, and tells the Dn when it is up.
    Start {
        dn: DnName,
        reply: RpcReplyPort<Result<Option<ActorRef<AgentSessionMsg>>, String>>,
    },
    /// A Dn took its machine back after the logout: the session ends.
    Ended {
        dn: DnName,
        id: ActorId,
    },
    /// The Dn does not run its agent through this session (it gave it up, or runs the agent
    /// itself, and removed the session's snapshot): it ends.
    Discard {
        dn: DnName,
        id: Option<ActorId>,
    },
    Cmd(SupervisorCmd),
}

impl From<SupervisorCmd> for AgentSupMsg {
    fn from(cmd: SupervisorCmd) -> Self {
        AgentSupMsg::Cmd(cmd)
    }
}

pub struct AgentSupState {
    ctx: Arc<ServerContext>,
    children: Children,
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "AgentSup", RestartPolicy::permanent(), move || (AgentSup, ctx.clone()))
}

fn session_spec(ctx: &Arc<ServerContext>, dn: &DnName) -> ChildSpec {
    let (ctx, dn) = (ctx.clone(), dn.clone());
    let policy = RestartPolicy { restart: Restart::Transient, ..RestartPolicy::permanent() };
    child(child_name(&dn), "AgentSession", policy, move || {
        (AgentSessionActor, AgentSessionArgs { ctx: ctx.clone(), dn: dn.clone() })
    })
}

impl Actor for AgentSup {
    type Msg = AgentSupMsg;
    type State = AgentSupState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        me: ActorRef<AgentSupMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<AgentSupState, ActorProcessingErr> {
        ctx.set_agent_sup(me.clone());
        let children = Children::new(NAME, &me, ctx.board.clone());
        Ok(AgentSupState { ctx, children })
    }

    /// A session for every session snapshot (after a process restart, or AgentSup's own).
    async fn post_start(&self, me: ActorRef<AgentSupMsg>, st: &mut AgentSupState) -> Result<(), ActorProcessingErr> {
        let mut dns = Vec::new();
        st.ctx.snapshots.for_each_with_prefix("agent-session:", |_, snap| {
            if let Snapshot::AgentSession(crate::store::AgentSessionSnapshot::V1 { dn, .. }) = snap {
                dns.push(dn.clone());
            }
        });
        // Every one: a session of a previous incarnation that failed was killed with it.
        for dn in dns {
            // One session that cannot start must not keep the others (or AgentSup) down.
            if let Err(e) = st.children.start(session_spec(&st.ctx, &dn), &me.get_cell()).await {
                tracing::error!(%dn, error = %e, "agent session not brought back");
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<AgentSupMsg>, st: &mut AgentSupState) -> Result<(), ActorProcessingErr> {
        st.children.stop_all(Duration::from_secs(5)).await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<AgentSupMsg>,
        msg: AgentSupMsg,
        st: &mut AgentSupState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            // A Dn that stopped waiting runs the agent itself: no session for it.
            AgentSupMsg::Start { reply, .. } if reply.is_closed() => {}
            AgentSupMsg::Start { dn, reply } => {
                let result = match st.session(&dn) {
                    Some(s) => Ok(Some(s)),
                    None if st.children.contains(&child_name(&dn)) => Ok(None),
                    None => match st.children.start(session_spec(&st.ctx, &dn), &me.get_cell()).await {
                        Ok(cell) => Ok(Some(ActorRef::from(cell))),
                        Err(e) => Err(e.to_string()),
                    },
                };
                let _ = reply.send(result);
            }
            AgentSupMsg::Ended { dn, id } => {
                if st.session(&dn).is_some_and(|s| s.get_id() == id) {
                    st.children.forget(&child_name(&dn));
                }
            }
            AgentSupMsg::Discard { dn, id } => {
                if id.is_none_or(|id| st.session(&dn).is_none_or(|s| s.get_id() == id)) {
                    st.children.forget(&child_name(&dn));
                }
            }
            AgentSupMsg::Cmd(cmd) => st.children.on_cmd(cmd, &me.get_cell()).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<AgentSupMsg>,
        evt: SupervisionEvent,
        st: &mut AgentSupState,
    ) -> Result<(), ActorProcessingErr> {
        // A session that failed: its Dn keeps what arrives for it until the next incarnation is
        // up, and runs the agent itself if none comes (parked).
        if let SupervisionEvent::ActorFailed(cell, _) | SupervisionEvent::ActorTerminated(cell, _, _) = &evt {
            let name = st.children.name_of(cell.get_id()).and_then(|n| n.strip_prefix("agent-session:"));
            if let Some(dn) = name.map(DnName::new) {
                st.ctx.directory.unbind_agent_session(&dn, cell.get_id());
                if let Some(actor) = st.ctx.directory.dn(&dn) {
                    let _ = actor.cast(DnMsg::SessionDown(cell.get_id()));
                }
            }
        }
        st.children.on_event(&me, evt)
    }
}

impl AgentSupState {
    fn session(&self, dn: &DnName) -> Option<ActorRef<AgentSessionMsg>> {
        self.children.get(&child_name(dn)).map(|c| ActorRef::from(c.clone()))
    }
}
