//! Versioned snapshot types. Every snapshot is tagged with its version (`{"version": "V1", ...}`)
//! and golden fixtures of each version live in tests/fixtures/snapshots/, never deleted when a
//! new version arrives: a new version adds a variant and an upgrade path, it never edits an old one.
//! Snapshots are stored as JSON: self-describing, so the version tag works and an operator can read
//! `GET /tree/{name}` and the store with ordinary tools.

use crate::agent::{AgentMachine, AgentSettings, LoginSession};
use crate::model::{AgentId, AgentStatus, AgentWorkMode, ConnId, DnName, KvList};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot is not valid JSON for any known version: {0}")]
    Decode(#[from] serde_json::Error),
}

/// Anything kept in the snapshot table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Snapshot {
    Dn(DnSnapshot),
    /// A Connector's HA call data (guide: "UCMA HA Data Storage").
    ConnectorCalls(ConnectorCallsSnapshot),
    /// One HA record a Connector mirrored to the T-Server (guide: "Synchronization of HA data
    /// between UCMA Connector and T-Server"), given back with HA_RESTORE when it reconnects.
    HaRecord(HaRecordSnapshot),
    /// One call of the call model (versioned by `crate::callmodel::CallSnapshot`): the layout
    /// before call families. Still decoded so such a store loads, but its calls are not restored.
    Call(crate::callmodel::CallSnapshot),
    /// One call family's table: a call with its consultation and escalation calls, and the
    /// switch requests in flight (versioned by `crate::callmodel::TableSnapshot`).
    Calls(crate::callmodel::TableSnapshot),
    /// A DN's agent machine while an agent is logged in on it: its AgentSession actor's state.
    AgentSession(AgentSessionSnapshot),
}

impl Snapshot {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("snapshot types always serialize")
    }
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnapshotError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

/// State of one DN that must survive an actor restart and a process restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "version")]
// V1 is only read (and upgraded) at start-up; V2 is what every write stores, and boxing it would
// add an allocation to each of them.
#[allow(clippy::large_enum_variant)]
pub enum DnSnapshot {
    V1(DnSnapshotV1),
    V2(DnSnapshotV2),
}

