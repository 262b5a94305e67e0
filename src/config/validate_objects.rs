//! Raw -> validated for the Switch's configuration objects: top-level DN folders (and the pool
//! each one names), DNs (name rules, type rules, folder and pool) and Agent Logins. Problems are
//! collected, never fatal one by one, so a single run reports them all.

use super::annex::{option_label, parse_annex, value_text};
use super::error::{ConfigError, Problems};
use super::model::{dn_type_name, parse_dn_type, AgentLoginConfig, DnConfig, FolderConfig, DEFAULT_POOL};
use super::options::{self, Scope};
use super::raw::{RawAgentLogin, RawDn, RawFolder};
use super::values::parse_bool;
use crate::model::{AgentId, DnName, DnType};
use std::collections::BTreeMap;

/// The one Trunk Group name the guide allows (chat parking during media escalation).
pub const PARK_TRUNK: &str = "gcti::park";

pub(crate) fn folders(raw: &[RawFolder], p: &mut Problems) -> Vec<FolderConfig> {
    let mut out: Vec<FolderConfig> = Vec::new();
    let mut pool_owner: BTreeMap<String, String> = BTreeMap::new();
    for f in raw {
        let name = f.name.trim().to_string();
        let owner = format!("[[folder]] {name:?}");
        if name.is_empty() {
            p.push(ConfigError::missing("[[folder]] name", "every top-level folder needs a name"));
            continue;
        }
        if out.iter().any(|o| o.name == name) {
            p.push(ConfigError::misconfigured(format!("{owner}: two top-level folders have this name")));
            continue;
        }
        let annex = parse_annex(&owner, &f.annex, Scope::Folder, p);
        let pool = annex.get_str("connector", "pool-name").unwrap_or(DEFAULT_POOL).to_string();
        if pool != DEFAULT_POOL {
            if let Some(first) = pool_owner.insert(pool.clone(), name.clone()) {
                p.push(ConfigError::misconfigured(format!(
                    "top-level folders {first:?} and {name:?} both set [connector] pool-name = {pool:?}: a non-default pool belongs to exactly one top-level folder"
                )));
            }
        }
        out.push(FolderConfig { name, pool, annex });
    }
    out
}

fn type_list() -> String {
    DnType::ALL.iter().map(|t| dn_type_name(*t)).collect::<Vec<_>>().join(", ")
}

fn is_sip_uri(s: &str) -> bool {
    s.strip_prefix("sip:").is_some_and(|rest| rest.split_once('@').is_some_and(|(u, d)| !u.is_empty() && !d.is_empty()))
}

pub(crate) fn dns(raw: &[RawDn], folders: &[FolderConfig], p: &mut Problems) -> BTreeMap<DnName, DnConfig> {
    let mut out: BTreeMap<DnName, DnConfig> = BTreeMap::new();
    for d in raw {
        let spelling = d.number.trim().to_string();
        let owner = format!("[[dn]] {spelling:?}");
        if spelling.is_empty() {
            p.push(ConfigError::missing("[[dn]] number", "every DN needs a number (its SIP URI)"));
            continue;
        }
        if !spelling.is_ascii() {
            p.push(ConfigError::invalid(
                format!("{owner} number"),
                &spelling,
                "DN names must be ASCII (guide: UTF-8 Encoding, DN Names)",
            ));
            continue;
        }
        let number = DnName::new(&spelling);
        if let Some(first) = out.get(&number) {
            p.push(ConfigError::misconfigured(if first.spelling == spelling {
                format!("duplicate DN {spelling:?}: it is configured twice")
            } else {
                format!(
                    "MSG_TS_COMMON_DN_MISCONFIGURED: DNs {:?} and {spelling:?} differ only in case (T-Server lower-cases DN names); delete them and configure a single DN",
                    first.spelling
                )
            }));
            continue;
        }
        let Some(dn_type) = parse_dn_type(&d.dn_type) else {
            p.push(ConfigError::invalid(
                format!("{owner} type"),
                &d.dn_type,
                format!("expected one of {}", type_list()),
            ));
            continue;
        };
        if let Some(dn) = dn(d, &owner, spelling, number, dn_type, folders, p) {
            out.insert(dn.number.clone(), dn);
        }
    }
    out
}

