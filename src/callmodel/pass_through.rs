//! `allow-pass-through-calls` (guide, "Handling Pass-Through Calls"): when pass-through calls are
//! not allowed, a request that would leave a call with no configured DN is refused (98 for
//! TCompleteTransfer, 1148 for TSingleStepTransfer, 705 for TRouteCall), and a call the switch
//! leaves with parties but no configured DN (the last agent left a conference) is released.
//! The policy is the acting (or departing) DN's own value, else the Application's. `iscc` acts as
//! `all`: this T-Server has no ISCC. The guide's limitation holds: an unmonitored SfB user counts
//! as external, like a number behind the SIP trunk.

use super::io::Output;
use super::types::PassThroughPolicy;
use super::{CallError, CallTable};
use crate::mltp::Mltp;
use crate::model::{ConnId, DnName, ErrorCode};

impl CallTable {
    /// The policy for `dn`: its DN-level option, else the Application's.
    pub(super) fn pass_through_for(&self, dn: &DnName) -> PassThroughPolicy {
        self.directory.pass_through(dn).unwrap_or(self.options.allow_pass_through)
    }

    /// The configured DN the party `uri` of call `conn` is.
    pub(super) fn dn_of_party(&self, conn: ConnId, uri: &str) -> Option<DnName> {
        self.calls.get(&conn).and_then(|c| c.party(uri)).and_then(|p| p.dn.clone())
    }

    /// Whether call `conn` has a configured DN other than `except`.
    fn other_dn_on(&self, conn: ConnId, except: &DnName) -> bool {
        self.calls.get(&conn).is_some_and(|c| c.parties.iter().any(|p| p.dn.is_some() && !p.is_dn(except)))
    }

    /// TCompleteTransfer by `dn` merging `main` and `consult`: 98 when the merged call would
    /// hold no configured DN once `dn` left and pass-through calls are not allowed for it.
    pub(super) fn check_complete_transfer(&self, main: ConnId, consult: ConnId, dn: &DnName) -> Result<(), CallError> {
        if self.pass_through_for(dn).allows() || self.other_dn_on(main, dn) || self.other_dn_on(consult, dn) {
            return Ok(());
        }
        Err(CallError::PassThrough(ErrorCode::CannotCompleteTransfer))
    }

    /// TSingleStepTransfer by `dn` on `conn` to `to`: 1148 when `to` is no configured DN, `dn` is
    /// the last configured DN on the call and pass-through calls are not allowed for it.
    pub(super) fn check_single_step_transfer(&self, conn: ConnId, dn: &DnName, to: &str) -> Result<(), CallError> {
        if self.pass_through_for(dn).allows() || self.directory.lookup(to).is_some() || self.other_dn_on(conn, dn) {
            return Ok(());
        }
        Err(CallError::PassThrough(ErrorCode::PrivilegeViolationOnCalledDevice))
    }

    /// TRouteCall from the Routing Point `rp` on `conn` to `to` (for issue 5's routing): 705 when
    /// `to` is no configured DN, no configured DN but `rp` is on the call, and pass-through calls
    /// are not allowed for `rp`.
    pub fn check_route_call(&self, conn: ConnId, rp: &DnName, to: &str) -> Result<(), CallError> {
        if self.pass_through_for(rp).allows() || self.directory.lookup(to).is_some() || self.other_dn_on(conn, rp) {
            return Ok(());
        }
        Err(CallError::PassThrough(ErrorCode::ProhibitedRouteCallToExternal))
    }

    /// After the configured DN `dn` left call `conn` (run once the input's finished operations
    /// are dropped): if pass-through calls are not allowed
    /// for it and two or more parties remain, none of them a configured DN, the call is released
    /// as TClearCall does (DELETE_PARTY for all but one party, RELEASE_CALL for that one). A call
    /// with one party left is ended by the switch itself; a call with an operation in progress is
    /// left to that operation.
    pub(super) fn guard_pass_through(&mut self, conn: ConnId, dn: DnName, out: &mut Output) {
        if self.pass_through_for(&dn).allows() {
            return;
        }
        let Some(call) = self.calls.get(&conn) else { return };
        if call.switch.is_none() || call.is_locked() || call.parties.len() < 2 {
            return;
        }
        if call.parties.iter().any(|p| p.dn.is_some()) {
            return;
        }
        let mut uris: Vec<String> = call.parties.iter().map(|p| p.uri.clone()).collect();
        let last = uris.remove(0);
        let (route, sw) = self.switch_of(conn);
        for party in uris {
            self.send(conn, conn, route.clone(), Mltp::DeleteParty { call: sw, party }, false, out);
        }
        self.send(conn, conn, route, Mltp::ReleaseCall { call: sw, party: last }, false, out);
    }
}
