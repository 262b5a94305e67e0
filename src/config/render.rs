//! The `sfb-tserver check-config FILE` report: the resolved model in a form an engineer reads
//! top to bottom — process options, `[TServer]` values that differ from the built-in defaults,
//! links by pool, the Switch annex, DNs by type with their pool and effective key options (and
//! the level each came from), Agent Logins, warnings, counts. Output only; it decides nothing.

use super::hierarchy::{Level, OptionContext};
use super::model::{dn_type_name, DnConfig, ServerConfig, DEFAULT_POOL};
use super::options;
use crate::model::{DnName, DnType};
use std::fmt::Write;

/// Options shown per DN type (effective value and level).
fn key_options(t: DnType) -> &'static [(&'static str, &'static str)] {
    match t {
        DnType::Extension => &[
            ("TServer", "no-answer-timeout"),
            ("TServer", "no-answer-action"),
            ("TServer", "wrap-up-time"),
            ("TServer", "handle-direct-calls"),
            ("TServer", "presence-profile"),
        ],
        DnType::RoutingPoint | DnType::ExternalRoutingPoint => {
            &[("TServer", "router-timeout"), ("TServer", "default-dn"), ("TServer", "allow-pass-through-calls")]
        }
        _ => &[],
    }
}

fn effective(cfg: &ServerConfig, ctx: &OptionContext<'_>, section: &str, key: &str) -> String {
    match cfg.resolve_str(section, key, ctx) {
        Some((v, Level::Default | Level::Application | Level::Switch)) => format!("{key}={v}"),
        Some((v, level)) => format!("{key}={v} [{level}]"),
        None => format!("{key}=-"),
    }
}

/// Whether `key` has a value specific to this DN (its own annex or its folder's).
fn overridden(cfg: &ServerConfig, ctx: &OptionContext<'_>, section: &str, key: &str) -> bool {
    matches!(cfg.resolve_str(section, key, ctx), Some((_, Level::Dn | Level::Folder)))
}

fn dn_line(cfg: &ServerConfig, d: &DnConfig) -> String {
    let mut line = format!("    {}  pool={}", d.number, d.pool);
    if let Some(f) = &d.folder {
        let _ = write!(line, " folder={f:?}");
    }
    if !d.register {
        line.push_str(" register=false (out of service)");
    }
    if let Some(a) = &d.association {
        let _ = write!(line, " association={a}");
    }
    if let Some(st) = &d.service_type {
        let _ = write!(line, " service-type={st}");
    }
    let ctx = OptionContext::for_dn(&d.number);
    for (section, key) in key_options(d.dn_type).iter().filter(|(s, k)| overridden(cfg, &ctx, s, k)) {
        let _ = write!(line, " {}", effective(cfg, &ctx, section, key));
    }
    let own: Vec<String> = d
        .annex
        .0
        .iter()
        .flat_map(|(s, t)| t.iter().map(move |(k, v)| (s, k, v)))
        .filter(|(s, k, _)| {
            !(*s == "TServer" && (*k == "service-type" || key_options(d.dn_type).iter().any(|(_, o)| o == k)))
        })
        .map(|(s, k, v)| if s == "TServer" { format!("{k}={}", v.raw) } else { format!("[{s}] {k}={}", v.raw) })
        .collect();
    if !own.is_empty() {
        let _ = write!(line, " annex: {}", own.join(" "));
    }
    line
}

fn annex_lines(out: &mut String, indent: &str, annex: &super::annex::Annex) {
    for (section, table) in &annex.0 {
        let values: Vec<String> = table.iter().map(|(k, v)| format!("{k}={}", v.raw)).collect();
        let _ = writeln!(out, "{indent}[{section}] {}", values.join(" "));
    }
}

