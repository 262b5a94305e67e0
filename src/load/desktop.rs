//! One agent desktop of a load run: a T-Library connection that registers the agent's Extension,
//! logs the agent in and sets it Ready, then follows its calls — K user-data updates spread over
//! the expected talk time, a share of the calls single-step transferred or conferenced to another
//! Ready agent, ACW handled automatically (untimed ACW, or any unexpected NotReady, is ended with
//! TAgentSetReady; a timed ACW is left to the server's wrap-up timer). Every request is sent
//! without waiting, and the event carrying its ReferenceID gives its latency. One tokio task per
//! desktop; the task never blocks on another desktop.

use super::pool::{AgentPool, Handoff};
use super::stats::{Count, Stats};
use super::LoadError;
use crate::client::Client;
use crate::model::{AgentId, AgentWorkMode, ConnId, DnName, DnServiceState, KvList, KvValue};
use crate::tlib::{Attributes, Event, EventKind, Request, RequestKind};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What every desktop does with a call (from the plan).
pub struct CallScript {
    pub updates: u32,
    /// Time between two updates: the hold time / (updates + 2), so they fit in the talk time and
    /// the hand-off, if any, follows the last update.
    pub interval: Duration,
    pub transfer_ratio: f64,
    pub conference_ratio: f64,
    /// Calls answered so far by every desktop (decides which calls are handed off).
    pub answered: AtomicU64,
    /// Conferences due but not done yet (their call was picked for a transfer too).
    pub conferences_owed: AtomicU64,
}

impl CallScript {
    pub fn new(updates: u32, hold: Duration, transfer_ratio: f64, conference_ratio: f64) -> CallScript {
        CallScript {
            updates,
            interval: hold / (updates + 2),
            transfer_ratio,
            conference_ratio,
            answered: AtomicU64::new(0),
            conferences_owed: AtomicU64::new(0),
        }
    }
}

impl CallScript {
    /// Whether the next answered call is transferred, conferenced or neither: exactly the ratios
    /// of the calls so far (a conference due on a call picked for a transfer goes to the next call).
    pub fn handoff_of_next_call(&self) -> Option<Handoff> {
        let k = self.answered.fetch_add(1, Ordering::Relaxed);
        if picked(k, self.conference_ratio) {
            self.conferences_owed.fetch_add(1, Ordering::Relaxed);
        }
        if picked(k, self.transfer_ratio) {
            return Some(Handoff::Transfer);
        }
        let owed = self.conferences_owed.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        owed.is_ok().then_some(Handoff::Conference)
    }
}

/// Whether call number `n` (0-based) is one of the `ratio` share: exactly floor(n * ratio) of the
/// first n calls are, spread evenly.
pub fn picked(n: u64, ratio: f64) -> bool {
    ratio > 0.0 && ((n + 1) as f64 * ratio).floor() > (n as f64 * ratio).floor()
}

pub struct Shared {
    pub stats: Arc<Stats>,
    pub pool: Arc<AgentPool>,
    pub script: CallScript,
}

fn req(kind: RequestKind, dn: &DnName) -> Request {
    Request::with_attrs(kind, Attributes { this_dn: Some(dn.clone()), ..Default::default() })
}

