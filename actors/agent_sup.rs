//! AgentSup: supervises one AgentSession per logged-in agent (transient: a crashed session is
//! restarted from its snapshot; a logout is the end of its life). A Dn actor asks it for a
//! session once its agent is logged in, and for the machine back once the agent is logged out:
//! both go through here, so the start of one session and the end of another under the same DN
//! are ordered. At start it brings back a session for every session snapshot (a process restart
//! with a durable store): it starts before DnSup, so a starting Dn finds its agent's session.

use crate::actors::agent_session::{child_name, AgentSessionActor, AgentSessionArgs, AgentSessionMsg};
use crate::actors::context::ServerContext;
use crate::actors::supervision::{child, ChildSpec, Children, Restart, RestartPolicy, SupervisorCmd};
use crate::agent::AgentMachine;
use crate::model::DnName;
use crate::store::Snapshot;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "agent-sup";

/// How long AgentSup waits for a session to give its machine back.
const HANDBACK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct AgentSup;

pub enum AgentSupMsg {
    /// A Dn wrote the session snapshot of its DN: start (or find) the session. `Ok(None)`: it is
    /// being restarted, and tells the Dn when it is up.
    Start {
        dn: DnName,
        reply: RpcReplyPort<Result<Option<ActorRef<AgentSessionMsg>>, String>>,
    },
    /// A Dn's agent is logged out: its machine back (None when the session could not give it)
    /// and the session stopped.
    Handback {
        dn: DnName,
        reply: RpcReplyPort<Option<AgentMachine>>,
    },
    /// The Dn gave up waiting for a session that keeps failing and runs the agent itself.
    Discard {
        dn: DnName,
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
        for dn in dns {
            if st.ctx.directory.agent_session(&dn).is_none() {
                st.children.start(session_spec(&st.ctx, &dn), &me.get_cell()).await?;
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
            AgentSupMsg::Handback { dn, reply } => {
                let machine = match st.session(&dn) {
                    Some(s) => match s.call(AgentSessionMsg::Handback, Some(HANDBACK_TIMEOUT)).await {
                        Ok(ractor::rpc::CallResult::Success(m)) => Some(m),
                        _ => None,
                    },
                    None => None,
                };
                if machine.is_some() {
                    st.children.stop_child(&child_name(&dn), Duration::from_secs(2)).await;
                }
                let _ = reply.send(machine);
            }
            AgentSupMsg::Discard { dn } => {
                st.children.stop_child(&child_name(&dn), Duration::from_secs(2)).await;
                st.ctx.snapshots.remove(&child_name(&dn));
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
        st.children.on_event(&me, evt)
    }
}

impl AgentSupState {
    fn session(&self, dn: &DnName) -> Option<ActorRef<AgentSessionMsg>> {
        self.children.get(&child_name(dn)).map(|c| ActorRef::from(c.clone()))
    }
}
