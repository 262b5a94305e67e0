//! The one wake-up that drives the simulated SfB's timers: a single task per SfbSim incarnation
//! that sleeps until the world's next deadline and then sends the actor one `Tick`. The actor
//! re-aims it after every message; however many calls and timers the world holds (a load run:
//! thousands of calls per second, tens of thousands in progress), there is one task and at most
//! one Tick in flight, never a task per call or per deadline. Not an actor: a helper the SfbSim
//! state owns, cancelled when that state is dropped (however the actor ends).

use crate::actors::connector::sfb_sim::SfbMsg;
use crate::actors::task::AbortOnDrop;
use ractor::ActorRef;
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub struct SimTicker {
    next: watch::Sender<Option<u64>>,
    _task: AbortOnDrop<()>,
}

impl SimTicker {
    /// Starts the wake-up task for `actor`; `epoch` is the instant of simulated time 0.
    pub fn spawn(epoch: Instant, actor: ActorRef<SfbMsg>) -> SimTicker {
        let (next, mut rx) = watch::channel(None::<u64>);
        let task = AbortOnDrop::spawn(async move {
            loop {
                let aimed = *rx.borrow_and_update();
                let Some(at) = aimed else {
                    if rx.changed().await.is_err() {
                        return;
                    }
                    continue;
                };
                let deadline = tokio::time::Instant::from_std(epoch + Duration::from_millis(at));
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => {
                        if actor.cast(SfbMsg::Tick { at }).is_err() {
                            return;
                        }
                        // One Tick in flight: wait until the actor has handled it and re-aimed.
                        if rx.changed().await.is_err() {
                            return;
                        }
                    }
                    changed = rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        SimTicker { next, _task: task }
    }

    /// Aims the wake-up at `at` (simulated ms; None: nothing is due). After a Tick the task waits
    /// for this call, so `ticked` re-aims it even at an unchanged deadline.
    pub fn aim(&self, at: Option<u64>, ticked: bool) {
        if ticked {
            self.next.send_replace(at);
        } else {
            self.next.send_if_modified(|v| {
                let changed = *v != at;
                *v = at;
                changed
            });
        }
    }
}
