//! The fast lane of an MLTP link, the switch side's twin of `client_lane`. The ConnectorLink
//! actor only passes the Connector's call events on to CallSup and copies its HA records into the
//! snapshot table; the link's reader does both itself while nothing it gave the actor is still
//! unhandled. Everything else — responses (matched to the link's pending requests), HELLO, link
//! and DN states, presence — goes through the actor, and whatever arrives behind such a message
//! follows it there: the Connector answers a request before the events it caused, and a Call
//! actor must see them in that order.
//!
//! One lane per connection: a lane whose connection was dropped is closed, and what its reader
//! delivers afterwards goes to the actor, which drops it by its generation. A message the reader
//! had already taken when the lane closed (another worker dropping the connection meanwhile) can
//! still pass, as an event queued before a link was declared lost was handled before too.

use crate::actors::call_sup::CallSupMsg;
use crate::actors::context::ServerContext;
use crate::mltp::{HaOp, Mltp};
use crate::store::{ha, SnapshotTable};
use ractor::ActorRef;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub struct LinkLane {
    /// The link's name (`link-n-name`): CallSup keys switch calls by it.
    link: String,
    open: AtomicBool,
    /// Messages given to the actor and not yet handled by it.
    in_flight: AtomicUsize,
}

impl LinkLane {
    pub fn new(link: String) -> Self {
        LinkLane { link, open: AtomicBool::new(true), in_flight: AtomicUsize::new(0) }
    }

    /// The connection was dropped: everything from its reader goes to the actor (which ignores it).
    pub fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// The reader hands a message to the actor.
    pub fn to_actor(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// The actor has handled one (whatever it sent on is in the next actor's mailbox).
    pub fn handled(&self) {
        self.in_flight.fetch_sub(1, Ordering::Release);
    }

    /// Handles a call event or an HA record here when the actor would only have passed it on;
    /// gives the message back otherwise.
    pub fn try_handle(&self, ctx: &ServerContext, msg: Mltp) -> Option<Mltp> {
        let back = self.take(&ctx.snapshots, || ctx.call_sup(), &self.link, msg);
        if back.is_none() {
            ctx.metrics.switch_fast_lane.fetch_add(1, Ordering::Relaxed);
        }
        back
    }

    /// The lane's decision and work, on the pieces it touches (unit-testable without a server).
    fn take(
        &self,
        snapshots: &SnapshotTable,
        call_sup: impl FnOnce() -> Option<ActorRef<CallSupMsg>>,
        link: &str,
        msg: Mltp,
    ) -> Option<Mltp> {
        if !self.open.load(Ordering::Acquire) || self.in_flight.load(Ordering::Acquire) != 0 {
            return Some(msg);
        }
        match msg {
            msg if is_call_event(&msg) => {
                // No CallSup (restarting): the actor says so in the log, as before.
                let Some(sup) = call_sup() else { return Some(msg) };
                match sup.cast(CallSupMsg::Switch { link: link.to_string(), msg: Box::new(msg) }) {
                    Ok(()) => None,
                    Err(ractor::MessagingErr::SendErr(CallSupMsg::Switch { msg, .. })) => Some(*msg),
                    // A cast to a local actor fails only with SendErr (see `client_lane`).
                    Err(e) => {
                        tracing::error!(link, error = %e, "switch event lost: CallSup refused it");
                        None
                    }
                }
            }
            Mltp::HaData { call, kind, op, key, data } => {
                store_ha(snapshots, link, call, kind, op, key, data);
                None
            }
            other => Some(other),
        }
    }
}

/// The Connector's events about calls, which CallSup routes to the call's actor.
pub fn is_call_event(msg: &Mltp) -> bool {
    matches!(
        msg,
        Mltp::CallCreated { .. }
            | Mltp::PartyCreated { .. }
            | Mltp::PartyStateChanged { .. }
            | Mltp::PartyDeleted { .. }
            | Mltp::CallDeleted { .. }
            | Mltp::ImReceived { .. }
            | Mltp::DtmfReceived { .. }
            | Mltp::TreatmentEnded { .. }
            | Mltp::Error { .. }
    )
}

/// Mirrors one of the Connector's HA records, durably, so it can be given back after a restart.
pub fn store_ha(
    snapshots: &SnapshotTable,
    link: &str,
    call: u64,
    kind: crate::mltp::HaKind,
    op: HaOp,
    key: Option<String>,
    data: String,
) {
    match op {
        HaOp::Put => ha::put(snapshots, link, call, kind.as_str(), key.as_deref(), data),
        HaOp::Delete => {
            ha::delete_call(snapshots, link, call);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mltp::HaKind;

    fn record(call: u64) -> Mltp {
        Mltp::HaData { call, kind: HaKind::Call, op: HaOp::Put, key: None, data: format!("call {call}") }
    }

    /// The lane works only while the actor has nothing unhandled, and not once closed; what it
    /// does not take it gives back untouched, for the actor.
    #[test]
    fn the_lane_waits_for_the_actor_and_closes_with_its_connection() {
        let table = SnapshotTable::new();
        let lane = LinkLane::new("link-1".into());
        assert!(lane.take(&table, || None, "link-1", record(1)).is_none(), "an HA record is stored here");
        assert_eq!(table.keys_with_prefix("ha:link-1:1:").len(), 1);

        lane.to_actor();
        let back = lane.take(&table, || None, "link-1", record(2));
        assert_eq!(back, Some(record(2)), "behind a message the actor has not handled: to the actor");
        lane.handled();
        assert!(lane.take(&table, || None, "link-1", record(2)).is_none());

        let ping = Mltp::Ping {};
        assert_eq!(lane.take(&table, || None, "link-1", ping.clone()), Some(ping), "not a lane message");
        lane.close();
        assert_eq!(lane.take(&table, || None, "link-1", record(3)), Some(record(3)), "closed with its connection");
        assert!(table.keys_with_prefix("ha:link-1:3:").is_empty());
    }
}
