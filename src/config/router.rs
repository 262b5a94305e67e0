//! `[router]`: the reference router (a T-Library routing client, `src/router/`), not a guide
//! object. Validated like everything else: every Routing Point it registers must be a configured
//! Routing Point or External Routing Point, every agent a configured Extension DN (a `*` pattern
//! must match at least one), and a bad value is refused at start naming `[router] <option>`.
//! This module only checks and resolves names; it never connects anywhere.

use super::error::{ConfigError, Problems};
use super::model::{DnConfig, ServerSection};
use super::raw::RawRouter;
use super::validate::{parsed, text};
use super::values::{parse_bool, parse_duration, parse_enum, Unit};
use crate::model::{DnName, DnType};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What a caller waiting for a free agent gets on a voice call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouterTreatment {
    /// TApplyTreatment Music until an agent is free.
    Music,
    /// Nothing: the caller waits in silence (`router-timeout` still applies).
    None,
}

/// The validated `[router]` section.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouterConfig {
    /// `run` starts the router inside the T-Server process.
    pub enabled: bool,
    /// T-Library address to connect to; None: `[server] tlib-listen` (inside `run`: the port
    /// actually bound).
    pub server: Option<String>,
    /// The Routing Points (or External Routing Points) it registers and routes from.
    pub routing_points: Vec<DnName>,
    /// Name of the target group (logs and the router's view).
    pub target_group: String,
    /// The target group: agent Extension DNs, patterns already resolved, in file order.
    pub agents: Vec<DnName>,
    pub treatment: RouterTreatment,
    /// Music file (TreatmentParms MUSIC_DN); None: the Connector's default music.
    pub music: Option<String>,
    /// Sent as an IM prompt (PlayAnnouncement) to IM callers waiting for an agent; empty: none.
    pub im_prompt: String,
    /// How long an agent who let a routed call ring out (or refused it) gets no new call.
    #[serde(with = "humantime_serde")]
    pub no_answer_pause: Duration,
    /// CA certificate(s) (PEM) to trust when the T-Library port speaks TLS.
    pub tls_ca: Option<PathBuf>,
    /// Server name checked in the T-Server's certificate.
    pub tls_name: String,
}

pub const DEFAULT_IM_PROMPT: &str = "All our agents are busy. Please stay with us: the next free agent will answer.";

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            enabled: false,
            server: None,
            routing_points: Vec::new(),
            target_group: "agents".into(),
            agents: Vec::new(),
            treatment: RouterTreatment::Music,
            music: None,
            im_prompt: DEFAULT_IM_PROMPT.into(),
            no_answer_pause: Duration::from_secs(30),
            tls_ca: None,
            tls_name: "localhost".into(),
        }
    }
}

/// `*` matches any run of characters (none included); everything else is literal.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

fn address(s: &str) -> Result<String, String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => Ok(s.to_string()),
        _ => Err("expected host:port, e.g. \"127.0.0.1:7000\"".into()),
    }
}

fn items(v: &Option<super::raw::RawValue>, label: &str, p: &mut Problems) -> Vec<String> {
    text(v, label, p)
        .map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

fn dn_kind(d: &DnConfig) -> &'static str {
    super::model::dn_type_name(d.dn_type)
}

