//! The data of the agent machine: its inputs (agent requests, call facts, timer expiries, client
//! and DN facts), its outputs (T-Library events, the answer to a request, timers as data, effects
//! for the actor) and the state it keeps per DN. Plain serialisable data; the rules live in
//! `machine.rs`, `acw.rs` and `supervision.rs`.

use super::settings::{AgentSettings, WrapUp};
use crate::config::NoAnswerAction;
use crate::model::{AgentId, AgentWorkMode, ConnId, DnName, ErrorCode, KvList};
use crate::tlib::Event;
use serde::{Deserialize, Serialize};

/// A T-Library client connection, as the actor layer numbers them.
pub type ClientId = u64;

/// One input of the machine.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentInput {
    /// TAgentLogin / TAgentLogout / TAgentSetReady / TAgentSetNotReady on this DN.
    Request(ClientRequest),
    /// Something happened to a call on this DN (fed before the call's event is published).
    Call(CallFact),
    /// A timer the machine asked for fired; `token` must match the one it was armed with.
    TimerExpired { key: TimerKey, token: u64 },
    /// A client disconnected from T-Server or unregistered this DN. `logout_on_disconnect` is the
    /// LogoutOnDisconnect extension of that client's TRegisterAddress on this DN, if it gave one.
    ClientGone { client: ClientId, logout_on_disconnect: Option<bool> },
    /// The DN went out of service (EventDNOutOfService is published first).
    OutOfService,
}

/// An agent request with what the machine needs from its envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientRequest {
    pub client: ClientId,
    pub reference_id: Option<u32>,
    pub this_queue: Option<DnName>,
    pub reasons: KvList,
    pub extensions: KvList,
    pub action: RequestAction,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RequestAction {
    Login { agent_id: AgentId, work_mode: Option<AgentWorkMode>, check: LoginCheck },
    Logout,
    SetReady { work_mode: Option<AgentWorkMode> },
    SetNotReady { work_mode: Option<AgentWorkMode> },
}

/// What configuration and the rest of the server say about a login (see `LoginCheck::resolve`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LoginCheck {
    /// The agent's options, resolved for this DN, this AgentID and the login's Extensions.
    pub settings: AgentSettings,
    /// `agent-strict-id` is set and the AgentID has no Agent Login object.
    pub strict_id_refused: bool,
    /// The AgentID is logged in on another DN.
    pub logged_in_elsewhere: bool,
}

/// A fact about one call on this DN. All calls are business calls in this T-Server (guide,
/// Emulated Agents); `business` exists for the day that changes.
#[derive(Clone, Debug, PartialEq)]
pub enum CallFact {
    /// EventRinging on this DN; `no_answer` carries TRouteCall's NO_ANSWER_TIMEOUT / NO_ANSWER_ACTION.
    Ringing { conn_id: ConnId, business: bool, no_answer: NoAnswerOverride },
    /// EventDialing on this DN (the agent places a call).
    Dialing { conn_id: ConnId, business: bool },
    /// EventEstablished on this DN (held calls stay established for the agent).
    Established { conn_id: ConnId, business: bool },
    /// EventReleased / EventAbandoned on this DN: the DN has left the call.
    Released { conn_id: ConnId },
    /// Whoever supervises routing found that the call rang out here (no-answer-timeout). Use this
    /// or the machine's own `NoAnswer` timer; the action is applied once per ringing call.
    NotAnswered { conn_id: ConnId, action: Option<NoAnswerAction> },
}

/// No-answer values a routed call brings with it (TRouteCall Extensions): the highest priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NoAnswerOverride {
    pub timeout_ms: Option<u64>,
    pub action: Option<NoAnswerAction>,
}

/// Which timer; at most one of each key is armed at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimerKey {
    /// End of a timed ACW period.
    AcwEnd,
    /// End of the legal-guard time (then Ready).
    LegalGuardEnd,
    /// `auto-logout-timeout` of inactivity reached.
    AutoLogout,
    /// `no-answer-timeout` of a call ringing on the DN.
    NoAnswer(ConnId),
}

