//! The option vocabulary: what an option is ([`OptionSpec`]: name, value kind, built-in default,
//! the hierarchy levels where it may be set, the extension keys that override it per request,
//! its pool scope) and how a raw value becomes a validated [`OptionValue`]. The tables themselves
//! live in `catalogue.rs`. Pure data and parsing: no I/O, no knowledge of a loaded file.

use super::catalogue;
use super::values::{self, AvailabilityRanges, Unit, WrapUpTime};
use serde::Serialize;
use std::time::Duration;

/// How an option's value is written and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `true` / `false`.
    Bool,
    /// `true` / `false` / `1` / `0` (the guide writes `caching-enabled` as 0/1).
    BoolOrDigit,
    /// A humantime duration, or a plain number in `unit`; at most `max` units.
    Duration { unit: Unit, max: Option<u64> },
    /// An integer in `min..=max`.
    Int { min: u64, max: u64 },
    /// One of the listed words.
    Enum(&'static [&'static str]),
    /// A comma-separated list of the listed words.
    EnumList(&'static [&'static str]),
    /// Availability ranges from 0 to 18500 (`3000-5999,7500`).
    Ranges,
    /// A duration in seconds or `untimed`.
    WrapUp,
    /// Any non-empty string.
    Text,
    /// A `sip:` URI.
    SipUri,
    /// A comma-separated list of words (MLTP header names).
    WordList,
    /// The name of a Voice over IP Service DN whose `service-type` is the given one.
    ServiceDn(&'static str),
    /// A conference endpoint pattern with a `{D...}` digit placeholder.
    UriPattern,
    /// A B2BUA dial-plan rule (`crate::dialplan::Rule`: `<pattern>[=><target>][;<parameter>=<value>]`).
    DialPlanRule,
}

/// Where in the option hierarchy an option may be configured (bit set over [`Scope`]s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Levels(u8);

/// A configuration object that can carry options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The T-Server Application (`[TServer]` and the other application sections).
    Application = 1,
    /// The Switch annex (`[switch.annex.<section>]`).
    Switch = 2,
    /// A top-level DN folder annex (`[[folder]] annex`).
    Folder = 4,
    /// A DN annex (`[[dn]] annex`).
    Dn = 8,
    /// An Agent Login annex (`[[agent-login]] annex`).
    AgentLogin = 16,
}

impl Levels {
    pub const APP: Levels = Levels(1);
    pub const SWITCH: Levels = Levels(2);
    pub const FOLDER: Levels = Levels(4);
    pub const DN: Levels = Levels(8);
    pub const AGENT: Levels = Levels(16);
    pub const fn or(self, other: Levels) -> Levels {
        Levels(self.0 | other.0)
    }
    pub fn allows(self, scope: Scope) -> bool {
        self.0 & scope as u8 != 0
    }
}

/// The guide's "Multiple Application Pools" classification of an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolScope {
    /// Not classified by the guide: one value for the whole T-Server.
    Unclassified,
    /// "applicable to all pools": the Application value serves every pool.
    AllPools,
    /// "applicable to default pool only": a non-default pool takes it from its top-level folder
    /// annex, else from the default pool (Application / Switch).
    PerPool,
}

/// One option of one section.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    /// The guide's name; `<n>` marks a numbered family (`link-<n>-name`, `dial-plan-rule-<n>`).
    pub name: &'static str,
    /// Other spellings the guide uses for the same option.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// Built-in default as written in a file (None: no default, the option is simply unset).
    pub default: Option<&'static str>,
    pub levels: Levels,
    pub pools: PoolScope,
    /// AttributeExtensions keys of a request that override the option (highest priority).
    pub extension_keys: &'static [&'static str],
    /// At DN level the option belongs on a Voice over IP Service DN with this `service-type`.
    pub dn_service_type: Option<&'static str>,
    /// The guide section that describes it.
    pub guide: &'static str,
}

