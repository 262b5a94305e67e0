//! Instant messaging: each IM call has an MCU session with its transcript. A person who joins a
//! conference-hosted IM call within the replay window (guide: "the IM MCU records the first 40
//! seconds of the IM Conference, and replays the messages back to the participants that join
//! within that 40-second timeframe") receives the messages so far; later joiners only receive live
//! messages. A peer-to-peer IM invitation carries the messages typed before it was accepted. An
//! unused session is released after `im-idle-timeout` (guide: 10 minutes). Never touches audio.

use super::error::SimError;
use super::event::SimEvent;
use super::timers::Timer;
use super::types::{CallId, Cause, PartyState};
use super::users::push_capped;
use super::view::ImEntry;
use super::World;
use serde::{Deserialize, Serialize};

/// Messages kept in an MCU transcript (oldest dropped first).
pub const MAX_TRANSCRIPT: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImMessage {
    pub at: u64,
    pub from: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImSession {
    pub started_at: u64,
    pub messages: Vec<ImMessage>,
    /// The MCU still holds the replay buffer (until `started_at + im-replay-window`).
    pub replay_open: bool,
    pub last_activity: u64,
}

impl ImSession {
    pub fn new(now: u64) -> ImSession {
        ImSession { started_at: now, messages: Vec::new(), replay_open: true, last_activity: now }
    }
}

impl World {
    pub(crate) fn arm_im_timers(&mut self, id: CallId, now: u64) {
        let Some(im) = self.call(id).im.as_ref() else { return };
        let (started_at, replay_open, last_activity) = (im.started_at, im.replay_open, im.last_activity);
        let cutoff = started_at + self.cfg.im_replay_window_ms;
        if replay_open {
            self.timers.arm(cutoff.max(now), Timer::ImReplayCutoff { call: id });
        }
        if self.cfg.im_idle_timeout_ms > 0 {
            let idle = last_activity + self.cfg.im_idle_timeout_ms;
            self.timers.arm(idle.max(now), Timer::ImIdle { call: id });
        }
    }

    pub(crate) fn im_replay_cutoff(&mut self, id: CallId) {
        if let Some(im) = self.calls.get_mut(&id).and_then(|c| c.im.as_mut()) {
            im.replay_open = false;
        }
    }

    pub(crate) fn im_idle(&mut self, id: CallId) {
        let Some(im) = self.calls.get(&id).and_then(|c| c.im.as_ref()) else { return };
        let due = im.last_activity + self.cfg.im_idle_timeout_ms;
        if due <= self.now {
            self.end_call(id, Cause::IdleTimeout);
        } else {
            self.timers.arm(due, Timer::ImIdle { call: id });
        }
    }

    /// A party was connected to an IM call: deliver what the invitation or the MCU replay holds.
    pub(crate) fn im_join(&mut self, id: CallId, uri: &str) {
        let now = self.now;
        let c = self.call(id);
        let Some(im) = c.im.as_ref() else { return };
        if !self.kind_of(uri).is_person() {
            return;
        }
        let replay =
            c.host.is_none() || (im.replay_open && now < im.started_at.saturating_add(self.cfg.im_replay_window_ms));
        if !replay {
            return;
        }
        let entries: Vec<ImEntry> = im
            .messages
            .iter()
            .filter(|m| m.from != uri)
            .map(|m| ImEntry {
                at: now,
                call: id,
                from: m.from.clone(),
                text: m.text.clone(),
                sent_at: m.at,
                replayed: true,
            })
            .collect();
        let u = self.user_mut(uri);
        for e in entries {
            push_capped(&mut u.ims, e);
        }
    }

    /// Whether `uri` holds an audio call of the conversation (guide: "When an audio call is placed
    /// on hold, the held party cannot receive instant messages").
    fn holds_av_of(&self, conversation: &str, uri: &str) -> bool {
        self.user(uri).calls.iter().any(|cid| {
            let c = self.call(*cid);
            c.conversation_id == conversation
                && c.media.is_av()
                && c.party(uri).is_some_and(|p| p.state == PartyState::Held)
        })
    }

    /// Posts a message to the MCU: every other connected person receives it; `report` queues
    /// ImReceived (not for messages the application sent itself).
    pub(crate) fn im_post(&mut self, id: CallId, from: &str, text: &str, report: bool) {
        let now = self.now;
        let c = self.call_mut(id);
        let Some(im) = c.im.as_mut() else { return };
        if im.messages.len() >= MAX_TRANSCRIPT {
            im.messages.remove(0);
        }
        im.messages.push(ImMessage { at: now, from: from.to_string(), text: text.to_string() });
        im.last_activity = now;
        let c = self.call(id);
        let recipients: Vec<String> = c
            .parties
            .iter()
            .filter(|p| p.uri != from && p.state == PartyState::Connected && self.kind_of(&p.uri).is_person())
            .filter(|p| !self.holds_av_of(&c.conversation_id, &p.uri))
            .map(|p| p.uri.clone())
            .collect();
        for r in recipients {
            let e = ImEntry {
                at: now,
                call: id,
                from: from.to_string(),
                text: text.to_string(),
                sent_at: now,
                replayed: false,
            };
            push_capped(&mut self.user_mut(&r).ims, e);
            self.traffic_im_received(id, &r);
        }
        if report {
            self.emit_call(id, SimEvent::ImReceived { call: id, from: from.to_string(), text: text.to_string() });
        }
    }

    /// Checks that `uri` can send an IM on call `id` (connected, or the originator of a pending
    /// invitation).
    pub(crate) fn check_im_sender(&self, id: CallId, uri: &str, text: &str) -> Result<(), SimError> {
        let c = self.call(id);
        if c.im.is_none() {
            return Err(SimError::unsupported("send IM", c.media));
        }
        if text.is_empty() {
            return Err(SimError::BadArgument("an IM needs text".into()));
        }
        let p = c.party(uri).ok_or_else(|| SimError::NotAParty { call: id, user: uri.to_string() })?;
        if !matches!(p.state, PartyState::Connected | PartyState::Dialing) {
            return Err(SimError::state("Connected", p.state));
        }
        Ok(())
    }
}
