//! The application's side (the Connector, acting for the T-Server): make calls, release, hold and
//! retrieve parties, route from a Routing Point, add and delete parties (single-step conference,
//! supervision), merge a consultation (complete transfer or conference), single-step transfer,
//! IM and DTMF on behalf of a party, and supervision modes. The application sees and acts only on
//! monitored calls; every call it acts on is (moved) into one of its conferences, as the guide
//! describes ("Direct calls appearing as conference"). Each operation validates everything first
//! and changes nothing when it fails. Never acts for people.

use super::error::SimError;
use super::offer::Offer;
use super::types::{CallId, CallStarted, Cause, ConferenceId, Media, PartyMode, PartyState, UserKind};
use super::users::Target;
use super::World;

impl World {
    /// A call the application may act on: it exists and is monitored.
    pub(crate) fn app_call(&self, id: CallId) -> Result<(), SimError> {
        match self.calls.get(&id) {
            Some(c) if c.monitored => Ok(()),
            _ => Err(SimError::NoSuchCall(id)),
        }
    }

    /// A party of a call the application names.
    pub(crate) fn app_party(&self, id: CallId, party: &str) -> Result<String, SimError> {
        let not = || SimError::NotAParty { call: id, user: party.trim().to_string() };
        let uri = self.lookup(party).ok_or_else(not)?;
        self.call(id).party(&uri).map(|_| uri.clone()).ok_or_else(not)
    }

    /// A destination the application may invite from its conference.
    fn app_destination(&self, id: Option<CallId>, to: &str) -> Result<Target, SimError> {
        let t = self.target(to)?;
        match self.kind_of(t.uri()) {
            UserKind::ResponseGroup => {
                return Err(SimError::destination(
                    to,
                    "a Response Group accepts only direct calls; dialing out from a conference is rejected (guide: \
                     \"Calling Skype for Business Response Groups\")",
                ))
            }
            UserKind::ConferenceService => {
                return Err(SimError::destination(to, "conference-service endpoints are not called directly"))
            }
            _ => {}
        }
        if let Some(id) = id.filter(|id| self.call(*id).has(t.uri())) {
            return Err(SimError::state(format!("{} not on call {id}", t.uri()), "already a party"));
        }
        Ok(t)
    }

    /// The application makes a call from a DN (an agent's Extension, whose endpoint is invited
    /// from an application conference, or a Routing Point) to any destination. The call is hosted
    /// by a free scheduled conference if there is one, else by an ad-hoc conference.
    pub fn app_make_call(
        &mut self,
        now: u64,
        from: &str,
        to: &str,
        media: Media,
        text: Option<String>,
    ) -> Result<CallStarted, SimError> {
        self.make_call(now, None, from, to, media, text)
    }

    /// [`Self::app_make_call`] hosted by the application's scheduled conference `conference`
    /// (which must be Ready: scheduled, not in use, not expired).
    pub fn app_make_call_in(
        &mut self,
        now: u64,
        conference: ConferenceId,
        from: &str,
        to: &str,
        media: Media,
        text: Option<String>,
    ) -> Result<CallStarted, SimError> {
        self.make_call(now, Some(conference), from, to, media, text)
    }

