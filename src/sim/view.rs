//! Read-only views of the world for people, tests and the admin endpoint: a user's presence, calls
//! (state, peers, who they hear, what is played), received IMs and DTMF, and playback history;
//! and a summary of every call. Serialize-only snapshots built on demand; this module never
//! changes the world.

use super::calls::Call;
use super::error::SimError;
use super::presence::{Presence, PresenceState};
use super::types::{CallId, Direction, Media, PartyMode, PartyState, Playback, PlaybackStatus, PresenceType, UserKind};
use super::World;
use serde::{Deserialize, Serialize};

/// An IM a user received (live, or replayed by the IM MCU to a late joiner).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImEntry {
    pub at: u64,
    pub call: CallId,
    pub from: String,
    pub text: String,
    /// When the message was sent (differs from `at` for a replay).
    pub sent_at: u64,
    pub replayed: bool,
}

/// DTMF digits a user heard from another party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtmfEntry {
    pub at: u64,
    pub call: CallId,
    pub from: String,
    pub digits: String,
}

/// What is being played to a user on a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackNow {
    pub call: CallId,
    pub what: Playback,
    pub since: u64,
}

/// A finished playback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackRecord {
    pub call: CallId,
    pub what: Playback,
    pub started_at: u64,
    pub ended_at: u64,
    pub status: PlaybackStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceView {
    pub availability: u32,
    pub activity: Option<String>,
    pub state: PresenceState,
    pub presence_type: PresenceType,
    /// What the user set (differs from the above while on a call, or for a federated user).
    pub base: Presence,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    pub uri: String,
    pub state: PartyState,
    pub mode: PartyMode,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallView {
    pub id: CallId,
    pub conversation_id: String,
    pub media: Media,
    pub direction: Direction,
    pub state: PartyState,
    pub mode: PartyMode,
    /// Endpoints (1-based) still alerting; after an answer, the endpoint that answered.
    pub alerting_endpoints: Vec<u32>,
    pub answered_on: Option<u32>,
    pub peers: Vec<PeerView>,
    /// Parties this user hears (URIs); playback comes on top, see `playback`.
    pub hears: Vec<String>,
    pub playback: Option<Playback>,
    /// The conference endpoint hosting the call (None: peer-to-peer).
    pub conference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub uri: String,
    pub kind: UserKind,
    pub federated: bool,
    pub endpoints: u32,
    pub registered: bool,
    pub subscribed: bool,
    pub presence: Option<PresenceView>,
    pub calls: Vec<CallView>,
    pub ims: Vec<ImEntry>,
    pub dtmf: Vec<DtmfEntry>,
    /// The most recently started playback still running.
    pub playback: Option<PlaybackNow>,
    pub playback_history: Vec<PlaybackRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartySummary {
    pub uri: String,
    pub state: PartyState,
    pub mode: PartyMode,
    pub hears: Vec<String>,
}

/// One call as the world holds it (admin view; tests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub id: CallId,
    pub conversation_id: String,
    pub media: Media,
    pub direction: Direction,
    pub monitored: bool,
    pub from: String,
    pub to: String,
    pub created_at: u64,
    pub conference: Option<String>,
    pub parties: Vec<PartySummary>,
    pub im_messages: usize,
}

impl World {
    pub fn user_view(&self, user: &str) -> Result<UserView, SimError> {
        let uri = self.known(user)?;
        let u = self.user(&uri);
        let presence = u.is_sfb_person().then(|| {
            let p = self.reported_presence(&uri);
            PresenceView {
                state: PresenceState::of(p.availability),
                availability: p.availability,
                activity: p.activity,
                presence_type: self.presence_type(&uri),
                base: u.base.clone(),
            }
        });
        let calls = u.calls.iter().filter_map(|id| self.call_view_for(&self.calls[id], &uri)).collect();
        let playback = u.playing.values().max_by_key(|p| (p.since, p.call)).cloned();
        Ok(UserView {
            uri: uri.clone(),
            kind: u.kind(),
            federated: u.spec.federated,
            endpoints: u.spec.endpoints,
            registered: u.registered,
            subscribed: u.subscribed,
            presence,
            calls,
            ims: u.ims.clone(),
            dtmf: u.dtmf.clone(),
            playback,
            playback_history: u.history.clone(),
        })
    }

    fn call_view_for(&self, c: &Call, uri: &str) -> Option<CallView> {
        let p = c.party(uri)?;
        let peers = c
            .parties
            .iter()
            .filter(|q| q.uri != uri)
            .map(|q| PeerView { uri: q.uri.clone(), state: q.state, mode: q.mode })
            .collect();
        Some(CallView {
            id: c.id,
            conversation_id: c.conversation_id.clone(),
            media: c.media,
            direction: c.direction,
            state: p.state,
            mode: p.mode,
            alerting_endpoints: p.alerting.clone(),
            answered_on: p.answered_on,
            peers,
            hears: self.hears(c, uri),
            playback: self.user(uri).playing.get(&c.id).map(|n| n.what.clone()),
            conference: c.host.as_ref().map(|h| h.endpoint.clone()),
        })
    }

    /// Every call of the world, monitored or not.
    pub fn calls(&self) -> Vec<CallSummary> {
        self.calls.values().map(|c| self.summary(c)).collect()
    }

    pub fn call_view(&self, call: CallId) -> Result<CallSummary, SimError> {
        self.calls.get(&call).map(|c| self.summary(c)).ok_or(SimError::NoSuchCall(call))
    }

    fn summary(&self, c: &Call) -> CallSummary {
        CallSummary {
            id: c.id,
            conversation_id: c.conversation_id.clone(),
            media: c.media,
            direction: c.direction,
            monitored: c.monitored,
            from: c.from.clone(),
            to: c.to.clone(),
            created_at: c.created_at,
            conference: c.host.as_ref().map(|h| h.endpoint.clone()),
            parties: c
                .parties
                .iter()
                .map(|p| PartySummary {
                    uri: p.uri.clone(),
                    state: p.state,
                    mode: p.mode,
                    hears: self.hears(c, &p.uri),
                })
                .collect(),
            im_messages: c.im.as_ref().map_or(0, |i| i.messages.len()),
        }
    }
}
