//! The durable snapshot store: an append-only log (`log.rs`, `log_file.rs`) of key -> JSON
//! snapshots. Writes come in batches and each batch is one frame and one fsync, so a burst of
//! changes costs one fsync. Writes go through [`DurableStore::write`], which commits on the
//! store's own writer thread; `open` and `load_all` block (start-up runs them on a blocking
//! thread), never call them inside a handler.

use super::log_file::LogFile;
use super::snapshot::{Snapshot, SnapshotError};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open snapshot store {path}: {reason}")]
    Open { path: String, reason: String },
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
    log: Arc<parking_lot::Mutex<LogFile>>,
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
        let refused = |reason: String| StoreError::Open { path: path.display().to_string(), reason };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| refused(e.to_string()))?;
        }
        // Earlier versions kept this store in redb: refuse rather than start without that state.
        let earlier = path.with_extension("redb");
        if earlier.exists() && !path.exists() {
            return Err(refused(format!(
                "{} was written by an earlier version (redb) and is not read by this one; remove it \
                 to start without the state it holds",
                earlier.display()
            )));
        }
        let log = LogFile::open(path).map_err(|e| refused(e.to_string()))?;
        Ok(DurableStore { log: Arc::new(parking_lot::Mutex::new(log)), writer: parking_lot::Mutex::new(None) })
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
            let jobs = &writer.get_or_insert_with(|| spawn_writer(self.log.clone())).jobs;
            if let Err(std::sync::mpsc::SendError(job)) = jobs.send(WriteJob { batch, done }) {
                *writer = None;
                return Err(WriteFailed { error: gone(), batch: job.batch });
            }
        }
        // Every job is answered (a panic while writing included); a thread that vanished without
        // answering took the batch with it.
        result.await.unwrap_or_else(|_| Err(WriteFailed { error: gone(), batch: Vec::new() }))
    }

    /// Every stored snapshot. An unreadable entry is an error naming its key: starting with part
    /// of the state silently missing would be worse than refusing to start.
    pub fn load_all(&self) -> Result<Vec<(String, Snapshot)>, StoreError> {
        let rows = io!(self.log.lock().read_all())?;
        let parse = |(key, bytes): (String, Vec<u8>)| match Snapshot::from_bytes(&bytes) {
            Ok(snap) => Ok((key, snap)),
            Err(source) => Err(StoreError::Corrupt { key, source }),
        };
        rows.into_iter().map(parse).collect()
    }
}

/// One batch, one frame, one fsync; `None` removes the key.
fn write_batch(log: &parking_lot::Mutex<LogFile>, batch: &[(String, Option<Arc<Snapshot>>)]) -> Result<(), StoreError> {
    let bytes: Vec<Option<Vec<u8>>> = batch.iter().map(|(_, snap)| snap.as_ref().map(|s| s.to_bytes())).collect();
    let entries = batch.iter().zip(&bytes).map(|((key, _), b)| (key.as_str(), b.as_deref()));
    io!(log.lock().append(entries))
}

/// The writer thread: lowers its own priority, then commits batches until the store is dropped.
fn spawn_writer(log: Arc<parking_lot::Mutex<LogFile>>) -> Writer {
    let (jobs, queue) = std::sync::mpsc::channel::<WriteJob>();
    let spawned = std::thread::Builder::new().name("store-writer".into()).spawn(move || {
        lower_priority();
        for job in queue {
            // A panic while writing fails this batch (it is retried), not the thread.
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_batch(&log, &job.batch)))
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
/// tick's batch is a burst of milliseconds (with redb's copy-on-write inserts, at 1,000 CPS about
/// a sixth of one core); at normal priority every request waited behind it (p99 request -> event
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
        let path = dir.path().join("snap.log");
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

    /// A data directory from a version that kept the store in redb: refused at start, naming the
    /// file, rather than started without its state.
    #[test]
    fn a_store_left_by_the_redb_version_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("snapshots.redb"), b"redb").unwrap();
        let err = DurableStore::open(&dir.path().join("snapshots.log")).err().expect("refused");
        assert!(err.to_string().contains("snapshots.redb"), "{err}");
        assert!(!dir.path().join("snapshots.log").exists(), "nothing created beside it");
    }

    /// A write that finds the writer thread gone fails with its batch handed back (the caller
    /// marks those keys dirty again from it), and the next write starts a new thread.
    #[tokio::test]
    async fn a_failed_write_hands_its_batch_back_and_the_next_one_starts_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = DurableStore::open(&dir.path().join("snap.log")).unwrap();
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
        let path = dir.path().join("snap.log");
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