impl DnSnapshot {
    /// The current version, upgrading older ones. A V1 snapshot kept only what clients see of
    /// the agent: its machine is rebuilt with `dn_settings` and the agent's options from
    /// `login_settings`, without calls or deadlines (an ACW comes back untimed; the actor arms
    /// what the state needs with `AgentMachine::refresh_timers`).
    pub fn current(
        &self,
        dn_settings: &AgentSettings,
        login_settings: impl FnOnce(&AgentId) -> AgentSettings,
    ) -> DnSnapshotV2 {
        match self {
            DnSnapshot::V2(v) => v.clone(),
            DnSnapshot::V1(v) => {
                let machine = match v.agent_session() {
                    Some(agent) => {
                        let session = LoginSession::from_agent_session(&agent, login_settings(&agent.agent_id), 0, 0);
                        AgentMachine::with_agent_session(v.dn.clone(), dn_settings.clone(), session)
                    }
                    None => AgentMachine::new(v.dn.clone(), dn_settings.clone()),
                };
                DnSnapshotV2 {
                    dn: v.dn.clone(),
                    machine,
                    logout_on_disconnect: Vec::new(),
                    dnd: false,
                    revision: v.revision,
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct DnSnapshotV1 {
    pub dn: DnName,
    /// Agent logged in on this DN (emulated agent), if any.
    pub agent_id: Option<AgentId>,
    pub agent_status: Option<AgentStatus>,
    pub agent_work_mode: Option<AgentWorkMode>,
    pub reasons: KvList,
    /// Calls the DN is a party of, in arrival order.
    pub calls: Vec<ConnId>,
    /// Incremented on every change; lets tests and the admin endpoint see progress.
    pub revision: u64,
}

impl DnSnapshotV1 {
    /// The agent as V1 recorded it, when one was logged in.
    pub fn agent_session(&self) -> Option<crate::agent::AgentSession> {
        match (&self.agent_id, self.agent_status, self.agent_work_mode) {
            (Some(agent_id), Some(status), Some(work_mode)) => Some(crate::agent::AgentSession {
                agent_id: agent_id.clone(),
                status,
                work_mode,
                reasons: self.reasons.clone(),
            }),
            _ => None,
        }
    }
}

/// V2: the whole agent machine of the DN (agent, ACW and legal-guard periods with their
/// deadlines, the calls it follows, the armed timers), so a restarted Dn actor carries on exactly
/// where it was and re-arms its timers (`AgentMachine::rearm`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DnSnapshotV2 {
    pub dn: DnName,
    pub machine: AgentMachine,
    /// The LogoutOnDisconnect extension each registered client gave in its TRegisterAddress
    /// (client id, value), for the logout when that client leaves. A list, not a map: integer map
    /// keys do not survive the `kind` tag of [`Snapshot`].
    #[serde(default)]
    pub logout_on_disconnect: Vec<(u64, bool)>,
    /// Presence pull mode: the DN's DND state, so a restarted actor reports only real changes.
    #[serde(default)]
    pub dnd: bool,
    /// Incremented on every change; lets tests and the admin endpoint see progress.
    pub revision: u64,
}

/// The agent machine of a DN with a logged-in agent, owned by the agent's AgentSession actor
/// (the Dn's own snapshot then keeps the machine as it was when the session began).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "version")]
pub enum AgentSessionSnapshot {
    V1 {
        dn: DnName,
        machine: AgentMachine,
        revision: u64,
        /// Which login of the DN this session serves (chosen by the Dn): what a session says is
        /// only taken from the session of the current login.
        #[serde(default)]
        epoch: u64,
        /// The number of the last input from the Dn carried out: a repeated one is not run twice.
        #[serde(default)]
        applied: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "version")]
pub enum HaRecordSnapshot {
    /// `record_kind`, not `kind`: the enclosing [`Snapshot`] is tagged with `kind`.
    V1 { link: String, call: u64, record_kind: String, data: String },
}

/// The HA call data one Connector keeps so its AV (and IM) calls survive its restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "version")]
pub enum ConnectorCallsSnapshot {
    V1(ConnectorCallsV1),
}

impl ConnectorCallsSnapshot {
    pub fn current(&self) -> ConnectorCallsV1 {
        match self {
            ConnectorCallsSnapshot::V1(v) => v.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ConnectorCallsV1 {
    pub connector: String,
    /// The simulated SfB's call records (their own schema is versioned by src/sim).
    pub calls: Vec<JsonRecord>,
}

/// A JSON value held as its compact text and written verbatim: a Connector keeps one HA record
/// per call in progress, and as a `serde_json::Value` tree each took ~2.7 KiB and a deep copy per
/// write (its text is ~600 bytes, shared here). What is stored is that JSON, as a `Value` would be.
#[derive(Clone, Debug)]
pub struct JsonRecord(Arc<RawValue>);

impl JsonRecord {
    /// Serialises `value` once, to the text held from then on.
    pub fn new(value: &impl Serialize) -> serde_json::Result<JsonRecord> {
        Ok(JsonRecord(Arc::from(serde_json::value::to_raw_value(value)?)))
    }

    /// The compact JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for JsonRecord {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Serialize for JsonRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Read through a `Value`: the enclosing enums are internally tagged, which buffers their content
/// (a `RawValue` cannot be read from that buffer). Only start-up reads these.
impl<'de> Deserialize<'de> for JsonRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        JsonRecord::new(&serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_snapshot_is_version_tagged_and_round_trips() {
        let s = Snapshot::Dn(DnSnapshot::V1(DnSnapshotV1 {
            dn: DnName::new("sip:agent01@skype.lab"),
            agent_id: Some(AgentId::new("1001")),
            agent_status: Some(AgentStatus::Ready),
            agent_work_mode: Some(AgentWorkMode::ManualIn),
            reasons: KvList::new(),
            calls: vec![ConnId(0x10)],
            revision: 3,
        }));
        let json = String::from_utf8(s.to_bytes()).unwrap();
        assert!(json.contains("\"version\":\"V1\""), "{json}");
        assert!(json.contains("\"kind\":\"Dn\""), "{json}");
        assert_eq!(Snapshot::from_bytes(json.as_bytes()).unwrap(), s);
    }

    #[test]
    fn every_snapshot_variant_round_trips() {
        let ha = Snapshot::HaRecord(HaRecordSnapshot::V1 {
            link: "connector1".into(),
            call: 7,
            record_kind: "call".into(),
            data: "{}".into(),
        });
        let conn = Snapshot::ConnectorCalls(ConnectorCallsSnapshot::V1(ConnectorCallsV1 {
            connector: "c1".into(),
            calls: vec![JsonRecord::new(&serde_json::json!({"call": 1, "parties": ["a", "b"]})).unwrap()],
        }));
        for s in [ha, conn.clone()] {
            assert_eq!(Snapshot::from_bytes(&s.to_bytes()).unwrap(), s);
        }
        // A record is written as the JSON it holds, as when the records were `Value`s.
        let json = String::from_utf8(conn.to_bytes()).unwrap();
        assert!(json.contains(r#""calls":[{"call":1,"parties":["a","b"]}]"#), "{json}");
        let golden = include_str!("../../tests/fixtures/snapshots/ha_record_v1.json");
        assert!(matches!(Snapshot::from_bytes(golden.as_bytes()).unwrap(), Snapshot::HaRecord(_)));
    }

    #[test]
    fn golden_v1_fixture_still_decodes() {
        let golden = include_str!("../../tests/fixtures/snapshots/dn_v1.json");
        let Snapshot::Dn(DnSnapshot::V1(v)) = Snapshot::from_bytes(golden.as_bytes()).unwrap() else {
            panic!("a Dn V1 snapshot")
        };
        assert_eq!(v.dn.as_str(), "sip:agent01@skype.lab");
        assert_eq!(v.agent_status, Some(AgentStatus::NotReady));
        assert_eq!(v.calls, vec![ConnId(0x006c02462a161006)]);
    }

    #[test]
    fn a_v1_snapshot_upgrades_to_a_machine_with_the_same_agent() {
        let golden = include_str!("../../tests/fixtures/snapshots/dn_v1.json");
        let Snapshot::Dn(dn) = Snapshot::from_bytes(golden.as_bytes()).unwrap() else { panic!("a Dn snapshot") };
        let login = AgentSettings { wrap_up: crate::agent::WrapUp::Timed(5_000), ..AgentSettings::default() };
        let v2 = dn.current(&AgentSettings::default(), |a| {
            assert_eq!(a.as_str(), "1001");
            login.clone()
        });
        assert_eq!(v2.revision, 7);
        let agent = v2.machine.agent_session().expect("the agent is back");
        assert_eq!(
            (agent.agent_id.as_str(), agent.status, agent.work_mode),
            ("1001", AgentStatus::NotReady, AgentWorkMode::AuxWork)
        );
        assert_eq!(agent.reasons.get_str("ReasonCode"), Some("Lunch"));
        assert_eq!(v2.machine.session().unwrap().settings, login, "the agent's options are resolved again");
        assert!(v2.machine.armed().is_empty(), "V1 kept no deadline");
        let empty = DnSnapshot::V1(DnSnapshotV1 { dn: DnName::new("x"), ..Default::default() });
        assert!(empty.current(&AgentSettings::default(), |_| unreachable!()).machine.session().is_none());
    }

    #[test]
    fn golden_v2_fixture_decodes_with_its_machine() {
        let golden = include_str!("../../tests/fixtures/snapshots/dn_v2.json");
        let Snapshot::Dn(DnSnapshot::V2(v)) = Snapshot::from_bytes(golden.as_bytes()).unwrap() else {
            panic!("a Dn V2 snapshot")
        };
        assert_eq!(v.dn.as_str(), "sip:agent01@skype.lab");
        let s = v.machine.session().expect("an agent");
        assert_eq!(s.agent_id.as_str(), "1001");
        assert!(matches!(
            s.state,
            crate::agent::AgentState::AfterCallWork {
                period: crate::agent::AcwPeriod::Timed { until_ms: 1_700_000_060_000 },
                ..
            }
        ));
        assert_eq!(v.machine.armed().len(), 1, "the ACW end is armed");
        assert_eq!(v.machine.rearm(1_700_000_050_000).len(), 1);
        assert_eq!(v.logout_on_disconnect, vec![(3, true)]);
        // Round trip: what the actor writes reads back the same.
        let again = Snapshot::Dn(DnSnapshot::V2(v.clone()));
        assert_eq!(Snapshot::from_bytes(&again.to_bytes()).unwrap(), again);
    }

    #[test]
    fn golden_agent_session_fixture_decodes_with_its_machine() {
        let golden = include_str!("../../tests/fixtures/snapshots/agent_session_v1.json");
        let snap = Snapshot::from_bytes(golden.as_bytes()).unwrap();
        let Snapshot::AgentSession(AgentSessionSnapshot::V1 { dn, machine, revision, .. }) = &snap else {
            panic!("an AgentSession V1 snapshot")
        };
        assert_eq!((dn.as_str(), *revision), ("sip:agent01@skype.lab", 12));
        assert_eq!(machine.session().expect("an agent").agent_id.as_str(), "1001");
        assert_eq!(machine.rearm(1_700_000_050_000).len(), 1, "its ACW end is armed again");
        assert_eq!(Snapshot::from_bytes(&snap.to_bytes()).unwrap(), snap);
    }
}