/// How long a desktop waits for its DN to come into service before giving up.
const IN_SERVICE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects, registers `dn` (waiting for it to be in service), logs `agent` in and makes it Ready.
pub async fn log_in(tlib: &str, dn: &DnName, agent: &str) -> Result<Client, LoadError> {
    let mut client = Client::connect_with(tlib, None, "sfb-tserver-load").await?;
    let fail = |what: &str, ev: &Event| LoadError::Agent {
        dn: dn.to_string(),
        what: format!("{what}: {} {}", ev.kind.name(), ev.attrs.error_message.clone().unwrap_or_default()),
    };
    let ev = client.register(dn.as_str()).await?;
    if ev.kind != EventKind::Registered {
        return Err(fail("TRegisterAddress", &ev));
    }
    // Just after start the DN may wait for its Connector link: logging in needs it in service.
    if ev.attrs.service_state == Some(DnServiceState::OutOfService) {
        let back = client.wait_for(IN_SERVICE_TIMEOUT, |e| e.kind == EventKind::DNBackInService).await;
        if back.is_none() {
            return Err(LoadError::Agent {
                dn: dn.to_string(),
                what: format!("out of service for {IN_SERVICE_TIMEOUT:?}"),
            });
        }
    }
    let mut login = req(RequestKind::AgentLogin, dn);
    login.attrs.agent_id = Some(AgentId::new(agent));
    login.attrs.agent_work_mode = Some(AgentWorkMode::ManualIn);
    let ev = client.request(login).await?;
    if ev.kind != EventKind::AgentLogin {
        return Err(fail("TAgentLogin", &ev));
    }
    let ev = client.request(req(RequestKind::AgentSetReady, dn)).await?;
    if ev.kind != EventKind::AgentReady {
        return Err(fail("TAgentSetReady", &ev));
    }
    Ok(client)
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Update { conn: ConnId, n: u32 },
    HandOff { conn: ConnId, how: Handoff },
}

#[derive(Clone, Copy)]
enum Pending {
    Plain,
    HandOff { conn: ConnId },
}

pub struct Desktop {
    pub client: Client,
    i: usize,
    dn: DnName,
    shared: Arc<Shared>,
    /// Calls on the DN: established or not.
    calls: HashMap<ConnId, bool>,
    pending: HashMap<u32, (Instant, RequestKind, Pending)>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    actions: HashMap<u64, Action>,
    seq: u64,
}

impl Desktop {
    pub fn new(client: Client, i: usize, shared: Arc<Shared>) -> Desktop {
        let dn = shared.pool.dn(i);
        Desktop {
            client,
            i,
            dn,
            shared,
            calls: HashMap::new(),
            pending: HashMap::new(),
            timers: BinaryHeap::new(),
            actions: HashMap::new(),
            seq: 0,
        }
    }

