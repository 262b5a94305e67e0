//! The agents of a load run as the load generator sees them: which are Ready, how many calls each
//! holds or is about to receive, and the order in which they became free (the internal router
//! takes the longest-idle one, as the reference router would). Desktops report their events here;
//! the router and the desktops that transfer or conference take agents from here. Also the
//! hand-offs in flight (a call single-step transferred or conferenced to another agent), so the
//! receiving desktop knows what the call is for. One short lock per operation; no I/O.

use crate::model::{ConnId, DnName};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Why a call reaches a second agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handoff {
    /// TSingleStepTransfer: the agent keeps the call until the caller hangs up.
    Transfer,
    /// TSingleStepConference: the agent joins, then leaves (TReleaseCall) so that the caller and
    /// the first agent end the call as usual.
    Conference,
}

#[derive(Debug)]
struct Slot {
    dn: DnName,
    ready: bool,
    calls: u32,
    reserved: u32,
    queued: bool,
}

#[derive(Default)]
struct Inner {
    slots: Vec<Slot>,
    free: VecDeque<usize>,
    handoffs: HashMap<ConnId, (usize, Handoff)>,
    /// Calls sent to an agent whose EventRinging has not come yet: the agent and since when. A
    /// caller may hang up in between; [`AgentPool::expire`] frees such slots.
    reservations: HashMap<ConnId, (usize, Instant)>,
}

pub struct AgentPool {
    inner: Mutex<Inner>,
    capacity: u32,
    /// Signalled whenever an agent may have become free (the router waits on it).
    pub wake: Notify,
}

impl Inner {
    fn available(&self, i: usize, capacity: u32) -> bool {
        let s = &self.slots[i];
        s.ready && s.calls + s.reserved < capacity
    }
    fn requeue(&mut self, i: usize, capacity: u32) -> bool {
        if self.available(i, capacity) && !self.slots[i].queued {
            self.slots[i].queued = true;
            self.free.push_back(i);
            return true;
        }
        false
    }
}

