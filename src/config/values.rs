//! Option value parsing: the value kinds the guide uses (booleans, durations in seconds or
//! minutes, bounded integers, enumerations, availability ranges, wrap-up time) and the typed
//! enumerations the validated model exposes. Parsing is pure and reports a reason an operator can
//! act on; callers add the option name. Nothing here knows which option has which kind.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The unit of a plain number given for a duration option ("15" means 15 seconds for
/// `no-answer-timeout`, 15 minutes for `auto-logout-timeout`, as the guide states them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Minutes,
}

impl Unit {
    fn secs(self) -> u64 {
        match self {
            Unit::Seconds => 1,
            Unit::Minutes => 60,
        }
    }
    fn example(self) -> &'static str {
        match self {
            Unit::Seconds => "\"15s\" (a plain number means seconds)",
            Unit::Minutes => "\"30m\" (a plain number means minutes)",
        }
    }
}

/// Parses a duration: a humantime string ("5s", "250ms", "1m 30s") or a plain non-negative
/// integer in `unit`.
pub fn parse_duration(s: &str, unit: Unit) -> Result<Duration, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit.secs()))
            .map(Duration::from_secs)
            .ok_or_else(|| "number out of range".to_string());
    }
    humantime::parse_duration(t).map_err(|_| format!("expected a duration like {}", unit.example()))
}

/// `true`/`false` (any case).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// `true`/`false` or the guide's `1`/`0` (e.g. `caching-enabled`).
pub fn parse_bool_or_digit(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" => Ok(true),
        "0" => Ok(false),
        other => parse_bool(other).map_err(|_| "expected true, false, 1 or 0".into()),
    }
}

/// A non-negative integer within `min..=max`.
pub fn parse_int(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = s.trim().parse().map_err(|_| format!("expected an integer from {min} to {max}"))?;
    if n < min || n > max {
        return Err(format!("expected an integer from {min} to {max}"));
    }
    Ok(n)
}

/// Enumeration values compare ignoring case, spaces, hyphens and underscores, so the guide's
/// spellings ("not ready", "notready", "not-ready") all match; the canonical spelling is returned.
pub fn parse_enum(s: &str, values: &'static [&'static str]) -> Result<&'static str, String> {
    let key = normalize(s);
    values.iter().find(|v| normalize(v) == key).copied().ok_or_else(|| format!("expected one of {}", values.join(", ")))
}

fn normalize(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-' | '_')).flat_map(char::to_lowercase).collect()
}

/// A comma-separated list of enumeration values (`handle-direct-calls-media = "av, im"`).
pub fn parse_enum_list(s: &str, values: &'static [&'static str]) -> Result<Vec<String>, String> {
    let items: Vec<&str> = s.split(',').map(str::trim).filter(|x| !x.is_empty()).collect();
    if items.is_empty() {
        return Err(format!("expected a comma-separated list of {}", values.join(", ")));
    }
    items.into_iter().map(|i| parse_enum(i, values).map(str::to_string)).collect()
}

/// A comma-separated list of free words (MLTP header names for `hide-header`), lower-cased.
pub fn parse_word_list(s: &str) -> Vec<String> {
    s.split(',').map(|w| w.trim().to_ascii_lowercase()).filter(|w| !w.is_empty()).collect()
}

/// Skype for Business availability ranges, e.g. `3000-5999,7500` (presence mapping to DND).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AvailabilityRanges(pub Vec<(u32, u32)>);

impl AvailabilityRanges {
    /// Whether `availability` falls in one of the ranges (the user counts as available: DND off).
    pub fn contains(&self, availability: u32) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&availability))
    }
}

impl fmt::Display for AvailabilityRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.0.iter().map(|(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }).collect();
        f.write_str(&parts.join(","))
    }
}

/// Parses availability ranges with values from 0 to `max`.
pub fn parse_ranges(s: &str, max: u32) -> Result<AvailabilityRanges, String> {
    let reason = || format!("expected ranges like \"3000-5999,7500\" with values from 0 to {max}");
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let lo: u32 = lo.parse().map_err(|_| reason())?;
        let hi: u32 = hi.parse().map_err(|_| reason())?;
        if lo > hi || hi > max {
            return Err(reason());
        }
        out.push((lo, hi));
    }
    if out.is_empty() {
        return Err(reason());
    }
    Ok(AvailabilityRanges(out))
}

/// The emulated after-call work period (`wrap-up-time`): timed, or `untimed` (the agent returns
/// to Ready manually). Zero disables ACW.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum WrapUpTime {
    Timed(#[serde(with = "humantime_serde")] Duration),
    Untimed,
}

impl fmt::Display for WrapUpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WrapUpTime::Timed(d) => write!(f, "{}", humantime::format_duration(*d)),
            WrapUpTime::Untimed => f.write_str("untimed"),
        }
    }
}

