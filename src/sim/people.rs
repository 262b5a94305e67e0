//! The people's side (the control API): what a customer or a SfB client does — place a call, answer
//! or decline it (on one endpoint or all), hang up, hold and retrieve, type IMs, press DTMF keys,
//! escalate a conversation to another media, and choose how they answer. Each operation validates
//! everything first and changes nothing when it fails. Never acts for the application.

use super::error::SimError;
use super::event::SimEvent;
use super::offer::Offer;
use super::presence::PresenceState;
use super::types::{Behavior, CallId, CallStarted, Cause, Media, PartyMode, PartyState, UserKind};
use super::users::Target;
use super::World;

impl World {
    /// The call an operation of `uri` applies to: `call`, or (None) the user's most recent call
    /// whose party satisfies `wanted`.
    pub(crate) fn pick(
        &self,
        uri: &str,
        call: Option<CallId>,
        what: &str,
        wanted: impl Fn(PartyState, Media) -> bool,
    ) -> Result<CallId, SimError> {
        if let Some(id) = call {
            let c = self.calls.get(&id).ok_or(SimError::NoSuchCall(id))?;
            c.party(uri).ok_or_else(|| SimError::NotAParty { call: id, user: uri.to_string() })?;
            return Ok(id);
        }
        self.user(uri)
            .calls
            .iter()
            .filter_map(|id| {
                let c = self.call(*id);
                c.party(uri).filter(|p| wanted(p.state, c.media)).map(|p| (p.since, *id))
            })
            .max()
            .map(|(_, id)| id)
            .ok_or_else(|| SimError::NoCall { user: uri.to_string(), wanted: what.to_string() })
    }

    fn party_state(&self, id: CallId, uri: &str) -> PartyState {
        self.call(id).party(uri).map_or(PartyState::Disconnected, |p| p.state)
    }

    fn expect_state(&self, id: CallId, uri: &str, want: PartyState) -> Result<(), SimError> {
        let s = self.party_state(id, uri);
        if s == want {
            Ok(())
        } else {
            Err(SimError::state(format!("{want:?}"), s))
        }
    }

    /// A person places a call from their SfB client (or a customer calls in). Calls to Routing
    /// Points go through an application conference; other calls are peer-to-peer.
    pub fn start_call(
        &mut self,
        now: u64,
        from: &str,
        to: &str,
        media: Media,
        text: Option<String>,
    ) -> Result<CallStarted, SimError> {
        let now = self.begin(now);
        let started = self.place_call(now, from, to, media, text)?;
        self.finish(now);
        Ok(started)
    }

