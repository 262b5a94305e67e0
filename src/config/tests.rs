//! Cross-cutting configuration tests: the shipped files (config/*.toml and the examples in
//! docs/configuration.md) load, the embedded demo switch has exactly the names scripts rely on,
//! every validation rule refuses what the guide forbids with a message naming option, value and
//! reason, and `render` shows the resolved model.

use super::*;
use crate::model::{AgentId, DnName, DnType};

/// A minimal valid file; tests append to it.
const BASE: &str = r#"
[TServer]
link-1-name = "connector1"
[connector1]
hostname = "127.0.0.1"
port = 9001
protocol = "tcp"
"#;

fn with(extra: &str) -> Result<ServerConfig, ConfigError> {
    load_str(&format!("{BASE}\n{extra}"))
}

fn err(extra: &str) -> String {
    with(extra).expect_err("configuration should be refused").to_string()
}

fn dn(number: &str, t: &str) -> String {
    format!("[[dn]]\nnumber = {number:?}\ntype = {t:?}\n")
}

#[test]
fn embedded_default_has_the_demo_names() {
    let cfg = embedded_default();
    let ext: Vec<&str> = cfg.dns_of_type(DnType::Extension).map(|d| d.number.as_str()).collect();
    assert_eq!(ext.len(), 22);
    for i in 1..=20 {
        assert!(ext.contains(&format!("sip:agent{i:02}@skype.lab").as_str()), "agent{i:02}");
    }
    assert!(ext.contains(&"sip:supervisor1@skype.lab") && ext.contains(&"sip:supervisor2@skype.lab"));
    let rps: Vec<&str> = cfg.dns_of_type(DnType::RoutingPoint).map(|d| d.number.as_str()).collect();
    assert_eq!(rps, ["sip:rp1@skype.lab", "sip:rp2@skype.lab"]);
    let erps: Vec<&DnConfig> = cfg.dns_of_type(DnType::ExternalRoutingPoint).collect();
    assert_eq!(erps.len(), 1);
    assert_eq!(erps[0].number.as_str(), "sip:erp1@skype.lab");
    assert_eq!(erps[0].association.as_deref(), Some("+14155551212"));
    assert_eq!(cfg.agent_logins.len(), 22);
    for code in (1001..=1020).chain([2001, 2002]) {
        assert!(cfg.agent_logins.contains_key(&AgentId::new(code.to_string())), "{code}");
    }
    let presence = cfg.dn(&DnName::new("sip:presence@skype.lab")).unwrap();
    assert_eq!((presence.dn_type, presence.service_type.as_deref()), (DnType::VoipService, Some("presence-profile")));
    let dialplan = cfg.dn(&DnName::new("sip:dialplan@skype.lab")).unwrap();
    assert_eq!(dialplan.service_type.as_deref(), Some("dialplan"));
    assert_eq!(cfg.dn(&DnName::new("vq_sales")).unwrap().dn_type, DnType::VirtualQueue);
    assert_eq!(cfg.dn(&DnName::new("gcti::park")).unwrap().dn_type, DnType::TrunkGroup);
    let c = cfg.switch.conference_services.as_ref().unwrap();
    assert_eq!((c.count, c.uri_pattern.as_str(), c.lobby_bypass_enabled), (10, "sip:conf{DD}@skype.lab", false));
    assert_eq!(cfg.links.len(), 1);
    let l = &cfg.links[0];
    assert_eq!(
        (l.n, l.name.as_str(), l.hostname.as_str(), l.port, l.protocol),
        (1, "connector1", "127.0.0.1", 9001, LinkProtocol::Tcp)
    );
    assert_eq!(l.pool_name, DEFAULT_POOL);
    assert_eq!(cfg.server.tlib_listen.to_string(), "127.0.0.1:7000");
    assert_eq!(cfg.server.admin_listen.to_string(), "127.0.0.1:7080");
    assert_eq!(cfg.server.data_dir, std::path::PathBuf::from("data"));
    assert!(cfg.server.embedded_connector);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn shipped_multi_connector_file_loads_with_two_pools() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/multi-connector.toml");
    let cfg = load_file(&path).unwrap();
    assert_eq!(cfg.links.len(), 4);
    let names = |pool: &str| cfg.links_for_pool(pool).iter().map(|l| l.name.clone()).collect::<Vec<_>>();
    assert_eq!(names("Pool1"), ["connector1-1", "connector1-2"]);
    assert_eq!(names("Pool2"), ["connector2-1", "connector2-2"]);
    assert_eq!(cfg.pool_of(&DnName::new("sip:user2@skype.lab")), "Pool2");
    assert_eq!(cfg.pool_of(&DnName::new("sip:rp1@skype.lab")), "Pool1");
    assert_eq!(cfg.conference_services_for_pool("Pool2").unwrap().endpoint_uri(20), "sip:p2conf20@skype.lab");
    assert_eq!(cfg.conference_services_for_pool("Pool1").unwrap().count, 10);
    assert_eq!(cfg.connector_for_pool("Pool2").conference_pool_size, 20);
    assert_eq!(cfg.connector_for_pool("Pool1").music_on_hold_file_path, None);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn every_toml_example_in_the_docs_loads() {
    let docs = include_str!("../../docs/configuration.md");
    let mut found = 0;
    for block in docs.split("```toml").skip(1) {
        let body = block.split("```").next().unwrap();
        if body.contains("# fragment") {
            continue;
        }
        found += 1;
        if let Err(e) = load(body, "docs/configuration.md example", &[]) {
            panic!("docs example {found} does not load: {e}\n{body}");
        }
    }
    assert!(found >= 2, "docs carry complete examples");
}

#[test]
fn docs_describe_every_option() {
    let docs = include_str!("../../docs/configuration.md");
    for section in options::section_names() {
        for spec in options::section(section).unwrap() {
            assert!(
                docs.contains(&format!("`{}`", spec.name)),
                "docs/configuration.md lacks [{section}] {}",
                spec.name
            );
        }
    }
}

#[test]
fn file_errors_name_the_path() {
    let e = load_file(std::path::Path::new("/no/such/file.toml")).unwrap_err().to_string();
    assert!(e.starts_with("cannot read configuration file /no/such/file.toml"), "{e}");
}

#[test]
fn errors_name_option_value_and_reason() {
    let e = err("[switch.annex.TServer]\nno-answer-timeout = \"abc\"");
    assert_eq!(
        e,
        r#"invalid value "abc" for [switch.annex.TServer] no-answer-timeout: expected a duration like "15s" (a plain number means seconds)"#
    );
    let e = load_str(&BASE.replace("[TServer]", "[TServer]\nrouter-timeout = \"soon\"")).unwrap_err().to_string();
    assert!(e.starts_with(r#"invalid value "soon" for [TServer] router-timeout: expected a duration"#), "{e}");
    let e = load_str(&BASE.replace("port = 9001", "port = 99999")).unwrap_err().to_string();
    assert_eq!(e, r#"invalid value "99999" for [connector1] port: expected a port number from 1 to 65535"#);
    let e = load_str(&BASE.replace("[TServer]", "[TServer]\nno-answer-timout = 5")).unwrap_err().to_string();
    assert_eq!(e, "unknown option [TServer] no-answer-timout: the guide names no such option in [TServer]");
}

#[test]
fn several_problems_are_reported_together() {
    let e = with(&format!("{}{}", dn("sip:a@x", "Phone"), dn("sip:erp@x", "External Routing Point"))).unwrap_err();
    assert_eq!(e.problems().len(), 2, "{e}");
}

#[test]
fn dn_names_are_lower_cased() {
    let cfg = with(&dn("sip:Agent01@Skype.LAB", "Extension")).unwrap();
    let d = cfg.dn(&DnName::new("sip:agent01@skype.lab")).unwrap();
    assert_eq!(d.number.as_str(), "sip:agent01@skype.lab");
    assert_eq!(d.spelling, "sip:Agent01@Skype.LAB");
}

#[test]
fn dns_differing_only_in_case_are_misconfigured() {
    let e = err(&format!("{}{}", dn("sip:dn1@x", "Extension"), dn("sip:DN1@x", "Extension")));
    assert!(e.contains("MSG_TS_COMMON_DN_MISCONFIGURED"), "{e}");
    assert!(e.contains("\"sip:dn1@x\"") && e.contains("\"sip:DN1@x\""), "{e}");
}

#[test]
fn duplicate_dns_are_refused() {
    let e = err(&format!("{}{}", dn("sip:a@x", "Extension"), dn("sip:a@x", "Routing Point")));
    assert_eq!(e, "duplicate DN \"sip:a@x\": it is configured twice");
}

#[test]
fn unregistered_dns_load_but_are_reported() {
    let cfg = with(&format!("{}register = false\n", dn("sip:a@x", "Extension"))).unwrap();
    assert!(!cfg.dn(&DnName::new("sip:a@x")).unwrap().register);
    assert!(cfg.warnings.iter().any(|w| w.contains("register = false") && w.contains("sip:a@x")));
    assert!(render(&cfg).contains("register=false (out of service)"));
}

#[test]
fn external_routing_point_needs_an_association() {
    let e = err(&dn("sip:erp1@x", "External Routing Point"));
    assert!(e.starts_with("missing [[dn]] \"sip:erp1@x\" association:"), "{e}");
    assert!(with(&format!("{}association = \"+1415\"\n", dn("sip:erp1@x", "External Routing Point"))).is_ok());
}

#[test]
fn voip_service_needs_a_service_type() {
    let e = err(&dn("sip:svc@x", "Voice over IP Service"));
    assert!(e.starts_with("missing [[dn]] \"sip:svc@x\" annex [TServer] service-type:"), "{e}");
    let e = err(&format!("{}annex = {{ TServer = {{ service-type = \"dialplan\" }} }}\n", dn("sip:a@x", "Extension")));
    assert!(e.contains("only Voice over IP Service DNs have a service-type"), "{e}");
}

#[test]
fn service_options_belong_on_their_service_dn() {
    let e = err(&format!(
        "{}annex = {{ TServer = {{ service-type = \"dialplan\", map-presence-to-dnd = true }} }}\n",
        dn("sip:dp@x", "Voice over IP Service")
    ));
    assert!(
        e.contains("map-presence-to-dnd: belongs on a Voice over IP Service DN with service-type presence-profile"),
        "{e}"
    );
}

#[test]
fn service_references_must_name_a_matching_dn() {
    let e =
        load_str(&BASE.replace("[TServer]", "[TServer]\npresence-profile = \"sip:nobody@x\"")).unwrap_err().to_string();
    assert!(
        e.starts_with(r#"invalid value "sip:nobody@x" for [TServer] presence-profile: no Voice over IP Service DN"#),
        "{e}"
    );
    let ok = format!(
        "{}annex = {{ TServer = {{ service-type = \"presence-profile\" }} }}\n{}annex = {{ TServer = {{ presence-profile = \"sip:P@x\" }} }}\n",
        dn("sip:p@x", "Voice over IP Service"),
        dn("sip:a@x", "Extension")
    );
    assert!(with(&ok).is_ok());
}

#[test]
fn trunk_group_must_be_gcti_park() {
    let e = err(&dn("trunk1", "Trunk Group"));
    assert_eq!(
        e,
        r#"invalid value "trunk1" for [[dn]] "trunk1" number: a Trunk Group must be named gcti::park (chat parking)"#
    );
    assert!(with(&dn("gcti::park", "Trunk Group")).is_ok());
}

#[test]
fn seat_dns_are_sip_uris_and_types_use_the_guide_spellings() {
    let e = err(&dn("tel:+1415", "Extension"));
    assert!(e.contains("TEL URIs are not supported"), "{e}");
    let e = err(&dn("sip:a@x", "Trunk"));
    assert!(
        e.starts_with(r#"invalid value "Trunk" for [[dn]] "sip:a@x" type: expected one of Extension, Routing Point"#),
        "{e}"
    );
    assert!(with(&dn("sip:group1@x", "ACD Queue")).is_ok());
}

#[test]
fn links_must_be_consecutive_and_complete() {
    let e = load_str(&BASE.replace("link-1-name", "link-2-name")).unwrap_err().to_string();
    assert_eq!(e, "missing [TServer] link-1-name: link-n-name numbers must be consecutive from 1 (link-2-name is set)");
    let e = load_str("[server]\n").unwrap_err().to_string();
    assert_eq!(e, "missing [TServer] link-1-name: at least one Connector link is required");
    let e = load_str("[TServer]\nlink-1-name = \"c9\"\n").unwrap_err().to_string();
    assert_eq!(e, "missing [c9]: [TServer] link-1-name names this section, which does not exist");
    let e = load_str(&BASE.replace("protocol = \"tcp\"", "protocol = \"udp\"")).unwrap_err().to_string();
    assert_eq!(e, r#"invalid value "udp" for [connector1] protocol: expected tcp or tls"#);
    let e = load_str(&BASE.replace("port = 9001\n", "")).unwrap_err().to_string();
    assert_eq!(e, "missing [connector1] port: the port of this Connector");
    let e = load_str(&BASE.replace("port = 9001", "port = 9001\nhost = \"x\"")).unwrap_err().to_string();
    assert!(e.contains("[connector1]") && e.contains("unknown field `host`"), "{e}");
}

#[test]
fn stray_sections_are_refused_with_a_hint() {
    let e = err("[tserver]\nwrap-up-time = 5\n");
    assert_eq!(
        e,
        "unknown option section [tserver]: not referenced by any [TServer] link-n-name (did you mean [TServer]?)"
    );
}

#[test]
fn a_non_default_pool_belongs_to_one_folder() {
    let folders = "[[folder]]\nname = \"A\"\nannex = { connector = { pool-name = \"Pool2\" } }\n[[folder]]\nname = \"B\"\nannex = { connector = { pool-name = \"Pool2\" } }\n";
    let e = err(folders);
    assert!(e.contains("\"A\" and \"B\" both set [connector] pool-name = \"Pool2\""), "{e}");
    let defaults =
        "[[folder]]\nname = \"A\"\n[[folder]]\nname = \"B\"\nannex = { connector = { pool-name = \"default\" } }\n";
    assert!(with(defaults).is_ok());
}

#[test]
fn a_dn_folder_must_exist_and_decides_the_pool() {
    let e = err(&format!("{}folder = \"Nowhere\"\n", dn("sip:a@x", "Extension")));
    assert_eq!(e, r#"invalid value "Nowhere" for [[dn]] "sip:a@x" folder: no [[folder]] has this name"#);
    let cfg = load_str(&format!(
        "{}pool-name = \"P2\"\n[[folder]]\nname = \"F\"\nannex = {{ connector = {{ pool-name = \"P2\" }} }}\n{}folder = \"F\"\n{}",
        BASE,
        dn("sip:a@x", "Extension"),
        dn("sip:b@x", "Extension")
    ))
    .unwrap();
    assert_eq!(cfg.pool_of(&DnName::new("sip:a@x")), "P2");
    assert_eq!(cfg.pool_of(&DnName::new("sip:b@x")), DEFAULT_POOL);
    assert_eq!(cfg.links_for_pool("P2").len(), 1);
    assert!(cfg.warnings.iter().any(|w| w.contains("pool \"default\" has 1 DN(s) but no link")), "{:?}", cfg.warnings);
}

#[test]
fn conference_services_rules() {
    let e = err("[switch.annex.conference-services]\ncount = 0\nuri-pattern = \"sip:c{DD}@x\"\n");
    assert_eq!(
        e,
        r#"invalid value "0" for [switch.annex.conference-services] count: expected an integer from 1 to 99999"#
    );
    let e = err("[switch.annex.conference-services]\ncount = 5\nuri-pattern = \"sip:conf@x\"\n");
    assert!(e.contains("expected a pattern with a digit placeholder"), "{e}");
    let e = err("[switch.annex.conference-services]\ncount = 100\nuri-pattern = \"sip:c{DD}@x\"\n");
    assert!(e.contains("can number at most 99 endpoints"), "{e}");
    let e = err("[switch.annex.conference-services]\ncount = 5\n");
    assert!(e.starts_with("missing [switch.annex.conference-services] uri-pattern"), "{e}");
    let cfg = with("[switch.annex.conference-services]\ncount = 2\nuri-pattern = \"sip:c{DDD}@x\"\n").unwrap();
    let c = cfg.switch.conference_services.unwrap();
    assert_eq!((c.endpoint_uri(2).as_str(), c.lobby_bypass_enabled), ("sip:c002@x", true));
}

#[test]
fn duplicate_agent_logins_are_refused() {
    let e = err("[[agent-login]]\ncode = \"1001\"\n[[agent-login]]\ncode = 1001\n");
    assert_eq!(e, "duplicate Agent Login \"1001\": it is configured twice");
}

#[test]
fn a_conference_pool_without_caching_or_endpoints_is_warned_about() {
    let cfg = with("[switch.annex.connector]\ncaching-enabled = 0\nconference-pool-size = 5\n").unwrap();
    let w = cfg.warnings.join("\n");
    assert!(w.contains("conference-pool-size = 5 with caching-enabled = 0"), "{w}");
    assert!(w.contains("no [conference-services] count / uri-pattern"), "{w}");
    let services = "[switch.annex.conference-services]\ncount = 1\nuri-pattern = \"sip:c{D}@x\"\n";
    let cfg = with(&format!("{services}[switch.annex.connector]\nconference-pool-size = 5\n")).unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn booleans_and_caching_enabled_digits() {
    let cfg = with("[switch.annex.connector]\ncaching-enabled = 0\n").unwrap();
    assert!(!cfg.switch.connector.caching_enabled);
    let e = load_str(&BASE.replace("[TServer]", "[TServer]\nhide-sensitive-data = 1")).unwrap_err().to_string();
    assert_eq!(e, r#"invalid value "1" for [TServer] hide-sensitive-data: expected true or false"#);
    let e = err("[server]\nembedded-connector = \"yes\"\n");
    assert_eq!(e, r#"invalid value "yes" for [server] embedded-connector: expected true or false"#);
}

#[test]
fn server_section_rules() {
    let e = err("[server]\ntls-cert = \"cert.pem\"\n");
    assert_eq!(e, "missing [server] tls-key: tls-cert is set; TLS needs both tls-cert and tls-key");
    let e = err("[server]\ntlib-listen = \"localhost\"\n");
    assert_eq!(e, r#"invalid value "localhost" for [server] tlib-listen: expected an address like "127.0.0.1:7000""#);
    let cfg = with("[server]\ntls-cert = \"c.pem\"\ntls-key = \"k.pem\"\nadmin-token = \"s3cret\"\n").unwrap();
    assert!(cfg.server.tls.is_some());
    assert_eq!(cfg.server.admin_token.as_deref(), Some("s3cret"));
}

#[test]
fn overrides_apply_after_the_file() {
    let o = vec![
        ("server.tlib-listen".to_string(), "0.0.0.0:7100".to_string()),
        ("TServer.wrap-up-time".to_string(), "untimed".to_string()),
    ];
    let cfg = load(BASE, "test", &o).unwrap();
    assert_eq!(cfg.server.tlib_listen.to_string(), "0.0.0.0:7100");
    assert_eq!(cfg.tserver.wrap_up_time, WrapUpTime::Untimed);
    let vars = vec![
        ("SFB_TSERVER_SERVER__TLIB_LISTEN".to_string(), "0.0.0.0:7000".to_string()),
        ("SFB_TSERVER_TSERVER__NO_ANSWER_TIMEOUT".to_string(), "10s".to_string()),
        ("SFB_TSERVER_OTHER__X".to_string(), "1".to_string()),
        ("PATH".to_string(), "/bin".to_string()),
    ];
    assert_eq!(
        overrides_from(vars.into_iter()),
        [
            ("TServer.no-answer-timeout".to_string(), "10s".to_string()),
            ("server.tlib-listen".to_string(), "0.0.0.0:7000".to_string())
        ]
    );
}

#[test]
fn render_shows_the_resolved_model() {
    let text = render(&embedded_default());
    for needle in [
        "tlib-listen=127.0.0.1:7000",
        "link-1-name = connector1  tcp://127.0.0.1:9001  pool=default",
        "sip:conf01@skype.lab .. sip:conf10@skype.lab",
        "  Extension (22): no-answer-timeout=0s no-answer-action=none wrap-up-time=0s",
        "  Routing Point (2): router-timeout=10s default-dn=-",
        "    sip:erp1@skype.lab  pool=default association=+14155551212\n",
        "service-type=presence-profile",
        "calling-method-dialplan = sip:dialplan@skype.lab [Application]",
        "Agent Logins (22)",
        "Summary: 1 link(s), 1 pool(s) (default), 0 folder(s), 29 DN(s)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}
