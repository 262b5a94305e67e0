//! Configuration of the simulated world: the `[sim]` TOML section ([`SimSection`], raw serde,
//! kebab-case, unknown keys refused) and the validated [`SimConfig`] built from it and the
//! T-Server's [`ServerConfig`] (DNs, `[conference-services]`, `[connector]` music files). Every
//! problem is reported with the option, the value and the reason. This module never builds world
//! state and never reads files.

use super::types::{AnswerMode, Behavior, HuntMode, UserKind};
use super::users::{domain_of, normalize_uri};
use crate::config::ServerConfig;
use crate::model::DnType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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

fn default_alert_time() -> Duration {
    Duration::from_secs(20)
}
fn one() -> u32 {
    1
}

/// A Response Group's hunting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ResponseGroupSpec {
    pub members: Vec<String>,
    pub mode: HuntMode,
    pub alert_ms: u64,
}

/// One simulated user or endpoint, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UserSpec {
    pub uri: String,
    pub kind: UserKind,
    pub federated: bool,
    pub endpoints: u32,
    pub behavior: Behavior,
    pub forward_to: Option<String>,
    pub forward_after_ms: Option<u64>,
    pub simultaneous_ring: Vec<String>,
    pub response_group: Option<ResponseGroupSpec>,
    pub line_uri: Option<String>,
    pub availability: u32,
    pub activity: Option<String>,
}

impl UserSpec {
    pub fn new(uri: &str, kind: UserKind) -> UserSpec {
        UserSpec {
            uri: normalize_uri(uri).unwrap_or_else(|| uri.to_string()),
            kind,
            federated: false,
            endpoints: 1,
            behavior: Behavior::MANUAL,
            forward_to: None,
            forward_after_ms: None,
            simultaneous_ring: Vec::new(),
            response_group: None,
            line_uri: None,
            availability: 3000,
            activity: None,
        }
    }
}

/// The validated configuration the [`World`](super::World) is built from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SimConfig {
    pub domain: String,
    pub users: Vec<UserSpec>,
    /// Conference-service endpoints, in pattern order.
    pub conference_endpoints: Vec<String>,
    pub pstn_callers_bypass_lobby: bool,
    pub conference_scheduling_rate: Option<u32>,
    pub conference_expiry_ms: u64,
    pub require_scheduled_conference: bool,
    pub im_replay_window_ms: u64,
    pub im_idle_timeout_ms: u64,
    pub recover_im_calls: bool,
    /// `music-on-hold-file-path` (None: no music on hold, as the guide says).
    pub music_on_hold: Option<String>,
    /// `ringtone-file-path` (None: no ring-back from the Connector).
    pub ringtone: Option<String>,
    pub external_behavior: Behavior,
}

/// Every problem found while building a [`SimConfig`], one per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct SimConfigError {
    pub problems: Vec<String>,
}

impl SimConfig {
    /// An empty world of `domain` with the `[sim]` defaults (for tests and tools).
    pub fn new(domain: &str) -> SimConfig {
        SimConfig::from_section(domain.to_lowercase(), &SimSection::default())
    }

    /// Adds (or replaces) a user.
    pub fn with_user(mut self, spec: UserSpec) -> SimConfig {
        self.users.retain(|u| u.uri != spec.uri);
        self.users.push(spec);
        self
    }

    fn from_section(domain: String, s: &SimSection) -> SimConfig {
        SimConfig {
            domain,
            users: Vec::new(),
            conference_endpoints: Vec::new(),
            pstn_callers_bypass_lobby: s.pstn_callers_bypass_lobby,
            conference_scheduling_rate: s.conference_scheduling_rate,
            conference_expiry_ms: ms(s.conference_expiry),
            require_scheduled_conference: s.require_scheduled_conference,
            im_replay_window_ms: ms(s.im_replay_window),
            im_idle_timeout_ms: ms(s.im_idle_timeout),
            recover_im_calls: s.recover_im_calls,
            music_on_hold: None,
            ringtone: None,
            external_behavior: Behavior { answer: s.external_answer, delay_ms: ms(s.external_answer_delay) },
        }
    }

