//! Configuration of the simulated world: the validated [`SimConfig`] built from the `[sim]`
//! section ([`SimSection`], see `section.rs`) and the T-Server's [`ServerConfig`] (DNs, `[conference-services]`, `[connector]` music files). Every
//! problem is reported with the option, the value and the reason. This module never builds world
//! state and never reads files.

use super::section::{SimSection, SimUserSection};
use super::types::{Behavior, HuntMode, UserKind};
use super::users::{domain_of, normalize_uri};
use crate::config::ServerConfig;
use crate::model::DnType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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

    /// [`Self::from_server_config`] with the file's own `[sim]` section.
    pub fn from_server(server: &ServerConfig) -> Result<SimConfig, SimConfigError> {
        SimConfig::from_server_config(server, SimSection::from_value(&server.sim)?)
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
        // Every pool's conference-service endpoints (a pool's folder may name its own).
        for cs in server.pools().iter().filter_map(|p| server.conference_services_for_pool(p)) {
            for uri in cs.endpoint_uris() {
                let uri = normalize_uri(&uri).unwrap_or(uri);
                if users.insert(uri.clone(), UserSpec::new(&uri, UserKind::ConferenceService)).is_none() {
                    cfg.conference_endpoints.push(uri);
                }
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
    fn the_servers_own_sim_section_is_read() {
        // The embedded default ends with its own [sim] section; replace it.
        let base = crate::config::EMBEDDED_DEFAULT;
        let base = &base[..base.find("\n[sim]").expect("default.toml has a [sim] section")];
        let mut text = base.to_string();
        text.push_str("\n[sim]\npstn-callers-bypass-lobby = false\nim-idle-timeout = 0\n[[sim.user]]\nuri = \"sip:bob@skype.lab\"\nendpoints = 2\n");
        let server = crate::config::load_str(&text).unwrap();
        let cfg = SimConfig::from_server(&server).unwrap();
        assert!(!cfg.pstn_callers_bypass_lobby);
        assert_eq!(cfg.im_idle_timeout_ms, 0);
        assert_eq!(cfg.users.iter().find(|u| u.uri == "sip:bob@skype.lab").unwrap().endpoints, 2);
        let plain = SimConfig::from_server(&crate::config::load_str(base).unwrap()).unwrap();
        assert!(plain.pstn_callers_bypass_lobby, "the pool's own default when [sim] is absent");
        let demo = SimConfig::from_server(&crate::config::embedded_default()).unwrap();
        assert!(!demo.pstn_callers_bypass_lobby, "the demo switch agrees with lobby-bypass-enabled = false");
        let bad = crate::config::load_str(&format!("{base}\n[sim]\nbogus = 1\n")).unwrap();
        assert!(SimConfig::from_server(&bad).unwrap_err().to_string().contains("bogus"));
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
