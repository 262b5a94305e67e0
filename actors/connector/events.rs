//! Translation between the simulated SfB's vocabulary and MLTP: world events become MLTP events
//! for the T-Server, T-Library treatments become playbacks. Pure functions; the Connector keeps
//! the per-call facts (media, from, to) that MLTP repeats on every party event.

use crate::mltp::{self, Direction as MDirection, Media as MMedia, Mltp, PartyState as MPartyState, TreatmentStatus};
use crate::model::{DnName, KvList, TreatmentType};
use crate::sim::{Direction, Media, PartyState, Playback, PlaybackStatus, PresenceType, SimEvent};

/// What the Connector remembers of a call from its CALL_CREATED.
#[derive(Clone, Debug)]
pub struct CallFacts {
    pub media: Media,
    pub from: String,
    pub to: String,
    /// The T-Server's ConnID when the call was placed by MAKE_CALL.
    pub conn_id: Option<crate::model::ConnId>,
}

pub fn media(m: Media) -> MMedia {
    match m {
        Media::Voice => MMedia::Voice,
        Media::Video => MMedia::Video,
        Media::Im => MMedia::Im,
    }
}

fn party_state(s: PartyState) -> MPartyState {
    match s {
        PartyState::Dialing => MPartyState::Dialing,
        PartyState::Alerting => MPartyState::Alerting,
        PartyState::Connected => MPartyState::Connected,
        PartyState::Held => MPartyState::Held,
        PartyState::Disconnected => MPartyState::Disconnected,
    }
}

fn direction(d: Direction) -> MDirection {
    match d {
        Direction::Inbound => MDirection::Inbound,
        Direction::Outbound => MDirection::Outbound,
        Direction::Internal => MDirection::Internal,
    }
}

fn cause_text<T: std::fmt::Debug>(c: &T) -> Option<String> {
    Some(format!("{c:?}").to_lowercase())
}

/// The MLTP event for a world event (None for events that stay inside the Connector).
pub fn to_mltp(ev: &SimEvent, facts: Option<&CallFacts>) -> Option<Mltp> {
    let (m, from, to) = match facts {
        Some(f) => (media(f.media), f.from.clone(), f.to.clone()),
        None => (MMedia::Voice, String::new(), String::new()),
    };
    Some(match ev {
        SimEvent::CallCreated { call, conversation_id, media: md, from, to, direction: d, monitored } => {
            Mltp::CallCreated {
                call: call.0,
                conversation_id: conversation_id.clone(),
                media: media(*md),
                from: from.clone(),
                to: to.clone(),
                direction: direction(*d),
                monitored: *monitored,
                // The ConnID of the request that dialed it: how the T-Server finds its call.
                conn_id: facts.and_then(|f| f.conn_id),
            }
        }
        SimEvent::PartyCreated { call, party, state } => Mltp::PartyCreated {
            call: call.0,
            party: party.clone(),
            media: m,
            from,
            to,
            party_state: party_state(*state),
        },
        SimEvent::PartyStateChanged { call, party, state, cause } => Mltp::PartyStateChanged {
            call: call.0,
            party: party.clone(),
            party_state: party_state(*state),
            cause: cause_text(cause),
        },
        SimEvent::PartyDeleted { call, party, cause } => {
            Mltp::PartyDeleted { call: call.0, party: party.clone(), cause: cause_text(cause) }
        }
        SimEvent::CallDeleted { call, cause } => Mltp::CallDeleted { call: call.0, cause: cause_text(cause) },
        SimEvent::PresenceChanged { user, availability, activity, presence_type } => Mltp::PresenceChanged {
            dn: DnName::new(user),
            availability: *availability,
            activity: activity.clone(),
            presence_type: match presence_type {
                PresenceType::Local => mltp::PresenceType::Local,
                PresenceType::Remote => mltp::PresenceType::Remote,
            },
        },
        SimEvent::ImReceived { call, from, text } => {
            Mltp::ImReceived { call: call.0, from: from.clone(), text: text.clone() }
        }
        SimEvent::DtmfReceived { call, party, digits } => {
            Mltp::DtmfReceived { call: call.0, party: party.clone(), digits: digits.clone() }
        }
        SimEvent::PlaybackEnded { call, what, status, .. } => {
            let treatment_type = treatment_of(what)?;
            let (status, digits) = match status {
                PlaybackStatus::Collected { digits } => (TreatmentStatus::Normal, Some(digits.clone())),
                PlaybackStatus::TimedOut { digits } => (TreatmentStatus::Timeout, Some(digits.clone())),
                PlaybackStatus::Stopped => (TreatmentStatus::Cancelled, None),
                _ => (TreatmentStatus::Normal, None),
            };
            Mltp::TreatmentEnded { call: call.0, treatment_type, status, digits }
        }
        _ => return None,
    })
}

/// Which treatment a playback came from; automatic ones (music on hold, ring-back) report nothing.
fn treatment_of(p: &Playback) -> Option<TreatmentType> {
    Some(match p {
        Playback::MusicOnHold { .. } | Playback::Ringback { .. } => return None,
        Playback::Announcement { .. } => TreatmentType::PlayAnnouncement,
        Playback::Music { .. } => TreatmentType::Music,
        Playback::Silence { .. } => TreatmentType::Silence,
        Playback::CollectDigits { prompt: Some(_), .. } => TreatmentType::PlayAnnouncementAndDigits,
        Playback::CollectDigits { .. } => TreatmentType::CollectDigits,
    })
}

fn secs(params: &KvList, key: &str) -> Option<u64> {
    params.get_int(key).filter(|v| *v > 0).map(|v| v as u64 * 1000)
}

/// The playback a T-Library treatment asks for (TreatmentParms keys as SIP Server uses them).
pub fn playback(t: TreatmentType, params: KvList) -> Playback {
    let file = |default: &str| {
        params
            .get_str("MUSIC_DN")
            .or_else(|| params.get_str("PROMPT"))
            .or_else(|| params.get_str("ANNOUNCEMENT"))
            .unwrap_or(default)
            .to_string()
    };
    let duration_ms = secs(&params, "DURATION");
    match t {
        TreatmentType::Music => Playback::Music { file: file("music/on_hold"), duration_ms },
        TreatmentType::RingBack => Playback::Ringback { file: file("ringback") },
        TreatmentType::Silence => Playback::Silence { duration_ms },
        TreatmentType::Busy => Playback::Announcement { file: "tone/busy".into(), duration_ms },
        TreatmentType::FastBusy => Playback::Announcement { file: "tone/fast-busy".into(), duration_ms },
        TreatmentType::CollectDigits | TreatmentType::PlayAnnouncementAndDigits => Playback::CollectDigits {
            prompt: (t == TreatmentType::PlayAnnouncementAndDigits).then(|| file("prompt")),
            max_digits: params
                .get_int("TOTAL_DIGITS")
                .or_else(|| params.get_int("MAX_DIGITS"))
                .unwrap_or(4)
                .clamp(1, 64) as u32,
            terminator: params.get_str("TERM_DIGIT").and_then(|s| s.chars().next()),
            timeout_ms: secs(&params, "DIGIT_TIMEOUT").unwrap_or(10_000),
        },
        _ => Playback::Announcement { file: file("announcement"), duration_ms },
    }
}
