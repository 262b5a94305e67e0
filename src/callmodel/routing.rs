//! Routing Points (issue 5; guide: "Devices for T-Server", "Alternate Routing", "No-Answer
//! Supervision"). A call reaching a Routing Point or External Routing Point waits there: the DN's
//! clients get EventQueued and EventRouteRequest. A routing client answers with TRouteCall
//! (Unknown / Default: to a destination; Reject / CallDisconnect: the call ends), or applies
//! treatments (`treatment.rs`) meanwhile. Without a routing client, or without an instruction
//! within `router-timeout`, the call goes to `default-dn`, at most `default-redirect-limit` times.
//! Delivery supervision: a destination that does not accept the call within `no-answer-timeout`
//! (the TRouteCall extension wins; 0 is ignored) is released, EventError TERR_DN_NO_ANSWER goes to
//! the Routing Point and the call returns there to be routed again. Emulated ringing is not
//! delivery: only the destination answering is.

use super::events::EventExt;
use super::io::{Output, TimerRequest};
use super::types::{uri_key, ClientRef, Party, PartyState, Stage};
use super::{CallError, CallTable};
use crate::mltp::Mltp;
use crate::model::{CallState, ConnId, DnName, DnRole, DnType, ErrorCode, RouteType};
use crate::tlib::{Event, EventKind, Request, RequestKind as K};
use serde::{Deserialize, Serialize};

/// The routing options of one Routing Point: its own values over the Application's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingOptions {
    pub default_dn: Option<DnName>,
    /// 0: wait for the routing client forever.
    pub router_timeout_ms: u64,
    /// 0: no delivery supervision.
    pub no_answer_timeout_ms: u64,
    /// Automatic redirections to default-dn allowed per call (`default-redirect-limit`).
    pub redirect_limit: u32,
}

impl Default for RoutingOptions {
    fn default() -> Self {
        RoutingOptions { default_dn: None, router_timeout_ms: 10_000, no_answer_timeout_ms: 0, redirect_limit: 4 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimerKind {
    /// router-timeout: no routing instruction yet.
    Router,
    /// no-answer-timeout: the destination has not accepted the call.
    NoAnswer,
    /// A treatment's TOTAL_TIMEOUT (IM digit collection).
    Treatment,
}

/// A timer of one call; a newer timer of the call makes older ones stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallTimer {
    pub conn: ConnId,
    pub kind: TimerKind,
    pub generation: u64,
}

/// Where a call stands with its Routing Point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    pub rp: DnName,
    /// Waiting at the Routing Point for an instruction.
    pub queued: bool,
    /// Automatic redirections to default-dn done (the call returning to the Routing Point is not
    /// one).
    pub redirects: u32,
    pub options: RoutingOptions,
    /// The one armed timer: (kind, generation, deadline in ms).
    pub timer: Option<(TimerKind, u64, u64)>,
    pub generation: u64,
    /// The destination under delivery supervision (URI key) and its no-answer timeout.
    pub delivering: Option<(String, u64)>,
    /// The destination being redirected to (between REDIRECT_CALL and the Routing Point leaving).
    pub target: Option<String>,
    /// IM treatment in progress and the transcript so far (`treatment.rs`).
    #[serde(default)]
    pub treatment: Option<super::treatment::Treatment>,
    #[serde(default)]
    pub transcript: Vec<String>,
    /// `pass-transcript-to-agent` for the destination of the current route.
    #[serde(default)]
    pub pass_transcript: bool,
}

pub(super) fn is_routing_point(t: Option<DnType>) -> bool {
    matches!(t, Some(DnType::RoutingPoint | DnType::ExternalRoutingPoint))
}

impl CallTable {
    /// Timers still armed (a rebuilt actor re-arms them): the timer and its deadline.
    pub fn armed_timers(&self) -> Vec<(CallTimer, u64)> {
        let armed = self.calls.values().filter_map(|c| {
            let r = c.routing.as_ref()?;
            let (kind, generation, deadline) = r.timer?;
            Some((CallTimer { conn: c.conn_id, kind, generation }, deadline))
        });
        armed.collect()
    }

