//! The durable snapshot store: one redb file, one table `snapshots` (key -> JSON bytes). Writes
//! come in batches and each batch is one transaction, so a burst of DN changes costs one fsync.
//! Writes go through [`DurableStore::write`], which commits on the store's own writer thread;
//! `load_all` blocks (start-up runs it on a blocking thread), never call it inside a handler.

use super::snapshot::{Snapshot, SnapshotError};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");

/// redb's page cache (per store: the T-Server's and each Connector's). Its default (1 GiB) keeps
/// pages a commit wrote, so the process grew with the store's history (10,000 agents at 1,000
/// CPS: tens of MB per store). This store is written all the time and read only at start-up (the
/// snapshot table is the in-memory copy): the cache only has to hold the branch pages that
/// inserts walk.
const CACHE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open snapshot store {path}: {source}")]
    Open { path: String, source: redb::DatabaseError },
    #[error("snapshot store i/o: {0}")]
    Io(String),
    #[error("snapshot {key} is unreadable: {source}")]
    Corrupt { key: String, source: SnapshotError },
}

macro_rules! io {
    ($e:expr) => {
        $e.map_err(|e| StoreError::Io(e.to_string()))
    };
}

pub struct DurableStore {
    db: Arc<Database>,
    /// The writer thread, started by the first [`DurableStore::write`] and again by the next
    /// write if it is gone.
    writer: parking_lot::Mutex<Option<Writer>>,
}

struct Writer {
    jobs: std::sync::mpsc::Sender<WriteJob>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Dropping the store ends its writer thread and waits for it to commit what is queued: the thread
/// holds the database open, and a restart in the same process opens the file again. The last
/// owner drops it at stop, after the final flush (the queue is empty or nearly so by then).
impl Drop for DurableStore {
    fn drop(&mut self) {
        if let Some(Writer { jobs, thread }) = self.writer.get_mut().take() {
            drop(jobs);
            if let Some(t) = thread {
                let _ = t.join();
            }
        }
    }
}

type Batch = Vec<(String, Option<Arc<Snapshot>>)>;

/// A batch that was not committed, handed back with why: the caller marks its keys dirty again
/// without having kept a copy of them for a failure that almost never comes.
#[derive(Debug)]
pub struct WriteFailed {
    pub error: StoreError,
    pub batch: Batch,
}

struct WriteJob {
    batch: Batch,
    done: tokio::sync::oneshot::Sender<Result<(), WriteFailed>>,
}

/// The writer thread's nice value where the idle policy is refused (see [`lower_priority`]).
const WRITER_NICE: i32 = 19;

impl DurableStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent() {
            io!(std::fs::create_dir_all(parent))?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        let tx = io!(db.begin_write())?;
        io!(tx.open_table(SNAPSHOTS))?;
        io!(tx.commit())?;
        Ok(DurableStore { db: Arc::new(db), writer: parking_lot::Mutex::new(None) })
    }

    /// Commits a batch on the store's writer thread (see [`WRITER_NICE`]) and waits for it
    /// without blocking the caller's thread. Batches commit in the order they are given. Should
    /// the thread be gone (it could not be started), this write fails and the next one starts a
    /// new thread: the callers retry failed batches, which come back with the error.
    pub async fn write(&self, batch: Batch) -> Result<(), WriteFailed> {
        let gone = || StoreError::Io("the store's writer thread is gone".into());
        let (done, result) = tokio::sync::oneshot::channel();
        {
            let mut writer = self.writer.lock();
            let jobs = &writer.get_or_insert_with(|| spawn_writer(self.db.clone())).jobs;
            if let Err(std::sync::mpsc::SendError(job)) = jobs.send(WriteJob { batch, done }) {
                *writer = None;
                return Err(WriteFailed { error: gone(), batch: job.batch });
            }
        }
        // Every job is answered (a panic in redb included); a thread that vanished without
        // answering took the batch with it.
        result.await.unwrap_or_else(|_| Err(WriteFailed { error: gone(), batch: Vec::new() }))
    }

