//! The [`CallTable`]: every call of the server, keyed by ConnID and by the Connector's call id,
//! with ConnID allocation, the bookkeeping of switch requests (correlation ids), the pending
//! operation of each call, and the one entry point [`CallTable::apply`]. Two-call operations
//! (complete transfer / conference, reconnect, alternate) see both calls here, so they stay pure.
//! No I/O, no clock, no actors: time comes in as `now_ms`.

use super::direct::DirectCallPolicy;
use super::io::{Effect, Input, Output, SwitchRoute};
use super::types::{Call, CallSnapshot, ClientRef, Directory, Party, PassThroughPolicy, PendingOp, Stage, SwitchCall};
use super::CallError;
use crate::mltp::Mltp;
use crate::model::{ConnId, ConnIdGenerator};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Options of the call model (from the Application's `[TServer]` options).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallModelOptions {
    /// `escalation-user-data = inherited`: a call escalating a conversation (same
    /// Conversation-ID, new ConnID) starts with the user data of the call it escalates.
    pub escalation_user_data_inherited: bool,
    /// Copy the main call's user data to a consultation call (GenEM's default behaviour).
    pub consult_user_data: bool,
    /// `allow-pass-through-calls` of the Application (a DN's own value, from
    /// [`super::Directory::pass_through`], takes precedence).
    #[serde(default)]
    pub allow_pass_through: PassThroughPolicy,
    /// `handle-direct-calls` / `handle-direct-calls-media` of the Application (a DN's own, from
    /// [`super::Directory::direct_calls`], takes precedence).
    #[serde(default)]
    pub direct_calls: DirectCallPolicy,
    /// Routing options of the Application (a Routing Point's own, from
    /// [`super::Directory::routing_options`], take precedence).
    #[serde(default)]
    pub routing: super::RoutingOptions,
    /// `pass-transcript-to-agent` of the Application (the TRouteCall extension wins).
    #[serde(default)]
    pub pass_transcript: bool,
    /// `monitor-internal-calls`, and `monitor-consult-calls` other than `none`.
    #[serde(default)]
    pub monitor_internal_calls: bool,
    #[serde(default = "no_consult_monitoring")]
    pub monitor_consult_calls: crate::config::MonitorConsultCalls,
    /// `im-reporting = disabled`: IM calls are not reported at all (guide: "IM Suppression").
    #[serde(default)]
    pub im_reporting_disabled: bool,
}

impl Default for CallModelOptions {
    fn default() -> Self {
        CallModelOptions {
            escalation_user_data_inherited: true,
            consult_user_data: true,
            allow_pass_through: PassThroughPolicy::All,
            direct_calls: DirectCallPolicy::default(),
            routing: super::RoutingOptions::default(),
            pass_transcript: true,
            monitor_internal_calls: false,
            monitor_consult_calls: crate::config::MonitorConsultCalls::None,
            im_reporting_disabled: false,
        }
    }
}

impl CallModelOptions {
    pub fn from_tserver(o: &crate::config::TServerOptions) -> Self {
        use crate::config::values::EscalationUserData;
        CallModelOptions {
            escalation_user_data_inherited: o.escalation_user_data == EscalationUserData::Inherited,
            allow_pass_through: o.allow_pass_through_calls.into(),
            direct_calls: DirectCallPolicy::new(o.handle_direct_calls, &o.handle_direct_calls_media),
            routing: super::RoutingOptions {
                default_dn: o.default_dn.clone(),
                router_timeout_ms: o.router_timeout.as_millis() as u64,
                no_answer_timeout_ms: o.no_answer_timeout.as_millis() as u64,
                redirect_limit: o.default_redirect_limit,
            },
            pass_transcript: o.pass_transcript_to_agent,
            monitor_internal_calls: o.monitor_internal_calls,
            monitor_consult_calls: o.monitor_consult_calls,
            im_reporting_disabled: o.im_reporting == crate::config::ImReporting::Disabled,
            ..CallModelOptions::default()
        }
    }
}

fn no_consult_monitoring() -> crate::config::MonitorConsultCalls {
    crate::config::MonitorConsultCalls::None
}

/// A switch request in flight: which operation (home call) sent it, which call it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corr {
    pub home: ConnId,
    pub call: ConnId,
    pub make_call: bool,
    pub responded: bool,
}

