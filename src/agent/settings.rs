//! The agent's options, resolved once from configuration with the option hierarchy (request
//! Extensions > Agent Login > DN > folder > Switch > Application > default; `crate::config`) and
//! kept in the login session, so the machine never reads configuration again and a session
//! restored from a snapshot behaves exactly as before. Also the parsing of the per-request
//! extensions the machine reads itself (WrapUpTime, AgentEmuLoginOnCall, LogoutOnDisconnect,
//! NO_ANSWER_TIMEOUT / NO_ANSWER_ACTION) and the no-answer precedence.

use super::types::{LoginCheck, NoAnswerOverride};
use crate::config::{EmulatedLoginState, NoAnswerAction, OptionContext, OptionEnum, ServerConfig, WrapUpTime};
use crate::model::{AgentId, DnName, KvList, KvValue};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An ACW period: timed (in ms; 0 means none) or untimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WrapUp {
    Timed(u64),
    Untimed,
}

impl WrapUp {
    pub fn is_zero(self) -> bool {
        self == WrapUp::Timed(0)
    }

    /// The WrapUpTime extension value: whole seconds (rounded up) or the string `untimed`.
    pub fn extension_value(self) -> KvValue {
        match self {
            WrapUp::Timed(ms) => KvValue::Int(ms.div_ceil(1000) as i64),
            WrapUp::Untimed => KvValue::Str("untimed".into()),
        }
    }

    /// Parses a WrapUpTime extension (an integer number of seconds, as Int or string, or
    /// `untimed`); a value that does not parse is ignored, as every extension is.
    pub fn from_extensions(ext: &KvList) -> Option<WrapUp> {
        match ext.get("WrapUpTime")? {
            KvValue::Str(s) if s.trim().eq_ignore_ascii_case("untimed") => Some(WrapUp::Untimed),
            KvValue::Str(s) => s.trim().parse::<u64>().ok().map(|n| WrapUp::Timed(n.saturating_mul(1000))),
            KvValue::Int(n) => u64::try_from(*n).ok().map(|n| WrapUp::Timed(n.saturating_mul(1000))),
            _ => None,
        }
    }
}

