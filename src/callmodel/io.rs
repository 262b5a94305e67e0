//! What goes into the call model and what comes out: [`Input`] (a client's request, a Connector's
//! event, the Connector's answer to a request, a timeout) and [`Output`] (T-Library events for
//! DNs or for one client, MLTP requests for the Connector, effects for the actor layer). Plain
//! data; this module never decides anything.

use super::types::ClientRef;
use crate::mltp::Mltp;
use crate::model::{ConnId, DnName, ErrorCode, KvList};
use crate::tlib::{Event, Request};
use std::collections::BTreeSet;

/// One input to [`super::CallTable::apply`].
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A T-Library request of a client registered on its ThisDN (registration already checked).
    Request { client: ClientRef, request: Box<Request> },
    /// An MLTP event a Connector link reported (CALL_CREATED, PARTY_CREATED, PARTY_STATE_CHANGED,
    /// PARTY_DELETED, CALL_DELETED, ERROR; others are ignored here).
    Switch { link: String, msg: Mltp },
    /// The Connector's RESPONSE to a [`SwitchRequest`], on the link it was sent on: `Ok` with the
    /// result headers, `Err` with the error code and reason.
    SwitchResponse { corr: u64, link: String, result: Result<Vec<(String, String)>, (ErrorCode, String)> },
    /// The request timeout of a [`SwitchRequest`] elapsed. The actor delivers it for every
    /// request it sent, answered or not: the model ignores timeouts of finished work, and turns
    /// the others into EventError 236 — so every T-Library request is answered.
    SwitchTimeout { corr: u64 },
    /// A timer the model asked for ([`Output::timers`]) expired: router-timeout,
    /// no-answer-timeout, a treatment's TOTAL_TIMEOUT. Stale timers are ignored.
    Timer(super::routing::CallTimer),
    /// The last routing client left the Routing Point: calls waiting there go to `default-dn`.
    RoutersGone { rp: DnName },
    /// A subscription was made on `agent` with `intrusion-enabled`: its established calls get
    /// the supervisor now.
    Intrude { agent: DnName },
    /// The agent's no-answer supervision on `dn` expired (guide: "No-Answer Supervision"): take
    /// that ringing party off the call. Nothing happens if it answered or left meanwhile.
    ReleaseParty { conn: ConnId, dn: DnName },
}

/// A timer for the actor layer to arm: after `after_ms`, feed back `Input::Timer(timer)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerRequest {
    pub timer: super::routing::CallTimer,
    pub after_ms: u64,
}

/// Who receives an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// Every client registered on the DN (the DN actor fans out).
    Dn(DnName),
    /// Only the client that sent the request (EventError, requester-only answers).
    Client(ClientRef),
    /// Every client registered on the DN, and the requesting client if it is not one of them:
    /// the answer to a request that is an event of another DN (TSingleStepConference's
    /// EventRinging of the new party), so the requester always gets its answer.
    DnAndRequester(DnName, ClientRef),
}

impl Recipient {
    /// The DN whose clients receive the event, if any.
    pub fn dn(&self) -> Option<&DnName> {
        match self {
            Recipient::Dn(dn) | Recipient::DnAndRequester(dn, _) => Some(dn),
            Recipient::Client(_) => None,
        }
    }
}

/// One T-Library event and its recipient.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub to: Recipient,
    pub event: Event,
}

/// Where an MLTP request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwitchRoute {
    /// The link the call was reported on.
    Link(String),
    /// The link serving this DN (new calls: TMakeCall, TInitiateTransfer / Conference).
    ServingDn(DnName),
}

/// An MLTP request for a Connector. The actor assigns the MLTP transaction id, sends it, and
/// reports back with [`Input::SwitchResponse`] (echoing `corr` and naming the link used) and,
/// after the request timeout, [`Input::SwitchTimeout`].
#[derive(Clone, Debug, PartialEq)]
pub struct SwitchRequest {
    pub corr: u64,
    pub route: SwitchRoute,
    pub msg: Mltp,
}

/// Effects for the actor layer besides events and switch requests.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// A new ConnID exists (a Call actor may be started for it).
    CallCreated(ConnId),
    /// The call changed: persist its snapshot ([`super::CallTable::call_snapshot`]).
    CallChanged(ConnId),
    /// The call is over: drop its snapshot and stop its actor. No event for it follows.
    CallEnded(ConnId),
    /// TPrivateService, for the DN actor: a desktop overriding its DN's `handle-direct-calls` /
    /// `handle-direct-calls-media` (the Extensions parse as [`super::DirectCallsOverride`]) for as
    /// long as `client` stays registered on the DN.
    PrivateService { dn: DnName, client: ClientRef, msg_id: i32, extensions: KvList },
    /// A supervisor left a call it monitored: a one-call subscription ends (issue 7).
    MonitoringEnded { supervisor: DnName, assistance: bool },
}

/// Everything one input produced, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    pub events: Vec<Delivery>,
    pub switch: Vec<SwitchRequest>,
    pub effects: Vec<Effect>,
    pub timers: Vec<TimerRequest>,
}

impl Output {
    pub(crate) fn deliver(&mut self, dn: &DnName, event: Event) {
        self.events.push(Delivery { to: Recipient::Dn(dn.clone()), event });
    }

    pub(crate) fn deliver_to_client(&mut self, client: ClientRef, event: Event) {
        self.events.push(Delivery { to: Recipient::Client(client), event });
    }

    /// Appends CallChanged for each touched call that still exists and was not ended.
    pub(crate) fn changed(&mut self, touched: BTreeSet<ConnId>, live: impl Fn(ConnId) -> bool) {
        let ended: BTreeSet<ConnId> =
            self.effects.iter().filter_map(|e| if let Effect::CallEnded(c) = e { Some(*c) } else { None }).collect();
        for c in touched {
            if live(c) && !ended.contains(&c) {
                self.effects.push(Effect::CallChanged(c));
            }
        }
    }

    /// The events delivered to `dn`, in order (tests, tools).
    pub fn events_for<'a>(&'a self, dn: &'a DnName) -> impl Iterator<Item = &'a Event> + 'a {
        self.events.iter().filter(move |d| d.to.dn() == Some(dn)).map(|d| &d.event)
    }
}
