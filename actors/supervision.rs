//! The supervision kit every supervisor uses. ractor only *notifies* a parent when a child exits;
//! the policy is ours: a per-child restart window with exponential backoff (scheduled with
//! `send_after`, never by sleeping in the supervisor), parking of a child that keeps failing so
//! its siblings keep serving, escalation only when the whole supervisor exceeds its cap, and an
//! explicit stop of the children in reverse start order (ractor would otherwise kill them without
//! `post_stop`). Each supervisor publishes its child table on the [`Board`] so the admin endpoint
//! can draw the tree and ask for a restart without messaging up the tree.

use crate::actors::board::{Board, ChildInfo, ChildStatus, SupervisorHandle};
use ractor::{ActorCell, ActorId, ActorProcessingErr, ActorRef, Message, RpcReplyPort, SpawnErr, SupervisionEvent};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Spawns one incarnation of a child, linked to the given supervisor cell.
pub type SpawnFn = Arc<dyn Fn(ActorCell) -> SpawnFuture + Send + Sync>;
pub type SpawnFuture = Pin<Box<dyn Future<Output = Result<ActorCell, SpawnErr>> + Send>>;

/// Whether a child is restarted, as in OTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Always restarted (after a failure or an unexpected clean exit).
    Permanent,
    /// Restarted only after a failure; a clean exit is the end of its life (calls).
    Transient,
    /// Never restarted (client sessions: the client reconnects).
    Temporary,
}

#[derive(Clone, Copy, Debug)]
pub struct RestartPolicy {
    pub restart: Restart,
    /// Restarts of one child allowed within `window` before it is parked.
    pub max_restarts: usize,
    pub window: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Restarts of all children within `window` before the supervisor itself fails (escalation).
    pub escalate_after: usize,
}

impl RestartPolicy {
    pub const fn permanent() -> Self {
        RestartPolicy {
            restart: Restart::Permanent,
            max_restarts: 5,
            window: Duration::from_secs(30),
            backoff_base: Duration::from_millis(5),
            backoff_max: Duration::from_secs(2),
            escalate_after: 1000,
        }
    }
    pub const fn temporary() -> Self {
        RestartPolicy { restart: Restart::Temporary, ..Self::permanent() }
    }
    /// Backoff before the n-th restart within the window (n >= 1): base, 2·base, 4·base, ... capped.
    pub fn backoff(&self, n: usize) -> Duration {
        let factor = 1u32 << (n.saturating_sub(1)).min(16) as u32;
        self.backoff_base.saturating_mul(factor).min(self.backoff_max)
    }
}

/// One child as declared by its supervisor.
#[derive(Clone)]
pub struct ChildSpec {
    /// Unique name across the tree ("persister", "dn:sip:agent01@skype.lab"); also the snapshot key.
    pub name: String,
    /// Actor kind shown in `/tree` and counted in metrics ("Dn", "DnSup", ...).
    pub kind: &'static str,
    pub policy: RestartPolicy,
    pub spawn: SpawnFn,
}