pub fn parse_wrap_up(s: &str) -> Result<WrapUpTime, String> {
    if s.trim().eq_ignore_ascii_case("untimed") {
        return Ok(WrapUpTime::Untimed);
    }
    parse_duration(s, Unit::Seconds)
        .map(WrapUpTime::Timed)
        .map_err(|_| "expected a duration like \"15s\" (a plain number means seconds) or untimed".into())
}

/// An option enumeration with the guide's spellings.
pub trait OptionEnum: Sized + Copy {
    const VALUES: &'static [&'static str];
    fn from_canonical(s: &str) -> Option<Self>;
    fn as_str(self) -> &'static str;
    /// Parses any accepted spelling.
    fn parse(s: &str) -> Option<Self> {
        parse_enum(s, Self::VALUES).ok().and_then(Self::from_canonical)
    }
}

macro_rules! option_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $text)] $variant),+ }
        impl OptionEnum for $name {
            const VALUES: &'static [&'static str] = &[$($text),+];
            fn from_canonical(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
            fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

option_enum!(
    /// `no-answer-action`: what happens to a logged-in agent who lets a call ring out.
    NoAnswerAction { None = "none", NotReady = "notready", Logout = "logout" }
);
option_enum!(
    /// `emulated-login-state`: the agent state right after an emulated login.
    EmulatedLoginState { Ready = "ready", NotReady = "not-ready" }
);
option_enum!(
    /// `handle-direct-calls`: whether T-Server handles direct (1pcc) calls to a DN.
    HandleDirectCalls { True = "true", False = "false", OnLogin = "on-login" }
);
option_enum!(
    /// One value of `handle-direct-calls-media`.
    DirectCallsMedia { All = "all", Av = "av", Im = "im" }
);
option_enum!(
    /// `allow-pass-through-calls`.
    PassThroughCalls { None = "none", All = "all", Iscc = "iscc" }
);
option_enum!(
    /// `im-reporting`.
    ImReporting { Default = "default", Disabled = "disabled" }
);
option_enum!(
    /// `default-monitor-mode` (and the MonitorMode extension).
    MonitorMode { Mute = "mute", Normal = "normal", Connect = "connect", Coach = "coach" }
);
option_enum!(
    /// `default-monitor-scope` (and the MonitorScope extension).
    MonitorScope { Call = "call", Agent = "agent" }
);
option_enum!(
    /// `monitor-consult-calls`.
    MonitorConsultCalls { None = "none", Dest = "dest", Orig = "orig", All = "all" }
);
option_enum!(
    /// `escalation-user-data`.
    EscalationUserData { Inherited = "inherited", Separate = "separate" }
);
option_enum!(
    /// `calling-method` of the dial-plan DN (and the calling-method extension).
    CallingMethod { Dialout = "dialout", B2b = "b2b" }
);
option_enum!(
    /// `protocol` of a Connector link section.
    LinkProtocol { Tcp = "tcp", Tls = "tls" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_humantime_and_plain_numbers_in_the_guide_unit() {
        assert_eq!(parse_duration("5s", Unit::Seconds), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms", Unit::Seconds), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("15", Unit::Seconds), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2", Unit::Minutes), Ok(Duration::from_secs(120)));
        let e = parse_duration("abc", Unit::Seconds).unwrap_err();
        assert!(e.contains("\"15s\""), "{e}");
        assert!(parse_duration("-3", Unit::Seconds).is_err());
    }

    #[test]
    fn booleans_and_digits() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert!(parse_bool("1").is_err());
        assert_eq!(parse_bool_or_digit("0"), Ok(false));
        assert_eq!(parse_bool_or_digit("1"), Ok(true));
        assert_eq!(parse_bool_or_digit("false"), Ok(false));
        assert!(parse_bool_or_digit("2").is_err());
    }

    #[test]
    fn enums_accept_the_guide_spellings() {
        assert_eq!(NoAnswerAction::parse("not ready"), Some(NoAnswerAction::NotReady));
        assert_eq!(NoAnswerAction::parse("NotReady"), Some(NoAnswerAction::NotReady));
        assert_eq!(EmulatedLoginState::parse("notready"), Some(EmulatedLoginState::NotReady));
        assert_eq!(
            parse_enum("sometimes", HandleDirectCalls::VALUES).unwrap_err(),
            "expected one of true, false, on-login"
        );
        assert_eq!(parse_enum_list("av, IM", DirectCallsMedia::VALUES), Ok(vec!["av".into(), "im".into()]));
    }

    #[test]
    fn ranges_and_wrap_up() {
        let r = parse_ranges("3000-5999, 7500", 18500).unwrap();
        assert!(r.contains(4500) && r.contains(7500) && !r.contains(6000));
        assert_eq!(r.to_string(), "3000-5999,7500");
        assert!(parse_ranges("6000-3000", 18500).is_err());
        assert!(parse_ranges("3000-19000", 18500).is_err());
        assert_eq!(parse_wrap_up("untimed"), Ok(WrapUpTime::Untimed));
        assert_eq!(parse_wrap_up("10"), Ok(WrapUpTime::Timed(Duration::from_secs(10))));
        assert!(parse_int("16", 0, 15).is_err());
    }
}
