//! Audio: who hears whom (connected, non-holding parties hear each other; a coach is heard only by
//! the agents; a muted supervisor by nobody), what is played to whom (treatments the application
//! starts; music on hold to a party left alone by a hold and ring-back to a caller while the
//! destination alerts, both only in application conferences, where the Connector is in the media
//! path, and only when their files are configured), and DTMF digits and their collection.
//! Never changes party states.

use super::calls::{Call, Treatment};
use super::error::SimError;
use super::event::SimEvent;
use super::timers::Timer;
use super::types::{CallId, PartyMode, PartyState, Playback, PlaybackStatus, UserKind};
use super::users::push_capped;
use super::view::{DtmfEntry, PlaybackNow, PlaybackRecord};
use super::World;

/// Valid DTMF digits.
pub fn check_digits(digits: &str) -> Result<(), SimError> {
    let ok = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SimError::BadArgument(format!("{digits:?} is not a DTMF digit string (0-9 * # A-D)")))
    }
}

impl World {
    /// The parties `listener` hears on call `c`.
    pub(crate) fn hears(&self, c: &Call, listener: &str) -> Vec<String> {
        let Some(l) = c.party(listener) else { return Vec::new() };
        if !c.media.is_av() || l.state != PartyState::Connected {
            return Vec::new();
        }
        let listener_is_agent = self.kind_of(listener) == UserKind::Extension && l.mode == PartyMode::Normal;
        c.parties
            .iter()
            .filter(|s| s.uri != listener && s.state == PartyState::Connected && self.kind_of(&s.uri).is_person())
            .filter(|s| match s.mode {
                PartyMode::Normal => true,
                PartyMode::Coach => listener_is_agent,
                PartyMode::Mute => false,
            })
            .map(|s| s.uri.clone())
            .collect()
    }

    /// What should be playing to `uri` on call `c` now.
    fn desired_playback(&self, c: &Call, uri: &str) -> Option<Playback> {
        let p = c.party(uri)?;
        if let Some(t) = c.treatments.get(uri) {
            return Some(t.what.clone());
        }
        if c.host.is_none() || !c.media.is_av() {
            return None;
        }
        let alone = p.state == PartyState::Connected && self.hears(c, uri).is_empty();
        let someone = |s: PartyState| c.parties.iter().any(|q| q.state == s && self.kind_of(&q.uri).is_person());
        if alone && someone(PartyState::Held) {
            if let Some(file) = &self.cfg.music_on_hold {
                return Some(Playback::MusicOnHold { file: file.clone() });
            }
        }
        if (p.state == PartyState::Dialing || alone) && someone(PartyState::Alerting) {
            if let Some(file) = &self.cfg.ringtone {
                return Some(Playback::Ringback { file: file.clone() });
            }
        }
        None
    }

    pub(crate) fn end_playing(&mut self, uri: &str, call: CallId, status: PlaybackStatus) {
        let now = self.now;
        let Some(u) = self.users.get_mut(uri) else { return };
        if let Some(n) = u.playing.remove(&call) {
            let rec = PlaybackRecord { call, what: n.what, started_at: n.since, ended_at: now, status };
            push_capped(&mut u.history, rec);
        }
    }

    /// Brings every person's playback on call `id` in line with [`Self::desired_playback`].
    pub(crate) fn refresh_playback(&mut self, id: CallId) {
        let Some(c) = self.calls.get(&id) else { return };
        let wanted: Vec<(String, Option<Playback>)> = c
            .parties
            .iter()
            .filter(|p| self.kind_of(&p.uri).is_person())
            .map(|p| (p.uri.clone(), self.desired_playback(c, &p.uri)))
            .collect();
        let now = self.now;
        for (uri, want) in wanted {
            let current = self.user(&uri).playing.get(&id).map(|n| n.what.clone());
            if current == want {
                continue;
            }
            if current.is_some() {
                self.end_playing(&uri, id, PlaybackStatus::Ended);
            }
            if let Some(what) = want {
                self.user_mut(&uri).playing.insert(id, PlaybackNow { call: id, what, since: now });
            }
        }
    }

