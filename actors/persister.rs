//! The Persister mirrors the in-memory snapshot table into the durable store. It wakes on a short
//! interval, takes every dirty entry and commits them as one transaction on the store's writer
//! thread (low CPU priority): a burst of changes costs one fsync (group commit), and no actor but
//! the Persister ever waits for the disk.
//! Trade-off, stated: an actor crash loses nothing (the table outlives it); a process crash can
//! lose at most the last `FLUSH_INTERVAL` of changes. A stop flushes everything first.

use crate::actors::context::ServerContext;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use std::time::Duration;

/// Each commit costs an fsync (and, while the store was redb, a transaction) whatever it holds; with calls updated
/// hundreds of times a second every tick has something dirty. 10 ms made those commits a sixth of
/// the T-Server's CPU at 1,200 calls; 50 ms keeps the loss window short next to a person's actions.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

pub struct Persister;

pub struct PersisterState {
    ctx: Arc<ServerContext>,
    pub commits: u64,
    pub written: u64,
    failures: u32,
    retry_at: Option<std::time::Instant>,
}

pub enum PersisterMsg {
    Tick,
    /// Flush now and answer how many snapshots were written (shutdown, tests).
    Flush(RpcReplyPort<usize>),
}

impl Persister {
    /// Writes every dirty snapshot in one transaction. A failed write never fails the actor
    /// (a parked Persister would silently stop persisting): the batch is marked dirty again,
    /// retried on a later tick with backoff, and reported through metrics and readiness.
    async fn flush(st: &mut PersisterState) -> usize {
        if st.retry_at.is_some_and(|t| std::time::Instant::now() < t) {
            return 0;
        }
        let batch = st.ctx.snapshots.take_dirty();
        if batch.is_empty() {
            return 0;
        }
        let n = batch.len();
        match st.ctx.durable.write(batch).await {
            Ok(()) => {
                st.commits += 1;
                st.written += n as u64;
                st.failures = 0;
                st.retry_at = None;
                st.ctx.persistence_ok.store(true, std::sync::atomic::Ordering::Relaxed);
                n
            }
            Err(failed) => {
                let keys = failed.batch.into_iter().map(|(k, _)| k);
                st.failed(keys, &failed.error.to_string());
                0
            }
        }
    }
}

impl PersisterState {
    fn failed(&mut self, keys: impl IntoIterator<Item = String>, error: &str) {
        self.ctx.snapshots.mark_dirty(keys);
        self.failures += 1;
        let backoff = Duration::from_millis(10u64 << self.failures.min(9)).min(Duration::from_secs(5));
        self.retry_at = Some(std::time::Instant::now() + backoff);
        self.ctx.persistence_ok.store(false, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(
            error,
            failures = self.failures,
            retry_in_ms = backoff.as_millis() as u64,
            "snapshot store write failed"
        );
    }
}

impl Actor for Persister {
    type Msg = PersisterMsg;
    type State = PersisterState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        _me: ActorRef<PersisterMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<PersisterState, ActorProcessingErr> {
        Ok(PersisterState { ctx, commits: 0, written: 0, failures: 0, retry_at: None })
    }

    async fn post_start(&self, me: ActorRef<PersisterMsg>, _st: &mut PersisterState) -> Result<(), ActorProcessingErr> {
        // The interval ends by itself when this incarnation stops; a restart arms a new one.
        me.send_interval(FLUSH_INTERVAL, || PersisterMsg::Tick);
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<PersisterMsg>, st: &mut PersisterState) -> Result<(), ActorProcessingErr> {
        st.retry_at = None;
        let n = Self::flush(st).await;
        tracing::info!(written = n, commits = st.commits, "persister stopped after final flush");
        Ok(())
    }

    async fn handle(
        &self,
        _me: ActorRef<PersisterMsg>,
        msg: PersisterMsg,
        st: &mut PersisterState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            PersisterMsg::Tick => {
                Self::flush(st).await;
            }
            PersisterMsg::Flush(reply) => {
                st.retry_at = None;
                let n = Self::flush(st).await;
                let _ = reply.send(n);
            }
        }
        Ok(())
    }
}
