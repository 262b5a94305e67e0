//! T-Library messages: a request (client to server) or an event (server to client), each a kind
//! from the catalogue plus its attributes. Constructors cover what every actor needs: answering a
//! request with its ReferenceID, building EventError from the guide's error codes, and rendering a
//! message for the log with sensitive data masked. Plain data: this module never does I/O.

use super::{Attributes, AttrsLog, EventKind, RequestKind};
use crate::model::sensitive::Visibility;
use crate::model::ErrorCode;
use std::fmt;

/// A client's request.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub kind: RequestKind,
    pub attrs: Attributes,
}

/// An event the server sends.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub attrs: Attributes,
}

/// One T-Library message, as framed on the wire or written as one JSON line.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Request(Request),
    Event(Event),
}

impl Request {
    pub fn new(kind: RequestKind) -> Self {
        Request { kind, attrs: Attributes::default() }
    }

    pub fn with_attrs(kind: RequestKind, attrs: Attributes) -> Self {
        Request { kind, attrs }
    }

    /// The client's ReferenceID; 0 when the request carries none (0 is GenEM's "no reference").
    pub fn reference_id(&self) -> u32 {
        self.attrs.reference_id.unwrap_or(0)
    }

    /// `Err(ErrorCode::UnsupOper)` when the server must not execute this request: the table marks
    /// it N or I, or its subtype is not supported (e.g. QueryCall PartiesQuery).
    pub fn check_supported(&self) -> Result<(), ErrorCode> {
        if self.kind.is_served() && self.kind.subtype_supported(&self.attrs) {
            Ok(())
        } else {
            Err(ErrorCode::UnsupOper)
        }
    }

    /// Renders the request for a log line, sensitive attributes masked per `visibility`.
    pub fn log_display(&self, visibility: Visibility) -> MessageLog<'_> {
        MessageLog { name: self.kind.name(), attrs: self.attrs.log_display(visibility) }
    }
}

impl Event {
    pub fn new(kind: EventKind) -> Self {
        Event { kind, attrs: Attributes::default() }
    }

    pub fn with_attrs(kind: EventKind, attrs: Attributes) -> Self {
        Event { kind, attrs }
    }

    /// An event answering `request`: it carries the request's ReferenceID (when it had one).
    pub fn answering(kind: EventKind, request: &Request) -> Self {
        let mut ev = Event::new(kind);
        ev.attrs.reference_id = request.attrs.reference_id;
        ev
    }

    /// EventError with ErrorCode, ErrorMessage and ReferenceID set.
    pub fn error(reference_id: u32, code: ErrorCode, message: impl Into<String>) -> Self {
        let mut ev = Event::new(EventKind::Error);
        ev.attrs.reference_id = Some(reference_id);
        ev.attrs.error_code = Some(code);
        ev.attrs.error_message = Some(message.into());
        ev
    }

    /// EventError answering `request`, with the request's DN and call copied so a client can tell
    /// which of its pending operations failed; the message defaults to the guide's description.
    pub fn error_for(request: &Request, code: ErrorCode, message: Option<String>) -> Self {
        let mut ev =
            Event::error(request.reference_id(), code, message.unwrap_or_else(|| code.description().to_string()));
        ev.attrs.this_dn = request.attrs.this_dn.clone();
        ev.attrs.conn_id = request.attrs.conn_id;
        ev
    }

    /// The ReferenceID this event carries; 0 for unsolicited events.
    pub fn reference_id(&self) -> u32 {
        self.attrs.reference_id.unwrap_or(0)
    }

    /// Renders the event for a log line, sensitive attributes masked per `visibility`.
    pub fn log_display(&self, visibility: Visibility) -> MessageLog<'_> {
        MessageLog { name: self.kind.name(), attrs: self.attrs.log_display(visibility) }
    }
}

impl Message {
    /// The request or event name (`MakeCall`, `EventRinging`).
    pub fn name(&self) -> &'static str {
        match self {
            Message::Request(r) => r.kind.name(),
            Message::Event(e) => e.kind.name(),
        }
    }

    pub fn attrs(&self) -> &Attributes {
        match self {
            Message::Request(r) => &r.attrs,
            Message::Event(e) => &e.attrs,
        }
    }

    pub fn attrs_mut(&mut self) -> &mut Attributes {
        match self {
            Message::Request(r) => &mut r.attrs,
            Message::Event(e) => &mut e.attrs,
        }
    }

    pub fn log_display(&self, visibility: Visibility) -> MessageLog<'_> {
        MessageLog { name: self.name(), attrs: self.attrs().log_display(visibility) }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Event> for Message {
    fn from(e: Event) -> Self {
        Message::Event(e)
    }
}

/// `Name Key=value ...` for a log line.
pub struct MessageLog<'a> {
    name: &'static str,
    attrs: AttrsLog<'a>,
}

impl fmt::Display for MessageLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if !self.attrs.is_empty() {
            write!(f, " {}", self.attrs)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DnName, KvList};

    #[test]
    fn error_events_carry_code_message_and_reference() {
        let ev = Event::error(7, ErrorCode::InvConnId, "no such call");
        assert_eq!(ev.kind, EventKind::Error);
        assert_eq!(ev.attrs.error_code, Some(ErrorCode::InvConnId));
        assert_eq!(ev.attrs.error_message.as_deref(), Some("no such call"));
        assert_eq!(ev.reference_id(), 7);
    }

    #[test]
    fn unsupported_requests_are_refused_with_51() {
        let mut r = Request::new(RequestKind::AnswerCall);
        r.attrs.reference_id = Some(3);
        assert_eq!(r.check_supported(), Err(ErrorCode::UnsupOper));
        let ev = Event::error_for(&r, ErrorCode::UnsupOper, None);
        assert_eq!(ev.reference_id(), 3);
        assert_eq!(ev.attrs.error_message.as_deref(), Some("Operation is not supported."));
        assert_eq!(Request::new(RequestKind::QueryLocation).check_supported(), Err(ErrorCode::UnsupOper));
        assert_eq!(Request::new(RequestKind::MakeCall).check_supported(), Ok(()));
        let mut q = Request::new(RequestKind::QueryCall);
        q.attrs.call_info_type = Some(crate::model::CallInfoType::PartiesQuery);
        assert_eq!(q.check_supported(), Err(ErrorCode::UnsupOper));
    }

    #[test]
    fn answers_copy_the_reference_id() {
        let mut r = Request::new(RequestKind::MakeCall);
        r.attrs.reference_id = Some(42);
        assert_eq!(Event::answering(EventKind::Dialing, &r).reference_id(), 42);
        assert_eq!(Request::new(RequestKind::QueryServer).reference_id(), 0);
    }

    #[test]
    fn log_lines_name_the_message_and_mask_user_data() {
        let mut ev = Event::new(EventKind::Ringing);
        ev.attrs.this_dn = Some(DnName::new("sip:a@b"));
        ev.attrs.user_data = Some(KvList::new().with("Secret", "abc"));
        let line = Message::from(ev).log_display(Visibility::Hidden).to_string();
        assert_eq!(line, "EventRinging ThisDN=sip:a@b UserData=**** (length:9)");
        assert_eq!(Request::new(RequestKind::QueryServer).log_display(Visibility::Shown).to_string(), "QueryServer");
    }
}