    /// Every stored snapshot. An unreadable entry is an error naming its key: starting with part
    /// of the state silently missing would be worse than refusing to start.
    pub fn load_all(&self) -> Result<Vec<(String, Snapshot)>, StoreError> {
        let tx = io!(self.db.begin_read())?;
        let table = io!(tx.open_table(SNAPSHOTS))?;
        let mut out = Vec::new();
        for row in io!(table.iter())? {
            let (k, v) = io!(row)?;
            let key = k.value().to_string();
            let snap =
                Snapshot::from_bytes(v.value()).map_err(|source| StoreError::Corrupt { key: key.clone(), source })?;
            out.push((key, snap));
        }
        Ok(out)
    }
}

/// One batch in one transaction (one commit, one fsync); `None` removes the key.
fn write_batch(db: &Database, batch: &[(String, Option<Arc<Snapshot>>)]) -> Result<(), StoreError> {
    let tx = io!(db.begin_write())?;
    {
        let mut table = io!(tx.open_table(SNAPSHOTS))?;
        for (key, snap) in batch {
            match snap {
                Some(snap) => {
                    io!(table.insert(key.as_str(), snap.to_bytes().as_slice()))?;
                }
                None => {
                    io!(table.remove(key.as_str()))?;
                }
            }
        }
    }
    io!(tx.commit())
}

/// The writer thread: lowers its own priority, then commits batches until the store is dropped.
fn spawn_writer(db: Arc<Database>) -> Writer {
    let (jobs, queue) = std::sync::mpsc::channel::<WriteJob>();
    let spawned = std::thread::Builder::new().name("store-writer".into()).spawn(move || {
        lower_priority();
        for job in queue {
            // A panic inside redb fails this batch (it is retried), not the thread.
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_batch(&db, &job.batch)))
                .unwrap_or_else(|_| Err(StoreError::Io("the store panicked writing the batch".into())));
            let _ = job.done.send(written.map_err(|error| WriteFailed { error, batch: job.batch }));
        }
    });
    let thread = spawned
        .map_err(|e| {
            // The job sees a closed queue: its write fails and the next write tries again.
            tracing::error!(error = %e, "cannot start the store's writer thread");
        })
        .ok();
    Writer { jobs, thread }
}