    /// Builds the world's configuration: every Extension DN is a SfB user, Routing Points and
    /// External Routing Points (reached also by their Association number) and the
    /// `[conference-services]` endpoints are Trusted Application Endpoints, then `[sim]` adds
    /// users and Response Groups and sets attributes of Extension DNs.
    pub fn from_server_config(server: &ServerConfig, extra: SimSection) -> Result<SimConfig, SimConfigError> {
        let mut problems = Vec::new();
        let domain = match &extra.domain {
            Some(d) => d.trim().to_lowercase(),
            None => dominant_domain(server),
        };
        let mut cfg = SimConfig::from_section(domain, &extra);
        if extra.conference_scheduling_rate == Some(0) {
            problems.push(bad("conference-scheduling-rate", "0", "must be at least 1 per second (unset: no limit)"));
        }
        let agent = Behavior { answer: extra.agent_answer, delay_ms: ms(extra.agent_answer_delay) };
        let mut users: BTreeMap<String, UserSpec> = BTreeMap::new();
        let mut acd_queues = BTreeSet::new();
        for dn in server.dns.values() {
            let Some(uri) = normalize_uri(dn.number.as_str()).filter(|u| u.starts_with("sip:")) else { continue };
            let kind = match dn.dn_type {
                DnType::Extension => UserKind::Extension,
                DnType::RoutingPoint => UserKind::RoutingPoint,
                DnType::ExternalRoutingPoint => UserKind::ExternalRoutingPoint,
                DnType::AcdQueue => {
                    acd_queues.insert(uri);
                    continue;
                }
                _ => continue,
            };
            let mut spec = UserSpec::new(&uri, kind);
            if kind == UserKind::Extension {
                spec.behavior = agent;
            }
            spec.line_uri = dn.association.as_deref().and_then(normalize_uri);
            users.insert(uri, spec);
        }
        if let Some(cs) = &server.switch.conference_services {
            for uri in cs.endpoint_uris() {
                let uri = normalize_uri(&uri).unwrap_or(uri);
                users.insert(uri.clone(), UserSpec::new(&uri, UserKind::ConferenceService));
                cfg.conference_endpoints.push(uri);
            }
        }
        cfg.music_on_hold = server.switch.connector.music_on_hold_file_path.clone().filter(|s| !s.is_empty());
        cfg.ringtone = server.switch.connector.ringtone_file_path.clone().filter(|s| !s.is_empty());
        for u in &extra.users {
            merge_user(&mut users, &acd_queues, u, &mut problems);
        }
        check_references(&cfg.domain, &users, &mut problems);
        cfg.users = users.into_values().collect();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(SimConfigError { problems })
        }
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

fn bad(option: &str, value: &str, reason: &str) -> String {
    format!("invalid value {value:?} for [sim] {option}: {reason}")
}

fn dominant_domain(server: &ServerConfig) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for dn in server.dns.values() {
        if let Some(d) = domain_of(dn.number.as_str()) {
            *counts.entry(d.to_string()).or_default() += 1;
        }
    }
    let best = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
    best.map_or_else(|| "skype.lab".to_string(), |(d, _)| d.clone())
}

fn merge_user(
    users: &mut BTreeMap<String, UserSpec>,
    acd_queues: &BTreeSet<String>,
    u: &SimUserSection,
    problems: &mut Vec<String>,
) {
    let label = |k: &str| format!("user {:?} {k}", u.uri);
    let Some(uri) = normalize_uri(&u.uri).filter(|x| x.starts_with("sip:")) else {
        problems.push(bad(&label("uri"), &u.uri, "expected a SIP URI like \"sip:user@domain\""));
        return;
    };
    let is_rg = !u.members.is_empty();
    let mut spec = match users.get(&uri) {
        None => UserSpec::new(&uri, if is_rg { UserKind::ResponseGroup } else { UserKind::User }),
        Some(existing) if existing.kind == UserKind::Extension && !is_rg => existing.clone(),
        Some(existing) => {
            let why = if is_rg {
                "a configured DN cannot be a Response Group (only an ACD Queue DN may name one)"
            } else {
                "only Extension DNs can be given [sim] attributes"
            };
            problems.push(bad(&label("uri"), &uri, &format!("{why}; it is a {:?}", existing.kind)));
            return;
        }
    };
    if acd_queues.contains(&uri) && !is_rg {
        problems.push(bad(&label("members"), "[]", "an ACD Queue DN in [sim] must be a Response Group"));
    }
    if u.endpoints == 0 || u.endpoints > 8 {
        problems.push(bad(&label("endpoints"), &u.endpoints.to_string(), "expected 1 to 8"));
    }
    spec.endpoints = u.endpoints.clamp(1, 8);
    spec.federated = u.federated;
    if u.federated && spec.kind != UserKind::Extension {
        problems.push(bad(
            &label("federated"),
            "true",
            "Office 365 users are configured as Extension DNs (Switch Specific Type 2)",
        ));
    }
    if let Some(a) = u.answer {
        spec.behavior = Behavior { answer: a, delay_ms: u.answer_delay.map_or(0, ms) };
    } else if let Some(d) = u.answer_delay {
        spec.behavior.delay_ms = ms(d);
    }
    if let Some(a) = u.availability {
        if a > 18000 {
            problems.push(bad(&label("availability"), &a.to_string(), "expected 0 to 18000"));
        }
        spec.availability = a.min(18000);
    }
    spec.activity = u.activity.clone().or(spec.activity);
    let uri_list = |option: &str, values: &[String], problems: &mut Vec<String>| -> Vec<String> {
        let mut out = Vec::new();
        for v in values {
            match normalize_uri(v) {
                Some(n) if n != uri => out.push(n),
                Some(_) => problems.push(bad(&label(option), v, "a user cannot name itself")),
                None => problems.push(bad(&label(option), v, "expected a sip: or tel: URI")),
            }
        }
        out
    };
    spec.forward_to = uri_list("forward-to", u.forward_to.as_slice(), problems).into_iter().next();
    spec.forward_after_ms = u.forward_after.map(ms);
    spec.simultaneous_ring = uri_list("simultaneous-ring", &u.simultaneous_ring, problems);
    if let Some(l) = &u.line_uri {
        match normalize_uri(l).filter(|n| n.starts_with("tel:")) {
            Some(n) => spec.line_uri = Some(n),
            None => problems.push(bad(&label("line-uri"), l, "expected a tel: URI like \"tel:+14155550123\"")),
        }
    }
    if is_rg {
        let members = uri_list("members", &u.members, problems);
        spec.response_group = Some(ResponseGroupSpec { members, mode: u.mode, alert_ms: ms(u.alert_time).max(1) });
    }
    users.insert(uri, spec);
}

