//! The fast lane of a T-Library connection. A call request (TUpdateUserData, TRouteCall,
//! TAnswerCall, ...) that the ClientSession would only check and pass on to CallSup goes there
//! straight from the connection's reader: one actor hop less on the path of most requests a
//! contact center sends (every hop is a mailbox, a task wake-up and a turn in a worker's queue,
//! which is where the tail of request -> event goes on a busy server).
//!
//! The session stays the owner of the connection's state; the lane holds the part the reader must
//! see (opened, registered DNs) and takes a request only when the session's answer would have been
//! "forward it": anything else, errors included, goes through the session as before. Order is
//! kept: the reader uses the lane only while no request it gave the session is still unhandled,
//! so a request never overtakes an earlier one of the same connection (a TRegisterAddress and the
//! TUpdateUserData right behind it, say).

use crate::actors::call_sup::CallSupMsg;
use crate::actors::context::ServerContext;
use crate::actors::outbound::ClientHandle;
use crate::model::{DnName, ErrorCode};
use crate::tlib::{Event, Request, RequestKind};
use parking_lot::Mutex;
use ractor::MessagingErr;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Which part of the server handles a request: the session itself, the DN's actor, call
/// supervision, or the call model. The session's dispatch and the lane both use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Connection,
    Dn,
    Monitoring,
    Calls,
}

pub fn route(kind: RequestKind) -> Route {
    use RequestKind::*;
    match kind {
        OpenServer | OpenServerEx | CloseServer | SetInputMask | QueryServer | RegisterAddress | UnregisterAddress => {
            Route::Connection
        }
        QueryAddress | AgentLogin | AgentLogout | AgentSetReady | AgentSetNotReady => Route::Dn,
        MonitorNextCall | CancelMonitoring => Route::Monitoring,
        _ => Route::Calls,
    }
}

/// Enough of a request to answer it (ReferenceID, ThisDN, ConnID), kept before it is handed on, for
/// a cast that fails without giving the request back. Small on purpose: it is taken for every
/// request on the fast lane, and a whole `Request` is built from it only in that failure.
pub struct Answerable {
    pub kind: RequestKind,
    reference_id: Option<u32>,
    this_dn: Option<DnName>,
    conn_id: Option<crate::model::ConnId>,
}

impl Answerable {
    pub fn of(req: &Request) -> Self {
        let a = &req.attrs;
        Answerable { kind: req.kind, reference_id: a.reference_id, this_dn: a.this_dn.clone(), conn_id: a.conn_id }
    }

    pub fn request(self) -> Request {
        let mut req = Request::new(self.kind);
        (req.attrs.reference_id, req.attrs.this_dn, req.attrs.conn_id) =
            (self.reference_id, self.this_dn, self.conn_id);
        req
    }
}

#[derive(Default)]
pub struct Lane {
    opened: AtomicBool,
    /// Requests given to the session and not yet handled by it.
    in_flight: AtomicUsize,
    /// The DNs this connection registered (the session's record; the reader reads it).
    registered: Mutex<BTreeSet<DnName>>,
}

impl Lane {
    pub fn open(&self) {
        self.opened.store(true, Ordering::Release);
    }

    /// The handshake is done (the session's record; the lane opens with it).
    pub fn is_open(&self) -> bool {
        self.opened.load(Ordering::Acquire)
    }

    pub fn is_registered(&self, dn: &DnName) -> bool {
        self.registered.lock().contains(dn)
    }

    pub fn register(&self, dn: DnName) {
        self.registered.lock().insert(dn);
    }

    pub fn unregister(&self, dn: &DnName) {
        self.registered.lock().remove(dn);
    }

    pub fn registered(&self) -> Vec<DnName> {
        self.registered.lock().iter().cloned().collect()
    }

