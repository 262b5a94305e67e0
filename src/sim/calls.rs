//! Conversations and calls: the call record (media, Conversation-ID, parties, hosting conference,
//! Response Group / simultaneous-ring hunts, IM session, treatments) and the primitive changes
//! every operation is built from — create a call, add a party, change a party's state, remove a
//! party, settle a call after a party left, end a call — each queueing its event in order when
//! the conversation is monitored. Never decides who is offered a call (see `offer.rs`) and never
//! validates requests (callers do, before changing anything).

use super::event::SimEvent;
use super::im::ImSession;
use super::types::{CallId, Cause, ConferenceId, Direction, Media, PartyMode, PartyState, Playback, UserKind};
use super::World;
use std::collections::{BTreeMap, VecDeque};

/// The application conference hosting a call (None on the call: a peer-to-peer call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    pub endpoint: String,
    /// The scheduled conference in use (None: an ad-hoc conference).
    pub conference: Option<ConferenceId>,
}

#[derive(Clone, Debug)]
pub(crate) struct Party {
    pub uri: String,
    pub state: PartyState,
    pub mode: PartyMode,
    /// When the party entered its current state.
    pub since: u64,
    pub joined_at: u64,
    /// Endpoints (1-based) still alerting.
    pub alerting: Vec<u32>,
    pub answered_on: Option<u32>,
    /// Identifies this offer for timers (a stale timer finds another token).
    pub token: u64,
    /// The hunt (forking group) this party was offered in.
    pub hunt: Option<u32>,
}

/// Parties offered together where the first to answer wins: a simultaneous-ring group or a
/// Response Group's members (serial: one at a time from `queue`).
#[derive(Clone, Debug)]
pub(crate) struct Hunt {
    pub id: u32,
    pub members: Vec<String>,
    pub queue: VecDeque<String>,
    /// A Response Group's alert time (None: no limit).
    pub alert_ms: Option<u64>,
    pub serial: bool,
    pub response_group: Option<String>,
    pub token: u64,
}

/// A treatment the application is playing to a party.
#[derive(Clone, Debug)]
pub(crate) struct Treatment {
    pub what: Playback,
    pub token: u64,
    pub digits: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub id: CallId,
    pub conversation_id: String,
    pub media: Media,
    pub direction: Direction,
    pub monitored: bool,
    pub from: String,
    pub to: String,
    pub created_at: u64,
    pub host: Option<Host>,
    pub parties: Vec<Party>,
    pub hunts: Vec<Hunt>,
    pub next_hunt: u32,
    pub im: Option<ImSession>,
    pub treatments: BTreeMap<String, Treatment>,
}

impl Call {
    pub fn party(&self, uri: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.uri == uri)
    }
    pub fn party_mut(&mut self, uri: &str) -> Option<&mut Party> {
        self.parties.iter_mut().find(|p| p.uri == uri)
    }
    pub fn has(&self, uri: &str) -> bool {
        self.party(uri).is_some()
    }
    pub fn hunt_mut(&mut self, id: u32) -> Option<&mut Hunt> {
        self.hunts.iter_mut().find(|h| h.id == id)
    }
}

/// A 32-hex-digit Conversation-ID derived from the id of the call that starts the conversation:
/// unique because call ids are never reused, deterministic for reproducible runs.
pub fn conversation_id_for(call: CallId) -> String {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    format!("{:016x}{:016x}", mix(call.0), mix(call.0 ^ 0x5346_4253_494d_0001))
}

fn direction(from: UserKind, to: UserKind) -> Direction {
    match (from, to) {
        (UserKind::External, UserKind::External) => Direction::Internal,
        (UserKind::External, _) => Direction::Inbound,
        (_, UserKind::External) => Direction::Outbound,
        _ => Direction::Internal,
    }
}