/// A versioned snapshot of the whole table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "version")]
pub enum TableSnapshot {
    V1 { calls: Vec<CallSnapshot>, corrs: Vec<(u64, Corr)>, next_corr: u64 },
}

/// Every call of the server.
pub struct CallTable {
    pub(super) directory: Arc<dyn Directory>,
    pub(super) conn_ids: Arc<ConnIdGenerator>,
    pub(super) options: CallModelOptions,
    /// Boxed: a family has one to three calls and a map node holds eleven values, so unboxed
    /// every family paid for eleven `Call`s (~9 KiB; 20,000 calls in progress: 150 MB less RSS).
    pub(super) calls: BTreeMap<ConnId, Box<Call>>,
    pub(super) by_switch: BTreeMap<SwitchCall, ConnId>,
    pub(super) corrs: BTreeMap<u64, Corr>,
    pub(super) next_corr: u64,
    /// Calls changed by the current input (CallChanged effects).
    pub(super) touched: BTreeSet<ConnId>,
    /// Configured DNs that left a call during the current input (pass-through check).
    pub(super) departed: Vec<(ConnId, crate::model::DnName)>,
    /// The time of the current input (timer deadlines).
    pub(super) now: u64,
    /// Requests answered during the current input: (client, ReferenceID, ThisDN).
    pub(super) answered: Vec<(ClientRef, u32, crate::model::DnName)>,
}

impl CallTable {
    pub fn new(directory: Arc<dyn Directory>, conn_ids: Arc<ConnIdGenerator>, options: CallModelOptions) -> Self {
        CallTable {
            directory,
            conn_ids,
            options,
            calls: BTreeMap::new(),
            by_switch: BTreeMap::new(),
            corrs: BTreeMap::new(),
            next_corr: 1,
            touched: BTreeSet::new(),
            departed: Vec::new(),
            answered: Vec::new(),
            now: 0,
        }
    }

    /// The one entry point: applies an input and returns what it produced. Pure and
    /// deterministic for a given directory and ConnID generator.
    pub fn apply(&mut self, input: Input, now_ms: u64) -> Output {
        let mut out = Output::default();
        self.now = now_ms;
        match input {
            Input::Request { client, request } => self.on_request(client, &request, now_ms, &mut out),
            Input::Switch { link, msg } => self.on_switch(&link, msg, now_ms, &mut out),
            Input::SwitchResponse { corr, link, result } => self.on_response(corr, &link, result, &mut out),
            Input::SwitchTimeout { corr } => self.on_timeout(corr, &mut out),
            Input::Timer(t) => self.on_timer(t, &mut out),
            Input::RoutersGone { rp } => self.routers_gone(&rp, &mut out),
            Input::Intrude { agent } => self.intrude(&agent, &mut out),
            Input::ReleaseParty { conn, dn } => self.release_unanswered(conn, &dn, &mut out),
        }
        self.sweep(&mut out);
        for (conn, dn) in std::mem::take(&mut self.departed) {
            self.guard_pass_through(conn, dn, &mut out);
        }
        let touched = std::mem::take(&mut self.touched);
        out.changed(touched, |c| self.calls.contains_key(&c));
        self.route_answers(&mut out);
        out
    }

    /// An answer that is an event of a DN other than the requester's also reaches the requester.
    fn route_answers(&mut self, out: &mut Output) {
        for (client, reference, requester) in std::mem::take(&mut self.answered) {
            for d in out.events.iter_mut().filter(|d| d.event.attrs.reference_id == Some(reference)) {
                if let super::io::Recipient::Dn(dn) = &d.to {
                    if *dn != requester {
                        d.to = super::io::Recipient::DnAndRequester(dn.clone(), client);
                    }
                }
            }
        }
    }

    pub fn call(&self, conn: ConnId) -> Option<&Call> {
        self.calls.get(&conn).map(|c| &**c)
    }

    pub fn calls(&self) -> impl DoubleEndedIterator<Item = &Call> {
        self.calls.values().map(|c| &**c)
    }

    pub fn call_snapshot(&self, conn: ConnId) -> Option<CallSnapshot> {
        self.calls.get(&conn).map(|c| CallSnapshot::V1(c.clone()))
    }

