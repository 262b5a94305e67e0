//! DnSup: one Dn actor per configured DN, all permanent. Order among DNs does not matter (they do
//! not depend on each other); they are started in name order so `/tree` reads predictably. A DN
//! that keeps failing is parked alone: every other DN keeps serving its clients.

use crate::actors::context::ServerContext;
use crate::actors::dn::{snapshot_key, DnActor, DnArgs};
use crate::actors::supervision::{ChildSpec, RestartPolicy};
use crate::actors::supervisor::{Supervisor, SupervisorArgs};
use ractor::Actor;
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "dn-sup";

/// The DnSup child spec, as Root declares it.
pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    ChildSpec {
        name: NAME.into(),
        kind: "DnSup",
        policy: RestartPolicy::permanent(),
        spawn: Arc::new(move |sup| {
            let ctx = ctx.clone();
            Box::pin(async move {
                let args = SupervisorArgs {
                    name: NAME.into(),
                    board: ctx.board.clone(),
                    children: dn_children(&ctx),
                    stop_timeout: Duration::from_secs(5),
                };
                let (actor, _) = Actor::spawn_linked(None, Supervisor, args, sup).await?;
                Ok(actor.get_cell())
            })
        }),
    }
}

fn dn_children(ctx: &Arc<ServerContext>) -> Vec<ChildSpec> {
    ctx.config
        .dns
        .keys()
        .map(|dn| {
            let (ctx, dn) = (ctx.clone(), dn.clone());
            ChildSpec {
                name: snapshot_key(&dn),
                kind: "Dn",
                policy: RestartPolicy::permanent(),
                spawn: Arc::new(move |sup| {
                    let args = DnArgs { ctx: ctx.clone(), dn: dn.clone() };
                    Box::pin(async move {
                        let (actor, _) = Actor::spawn_linked(None, DnActor, args, sup).await?;
                        Ok(actor.get_cell())
                    })
                }),
            }
        })
        .collect()
}
