//! What reaches the ConnectorLink actor from its Connector: RESPONSEs matched to the link's
//! pending requests (HELLO, DN registrations, call control, HA_RESTORE), link and DN states,
//! presence, and whatever arrived behind one of those (the reader handles the rest itself:
//! `link_lane`).

use super::{LinkMsg, LinkState, LinkStatus, Pending};
use crate::actors::call_sup::CallSupMsg;
use crate::actors::link_lane;
use crate::actors::link_sup::LinkSupMsg;
use crate::mltp::{ConnectorState, Mltp, TxId};
use crate::store::ha;
use ractor::ActorRef;

impl LinkState {
    /// A message the reader did not handle itself (`link_lane`): responses, link and DN states,
    /// presence, and anything that arrived behind one of those.
    pub(super) fn inbound(&mut self, me: &ActorRef<LinkMsg>, typed: Mltp, id: TxId) {
        match (typed, id) {
            (Mltp::Response(resp), TxId::Tx(tx)) => {
                let Some(pending) = self.pending.remove(&tx) else { return };
                self.missed_pings = 0;
                match pending {
                    Pending::Hello => {
                        if !resp.is_ok() {
                            return self.lost(me, &format!("HELLO refused: {}", resp.reason().unwrap_or_default()));
                        }
                        self.attempts = 0;
                        self.connector = resp.get("connector").map(str::to_string);
                        let suspending = resp.get("state") == Some("suspending");
                        if resp.get("ha-data") == Some("present") {
                            // The connector kept its own HA data and re-mirrors its live calls now:
                            // our copy may hold calls that ended while we were apart.
                            ha::drop_link(&self.ctx.snapshots, &self.cfg.name);
                        } else {
                            self.restore_ha(me);
                        }
                        self.set_status(if suspending { LinkStatus::Suspending } else { LinkStatus::Active });
                    }
                    Pending::Register(dn) => {
                        if resp.is_ok() {
                            self.ctx.directory.set_presence_type(&dn, resp.get("presence-type"));
                            self.registered.insert(dn.clone());
                            let _ = self.sup.cast(LinkSupMsg::Registered { link: self.cfg.n, dn });
                        } else {
                            let reason = resp.reason().unwrap_or_default().to_string();
                            let (link, retry) = (self.cfg.n, false);
                            let _ = self.sup.cast(LinkSupMsg::RegisterFailed { link, dn, reason, retry });
                        }
                    }
                    Pending::Call { family, corr, .. } => {
                        let result = match resp.failure() {
                            None => Ok(resp.results.clone()),
                            Some((code, reason)) => Err((code, reason.to_string())),
                        };
                        if let Some(sup) = self.ctx.call_sup() {
                            let link = self.cfg.name.clone();
                            let _ = sup.cast(CallSupMsg::SwitchResponse { family, corr, link, result });
                        }
                    }
                    Pending::HaRestore => {
                        tracing::info!(link = self.cfg.n, restored = ?resp.get("restored"), ok = resp.is_ok(), "HA_RESTORE answered");
                    }
                    Pending::Ping | Pending::Unregister | Pending::Presence => {}
                }
            }
            (Mltp::HaData { call, kind, op, key, data }, _) => {
                link_lane::store_ha(&self.ctx.snapshots, &self.cfg.name, call, kind, op, key, data)
            }
            (Mltp::ConnectorState { state }, _) => {
                self.set_status(if state == ConnectorState::Suspending {
                    LinkStatus::Suspending
                } else {
                    LinkStatus::Active
                });
            }
            (Mltp::DnState { dn, state, cause }, _) => {
                tracing::info!(link = self.cfg.n, %dn, ?state, ?cause, "connector reports DN state");
            }
            (m, _) if link_lane::is_call_event(&m) => match self.ctx.call_sup() {
                Some(cm) => {
                    let _ = cm.cast(CallSupMsg::Switch { link: self.cfg.name.clone(), msg: Box::new(m) });
                }
                None => tracing::warn!(link = self.cfg.n, "call event with no CallSup running"),
            },
            (Mltp::PresenceChanged { dn, availability, activity, presence_type }, _) => {
                let msg = crate::actors::dn::DnMsg::PresenceChanged { availability, activity, presence_type };
                let _ = self.ctx.directory.dn(&dn).map(|d| d.cast(msg));
            }
            (other, _) => {
                tracing::trace!(link = self.cfg.n, message = ?other.name(), "event not handled yet");
            }
        }
    }

    /// After a (re)connection: give the connector every HA record held for it (it restores the
    /// calls it does not already have).
    pub(super) fn restore_ha(&mut self, me: &ActorRef<LinkMsg>) {
        let records = ha::records(&self.ctx.snapshots, &self.cfg.name);
        if !records.is_empty() {
            tracing::info!(link = self.cfg.n, records = records.len(), "sending HA_RESTORE");
            self.request(me, Mltp::ha_restore(records), Pending::HaRestore);
        }
    }
}
