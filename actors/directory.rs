//! The server's address book, read by everyone without messaging: which actor serves a DN, and
//! which clients are registered on it. The DN table is written only by the Registry actor (one
//! writer, so binds of a new incarnation and late unbinds of an old one are ordered); the
//! subscriber table is written by the Dn actor that owns the DN, so a client's EventRegistered
//! and every later event on that DN reach it in order.

use crate::actors::agent_session::AgentSessionMsg;
use crate::actors::dn::DnMsg;
use crate::actors::outbound::{ClientHandle, SharedEvent};
use crate::callmodel::DirectCallsOverride;
use crate::links::LinkId;
use crate::model::{AgentId, DnName};
use parking_lot::RwLock;
use ractor::{ActorId, ActorRef, ActorStatus};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
pub struct Directory {
    dns: RwLock<HashMap<DnName, ActorRef<DnMsg>>>,
    /// Signalled on every bind, so a request that raced a restart waits for the new incarnation.
    bound: Notify,
    subscribers: RwLock<HashMap<DnName, Vec<ClientHandle>>>,
    /// Which DN each logged-in AgentID is on: one DN per agent across the whole server.
    agents: RwLock<HashMap<AgentId, DnName>>,
    /// DNs whose call events go through their Dn actor (its agent machine follows their calls).
    /// Written by that Dn actor only.
    follows_calls: RwLock<HashSet<DnName>>,
    /// Which connector link has the DN registered on the switch (absent: out of service).
    /// Written by LinkSup; read by a restarted Dn and by whoever sends a DN request to the switch.
    serving: RwLock<HashMap<DnName, LinkId>>,
    /// Connector link actors by link index (typed by their users: see `ConnectorLink`).
    links: RwLock<HashMap<LinkId, ractor::ActorCell>>,
    /// Desktops' overrides of `handle-direct-calls` / `-media`, with the client that made each:
    /// it lasts while that client stays registered on the DN (guide: "persists as long as WDE is
    /// connected to T-Server"), so [`Directory::unsubscribe`] drops it.
    direct_overrides: RwLock<HashMap<DnName, (u64, DirectCallsOverride)>>,
    /// The REGISTER_DN answer's presence-type of each served DN (`remote`: a federated user,
    /// whose presence cannot be published). Written by the connector link that registered it.
    presence_types: RwLock<HashMap<DnName, crate::mltp::PresenceType>>,
    /// The AgentSession running each DN's agent machine (written by the sessions themselves), so
    /// a restarted Dn finds its agent's session.
    agent_sessions: RwLock<HashMap<DnName, ActorRef<AgentSessionMsg>>>,
}

impl Directory {
    pub fn dn(&self, name: &DnName) -> Option<ActorRef<DnMsg>> {
        self.dns.read().get(name).cloned()
    }

