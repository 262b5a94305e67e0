//! Building the agent events (EventAgentLogin, EventAgentLogout, EventAgentReady,
//! EventAgentNotReady) with the attributes GenEM gives them: ThisDN, ThisQueue, AgentID,
//! AgentWorkMode, Reasons and Extensions (WrapUpTime). ReferenceID is set by the machine on the
//! one event that answers a request.

use super::types::{AcwPeriod, AgentState, LoginSession};
use crate::model::{AgentId, AgentStatus, AgentWorkMode, DnName, KvList};
use crate::tlib::{Attributes, Event, EventKind};

/// What an event says about the agent.
pub(super) struct AgentFacts<'a> {
    pub dn: &'a DnName,
    pub agent_id: &'a AgentId,
    pub queue: Option<&'a DnName>,
    pub reasons: &'a KvList,
}

impl AgentFacts<'_> {
    pub fn event(&self, kind: EventKind, mode: Option<AgentWorkMode>, extensions: KvList) -> Event {
        Event::with_attrs(
            kind,
            Attributes {
                this_dn: Some(self.dn.clone()),
                this_queue: self.queue.cloned(),
                agent_id: Some(self.agent_id.clone()),
                agent_work_mode: mode,
                reasons: Some(self.reasons.clone()).filter(|r| !r.is_empty()),
                extensions: Some(extensions).filter(|e| !e.is_empty()),
                ..Default::default()
            },
        )
    }
}

impl AgentState {
    /// The work mode GenEM reports for this state (LegalGuard is AgentLegalGuard = AutoIn).
    pub fn work_mode(&self) -> AgentWorkMode {
        match self {
            AgentState::Ready { mode } | AgentState::NotReady { mode } => *mode,
            AgentState::LegalGuard { .. } => AgentWorkMode::AutoIn,
            AgentState::AfterCallWork { .. } => AgentWorkMode::AfterCallWork,
        }
    }

    /// The state as EventRegistered / EventAddressInfo report it.
    pub fn status(&self) -> AgentStatus {
        match self {
            AgentState::Ready { .. } => AgentStatus::Ready,
            AgentState::NotReady { .. } | AgentState::LegalGuard { .. } => AgentStatus::NotReady,
            AgentState::AfterCallWork { .. } => AgentStatus::AfterCallWork,
        }
    }

    /// The event that reports this state (EventAgentReady or EventAgentNotReady).
    pub fn event_kind(&self) -> EventKind {
        match self {
            AgentState::Ready { .. } => EventKind::AgentReady,
            _ => EventKind::AgentNotReady,
        }
    }
}

impl LoginSession {
    pub(super) fn facts<'a>(&'a self, dn: &'a DnName, reasons: &'a KvList) -> AgentFacts<'a> {
        AgentFacts { dn, agent_id: &self.agent_id, queue: self.queue.as_ref(), reasons }
    }

    /// The event reporting the current state; an ACW report carries WrapUpTime (the remaining
    /// time of a timed ACW, `untimed`, or what will apply when a pending ACW starts).
    pub(super) fn state_event(&self, dn: &DnName, reasons: &KvList, now_ms: u64) -> Event {
        let mut ext = KvList::new();
        if let AgentState::AfterCallWork { period, .. } = &self.state {
            let shown = match period {
                AcwPeriod::Timed { until_ms } => super::WrapUp::Timed(until_ms.saturating_sub(now_ms)),
                AcwPeriod::Untimed => super::WrapUp::Untimed,
                AcwPeriod::Pending { requested } => super::acw::pending_period(*requested, &self.settings),
            };
            ext.push("WrapUpTime", shown.extension_value());
        }
        self.facts(dn, reasons).event(self.state.event_kind(), Some(self.state.work_mode()), ext)
    }
}
