//! The presence side of the Dn actor (a child module of `dn.rs`; guide: "Presence", "Presence
//! Processing"). It asks `crate::presence` which mode applies to the DN now (the profile of the
//! login's `presence-profile` extension, else the Agent Login / DN / Application option; the DN's
//! direct-call handling) and carries out the answer: in pull mode it subscribes to the DN's SfB
//! presence and turns PRESENCE_CHANGED into EventDNDOn / EventDNDOff (with PresenceType) for the
//! DN's clients; in push mode it publishes the agent/device state (PUBLISH_PRESENCE) on the link
//! serving the DN after every agent step or service change — never for a federated (remote) user.

use super::{direct_calls, DnState};
use crate::actors::agent_core::AgentHost;
use crate::actors::connector_link::{link_ref, LinkMsg};
use crate::links::LinkId;
use crate::mltp::{Mltp, PresenceType};
use crate::model::{AgentId, DnName, DnServiceState, DnType, KvList};
use crate::presence::{self, DevicePresenceState, DndTracker, NoPublish, PresenceMode, PushTracker};
use crate::tlib::{Event, EventKind};

/// What the Dn keeps for presence.
#[derive(Default)]
pub struct DnPresence {
    /// The profile the login's `presence-profile` extension selected, for the agent's session.
    login_profile: Option<DnName>,
    dnd: DndTracker,
    push: PushTracker,
    /// The link the SUBSCRIBE_PRESENCE went to (sent again when the DN moves to another link).
    subscribed_on: Option<LinkId>,
}

impl DnPresence {
    /// The DND state pull mode last reported (kept in the Dn snapshot).
    pub(super) fn dnd(&self) -> bool {
        self.dnd.dnd
    }

    pub(super) fn restore_dnd(&mut self, dnd: bool) {
        self.dnd.dnd = dnd;
    }
}

impl DnState {
    /// TAgentLogin's extensions, before the request is stepped: the login-level profile.
    pub(super) fn presence_login(&mut self, agent: &AgentId, extensions: &KvList) {
        if self.core.machine.session().is_none() {
            let name = presence::profile_name(&self.ctx.config, &self.dn, Some(agent), Some(extensions));
            self.presence.login_profile = name.filter(|(_, l)| *l == crate::config::Level::Extensions).map(|(n, _)| n);
        }
    }

    pub(super) fn presence_mode(&self) -> PresenceMode {
        if self.dn_type != DnType::Extension {
            return PresenceMode::Off;
        }
        let agent = self.core.machine.session().map(|s| s.agent_id.clone());
        let profile = match (&agent, &self.presence.login_profile) {
            (Some(_), Some(p)) => Some(p.clone()),
            _ => presence::profile_name(&self.ctx.config, &self.dn, agent.as_ref(), None).map(|(n, _)| n),
        };
        let logged_in = agent.is_some();
        let handled = direct_calls(&self.ctx, &self.dn).handles(crate::model::MediaType::VOICE, logged_in);
        presence::mode(&self.ctx.config, profile.as_ref(), handled)
    }

    /// After every agent step and service change: subscribe (pull) or publish (push) as needed.
    pub(super) fn presence_sync(&mut self) {
        if self.core.machine.session().is_none() {
            self.presence.login_profile = None;
        }
        let link = self.ctx.directory.serving_link(&self.dn);
        if self.service == DnServiceState::OutOfService || link.is_none() {
            self.presence.subscribed_on = None;
        }
        match self.presence_mode() {
            PresenceMode::Off => {}
            PresenceMode::Pull(_) => {
                if let Some(link) = link.filter(|l| self.presence.subscribed_on != Some(*l)) {
                    self.presence.subscribed_on = Some(link);
                    self.to_switch(link, Mltp::SubscribePresence { dn: self.dn.clone() });
                }
            }
            PresenceMode::Push(map) => {
                let Some(link) = link else { return };
                let session = self.core.machine.agent_session();
                let agent = presence::agent_state(session.as_ref().map(|s| s.status), session.map(|s| s.work_mode));
                // Busy once a call is dialing or established on the DN; a ringing one is not yet
                // (publishing Busy then would change what the caller's invitation meets).
                let busy = self.core.machine.calls().iter().any(|c| c.phase != crate::agent::CallPhase::Ringing);
                let device = match (self.service, busy) {
                    (DnServiceState::OutOfService, _) => DevicePresenceState::Oos,
                    (_, false) => DevicePresenceState::Idle,
                    (_, true) => DevicePresenceState::Busy,
                };
                let presence_type = self.ctx.directory.presence_type(&self.dn);
                match self.presence.push.decide(&map, agent, device, presence_type) {
                    Ok(p) => {
                        tracing::debug!(dn = %self.dn, ?agent, ?device, availability = p.availability, "publish presence");
                        let m = Mltp::PublishPresence {
                            dn: self.dn.clone(),
                            availability: p.availability,
                            activity: p.activity,
                        };
                        self.to_switch(link, m);
                    }
                    Err(NoPublish::Federated) => {
                        tracing::debug!(dn = %self.dn, "presence not published: federated (Office 365) user");
                    }
                    Err(_) => {}
                }
            }
        }
    }

    fn to_switch(&self, link: LinkId, m: Mltp) {
        if link_ref(&self.ctx, link).is_none_or(|l| l.cast(LinkMsg::Presence(Box::new(m))).is_err()) {
            tracing::warn!(dn = %self.dn, link, "presence request not sent: the link is restarting");
        }
    }

    /// PRESENCE_CHANGED for this DN: in pull mode, EventDNDOn / EventDNDOff on a change.
    pub(super) fn on_presence(&mut self, availability: u32, presence_type: PresenceType) {
        let PresenceMode::Pull(ranges) = self.presence_mode() else { return };
        let Some(dnd) = self.presence.dnd.on_presence(&ranges, availability, presence_type) else { return };
        let mut ev = Event::new(if dnd { EventKind::DNDOn } else { EventKind::DNDOff });
        ev.attrs.this_dn = Some(self.dn.clone());
        ev.attrs.extensions = Some(KvList::new().with("PresenceType", presence_type.as_str()));
        tracing::info!(dn = %self.dn, availability, dnd, "presence mapped to DND");
        self.persist();
        self.publish(ev);
    }
}
