//! T-Library call events from one party's point of view: ThisDN is the party, OtherDN the party it
//! talks to (see [`Call::other_of`]), roles, CallState, CallType as that party's switch sees it,
//! ConnID, CallUUID, MediaType, ANI / DNIS, UserData, TransferConnID while the call is linked to a
//! consultation partner, and the `Conversation-ID` extension on every call event (guide:
//! "Attribute Extensions"). Builders only: which event goes to whom is decided elsewhere.

use super::types::{Call, Party, PendingOp};
use crate::model::{CallState, ConnId, DnName, DnRole, KvList};
use crate::tlib::{Event, EventKind};

/// The extension key naming the SfB conversation a call belongs to.
pub const CONVERSATION_ID: &str = "Conversation-ID";

impl Call {
    /// `kind` for party `p`: every attribute of the party's point of view, CallState Ok.
    pub(crate) fn event(&self, kind: EventKind, p: &Party) -> Event {
        let mut ev = Event::new(kind);
        let a = &mut ev.attrs;
        a.conn_id = Some(self.conn_id);
        a.call_uuid = Some(self.call_uuid.clone());
        a.this_dn = Some(p.name());
        a.this_dn_role = Some(p.role);
        if let Some(o) = self.other_of(p) {
            a.other_dn = Some(o.name());
            a.other_dn_role = Some(o.role);
        }
        a.call_state = Some(CallState::Ok);
        a.call_type = Some(self.type_for(p));
        a.media_type = Some(self.media);
        a.ani = (!self.ani.is_empty()).then(|| self.ani.clone());
        a.dnis = (!self.dnis.is_empty()).then(|| self.dnis.clone());
        a.user_data = (!self.user_data.is_empty()).then(|| self.user_data.clone());
        a.extensions = self.extensions();
        a.transfer_conn_id = self.link.map(|l| l.other);
        ev
    }

    /// Extensions of every call event: `Conversation-ID` once the Connector reported it.
    pub(crate) fn extensions(&self) -> Option<KvList> {
        (!self.conversation_id.is_empty()).then(|| KvList::new().with(CONVERSATION_ID, self.conversation_id.as_str()))
    }

    /// EventError answering an operation on this call (with the call's ConnID and
    /// Conversation-ID, as the guide lists it for EventError).
    pub(crate) fn error_event(&self, op: &PendingOp, code: crate::model::ErrorCode, message: String) -> Event {
        let mut ev = Event::error(op.reference_id, code, message);
        ev.attrs.this_dn = Some(op.requester.clone());
        ev.attrs.conn_id = Some(self.conn_id);
        ev.attrs.extensions = self.extensions();
        ev
    }
}

/// Attribute adjustments on a built event.
pub(crate) trait EventExt: Sized {
    fn other(self, dn: DnName, role: DnRole) -> Self;
    fn third(self, dn: DnName, role: DnRole) -> Self;
    fn state(self, s: CallState) -> Self;
    fn previous(self, conn: ConnId) -> Self;
    /// Carries the request's ReferenceID when `answer` (the answering event).
    fn reference(self, reference_id: Option<u32>) -> Self;
}

impl EventExt for Event {
    fn other(mut self, dn: DnName, role: DnRole) -> Self {
        self.attrs.other_dn = Some(dn);
        self.attrs.other_dn_role = Some(role);
        self
    }
    fn third(mut self, dn: DnName, role: DnRole) -> Self {
        self.attrs.third_party_dn = Some(dn);
        self.attrs.third_party_dn_role = Some(role);
        self
    }
    fn state(mut self, s: CallState) -> Self {
        self.attrs.call_state = Some(s);
        self
    }
    fn previous(mut self, conn: ConnId) -> Self {
        self.attrs.previous_conn_id = Some(conn);
        self
    }
    fn reference(mut self, reference_id: Option<u32>) -> Self {
        if let Some(r) = reference_id {
            self.attrs.reference_id = Some(r);
        }
        self
    }
}

/// CallState of EventReleased for a party that left for `cause` (the Connector's cause text).
pub(crate) fn released_state(cause: &str) -> CallState {
    match cause {
        "forwarded" => CallState::Forwarded,
        "busy" => CallState::Busy,
        "noanswer" => CallState::NoAnswer,
        "redirected" => CallState::Redirected,
        _ => CallState::Ok,
    }
}

/// A Connector cause text in comparable form (`no-answer`, `NoAnswer` and `noanswer` alike).
pub(crate) fn cause_key(cause: Option<&str>) -> String {
    cause.unwrap_or("").chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_compare_loosely() {
        assert_eq!(cause_key(Some("No-Answer")), "noanswer");
        assert_eq!(released_state(&cause_key(Some("noanswer"))), CallState::NoAnswer);
        assert_eq!(released_state("callended"), CallState::Ok);
    }
}
