//! After-call work and legal guard (guide, Emulated Agents: "Emulated After-Call Work", "ACW in
//! Idle", "Extending ACW"; Attribute Extensions: WrapUpTime, LegalGuardTime). Pure functions from
//! the current state, the agent's settings and the request's extensions to the next state; the
//! machine emits the events and arms the timers the new state implies.
//!
//! - After the last established business call is released: Ready -> ACW for `wrap-up-time`
//!   (untimed, or none when 0), and so does LegalGuard; ACW requested during the call -> ACW
//!   starts now; NotReady stays.
//! - TAgentNotReady(AfterCallWork) when idle: ACW in idle, timed by the request's WrapUpTime, else
//!   by `wrap-up-time` when `timed-acw-in-idle` is true, else untimed (a zero period is untimed:
//!   the agent asked for ACW, a 0 s timer would end it at once).
//! - The same request while in ACW extends it: WrapUpTime 0 (or none) reports the remaining time,
//!   +N adds N s to a timed ACW, `untimed` makes it untimed.
//! - A timed ACW ends in Ready (after a call, or in idle with `acw-in-idle-force-ready`), else in
//!   the state before the ACW. Every automatic return to Ready waits `legal-guard-time` in
//!   NotReady(LegalGuard) first.

use super::settings::{AgentSettings, WrapUp};
use super::types::{AcwPeriod, AgentState, Resume};
use crate::model::{AgentWorkMode, KvList};

/// The state after TAgentNotReady(AfterCallWork) (or a login in that work mode).
pub(super) fn requested(
    current: &AgentState,
    busy: bool,
    extensions: &KvList,
    settings: &AgentSettings,
    ready_mode: AgentWorkMode,
    reasons: &KvList,
    now: u64,
) -> AgentState {
    let wanted = WrapUp::from_extensions(extensions);
    if let AgentState::AfterCallWork { period, resume } = current {
        return AgentState::AfterCallWork { period: extend(period, wanted, now), resume: resume.clone() };
    }
    if busy {
        // ACW on a call starts when the call ends; it is after-call work and ends in Ready.
        return AgentState::AfterCallWork {
            period: AcwPeriod::Pending { requested: wanted },
            resume: Resume::Ready { mode: ready_mode },
        };
    }
    let resume = if settings.acw_in_idle_force_ready {
        Resume::Ready { mode: ready_mode }
    } else {
        match current {
            AgentState::NotReady { mode } => Resume::NotReady { mode: *mode, reasons: reasons.clone() },
            AgentState::Ready { mode } => Resume::Ready { mode: *mode },
            _ => Resume::Ready { mode: ready_mode },
        }
    };
    AgentState::AfterCallWork { period: start(idle_period(wanted, settings), now), resume }
}

/// The period of an ACW in idle.
pub(super) fn idle_period(wanted: Option<WrapUp>, settings: &AgentSettings) -> WrapUp {
    let period = match wanted {
        Some(w) => w,
        None if settings.timed_acw_in_idle => settings.wrap_up,
        None => WrapUp::Untimed,
    };
    if period.is_zero() {
        WrapUp::Untimed
    } else {
        period
    }
}

/// The period an ACW requested during a call gets when the call ends.
pub(crate) fn pending_period(wanted: Option<WrapUp>, settings: &AgentSettings) -> WrapUp {
    match wanted.filter(|w| !w.is_zero()) {
        Some(w) => w,
        None if settings.wrap_up.is_zero() => WrapUp::Untimed,
        None => settings.wrap_up,
    }
}

pub(super) fn start(period: WrapUp, now: u64) -> AcwPeriod {
    match period {
        WrapUp::Timed(ms) => AcwPeriod::Timed { until_ms: now.saturating_add(ms) },
        WrapUp::Untimed => AcwPeriod::Untimed,
    }
}

/// Extending ACW (guide: 0 -> no change, +N -> N more seconds of a timed ACW, untimed -> untimed).
pub(super) fn extend(period: &AcwPeriod, wanted: Option<WrapUp>, now: u64) -> AcwPeriod {
    match (period, wanted) {
        (AcwPeriod::Pending { requested }, w) => AcwPeriod::Pending { requested: w.or(*requested) },
        (_, Some(WrapUp::Untimed)) => AcwPeriod::Untimed,
        (AcwPeriod::Timed { until_ms }, Some(WrapUp::Timed(ms))) => {
            AcwPeriod::Timed { until_ms: (*until_ms).max(now).saturating_add(ms) }
        }
        (p, _) => p.clone(),
    }
}

/// The state after the last established business call on the DN is released; None: unchanged.
pub(super) fn after_call(state: &AgentState, settings: &AgentSettings, now: u64) -> Option<AgentState> {
    match state {
        // A legal guard still running counts as the Ready it leads to.
        AgentState::Ready { mode } | AgentState::LegalGuard { ready_mode: mode, .. } if settings.wrap_up.is_zero() => {
            legal_guard(settings, *mode, now)
        }
        AgentState::Ready { mode } | AgentState::LegalGuard { ready_mode: mode, .. } => {
            Some(AgentState::AfterCallWork {
                period: start(settings.wrap_up, now),
                resume: Resume::Ready { mode: *mode },
            })
        }
        AgentState::AfterCallWork { period, resume } => {
            let period = match period {
                AcwPeriod::Pending { requested } => start(pending_period(*requested, settings), now),
                // An ACW already running (in idle, or from an earlier call) restarts with the
                // after-call period, or keeps its own when wrap-up-time gives none.
                running if settings.wrap_up.is_zero() => running.clone(),
                _ => start(settings.wrap_up, now),
            };
            Some(AgentState::AfterCallWork { period, resume: resume.clone() })
        }
        AgentState::NotReady { .. } => None,
    }
}

/// Where a timed ACW ends: the state and the reasons to report with it.
pub(super) fn ended(resume: &Resume, settings: &AgentSettings, now: u64) -> (AgentState, KvList) {
    match resume {
        Resume::Ready { mode } => {
            (legal_guard(settings, *mode, now).unwrap_or(AgentState::Ready { mode: *mode }), KvList::new())
        }
        Resume::NotReady { mode, reasons } => (AgentState::NotReady { mode: *mode }, reasons.clone()),
    }
}

/// NotReady(LegalGuard) before an automatic return to Ready, when `legal-guard-time` is set.
pub(super) fn legal_guard(settings: &AgentSettings, ready_mode: AgentWorkMode, now: u64) -> Option<AgentState> {
    (settings.legal_guard_ms > 0)
        .then(|| AgentState::LegalGuard { until_ms: now.saturating_add(settings.legal_guard_ms), ready_mode })
}
