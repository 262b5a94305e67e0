//! The routing decisions, as a pure state machine: T-Library events in (with the time in
//! milliseconds), requests out. On EventRouteRequest the call goes to the longest-idle available
//! agent (reserved at once, so two calls never race for one agent) or waits in its Routing
//! Point's queue with a treatment (music on voice calls, an IM prompt on IM calls); whenever an
//! agent becomes available the oldest waiting call is routed. A call that comes back (EventError
//! 232 TERR_DN_NO_ANSWER, a refusal) keeps its place and its agent is paused for
//! `no-answer-pause`. Requests carry their own ReferenceIDs so their answers can be matched.

use super::pool::{AgentPool, AgentState};
use super::queue::{Calls, Stage};
use super::{RouterSettings, RouterView};
use crate::config::RouterTreatment;
use crate::model::{AgentStatus, ConnId, DnName, DnServiceState, ErrorCode, KvList, MediaType, RouteType};
use crate::model::{TreatmentType, TreatmentType as T};
use crate::tlib::{Attributes, Event, EventKind as E, Request, RequestKind};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// ReferenceIDs of the router's own requests start here, far above the few the client library
/// uses for the handshake and registrations on the same connection.
pub const FIRST_REFERENCE_ID: u32 = 1 << 30;

/// How long a routed call is remembered for a possible return; once its agent released it, this
/// much longer only.
const ROUTED_LINGER_MS: u64 = 15 * 60 * 1000;
const RELEASED_LINGER_MS: u64 = 5_000;

/// What the router has done since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub route_requests: u64,
    /// TRouteCall sent.
    pub routed: u64,
    /// Routed calls established at their agent.
    pub delivered: u64,
    pub treatments: u64,
    /// Callers who hung up while waiting.
    pub abandoned: u64,
    /// Routed calls that came back (TERR_DN_NO_ANSWER or refused by the agent).
    pub returned: u64,
    pub route_errors: u64,
    /// Waiting calls that left the Routing Point without the router (router-timeout, another router).
    pub left: u64,
}

#[derive(Clone, Debug)]
enum Pending {
    Route { conn: ConnId, agent: DnName },
    Treat { conn: ConnId },
}

#[derive(Clone, Debug)]
pub struct Router {
    settings: RouterSettings,
    rps: HashSet<DnName>,
    pool: AgentPool,
    calls: Calls,
    pending: HashMap<u32, Pending>,
    next_reference: u32,
    counters: Counters,
}

impl Router {
    pub fn new(settings: RouterSettings, now: u64) -> Router {
        Router {
            rps: settings.routing_points.iter().cloned().collect(),
            pool: AgentPool::new(&settings.agents, now),
            calls: Calls::default(),
            pending: HashMap::new(),
            next_reference: FIRST_REFERENCE_ID,
            counters: Counters::default(),
            settings,
        }
    }

