//! Plain vocabulary of the simulated Skype for Business world: call and conference ids, media,
//! party states and modes, causes, answer behaviours, presence types and playbacks. Data only:
//! this module never holds world state, never reads a clock and never does I/O.

use crate::model::MediaType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A call in the simulated world (one media session of a conversation). Never reused, also across
/// an export/import of calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A conference scheduled on a conference-service Trusted Application Endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConferenceId(pub u64);

impl fmt::Display for ConferenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The media of a call. Audio and video are both reported as TMediaVoice, IM as chat (guide:
/// "Supported Media Types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Media {
    Voice,
    Video,
    Im,
}

impl Media {
    pub fn is_av(self) -> bool {
        matches!(self, Media::Voice | Media::Video)
    }
    /// AttributeMediaType of this media.
    pub fn media_type(self) -> MediaType {
        if self.is_av() {
            MediaType::VOICE
        } else {
            MediaType::CHAT
        }
    }
}

/// A party's state in a call. A party that leaves is removed at once (its `PartyDeleted` event
/// says why), so `Disconnected` is what a `PartyDeleted` implies and is never stored on a party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartyState {
    /// The originator, while the destination has not answered.
    Dialing,
    /// Offered and not answered yet (on every endpoint of the user).
    Alerting,
    Connected,
    /// This party placed the call on hold (T-Library: EventHeld goes to this party's DN).
    Held,
    Disconnected,
}

impl PartyState {
    /// In the call for good: dialing, talking or holding (not merely offered).
    pub fn is_active(self) -> bool {
        matches!(self, PartyState::Dialing | PartyState::Connected | PartyState::Held)
    }
}

/// How a party takes part in the audio (guide: "Supervision Modes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PartyMode {
    #[default]
    Normal,
    /// Whisper coaching: heard only by the agent(s) of the call.
    Coach,
    /// Silent monitoring: hears everyone, heard by nobody.
    Mute,
}

/// Direction of a call as seen from the Skype for Business domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// From an external party into the domain.
    Inbound,
    /// From the domain to an external party.
    Outbound,
    Internal,
}

/// Why a party changed state or left, or why a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cause {
    Normal,
    /// The party (or, for the originator, the destination) answered.
    Answered,
    Held,
    Retrieved,
    /// The party hung up.
    Hangup,
    /// Released by the application (`app_release`).
    Released,
    /// Deleted from the conference by the application (`app_delete_party`).
    Deleted,
    /// Declined by the user, or by an answer behaviour of `reject`.
    Rejected,
    /// Do Not Disturb presence: the endpoints reject the call.
    Busy,
    /// Offline presence, unregistered application endpoint or forwarding loop.
    Unavailable,
    /// Alerted longer than a Response Group or forwarding allowed.
    NoAnswer,
    /// Another endpoint, fork or Response Group member answered first.
    AnsweredElsewhere,
    /// Call forwarding took the call on to another destination.
    Forwarded,
    /// The Routing Point handed the call on (`app_redirect`).
    Redirected,
    /// Left through a transfer (completed or single-step) or a Response Group hand-off.
    Transferred,
    /// Moved into the main call by a completed conference.
    Conferenced,
    /// Stopped alerting because the caller left.
    Abandoned,
    /// Removed because the call ended around this party.
    CallEnded,
    /// The IM session was unused for `im-idle-timeout` (guide: released after 10 minutes).
    IdleTimeout,
}

impl Cause {
    /// A failure to deliver the call to an offered party: a caller connected to an application
    /// conference stays there so the application can route the call again.
    pub fn is_delivery_failure(self) -> bool {
        matches!(self, Cause::Rejected | Cause::Busy | Cause::Unavailable | Cause::NoAnswer)
    }
}

/// What a user does when a call is offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerMode {
    /// Waits for `answer` / `reject` (default for configured agents).
    #[default]
    Manual,
    /// Answers on its first endpoint after `delay_ms`.
    Auto,
    /// Lets the call alert until someone else ends it.
    Never,
    /// Declines at once.
    Reject,
}

/// A user's answer behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Behavior {
    pub answer: AnswerMode,
    /// Delay before an `auto` answer, in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
}

impl Behavior {
    pub const MANUAL: Behavior = Behavior { answer: AnswerMode::Manual, delay_ms: 0 };
    pub fn auto(delay_ms: u64) -> Behavior {
        Behavior { answer: AnswerMode::Auto, delay_ms }
    }
}

