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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::supervision::{child, RestartPolicy};

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RestartPolicy::permanent();
        assert_eq!(p.backoff(1), Duration::from_millis(5));
        assert_eq!(p.backoff(2), Duration::from_millis(10));
        assert_eq!(p.backoff(4), Duration::from_millis(40));
        assert_eq!(p.backoff(40), Duration::from_secs(2));
    }
    use parking_lot::Mutex;
    use std::sync::Arc;

    /// A child that writes its name down when it stops.
    struct Recorder;

    impl Actor for Recorder {
        type Msg = ();
        type State = (String, Arc<Mutex<Vec<String>>>);
        type Arguments = (String, Arc<Mutex<Vec<String>>>);

        async fn pre_start(&self, _me: ActorRef<()>, args: Self::Arguments) -> Result<Self::State, ActorProcessingErr> {
            Ok(args)
        }

        async fn post_stop(&self, _me: ActorRef<()>, st: &mut Self::State) -> Result<(), ActorProcessingErr> {
            st.1.lock().push(st.0.clone());
            Ok(())
        }
    }

    /// Child `name`, writing `label` down when it stops.
    fn recorder(name: &str, label: &str, log: &Arc<Mutex<Vec<String>>>) -> ChildSpec {
        let (label, log) = (label.to_string(), log.clone());
        child(name, "Recorder", RestartPolicy::temporary(), move || (Recorder, (label.clone(), log.clone())))
    }

    /// Stop order is start order reversed, also after a child left in between and a new child
    /// took its name later (the order is kept by sequence, not by a list scan).
    #[tokio::test]
    async fn children_stop_in_reverse_start_order_after_removals() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let board = Board::new();
        let args = SupervisorArgs {
            name: "test-sup".into(),
            board: board.clone(),
            children: ["a", "b", "c"].iter().map(|n| recorder(n, n, &log)).collect(),
            stop_timeout: Duration::from_secs(2),
        };
        let (sup, handle) = Actor::spawn(None, Supervisor, args).await.unwrap();
        let mut extra = Children::new("test-extra", &sup, board.clone());
        for n in ["x", "y", "z"] {
            extra.start(recorder(n, n, &log), &sup.get_cell()).await.unwrap();
        }
        extra.forget("y");
        extra.start(recorder("w", "w", &log), &sup.get_cell()).await.unwrap();
        extra.start(recorder("y", "y again", &log), &sup.get_cell()).await.unwrap();
        extra.stop_all(Duration::from_secs(2)).await;
        // The first "y" was forgotten (stopped without waiting): it may log at any point.
        let extra_order: Vec<String> = log.lock().drain(..).filter(|n| n != "y").collect();
        assert_eq!(extra_order, ["y again", "w", "z", "x"]);
        sup.stop(None);
        handle.await.unwrap();
        let sup_order: Vec<String> = log.lock().drain(..).filter(|n| n != "y").collect();
        assert_eq!(sup_order, ["c", "b", "a"]);
    }
}
