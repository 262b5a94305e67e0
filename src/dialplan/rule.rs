//! One `dial-plan-rule-<n>` value: `<pattern>[=><target>][;<parameter>=<value>...]`.
//!
//! The guide's option is "a string defining the dial plan pattern", so a bare pattern is the
//! common form. The `=>` translation is the form the guide writes for dial plans elsewhere
//! (`sip:group1@company.com=>99+123456789`, `1234=>????`); in a target, `{DIGITS}` stands for
//! the variable areas of the match and `{1}`..`{9}` for one of them. Parameters after `;` set
//! `calling-method` or `cpn` for destinations that match this rule only. Parsing is pure and
//! every failure is a typed [`RuleError`] naming what is wrong; callers add the option name.

use super::pattern::{Captures, Pattern};
use crate::config::{CallingMethod, OptionEnum};
use std::fmt;

/// Why a dial-plan rule does not parse. Positions count characters of the pattern with its
/// whitespace removed, from 0.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the pattern is empty")]
    EmptyPattern,
    #[error("the pattern has {len} characters; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("'{{' at position {at} is never closed by '}}'")]
    UnclosedBrace { at: usize },
    #[error("'}}' at position {at} closes no '{{'")]
    UnopenedBrace { at: usize },
    #[error("'{{' at position {at} opens a variable area inside another one")]
    NestedBrace { at: usize },
    #[error("the variable area '{{}}' at position {at} is empty")]
    EmptyArea { at: usize },
    #[error("nothing follows '=>' (write <pattern>=><target>, or the pattern alone)")]
    EmptyTarget,
    #[error("'{{{reference}}}' in the target names no variable area of the pattern (the pattern has {areas}; use {{DIGITS}} or {{1}}..{{{areas}}})")]
    BadReference { reference: String, areas: usize },
    #[error("unbalanced brace in the target {target:?}")]
    TargetBrace { target: String },
    #[error("unknown parameter {name:?} after ';' (known: calling-method, cpn)")]
    UnknownParameter { name: String },
    #[error("parameter {name} has no value (write {name}=<value>)")]
    MissingValue { name: String },
    #[error("invalid value {value:?} for parameter {name}: {reason}")]
    InvalidParameter { name: String, value: String, reason: String },
    #[error("parameter {name} is given twice")]
    DuplicateParameter { name: String },
}

/// A piece of a rule's target.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// `{DIGITS}`: every variable area, concatenated.
    AllAreas,
    /// `{n}`: variable area n (stored 0-based).
    Area(usize),
}

/// A parsed dial-plan rule.
#[derive(Clone, PartialEq, Eq)]
pub struct Rule {
    text: String,
    pattern: Pattern,
    target: Option<Vec<Piece>>,
    calling_method: Option<CallingMethod>,
    cpn: Option<String>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rule({:?})", self.text)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `s` is a `sip:user@domain` URI (any case of the scheme).
pub fn is_sip_uri(s: &str) -> bool {
    s.get(..4).is_some_and(|scheme| scheme.eq_ignore_ascii_case("sip:"))
        && s[4..].split_once('@').is_some_and(|(u, d)| !u.is_empty() && !d.is_empty())
        && !s.contains(char::is_whitespace)
}

impl Rule {
    /// Parses `<pattern>[=><target>][;<parameter>=<value>...]`.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let text = text.trim();
        let mut parts = text.split(';');
        let head = parts.next().unwrap_or_default();
        let (pattern_text, target_text) = match head.split_once("=>") {
            Some((p, t)) => (p, Some(t.trim())),
            None => (head, None),
        };
        let pattern = Pattern::parse(pattern_text)?;
        let target = match target_text {
            Some("") => return Err(RuleError::EmptyTarget),
            Some(t) => Some(parse_target(t, pattern.areas())?),
            None => None,
        };
        let mut rule = Rule { text: text.to_string(), pattern, target, calling_method: None, cpn: None };
        for param in parts.map(str::trim).filter(|p| !p.is_empty()) {
            rule.set_parameter(param)?;
        }
        Ok(rule)
    }

    fn set_parameter(&mut self, param: &str) -> Result<(), RuleError> {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), v.trim()),
            None => (param, ""),
        };
        let invalid = |reason: &str| RuleError::InvalidParameter {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let duplicate = || RuleError::DuplicateParameter { name: name.to_string() };
        match name {
            "calling-method" | "cpn" if value.is_empty() => Err(RuleError::MissingValue { name: name.to_string() }),
            "calling-method" if self.calling_method.is_some() => Err(duplicate()),
            "calling-method" => {
                let m = CallingMethod::parse(value).ok_or_else(|| invalid("expected dialout or b2b"))?;
                self.calling_method = Some(m);
                Ok(())
            }
            "cpn" if self.cpn.is_some() => Err(duplicate()),
            "cpn" if !is_sip_uri(value) => Err(invalid("expected a SIP URI like \"sip:user@domain\"")),
            "cpn" => {
                self.cpn = Some(value.to_string());
                Ok(())
            }
            _ => Err(RuleError::UnknownParameter { name: name.to_string() }),
        }
    }

    /// The rule as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The rule's own `calling-method` parameter.
    pub fn calling_method(&self) -> Option<CallingMethod> {
        self.calling_method
    }

    /// The rule's own `cpn` parameter.
    pub fn cpn(&self) -> Option<&str> {
        self.cpn.as_deref()
    }

    /// Whether the rule rewrites the destination (`=> <target>`).
    pub fn has_target(&self) -> bool {
        self.target.is_some()
    }

    /// Matches `destination`; on success, the destination to dial: the target with its
    /// references filled in, or `destination` itself when the rule has no target.
    pub fn apply(&self, destination: &str) -> Option<String> {
        let caps = self.pattern.captures(destination)?;
        Some(match &self.target {
            None => destination.to_string(),
            Some(pieces) => fill(pieces, &caps),
        })
    }
}

fn fill(pieces: &[Piece], caps: &Captures<'_>) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::AllAreas => out.extend(caps.areas()),
            Piece::Area(i) => out.push_str(caps.area(*i).unwrap_or_default()),
        }
    }
    out
}

fn parse_target(target: &str, areas: usize) -> Result<Vec<Piece>, RuleError> {
    let brace = || RuleError::TargetBrace { target: target.to_string() };
    let mut pieces = Vec::new();
    let mut rest = target;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(brace());
        }
        let close = open + rest[open..].find('}').ok_or_else(brace)?;
        let reference = &rest[open + 1..close];
        if reference.contains('{') {
            return Err(brace());
        }
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let bad = || RuleError::BadReference { reference: reference.to_string(), areas };
        pieces.push(if reference.eq_ignore_ascii_case("DIGITS") {
            if areas == 0 {
                return Err(bad());
            }
            Piece::AllAreas
        } else {
            match reference.parse::<usize>() {
                Ok(n) if (1..=areas).contains(&n) => Piece::Area(n - 1),
                _ => return Err(bad()),
            }
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}