fn dn(
    d: &RawDn,
    owner: &str,
    spelling: String,
    number: DnName,
    dn_type: DnType,
    folders: &[FolderConfig],
    p: &mut Problems,
) -> Option<DnConfig> {
    let type_name = dn_type_name(dn_type);
    let before = p.len();
    match dn_type {
        DnType::Extension | DnType::RoutingPoint | DnType::ExternalRoutingPoint if !is_sip_uri(number.as_str()) => {
            p.push(ConfigError::invalid(
                format!("{owner} number"),
                &spelling,
                format!("a {type_name} is named by its SIP URI, like \"sip:user@domain\" (TEL URIs are not supported)"),
            ));
        }
        DnType::TrunkGroup if number.as_str() != PARK_TRUNK => {
            p.push(ConfigError::invalid(
                format!("{owner} number"),
                &spelling,
                format!("a Trunk Group must be named {PARK_TRUNK} (chat parking)"),
            ));
        }
        _ => {}
    }
    let register = match &d.register {
        None => true,
        Some(v) => match value_text(v).and_then(|t| parse_bool(&t)) {
            Ok(b) => b,
            Err(reason) => {
                p.push(ConfigError::invalid(format!("{owner} register"), v.to_string(), reason));
                true
            }
        },
    };
    let folder = d.folder.as_ref().map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
    let pool = match folder.as_ref().map(|f| (f, folders.iter().find(|x| &x.name == f))) {
        None => DEFAULT_POOL.to_string(),
        Some((_, Some(f))) => f.pool.clone(),
        Some((name, None)) => {
            p.push(ConfigError::invalid(format!("{owner} folder"), name, "no [[folder]] has this name"));
            DEFAULT_POOL.to_string()
        }
    };
    let association = d.association.as_ref().map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
    if dn_type == DnType::ExternalRoutingPoint && association.is_none() {
        p.push(ConfigError::missing(
            format!("{owner} association"),
            "an External Routing Point needs the dialable number of its Trusted Application Endpoint LineURI",
        ));
    }
    let annex = parse_annex(owner, &d.annex, Scope::Dn, p);
    let service_type = annex.get_str("TServer", "service-type").map(str::to_string);
    match (dn_type, &service_type) {
        (DnType::VoipService, None) => p.push(ConfigError::missing(
            option_label(owner, "TServer", "service-type"),
            "every Voice over IP Service DN must set service-type (e.g. presence-profile, dialplan)",
        )),
        (t, Some(st)) if t != DnType::VoipService => p.push(ConfigError::invalid(
            option_label(owner, "TServer", "service-type"),
            st,
            format!("only Voice over IP Service DNs have a service-type (this DN is a {type_name})"),
        )),
        _ => {}
    }
    for key in annex.section("TServer").into_iter().flat_map(|t| t.keys()) {
        let Some(wanted) = options::find("TServer", key).and_then(|s| s.dn_service_type) else {
            continue;
        };
        if dn_type != DnType::VoipService || service_type.as_deref() != Some(wanted) {
            p.push(ConfigError::unknown(
                option_label(owner, "TServer", key),
                format!("belongs on a Voice over IP Service DN with service-type {wanted}"),
            ));
        }
    }
    (p.len() == before).then_some(DnConfig {
        number,
        spelling,
        dn_type,
        register,
        folder,
        pool,
        association,
        service_type,
        annex,
    })
}

pub(crate) fn agent_logins(raw: &[RawAgentLogin], p: &mut Problems) -> BTreeMap<AgentId, AgentLoginConfig> {
    let mut out = BTreeMap::new();
    for a in raw {
        let code = match value_text(&a.code) {
            Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
            _ => {
                p.push(ConfigError::invalid(
                    "[[agent-login]] code",
                    a.code.to_string(),
                    "expected the login code, like \"1001\"",
                ));
                continue;
            }
        };
        let owner = format!("[[agent-login]] {code:?}");
        let id = AgentId::new(code.clone());
        if out.contains_key(&id) {
            p.push(ConfigError::misconfigured(format!("duplicate Agent Login {code:?}: it is configured twice")));
            continue;
        }
        let annex = parse_annex(&owner, &a.annex, Scope::AgentLogin, p);
        out.insert(id.clone(), AgentLoginConfig { code: id, annex });
    }
    out
}