    /// The DNs to register: the Routing Points, then the agents.
    pub fn registrations(&self) -> Vec<DnName> {
        self.settings.routing_points.iter().chain(&self.settings.agents).cloned().collect()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Available agents and waiting calls (cheap: for status lines and metrics).
    pub fn load(&self) -> (usize, usize) {
        (self.pool.available_count(), self.calls.waiting_count())
    }

    pub fn view(&self, now: u64) -> RouterView {
        RouterView {
            target_group: self.settings.target_group.clone(),
            routing_points: self.settings.routing_points.clone(),
            agents: self.pool.view(now),
            waiting: self.calls.view(),
            counters: self.counters.clone(),
        }
    }

    /// When `on_tick` has something to do (a pause or reservation ends, the oldest call may be
    /// routed again).
    pub fn next_wakeup(&self, now: u64) -> Option<u64> {
        let head = match self.calls.oldest(now) {
            Some(Err(until)) => Some(until),
            _ => None,
        };
        [self.pool.next_deadline(), head].into_iter().flatten().min()
    }

    pub fn on_tick(&mut self, now: u64) -> Vec<Request> {
        self.pool.expire(now);
        self.calls.gc(now);
        let mut out = Vec::new();
        self.dispatch(now, &mut out);
        out
    }

    /// One event received on the router's connection (EventRegistered answers included).
    pub fn on_event(&mut self, now: u64, ev: &Event) -> Vec<Request> {
        let mut out = Vec::new();
        self.pool.expire(now);
        self.calls.gc(now);
        let answered = ev.attrs.reference_id.and_then(|r| self.pending.remove(&r));
        let mut fresh = None;
        match answered {
            Some(p) => self.answer(now, p, ev),
            None => match ev.attrs.this_dn.as_ref() {
                Some(dn) if self.rps.contains(dn) => fresh = self.on_routing_point(now, dn, ev),
                Some(dn) if self.pool.contains(dn) => self.on_agent(now, &dn.clone(), ev),
                _ => {}
            },
        }
        self.dispatch(now, &mut out);
        if let Some(conn) = fresh.filter(|c| self.calls.get(*c).is_some_and(|x| x.stage == Stage::Waiting)) {
            self.treat(now, conn, &mut out);
        }
        out
    }

    /// The event answering one of the router's requests.
    fn answer(&mut self, now: u64, pending: Pending, ev: &Event) {
        match (pending, ev.kind) {
            (Pending::Route { conn, agent }, E::RouteUsed) => {
                if self.calls.get(conn).is_some_and(|c| c.stage == Stage::Routing { agent: agent.clone() }) {
                    self.calls.set_stage(conn, Stage::Routed { agent }, now, ROUTED_LINGER_MS);
                }
            }
            (Pending::Route { conn, agent }, _) => {
                self.counters.route_errors += 1;
                self.pool.release(conn, now);
                let code = ev.attrs.error_code;
                tracing::info!(%conn, %agent, code = code.map(|c| c.code()), "route refused");
                match code {
                    // The call is gone or no longer waits here: nothing to route.
                    Some(
                        ErrorCode::InvConnId
                        | ErrorCode::PartyNotOnCall
                        | ErrorCode::CallDisconnected
                        | ErrorCode::NoCall,
                    ) => {
                        self.calls.remove(conn);
                    }
                    // The call is busy with another request (a treatment starting): try again soon.
                    Some(ErrorCode::OperationInProgress) => self.requeue(now, conn, now + self.settings.retry_ms),
                    // The destination is the problem: give the call to someone else.
                    _ => {
                        self.pool.pause(&agent, now + self.settings.no_answer_pause_ms, now);
                        self.requeue(now, conn, 0);
                    }
                }
            }
            (Pending::Treat { conn }, _) => {
                if let Some(c) = self.calls.get_mut(conn) {
                    c.treating_until = None;
                }
            }
        }
    }

    fn requeue(&mut self, now: u64, conn: ConnId, hold_until: u64) {
        let Some(c) = self.calls.get(conn).cloned() else { return };
        self.calls.enqueue(conn, &c.rp, c.im, now);
        if let Some(c) = self.calls.get_mut(conn) {
            c.hold_until = hold_until;
        }
    }

    /// Returns the ConnID of a call that just asked to be routed (it may need a treatment).
    fn on_routing_point(&mut self, now: u64, rp: &DnName, ev: &Event) -> Option<ConnId> {
        let conn = ev.attrs.conn_id?;
        match ev.kind {
            E::RouteRequest => {
                self.counters.route_requests += 1;
                if let Some(c) = self.calls.get(conn).cloned() {
                    match c.stage {
                        Stage::Routing { agent } | Stage::Routed { agent } => {
                            // Back without TERR_DN_NO_ANSWER: the agent refused or the route failed.
                            self.counters.returned += 1;
                            self.pool.release(conn, now);
                            self.pool.pause(&agent, now + self.settings.no_answer_pause_ms, now);
                        }
                        Stage::Waiting | Stage::Returning => {}
                    }
                    if let Some(c) = self.calls.get_mut(conn) {
                        // The music stopped when the call left; an IM prompt is not repeated.
                        c.treated &= c.im;
                        c.treating_until = None;
                    }
                }
                let im = ev.attrs.media_type == Some(MediaType::CHAT);
                self.calls.enqueue(conn, rp, im, now);
                return Some(conn);
            }
            E::Error if ev.attrs.error_code == Some(ErrorCode::DnNoAnswer) => {
                let c = self.calls.get(conn).cloned()?;
                if let Stage::Routing { agent } | Stage::Routed { agent } = c.stage {
                    tracing::info!(%conn, %agent, "routed call not answered; agent paused");
                    self.counters.returned += 1;
                    self.pool.release(conn, now);
                    self.pool.pause(&agent, now + self.settings.no_answer_pause_ms, now);
                    self.calls.set_stage(conn, Stage::Returning, now, 60_000);
                }
            }
            E::Diverted => match self.calls.get(conn).map(|c| c.stage.clone()) {
                Some(Stage::Waiting) => {
                    self.counters.left += 1;
                    self.calls.remove(conn);
                }
                Some(Stage::Routing { agent }) => {
                    self.calls.set_stage(conn, Stage::Routed { agent }, now, ROUTED_LINGER_MS)
                }
                _ => {}
            },
            E::Abandoned | E::Released => {
                if let Some(c) = self.calls.remove(conn) {
                    if matches!(c.stage, Stage::Waiting | Stage::Routing { .. }) {
                        self.counters.abandoned += 1;
                    }
                    self.pool.release(conn, now);
                }
            }
            _ => {}
        }
        None
    }

    fn on_agent(&mut self, now: u64, dn: &DnName, ev: &Event) {
        let a = &ev.attrs;
        match ev.kind {
            E::Registered => {
                let state = match a.agent_status {
                    Some(AgentStatus::Ready) => AgentState::Ready,
                    Some(AgentStatus::NotReady | AgentStatus::AfterCallWork) => AgentState::NotReady,
                    Some(AgentStatus::LoggedOut) | None => AgentState::LoggedOut,
                };
                self.pool.set_state(dn, state, now);
                let in_service = a.service_state != Some(DnServiceState::OutOfService);
                self.pool.set_in_service(dn, in_service, now);
            }
            E::AgentLogin => self.pool.set_state(dn, AgentState::NotReady, now),
            E::AgentReady => self.pool.set_state(dn, AgentState::Ready, now),
            E::AgentNotReady => self.pool.set_state(dn, AgentState::NotReady, now),
            E::AgentLogout => self.pool.set_state(dn, AgentState::LoggedOut, now),
            E::DNOutOfService => self.pool.set_in_service(dn, false, now),
            E::DNBackInService => self.pool.set_in_service(dn, true, now),
            E::Ringing | E::Dialing | E::Established | E::Held | E::Retrieved => {
                let Some(conn) = a.conn_id else { return };
                self.pool.call_started(dn, conn, now);
                let routed_here = self.calls.get(conn).is_some_and(
                    |c| matches!(&c.stage, Stage::Routing { agent } | Stage::Routed { agent } if agent == dn),
                );
                if routed_here && ev.kind == E::Established {
                    self.counters.delivered += 1;
                    self.calls.remove(conn);
                }
            }
            E::Released | E::Abandoned | E::Diverted => {
                let Some(conn) = a.conn_id else { return };
                self.pool.call_ended(dn, conn, now);
                self.calls.forget_after(conn, now + RELEASED_LINGER_MS);
            }
            E::PartyChanged => {
                if let (Some(from), Some(to)) = (a.previous_conn_id, a.conn_id) {
                    self.pool.call_renamed(dn, from, to);
                }
            }
            _ => {}
        }
    }

    /// Routes waiting calls, oldest first, to the longest-idle available agents.
    fn dispatch(&mut self, now: u64, out: &mut Vec<Request>) {
        while let Some(Ok(conn)) = self.calls.oldest(now) {
            let Some(agent) = self.pool.longest_idle().cloned() else { return };
            let rp = self.calls.get(conn).expect("queued calls are known").rp.clone();
            let reference_id = self.reference();
            let attrs = Attributes {
                reference_id: Some(reference_id),
                this_dn: Some(rp),
                conn_id: Some(conn),
                other_dn: Some(agent.clone()),
                route_type: Some(RouteType::Default),
                ..Default::default()
            };
            out.push(Request::with_attrs(RequestKind::RouteCall, attrs));
            self.pool.reserve(&agent, conn, now + self.settings.reservation_ms, now);
            self.calls.set_stage(conn, Stage::Routing { agent: agent.clone() }, now, 0);
            self.pending.insert(reference_id, Pending::Route { conn, agent });
            self.counters.routed += 1;
        }
    }

    /// The treatment of a call that has to wait, if the configuration gives one.
    fn treat(&mut self, now: u64, conn: ConnId, out: &mut Vec<Request>) {
        let Some(c) = self.calls.get(conn) else { return };
        if c.treated {
            return;
        }
        let (kind, parms): (TreatmentType, KvList) = if c.im {
            if self.settings.im_prompt.is_empty() {
                return;
            }
            let prompt = KvList::new().with("1", KvList::new().with("TEXT", self.settings.im_prompt.as_str()));
            (T::PlayAnnouncement, KvList::new().with("PROMPT", prompt))
        } else {
            if self.settings.treatment == RouterTreatment::None {
                return;
            }
            let parms = match &self.settings.music {
                Some(file) => KvList::new().with("MUSIC_DN", file.as_str()),
                None => KvList::new(),
            };
            (T::Music, parms)
        };
        let rp = c.rp.clone();
        let reference_id = self.reference();
        let attrs = Attributes {
            reference_id: Some(reference_id),
            this_dn: Some(rp),
            conn_id: Some(conn),
            treatment_type: Some(kind),
            treatment_parms: (!parms.is_empty()).then_some(parms),
            ..Default::default()
        };
        out.push(Request::with_attrs(RequestKind::ApplyTreatment, attrs));
        let c = self.calls.get_mut(conn).expect("checked above");
        c.treated = true;
        c.treating_until = Some(now + self.settings.reservation_ms);
        self.pending.insert(reference_id, Pending::Treat { conn });
        self.counters.treatments += 1;
    }

    fn reference(&mut self) -> u32 {
        let r = self.next_reference;
        self.next_reference = self.next_reference.checked_add(1).unwrap_or(FIRST_REFERENCE_ID);
        r
    }
}
