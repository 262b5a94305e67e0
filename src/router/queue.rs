//! The calls the router knows: waiting at one of its Routing Points (FIFO per Routing Point, and
//! the oldest across them is served first), being routed (TRouteCall sent, agent reserved), or
//! routed (remembered a while so that a call coming back — TERR_DN_NO_ANSWER, a refusal — keeps
//! its place in line and the agent who let it ring gets a pause). A call coming back keeps its
//! arrival number. Pure data; times are the caller's milliseconds.

use crate::model::{ConnId, DnName};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// In its Routing Point's queue.
    Waiting,
    /// TRouteCall sent; the agent is reserved.
    Routing { agent: DnName },
    /// EventRouteUsed / EventDiverted seen: on its way to (or at) the agent.
    Routed { agent: DnName },
    /// Reported back (TERR_DN_NO_ANSWER): a new EventRouteRequest is expected.
    Returning,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub rp: DnName,
    /// Arrival order (kept when the call comes back).
    pub seq: u64,
    pub im: bool,
    pub arrived_ms: u64,
    pub stage: Stage,
    /// A treatment was applied during this wait (an IM prompt is sent once per call).
    pub treated: bool,
    /// TApplyTreatment sent and not answered yet (until then TRouteCall would be refused with
    /// 291): the deadline after which the router stops waiting for the answer.
    pub treating_until: Option<u64>,
    /// Not routable before this moment (retry after 291 Operation in progress).
    pub hold_until: u64,
    /// Forgotten at this moment unless it is waiting or routing again.
    forget_at: Option<u64>,
}

impl Call {
    fn blocked_until(&self, now: u64) -> Option<u64> {
        let until = self.treating_until.unwrap_or(0).max(self.hold_until);
        (until > now).then_some(until)
    }
}

/// A waiting call as shown in the router's view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitingView {
    pub conn: ConnId,
    pub rp: DnName,
    pub media: &'static str,
    pub since_ms: u64,
    pub treated: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Calls {
    calls: HashMap<ConnId, Call>,
    queues: BTreeMap<DnName, VecDeque<ConnId>>,
    forget: BTreeSet<(u64, ConnId)>,
    next_seq: u64,
}

impl Calls {
    pub fn get(&self, conn: ConnId) -> Option<&Call> {
        self.calls.get(&conn)
    }

    pub fn get_mut(&mut self, conn: ConnId) -> Option<&mut Call> {
        self.calls.get_mut(&conn)
    }

    pub fn waiting_count(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    /// Queues a call at `rp` behind the calls that arrived before it: a new call at the end, a
    /// call coming back at its original place.
    pub fn enqueue(&mut self, conn: ConnId, rp: &DnName, im: bool, now: u64) {
        self.unqueue(conn);
        let seq = match self.calls.get(&conn) {
            Some(c) => c.seq,
            None => {
                self.next_seq += 1;
                self.next_seq
            }
        };
        let call = self.calls.entry(conn).or_insert_with(|| Call {
            rp: rp.clone(),
            seq,
            im,
            arrived_ms: now,
            stage: Stage::Waiting,
            treated: false,
            treating_until: None,
            hold_until: 0,
            forget_at: None,
        });
        call.rp = rp.clone();
        call.stage = Stage::Waiting;
        call.forget_at = None;
        let calls = &self.calls;
        let q = self.queues.entry(rp.clone()).or_default();
        let at = q.partition_point(|c| calls.get(c).is_some_and(|x| x.seq < seq));
        q.insert(at, conn);
    }

    fn unqueue(&mut self, conn: ConnId) {
        let Some(rp) = self.calls.get(&conn).filter(|c| c.stage == Stage::Waiting).map(|c| c.rp.clone()) else {
            return;
        };
        if let Some(q) = self.queues.get_mut(&rp) {
            q.retain(|c| *c != conn);
            if q.is_empty() {
                self.queues.remove(&rp);
            }
        }
    }

    /// Moves the call to `stage` (out of its queue); routed and returning calls are forgotten
    /// after `linger_ms` unless something happens to them first.
    pub fn set_stage(&mut self, conn: ConnId, stage: Stage, now: u64, linger_ms: u64) {
        self.unqueue(conn);
        let Some(c) = self.calls.get_mut(&conn) else { return };
        c.forget_at = matches!(stage, Stage::Routed { .. } | Stage::Returning).then_some(now + linger_ms);
        if let Some(at) = c.forget_at {
            self.forget.insert((at, conn));
        }
        c.stage = stage;
    }

    /// Shortens how long a routed call is remembered (its agent released it).
    pub fn forget_after(&mut self, conn: ConnId, at: u64) {
        if let Some(c) = self.calls.get_mut(&conn).filter(|c| c.forget_at.is_some_and(|f| f > at)) {
            c.forget_at = Some(at);
            self.forget.insert((at, conn));
        }
    }

    pub fn remove(&mut self, conn: ConnId) -> Option<Call> {
        self.unqueue(conn);
        self.calls.remove(&conn)
    }

    /// Drops routed calls whose time to be remembered is over.
    pub fn gc(&mut self, now: u64) {
        while let Some(&(at, conn)) = self.forget.first() {
            if at > now {
                break;
            }
            self.forget.pop_first();
            if self.calls.get(&conn).is_some_and(|c| c.forget_at.is_some_and(|f| f <= now)) {
                self.calls.remove(&conn);
            }
        }
    }

    /// The call that arrived first across all queues. `Err(until)` when it may not be routed
    /// yet (a treatment answer is outstanding): strict FIFO waits for it rather than overtaking.
    pub fn oldest(&self, now: u64) -> Option<Result<ConnId, u64>> {
        let conn = self.queues.values().filter_map(|q| q.front()).min_by_key(|c| self.calls[c].seq)?;
        Some(match self.calls[conn].blocked_until(now) {
            Some(until) => Err(until),
            None => Ok(*conn),
        })
    }

    pub fn view(&self) -> Vec<WaitingView> {
        let mut all: Vec<(&ConnId, &Call)> = self.queues.values().flatten().map(|c| (c, &self.calls[c])).collect();
        all.sort_by_key(|(_, c)| c.seq);
        all.into_iter()
            .map(|(conn, c)| WaitingView {
                conn: *conn,
                rp: c.rp.clone(),
                media: if c.im { "im" } else { "voice" },
                since_ms: c.arrived_ms,
                treated: c.treated,
            })
            .collect()
    }
}
