//! MonitorSup: the single writer of the call supervision subscriptions (`src/supervision`):
//! TMonitorNextCall / TCancelMonitoring from supervisors' desktops, the end of monitoring sessions
//! reported by Call actors (one-call subscriptions end), and departing clients
//! (`cancel-monitor-on-disconnect`). The registry is published in the server context, where Call
//! actors read which supervisor to invite when a call is established on a monitored DN; with
//! `intrusion-enabled` a new subscription joins the agent's established calls at once.
//! Subscriptions are plain data in one registry rather than one actor each: their whole life is
//! a few table updates, and the sessions they create live in the calls (the Call actors).

use crate::actors::call_sup::CallSupMsg;
use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::actors::supervision::{child, ChildSpec, RestartPolicy};
use crate::model::DnName;
use crate::supervision::Defaults;
use crate::tlib::{Event, Request, RequestKind};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::sync::Arc;

pub const NAME: &str = "monitor-sup";

pub struct MonitorSup;

pub enum MonitorMsg {
    /// TMonitorNextCall or TCancelMonitoring (ThisDN registration already checked).
    Request { client: ClientHandle, request: Box<Request> },
    /// A supervisor left a call it monitored.
    SessionEnded { supervisor: DnName },
    /// A client session closed.
    ClientGone { client: u64 },
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "MonitorSup", RestartPolicy::permanent(), move || (MonitorSup, ctx.clone()))
}

impl Actor for MonitorSup {
    type Msg = MonitorMsg;
    type State = Arc<ServerContext>;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        me: ActorRef<MonitorMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<Self::State, ActorProcessingErr> {
        ctx.set_monitor_sup(me);
        Ok(ctx)
    }

    async fn handle(
        &self,
        _me: ActorRef<MonitorMsg>,
        msg: MonitorMsg,
        ctx: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let o = &ctx.config.tserver;
        let defaults = Defaults { mode: o.default_monitor_mode, scope: o.default_monitor_scope };
        let events = match msg {
            MonitorMsg::Request { client, request } => {
                let configured = |dn: &DnName| ctx.config.dns.contains_key(dn);
                let result = {
                    let mut subs = ctx.subscriptions.write();
                    match request.kind {
                        RequestKind::MonitorNextCall => {
                            subs.monitor_next_call(client.id, &request, defaults, configured)
                        }
                        _ => subs.cancel(&request),
                    }
                };
                match result {
                    Ok(events) => {
                        let intrude = request.kind == RequestKind::MonitorNextCall && o.intrusion_enabled;
                        if let (true, Some(agent), Some(sup)) =
                            (intrude, request.attrs.other_dn.clone(), ctx.call_sup())
                        {
                            let _ = sup.cast(CallSupMsg::Intrude { agent });
                        }
                        events
                    }
                    Err((code, message)) => {
                        let mut ev = Event::error(request.reference_id(), code, message);
                        ev.attrs.this_dn = request.attrs.this_dn.clone();
                        ctx.stamp(&mut ev);
                        client.reply(ev);
                        return Ok(());
                    }
                }
            }
            MonitorMsg::SessionEnded { supervisor } => ctx.subscriptions.write().session_ended(&supervisor),
            MonitorMsg::ClientGone { client } if o.cancel_monitor_on_disconnect => {
                ctx.subscriptions.write().client_gone(client)
            }
            MonitorMsg::ClientGone { .. } => Vec::new(),
        };
        for (dn, mut ev) in events {
            ctx.stamp(&mut ev);
            ctx.directory.fan_out(&dn, &SharedEvent::new(ev));
        }
        Ok(())
    }
}
