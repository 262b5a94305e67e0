//! The option tables: every option the guide names for this T-Server, per section, with its
//! value kind, built-in default, allowed hierarchy levels, request-extension overrides and pool
//! scope. docs/configuration.md is the prose form of this file (a test keeps them in step).
//! Defaults come from the guide where it states one; the rest are documented as this
//! implementation's choice.

use super::options::{Kind, Levels, OptionSpec, PoolScope};
use super::values::{
    CallingMethod, DirectCallsMedia, EmulatedLoginState, EscalationUserData, HandleDirectCalls, ImReporting,
    MonitorConsultCalls, MonitorMode, MonitorScope, NoAnswerAction, OptionEnum, PassThroughCalls, Unit,
};

/// Application-wide (`[TServer]`, or the Switch annex).
const A: Levels = Levels::APP.or(Levels::SWITCH);
/// Pool-wide: Application, Switch or a top-level folder annex.
const P: Levels = A.or(Levels::FOLDER);
/// Down to the DN annex.
const H: Levels = P.or(Levels::DN);
/// Down to the Agent Login annex.
const HA: Levels = H.or(Levels::AGENT);
/// Only on a DN annex.
const D: Levels = Levels::DN;
/// Switch annex or a top-level folder annex (the Connector sections).
const SF: Levels = Levels::SWITCH.or(Levels::FOLDER);

const fn secs(max: Option<u64>) -> Kind {
    Kind::Duration { unit: Unit::Seconds, max }
}

const ALT: &str = "Alternate Routing";
const EMU: &str = "Emulated Agents";
const NAS: &str = "No-Answer Supervision";
const SUP: &str = "Call Supervision";
const B2B: &str = "Calling using Back-to-Back User Agent";
const PRE: &str = "Presence";
const DIR: &str = "Handling Direct Calls";
const POOLS: &str = "Multiple Application Pools";
const MEDIA: &str = "Supported Media Types";

