//! Call supervision subscriptions (issue 7; guide: "Call Supervision" — Subscription Creation,
//! Subscription Cancellation, Supervision Types / Scopes). Pure: the registry of subscriptions,
//! one per supervisor DN and one per monitored agent DN, fed TMonitorNextCall / TCancelMonitoring,
//! the end of a monitoring session and client departures; it answers with the T-Library events to
//! distribute (EventMonitoringNextCall / EventMonitoringCanceled to the supervisor and the agent,
//! always with both MonitorMode and MonitorScope extensions) or the refusal's error code.
//! Inviting the supervisor into calls (monitoring sessions) is the call model's part.

use crate::config::{MonitorMode, MonitorScope, OptionEnum};
use crate::model::{DnName, ErrorCode, KvList, MonitorNextCallType};
use crate::tlib::{Event, EventKind, Request};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(test)]
mod tests;

/// The extension keys of a subscription.
pub const MONITOR_MODE: &str = "MonitorMode";
pub const MONITOR_SCOPE: &str = "MonitorScope";

/// One supervisor monitoring one agent DN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub supervisor: DnName,
    pub agent: DnName,
    pub kind: MonitorNextCallType,
    pub mode: MonitorMode,
    pub scope: MonitorScope,
    /// The client session that asked (cancel-monitor-on-disconnect).
    pub client: u64,
}

impl Subscription {
    fn extensions(&self) -> KvList {
        KvList::new().with(MONITOR_MODE, self.mode.as_str()).with(MONITOR_SCOPE, self.scope.as_str())
    }

    /// `kind` to the supervisor and to the agent (the answer carries `reference` on the
    /// supervisor's copy).
    fn events(&self, kind: EventKind, reference: Option<u32>) -> Vec<(DnName, Event)> {
        let mut out = Vec::new();
        for (this, other) in [(&self.supervisor, &self.agent), (&self.agent, &self.supervisor)] {
            let mut ev = Event::new(kind);
            ev.attrs.this_dn = Some(this.clone());
            ev.attrs.other_dn = Some(other.clone());
            ev.attrs.monitor_next_call_type = Some(self.kind);
            ev.attrs.extensions = Some(self.extensions());
            if this == &self.supervisor {
                ev.attrs.reference_id = reference;
            }
            out.push((this.clone(), ev));
        }
        out
    }
}

/// Application defaults (`default-monitor-mode`, `default-monitor-scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaults {
    pub mode: MonitorMode,
    pub scope: MonitorScope,
}

/// Why a request is refused: the guide's code and a message for EventError.
pub type Refusal = (ErrorCode, String);

/// Every subscription of the server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscriptions {
    by_supervisor: BTreeMap<DnName, Subscription>,
}

impl Subscriptions {
    pub fn for_agent(&self, agent: &DnName) -> Option<&Subscription> {
        self.by_supervisor.values().find(|s| &s.agent == agent)
    }

    pub fn for_supervisor(&self, supervisor: &DnName) -> Option<&Subscription> {
        self.by_supervisor.get(supervisor)
    }

    pub fn all(&self) -> impl Iterator<Item = &Subscription> {
        self.by_supervisor.values()
    }

    /// TMonitorNextCall from `client` (ThisDN = supervisor, OtherDN = agent). `configured` says
    /// whether a DN is configured. The events go to the DNs named with them.
    pub fn monitor_next_call(
        &mut self,
        client: u64,
        req: &Request,
        defaults: Defaults,
        configured: impl Fn(&DnName) -> bool,
    ) -> Result<Vec<(DnName, Event)>, Refusal> {
        let supervisor = req.attrs.this_dn.clone().ok_or((ErrorCode::InvalidAttr, "ThisDN is required".into()))?;
        let agent =
            req.attrs.other_dn.clone().ok_or((ErrorCode::InvalidAttr, "OtherDN (the agent) is required".into()))?;
        for dn in [&supervisor, &agent] {
            if !configured(dn) {
                return Err((ErrorCode::NotConfigured, format!("{dn} is not configured")));
            }
        }
        if supervisor == agent {
            return Err((ErrorCode::InvalidAttr, "a DN cannot monitor itself".into()));
        }
        let ext = req.attrs.extensions.as_ref();
        // Missing or incorrect extensions: the defaults (guide: "Subscription Creation").
        let mode = ext.and_then(|e| e.get_str(MONITOR_MODE)).and_then(MonitorMode::parse).unwrap_or(defaults.mode);
        let scope = ext.and_then(|e| e.get_str(MONITOR_SCOPE)).and_then(MonitorScope::parse).unwrap_or(defaults.scope);
        let kind = req.attrs.monitor_next_call_type.unwrap_or(MonitorNextCallType::OneCall);
        let new = Subscription { supervisor: supervisor.clone(), agent: agent.clone(), kind, mode, scope, client };
        match (self.by_supervisor.get(&supervisor), self.for_agent(&agent)) {
            // The very subscription that exists: confirmed again, not refused.
            (Some(s), _) if s.agent == agent => {
                let s = s.clone();
                return Ok(s.events(EventKind::MonitoringNextCall, Some(req.reference_id())));
            }
            (Some(s), _) => {
                return Err((ErrorCode::InvalidState, format!("{supervisor} already monitors {}", s.agent)));
            }
            (None, Some(s)) => {
                return Err((ErrorCode::InvalidState, format!("{agent} is already monitored by {}", s.supervisor)));
            }
            (None, None) => {}
        }
        let events = new.events(EventKind::MonitoringNextCall, Some(req.reference_id()));
        self.by_supervisor.insert(supervisor, new);
        Ok(events)
    }

    /// TCancelMonitoring (ThisDN = supervisor, OtherDN = agent).
    pub fn cancel(&mut self, req: &Request) -> Result<Vec<(DnName, Event)>, Refusal> {
        let supervisor = req.attrs.this_dn.clone().ok_or((ErrorCode::InvalidAttr, "ThisDN is required".into()))?;
        let agent = req.attrs.other_dn.clone();
        let matches = self.by_supervisor.get(&supervisor).is_some_and(|s| agent.as_ref().is_none_or(|a| &s.agent == a));
        if !matches {
            return Err((ErrorCode::InvalidState, format!("{supervisor} has no such monitoring subscription")));
        }
        let s = self.by_supervisor.remove(&supervisor).expect("checked");
        Ok(s.events(EventKind::MonitoringCanceled, Some(req.reference_id())))
    }

    /// A monitoring session of `supervisor` ended: a MonitorOneCall subscription is cancelled.
    pub fn session_ended(&mut self, supervisor: &DnName) -> Vec<(DnName, Event)> {
        match self.by_supervisor.get(supervisor) {
            Some(s) if s.kind == MonitorNextCallType::OneCall => {
                let s = self.by_supervisor.remove(supervisor).expect("present");
                s.events(EventKind::MonitoringCanceled, None)
            }
            _ => Vec::new(),
        }
    }

    /// `cancel-monitor-on-disconnect`: the client that made subscriptions left.
    pub fn client_gone(&mut self, client: u64) -> Vec<(DnName, Event)> {
        let gone: Vec<DnName> =
            self.by_supervisor.values().filter(|s| s.client == client).map(|s| s.supervisor.clone()).collect();
        let mut out = Vec::new();
        for sup in gone {
            if let Some(s) = self.by_supervisor.remove(&sup) {
                out.extend(s.events(EventKind::MonitoringCanceled, None));
            }
        }
        out
    }
}
