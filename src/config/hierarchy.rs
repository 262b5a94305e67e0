//! Option hierarchy: the effective value of an option for one request / agent / DN, and the
//! level it came from. Highest first: request Extensions > Agent Login annex > DN annex >
//! top-level DN folder annex (the DN's pool) > Switch annex > Application (`[TServer]`) >
//! built-in default. A "default pool only" option of a DN in another pool therefore comes from
//! that pool's top-level folder, else from the default pool's Switch / Application values.
//! Pure lookups over a validated [`ServerConfig`]; nothing here mutates or does I/O.

use super::annex::{canonical_key, OptionTable};
use super::model::{ConferenceServices, ConnectorOptions, ServerConfig};
use super::options::{self, OptionValue, Typed};
use super::values::{AvailabilityRanges, OptionEnum, WrapUpTime};
use crate::model::{AgentId, DnName, KvList, KvValue};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// Where an effective value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    Extensions,
    AgentLogin,
    Dn,
    Folder,
    Switch,
    Application,
    Default,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Extensions => "Extensions",
            Level::AgentLogin => "Agent Login",
            Level::Dn => "DN",
            Level::Folder => "Folder",
            Level::Switch => "Switch",
            Level::Application => "Application",
            Level::Default => "default",
        })
    }
}

/// What an option is resolved for: the request's Extensions, the agent and the DN (each
/// optional; an empty context gives the T-Server-wide value).
#[derive(Clone, Copy, Debug, Default)]
pub struct OptionContext<'a> {
    pub extensions: Option<&'a KvList>,
    pub agent: Option<&'a AgentId>,
    pub dn: Option<&'a DnName>,
}

impl<'a> OptionContext<'a> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn for_dn(dn: &'a DnName) -> Self {
        OptionContext { dn: Some(dn), ..Self::default() }
    }
    pub fn with_dn(mut self, dn: &'a DnName) -> Self {
        self.dn = Some(dn);
        self
    }
    pub fn with_agent(mut self, agent: &'a AgentId) -> Self {
        self.agent = Some(agent);
        self
    }
    pub fn with_extensions(mut self, extensions: &'a KvList) -> Self {
        self.extensions = Some(extensions);
        self
    }
}

