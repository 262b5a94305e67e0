//! The target group's agents as the router sees them through T-Library events on their DNs:
//! agent state (logged out / NotReady — After Call Work included — / Ready), whether the DN is in
//! service, the calls on the DN (busy while any), a reservation for a call just routed there, and
//! a pause after a routed call rang out. An agent is *available* when Ready, in service, free, not
//! reserved and not paused; available agents are indexed by the moment they became Ready and free
//! (a sequence number breaks ties), so the longest-idle one is the first of the index. Pure data:
//! time is the caller's milliseconds, and nothing here sends anything.

use crate::model::{ConnId, DnName};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The agent state as reported on the DN (EventAgent*, EventRegistered AgentStatus).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentState {
    LoggedOut,
    /// NotReady in any work mode, After Call Work and legal guard included.
    NotReady,
    Ready,
}

/// A moment: (milliseconds, sequence), ordered; the sequence makes every moment unique.
type Stamp = (u64, u64);

#[derive(Clone, Debug)]
struct Agent {
    state: AgentState,
    in_service: bool,
    calls: BTreeSet<ConnId>,
    reserved: Option<(ConnId, u64)>,
    paused_until: u64,
    ready_since: Stamp,
    free_since: Stamp,
    /// Its key in the idle index while available.
    indexed: Option<Stamp>,
}

impl Agent {
    fn available(&self, now: u64) -> bool {
        self.state == AgentState::Ready
            && self.in_service
            && self.calls.is_empty()
            && self.reserved.is_none()
            && self.paused_until <= now
    }
    fn idle_since(&self) -> Stamp {
        self.ready_since.max(self.free_since)
    }
}

/// One agent as shown in the router's view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentView {
    pub dn: DnName,
    pub state: AgentState,
    pub in_service: bool,
    pub calls: Vec<ConnId>,
    pub reserved_for: Option<ConnId>,
    pub paused_until_ms: Option<u64>,
    pub available: bool,
    /// When it became Ready and free (ms of the router's clock).
    pub idle_since_ms: u64,
}

#[derive(Clone, Debug, Default)]
pub struct AgentPool {
    agents: BTreeMap<DnName, Agent>,
    idle: BTreeSet<(Stamp, DnName)>,
    /// Pause ends and reservation deadlines (stale entries are skipped).
    deadlines: BTreeSet<(u64, DnName)>,
    reservations: HashMap<ConnId, DnName>,
    seq: u64,
}

impl AgentPool {
    /// Every agent starts logged out, in service and free.
    pub fn new(dns: &[DnName], now: u64) -> AgentPool {
        let mut pool = AgentPool::default();
        for dn in dns {
            let free_since = pool.stamp(now);
            let agent = Agent {
                state: AgentState::LoggedOut,
                in_service: true,
                calls: BTreeSet::new(),
                reserved: None,
                paused_until: 0,
                ready_since: (0, 0),
                free_since,
                indexed: None,
            };
            pool.agents.insert(dn.clone(), agent);
        }
        pool
    }

    fn stamp(&mut self, now: u64) -> Stamp {
        self.seq += 1;
        (now, self.seq)
    }

    pub fn contains(&self, dn: &DnName) -> bool {
        self.agents.contains_key(dn)
    }

    /// The available agent idle the longest.
    pub fn longest_idle(&self) -> Option<&DnName> {
        self.idle.first().map(|(_, dn)| dn)
    }

    pub fn available_count(&self) -> usize {
        self.idle.len()
    }

    pub fn set_state(&mut self, dn: &DnName, state: AgentState, now: u64) {
        let stamp = self.stamp(now);
        let Some(a) = self.agents.get_mut(dn) else { return };
        // Ready reported again (a repeated TAgentSetReady) is not *becoming* Ready.
        if state == AgentState::Ready && a.state != AgentState::Ready {
            a.ready_since = stamp;
        }
        a.state = state;
        self.refresh(dn, now);
    }

    pub fn set_in_service(&mut self, dn: &DnName, in_service: bool, now: u64) {
        if let Some(a) = self.agents.get_mut(dn) {
            a.in_service = in_service;
        }
        self.refresh(dn, now);
    }

