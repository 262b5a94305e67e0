//! The path from the core to a client's socket: a [`ClientHandle`] is a cheap clone of one
//! client's bounded outbound queue. Whoever produces an event (a Dn actor, the session itself)
//! pushes with `try_send`: a client that cannot keep up is marked for disconnection and its
//! session closes it, so a slow desktop never stalls a DN or any other client. An event fanned out
//! to many clients is encoded once ([`SharedEvent`]) and the same bytes are written to each, after
//! the connection's own EventSequenceNumber.

use crate::tlib::{Event, EventKind, SequencedFrame};
use parking_lot::RwLock;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, watch};

/// An event shared by every recipient, encoded at most once. Its EventSequenceNumber is not part
/// of the shared bytes: each connection's writer numbers its own events (contiguous per client).
pub struct SharedEvent {
    pub event: Event,
    frame: OnceLock<Option<SequencedFrame>>,
}

impl SharedEvent {
    pub fn new(event: Event) -> Arc<Self> {
        Arc::new(SharedEvent { event, frame: OnceLock::new() })
    }

    /// The encoded event; `None` if it cannot be encoded within the frame limit (logged once; the
    /// event is dropped for every client rather than breaking their connections).
    pub fn frame(&self, max_frame: usize) -> Option<&SequencedFrame> {
        self.frame
            .get_or_init(|| match SequencedFrame::encode(&self.event, max_frame) {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::error!(event = %self.event.kind.name(), error = %e, "event cannot be encoded");
                    None
                }
            })
            .as_ref()
    }
}

/// Why a client's connection ends, as logged and counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    SlowClient,
    Protocol(String),
    ClientClosed,
    /// The client asked to close (TCloseServer): its last answer is flushed first.
    CloseRequested,
    Shutdown,
}

#[derive(Clone)]
pub struct ClientHandle {
    pub id: u64,
    tx: mpsc::Sender<Arc<SharedEvent>>,
    mask: Arc<RwLock<Option<HashSet<EventKind>>>>,
    closing: Arc<AtomicBool>,
    close_reason: Arc<RwLock<Option<CloseReason>>>,
    kill: Arc<watch::Sender<bool>>,
}

/// The receiving half, owned by the session's writer task.
pub struct ClientQueue {
    pub rx: mpsc::Receiver<Arc<SharedEvent>>,
    /// Becomes true when the connection must end (see [`ClientHandle::close_reason`]).
    pub kill: watch::Receiver<bool>,
}

impl ClientHandle {
    pub fn new(id: u64, capacity: usize) -> (ClientHandle, ClientQueue) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (kill_tx, kill) = watch::channel(false);
        let handle = ClientHandle {
            id,
            tx,
            mask: Arc::new(RwLock::new(None)),
            closing: Arc::new(AtomicBool::new(false)),
            close_reason: Arc::new(RwLock::new(None)),
            kill: Arc::new(kill_tx),
        };
        (handle, ClientQueue { rx, kill })
    }

    /// Queues a fanned-out event, filtered by the client's input mask.
    /// Returns false when the client is gone or was just disconnected for being slow.
    pub fn deliver(&self, ev: &Arc<SharedEvent>) -> bool {
        if let Some(mask) = self.mask.read().as_ref() {
            if !mask.contains(&ev.event.kind) {
                return true;
            }
        }
        self.send(ev)
    }

    /// Queues an answer to this client's own request (never filtered by the input mask).
    pub fn reply(&self, event: Event) -> bool {
        self.send(&SharedEvent::new(event))
    }

    /// [`ClientHandle::reply`] with an event also fanned out to others (encoded once).
    pub fn deliver_answer(&self, ev: &Arc<SharedEvent>) -> bool {
        self.send(ev)
    }

    fn send(&self, ev: &Arc<SharedEvent>) -> bool {
        if self.closing.load(Ordering::Relaxed) {
            return false;
        }
        match self.tx.try_send(ev.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.disconnect(CloseReason::SlowClient);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // The session is gone (even one that died without post_stop): mark it so
                // subscriber lists drop it.
                self.closing.store(true, Ordering::Relaxed);
                false
            }
        }
    }

    /// Sets the input mask (TSetInputMask); an empty list means "every event".
    pub fn set_mask(&self, kinds: &[EventKind]) {
        *self.mask.write() = if kinds.is_empty() { None } else { Some(kinds.iter().copied().collect()) };
    }

    /// Marks the client for disconnection; the first reason wins.
    pub fn disconnect(&self, reason: CloseReason) {
        if !self.closing.swap(true, Ordering::AcqRel) {
            *self.close_reason.write() = Some(reason);
            self.kill.send_replace(true);
        }
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason.read().clone()
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }
}
