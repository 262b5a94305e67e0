//! The supervision board: one shared table per server where every supervisor publishes its
//! children (name, kind, status, restarts, parked) and a handle to send it commands. The admin
//! endpoint reads it to draw `/tree` and to route `POST /restart/{name}` to the right supervisor,
//! without walking actors or calling up the tree. The board outlives every actor incarnation.

use crate::actors::supervision::SupervisorCmd;
use parking_lot::RwLock;
use ractor::{ActorRef, Message};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ChildStatus {
    Running,
    Restarting,
    Parked,
    Stopped,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ChildInfo {
    pub name: String,
    pub kind: String,
    pub supervisor: String,
    pub status: ChildStatus,
    pub restarts: u64,
    pub parked: bool,
    pub last_error: Option<String>,
    pub actor_id: Option<String>,
}

/// Lets the admin endpoint send commands to a supervisor whatever its message type.
pub trait SupervisorHandle: Send + Sync {
    fn send(&self, cmd: SupervisorCmd) -> Result<(), String>;
}

impl<M: Message + From<SupervisorCmd>> SupervisorHandle for ActorRef<M> {
    fn send(&self, cmd: SupervisorCmd) -> Result<(), String> {
        self.cast(M::from(cmd)).map_err(|e| format!("supervisor unreachable: {e}"))
    }
}

#[derive(Clone, Default)]
pub struct Board {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    children: BTreeMap<String, ChildInfo>,
    supervisors: BTreeMap<String, Arc<dyn SupervisorHandle>>,
}

/// A node of the drawn tree, as served by `GET /tree`.
#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    #[serde(flatten)]
    pub info: ChildInfo,
    pub children: Vec<TreeNode>,
}

impl Board {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register_supervisor(&self, name: &str, handle: Arc<dyn SupervisorHandle>) {
        self.inner.write().supervisors.insert(name.to_string(), handle);
    }

    pub fn unregister_supervisor(&self, name: &str) {
        self.inner.write().supervisors.remove(name);
    }

    pub fn set_child(&self, info: ChildInfo) {
        self.inner.write().children.insert(info.name.clone(), info);
    }

    pub fn remove_child(&self, name: &str) {
        self.inner.write().children.remove(name);
    }

    pub fn child(&self, name: &str) -> Option<ChildInfo> {
        self.inner.read().children.get(name).cloned()
    }

    pub fn children(&self) -> Vec<ChildInfo> {
        self.inner.read().children.values().cloned().collect()
    }

    /// The tree below `root` (the root itself is described by `root_info`).
    pub fn tree(&self, root_info: ChildInfo) -> TreeNode {
        let inner = self.inner.read();
        let mut by_sup: BTreeMap<&str, Vec<&ChildInfo>> = BTreeMap::new();
        for c in inner.children.values() {
            by_sup.entry(c.supervisor.as_str()).or_default().push(c);
        }
        fn build(info: ChildInfo, by_sup: &BTreeMap<&str, Vec<&ChildInfo>>) -> TreeNode {
            let children = by_sup
                .get(info.name.as_str())
                .map(|cs| cs.iter().map(|c| build((*c).clone(), by_sup)).collect())
                .unwrap_or_default();
            TreeNode { info, children }
        }
        build(root_info, &by_sup)
    }

    /// Asks the supervisor of `name` to restart it in place; waits for the outcome.
    pub async fn restart(&self, name: &str, timeout: Duration) -> Result<(), String> {
        let handle = {
            let inner = self.inner.read();
            let info = inner.children.get(name).ok_or_else(|| format!("no actor named {name}"))?;
            inner
                .supervisors
                .get(&info.supervisor)
                .cloned()
                .ok_or_else(|| format!("supervisor {} of {name} is not running", info.supervisor))?
        };
        let (tx, rx) = ractor::concurrency::oneshot();
        handle.send(SupervisorCmd::RestartInPlace { name: name.to_string(), reply: tx.into() })?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(format!("supervisor of {name} dropped the request")),
            Err(_) => Err(format!("restart of {name} did not finish within {timeout:?}")),
        }
    }
}