    /// Ends the treatment playing to `uri` on call `id` and reports it.
    pub(crate) fn end_treatment(&mut self, id: CallId, uri: &str, status: PlaybackStatus) {
        let Some(t) = self.call_mut(id).treatments.remove(uri) else { return };
        if self.user(uri).playing.get(&id).is_some_and(|n| n.what == t.what) {
            self.end_playing(uri, id, status.clone());
        }
        self.dirty_calls.insert(id);
        self.emit_call(id, SimEvent::PlaybackEnded { call: id, party: uri.to_string(), what: t.what, status });
    }

    pub(crate) fn treatment_timeout(&mut self, id: CallId, uri: &str, token: u64) {
        let Some(t) = self.calls.get(&id).and_then(|c| c.treatments.get(uri)).filter(|t| t.token == token) else {
            return;
        };
        let status = match t.what {
            Playback::CollectDigits { .. } => PlaybackStatus::TimedOut { digits: t.digits.clone() },
            _ => PlaybackStatus::Completed,
        };
        self.end_treatment(id, uri, status);
    }

    /// Digits `uri` pressed feed a collect-digits treatment playing to it.
    pub(crate) fn collect_digits(&mut self, id: CallId, uri: &str, digits: &str) {
        let Some(t) = self.call_mut(id).treatments.get_mut(uri) else { return };
        let Playback::CollectDigits { max_digits, terminator, .. } = t.what.clone() else { return };
        let mut done = false;
        for ch in digits.chars() {
            if Some(ch) == terminator {
                done = true;
                break;
            }
            t.digits.push(ch);
            if t.digits.chars().count() as u32 >= max_digits {
                done = true;
                break;
            }
        }
        if done {
            let digits = t.digits.clone();
            self.end_treatment(id, uri, PlaybackStatus::Collected { digits });
        }
    }

    /// Other connected persons hear the digits `from` sends.
    pub(crate) fn deliver_dtmf(&mut self, id: CallId, from: &str, digits: &str) {
        let now = self.now;
        let to: Vec<String> = self
            .call(id)
            .parties
            .iter()
            .filter(|p| p.uri != from && p.state == PartyState::Connected && self.kind_of(&p.uri).is_person())
            .map(|p| p.uri.clone())
            .collect();
        for uri in to {
            let e = DtmfEntry { at: now, call: id, from: from.to_string(), digits: digits.to_string() };
            push_capped(&mut self.user_mut(&uri).dtmf, e);
        }
    }

    /// Starts a treatment on call `call` for `party` (None: every connected person), replacing
    /// one already playing to them (which ends as Stopped).
    pub fn app_play(&mut self, now: u64, call: CallId, party: Option<&str>, what: Playback) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let c = self.call(call);
        if !c.media.is_av() {
            return Err(SimError::unsupported("play", c.media));
        }
        if let Playback::CollectDigits { max_digits: 0, .. } = what {
            return Err(SimError::BadArgument("collect-digits needs max-digits of at least 1".into()));
        }
        let targets: Vec<String> = match party {
            Some(p) => {
                let uri = self.app_party(call, p)?;
                let state = self.call(call).party(&uri).map(|q| q.state);
                if state != Some(PartyState::Connected) || !self.kind_of(&uri).is_person() {
                    return Err(SimError::state("a connected person", state));
                }
                vec![uri]
            }
            None => c
                .parties
                .iter()
                .filter(|p| p.state == PartyState::Connected && self.kind_of(&p.uri).is_person())
                .map(|p| p.uri.clone())
                .collect(),
        };
        if targets.is_empty() {
            return Err(SimError::state("a connected person on the call", "none"));
        }
        for uri in targets {
            self.end_treatment(call, &uri, PlaybackStatus::Stopped);
            let token = self.token();
            if let Some(ms) = what.duration_ms() {
                self.timers.arm(now + ms, Timer::Playback { call, user: uri.clone(), token });
            }
            let t = Treatment { what: what.clone(), token, digits: String::new() };
            self.traffic_treatment(call, &uri, &what);
            self.call_mut(call).treatments.insert(uri, t);
        }
        self.dirty_calls.insert(call);
        self.finish(now);
        Ok(())
    }

    /// Stops every treatment on the call (nothing playing is not an error: it may just have ended).
    pub fn app_stop_play(&mut self, now: u64, call: CallId) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let playing: Vec<String> = self.call(call).treatments.keys().cloned().collect();
        for uri in playing {
            self.end_treatment(call, &uri, PlaybackStatus::Stopped);
        }
        self.finish(now);
        Ok(())
    }
}
