//! The emulated agent (guide: "Emulated Agents", "Agent Logins", "No-Answer Supervision",
//! Attribute Extensions WrapUpTime / LegalGuardTime / LogoutOnDisconnect / NO_ANSWER_ACTION) as a
//! pure, deterministic state machine: one [`AgentMachine`] per DN, fed agent requests, facts about
//! the calls on the DN, timer expiries, client departures and out-of-service, each with the time
//! in milliseconds; it answers with T-Library events for the DN (in order, with AgentID,
//! AgentWorkMode, Reasons and Extensions), the answer to the request, timers to arm or cancel (as
//! data) and effects for the actor. It never reads a clock, sleeps, spawns or does I/O, and it
//! never reads configuration after a login: options are resolved into [`AgentSettings`] with the
//! guide's precedence and kept in the session.
//!
//! Rules applied (docs/agents.md has the full table):
//! - one agent per DN (a second AgentID gets 1706 TERR_SOFT_AGENT_ALREADY_LOGGED_IN, the same one
//!   logging in again is reported again) and one DN per agent (1706); `agent-strict-id` refuses
//!   AgentIDs with no Agent Login object (1703 TERR_SOFT_AGENT_WRONG_ID); requests of an agent not
//!   logged in get 1707 TERR_SOFT_AGENT_NOT_LOGGED_IN; `agent-emu-login-on-call` (extension
//!   AgentEmuLoginOnCall) refuses a login or logout on a DN with a call (496);
//! - `emulated-login-state` decides the state after a login without work mode; NotReady
//!   self-transitions are reported;
//! - ACW after the last established business call (`wrap-up-time`, timed or untimed), reported by
//!   EventAgentNotReady(AfterCallWork) with WrapUpTime before EventReleased; WrapUpTime in
//!   EventEstablished; ACW in idle (`timed-acw-in-idle`, `acw-in-idle-force-ready`); extending ACW;
//!   `legal-guard-time` before every automatic return to Ready;
//! - automatic logout: `logout-on-disconnect`, `logout-on-out-of-service`, `auto-logout-timeout`
//!   with `auto-logout-ready`, and `no-answer-action` none / notready / logout.

mod acw;
mod calls;
mod events;
mod legacy;
mod machine;
mod settings;
mod supervision;
mod types;

pub use legacy::AgentSession;
pub use machine::AgentMachine;
pub use settings::{
    bool_extension, logout_on_disconnect_extension, no_answer_action, no_answer_timeout_ms, AgentSettings, WrapUp,
};
pub use supervision::auto_logout_applies;
pub use types::{
    AcwPeriod, AgentInput, AgentState, Answer, ArmedTimer, CallFact, CallOnDn, CallPhase, ClientId, ClientRequest,
    Effect, LoginCheck, LoginSession, LogoutCause, NoAnswerOverride, Output, RequestAction, Resume, TimerCmd, TimerKey,
};

#[cfg(test)]
mod tests;
