//! Requests that involve two calls: TInitiateTransfer / TInitiateConference (hold the call, then
//! dial a consultation call with a new ConnID, user data copied), TCompleteTransfer /
//! TCompleteConference (merge the consultation into the held call, which keeps its ConnID),
//! TReconnectCall (leave the consultation, retrieve the held call) and TAlternateCall (hold the
//! active call, retrieve the held one). Project decision: `ConnID` names the held (original)
//! call and `TransferConnID` the current (consultation) call. The operation lives in the call
//! `ConnID` names and locks the other one, so neither accepts another operation meanwhile.

use super::io::{Output, SwitchRoute};
use super::requests::{destination, Msg};
use super::types::{uri_key, Call, ClientRef, Link, LinkKind, PartyState, Stage};
use super::{CallError, CallTable};
use crate::mltp::{Media, Mltp};
use crate::model::{CallType, ConnId, DnName, MediaType};
use crate::tlib::{Request, RequestKind as K};

impl CallTable {
    pub(super) fn initiate(
        &mut self,
        client: ClientRef,
        req: &Request,
        now: u64,
        out: &mut Output,
    ) -> Result<(), CallError> {
        let t = self.target(req, true)?;
        let to = destination(req, &t.dn)?;
        let main = &self.calls[&t.conn];
        if main.media == MediaType::CHAT {
            return Err(CallError::Unsupported(format!("{} for IM calls", req.kind)));
        }
        if main.consult {
            return Err(CallError::Unsupported("a consultation call for a consultation call".into()));
        }
        if main.link.is_some() {
            return Err(CallError::CallState { conn: t.conn, reason: "a consultation call already exists" });
        }
        self.need_state(t.conn, &t.dn, &[PartyState::Connected, PartyState::Held], "Connected or Held")?;
        if !self.directory.in_service(&t.dn) {
            return Err(CallError::OutOfService(t.dn));
        }
        let already_held = self.state_of(t.conn, &t.dn) == PartyState::Held;
        let kind = if req.kind == K::InitiateTransfer { LinkKind::Transfer } else { LinkKind::Conference };
        let consult = self.conn_ids.next();
        let mut call = Call::new(consult, main.media, CallType::Consult, t.dn.as_str(), &to, now);
        call.consult = true;
        call.link = Some(Link { other: t.conn, kind });
        call.locked_by = Some(t.conn);
        call.user_data = if self.options.consult_user_data { main.user_data.clone() } else { Default::default() };
        call.user_data.update(&req.attrs.user_data.clone().unwrap_or_default());
        self.calls.insert(consult, Box::new(call));
        self.touch(consult);
        out.effects.push(super::Effect::CallCreated(consult));
        self.call_mut(t.conn).expect("main").link = Some(Link { other: consult, kind });
        let op = self.start_op(t.conn, client, req, if already_held { Stage::Dial } else { Stage::Hold });
        op.partner = Some(consult);
        op.target = Some(uri_key(&to));
        if already_held {
            self.dial_consult(t.conn, out);
        } else {
            self.send_party_msg(t.conn, &t.dn, Msg::Hold, true, out);
        }
        Ok(())
    }

    /// Sends MAKE_CALL for the consultation call of the initiate operation at `home`.
    pub(super) fn dial_consult(&mut self, home: ConnId, out: &mut Output) {
        let Some(op) = self.op_mut(home) else { return };
        op.stage = Stage::Dial;
        let (requester, consult) = (op.requester.clone(), op.partner);
        let Some(c) = consult.and_then(|c| self.calls.get(&c)) else { return };
        let data = (!c.user_data.is_empty()).then(|| c.user_data.clone());
        // The dial plan decides (the request's own calling-method Extension is not kept).
        let dial = self.dial_method(&requester, &c.dnis, None);
        let msg = Mltp::MakeCall {
            conn_id: c.conn_id,
            from: requester.to_string(),
            to: dial.to.clone(),
            media: if c.media == MediaType::CHAT { Media::Im } else { Media::Voice },
            conversation_id: None,
            data,
            calling_method: dial.calling_method.clone(),
            cpn: dial.cpn.clone(),
            text: String::new(),
        };
        let (about, requested) = (c.conn_id, c.dnis.clone());
        if dial.b2b() {
            if let Some(x) = self.call_mut(about) {
                x.b2b = Some(requested);
            }
        }
        self.send(home, about, SwitchRoute::ServingDn(requester), msg, true, out);
    }

