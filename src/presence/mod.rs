//! Presence (guide: "Presence", "Presence Processing", Office 365 "Limitations"): which presence
//! profile applies to a DN and its agent, and what follows from it — pull mode (SfB availability
//! -> DND on/off, reported only on change) or push mode (agent and device state -> the
//! availability and activity published to SfB). Pure: no I/O, no clock, no messaging. The XML
//! file is read by the configuration loader, the decisions are carried out by the DN's actor.

pub mod push;

pub use push::{AgentPresenceState, AggregatedStates, DevicePresenceState, Publication, PushMap, DEFAULT_LCID};

use crate::config::{AvailabilityRanges, Level, OptionContext, ServerConfig};
use crate::mltp::PresenceType;
use crate::model::{AgentId, AgentStatus, AgentWorkMode, DnName, KvList};
use std::sync::Arc;

/// Why a presence profile cannot be used (start is refused with the option named).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    #[error("{0}")]
    Map(String),
    #[error("aggregated state(s) {0} of aggregated-states have no <agentState> in the file")]
    MissingStates(String),
}

/// A Voice over IP Service DN with `service-type = presence-profile`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceProfile {
    pub dn: DnName,
    /// `map-presence-to-dnd`: pull mode; the push map is then ignored (guide: "incompatible").
    pub map_to_dnd: bool,
    /// `presence-availability-range`: availabilities counted as available (DND off).
    pub availability_range: AvailabilityRanges,
    /// `agent-presence-map` with `aggregated-states`, when set and `map-presence-to-dnd` is off.
    pub push: Option<Arc<PushMap>>,
}

/// What presence does for a DN now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PresenceMode {
    Off,
    /// SfB availability -> DND: availability in these ranges is DND off, anything else DND on.
    Pull(AvailabilityRanges),
    Push(Arc<PushMap>),
}

/// The presence profile name for a DN and its agent: the login's `presence-profile` extension,
/// then the Agent Login, DN, folder, Switch and Application levels.
pub fn profile_name(
    cfg: &ServerConfig,
    dn: &DnName,
    agent: Option<&AgentId>,
    login_extensions: Option<&KvList>,
) -> Option<(DnName, Level)> {
    let mut ctx = OptionContext::for_dn(dn);
    ctx.agent = agent;
    ctx.extensions = login_extensions;
    cfg.resolve_str("TServer", "presence-profile", &ctx).map(|(name, level)| (DnName::new(name.as_ref()), level))
}

/// The mode for a DN (guide: "Presence Processing"): where direct-call handling is off, presence
/// maps to DND with the profile's range, else `default-availability-range`, and pushing is
/// disabled; otherwise the profile decides (pull if `map-presence-to-dnd`, else push if it has a
/// map), and no profile means no presence processing.
pub fn mode(cfg: &ServerConfig, profile: Option<&DnName>, direct_calls_handled: bool) -> PresenceMode {
    let profile = profile.and_then(|p| cfg.presence_profiles.get(p));
    if !direct_calls_handled {
        let ranges = profile.map_or(&cfg.tserver.default_availability_range, |p| &p.availability_range);
        return PresenceMode::Pull(ranges.clone());
    }
    match profile {
        Some(p) if p.map_to_dnd => PresenceMode::Pull(p.availability_range.clone()),
        Some(PresenceProfile { push: Some(map), .. }) => PresenceMode::Push(map.clone()),
        _ => PresenceMode::Off,
    }
}

/// What a subscriber sees of a federated (Office 365) user: one of the 5 states Available,
/// Busy, Do Not Disturb, Away, Offline (guide: "limited to 5 states"), as its base value.
pub fn federated_availability(availability: u32) -> u32 {
    match availability {
        3000..=4499 => 3000,
        6000..=8999 => 6000,
        9000..=11999 => 9000,
        4500..=5999 | 12000..=17999 => 15000,
        _ => 18000,
    }
}

/// Pull mode for one DN: the DND state last reported (a DN starts with DND off).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DndTracker {
    pub dnd: bool,
}

impl DndTracker {
    /// A presence update: Some(new DND state) when it changes (EventDNDOn / EventDNDOff), None
    /// when it stays. A remote (federated) presence is first reduced to its 5 states.
    pub fn on_presence(
        &mut self,
        ranges: &AvailabilityRanges,
        availability: u32,
        presence_type: PresenceType,
    ) -> Option<bool> {
        let availability = match presence_type {
            PresenceType::Remote => federated_availability(availability),
            PresenceType::Local => availability,
        };
        let dnd = !ranges.contains(availability);
        (dnd != self.dnd).then(|| {
            self.dnd = dnd;
            dnd
        })
    }
}

/// The agent half of the 15-state table from the agent's T-Library state.
pub fn agent_state(status: Option<AgentStatus>, work_mode: Option<AgentWorkMode>) -> AgentPresenceState {
    match (status, work_mode) {
        (None | Some(AgentStatus::LoggedOut), _) => AgentPresenceState::Logout,
        (Some(AgentStatus::Ready), _) => AgentPresenceState::Ready,
        (Some(AgentStatus::AfterCallWork), _) | (_, Some(AgentWorkMode::AfterCallWork)) => AgentPresenceState::Acw,
        (Some(AgentStatus::NotReady), Some(AgentWorkMode::WalkAway)) => AgentPresenceState::WalkAway,
        (Some(AgentStatus::NotReady), _) => AgentPresenceState::NotReady,
    }
}

/// Push mode for one DN: the publication last sent, so only changes are published.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushTracker {
    pub last: Option<Publication>,
}

/// Why nothing is published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoPublish {
    /// The same presence was published last.
    Unchanged,
    /// The state's row is not in `aggregated-states`.
    NotAggregated,
    /// Federated (Office 365) users' presence is remote: publishing is not supported (guide).
    Federated,
}

impl PushTracker {
    /// What to publish (PUBLISH_PRESENCE) for the agent and device state, if anything.
    pub fn decide(
        &mut self,
        map: &PushMap,
        agent: AgentPresenceState,
        device: DevicePresenceState,
        presence_type: Option<PresenceType>,
    ) -> Result<Publication, NoPublish> {
        if presence_type == Some(PresenceType::Remote) {
            return Err(NoPublish::Federated);
        }
        let p = map.publication(agent, device, DEFAULT_LCID).ok_or(NoPublish::NotAggregated)?;
        if self.last.as_ref() == Some(&p) {
            return Err(NoPublish::Unchanged);
        }
        self.last = Some(p.clone());
        Ok(p)
    }
}

#[cfg(test)]
mod tests;
