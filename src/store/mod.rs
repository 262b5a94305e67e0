//! Snapshots that outlive actors. A stateful actor writes its versioned snapshot into the
//! in-memory [`SnapshotTable`] on every transition (so a restarted actor reloads it immediately)
//! and the Persister mirrors dirty entries into the [`DurableStore`] with batched commits (so state
//! survives a process restart). This module is synchronous and knows nothing about actors.

mod durable;
pub mod ha;
mod log;
mod log_file;
mod snapshot;
mod table;

pub use durable::{DurableStore, StoreError, WriteFailed};
pub use snapshot::{
    AgentSessionSnapshot, ConnectorCallsSnapshot, ConnectorCallsV1, DnSnapshot, DnSnapshotV1, DnSnapshotV2,
    HaRecordSnapshot, JsonRecord, Snapshot, SnapshotError,
};
pub use table::SnapshotTable;
