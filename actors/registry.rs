//! The Registry: the single writer of the DN address book in the [`Directory`]. Binds of a new
//! incarnation and the late unbind of an old one arrive here in order, so a restarted actor is
//! never shadowed by its predecessor. Lookups never come here: they read the directory directly.
//! Senders reach the current incarnation through `ServerContext::registry()` and retry a bind that
//! raced a Registry restart.

use crate::actors::context::ServerContext;
use crate::actors::dn::DnMsg;
use crate::model::DnName;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef};
use std::sync::Arc;

pub struct Registry;

pub struct RegistryState {
    ctx: Arc<ServerContext>,
    binds: u64,
}

pub type RegistryArgs = Arc<ServerContext>;

pub enum RegistryMsg {
    BindDn(DnName, ActorRef<DnMsg>),
    UnbindDn(DnName, ActorId),
}

impl Actor for Registry {
    type Msg = RegistryMsg;
    type State = RegistryState;
    type Arguments = RegistryArgs;

    async fn pre_start(
        &self,
        me: ActorRef<RegistryMsg>,
        ctx: RegistryArgs,
    ) -> Result<RegistryState, ActorProcessingErr> {
        // The address book itself lives in the context, so a restarted Registry loses nothing.
        ctx.set_registry(me);
        Ok(RegistryState { ctx, binds: 0 })
    }

    async fn handle(
        &self,
        _me: ActorRef<RegistryMsg>,
        msg: RegistryMsg,
        st: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            RegistryMsg::BindDn(dn, actor) => {
                st.binds += 1;
                tracing::trace!(%dn, actor = %actor.get_id(), binds = st.binds, "bind");
                st.ctx.directory.bind_dn(dn, actor);
            }
            RegistryMsg::UnbindDn(dn, id) => st.ctx.directory.unbind_dn(&dn, id),
        }
        Ok(())
    }
}
