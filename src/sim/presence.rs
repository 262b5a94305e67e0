//! Presence: SfB availability ranges (guide: "Presence"), the effective presence of a user on a
//! call (Busy, "in-a-call", unless Do Not Disturb), the five states federated (Office 365) users
//! show, and the application's side: endpoint registration, presence subscription and
//! publishing. Never changes calls; emits only PresenceChanged to subscribers.

use super::error::SimError;
use super::event::SimEvent;
use super::types::{PresenceType, UserKind};
use super::World;
use serde::{Deserialize, Serialize};

/// Availability (0..=18000) and activity, as SfB publishes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub availability: u32,
    pub activity: Option<String>,
}

/// The SfB availability ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PresenceState {
    /// 0-2999: not set.
    None,
    /// 3000-4499.
    Available,
    /// 4500-5999: the user is online, the device is idle.
    AvailableIdle,
    /// 6000-7499.
    Busy,
    /// 7500-8999.
    BusyIdle,
    /// 9000-11999.
    DoNotDisturb,
    /// 12000-14999.
    BeRightBack,
    /// 15000-17999.
    Away,
    /// 18000.
    Offline,
}

/// Activity published while a user is on an audio/video call.
pub const IN_A_CALL: &str = "in-a-call";
/// Highest availability value.
pub const MAX_AVAILABILITY: u32 = 18000;

impl PresenceState {
    pub fn of(availability: u32) -> PresenceState {
        match availability {
            0..=2999 => PresenceState::None,
            3000..=4499 => PresenceState::Available,
            4500..=5999 => PresenceState::AvailableIdle,
            6000..=7499 => PresenceState::Busy,
            7500..=8999 => PresenceState::BusyIdle,
            9000..=11999 => PresenceState::DoNotDisturb,
            12000..=14999 => PresenceState::BeRightBack,
            15000..=17999 => PresenceState::Away,
            _ => PresenceState::Offline,
        }
    }

    /// What a federated (Office 365) user's subscriber sees: one of Available, Busy, Away,
    /// DoNotDisturb, Offline (guide: "limited to 5 states"), as its base availability value.
    pub fn federated_availability(self) -> u32 {
        match self {
            PresenceState::Available => 3000,
            PresenceState::Busy | PresenceState::BusyIdle => 6000,
            PresenceState::DoNotDisturb => 9000,
            PresenceState::AvailableIdle | PresenceState::BeRightBack | PresenceState::Away => 15000,
            PresenceState::None | PresenceState::Offline => 18000,
        }
    }
}

impl Presence {
    /// The presence shown while on a call: Busy "in-a-call", except that Do Not Disturb stays.
    pub fn on_call(&self) -> Presence {
        if PresenceState::of(self.availability) == PresenceState::DoNotDisturb {
            self.clone()
        } else {
            Presence { availability: 6000, activity: Some(IN_A_CALL.to_string()) }
        }
    }
}

impl World {
    /// The presence a subscriber of `uri` sees now.
    pub(crate) fn reported_presence(&self, uri: &str) -> Presence {
        let u = self.user(uri);
        let effective = if u.on_call { u.base.on_call() } else { u.base.clone() };
        if u.spec.federated {
            let availability = PresenceState::of(effective.availability).federated_availability();
            Presence { availability, activity: None }
        } else {
            effective
        }
    }

    pub(crate) fn presence_type(&self, uri: &str) -> PresenceType {
        if self.user(uri).spec.federated {
            PresenceType::Remote
        } else {
            PresenceType::Local
        }
    }

    /// Reports the user's presence to the application if it changed and is subscribed.
    pub(crate) fn presence_touch(&mut self, uri: &str) {
        if !self.user(uri).is_sfb_person() {
            return;
        }
        let now = self.reported_presence(uri);
        let presence_type = self.presence_type(uri);
        let u = self.user_mut(uri);
        if u.reported.as_ref() == Some(&now) {
            return;
        }
        u.reported = Some(now.clone());
        if u.subscribed {
            self.events.push(SimEvent::PresenceChanged {
                user: uri.to_string(),
                availability: now.availability,
                activity: now.activity,
                presence_type,
            });
        }
    }

    fn presence_user(&self, raw: &str) -> Result<String, SimError> {
        let uri = self.known(raw)?;
        if !self.user(&uri).is_sfb_person() {
            return Err(SimError::Refused(format!("{uri} is a {:?} and has no presence", self.kind_of(&uri))));
        }
        Ok(uri)
    }

