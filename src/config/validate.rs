//! Raw -> validated: builds a [`ServerConfig`] from the raw layer or reports every problem
//! found. This file drives the whole build and covers the Switch, the checks across objects and
//! the warnings; `[server]` and the Connector links are in `validate_server.rs`, folders, DNs and
//! Agent Logins in `validate_objects.rs`. Nothing is half-built: any problem fails the load.

use super::annex::{option_label, parse_annex, parse_table, value_text, Annex, OptionTable};
use super::error::{ConfigError, Problems};
use super::hierarchy::connector_options;
use super::model::*;
use super::options::{placeholder_digits, Kind, Scope};
use super::raw::{RawAnnex, RawConfig, RawValue};
use super::tserver::TServerOptions;
use super::validate_objects::{agent_logins, dns, folders};
use super::validate_server::{links, server_section};
use crate::model::{DnName, DnType};
use std::collections::{BTreeMap, BTreeSet};

/// Builds the validated model, or returns every problem found.
pub(crate) fn build(raw: RawConfig) -> Result<ServerConfig, ConfigError> {
    let mut p = Problems::default();
    let server = server_section(&raw.server, &mut p);
    let application = parse_table("", "TServer", &raw.tserver, Scope::Application, &mut p);
    let links = links(&application, &raw.sections, &mut p);
    if let Some(l) = links.iter().find(|l| l.protocol == crate::config::LinkProtocol::Tls && server.link_ca.is_none()) {
        p.push(ConfigError::missing(
            format!("[{}] protocol", l.name),
            "protocol = tls needs [server] link-ca, the CA certificate that signs the Connector's certificate",
        ));
    }
    let switch = switch(&raw, &mut p);
    let folders = folders(&raw.folder, &mut p);
    let dns = dns(&raw.dn, &folders, &mut p);
    super::calling::check(&dns, &mut p);
    let agent_logins = agent_logins(&raw.agent_login, &mut p);
    let router = super::router::router_section(raw.router.as_ref(), &dns, &server, &mut p);
    check_service_references(&application, &switch.annex, &folders, &dns, &agent_logins, &mut p);
    let presence_profiles = super::presence::profiles(&dns, &mut p);
    for f in &folders {
        let raw_annex = raw.folder.iter().find(|r| r.name.trim() == f.name).map(|r| &r.annex);
        conference_services(&format!("[[folder]] {:?}", f.name), &f.annex, raw_annex, &mut p);
    }
    p.into_result()?;
    let tserver = TServerOptions::from_tables(&switch.annex, &application);
    let mut cfg = ServerConfig {
        server,
        tserver,
        links,
        switch,
        folders,
        dns,
        agent_logins,
        application,
        sim: raw.sim.clone().unwrap_or(serde_json::Value::Null),
        router,
        presence_profiles,
        warnings: Vec::new(),
    };
    cfg.warnings = warnings(&cfg);
    Ok(cfg)
}

pub(super) fn text(v: &Option<RawValue>, label: &str, p: &mut Problems) -> Option<String> {
    let v = v.as_ref()?;
    match value_text(v) {
        Ok(t) => Some(t.trim().to_string()),
        Err(reason) => {
            p.push(ConfigError::invalid(label, v.to_string(), reason));
            None
        }
    }
}

pub(super) fn parsed<T>(
    v: &Option<RawValue>,
    label: &str,
    default: T,
    p: &mut Problems,
    parse: impl Fn(&str) -> Result<T, String>,
) -> T {
    match text(v, label, p) {
        None => default,
        Some(t) => parse(&t).unwrap_or_else(|reason| {
            p.push(ConfigError::invalid(label, t, reason));
            default
        }),
    }
}

fn switch(raw: &RawConfig, p: &mut Problems) -> SwitchConfig {
    let annex = parse_annex("[switch]", &raw.switch.annex, Scope::Switch, p);
    let conference_services = conference_services("[switch]", &annex, Some(&raw.switch.annex), p);
    let hide_header =
        annex.get("log", "hide-header").and_then(|v| v.as_list()).map(<[String]>::to_vec).unwrap_or_default();
    SwitchConfig {
        name: raw.switch.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "SfB".into()),
        conference_services,
        connector: connector_options(&[annex.section("connector")]),
        log: LogOptions { hide_header },
        annex,
    }
}

