//! Which call a Connector's call is: CALL_CREATED binds the call a request dialed (by the
//! `conn-id` the Connector echoes, else by origin and destination; the RESPONSE to MAKE_CALL binds
//! it too), or starts a new call with a new ConnID — a direct (1pcc) call, a call to a Routing
//! Point, an escalation (same Conversation-ID, new ConnID, user data inherited when
//! `escalation-user-data = inherited`) — unless it is a direct call its DN does not handle, which
//! is ignored with all its later events. Never emits an event: parties come with PARTY_CREATED.

use super::io::{Effect, Output};
use super::types::{uri_key, Call, SwitchCall};
use super::CallTable;
use crate::mltp::{Direction, Mltp};
use crate::model::{CallType, ConnId};

impl CallTable {
    pub(super) fn call_created(&mut self, link: &str, msg: Mltp, now: u64, out: &mut Output) {
        let Mltp::CallCreated { call, conversation_id, media, from, to, direction, conn_id, .. } = msg else { return };
        let key = SwitchCall { link: link.to_string(), call };
        if let Some(c) = self.by_switch.get(&key).copied() {
            self.bind(c, key, &conversation_id);
            return;
        }
        let dialing = conn_id.filter(|c| self.calls.get(c).is_some_and(|x| x.switch.is_none()));
        if let Some(c) = dialing.or_else(|| self.find_dialing(&from, &to)) {
            self.bind(c, key, &conversation_id);
            return;
        }
        // Not dialed by a request: a direct (1pcc) call, a call to a Routing Point, an escalation.
        // A direct call its DN does not handle is left alone (`direct.rs`); a `conn-id` the
        // Connector echoes means a request of this T-Server dialed it (before a restart).
        let dialed = conn_id.is_some_and(|c| c != ConnId::NONE);
        if self.options.im_reporting_disabled && media.media_type() == crate::model::MediaType::CHAT {
            return; // `im-reporting = disabled`: IM calls are not reported at all
        }
        if !dialed && !self.handles_new_call(&from, &to, media.media_type(), &conversation_id) {
            return;
        }
        let conn = match conn_id {
            Some(c) if !self.calls.contains_key(&c) && c != ConnId::NONE => {
                self.conn_ids.resume_after(c);
                c
            }
            _ => self.conn_ids.next(),
        };
        let call_type = match direction {
            Direction::Inbound => CallType::Inbound,
            Direction::Outbound => CallType::Outbound,
            Direction::Internal => CallType::Internal,
        };
        let mut new = Call::new(conn, media.media_type(), call_type, &from, &to, now);
        new.conversation_id = conversation_id.clone();
        if self.options.escalation_user_data_inherited && !conversation_id.is_empty() {
            if let Some(parent) = self.calls.values().find(|c| c.conversation_id == conversation_id) {
                new.user_data = parent.user_data.clone();
            }
        }
        new.switch = Some(key.clone());
        self.by_switch.insert(key, conn);
        self.calls.insert(conn, Box::new(new));
        self.touch(conn);
        out.effects.push(Effect::CallCreated(conn));
    }

    /// Binds a call the T-Server dialed to the Connector's call.
    pub(super) fn bind(&mut self, conn: ConnId, key: SwitchCall, conversation_id: &str) {
        if !self.by_switch.contains_key(&key) {
            self.by_switch.insert(key.clone(), conn);
        }
        if let Some(c) = self.call_mut(conn) {
            if c.switch.is_none() {
                c.switch = Some(key);
            }
            if c.conversation_id.is_empty() {
                c.conversation_id = conversation_id.to_string();
            }
        }
    }

    /// The dialed call a CALL_CREATED without `conn-id` reports: the oldest call not yet
    /// reported that was dialed from `from` to `to` (a Connector executes requests in order), or
    /// the only one dialed from `from` (the Connector may spell the destination differently).
    fn find_dialing(&self, from: &str, to: &str) -> Option<ConnId> {
        let (from, to) = (uri_key(from), uri_key(to));
        let waiting: Vec<&Call> =
            self.calls.values().map(|c| &**c).filter(|c| c.switch.is_none() && uri_key(&c.ani) == from).collect();
        match waiting.iter().find(|c| uri_key(&c.dnis) == to) {
            Some(c) => Some(c.conn_id),
            None if waiting.len() == 1 => Some(waiting[0].conn_id),
            None => None,
        }
    }
}
