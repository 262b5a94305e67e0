//! B2BUA calls (guide: "Calling using Back-to-Back User Agent"): a MAKE_CALL with
//! `calling-method: b2b` to a Tel URI is, in SfB terms, a call SIP Server places through the PSTN
//! gateway; the SfB user owning that number is offered it as an inbound call. Until that user
//! answers, the call is reported with the requested Tel URI as its alerting party (the user's own
//! alerting is not visible through the B2BUA leg); when the user answers, the Tel URI party is
//! replaced (PARTY_DELETED, cause forwarded) by the user, reported alerting then connected — the
//! guide's "User A makes a call to User B's Tel URI" flow. The simulated SfB rings the user
//! directly; this file rewrites its events for the T-Server.

use super::ConnectorActorState;
use crate::sim::{CallId, Cause, PartyState, SimEvent};

/// A B2BUA call whose destination has not answered yet.
#[derive(Clone, Debug)]
pub(super) struct B2bAlias {
    /// The requested Tel URI.
    pub tel: String,
    /// The SfB user actually offered the call.
    pub user: Option<String>,
}

impl ConnectorActorState {
    /// Remembers a B2BUA call to a Tel URI (after MAKE_CALL answered with its call id).
    pub(super) fn note_b2b(&mut self, call: CallId, requested: &str) {
        if requested.trim().to_ascii_lowercase().starts_with("tel:") {
            self.b2b.insert(call, B2bAlias { tel: requested.trim().to_string(), user: None });
        }
    }

    /// The events the T-Server gets for a world event of a B2BUA call (None: as it is).
    pub(super) fn b2b_events(&mut self, ev: &SimEvent) -> Option<Vec<SimEvent>> {
        let call = ev.call()?;
        let alias = self.b2b.get(&call)?.clone();
        let origin = self.facts.get(&call).map(|f| f.from.clone()).unwrap_or_default();
        let tel_party = |state| SimEvent::PartyCreated { call, party: alias.tel.clone(), state };
        match ev {
            SimEvent::PartyCreated { party, state: PartyState::Alerting, .. } if *party != origin => {
                self.b2b.get_mut(&call)?.user = Some(party.clone());
                Some(vec![tel_party(PartyState::Alerting)])
            }
            SimEvent::PartyStateChanged { party, state: PartyState::Connected, .. }
                if alias.user.as_ref() == Some(party) =>
            {
                self.b2b.remove(&call);
                Some(vec![
                    SimEvent::PartyDeleted { call, party: alias.tel.clone(), cause: Cause::Forwarded },
                    SimEvent::PartyCreated { call, party: party.clone(), state: PartyState::Alerting },
                    ev.clone(),
                ])
            }
            SimEvent::PartyDeleted { party, cause, .. } if alias.user.as_ref() == Some(party) => {
                self.b2b.remove(&call);
                Some(vec![SimEvent::PartyDeleted { call, party: alias.tel.clone(), cause: *cause }])
            }
            SimEvent::CallDeleted { .. } => {
                self.b2b.remove(&call);
                None
            }
            _ => None,
        }
    }
}
