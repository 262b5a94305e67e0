//! The traffic profile of the simulation's load interface: callers per second (fractional),
//! how long or how many, destinations (round robin), caller numbering, hold time, patience, media
//! mix, replies to treatments and the agents who answer on their SfB clients. The raw request
//! ([`TrafficRequest`], what `POST /sim/traffic` carries) is checked here into a validated
//! [`TrafficProfile`]; the counters and the view ([`TrafficView`]) are plain data. Deterministic:
//! every random draw comes from [`SplitMix64`] seeded by the profile. This module never touches
//! the world (see `traffic_run.rs`) and never reads a clock.

use super::types::Media;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The highest rate a profile may ask for (callers per second).
pub const MAX_CPS: f64 = 100_000.0;
/// The longest hold time, patience or reply delay a profile may ask for (one day).
pub const MAX_SPAN_MS: u64 = 86_400_000;
/// Destinations a profile may list.
pub const MAX_DESTINATIONS: usize = 10_000;

/// A time in milliseconds, fixed (`3000`) or drawn uniformly from `{"min": 1000, "max": 5000}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpanMs {
    Fixed(u64),
    Range { min: u64, max: u64 },
}

impl SpanMs {
    fn bounds(self) -> (u64, u64) {
        match self {
            SpanMs::Fixed(v) => (v, v),
            SpanMs::Range { min, max } => (min, max),
        }
    }
    fn check(self, field: &str) -> Result<SpanMs, String> {
        let (min, max) = self.bounds();
        if min > max {
            return Err(format!("{field}: min {min} is greater than max {max}"));
        }
        if max > MAX_SPAN_MS {
            return Err(format!("{field}: {max} ms is longer than one day ({MAX_SPAN_MS} ms)"));
        }
        Ok(self)
    }
    /// A value in `min..=max`. A fixed span draws too, so every call makes the same draws
    /// whatever the spans are, and changing one span does not shift the others.
    pub fn draw(self, rng: &mut SplitMix64) -> u64 {
        let (min, max) = self.bounds();
        let r = rng.next_u64();
        min + r % (max - min + 1)
    }
}

/// One destination or a list of them (round robin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// How arrivals are spaced: evenly (`1000 / cps` ms apart) or as a Poisson process of the same mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    #[default]
    Uniform,
    Poisson,
}

/// Relative weights of the media callers use (normalised; need not sum to 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaMix {
    #[serde(default)]
    pub voice: f64,
    #[serde(default)]
    pub im: f64,
    #[serde(default)]
    pub video: f64,
}

impl Default for MediaMix {
    fn default() -> Self {
        MediaMix { voice: 1.0, im: 0.0, video: 0.0 }
    }
}

impl MediaMix {
    fn check(self) -> Result<MediaMix, String> {
        let all = [self.voice, self.im, self.video];
        if all.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err("media: weights must be finite and not negative".into());
        }
        let sum: f64 = all.iter().sum();
        if sum <= 0.0 {
            return Err("media: at least one of voice, im, video must be above 0".into());
        }
        Ok(MediaMix { voice: self.voice / sum, im: self.im / sum, video: self.video / sum })
    }
    pub fn draw(self, rng: &mut SplitMix64) -> Media {
        let u = rng.next_f64();
        if u < self.voice {
            Media::Voice
        } else if u < self.voice + self.im {
            Media::Im
        } else if self.video > 0.0 {
            Media::Video
        } else if self.im > 0.0 {
            Media::Im
        } else {
            Media::Voice
        }
    }
}

/// Agents (SfB users) set to answer automatically on their SfB clients after `answer_delay_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsSpec {
    /// Exact URIs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// A URI pattern where `*` matches any text, e.g. `sip:agent*@skype.lab`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default)]
    pub answer_delay_ms: u64,
}

/// A reply the caller sends once per call after `delay_ms`: digits to a collect-digits treatment,
/// or text to the first IM it receives before an agent answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub text: String,
    #[serde(default)]
    pub delay_ms: u64,
}

/// The body of `POST /sim/traffic`, as sent.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficRequest {
    pub cps: f64,
    pub to: OneOrMany,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub calls: Option<u64>,
    #[serde(default)]
    pub caller_prefix: Option<String>,
    #[serde(default)]
    pub caller_digits: Option<u32>,
    #[serde(default)]
    pub hold_ms: Option<SpanMs>,
    #[serde(default)]
    pub patience_ms: Option<SpanMs>,
    #[serde(default)]
    pub media: Option<MediaMix>,
    #[serde(default)]
    pub im_text: Option<String>,
    #[serde(default)]
    pub arrival: Arrival,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub agents: Option<AgentsSpec>,
    #[serde(default)]
    pub dtmf_reply: Option<Reply>,
    #[serde(default)]
    pub im_reply: Option<Reply>,
}

/// A checked traffic profile (what `GET /sim/traffic` shows back).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrafficProfile {
    pub cps: f64,
    pub to: Vec<String>,
    pub duration_ms: Option<u64>,
    pub calls: Option<u64>,
    pub caller_prefix: String,
    pub caller_digits: u32,
    pub hold_ms: SpanMs,
    pub patience_ms: Option<SpanMs>,
    pub media: MediaMix,
    pub im_text: String,
    pub arrival: Arrival,
    pub seed: u64,
    pub agents: Option<AgentsSpec>,
    pub dtmf_reply: Option<Reply>,
    pub im_reply: Option<Reply>,
}

