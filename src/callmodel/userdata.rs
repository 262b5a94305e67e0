//! Requests the call model answers without the switch: user data (TAttachUserData,
//! TUpdateUserData, TDeleteUserData, TDeleteAllUserData -> EventAttachedDataChanged to every DN
//! on the call, ThirdPartyDN = the DN that changed it), TQueryCall StatusQuery (EventPartyInfo to
//! the requester only), TSendUserEvent (EventACK to the requester, EventUserEvent to the DN's
//! clients) and TPrivateService (EventPrivateInfo, plus an effect for the DN actor).

use super::events::EventExt;
use super::io::{Effect, Output};
use super::requests::state_name;
use super::types::ClientRef;
use super::{CallError, CallTable, DirectCallsOverride};
use crate::model::KvList;
use crate::tlib::{Event, EventKind, Request, RequestKind as K};

impl CallTable {
    pub(super) fn user_data(&mut self, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let t = self.target(req, false)?;
        let change = match req.kind {
            K::AttachUserData | K::UpdateUserData => {
                Some(req.attrs.user_data.clone().ok_or(CallError::InvalidAttribute("UserData"))?)
            }
            K::DeleteUserData => {
                req.attrs.key.as_ref().filter(|k| !k.is_empty()).ok_or(CallError::InvalidAttribute("Key"))?;
                None
            }
            _ => None,
        };
        let call = self.call_mut(t.conn).expect("validated call");
        match req.kind {
            K::AttachUserData => call.user_data.attach(change.as_ref().expect("checked")),
            K::UpdateUserData => call.user_data.update(change.as_ref().expect("checked")),
            K::DeleteUserData => {
                call.user_data.remove(req.attrs.key.as_deref().unwrap_or_default());
            }
            _ => call.user_data = KvList::new(),
        }
        let call = &self.calls[&t.conn];
        let requester = call.party_of_dn(&t.dn).expect("validated party").clone();
        let mut reference = Some(req.reference_id());
        // Every DN on the call, Routing Points included (URS attaches data while the call waits there).
        for p in call.parties.iter().filter(|p| p.dn.is_some()) {
            let dn = p.dn.clone().expect("filtered");
            let mut ev = call.event(EventKind::AttachedDataChanged, p).third(t.dn.clone(), requester.role);
            ev.attrs.user_data = Some(call.user_data.clone());
            if p.is_dn(&t.dn) {
                ev = ev.reference(reference.take());
            }
            out.deliver(&dn, ev);
        }
        Ok(())
    }

    pub(super) fn query_call(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let conn = req.attrs.conn_id.ok_or(CallError::InvalidAttribute("ConnID"))?;
        let call = self.calls.get(&conn).ok_or(CallError::UnknownCall(conn))?;
        let mut ev = Event::answering(EventKind::PartyInfo, req);
        let a = &mut ev.attrs;
        a.this_dn = req.attrs.this_dn.clone();
        a.conn_id = Some(conn);
        a.call_uuid = Some(call.call_uuid.clone());
        a.media_type = Some(call.media);
        a.call_type = Some(match req.attrs.this_dn.as_ref().and_then(|d| call.party_of_dn(d)) {
            Some(p) => call.type_for(p),
            None => call.call_type,
        });
        a.ani = Some(call.ani.clone());
        a.dnis = Some(call.dnis.clone());
        a.dn_list = Some(call.parties.iter().map(|p| p.name()).collect());
        a.user_data = Some(call.user_data.clone());
        a.transfer_conn_id = call.link.map(|l| l.other);
        let mut parties = KvList::new();
        for p in &call.parties {
            parties.push(p.name().to_string(), state_name(p.state).into());
        }
        a.extensions = Some(call.extensions().unwrap_or_default().with("Parties", parties));
        out.deliver_to_client(client, ev);
        Ok(())
    }

    pub(super) fn send_user_event(
        &mut self,
        client: ClientRef,
        req: &Request,
        out: &mut Output,
    ) -> Result<(), CallError> {
        let dn = req.attrs.this_dn.clone().ok_or(CallError::InvalidAttribute("ThisDN"))?;
        let mut ack = Event::answering(EventKind::ACK, req);
        ack.attrs.this_dn = Some(dn.clone());
        out.deliver_to_client(client, ack);
        let mut ev = Event::with_attrs(EventKind::UserEvent, req.attrs.clone());
        ev.attrs.reference_id = None;
        if let Some(call) = req.attrs.conn_id.and_then(|c| self.calls.get(&c)) {
            ev.attrs.extensions = call.extensions().or(ev.attrs.extensions);
        }
        out.deliver(&dn, ev);
        Ok(())
    }

    pub(super) fn private_service(
        &mut self,
        client: ClientRef,
        req: &Request,
        out: &mut Output,
    ) -> Result<(), CallError> {
        let dn = req.attrs.this_dn.clone().ok_or(CallError::InvalidAttribute("ThisDN"))?;
        let msg_id = req.attrs.private_msg_id.ok_or(CallError::InvalidAttribute("PrivateMsgID"))?;
        // A desktop overriding its DN's direct-call handling: refuse a value the option would not take.
        if let Some(ext) = &req.attrs.extensions {
            DirectCallsOverride::from_extensions(ext).map_err(CallError::InvalidAttribute)?;
        }
        let mut ev = Event::answering(EventKind::PrivateInfo, req);
        ev.attrs.this_dn = Some(dn.clone());
        ev.attrs.private_msg_id = Some(msg_id);
        ev.attrs.conn_id = req.attrs.conn_id;
        ev.attrs.extensions = req.attrs.extensions.clone();
        out.deliver_to_client(client, ev);
        let extensions = req.attrs.extensions.clone().unwrap_or_default();
        out.effects.push(Effect::PrivateService { dn, client, msg_id, extensions });
        Ok(())
    }
}
