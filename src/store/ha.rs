//! The T-Server's mirror of its Connectors' HA call data (guide: "Synchronization of HA data
//! between UCMA Connector and T-Server"). Records live in the snapshot table under
//! `ha:<link>:<call>:<kind>:<key>`, so they reach the durable store like any snapshot, and are
//! given back to the Connector (HA_RESTORE) when its link comes back.

use super::snapshot::{HaRecordSnapshot, Snapshot};
use super::table::SnapshotTable;

fn prefix(link: &str) -> String {
    format!("ha:{link}:")
}

/// Stores (replaces) one record of a call.
pub fn put(table: &SnapshotTable, link: &str, call: u64, kind: &str, key: Option<&str>, data: String) {
    let k = format!("ha:{link}:{call}:{kind}:{}", key.unwrap_or(""));
    let rec = HaRecordSnapshot::V1 { link: link.to_string(), call, record_kind: kind.to_string(), data };
    table.put(&k, Snapshot::HaRecord(rec));
}

/// Removes every record of a call (the Connector deletes a call as a whole).
pub fn delete_call(table: &SnapshotTable, link: &str, call: u64) -> usize {
    let keys = table.keys_with_prefix(&format!("ha:{link}:{call}:"));
    keys.iter().filter(|k| table.remove(k)).count()
}

/// Forgets every record held for a link (its connector re-mirrors its live calls).
pub fn drop_link(table: &SnapshotTable, link: &str) -> usize {
    let keys = table.keys_with_prefix(&prefix(link));
    keys.iter().filter(|k| table.remove(k)).count()
}

/// The record bodies held for a link, for HA_RESTORE.
pub fn records(table: &SnapshotTable, link: &str) -> Vec<String> {
    table
        .with_prefix(&prefix(link))
        .into_iter()
        .filter_map(|(_, s)| match s {
            Snapshot::HaRecord(HaRecordSnapshot::V1 { data, .. }) if !data.is_empty() => Some(data),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_per_link_and_deleted_per_call() {
        let t = SnapshotTable::new();
        put(&t, "c1", 7, "call", None, "{\"a\":1}".into());
        put(&t, "c1", 7, "party", Some("p1"), "{\"b\":2}".into());
        put(&t, "c1", 8, "call", None, "{\"c\":3}".into());
        put(&t, "c10", 7, "call", None, "{\"d\":4}".into());
        assert_eq!(records(&t, "c1").len(), 3, "link c10 is not a prefix match of c1");
        assert_eq!(delete_call(&t, "c1", 7), 2);
        assert_eq!(records(&t, "c1"), vec!["{\"c\":3}".to_string()]);
        assert_eq!(drop_link(&t, "c1"), 1);
        assert_eq!(records(&t, "c10").len(), 1, "other links keep theirs");
    }
}
