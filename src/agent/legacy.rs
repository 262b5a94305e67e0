//! `AgentSession`: the agent as clients see it (status, work mode, reasons) — the shape of the agent
//! in `DnSnapshotV1`, EventRegistered and EventAddressInfo — and the way back from it to a machine
//! (a V1 snapshot upgraded on load).

use super::machine::AgentMachine;
use super::settings::AgentSettings;
use super::types::{AcwPeriod, AgentState, LoginSession, Resume};
use crate::model::{AgentId, AgentStatus, AgentWorkMode, DnName, KvList};
use serde::{Deserialize, Serialize};

/// The agent of a DN as clients see it (status, work mode, reasons).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSession {
    pub agent_id: AgentId,
    pub status: AgentStatus,
    pub work_mode: AgentWorkMode,
    pub reasons: KvList,
}

impl LoginSession {
    /// A session rebuilt from its client-visible shape (a `DnSnapshotV1`): an ACW comes back
    /// untimed, since V1 kept no deadline.
    pub fn from_agent_session(s: &AgentSession, settings: AgentSettings, login_client: u64, now_ms: u64) -> Self {
        let state = match s.status {
            AgentStatus::Ready => AgentState::Ready { mode: s.work_mode },
            AgentStatus::AfterCallWork => AgentState::AfterCallWork {
                period: AcwPeriod::Untimed,
                resume: Resume::Ready { mode: AgentWorkMode::ManualIn },
            },
            AgentStatus::NotReady | AgentStatus::LoggedOut => AgentState::NotReady { mode: s.work_mode },
        };
        let ready_mode = match s.work_mode {
            AgentWorkMode::AutoIn if s.status == AgentStatus::Ready => AgentWorkMode::AutoIn,
            _ => AgentWorkMode::ManualIn,
        };
        LoginSession {
            agent_id: s.agent_id.clone(),
            state,
            reasons: s.reasons.clone(),
            queue: None,
            login_client,
            settings,
            ready_mode,
            last_activity_ms: now_ms,
        }
    }
}

impl AgentMachine {
    /// The agent as EventRegistered / EventAddressInfo and `DnSnapshotV1` show it.
    pub fn agent_session(&self) -> Option<AgentSession> {
        self.session.as_ref().map(|s| AgentSession {
            agent_id: s.agent_id.clone(),
            status: s.state.status(),
            work_mode: s.state.work_mode(),
            reasons: s.reasons.clone(),
        })
    }

    /// A machine whose agent comes from a `DnSnapshotV1` (no calls, no timers).
    pub fn with_agent_session(dn: DnName, dn_settings: AgentSettings, session: LoginSession) -> Self {
        let mut m = AgentMachine::new(dn, dn_settings);
        m.session = Some(session);
        m
    }
}
