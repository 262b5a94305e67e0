//! The generic supervisor actor: it starts a fixed list of children (declared as data by the
//! module that owns the subtree: root.rs, dn_sup.rs), applies the restart policy of the
//! supervision kit to their exits, accepts restart-in-place commands from the admin endpoint, and
//! on stop takes its children down in reverse start order so each one's `post_stop` runs.

use crate::actors::board::Board;
use crate::actors::supervision::{ChildSpec, Children, SupervisorCmd};
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::time::Duration;

pub struct Supervisor;

pub struct SupervisorArgs {
    /// Unique name on the board ("root", "dn-sup").
    pub name: String,
    pub board: Board,
    /// Started in this order, stopped in the reverse order.
    pub children: Vec<ChildSpec>,
    pub stop_timeout: Duration,
}

pub struct SupervisorState {
    children: Children,
    stop_timeout: Duration,
}

pub enum SupervisorMsg {
    Cmd(SupervisorCmd),
}

impl From<SupervisorCmd> for SupervisorMsg {
    fn from(cmd: SupervisorCmd) -> Self {
        SupervisorMsg::Cmd(cmd)
    }
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = (SupervisorState, Vec<ChildSpec>);
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        me: ActorRef<SupervisorMsg>,
        args: SupervisorArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let children = Children::new(&args.name, &me, args.board);
        Ok((SupervisorState { children, stop_timeout: args.stop_timeout }, args.children))
    }

    /// Children start here, not in `pre_start`: a failure now is reported to our own supervisor.
    async fn post_start(&self, me: ActorRef<SupervisorMsg>, st: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let (state, specs) = st;
        for spec in std::mem::take(specs) {
            let name = spec.name.clone();
            state.children.start(spec, &me.get_cell()).await.map_err(|e| format!("cannot start {name}: {e}"))?;
        }
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<SupervisorMsg>, st: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let timeout = st.0.stop_timeout;
        st.0.children.stop_all(timeout).await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        st: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Cmd(cmd) => st.0.children.on_cmd(cmd, &me.get_cell()).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        st: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        st.0.children.on_event(&me, evt)
    }
}
