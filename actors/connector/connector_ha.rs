//! The Connector's HA call data (guide: "UCMA HA Data Storage", "Synchronization of HA data
//! between UCMA Connector and T-Server"): the records of its calls, taken from the simulated SfB
//! call by call, kept in memory, written to its durable store in batches (one key per call, and
//! only the calls that changed since the last write: the cost follows the call rate, not the number
//! of calls in progress), mirrored to the T-Server with HA_DATA, and used to recover its calls
//! after a restart. The connector's own key marks that it keeps HA data at all.

use super::{ConnectorActorState, SessionMsg};
use crate::actors::connector::connector::ConnectorMsg;
use crate::actors::connector::sfb_sim::{AppCmd, SimReply, SimResult};
use crate::mltp::Mltp;
use crate::sim::CallId;
use crate::store::{DurableStore, JsonRecord, Snapshot};
use ractor::ActorRef;
use std::collections::BTreeSet;
use std::sync::Arc;

pub(super) fn ha_put(call: CallId, record: &JsonRecord) -> Mltp {
    Mltp::HaData {
        call: call.0,
        kind: crate::mltp::HaKind::Call,
        op: crate::mltp::HaOp::Put,
        key: None,
        data: record.text().to_string(),
    }
}

fn ha_key(connector: &str) -> String {
    format!("connector-ha:{connector}")
}

fn ha_call_key(connector: &str, call: CallId) -> String {
    format!("connector-ha:{connector}:{}", call.0)
}

/// One write's worth of HA records, with what to mark changed again should it fail.
struct HaBatch {
    rows: Vec<(String, Option<Arc<Snapshot>>)>,
    changed: BTreeSet<CallId>,
    dirty: bool,
}

/// A failed write: its calls, to be written again.
pub(super) struct HaFailure {
    changed: BTreeSet<CallId>,
    dirty: bool,
    error: String,
}

/// One transaction on the store's writer thread; the error, if any.
async fn write_rows(store: Arc<DurableStore>, rows: Vec<(String, Option<Arc<Snapshot>>)>) -> Option<String> {
    store.write(rows).await.err().map(|failed| failed.error.to_string())
}

fn ha_snapshot(connector: &str, calls: Vec<JsonRecord>) -> Snapshot {
    Snapshot::ConnectorCalls(crate::store::ConnectorCallsSnapshot::V1(crate::store::ConnectorCallsV1 {
        connector: connector.to_string(),
        calls,
    }))
}

impl ConnectorActorState {
    /// Asks the simulated SfB for the changed calls' HA records (those calls only), once per
    /// batch of simulated events, after they went out. Not awaited: the answer comes back as
    /// [`ConnectorMsg::HaRecords`], cast by SfB before any later event of those calls (a call
    /// deleted meanwhile is deleted after its record is kept). An export per event, awaited,
    /// was a round trip to SfB between one event and the next, holding back the T-Server's
    /// events (and this actor's mailbox) while SfB worked through the links' commands.
    pub(super) fn mirror_ha(&self, me: &ActorRef<ConnectorMsg>, calls: BTreeSet<CallId>) {
        if calls.is_empty() {
            return;
        }
        let me = me.clone();
        let then = SimReply::new(move |r: SimResult| {
            let _ = me.cast(ConnectorMsg::HaRecords(r.map_err(|e| e.to_string())));
        });
        self.args.sim.app_then(&self.args.name, AppCmd::ExportCalls(Some(calls.into_iter().collect())), then);
    }

    /// Keeps the exported HA records in memory for the next batched write and mirrors them to
    /// the T-Server. The records arrive as JSON values, which is what is mirrored and stored:
    /// serialised once here and kept as text (a typed round trip cost a parse and a serialisation
    /// per call event; a value tree per call in progress, ~2.7 KiB and a deep copy per write).
    pub(super) fn keep_ha_records(&mut self, records: Result<serde_json::Value, String>) {
        let records = match records {
            Ok(serde_json::Value::Array(records)) => records,
            Ok(_) => Vec::new(),
            Err(error) => return tracing::warn!(connector = %self.args.name, %error, "cannot export HA call data"),
        };
        for value in records {
            let Some(call) = value.get("call").and_then(serde_json::Value::as_u64).map(CallId) else { continue };
            let Ok(record) = JsonRecord::new(&value) else { continue };
            self.broadcast(ha_put(call, &record));
            self.ha.insert(call, record);
            self.ha_changed.insert(call);
        }
    }

    /// Takes the HA records that changed since the last write as one batch (None: nothing did).
    fn take_ha_batch(&mut self) -> Option<HaBatch> {
        if !self.ha_dirty && self.ha_changed.is_empty() {
            return None;
        }
        let name = &self.args.name;
        let changed = std::mem::take(&mut self.ha_changed);
        let mut rows: Vec<(String, Option<Arc<Snapshot>>)> = changed
            .iter()
            .map(|call| {
                let snap = self.ha.get(call).map(|v| Arc::new(ha_snapshot(name, vec![v.clone()])));
                (ha_call_key(name, *call), snap)
            })
            .collect();
        let dirty = std::mem::take(&mut self.ha_dirty);
        if dirty {
            rows.push((ha_key(name), Some(Arc::new(ha_snapshot(name, Vec::new())))));
        }
        Some(HaBatch { rows, changed, dirty })
    }

