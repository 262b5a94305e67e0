//! The call model's state: a [`Call`] (one ConnID) with its [`Party`]s as the switch reports them,
//! its user data, its link to a consultation partner and the one telephony operation in progress
//! on it ([`PendingOp`]). Plain serde data, so a call can be snapshotted and rebuilt; the rules that
//! change it live in the sibling modules. This module never decides which event a change produces.

use crate::model::{CallType, ConnId, DnName, DnRole, DnType, KvList, MediaType};
use crate::tlib::RequestKind;
use serde::{Deserialize, Serialize};

/// The client session a request came from (an opaque number the actor layer chooses), so that
/// EventError and requester-only answers (TQueryCall, table note 1) reach that client alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientRef(pub u64);

/// A call as one Connector knows it: the link it was reported on and the Connector's call id
/// (unique per Connector only, so the link is part of the key).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SwitchCall {
    pub link: String,
    pub call: u64,
}

/// A configured DN as the directory knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnInfo {
    pub dn: DnName,
    pub dn_type: DnType,
}

/// Which URIs are configured DNs, and whether a DN is in service. The actor layer backs it with
/// the validated configuration and the DN service states; tests use [`StaticDirectory`].
pub trait Directory: Send + Sync {
    /// The configured DN a URI (as SfB writes it) names, if any.
    fn lookup(&self, uri: &str) -> Option<DnInfo>;
    /// Whether the DN can place calls now (error 58 otherwise).
    fn in_service(&self, _dn: &DnName) -> bool {
        true
    }
    /// The DN's own `allow-pass-through-calls` (DN-level option), if it has one; None: the
    /// Application's value ([`crate::callmodel::CallModelOptions`]) applies.
    fn pass_through(&self, _dn: &DnName) -> Option<PassThroughPolicy> {
        None
    }
    /// The DN's direct-call handling (its options resolved down to the DN level, with a desktop's
    /// override on top); None: the Application's value ([`crate::callmodel::CallModelOptions`]).
    fn direct_calls(&self, _dn: &DnName) -> Option<super::DirectCallPolicy> {
        None
    }
    /// Whether an agent is logged in on the DN (`handle-direct-calls = on-login`).
    fn agent_logged_in(&self, _dn: &DnName) -> bool {
        false
    }
    /// Whether a client is registered on the Routing Point to route its calls (else a call
    /// arriving there goes to `default-dn` at once).
    fn routing_clients(&self, _rp: &DnName) -> bool {
        true
    }
    /// The Routing Point's routing options (its own values over the Application's); None: the
    /// Application's ([`crate::callmodel::CallModelOptions::routing`]).
    fn routing_options(&self, _rp: &DnName) -> Option<super::RoutingOptions> {
        None
    }
    /// The dial plan of the DN's pool (B2BUA calling); None: dial out unless a request asks
    /// for B2BUA.
    fn dial_plan(&self, _dn: &DnName) -> Option<crate::dialplan::DialPlan> {
        None
    }
    /// The supervisor subscribed to monitor the DN (issue 7), if any.
    fn monitor(&self, _dn: &DnName) -> Option<super::MonitorSpec> {
        None
    }
    /// Whether the DN is already on a call (a supervisor then is not invited).
    fn on_call(&self, _dn: &DnName) -> bool {
        false
    }
}

/// `allow-pass-through-calls`: whether a call may be left with no configured DN in it (guide,
/// "Handling Pass-Through Calls"). `Iscc` keeps multi-site calls to SIP Server DNs; there is no
/// ISCC in this T-Server, so it behaves as `All`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PassThroughPolicy {
    #[default]
    All,
    None,
    Iscc,
}

impl PassThroughPolicy {
    /// Whether a call may go on without any configured DN.
    pub fn allows(self) -> bool {
        !matches!(self, PassThroughPolicy::None)
    }
}

impl From<crate::config::values::PassThroughCalls> for PassThroughPolicy {
    fn from(v: crate::config::values::PassThroughCalls) -> Self {
        use crate::config::values::PassThroughCalls as P;
        match v {
            P::All => PassThroughPolicy::All,
            P::None => PassThroughPolicy::None,
            P::Iscc => PassThroughPolicy::Iscc,
        }
    }
}

/// A fixed set of DNs, all in service.
#[derive(Clone, Debug, Default)]
pub struct StaticDirectory(pub std::collections::BTreeMap<DnName, DnType>);

