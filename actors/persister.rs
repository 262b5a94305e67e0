//! The Persister mirrors the in-memory snapshot table into the durable store. It wakes on a short
//! interval, takes every dirty entry and commits them as one transaction on a blocking thread:
//! a burst of changes costs one fsync (group commit), and no actor ever waits for the disk.
//! Trade-off, stated: an actor crash loses nothing (the table outlives it); a process crash can
//! lose at most the last `FLUSH_INTERVAL` of changes. A stop flushes everything first.

use crate::actors::context::ServerContext;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use std::time::Duration;

pub const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

pub struct Persister;

pub struct PersisterState {
    ctx: Arc<ServerContext>,
    pub commits: u64,
    pub written: u64,
}

pub enum PersisterMsg {
    Tick,
    /// Flush now and answer how many snapshots were written (shutdown, tests).
    Flush(RpcReplyPort<usize>),
}

impl Persister {
    async fn flush(st: &mut PersisterState) -> Result<usize, ActorProcessingErr> {
        let batch = st.ctx.snapshots.take_dirty();
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        let store = st.ctx.durable.clone();
        match tokio::task::spawn_blocking(move || store.write_batch(&batch).map(|_| ()).map_err(|e| (e, batch))).await?
        {
            Ok(()) => {
                st.commits += 1;
                st.written += n as u64;
                Ok(n)
            }
            Err((e, batch)) => {
                // Mark the batch dirty again so the next incarnation retries it; fail so the
                // supervisor sees (and counts) the disk problem.
                st.ctx.snapshots.mark_dirty(batch.into_iter().map(|(k, _)| k));
                Err(e.into())
            }
        }
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
        Ok(PersisterState { ctx, commits: 0, written: 0 })
    }

    async fn post_start(&self, me: ActorRef<PersisterMsg>, _st: &mut PersisterState) -> Result<(), ActorProcessingErr> {
        // The interval ends by itself when this incarnation stops; a restart arms a new one.
        me.send_interval(FLUSH_INTERVAL, || PersisterMsg::Tick);
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<PersisterMsg>, st: &mut PersisterState) -> Result<(), ActorProcessingErr> {
        let n = Self::flush(st).await?;
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
                Self::flush(st).await?;
            }
            PersisterMsg::Flush(reply) => {
                let n = Self::flush(st).await?;
                let _ = reply.send(n);
            }
        }
        Ok(())
    }
}
