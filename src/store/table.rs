//! The in-memory snapshot table: shared by all actors of one server, it outlives every actor
//! incarnation. Writers mark entries dirty; the Persister drains dirty keys in batches. Reads and
//! writes are short critical sections (never held across an await or an fsync): entries are
//! shared (`Arc`), and the dirty set holds each dirty entry's value, so draining a batch swaps
//! the set out in constant time and serialising happens outside the lock (at 1,000 CPS a tick's
//! batch is over a thousand entries, and every actor that writes a snapshot meanwhile waits for
//! that lock — with its worker thread).

use super::snapshot::Snapshot;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct SnapshotTable {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    entries: BTreeMap<String, Arc<Snapshot>>,
    /// Dirty keys with the value to write (None: removed), in key order for the store.
    dirty: BTreeMap<String, Option<Arc<Snapshot>>>,
}

impl SnapshotTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a snapshot; returns true if the key was clean before (the caller should then
    /// notify the Persister, so one notification covers a burst of writes to one key).
    pub fn put(&self, key: &str, snap: Snapshot) -> bool {
        let snap = Arc::new(snap);
        let mut inner = self.inner.lock();
        let old = inner.entries.insert(key.to_string(), snap.clone());
        let was_dirty = inner.dirty.insert(key.to_string(), Some(snap));
        drop(inner);
        let clean = was_dirty.is_none();
        // The replaced snapshot is freed here, outside the lock.
        drop((old, was_dirty));
        clean
    }

    pub fn get(&self, key: &str) -> Option<Snapshot> {
        let snap = self.inner.lock().entries.get(key).cloned();
        snap.map(|s| (*s).clone())
    }

    /// Loads entries read from the durable store at start-up (they are clean by definition).
    pub fn load(&self, entries: impl IntoIterator<Item = (String, Snapshot)>) {
        let mut inner = self.inner.lock();
        inner.entries.extend(entries.into_iter().map(|(k, v)| (k, Arc::new(v))));
    }

    /// Removes an entry; the removal reaches the durable store like a write.
    pub fn remove(&self, key: &str) -> bool {
        let mut inner = self.inner.lock();
        let old = inner.entries.remove(key);
        let was_dirty = if old.is_some() { inner.dirty.insert(key.to_string(), None) } else { None };
        drop(inner);
        drop(was_dirty);
        old.is_some()
    }

    /// Entries whose key starts with `prefix`, in key order.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, Snapshot)> {
        let mut out = Vec::new();
        self.for_each_with_prefix(prefix, |k, v| out.push((k.to_string(), v.clone())));
        out
    }

    /// The keys that start with `prefix`, in key order (no snapshot copied).
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_with_prefix(prefix, |k, _| out.push(k.to_string()));
        out
    }

    /// Visits the entries whose key starts with `prefix`, in key order, without copying them
    /// (the table is locked meanwhile: keep `f` short).
    pub fn for_each_with_prefix(&self, prefix: &str, mut f: impl FnMut(&str, &Snapshot)) {
        let inner = self.inner.lock();
        for (k, v) in inner.entries.range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)) {
            f(k, v);
        }
    }

    /// Takes every dirty entry with its current value (None: removed), marking it clean.
    pub fn take_dirty(&self) -> Vec<(String, Option<Arc<Snapshot>>)> {
        let dirty = std::mem::take(&mut self.inner.lock().dirty);
        dirty.into_iter().collect()
    }

    /// Marks keys dirty again (a failed commit): their current value (or absence) is written next.
    pub fn mark_dirty(&self, keys: impl IntoIterator<Item = String>) {
        let mut inner = self.inner.lock();
        for key in keys {
            if !inner.dirty.contains_key(&key) {
                let value = inner.entries.get(&key).cloned();
                inner.dirty.insert(key, value);
            }
        }
    }

    pub fn dirty_len(&self) -> usize {
        self.inner.lock().dirty.len()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DnName;
    use crate::store::{DnSnapshot, DnSnapshotV1};

    fn snap(rev: u64) -> Snapshot {
        Snapshot::Dn(DnSnapshot::V1(DnSnapshotV1 { dn: DnName::new("a"), revision: rev, ..Default::default() }))
    }

    #[test]
    fn dirty_tracking_coalesces_bursts() {
        let t = SnapshotTable::new();
        assert!(t.put("dn:a", snap(1)));
        assert!(!t.put("dn:a", snap(2)), "second write to a dirty key needs no new notification");
        let dirty = t.take_dirty();
        assert_eq!(dirty, vec![("dn:a".to_string(), Some(Arc::new(snap(2))))]);
        assert_eq!(t.dirty_len(), 0);
        assert_eq!(t.get("dn:a"), Some(snap(2)));
        assert!(t.remove("dn:a"));
        assert_eq!(t.take_dirty(), vec![("dn:a".to_string(), None)], "a removal is written too");
        t.put("ha:l:1", snap(1));
        t.put("ha:l:2", snap(2));
        t.put("hb", snap(3));
        assert_eq!(t.with_prefix("ha:l:").len(), 2);
        assert_eq!(t.keys_with_prefix("ha:l:"), vec!["ha:l:1".to_string(), "ha:l:2".to_string()]);
        assert!(t.keys_with_prefix("hc").is_empty());
    }

    /// A failed batch is marked dirty again with each key's current value: a newer write made
    /// meanwhile is kept, a key removed meanwhile is written as removed.
    #[test]
    fn a_failed_batch_is_written_again_with_current_values() {
        let t = SnapshotTable::new();
        t.put("dn:a", snap(1));
        t.put("dn:b", snap(1));
        t.put("dn:c", snap(1));
        let failed: Vec<String> = t.take_dirty().into_iter().map(|(k, _)| k).collect();
        t.put("dn:a", snap(2));
        t.remove("dn:b");
        t.mark_dirty(failed);
        assert_eq!(
            t.take_dirty(),
            vec![
                ("dn:a".to_string(), Some(Arc::new(snap(2)))),
                ("dn:b".to_string(), None),
                ("dn:c".to_string(), Some(Arc::new(snap(1)))),
            ]
        );
    }
}
