//! `[server]` (the process options of this re-implementation) and the Connector links: the
//! `link-n-name` options of `[TServer]` (consecutive from 1) and the sections they name, each
//! with hostname, port, protocol, pool-name and use-certificate. Any top-level section that no
//! link names is refused, so a mistyped section name never goes unnoticed.

use super::annex::OptionTable;
use super::error::{ConfigError, Problems};
use super::model::{LinkConfig, ServerSection, TlsFiles, DEFAULT_POOL};
use super::raw::{RawLink, RawServer, RawValue};
use super::validate::{parsed, text};
use super::values::{parse_bool, LinkProtocol, OptionEnum};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Top-level table names with a fixed meaning (never link sections).
const RESERVED: &[&str] = &["server", "TServer", "switch", "folder", "dn", "agent-login", "sim", "router"];

fn socket(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| "expected an address like \"127.0.0.1:7000\"".to_string())
}

fn bounded(min: usize, max: usize) -> impl Fn(&str) -> Result<usize, String> {
    move |s| match s.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected an integer from {min} to {max}")),
    }
}

pub(super) fn server_section(raw: &RawServer, p: &mut Problems) -> ServerSection {
    let l = |k: &str| format!("[server] {k}");
    let default_addr = |s: &str| s.parse().expect("valid literal");
    let non_empty = |s: &str| {
        if s.is_empty() {
            Err("expected a non-empty path".to_string())
        } else {
            Ok(PathBuf::from(s))
        }
    };
    let cert = text(&raw.tls_cert, &l("tls-cert"), p).filter(|s| !s.is_empty());
    let key = text(&raw.tls_key, &l("tls-key"), p).filter(|s| !s.is_empty());
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.into(), key: key.into() }),
        (None, None) => None,
        (Some(_), None) => {
            p.push(ConfigError::missing(l("tls-key"), "tls-cert is set; TLS needs both tls-cert and tls-key"));
            None
        }
        (None, Some(_)) => {
            p.push(ConfigError::missing(l("tls-cert"), "tls-key is set; TLS needs both tls-cert and tls-key"));
            None
        }
    };
    ServerSection {
        tlib_listen: parsed(&raw.tlib_listen, &l("tlib-listen"), default_addr("127.0.0.1:7000"), p, socket),
        admin_listen: parsed(&raw.admin_listen, &l("admin-listen"), default_addr("127.0.0.1:7080"), p, socket),
        admin_token: text(&raw.admin_token, &l("admin-token"), p).filter(|s| !s.is_empty()),
        data_dir: parsed(&raw.data_dir, &l("data-dir"), PathBuf::from("data"), p, non_empty),
        max_frame_size: parsed(&raw.max_frame_size, &l("max-frame-size"), 1 << 20, p, bounded(1024, 64 << 20)),
        client_queue_limit: parsed(
            &raw.client_queue_limit,
            &l("client-queue-limit"),
            10_000,
            p,
            bounded(1, 10_000_000),
        ),
        tls,
        link_ca: text(&raw.link_ca, &l("link-ca"), p).filter(|s| !s.is_empty()).map(PathBuf::from),
        embedded_connector: parsed(&raw.embedded_connector, &l("embedded-connector"), true, p, parse_bool),
    }
}

/// `link-n-name` entries of the Application table, by n.
fn link_names(app: &OptionTable) -> BTreeMap<u32, String> {
    app.iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("link-")?.strip_suffix("-name")?.parse().ok()?;
            Some((n, v.raw.clone()))
        })
        .collect()
}

pub(super) fn links(app: &OptionTable, sections: &BTreeMap<String, RawValue>, p: &mut Problems) -> Vec<LinkConfig> {
    let names = link_names(app);
    let Some(&max) = names.keys().last() else {
        p.push(ConfigError::missing("[TServer] link-1-name", "at least one Connector link is required"));
        return Vec::new();
    };
    for n in (1..max).filter(|n| !names.contains_key(n)) {
        p.push(ConfigError::missing(
            format!("[TServer] link-{n}-name"),
            format!("link-n-name numbers must be consecutive from 1 (link-{max}-name is set)"),
        ));
    }
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for (&n, name) in &names {
        let label = format!("[TServer] link-{n}-name");
        if let Some(first) = seen.insert(name, n) {
            p.push(ConfigError::misconfigured(format!(
                "{label} and [TServer] link-{first}-name both name section [{name}]"
            )));
            continue;
        }
        if RESERVED.contains(&name.as_str()) {
            p.push(ConfigError::invalid(
                label,
                name,
                "names a reserved section; choose a section name like \"connector1\"",
            ));
            continue;
        }
        match sections.get(name) {
            Some(section) => out.extend(link(n, name, section, p)),
            None => p.push(ConfigError::missing(
                format!("[{name}]"),
                format!("{label} names this section, which does not exist"),
            )),
        }
    }
    for (name, _) in sections.iter().filter(|(s, _)| !seen.contains_key(s.as_str())) {
        let hint = RESERVED
            .iter()
            .find(|r| r.eq_ignore_ascii_case(name))
            .map(|r| format!(" (did you mean [{r}]?)"))
            .unwrap_or_default();
        p.push(ConfigError::unknown(
            format!("section [{name}]"),
            format!("not referenced by any [TServer] link-n-name{hint}"),
        ));
    }
    out
}

fn link(n: u32, name: &str, section: &RawValue, p: &mut Problems) -> Option<LinkConfig> {
    let raw: RawLink = match serde_json::from_value(section.clone()) {
        Ok(r) => r,
        Err(e) => {
            p.push(ConfigError::Parse { origin: format!("section [{name}]"), message: e.to_string() });
            return None;
        }
    };
    let l = |k: &str| format!("[{name}] {k}");
    let need = |v: Option<String>, key: &str, why: &str, p: &mut Problems| {
        let v = v.filter(|s| !s.is_empty());
        if v.is_none() {
            p.push(ConfigError::missing(l(key), why.to_string()));
        }
        v
    };
    let hostname = need(text(&raw.hostname, &l("hostname"), p), "hostname", "the host where this Connector runs", p);
    let port_text = need(text(&raw.port, &l("port"), p), "port", "the port of this Connector", p);
    let protocol_text = need(text(&raw.protocol, &l("protocol"), p), "protocol", "tcp or tls", p);
    let port = port_text.and_then(|t| match t.parse::<u16>() {
        Ok(port) if port > 0 => Some(port),
        _ => {
            p.push(ConfigError::invalid(l("port"), t, "expected a port number from 1 to 65535"));
            None
        }
    });
    let protocol = protocol_text.and_then(|t| {
        let parsed = LinkProtocol::parse(&t);
        if parsed.is_none() {
            p.push(ConfigError::invalid(l("protocol"), t, "expected tcp or tls"));
        }
        parsed
    });
    let pool_name =
        text(&raw.pool_name, &l("pool-name"), p).filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_POOL.into());
    let use_certificate = parsed(&raw.use_certificate, &l("use-certificate"), true, p, parse_bool);
    Some(LinkConfig {
        n,
        name: name.to_string(),
        hostname: hostname?,
        port: port?,
        protocol: protocol?,
        pool_name,
        use_certificate,
    })
}
