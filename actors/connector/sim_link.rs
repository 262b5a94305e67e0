//! How connectors and the control API reach the simulated SfB ([`SfbSim`], whose actor may be
//! restarted): a command awaited ([`SimLink::app`]) or sent on with its answer delivered by
//! [`SimReply`] ([`SimLink::app_then`]), both run in the order sent.

#[cfg(doc)]
use super::sfb_sim::SfbSim;
use super::sfb_sim::{AppCmd, SfbMsg, SimResult, SimShared};
use crate::sim::SimError;
use ractor::ActorRef;
use std::sync::Arc;
use std::time::Duration;

fn unreachable() -> SimError {
    SimError::Refused("Skype for Business is not reachable".into())
}

/// A command that got no answer: timed out ([`SimLink::app`]) or dropped ([`SimReply`]).
fn no_answer() -> SimError {
    SimError::Refused("no answer from Skype for Business".into())
}

/// How connectors and the control API reach the simulated SfB, whose actor may be restarted.
pub struct SimLink {
    pub shared: Arc<SimShared>,
    pub actor: parking_lot::RwLock<Option<ActorRef<SfbMsg>>>,
}

impl SimLink {
    pub fn new(shared: Arc<SimShared>) -> Arc<Self> {
        Arc::new(SimLink { shared, actor: parking_lot::RwLock::new(None) })
    }

    /// Sends one application command to the simulated SfB on behalf of `connector` without
    /// waiting: `then` gets its result inside the simulation's handler, before the events the
    /// command caused reach any connector, and an error if the command is lost (the simulation
    /// is away or failed with it in its mailbox). Commands sent this way and with [`Self::app`]
    /// run in the order sent.
    pub fn app_then(&self, connector: &str, cmd: AppCmd, then: SimReply) {
        let Some(actor) = self.actor.read().clone() else {
            return then.send(Err(unreachable()));
        };
        // A refused send hands the message back; dropping it answers `then` with an error.
        let _ = actor.cast(SfbMsg::AppThen { connector: connector.to_string(), cmd, then });
    }

    /// Runs one application command against the simulated SfB on behalf of `connector`.
    pub async fn app(&self, connector: &str, cmd: AppCmd) -> SimResult {
        let Some(actor) = self.actor.read().clone() else {
            return Err(unreachable());
        };
        let connector = connector.to_string();
        match actor.call(|reply| SfbMsg::App { connector, cmd, reply }, Some(Duration::from_secs(5))).await {
            Ok(ractor::rpc::CallResult::Success(r)) => r,
            _ => Err(no_answer()),
        }
    }
}

/// Where the result of [`SimLink::app_then`] goes: called once, with the result, or with an
/// error when the command is dropped unanswered (so a waiting link never hangs on it).
pub struct SimReply(Option<Box<dyn FnOnce(SimResult) + Send>>);

impl SimReply {
    pub fn new(f: impl FnOnce(SimResult) + Send + 'static) -> Self {
        SimReply(Some(Box::new(f)))
    }

    pub fn send(mut self, result: SimResult) {
        if let Some(f) = self.0.take() {
            f(result);
        }
    }
}

impl Drop for SimReply {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f(Err(no_answer()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{CallId, SimConfig, SimSection, World};
    use parking_lot::Mutex;

    /// A command sent without waiting is always answered: with an error when SfB is not there to
    /// take it, and when it is dropped unanswered (as a message left in a failed SfB's mailbox is).
    #[test]
    fn a_command_sent_without_waiting_is_answered_even_when_lost() {
        let answers = Arc::new(Mutex::new(Vec::new()));
        let reply = || {
            let answers = answers.clone();
            SimReply::new(move |r: SimResult| answers.lock().push(r.map_err(|e| e.to_string())))
        };
        let server = crate::config::embedded_default();
        let section = SimSection::from_value(&server.sim).unwrap();
        let link = SimLink::new(SimShared::new(World::new(SimConfig::from_server_config(&server, section).unwrap())));
        link.app_then("c1", AppCmd::StopPlay { call: CallId(1) }, reply());
        drop(reply());
        reply().send(Ok(serde_json::Value::Null));
        let answers = answers.lock().clone();
        assert_eq!(answers.len(), 3, "{answers:?}");
        assert!(answers[0].as_ref().is_err_and(|e| e.contains("not reachable")), "{answers:?}");
        assert!(answers[1].as_ref().is_err_and(|e| e.contains("no answer")), "{answers:?}");
        assert_eq!(answers[2], Ok(serde_json::Value::Null), "answered once, not again when dropped");
    }
}