    /// A call is on the DN (ringing, dialing, established, held): busy. The call routed there
    /// arriving ends its reservation.
    pub fn call_started(&mut self, dn: &DnName, conn: ConnId, now: u64) {
        let Some(a) = self.agents.get_mut(dn) else { return };
        a.calls.insert(conn);
        self.end_reservation(dn, Some(conn));
        self.refresh(dn, now);
    }

    /// A call left the DN; the last one leaving makes the agent free from now.
    pub fn call_ended(&mut self, dn: &DnName, conn: ConnId, now: u64) {
        let stamp = self.stamp(now);
        let Some(a) = self.agents.get_mut(dn) else { return };
        if a.calls.remove(&conn) && a.calls.is_empty() {
            a.free_since = stamp;
        }
        self.end_reservation(dn, Some(conn));
        self.refresh(dn, now);
    }

    /// The call changed its ConnID on this DN (EventPartyChanged).
    pub fn call_renamed(&mut self, dn: &DnName, from: ConnId, to: ConnId) {
        if let Some(a) = self.agents.get_mut(dn) {
            if a.calls.remove(&from) {
                a.calls.insert(to);
            }
        }
    }

    /// Holds the agent for `conn` until its call arrives or `until`.
    pub fn reserve(&mut self, dn: &DnName, conn: ConnId, until: u64, now: u64) {
        let Some(a) = self.agents.get_mut(dn) else { return };
        a.reserved = Some((conn, until));
        self.reservations.insert(conn, dn.clone());
        self.deadlines.insert((until, dn.clone()));
        self.refresh(dn, now);
    }

    /// Ends the reservation made for `conn`, if any; returns the agent.
    pub fn release(&mut self, conn: ConnId, now: u64) -> Option<DnName> {
        let dn = self.reservations.get(&conn)?.clone();
        self.end_reservation(&dn, Some(conn));
        self.refresh(&dn, now);
        Some(dn)
    }

    /// Ends the agent's reservation (only the one for `conn` when given), deadline included.
    fn end_reservation(&mut self, dn: &DnName, conn: Option<ConnId>) {
        let Some(a) = self.agents.get_mut(dn) else { return };
        let Some((c, until)) = a.reserved.filter(|(c, _)| conn.is_none_or(|x| x == *c)) else { return };
        a.reserved = None;
        self.reservations.remove(&c);
        if a.paused_until != until {
            self.deadlines.remove(&(until, dn.clone()));
        }
    }

    /// No new call for this agent until `until`.
    pub fn pause(&mut self, dn: &DnName, until: u64, now: u64) {
        let Some(a) = self.agents.get_mut(dn) else { return };
        a.paused_until = a.paused_until.max(until);
        self.deadlines.insert((until, dn.clone()));
        self.refresh(dn, now);
    }

    /// Ends pauses and reservations whose time has come.
    pub fn expire(&mut self, now: u64) {
        while let Some((at, dn)) = self.deadlines.first().cloned() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(a) = self.agents.get(&dn) else { continue };
            if a.reserved.is_some_and(|(_, until)| until <= now) {
                self.end_reservation(&dn, None);
            }
            self.refresh(&dn, now);
        }
    }

    /// The next moment `expire` has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    fn refresh(&mut self, dn: &DnName, now: u64) {
        let Some(a) = self.agents.get_mut(dn) else { return };
        let want = a.available(now).then(|| a.idle_since());
        if want == a.indexed {
            return;
        }
        if let Some(old) = a.indexed.take() {
            self.idle.remove(&(old, dn.clone()));
        }
        if let Some(key) = want {
            self.idle.insert((key, dn.clone()));
        }
        a.indexed = want;
    }

    pub fn view(&self, now: u64) -> Vec<AgentView> {
        self.agents
            .iter()
            .map(|(dn, a)| AgentView {
                dn: dn.clone(),
                state: a.state,
                in_service: a.in_service,
                calls: a.calls.iter().copied().collect(),
                reserved_for: a.reserved.map(|(c, _)| c),
                paused_until_ms: (a.paused_until > now).then_some(a.paused_until),
                available: a.indexed.is_some(),
                idle_since_ms: a.idle_since().0,
            })
            .collect()
    }
}
