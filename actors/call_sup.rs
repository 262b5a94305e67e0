//! CallSup: supervises one [`CallActor`](crate::actors::call) per call family and routes every
//! call input to the family that owns it — client requests by ConnID (TMakeCall starts a new
//! family), Connector events by the Connector's call id, a new Connector call by the ConnID it
//! echoes (a call a request dialed) or its Conversation-ID (an escalation), else to a new family;
//! the Connector's answers by the family that sent the request. Families tell CallSup which keys
//! they answer for (`Routes`, sent before any client can learn a new ConnID) and when they are
//! empty (`Done`: CallSup forgets them and drains the actor).
//!
//! Crash recovery: every routed input is numbered and kept until the family's actor reports it
//! handled (a shared counter, no message per input). When a Call actor fails, its family's
//! inputs are held during the restart backoff, then replayed to the new incarnation, which has
//! rebuilt its calls from their snapshot — except the input it failed on, which is dropped (a
//! request gets EventError 52), so a poison input cannot crash-loop the call. Neighbouring
//! families never notice. A request for an unknown ConnID is answered by an empty table (56).

use crate::actors::call::{self, CallActor, CallArgs, CallMsg, Progress, Routed};
use crate::actors::context::ServerContext;
use crate::actors::outbound::ClientHandle;
use crate::actors::supervision::{child, ChildSpec, Children, Restart, RestartPolicy, SupervisorCmd};
use crate::callmodel::{switch_key, CallRoutes, CallTable, ClientRef, Input, SwitchCall, SwitchKey};
use crate::mltp::Mltp;
use crate::model::{ConnId, DnName, ErrorCode};
use crate::store::Snapshot;
use crate::tlib::{Event, EventKind, Request, RequestKind};
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "call-sup";

pub struct CallSup;

pub enum CallSupMsg {
    /// A client's call request (its ThisDN registration already checked).
    Request {
        client: ClientHandle,
        request: Box<Request>,
    },
    /// A Connector event about a call, from the link named `link`.
    Switch {
        link: String,
        msg: Box<Mltp>,
    },
    /// The Connector's answer to a request family `family` sent.
    SwitchResponse {
        family: u64,
        corr: u64,
        link: String,
        result: Result<Vec<(String, String)>, (ErrorCode, String)>,
    },
    /// A family's keys changed (`old` -> `new`).
    Routes {
        family: u64,
        old: CallRoutes,
        new: CallRoutes,
    },
    /// A family had no call left after handling input `last` (CallSup drains it unless more
    /// inputs were routed to it since).
    Done {
        family: u64,
        last: u64,
    },
    /// The last client registered on a Routing Point left: its waiting calls go to default-dn.
    RoutersGone {
        rp: crate::model::DnName,
    },
    /// A subscription on `agent` with intrusion: its established calls get the supervisor.
    Intrude {
        agent: crate::model::DnName,
    },
    /// The agent of the DN let the call ring out (no-answer-action): take that ringing party off.
    ReleaseParty(ConnId, DnName),
    /// Test hook: make the Call actor owning `conn` panic.
    Crash {
        conn: ConnId,
    },
    Cmd(SupervisorCmd),
}

impl From<SupervisorCmd> for CallSupMsg {
    fn from(cmd: SupervisorCmd) -> Self {
        CallSupMsg::Cmd(cmd)
    }
}

struct Family {
    progress: Arc<Progress>,
    /// Inputs routed and not yet reported handled, by number.
    log: VecDeque<(u64, Routed)>,
    next_seq: u64,
    keys: Keys,
}

/// What CallSup indexes for a family (a superset of its routes until the family confirms them).
#[derive(Default)]
struct Keys {
    conns: Vec<ConnId>,
    switch: Vec<SwitchCall>,
    conversations: Vec<String>,
}

pub struct CallSupState {
    ctx: Arc<ServerContext>,
    children: Children,
    families: HashMap<u64, Family>,
    by_conn: HashMap<ConnId, u64>,
    by_switch: HashMap<SwitchCall, u64>,
    by_conversation: HashMap<String, u64>,
    next_family: u64,
    /// Answers requests for calls no family owns (EventError 56 and the like).
    lobby: CallTable,
    lobby_clients: HashMap<u64, ClientHandle>,
}

pub fn spec(ctx: Arc<ServerContext>) -> ChildSpec {
    child(NAME, "CallSup", RestartPolicy::permanent(), move || (CallSup, ctx.clone()))
}

fn call_policy() -> RestartPolicy {
    RestartPolicy { restart: Restart::Transient, escalate_after: usize::MAX, ..RestartPolicy::permanent() }
}

