//! Tests of the call model. `Rig` drives a [`CallTable`] against the real simulated SfB
//! (`crate::sim::World`) standing in for the Connector — MLTP requests become application
//! operations, world events become MLTP events — so the sequences are those the product sees.
//! `Script` feeds hand-written MLTP for the guide's flows the simulation does not model.
//! Events are rendered one line each (URIs shortened, ConnIDs as c1, c2, ... in creation order)
//! and compared with golden lines attribute by attribute.

mod b2b;
mod direct;
mod escalation;
mod golden;
mod guide_tables;
mod monitoring;
mod pass_through;
mod proptests;
mod requests;
mod routing;

use super::*;
use crate::mltp::{self, Mltp};
use crate::model::{ConnId, ConnIdGenerator, DnType, ErrorCode};
use crate::sim::{self, CallId, PartyMode, SimEvent, World};
use crate::tlib::{Attributes, Message, Request, RequestKind};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

pub(super) const SWITCH: &str = r#"
[TServer]
link-1-name = "connector1"
[connector1]
hostname = "127.0.0.1"
port = 9001
protocol = "tcp"
pool-name = ""
use-certificate = true
[switch.annex.conference-services]
count = 3
uri-pattern = "sip:conf{DD}@skype.lab"
[switch.annex.connector]
music-on-hold-file-path = "moh.wma"
[[dn]]
number = "sip:rp1@skype.lab"
type = "Routing Point"
[[dn]]
number = "sip:agent01@skype.lab"
type = "Extension"
[[dn]]
number = "sip:agent02@skype.lab"
type = "Extension"
[[dn]]
number = "sip:agent03@skype.lab"
type = "Extension"
[[dn]]
number = "sip:agent04@skype.lab"
type = "Extension"
"#;

pub(super) const CUSTOMER: &str = "tel:+14155550100";
pub(super) const LINK: &str = "connector1";

pub(super) fn uri(short: &str) -> String {
    match short {
        "customer" => CUSTOMER.to_string(),
        s if s.contains(':') => s.to_string(),
        s => format!("sip:{s}@skype.lab"),
    }
}

fn short(s: &str) -> String {
    if s == CUSTOMER {
        return "customer".into();
    }
    match s.strip_prefix("sip:").and_then(|u| u.split_once('@')) {
        Some((user, "skype.lab")) => user.to_string(),
        _ => s.to_string(),
    }
}

pub(super) fn directory() -> Arc<dyn Directory> {
    Arc::new(StaticDirectory::new([
        ("sip:rp1@skype.lab", DnType::RoutingPoint),
        ("sip:agent01@skype.lab", DnType::Extension),
        ("sip:agent02@skype.lab", DnType::Extension),
        ("sip:agent03@skype.lab", DnType::Extension),
        ("sip:agent04@skype.lab", DnType::Extension),
    ]))
}

pub(super) fn table() -> CallTable {
    CallTable::new(directory(), Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default())
}

pub(super) fn world(sim_toml: &str) -> World {
    let server = crate::config::load_str(SWITCH).unwrap();
    let section = if sim_toml.trim().is_empty() {
        sim::SimSection::default()
    } else {
        let c = ::config::Config::builder()
            .add_source(::config::File::from_str(sim_toml, ::config::FileFormat::Toml))
            .build()
            .unwrap();
        c.get::<sim::SimSection>("sim").unwrap()
    };
    let mut w = World::new(sim::SimConfig::from_server_config(&server, section).unwrap());
    w.register_endpoint("sip:rp1@skype.lab").unwrap();
    w
}

use crate::tlib::EventKind as E;
const CALL_EVENTS: &[E] = &[
    E::Dialing,
    E::Ringing,
    E::NetworkReached,
    E::Established,
    E::Released,
    E::Abandoned,
    E::Held,
    E::Retrieved,
    E::PartyChanged,
    E::PartyAdded,
    E::PartyDeleted,
    E::AttachedDataChanged,
    E::DTMFSent,
];

