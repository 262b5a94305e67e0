//! Push mode (guide: "Push Presence Mode"): the `aggregated-states` option (the 15 Genesys
//! agent x device states -> aggregated state IDs), the `agent-presence-map` XML file (aggregated
//! state ID -> SfB availability and activity per LCID), and what to publish for an agent/device
//! state. Parsing is pure (the file is read by the caller); nothing here sends anything.

use super::PresenceError;
use std::collections::BTreeMap;

/// The agent half of the guide's 15-state table, in the table's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgentPresenceState {
    Logout,
    Ready,
    NotReady,
    Acw,
    WalkAway,
}

/// The T-Server device half of the 15-state table, in the table's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DevicePresenceState {
    Idle,
    Busy,
    /// Out of service.
    Oos,
}

/// The row number (1..=15) of the guide's table for an agent and device state.
pub fn table_row(agent: AgentPresenceState, device: DevicePresenceState) -> u8 {
    let a = match agent {
        AgentPresenceState::Logout => 0,
        AgentPresenceState::Ready => 1,
        AgentPresenceState::NotReady => 2,
        AgentPresenceState::Acw => 3,
        AgentPresenceState::WalkAway => 4,
    };
    let d = match device {
        DevicePresenceState::Idle => 0,
        DevicePresenceState::Busy => 1,
        DevicePresenceState::Oos => 2,
    };
    d * 5 + a + 1
}

/// `aggregated-states`: row of the 15-state table -> aggregated state ID. A row not listed
/// publishes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AggregatedStates(pub BTreeMap<u8, String>);

impl AggregatedStates {
    /// Parses `1=IDLE_OUT, 2=IDLE_READY, ...` (the guide's example ends with a full stop, which
    /// is tolerated).
    pub fn parse(text: &str) -> Result<AggregatedStates, String> {
        let mut out = BTreeMap::new();
        let text = text.trim().trim_end_matches('.');
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (n, id) = part.split_once('=').ok_or_else(|| format!("{part:?} is not <row>=<state ID>"))?;
            let n: u8 = n
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=15).contains(n))
                .ok_or_else(|| format!("{:?} is not a row of the 15-state table (1 to 15)", n.trim()))?;
            let id = id.trim();
            if id.is_empty() {
                return Err(format!("row {n} has no state ID"));
            }
            if out.insert(n, id.to_string()).is_some() {
                return Err(format!("row {n} is given twice"));
            }
        }
        if out.is_empty() {
            return Err("no <row>=<state ID> pair".into());
        }
        Ok(AggregatedStates(out))
    }

    pub fn state_of(&self, agent: AgentPresenceState, device: DevicePresenceState) -> Option<&str> {
        self.0.get(&table_row(agent, device)).map(String::as_str)
    }
}

/// One `<agentState>` of the XML file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentStateEntry {
    pub availability: u32,
    /// `<activity LCID="...">text</activity>` in file order (text trimmed).
    pub activities: Vec<(u32, String)>,
}

/// The LCID used when the agent's locale is not known (en-US, the guide's examples).
pub const DEFAULT_LCID: u32 = 1033;

/// What is published to SfB (PUBLISH_PRESENCE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publication {
    pub availability: u32,
    pub activity: Option<String>,
}

/// A validated push-mode profile: the aggregated states and the XML map, every aggregated state
/// present in the map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushMap {
    pub aggregated: AggregatedStates,
    pub states: BTreeMap<String, AgentStateEntry>,
}

const NAMESPACE: &str = "http://schemas.genesys.com/09/2014/mslyncteserver/agentStates";

/// Parses the `agent-presence-map` XML text: `<agentStates>` holding `<agentState ID=..
/// availability=..>` elements with `<activity LCID=..>` children.
pub fn parse_agent_states(xml: &str) -> Result<BTreeMap<String, AgentStateEntry>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("malformed XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "agentStates" {
        return Err(format!("the root element is <{}>, expected <agentStates>", root.tag_name().name()));
    }
    if let Some(ns) = root.tag_name().namespace().filter(|ns| *ns != NAMESPACE) {
        return Err(format!("<agentStates> is in namespace {ns:?}, expected {NAMESPACE:?}"));
    }
    let mut out = BTreeMap::new();
    for el in root.children().filter(|n| n.is_element()) {
        if el.tag_name().name() != "agentState" {
            return Err(format!("unexpected element <{}> in <agentStates>", el.tag_name().name()));
        }
        let id = el.attribute("ID").map(str::trim).filter(|s| !s.is_empty());
        let id = id.ok_or("an <agentState> has no ID attribute")?;
        let availability = el
            .attribute("availability")
            .and_then(|a| a.trim().parse::<u32>().ok())
            .filter(|a| *a <= 18000)
            .ok_or_else(|| format!("<agentState ID={id:?}> needs availability from 0 to 18000"))?;
        let mut activities = Vec::new();
        for a in el.children().filter(|n| n.is_element()) {
            if a.tag_name().name() != "activity" {
                return Err(format!("unexpected element <{}> in <agentState ID={id:?}>", a.tag_name().name()));
            }
            let lcid = a
                .attribute("LCID")
                .and_then(|l| l.trim().parse::<u32>().ok())
                .ok_or_else(|| format!("an <activity> of <agentState ID={id:?}> has no numeric LCID"))?;
            activities.push((lcid, a.text().unwrap_or_default().trim().to_string()));
        }
        if out.insert(id.to_string(), AgentStateEntry { availability, activities }).is_some() {
            return Err(format!("<agentState ID={id:?}> is given twice"));
        }
    }
    Ok(out)
}

impl PushMap {
    /// Validates the XML text against the aggregated states: every aggregated state must have
    /// an `<agentState>` (guide: "an entry for each of the aggregated states").
    pub fn new(aggregated: AggregatedStates, xml: &str) -> Result<PushMap, PresenceError> {
        let states = parse_agent_states(xml).map_err(PresenceError::Map)?;
        let mut missing: Vec<&str> =
            aggregated.0.values().map(String::as_str).filter(|id| !states.contains_key(*id)).collect();
        missing.dedup();
        if !missing.is_empty() {
            return Err(PresenceError::MissingStates(missing.join(", ")));
        }
        Ok(PushMap { aggregated, states })
    }

    /// What to publish for the agent and device state, with the activity text of `lcid` (else
    /// the first activity of the entry); None when the state's row is not aggregated.
    pub fn publication(
        &self,
        agent: AgentPresenceState,
        device: DevicePresenceState,
        lcid: u32,
    ) -> Option<Publication> {
        let entry = self.states.get(self.aggregated.state_of(agent, device)?)?;
        let activity = entry.activities.iter().find(|(l, _)| *l == lcid).or(entry.activities.first());
        Some(Publication { availability: entry.availability, activity: activity.map(|(_, t)| t.clone()) })
    }
}

#[cfg(test)]
#[path = "push_tests.rs"]
pub(crate) mod tests;