    /// The reader hands a request to the session.
    pub fn to_session(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// The session has handled one (whatever it sent on is in the next actor's mailbox).
    pub fn handled(&self) {
        self.in_flight.fetch_sub(1, Ordering::Release);
    }

    /// Whether the session would only check this request and pass it on to CallSup, with nothing
    /// of this connection's before it still in the session.
    fn takes(&self, req: &Request) -> bool {
        self.is_open()
            && self.in_flight.load(Ordering::Acquire) == 0
            && route(req.kind) == Route::Calls
            && req.check_supported().is_ok()
            // Registered implies configured: the session registers only configured DNs.
            && req.attrs.this_dn.as_ref().is_none_or(|dn| self.is_registered(dn))
    }

    /// Casts a call request to CallSup when the session would have done only that; gives the
    /// request back otherwise (the session then handles it, and answers any error).
    pub fn try_forward(&self, ctx: &ServerContext, client: &ClientHandle, req: Request) -> Option<Request> {
        if !self.takes(&req) {
            return Some(req);
        }
        let Some(sup) = ctx.call_sup() else { return Some(req) };
        tracing::debug!(client = client.id, request = %req.log_display(ctx.visibility), "request (fast lane)");
        let kept = Answerable::of(&req);
        match sup.cast(CallSupMsg::Request { client: client.clone(), request: Box::new(req) }) {
            Ok(()) => {
                ctx.metrics.request(kept.kind);
                ctx.metrics.requests_fast_lane.fetch_add(1, Ordering::Relaxed);
                None
            }
            // CallSup is restarting: the session answers as it would have.
            Err(MessagingErr::SendErr(CallSupMsg::Request { request, .. })) => Some(*request),
            // A cast to a local actor fails only with SendErr (ractor's other errors are for
            // remote actors and mistyped cells): not expected, but answered all the same.
            Err(e) => {
                tracing::error!(client = client.id, error = %e, "call request refused by CallSup");
                let message = Some("call handling is restarting; retry".into());
                let mut ev = Event::error_for(&kept.request(), ErrorCode::Internal, message);
                ctx.stamp(&mut ev);
                client.reply(ev);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_requests_take_the_calls_route_and_the_rest_do_not() {
        assert_eq!(route(RequestKind::UpdateUserData), Route::Calls);
        assert_eq!(route(RequestKind::RouteCall), Route::Calls);
        assert_eq!(route(RequestKind::AnswerCall), Route::Calls);
        assert_eq!(route(RequestKind::RegisterAddress), Route::Connection);
        assert_eq!(route(RequestKind::OpenServer), Route::Connection);
        assert_eq!(route(RequestKind::AgentSetReady), Route::Dn);
        assert_eq!(route(RequestKind::MonitorNextCall), Route::Monitoring);
    }

    /// The lane opens with the handshake, takes call requests on registered DNs (or none), and
    /// none while a request it gave the session is unhandled.
    #[test]
    fn the_lane_takes_only_what_the_session_would_pass_on_and_waits_for_it() {
        let on = |dn: &str| {
            let mut r = Request::new(RequestKind::UpdateUserData);
            r.attrs.this_dn = Some(DnName::new(dn));
            r
        };
        let lane = Lane::default();
        lane.register(DnName::new("a"));
        assert!(!lane.takes(&on("a")), "not before the handshake");
        lane.open();
        assert!(lane.takes(&on("a")));
        assert!(lane.takes(&Request::new(RequestKind::UpdateUserData)), "no ThisDN: the call model checks the rest");
        assert!(!lane.takes(&on("b")), "not registered: the session answers TERR_NOT_REGISTERED");
        let mut ready = on("a");
        ready.kind = RequestKind::AgentSetReady;
        assert!(!lane.takes(&ready), "a DN request");
        lane.to_session();
        assert!(!lane.takes(&on("a")), "behind a request the session has not handled");
        lane.handled();
        assert!(lane.takes(&on("a")));
        lane.unregister(&DnName::new("a"));
        assert!(!lane.takes(&on("a")));
    }
}
