//! The durable snapshot store: one redb file, one table `snapshots` (key -> JSON bytes). Writes
//! come in batches and each batch is one transaction, so a burst of DN changes costs one fsync.
//! Calls here block (fsync): actors must run them on a blocking thread, never inside a handler.

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
    db: Database,
}

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
        Ok(DurableStore { db })
    }

    /// Writes a batch in one transaction (one commit, one fsync); `None` removes the key.
    pub fn write_batch(&self, batch: &[(String, Option<Arc<Snapshot>>)]) -> Result<(), StoreError> {
        let tx = io!(self.db.begin_write())?;
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
}