/// Renders the resolved configuration for `check-config`.
pub fn render(cfg: &ServerConfig) -> String {
    let mut o = String::new();
    let s = &cfg.server;
    let _ = writeln!(o, "[server]");
    let _ = writeln!(
        o,
        "  tlib-listen={} admin-listen={} data-dir={}",
        s.tlib_listen,
        s.admin_listen,
        s.data_dir.display()
    );
    let _ = writeln!(
        o,
        "  max-frame-size={} client-queue-limit={} tls={} admin-token={} embedded-connector={}",
        s.max_frame_size,
        s.client_queue_limit,
        s.tls.as_ref().map_or("off".to_string(), |t| format!("{} + {}", t.cert.display(), t.key.display())),
        if s.admin_token.is_some() { "set" } else { "none" },
        s.embedded_connector
    );

    let r = &cfg.router;
    let _ = writeln!(o, "\n[router]");
    if r.enabled || !r.routing_points.is_empty() {
        let rps: Vec<&str> = r.routing_points.iter().map(DnName::as_str).collect();
        let _ = writeln!(
            o,
            "  enabled={} server={} routing-points=[{}] target-group={} ({} agents) treatment={:?} no-answer-pause={}",
            r.enabled,
            r.server.as_deref().unwrap_or("(tlib-listen)"),
            rps.join(", "),
            r.target_group,
            r.agents.len(),
            r.treatment,
            humantime::format_duration(r.no_answer_pause),
        );
    } else {
        let _ = writeln!(o, "  enabled=false");
    }

    let _ = writeln!(o, "\n[TServer] (T-Server-wide values that differ from the built-in defaults)");
    let ctx = OptionContext::new();
    let mut any = false;
    for spec in options::section("TServer").unwrap_or_default() {
        if spec.name.contains("<n>") {
            continue;
        }
        if let Some((v, level)) = cfg.resolve_str("TServer", spec.name, &ctx) {
            if spec.default_value().is_none_or(|d| d.raw != v) {
                let _ = writeln!(o, "  {} = {v} [{level}]", spec.name);
                any = true;
            }
        }
    }
    if !any {
        let _ = writeln!(o, "  (all built-in defaults)");
    }

    let _ = writeln!(o, "\nLinks (Connectors)");
    for l in &cfg.links {
        let _ = writeln!(
            o,
            "  link-{}-name = {}  {}://{}:{}  pool={} use-certificate={}",
            l.n, l.name, l.protocol, l.hostname, l.port, l.pool_name, l.use_certificate
        );
    }

    let _ = writeln!(o, "\nSwitch {:?}", cfg.switch.name);
    match &cfg.switch.conference_services {
        Some(c) => {
            let _ = writeln!(
                o,
                "  conference-services: count={} uri-pattern={} ({} .. {}) lobby-bypass-enabled={}",
                c.count,
                c.uri_pattern,
                c.endpoint_uri(1),
                c.endpoint_uri(c.count),
                c.lobby_bypass_enabled
            );
        }
        None => {
            let _ = writeln!(o, "  conference-services: none");
        }
    }
    let hide = &cfg.switch.log.hide_header;
    let _ = writeln!(o, "  log: hide-header={}", if hide.is_empty() { "-".to_string() } else { hide.join(", ") });
    if let Some(t) = cfg.switch.annex.section("TServer") {
        let values: Vec<String> = t.iter().map(|(k, v)| format!("{k}={}", v.raw)).collect();
        let _ = writeln!(o, "  annex [TServer] {}", values.join(" "));
    }

    let _ = writeln!(o, "\nPools");
    for pool in cfg.pools() {
        let links: Vec<&str> = cfg.links_for_pool(&pool).iter().map(|l| l.name.as_str()).collect();
        let folders: Vec<&str> = cfg.folders.iter().filter(|f| f.pool == pool).map(|f| f.name.as_str()).collect();
        let dns = cfg.dns.values().filter(|d| d.pool == pool).count();
        let c = cfg.connector_for_pool(&pool);
        let _ = writeln!(
            o,
            "  {pool}: links=[{}] folders=[{}] DNs={dns} caching-enabled={} conference-pool-size={} reuse-avcall={} musicOnHoldFilePath={} ringtone-file-path={}",
            links.join(", "),
            folders.join(", "),
            c.caching_enabled,
            c.conference_pool_size,
            c.reuse_avcall,
            c.music_on_hold_file_path.as_deref().unwrap_or("-"),
            c.ringtone_file_path.as_deref().unwrap_or("-"),
        );
    }
    for f in &cfg.folders {
        let _ = writeln!(o, "  folder {:?} (pool {})", f.name, f.pool);
        annex_lines(&mut o, "    ", &f.annex);
    }

    let _ = writeln!(o, "\nDNs");
    for t in DnType::ALL {
        let of_type: Vec<&DnConfig> = cfg.dns_of_type(*t).collect();
        if of_type.is_empty() {
            continue;
        }
        let wide: Vec<String> =
            key_options(*t).iter().map(|(s, k)| effective(cfg, &OptionContext::new(), s, k)).collect();
        let _ = writeln!(
            o,
            "  {} ({}){}{}",
            dn_type_name(*t),
            of_type.len(),
            if wide.is_empty() { "" } else { ": " },
            wide.join(" ")
        );
        for d in of_type {
            let _ = writeln!(o, "{}", dn_line(cfg, d));
        }
    }

    let _ = writeln!(o, "\nAgent Logins ({})", cfg.agent_logins.len());
    let codes: Vec<&str> = cfg.agent_logins.values().filter(|a| a.annex.is_empty()).map(|a| a.code.as_str()).collect();
    if !codes.is_empty() {
        let _ = writeln!(o, "  {}", codes.join(" "));
    }
    for a in cfg.agent_logins.values().filter(|a| !a.annex.is_empty()) {
        let _ = writeln!(o, "  {}:", a.code);
        annex_lines(&mut o, "    ", &a.annex);
    }

    if !cfg.warnings.is_empty() {
        let _ = writeln!(o, "\nWarnings");
        for w in &cfg.warnings {
            let _ = writeln!(o, "  - {w}");
        }
    }

    let by_type: Vec<String> = DnType::ALL
        .iter()
        .filter_map(|t| match cfg.dns_of_type(*t).count() {
            0 => None,
            n => Some(format!("{n} {}", dn_type_name(*t))),
        })
        .collect();
    let pools = cfg.pools();
    let _ = writeln!(
        o,
        "\nSummary: {} link(s), {} pool(s) ({}), {} folder(s), {} DN(s) ({}), {} Agent Login(s), {} warning(s)",
        cfg.links.len(),
        pools.len(),
        pools
            .iter()
            .map(|p| if p == DEFAULT_POOL { p.clone() } else { format!("{p:?}") })
            .collect::<Vec<_>>()
            .join(", "),
        cfg.folders.len(),
        cfg.dns.len(),
        by_type.join(", "),
        cfg.agent_logins.len(),
        cfg.warnings.len()
    );
    o
}
