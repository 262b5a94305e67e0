//! Subscription: one actor per call supervision subscription (supervisor DN -> agent DN), a child
//! of MonitorSup. It owns the subscription's end: TCancelMonitoring, the end of a monitoring
//! session of a one-call subscription, or its client leaving (`cancel-monitor-on-disconnect`) —
//! each removes the subscription from the registry the Call actors read, distributes
//! EventMonitoringCanceled to supervisor and agent, and stops the actor (a clean, final exit).
//! The registry entry outlives the actor: a crashed Subscription is restarted by MonitorSup and
//! finds its subscription there.

use crate::actors::context::ServerContext;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::model::DnName;
use crate::tlib::{Event, Request};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::sync::Arc;

pub struct SubscriptionActor;

pub enum SubscriptionMsg {
    /// TCancelMonitoring from the supervisor's desktop.
    Cancel { client: ClientHandle, request: Box<Request> },
    /// A monitoring session of this supervisor ended.
    SessionEnded,
    /// A client session closed.
    ClientGone { client: u64 },
}

pub struct SubscriptionArgs {
    pub ctx: Arc<ServerContext>,
    pub supervisor: DnName,
}

pub fn child_name(supervisor: &DnName) -> String {
    format!("subscription:{supervisor}")
}

impl Actor for SubscriptionActor {
    type Msg = SubscriptionMsg;
    type State = SubscriptionArgs;
    type Arguments = SubscriptionArgs;

    async fn pre_start(
        &self,
        _me: ActorRef<SubscriptionMsg>,
        args: SubscriptionArgs,
    ) -> Result<SubscriptionArgs, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        me: ActorRef<SubscriptionMsg>,
        msg: SubscriptionMsg,
        st: &mut SubscriptionArgs,
    ) -> Result<(), ActorProcessingErr> {
        let events = match msg {
            SubscriptionMsg::Cancel { client, request } => {
                let result = st.ctx.subscriptions.write().cancel(&request);
                match result {
                    Ok(events) => events,
                    Err((code, message)) => {
                        let mut ev = Event::error(request.reference_id(), code, message);
                        ev.attrs.this_dn = request.attrs.this_dn.clone();
                        st.ctx.stamp(&mut ev);
                        client.reply(ev);
                        return Ok(());
                    }
                }
            }
            SubscriptionMsg::SessionEnded => st.ctx.subscriptions.write().session_ended(&st.supervisor),
            SubscriptionMsg::ClientGone { client } => {
                let mine =
                    st.ctx.subscriptions.read().for_supervisor(&st.supervisor).is_some_and(|s| s.client == client);
                if mine && st.ctx.config.tserver.cancel_monitor_on_disconnect {
                    st.ctx.subscriptions.write().client_gone(client)
                } else {
                    Vec::new()
                }
            }
        };
        for (dn, mut ev) in events {
            st.ctx.stamp(&mut ev);
            st.ctx.directory.fan_out(&dn, &SharedEvent::new(ev));
        }
        // Drain, not stop: a message queued meanwhile still gets its answer (an EventError now).
        if st.ctx.subscriptions.read().for_supervisor(&st.supervisor).is_none() {
            let _ = me.drain();
        }
        Ok(())
    }
}
