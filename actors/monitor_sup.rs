//! MonitorSup: supervises one Subscription actor per call supervision subscription and is the
//! single place where subscriptions are created: TMonitorNextCall from a supervisor's desktop is
//! checked against the registry (`src/supervision`: one subscription per supervisor and per agent
//! DN, the identical request confirmed), and a new subscription gets its Subscription actor,
//! which owns its end (TCancelMonitoring, the end of a one-call session, its client leaving). The
//! registry is published in the server context, where Call actors read which supervisor to invite
//! when a call is established on a monitored DN; with `intrusion-enabled` a new subscription
//! joins the agent's established calls at once. After a restart, MonitorSup starts a Subscription
//! for every subscription of the registry (which outlives the actors).

use crate::actors::call_sup::CallSupMsg;
use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::actors::subscription::{child_name, SubscriptionActor, SubscriptionArgs, SubscriptionMsg};
use crate::actors::supervision::{child, ChildSpec, Children, Restart, RestartPolicy, SupervisorCmd};
use crate::model::DnName;
use crate::supervision::Defaults;
use crate::tlib::{Event, Request, RequestKind};
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "monitor-sup";

pub struct MonitorSup;

pub enum MonitorMsg {
    /// TMonitorNextCall or TCancelMonitoring (ThisDN registration already checked).
    Request {
        client: ClientHandle,
        request: Box<Request>,
    },
    /// A supervisor left a call it monitored.
    SessionEnded {
        supervisor: DnName,
    },
    /// A client session closed.
    ClientGone {
        client: u64,
    },
    Cmd(SupervisorCmd),
}

impl From<SupervisorCmd> for MonitorMsg {
    fn from(cmd: SupervisorCmd) -> Self {
        MonitorMsg::Cmd(cmd)
    }
}

pub struct MonitorState {
    ctx: Arc<ServerContext>,
    children: Children,
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "MonitorSup", RestartPolicy::permanent(), move || (MonitorSup, ctx.clone()))
}

fn subscription_spec(ctx: &Arc<ServerContext>, supervisor: &DnName) -> ChildSpec {
    let (ctx, supervisor) = (ctx.clone(), supervisor.clone());
    let policy = RestartPolicy { restart: Restart::Transient, ..RestartPolicy::permanent() };
    child(child_name(&supervisor), "Subscription", policy, move || {
        (SubscriptionActor, SubscriptionArgs { ctx: ctx.clone(), supervisor: supervisor.clone() })
    })
}

impl Actor for MonitorSup {
    type Msg = MonitorMsg;
    type State = MonitorState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        me: ActorRef<MonitorMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<MonitorState, ActorProcessingErr> {
        ctx.set_monitor_sup(me.clone());
        let children = Children::new(NAME, &me, ctx.board.clone());
        Ok(MonitorState { ctx, children })
    }

    /// After a restart: a Subscription for every subscription still in the registry.
    async fn post_start(&self, me: ActorRef<MonitorMsg>, st: &mut MonitorState) -> Result<(), ActorProcessingErr> {
        let sups: Vec<DnName> = st.ctx.subscriptions.read().all().map(|s| s.supervisor.clone()).collect();
        for sup in sups {
            st.children.start(subscription_spec(&st.ctx, &sup), &me.get_cell()).await?;
        }
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<MonitorMsg>, st: &mut MonitorState) -> Result<(), ActorProcessingErr> {
        st.children.stop_all(Duration::from_secs(5)).await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<MonitorMsg>,
        msg: MonitorMsg,
        st: &mut MonitorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            MonitorMsg::Request { client, request } if request.kind == RequestKind::MonitorNextCall => {
                st.monitor_next_call(&me, client, request).await?;
            }
            MonitorMsg::Request { client, request } => {
                let sup = request.attrs.this_dn.clone().unwrap_or_default();
                let exists = st.ctx.subscriptions.read().for_supervisor(&sup).is_some();
                match st.subscription(&sup).filter(|_| exists) {
                    Some(s) => {
                        let _ = s.cast(SubscriptionMsg::Cancel { client, request });
                    }
                    None => {
                        let msg = format!("{sup} has no monitoring subscription");
                        let mut ev = Event::error(request.reference_id(), crate::model::ErrorCode::InvalidState, msg);
                        ev.attrs.this_dn = request.attrs.this_dn.clone();
                        st.ctx.stamp(&mut ev);
                        client.reply(ev);
                    }
                }
            }
            MonitorMsg::SessionEnded { supervisor } => {
                if let Some(s) = st.subscription(&supervisor) {
                    let _ = s.cast(SubscriptionMsg::SessionEnded);
                }
            }
            MonitorMsg::ClientGone { client } => {
                let sups: Vec<DnName> = st
                    .ctx
                    .subscriptions
                    .read()
                    .all()
                    .filter(|s| s.client == client)
                    .map(|s| s.supervisor.clone())
                    .collect();
                for sup in sups {
                    if let Some(s) = st.subscription(&sup) {
                        let _ = s.cast(SubscriptionMsg::ClientGone { client });
                    }
                }
            }
            MonitorMsg::Cmd(cmd) => st.children.on_cmd(cmd, &me.get_cell()).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<MonitorMsg>,
        evt: SupervisionEvent,
        st: &mut MonitorState,
    ) -> Result<(), ActorProcessingErr> {
        st.children.on_event(&me, evt)
    }
}

impl MonitorState {
    fn subscription(&self, supervisor: &DnName) -> Option<ActorRef<SubscriptionMsg>> {
        self.children.get(&child_name(supervisor)).map(|c| ActorRef::from(c.clone()))
    }

    async fn monitor_next_call(
        &mut self,
        me: &ActorRef<MonitorMsg>,
        client: ClientHandle,
        request: Box<Request>,
    ) -> Result<(), ActorProcessingErr> {
        let ctx = self.ctx.clone();
        let o = &ctx.config.tserver;
        let defaults = Defaults { mode: o.default_monitor_mode, scope: o.default_monitor_scope };
        let configured = |dn: &DnName| ctx.config.dns.contains_key(dn);
        let result = ctx.subscriptions.write().monitor_next_call(client.id, &request, defaults, configured);
        let events = match result {
            Ok(events) => events,
            Err((code, message)) => {
                let mut ev = Event::error(request.reference_id(), code, message);
                ev.attrs.this_dn = request.attrs.this_dn.clone();
                ctx.stamp(&mut ev);
                client.reply(ev);
                return Ok(());
            }
        };
        let sup = request.attrs.this_dn.clone().unwrap_or_default();
        if self.subscription(&sup).is_none() {
            self.children.start(subscription_spec(&ctx, &sup), &me.get_cell()).await?;
        }
        for (dn, mut ev) in events {
            ctx.stamp(&mut ev);
            ctx.directory.fan_out(&dn, &SharedEvent::new(ev));
        }
        if let (true, Some(agent), Some(calls)) = (o.intrusion_enabled, request.attrs.other_dn.clone(), ctx.call_sup())
        {
            let _ = calls.cast(CallSupMsg::Intrude { agent });
        }
        Ok(())
    }
}
