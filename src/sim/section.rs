//! The `[sim]` TOML section as written ([`SimSection`], `[[sim.user]]` entries): raw serde,
//! kebab-case, unknown keys refused, durations as humantime strings ("20s") or plain seconds.
//! Nothing here judges values or looks at the T-Server's configuration (see `config.rs`).

use super::config::SimConfigError;
use super::types::{AnswerMode, HuntMode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `[sim]` section: what the simulated Skype for Business looks like beyond the DNs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct SimSection {
    /// The SfB SIP domain (default: the domain most configured DNs use, else `skype.lab`).
    pub domain: Option<String>,
    /// The simulated pool's Meeting Configuration `PstnCallersBypassLobby` (guide: "Disable
    /// Lobby Bypass"); must equal `[conference-services] lobby-bypass-enabled` for scheduling.
    pub pstn_callers_bypass_lobby: bool,
    /// Conferences SfB schedules per second (the CPS bottleneck); unset = no limit.
    pub conference_scheduling_rate: Option<u32>,
    /// Lifetime of a scheduled conference (guide: "typically, in the region of 8 hours").
    #[serde(with = "duration_text")]
    pub conference_expiry: Duration,
    /// Calls hosted by an application conference need a conference scheduled with
    /// `schedule_conference`; when false an ad-hoc conference is used when none is free.
    pub require_scheduled_conference: bool,
    /// IM MCU replay window (guide: "the first 40 seconds of the IM Conference").
    #[serde(with = "duration_text")]
    pub im_replay_window: Duration,
    /// An IM session unused this long is released (guide: 10 minutes); 0 = never.
    #[serde(with = "duration_text")]
    pub im_idle_timeout: Duration,
    /// `import_calls` restores IM calls with their MCU transcript (false: the guide's behaviour,
    /// IM calls are lost when the Connector restarts).
    pub recover_im_calls: bool,
    /// Answer behaviour of configured Extension DNs without a `[[sim.user]]` entry.
    pub agent_answer: AnswerMode,
    #[serde(with = "duration_text")]
    pub agent_answer_delay: Duration,
    /// Answer behaviour of external parties (`tel:` and other domains).
    pub external_answer: AnswerMode,
    #[serde(with = "duration_text")]
    pub external_answer_delay: Duration,
    /// `[[sim.user]]`: extra users, Response Groups, and attributes of configured Extension DNs.
    #[serde(rename = "user", alias = "users")]
    pub users: Vec<SimUserSection>,
}

impl Default for SimSection {
    fn default() -> Self {
        SimSection {
            domain: None,
            pstn_callers_bypass_lobby: true,
            conference_scheduling_rate: None,
            conference_expiry: Duration::from_secs(8 * 3600),
            require_scheduled_conference: false,
            im_replay_window: Duration::from_secs(40),
            im_idle_timeout: Duration::from_secs(600),
            recover_im_calls: true,
            agent_answer: AnswerMode::Manual,
            agent_answer_delay: Duration::ZERO,
            external_answer: AnswerMode::Manual,
            external_answer_delay: Duration::ZERO,
            users: Vec::new(),
        }
    }
}

/// One `[[sim.user]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SimUserSection {
    pub uri: String,
    /// Non-empty: this user is a Response Group hunting these (unmonitored) members.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub mode: HuntMode,
    /// How long a Response Group lets a member (serial) or all members (parallel) alert.
    #[serde(default = "default_alert_time", with = "duration_text")]
    pub alert_time: Duration,
    pub forward_to: Option<String>,
    /// Forward only after alerting this long (unset: forward immediately).
    #[serde(default, with = "duration_opt")]
    pub forward_after: Option<Duration>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub simultaneous_ring: Vec<String>,
    /// An Office 365 user (guide: "Federation Platform with Microsoft Office 365 Cloud").
    #[serde(default)]
    pub federated: bool,
    #[serde(default = "one")]
    pub endpoints: u32,
    pub answer: Option<AnswerMode>,
    #[serde(default, with = "duration_opt")]
    pub answer_delay: Option<Duration>,
    pub availability: Option<u32>,
    pub activity: Option<String>,
    /// A `tel:` number that reaches this user.
    pub line_uri: Option<String>,
}

impl SimSection {
    /// Reads the `[sim]` section as the configuration keeps it raw (`ServerConfig::sim`; Null when
    /// the file has none: every default).
    pub fn from_value(v: &serde_json::Value) -> Result<SimSection, SimConfigError> {
        if v.is_null() {
            return Ok(SimSection::default());
        }
        serde_json::from_value(v.clone())
            .map_err(|e| SimConfigError { problems: vec![format!("invalid [sim] section: {e}")] })
    }
}

fn default_alert_time() -> Duration {
    Duration::from_secs(20)
}
fn one() -> u32 {
    1
}

/// A duration written as a humantime string ("20s", "8h") or a plain number of seconds.
mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }

    pub fn parse<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Duration::from_secs(s)),
            Raw::Text(t) => {
                let t = t.trim();
                if let Ok(s) = t.parse::<u64>() {
                    return Ok(Duration::from_secs(s));
                }
                humantime::parse_duration(t).map_err(|_| {
                    serde::de::Error::custom(format!("invalid duration {t:?}: expected e.g. \"20s\" or \"250ms\""))
                })
            }
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        parse(d)
    }
    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*v))
    }
}

mod duration_opt {
    use serde::{Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::duration_text::parse(d).map(Some)
    }
    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.collect_str(&humantime::format_duration(*d)),
            None => s.serialize_none(),
        }
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::One(s) => vec![s],
        Raw::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml: &str) -> Result<SimSection, String> {
        let c = config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()
            .map_err(|e| e.to_string())?;
        c.get::<SimSection>("sim").map_err(|e| e.to_string())
    }

    #[test]
    fn sim_section_reads_from_toml_with_defaults() {
        let s = section(
            r#"
            [sim]
            pstn-callers-bypass-lobby = false
            conference-scheduling-rate = 2
            conference-expiry = "1h"
            [[sim.user]]
            uri = "sip:Helpdesk@skype.lab"
            members = ["sip:bob@skype.lab", "sip:carol@skype.lab"]
            mode = "parallel"
            alert-time = 15
            [[sim.user]]
            uri = "sip:bob@skype.lab"
            simultaneous-ring = "tel:+14155550199"
            [[sim.user]]
            uri = "sip:carol@skype.lab"
            answer = "auto"
            answer-delay = "1500ms"
            "#,
        )
        .unwrap();
        assert!(!s.pstn_callers_bypass_lobby);
        assert_eq!(s.conference_scheduling_rate, Some(2));
        assert_eq!(s.conference_expiry, Duration::from_secs(3600));
        assert_eq!(s.im_replay_window, Duration::from_secs(40));
        assert_eq!(s.users[0].alert_time, Duration::from_secs(15));
        assert_eq!(s.users[1].simultaneous_ring, ["tel:+14155550199"]);
        assert_eq!(s.users[2].answer_delay, Some(Duration::from_millis(1500)));
        let e = section("[sim]\nlobby = true\n").unwrap_err();
        assert!(e.contains("lobby"), "{e}");
    }
}
