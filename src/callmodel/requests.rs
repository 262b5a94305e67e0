//! One-call telephony requests: validation (in the guide's error order: unsupported, missing
//! attribute, unknown ConnID, operation in progress, party not on call, invalid state) and the
//! MLTP request that carries each out. Nothing changes when a request is refused. The answering
//! event comes later, from the switch's events (see `ops.rs`); two-call requests are in
//! `two_call.rs`, requests that need no switch in `userdata.rs`.

use super::io::{Output, SwitchRoute};
use super::types::{uri_key, Call, ClientRef, PartyState, PendingOp, Stage};
use super::{CallError, CallTable};
use crate::mltp::{Media, Mltp, MonitorMode};
use crate::model::{CallType, ConnId, DnName, MediaType};
use crate::tlib::{Request, RequestKind as K};

/// The DN acting and the call a one-call request names.
pub(super) struct Target {
    pub conn: ConnId,
    pub dn: DnName,
}

impl CallTable {
    pub(super) fn on_request(&mut self, client: ClientRef, req: &Request, now: u64, out: &mut Output) {
        let r = match req.check_supported() {
            Err(_) => Err(CallError::Unsupported(req.kind.name().to_string())),
            Ok(()) => match req.kind {
                K::MakeCall => self.make_call(client, req, now, out),
                K::ReleaseCall => self.release_call(client, req, out),
                K::ClearCall => self.clear_call(client, req, out),
                K::HoldCall | K::RetrieveCall => self.hold_retrieve(client, req, out),
                K::SendDTMF => self.send_dtmf(client, req, out),
                K::SingleStepTransfer | K::SingleStepConference => self.single_step(client, req, out),
                K::DeleteFromConference => self.delete_from_conference(client, req, out),
                K::InitiateTransfer | K::InitiateConference => self.initiate(client, req, now, out),
                K::CompleteTransfer | K::CompleteConference => self.complete(client, req, out),
                K::ReconnectCall | K::AlternateCall => self.reconnect_alternate(client, req, out),
                K::AttachUserData | K::UpdateUserData | K::DeleteUserData | K::DeleteAllUserData => {
                    self.user_data(req, out)
                }
                K::QueryCall => self.query_call(client, req, out),
                K::SendUserEvent => self.send_user_event(client, req, out),
                K::PrivateService => self.private_service(client, req, out),
                K::RouteCall => self.route_call(client, req, out),
                K::SetMuteOn | K::SetMuteOff => self.set_mute(client, req, out),
                K::ApplyTreatment => self.apply_treatment(client, req, out),
                other => Err(CallError::Unsupported(format!("{other} (not a call request)"))),
            },
        };
        if let Err(e) = r {
            self.refuse(client, req, &e, out);
        }
    }

    /// ThisDN and ConnID present, the call known, the DN on it; with `lock`, no other operation
    /// in progress on the call (291).
    pub(super) fn target(&self, req: &Request, lock: bool) -> Result<Target, CallError> {
        let dn = req.attrs.this_dn.clone().ok_or(CallError::InvalidAttribute("ThisDN"))?;
        let conn = req.attrs.conn_id.ok_or(CallError::InvalidAttribute("ConnID"))?;
        let call = self.calls.get(&conn).ok_or(CallError::UnknownCall(conn))?;
        if lock && (call.is_locked() || call.switch.is_none()) {
            return Err(CallError::OperationInProgress(conn));
        }
        if call.party_of_dn(&dn).is_none() {
            return Err(CallError::NotOnCall { party: dn.to_string(), conn });
        }
        Ok(Target { conn, dn })
    }

    /// The requester's state on a call it is known to be on.
    pub(super) fn state_of(&self, conn: ConnId, dn: &DnName) -> PartyState {
        self.calls[&conn].party_of_dn(dn).map_or(PartyState::Dialing, |p| p.state)
    }

    pub(super) fn need_state(
        &self,
        conn: ConnId,
        dn: &DnName,
        ok: &[PartyState],
        needed: &'static str,
    ) -> Result<(), CallError> {
        let s = self.state_of(conn, dn);
        if ok.contains(&s) {
            Ok(())
        } else {
            Err(CallError::PartyState { party: dn.clone(), conn, actual: state_name(s), needed })
        }
    }

    /// Starts an operation at `home` (validated already).
    pub(super) fn start_op(&mut self, home: ConnId, client: ClientRef, req: &Request, stage: Stage) -> &mut PendingOp {
        let dn = req.attrs.this_dn.clone().unwrap_or_default();
        let op = PendingOp::new(req.kind, client, req.reference_id(), dn, stage);
        let call = self.call_mut(home).expect("validated call");
        call.op = Some(op);
        call.op.as_mut().expect("just set")
    }