    fn make_call(
        &mut self,
        now: u64,
        conference: Option<ConferenceId>,
        from: &str,
        to: &str,
        media: Media,
        text: Option<String>,
    ) -> Result<CallStarted, SimError> {
        let now = self.begin(now);
        let from = self.known(from)?;
        let kind = self.kind_of(&from);
        if !(kind == UserKind::Extension || matches!(kind, UserKind::RoutingPoint | UserKind::ExternalRoutingPoint)) {
            return Err(SimError::Refused(format!("{from} is a {kind:?}, not a DN the application can call from")));
        }
        let dest = self.app_destination(None, to)?;
        if dest.uri() == from {
            return Err(SimError::destination(to, "a DN cannot call itself"));
        }
        if text.is_some() && media != Media::Im {
            return Err(SimError::BadArgument("text is the first message of an IM call".into()));
        }
        match conference {
            Some(c) => self.check_conference(c)?,
            None => self.check_host(None)?,
        }
        let to = self.materialize(dest);
        let id = self.new_call(now, media, &from, &to, None, true);
        match conference {
            Some(c) => self.host_in(id, c),
            None => self.ensure_hosted(id),
        }
        let state = if kind == UserKind::Extension { PartyState::Dialing } else { PartyState::Connected };
        self.add_party(id, &from, state, PartyMode::Normal, None);
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.im_post(id, &from, &t, false);
        }
        self.offer(id, &to, Offer::plain(PartyMode::Normal));
        let conversation_id = self.call(id).conversation_id.clone();
        self.finish(now);
        Ok(CallStarted { call: id, conversation_id })
    }

    /// Releases a party (TReleaseCall; for an alerting party, the release of a routing destination
    /// that did not answer: a caller in the conference stays there to be routed again).
    pub fn app_release(&mut self, now: u64, call: CallId, party: &str) -> Result<(), SimError> {
        self.app_leave(now, call, party, Cause::Released)
    }

    /// Deletes a party from the conference (TDeleteFromConference; ends supervision).
    pub fn app_delete_party(&mut self, now: u64, call: CallId, party: &str) -> Result<(), SimError> {
        self.app_leave(now, call, party, Cause::Deleted)
    }

    fn app_leave(&mut self, now: u64, call: CallId, party: &str, cause: Cause) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let uri = self.app_party(call, party)?;
        self.leave(call, &uri, cause);
        self.finish(now);
        Ok(())
    }

    pub fn app_hold(&mut self, now: u64, call: CallId, party: &str) -> Result<(), SimError> {
        self.app_hold_retrieve(now, call, party, true)
    }

    pub fn app_retrieve(&mut self, now: u64, call: CallId, party: &str) -> Result<(), SimError> {
        self.app_hold_retrieve(now, call, party, false)
    }

    fn app_hold_retrieve(&mut self, now: u64, call: CallId, party: &str, hold: bool) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let uri = self.app_party(call, party)?;
        self.check_hold(call, &uri, if hold { PartyState::Connected } else { PartyState::Held })?;
        self.check_host(Some(call))?;
        self.ensure_hosted(call);
        if hold {
            self.do_hold(call, &uri);
        } else {
            self.do_retrieve(call, &uri);
        }
        self.finish(now);
        Ok(())
    }

    /// Routes a call: `to` is offered the call and the Routing Point(s) in it leave (Redirected).
    /// On a call no Routing Point holds any more (a failed route), `to` is simply offered.
    pub fn app_redirect(&mut self, now: u64, call: CallId, to: &str) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let dest = self.app_destination(Some(call), to)?;
        self.check_host(Some(call))?;
        self.ensure_hosted(call);
        let to = self.materialize(dest);
        let routing_points: Vec<String> = self
            .call(call)
            .parties
            .iter()
            .filter(|p| matches!(self.kind_of(&p.uri), UserKind::RoutingPoint | UserKind::ExternalRoutingPoint))
            .map(|p| p.uri.clone())
            .collect();
        self.offer(call, &to, Offer::plain(PartyMode::Normal));
        for rp in routing_points.iter().filter(|rp| **rp != to) {
            if self.calls.get(&call).is_some_and(|c| c.has(rp)) {
                self.remove_party(call, rp, Cause::Redirected);
            }
        }
        if self.calls.contains_key(&call) {
            self.settle(call, Cause::Redirected, true);
        }
        self.finish(now);
        Ok(())
    }

    /// Invites `to` into the call in `mode` (single-step conference; supervision with Coach or
    /// Mute).
    pub fn app_add_party(&mut self, now: u64, call: CallId, to: &str, mode: PartyMode) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let dest = self.app_destination(Some(call), to)?;
        self.check_mode(call, dest.uri(), mode)?;
        self.check_host(Some(call))?;
        self.ensure_hosted(call);
        let to = self.materialize(dest);
        self.offer(call, &to, Offer::plain(mode));
        self.finish(now);
        Ok(())
    }

    fn check_mode(&self, call: CallId, uri: &str, mode: PartyMode) -> Result<(), SimError> {
        if mode == PartyMode::Normal {
            return Ok(());
        }
        let media = self.call(call).media;
        if !media.is_av() {
            return Err(SimError::unsupported("supervision", media));
        }
        if self.users.get(uri).is_some_and(|u| u.spec.federated) {
            return Err(SimError::Refused(format!(
                "{uri} is an Office 365 (federated) user and cannot be a supervisor (guide: Federation limitations)"
            )));
        }
        Ok(())
    }

    /// Changes how a party takes part in the audio (TMuteOn/Off between supervision modes).
    pub fn app_set_mode(&mut self, call: CallId, party: &str, mode: PartyMode) -> Result<(), SimError> {
        self.app_call(call)?;
        let uri = self.app_party(call, party)?;
        self.check_mode(call, &uri, mode)?;
        self.call_mut(call).party_mut(&uri).expect("party").mode = mode;
        self.dirty_calls.insert(call);
        let now = self.now;
        self.finish(now);
        Ok(())
    }

    /// Completes a consultation: the consultation call's parties join `call` and the consultation
    /// call ends. With `keep_party` (the transferring party) that party leaves both calls
    /// (complete transfer); with None every party stays (complete conference), and a party that
    /// held the main call is retrieved.
    pub fn app_merge(
        &mut self,
        now: u64,
        call: CallId,
        consult: CallId,
        keep_party: Option<&str>,
    ) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        self.app_call(consult)?;
        if call == consult {
            return Err(SimError::BadArgument("a call cannot be merged with itself".into()));
        }
        for id in [call, consult] {
            let media = self.call(id).media;
            if !media.is_av() {
                return Err(SimError::unsupported("merge", media));
            }
        }
        let leaving = match keep_party {
            Some(p) => {
                let uri = self.app_party(call, p)?;
                self.app_party(consult, p)?;
                Some(uri)
            }
            None => None,
        };
        self.check_host(Some(call))?;
        self.ensure_hosted(call);
        let cause = if leaving.is_some() { Cause::Transferred } else { Cause::Conferenced };
        let moving: Vec<(String, PartyState, PartyMode)> = self
            .call(consult)
            .parties
            .iter()
            .filter(|p| !self.call(call).has(&p.uri))
            .map(|p| (p.uri.clone(), p.state, p.mode))
            .collect();
        let consult_parties: Vec<String> = self.call(consult).parties.iter().map(|p| p.uri.clone()).collect();
        for uri in consult_parties {
            self.remove_party(consult, &uri, cause);
        }
        self.end_call(consult, cause);
        for (uri, state, mode) in moving {
            self.add_party(call, &uri, state, mode, None);
            self.arm_alert_timers(call, &uri);
        }
        match leaving {
            Some(uri) => self.remove_party(call, &uri, Cause::Transferred),
            None => {
                let held: Vec<String> = self
                    .call(call)
                    .parties
                    .iter()
                    .filter(|p| p.state == PartyState::Held)
                    .map(|p| p.uri.clone())
                    .collect();
                for uri in held {
                    self.do_retrieve(call, &uri);
                }
            }
        }
        self.settle(call, cause, false);
        self.finish(now);
        Ok(())
    }

    /// `party` leaves and `to` is offered the call in its place.
    pub fn app_single_step_transfer(&mut self, now: u64, call: CallId, party: &str, to: &str) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let uri = self.app_party(call, party)?;
        let dest = self.app_destination(Some(call), to)?;
        self.check_host(Some(call))?;
        self.ensure_hosted(call);
        let to = self.materialize(dest);
        self.offer(call, &to, Offer::plain(PartyMode::Normal));
        if self.calls.get(&call).is_some_and(|c| c.has(&uri)) {
            self.remove_party(call, &uri, Cause::Transferred);
            self.settle(call, Cause::Transferred, true);
        }
        self.finish(now);
        Ok(())
    }

    /// An IM sent by the application on behalf of a party (an agent, or a Routing Point's IM
    /// treatment). Not reported back as ImReceived.
    pub fn app_send_im(&mut self, now: u64, call: CallId, from: &str, text: &str) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let uri = self.app_party(call, from)?;
        self.check_im_sender(call, &uri, text)?;
        self.im_post(call, &uri, text, false);
        self.finish(now);
        Ok(())
    }

    /// DTMF sent by the application on behalf of a party: the other parties hear it.
    pub fn app_send_dtmf(&mut self, now: u64, call: CallId, party: &str, digits: &str) -> Result<(), SimError> {
        let now = self.begin(now);
        self.app_call(call)?;
        let uri = self.app_party(call, party)?;
        self.check_dtmf(call, &uri, digits)?;
        self.deliver_dtmf(call, &uri, digits);
        self.finish(now);
        Ok(())
    }
}
