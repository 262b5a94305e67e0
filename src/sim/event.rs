//! What the simulated world tells the application (the Connector), in order. Only events about
//! monitored conversations, subscribed presences and the application's own conferences are ever
//! queued: a call between two unmonitored users is invisible, as in the guide's "Call
//! Monitoring". Data only; this module never decides when an event is emitted.

use super::types::{CallId, Cause, ConferenceId, Direction, Media, PartyState, Playback, PlaybackStatus, PresenceType};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum SimEvent {
    /// A call became visible to the application: created monitored, or a monitored party joined.
    /// The PartyCreated of every party already in the call follows.
    CallCreated {
        call: CallId,
        conversation_id: String,
        media: Media,
        from: String,
        to: String,
        direction: Direction,
        monitored: bool,
    },
    PartyCreated {
        call: CallId,
        party: String,
        state: PartyState,
    },
    PartyStateChanged {
        call: CallId,
        party: String,
        state: PartyState,
        cause: Cause,
    },
    /// The party left (its state is then Disconnected).
    PartyDeleted {
        call: CallId,
        party: String,
        cause: Cause,
    },
    /// Always after the PartyDeleted of every party of the call.
    CallDeleted {
        call: CallId,
        cause: Cause,
    },
    /// Voice <-> video escalation of the same call (guide: "the underlying call stays the same").
    MediaChanged {
        call: CallId,
        media: Media,
    },
    PresenceChanged {
        user: String,
        availability: u32,
        activity: Option<String>,
        presence_type: PresenceType,
    },
    /// An IM a person sent in a monitored IM call.
    ImReceived {
        call: CallId,
        from: String,
        text: String,
    },
    DtmfReceived {
        call: CallId,
        party: String,
        digits: String,
    },
    /// A treatment started with `app_play` ended.
    PlaybackEnded {
        call: CallId,
        party: String,
        what: Playback,
        status: PlaybackStatus,
    },
    ConferenceScheduled {
        id: ConferenceId,
        endpoint: String,
    },
    ConferenceFailed {
        id: ConferenceId,
        endpoint: String,
        reason: String,
    },
    /// Skype for Business expired a scheduled conference (`conference-expiry`).
    ConferenceExpired {
        id: ConferenceId,
        endpoint: String,
    },
}

impl SimEvent {
    /// The call an event is about, if any.
    pub fn call(&self) -> Option<CallId> {
        match self {
            SimEvent::CallCreated { call, .. }
            | SimEvent::PartyCreated { call, .. }
            | SimEvent::PartyStateChanged { call, .. }
            | SimEvent::PartyDeleted { call, .. }
            | SimEvent::CallDeleted { call, .. }
            | SimEvent::MediaChanged { call, .. }
            | SimEvent::ImReceived { call, .. }
            | SimEvent::DtmfReceived { call, .. }
            | SimEvent::PlaybackEnded { call, .. } => Some(*call),
            _ => None,
        }
    }
}
