//! The B2BUA dial plan (guide: Calling using Back-to-Back User Agent): which calling method dials
//! a destination (`dialout` from the conference, or `b2b`), what it is translated to, and which
//! caller ID (`cpn`) a B2BUA call shows. Pure: a [`DialPlan`] is built from configuration once and
//! [`DialPlan::resolve`] answers one destination with the request's Extensions; this module never
//! does I/O, keeps no state between calls and knows nothing of calls or actors.
//!
//! Precedence (docs/dialplan.md):
//! 1. the request Extension `calling-method` (`b2b`, `dialout`) decides alone, "regardless of any
//!    dial plan": no rule is consulted and the destination is dialed as requested;
//! 2. otherwise the first matching `dial-plan-rule-<n>` of the dial-plan DN (ascending n): its
//!    own `calling-method` parameter, else the dial-plan DN's `calling-method` option (default
//!    `dialout`); a dial-plan DN without rules matches every destination;
//! 3. no match, or no dial-plan DN (`calling-method-dialplan` unset): `dialout`.
//!
//! Caller ID exists only for B2BUA calls: the `CPNDigits` Extension (a SIP URI; anything else is
//! ignored) over the matched rule's `cpn` over the dial-plan DN's `cpn` over the Application's.

mod pattern;
mod rule;

pub use pattern::{Captures, Pattern, MAX_PATTERN_LEN};
pub use rule::{is_sip_uri, Rule, RuleError};

use crate::config::{CallingMethod, OptionEnum};
use crate::model::{DnName, KvList};
use serde::Serialize;

/// The AttributeExtensions key that chooses the calling method of one request (and that
/// EventRinging carries for a destination called by B2BUA).
pub const CALLING_METHOD_KEY: &str = "calling-method";
/// The AttributeExtensions key with the caller ID of one B2BUA request.
pub const CPN_DIGITS_KEY: &str = "CPNDigits";

/// The dial plan of one Application pool: the dial-plan DN named by `calling-method-dialplan`
/// with its rules and options, and the pool's Application-level `cpn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialPlan {
    /// The Voice over IP Service DN with `service-type = dialplan` (None: B2BUA only on request).
    pub dn: Option<DnName>,
    /// `dial-plan-rule-<n>` in ascending n; the first match wins.
    pub rules: Vec<(u32, Rule)>,
    /// The dial-plan DN's `calling-method` (used when a matching rule sets none).
    pub calling_method: CallingMethod,
    /// The dial-plan DN's `cpn`.
    pub cpn: Option<String>,
    /// The Application-level `cpn` of the pool.
    pub application_cpn: Option<String>,
}

impl Default for DialPlan {
    /// No dial-plan DN and no `cpn`: every destination is dialed out unless a request asks for
    /// B2BUA.
    fn default() -> Self {
        DialPlan {
            dn: None,
            rules: Vec::new(),
            calling_method: CallingMethod::Dialout,
            cpn: None,
            application_cpn: None,
        }
    }
}

/// What decided the calling method of a [`Resolution`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MethodSource {
    /// The request Extension `calling-method`.
    Extension,
    /// The `calling-method` parameter of the matching rule.
    Rule,
    /// The dial-plan DN's `calling-method` option (the destination matched the dial plan).
    DialPlanDn,
    /// The destination matched no rule of the dial plan.
    NoMatch,
    /// No dial-plan DN is configured for the pool.
    NoDialPlan,
}

/// How to dial one destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The destination to dial: the matching rule's target, else the requested destination.
    pub destination: String,
    pub calling_method: CallingMethod,
    /// The caller ID shown to the destination; only for `b2b` (None: the endpoint's identity).
    pub cpn: Option<String>,
    /// The n of the matching `dial-plan-rule-<n>` (None when no rule matched or none was asked).
    pub rule: Option<u32>,
    pub source: MethodSource,
}

impl Resolution {
    /// The AttributeExtensions pair EventRinging carries for a destination called by B2BUA.
    pub fn ringing_extension(&self) -> Option<(&'static str, &'static str)> {
        (self.calling_method == CallingMethod::B2b).then_some((CALLING_METHOD_KEY, CallingMethod::B2b.as_str()))
    }
}

impl DialPlan {
    /// A dial plan with only an Application-level `cpn` (no dial-plan DN).
    pub fn without_dn(application_cpn: Option<String>) -> DialPlan {
        DialPlan { application_cpn, ..DialPlan::default() }
    }

    /// A dial-plan DN with its options; `rules` in any order (they are sorted by n).
    pub fn new(
        dn: DnName,
        rules: impl IntoIterator<Item = (u32, Rule)>,
        calling_method: CallingMethod,
        cpn: Option<String>,
        application_cpn: Option<String>,
    ) -> DialPlan {
        let mut rules: Vec<(u32, Rule)> = rules.into_iter().collect();
        rules.sort_by_key(|(n, _)| *n);
        DialPlan { dn: Some(dn), rules, calling_method, cpn, application_cpn }
    }

    /// The first rule (ascending n) that matches `destination`, with the destination it
    /// translates to. Whitespace in the destination is ignored, as in patterns.
    pub fn first_match(&self, destination: &str) -> Option<(u32, &Rule, String)> {
        let compact = compact(destination);
        self.rules.iter().find_map(|(n, r)| r.apply(&compact).map(|d| (*n, r, d)))
    }

    /// Decides how `destination` is dialed for a request with `extensions` (TMakeCall,
    /// TRouteCall, TSingleStepTransfer/Conference, TInitiateTransfer/Conference).
    pub fn resolve(&self, destination: &str, extensions: Option<&KvList>) -> Resolution {
        let requested = destination.trim().to_string();
        let ext = |key: &str| extensions.and_then(|e| e.get_str(key)).map(str::trim);
        let ext_cpn = ext(CPN_DIGITS_KEY).filter(|c| is_sip_uri(c));
        let configured_cpn = |rule_cpn: Option<&str>| {
            ext_cpn.or(rule_cpn).or(self.cpn.as_deref()).or(self.application_cpn.as_deref()).map(str::to_string)
        };
        let finish = |destination: String, method: CallingMethod, rule: Option<(u32, &Rule)>, source| {
            let cpn = (method == CallingMethod::B2b).then(|| configured_cpn(rule.and_then(|(_, r)| r.cpn()))).flatten();
            Resolution { destination, calling_method: method, cpn, rule: rule.map(|(n, _)| n), source }
        };
        if let Some(method) = ext(CALLING_METHOD_KEY).and_then(CallingMethod::parse) {
            return finish(requested, method, None, MethodSource::Extension);
        }
        if self.dn.is_none() {
            return finish(requested, CallingMethod::Dialout, None, MethodSource::NoDialPlan);
        }
        if self.rules.is_empty() {
            return finish(requested, self.calling_method, None, MethodSource::DialPlanDn);
        }
        match self.first_match(destination) {
            Some((n, rule, translated)) => {
                let (method, source) = match rule.calling_method() {
                    Some(m) => (m, MethodSource::Rule),
                    None => (self.calling_method, MethodSource::DialPlanDn),
                };
                let translated = if rule.has_target() { translated } else { requested };
                finish(translated, method, Some((n, rule)), source)
            }
            None => finish(requested, CallingMethod::Dialout, None, MethodSource::NoMatch),
        }
    }
}

/// `s` without whitespace (borrowed when it has none).
fn compact(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(char::is_whitespace) {
        std::borrow::Cow::Owned(s.chars().filter(|c| !c.is_whitespace()).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests;