/// Everything the table emitted, with the invariants every test relies on checked as it goes:
/// no event for a call after its CallEnded, every request answered at most once.
#[derive(Default)]
pub(super) struct Log {
    pub deliveries: Vec<Delivery>,
    pub conns: Vec<ConnId>,
    pub ended: BTreeSet<ConnId>,
    pub answers: BTreeMap<u32, usize>,
    pub requests: BTreeSet<u32>,
    /// Index into `deliveries` where the current step began.
    pub mark: usize,
}

impl Log {
    fn record(&mut self, out: Output) -> Output {
        for d in &out.events {
            // Answers to requests (EventError, EventPrivateInfo, ...) may echo the ConnID a request
            // named, and EventUserEvent relays the sender's attributes: only call events count.
            let call_event = CALL_EVENTS.contains(&d.event.kind);
            if let Some(c) = d.event.attrs.conn_id.filter(|_| call_event) {
                if self.ended.contains(&c) {
                    let seen: Vec<String> = self.deliveries[self.mark..].iter().map(|d| self.render(d)).collect();
                    panic!("event after the call ended: {}\nsince the last step:\n{}", self.render(d), seen.join("\n"));
                }
            }
            if let Some(r) = d.event.attrs.reference_id.filter(|r| *r != 0) {
                *self.answers.entry(r).or_default() += 1;
                assert_eq!(self.answers[&r], 1, "request {r} answered twice: {}", self.render(d));
            }
        }
        for e in &out.effects {
            match e {
                Effect::CallCreated(c) => self.conns.push(*c),
                Effect::CallEnded(c) => {
                    self.ended.insert(*c);
                }
                _ => {}
            }
        }
        self.deliveries.extend(out.events.iter().cloned());
        out
    }

    /// The events since the last `take`, rendered.
    pub fn take(&mut self) -> Vec<String> {
        let lines = self.deliveries[self.mark..].iter().map(|d| self.render(d)).collect();
        self.mark = self.deliveries.len();
        lines
    }

    fn conn_name(&self, c: ConnId) -> String {
        match self.conns.iter().position(|x| *x == c) {
            Some(i) => format!("c{}", i + 1),
            None => c.to_string(),
        }
    }

    /// `recipient EventName Key=value ...` with the call attributes a golden test checks.
    pub fn render(&self, d: &Delivery) -> String {
        let to = match &d.to {
            Recipient::Dn(dn) => short(dn.as_str()),
            Recipient::Client(c) => format!("client{}", c.0),
            Recipient::DnAndRequester(dn, c) => format!("{}+client{}", short(dn.as_str()), c.0),
        };
        let json: serde_json::Value =
            serde_json::from_str(&crate::tlib::to_json(&Message::Event(d.event.clone()))).expect("events map to JSON");
        let mut line = format!("{to} {}", d.event.kind.name());
        const KEYS: &[&str] = &[
            "ConnID",
            "ThisDN",
            "ThisDNRole",
            "OtherDN",
            "OtherDNRole",
            "ThirdPartyDN",
            "ThirdPartyDNRole",
            "CallState",
            "CallType",
            "MediaType",
            "PreviousConnID",
            "TransferConnID",
            "ReferenceID",
            "ErrorCode",
            "ThisQueue",
            "TreatmentType",
            "CollectedDigits",
        ];
        for k in KEYS {
            let Some(v) = json.get(*k) else { continue };
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let v = if k.ends_with("ConnID") {
                ConnId::parse(&v).map_or(v.clone(), |c| self.conn_name(c))
            } else if k.ends_with("DN") || *k == "ThisQueue" {
                short(&v)
            } else {
                v
            };
            line.push_str(&format!(" {k}={v}"));
        }
        line
    }
}

/// Compares rendered lines with golden ones, showing both in full on a mismatch.
#[track_caller]
pub(super) fn golden(actual: Vec<String>, expected: &[&str]) {
    if actual.iter().map(String::as_str).ne(expected.iter().copied()) {
        panic!(
            "event sequence differs\n--- actual ---\n{}\n--- expected ---\n{}\n",
            actual.join("\n"),
            expected.join("\n")
        );
    }
}

