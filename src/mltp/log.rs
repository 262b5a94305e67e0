//! MLTP messages as they appear in the log, with the guide's masking ("Hiding Sensitive Data"):
//! every header named in the Switch annex `[log] hide-header` (case-insensitive) and, while
//! `hide-sensitive-data` is on, the `Data`, `Treatment-Params` and `digits` headers and every
//! body (instant messages, HA call data) are printed as `**** (length:nn)`, nn being the byte
//! length of the original value. A message is logged as on the wire (start line, then headers
//! in order, then the body after a blank line) with LF line ends; `content-length` is framing and
//! is left out, as in the guide's example. Nothing sensitive may reach a log any other way.

use super::MltpMessage;
use crate::model::sensitive::mask;
use std::fmt;

/// Headers hidden by `hide-sensitive-data` (the guide names `Data` and `Treatment-Params`;
/// collected and DTMF digits are sensitive data too).
pub const SENSITIVE_HEADERS: &[&str] = &["Data", "Treatment-Params", "digits"];

/// Which headers (and whether bodies) are masked in logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HideHeaders {
    /// Lower-case header names from `hide-header`; `body` masks bodies.
    hidden: Vec<String>,
    hide_sensitive_data: bool,
}

/// The guide's defaults: no `hide-header`, `hide-sensitive-data = true`.
impl Default for HideHeaders {
    fn default() -> Self {
        HideHeaders::new(&[], true)
    }
}

impl HideHeaders {
    /// `list`: the `hide-header` names (entries may themselves be comma-separated lists).
    pub fn new(list: &[String], hide_sensitive_data: bool) -> Self {
        let hidden = list
            .iter()
            .flat_map(|entry| entry.split(','))
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        HideHeaders { hidden, hide_sensitive_data }
    }

    /// Whether header `name` is masked.
    pub fn hides(&self, name: &str) -> bool {
        self.hidden.iter().any(|h| h.eq_ignore_ascii_case(name))
            || (self.hide_sensitive_data && SENSITIVE_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)))
    }

    /// Whether bodies are masked: with `hide-sensitive-data`, or when `hide-header` lists `body`.
    pub fn hides_body(&self) -> bool {
        self.hide_sensitive_data || self.hidden.iter().any(|h| h == "body")
    }

    /// A lazily rendered view of `msg`, for `tracing` fields (`debug!(msg = %hide.view(&m))`).
    pub fn view<'a>(&'a self, msg: &'a MltpMessage) -> LogView<'a> {
        LogView { msg, hide: self }
    }
}

/// `msg` as the log shows it, masked per `hide`.
pub fn render_for_log(msg: &MltpMessage, hide: &HideHeaders) -> String {
    hide.view(msg).to_string()
}

/// Display adapter behind [`render_for_log`].
pub struct LogView<'a> {
    msg: &'a MltpMessage,
    hide: &'a HideHeaders,
}

impl fmt::Display for LogView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.msg;
        write!(f, "{} {} {}", m.name, m.id, super::VERSION)?;
        for (name, value) in &m.headers {
            if self.hide.hides(name) {
                write!(f, "\n{name}: {}", mask(value.len()))?;
            } else {
                write!(f, "\n{name}: {value}")?;
            }
        }
        match m.body.as_deref() {
            Some(body) if !body.is_empty() => {
                if self.hide.hides_body() {
                    write!(f, "\n\n{}", mask(body.len()))
                } else {
                    write!(f, "\n\n{body}")
                }
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mltp::{MessageName, MltpCodec, TxId};
    use bytes::BytesMut;

    /// The guide's "CTI Message Headers" excerpt, as the Connector receives it.
    const GUIDE_INPUT: &str = "PARTY_CREATED * MLTP/1.0\r\nmedia: voice\r\nfrom: sip:user1@domain.com\r\n\
                               to: sip:user21@domain.com\r\nparty-state: ALERTING\r\n\r\n";

    fn guide_message() -> MltpMessage {
        MltpCodec::default().decode(&mut BytesMut::from(GUIDE_INPUT)).unwrap().unwrap()
    }

    fn hide(list: &str, sensitive: bool) -> HideHeaders {
        HideHeaders::new(&[list.to_string()], sensitive)
    }

    #[test]
    fn guide_example_unmasked() {
        let shown = render_for_log(&guide_message(), &hide("", false));
        assert_eq!(
            shown,
            "PARTY_CREATED * MLTP/1.0\nmedia: voice\nfrom: sip:user1@domain.com\nto: sip:user21@domain.com\n\
             party-state: ALERTING"
        );
    }

    /// The guide's masked excerpt, byte for byte — except that the guide prints `length:21` for
    /// `sip:user1@domain.com`, which is 20 bytes long (its `to` value, `sip:user21@domain.com`, is
    /// the 21-byte one). nn is the length of the original data, so 20 is printed.
    #[test]
    fn guide_example_with_hide_header() {
        let hidden = render_for_log(&guide_message(), &hide("media, from, to, party-state", true));
        assert_eq!(
            hidden,
            "PARTY_CREATED * MLTP/1.0\n\
             media: **** (length:5)\n\
             from: **** (length:20)\n\
             to: **** (length:21)\n\
             party-state: **** (length:8)"
        );
        assert_eq!("sip:user1@domain.com".len(), 20);
    }

    #[test]
    fn hide_header_is_case_insensitive_and_accepts_config_lists() {
        let h = HideHeaders::new(&["Media".to_string(), " FROM ,to".to_string()], false);
        assert!(h.hides("media") && h.hides("From") && h.hides("to"));
        assert!(!h.hides("party") && !h.hides("Data") && !h.hides_body());
        assert!(hide("body", false).hides_body());
    }

    #[test]
    fn sensitive_data_headers_and_bodies_are_masked() {
        let msg = MltpMessage::new(MessageName::MakeCall, TxId::Tx(3))
            .with_header("conn-id", "006c02462a161006")
            .with_header("Data", r#"{"Card":"4111"}"#)
            .with_header("digits", "1234#")
            .with_body("Hello, Zoë");
        let on = render_for_log(&msg, &HideHeaders::default());
        assert_eq!(
            on,
            "MAKE_CALL 3 MLTP/1.0\nconn-id: 006c02462a161006\nData: **** (length:15)\ndigits: **** (length:5)\n\n\
             **** (length:11)"
        );
        let off = render_for_log(&msg, &hide("", false));
        assert!(
            off.contains(r#"Data: {"Card":"4111"}"#)
                && off.contains("digits: 1234#")
                && off.ends_with("\n\nHello, Zoë")
        );
        let treatment = MltpMessage::new(MessageName::PlayTreatment, TxId::Tx(4)).with_header("Treatment-Params", "{}");
        assert!(render_for_log(&treatment, &HideHeaders::default()).ends_with("Treatment-Params: **** (length:2)"));
    }
}