impl AgentPool {
    /// Agents `dns`, none Ready yet; each takes up to `capacity` calls at once.
    pub fn new(dns: Vec<DnName>, capacity: u32) -> AgentPool {
        let slots = dns.into_iter().map(|dn| Slot { dn, ready: false, calls: 0, reserved: 0, queued: false }).collect();
        AgentPool {
            inner: Mutex::new(Inner { slots, ..Default::default() }),
            capacity: capacity.max(1),
            wake: Notify::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dn(&self, i: usize) -> DnName {
        self.inner.lock().slots[i].dn.clone()
    }

    fn changed(&self, i: usize, f: impl FnOnce(&mut Slot)) {
        let woke = {
            let mut g = self.inner.lock();
            f(&mut g.slots[i]);
            g.requeue(i, self.capacity)
        };
        if woke {
            self.wake.notify_one();
        }
    }

    /// The agent went Ready (true) or NotReady / ACW / logged out (false).
    pub fn set_ready(&self, i: usize, ready: bool) {
        self.changed(i, |s| s.ready = ready);
    }

    /// Ends the reservation of `conn`, if any; the agent it was for.
    fn unreserve_locked(g: &mut Inner, conn: ConnId) -> Option<usize> {
        let (agent, _) = g.reservations.remove(&conn)?;
        g.slots[agent].reserved = g.slots[agent].reserved.saturating_sub(1);
        Some(agent)
    }

    /// Call `conn` rings on agent `i`'s DN (it may have been reserved for it).
    pub fn on_ringing(&self, i: usize, conn: ConnId) {
        let woke = {
            let mut g = self.inner.lock();
            let other = Self::unreserve_locked(&mut g, conn).filter(|a| *a != i);
            g.slots[i].calls += 1;
            let a = other.is_some_and(|a| g.requeue(a, self.capacity));
            g.requeue(i, self.capacity) || a
        };
        if woke {
            self.wake.notify_one();
        }
    }

    /// A call left the agent's DN.
    pub fn on_call_end(&self, i: usize) {
        self.changed(i, |s| s.calls = s.calls.saturating_sub(1));
    }

    /// The reservation for `conn` will not ring (the request was refused).
    pub fn unreserve(&self, conn: ConnId) {
        let woke = {
            let mut g = self.inner.lock();
            Self::unreserve_locked(&mut g, conn).is_some_and(|a| g.requeue(a, self.capacity))
        };
        if woke {
            self.wake.notify_one();
        }
    }

    /// Frees the slots of reservations older than `max_age` (the caller hung up before the call
    /// reached the agent); returns how many.
    pub fn expire(&self, max_age: Duration) -> usize {
        let now = Instant::now();
        let old: Vec<ConnId> = {
            let g = self.inner.lock();
            g.reservations.iter().filter(|(_, (_, since))| now - *since > max_age).map(|(c, _)| *c).collect()
        };
        for conn in &old {
            self.unreserve(*conn);
        }
        old.len()
    }

    /// Takes the longest-idle free agent other than `except` for call `conn`, reserving one of
    /// its call slots until the call rings there.
    pub fn take(&self, except: Option<usize>, conn: ConnId) -> Option<usize> {
        let mut g = self.inner.lock();
        let mut skipped = None;
        let mut found = None;
        while let Some(i) = g.free.pop_front() {
            g.slots[i].queued = false;
            if Some(i) == except {
                skipped = Some(i);
                continue;
            }
            if g.available(i, self.capacity) {
                found = Some(i);
                break;
            }
        }
        if let Some(i) = found {
            g.slots[i].reserved += 1;
            if let Some((previous, _)) = g.reservations.insert(conn, (i, Instant::now())) {
                g.slots[previous].reserved = g.slots[previous].reserved.saturating_sub(1);
            }
            g.requeue(i, self.capacity);
        }
        if let Some(i) = skipped {
            if g.available(i, self.capacity) {
                g.slots[i].queued = true;
                g.free.push_front(i);
            }
        }
        found
    }

    /// Records that `conn` is being handed to agent `to`.
    pub fn hand_off(&self, conn: ConnId, to: usize, how: Handoff) {
        self.inner.lock().handoffs.insert(conn, (to, how));
    }

    /// The hand-off of `conn` to agent `i`, if this call reached it that way (removes it).
    pub fn take_handoff(&self, conn: ConnId, i: usize) -> Option<Handoff> {
        let mut g = self.inner.lock();
        match g.handoffs.get(&conn) {
            Some((to, _)) if *to == i => g.handoffs.remove(&conn).map(|(_, h)| h),
            _ => None,
        }
    }

    /// Forgets a hand-off that was refused.
    pub fn cancel_handoff(&self, conn: ConnId) {
        self.inner.lock().handoffs.remove(&conn);
    }

    /// Agents Ready now.
    pub fn ready_count(&self) -> usize {
        self.inner.lock().slots.iter().filter(|s| s.ready).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: ConnId = ConnId(1);
    const C2: ConnId = ConnId(2);
    const C3: ConnId = ConnId(3);

    fn pool(n: usize, capacity: u32) -> AgentPool {
        AgentPool::new((1..=n).map(|i| DnName::new(format!("sip:agent{i:02}@skype.lab"))).collect(), capacity)
    }

    #[test]
    fn the_longest_idle_ready_agent_is_taken_and_busy_ones_are_not() {
        let p = pool(3, 1);
        assert_eq!(p.take(None, C1), None, "nobody is Ready");
        p.set_ready(1, true);
        p.set_ready(0, true);
        assert_eq!(p.take(None, C1), Some(1), "agent 1 became Ready first");
        assert_eq!(p.take(None, C2), Some(0));
        assert_eq!(p.take(None, C3), None, "both are reserved");
        p.on_ringing(1, C1);
        p.on_call_end(1);
        assert_eq!(p.take(None, C3), Some(1), "free again after its call");
        p.unreserve(C3);
        p.set_ready(1, false);
        assert_eq!(p.take(None, C3), None, "NotReady agents are not taken");
        assert_eq!(p.ready_count(), 1);
    }

    #[test]
    fn capacity_allows_several_calls_and_except_skips_the_asking_agent() {
        let p = pool(2, 2);
        p.set_ready(0, true);
        assert_eq!(p.take(Some(0), C1), None, "the only free agent is the one asking");
        assert_eq!(p.take(None, C1), Some(0));
        assert_eq!(p.take(None, C2), Some(0), "a second slot");
        assert_eq!(p.take(None, C3), None);
        p.set_ready(1, true);
        assert_eq!(p.take(Some(1), C3), None);
        assert_eq!(p.take(Some(0), C3), Some(1));
    }

    #[test]
    fn a_reservation_whose_call_never_rings_expires() {
        let p = pool(1, 1);
        p.set_ready(0, true);
        assert_eq!(p.take(None, C1), Some(0));
        assert_eq!(p.take(None, C2), None);
        assert_eq!(p.expire(Duration::from_secs(60)), 0, "too young");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(p.expire(Duration::from_millis(1)), 1);
        assert_eq!(p.take(None, C2), Some(0), "the slot is free again");
        p.on_ringing(0, C2);
        assert_eq!(p.expire(Duration::ZERO), 0, "a call that rang is no reservation");
    }

    #[test]
    fn hand_offs_are_claimed_only_by_their_target() {
        let p = pool(2, 1);
        p.hand_off(ConnId(7), 1, Handoff::Conference);
        assert_eq!(p.take_handoff(ConnId(7), 0), None);
        assert_eq!(p.take_handoff(ConnId(7), 1), Some(Handoff::Conference));
        assert_eq!(p.take_handoff(ConnId(7), 1), None, "claimed once");
    }
}