/// Forwarding targets and Response Group members inside the domain must exist; members must be
/// unmonitored users (guide: "Only unmonitored Skype for Business users can be RG members").
fn check_references(domain: &str, users: &BTreeMap<String, UserSpec>, problems: &mut Vec<String>) {
    let mut lines = BTreeSet::new();
    for spec in users.values() {
        let targets = spec.forward_to.iter().chain(&spec.simultaneous_ring);
        for t in targets {
            if domain_of(t) == Some(domain) && !users.contains_key(t) {
                problems.push(bad(&format!("user {:?}", spec.uri), t, "no such user in the SfB domain"));
            }
        }
        if let Some(rg) = &spec.response_group {
            for m in &rg.members {
                match users.get(m) {
                    Some(member) if member.kind == UserKind::User => {}
                    Some(member) => problems.push(bad(
                        &format!("user {:?} members", spec.uri),
                        m,
                        &format!(
                            "Response Group members must be unmonitored SfB users (guide: \"Calling Skype for \
                             Business Response Groups\"); it is a {:?}",
                            member.kind
                        ),
                    )),
                    None => problems.push(bad(&format!("user {:?} members", spec.uri), m, "no such user")),
                }
            }
        }
        if let Some(l) = &spec.line_uri {
            if !lines.insert(l.clone()) {
                problems.push(bad(&format!("user {:?} line-uri", spec.uri), l, "used by two users"));
            }
        }
    }
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

    #[test]
    fn server_config_dns_become_users_and_endpoints() {
        let server = crate::config::embedded_default();
        let cfg = SimConfig::from_server_config(&server, SimSection::default()).unwrap();
        assert_eq!(cfg.domain, "skype.lab");
        let kind = |u: &str| cfg.users.iter().find(|s| s.uri == u).map(|s| s.kind);
        assert_eq!(kind("sip:agent01@skype.lab"), Some(UserKind::Extension));
        assert_eq!(kind("sip:rp1@skype.lab"), Some(UserKind::RoutingPoint));
        assert_eq!(kind("sip:conf10@skype.lab"), Some(UserKind::ConferenceService));
        assert_eq!(kind("sip:presence@skype.lab"), None);
        let erp = cfg.users.iter().find(|s| s.uri == "sip:erp1@skype.lab").unwrap();
        assert_eq!(erp.line_uri.as_deref(), Some("tel:+14155551212"));
        assert_eq!(cfg.conference_endpoints.len(), 10);
        assert!(cfg.music_on_hold.is_none());
    }

    #[test]
    fn sim_users_are_validated_with_option_value_and_reason() {
        let server = crate::config::embedded_default();
        let s = section(
            r#"
            [[sim.user]]
            uri = "sip:rg@skype.lab"
            members = ["sip:agent01@skype.lab", "sip:ghost@skype.lab"]
            [[sim.user]]
            uri = "sip:rp1@skype.lab"
            endpoints = 2
            [[sim.user]]
            uri = "sip:agent02@skype.lab"
            endpoints = 0
            forward-to = "sip:nobody@skype.lab"
            [[sim.user]]
            uri = "sip:agent03@skype.lab"
            federated = true
            endpoints = 2
            "#,
        )
        .unwrap();
        let e = SimConfig::from_server_config(&server, s).unwrap_err();
        let text = e.to_string();
        assert_eq!(e.problems.len(), 5, "{text}");
        assert!(text.contains("Response Group members must be unmonitored"), "{text}");
        assert!(text.contains("\"sip:ghost@skype.lab\""), "{text}");
        assert!(text.contains("only Extension DNs can be given [sim] attributes"), "{text}");
        assert!(text.contains("[sim] user \"sip:agent02@skype.lab\" endpoints: expected 1 to 8"), "{text}");
        assert!(text.contains("no such user in the SfB domain"), "{text}");
    }
}