impl TrafficRequest {
    /// Checks everything that does not depend on the world's users; the message names the field.
    pub fn validate(self) -> Result<TrafficProfile, String> {
        if !self.cps.is_finite() || self.cps <= 0.0 || self.cps > MAX_CPS {
            return Err(format!("cps: {} is not a rate above 0 and at most {MAX_CPS}", self.cps));
        }
        let to = match self.to {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        };
        if to.is_empty() || to.len() > MAX_DESTINATIONS {
            return Err(format!("to: between 1 and {MAX_DESTINATIONS} destinations, got {}", to.len()));
        }
        if self.duration_ms == Some(0) || self.calls == Some(0) {
            return Err("duration_ms and calls must be above 0 when given (omit both to run until DELETE)".into());
        }
        let caller_prefix = self.caller_prefix.unwrap_or_else(|| "tel:+1555".into()).trim().to_lowercase();
        let digits = caller_prefix.strip_prefix("tel:").map(|d| d.strip_prefix('+').unwrap_or(d));
        if !digits.is_some_and(|d| d.chars().all(|c| c.is_ascii_digit())) {
            return Err(format!("caller_prefix: {caller_prefix:?} is not tel: followed by digits (e.g. tel:+1555)"));
        }
        let caller_digits = self.caller_digits.unwrap_or(7);
        if !(1..=9).contains(&caller_digits) {
            return Err(format!("caller_digits: {caller_digits} is not between 1 and 9"));
        }
        let hold_ms = self.hold_ms.unwrap_or(SpanMs::Fixed(30_000)).check("hold_ms")?;
        let patience_ms = self.patience_ms.map(|p| p.check("patience_ms")).transpose()?;
        let media = self.media.unwrap_or_default().check()?;
        let im_text = self.im_text.unwrap_or_else(|| "Hello".into());
        if im_text.is_empty() {
            return Err("im_text: an IM caller's first message cannot be empty".into());
        }
        for (name, r) in [("dtmf_reply", &self.dtmf_reply), ("im_reply", &self.im_reply)] {
            if let Some(r) = r {
                if r.text.is_empty() || r.delay_ms > MAX_SPAN_MS {
                    return Err(format!("{name}: text must not be empty and delay_ms at most one day"));
                }
            }
        }
        if let Some(r) = &self.dtmf_reply {
            super::media::check_digits(&r.text).map_err(|e| format!("dtmf_reply: {e}"))?;
        }
        if let Some(a) = &self.agents {
            if a.uris.is_empty() && a.pattern.is_none() {
                return Err("agents: give uris, a pattern, or both".into());
            }
            if a.answer_delay_ms > MAX_SPAN_MS {
                return Err("agents: answer_delay_ms is longer than one day".into());
            }
        }
        Ok(TrafficProfile {
            cps: self.cps,
            to,
            duration_ms: self.duration_ms,
            calls: self.calls,
            caller_prefix,
            caller_digits,
            hold_ms,
            patience_ms,
            media,
            im_text,
            arrival: self.arrival,
            seed: self.seed.unwrap_or(1),
            agents: self.agents,
            dtmf_reply: self.dtmf_reply,
            im_reply: self.im_reply,
        })
    }
}

impl TrafficProfile {
    /// The caller URI of number `n` (`tel:+1555` + zero-padded digits).
    pub fn caller(&self, n: u32) -> String {
        format!("{}{:0width$}", self.caller_prefix, n, width = self.caller_digits as usize)
    }
    /// How many caller numbers the profile's numbering has.
    pub fn numbers(&self) -> u64 {
        10u64.pow(self.caller_digits)
    }
    /// Whether arrival `n` (0-based), `offset_ms` after the start, is still part of the run.
    pub fn wants(&self, n: u64, offset_ms: f64) -> bool {
        self.calls.is_none_or(|c| n < c) && self.duration_ms.is_none_or(|d| offset_ms < d as f64)
    }
}

/// Counters of a traffic run, cumulative since the first profile was started. At any time:
/// `offered = failed + abandoned + connected + waiting`, `connected = completed + talking`,
/// `in_progress = waiting + talking`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrafficCounters {
    /// Calls the generator placed (or tried to: refused ones are `failed`).
    pub offered: u64,
    /// Calls a person other than the caller answered.
    pub connected: u64,
    /// Callers who hung up unanswered when their patience ran out.
    pub abandoned: u64,
    /// Calls the simulation refused, or that ended unanswered for another reason.
    pub failed: u64,
    /// Answered calls that ended.
    pub completed: u64,
    pub in_progress: u64,
    /// In progress, not answered yet.
    pub waiting: u64,
    /// In progress and answered.
    pub talking: u64,
    /// The most calls in progress at once.
    pub peak_in_progress: u64,
    pub offered_voice: u64,
    pub offered_im: u64,
    pub offered_video: u64,
}

/// What `GET /sim/traffic` answers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrafficView {
    /// The current (or last) profile; None before the first one.
    pub profile: Option<TrafficProfile>,
    /// Whether callers are still being generated (false after DELETE or the end of the profile).
    pub generating: bool,
    pub started_at: Option<u64>,
    /// Arrivals generated under the current profile.
    pub generated: u64,
    pub counters: TrafficCounters,
    /// Failed calls by reason (`refused: <error kind>`, `ended unanswered: <cause>`).
    pub failures: BTreeMap<String, u64>,
    pub last_failure: Option<String>,
    /// Mean time from a call's start to its answer, over connected calls.
    pub mean_answer_ms: Option<f64>,
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast and the same on every platform, which is
/// what a reproducible load run needs.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Whether `uri` matches `pattern`, where `*` matches any text (both already lower case).
pub fn glob_match(pattern: &str, uri: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), uri.as_bytes());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < s.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if i < p.len() && p[i] == s[j] {
            i += 1;
            j += 1;
        } else if let Some(st) = star {
            i = st + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == b'*')
}
