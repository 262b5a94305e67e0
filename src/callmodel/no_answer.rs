//! The agent's no-answer supervision (guide: "No-Answer Supervision"; issue 6) reaching into a
//! call: the agent machine decides that a call rang out on an agent's DN and applies its
//! `no-answer-action`; the call model takes the ringing party off the call. A routed call gets
//! exactly what routing's own delivery supervision does (EventError TERR_DN_NO_ANSWER to the
//! Routing Point, the call routed again, the party released), so the router cannot tell which
//! timer fired first; any other call just loses its ringing party. Never releases a party that
//! has answered or left meanwhile (the agent's timer may race the answer).

use super::io::Output;
use super::types::{uri_key, PartyState};
use super::CallTable;
use crate::mltp::Mltp;
use crate::model::{ConnId, DnName};

impl CallTable {
    pub(super) fn release_unanswered(&mut self, conn: ConnId, dn: &DnName, out: &mut Output) {
        let Some(call) = self.calls.get(&conn) else { return };
        let Some(party) = call.party_of_dn(dn).filter(|p| p.state == PartyState::Alerting) else { return };
        if call.switch.is_none() {
            return; // not reported by the Connector yet: nothing to release there
        }
        let key = uri_key(&party.uri);
        let routed = call.routing.as_ref().filter(|r| {
            !r.queued
                && (r.delivering.as_ref().is_some_and(|(d, _)| *d == key) || r.target.as_deref() == Some(key.as_str()))
        });
        if let Some(mut r) = routed.cloned() {
            // Routed here: report and route again exactly as routing's no-answer-timeout does.
            r.delivering = Some((key, 0));
            return self.no_answer(conn, &r, out);
        }
        let uri = party.uri.clone();
        let (route, sw) = self.switch_of(conn);
        self.send(conn, conn, route, Mltp::ReleaseCall { call: sw, party: uri }, false, out);
    }
}