/// The calling thread under SCHED_IDLE: it runs only in the time the runtime's workers leave
/// idle, and any of them waking takes the core back at once. Serialising and committing a
/// tick's batch is a burst of milliseconds (redb's copy-on-write inserts; at 1,000 CPS about a
/// sixth of one core); at normal priority every request waited behind it (p99 request -> event
/// 3.5 ms with these writes, 1.95 ms without). At nice 19 (the first answer, 2.8 ms) a woken
/// worker is not sure to preempt it before its slice ends. On a saturated machine it still gets
/// a small share (less than at nice 19), so it lags — the next batch is larger, the dirty set
/// holding each key once, and a process crash loses more than one interval — rather than stops.
/// The idle CPU policy would also put its disk I/O in the idle class (served only when no other
/// I/O waits): its fsyncs are set back to best effort. Where the policy is refused, nice
/// [`WRITER_NICE`]. Linux only: there all three are per thread (`0` is the calling thread);
/// elsewhere the same calls would lower the whole process.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: `idle` is a valid sched_param that outlives the call, which only reads it.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) } == 0 {
        // ioprio_set(IOPRIO_WHO_PROCESS, this thread, IOPRIO_CLASS_BE << 13 | level 7).
        const WHO_PROCESS: libc::c_long = 1;
        const BEST_EFFORT_LOWEST: libc::c_long = (2 << 13) | 7;
        // SAFETY: a plain system call with integer arguments and no memory effects.
        if unsafe { libc::syscall(libc::SYS_ioprio_set, WHO_PROCESS, 0 as libc::c_long, BEST_EFFORT_LOWEST) } != 0 {
            let error = std::io::Error::last_os_error();
            tracing::warn!(%error, "store writer: disk I/O left in the idle class");
        }
        return;
    }
    let refused = std::io::Error::last_os_error();
    // SAFETY: setpriority takes plain integers and has no memory effects.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WRITER_NICE) } != 0 {
        let error = std::io::Error::last_os_error();
        tracing::warn!(%refused, %error, "store writer runs at normal priority");
    } else {
        tracing::info!(%refused, "store writer at nice 19 (the idle policy was refused)");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DnName;
    use crate::store::{DnSnapshot, DnSnapshotV1};

    #[tokio::test]
    async fn batches_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.redb");
        let s = Snapshot::Dn(DnSnapshot::V1(DnSnapshotV1 { dn: DnName::new("x"), revision: 9, ..Default::default() }));
        {
            let store = DurableStore::open(&path).unwrap();
            let s = Arc::new(s.clone());
            store.write(vec![("dn:x".into(), Some(s.clone())), ("dn:y".into(), Some(s))]).await.unwrap();
            store.write(vec![("dn:y".into(), None)]).await.unwrap();
        }
        let store = DurableStore::open(&path).unwrap();
        assert_eq!(store.load_all().unwrap(), vec![("dn:x".to_string(), s)]);
    }

    /// A write that finds the writer thread gone fails with its batch handed back (the caller
    /// marks those keys dirty again from it), and the next write starts a new thread.
    #[tokio::test]
    async fn a_failed_write_hands_its_batch_back_and_the_next_one_starts_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = DurableStore::open(&dir.path().join("snap.redb")).unwrap();
        let snap = Arc::new(Snapshot::Dn(DnSnapshot::V1(DnSnapshotV1 { dn: DnName::new("x"), ..Default::default() })));
        // A writer whose thread has gone: its queue has no receiver.
        let (jobs, queue) = std::sync::mpsc::channel();
        drop(queue);
        *store.writer.lock() = Some(Writer { jobs, thread: None });
        let failed = store.write(vec![("dn:x".into(), Some(snap.clone())), ("dn:y".into(), None)]).await.unwrap_err();
        assert!(failed.error.to_string().contains("writer thread is gone"), "{}", failed.error);
        let keys: Vec<&str> = failed.batch.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["dn:x", "dn:y"]);
        assert_eq!(failed.batch[0].1, Some(snap.clone()));
        store.write(failed.batch).await.unwrap();
        assert_eq!(store.load_all().unwrap(), vec![("dn:x".to_string(), (*snap).clone())]);
    }

    /// Batches queued at once on the writer thread commit in the order given, and dropping the
    /// store ends the thread before returning: the file opens again at once (a restart in process).
    #[tokio::test]
    async fn writer_thread_commits_in_order_and_releases_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.redb");
        let snap = |revision| {
            Some(Arc::new(Snapshot::Dn(DnSnapshot::V1(DnSnapshotV1 {
                dn: DnName::new("x"),
                revision,
                ..Default::default()
            }))))
        };
        for round in 0..3u64 {
            let store = DurableStore::open(&path).unwrap();
            // All twenty queued before the first is answered (polled in order, none awaited alone).
            let writes = (1..=20).map(|revision| store.write(vec![("dn:x".into(), snap(round * 100 + revision))]));
            for written in futures::future::join_all(writes).await {
                written.unwrap();
            }
            store.write(vec![("dn:gone".into(), snap(1)), ("dn:gone".into(), None)]).await.unwrap();
            drop(store);
            let loaded = DurableStore::open(&path).unwrap().load_all().unwrap();
            assert_eq!(loaded.len(), 1, "{loaded:?}");
            assert_eq!(Some(Arc::new(loaded[0].1.clone())), snap(round * 100 + 20));
        }
    }
}
