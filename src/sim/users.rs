//! Users and endpoints of the simulated world: URI normalisation, the user record (its spec,
//! presence, registration, what it received and what is played to it), and how a URI a script or
//! the application names is resolved (a configured user, a `tel:` LineURI alias, or an external
//! party created on first use). Never emits events and never touches calls.

use super::config::UserSpec;
use super::error::SimError;
use super::presence::Presence;
use super::types::{CallId, UserKind};
use super::view::{DtmfEntry, ImEntry, PlaybackNow, PlaybackRecord};
use super::World;
use std::collections::{BTreeMap, BTreeSet};

/// Most entries kept per user in each received-IM, DTMF and playback-history list (oldest go first),
/// so a long load run does not grow without bound.
pub const MAX_USER_LOG: usize = 50;

/// Canonical form of a URI: `sip:user@domain` lower-cased without parameters, `tel:+digits`
/// without separators. Bare `user@domain` gets `sip:`, a bare number gets `tel:`. None when the
/// text is neither.
pub fn normalize_uri(raw: &str) -> Option<String> {
    let t = raw.trim().to_lowercase();
    let t = t.split(';').next().unwrap_or("");
    if let Some(rest) = t.strip_prefix("tel:") {
        return tel(rest);
    }
    let rest = t.strip_prefix("sip:").unwrap_or(t);
    if let Some((user, domain)) = rest.split_once('@') {
        let ok = |s: &str| !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || c == '@' || c == ':');
        return (ok(user) && ok(domain)).then(|| format!("sip:{user}@{domain}"));
    }
    if t.starts_with("sip:") {
        return None;
    }
    tel(t)
}

fn tel(number: &str) -> Option<String> {
    let cleaned: String = number.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    let valid = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#');
    valid.then(|| format!("tel:{cleaned}"))
}

/// The domain of a SIP URI.
pub fn domain_of(uri: &str) -> Option<&str> {
    uri.strip_prefix("sip:").and_then(|r| r.split_once('@')).map(|(_, d)| d)
}

/// One user or endpoint of the world.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub spec: UserSpec,
    /// The presence the user (or the application) set; on a call the effective presence differs.
    pub base: Presence,
    pub on_call: bool,
    /// Last presence reported (what a subscriber was last told).
    pub reported: Option<Presence>,
    pub registered: bool,
    pub subscribed: bool,
    /// Calls this user is a party of.
    pub calls: BTreeSet<CallId>,
    pub ims: Vec<ImEntry>,
    pub dtmf: Vec<DtmfEntry>,
    pub playing: BTreeMap<CallId, PlaybackNow>,
    pub history: Vec<PlaybackRecord>,
}

impl User {
    pub fn new(spec: UserSpec) -> User {
        let base = Presence { availability: spec.availability, activity: spec.activity.clone() };
        User {
            spec,
            base,
            on_call: false,
            reported: None,
            registered: false,
            subscribed: false,
            calls: BTreeSet::new(),
            ims: Vec::new(),
            dtmf: Vec::new(),
            playing: BTreeMap::new(),
            history: Vec::new(),
        }
    }
    pub fn kind(&self) -> UserKind {
        self.spec.kind
    }
    /// Whether a call involving this user is a Genesys-monitored conversation (guide: "Call
    /// Monitoring"); calls presented directly to Office 365 users are not (guide: "Federation
    /// Platform ... Limitations").
    pub fn monitorable(&self) -> bool {
        match self.spec.kind {
            UserKind::Extension => !self.spec.federated,
            k => k.is_application(),
        }
    }
    /// A SfB user (has presence and SfB clients), as opposed to endpoints and externals.
    pub fn is_sfb_person(&self) -> bool {
        matches!(self.spec.kind, UserKind::Extension | UserKind::User)
    }
}

pub(crate) fn push_capped<T>(list: &mut Vec<T>, item: T) {
    if list.len() >= MAX_USER_LOG {
        list.remove(0);
    }
    list.push(item);
}