impl World {
    /// Creates an empty call (parties are added next).
    pub(crate) fn new_call(
        &mut self,
        now: u64,
        media: Media,
        from: &str,
        to: &str,
        conversation: Option<String>,
        monitored: bool,
    ) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let call = Call {
            id,
            conversation_id: conversation.unwrap_or_else(|| conversation_id_for(id)),
            media,
            direction: direction(self.kind_of(from), self.kind_of(to)),
            monitored: false,
            from: from.to_string(),
            to: to.to_string(),
            created_at: now,
            host: None,
            parties: Vec::new(),
            hunts: Vec::new(),
            next_hunt: 1,
            im: (media == Media::Im).then(|| ImSession::new(now)),
            treatments: BTreeMap::new(),
        };
        self.calls.insert(id, call);
        if media == Media::Im {
            self.arm_im_timers(id, now);
        }
        if monitored {
            self.mark_monitored(id);
        }
        self.dirty_calls.insert(id);
        id
    }

    pub(crate) fn call(&self, id: CallId) -> &Call {
        &self.calls[&id]
    }
    pub(crate) fn call_mut(&mut self, id: CallId) -> &mut Call {
        self.calls.get_mut(&id).expect("live call")
    }

    pub(crate) fn emit_call(&mut self, id: CallId, ev: SimEvent) {
        if self.calls.get(&id).is_some_and(|c| c.monitored) {
            self.events.push(ev);
        }
    }

    /// Makes a call visible: CallCreated, then the PartyCreated of every party already in it.
    pub(crate) fn mark_monitored(&mut self, id: CallId) {
        let c = self.call_mut(id);
        if c.monitored {
            return;
        }
        c.monitored = true;
        let c = self.call(id);
        let mut evs = vec![SimEvent::CallCreated {
            call: id,
            conversation_id: c.conversation_id.clone(),
            media: c.media,
            from: c.from.clone(),
            to: c.to.clone(),
            direction: c.direction,
            monitored: true,
        }];
        evs.extend(c.parties.iter().map(|p| SimEvent::PartyCreated { call: id, party: p.uri.clone(), state: p.state }));
        self.events.extend(evs);
    }

    pub(crate) fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    pub(crate) fn add_party(&mut self, id: CallId, uri: &str, state: PartyState, mode: PartyMode, hunt: Option<u32>) {
        let now = self.now;
        let token = self.token();
        let endpoints = self.user(uri).spec.endpoints;
        let alerting = if state == PartyState::Alerting { (1..=endpoints).collect() } else { Vec::new() };
        let party = Party {
            uri: uri.to_string(),
            state,
            mode,
            since: now,
            joined_at: now,
            alerting,
            answered_on: None,
            token,
            hunt,
        };
        self.user_mut(uri).calls.insert(id);
        let c = self.call_mut(id);
        c.parties.push(party);
        if let Some(h) = hunt.and_then(|h| c.hunt_mut(h)) {
            h.members.push(uri.to_string());
        }
        self.dirty_calls.insert(id);
        self.dirty_users.insert(uri.to_string());
        if !self.call(id).monitored && self.user(uri).monitorable() {
            self.mark_monitored(id);
        } else {
            self.emit_call(id, SimEvent::PartyCreated { call: id, party: uri.to_string(), state });
        }
        if state == PartyState::Connected {
            self.im_join(id, uri);
            self.traffic_connected(id);
        }
    }

    pub(crate) fn set_state(&mut self, id: CallId, uri: &str, state: PartyState, cause: Cause) {
        let now = self.now;
        let Some(p) = self.call_mut(id).party_mut(uri) else { return };
        if p.state == state {
            return;
        }
        p.state = state;
        p.since = now;
        if state != PartyState::Alerting {
            p.alerting.clear();
        }
        self.dirty_calls.insert(id);
        self.dirty_users.insert(uri.to_string());
        self.emit_call(id, SimEvent::PartyStateChanged { call: id, party: uri.to_string(), state, cause });
        if state == PartyState::Connected {
            self.im_join(id, uri);
            self.traffic_connected(id);
        }
    }

    /// Every Dialing party (the originator) is connected once a destination answered.
    pub(crate) fn connect_originators(&mut self, id: CallId) {
        let dialing: Vec<String> =
            self.call(id).parties.iter().filter(|p| p.state == PartyState::Dialing).map(|p| p.uri.clone()).collect();
        for uri in dialing {
            self.set_state(id, &uri, PartyState::Connected, Cause::Answered);
        }
    }

    /// Removes a party (no settling: see [`World::settle`]).
    pub(crate) fn remove_party(&mut self, id: CallId, uri: &str, cause: Cause) {
        if self.call(id).treatments.contains_key(uri) {
            self.end_treatment(id, uri, super::types::PlaybackStatus::Interrupted);
        }
        let c = self.call_mut(id);
        let Some(i) = c.parties.iter().position(|p| p.uri == uri) else { return };
        c.parties.remove(i);
        for h in &mut c.hunts {
            h.members.retain(|m| m != uri);
        }
        self.user_mut(uri).calls.remove(&id);
        self.dirty_calls.insert(id);
        self.dirty_users.insert(uri.to_string());
        self.emit_call(id, SimEvent::PartyDeleted { call: id, party: uri.to_string(), cause });
        self.traffic_left(uri, cause);
    }

    /// After a party left: ends the call when no person is left in it (dialing, connected or
    /// holding) or when one party is left alone — except a caller connected to an application
    /// conference after a failed delivery, who waits there for the application to route again.
    pub(crate) fn settle(&mut self, id: CallId, cause: Cause, failed_delivery: bool) {
        let Some(c) = self.calls.get(&id) else { return };
        let persons_active =
            c.parties.iter().filter(|p| p.state.is_active() && self.kind_of(&p.uri).is_person()).count();
        let end = if persons_active == 0 {
            true
        } else if c.parties.len() == 1 {
            let alone = &c.parties[0];
            !(c.host.is_some() && alone.state == PartyState::Connected && failed_delivery)
        } else {
            false
        };
        if end {
            self.end_call(id, cause);
        }
    }

    /// Ends a call: every party left is removed (alerting ones as Abandoned), then CallDeleted.
    pub(crate) fn end_call(&mut self, id: CallId, cause: Cause) {
        self.traffic_call_ending(id, cause);
        let left: Vec<(String, PartyState)> = self.call(id).parties.iter().map(|p| (p.uri.clone(), p.state)).collect();
        for (uri, state) in left {
            let c = if state == PartyState::Alerting { Cause::Abandoned } else { Cause::CallEnded };
            self.remove_party(id, &uri, c);
        }
        let treatments: Vec<String> = self.call(id).treatments.keys().cloned().collect();
        for uri in treatments {
            self.end_treatment(id, &uri, super::types::PlaybackStatus::Interrupted);
        }
        self.emit_call(id, SimEvent::CallDeleted { call: id, cause });
        let call = self.calls.remove(&id).expect("live call");
        if let Some(host) = call.host {
            self.release_host(host);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_are_32_hex_and_distinct() {
        let a = conversation_id_for(CallId(1));
        let b = conversation_id_for(CallId(2));
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert_eq!(a, conversation_id_for(CallId(1)));
    }
}