    fn check_availability(availability: u32) -> Result<(), SimError> {
        if availability > MAX_AVAILABILITY {
            return Err(SimError::BadArgument(format!("availability {availability} is not in 0..=18000")));
        }
        Ok(())
    }

    /// A person changes their own presence in their SfB client (federated users too).
    pub fn set_presence(
        &mut self,
        now: u64,
        user: &str,
        availability: u32,
        activity: Option<String>,
    ) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.presence_user(user)?;
        Self::check_availability(availability)?;
        self.user_mut(&uri).base = Presence { availability, activity };
        self.dirty_users.insert(uri);
        self.finish(now);
        Ok(())
    }

    /// The application publishes presence for a DN (guide: "Push Presence Mode"); refused for
    /// federated users (guide: "Publishing of presence ... on Office 365 users is not supported").
    pub fn publish_presence(
        &mut self,
        now: u64,
        dn: &str,
        availability: u32,
        activity: Option<String>,
    ) -> Result<(), SimError> {
        let now = self.begin(now);
        let uri = self.presence_user(dn)?;
        if self.kind_of(&uri) != UserKind::Extension {
            return Err(SimError::UnknownUser(dn.trim().to_string()));
        }
        if self.user(&uri).spec.federated {
            return Err(SimError::Refused(format!(
                "{uri} is an Office 365 (federated) user: its presence is remote and cannot be published"
            )));
        }
        Self::check_availability(availability)?;
        self.user_mut(&uri).base = Presence { availability, activity };
        self.dirty_users.insert(uri);
        self.finish(now);
        Ok(())
    }

    /// The application subscribes to a user's presence; the current presence is reported at once.
    pub fn subscribe_presence(&mut self, dn: &str) -> Result<(), SimError> {
        let uri = self.presence_user(dn)?;
        let u = self.user_mut(&uri);
        u.subscribed = true;
        u.reported = None;
        self.presence_touch(&uri);
        Ok(())
    }

    pub fn unsubscribe_presence(&mut self, dn: &str) {
        if let Some(uri) = self.lookup(dn) {
            self.user_mut(&uri).subscribed = false;
        }
    }

    /// The application establishes its endpoint for a DN (an Extension's user endpoint, or a
    /// Routing Point's Trusted Application Endpoint). Routing Points accept calls only while
    /// registered.
    pub fn register_endpoint(&mut self, dn: &str) -> Result<PresenceType, SimError> {
        let uri = self.known(dn)?;
        let u = self.user(&uri);
        if !(u.kind() == UserKind::Extension || u.kind().is_application()) {
            return Err(SimError::UnknownUser(dn.trim().to_string()));
        }
        self.user_mut(&uri).registered = true;
        Ok(self.presence_type(&uri))
    }

    pub fn unregister_endpoint(&mut self, dn: &str) {
        if let Some(uri) = self.lookup(dn) {
            self.user_mut(&uri).registered = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_ranges_follow_the_guide() {
        let cases = [
            (0, PresenceState::None),
            (3000, PresenceState::Available),
            (4499, PresenceState::Available),
            (4500, PresenceState::AvailableIdle),
            (6000, PresenceState::Busy),
            (7500, PresenceState::BusyIdle),
            (9000, PresenceState::DoNotDisturb),
            (11999, PresenceState::DoNotDisturb),
            (12000, PresenceState::BeRightBack),
            (15000, PresenceState::Away),
            (18000, PresenceState::Offline),
        ];
        for (a, s) in cases {
            assert_eq!(PresenceState::of(a), s, "{a}");
        }
    }

    #[test]
    fn on_call_is_busy_unless_do_not_disturb() {
        let p = Presence { availability: 3500, activity: Some("free".into()) };
        assert_eq!(p.on_call(), Presence { availability: 6000, activity: Some(IN_A_CALL.into()) });
        let dnd = Presence { availability: 9500, activity: None };
        assert_eq!(dnd.on_call(), dnd);
    }

    #[test]
    fn federated_users_show_five_states() {
        let mut seen: Vec<u32> =
            (0..=18000).step_by(250).map(|a| PresenceState::of(a).federated_availability()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, [3000, 6000, 9000, 15000, 18000]);
    }
}