impl StaticDirectory {
    pub fn new<'a>(dns: impl IntoIterator<Item = (&'a str, DnType)>) -> Self {
        StaticDirectory(dns.into_iter().map(|(n, t)| (DnName::new(n), t)).collect())
    }
}

impl Directory for StaticDirectory {
    fn lookup(&self, uri: &str) -> Option<DnInfo> {
        let dn = DnName::new(uri);
        self.0.get(&dn).map(|t| DnInfo { dn, dn_type: *t })
    }
}

/// A party's state in the call, as the switch last reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartyState {
    /// The originator while the call is being set up.
    Dialing,
    /// Offered (ringing; emulated: from the moment the invitation is sent).
    Alerting,
    Connected,
    /// This party put the call on hold.
    Held,
}

impl PartyState {
    /// Connected or holding: taking part in the conversation.
    pub fn is_active(self) -> bool {
        matches!(self, PartyState::Connected | PartyState::Held)
    }
}

/// One participant: a configured DN or any other URI (external number, unmonitored SfB user).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Party {
    /// The URI as the switch reports it.
    pub uri: String,
    /// The configured DN, if the URI is one.
    pub dn: Option<DnName>,
    pub dn_type: Option<DnType>,
    pub state: PartyState,
    pub role: DnRole,
    /// Whether EventRinging was sent (EventAbandoned goes only to parties that had it).
    pub rang: bool,
    /// Who brought this party in (single-step conference, completed conference), for the
    /// EventPartyAdded sent when it connects.
    pub added_by: Option<DnName>,
}

impl Party {
    /// The name other parties see in OtherDN / ThirdPartyDN: the DN, else the URI.
    pub fn name(&self) -> DnName {
        self.dn.clone().unwrap_or_else(|| DnName::new(&self.uri))
    }

    /// The DN that receives call events (EventRinging, EventEstablished, ...) for this party.
    /// Routing Points get their own events with issue 5 (EventRouteRequest, EventQueued, ...), so
    /// they receive none of the extension call events here.
    pub fn call_events_dn(&self) -> Option<&DnName> {
        match self.dn_type {
            Some(DnType::RoutingPoint | DnType::ExternalRoutingPoint) => None,
            _ => self.dn.as_ref(),
        }
    }

    /// A stand-in for a DN that is no longer (or not yet) a party, to address an answer to it.
    pub fn for_dn(dn: &DnName) -> Party {
        Party {
            uri: dn.to_string(),
            dn: Some(dn.clone()),
            dn_type: None,
            state: PartyState::Connected,
            role: DnRole::Unknown,
            rang: false,
            added_by: None,
        }
    }

    pub fn is_dn(&self, dn: &DnName) -> bool {
        self.dn.as_ref() == Some(dn)
    }
}

/// Whether a consultation was started for a transfer or a conference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkKind {
    Transfer,
    Conference,
}

/// The main/consultation relation of two calls (TInitiateTransfer / TInitiateConference).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub other: ConnId,
    pub kind: LinkKind,
}

/// Which effect a pending operation waits for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// The requester's hold (initiate: before dialing; alternate: the active call).
    Hold,
    /// The requester dialing on the (new) call.
    Dial,
    /// The requester leaving the consultation (reconnect).
    Release,
    /// The requester retrieving the held call (reconnect, alternate).
    Retrieve,
    /// The effect particular to the request (see `ops.rs`).
    Effect,
    /// Only the Connector's RESPONSE (TSendDTMF).
    Response,
    /// Nothing more to wait for.
    Done,
}

/// The one telephony operation in progress on a call (error 291 for any other meanwhile). It lives
/// in the call the request named (its home); a second call it involves is locked by pointing at
/// the home (`Call::locked_by`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingOp {
    pub kind: RequestKind,
    pub client: ClientRef,
    pub reference_id: u32,
    /// ThisDN of the request.
    pub requester: DnName,
    pub stage: Stage,
    /// The switch request whose effect the stage waits for.
    pub stage_corr: Option<u64>,
    /// Whether the answering event (or EventError) went out.
    pub answered: bool,
    /// The second call (consultation, or the other call of TAlternateCall / TReconnectCall).
    pub partner: Option<ConnId>,
    /// The destination, or the party to delete, as a URI key.
    pub target: Option<String>,
    /// The call to hold first (TAlternateCall).
    pub first: Option<ConnId>,
    /// URIs on the call when the request arrived (single-step operations: who is new).
    pub known: Vec<String>,
    /// Parties leaving the consultation to join the main call (completion in progress).
    pub moving: Vec<Party>,
    /// TSingleStepTransfer: the requester left; its EventReleased waits for the recipient.
    pub released: Option<Party>,
    /// TSingleStepTransfer: the recipient connected before the requester's departure was seen.
    pub recipient_connected: bool,
    pub partner_gone: bool,
}

