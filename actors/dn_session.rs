//! The Dn's side of its agent's AgentSession (a child module of `dn.rs`). Every agent input goes
//! through [`DnState::route`] into the Dn's inbox and out of it in order: to the Dn's own machine
//! while nobody is logged in, to the session while an agent is. A login the Dn ran hands the
//! machine to a new session (`hand_off`); a logout the session ran brings it back (`hand_back`).
//! Each input is answered by the session with its machine when it changed: the Dn's mirror,
//! which EventRegistered, presence and views read. Mirrors are taken only from the session of
//! the current login (its epoch) and in revision order.
//!
//! Inputs sent to the session are numbered; the session records the last one it carried out in
//! its snapshot, so an input sent again (its session failed or did not answer in time) is never
//! run twice. A session that fails keeps the inbox waiting until its next incarnation is up
//! (`SessionUp`; AgentSup says at once when one fails); the input it failed with is given to it
//! once more, then passed over — a request answered TERR_INTERNAL, a call event published as it
//! is: a poison input must not keep the agent's session crashing. A session that does not come
//! back within `SESSION_WAIT` (parked by AgentSup) is given up: the Dn runs the agent from the
//! session's last snapshot until the logout.

use super::{DnMsg, DnState};
use crate::actors::agent_core::{self, reply_error, AgentHost, AgentWork};
use crate::actors::agent_session::{self, AgentSessionMsg, Mirror, Record};
use crate::actors::agent_sup::AgentSupMsg;
use crate::actors::call::now_ms;
use crate::agent::AgentMachine;
use crate::model::ErrorCode;
use ractor::rpc::CallResult;
use ractor::{ActorId, ActorRef, MessagingErr};
use std::time::Duration;

/// How long the Dn waits for its session to carry out one input.
const WORK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long AgentSup may take to start a session.
const SUP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a failed session may take to come back before the Dn runs the agent itself.
const SESSION_WAIT: Duration = Duration::from_secs(3);

/// The DN's AgentSession, seen from the Dn.
pub(super) struct SessionLink {
    /// None while it is away (being restarted): what arrives meanwhile waits in the inbox.
    actor: Option<ActorRef<AgentSessionMsg>>,
    /// The login it serves, and its revision the mirror reflects.
    epoch: u64,
    revision: u64,
    /// The number the next input sent to it gets.
    next_seq: u64,
    /// Which `CheckSession` counts (an older one is stale).
    check: u64,
}

impl SessionLink {
    /// For views: the session's actor id, or "away" while it is being restarted or parked.
    pub(super) fn describe(&self) -> String {
        self.actor.as_ref().map_or_else(|| "away".to_string(), |a| a.get_id().to_string())
    }
}

/// One input in the Dn's inbox: how often its session failed with it, and its number once sent.
pub(super) struct Queued {
    work: AgentWork,
    failures: u8,
    seq: Option<u64>,
}