/// `[TServer]` options (Application, and the annex `[TServer]` sections of Switch, folders, DNs
/// and Agent Logins).
pub const TSERVER: &[OptionSpec] = &[
    OptionSpec::new("link-<n>-name", Kind::Text, None, Levels::APP, "Managing T-Server / Configuring T-Server"),
    OptionSpec::new("hide-sensitive-data", Kind::Bool, Some("true"), A, "Hiding Sensitive Data"),
    OptionSpec::new("agent-strict-id", Kind::Bool, Some("false"), A, "Agent Logins; Emulated Agents"),
    OptionSpec::new("emulated-login-state", Kind::Enum(EmulatedLoginState::VALUES), Some("ready"), HA, EMU),
    OptionSpec::new("agent-emu-login-on-call", Kind::Bool, Some("false"), HA, EMU).ext(&["AgentEmuLoginOnCall"]),
    OptionSpec::new("logout-on-disconnect", Kind::Bool, Some("false"), HA, EMU).ext(&["LogoutOnDisconnect"]),
    OptionSpec::new("logout-on-out-of-service", Kind::Bool, Some("false"), HA, EMU),
    OptionSpec::new(
        "auto-logout-timeout",
        Kind::Duration { unit: Unit::Minutes, max: Some(35791) },
        Some("0"),
        HA,
        EMU,
    ),
    OptionSpec::new("auto-logout-ready", Kind::Bool, Some("false"), HA, EMU),
    OptionSpec::new("wrap-up-time", Kind::WrapUp, Some("0"), HA, EMU).ext(&["WrapUpTime"]),
    OptionSpec::new("timed-acw-in-idle", Kind::Bool, Some("true"), HA, EMU),
    OptionSpec::new("acw-in-idle-force-ready", Kind::Bool, Some("true"), HA, EMU),
    OptionSpec::new("legal-guard-time", secs(Some(3600)), Some("0"), HA, "Attribute Extensions (LegalGuardTime)")
        .ext(&["LegalGuardTime"]),
    OptionSpec::new("no-answer-timeout", secs(Some(600)), Some("0"), HA, NAS).ext(&["NO_ANSWER_TIMEOUT"]),
    OptionSpec::new("no-answer-action", Kind::Enum(NoAnswerAction::VALUES), Some("none"), HA, NAS)
        .ext(&["NO_ANSWER_ACTION"]),
    OptionSpec::new("default-dn", Kind::Text, None, H, ALT).pools(PoolScope::PerPool),
    OptionSpec::new("router-timeout", secs(None), Some("10"), H, ALT).pools(PoolScope::AllPools),
    OptionSpec::new("default-redirect-limit", Kind::Int { min: 0, max: 15 }, Some("4"), A, ALT)
        .aliases(&["default-redirection-limit"])
        .pools(PoolScope::AllPools),
    OptionSpec::new("handle-direct-calls", Kind::Enum(HandleDirectCalls::VALUES), Some("true"), H, DIR),
    OptionSpec::new("handle-direct-calls-media", Kind::EnumList(DirectCallsMedia::VALUES), Some("all"), H, DIR),
    OptionSpec::new("default-availability-range", Kind::Ranges, Some("3000-6000"), A, DIR),
    OptionSpec::new(
        "allow-pass-through-calls",
        Kind::Enum(PassThroughCalls::VALUES),
        Some("all"),
        H,
        "Handling Pass-Through Calls",
    )
    .pools(PoolScope::PerPool),
    OptionSpec::new("sip-treatments-continuous", Kind::Bool, Some("false"), P, POOLS).pools(PoolScope::PerPool),
    OptionSpec::new("calling-method-dialplan", Kind::ServiceDn("dialplan"), None, P, B2B).pools(PoolScope::PerPool),
    OptionSpec::new("cpn", Kind::SipUri, None, P.or(Levels::DN), B2B)
        .pools(PoolScope::PerPool)
        .ext(&["CPNDigits"])
        .service("dialplan"),
    OptionSpec::new("calling-method", Kind::Enum(CallingMethod::VALUES), Some("dialout"), D, B2B)
        .ext(&["calling-method"])
        .service("dialplan"),
    OptionSpec::new("dial-plan-rule-<n>", Kind::DialPlanRule, None, D, B2B).service("dialplan"),
    OptionSpec::new("conn-certificate", Kind::Text, None, A, POOLS).pools(PoolScope::AllPools),
    OptionSpec::new("im-joining-timeout", secs(None), Some("30"), A, POOLS).pools(PoolScope::AllPools),
    OptionSpec::new("av-joining-timeout", secs(None), Some("30"), A, POOLS).pools(PoolScope::AllPools),
    OptionSpec::new("im-messages-stored", Kind::Int { min: 0, max: 100_000 }, Some("100"), A, POOLS)
        .pools(PoolScope::AllPools),
    OptionSpec::new("im-reporting", Kind::Enum(ImReporting::VALUES), Some("default"), A, "IM Suppression")
        .pools(PoolScope::AllPools),
    OptionSpec::new("pass-transcript-to-agent", Kind::Bool, Some("true"), H, "Attribute Extensions")
        .ext(&["pass-transcript-to-agent"]),
    OptionSpec::new("escalation-user-data", Kind::Enum(EscalationUserData::VALUES), Some("inherited"), A, MEDIA),
    OptionSpec::new("default-monitor-mode", Kind::Enum(MonitorMode::VALUES), Some("mute"), A, SUP)
        .ext(&["MonitorMode"]),
    OptionSpec::new("default-monitor-scope", Kind::Enum(MonitorScope::VALUES), Some("call"), A, SUP)
        .ext(&["MonitorScope"]),
    OptionSpec::new("intrusion-enabled", Kind::Bool, Some("true"), A, SUP),
    OptionSpec::new("monitor-internal-calls", Kind::Bool, Some("true"), A, SUP),
    OptionSpec::new("monitor-consult-calls", Kind::Enum(MonitorConsultCalls::VALUES), Some("none"), A, SUP),
    OptionSpec::new("cancel-monitor-on-disconnect", Kind::Bool, Some("true"), A, SUP),
    OptionSpec::new("presence-profile", Kind::ServiceDn("presence-profile"), None, H, PRE)
        .ext(&["presence-profile", "Presence-profile"]),
    OptionSpec::new("map-presence-to-dnd", Kind::Bool, Some("false"), D, PRE).service("presence-profile"),
    OptionSpec::new("presence-availability-range", Kind::Ranges, Some("3000-6000"), D, PRE).service("presence-profile"),
    OptionSpec::new("agent-presence-map", Kind::Text, None, D, PRE).service("presence-profile"),
    OptionSpec::new("aggregated-states", Kind::Text, None, D, PRE).service("presence-profile"),
    OptionSpec::new("service-type", Kind::Text, None, D, "Devices for T-Server"),
    OptionSpec::new("multimedia", Kind::Bool, Some("true"), D, "IM Suppression"),
    OptionSpec::new("voice", Kind::Bool, Some("true"), D, "Managing Workspace Plugin for Skype for Business"),
    OptionSpec::new("record", Kind::Bool, Some("false"), D, "Remote Recording"),
    OptionSpec::new("override-call-type", Kind::Int { min: 0, max: 4 }, None, D, "Known Limitations and Workarounds"),
];