/// A CallTable driven against the simulated SfB.
pub(super) struct Rig {
    pub table: CallTable,
    pub world: World,
    pub now: u64,
    pub log: Log,
    pub queue: VecDeque<SwitchRequest>,
    /// Every switch request sent, in order (for timeouts).
    pub sent: Vec<u64>,
    /// Deliver RESPONSE before the request's events (the other order is the default).
    pub respond_first: bool,
    /// Keep switch requests queued instead of executing them (the Connector is silent).
    pub silent: bool,
    next_ref: u32,
    pumping: bool,
    /// Every timer the model asked for, in order.
    pub timers: Vec<crate::callmodel::TimerRequest>,
}

impl Rig {
    pub fn new() -> Rig {
        Rig::with_world(world(""))
    }

    pub fn with_world(world: World) -> Rig {
        Rig {
            table: table(),
            world,
            now: 1_000,
            log: Log::default(),
            queue: VecDeque::new(),
            sent: Vec::new(),
            respond_first: false,
            silent: false,
            next_ref: 1,
            pumping: false,
            timers: Vec::new(),
        }
    }

    pub fn apply(&mut self, input: Input) {
        let mut out = self.table.apply(input, self.now);
        self.timers.append(&mut out.timers);
        let out = self.log.record(out);
        for r in out.switch {
            self.sent.push(r.corr);
            self.queue.push_back(r);
        }
        self.pump();
    }

    /// A T-Library request from the client on `this` (short name); returns its ReferenceID.
    pub fn request(&mut self, kind: RequestKind, this: &str, f: impl FnOnce(&mut Attributes)) -> u32 {
        let r = self.next_ref;
        self.next_ref += 1;
        let mut attrs =
            Attributes { reference_id: Some(r), this_dn: Some(uri(this).as_str().into()), ..Default::default() };
        f(&mut attrs);
        self.log.requests.insert(r);
        self.apply(Input::Request { client: ClientRef(1), request: Box::new(Request::with_attrs(kind, attrs)) });
        r
    }

    /// The ConnID of the n-th call created (1-based).
    pub fn conn(&self, n: usize) -> ConnId {
        self.log.conns[n - 1]
    }

    /// Something a person does on the simulated SfB, then its events flow in.
    pub fn person(&mut self, f: impl FnOnce(&mut World, u64)) {
        self.now += 10;
        f(&mut self.world, self.now);
        self.flush_world();
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.world.advance(self.now);
        self.flush_world();
    }

    fn flush_world(&mut self) {
        for m in self.world.drain_events().iter().filter_map(to_mltp) {
            self.apply(Input::Switch { link: LINK.into(), msg: m });
        }
    }

    /// Executes queued switch requests one at a time, each with all its events, as a Connector
    /// does (requests queued meanwhile wait their turn).
    fn pump(&mut self) {
        if self.silent || self.pumping {
            return;
        }
        self.pumping = true;
        while let Some(r) = self.queue.pop_front() {
            self.now += 1;
            let result = execute(&mut self.world, self.now, &r.msg);
            let events: Vec<Mltp> = self.world.drain_events().iter().filter_map(to_mltp).collect();
            let response = Input::SwitchResponse { corr: r.corr, link: LINK.into(), result };
            if self.respond_first {
                self.apply(response.clone());
            }
            for m in events {
                self.apply(Input::Switch { link: LINK.into(), msg: m });
            }
            if !self.respond_first {
                self.apply(response);
            }
        }
        self.pumping = false;
    }

    /// The latest timer of `kind` the model asked for fires (whatever its delay).
    pub fn fire(&mut self, kind: crate::callmodel::TimerKind) {
        let t = self.timers.iter().rev().find(|t| t.timer.kind == kind).cloned().expect("a timer of that kind");
        self.now += t.after_ms;
        self.world.advance(self.now);
        self.flush_world();
        self.apply(Input::Timer(t.timer));
    }

    /// Executes the switch requests held while `silent`.
    pub fn release_silence(&mut self) {
        self.silent = false;
        self.pump();
    }

    /// The request timeout of every switch request sent so far elapses.
    pub fn expire(&mut self) {
        for corr in std::mem::take(&mut self.sent) {
            self.apply(Input::SwitchTimeout { corr });
        }
    }

    /// The sim call of party `who` (short name), the most recent one.
    pub fn sim_call(&self, who: &str) -> CallId {
        let v = self.world.user_view(&uri(who)).unwrap();
        v.calls.iter().map(|c| c.id).max().expect("a call")
    }
}