/// A child spec whose every incarnation is `make()`'s actor and arguments, spawned linked to the
/// supervisor (the arguments are made afresh for each restart).
pub fn child<A, F>(name: impl Into<String>, kind: &'static str, policy: RestartPolicy, make: F) -> ChildSpec
where
    A: ractor::Actor,
    F: Fn() -> (A, A::Arguments) + Send + Sync + 'static,
{
    ChildSpec {
        name: name.into(),
        kind,
        policy,
        spawn: Arc::new(move |sup| {
            let (actor, args) = make();
            Box::pin(async move { Ok(ractor::Actor::spawn_linked(None, actor, args, sup).await?.0.get_cell()) })
        }),
    }
}

/// The commands every supervisor accepts; its own message type embeds them via `From`.
pub enum SupervisorCmd {
    /// A backoff timer fired: spawn the child again.
    RestartChild { name: String, generation: u64 },
    /// Operator restart (admin endpoint): stop the child if running, then start it again at once.
    RestartInPlace { name: String, reply: RpcReplyPort<Result<(), String>> },
}

struct Entry {
    spec: ChildSpec,
    cell: Option<ActorCell>,
    status: ChildStatus,
    restarts: u64,
    window: VecDeque<Instant>,
    last_error: Option<String>,
    /// Guards against a stale backoff timer restarting a child that was restarted meanwhile.
    generation: u64,
    /// Its place in `Children::order` (kept across restarts).
    seq: u64,
}

/// A supervisor's children in start order, with their restart bookkeeping.
pub struct Children {
    sup_name: String,
    board: Board,
    /// Start order by sequence number. Not a Vec: CallSup has a child per call (20,000 at
    /// 1,000 CPS), and removing a name from a Vec scanned them all at every call's end (6.6% of
    /// the T-Server's CPU in that run).
    order: BTreeMap<u64, String>,
    next_seq: u64,
    entries: HashMap<String, Entry>,
    by_id: HashMap<ActorId, String>,
    sup_window: VecDeque<Instant>,
}

impl Children {
    /// Registers this supervisor on the board so the admin endpoint can reach it.
    pub fn new<M>(sup_name: &str, myself: &ActorRef<M>, board: Board) -> Self
    where
        M: Message + From<SupervisorCmd>,
    {
        let handle: Arc<dyn SupervisorHandle> = Arc::new(myself.clone());
        board.register_supervisor(sup_name, handle);
        // A previous incarnation that failed never stopped its children in order: ractor killed
        // them, and their rows would stay on the board as if running.
        for c in board.children().into_iter().filter(|c| c.supervisor == sup_name) {
            board.remove_child(&c.name);
        }
        Children {
            sup_name: sup_name.to_string(),
            board,
            order: BTreeMap::new(),
            next_seq: 0,
            entries: HashMap::new(),
            by_id: HashMap::new(),
            sup_window: VecDeque::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&ActorCell> {
        self.entries.get(name).and_then(|e| e.cell.as_ref())
    }

    /// Whether the child is known, running or not (restarting, parked).
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Starts a new child and remembers it (start order is stop order reversed).
    pub async fn start(&mut self, spec: ChildSpec, sup: &ActorCell) -> Result<ActorCell, SpawnErr> {
        let name = spec.name.clone();
        let cell = (spec.spawn)(sup.clone()).await?;
        self.by_id.insert(cell.get_id(), name.clone());
        let seq = match self.entries.get(&name) {
            Some(e) => e.seq,
            None => {
                self.next_seq += 1;
                self.order.insert(self.next_seq, name.clone());
                self.next_seq
            }
        };
        self.entries.insert(
            name.clone(),
            Entry {
                spec,
                cell: Some(cell.clone()),
                status: ChildStatus::Running,
                restarts: 0,
                window: VecDeque::new(),
                last_error: None,
                generation: 0,
                seq,
            },
        );
        self.publish(&name);
        Ok(cell)
    }

    /// The name of a running child, by actor id.
    pub fn name_of(&self, id: ActorId) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    /// Stops one child for good without waiting for it: it is forgotten at once, so a new child
    /// may take its name right away (its exit is then an unknown id, ignored).
    pub fn forget(&mut self, name: &str) {
        if let Some(entry) = self.remove(name) {
            if let Some(cell) = entry.cell {
                self.by_id.remove(&cell.get_id());
                cell.stop(Some("stopped by supervisor".into()));
            }
        }
    }

    /// Stops one child for good (e.g. a client session that closed) without restarting it.
    pub async fn stop_child(&mut self, name: &str, timeout: Duration) {
        if let Some(entry) = self.remove(name) {
            if let Some(cell) = entry.cell {
                self.by_id.remove(&cell.get_id());
                let _ = cell.stop_and_wait(Some("stopped by supervisor".into()), Some(timeout)).await;
            }
        }
    }

    /// Applies the restart policy to a supervision event. `Err` means escalate: the supervisor
    /// returns it from `handle_supervisor_evt` and fails, and its own parent decides.
    pub fn on_event<M>(&mut self, myself: &ActorRef<M>, evt: SupervisionEvent) -> Result<(), ActorProcessingErr>
    where
        M: Message + From<SupervisorCmd>,
    {
        let (cell, failure) = match evt {
            SupervisionEvent::ActorFailed(cell, err) => (cell, Some(err.to_string())),
            SupervisionEvent::ActorTerminated(cell, _, _) => (cell, None),
            _ => return Ok(()),
        };
        // Unknown ids are incarnations we stopped ourselves (restart in place, shutdown).
        let Some(name) = self.by_id.remove(&cell.get_id()) else { return Ok(()) };
        let Some(entry) = self.entries.get_mut(&name) else { return Ok(()) };
        entry.cell = None;
        let failed = failure.is_some();
        let restart = match entry.spec.policy.restart {
            Restart::Permanent => true,
            Restart::Transient => failed,
            Restart::Temporary => false,
        };
        if !restart {
            tracing::debug!(supervisor = %self.sup_name, child = %name, failed, "child ended");
            self.remove(&name);
            return Ok(());
        }
        let now = Instant::now();
        let policy = entry.spec.policy;
        entry.window.retain(|t| now.duration_since(*t) < policy.window);
        entry.window.push_back(now);
        entry.last_error = failure.clone().or(Some("exited".into()));
        self.sup_window.retain(|t| now.duration_since(*t) < policy.window);
        self.sup_window.push_back(now);
        if self.sup_window.len() > policy.escalate_after {
            return Err(format!(
                "supervisor {} exceeded {} restarts in {:?}; escalating",
                self.sup_name, policy.escalate_after, policy.window
            )
            .into());
        }
        if entry.window.len() > policy.max_restarts {
            entry.status = ChildStatus::Parked;
            tracing::error!(supervisor = %self.sup_name, child = %name, error = ?entry.last_error,
                "child keeps failing; parked (siblings keep serving; POST /restart to retry)");
            self.publish(&name);
            return Ok(());
        }
        let backoff = policy.backoff(entry.window.len());
        entry.status = ChildStatus::Restarting;
        entry.generation += 1;
        let generation = entry.generation;
        tracing::warn!(supervisor = %self.sup_name, child = %name, error = ?entry.last_error,
            backoff_ms = backoff.as_millis() as u64, "child exited; restarting");
        self.publish(&name);
        let n = name.clone();
        myself.send_after(backoff, move || SupervisorCmd::RestartChild { name: n, generation }.into());
        Ok(())
    }

    /// Handles a [`SupervisorCmd`] sent to this supervisor.
    pub async fn on_cmd(&mut self, cmd: SupervisorCmd, sup: &ActorCell) {
        match cmd {
            SupervisorCmd::RestartChild { name, generation } => {
                let current = self.entries.get(&name).map(|e| (e.generation, e.status));
                if current != Some((generation, ChildStatus::Restarting)) {
                    return; // stale timer: restarted in place meanwhile, or removed
                }
                if let Err(e) = self.respawn(&name, sup).await {
                    tracing::error!(supervisor = %self.sup_name, child = %name, error = %e, "restart failed");
                    if let Some(entry) = self.entries.get_mut(&name) {
                        entry.status = ChildStatus::Parked;
                        entry.last_error = Some(e);
                    }
                    self.publish(&name);
                }
            }
            SupervisorCmd::RestartInPlace { name, reply } => {
                let result = self.restart_in_place(&name, sup).await;
                if !reply.is_closed() {
                    let _ = reply.send(result);
                }
            }
        }
    }

    async fn restart_in_place(&mut self, name: &str, sup: &ActorCell) -> Result<(), String> {
        let entry = self.entries.get_mut(name).ok_or_else(|| format!("{name} is not a child of {}", self.sup_name))?;
        if entry.spec.policy.restart == Restart::Temporary {
            return Err(format!("{name} is temporary (a client connection): it is never restarted"));
        }
        entry.generation += 1; // cancels any pending backoff timer
        if let Some(cell) = entry.cell.take() {
            self.by_id.remove(&cell.get_id());
            // Drain, not stop: what is already queued (client requests) is handled first, then
            // post_stop runs (a supervisor stops its own children in order). Never start a second
            // incarnation beside a first one that would not stop.
            if cell.drain_and_wait(Some(Duration::from_secs(10))).await.is_err() {
                tracing::warn!(supervisor = %self.sup_name, child = %name, "did not drain in time; killing");
                let _ = cell.kill_and_wait(Some(Duration::from_secs(5))).await;
            }
        }
        self.respawn(name, sup).await
    }

    async fn respawn(&mut self, name: &str, sup: &ActorCell) -> Result<(), String> {
        let entry = self.entries.get_mut(name).ok_or_else(|| format!("{name} is gone"))?;
        let mut last = String::new();
        // A killed predecessor may still hold resources for a moment (async kill cascade).
        for attempt in 0..3 {
            match (entry.spec.spawn)(sup.clone()).await {
                Ok(cell) => {
                    self.by_id.insert(cell.get_id(), name.to_string());
                    entry.cell = Some(cell);
                    entry.status = ChildStatus::Running;
                    entry.restarts += 1;
                    self.publish(name);
                    return Ok(());
                }
                Err(e) => {
                    last = e.to_string();
                    tokio::task::yield_now().await;
                    tracing::debug!(child = %name, attempt, error = %last, "respawn attempt failed");
                }
            }
        }
        Err(format!("cannot restart {name}: {last}"))
    }

    /// Stops every child in reverse start order, waiting for each (so `post_stop` runs and
    /// dependants stop before what they depend on).
    pub async fn stop_all(&mut self, timeout: Duration) {
        let order: Vec<String> = self.order.values().cloned().collect();
        for name in order.into_iter().rev() {
            if let Some(entry) = self.entries.get_mut(&name) {
                entry.generation += 1;
                if let Some(cell) = entry.cell.take() {
                    self.by_id.remove(&cell.get_id());
                    if cell.stop_and_wait(Some("shutdown".into()), Some(timeout)).await.is_err() {
                        tracing::warn!(supervisor = %self.sup_name, child = %name, "did not stop in time; killing");
                        cell.kill();
                    }
                }
                entry.status = ChildStatus::Stopped;
            }
        }
        for name in self.order.values() {
            self.board.remove_child(name);
        }
        self.board.unregister_supervisor(&self.sup_name);
    }

    /// Forgets a child: its entry, its place in the start order, its row on the board.
    fn remove(&mut self, name: &str) -> Option<Entry> {
        let entry = self.entries.remove(name)?;
        self.order.remove(&entry.seq);
        self.board.remove_child(name);
        Some(entry)
    }

    fn publish(&self, name: &str) {
        if let Some(e) = self.entries.get(name) {
            self.board.set_child(ChildInfo {
                name: name.to_string(),
                kind: e.spec.kind.to_string(),
                supervisor: self.sup_name.clone(),
                status: e.status,
                restarts: e.restarts,
                parked: e.status == ChildStatus::Parked,
                last_error: e.last_error.clone(),
                actor_id: e.cell.as_ref().map(|c| c.get_id().to_string()),
            });
        }
    }
}
