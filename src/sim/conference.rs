//! The conference pool (guide: "Conference Resource Pools", "Disable Lobby Bypass"): conferences
//! scheduled on the `[conference-services]` Trusted Application Endpoints, refused when the
//! LobbyBypass flag disagrees with the pool's `PstnCallersBypassLobby`, completed at the
//! configured scheduling rate (the CPS bottleneck), reused by calls and expired by Skype for
//! Business after `conference-expiry`. Also picks the conference that hosts an application call:
//! a free scheduled one, else one scheduled on demand (ad hoc) — unless
//! `require-scheduled-conference`, or the application's [`HostingPolicy`] says it schedules none
//! on demand or asks a LobbyBypass flag the pool refuses. Never changes parties.

use super::calls::Host;
use super::error::{NoConference, SimError};
use super::event::SimEvent;
use super::timers::Timer;
use super::types::{CallId, ConferenceId, ConferenceTicket, UserKind};
use super::World;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ConferenceState {
    /// Waiting for its turn (scheduling rate); `failure` is what SfB will answer, if it refuses.
    Scheduling {
        failure: Option<String>,
    },
    Ready,
    InUse {
        call: CallId,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceView {
    pub id: ConferenceId,
    pub endpoint: String,
    pub lobby_bypass: bool,
    pub state: ConferenceState,
    pub ready_at: u64,
    /// Expired while in use: removed when the call ends.
    pub expire_when_free: bool,
}

/// How the application (the Connector) hosts calls, as its configuration says. Until it sets
/// one, any call that needs a conference gets one (scheduled or ad hoc) and a used conference is
/// free again after its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostingPolicy {
    /// The LobbyBypass flag it schedules every conference with (`lobby-bypass-enabled`): an ad-hoc
    /// conference is refused like a scheduled one when it disagrees with the pool.
    pub lobby_bypass: bool,
    /// Whether a call finding no free scheduled conference gets one scheduled on demand.
    pub on_demand: bool,
    /// Whether a scheduled conference is reused after its call (`caching-enabled`); otherwise it
    /// is deleted when its call ends.
    pub reuse: bool,
}

/// What hosts a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Hosting {
    Scheduled { conference: ConferenceId },
    AdHoc,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ConferencePool {
    confs: BTreeMap<ConferenceId, ConferenceView>,
    next_id: u64,
    /// When the last scheduling (under a rate limit) completes.
    last_done: u64,
    round_robin: usize,
    policy: Option<HostingPolicy>,
}

impl World {
    /// Why SfB refuses to schedule a conference with this LobbyBypass flag, if it does.
    fn lobby_failure(&self, lobby_bypass: bool) -> Option<String> {
        let pool = self.cfg.pstn_callers_bypass_lobby;
        (lobby_bypass != pool).then(|| {
            format!(
                "lobby settings are inconsistent: the conference asks LobbyBypass={lobby_bypass} but the Skype for \
                 Business pool has PstnCallersBypassLobby={pool}; conferences cannot be scheduled until \
                 [conference-services] lobby-bypass-enabled matches the pool (guide: \"Disable Lobby Bypass\")"
            )
        })
    }

    /// Schedules a conference on a conference-service endpoint. Without a scheduling rate it is
    /// ready at once (ConferenceScheduled is queued) or refused; with a rate it completes at
    /// `ready_at`, with ConferenceScheduled or ConferenceFailed.
    pub fn schedule_conference(
        &mut self,
        now: u64,
        endpoint: &str,
        lobby_bypass: bool,
    ) -> Result<ConferenceTicket, SimError> {
        let now = self.begin(now);
        let uri = self
            .lookup(endpoint)
            .filter(|u| self.kind_of(u) == UserKind::ConferenceService)
            .ok_or_else(|| SimError::UnknownUser(endpoint.trim().to_string()))?;
        let failure = self.lobby_failure(lobby_bypass);
        let rate = self.cfg.conference_scheduling_rate.filter(|r| *r > 0);
        if let (None, Some(reason)) = (rate, &failure) {
            return Err(SimError::Refused(reason.clone()));
        }
        let pool = &mut self.conferences;
        pool.next_id += 1;
        let id = ConferenceId(pool.next_id);
        let ready_at = match rate {
            Some(r) => {
                let interval = 1000u64.div_ceil(r as u64);
                pool.last_done = pool.last_done.max(now) + interval;
                pool.last_done
            }
            None => now,
        };
        let state = ConferenceState::Scheduling { failure };
        let view = ConferenceView { id, endpoint: uri.clone(), lobby_bypass, state, ready_at, expire_when_free: false };
        pool.confs.insert(id, view);
        if rate.is_some() {
            self.timers.arm(ready_at, Timer::ConferenceReady { id });
        } else {
            self.conference_ready(id);
        }
        self.finish(now);
        Ok(ConferenceTicket { id, endpoint: uri, ready_at })
    }

    pub(crate) fn conference_ready(&mut self, id: ConferenceId) {
        let expiry = self.now + self.cfg.conference_expiry_ms;
        let Some(c) = self.conferences.confs.get_mut(&id) else { return };
        let ConferenceState::Scheduling { failure } = c.state.clone() else { return };
        let endpoint = c.endpoint.clone();
        match failure {
            Some(reason) => {
                self.conferences.confs.remove(&id);
                self.events.push(SimEvent::ConferenceFailed { id, endpoint, reason });
            }
            None => {
                c.state = ConferenceState::Ready;
                self.timers.arm(expiry, Timer::ConferenceExpiry { id });
                self.events.push(SimEvent::ConferenceScheduled { id, endpoint });
            }
        }
    }

    pub(crate) fn conference_expiry(&mut self, id: ConferenceId) {
        let Some(c) = self.conferences.confs.get_mut(&id) else { return };
        if matches!(c.state, ConferenceState::InUse { .. }) {
            c.expire_when_free = true;
            return;
        }
        let endpoint = c.endpoint.clone();
        self.conferences.confs.remove(&id);
        self.events.push(SimEvent::ConferenceExpired { id, endpoint });
    }

    /// Scheduled conferences, in id order.
    pub fn conferences(&self) -> Vec<ConferenceView> {
        self.conferences.confs.values().cloned().collect()
    }

    /// One scheduled conference (None once it failed, expired or was deleted).
    pub fn conference(&self, id: ConferenceId) -> Option<&ConferenceView> {
        self.conferences.confs.get(&id)
    }

    /// What hosts a call (None: peer-to-peer, or no such call).
    pub fn hosting(&self, call: CallId) -> Option<Hosting> {
        let host = self.calls.get(&call)?.host.as_ref()?;
        Some(match host.conference {
            Some(conference) => Hosting::Scheduled { conference },
            None => Hosting::AdHoc,
        })
    }

    /// The application says how it hosts calls (its Connector configuration).
    pub fn set_hosting_policy(&mut self, policy: HostingPolicy) {
        self.conferences.policy = Some(policy);
    }

    /// Whether a call can be hosted by an application conference now.
    pub(crate) fn check_host(&self, id: Option<CallId>) -> Result<(), SimError> {
        if id.is_some_and(|id| self.call(id).host.is_some())
            || self.conferences.confs.values().any(|c| c.state == ConferenceState::Ready)
        {
            return Ok(());
        }
        let exhausted = |why: &str| Err(SimError::NoConference(NoConference::Exhausted(why.into())));
        if self.cfg.require_scheduled_conference {
            return exhausted("no scheduled conference is free (require-scheduled-conference is set)");
        }
        match self.conferences.policy {
            Some(p) if !p.on_demand => exhausted(
                "the conference pool is exhausted: every conference the application scheduled is in use and it \
                 schedules none on demand (conference-pool-size is set with caching-enabled = 0)",
            ),
            Some(p) => match self.lobby_failure(p.lobby_bypass) {
                Some(reason) => Err(SimError::NoConference(NoConference::Lobby(reason))),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Checks that the application's scheduled conference `conference` is free to host a call.
    pub(crate) fn check_conference(&self, conference: ConferenceId) -> Result<(), SimError> {
        match self.conferences.confs.get(&conference) {
            Some(c) if c.state == ConferenceState::Ready => Ok(()),
            Some(c) => Err(SimError::state(format!("conference {conference} Ready"), &c.state)),
            None => Err(SimError::Refused(format!("conference {conference} is not scheduled (or has expired)"))),
        }
    }

    /// Hosts call `id` in the scheduled conference `conference` (checked with
    /// [`Self::check_conference`]).
    pub(crate) fn host_in(&mut self, id: CallId, conference: ConferenceId) {
        let c = self.conferences.confs.get_mut(&conference).expect("checked conference");
        c.state = ConferenceState::InUse { call: id };
        let host = Host { endpoint: c.endpoint.clone(), conference: Some(conference) };
        self.call_mut(id).host = Some(host);
    }

    /// Moves a call into an application conference if it is not in one (callers ran
    /// [`Self::check_host`] first).
    pub(crate) fn ensure_hosted(&mut self, id: CallId) {
        if self.call(id).host.is_some() {
            return;
        }
        let free = self.conferences.confs.values_mut().find(|c| c.state == ConferenceState::Ready);
        let host = match free {
            Some(c) => {
                c.state = ConferenceState::InUse { call: id };
                Host { endpoint: c.endpoint.clone(), conference: Some(c.id) }
            }
            None => {
                let eps = &self.cfg.conference_endpoints;
                let endpoint = if eps.is_empty() {
                    format!("sip:focus@{}", self.cfg.domain)
                } else {
                    self.conferences.round_robin += 1;
                    eps[(self.conferences.round_robin - 1) % eps.len()].clone()
                };
                Host { endpoint, conference: None }
            }
        };
        self.call_mut(id).host = Some(host);
        self.dirty_calls.insert(id);
    }

    /// A call ended: its scheduled conference is free again, expires now if it was due, or is
    /// deleted when the application does not reuse conferences.
    pub(crate) fn release_host(&mut self, host: Host) {
        let Some(id) = host.conference else { return };
        let reuse = self.conferences.policy.is_none_or(|p| p.reuse);
        let Some(c) = self.conferences.confs.get_mut(&id) else { return };
        if c.expire_when_free {
            let endpoint = c.endpoint.clone();
            self.conferences.confs.remove(&id);
            self.events.push(SimEvent::ConferenceExpired { id, endpoint });
        } else if !reuse {
            self.conferences.confs.remove(&id);
        } else {
            c.state = ConferenceState::Ready;
        }
    }
}