impl PendingOp {
    pub fn new(kind: RequestKind, client: ClientRef, reference_id: u32, requester: DnName, stage: Stage) -> Self {
        PendingOp {
            kind,
            client,
            reference_id,
            requester,
            stage,
            stage_corr: None,
            answered: false,
            partner: None,
            target: None,
            first: None,
            known: Vec::new(),
            moving: Vec::new(),
            released: None,
            recipient_connected: false,
            partner_gone: false,
        }
    }
}

/// A forwarded party whose EventReleased waits for the party the call was forwarded to
/// (ThirdPartyDN of the guide's "User B has forwarded calls to User C" flow).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deferred {
    pub party: Party,
}

/// One call (one ConnID).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub conn_id: ConnId,
    pub call_uuid: String,
    pub media: MediaType,
    /// Internal, Inbound or Outbound: judged once, from the call's origin.
    pub call_type: CallType,
    /// A consultation call (CallType Consult for its parties, for its whole life).
    pub consult: bool,
    pub link: Option<Link>,
    /// The Connector's call, once it reported it.
    pub switch: Option<SwitchCall>,
    /// The SfB Conversation-ID (empty until the Connector reports it).
    pub conversation_id: String,
    /// Calling party (ANI) and dialed destination (DNIS), as URIs.
    pub ani: String,
    pub dnis: String,
    pub parties: Vec<Party>,
    pub user_data: KvList,
    pub op: Option<PendingOp>,
    /// The call whose operation also involves this one.
    pub locked_by: Option<ConnId>,
    pub deferred: Vec<Deferred>,
    /// The last party that left: OtherDN for a party left alone.
    #[serde(default)]
    pub last_left: Option<Party>,
    /// Set once the call reached a Routing Point (issue 5).
    #[serde(default)]
    pub routing: Option<super::routing::Routing>,
    /// The requested destination of a call dialed by B2BUA.
    #[serde(default)]
    pub b2b: Option<String>,
    /// Supervisors on (or invited to) the call (issue 7).
    #[serde(default)]
    pub monitors: Vec<super::monitoring::Session>,
    pub created_at_ms: u64,
}

impl Call {
    pub fn new(conn_id: ConnId, media: MediaType, call_type: CallType, ani: &str, dnis: &str, now: u64) -> Call {
        Call {
            conn_id,
            call_uuid: call_uuid(conn_id),
            media,
            call_type,
            consult: false,
            link: None,
            switch: None,
            conversation_id: String::new(),
            ani: ani.to_string(),
            dnis: dnis.to_string(),
            parties: Vec::new(),
            user_data: KvList::new(),
            op: None,
            locked_by: None,
            deferred: Vec::new(),
            last_left: None,
            routing: None,
            b2b: None,
            monitors: Vec::new(),
            created_at_ms: now,
        }
    }

    /// The party `uri` names. The switch reports a party's URI the same way each time, so an
    /// exact match is tried first; normalising both sides (two allocations per party) only when
    /// it fails — every SfB event looks its party up.
    pub fn party(&self, uri: &str) -> Option<&Party> {
        self.party_index(uri).map(|i| &self.parties[i])
    }

    pub fn party_mut(&mut self, uri: &str) -> Option<&mut Party> {
        self.party_index(uri).map(|i| &mut self.parties[i])
    }

    fn party_index(&self, uri: &str) -> Option<usize> {
        self.parties.iter().position(|p| p.uri == uri).or_else(|| {
            let key = uri_key(uri);
            self.parties.iter().position(|p| uri_key(&p.uri) == key)
        })
    }

    pub fn party_of_dn(&self, dn: &DnName) -> Option<&Party> {
        self.parties.iter().find(|p| p.is_dn(dn))
    }

