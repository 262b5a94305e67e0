//! Tests of the agent machine: a rig that plays the actor (keeps the timers the machine arms,
//! advances time and fires them), unit tests per rule, golden event sequences, the legacy
//! interface, and a property test against a reference model of GenEM's agent-state diagram.

mod golden;
mod model;
mod rules;
mod settings;

use super::*;
use crate::config::NoAnswerAction;
use crate::model::{AgentId, AgentWorkMode, ConnId, DnName, ErrorCode, KvList, KvValue};
use crate::tlib::Event;
use std::collections::BTreeMap;

pub(super) const DN: &str = "sip:agent01@skype.lab";

/// Plays the actor: applies timer commands, keeps time, numbers requests.
pub(super) struct Rig {
    pub m: AgentMachine,
    pub now: u64,
    /// key -> (token, due time)
    pub timers: BTreeMap<TimerKey, (u64, u64)>,
    pub next_ref: u32,
    pub settings: AgentSettings,
}

impl Rig {
    pub fn new(settings: AgentSettings) -> Rig {
        Rig {
            m: AgentMachine::new(DnName::new(DN), settings.clone()),
            now: 0,
            timers: BTreeMap::new(),
            next_ref: 1,
            settings,
        }
    }

    pub fn feed(&mut self, input: AgentInput) -> Output {
        let out = self.m.step(self.now, input);
        for t in &out.timers {
            match *t {
                TimerCmd::Arm { key, token, after_ms } => {
                    self.timers.insert(key, (token, self.now + after_ms));
                }
                TimerCmd::Cancel { key } => {
                    assert!(self.timers.remove(&key).is_some(), "cancel of a timer never armed: {key:?}");
                }
            }
        }
        out
    }

    pub fn request_from(&mut self, client: ClientId, action: RequestAction, reasons: KvList, ext: KvList) -> Output {
        let reference_id = Some(self.next_ref);
        self.next_ref += 1;
        let req = ClientRequest {
            client,
            reference_id,
            this_queue: Some(DnName::new("vq_sales")),
            reasons,
            extensions: ext,
            action,
        };
        let out = self.feed(AgentInput::Request(req));
        assert_answered_once(&out, reference_id);
        out
    }

    pub fn request(&mut self, action: RequestAction) -> Output {
        self.request_from(1, action, KvList::new(), KvList::new())
    }

    pub fn login(&mut self, agent: &str, mode: Option<AgentWorkMode>) -> Output {
        let check = LoginCheck { settings: self.settings.clone(), ..Default::default() };
        self.request(RequestAction::Login { agent_id: AgentId::new(agent), work_mode: mode, check })
    }

    pub fn ready(&mut self) -> Output {
        self.request(RequestAction::SetReady { work_mode: Some(AgentWorkMode::ManualIn) })
    }

    pub fn not_ready(&mut self, mode: AgentWorkMode, ext: KvList) -> Output {
        self.request_from(1, RequestAction::SetNotReady { work_mode: Some(mode) }, KvList::new(), ext)
    }

    pub fn call(&mut self, fact: CallFact) -> Output {
        self.feed(AgentInput::Call(fact))
    }

    /// A business call ringing, answered: returns EventEstablished's extra extensions.
    pub fn answered_call(&mut self, conn: u64) -> KvList {
        self.call(ringing(conn));
        self.call(CallFact::Established { conn_id: ConnId(conn), business: true }).call_extensions
    }

    pub fn release(&mut self, conn: u64) -> Output {
        self.call(CallFact::Released { conn_id: ConnId(conn) })
    }

    /// Moves time on by `ms`, firing every timer that falls due, in order; returns their outputs.
    pub fn advance(&mut self, ms: u64) -> Vec<Output> {
        let target = self.now + ms;
        let mut outs = Vec::new();
        while let Some((key, (token, due))) = self
            .timers
            .iter()
            .map(|(k, v)| (*k, *v))
            .filter(|(_, (_, due))| *due <= target)
            .min_by_key(|(_, (_, d))| *d)
        {
            self.timers.remove(&key);
            self.now = self.now.max(due);
            outs.push(self.feed(AgentInput::TimerExpired { key, token }));
        }
        self.now = target;
        outs
    }

    pub fn state(&self) -> Option<&AgentState> {
        self.m.session().map(|s| &s.state)
    }
}

pub(super) fn ringing(conn: u64) -> CallFact {
    CallFact::Ringing { conn_id: ConnId(conn), business: true, no_answer: NoAnswerOverride::default() }
}

/// Every request is answered exactly once: one event with its ReferenceID, or an error and no event.
pub(super) fn assert_answered_once(out: &Output, reference_id: Option<u32>) {
    let carrying = out.events.iter().filter(|e| e.attrs.reference_id.is_some()).count();
    match &out.answer {
        Some(Answer::Event(i)) => {
            assert_eq!(out.events[*i].attrs.reference_id, reference_id);
            assert_eq!(carrying, 1, "only the answering event carries the ReferenceID: {out:?}");
        }
        Some(Answer::Error { .. }) => assert!(out.events.is_empty(), "a refused request changes nothing: {out:?}"),
        None => panic!("request not answered: {out:?}"),
    }
}

pub(super) fn error_code(out: &Output) -> Option<ErrorCode> {
    match &out.answer {
        Some(Answer::Error { code, .. }) => Some(*code),
        _ => None,
    }
}

/// `EventAgentNotReady AfterCallWork WrapUpTime=5 ref=3`: an event as golden tests write it.
pub(super) fn show(e: &Event) -> String {
    let mut s = e.kind.name().to_string();
    if let Some(m) = e.attrs.agent_work_mode {
        s.push_str(&format!(" {m}"));
    }
    for (k, v) in e.attrs.extensions.iter().flat_map(|x| x.iter()) {
        match v {
            KvValue::Int(n) => s.push_str(&format!(" {k}={n}")),
            KvValue::Str(t) => s.push_str(&format!(" {k}={t}")),
            other => s.push_str(&format!(" {k}={other:?}")),
        }
    }
    for (k, v) in e.attrs.reasons.iter().flat_map(|x| x.iter()) {
        if let KvValue::Str(t) = v {
            s.push_str(&format!(" {k}:{t}"));
        }
    }
    if let Some(r) = e.attrs.reference_id {
        s.push_str(&format!(" ref={r}"));
    }
    s
}

pub(super) fn shown(out: &Output) -> Vec<String> {
    out.events.iter().map(show).collect()
}

pub(super) fn shown_all(outs: &[Output]) -> Vec<String> {
    outs.iter().flat_map(shown).collect()
}

pub(super) fn secs(n: u64) -> u64 {
    n * 1000
}

pub(super) fn ext(key: &str, value: impl Into<KvValue>) -> KvList {
    KvList::new().with(key, value)
}

pub(super) fn settings_with(f: impl FnOnce(&mut AgentSettings)) -> AgentSettings {
    let mut s = AgentSettings { emulated_login_ready: false, ..AgentSettings::default() };
    f(&mut s);
    s
}

pub(super) const NO_ACTION: Option<NoAnswerAction> = None;