impl Actor for CallSup {
    type Msg = CallSupMsg;
    type State = CallSupState;
    type Arguments = Arc<ServerContext>;

    async fn pre_start(
        &self,
        me: ActorRef<CallSupMsg>,
        ctx: Arc<ServerContext>,
    ) -> Result<CallSupState, ActorProcessingErr> {
        ctx.set_call_sup(me.clone());
        let children = Children::new(NAME, &me, ctx.board.clone());
        let lobby = call::new_table(&ctx);
        Ok(CallSupState {
            ctx,
            children,
            families: HashMap::new(),
            by_conn: HashMap::new(),
            by_switch: HashMap::new(),
            by_conversation: HashMap::new(),
            next_family: 1,
            lobby,
            lobby_clients: HashMap::new(),
        })
    }

    /// Rebuilds every family from its snapshot (after a crash, an operator restart or a process
    /// restart with a data directory). Routes come from the snapshots, before any input is read.
    async fn post_start(&self, me: ActorRef<CallSupMsg>, st: &mut CallSupState) -> Result<(), ActorProcessingErr> {
        let mut restored = 0;
        for (key, snap) in st.ctx.snapshots.with_prefix("calls:") {
            let Snapshot::Calls(table) = snap else { continue };
            let Some(family) = key.strip_prefix("calls:").and_then(|n| n.parse::<u64>().ok()) else { continue };
            st.next_family = st.next_family.max(family + 1);
            st.start_family(&me, family, table.routes()).await?;
            restored += 1;
        }
        if restored > 0 {
            tracing::info!(families = restored, "calls restored from snapshots");
        }
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<CallSupMsg>, st: &mut CallSupState) -> Result<(), ActorProcessingErr> {
        st.children.stop_all(Duration::from_secs(5)).await;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<CallSupMsg>,
        msg: CallSupMsg,
        st: &mut CallSupState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            CallSupMsg::Request { client, request } => st.on_request(&me, client, request).await?,
            CallSupMsg::Switch { link, msg } => st.on_switch(&me, link, msg).await?,
            CallSupMsg::SwitchResponse { family, corr, link, result } => {
                st.index_dialed(family, &link, &result);
                st.forward(family, Routed::SwitchResponse { corr, link, result });
            }
            CallSupMsg::Routes { family, old, new } => st.update_routes(family, &old, &new),
            CallSupMsg::Done { family, last } => st.on_done(family, last),
            CallSupMsg::RoutersGone { rp } => {
                st.broadcast(|| CallMsg::Broadcast(Input::RoutersGone { rp: rp.clone() }))
            }
            CallSupMsg::Intrude { agent } => {
                st.broadcast(|| CallMsg::Broadcast(Input::Intrude { agent: agent.clone() }))
            }
            CallSupMsg::ReleaseParty(conn, dn) => st.forward_conn(conn, Routed::ReleaseParty { conn, dn }),
            CallSupMsg::Crash { conn } => st.forward_conn(conn, Routed::Crash),
            CallSupMsg::Cmd(cmd) => {
                let name = match &cmd {
                    SupervisorCmd::RestartChild { name, .. } | SupervisorCmd::RestartInPlace { name, .. } => {
                        name.clone()
                    }
                };
                st.children.on_cmd(cmd, &me.get_cell()).await;
                if let Some(family) = name.strip_prefix("call-").and_then(|n| n.parse().ok()) {
                    st.replay(family);
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        me: ActorRef<CallSupMsg>,
        evt: SupervisionEvent,
        st: &mut CallSupState,
    ) -> Result<(), ActorProcessingErr> {
        st.children.on_event(&me, evt)
    }
}

impl CallSupState {
    async fn on_request(
        &mut self,
        me: &ActorRef<CallSupMsg>,
        client: ClientHandle,
        request: Box<Request>,
    ) -> Result<(), ActorProcessingErr> {
        let owner = request.attrs.conn_id.and_then(|c| self.by_conn.get(&c).copied());
        let family = match owner {
            Some(f) => f,
            None if request.kind == RequestKind::MakeCall => self.new_family(me).await?,
            None => {
                self.in_lobby(client, request);
                return Ok(());
            }
        };
        self.forward(family, Routed::Request { client, request });
        Ok(())
    }

    async fn on_switch(
        &mut self,
        me: &ActorRef<CallSupMsg>,
        link: String,
        msg: Box<Mltp>,
    ) -> Result<(), ActorProcessingErr> {
        let family = match switch_key(&link, &msg) {
            SwitchKey::Call(key) => self.by_switch.get(&key).copied(),
            SwitchKey::NewCall { call, conn_id, conversation_id } => {
                let known = self
                    .by_switch
                    .get(&call)
                    .or_else(|| conn_id.and_then(|c| self.by_conn.get(&c)))
                    .or_else(|| self.by_conversation.get(conversation_id).filter(|_| !conversation_id.is_empty()))
                    .copied();
                let family = match known {
                    Some(f) => f,
                    None => self.new_family(me).await?,
                };
                // Indexed now: the call's next events may arrive before the family confirms it.
                let conversation = conversation_id.to_string();
                self.index(
                    family,
                    |k| k.switch.push(call.clone()),
                    |s| {
                        s.by_switch.insert(call.clone(), family);
                    },
                );
                if !conversation.is_empty() && !self.by_conversation.contains_key(&conversation) {
                    self.index(
                        family,
                        |k| k.conversations.push(conversation.clone()),
                        |s| {
                            s.by_conversation.insert(conversation.clone(), family);
                        },
                    );
                }
                Some(family)
            }
            SwitchKey::None => None,
        };
        match family {
            Some(f) => self.forward(f, Routed::Switch { link, msg }),
            None => tracing::debug!(%link, "connector event about no known call; ignored"),
        }
        Ok(())
    }

    /// The answer to MAKE_CALL names the Connector's new call: its events (which may overtake
    /// the family's own route update) belong to the family that dialed it.
    fn index_dialed(&mut self, family: u64, link: &str, result: &Result<Vec<(String, String)>, (ErrorCode, String)>) {
        let Ok(headers) = result else { return };
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let Some(call) = header("call").and_then(|c| c.parse::<u64>().ok()) else { return };
        let call = SwitchCall { link: link.to_string(), call };
        if !self.by_switch.contains_key(&call) {
            self.index(
                family,
                |k| k.switch.push(call.clone()),
                |s| {
                    s.by_switch.insert(call.clone(), family);
                },
            );
        }
        if let Some(conv) = header("conversation-id").filter(|c| !c.is_empty()).map(str::to_string) {
            if !self.by_conversation.contains_key(&conv) {
                self.index(
                    family,
                    |k| k.conversations.push(conv.clone()),
                    |s| {
                        s.by_conversation.insert(conv.clone(), family);
                    },
                );
            }
        }
    }

    /// An input for every family (not logged: a lost one only delays what it triggers).
    fn broadcast(&self, msg: impl Fn() -> CallMsg) {
        for family in self.families.keys() {
            if let Some(cell) = self.children.get(&call::child_name(*family)) {
                let _ = ActorRef::<CallMsg>::from(cell.clone()).cast(msg());
            }
        }
    }

    fn index(&mut self, family: u64, keys: impl FnOnce(&mut Keys), maps: impl FnOnce(&mut Self)) {
        if let Some(f) = self.families.get_mut(&family) {
            keys(&mut f.keys);
            maps(self);
        }
    }

    async fn new_family(&mut self, me: &ActorRef<CallSupMsg>) -> Result<u64, ActorProcessingErr> {
        let family = self.next_family;
        self.next_family += 1;
        self.start_family(me, family, CallRoutes::default()).await?;
        Ok(family)
    }

    async fn start_family(
        &mut self,
        me: &ActorRef<CallSupMsg>,
        family: u64,
        routes: CallRoutes,
    ) -> Result<(), ActorProcessingErr> {
        let progress = Arc::new(Progress::default());
        self.families.insert(
            family,
            Family { progress: progress.clone(), log: VecDeque::new(), next_seq: 1, keys: Keys::default() },
        );
        self.update_routes(family, &CallRoutes::default(), &routes);
        let ctx = self.ctx.clone();
        let spec = child(call::child_name(family), "Call", call_policy(), move || {
            (CallActor, CallArgs { ctx: ctx.clone(), family, progress: progress.clone() })
        });
        self.children
            .start(spec, &me.get_cell())
            .await
            .map_err(|e| format!("cannot start call family {family}: {e}"))?;
        Ok(())
    }

    /// Numbers the input, keeps it until handled, and sends it if the family's actor is running
    /// (during a restart backoff it waits in the log and is replayed).
    fn forward(&mut self, family: u64, input: Routed) {
        let Some(f) = self.families.get_mut(&family) else {
            return self.orphan(input);
        };
        let seq = f.next_seq;
        f.next_seq += 1;
        let done = f.progress.done.load(Ordering::Acquire);
        while f.log.front().is_some_and(|(s, _)| *s <= done) {
            f.log.pop_front();
        }
        f.log.push_back((seq, input.clone()));
        if let Some(cell) = self.children.get(&call::child_name(family)) {
            let _ = ActorRef::<CallMsg>::from(cell.clone()).cast(CallMsg::Input { seq, input });
        }
    }

    /// Forwards `input` to the family owning `conn`, if any (the call may have ended).
    fn forward_conn(&mut self, conn: ConnId, input: Routed) {
        if let Some(family) = self.by_conn.get(&conn).copied() {
            self.forward(family, input);
        }
    }

    /// After a restart: replays what the failed incarnation had not finished, skipping (and
    /// answering) the input it failed on.
    fn replay(&mut self, family: u64) {
        let Some(cell) = self.children.get(&call::child_name(family)).cloned() else { return };
        let Some(f) = self.families.get_mut(&family) else { return };
        let actor = ActorRef::<CallMsg>::from(cell);
        let (started, done) = (f.progress.started.load(Ordering::Acquire), f.progress.done.load(Ordering::Acquire));
        let mut poison = None;
        for (seq, input) in f.log.iter().filter(|(s, _)| *s > done) {
            if *seq == started {
                poison = Some(input.clone());
                continue;
            }
            let _ = actor.cast(CallMsg::Input { seq: *seq, input: input.clone() });
        }
        if let Some(input) = poison {
            f.progress.done.store(started, Ordering::Release);
            tracing::error!(family, seq = started, "input dropped: the call's actor failed handling it");
            if let Routed::Request { client, request } = input {
                let mut ev = Event::answering(EventKind::Error, &request);
                ev.attrs.error_code = Some(ErrorCode::Internal);
                ev.attrs.error_message = Some("the call's actor failed on this request; the call was restored".into());
                ev.attrs.this_dn = request.attrs.this_dn.clone();
                ev.attrs.conn_id = request.attrs.conn_id;
                self.ctx.stamp(&mut ev);
                client.reply(ev);
            }
        }
    }

    fn update_routes(&mut self, family: u64, old: &CallRoutes, new: &CallRoutes) {
        let Some(f) = self.families.get_mut(&family) else { return };
        for c in old.conns.iter().filter(|c| !new.conns.contains(c)) {
            f.keys.conns.retain(|x| x != c);
            remove_if(&mut self.by_conn, c, family);
        }
        for s in old.switch.iter().filter(|s| !new.switch.contains(s)) {
            f.keys.switch.retain(|x| x != s);
            remove_if(&mut self.by_switch, s, family);
        }
        for c in new.conns.iter().filter(|c| !old.conns.contains(c)) {
            f.keys.conns.push(*c);
            self.by_conn.insert(*c, family);
        }
        for s in new.switch.iter().filter(|s| !old.switch.contains(s)) {
            f.keys.switch.push(s.clone());
            self.by_switch.insert(s.clone(), family);
        }
        for c in &new.conversations {
            if f.keys.conversations.contains(c) {
                continue;
            }
            f.keys.conversations.push(c.clone());
            self.by_conversation.entry(c.clone()).or_insert(family);
        }
    }

    /// A family with no call left: forget its keys and let its actor finish what is queued —
    /// unless inputs were routed to it after the one that emptied it (one may start a call).
    fn on_done(&mut self, family: u64, last: u64) {
        if let Some(f) = self.families.get(&family) {
            if f.next_seq - 1 > last {
                return;
            }
            let f = self.families.remove(&family).expect("present");
            for c in &f.keys.conns {
                remove_if(&mut self.by_conn, c, family);
            }
            for s in &f.keys.switch {
                remove_if(&mut self.by_switch, s, family);
            }
            for c in &f.keys.conversations {
                remove_if(&mut self.by_conversation, c, family);
            }
        }
        if let Some(cell) = self.children.get(&call::child_name(family)) {
            let _ = cell.drain();
        }
    }

    fn in_lobby(&mut self, client: ClientHandle, request: Box<Request>) {
        let r = ClientRef(client.id);
        self.lobby_clients.insert(client.id, client);
        let out = self.lobby.apply(Input::Request { client: r, request }, call::now_ms());
        call::private_services(&self.ctx, &out.effects);
        for d in out.events {
            call::deliver(&self.ctx, &self.lobby_clients, d.to, d.event);
        }
        self.lobby_clients.retain(|_, c| !c.is_closing());
    }

    /// An input for a family that just ended: a request is answered as for an unknown call.
    fn orphan(&mut self, input: Routed) {
        if let Routed::Request { client, request } = input {
            self.in_lobby(client, request);
        }
    }
}

fn remove_if<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u64>, key: &K, family: u64) {
    if map.get(key) == Some(&family) {
        map.remove(key);
    }
}
