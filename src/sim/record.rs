//! High availability: the call records the Connector persists so that calls survive a Connector
//! restart (`export_calls` / `import_calls`). A record holds the call's identity (id,
//! Conversation-ID, media, direction), its hosting conference and its parties with states and
//! modes; an IM call's record also holds the MCU transcript, so IM calls are recovered too (the
//! guide says a real Connector cannot; see docs/simulation.md). Records carry their format version; an import
//! is all-or-nothing and emits no call events (the Connector already knows these calls).

use super::calls::{Call, Host, Party};
use super::error::SimError;
use super::im::{ImMessage, ImSession};
use super::types::{CallId, Direction, Media, PartyMode, PartyState};
use super::World;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Versions of the record format (`"version": "V1"` in JSON). A new version adds a variant and
/// an upgrade in `import_calls`; records of older versions stay readable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordVersion {
    #[default]
    V1,
}

/// What the Connector persists about one call to recover it after a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub version: RecordVersion,
    pub call: CallId,
    pub conversation_id: String,
    pub media: Media,
    pub direction: Direction,
    pub monitored: bool,
    pub from: String,
    pub to: String,
    pub created_at: u64,
    /// The conference endpoint hosting the call (None: peer-to-peer).
    pub conference: Option<String>,
    pub parties: Vec<PartyRecord>,
    /// IM calls: the MCU session.
    pub im: Option<ImRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyRecord {
    pub uri: String,
    pub state: PartyState,
    pub mode: PartyMode,
    pub since: u64,
    pub joined_at: u64,
    pub alerting: Vec<u32>,
    pub answered_on: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImRecord {
    pub started_at: u64,
    pub replay_open: bool,
    pub last_activity: u64,
    pub transcript: Vec<ImMessage>,
}

fn record_of(c: &Call) -> CallRecord {
    CallRecord {
        version: RecordVersion::V1,
        call: c.id,
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
            .map(|p| PartyRecord {
                uri: p.uri.clone(),
                state: p.state,
                mode: p.mode,
                since: p.since,
                joined_at: p.joined_at,
                alerting: p.alerting.clone(),
                answered_on: p.answered_on,
            })
            .collect(),
        im: c.im.as_ref().map(|i| ImRecord {
            started_at: i.started_at,
            replay_open: i.replay_open,
            last_activity: i.last_activity,
            transcript: i.messages.clone(),
        }),
    }
}

impl World {
    /// Every call of the world, as records (monitored or not; `monitored` says which).
    pub fn export_calls(&self) -> Vec<CallRecord> {
        self.calls.values().map(record_of).collect()
    }

    /// The record of one call, if the world holds it. The Connector asks for the call an event
    /// was about, on every event: building the records of every call in progress and keeping
    /// one made that O(calls in progress) per event.
    pub fn export_call(&self, call: CallId) -> Option<CallRecord> {
        self.calls.get(&call).map(record_of)
    }

    fn check_record(&self, r: &CallRecord) -> Result<(), SimError> {
        let bad = |why: String| SimError::BadArgument(format!("call record {}: {why}", r.call));
        if r.parties.is_empty() {
            return Err(bad("no parties".into()));
        }
        let mut seen = BTreeSet::new();
        for p in &r.parties {
            match self.target(&p.uri) {
                Ok(t) if seen.insert(t.uri().to_string()) => {}
                Ok(t) => return Err(bad(format!("{} appears twice", t.uri()))),
                Err(_) => return Err(SimError::UnknownUser(p.uri.clone())),
            }
            if p.state == PartyState::Disconnected {
                return Err(bad(format!("{} is Disconnected", p.uri)));
            }
        }
        if (r.media == Media::Im) != r.im.is_some() {
            return Err(bad("an IM call record, and only one, carries the IM session".into()));
        }
        Ok(())
    }

    /// Restores calls after a restart; returns how many were restored. Calls already in the world
    /// are left alone, and IM calls are skipped when `recover-im-calls` is false. Alerting parties
    /// keep alerting (their answer behaviour is re-armed); hunts (simultaneous ring, Response
    /// Groups) and treatments are not restored.
    pub fn import_calls(&mut self, records: Vec<CallRecord>) -> Result<usize, SimError> {
        for r in &records {
            self.check_record(r)?;
        }
        let now = self.now;
        let mut restored = 0;
        for r in records {
            if self.calls.contains_key(&r.call) || (r.media == Media::Im && !self.cfg.recover_im_calls) {
                continue;
            }
            let mut parties = Vec::new();
            for p in &r.parties {
                let uri = self.materialize_uri(&p.uri);
                let token = self.token();
                parties.push(Party {
                    uri,
                    state: p.state,
                    mode: p.mode,
                    since: p.since,
                    joined_at: p.joined_at,
                    alerting: p.alerting.clone(),
                    answered_on: p.answered_on,
                    token,
                    hunt: None,
                });
            }
            let id = r.call;
            let call = Call {
                id,
                conversation_id: r.conversation_id,
                media: r.media,
                direction: r.direction,
                monitored: r.monitored,
                from: r.from,
                to: r.to,
                created_at: r.created_at,
                host: r.conference.map(|endpoint| Host { endpoint, conference: None }),
                parties,
                hunts: Vec::new(),
                next_hunt: 1,
                im: r.im.map(|i| ImSession {
                    started_at: i.started_at,
                    messages: i.transcript,
                    replay_open: i.replay_open,
                    last_activity: i.last_activity,
                }),
                treatments: BTreeMap::new(),
            };
            let uris: Vec<String> = call.parties.iter().map(|p| p.uri.clone()).collect();
            self.calls.insert(id, call);
            self.next_call = self.next_call.max(id.0 + 1);
            for uri in uris {
                self.user_mut(&uri).calls.insert(id);
                self.dirty_users.insert(uri.clone());
                self.arm_alert_timers(id, &uri);
            }
            self.arm_im_timers(id, now);
            self.dirty_calls.insert(id);
            restored += 1;
        }
        self.finish(now);
        Ok(restored)
    }
}