    /// Follows events and runs the call script until `stop` turns true or the server closes.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Desktop {
        self.shared.pool.set_ready(self.i, true);
        loop {
            let next = self.timers.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                ev = self.client.next_stamped_event() => match ev {
                    Some((ev, read_at)) => self.on_event(ev, Instant::from_std(read_at)).await,
                    None => {
                        tracing::warn!(dn = %self.dn, "the server closed the desktop's connection");
                        break;
                    }
                },
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    if let Some(Reverse((_, id))) = self.timers.pop() {
                        if let Some(action) = self.actions.remove(&id) {
                            self.act(action).await;
                        }
                    }
                }
                _ = stop.changed() => break,
            }
        }
        self.shared.pool.set_ready(self.i, false);
        self
    }

    fn at(&mut self, after: Duration, action: Action) {
        self.seq += 1;
        self.timers.push(Reverse((Instant::now() + after, self.seq)));
        self.actions.insert(self.seq, action);
    }

    async fn send(&mut self, r: Request, what: Pending) {
        let sent = Instant::now();
        let kind = r.kind;
        self.shared.stats.count(Count::Request);
        match self.client.send(r).await {
            Ok(reference) => {
                self.pending.insert(reference, (sent, kind, what));
            }
            Err(e) => tracing::warn!(dn = %self.dn, error = %e, "cannot send a request"),
        }
    }

    /// `read_at`: when the event's bytes were read (its latency ends there).
    async fn on_event(&mut self, ev: Event, read_at: Instant) {
        let shared = self.shared.clone();
        shared.stats.count(Count::Event);
        if let Some((sent, kind, what)) = ev.attrs.reference_id.and_then(|r| self.pending.remove(&r)) {
            if ev.kind == EventKind::Error {
                shared.stats.refused(ev.attrs.error_code.map(|c| c.code()).unwrap_or(0));
                if let Pending::HandOff { conn } = what {
                    shared.pool.cancel_handoff(conn);
                    shared.pool.unreserve(conn);
                }
            } else {
                shared.stats.answered(kind, read_at.saturating_duration_since(sent));
            }
        }
        if ev.attrs.this_dn.as_ref() != Some(&self.dn) {
            return; // e.g. the new party's EventRinging answering our TSingleStepConference
        }
        let pool = &shared.pool;
        match (ev.kind, ev.attrs.conn_id) {
            (EventKind::Ringing, Some(conn)) if !self.calls.contains_key(&conn) => {
                self.calls.insert(conn, false);
                pool.on_ringing(self.i, conn);
                shared.stats.agent_call(1);
            }
            (EventKind::Established, Some(conn)) => {
                match self.calls.insert(conn, true) {
                    Some(true) => return, // established again (e.g. a conference): nothing new
                    Some(false) => {}
                    None => {
                        pool.on_ringing(self.i, conn);
                        shared.stats.agent_call(1);
                    }
                }
                self.on_established(conn).await;
            }
            (EventKind::Released | EventKind::Abandoned, Some(conn)) if self.calls.contains_key(&conn) => {
                self.calls.remove(&conn);
                pool.on_call_end(self.i);
                shared.stats.agent_call(-1);
            }
            (EventKind::AgentReady, _) => pool.set_ready(self.i, true),
            (EventKind::AgentNotReady, _) => {
                pool.set_ready(self.i, false);
                if needs_set_ready(&ev) {
                    shared.stats.count(Count::ReadyAgain);
                    self.send(req(RequestKind::AgentSetReady, &self.dn.clone()), Pending::Plain).await;
                }
            }
            (EventKind::AgentLogout, _) => {
                tracing::warn!(dn = %self.dn, "agent logged out by the server");
                pool.set_ready(self.i, false);
            }
            _ => {}
        }
    }

    async fn on_established(&mut self, conn: ConnId) {
        let shared = self.shared.clone();
        match shared.pool.take_handoff(conn, self.i) {
            Some(Handoff::Conference) => {
                // Joined by a single-step conference: leave again, so the call ends as usual.
                let mut r = req(RequestKind::ReleaseCall, &self.dn.clone());
                r.attrs.conn_id = Some(conn);
                self.send(r, Pending::Plain).await;
            }
            Some(Handoff::Transfer) => {} // keep the caller until it hangs up
            None => {
                let s = &shared.script;
                for n in 1..=s.updates {
                    self.at(s.interval * n, Action::Update { conn, n });
                }
                let how = s.handoff_of_next_call();
                if let Some(how) = how {
                    self.at(s.interval * (s.updates + 1), Action::HandOff { conn, how });
                }
            }
        }
    }

    async fn act(&mut self, action: Action) {
        let shared = self.shared.clone();
        match action {
            Action::Update { conn, n } if self.calls.get(&conn) == Some(&true) => {
                let mut r = req(RequestKind::UpdateUserData, &self.dn.clone());
                r.attrs.conn_id = Some(conn);
                r.attrs.user_data =
                    Some(KvList::new().with("LoadUpdate", KvValue::Int(n as i64)).with("LoadAgent", self.dn.as_str()));
                self.send(r, Pending::Plain).await;
            }
            Action::HandOff { conn, how } if self.calls.get(&conn) == Some(&true) => {
                let Some(to) = shared.pool.take(Some(self.i), conn) else {
                    shared.stats.count(Count::HandoffSkipped);
                    return;
                };
                shared.pool.hand_off(conn, to, how);
                let (kind, count) = match how {
                    Handoff::Transfer => (RequestKind::SingleStepTransfer, Count::Transfer),
                    Handoff::Conference => (RequestKind::SingleStepConference, Count::Conference),
                };
                shared.stats.count(count);
                let mut r = req(kind, &self.dn.clone());
                r.attrs.conn_id = Some(conn);
                r.attrs.other_dn = Some(shared.pool.dn(to));
                self.send(r, Pending::HandOff { conn }).await;
            }
            _ => {} // the call ended first
        }
    }

    /// TAgentLogout, waiting for its answer (the end of a run).
    pub async fn log_out(self) {
        let _ = self.client.request(req(RequestKind::AgentLogout, &self.dn)).await;
    }
}

