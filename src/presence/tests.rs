use super::*;
use crate::config::load_str;

const CFG: &str = r#"
    [TServer]
    link-1-name = "c1"
    presence-profile = "sip:app@skype.lab"
    default-availability-range = "3000-4499"
    [c1]
    hostname = "127.0.0.1"
    port = 9001
    protocol = "tcp"
    [[dn]]
    number = "sip:app@skype.lab"
    type = "Voice over IP Service"
    annex = { TServer = { service-type = "presence-profile", map-presence-to-dnd = true, presence-availability-range = "3000-5999,7500" } }
    [[dn]]
    number = "sip:dnlevel@skype.lab"
    type = "Voice over IP Service"
    annex = { TServer = { service-type = "presence-profile", map-presence-to-dnd = true } }
    [[dn]]
    number = "sip:login@skype.lab"
    type = "Voice over IP Service"
    annex = { TServer = { service-type = "presence-profile" } }
    [[dn]]
    number = "sip:agent01@skype.lab"
    type = "Extension"
    [[dn]]
    number = "sip:agent02@skype.lab"
    type = "Extension"
    annex = { TServer = { presence-profile = "sip:dnlevel@skype.lab" } }
"#;

fn dn(s: &str) -> DnName {
    DnName::new(s)
}

#[test]
fn login_extension_beats_dn_beats_application() {
    let cfg = load_str(CFG).unwrap();
    let (a1, a2) = (dn("sip:agent01@skype.lab"), dn("sip:agent02@skype.lab"));
    assert_eq!(profile_name(&cfg, &a1, None, None), Some((dn("sip:app@skype.lab"), Level::Application)));
    assert_eq!(profile_name(&cfg, &a2, None, None), Some((dn("sip:dnlevel@skype.lab"), Level::Dn)));
    let ext = KvList::new().with("presence-profile", "sip:login@skype.lab");
    assert_eq!(profile_name(&cfg, &a2, None, Some(&ext)), Some((dn("sip:login@skype.lab"), Level::Extensions)));
    // The guide's table spells the key Presence-profile too.
    let ext = KvList::new().with("Presence-profile", "sip:login@skype.lab");
    assert_eq!(profile_name(&cfg, &a1, None, Some(&ext)).unwrap().1, Level::Extensions);
}

#[test]
fn mode_follows_the_profile_and_direct_call_handling() {
    let cfg = load_str(CFG).unwrap();
    let ranges = |s: &str| crate::config::values::parse_ranges(s, 18000).unwrap();
    let app = dn("sip:app@skype.lab");
    assert_eq!(mode(&cfg, Some(&app), true), PresenceMode::Pull(ranges("3000-5999,7500")));
    // No map-presence-to-dnd and no map: nothing to do while direct calls are handled...
    let login = dn("sip:login@skype.lab");
    assert_eq!(mode(&cfg, Some(&login), true), PresenceMode::Off);
    assert_eq!(mode(&cfg, None, true), PresenceMode::Off);
    // ...and with direct-call handling off, presence maps to DND with the profile's range, else
    // default-availability-range.
    assert_eq!(mode(&cfg, Some(&login), false), PresenceMode::Pull(ranges("3000-6000")));
    assert_eq!(mode(&cfg, None, false), PresenceMode::Pull(ranges("3000-4499")));
}

#[test]
fn push_is_disabled_where_direct_calls_are_not_handled() {
    let mut cfg = load_str(CFG).unwrap();
    let map = push::PushMap::new(AggregatedStates::parse(push::tests::GUIDE_STATES).unwrap(), push::tests::GUIDE_XML)
        .unwrap();
    let login = dn("sip:login@skype.lab");
    cfg.presence_profiles.get_mut(&login).unwrap().push = Some(Arc::new(map));
    assert!(matches!(mode(&cfg, Some(&login), true), PresenceMode::Push(_)));
    assert!(matches!(mode(&cfg, Some(&login), false), PresenceMode::Pull(_)));
}

#[test]
fn pull_reports_dnd_only_on_change() {
    let ranges = crate::config::values::parse_ranges("3000-5999", 18000).unwrap();
    let mut t = DndTracker::default();
    let local = PresenceType::Local;
    assert_eq!(t.on_presence(&ranges, 3000, local), None, "a DN starts with DND off");
    assert_eq!(t.on_presence(&ranges, 6000, local), Some(true), "Busy");
    assert_eq!(t.on_presence(&ranges, 9000, local), None, "Do Not Disturb: still on");
    assert_eq!(t.on_presence(&ranges, 4500, local), Some(false), "IdleOnline is available");
    assert_eq!(t.on_presence(&ranges, 18000, local), Some(true), "Offline");
    assert_eq!(t.on_presence(&ranges, 5999, local), Some(false));
    assert_eq!(t.on_presence(&ranges, 0, local), Some(true), "None is not available");
}

#[test]
fn federated_presence_has_five_states() {
    let mut seen: Vec<u32> = (0..=18000).step_by(100).map(federated_availability).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, [3000, 6000, 9000, 15000, 18000]);
    // A remote 4500 (IdleOnline) is Away for a federated user: DND on with 3000-5999.
    let ranges = crate::config::values::parse_ranges("3000-5999", 18000).unwrap();
    let mut t = DndTracker::default();
    assert_eq!(t.on_presence(&ranges, 4500, PresenceType::Remote), Some(true));
    assert_eq!(t.on_presence(&ranges, 3100, PresenceType::Remote), Some(false));
}

#[test]
fn agent_states_of_the_table() {
    use AgentPresenceState as A;
    assert_eq!(agent_state(None, None), A::Logout);
    assert_eq!(agent_state(Some(AgentStatus::LoggedOut), None), A::Logout);
    assert_eq!(agent_state(Some(AgentStatus::Ready), Some(AgentWorkMode::ManualIn)), A::Ready);
    assert_eq!(agent_state(Some(AgentStatus::NotReady), Some(AgentWorkMode::AuxWork)), A::NotReady);
    assert_eq!(agent_state(Some(AgentStatus::NotReady), Some(AgentWorkMode::AfterCallWork)), A::Acw);
    assert_eq!(agent_state(Some(AgentStatus::AfterCallWork), None), A::Acw);
    assert_eq!(agent_state(Some(AgentStatus::NotReady), Some(AgentWorkMode::WalkAway)), A::WalkAway);
}

#[test]
fn push_publishes_changes_only_and_never_for_federated_users() {
    use AgentPresenceState as A;
    use DevicePresenceState as D;
    let map = push::PushMap::new(AggregatedStates::parse(push::tests::GUIDE_STATES).unwrap(), push::tests::GUIDE_XML)
        .unwrap();
    let mut t = PushTracker::default();
    let local = Some(PresenceType::Local);
    assert_eq!(t.decide(&map, A::Ready, D::Idle, local).unwrap().availability, 3501);
    assert_eq!(t.decide(&map, A::Ready, D::Idle, local), Err(NoPublish::Unchanged));
    assert_eq!(t.decide(&map, A::Ready, D::Busy, None).unwrap().availability, 7001);
    assert_eq!(t.decide(&map, A::NotReady, D::Busy, local), Err(NoPublish::Unchanged), "still INCALL");
    assert_eq!(t.decide(&map, A::Acw, D::Idle, Some(PresenceType::Remote)), Err(NoPublish::Federated));
    let partial = push::PushMap::new(AggregatedStates::parse("2=IDLE_READY").unwrap(), push::tests::GUIDE_XML).unwrap();
    assert_eq!(PushTracker::default().decide(&partial, A::Acw, D::Idle, local), Err(NoPublish::NotAggregated));
}
