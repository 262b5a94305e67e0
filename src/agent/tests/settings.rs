//! Options resolved from configuration with the guide's precedence, and the extensions the
//! machine reads.

use super::*;
use crate::config::{load_str, OptionContext};

const CFG: &str = r#"
    [TServer]
    link-1-name = "c1"
    wrap-up-time = "10s"
    no-answer-action = "none"
    no-answer-timeout = 20
    [c1]
    hostname = "127.0.0.1"
    port = 9001
    protocol = "tcp"
    [[dn]]
    number = "sip:agent01@skype.lab"
    type = "Extension"
    annex = { TServer = { no-answer-action = "notready", legal-guard-time = "3s", auto-logout-timeout = 5 } }
    [[dn]]
    number = "sip:agent02@skype.lab"
    type = "Extension"
    [[agent-login]]
    code = "1001"
    annex = { TServer = { no-answer-action = "logout", wrap-up-time = "untimed", logout-on-disconnect = true } }
"#;

#[test]
fn built_in_defaults_are_the_catalogue_defaults() {
    let cfg = load_str(
        CFG.replace("wrap-up-time = \"10s\"\n    no-answer-action = \"none\"\n    no-answer-timeout = 20\n", "")
            .as_str(),
    )
    .unwrap();
    assert_eq!(AgentSettings::resolve(&cfg, &OptionContext::new()), AgentSettings::default());
}

#[test]
fn precedence_agent_login_over_dn_over_application() {
    let cfg = load_str(CFG).unwrap();
    let (a1, a2) = (DnName::new("sip:agent01@skype.lab"), DnName::new("sip:agent02@skype.lab"));
    let dn = AgentSettings::for_dn(&cfg, &a1);
    assert_eq!(dn.no_answer_action, NoAnswerAction::NotReady, "DN over Application");
    assert_eq!(
        (dn.legal_guard_ms, dn.auto_logout_timeout_ms),
        (3000, 300_000),
        "plain auto-logout numbers are minutes"
    );
    assert_eq!(dn.wrap_up, WrapUp::Timed(10_000));
    assert_eq!(dn.no_answer_timeout_ms, 20_000);
    let app = AgentSettings::for_dn(&cfg, &a2);
    assert_eq!(app.no_answer_action, NoAnswerAction::None);
    let agent = AgentId::new("1001");
    let login = AgentSettings::for_login(&cfg, &a1, &agent, &KvList::new());
    assert_eq!(login.no_answer_action, NoAnswerAction::Logout, "Agent Login over DN");
    assert_eq!(login.wrap_up, WrapUp::Untimed);
    assert!(login.logout_on_disconnect);
    // The login's Extensions are the highest level.
    let ext = KvList::new().with("WrapUpTime", 4i64).with("NO_ANSWER_ACTION", "not ready").with("LegalGuardTime", "1");
    let login = AgentSettings::for_login(&cfg, &a1, &agent, &ext);
    assert_eq!(login.wrap_up, WrapUp::Timed(4000));
    assert_eq!(login.no_answer_action, NoAnswerAction::NotReady);
    assert_eq!(login.legal_guard_ms, 1000);
}

#[test]
fn strict_id_check_uses_agent_logins() {
    let cfg = load_str(&CFG.replace("[TServer]\n", "[TServer]\n    agent-strict-id = true\n")).unwrap();
    let dn = DnName::new("sip:agent02@skype.lab");
    assert!(!LoginCheck::resolve(&cfg, &dn, &AgentId::new("1001"), &KvList::new(), false).strict_id_refused);
    let unknown = LoginCheck::resolve(&cfg, &dn, &AgentId::new("4242"), &KvList::new(), true);
    assert!(unknown.strict_id_refused && unknown.logged_in_elsewhere);
    let lax = load_str(CFG).unwrap();
    assert!(!LoginCheck::resolve(&lax, &dn, &AgentId::new("4242"), &KvList::new(), false).strict_id_refused);
}

#[test]
fn extension_values() {
    assert_eq!(WrapUp::from_extensions(&ext("WrapUpTime", "untimed")), Some(WrapUp::Untimed));
    assert_eq!(WrapUp::from_extensions(&ext("WrapUpTime", " 12 ")), Some(WrapUp::Timed(12_000)));
    assert_eq!(WrapUp::from_extensions(&ext("WrapUpTime", -3i64)), None, "a bad value is ignored");
    assert_eq!(WrapUp::from_extensions(&ext("WrapUpTime", "soon")), None);
    assert_eq!(WrapUp::Timed(1500).extension_value(), KvValue::Int(2), "seconds, rounded up");
    assert_eq!(logout_on_disconnect_extension(&ext("LogoutOnDisconnect", "TRUE")), Some(true));
    assert_eq!(logout_on_disconnect_extension(&ext("LogoutOnDisconnect", 0i64)), Some(false));
    assert_eq!(logout_on_disconnect_extension(&ext("LogoutOnDisconnect", "maybe")), None);
    let zero = NoAnswerOverride::from_route_extensions(&ext("NO_ANSWER_TIMEOUT", "0"));
    assert_eq!(zero.timeout_ms, None, "guide: a zero NO_ANSWER_TIMEOUT is ignored");
    let s = settings_with(|s| s.no_answer_action = NoAnswerAction::NotReady);
    assert_eq!(no_answer_action(Some(NoAnswerAction::Logout), Some(&s)), NoAnswerAction::Logout);
    assert_eq!(no_answer_action(None, Some(&s)), NoAnswerAction::NotReady);
    assert_eq!(no_answer_action(Some(NoAnswerAction::Logout), None), NoAnswerAction::None, "no agent, no action");
    let dn = settings_with(|s| s.no_answer_timeout_ms = 9000);
    assert_eq!(no_answer_timeout_ms(&NoAnswerOverride::default(), None, &dn), 9000);
    assert_eq!(no_answer_timeout_ms(&NoAnswerOverride::default(), Some(&s), &dn), 0, "the agent's value wins");
}

#[test]
fn legal_guard_time_is_validated_at_load() {
    let bad = CFG.replace("legal-guard-time = \"3s\"", "legal-guard-time = \"2h\"");
    let e = load_str(&bad).unwrap_err().to_string();
    assert!(e.contains("legal-guard-time") && e.contains("at most 1h"), "{e}");
    let e = load_str(&CFG.replace("legal-guard-time = \"3s\"", "legal-guard-time = \"soon\"")).unwrap_err().to_string();
    assert!(e.contains("invalid value \"soon\"") && e.contains("legal-guard-time"), "{e}");
}