    /// The live actor of a DN, waiting up to `timeout` when the DN is being restarted.
    pub async fn live_dn(&self, name: &DnName, timeout: Duration) -> Option<ActorRef<DnMsg>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.bound.notified();
            match self.dn(name) {
                Some(a) if matches!(a.get_status(), ActorStatus::Running | ActorStatus::Starting) => return Some(a),
                _ => {}
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn dn_count(&self) -> usize {
        self.dns.read().len()
    }

    pub(crate) fn bind_dn(&self, name: DnName, actor: ActorRef<DnMsg>) {
        self.dns.write().insert(name, actor);
        self.bound.notify_waiters();
    }

    /// Removes the binding only if it still points at the incarnation that is going away.
    pub(crate) fn unbind_dn(&self, name: &DnName, id: ActorId) {
        let mut dns = self.dns.write();
        if dns.get(name).map(|a| a.get_id()) == Some(id) {
            dns.remove(name);
        }
    }

    pub fn serving_link(&self, dn: &DnName) -> Option<LinkId> {
        self.serving.read().get(dn).copied()
    }

    pub fn serving_count(&self) -> usize {
        self.serving.read().len()
    }

    pub(crate) fn set_serving(&self, dn: &DnName, link: Option<LinkId>) {
        let mut serving = self.serving.write();
        match link {
            Some(l) => serving.insert(dn.clone(), l),
            None => serving.remove(dn),
        };
    }

    pub fn presence_type(&self, dn: &DnName) -> Option<crate::mltp::PresenceType> {
        self.presence_types.read().get(dn).copied()
    }

    /// From REGISTER_DN's `presence-type` result header (absent or unknown: forgotten).
    pub(crate) fn set_presence_type(&self, dn: &DnName, header: Option<&str>) {
        match header.and_then(crate::mltp::PresenceType::parse) {
            Some(t) => self.presence_types.write().insert(dn.clone(), t),
            None => self.presence_types.write().remove(dn),
        };
    }

    pub fn link_cell(&self, id: LinkId) -> Option<ractor::ActorCell> {
        self.links.read().get(&id).cloned()
    }

    pub(crate) fn bind_link(&self, id: LinkId, link: ractor::ActorCell) {
        self.links.write().insert(id, link);
    }

    /// The DN's AgentSession, if one is alive (a session killed with its supervisor never
    /// unbound itself).
    pub fn agent_session(&self, dn: &DnName) -> Option<ActorRef<AgentSessionMsg>> {
        let alive = |a: &&ActorRef<AgentSessionMsg>| {
            matches!(a.get_status(), ActorStatus::Starting | ActorStatus::Running | ActorStatus::Upgrading)
        };
        self.agent_sessions.read().get(dn).filter(alive).cloned()
    }

    pub(crate) fn bind_agent_session(&self, dn: &DnName, session: ActorRef<AgentSessionMsg>) {
        self.agent_sessions.write().insert(dn.clone(), session);
    }

    /// Removes the binding only if it still points at the incarnation that is going away.
    pub(crate) fn unbind_agent_session(&self, dn: &DnName, id: ActorId) {
        let mut sessions = self.agent_sessions.write();
        if sessions.get(dn).map(|a| a.get_id()) == Some(id) {
            sessions.remove(dn);
        }
    }

    /// Records that `agent` is logged in on `dn`; Err(other DN) if it already is elsewhere.
    pub fn claim_agent(&self, agent: &AgentId, dn: &DnName) -> Result<(), DnName> {
        let mut agents = self.agents.write();
        match agents.get(agent) {
            Some(other) if other != dn => Err(other.clone()),
            _ => {
                agents.insert(agent.clone(), dn.clone());
                Ok(())
            }
        }
    }

    pub fn release_agent(&self, agent: &AgentId, dn: &DnName) {
        let mut agents = self.agents.write();
        if agents.get(agent) == Some(dn) {
            agents.remove(agent);
        }
    }

    pub fn agent_dn(&self, agent: &AgentId) -> Option<DnName> {
        self.agents.read().get(agent).cloned()
    }

    /// Adds a client to a DN's subscribers; false if it was already registered there.
    pub fn subscribe(&self, dn: &DnName, client: ClientHandle) -> bool {
        let mut subs = self.subscribers.write();
        let list = subs.entry(dn.clone()).or_default();
        if list.iter().any(|c| c.id == client.id) {
            return false;
        }
        list.push(client);
        true
    }

    /// Removes a client from a DN (and its override of the DN's direct-call handling); false if
    /// it was not registered there.
    pub fn unsubscribe(&self, dn: &DnName, client_id: u64) -> bool {
        let mut subs = self.subscribers.write();
        let mut overrides = self.direct_overrides.write();
        if overrides.get(dn).is_some_and(|(owner, _)| *owner == client_id) {
            overrides.remove(dn);
        }
        let Some(list) = subs.get_mut(dn) else { return false };
        let before = list.len();
        list.retain(|c| c.id != client_id);
        before != list.len()
    }

    /// Records a desktop's override of the DN's direct-call handling, replacing any other; refused
    /// (false) when the client is no longer registered on the DN (it would never be dropped).
    pub fn set_direct_override(&self, dn: &DnName, client_id: u64, o: DirectCallsOverride) -> bool {
        let subs = self.subscribers.read();
        if !subs.get(dn).is_some_and(|l| l.iter().any(|c| c.id == client_id)) {
            return false;
        }
        self.direct_overrides.write().insert(dn.clone(), (client_id, o));
        true
    }

    pub fn direct_override(&self, dn: &DnName) -> Option<DirectCallsOverride> {
        self.direct_overrides.read().get(dn).map(|(_, o)| *o)
    }

    /// Whether the DN's call events must go through its Dn actor: its agent machine follows the
    /// DN's calls (an agent is logged in, or calls the machine saw are still on the DN).
    pub fn follows_calls(&self, dn: &DnName) -> bool {
        self.follows_calls.read().contains(dn)
    }

    pub(crate) fn set_follows_calls(&self, dn: &DnName, follow: bool) {
        if follow != self.follows_calls(dn) {
            let mut set = self.follows_calls.write();
            if follow {
                set.insert(dn.clone());
            } else {
                set.remove(dn);
            }
        }
    }

    /// Whether an agent is logged in on the DN.
    pub fn has_agent(&self, dn: &DnName) -> bool {
        self.agents.read().values().any(|d| d == dn)
    }

    pub fn is_subscribed(&self, dn: &DnName, client_id: u64) -> bool {
        self.subscribers.read().get(dn).is_some_and(|l| l.iter().any(|c| c.id == client_id))
    }

    pub fn subscriber_count(&self, dn: &DnName) -> usize {
        self.subscribers.read().get(dn).map_or(0, |l| l.len())
    }

    /// Queues an event to every client registered on `dn`, in registration order. Clients that
    /// were disconnected for being slow are dropped from the list. Returns how many got it.
    pub fn fan_out(&self, dn: &DnName, event: &Arc<SharedEvent>) -> usize {
        let mut delivered = 0;
        let mut dead = false;
        if let Some(list) = self.subscribers.read().get(dn) {
            for client in list {
                if client.deliver(event) {
                    delivered += 1;
                } else {
                    dead = true;
                }
            }
        }
        if dead {
            if let Some(list) = self.subscribers.write().get_mut(dn) {
                list.retain(|c| !c.is_closing());
            }
        }
        delivered
    }
}