    pub fn snapshot(&self) -> TableSnapshot {
        TableSnapshot::V1 {
            calls: self.calls.values().map(|c| CallSnapshot::V1(c.clone())).collect(),
            corrs: self.corrs.iter().map(|(k, v)| (*k, v.clone())).collect(),
            next_corr: self.next_corr,
        }
    }

    /// Rebuilds a table; the ConnID generator resumes after the highest ConnID restored.
    pub fn restore(
        snapshot: TableSnapshot,
        directory: Arc<dyn Directory>,
        conn_ids: Arc<ConnIdGenerator>,
        options: CallModelOptions,
    ) -> Self {
        let mut t = CallTable::new(directory, conn_ids, options);
        let TableSnapshot::V1 { calls, corrs, next_corr } = snapshot;
        for c in calls {
            t.restore_call(c);
        }
        t.corrs = corrs.into_iter().collect();
        t.next_corr = next_corr.max(t.corrs.keys().max().map_or(1, |m| m + 1));
        t
    }

    /// Puts one call back (a Call actor rebuilt from its snapshot).
    pub fn restore_call(&mut self, snapshot: CallSnapshot) {
        let call = snapshot.into_call();
        self.conn_ids.resume_after(call.conn_id);
        if let Some(sw) = &call.switch {
            self.by_switch.insert(sw.clone(), call.conn_id);
        }
        self.calls.insert(call.conn_id, Box::new(call));
    }

    // ---- shared helpers for the sibling modules ----

    pub(super) fn touch(&mut self, conn: ConnId) {
        self.touched.insert(conn);
    }

    pub(super) fn call_mut(&mut self, conn: ConnId) -> Option<&mut Call> {
        self.touched.insert(conn);
        self.calls.get_mut(&conn).map(|c| &mut **c)
    }

    /// The call whose pending operation involves `conn` (itself, or the call locking it).
    pub(super) fn op_home(&self, conn: ConnId) -> Option<ConnId> {
        let c = self.calls.get(&conn)?;
        if c.op.is_some() {
            Some(conn)
        } else {
            c.locked_by.filter(|h| self.calls.get(h).is_some_and(|x| x.op.is_some()))
        }
    }

    pub(super) fn op(&self, home: ConnId) -> Option<&PendingOp> {
        self.calls.get(&home).and_then(|c| c.op.as_ref())
    }

    pub(super) fn op_mut(&mut self, home: ConnId) -> Option<&mut PendingOp> {
        self.touched.insert(home);
        self.calls.get_mut(&home).and_then(|c| c.op.as_mut())
    }

    /// The ReferenceID for the answering event of the operation at `home`, once: marks it
    /// answered. None when it was already answered.
    pub(super) fn take_answer(&mut self, home: ConnId) -> Option<u32> {
        let op = self.op_mut(home)?;
        if op.answered {
            return None;
        }
        op.answered = true;
        let (client, reference, requester) = (op.client, op.reference_id, op.requester.clone());
        self.answered.push((client, reference, requester));
        Some(reference)
    }

    /// Queues a switch request for the operation at `home` about call `about`; with `stage` it
    /// is the request whose effect the operation's stage waits for.
    pub(super) fn send(
        &mut self,
        home: ConnId,
        about: ConnId,
        route: SwitchRoute,
        msg: Mltp,
        stage: bool,
        out: &mut Output,
    ) -> u64 {
        let corr = self.next_corr;
        self.next_corr += 1;
        let make_call = matches!(msg, Mltp::MakeCall { .. });
        self.corrs.insert(corr, Corr { home, call: about, make_call, responded: false });
        if stage {
            if let Some(op) = self.op_mut(home) {
                op.stage_corr = Some(corr);
            }
        }
        out.switch.push(super::io::SwitchRequest { corr, route, msg });
        corr
    }

    /// Ends the operation at `home` with `err`: EventError to the requester unless it was
    /// answered already, then the operation is dropped.
    pub(super) fn fail_op(&mut self, home: ConnId, err: CallError, out: &mut Output) {
        let Some(call) = self.calls.get(&home) else { return };
        let Some(op) = &call.op else { return };
        if !op.answered {
            let ev = call.error_event(op, err.code(), err.to_string());
            out.deliver_to_client(op.client, ev);
        }
        if let Some(op) = self.op_mut(home) {
            op.answered = true;
        }
        self.finish_op(home, out);
    }

