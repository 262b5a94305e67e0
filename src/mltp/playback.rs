//! How the Connector plays T-Library treatments (PLAY_TREATMENT) on the simulated SfB and reports
//! their end (TREATMENT_ENDED). TreatmentParms keys as SIP Server uses them: MUSIC_DN / PROMPT /
//! ANNOUNCEMENT (what to play), DURATION, TOTAL_DIGITS / MAX_DIGITS, TERM_DIGIT, DIGIT_TIMEOUT.

use super::{Mltp, TreatmentStatus};
use crate::model::{KvList, TreatmentType};
use crate::sim::{CallId, Playback, PlaybackStatus};

/// TREATMENT_ENDED for a playback that ended (None for automatic ones: music on hold, ring-back).
pub fn treatment_ended(call: CallId, what: &Playback, status: &PlaybackStatus) -> Option<Mltp> {
    let treatment_type = treatment_of(what)?;
    let (status, digits) = match status {
        PlaybackStatus::Collected { digits } => (TreatmentStatus::Normal, Some(digits.clone())),
        PlaybackStatus::TimedOut { digits } => (TreatmentStatus::Timeout, Some(digits.clone())),
        PlaybackStatus::Stopped | PlaybackStatus::Interrupted => (TreatmentStatus::Cancelled, None),
        _ => (TreatmentStatus::Normal, None),
    };
    Some(Mltp::TreatmentEnded { call: call.0, treatment_type, status, digits })
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