    /// ConnID and TransferConnID: two distinct known calls, both reported by the same Connector,
    /// neither busy, the requester on both.
    fn pair(&self, req: &Request) -> Result<(ConnId, ConnId, DnName), CallError> {
        let t = self.target(req, true)?;
        let other = req.attrs.transfer_conn_id.ok_or(CallError::InvalidAttribute("TransferConnID"))?;
        if other == t.conn {
            return Err(CallError::InvalidAttribute("TransferConnID"));
        }
        let o = self.calls.get(&other).ok_or(CallError::UnknownCall(other))?;
        if o.is_locked() || o.switch.is_none() {
            return Err(CallError::OperationInProgress(other));
        }
        if o.party_of_dn(&t.dn).is_none() {
            return Err(CallError::NotOnCall { party: t.dn.to_string(), conn: other });
        }
        let links = (self.calls[&t.conn].switch.as_ref().map(|s| &s.link), o.switch.as_ref().map(|s| &s.link));
        if links.0 != links.1 {
            return Err(CallError::CallState { conn: other, reason: "the calls are on different connectors" });
        }
        Ok((t.conn, other, t.dn))
    }

    pub(super) fn complete(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let (main, consult, dn) = self.pair(req)?;
        if self.calls[&main].media == MediaType::CHAT || self.calls[&consult].media == MediaType::CHAT {
            return Err(CallError::Unsupported("merge of IM calls".into()));
        }
        if req.kind == K::CompleteTransfer {
            self.check_complete_transfer(main, consult, &dn)?;
        }
        let op = self.start_op(main, client, req, Stage::Effect);
        op.partner = Some(consult);
        self.call_mut(consult).expect("consult").locked_by = Some(main);
        let (route, call) = self.switch_of(main);
        let (_, consult_call) = self.switch_of(consult);
        let party = self.calls[&main].party_of_dn(&dn).map_or_else(|| dn.to_string(), |p| p.uri.clone());
        let msg = if req.kind == K::CompleteTransfer {
            Mltp::TransferCall { call, consult_call, party }
        } else {
            Mltp::ConferenceCall { call, consult_call, party }
        };
        self.send(main, main, route, msg, true, out);
        Ok(())
    }

    pub(super) fn reconnect_alternate(
        &mut self,
        client: ClientRef,
        req: &Request,
        out: &mut Output,
    ) -> Result<(), CallError> {
        let (held, current, dn) = self.pair(req)?;
        if req.kind == K::ReconnectCall {
            self.need_state(held, &dn, &[PartyState::Held], "Held")?;
            let op = self.start_op(held, client, req, Stage::Release);
            op.partner = Some(current);
            self.call_mut(current).expect("current").locked_by = Some(held);
            self.send_party_msg_for(held, current, &dn, Msg::Release, true, out);
            return Ok(());
        }
        let states = (self.state_of(held, &dn), self.state_of(current, &dn));
        let active = match states {
            (PartyState::Held, PartyState::Connected) => current,
            (PartyState::Connected, PartyState::Held) => held,
            _ => {
                let actual = super::requests::state_name(states.0);
                let needed = "Connected on one call and Held on the other";
                return Err(CallError::PartyState { party: dn, conn: held, actual, needed });
            }
        };
        let op = self.start_op(held, client, req, Stage::Hold);
        op.partner = Some(current);
        op.first = Some(active);
        self.call_mut(current).expect("current").locked_by = Some(held);
        self.send_party_msg_for(held, active, &dn, Msg::Hold, true, out);
        Ok(())
    }
}
