//! The durable snapshot store: one redb file, one table `snapshots` (key -> JSON bytes). Writes
//! come in batches and each batch is one transaction, so a burst of DN changes costs one fsync.
//! The synchronous calls block (fsync): actors use [`DurableStore::write`], which commits on the
//! store's own writer thread, or run them on a blocking thread, never inside a handler.

use super::snapshot::{Snapshot, SnapshotError};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::{Arc, OnceLock};

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
    /// The writer thread, started by the first [`DurableStore::write`].
    writer: OnceLock<Writer>,
}

struct Writer {
    jobs: std::sync::mpsc::Sender<WriteJob>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Dropping the store ends its writer thread and waits for it (at most the commit in progress):
/// the thread holds the database open, and a restart in the same process opens the file again.
impl Drop for DurableStore {
    fn drop(&mut self) {
        if let Some(Writer { jobs, thread }) = self.writer.take() {
            drop(jobs);
            if let Some(t) = thread {
                let _ = t.join();
            }
        }
    }
}

type Batch = Vec<(String, Option<Arc<Snapshot>>)>;

struct WriteJob {
    batch: Batch,
    done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

/// The writer thread's nice value: the lowest CPU priority. Serialising and committing a tick's
/// batch is a burst of milliseconds; on a blocking-pool thread at normal priority it took a core
/// from the runtime's workers and every request waited behind it (at 1,000 CPS on 2 cores, p99
/// request -> event 3.4 ms with these writes, 1.9 ms without). At nice 19 it runs in the
/// time the workers leave idle; when there is none it still gets a small share, so it lags (the
/// next batch is larger) rather than stops.
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
        Ok(DurableStore { db: Arc::new(db), writer: OnceLock::new() })
    }

    /// Commits a batch on the store's writer thread (see [`WRITER_NICE`]) and waits for it
    /// without blocking the caller's thread. Batches commit in the order they are given.
    pub async fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let writer = self.writer.get_or_init(|| spawn_writer(self.db.clone()));
        writer
            .jobs
            .send(WriteJob { batch, done })
            .map_err(|_| StoreError::Io("the store's writer thread is gone".into()))?;
        result.await.map_err(|_| StoreError::Io("the store's writer thread is gone".into()))?
    }

    /// Writes a batch in one transaction (one commit, one fsync); `None` removes the key.
    pub fn write_batch(&self, batch: &[(String, Option<Arc<Snapshot>>)]) -> Result<(), StoreError> {
        write_batch(&self.db, batch)
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
        // SAFETY: setpriority has no memory effects; on Linux `who = 0` with PRIO_PROCESS is the
        // calling thread (the nice value is per thread there).
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, WRITER_NICE) } != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "store writer runs at normal priority");
        }
        for job in queue {
            let _ = job.done.send(write_batch(&db, &job.batch));
        }
    });
    let thread = spawned
        .map_err(|e| {
            // The jobs see a closed queue and are reported as failed writes (and retried).
            tracing::error!(error = %e, "cannot start the store's writer thread");
        })
        .ok();
    Writer { jobs, thread }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DnName;
    use crate::store::{DnSnapshot, DnSnapshotV1};

    #[test]
    fn batches_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.redb");
        let s = Snapshot::Dn(DnSnapshot::V1(DnSnapshotV1 { dn: DnName::new("x"), revision: 9, ..Default::default() }));
        {
            let store = DurableStore::open(&path).unwrap();
            let s = Arc::new(s.clone());
            store.write_batch(&[("dn:x".into(), Some(s.clone())), ("dn:y".into(), Some(s))]).unwrap();
            store.write_batch(&[("dn:y".into(), None)]).unwrap();
        }
        let store = DurableStore::open(&path).unwrap();
        assert_eq!(store.load_all().unwrap(), vec![("dn:x".to_string(), s)]);
    }

    /// Batches written through the writer thread are committed in order, and dropping the store
    /// ends the thread before returning: the file opens again at once (a restart in process).
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
            for revision in 1..=20 {
                store.write(vec![("dn:x".into(), snap(round * 100 + revision))]).await.unwrap();
            }
            store.write(vec![("dn:gone".into(), snap(1)), ("dn:gone".into(), None)]).await.unwrap();
            drop(store);
            let loaded = DurableStore::open(&path).unwrap().load_all().unwrap();
            assert_eq!(loaded.len(), 1, "{loaded:?}");
            assert_eq!(Some(Arc::new(loaded[0].1.clone())), snap(round * 100 + 20));
        }
    }
}