/// The presence the Connector monitors for a DN (guide: the `PresenceType` extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceType {
    /// An on-premises user: presence can be read and published.
    Local,
    /// A federated (Office 365) user: 5 states only, publishing refused.
    Remote,
}

/// What is played to a party: automatic music on hold and ring-back, or a treatment started by
/// the application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Playback {
    /// `music-on-hold-file-path`, played by the Connector to a party left alone by a hold.
    MusicOnHold { file: String },
    /// `ringtone-file-path`, played to a caller while the destination alerts.
    Ringback { file: String },
    /// An announcement; `duration_ms: None` plays until stopped.
    Announcement {
        file: String,
        #[serde(default)]
        duration_ms: Option<u64>,
    },
    Music {
        file: String,
        #[serde(default)]
        duration_ms: Option<u64>,
    },
    Silence {
        #[serde(default)]
        duration_ms: Option<u64>,
    },
    /// Plays `prompt` (if any) and collects DTMF digits until `max_digits`, the `terminator`
    /// digit or `timeout_ms`.
    CollectDigits {
        #[serde(default)]
        prompt: Option<String>,
        max_digits: u32,
        #[serde(default)]
        terminator: Option<char>,
        timeout_ms: u64,
    },
}

impl Playback {
    /// The time after which the playback ends by itself, if it does.
    pub fn duration_ms(&self) -> Option<u64> {
        match self {
            Playback::Announcement { duration_ms, .. }
            | Playback::Music { duration_ms, .. }
            | Playback::Silence { duration_ms } => *duration_ms,
            Playback::CollectDigits { timeout_ms, .. } => Some(*timeout_ms),
            Playback::MusicOnHold { .. } | Playback::Ringback { .. } => None,
        }
    }
}

/// How a playback ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum PlaybackStatus {
    /// Played to its end.
    Completed,
    /// Stopped by the application (or replaced by another treatment).
    Stopped,
    /// The party left, was held, or the call ended.
    Interrupted,
    /// Automatic playback ended because its condition ended (answer, retrieve).
    Ended,
    /// Digits collected (max digits or terminator reached).
    Collected { digits: String },
    /// The collection timed out with these digits.
    TimedOut { digits: String },
}

/// What `start_call` and `app_make_call` return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStarted {
    pub call: CallId,
    pub conversation_id: String,
}

/// What `schedule_conference` returns: the conference and when it is (or will be) ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceTicket {
    pub id: ConferenceId,
    pub endpoint: String,
    pub ready_at: u64,
}

/// Response Group hunting (Skype for Business "routing method", reduced to the two the issue
/// names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HuntMode {
    #[default]
    Serial,
    Parallel,
}

/// What a simulated user is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserKind {
    /// A configured DN of type Extension (an agent's SfB user).
    Extension,
    /// A Routing Point: a Trusted Application Endpoint owned by the application.
    RoutingPoint,
    ExternalRoutingPoint,
    /// A conference-service Trusted Application Endpoint (`[conference-services]`).
    ConferenceService,
    /// A SfB user that is not a DN (unmonitored).
    User,
    /// A Response Group (members are unmonitored users).
    ResponseGroup,
    /// A `tel:` URI or a SIP URI outside the SfB domain, created on first use.
    External,
}

impl UserKind {
    /// Trusted Application Endpoints owned by the application.
    pub fn is_application(self) -> bool {
        matches!(self, UserKind::RoutingPoint | UserKind::ExternalRoutingPoint | UserKind::ConferenceService)
    }
    /// Users whose voice is part of the audio (not endpoints of an application or a Response Group).
    pub fn is_person(self) -> bool {
        matches!(self, UserKind::Extension | UserKind::User | UserKind::External)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_stable() {
        assert_eq!(serde_json::to_string(&PresenceType::Remote).unwrap(), "\"remote\"");
        assert_eq!(serde_json::to_string(&AnswerMode::Reject).unwrap(), "\"reject\"");
        let p = Playback::CollectDigits { prompt: None, max_digits: 4, terminator: Some('#'), timeout_ms: 5000 };
        let j = serde_json::to_string(&p).unwrap();
        assert!(j.contains("\"type\":\"collect-digits\""), "{j}");
        assert_eq!(serde_json::from_str::<Playback>(&j).unwrap(), p);
        let s = PlaybackStatus::Collected { digits: "12".into() };
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"status":"collected","digits":"12"}"#);
        assert_eq!(Media::Im.media_type(), MediaType::CHAT);
        assert_eq!(Media::Video.media_type(), MediaType::VOICE);
    }
}