/// What the Connector does with an MLTP request, on the simulated SfB.
pub(super) fn execute(w: &mut World, now: u64, msg: &Mltp) -> Result<Vec<(String, String)>, (ErrorCode, String)> {
    let none = |_| Vec::new();
    let r = match msg.clone() {
        Mltp::MakeCall { from, to, media, text, .. } => {
            let text = Some(text).filter(|t| !t.is_empty());
            w.app_make_call(now, &from, &to, sim_media(media), text)
                .map(|s| vec![("call".into(), s.call.0.to_string()), ("conversation-id".into(), s.conversation_id)])
        }
        Mltp::ReleaseCall { call, party } => w.app_release(now, CallId(call), &party).map(none),
        Mltp::HoldCall { call, party } => w.app_hold(now, CallId(call), &party).map(none),
        Mltp::RetrieveCall { call, party } => w.app_retrieve(now, CallId(call), &party).map(none),
        Mltp::TransferCall { call, consult_call, party } => {
            w.app_merge(now, CallId(call), CallId(consult_call), Some(&party)).map(none)
        }
        Mltp::ConferenceCall { call, consult_call, .. } => {
            w.app_merge(now, CallId(call), CallId(consult_call), None).map(none)
        }
        Mltp::SingleStepTransfer { call, party, to } => {
            w.app_single_step_transfer(now, CallId(call), &party, &to).map(none)
        }
        Mltp::SingleStepConference { call, to, mode } => {
            w.app_add_party(now, CallId(call), &to, party_mode(mode)).map(none)
        }
        Mltp::SetMute { call, party, mode } => w.app_set_mode(CallId(call), &party, party_mode(Some(mode))).map(none),
        Mltp::DeleteParty { call, party } => w.app_delete_party(now, CallId(call), &party).map(none),
        Mltp::SendDtmf { call, party, digits } => w.app_send_dtmf(now, CallId(call), &party, &digits).map(none),
        Mltp::RedirectCall { call, to, .. } => w.app_redirect(now, CallId(call), &to).map(none),
        Mltp::SendIm { call, from, text } => w.app_send_im(now, CallId(call), &from, &text).map(none),
        Mltp::PlayTreatment { call, party, treatment_type, params } => {
            let what = crate::mltp::playback::playback(treatment_type, params.unwrap_or_default());
            w.app_play(now, CallId(call), party.as_deref(), what).map(none)
        }
        Mltp::StopTreatment { call } => w.app_stop_play(now, CallId(call)).map(none),
        other => return Err((ErrorCode::UnsupOper, format!("{} is not simulated", other.name()))),
    };
    r.map_err(|e| (e.error_code(), e.to_string()))
}

fn party_mode(m: Option<mltp::MonitorMode>) -> PartyMode {
    match m {
        Some(mltp::MonitorMode::Coach) => PartyMode::Coach,
        Some(mltp::MonitorMode::Mute) => PartyMode::Mute,
        _ => PartyMode::Normal,
    }
}

fn sim_media(m: mltp::Media) -> sim::Media {
    match m {
        mltp::Media::Voice => sim::Media::Voice,
        mltp::Media::Video => sim::Media::Video,
        mltp::Media::Im => sim::Media::Im,
    }
}

fn mltp_media(m: sim::Media) -> mltp::Media {
    match m {
        sim::Media::Voice => mltp::Media::Voice,
        sim::Media::Video => mltp::Media::Video,
        sim::Media::Im => mltp::Media::Im,
    }
}

fn party_state(s: sim::PartyState) -> mltp::PartyState {
    match s {
        sim::PartyState::Dialing => mltp::PartyState::Dialing,
        sim::PartyState::Alerting => mltp::PartyState::Alerting,
        sim::PartyState::Connected => mltp::PartyState::Connected,
        sim::PartyState::Held => mltp::PartyState::Held,
        sim::PartyState::Disconnected => mltp::PartyState::Disconnected,
    }
}

