//! `TServerOptions`: the T-Server-wide effective values of the `[TServer]` options, typed (the
//! Switch annex over the Application over the built-in default). Actors that need a value for a
//! particular DN, agent or request use the hierarchy (`ServerConfig::resolve_*`) instead; this
//! struct is what applies when no object overrides anything.

use super::annex::Annex;
use super::annex::OptionTable;
use super::options::{self, OptionValue};
use super::values::{
    AvailabilityRanges, DirectCallsMedia, EmulatedLoginState, EscalationUserData, HandleDirectCalls, ImReporting,
    MonitorConsultCalls, MonitorMode, MonitorScope, NoAnswerAction, OptionEnum, PassThroughCalls, WrapUpTime,
};
use crate::model::DnName;
use serde::Serialize;
use std::time::Duration;

/// Typed `[TServer]` options (see docs/configuration.md for each option's meaning and default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TServerOptions {
    pub hide_sensitive_data: bool,
    pub agent_strict_id: bool,
    pub emulated_login_state: EmulatedLoginState,
    pub agent_emu_login_on_call: bool,
    pub logout_on_disconnect: bool,
    pub logout_on_out_of_service: bool,
    #[serde(with = "humantime_serde")]
    pub auto_logout_timeout: Duration,
    pub auto_logout_ready: bool,
    pub wrap_up_time: WrapUpTime,
    pub timed_acw_in_idle: bool,
    pub acw_in_idle_force_ready: bool,
    #[serde(with = "humantime_serde")]
    pub legal_guard_time: Duration,
    #[serde(with = "humantime_serde")]
    pub no_answer_timeout: Duration,
    pub no_answer_action: NoAnswerAction,
    pub default_dn: Option<DnName>,
    #[serde(with = "humantime_serde")]
    pub router_timeout: Duration,
    pub default_redirect_limit: u32,
    pub handle_direct_calls: HandleDirectCalls,
    pub handle_direct_calls_media: Vec<DirectCallsMedia>,
    pub default_availability_range: AvailabilityRanges,
    pub allow_pass_through_calls: PassThroughCalls,
    pub sip_treatments_continuous: bool,
    pub calling_method_dialplan: Option<DnName>,
    pub cpn: Option<String>,
    pub conn_certificate: Option<String>,
    #[serde(with = "humantime_serde")]
    pub im_joining_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub av_joining_timeout: Duration,
    pub im_messages_stored: u32,
    pub im_reporting: ImReporting,
    pub pass_transcript_to_agent: bool,
    pub escalation_user_data: EscalationUserData,
    pub default_monitor_mode: MonitorMode,
    pub default_monitor_scope: MonitorScope,
    pub intrusion_enabled: bool,
    pub monitor_internal_calls: bool,
    pub monitor_consult_calls: MonitorConsultCalls,
    pub cancel_monitor_on_disconnect: bool,
    pub presence_profile: Option<DnName>,
}

/// Looks values up Switch annex first, then the Application table, then the built-in default.
struct Lookup<'a> {
    switch: &'a Annex,
    app: &'a OptionTable,
}

impl Lookup<'_> {
    fn get(&self, key: &str) -> Option<OptionValue> {
        self.switch
            .get("TServer", key)
            .or_else(|| self.app.get(key))
            .cloned()
            .or_else(|| options::find("TServer", key).and_then(|s| s.default_value()))
    }
    fn value(&self, key: &str) -> OptionValue {
        self.get(key).unwrap_or_else(|| panic!("[TServer] {key} has a built-in default"))
    }
    fn bool(&self, key: &str) -> bool {
        self.value(key).as_bool().expect("boolean option")
    }
    fn duration(&self, key: &str) -> Duration {
        self.value(key).as_duration().expect("duration option")
    }
    fn u32(&self, key: &str) -> u32 {
        u32::try_from(self.value(key).as_u64().expect("integer option")).unwrap_or(u32::MAX)
    }
    fn enumerated<T: OptionEnum>(&self, key: &str) -> T {
        T::parse(&self.value(key).raw).expect("validated enumeration")
    }
    fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| v.raw)
    }
    fn dn(&self, key: &str) -> Option<DnName> {
        self.text(key).map(DnName::new)
    }
}