/// `[connector]` options (Switch annex; per pool in a top-level folder annex).
pub const CONNECTOR: &[OptionSpec] = &[
    OptionSpec::new("pool-name", Kind::Text, None, Levels::FOLDER, POOLS),
    OptionSpec::new("caching-enabled", Kind::BoolOrDigit, Some("1"), SF, "Configuring Connector")
        .pools(PoolScope::PerPool),
    OptionSpec::new(
        "conference-pool-size",
        Kind::Int { min: 0, max: 6000 },
        Some("0"),
        SF,
        "Conference Resource Pools",
    )
    .pools(PoolScope::PerPool),
    OptionSpec::new("reuse-avcall", Kind::Int { min: 0, max: u32::MAX as u64 }, Some("0"), SF, "Performance")
        .pools(PoolScope::PerPool),
    OptionSpec::new("music-on-hold-file-path", Kind::Text, None, SF, "Music On Hold")
        .aliases(&["musicOnHoldFilePath"])
        .pools(PoolScope::PerPool),
    OptionSpec::new("ringtone-file-path", Kind::Text, None, SF, "Configuring Connector").pools(PoolScope::PerPool),
    OptionSpec::new("conf-session-shutdown", Kind::Text, None, Levels::SWITCH, "Configuring Connector"),
    OptionSpec::new("persistent-storage-path", Kind::Text, None, Levels::SWITCH, "Configuring Connector"),
];

/// `[conference-services]` options (Switch annex; per pool in a top-level folder annex).
pub const CONFERENCE_SERVICES: &[OptionSpec] = &[
    OptionSpec::new("count", Kind::Int { min: 1, max: 99_999 }, None, SF, "Conference Resource Pools"),
    OptionSpec::new("uri-pattern", Kind::UriPattern, None, SF, "Conference Resource Pools"),
    OptionSpec::new("lobby-bypass-enabled", Kind::Bool, Some("true"), SF, "Disable Lobby Bypass"),
];

/// `[log]` options of the Switch annex.
pub const LOG: &[OptionSpec] =
    &[OptionSpec::new("hide-header", Kind::WordList, Some(""), Levels::SWITCH, "Hiding Sensitive Data")];

/// All option sections by name.
pub const SECTIONS: &[(&str, &[OptionSpec])] =
    &[("TServer", TSERVER), ("connector", CONNECTOR), ("conference-services", CONFERENCE_SERVICES), ("log", LOG)];