impl OptionSpec {
    pub const fn new(
        name: &'static str,
        kind: Kind,
        default: Option<&'static str>,
        levels: Levels,
        guide: &'static str,
    ) -> Self {
        OptionSpec {
            name,
            aliases: &[],
            kind,
            default,
            levels,
            pools: PoolScope::Unclassified,
            extension_keys: &[],
            dn_service_type: None,
            guide,
        }
    }
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Self {
        self.aliases = a;
        self
    }
    pub const fn pools(mut self, p: PoolScope) -> Self {
        self.pools = p;
        self
    }
    pub const fn ext(mut self, keys: &'static [&'static str]) -> Self {
        self.extension_keys = keys;
        self
    }
    pub const fn service(mut self, service_type: &'static str) -> Self {
        self.dn_service_type = Some(service_type);
        self
    }

    /// Whether `key` names this option (exactly, by alias, or as a member of a `<n>` family).
    pub fn matches(&self, key: &str) -> bool {
        if self.name == key || self.aliases.contains(&key) {
            return true;
        }
        match self.name.split_once("<n>") {
            Some((pre, post)) => key
                .strip_prefix(pre)
                .and_then(|rest| rest.strip_suffix(post))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0')),
            None => false,
        }
    }

    /// The built-in default, parsed (None when the option has no default).
    pub fn default_value(&self) -> Option<OptionValue> {
        let d = self.default?;
        Some(self.parse(d).unwrap_or_else(|e| panic!("catalogue default {d:?} of {} is invalid: {e}", self.name)))
    }

    /// Validates a value written as text; the error is the reason only.
    pub fn parse(&self, text: &str) -> Result<OptionValue, String> {
        let t = text.trim();
        let v = |raw: String, typed: Typed| Ok(OptionValue { raw, typed });
        match self.kind {
            Kind::Bool => values::parse_bool(t).and_then(|b| v(b.to_string(), Typed::Bool(b))),
            Kind::BoolOrDigit => values::parse_bool_or_digit(t).and_then(|b| v(b.to_string(), Typed::Bool(b))),
            Kind::Duration { unit, max } => {
                let d = values::parse_duration(t, unit)?;
                let unit_secs = if unit == Unit::Minutes { 60 } else { 1 };
                if let Some(max) = max {
                    if d > Duration::from_secs(max * unit_secs) {
                        let limit = humantime::format_duration(Duration::from_secs(max * unit_secs));
                        return Err(format!("must be at most {limit}"));
                    }
                }
                v(humantime::format_duration(d).to_string(), Typed::Duration(d))
            }
            Kind::Int { min, max } => values::parse_int(t, min, max).and_then(|n| v(n.to_string(), Typed::Int(n))),
            Kind::Enum(words) => {
                values::parse_enum(t, words).and_then(|w| v(w.to_string(), Typed::Text(w.to_string())))
            }
            Kind::EnumList(words) => values::parse_enum_list(t, words).and_then(|l| v(l.join(","), Typed::List(l))),
            Kind::Ranges => values::parse_ranges(t, 18500).and_then(|r| v(r.to_string(), Typed::Ranges(r))),
            Kind::WrapUp => values::parse_wrap_up(t).and_then(|w| v(w.to_string(), Typed::WrapUp(w))),
            Kind::Text if t.is_empty() => Err("expected a non-empty value".into()),
            Kind::Text => v(t.to_string(), Typed::Text(t.to_string())),
            Kind::SipUri => {
                if t.to_ascii_lowercase().starts_with("sip:") && t.contains('@') {
                    v(t.to_string(), Typed::Text(t.to_string()))
                } else {
                    Err("expected a SIP URI like \"sip:user@domain\"".into())
                }
            }
            Kind::WordList => {
                let l = values::parse_word_list(t);
                v(l.join(", "), Typed::List(l))
            }
            Kind::ServiceDn(_) if t.is_empty() => Err("expected the name of a Voice over IP Service DN".into()),
            Kind::ServiceDn(_) => {
                let dn = t.to_lowercase();
                v(dn.clone(), Typed::Text(dn))
            }
            Kind::UriPattern => match placeholder_digits(t) {
                Some(_) => v(t.to_string(), Typed::Text(t.to_string())),
                None => Err("expected a pattern with a digit placeholder like \"sip:conf{DD}@skype.lab\"".into()),
            },
            Kind::DialPlanRule => match crate::dialplan::Rule::parse(t) {
                Ok(rule) => v(rule.as_str().to_string(), Typed::Text(rule.as_str().to_string())),
                Err(e) => Err(format!("not a dial-plan rule: {e}")),
            },
        }
    }
}