impl ServerConfig {
    /// The effective validated value of `[section] key` and its level; None when the option is
    /// unknown or unset everywhere and has no default.
    pub fn resolve<'a>(
        &'a self,
        section: &str,
        key: &str,
        ctx: &OptionContext<'a>,
    ) -> Option<(Cow<'a, OptionValue>, Level)> {
        let spec = options::find(section, key)?;
        let key = canonical_key(section, key)?;
        if let Some(ext) = ctx.extensions {
            for ext_key in spec.extension_keys {
                let text = match ext.get(ext_key) {
                    Some(KvValue::Str(s)) => s.clone(),
                    Some(KvValue::Int(i)) => i.to_string(),
                    _ => continue,
                };
                // An extension that does not parse is ignored and the configured value applies
                // (guide, Call Supervision: "missing or incorrect" extensions fall back); so is a
                // zero NO_ANSWER_TIMEOUT (guide, No-Answer Supervision).
                match spec.parse(&text) {
                    Ok(v) if spec.name == "no-answer-timeout" && v.as_duration() == Some(Duration::ZERO) => {}
                    Ok(v) => return Some((Cow::Owned(v), Level::Extensions)),
                    Err(_) => {}
                }
            }
        }
        let agent = ctx.agent.and_then(|a| self.agent_logins.get(a));
        if let Some(v) = agent.and_then(|a| a.annex.get(section, &key)) {
            return Some((Cow::Borrowed(v), Level::AgentLogin));
        }
        let dn = ctx.dn.and_then(|d| self.dns.get(d));
        if let Some(v) = dn.and_then(|d| d.annex.get(section, &key)) {
            return Some((Cow::Borrowed(v), Level::Dn));
        }
        let folder = dn.and_then(|d| d.folder.as_deref()).and_then(|f| self.folder(f));
        if let Some(v) = folder.and_then(|f| f.annex.get(section, &key)) {
            return Some((Cow::Borrowed(v), Level::Folder));
        }
        if let Some(v) = self.switch.annex.get(section, &key) {
            return Some((Cow::Borrowed(v), Level::Switch));
        }
        if section == "TServer" {
            if let Some(v) = self.application.get(&key) {
                return Some((Cow::Borrowed(v), Level::Application));
            }
        }
        spec.default_value().map(|v| (Cow::Owned(v), Level::Default))
    }

    /// The effective value as canonical text ("10s", "true", "notready").
    pub fn resolve_str<'a>(
        &'a self,
        section: &str,
        key: &str,
        ctx: &OptionContext<'a>,
    ) -> Option<(Cow<'a, str>, Level)> {
        self.resolve(section, key, ctx).map(|(v, level)| {
            let text = match v {
                Cow::Borrowed(v) => Cow::Borrowed(v.raw.as_str()),
                Cow::Owned(v) => Cow::Owned(v.raw),
            };
            (text, level)
        })
    }

    pub fn resolve_bool(&self, section: &str, key: &str, ctx: &OptionContext<'_>) -> Option<(bool, Level)> {
        self.resolve(section, key, ctx).and_then(|(v, l)| v.as_bool().map(|b| (b, l)))
    }

    pub fn resolve_u64(&self, section: &str, key: &str, ctx: &OptionContext<'_>) -> Option<(u64, Level)> {
        self.resolve(section, key, ctx).and_then(|(v, l)| v.as_u64().map(|n| (n, l)))
    }

    pub fn resolve_duration(&self, section: &str, key: &str, ctx: &OptionContext<'_>) -> Option<(Duration, Level)> {
        self.resolve(section, key, ctx).and_then(|(v, l)| v.as_duration().map(|d| (d, l)))
    }

    /// An enumerated option as its typed enum (`NoAnswerAction`, `MonitorMode`, ...).
    pub fn resolve_enum<T: OptionEnum>(&self, section: &str, key: &str, ctx: &OptionContext<'_>) -> Option<(T, Level)> {
        self.resolve(section, key, ctx).and_then(|(v, l)| T::parse(&v.raw).map(|t| (t, l)))
    }

    pub fn resolve_ranges(
        &self,
        section: &str,
        key: &str,
        ctx: &OptionContext<'_>,
    ) -> Option<(AvailabilityRanges, Level)> {
        self.resolve(section, key, ctx).and_then(|(v, l)| v.as_ranges().cloned().map(|r| (r, l)))
    }

    pub fn resolve_list(&self, section: &str, key: &str, ctx: &OptionContext<'_>) -> Option<(Vec<String>, Level)> {
        self.resolve(section, key, ctx).and_then(|(v, l)| v.as_list().map(|x| (x.to_vec(), l)))
    }

    /// `wrap-up-time` (with the WrapUpTime extension): always has a value.
    pub fn resolve_wrap_up_time(&self, ctx: &OptionContext<'_>) -> (WrapUpTime, Level) {
        self.resolve("TServer", "wrap-up-time", ctx)
            .and_then(|(v, l)| v.as_wrap_up().map(|w| (w, l)))
            .expect("wrap-up-time has a built-in default")
    }
}

/// `[connector]` options from the first table that sets each one (a pool's folder annex, then
/// the Switch annex), else the built-in defaults.
pub(crate) fn connector_options(tables: &[Option<&OptionTable>]) -> ConnectorOptions {
    let get = |key: &str| -> OptionValue {
        tables
            .iter()
            .flatten()
            .find_map(|t| t.get(key).cloned())
            .or_else(|| options::find("connector", key).and_then(|s| s.default_value()))
            .unwrap_or(OptionValue { raw: String::new(), typed: Typed::Text(String::new()) })
    };
    let text = |key: &str| Some(get(key).raw).filter(|s| !s.is_empty());
    let int = |key: &str| get(key).as_u64().map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    ConnectorOptions {
        caching_enabled: get("caching-enabled").as_bool().unwrap_or(true),
        conference_pool_size: int("conference-pool-size"),
        reuse_avcall: int("reuse-avcall"),
        music_on_hold_file_path: text("music-on-hold-file-path"),
        ringtone_file_path: text("ringtone-file-path"),
        conf_session_shutdown: text("conf-session-shutdown"),
        persistent_storage_path: text("persistent-storage-path"),
    }
}

