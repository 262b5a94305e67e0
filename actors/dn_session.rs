//! The Dn's side of its agent's AgentSession (a child module of `dn.rs`). Every agent input goes
//! through [`DnState::route`] into the Dn's inbox and out of it in order: to the Dn's own machine
//! while nobody is logged in, to the session while an agent is. A login the Dn ran hands the
//! machine to a new session (`hand_off`); a logout the session ran brings it back
//! (`hand_back`, through AgentSup). Each input is answered by the session with its machine when
//! it changed: the Dn's mirror, which EventRegistered, presence and views read.
//!
//! A session that fails with an input keeps the Dn's inbox waiting until its next incarnation
//! says it is up (`SessionUp`); the input it failed with is given to it once more, and dropped
//! (answered TERR_INTERNAL when it was a request) if it fails again: a poison input must not keep
//! the agent's session crashing. A session that does not come back within `SESSION_WAIT` (parked
//! by AgentSup) is given up: the Dn runs the agent from the session's last snapshot.

use super::{DnMsg, DnState};
use crate::actors::agent_core::{self, reply_error, AgentHost, AgentWork};
use crate::actors::agent_session::{self, AgentSessionMsg, Mirror};
use crate::actors::agent_sup::AgentSupMsg;
use crate::agent::AgentMachine;
use crate::model::ErrorCode;
use ractor::rpc::CallResult;
use ractor::ActorRef;
use std::time::Duration;

/// How long the Dn waits for its session to carry out one input.
const WORK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long AgentSup may take to start a session or take one's machine back.
const SUP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a failed session may take to come back before the Dn runs the agent itself.
const SESSION_WAIT: Duration = Duration::from_secs(3);

/// The DN's AgentSession, seen from the Dn.
pub(super) struct SessionLink {
    /// None while it is being restarted: what arrives meanwhile waits in the inbox.
    actor: Option<ActorRef<AgentSessionMsg>>,
    /// The session's revision the mirror reflects (a timer's step can be overtaken by an answer).
    revision: u64,
}

impl SessionLink {
    /// For views: the session's actor id, or "restarting".
    pub(super) fn describe(&self) -> String {
        self.actor.as_ref().map_or_else(|| "restarting".to_string(), |a| a.get_id().to_string())
    }
}

impl DnState {
    pub(super) async fn route(&mut self, work: AgentWork) {
        // The session would only publish it: published here, unless something waits before it.
        if self.session.is_some() && self.inbox.is_empty() && !agent_core::concerns_machine(&self.core.machine, &work) {
            return self.work(work);
        }
        self.inbox.push_back((work, 0));
        self.drain().await;
    }

    /// Carries out what waits in the inbox, in order, until it is empty or the session is away.
    pub(super) async fn drain(&mut self) {
        loop {
            // A session whose agent is gone gives the machine back before anything else runs.
            if self.session.as_ref().is_some_and(|l| l.actor.is_some())
                && self.core.machine.session().is_none()
                && !self.hand_back().await
            {
                return;
            }
            let Some((work, attempts)) = self.inbox.pop_front() else { return };
            let Some(link) = &self.session else {
                // A login hands the agent to its session. An agent this Dn already runs (its
                // session was given up, or AgentSup was away at the login) stays here.
                let had_agent = self.core.machine.session().is_some();
                self.work(work);
                if !had_agent && self.core.machine.session().is_some() {
                    self.hand_off(true).await;
                }
                continue;
            };
            let Some(actor) = link.actor.clone() else {
                self.inbox.push_front((work, attempts));
                return;
            };
            let kept = work.clone();
            match actor.call(|reply| AgentSessionMsg::Work { work: Box::new(work), reply }, Some(WORK_TIMEOUT)).await {
                Ok(CallResult::Success(mirror)) => self.apply_mirror(mirror),
                _ => {
                    tracing::warn!(dn = %self.dn, attempts, "the agent session failed with an input");
                    self.session_lost();
                    if attempts == 0 {
                        self.inbox.push_front((kept, 1));
                    } else {
                        self.poison(kept);
                    }
                    return;
                }
            }
        }
    }

    /// The Dn's machine has a logged-in agent: from now on its session runs it. `write`: the
    /// session starts from this machine (false when a session snapshot exists: it is newer).
    pub(super) async fn hand_off(&mut self, write: bool) {
        let Some(sup) = self.ctx.agent_sup() else {
            tracing::warn!(dn = %self.dn, "no AgentSup: the Dn runs the agent itself");
            return;
        };
        if write {
            agent_session::write_snapshot(&self.ctx, &self.core.machine, self.revision);
        }
        let dn = self.dn.clone();
        match sup.call(|reply| AgentSupMsg::Start { dn, reply }, Some(SUP_TIMEOUT)).await {
            Ok(CallResult::Success(Ok(actor))) => {
                self.core.abort_timers();
                self.session = Some(SessionLink { actor: None, revision: 0 });
                match actor {
                    Some(actor) => {
                        self.attach(actor).await;
                    }
                    None => self.session_lost(),
                }
            }
            other => {
                let error = match other {
                    Ok(CallResult::Success(Err(e))) => e,
                    _ => "AgentSup did not answer".into(),
                };
                tracing::warn!(dn = %self.dn, %error, "agent session not started: the Dn runs the agent itself");
                self.ctx.snapshots.remove(&agent_session::child_name(&self.dn));
            }
        }
    }