/// Whether the desktop ends this NotReady itself: untimed ACW (the server's timer will not), or a
/// NotReady the agent did not ask for (e.g. no-answer-action). A timed ACW and the legal guard
/// (work mode AutoIn) end by themselves.
fn needs_set_ready(ev: &Event) -> bool {
    match ev.attrs.agent_work_mode {
        Some(AgentWorkMode::AfterCallWork) => {
            let wrap = ev.attrs.extensions.as_ref().and_then(|e| e.get("WrapUpTime").cloned());
            match wrap {
                Some(KvValue::Int(n)) => n <= 0,
                Some(KvValue::Str(s)) => s.trim().parse::<i64>().map_or(true, |n| n <= 0),
                _ => true,
            }
        }
        Some(AgentWorkMode::AutoIn) => false,
        _ => ev.attrs.reference_id.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picked_calls_are_the_ratio_spread_evenly() {
        let n = (0..1000).filter(|k| picked(*k, 0.1)).count();
        assert_eq!(n, 100);
        assert_eq!((0..10).filter(|k| picked(*k, 0.5)).collect::<Vec<_>>(), vec![1, 3, 5, 7, 9]);
        assert!(!(0..100).any(|k| picked(k, 0.0)));
        assert!((0..100).all(|k| picked(k, 1.0)));
    }

    fn not_ready(mode: AgentWorkMode, wrap: Option<KvValue>, reference: Option<u32>) -> Event {
        let mut ev = Event::new(EventKind::AgentNotReady);
        ev.attrs.agent_work_mode = Some(mode);
        ev.attrs.reference_id = reference;
        ev.attrs.extensions = wrap.map(|w| KvList::new().with("WrapUpTime", w));
        ev
    }

    #[test]
    fn untimed_acw_and_unexpected_not_ready_are_ended_by_the_desktop() {
        use AgentWorkMode::*;
        assert!(needs_set_ready(&not_ready(AfterCallWork, Some(KvValue::Str("untimed".into())), None)));
        assert!(needs_set_ready(&not_ready(AfterCallWork, None, None)));
        assert!(!needs_set_ready(&not_ready(AfterCallWork, Some(KvValue::Int(5)), None)), "timed: the server ends it");
        assert!(!needs_set_ready(&not_ready(AfterCallWork, Some(KvValue::Str("5".into())), None)));
        assert!(!needs_set_ready(&not_ready(AutoIn, None, None)), "legal guard");
        assert!(needs_set_ready(&not_ready(AuxWork, None, None)), "e.g. no-answer-action = notready");
        assert!(!needs_set_ready(&not_ready(AuxWork, None, Some(3))), "one the desktop asked for");
    }

    #[test]
    fn equal_transfer_and_conference_ratios_both_happen() {
        let s = CallScript::new(1, Duration::from_secs(1), 0.2, 0.2);
        // Calls 4 and 9 are picked for both: the second conference goes to call 10.
        let kinds: Vec<_> = (0..11).map(|_| s.handoff_of_next_call()).collect();
        let count = |h| kinds.iter().filter(|k| **k == Some(h)).count();
        assert_eq!((count(Handoff::Transfer), count(Handoff::Conference)), (2, 2), "{kinds:?}");
    }

    #[test]
    fn updates_and_the_hand_off_fit_in_the_hold_time() {
        let s = CallScript::new(100, Duration::from_secs(200), 0.0, 0.0);
        assert!(s.interval * (s.updates + 1) < Duration::from_secs(200));
        let s = CallScript::new(0, Duration::from_secs(2), 0.0, 0.0);
        assert_eq!(s.interval, Duration::from_secs(1));
    }
}