impl ServerConfig {
    /// The `[connector]` options of a pool: the guide's per-pool options (musicOnHoldFilePath,
    /// ringtone-file-path, caching-enabled, conference-pool-size, reuse-avcall) from the pool's
    /// top-level folder annex, everything else from the Switch annex.
    pub fn connector_for_pool(&self, pool: &str) -> ConnectorOptions {
        let folder = self.pool_folder(pool).and_then(|f| f.annex.section("connector"));
        connector_options(&[folder, self.switch.annex.section("connector")])
    }

    /// The `[conference-services]` of a pool: its top-level folder's section if it has one, else
    /// the Switch's.
    pub fn conference_services_for_pool(&self, pool: &str) -> Option<ConferenceServices> {
        let own = self.pool_folder(pool).filter(|f| f.annex.section("conference-services").is_some());
        match own {
            Some(f) => {
                let mut ignored = super::error::Problems::default();
                super::validate::conference_services("", &f.annex, None, &mut ignored)
            }
            None => self.switch.conference_services.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use crate::config::values::NoAnswerAction;

    const CFG: &str = r#"
        [TServer]
        link-1-name = "c1"
        link-2-name = "c2"
        no-answer-timeout = "20s"
        router-timeout = 12
        default-dn = "sip:rp2@skype.lab"
        [c1]
        hostname = "127.0.0.1"
        port = 9001
        protocol = "tcp"
        [c2]
        hostname = "127.0.0.1"
        port = 9002
        protocol = "tcp"
        pool-name = "Pool2"
        [switch.annex.TServer]
        no-answer-action = "notready"
        wrap-up-time = "3s"
        [switch.annex.connector]
        music-on-hold-file-path = "moh-default.wma"
        [[folder]]
        name = "Pool2Folder"
        annex = { connector = { pool-name = "Pool2", musicOnHoldFilePath = "moh-pool2.wma" }, TServer = { default-dn = "sip:rp3@skype.lab", wrap-up-time = "4s" } }
        [[dn]]
        number = "sip:agent01@skype.lab"
        type = "Extension"
        annex = { TServer = { no-answer-timeout = "10s" } }
        [[dn]]
        number = "sip:agent02@skype.lab"
        type = "Extension"
        folder = "Pool2Folder"
        [[dn]]
        number = "sip:rp1@skype.lab"
        type = "Routing Point"
        [[agent-login]]
        code = "1001"
        annex = { TServer = { wrap-up-time = "5s", no-answer-timeout = "7s" } }
    "#;

    fn dn(s: &str) -> DnName {
        DnName::new(s)
    }

    #[test]
    fn each_level_wins_over_the_ones_below() {
        let cfg = load_str(CFG).unwrap();
        let a1 = dn("sip:agent01@skype.lab");
        let agent = AgentId::new("1001");
        let ext = KvList::new().with("NO_ANSWER_TIMEOUT", "30");
        let t = |ctx: &OptionContext<'_>| cfg.resolve_duration("TServer", "no-answer-timeout", ctx).unwrap();

        assert_eq!(t(&OptionContext::new()), (Duration::from_secs(20), Level::Application));
        assert_eq!(t(&OptionContext::for_dn(&a1)), (Duration::from_secs(10), Level::Dn));
        assert_eq!(t(&OptionContext::for_dn(&a1).with_agent(&agent)), (Duration::from_secs(7), Level::AgentLogin));
        let full = OptionContext::for_dn(&a1).with_agent(&agent).with_extensions(&ext);
        assert_eq!(t(&full), (Duration::from_secs(30), Level::Extensions));
        assert_eq!(cfg.resolve_str("TServer", "no-answer-timeout", &full).unwrap().0, "30s");
    }

    #[test]
    fn folder_switch_and_default_levels() {
        let cfg = load_str(CFG).unwrap();
        let (a1, a2) = (dn("sip:agent01@skype.lab"), dn("sip:agent02@skype.lab"));
        let w = |d: &DnName| cfg.resolve_wrap_up_time(&OptionContext::for_dn(d));
        assert_eq!(w(&a1), (WrapUpTime::Timed(Duration::from_secs(3)), Level::Switch));
        assert_eq!(w(&a2), (WrapUpTime::Timed(Duration::from_secs(4)), Level::Folder));
        let action = cfg.resolve_enum::<NoAnswerAction>("TServer", "no-answer-action", &OptionContext::for_dn(&a1));
        assert_eq!(action, Some((NoAnswerAction::NotReady, Level::Switch)));
        let limit = cfg.resolve_u64("TServer", "default-redirect-limit", &OptionContext::new());
        assert_eq!(limit, Some((4, Level::Default)));
        assert_eq!(
            cfg.resolve_bool("TServer", "hide-sensitive-data", &OptionContext::new()),
            Some((true, Level::Default))
        );
        assert_eq!(cfg.resolve_str("TServer", "cpn", &OptionContext::new()), None);
        assert_eq!(cfg.resolve_str("TServer", "no-such-option", &OptionContext::new()), None);
    }

    #[test]
    fn default_pool_only_options_come_from_the_pool_folder_else_the_default_pool() {
        let cfg = load_str(CFG).unwrap();
        let (a1, a2) = (dn("sip:agent01@skype.lab"), dn("sip:agent02@skype.lab"));
        let d = |x: &DnName| {
            let (v, l) = cfg.resolve_str("TServer", "default-dn", &OptionContext::for_dn(x)).unwrap();
            (v.into_owned(), l)
        };
        assert_eq!(d(&a2), ("sip:rp3@skype.lab".to_string(), Level::Folder));
        assert_eq!(d(&a1), ("sip:rp2@skype.lab".to_string(), Level::Application));
        let moh = |x: &DnName| {
            cfg.resolve_str("connector", "musicOnHoldFilePath", &OptionContext::for_dn(x)).unwrap().0.into_owned()
        };
        assert_eq!(moh(&a2), "moh-pool2.wma");
        assert_eq!(moh(&a1), "moh-default.wma");
    }

    #[test]
    fn bad_or_zero_extensions_fall_back_to_configuration() {
        let cfg = load_str(CFG).unwrap();
        let a1 = dn("sip:agent01@skype.lab");
        for v in ["0", "soon"] {
            let ext = KvList::new().with("NO_ANSWER_TIMEOUT", v);
            let ctx = OptionContext::for_dn(&a1).with_extensions(&ext);
            assert_eq!(
                cfg.resolve_duration("TServer", "no-answer-timeout", &ctx),
                Some((Duration::from_secs(10), Level::Dn))
            );
        }
        let ext = KvList::new().with("WrapUpTime", "untimed").with("NO_ANSWER_ACTION", "logout");
        let ctx = OptionContext::for_dn(&a1).with_extensions(&ext);
        assert_eq!(cfg.resolve_wrap_up_time(&ctx), (WrapUpTime::Untimed, Level::Extensions));
        assert_eq!(
            cfg.resolve_enum("TServer", "no-answer-action", &ctx),
            Some((NoAnswerAction::Logout, Level::Extensions))
        );
        let ext = KvList::new().with("WrapUpTime", 9i64);
        let ctx = OptionContext::for_dn(&a1).with_extensions(&ext);
        assert_eq!(
            cfg.resolve_duration("TServer", "wrap-up-time", &ctx),
            Some((Duration::from_secs(9), Level::Extensions))
        );
    }

    #[test]
    fn routing_point_override_of_router_timeout() {
        let cfg = load_str(&CFG.replace(
            "type = \"Routing Point\"",
            "type = \"Routing Point\"\nannex = { TServer = { router-timeout = \"2s\" } }",
        ))
        .unwrap();
        let rp = dn("sip:rp1@skype.lab");
        assert_eq!(
            cfg.resolve_duration("TServer", "router-timeout", &OptionContext::for_dn(&rp)),
            Some((Duration::from_secs(2), Level::Dn))
        );
        assert_eq!(
            cfg.resolve_duration("TServer", "router-timeout", &OptionContext::new()),
            Some((Duration::from_secs(12), Level::Application))
        );
    }
}