impl DnState {
    pub(super) async fn route(&mut self, work: AgentWork) {
        // The session would only publish it: published here, unless something waits before it.
        if self.session.is_some() && self.inbox.is_empty() && !agent_core::concerns_machine(&self.core.machine, &work) {
            return self.work(work);
        }
        self.inbox.push_back(Queued { work, failures: 0, seq: None });
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
            let Some(mut q) = self.inbox.pop_front() else { return };
            let Some(link) = self.session.as_mut() else {
                // A login hands the agent to its session. An agent this Dn already runs (its
                // session was given up, or AgentSup was away at the login) stays here.
                let had_agent = self.core.machine.session().is_some();
                self.work(q.work);
                if !had_agent && self.core.machine.session().is_some() {
                    self.hand_off().await;
                }
                continue;
            };
            let Some(actor) = link.actor.clone() else {
                self.inbox.push_front(q);
                return;
            };
            let seq = *q.seq.get_or_insert_with(|| {
                link.next_seq += 1;
                link.next_seq - 1
            });
            let work = Box::new(q.work.clone());
            match actor.call(|reply| AgentSessionMsg::Work { seq, work, reply }, Some(WORK_TIMEOUT)).await {
                Ok(CallResult::Success(mirror)) => self.apply_mirror(mirror),
                failed => {
                    // It died with the input (or before it), or did not answer in time: the
                    // input goes again to whichever incarnation answers next, which knows
                    // whether it carried it out. Only a failure while handling it counts.
                    let with_it = matches!(failed, Ok(CallResult::SenderError));
                    let sent = !matches!(failed, Err(MessagingErr::SendErr(_)));
                    tracing::warn!(dn = %self.dn, seq, with_it, sent, "the agent session did not carry out an input");
                    q.failures += with_it as u8;
                    if q.failures >= 2 {
                        self.pass_over(q.work);
                    } else {
                        self.inbox.push_front(q);
                    }
                    self.session_lost();
                    return;
                }
            }
        }
    }

    /// The Dn's machine has just logged an agent in: from now on its session runs it. The
    /// session starts from this machine, under a new epoch.
    async fn hand_off(&mut self) {
        let record = Record { revision: self.revision, epoch: now_ms().max(self.last_epoch + 1), applied: 0 };
        self.last_epoch = record.epoch;
        agent_session::write_snapshot(&self.ctx, &self.core.machine, record);
        self.start_session().await;
    }

    /// Asks AgentSup for the session its snapshot calls for; the Dn runs the agent itself if
    /// there is none to be had.
    async fn start_session(&mut self) {
        let dn = self.dn.clone();
        let started = match self.ctx.agent_sup() {
            Some(sup) => match sup.call(|reply| AgentSupMsg::Start { dn, reply }, Some(SUP_TIMEOUT)).await {
                Ok(CallResult::Success(r)) => r,
                _ => Err("AgentSup did not answer".into()),
            },
            None => Err("no AgentSup".into()),
        };
        match started {
            Ok(actor) => {
                self.core.abort_timers();
                self.session = Some(SessionLink { actor: None, epoch: 0, revision: 0, next_seq: 1, check: 0 });
                match actor {
                    Some(actor) => {
                        self.attach(actor).await;
                    }
                    None => self.session_lost(), // being restarted: it says when it is up
                }
            }
            Err(error) => {
                tracing::warn!(dn = %self.dn, %error, "agent session not started: the Dn runs the agent itself");
                self.persist(); // the machine is in the Dn's snapshot before the session's goes
                self.ctx.snapshots.remove(&agent_session::child_name(&self.dn));
            }
        }
    }

    /// Finds the session of a restarted Dn: the one up, or the one its snapshot calls for (that
    /// snapshot is newer than the Dn's own); else the Dn runs its machine and arms its timers.
    pub(super) async fn find_session(&mut self) {
        self.session = None;
        if let Some(actor) = self.ctx.directory.agent_session(&self.dn) {
            self.session = Some(SessionLink { actor: None, epoch: 0, revision: 0, next_seq: 1, check: 0 });
            if self.attach(actor).await {
                return;
            }
        }
        if let Some((machine, record)) = agent_session::read_snapshot(&self.ctx, &self.dn) {
            self.core.machine = machine;
            self.last_epoch = record.epoch;
            self.start_session().await;
        } else if self.core.machine.session().is_some() {
            self.session = None;
            self.hand_off().await;
        } else {
            self.session = None;
        }
        if self.session.is_none() {
            self.rearm();
        }
    }

    /// Takes the session's machine as the mirror (whatever it was before); false if it did not
    /// answer.
    async fn attach(&mut self, actor: ActorRef<AgentSessionMsg>) -> bool {
        let me = self.me.clone();
        match actor.call(|reply| AgentSessionMsg::Attach { dn: me, reply }, Some(WORK_TIMEOUT)).await {
            Ok(CallResult::Success(Mirror { machine: Some(machine), revision, epoch, applied })) => {
                self.core.abort_timers();
                let next_seq = self.session.as_ref().map_or(1, |l| l.next_seq).max(applied + 1);
                let check = self.session.as_ref().map_or(0, |l| l.check);
                self.session = Some(SessionLink { actor: Some(actor), epoch, revision, next_seq, check });
                self.last_epoch = self.last_epoch.max(epoch);
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
    pub(super) async fn session_stepped(&mut self, mirror: Mirror) {
        self.apply_mirror(mirror);
        self.drain().await;
    }

    /// Before the agent's state is reported (EventRegistered, EventAddressInfo): the session's
    /// machine as it is now, so a timer step whose mirror is still on its way is not missed by a
    /// client that registers after that step's events went out.
    pub(super) async fn refresh_mirror(&mut self) {
        let Some(actor) = self.session.as_ref().and_then(|l| l.actor.clone()) else { return };
        if self.inbox.is_empty() {
            self.attach(actor).await;
        }
    }

    fn apply_mirror(&mut self, mirror: Mirror) {
        let Some(link) = self.session.as_mut().filter(|l| l.actor.is_some()) else { return };
        if mirror.epoch != link.epoch || mirror.revision < link.revision {
            return; // another login's session, or overtaken by a later answer
        }
        link.revision = mirror.revision;
        if let Some(machine) = mirror.machine {
            self.core.machine = machine;
            self.stepped();
        }
    }

    /// The agent is logged out: the machine comes back from the session, goes into the Dn's
    /// snapshot, and only then the session's snapshot goes and AgentSup ends it. False if it
    /// could not be had (the session failed meanwhile).
    async fn hand_back(&mut self) -> bool {
        let Some(actor) = self.session.as_ref().and_then(|l| l.actor.clone()) else { return false };
        match actor.call(AgentSessionMsg::Handback, Some(WORK_TIMEOUT)).await {
            Ok(CallResult::Success(machine)) => {
                self.take_machine(machine);
                if let Some(sup) = self.ctx.agent_sup() {
                    let _ = sup.cast(AgentSupMsg::Ended { dn: self.dn.clone(), id: actor.get_id() });
                }
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
        self.ctx.snapshots.remove(&agent_session::child_name(&self.dn));
        self.rearm();
        self.stepped();
    }

    /// The session is away: wait for its next incarnation, but not forever.
    fn session_lost(&mut self) {
        let Some(link) = self.session.as_mut() else { return };
        link.actor = None;
        link.check += 1;
        let generation = link.check;
        self.me.send_after(SESSION_WAIT, move || DnMsg::CheckSession { generation });
    }

    /// AgentSup saw a session fail.
    pub(super) fn session_down(&mut self, id: ActorId) {
        if self.session.as_ref().and_then(|l| l.actor.as_ref()).is_some_and(|a| a.get_id() == id) {
            self.session_lost();
        }
    }

    /// A session incarnation is up (its first, or one after a failure).
    pub(super) async fn session_up(&mut self, actor: ActorRef<AgentSessionMsg>) {
        let known = self.session.as_ref().and_then(|l| l.actor.as_ref()).map(|a| a.get_id());
        if known == Some(actor.get_id()) {
            return;
        }
        if self.session.is_none() {
            // The Dn runs the agent (it gave that session up, or never had one): the Dn's machine
            // is the newer, the session a leftover.
            tracing::warn!(dn = %self.dn, "an agent session this Dn does not run its agent through: ended");
            self.ctx.snapshots.remove(&agent_session::child_name(&self.dn));
            if let Some(sup) = self.ctx.agent_sup() {
                let _ = sup.cast(AgentSupMsg::Discard { dn: self.dn.clone(), id: Some(actor.get_id()) });
            }
            return;
        }
        if self.attach(actor).await {
            self.drain().await;
        }
    }

    /// `SESSION_WAIT` after the session went away: one still away is given up.
    pub(super) async fn check_session(&mut self, generation: u64) {
        if !self.session.as_ref().is_some_and(|l| l.actor.is_none() && l.check == generation) {
            return;
        }
        if let Some(actor) = self.ctx.directory.agent_session(&self.dn) {
            if self.attach(actor).await {
                return self.drain().await;
            }
        }
        tracing::error!(dn = %self.dn, "the agent session did not come back: the Dn runs the agent itself");
        let machine = agent_session::read_snapshot(&self.ctx, &self.dn).map(|(m, _)| m);
        self.take_machine(machine.unwrap_or_else(|| self.core.machine.clone()));
        if let Some(sup) = self.ctx.agent_sup() {
            let _ = sup.cast(AgentSupMsg::Discard { dn: self.dn.clone(), id: None });
        }
        self.drain().await;
    }

    /// An input the session failed with twice: a request is answered TERR_INTERNAL, a call
    /// event still reaches the desktops (the machine does not learn from it).
    fn pass_over(&self, work: AgentWork) {
        tracing::error!(dn = %self.dn, "the agent session failed twice with one input: passed over");
        match work {
            AgentWork::Request { client, request } => {
                let msg = "the agent session failed with this request";
                reply_error(&self.ctx, &self.dn, &client, request.reference_id, ErrorCode::Internal, msg);
            }
            AgentWork::CallEvent { event, requester, .. } => {
                agent_core::distribute(&self.ctx, &self.dn, *event, requester);
            }
            AgentWork::Input(_) => {}
        }
    }
}