    fn make_call(&mut self, client: ClientRef, req: &Request, now: u64, out: &mut Output) -> Result<(), CallError> {
        let from = req.attrs.this_dn.clone().ok_or(CallError::InvalidAttribute("ThisDN"))?;
        let to = destination(req, &from)?;
        if !self.directory.in_service(&from) {
            return Err(CallError::OutOfService(from));
        }
        let chat = req.attrs.extensions.as_ref().and_then(|e| e.get_str("chat")).map(str::trim);
        let chat = match chat {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(CallError::InvalidAttribute("Extensions chat")),
        };
        if chat && self.options.im_reporting_disabled {
            return Err(CallError::Unsupported("IM calls: im-reporting = disabled".into()));
        }
        let (media, media_type) = if chat { (Media::Im, MediaType::CHAT) } else { (Media::Voice, MediaType::VOICE) };
        let dial = self.dial_method(&from, &to, req.attrs.extensions.as_ref());
        let requested = to.clone();
        let to = dial.to.clone();
        let conn = self.conn_ids.next();
        let call_type = if self.directory.lookup(&to).is_some() { CallType::Internal } else { CallType::Outbound };
        let mut call = Call::new(conn, media_type, call_type, from.as_str(), &to, now);
        call.user_data = req.attrs.user_data.clone().unwrap_or_default();
        call.b2b = dial.b2b().then_some(requested);
        let data = (!call.user_data.is_empty()).then(|| call.user_data.clone());
        self.calls.insert(conn, Box::new(call));
        self.touch(conn);
        out.effects.push(super::Effect::CallCreated(conn));
        self.start_op(conn, client, req, Stage::Dial).target = Some(uri_key(&to));
        let msg = Mltp::MakeCall {
            conn_id: conn,
            from: from.to_string(),
            to,
            media,
            conversation_id: None,
            data,
            calling_method: dial.calling_method,
            cpn: dial.cpn,
            text: String::new(),
        };
        self.send(conn, conn, SwitchRoute::ServingDn(from), msg, true, out);
        Ok(())
    }

    fn release_call(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let t = self.target(req, true)?;
        let call = &self.calls[&t.conn];
        // Guide ("Escalation Between IM Call and Audio Call"): TReleaseCall for an escalated IM
        // call releases the whole conversation.
        let escalated: Vec<ConnId> = if call.media == MediaType::CHAT && !call.conversation_id.is_empty() {
            let conv = call.conversation_id.clone();
            self.calls
                .values()
                .filter(|c| c.conn_id != t.conn && c.conversation_id == conv && c.switch.is_some() && !c.is_locked())
                .filter(|c| c.party_of_dn(&t.dn).is_some())
                .map(|c| c.conn_id)
                .collect()
        } else {
            Vec::new()
        };
        self.start_op(t.conn, client, req, Stage::Effect);
        self.send_party_msg(t.conn, &t.dn, Msg::Release, true, out);
        for other in escalated {
            self.send_party_msg(other, &t.dn, Msg::Release, false, out);
        }
        Ok(())
    }

    fn clear_call(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let t = self.target(req, true)?;
        let others: Vec<String> =
            self.calls[&t.conn].parties.iter().filter(|p| !p.is_dn(&t.dn)).map(|p| p.uri.clone()).collect();
        self.start_op(t.conn, client, req, Stage::Effect);
        let (route, call) = self.switch_of(t.conn);
        for party in others {
            self.send(t.conn, t.conn, route.clone(), Mltp::DeleteParty { call, party }, false, out);
        }
        self.send_party_msg(t.conn, &t.dn, Msg::Release, true, out);
        Ok(())
    }

    fn hold_retrieve(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let t = self.target(req, true)?;
        if self.calls[&t.conn].media == MediaType::CHAT {
            return Err(CallError::Unsupported(format!("{} for IM calls", req.kind)));
        }
        let hold = req.kind == K::HoldCall;
        if hold {
            self.need_state(t.conn, &t.dn, &[PartyState::Connected], "Connected")?;
        } else {
            self.need_state(t.conn, &t.dn, &[PartyState::Held], "Held")?;
        }
        self.start_op(t.conn, client, req, Stage::Effect);
        self.send_party_msg(t.conn, &t.dn, if hold { Msg::Hold } else { Msg::Retrieve }, true, out);
        Ok(())
    }

    fn send_dtmf(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let digits = req.attrs.dtmf_digits.clone().filter(|d| !d.is_empty());
        let digits = digits.ok_or(CallError::InvalidAttribute("DTMFDigits"))?;
        let t = self.target(req, true)?;
        if self.calls[&t.conn].media == MediaType::CHAT {
            return Err(CallError::Unsupported("SendDTMF for IM calls".into()));
        }
        self.need_state(t.conn, &t.dn, &[PartyState::Connected], "Connected")?;
        self.start_op(t.conn, client, req, Stage::Response).target = Some(digits.clone());
        self.send_party_msg(t.conn, &t.dn, Msg::Dtmf(digits), true, out);
        Ok(())
    }