    /// [`World::start_call`] without moving the clock or running timers: the traffic generator
    /// places calls from inside a timer.
    pub(crate) fn place_call(
        &mut self,
        now: u64,
        from: &str,
        to: &str,
        media: Media,
        text: Option<String>,
    ) -> Result<CallStarted, SimError> {
        let caller = match self.target(from) {
            Err(SimError::InvalidDestination { .. }) => return Err(SimError::UnknownUser(from.trim().to_string())),
            other => other?,
        };
        let callee = self.target(to)?;
        if caller.uri() == callee.uri() {
            return Err(SimError::destination(to, "a user cannot call itself"));
        }
        if let Target::Known(u) = &caller {
            let user = self.user(u);
            if !user.kind().is_person() {
                return Err(SimError::Refused(format!(
                    "{u} is a {:?}: the application places its calls with app_make_call",
                    user.kind()
                )));
            }
            if user.is_sfb_person() && PresenceState::of(user.base.availability) == PresenceState::Offline {
                return Err(SimError::Refused(format!("{u} is signed out (Offline)")));
            }
        }
        let callee_kind = match &callee {
            Target::Known(u) => self.kind_of(u),
            Target::External(_) => UserKind::External,
        };
        if self.kind_of(caller.uri()) == UserKind::External && callee_kind == UserKind::External {
            return Err(SimError::destination(to, "neither party is a Skype for Business user"));
        }
        if callee_kind == UserKind::ConferenceService {
            return Err(SimError::destination(to, "conference-service endpoints are not called directly"));
        }
        if text.is_some() && media != Media::Im {
            return Err(SimError::BadArgument("text is the first message of an IM call".into()));
        }
        let hosted = matches!(callee_kind, UserKind::RoutingPoint | UserKind::ExternalRoutingPoint);
        if hosted {
            self.check_host(None)?;
        }
        let from = self.materialize(caller);
        let to = self.materialize(callee);
        let id = self.new_call(now, media, &from, &to, None, false);
        if hosted {
            self.ensure_hosted(id);
        }
        self.add_party(id, &from, PartyState::Dialing, PartyMode::Normal, None);
        self.offer(id, &to, Offer::plain(PartyMode::Normal));
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.im_post(id, &from, &t, true);
        }
        let conversation_id = self.call(id).conversation_id.clone();
        Ok(CallStarted { call: id, conversation_id })
    }

    /// Answers an alerting call (None: the most recent one) on the first alerting endpoint.
    pub fn answer(&mut self, now: u64, user: &str, call: Option<CallId>) -> Result<(), SimError> {
        self.answer_on(now, user, call, None)
    }

    /// Answers on one endpoint (1-based); the user's other endpoints stop alerting.
    pub fn answer_endpoint(
        &mut self,
        now: u64,
        user: &str,
        call: Option<CallId>,
        endpoint: u32,
    ) -> Result<(), SimError> {
        self.answer_on(now, user, call, Some(endpoint))
    }

    fn answer_on(&mut self, now: u64, user: &str, call: Option<CallId>, ep: Option<u32>) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "alerting", |s, _| s == PartyState::Alerting)?;
        self.expect_state(id, &uri, PartyState::Alerting)?;
        let alerting = &self.call(id).party(&uri).expect("party").alerting;
        if let Some(e) = ep.filter(|e| !alerting.contains(e)) {
            return Err(SimError::BadArgument(format!(
                "endpoint {e} of {uri} is not alerting (alerting: {alerting:?})"
            )));
        }
        self.answer_party(id, &uri, ep);
        self.finish(now);
        Ok(())
    }

    /// Declines an alerting call on every endpoint.
    pub fn reject(&mut self, now: u64, user: &str, call: Option<CallId>) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "alerting", |s, _| s == PartyState::Alerting)?;
        self.expect_state(id, &uri, PartyState::Alerting)?;
        self.decline(id, &uri, Cause::Rejected);
        self.finish(now);
        Ok(())
    }

    /// Declines on one endpoint; the call goes on alerting on the others (declined on all: rejected).
    pub fn reject_endpoint(
        &mut self,
        now: u64,
        user: &str,
        call: Option<CallId>,
        endpoint: u32,
    ) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "alerting", |s, _| s == PartyState::Alerting)?;
        self.expect_state(id, &uri, PartyState::Alerting)?;
        let p = self.call_mut(id).party_mut(&uri).expect("party");
        if !p.alerting.contains(&endpoint) {
            return Err(SimError::BadArgument(format!("endpoint {endpoint} of {uri} is not alerting")));
        }
        p.alerting.retain(|e| *e != endpoint);
        if p.alerting.is_empty() {
            self.decline(id, &uri, Cause::Rejected);
        }
        self.dirty_calls.insert(id);
        self.finish(now);
        Ok(())
    }

    /// Leaves a call (None: the most recent one): hangs up, abandons a call being dialled, or
    /// declines one alerting.
    pub fn hangup(&mut self, now: u64, user: &str, call: Option<CallId>) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "", |_, _| true)?;
        let cause = if self.party_state(id, &uri) == PartyState::Alerting { Cause::Rejected } else { Cause::Hangup };
        self.leave(id, &uri, cause);
        self.finish(now);
        Ok(())
    }

    pub(crate) fn check_hold(&self, id: CallId, uri: &str, want: PartyState) -> Result<(), SimError> {
        let c = self.call(id);
        if !c.media.is_av() {
            return Err(SimError::unsupported(
                if want == PartyState::Connected { "hold" } else { "retrieve" },
                c.media,
            ));
        }
        self.expect_state(id, uri, want)
    }

    pub(crate) fn do_hold(&mut self, id: CallId, uri: &str) {
        self.set_state(id, uri, PartyState::Held, Cause::Held);
    }

    pub(crate) fn do_retrieve(&mut self, id: CallId, uri: &str) {
        self.set_state(id, uri, PartyState::Connected, Cause::Retrieved);
        // Guide (Office 365): "If a video conversation is placed on hold, only the audio channel
        // can be retrieved from hold."
        if self.user(uri).spec.federated && self.call(id).media == Media::Video {
            self.call_mut(id).media = Media::Voice;
            self.emit_call(id, SimEvent::MediaChanged { call: id, media: Media::Voice });
        }
    }

    pub fn hold(&mut self, now: u64, user: &str, call: Option<CallId>) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "connected audio", |s, m| s == PartyState::Connected && m.is_av())?;
        self.check_hold(id, &uri, PartyState::Connected)?;
        self.do_hold(id, &uri);
        self.finish(now);
        Ok(())
    }

    pub fn retrieve(&mut self, now: u64, user: &str, call: Option<CallId>) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "held", |s, _| s == PartyState::Held)?;
        self.check_hold(id, &uri, PartyState::Held)?;
        self.do_retrieve(id, &uri);
        self.finish(now);
        Ok(())
    }

    pub fn send_im(&mut self, now: u64, user: &str, call: Option<CallId>, text: &str) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "IM", |s, m| {
            m == Media::Im && matches!(s, PartyState::Connected | PartyState::Dialing)
        })?;
        self.check_im_sender(id, &uri, text)?;
        self.im_post(id, &uri, text, true);
        self.finish(now);
        Ok(())
    }

    pub(crate) fn check_dtmf(&self, id: CallId, uri: &str, digits: &str) -> Result<(), SimError> {
        let c = self.call(id);
        if !c.media.is_av() {
            return Err(SimError::unsupported("DTMF", c.media));
        }
        super::media::check_digits(digits)?;
        self.expect_state(id, uri, PartyState::Connected)
    }

    /// A party presses keys: the application gets DtmfReceived, the others hear the tones, a
    /// collect-digits treatment playing to the party collects them.
    pub fn send_dtmf(&mut self, now: u64, user: &str, call: Option<CallId>, digits: &str) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "connected audio", |s, m| s == PartyState::Connected && m.is_av())?;
        self.check_dtmf(id, &uri, digits)?;
        self.emit_call(id, SimEvent::DtmfReceived { call: id, party: uri.clone(), digits: digits.to_string() });
        self.deliver_dtmf(id, &uri, digits);
        self.collect_digits(id, &uri, digits);
        self.finish(now);
        Ok(())
    }

    /// How the user answers calls offered from now on.
    pub fn set_behavior(&mut self, user: &str, b: Behavior) -> Result<(), SimError> {
        let uri = self.known(user)?;
        self.user_mut(&uri).spec.behavior = b;
        Ok(())
    }

    /// Escalates a conversation to `media` (guide: "Supported Media Escalations"). Voice <-> video
    /// changes the same call (MediaChanged); IM <-> audio starts a new call in the same
    /// conversation (same Conversation-ID), offered to the other persons of the call.
    pub fn escalate(
        &mut self,
        now: u64,
        user: &str,
        call: Option<CallId>,
        media: Media,
    ) -> Result<CallStarted, SimError> {
        let now = self.begin(now);
        let uri = self.known(user)?;
        let id = self.pick(&uri, call, "connected", |s, _| s == PartyState::Connected)?;
        self.expect_state(id, &uri, PartyState::Connected)?;
        let c = self.call(id);
        let conversation_id = c.conversation_id.clone();
        if c.media == media {
            return Err(SimError::state(format!("a call not in {media:?}"), c.media));
        }
        if c.media.is_av() && media.is_av() {
            self.call_mut(id).media = media;
            self.emit_call(id, SimEvent::MediaChanged { call: id, media });
            self.dirty_calls.insert(id);
            self.finish(now);
            return Ok(CallStarted { call: id, conversation_id });
        }
        if self.user(&uri).spec.federated {
            return Err(SimError::Refused("escalation by an Office 365 (federated) user is not supported".into()));
        }
        let others: Vec<String> = c
            .parties
            .iter()
            .filter(|p| p.uri != uri && p.state.is_active() && self.kind_of(&p.uri).is_person())
            .map(|p| p.uri.clone())
            .collect();
        let Some(first) = others.first().cloned() else {
            return Err(SimError::state("another person in the call", "none"));
        };
        let (hosted, monitored) = (c.host.is_some(), c.monitored);
        if hosted {
            self.check_host(None)?;
        }
        let nid = self.new_call(now, media, &uri, &first, Some(conversation_id.clone()), monitored);
        if hosted {
            self.ensure_hosted(nid);
        }
        self.add_party(nid, &uri, PartyState::Dialing, PartyMode::Normal, None);
        for o in others {
            self.offer(nid, &o, Offer::plain(PartyMode::Normal));
        }
        self.finish(now);
        Ok(CallStarted { call: nid, conversation_id })
    }
}