/// A timer command. `Arm` replaces any timer armed under the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerCmd {
    Arm { key: TimerKey, token: u64, after_ms: u64 },
    Cancel { key: TimerKey },
}

/// Why an agent left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogoutCause {
    Request,
    ClientGone,
    OutOfService,
    AutoLogout,
    NoAnswer,
}

/// What the actor must do besides publishing events and arming timers.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// An agent logged in: claim the AgentID (one DN per agent).
    AgentLoggedIn { agent_id: AgentId },
    /// The agent left (by request or automatically): release the AgentID.
    AgentLoggedOut { agent_id: AgentId, cause: LogoutCause },
    /// The machine's no-answer timer expired: the ringing party must be taken off the call (and
    /// the router told, TERR_DN_NO_ANSWER); the agent action, if any, is already in the events.
    NoAnswer { conn_id: ConnId },
}

/// How a request was answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// `events[i]` carries the request's ReferenceID.
    Event(usize),
    /// EventError to the requesting client only.
    Error { code: ErrorCode, message: String },
}

/// Everything one input produces, in the order it must leave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    /// Agent events for every client registered on the DN, in order; published before the call
    /// event the input came from (EventAgentNotReady(ACW) before EventReleased).
    pub events: Vec<Event>,
    /// For a request: how it was answered (exactly once). None for other inputs.
    pub answer: Option<Answer>,
    /// Extensions to add to the call event of a call fact (WrapUpTime in EventEstablished).
    pub call_extensions: KvList,
    pub timers: Vec<TimerCmd>,
    pub effects: Vec<Effect>,
}

/// The agent's state, GenEM's agent-state diagram without the Busy-* combinations (those follow
/// from the calls on the DN).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AgentState {
    Ready {
        mode: AgentWorkMode,
    },
    NotReady {
        mode: AgentWorkMode,
    },
    /// NotReady before an automatic return to Ready (reported as work mode AutoIn, which GenEM
    /// also names AgentLegalGuard).
    LegalGuard {
        until_ms: u64,
        ready_mode: AgentWorkMode,
    },
    AfterCallWork {
        period: AcwPeriod,
        resume: Resume,
    },
}

/// How long the current ACW lasts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AcwPeriod {
    /// Requested during a call: starts when the last business call is released.
    Pending {
        requested: Option<WrapUp>,
    },
    Timed {
        until_ms: u64,
    },
    Untimed,
}

/// Where a timed ACW ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Resume {
    Ready { mode: AgentWorkMode },
    NotReady { mode: AgentWorkMode, reasons: KvList },
}

/// The logged-in agent of a DN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoginSession {
    pub agent_id: AgentId,
    pub state: AgentState,
    /// Reasons of the agent's last accepted request (shown in EventRegistered / EventAddressInfo).
    pub reasons: KvList,
    /// The login's ThisQueue, repeated on every agent event of the session.
    pub queue: Option<DnName>,
    /// The client whose TAgentLogin first logged the agent in (logout-on-disconnect).
    pub login_client: ClientId,
    pub settings: AgentSettings,
    /// The Ready work mode to return to after ACW or legal guard.
    pub ready_mode: AgentWorkMode,
    /// Last agent request or call fact (auto-logout-timeout counts from here).
    pub last_activity_ms: u64,
}

/// Where a call on the DN is, from this DN's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallPhase {
    Ringing,
    Dialing,
    Established,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallOnDn {
    pub conn_id: ConnId,
    pub phase: CallPhase,
    pub business: bool,
    pub was_established: bool,
    /// The routed call's own NO_ANSWER_ACTION, if it brought one.
    pub no_answer_action: Option<NoAnswerAction>,
    /// Deadline of the machine's no-answer supervision while the call rings.
    pub no_answer_until: Option<u64>,
    /// The no-answer action was applied for this ringing (never twice).
    pub no_answer_done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmedTimer {
    pub key: TimerKey,
    pub until_ms: u64,
    pub token: u64,
}