    fn single_step(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let t = self.target(req, true)?;
        let to = destination(req, &t.dn)?;
        if self.calls[&t.conn].party(&to).is_some() {
            return Err(CallError::InvalidDestination(format!("{to} is already on the call")));
        }
        let ok = [PartyState::Connected, PartyState::Held];
        self.need_state(t.conn, &t.dn, &ok, "Connected or Held")?;
        if req.kind == K::SingleStepTransfer {
            self.check_single_step_transfer(t.conn, &t.dn, &to)?;
        }
        let known: Vec<String> = self.calls[&t.conn].parties.iter().map(|p| uri_key(&p.uri)).collect();
        let op = self.start_op(t.conn, client, req, Stage::Effect);
        op.target = Some(uri_key(&to));
        op.known = known;
        let (route, call) = self.switch_of(t.conn);
        let msg = if req.kind == K::SingleStepTransfer {
            Mltp::SingleStepTransfer { call, party: t.dn.to_string(), to }
        } else {
            let assist = req.attrs.extensions.as_ref().and_then(|e| e.get_str("AssistMode")).map(str::to_lowercase);
            let mode = match assist.as_deref() {
                Some("coach") => Some(MonitorMode::Coach),
                Some("mute") => Some(MonitorMode::Mute),
                _ => None,
            };
            // AssistMode connect / coach: an assistance session (guide: "Assistance Request").
            match assist.as_deref() {
                Some("coach") => self.assistance(t.conn, &t.dn, &to, crate::config::MonitorMode::Coach),
                Some("connect") => self.assistance(t.conn, &t.dn, &to, crate::config::MonitorMode::Connect),
                _ => {}
            }
            Mltp::SingleStepConference { call, to, mode }
        };
        self.send(t.conn, t.conn, route, msg, true, out);
        Ok(())
    }

    fn delete_from_conference(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let t = self.target(req, true)?;
        let party = req.attrs.other_dn.clone().ok_or(CallError::InvalidAttribute("OtherDN"))?;
        let call = &self.calls[&t.conn];
        let Some(p) = call.party(party.as_str()).filter(|p| !p.is_dn(&t.dn)) else {
            return Err(CallError::NotOnCall { party: party.to_string(), conn: t.conn });
        };
        if call.parties.len() < 3 {
            return Err(CallError::CallState { conn: t.conn, reason: "not a conference" });
        }
        let uri = p.uri.clone();
        self.start_op(t.conn, client, req, Stage::Effect).target = Some(uri_key(&uri));
        let (route, call) = self.switch_of(t.conn);
        self.send(t.conn, t.conn, route, Mltp::DeleteParty { call, party: uri }, true, out);
        Ok(())
    }

    /// The link and Connector call id of a call reported by the switch.
    pub(super) fn switch_of(&self, conn: ConnId) -> (SwitchRoute, u64) {
        let sw = self.calls[&conn].switch.clone().expect("a call with a switch id");
        (SwitchRoute::Link(sw.link), sw.call)
    }

    /// Sends a request acting on `dn`'s side of call `conn`, for the operation homed there (or,
    /// for a call other than the home, for the operation of `home_of`).
    pub(super) fn send_party_msg(&mut self, conn: ConnId, dn: &DnName, msg: Msg, stage: bool, out: &mut Output) {
        let home = self.op_home(conn).unwrap_or(conn);
        self.send_party_msg_for(home, conn, dn, msg, stage, out);
    }

    pub(super) fn send_party_msg_for(
        &mut self,
        home: ConnId,
        conn: ConnId,
        dn: &DnName,
        msg: Msg,
        stage: bool,
        out: &mut Output,
    ) {
        let Some(_) = self.calls.get(&conn).and_then(|c| c.switch.as_ref()) else { return };
        let (route, call) = self.switch_of(conn);
        let party = self.calls[&conn].party_of_dn(dn).map_or_else(|| dn.to_string(), |p| p.uri.clone());
        let msg = match msg {
            Msg::Release => Mltp::ReleaseCall { call, party },
            Msg::Hold => Mltp::HoldCall { call, party },
            Msg::Retrieve => Mltp::RetrieveCall { call, party },
            Msg::Dtmf(digits) => Mltp::SendDtmf { call, party, digits },
        };
        self.send(home, conn, route, msg, stage, out);
    }
}

/// The requests that act on one party's side of a call.
pub(super) enum Msg {
    Release,
    Hold,
    Retrieve,
    Dtmf(String),
}

/// OtherDN as the destination: present, not the requester itself.
pub(super) fn destination(req: &Request, from: &DnName) -> Result<String, CallError> {
    let to = req.attrs.other_dn.clone().filter(|d| !d.is_empty()).ok_or(CallError::InvalidAttribute("OtherDN"))?;
    // Anything else goes to the Connector, which knows what SfB can reach (415 otherwise).
    if uri_key(to.as_str()) == uri_key(from.as_str()) {
        return Err(CallError::InvalidDestination(to.to_string()));
    }
    Ok(to.to_string())
}

pub(super) fn state_name(s: PartyState) -> &'static str {
    match s {
        PartyState::Dialing => "Dialing",
        PartyState::Alerting => "Alerting",
        PartyState::Connected => "Connected",
        PartyState::Held => "Held",
    }
}