/// A destination as resolved before anything changes: known, or external to create.
pub(crate) enum Target {
    Known(String),
    External(String),
}

impl Target {
    pub fn uri(&self) -> &str {
        match self {
            Target::Known(u) | Target::External(u) => u,
        }
    }
}

impl World {
    /// The key of a known user named by `raw` (normalised, `tel:` LineURIs followed).
    pub(crate) fn lookup(&self, raw: &str) -> Option<String> {
        let uri = normalize_uri(raw)?;
        if self.users.contains_key(&uri) {
            return Some(uri);
        }
        self.lines.get(&uri).cloned()
    }

    /// A user that must already exist (the acting person, a DN the application names).
    pub(crate) fn known(&self, raw: &str) -> Result<String, SimError> {
        self.lookup(raw).ok_or_else(|| SimError::UnknownUser(raw.trim().to_string()))
    }

    /// Resolves a party to call or a caller: a known user, or an external party (any `tel:` URI
    /// and any SIP URI outside the domain). An unknown user inside the domain is an error.
    pub(crate) fn target(&self, raw: &str) -> Result<Target, SimError> {
        if let Some(uri) = self.lookup(raw) {
            return Ok(Target::Known(uri));
        }
        let uri = normalize_uri(raw).ok_or_else(|| SimError::destination(raw, "not a sip: or tel: URI"))?;
        match domain_of(&uri) {
            Some(d) if d == self.cfg.domain => Err(SimError::destination(&uri, "no such user in the SfB domain")),
            _ => Ok(Target::External(uri)),
        }
    }

    /// Creates the external party of a resolved target if needed; returns its key.
    pub(crate) fn materialize(&mut self, t: Target) -> String {
        match t {
            Target::Known(u) => u,
            Target::External(u) => {
                let behavior = self.cfg.external_behavior;
                self.users.entry(u.clone()).or_insert_with(|| {
                    let mut spec = UserSpec::new(&u, UserKind::External);
                    spec.behavior = behavior;
                    User::new(spec)
                });
                u
            }
        }
    }

    /// A URI validated earlier (configuration, a record) as a user key, creating an external party
    /// if needed.
    pub(crate) fn materialize_uri(&mut self, uri: &str) -> String {
        let t = self.target(uri).unwrap_or_else(|_| Target::External(uri.to_string()));
        self.materialize(t)
    }

    pub(crate) fn user(&self, uri: &str) -> &User {
        &self.users[uri]
    }

    pub(crate) fn user_mut(&mut self, uri: &str) -> &mut User {
        self.users.get_mut(uri).expect("resolved users exist")
    }

    pub(crate) fn kind_of(&self, uri: &str) -> UserKind {
        self.users.get(uri).map_or(UserKind::External, |u| u.spec.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_normalised() {
        assert_eq!(normalize_uri("SIP:Agent01@Skype.LAB").as_deref(), Some("sip:agent01@skype.lab"));
        assert_eq!(normalize_uri("agent01@skype.lab").as_deref(), Some("sip:agent01@skype.lab"));
        assert_eq!(normalize_uri("sip:a@b;user=phone").as_deref(), Some("sip:a@b"));
        assert_eq!(normalize_uri("tel:+1 (415) 555-0100").as_deref(), Some("tel:+14155550100"));
        assert_eq!(normalize_uri("+14155550100").as_deref(), Some("tel:+14155550100"));
        assert_eq!(normalize_uri("tel:+1415;ext=01").as_deref(), Some("tel:+1415"));
        for bad in ["", "sip:", "sip:@x", "hello", "tel:", "tel:+", "sip:a b@c"] {
            assert_eq!(normalize_uri(bad), None, "{bad}");
        }
        assert_eq!(domain_of("sip:a@contoso.com"), Some("contoso.com"));
        assert_eq!(domain_of("tel:+1"), None);
    }
}