impl From<WrapUpTime> for WrapUp {
    fn from(w: WrapUpTime) -> Self {
        match w {
            WrapUpTime::Timed(d) => WrapUp::Timed(ms(d)),
            WrapUpTime::Untimed => WrapUp::Untimed,
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The effective agent options for one DN (and, once logged in, one agent and its login).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentSettings {
    /// `emulated-login-state = ready`: a login without a work mode lands in Ready.
    pub emulated_login_ready: bool,
    /// `agent-emu-login-on-call` (extension AgentEmuLoginOnCall).
    pub emu_login_on_call: bool,
    /// `logout-on-disconnect` (extension LogoutOnDisconnect of the login client's TRegisterAddress).
    pub logout_on_disconnect: bool,
    pub logout_on_out_of_service: bool,
    /// `auto-logout-timeout`; 0 = off.
    pub auto_logout_timeout_ms: u64,
    pub auto_logout_ready: bool,
    /// `wrap-up-time` (extension WrapUpTime of TAgentLogin).
    pub wrap_up: WrapUp,
    pub timed_acw_in_idle: bool,
    pub acw_in_idle_force_ready: bool,
    /// `legal-guard-time` (extension LegalGuardTime); 0 = off.
    pub legal_guard_ms: u64,
    /// `no-answer-timeout`; 0 = off.
    pub no_answer_timeout_ms: u64,
    /// `no-answer-action` (extension NO_ANSWER_ACTION of TAgentLogin).
    pub no_answer_action: NoAnswerAction,
}

impl Default for AgentSettings {
    /// The built-in defaults of docs/configuration.md (a test checks them against the catalogue).
    fn default() -> Self {
        AgentSettings {
            emulated_login_ready: true,
            emu_login_on_call: false,
            logout_on_disconnect: false,
            logout_on_out_of_service: false,
            auto_logout_timeout_ms: 0,
            auto_logout_ready: false,
            wrap_up: WrapUp::Timed(0),
            timed_acw_in_idle: true,
            acw_in_idle_force_ready: true,
            legal_guard_ms: 0,
            no_answer_timeout_ms: 0,
            no_answer_action: NoAnswerAction::None,
        }
    }
}

impl AgentSettings {
    /// Resolves every agent option for `ctx` (DN, agent, request Extensions).
    pub fn resolve(cfg: &ServerConfig, ctx: &OptionContext<'_>) -> AgentSettings {
        let d = AgentSettings::default();
        let flag = |key: &str, default: bool| cfg.resolve_bool("TServer", key, ctx).map_or(default, |(v, _)| v);
        let millis =
            |key: &str, default: u64| cfg.resolve_duration("TServer", key, ctx).map_or(default, |(v, _)| ms(v));
        AgentSettings {
            emulated_login_ready: cfg
                .resolve_enum::<EmulatedLoginState>("TServer", "emulated-login-state", ctx)
                .map_or(d.emulated_login_ready, |(v, _)| v == EmulatedLoginState::Ready),
            emu_login_on_call: flag("agent-emu-login-on-call", d.emu_login_on_call),
            logout_on_disconnect: flag("logout-on-disconnect", d.logout_on_disconnect),
            logout_on_out_of_service: flag("logout-on-out-of-service", d.logout_on_out_of_service),
            auto_logout_timeout_ms: millis("auto-logout-timeout", d.auto_logout_timeout_ms),
            auto_logout_ready: flag("auto-logout-ready", d.auto_logout_ready),
            wrap_up: cfg.resolve_wrap_up_time(ctx).0.into(),
            timed_acw_in_idle: flag("timed-acw-in-idle", d.timed_acw_in_idle),
            acw_in_idle_force_ready: flag("acw-in-idle-force-ready", d.acw_in_idle_force_ready),
            legal_guard_ms: millis("legal-guard-time", d.legal_guard_ms),
            no_answer_timeout_ms: millis("no-answer-timeout", d.no_answer_timeout_ms),
            no_answer_action: cfg
                .resolve_enum::<NoAnswerAction>("TServer", "no-answer-action", ctx)
                .map_or(d.no_answer_action, |(v, _)| v),
        }
    }

    /// The DN's own values, before any agent logs in (what a call ringing on an idle DN gets).
    pub fn for_dn(cfg: &ServerConfig, dn: &DnName) -> AgentSettings {
        AgentSettings::resolve(cfg, &OptionContext::for_dn(dn))
    }

    /// The values for a login: the login's Extensions, then the Agent Login, the DN and up.
    pub fn for_login(cfg: &ServerConfig, dn: &DnName, agent: &AgentId, extensions: &KvList) -> AgentSettings {
        AgentSettings::resolve(cfg, &OptionContext::for_dn(dn).with_agent(agent).with_extensions(extensions))
    }
}

impl LoginCheck {
    /// Everything the machine needs to decide a TAgentLogin. `logged_in_elsewhere` comes from the
    /// server's AgentID table (one DN per agent).
    pub fn resolve(
        cfg: &ServerConfig,
        dn: &DnName,
        agent: &AgentId,
        extensions: &KvList,
        logged_in_elsewhere: bool,
    ) -> LoginCheck {
        LoginCheck {
            settings: AgentSettings::for_login(cfg, dn, agent, extensions),
            strict_id_refused: cfg.tserver.agent_strict_id && !cfg.agent_logins.contains_key(agent),
            logged_in_elsewhere,
        }
    }
}

/// A boolean extension (`true`/`false`, any case, or 1/0).
pub fn bool_extension(ext: &KvList, key: &str) -> Option<bool> {
    match ext.get(key)? {
        KvValue::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        KvValue::Int(1) => Some(true),
        KvValue::Int(0) => Some(false),
        _ => None,
    }
}

/// The LogoutOnDisconnect extension of a TRegisterAddress.
pub fn logout_on_disconnect_extension(register_extensions: &KvList) -> Option<bool> {
    bool_extension(register_extensions, "LogoutOnDisconnect")
}

impl NoAnswerOverride {
    /// NO_ANSWER_TIMEOUT (seconds; 0 is ignored: the guide says the function cannot be turned off
    /// by the request) and NO_ANSWER_ACTION of a TRouteCall's Extensions.
    pub fn from_route_extensions(ext: &KvList) -> NoAnswerOverride {
        NoAnswerOverride {
            timeout_ms: ext.get_int("NO_ANSWER_TIMEOUT").filter(|n| *n > 0).map(|n| (n as u64).saturating_mul(1000)),
            action: ext.get_str("NO_ANSWER_ACTION").and_then(NoAnswerAction::parse),
        }
    }
}

/// The no-answer action for a call that rang out: the call's own NO_ANSWER_ACTION, else the
/// logged-in agent's value (login extension > Agent Login > DN > Application, resolved at login),
/// else nothing happens to an agent because there is none.
pub fn no_answer_action(call: Option<NoAnswerAction>, login: Option<&AgentSettings>) -> NoAnswerAction {
    match (call, login) {
        (_, None) => NoAnswerAction::None,
        (Some(a), Some(_)) => a,
        (None, Some(s)) => s.no_answer_action,
    }
}

/// The no-answer timeout of a ringing call: the call's NO_ANSWER_TIMEOUT, else the agent's, else
/// the DN's (0 = no supervision).
pub fn no_answer_timeout_ms(call: &NoAnswerOverride, login: Option<&AgentSettings>, dn: &AgentSettings) -> u64 {
    call.timeout_ms.unwrap_or_else(|| login.unwrap_or(dn).no_answer_timeout_ms)
}