impl TServerOptions {
    /// Builds the typed view from the Switch annex and the Application's `[TServer]` table.
    pub fn from_tables(switch: &Annex, app: &OptionTable) -> TServerOptions {
        let l = Lookup { switch, app };
        TServerOptions {
            hide_sensitive_data: l.bool("hide-sensitive-data"),
            agent_strict_id: l.bool("agent-strict-id"),
            emulated_login_state: l.enumerated("emulated-login-state"),
            agent_emu_login_on_call: l.bool("agent-emu-login-on-call"),
            logout_on_disconnect: l.bool("logout-on-disconnect"),
            logout_on_out_of_service: l.bool("logout-on-out-of-service"),
            auto_logout_timeout: l.duration("auto-logout-timeout"),
            auto_logout_ready: l.bool("auto-logout-ready"),
            wrap_up_time: l.value("wrap-up-time").as_wrap_up().expect("wrap-up option"),
            timed_acw_in_idle: l.bool("timed-acw-in-idle"),
            acw_in_idle_force_ready: l.bool("acw-in-idle-force-ready"),
            legal_guard_time: l.duration("legal-guard-time"),
            no_answer_timeout: l.duration("no-answer-timeout"),
            no_answer_action: l.enumerated("no-answer-action"),
            default_dn: l.dn("default-dn"),
            router_timeout: l.duration("router-timeout"),
            default_redirect_limit: l.u32("default-redirect-limit"),
            handle_direct_calls: l.enumerated("handle-direct-calls"),
            handle_direct_calls_media: l
                .value("handle-direct-calls-media")
                .as_list()
                .unwrap_or_default()
                .iter()
                .filter_map(|m| DirectCallsMedia::parse(m))
                .collect(),
            default_availability_range: l
                .value("default-availability-range")
                .as_ranges()
                .cloned()
                .expect("ranges option"),
            allow_pass_through_calls: l.enumerated("allow-pass-through-calls"),
            sip_treatments_continuous: l.bool("sip-treatments-continuous"),
            calling_method_dialplan: l.dn("calling-method-dialplan"),
            cpn: l.text("cpn"),
            conn_certificate: l.text("conn-certificate"),
            im_joining_timeout: l.duration("im-joining-timeout"),
            av_joining_timeout: l.duration("av-joining-timeout"),
            im_messages_stored: l.u32("im-messages-stored"),
            im_reporting: l.enumerated("im-reporting"),
            pass_transcript_to_agent: l.bool("pass-transcript-to-agent"),
            escalation_user_data: l.enumerated("escalation-user-data"),
            default_monitor_mode: l.enumerated("default-monitor-mode"),
            default_monitor_scope: l.enumerated("default-monitor-scope"),
            intrusion_enabled: l.bool("intrusion-enabled"),
            monitor_internal_calls: l.bool("monitor-internal-calls"),
            monitor_consult_calls: l.enumerated("monitor-consult-calls"),
            cancel_monitor_on_disconnect: l.bool("cancel-monitor-on-disconnect"),
            presence_profile: l.dn("presence-profile"),
        }
    }
}

impl Default for TServerOptions {
    /// Every option at its built-in default.
    fn default() -> Self {
        TServerOptions::from_tables(&Annex::default(), &OptionTable::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_guide() {
        let t = TServerOptions::default();
        assert!(t.hide_sensitive_data);
        assert_eq!(t.router_timeout, Duration::from_secs(10));
        assert_eq!(t.default_redirect_limit, 4);
        assert_eq!(t.no_answer_timeout, Duration::ZERO);
        assert_eq!(t.no_answer_action, NoAnswerAction::None);
        assert_eq!(t.wrap_up_time, WrapUpTime::Timed(Duration::ZERO));
        assert_eq!(t.legal_guard_time, Duration::ZERO);
        assert_eq!(t.handle_direct_calls, HandleDirectCalls::True);
        assert_eq!(t.handle_direct_calls_media, vec![DirectCallsMedia::All]);
        assert_eq!(t.allow_pass_through_calls, PassThroughCalls::All);
        assert_eq!(t.default_monitor_mode, MonitorMode::Mute);
        assert_eq!(t.default_monitor_scope, MonitorScope::Call);
        assert_eq!(t.monitor_consult_calls, MonitorConsultCalls::None);
        assert_eq!(t.im_reporting, ImReporting::Default);
        assert_eq!(t.escalation_user_data, EscalationUserData::Inherited);
        assert!(t.default_availability_range.contains(3000) && !t.default_availability_range.contains(6001));
        assert_eq!(t.default_dn, None);
    }
}