/// The number of digits of the single `{D...}` placeholder of a conference `uri-pattern`.
pub fn placeholder_digits(pattern: &str) -> Option<usize> {
    let open = pattern.find('{')?;
    let close = open + pattern[open..].find('}')?;
    let inner = &pattern[open + 1..close];
    let rest = &pattern[close + 1..];
    if inner.is_empty() || !inner.bytes().all(|b| b == b'D') || rest.contains('{') || rest.contains('}') {
        return None;
    }
    Some(inner.len())
}

/// A validated value: the canonical text (what `resolve_str` returns and `check-config` prints)
/// and its typed form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptionValue {
    pub raw: String,
    #[serde(skip)]
    pub typed: Typed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    Bool(bool),
    Int(u64),
    Duration(Duration),
    Text(String),
    List(Vec<String>),
    Ranges(AvailabilityRanges),
    WrapUp(WrapUpTime),
}

impl OptionValue {
    pub fn as_bool(&self) -> Option<bool> {
        match self.typed {
            Typed::Bool(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match self.typed {
            Typed::Int(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_duration(&self) -> Option<Duration> {
        match self.typed {
            Typed::Duration(d) => Some(d),
            Typed::WrapUp(WrapUpTime::Timed(d)) => Some(d),
            _ => None,
        }
    }
    pub fn as_list(&self) -> Option<&[String]> {
        match &self.typed {
            Typed::List(l) => Some(l),
            _ => None,
        }
    }
    pub fn as_ranges(&self) -> Option<&AvailabilityRanges> {
        match &self.typed {
            Typed::Ranges(r) => Some(r),
            _ => None,
        }
    }
    pub fn as_wrap_up(&self) -> Option<WrapUpTime> {
        match self.typed {
            Typed::WrapUp(w) => Some(w),
            _ => None,
        }
    }
}

/// The options of an option section (`TServer`, `connector`, `conference-services`, `log`).
pub fn section(name: &str) -> Option<&'static [OptionSpec]> {
    catalogue::SECTIONS.iter().find(|(n, _)| *n == name).map(|(_, specs)| *specs)
}

/// The spec of `key` in `section`.
pub fn find(section_name: &str, key: &str) -> Option<&'static OptionSpec> {
    section(section_name)?.iter().find(|s| s.matches(key))
}

/// The names of all option sections, in the order the guide introduces them.
pub fn section_names() -> impl Iterator<Item = &'static str> {
    catalogue::SECTIONS.iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_in_the_catalogue_parses() {
        for name in section_names() {
            for spec in section(name).unwrap() {
                if spec.default.is_some() {
                    assert!(spec.default_value().is_some(), "{name} {}", spec.name);
                }
                assert!(spec.levels.0 != 0, "{} has no level", spec.name);
            }
        }
    }

    #[test]
    fn numbered_families_and_aliases_match() {
        let link = find("TServer", "link-12-name").unwrap();
        assert_eq!(link.name, "link-<n>-name");
        assert!(find("TServer", "link--name").is_none());
        assert!(find("TServer", "link-01-name").is_none());
        assert_eq!(find("TServer", "default-redirection-limit").unwrap().name, "default-redirect-limit");
        assert_eq!(find("connector", "musicOnHoldFilePath").unwrap().name, "music-on-hold-file-path");
        assert!(find("TServer", "no-such-option").is_none());
    }

    #[test]
    fn placeholders() {
        assert_eq!(placeholder_digits("sip:conf{DD}@skype.lab"), Some(2));
        assert_eq!(placeholder_digits("sip:conf{DDD}@x"), Some(3));
        assert_eq!(placeholder_digits("sip:conf@skype.lab"), None);
        assert_eq!(placeholder_digits("sip:conf{XX}@skype.lab"), None);
        assert_eq!(placeholder_digits("sip:{D}{D}@x"), None);
    }

    #[test]
    fn values_are_canonicalised() {
        let t = find("TServer", "no-answer-timeout").unwrap();
        assert_eq!(t.parse("15").unwrap().raw, "15s");
        assert_eq!(t.parse("601").unwrap_err(), "must be at most 10m");
        let a = find("TServer", "no-answer-action").unwrap();
        assert_eq!(a.parse("Not Ready").unwrap().raw, "notready");
        let c = find("connector", "caching-enabled").unwrap();
        assert_eq!(c.parse("0").unwrap().as_bool(), Some(false));
    }
}
