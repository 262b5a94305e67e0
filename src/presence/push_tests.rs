use super::*;

/// The guide's final XML file (Push Presence Mode), verbatim apart from indentation.
pub(crate) const GUIDE_XML: &str = r#"<?xml version="1.0"?>
<agentStates xmlns="http://schemas.genesys.com/09/2014/mslyncteserver/agentStates">
  <agentState ID="IDLE_OUT" availability="18000">
    <activity LCID="1033">Logged out</activity>
  </agentState>
  <agentState ID="IDLE_READY" availability="3501">
    <activity LCID="1033"> I am available </activity>
  </agentState>
  <agentState ID="IDLE_NOTREADY" availability="6001">
    <activity LCID="1033"> I am not available </activity>
  </agentState>
  <agentState ID="IDLE_ACW" availability="6001">
    <activity LCID="1033">I am in After Call Work, do not disturb me</activity>
  </agentState>
  <agentState ID="IDLE_AWAY" availability="4501">
    <activity LCID="1033">I am away from my desk</activity>
  </agentState>
  <agentState ID="INCALL" availability="7001">
    <activity LCID="1033">Working with customer, do not disturb</activity>
    <activity LCID="3082">Estoy trabajando con los clientes, no molestar</activity>
    <activity LCID="1049">Работа с клиентом, не беспокоить</activity>
    <activity LCID="1036">En travaillant avec les clients, ne pas déranger</activity>
  </agentState>
  <agentState ID="OOS" availability="18000">
    <activity LCID="1033">The device is out of service</activity>
  </agentState>
</agentStates>"#;

/// The guide's `aggregated-states` example with its "00S" (zero zero S) typo corrected to the
/// XML file's "OOS".
pub(crate) const GUIDE_STATES: &str = "1=IDLE_OUT, 2=IDLE_READY, 3=IDLE_NOTREADY, 4=IDLE_ACW, 5=IDLE_AWAY, 6=INCALL, \
    7=INCALL, 8=INCALL, 9=INCALL,10=INCALL,11=OOS, 12=OOS, 13=OOS, 14=OOS, 15=OOS.";

use AgentPresenceState as A;
use DevicePresenceState as D;

#[test]
fn the_15_state_table_rows() {
    let agents = [A::Logout, A::Ready, A::NotReady, A::Acw, A::WalkAway];
    let devices = [D::Idle, D::Busy, D::Oos];
    let mut rows: Vec<u8> = devices.iter().flat_map(|d| agents.iter().map(move |a| table_row(*a, *d))).collect();
    assert_eq!(rows, (1..=15).collect::<Vec<u8>>());
    rows.dedup();
    assert_eq!(table_row(A::Acw, D::Idle), 4);
    assert_eq!(table_row(A::Logout, D::Busy), 6);
    assert_eq!(table_row(A::WalkAway, D::Oos), 15);
}

#[test]
fn the_guide_example_maps_every_one_of_the_15_states() {
    let map = PushMap::new(AggregatedStates::parse(GUIDE_STATES).unwrap(), GUIDE_XML).unwrap();
    let expected = [
        (A::Logout, D::Idle, 18000, "Logged out"),
        (A::Ready, D::Idle, 3501, "I am available"),
        (A::NotReady, D::Idle, 6001, "I am not available"),
        (A::Acw, D::Idle, 6001, "I am in After Call Work, do not disturb me"),
        (A::WalkAway, D::Idle, 4501, "I am away from my desk"),
    ];
    for (a, d, availability, activity) in expected {
        let p = map.publication(a, d, DEFAULT_LCID).unwrap();
        assert_eq!(p, Publication { availability, activity: Some(activity.into()) }, "{a:?} {d:?}");
    }
    for a in [A::Logout, A::Ready, A::NotReady, A::Acw, A::WalkAway] {
        assert_eq!(map.publication(a, D::Busy, DEFAULT_LCID).unwrap().availability, 7001);
        let oos = map.publication(a, D::Oos, DEFAULT_LCID).unwrap();
        assert_eq!(oos.activity.as_deref(), Some("The device is out of service"));
    }
}

#[test]
fn activity_follows_the_lcid_else_the_first_one() {
    let map = PushMap::new(AggregatedStates::parse(GUIDE_STATES).unwrap(), GUIDE_XML).unwrap();
    let es = map.publication(A::Ready, D::Busy, 3082).unwrap();
    assert_eq!(es.activity.as_deref(), Some("Estoy trabajando con los clientes, no molestar"));
    let ru = map.publication(A::Ready, D::Busy, 1049).unwrap();
    assert_eq!(ru.activity.as_deref(), Some("Работа с клиентом, не беспокоить"));
    let other = map.publication(A::Ready, D::Busy, 1041).unwrap();
    assert_eq!(other.activity.as_deref(), Some("Working with customer, do not disturb"));
}

#[test]
fn the_guide_example_with_its_00s_typo_is_refused() {
    let typo = GUIDE_STATES.replace("OOS", "00S");
    let e = PushMap::new(AggregatedStates::parse(&typo).unwrap(), GUIDE_XML).unwrap_err();
    assert_eq!(e, PresenceError::MissingStates("00S".into()));
}

#[test]
fn rows_not_aggregated_publish_nothing() {
    let map = PushMap::new(AggregatedStates::parse("2=IDLE_READY").unwrap(), GUIDE_XML).unwrap();
    assert!(map.publication(A::Ready, D::Idle, DEFAULT_LCID).is_some());
    assert_eq!(map.publication(A::NotReady, D::Idle, DEFAULT_LCID), None);
}

#[test]
fn bad_aggregated_states_are_refused() {
    for bad in ["", "1", "0=A", "16=A", "x=A", "1=", "1=A,1=B"] {
        assert!(AggregatedStates::parse(bad).is_err(), "{bad:?}");
    }
    let s = AggregatedStates::parse(" 1 = A , 15=B. ").unwrap();
    assert_eq!(s.state_of(A::Logout, D::Idle), Some("A"));
    assert_eq!(s.state_of(A::WalkAway, D::Oos), Some("B"));
}

#[test]
fn malformed_or_wrong_xml_is_refused_with_a_reason() {
    let cases = [
        ("<agentStates><agentState", "malformed XML"),
        ("<states/>", "expected <agentStates>"),
        (r#"<agentStates xmlns="urn:other"/>"#, "namespace"),
        (r#"<agentStates><foo/></agentStates>"#, "unexpected element <foo>"),
        (r#"<agentStates><agentState availability="1"/></agentStates>"#, "no ID"),
        (r#"<agentStates><agentState ID="A" availability="18001"/></agentStates>"#, "0 to 18000"),
        (r#"<agentStates><agentState ID="A" availability="x"/></agentStates>"#, "0 to 18000"),
        (
            r#"<agentStates><agentState ID="A" availability="1"><activity>t</activity></agentState></agentStates>"#,
            "LCID",
        ),
        (
            r#"<agentStates><agentState ID="A" availability="1"/><agentState ID="A" availability="2"/></agentStates>"#,
            "twice",
        ),
    ];
    for (xml, why) in cases {
        let e = parse_agent_states(xml).unwrap_err();
        assert!(e.contains(why), "{xml}: {e}");
    }
    // Without the namespace (or an activity) the file is still usable.
    let ok = parse_agent_states(r#"<agentStates><agentState ID="A" availability="3000"/></agentStates>"#).unwrap();
    assert_eq!(ok["A"], AgentStateEntry { availability: 3000, activities: vec![] });
}
