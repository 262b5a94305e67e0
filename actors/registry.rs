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
                st.ctx.directory.bind_dn(dn.clone(), actor.clone());
                // LinkSup tells a DN it is in service by looking its actor up here; an
                // acknowledgement that arrived before this bind found no actor, and the Dn had
                // read "not served" in its post_start: at start-up a link registers its DNs while
                // the binds of a thousand Dn actors are still queued here, and such a DN stayed out
                // of service. Told now (a Dn ignores a state it already has).
                if st.ctx.directory.serving_link(&dn).is_some() {
                    let _ = actor.cast(DnMsg::SwitchState { in_service: true, cause: String::new() });
                }
            }
            RegistryMsg::UnbindDn(dn, id) => st.ctx.directory.unbind_dn(&dn, id),
        }
        Ok(())
    }
}