    /// Removes a party that left, remembering it as the last one.
    pub fn remove_party(&mut self, uri: &str) -> Option<Party> {
        let i = self.parties.iter().position(|p| p.uri == uri)?;
        let p = self.parties.remove(i);
        self.last_left = Some(p.clone());
        Some(p)
    }

    /// Busy with an operation of its own or of its partner.
    pub fn is_locked(&self) -> bool {
        self.op.is_some() || self.locked_by.is_some()
    }

    /// The CallType a party sees.
    pub fn type_for(&self, _p: &Party) -> CallType {
        if self.consult {
            CallType::Consult
        } else {
            self.call_type
        }
    }

    /// The party shown as OtherDN to `p`: for the originator the (latest, preferably connected)
    /// destination; for the others the originator, else the first connected party.
    pub fn other_of(&self, p: &Party) -> Option<&Party> {
        // A hidden (silent or coaching) supervisor is nobody's OtherDN.
        let others = || self.parties.iter().filter(|o| o.uri != p.uri && o.role != DnRole::Observer);
        let found = if p.role == DnRole::Origination {
            others().rfind(|o| o.state.is_active()).or_else(|| others().next_back())
        } else {
            let origin = others().find(|o| o.role == DnRole::Origination);
            origin.or_else(|| others().find(|o| o.state.is_active())).or_else(|| others().next())
        };
        found.or(self.last_left.as_ref().filter(|l| l.uri != p.uri))
    }
}

/// A per-instance unique CallUUID (32 characters) derived from the ConnID.
fn call_uuid(conn: ConnId) -> String {
    let mut z = conn.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("{:016X}{:016X}", conn.0, z ^ (z >> 31))
}

/// The comparable form of a URI as SfB normalises it: lower case, `sip:` for `user@domain`,
/// `tel:` for numbers without separators. Used to recognise a party the request named.
pub fn uri_key(raw: &str) -> String {
    let t = raw.trim().to_lowercase();
    let t = t.split(';').next().unwrap_or("").to_string();
    let tel = |n: &str| {
        let n: String = n.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        format!("tel:{n}")
    };
    if let Some(rest) = t.strip_prefix("tel:") {
        return tel(rest);
    }
    if t.starts_with("sip:") {
        return t;
    }
    if t.contains('@') {
        return format!("sip:{t}");
    }
    if t.starts_with('+') || t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return tel(&t);
    }
    t
}

/// A versioned snapshot of one call: what a Call actor persists to be rebuilt after a crash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "version")]
pub enum CallSnapshot {
    V1(Box<Call>),
}

impl CallSnapshot {
    /// The current version, upgrading older ones.
    pub fn into_call(self) -> Call {
        match self {
            CallSnapshot::V1(c) => *c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_keys_follow_sfb_normalisation() {
        assert_eq!(uri_key("SIP:Agent01@Skype.lab"), "sip:agent01@skype.lab");
        assert_eq!(uri_key("agent01@skype.lab"), "sip:agent01@skype.lab");
        assert_eq!(uri_key("+1 (415) 555-0100"), "tel:+14155550100");
        assert_eq!(uri_key("tel:+1-415"), "tel:+1415");
        assert_eq!(call_uuid(ConnId(7)).len(), 32);
    }

    #[test]
    fn a_party_is_found_by_its_uri_as_reported_or_as_normalised() {
        let mut call = Call::new(ConnId(1), MediaType::CHAT, CallType::Inbound, "tel:+1", "sip:rp1@skype.lab", 0);
        for uri in ["tel:+1 415", "SIP:Agent01@Skype.lab"] {
            let mut p = Party::for_dn(&DnName::new("x"));
            (p.uri, p.dn) = (uri.to_string(), None);
            call.parties.push(p);
        }
        assert_eq!(call.party("SIP:Agent01@Skype.lab").map(|p| p.uri.as_str()), Some("SIP:Agent01@Skype.lab"));
        assert_eq!(call.party("agent01@skype.lab").map(|p| p.uri.as_str()), Some("SIP:Agent01@Skype.lab"));
        assert_eq!(call.party("tel:+1415").map(|p| p.uri.as_str()), Some("tel:+1 415"));
        assert!(call.party("sip:agent02@skype.lab").is_none());
        call.party_mut("sip:agent01@skype.lab").unwrap().rang = true;
        assert!(call.parties[1].rang);
    }
}