    /// Finds the session of a restarted Dn: the one up, or the one its snapshot calls for (that
    /// snapshot is newer than the Dn's own); else the Dn runs its machine and arms its timers.
    pub(super) async fn find_session(&mut self) {
        let mut attached = false;
        if let Some(actor) = self.ctx.directory.agent_session(&self.dn) {
            self.session = Some(SessionLink { actor: None, revision: 0 });
            attached = self.attach(actor).await;
        }
        if !attached {
            if let Some((machine, _)) = agent_session::read_snapshot(&self.ctx, &self.dn) {
                self.core.machine = machine;
                self.hand_off(false).await;
            } else {
                self.session = None;
                if self.core.machine.session().is_some() {
                    self.hand_off(true).await;
                }
            }
        }
        if self.session.is_none() {
            self.rearm();
        }
    }

    /// Takes the session's machine as the mirror; false if it did not answer.
    async fn attach(&mut self, actor: ActorRef<AgentSessionMsg>) -> bool {
        match actor.call(AgentSessionMsg::Attach, Some(WORK_TIMEOUT)).await {
            Ok(CallResult::Success(Mirror { machine: Some(machine), revision })) => {
                self.core.abort_timers();
                self.session = Some(SessionLink { actor: Some(actor), revision });
                self.core.machine = machine;
                self.stepped();
                true
            }
            _ => {
                self.session_lost();
                false
            }
        }
    }

    /// The machine after one of the session's timers (an automatic return to Ready, an automatic
    /// logout — then the machine comes back here).
    pub(super) async fn session_mirror(&mut self, mirror: Mirror) {
        self.apply_mirror(mirror);
        self.drain().await;
    }

    /// Before the agent's state is reported (EventRegistered, EventAddressInfo): the session's
    /// machine as it is now, so a timer step whose mirror is still on its way is not missed by a
    /// client that registers after that step's events went out.
    pub(super) async fn refresh_mirror(&mut self) {
        let Some(actor) = self.session.as_ref().and_then(|l| l.actor.clone()) else { return };
        if !self.inbox.is_empty() {
            return; // the state the inbox leads to is not known yet: the mirror is what was told
        }
        if let Ok(CallResult::Success(mirror)) = actor.call(AgentSessionMsg::Attach, Some(WORK_TIMEOUT)).await {
            self.apply_mirror(mirror);
        }
    }

    fn apply_mirror(&mut self, mirror: Mirror) {
        let Some(link) = self.session.as_mut() else { return };
        if mirror.revision < link.revision {
            return;
        }
        link.revision = mirror.revision;
        if let Some(machine) = mirror.machine {
            self.core.machine = machine;
            self.stepped();
        }
    }

    /// The agent is logged out: the machine comes back from the session (through AgentSup,
    /// which then stops it). False if it could not be had (the session failed meanwhile).
    async fn hand_back(&mut self) -> bool {
        let dn = self.dn.clone();
        let back = match self.ctx.agent_sup() {
            Some(sup) => sup.call(|reply| AgentSupMsg::Handback { dn, reply }, Some(SUP_TIMEOUT)).await,
            None => Ok(CallResult::Success(None)),
        };
        match back {
            Ok(CallResult::Success(Some(machine))) => {
                self.take_machine(machine);
                true
            }
            _ => {
                self.session_lost();
                false
            }
        }
    }

    /// The Dn runs the machine from now on.
    fn take_machine(&mut self, machine: AgentMachine) {
        self.session = None;
        self.core.machine = machine;
        self.persist();
        self.rearm();
        self.stepped();
    }

    /// The session is away: wait for its next incarnation, but not forever.
    fn session_lost(&mut self) {
        if let Some(link) = self.session.as_mut() {
            link.actor = None;
        }
        self.me.send_after(SESSION_WAIT, || DnMsg::SessionCheck);
    }

    /// A session incarnation is up (its first, or one after a failure).
    pub(super) async fn session_up(&mut self, actor: ActorRef<AgentSessionMsg>) {
        let known = self.session.as_ref().and_then(|l| l.actor.as_ref()).map(|a| a.get_id());
        if known == Some(actor.get_id()) {
            return;
        }
        if self.session.is_none() {
            tracing::warn!(dn = %self.dn, "an agent session this Dn did not start is up: it runs the agent");
            self.core.abort_timers();
            self.session = Some(SessionLink { actor: None, revision: 0 });
        }
        if self.attach(actor).await {
            self.drain().await;
        }
    }

    /// `SESSION_WAIT` after a failure: a session still away is given up.
    pub(super) async fn session_check(&mut self) {
        if self.session.as_ref().is_none_or(|l| l.actor.is_some()) {
            return;
        }
        if let Some(actor) = self.ctx.directory.agent_session(&self.dn) {
            if self.attach(actor).await {
                return self.drain().await;
            }
        }
        tracing::error!(dn = %self.dn, "the agent session did not come back: the Dn runs the agent itself");
        let machine = agent_session::read_snapshot(&self.ctx, &self.dn).map(|(m, _)| m);
        if let Some(sup) = self.ctx.agent_sup() {
            let _ = sup.cast(AgentSupMsg::Discard { dn: self.dn.clone() });
        }
        self.take_machine(machine.unwrap_or_else(|| self.core.machine.clone()));
        self.drain().await;
    }

    /// An input the session failed with twice.
    fn poison(&self, work: AgentWork) {
        tracing::error!(dn = %self.dn, "the agent session failed twice with one input: dropped");
        if let Some((client, reference_id)) = work.requester() {
            let msg = "the agent session failed with this request";
            reply_error(&self.ctx, &self.dn, client, reference_id, ErrorCode::Internal, msg);
        }
    }
}