/// `[conference-services]` of an annex: count and uri-pattern go together, and the pattern's
/// digit placeholder must be wide enough for count.
/// `raw` is the unvalidated annex: a key it has was reported already if its value was bad.
pub(crate) fn conference_services(
    owner: &str,
    annex: &Annex,
    raw: Option<&RawAnnex>,
    p: &mut Problems,
) -> Option<ConferenceServices> {
    let section = annex.section("conference-services")?;
    let written = |key: &str| raw.and_then(|r| r.get("conference-services")).is_some_and(|t| t.contains_key(key));
    let l = |k: &str| option_label(owner, "conference-services", k);
    let count = section.get("count").and_then(|v| v.as_u64());
    let pattern = section.get("uri-pattern").map(|v| v.raw.clone());
    let lobby = section.get("lobby-bypass-enabled").and_then(|v| v.as_bool()).unwrap_or(true);
    let (Some(count), Some(pattern)) = (count, pattern) else {
        let (missing, why) = if count.is_none() {
            ("count", "how many conference endpoints exist")
        } else {
            ("uri-pattern", "the endpoint names, e.g. \"sip:conf{DD}@skype.lab\"")
        };
        if !written(missing) {
            p.push(ConfigError::missing(
                l(missing),
                format!("[conference-services] needs count and uri-pattern ({why})"),
            ));
        }
        return None;
    };
    let digits = placeholder_digits(&pattern).expect("validated pattern");
    let max = 10u64.saturating_pow(digits as u32) - 1;
    if count > max {
        p.push(ConfigError::invalid(
            l("count"),
            count.to_string(),
            format!("uri-pattern {pattern:?} can number at most {max} endpoints"),
        ));
        return None;
    }
    Some(ConferenceServices { count: count as u32, uri_pattern: pattern, lobby_bypass_enabled: lobby })
}

/// `presence-profile` and `calling-method-dialplan` name Voice over IP Service DNs with the
/// matching service-type, at whatever level they are set.
fn check_service_references(
    app: &OptionTable,
    switch: &Annex,
    folders: &[FolderConfig],
    dns: &BTreeMap<DnName, DnConfig>,
    agents: &BTreeMap<crate::model::AgentId, AgentLoginConfig>,
    p: &mut Problems,
) {
    let mut tables: Vec<(String, &OptionTable)> = vec![(String::new(), app)];
    let annexes = std::iter::once(("[switch]".to_string(), switch))
        .chain(folders.iter().map(|f| (format!("[[folder]] {:?}", f.name), &f.annex)))
        .chain(dns.values().map(|d| (format!("[[dn]] {:?}", d.spelling), &d.annex)))
        .chain(agents.values().map(|a| (format!("[[agent-login]] {:?}", a.code.as_str()), &a.annex)));
    tables.extend(annexes.filter_map(|(owner, a)| a.section("TServer").map(|t| (owner, t))));
    for (owner, table) in tables {
        for key in ["presence-profile", "calling-method-dialplan"] {
            let Some(v) = table.get(key) else { continue };
            let Some(Kind::ServiceDn(service)) = super::options::find("TServer", key).map(|s| s.kind) else {
                continue;
            };
            let ok = dns
                .get(&DnName::new(&v.raw))
                .is_some_and(|d| d.dn_type == DnType::VoipService && d.service_type.as_deref() == Some(service));
            if !ok {
                p.push(ConfigError::invalid(
                    option_label(&owner, "TServer", key),
                    &v.raw,
                    format!("no Voice over IP Service DN with service-type {service} has this name"),
                ));
            }
        }
    }
}

fn warnings(cfg: &ServerConfig) -> Vec<String> {
    let mut w = Vec::new();
    let off: Vec<&str> = cfg.dns.values().filter(|d| !d.register).map(|d| d.number.as_str()).collect();
    if !off.is_empty() {
        w.push(format!(
            "{} DN(s) have register = false and stay out of service (T-Server does not support on-demand registration): {}",
            off.len(),
            off.join(", ")
        ));
    }
    let folder_pools: BTreeSet<&str> = cfg.folders.iter().map(|f| f.pool.as_str()).collect();
    for l in cfg.links.iter().filter(|l| l.pool_name != DEFAULT_POOL && !folder_pools.contains(l.pool_name.as_str())) {
        w.push(format!(
            "link-{}-name [{}] serves pool {:?}, which no top-level folder names: the Connector is connected but not used for call handling",
            l.n, l.name, l.pool_name
        ));
    }
    for pool in cfg.pools() {
        let count = cfg.dns.values().filter(|d| d.pool == pool).count();
        if count > 0 && cfg.links_for_pool(&pool).is_empty() {
            w.push(format!("pool {pool:?} has {count} DN(s) but no link serves it: they stay out of service"));
        }
    }
    let mut endpoints = BTreeMap::new();
    for l in &cfg.links {
        if let Some(first) = endpoints.insert((l.hostname.as_str(), l.port), l.n) {
            w.push(format!("link-{first}-name and link-{}-name both point at {}:{}", l.n, l.hostname, l.port));
        }
    }
    let pools = cfg.pools();
    for pool in &pools {
        let c = cfg.connector_for_pool(pool);
        if c.reuse_avcall > 50 {
            w.push(format!(
                "pool {pool:?}: reuse-avcall = {} exceeds the guide's advice of at most 50",
                c.reuse_avcall
            ));
        }
        if c.conference_pool_size > 0 && !c.caching_enabled {
            w.push(format!(
                "pool {pool:?}: conference-pool-size = {} with caching-enabled = 0: the guide's conference pooling \
                 needs conference caching; each pooled conference serves one call and calls are refused (42) \
                 while all are in use",
                c.conference_pool_size
            ));
        }
        if c.conference_pool_size > 0 && cfg.conference_services_for_pool(pool).is_none() {
            w.push(format!(
                "pool {pool:?}: conference-pool-size = {} but no [conference-services] count / uri-pattern: \
                 no conference can be pre-created",
                c.conference_pool_size
            ));
        }
    }
    w
}
