//! DnSup: one Dn actor per configured DN, all permanent. Order among DNs does not matter (they do
//! not depend on each other); they are started in name order so `/tree` reads predictably. A DN
//! that keeps failing is parked alone: every other DN keeps serving its clients.

use crate::actors::context::ServerContext;
use crate::actors::dn::{snapshot_key, DnActor, DnArgs};
use crate::actors::supervision::{child, ChildSpec, RestartPolicy};
use crate::actors::supervisor::{Supervisor, SupervisorArgs};
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "dn-sup";

/// The DnSup child spec, as Root declares it.
pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "DnSup", RestartPolicy::permanent(), move || {
        let args = SupervisorArgs {
            name: NAME.into(),
            board: ctx.board.clone(),
            children: dn_children(&ctx),
            stop_timeout: Duration::from_secs(5),
        };
        (Supervisor, args)
    })
}

fn dn_children(ctx: &Arc<ServerContext>) -> Vec<ChildSpec> {
    ctx.config
        .dns
        .keys()
        .map(|dn| {
            let (ctx, dn) = (ctx.clone(), dn.clone());
            child(snapshot_key(&dn), "Dn", RestartPolicy::permanent(), move || {
                (DnActor, DnArgs { ctx: ctx.clone(), dn: dn.clone() })
            })
        })
        .collect()
}
