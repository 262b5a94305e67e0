//! Translation between the simulated SfB's vocabulary and MLTP: world events become MLTP events
//! for the T-Server, T-Library treatments become playbacks. Pure functions; the Connector keeps
//! the per-call facts (media, from, to) that MLTP repeats on every party event.

pub use crate::mltp::playback::playback;
use crate::mltp::{self, Direction as MDirection, Media as MMedia, Mltp, PartyState as MPartyState};
use crate::model::DnName;
use crate::sim::{Direction, Media, PartyState, PresenceType, SimEvent};

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
            crate::mltp::playback::treatment_ended(*call, what, status)?
        }
        _ => return None,
    })
}