    /// Drops the operation at `home`: unlocks its partner, removes a call it was dialing that the
    /// Connector never reported, and releases parties stranded by an unfinished completion.
    pub(super) fn finish_op(&mut self, home: ConnId, out: &mut Output) {
        let Some(op) = self.call_mut(home).and_then(|c| c.op.take()) else { return };
        let dial_call = match op.kind {
            crate::tlib::RequestKind::MakeCall => Some(home),
            crate::tlib::RequestKind::InitiateTransfer | crate::tlib::RequestKind::InitiateConference => op.partner,
            _ => None,
        };
        if let Some(p) = op.partner {
            if let Some(c) = self.call_mut(p) {
                if c.locked_by == Some(home) {
                    c.locked_by = None;
                }
            }
        }
        if let Some(d) = dial_call.filter(|d| self.calls.get(d).is_some_and(|c| c.switch.is_none())) {
            self.end_call(d, out);
        }
        for party in op.moving {
            self.stranded_release(op.partner, &party, out);
        }
        // A consultation kept after the Connector deleted it (see `partner_ended`) ends now.
        if let Some(p) = op.partner.filter(|_| op.partner_gone) {
            if self.calls.get(&p).is_some_and(|c| c.switch.is_none()) {
                self.end_call(p, out);
            }
        }
        // A single-step transfer that did not complete: the transferring party did leave.
        if let (Some(party), Some(call)) = (op.released, self.calls.get(&home)) {
            if let Some(dn) = party.call_events_dn() {
                out.deliver(dn, call.event(crate::tlib::EventKind::Released, &party));
            }
        }
    }

    /// A party the Connector took out of the consultation but never reported in the main call
    /// (a Connector must report every moved party): released from the consultation if it is
    /// still there; once it ended, the DN learnt nothing more about it and nothing is sent.
    fn stranded_release(&mut self, partner: Option<ConnId>, party: &Party, out: &mut Output) {
        let Some(dn) = party.call_events_dn().cloned() else { return };
        if let Some(call) = partner.and_then(|p| self.calls.get(&p)) {
            out.deliver(&dn, call.event(crate::tlib::EventKind::Released, party));
        }
    }

    /// Removes an ended call: its partner forgets the link, its operation (if unanswered)
    /// fails with 237, and the actor is told (CallEnded).
    pub(super) fn end_call(&mut self, conn: ConnId, out: &mut Output) {
        if self.calls.get(&conn).is_some_and(|c| c.op.is_some()) {
            let answered = self.op(conn).is_some_and(|o| o.answered);
            if answered {
                self.finish_op(conn, out);
            } else {
                self.fail_op(conn, CallError::Disconnected, out);
            }
        }
        let Some(call) = self.calls.remove(&conn) else { return };
        if let Some(sw) = &call.switch {
            self.by_switch.remove(sw);
        }
        if let Some(l) = call.link {
            if let Some(other) = self.call_mut(l.other) {
                if other.link.map(|x| x.other) == Some(conn) {
                    other.link = None;
                }
            }
        }
        out.effects.push(Effect::CallEnded(conn));
    }

    /// Finishes operations that have nothing left to wait for.
    /// Only the calls this input touched can have an operation that just finished (every change
    /// of an operation goes through `op_mut` / `call_mut`, which mark the call touched): the cost
    /// of an input does not grow with the number of calls in the table.
    fn sweep(&mut self, out: &mut Output) {
        let done: Vec<ConnId> = self
            .touched
            .iter()
            .filter(|c| {
                self.calls.get(c).and_then(|c| c.op.as_ref()).is_some_and(|o| o.answered && o.stage == Stage::Done)
            })
            .copied()
            .collect();
        for home in done {
            self.finish_op(home, out);
        }
    }

    /// The client to answer for a request refused before any operation exists.
    pub(super) fn refuse(&self, client: ClientRef, request: &crate::tlib::Request, err: &CallError, out: &mut Output) {
        let mut ev = crate::tlib::Event::error_for(request, err.code(), Some(err.to_string()));
        if let Some(c) = request.attrs.conn_id.and_then(|c| self.calls.get(&c)) {
            ev.attrs.extensions = c.extensions();
        }
        out.deliver_to_client(client, ev);
    }
}

impl std::fmt::Debug for CallTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallTable").field("calls", &self.calls.len()).field("in_flight", &self.corrs.len()).finish()
    }
}