/// The MLTP event the Connector sends for a world event (as `actors/connector/events.rs` does:
/// CALL_CREATED without `conn-id`).
pub(super) fn to_mltp(e: &SimEvent) -> Option<Mltp> {
    let cause = |c: &dyn std::fmt::Debug| Some(format!("{c:?}").to_lowercase());
    Some(match e {
        SimEvent::CallCreated { call, conversation_id, media, from, to, direction, monitored } => Mltp::CallCreated {
            call: call.0,
            conversation_id: conversation_id.clone(),
            media: mltp_media(*media),
            from: from.clone(),
            to: to.clone(),
            direction: match direction {
                sim::Direction::Inbound => mltp::Direction::Inbound,
                sim::Direction::Outbound => mltp::Direction::Outbound,
                sim::Direction::Internal => mltp::Direction::Internal,
            },
            monitored: *monitored,
            conn_id: None,
        },
        SimEvent::PartyCreated { call, party, state } => Mltp::PartyCreated {
            call: call.0,
            party: party.clone(),
            media: mltp::Media::Voice,
            from: String::new(),
            to: String::new(),
            party_state: party_state(*state),
        },
        SimEvent::PartyStateChanged { call, party, state, cause: c } => Mltp::PartyStateChanged {
            call: call.0,
            party: party.clone(),
            party_state: party_state(*state),
            cause: cause(c),
        },
        SimEvent::PartyDeleted { call, party, cause: c } => {
            Mltp::PartyDeleted { call: call.0, party: party.clone(), cause: cause(c) }
        }
        SimEvent::CallDeleted { call, cause: c } => Mltp::CallDeleted { call: call.0, cause: cause(c) },
        SimEvent::ImReceived { call, from, text } => {
            Mltp::ImReceived { call: call.0, from: from.clone(), text: text.clone() }
        }
        SimEvent::PlaybackEnded { call, what, status, .. } => {
            crate::mltp::playback::treatment_ended(*call, what, status)?
        }
        _ => return None,
    })
}

/// A CallTable fed with hand-written MLTP (one link), for flows the simulation does not model.
pub(super) struct Script {
    pub table: CallTable,
    pub log: Log,
    pub sent: Vec<SwitchRequest>,
    next_ref: u32,
}

impl Script {
    pub fn new() -> Script {
        Script { table: table(), log: Log::default(), sent: Vec::new(), next_ref: 1 }
    }

    pub fn apply(&mut self, input: Input) {
        let out = self.table.apply(input, 0);
        let out = self.log.record(out);
        self.sent.extend(out.switch);
    }

    pub fn request(&mut self, kind: RequestKind, this: &str, f: impl FnOnce(&mut Attributes)) -> u32 {
        let r = self.next_ref;
        self.next_ref += 1;
        let mut attrs =
            Attributes { reference_id: Some(r), this_dn: Some(uri(this).as_str().into()), ..Default::default() };
        f(&mut attrs);
        self.apply(Input::Request { client: ClientRef(1), request: Box::new(Request::with_attrs(kind, attrs)) });
        r
    }

    pub fn sw(&mut self, m: Mltp) {
        self.apply(Input::Switch { link: LINK.into(), msg: m });
    }

    pub fn created(&mut self, call: u64, from: &str, to: &str, direction: mltp::Direction) {
        let (from, to) = (uri(from), uri(to));
        self.sw(Mltp::CallCreated {
            call,
            conversation_id: format!("conv{call}"),
            media: mltp::Media::Voice,
            from,
            to,
            direction,
            monitored: true,
            conn_id: None,
        });
    }

    pub fn party(&mut self, call: u64, who: &str, state: mltp::PartyState) {
        let party = uri(who);
        let (from, to, media) = (String::new(), String::new(), mltp::Media::Voice);
        self.sw(Mltp::PartyCreated { call, party, media, from, to, party_state: state });
    }

    pub fn state(&mut self, call: u64, who: &str, state: mltp::PartyState) {
        self.sw(Mltp::PartyStateChanged { call, party: uri(who), party_state: state, cause: None });
    }

    pub fn gone(&mut self, call: u64, who: &str, cause: &str) {
        self.sw(Mltp::PartyDeleted { call, party: uri(who), cause: Some(cause.into()) });
    }

    pub fn respond(&mut self, corr: u64, result: Result<Vec<(String, String)>, (ErrorCode, String)>) {
        self.apply(Input::SwitchResponse { corr, link: LINK.into(), result });
    }
}