    /// The periodic write, off the actor: the Connector keeps handling call events while the
    /// store commits (awaiting the commit here held up every call event behind it, each tick).
    /// One write at a time; what changes meanwhile goes in the next one, and a failed write's
    /// calls are marked changed again when the next tick (or the stop) collects it.
    pub(super) async fn start_ha_write(&mut self) {
        if self.ha_write.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        self.collect_ha_write().await;
        let Some(HaBatch { rows, changed, dirty }) = self.take_ha_batch() else { return };
        let store = self.args.store.clone();
        self.ha_write = Some(tokio::spawn(async move {
            write_rows(store, rows).await.map(|error| HaFailure { changed, dirty, error })
        }));
    }

    /// Waits for the write in flight, if any (at once when it has finished), and takes its calls
    /// back if it failed.
    async fn collect_ha_write(&mut self) {
        let Some(write) = self.ha_write.take() else { return };
        let failure = match write.await {
            Ok(failure) => failure,
            // The task itself failed and took its batch with it: write every record again.
            Err(e) => Some(HaFailure { changed: self.ha.keys().copied().collect(), dirty: true, error: e.to_string() }),
        };
        if let Some(f) = failure {
            self.ha_failed(f);
        }
    }

    /// A write failed: its calls go in the next one (their records are still in memory).
    fn ha_failed(&mut self, f: HaFailure) {
        self.ha_changed.extend(f.changed);
        self.ha_dirty |= f.dirty;
        tracing::error!(connector = %self.args.name, error = %f.error, "cannot persist HA call data; will retry");
    }

    /// Writes everything that changed and waits for it (start-up, stop): first the write in
    /// flight, if any (its calls again if it failed), then the rest.
    pub(super) async fn flush_ha(&mut self) {
        self.collect_ha_write().await;
        let Some(HaBatch { rows, changed, dirty }) = self.take_ha_batch() else { return };
        if let Some(error) = write_rows(self.args.store.clone(), rows).await {
            self.ha_failed(HaFailure { changed, dirty, error });
        }
    }

    /// A T-Server link (re)connected: mirror every call this connector holds to it, so the
    /// T-Server's copy is exact (it drops what it held for this connector when HELLO says the
    /// connector kept its own HA data).
    pub(super) fn resync_ha(&self, session: &ActorRef<SessionMsg>) {
        for (call, value) in &self.ha {
            let _ = session.cast(SessionMsg::Event(Box::new(ha_put(*call, value))));
        }
    }

    /// After a restart: give the simulated SfB back the calls this connector owned (the guide:
    /// calls are recovered on the connector where they were created).
    pub(super) async fn recover_calls(&mut self) {
        let store = self.args.store.clone();
        let key = ha_key(&self.args.name);
        let loaded =
            tokio::task::spawn_blocking(move || store.load_all()).await.ok().and_then(|r| r.ok()).unwrap_or_default();
        if !loaded.iter().any(|(k, _)| *k == key) {
            // A new connector (or one that lost its disk): start an HA store now, so that the
            // next start knows it has its own data, and ask the T-Server for its copy (HELLO).
            self.ha_present.store(false, std::sync::atomic::Ordering::Relaxed);
            self.ha_dirty = true;
            self.flush_ha().await;
            return;
        }
        self.ha_present.store(true, std::sync::atomic::Ordering::Relaxed);
        // The connector's key (older stores kept every call there) and one key per call.
        let prefix = format!("{key}:");
        let records: Vec<crate::sim::CallRecord> = loaded
            .into_iter()
            .filter(|(k, _)| *k == key || k.starts_with(&prefix))
            .filter_map(|(_, s)| if let Snapshot::ConnectorCalls(snap) = s { Some(snap.current().calls) } else { None })
            .flatten()
            .filter_map(|c| serde_json::from_str(c.text()).ok())
            .collect();
        if records.is_empty() {
            return;
        }
        let ids: Vec<CallId> = records.iter().map(|r| r.call).collect();
        for r in &records {
            if let Ok(record) = JsonRecord::new(r) {
                self.ha.insert(r.call, record);
            }
        }
        match self.args.sim.app(&self.args.name, AppCmd::ImportCalls(records)).await {
            Ok(n) => {
                tracing::info!(connector = %self.args.name, recovered = %n, "calls recovered from HA data");
                self.calls.extend(ids);
            }
            Err(e) => tracing::error!(connector = %self.args.name, error = %e, "HA recovery failed"),
        }
    }
}