    pub(super) fn arm(&mut self, c: ConnId, kind: TimerKind, after_ms: u64, out: &mut Output) {
        let now = self.now;
        let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) else { return };
        r.generation += 1;
        r.timer = Some((kind, r.generation, now + after_ms));
        let timer = CallTimer { conn: c, kind, generation: r.generation };
        out.timers.push(TimerRequest { timer, after_ms });
    }

    pub(super) fn disarm(&mut self, c: ConnId, kind: TimerKind) {
        if let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) {
            if r.timer.is_some_and(|(k, _, _)| k == kind) {
                r.timer = None;
            }
        }
    }

    /// A Routing Point party joined call `c`: the call waits there.
    pub(super) fn rp_arrived(&mut self, c: ConnId, party: Party, out: &mut Output) {
        let rp = party.dn.clone().expect("a Routing Point is a DN");
        let options = self.directory.routing_options(&rp).unwrap_or_else(|| self.options.routing.clone());
        let call = self.call_mut(c).expect("live call");
        call.parties.push(party);
        let r = call.routing.get_or_insert_with(|| Routing {
            rp: rp.clone(),
            queued: true,
            redirects: 0,
            options: options.clone(),
            timer: None,
            generation: 0,
            delivering: None,
            target: None,
            treatment: None,
            transcript: Vec::new(),
            pass_transcript: false,
        });
        r.rp = rp.clone();
        r.options = options.clone();
        r.queued = true;
        r.delivering = None;
        r.target = None;
        let call = &self.calls[&c];
        let p = call.party_of_dn(&rp).expect("just added");
        for kind in [EventKind::Queued, EventKind::RouteRequest] {
            let mut ev = call.event(kind, p);
            ev.attrs.this_queue = Some(rp.clone());
            out.deliver(&rp, ev);
        }
        if !self.directory.routing_clients(&rp) {
            return self.default_route(c, "no routing client is registered", out);
        }
        if options.router_timeout_ms > 0 {
            self.arm(c, TimerKind::Router, options.router_timeout_ms, out);
        }
    }

    /// Alternate routing: the call goes to `default-dn` unless none is configured or the
    /// redirection limit is reached (then it waits at the Routing Point).
    pub(super) fn default_route(&mut self, c: ConnId, _why: &str, out: &mut Output) {
        let Some(r) = self.calls.get(&c).and_then(|x| x.routing.clone()) else { return };
        let Some(dn) = r.options.default_dn.clone() else {
            return;
        };
        if !self.may_redirect(c) {
            return;
        }
        self.redirect(c, dn.as_str(), RouteType::Default, r.options.no_answer_timeout_ms, None, None, out);
    }

    /// Counts an automatic redirection; false once `default-redirect-limit` is reached.
    fn may_redirect(&mut self, c: ConnId) -> bool {
        let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) else { return false };
        if r.redirects >= r.options.redirect_limit {
            return false; // a redirection loop is stopped here; the call waits at the Routing Point
        }
        r.redirects += 1;
        true
    }

    /// REDIRECT_CALL to `to`; with `home`, it is the step of the TRouteCall pending on the call,
    /// whose Extensions (`calling-method`, `CPNDigits`) choose the calling method.
    #[allow(clippy::too_many_arguments)]
    fn redirect(
        &mut self,
        c: ConnId,
        to: &str,
        rt: RouteType,
        no_answer: u64,
        home: Option<ConnId>,
        extensions: Option<&crate::model::KvList>,
        out: &mut Output,
    ) {
        self.disarm(c, TimerKind::Router);
        let (route, call) = self.switch_of(c);
        // A new routing instruction cancels the treatment in progress: the music stops before the
        // call leaves the Routing Point (its EventTreatmentEnd follows, COMPLETION_STATUS cancelled).
        let r = self.calls.get(&c).and_then(|x| x.routing.as_ref());
        if r.and_then(|r| r.treatment.as_ref()).is_some_and(|t| !t.im) {
            self.send(c, c, route.clone(), Mltp::StopTreatment { call }, false, out);
        }
        if let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) {
            r.target = Some(uri_key(to));
            r.delivering = (no_answer > 0).then(|| (uri_key(to), no_answer));
        }
        let dial = match &self.calls[&c].routing {
            Some(r) => self.dial_method(&r.rp, to, extensions),
            None => super::b2b::Dial { to: to.to_string(), calling_method: None, cpn: None },
        };
        if dial.b2b() {
            if let Some(x) = self.call_mut(c) {
                x.b2b = Some(to.to_string());
            }
        }
        let msg = Mltp::RedirectCall {
            call,
            to: dial.to,
            route_type: Some(rt),
            calling_method: dial.calling_method,
            cpn: dial.cpn,
        };
        self.send(home.unwrap_or(c), c, route, msg, home.is_some(), out);
    }

    /// TRouteCall from a client of the Routing Point the call waits on.
    pub(super) fn route_call(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let rp = req.attrs.this_dn.clone().ok_or(CallError::InvalidAttribute("ThisDN"))?;
        let conn = req.attrs.conn_id.ok_or(CallError::InvalidAttribute("ConnID"))?;
        let call = self.calls.get(&conn).ok_or(CallError::UnknownCall(conn))?;
        if call.is_locked() {
            return Err(CallError::OperationInProgress(conn));
        }
        let queued = call.routing.as_ref().is_some_and(|r| r.queued && r.rp == rp);
        if !queued || call.party_of_dn(&rp).is_none() {
            return Err(CallError::NotOnCall { party: rp.to_string(), conn });
        }
        let rt = req.attrs.route_type.unwrap_or(RouteType::Default);
        let ext = req.attrs.extensions.as_ref();
        let ext_secs =
            |k: &str| ext.and_then(|e| e.get_str(k).map(str::to_string).or(e.get_int(k).map(|i| i.to_string())));
        // The extension wins over the option; zero is ignored (guide: "No-Answer Supervision").
        let no_answer = ["no-answer-timeout", "NO_ANSWER_TIMEOUT"]
            .iter()
            .find_map(|k| ext_secs(k))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map(|s| s * 1000)
            .unwrap_or(self.calls[&conn].routing.as_ref().map_or(0, |r| r.options.no_answer_timeout_ms));
        match rt {
            RouteType::Reject | RouteType::CallDisconnect => {
                let origin = self.calls[&conn].parties.iter().find(|p| p.role == DnRole::Origination).cloned();
                let party = origin.map(|p| p.uri).unwrap_or_else(|| self.calls[&conn].ani.clone());
                self.start_op(conn, client, req, Stage::Response);
                self.disarm(conn, TimerKind::Router);
                let (route, call) = self.switch_of(conn);
                self.send(conn, conn, route, Mltp::ReleaseCall { call, party }, true, out);
            }
            _ => {
                let to = super::requests::destination(req, &rp)?;
                self.check_route_call(conn, &rp, &to)?;
                let pass =
                    ext.and_then(|e| e.get_str("pass-transcript-to-agent")).map(|v| v.eq_ignore_ascii_case("true"));
                let pass = pass.unwrap_or(self.options.pass_transcript);
                if let Some(r) = self.call_mut(conn).and_then(|x| x.routing.as_mut()) {
                    r.pass_transcript = pass;
                }
                self.start_op(conn, client, req, Stage::Response).target = Some(uri_key(&to));
                let ext = req.attrs.extensions.clone();
                self.redirect(conn, &to, rt, no_answer, Some(conn), ext.as_ref(), out);
            }
        }
        Ok(())
    }

    /// The Connector accepted the TRouteCall: EventRouteUsed answers it.
    pub(super) fn route_used(&mut self, home: ConnId, out: &mut Output) {
        let Some(op) = self.op(home).cloned().filter(|o| o.kind == K::RouteCall && !o.answered) else { return };
        let call = &self.calls[&home];
        let stand_in = Party::for_dn(&op.requester);
        let p = call.party_of_dn(&op.requester).unwrap_or(&stand_in);
        let mut ev = call.event(EventKind::RouteUsed, p).reference(Some(op.reference_id));
        ev.attrs.this_queue = Some(op.requester.clone());
        if let Some(t) = &op.target {
            ev = ev.other(DnName::new(t), DnRole::Destination);
        }
        out.deliver(&op.requester, ev);
        let deadline = call.routing.as_ref().and_then(|r| r.delivering.clone());
        self.take_answer(home);
        self.set_stage(home, Stage::Done);
        if op.target.is_none() {
            return;
        }
        if let Some((_, ms)) = deadline {
            self.arm(home, TimerKind::NoAnswer, ms, out);
        }
    }

    /// The Routing Point left the call: redirected (EventDiverted), or the call ended while it
    /// waited (EventAbandoned).
    pub(super) fn rp_left(&mut self, c: ConnId, party: &Party, cause: &str, out: &mut Output) {
        // The call left as the router asked: EventRouteUsed first, then EventDiverted (or
        // EventReleased for RouteType Reject / CallDisconnect).
        let home = self.op_home(c).filter(|h| self.op(*h).is_some_and(|o| o.kind == K::RouteCall));
        if let Some(h) = home {
            self.route_used(h, out);
        }
        let call = self.call_mut(c).expect("live call");
        call.remove_party(&party.uri);
        let Some(r) = call.routing.as_mut() else { return };
        // Routed to another Routing Point, which already holds the call: only the event.
        if party.dn.as_ref() != Some(&r.rp) {
            let next = r.rp.clone();
            let (Some(dn), call) = (party.dn.clone(), &self.calls[&c]) else { return };
            let mut ev = call.event(EventKind::Diverted, party).third(next, DnRole::Destination);
            ev.attrs.this_queue = Some(dn.clone());
            return out.deliver(&dn, ev);
        }
        let was_queued = std::mem::replace(&mut r.queued, false);
        let target = r.target.clone();
        if r.timer.is_some_and(|(k, _, _)| matches!(k, TimerKind::Router | TimerKind::Treatment)) {
            r.timer = None;
        }
        r.treatment = None;
        let Some(dn) = party.dn.clone() else { return };
        let call = &self.calls[&c];
        let redirected = cause == "redirected" || target.is_some();
        let mut ev = if redirected {
            let ev = call.event(EventKind::Diverted, party);
            match &target {
                Some(t) => ev.third(self.name_of(t), DnRole::Destination),
                None => ev,
            }
        } else if was_queued && home.is_none() {
            call.event(EventKind::Abandoned, party).state(CallState::Abandoned)
        } else {
            call.event(EventKind::Released, party)
        };
        ev.attrs.this_queue = Some(dn.clone());
        out.deliver(&dn, ev);
    }

    fn name_of(&self, uri: &str) -> DnName {
        self.directory.lookup(uri).map_or_else(|| DnName::new(uri), |i| i.dn)
    }

    /// A party answered on call `c`: if it is the routing destination, the call is delivered.
    pub(super) fn route_delivered(&mut self, c: ConnId, uri: &str) -> bool {
        // The routed-to party may have been replaced by the one who answers (a forwarded call, a
        // B2BUA call to a Tel URI): a party answering once the target left is the delivery too.
        let replaced = self
            .calls
            .get(&c)
            .is_some_and(|x| x.routing.as_ref().and_then(|r| r.target.as_ref()).is_some_and(|t| x.party(t).is_none()));
        let Some(r) = self.call_mut(c).and_then(|x| x.routing.as_mut()) else { return false };
        let ours = r.delivering.as_ref().is_some_and(|(d, _)| *d == uri_key(uri))
            || r.target.as_deref() == Some(&uri_key(uri));
        if ours || (replaced && !r.queued) {
            r.delivering = None;
            r.target = None;
            if r.timer.is_some_and(|(k, _, _)| k == TimerKind::NoAnswer) {
                r.timer = None;
            }
            return true;
        }
        false
    }

    /// The routing destination left before accepting: the call goes back to its Routing Point.
    pub(super) fn route_failed(&mut self, c: ConnId, uri: &str, out: &mut Output) -> bool {
        let Some(r) = self.calls.get(&c).and_then(|x| x.routing.clone()) else { return false };
        let ours = r.delivering.as_ref().is_some_and(|(d, _)| *d == uri_key(uri))
            || r.target.as_deref() == Some(&uri_key(uri));
        if !ours || r.queued {
            return false;
        }
        self.reroute(c, out);
        true
    }

    fn reroute(&mut self, c: ConnId, out: &mut Output) {
        let Some(r) = self.calls.get(&c).and_then(|x| x.routing.clone()) else { return };
        if let Some(x) = self.call_mut(c).and_then(|x| x.routing.as_mut()) {
            x.delivering = None;
            x.target = None;
            x.timer = None;
        }
        // Back to the Routing Point is not counted: only redirections away from it are.
        let (route, call) = self.switch_of(c);
        let msg = Mltp::RedirectCall { call, to: r.rp.to_string(), route_type: None, calling_method: None, cpn: None };
        self.send(c, c, route, msg, false, out);
    }

    /// A timer fired.
    pub(super) fn on_timer(&mut self, t: super::routing::CallTimer, out: &mut Output) {
        let Some(r) = self.calls.get(&t.conn).and_then(|c| c.routing.clone()) else { return };
        if r.timer.map(|(k, g, _)| (k, g)) != Some((t.kind, t.generation)) {
            return; // stale
        }
        if let Some(x) = self.call_mut(t.conn).and_then(|x| x.routing.as_mut()) {
            x.timer = None;
        }
        match t.kind {
            TimerKind::Router if r.queued => self.default_route(t.conn, "router-timeout expired", out),
            TimerKind::NoAnswer => self.no_answer(t.conn, &r, out),
            TimerKind::Treatment => self.treatment_timeout(t.conn, out),
            TimerKind::Router => {}
        }
    }

    /// no-answer-timeout: EventError TERR_DN_NO_ANSWER to the Routing Point, the destination is
    /// released and the call goes back to the Routing Point.
    pub(super) fn no_answer(&mut self, c: ConnId, r: &Routing, out: &mut Output) {
        let Some((dest, _)) = &r.delivering else { return };
        let call = &self.calls[&c];
        let Some(p) = call.party(dest).filter(|p| p.state == PartyState::Alerting).cloned() else { return };
        let mut ev = Event::error(0, ErrorCode::DnNoAnswer, format!("{} did not answer in time", p.uri));
        ev.attrs.reference_id = None;
        ev.attrs.this_dn = Some(r.rp.clone());
        ev.attrs.other_dn = Some(p.name());
        ev.attrs.conn_id = Some(c);
        ev.attrs.extensions = call.extensions();
        out.deliver(&r.rp, ev);
        self.reroute(c, out);
        let (route, call) = self.switch_of(c);
        self.send(c, c, route, Mltp::ReleaseCall { call, party: p.uri.clone() }, false, out);
    }

    /// The last routing client left `rp`: calls waiting there go to default-dn.
    pub(super) fn routers_gone(&mut self, rp: &DnName, out: &mut Output) {
        let waiting: Vec<ConnId> = self
            .calls
            .values()
            .filter(|c| c.routing.as_ref().is_some_and(|r| r.queued && &r.rp == rp))
            .map(|c| c.conn_id)
            .collect();
        for c in waiting {
            self.default_route(c, "the last routing client left", out);
        }
    }
}
