//! The simulated Skype for Business world the Connector drives instead of a real SfB (UCMA):
//! users and their endpoints, Trusted Application Endpoints (Routing Points, conference services),
//! presence, conversations and calls (audio, video, IM), application conferences and the
//! conference pool, music on hold, ring-back and treatments, DTMF, and HA call records.
//!
//! It is pure and deterministic: no tokio, no actors, no I/O, no clock. Time is the `now: u64`
//! (milliseconds) every operation is given; what happens by itself (auto-answer, Response Group
//! alert time, treatment ends, conference scheduling and expiry, IM replay cut-off and idle
//! release) runs in `advance` (and before every operation). The Connector actor owns one [`World`],
//! calls it, and drains its events ([`SimEvent`]) in order. What it models and what it does not:
//! docs/simulation.md.

mod app;
mod calls;
mod conference;
mod config;
mod error;
mod event;
mod im;
mod media;
mod offer;
mod people;
mod presence;
mod record;
mod section;
mod timers;
mod traffic;
mod traffic_hooks;
mod traffic_run;
mod types;
mod users;
mod view;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod traffic_tests;

pub use calls::conversation_id_for;
pub use conference::{ConferenceState, ConferenceView, Hosting, HostingPolicy};
pub use config::{ResponseGroupSpec, SimConfig, SimConfigError, UserSpec};
pub use error::{NoConference, SimError};
pub use event::SimEvent;
pub use im::{ImMessage, MAX_TRANSCRIPT};
pub use media::check_digits;
pub use presence::{Presence, PresenceState, IN_A_CALL, MAX_AVAILABILITY};
pub use record::{CallRecord, ImRecord, PartyRecord, RecordVersion};
pub use section::{SimSection, SimUserSection};
pub use traffic::{
    AgentsSpec, Arrival, MediaMix, OneOrMany, Reply, SpanMs, TrafficCounters, TrafficProfile, TrafficRequest,
    TrafficView,
};
pub use types::{
    AnswerMode, Behavior, CallId, CallStarted, Cause, ConferenceId, ConferenceTicket, Direction, HuntMode, Media,
    PartyMode, PartyState, Playback, PlaybackStatus, PresenceType, UserKind,
};
pub use users::{domain_of, normalize_uri, MAX_USER_LOG};
pub use view::{
    CallSummary, CallView, DtmfEntry, ImEntry, PartySummary, PeerView, PlaybackNow, PlaybackRecord, PresenceView,
    UserView,
};

use calls::Call;
use conference::ConferencePool;
use std::collections::{BTreeMap, BTreeSet};
use timers::Timers;
use users::User;

/// The simulated Skype for Business world. `Clone` gives an independent copy (a test can fork a
/// scenario); `Debug` prints counts only.
#[derive(Clone)]
pub struct World {
    cfg: SimConfig,
    users: BTreeMap<String, User>,
    /// `tel:` LineURIs (and External Routing Point Associations) -> user.
    lines: BTreeMap<String, String>,
    calls: BTreeMap<CallId, Call>,
    next_call: u64,
    next_token: u64,
    conferences: ConferencePool,
    timers: Timers,
    events: Vec<SimEvent>,
    now: u64,
    /// Calls and users changed by the current step, whose derived state (playback, presence on a
    /// call) is brought up to date by `flush`.
    dirty_calls: BTreeSet<CallId>,
    dirty_users: BTreeSet<String>,
    /// The load interface's generated callers (`traffic_run.rs`).
    traffic: traffic_run::Traffic,
}

impl World {
    pub fn new(cfg: SimConfig) -> World {
        let mut users = BTreeMap::new();
        let mut lines = BTreeMap::new();
        for spec in &cfg.users {
            if let Some(l) = &spec.line_uri {
                lines.insert(l.clone(), spec.uri.clone());
            }
            let mut u = User::new(spec.clone());
            u.reported = None;
            users.insert(spec.uri.clone(), u);
        }
        World {
            cfg,
            users,
            lines,
            calls: BTreeMap::new(),
            next_call: 1,
            next_token: 0,
            conferences: ConferencePool::default(),
            timers: Timers::default(),
            events: Vec::new(),
            now: 0,
            dirty_calls: BTreeSet::new(),
            dirty_users: BTreeSet::new(),
            traffic: traffic_run::Traffic::default(),
        }
    }

    /// The configuration the world was built from.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Events queued since the last drain, in the order they happened.
    pub fn drain_events(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.events)
    }

    /// Brings derived state up to date: playback of changed calls, then presence on a call of
    /// changed users (reported to subscribers), dropping playback of calls a user left.
    fn flush(&mut self) {
        let calls = std::mem::take(&mut self.dirty_calls);
        let mut users = std::mem::take(&mut self.dirty_users);
        for id in calls {
            if let Some(c) = self.calls.get(&id) {
                users.extend(c.parties.iter().map(|p| p.uri.clone()));
            }
            self.refresh_playback(id);
        }
        for uri in users {
            let Some(u) = self.users.get(&uri) else { continue };
            let on_call = u.calls.iter().any(|id| {
                let c = &self.calls[id];
                c.media.is_av()
                    && c.party(&uri).is_some_and(|p| matches!(p.state, PartyState::Connected | PartyState::Held))
            });
            let stale: Vec<CallId> =
                u.playing.keys().filter(|id| !self.calls.get(id).is_some_and(|c| c.has(&uri))).copied().collect();
            for id in stale {
                self.end_playing(&uri, id, PlaybackStatus::Interrupted);
            }
            self.user_mut(&uri).on_call = on_call;
            self.presence_touch(&uri);
        }
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("domain", &self.cfg.domain)
            .field("now", &self.now)
            .field("users", &self.users.len())
            .field("calls", &self.calls.len())
            .field("queued_events", &self.events.len())
            .field("next_deadline", &self.next_deadline())
            .finish()
    }
}