pub(super) fn router_section(
    raw: Option<&RawRouter>,
    dns: &BTreeMap<DnName, DnConfig>,
    server: &ServerSection,
    p: &mut Problems,
) -> RouterConfig {
    let d = RouterConfig::default();
    let Some(raw) = raw else { return d };
    let l = |k: &str| format!("[router] {k}");
    let before = p.len();
    let mut routing_points = Vec::new();
    for name in items(&raw.routing_points, &l("routing-points"), p) {
        let dn = DnName::new(&name);
        match dns.get(&dn) {
            Some(c) if matches!(c.dn_type, DnType::RoutingPoint | DnType::ExternalRoutingPoint) => {
                if !routing_points.contains(&dn) {
                    routing_points.push(dn)
                }
            }
            Some(c) => p.push(ConfigError::invalid(
                l("routing-points"),
                name,
                format!("is a DN of type {}; expected a Routing Point or External Routing Point", dn_kind(c)),
            )),
            None => p.push(ConfigError::invalid(l("routing-points"), name, "no such DN is configured")),
        }
    }
    let rp_problems = p.len() - before;
    let before = p.len();
    let mut agents = Vec::new();
    for entry in items(&raw.agents, &l("agents"), p) {
        let key = entry.to_lowercase();
        let found: Vec<DnName> = if key.contains('*') {
            let m: Vec<DnName> = dns
                .values()
                .filter(|c| c.dn_type == DnType::Extension && pattern_matches(&key, c.number.as_str()))
                .map(|c| c.number.clone())
                .collect();
            if m.is_empty() {
                p.push(ConfigError::invalid(l("agents"), entry, "the pattern matches no Extension DN"));
            }
            m
        } else {
            match dns.get(&DnName::new(&key)) {
                Some(c) if c.dn_type == DnType::Extension => vec![c.number.clone()],
                Some(c) => {
                    let why = format!("is a DN of type {}; agents are Extension DNs", dn_kind(c));
                    p.push(ConfigError::invalid(l("agents"), entry, why));
                    vec![]
                }
                None => {
                    p.push(ConfigError::invalid(l("agents"), entry, "no such DN is configured"));
                    vec![]
                }
            }
        };
        for dn in found {
            if !agents.contains(&dn) {
                agents.push(dn);
            }
        }
    }
    let agent_problems = p.len() - before;
    let treatment = parsed(&raw.treatment, &l("treatment"), d.treatment, p, |s| {
        parse_enum(s, &["music", "none"])
            .map(|v| if v == "music" { RouterTreatment::Music } else { RouterTreatment::None })
    });
    let cfg = RouterConfig {
        enabled: parsed(&raw.enabled, &l("enabled"), false, p, parse_bool),
        server: text(&raw.server, &l("server"), p).filter(|s| !s.is_empty()).and_then(|s| match address(&s) {
            Ok(a) => Some(a),
            Err(reason) => {
                p.push(ConfigError::invalid(l("server"), s, reason));
                None
            }
        }),
        routing_points,
        target_group: text(&raw.target_group, &l("target-group"), p)
            .filter(|s| !s.is_empty())
            .unwrap_or(d.target_group),
        agents,
        treatment,
        music: text(&raw.music, &l("music"), p).filter(|s| !s.is_empty()),
        im_prompt: text(&raw.im_prompt, &l("im-prompt"), p).unwrap_or(d.im_prompt),
        no_answer_pause: parsed(&raw.no_answer_pause, &l("no-answer-pause"), d.no_answer_pause, p, |s| {
            parse_duration(s, Unit::Seconds)
        }),
        tls_ca: text(&raw.tls_ca, &l("tls-ca"), p).filter(|s| !s.is_empty()).map(PathBuf::from),
        tls_name: text(&raw.tls_name, &l("tls-name"), p).filter(|s| !s.is_empty()).unwrap_or(d.tls_name),
    };
    if cfg.enabled {
        if cfg.routing_points.is_empty() && rp_problems == 0 {
            p.push(ConfigError::missing(
                l("routing-points"),
                "the router is enabled; name the Routing Points it serves",
            ));
        }
        if cfg.agents.is_empty() && agent_problems == 0 {
            p.push(ConfigError::missing(l("agents"), "the router is enabled; name its target group's Extension DNs"));
        }
        if server.tls.is_some() && cfg.tls_ca.is_none() && cfg.server.is_none() {
            p.push(ConfigError::missing(
                l("tls-ca"),
                "[server] tls-cert puts TLS on the T-Library port the router connects to; name the CA that signs it",
            ));
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{embedded_default, load, ConfigError, EMBEDDED_DEFAULT};

    /// The embedded default with its `[router]` section replaced by `section`.
    fn with_router(section: &str) -> Result<crate::config::ServerConfig, ConfigError> {
        let start = EMBEDDED_DEFAULT.find("[router]").expect("the default has a [router] section");
        let end = start + EMBEDDED_DEFAULT[start..].find("# ----").expect("a section follows");
        let text = format!("{}{section}\n{}", &EMBEDDED_DEFAULT[..start], &EMBEDDED_DEFAULT[end..]);
        load(&text, "test", &[])
    }

    fn refused(section: &str) -> String {
        with_router(section).expect_err("refused").to_string()
    }

    #[test]
    fn the_embedded_default_routes_rp1_to_the_twenty_agents() {
        let r = embedded_default().router;
        assert!(r.enabled);
        assert_eq!(r.routing_points, [DnName::new("sip:rp1@skype.lab")]);
        assert_eq!(r.agents.len(), 20);
        assert_eq!(r.agents[0], DnName::new("sip:agent01@skype.lab"));
        assert!(!r.agents.iter().any(|a| a.as_str().contains("supervisor")));
        assert_eq!((r.treatment, r.no_answer_pause), (RouterTreatment::Music, Duration::from_secs(30)));
        assert!(r.server.is_none(), "inside run: the server's own port");
    }

    #[test]
    fn an_absent_section_is_a_disabled_router_and_lists_work_too() {
        let r = with_router("").unwrap().router;
        assert_eq!(r, RouterConfig::default());
        let r = with_router(
            "[router]\nenabled = true\nrouting-points = \"sip:RP1@skype.lab, sip:erp1@skype.lab\"\n\
             agents = [\"sip:agent02@skype.lab\", \"sip:agent0*@skype.lab\"]\ntreatment = \"None\"\n\
             im-prompt = \"\"\nno-answer-pause = \"1500ms\"\nserver = \"localhost:7000\"",
        )
        .unwrap()
        .router;
        assert_eq!(r.routing_points.len(), 2, "External Routing Points too; names lower-cased");
        assert_eq!(r.agents.len(), 9, "agent02 once, then agent01, agent03 .. agent09");
        assert_eq!(r.agents[0].as_str(), "sip:agent02@skype.lab");
        assert_eq!((r.treatment, r.im_prompt.as_str()), (RouterTreatment::None, ""));
        assert_eq!(r.no_answer_pause, Duration::from_millis(1500));
        assert_eq!(r.server.as_deref(), Some("localhost:7000"));
    }

    #[test]
    fn an_override_turns_the_embedded_router_off() {
        let overrides = [("router.enabled".to_string(), "false".to_string())];
        assert!(!load(EMBEDDED_DEFAULT, "test", &overrides).unwrap().router.enabled);
    }

    #[test]
    fn bad_values_are_refused_naming_the_option() {
        let cases = [
            ("[router]\nrouting-points = [\"sip:agent01@skype.lab\"]", "[router] routing-points", "of type Extension"),
            ("[router]\nrouting-points = [\"sip:nope@skype.lab\"]", "[router] routing-points", "no such DN"),
            ("[router]\nagents = \"sip:clerk*@skype.lab\"", "[router] agents", "matches no Extension DN"),
            ("[router]\nagents = [\"sip:rp1@skype.lab\"]", "[router] agents", "agents are Extension DNs"),
            ("[router]\ntreatment = \"jazz\"", "[router] treatment", "music, none"),
            ("[router]\nenabled = \"yes\"", "[router] enabled", "true or false"),
            ("[router]\nserver = \"7000\"", "[router] server", "host:port"),
            ("[router]\nno-answer-pause = \"soon\"", "[router] no-answer-pause", "duration"),
            ("[router]\nenabled = true\nagents = \"sip:agent*@skype.lab\"", "missing [router] routing-points", ""),
            ("[router]\nenabled = true\nrouting-points = \"sip:rp1@skype.lab\"", "missing [router] agents", ""),
            ("[router]\nagent = \"x\"", "agent", "unknown field"),
        ];
        for (section, option, reason) in cases {
            let e = refused(section);
            assert!(e.contains(option) && e.contains(reason), "{section:?} -> {e}");
        }
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("sip:agent*@skype.lab", "sip:agent07@skype.lab"));
        assert!(pattern_matches("*", "x"));
        assert!(pattern_matches("a*b*c", "abc"));
        assert!(pattern_matches("a*b*c", "a-b-b-c"));
        assert!(!pattern_matches("a*b*c", "acb"));
        assert!(!pattern_matches("sip:agent*@skype.lab", "sip:supervisor1@skype.lab"));
        assert!(!pattern_matches("ab*ba", "aba"), "the ends must not overlap");
        assert!(pattern_matches("exact", "exact") && !pattern_matches("exact", "exactly"));
    }
}
