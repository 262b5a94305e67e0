//! What a shell needs to route inputs to the table that owns a call, when the calls of the
//! server are split over several tables (one per call family: a call with its consultation and
//! escalation calls, so two-call operations stay atomic inside one table): the ConnIDs, the
//! Connector calls and the SfB Conversation-IDs a table answers for.

use super::table::TableSnapshot;
use super::types::{CallSnapshot, SwitchCall};
use super::CallTable;
use crate::mltp::Mltp;
use crate::model::ConnId;

/// The keys under which one table's calls are reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallRoutes {
    pub conns: Vec<ConnId>,
    pub switch: Vec<SwitchCall>,
    pub conversations: Vec<String>,
}

impl CallRoutes {
    fn add(&mut self, snap: &crate::callmodel::Call) {
        self.conns.push(snap.conn_id);
        self.switch.extend(snap.switch.iter().cloned());
        if !snap.conversation_id.is_empty() && !self.conversations.contains(&snap.conversation_id) {
            self.conversations.push(snap.conversation_id.clone());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }
}

impl CallTable {
    pub fn routes(&self) -> CallRoutes {
        let mut r = CallRoutes::default();
        for c in self.calls.values() {
            r.add(c);
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The configured DNs taking part in the table's calls (a supervisor already on a call is not
    /// invited to another one).
    pub fn active_dns(&self) -> std::collections::BTreeSet<crate::model::DnName> {
        let parties = self.calls.values().flat_map(|c| c.parties.iter());
        parties.filter(|p| p.state.is_active()).filter_map(|p| p.dn.clone()).collect()
    }

    /// Correlation ids of switch requests still in flight (a rebuilt shell re-arms their timeouts).
    pub fn corrs_in_flight(&self) -> Vec<u64> {
        self.corrs.keys().copied().collect()
    }
}

impl TableSnapshot {
    pub fn routes(&self) -> CallRoutes {
        let TableSnapshot::V1 { calls, .. } = self;
        let mut r = CallRoutes::default();
        for CallSnapshot::V1(c) in calls {
            r.add(c);
        }
        r
    }
}

/// How a Connector event finds its table: by the Connector call it is about, or — for a
/// CALL_CREATED not yet known — by the ConnID the Connector echoes (a call a request dialed) or
/// the Conversation-ID (an escalation of a conversation already known).
pub enum SwitchKey<'a> {
    Call(SwitchCall),
    NewCall {
        call: SwitchCall,
        conn_id: Option<ConnId>,
        conversation_id: &'a str,
    },
    /// Not about a call (or an ERROR without a call): no table needs it.
    None,
}

pub fn switch_key<'a>(link: &str, msg: &'a Mltp) -> SwitchKey<'a> {
    let at = |call: u64| SwitchCall { link: link.to_string(), call };
    match msg {
        Mltp::CallCreated { call, conn_id, conversation_id, .. } => {
            SwitchKey::NewCall { call: at(*call), conn_id: *conn_id, conversation_id }
        }
        Mltp::PartyCreated { call, .. }
        | Mltp::PartyStateChanged { call, .. }
        | Mltp::PartyDeleted { call, .. }
        | Mltp::CallDeleted { call, .. }
        | Mltp::Error { call: Some(call), .. } => SwitchKey::Call(at(*call)),
        _ => SwitchKey::None,
    }
}
