//! ConnectorLink: the T-Server's end of one MLTP link (`link-n-name` section). It connects with
//! jittered exponential backoff, says HELLO, keeps the link alive with PING, registers and
//! unregisters the DNs LinkSup assigns to it, and reports the link's state up to LinkSup. A lost
//! link (socket closed, PING unanswered, connector suspending) is reported at once so its DNs move
//! to the surviving links of the pool. Requests time out with the guide's error 236.

use crate::actors::context::ServerContext;
use crate::actors::link_lane::LinkLane;
use crate::actors::link_sup::LinkSupMsg;
use crate::actors::task::AbortOnDrop;
use crate::config::{LinkConfig, LinkProtocol};
use crate::links::LinkId;
use crate::mltp::{HideHeaders, Mltp, MltpMessage, TxId};
use crate::model::{DnName, DnType};
use bytes::BytesMut;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

mod inbound;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const PING_INTERVAL: Duration = Duration::from_millis(500);
/// Missed PING answers before the link is declared lost (re-homing must finish within 2 s).
const PING_MISSES: u32 = 2;

pub struct ConnectorLink;

/// The link actor serving link `n`, if it is running.
pub fn link_ref(ctx: &ServerContext, n: LinkId) -> Option<ActorRef<LinkMsg>> {
    ctx.directory.link_cell(n).map(ActorRef::from)
}

pub struct LinkArgs {
    pub ctx: Arc<ServerContext>,
    pub link: LinkConfig,
    pub sup: ActorRef<LinkSupMsg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LinkStatus {
    Disconnected,
    Handshaking,
    Active,
    Suspending,
}

/// What an outstanding request was for, so its answer (or timeout) is routed.
enum Pending {
    Hello,
    Ping,
    Register(DnName),
    Unregister,
    /// SUBSCRIBE_PRESENCE / PUBLISH_PRESENCE of a Dn actor (nobody waits for the answer).
    Presence,
    HaRestore,
    /// Call control for a call family, answered through CallSup (which knows the family's
    /// current actor, even after a restart). The Call actor runs the request's timeout; an
    /// unanswered entry is swept on a PING tick after REQUEST_TIMEOUT (a timer per request was
    /// a task and a timer-wheel entry for each of a thousand requests a second).
    Call {
        family: u64,
        corr: u64,
        sent: std::time::Instant,
    },
}

pub struct LinkState {
    ctx: Arc<ServerContext>,
    cfg: LinkConfig,
    sup: ActorRef<LinkSupMsg>,
    status: LinkStatus,
    /// Connection generation: messages from an older connection are ignored.
    generation: u64,
    out: Option<mpsc::UnboundedSender<BytesMut>>,
    io: Option<AbortOnDrop<()>>,
    /// The connection's fast lane, shared with its reader (`link_lane`).
    lane: Option<Arc<LinkLane>>,
    next_tx: u64,
    pending: HashMap<u64, Pending>,
    attempts: u32,
    missed_pings: u32,
    registered: BTreeSet<DnName>,
    hide: HideHeaders,
    connector: Option<String>,
}

pub enum LinkMsg {
    /// Connect now; ignored when a newer connection attempt has superseded it.
    Connect {
        generation: u64,
    },
    Connected {
        generation: u64,
        stream: crate::transport::Stream,
    },
    ConnectFailed {
        generation: u64,
        reason: String,
    },
    /// A message from the Connector (parsed by the reader), with its transaction id.
    Inbound {
        generation: u64,
        msg: Box<Mltp>,
        id: TxId,
    },
    Closed {
        generation: u64,
        reason: String,
    },
    Register {
        dn: DnName,
        dn_type: DnType,
    },
    Unregister {
        dn: DnName,
        cause: String,
    },
    PingTick,
    /// A presence request of a DN (SUBSCRIBE_PRESENCE, PUBLISH_PRESENCE), fire and forget.
    Presence(Box<Mltp>),
    /// A call-control request of call family `family` (its Call actor runs the timeout).
    CallRequest {
        family: u64,
        corr: u64,
        msg: Box<Mltp>,
    },
    RequestTimeout {
        generation: u64,
        tx: u64,
    },
    GetView(ractor::RpcReplyPort<LinkView>),
}

#[derive(Clone, Debug, Serialize)]
pub struct LinkView {
    pub n: LinkId,
    pub name: String,
    pub address: String,
    pub pool: String,
    pub status: LinkStatus,
    pub connector: Option<String>,
    pub registered: Vec<DnName>,
}

impl Actor for ConnectorLink {
    type Msg = LinkMsg;
    type State = LinkState;
    type Arguments = LinkArgs;

    async fn pre_start(&self, me: ActorRef<LinkMsg>, args: LinkArgs) -> Result<LinkState, ActorProcessingErr> {
        args.ctx.directory.bind_link(args.link.n, me.get_cell());
        let hide =
            HideHeaders::new(&args.ctx.config.switch.log.hide_header, args.ctx.config.tserver.hide_sensitive_data);
        Ok(LinkState {
            ctx: args.ctx,
            cfg: args.link,
            sup: args.sup,
            status: LinkStatus::Disconnected,
            generation: 0,
            out: None,
            io: None,
            lane: None,
            next_tx: 1,
            pending: HashMap::new(),
            attempts: 0,
            missed_pings: 0,
            registered: BTreeSet::new(),
            hide,
            connector: None,
        })
    }

    async fn post_start(&self, me: ActorRef<LinkMsg>, st: &mut LinkState) -> Result<(), ActorProcessingErr> {
        // A new incarnation has nothing registered: LinkSup moves this link's DNs away until it
        // is up again, then re-registers them here.
        let _ = st.sup.cast(LinkSupMsg::LinkDown { link: st.cfg.n, cause: "link (re)started".into() });
        me.cast(LinkMsg::Connect { generation: st.generation })?;
        me.send_interval(PING_INTERVAL, || LinkMsg::PingTick);
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<LinkMsg>, st: &mut LinkState) -> Result<(), ActorProcessingErr> {
        st.drop_connection("link stopped");
        Ok(())
    }

    async fn handle(&self, me: ActorRef<LinkMsg>, msg: LinkMsg, st: &mut LinkState) -> Result<(), ActorProcessingErr> {
        match msg {
            LinkMsg::Connect { generation } if generation == st.generation => st.connect(&me),
            LinkMsg::Connect { .. } => {}
            LinkMsg::Connected { generation, stream } if generation == st.generation => {
                st.start_io(&me, stream);
                let hello = Mltp::Hello {
                    version: "1.0".into(),
                    tserver: st.ctx.config.switch.name.clone(),
                    pool: st.cfg.pool_name.clone(),
                };
                st.request(&me, hello, Pending::Hello);
            }
            LinkMsg::ConnectFailed { generation, reason } if generation == st.generation => {
                tracing::debug!(link = st.cfg.n, %reason, "connect failed");
                st.retry_later(&me);
            }
            LinkMsg::Inbound { generation, msg, id } if generation == st.generation => {
                st.inbound(&me, *msg, id);
                if let Some(lane) = &st.lane {
                    lane.handled();
                }
            }
            LinkMsg::Closed { generation, reason } if generation == st.generation => {
                st.lost(&me, &reason);
            }
            LinkMsg::Connected { .. }
            | LinkMsg::ConnectFailed { .. }
            | LinkMsg::Inbound { .. }
            | LinkMsg::Closed { .. } => {}
            LinkMsg::Register { dn, dn_type } => {
                if st.status != LinkStatus::Active {
                    let (link, reason) = (st.cfg.n, "link is not active".into());
                    let _ = st.sup.cast(LinkSupMsg::RegisterFailed { link, dn, reason, retry: false });
                } else {
                    let m = Mltp::RegisterDn { dn: dn.clone(), dn_type };
                    st.request(&me, m, Pending::Register(dn));
                }
            }
            LinkMsg::Unregister { dn, cause } => {
                // Sent even when the registration is still unanswered: it may complete after the
                // DN was moved away, and the connector must not keep serving it.
                st.registered.remove(&dn);
                if matches!(st.status, LinkStatus::Active | LinkStatus::Suspending) {
                    st.request(&me, Mltp::UnregisterDn { dn: dn.clone(), cause: Some(cause) }, Pending::Unregister);
                }
            }
            LinkMsg::CallRequest { family, corr, msg } => {
                if matches!(st.status, LinkStatus::Active | LinkStatus::Suspending) {
                    st.request(&me, *msg, Pending::Call { family, corr, sent: std::time::Instant::now() });
                }
                // Otherwise nothing is sent: the Call actor's own timeout answers the client.
            }
            LinkMsg::Presence(m) if matches!(st.status, LinkStatus::Active | LinkStatus::Suspending) => {
                st.request(&me, *m, Pending::Presence);
            }
            LinkMsg::PingTick => {
                st.pending.retain(|_, p| !matches!(p, Pending::Call { sent, .. } if sent.elapsed() > REQUEST_TIMEOUT));
                if matches!(st.status, LinkStatus::Active | LinkStatus::Suspending) {
                    if st.missed_pings >= PING_MISSES {
                        st.lost(&me, "connector stopped answering PING");
                    } else {
                        st.missed_pings += 1;
                        st.request(&me, Mltp::Ping {}, Pending::Ping);
                    }
                }
            }
            LinkMsg::RequestTimeout { generation, tx } if generation == st.generation => {
                if let Some(p) = st.pending.remove(&tx) {
                    match p {
                        Pending::Hello => st.lost(&me, "no answer to HELLO"),
                        Pending::Register(dn) => {
                            let (link, reason) = (st.cfg.n, "connector timeout (236)".to_string());
                            let _ = st.sup.cast(LinkSupMsg::RegisterFailed { link, dn, reason, retry: true });
                        }
                        _ => {}
                    }
                }
            }
            LinkMsg::Presence(..) | LinkMsg::RequestTimeout { .. } => {}
            LinkMsg::GetView(reply) => {
                let _ = reply.send(LinkView {
                    n: st.cfg.n,
                    name: st.cfg.name.clone(),
                    address: format!("{}:{}", st.cfg.hostname, st.cfg.port),
                    pool: st.cfg.pool_name.clone(),
                    status: st.status,
                    connector: st.connector.clone(),
                    registered: st.registered.iter().cloned().collect(),
                });
            }
        }
        Ok(())
    }
}

impl LinkState {
    fn connect(&mut self, me: &ActorRef<LinkMsg>) {
        self.drop_connection("reconnecting");
        self.status = LinkStatus::Disconnected;
        self.generation += 1;
        let generation = self.generation;
        let addr = format!("{}:{}", self.cfg.hostname, self.cfg.port);
        let tls = match self.cfg.protocol {
            LinkProtocol::Tcp => None,
            LinkProtocol::Tls => match self.ctx.link_tls.clone() {
                Some(cfg) => Some(cfg),
                None => {
                    tracing::error!(link = self.cfg.n, "protocol = tls but no [server] link-ca is configured");
                    return self.retry_later(me);
                }
            },
        };
        let host = self.cfg.hostname.clone();
        let me = me.clone();
        tokio::spawn(async move {
            let attempt = crate::transport::connect(&addr, tls.as_ref().map(|c| (c.clone(), host.as_str())));
            let msg = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
                Ok(Ok(stream)) => LinkMsg::Connected { generation, stream },
                Ok(Err(e)) => LinkMsg::ConnectFailed { generation, reason: e.to_string() },
                Err(_) => LinkMsg::ConnectFailed { generation, reason: "connect timed out".into() },
            };
            let _ = me.cast(msg);
        });
    }

    fn retry_later(&mut self, me: &ActorRef<LinkMsg>) {
        self.attempts += 1;
        let salt = self.cfg.n as u64 ^ self.generation ^ std::process::id() as u64;
        let generation = self.generation;
        me.send_after(crate::links::reconnect_backoff(self.attempts, salt), move || LinkMsg::Connect { generation });
    }

    fn start_io(&mut self, me: &ActorRef<LinkMsg>, stream: crate::transport::Stream) {
        self.status = LinkStatus::Handshaking;
        let (tx, rx) = mpsc::unbounded_channel::<BytesMut>();
        self.out = Some(tx);
        let lane = Arc::new(LinkLane::new(self.cfg.name.clone()));
        self.lane = Some(lane.clone());
        let (generation, me, ctx, n, hide) =
            (self.generation, me.clone(), self.ctx.clone(), self.cfg.n, self.hide.clone());
        self.io = Some(AbortOnDrop::spawn(async move {
            let deliver = |msg: MltpMessage| {
                tracing::debug!(link = n, "received MLTP\n{}", crate::mltp::render_for_log(&msg, &hide));
                let typed = match Mltp::from_message(&msg) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(link = n, error = %e, "invalid MLTP message from the connector");
                        return true;
                    }
                };
                let Some(typed) = lane.try_handle(&ctx, typed) else { return true };
                lane.to_actor();
                me.cast(LinkMsg::Inbound { generation, msg: Box::new(typed), id: msg.id }).is_ok()
            };
            let reason = crate::actors::mltp_stream::pump(stream, rx, "the connector", deliver).await;
            let _ = me.cast(LinkMsg::Closed { generation, reason });
        }));
    }

    fn drop_connection(&mut self, why: &str) {
        if let Some(lane) = self.lane.take() {
            lane.close();
        }
        self.out = None;
        self.io = None;
        // Registrations that were in flight will never be answered: say so, so LinkSup does not
        // count those DNs as served.
        for (_, p) in self.pending.drain() {
            if let Pending::Register(dn) = p {
                let (link, reason) = (self.cfg.n, why.to_string());
                let _ = self.sup.cast(LinkSupMsg::RegisterFailed { link, dn, reason, retry: false });
            }
        }
        self.missed_pings = 0;
    }

    fn send(&self, msg: &MltpMessage) {
        let Some(out) = &self.out else { return };
        tracing::debug!(link = self.cfg.n, "send MLTP\n{}", crate::mltp::render_for_log(msg, &self.hide));
        let mut buf = BytesMut::new();
        if let Err(e) = crate::mltp::link_codec().encode(msg, &mut buf) {
            tracing::error!(link = self.cfg.n, error = %e, "cannot encode MLTP");
            return;
        }
        let _ = out.send(buf);
    }

    fn request(&mut self, me: &ActorRef<LinkMsg>, m: Mltp, pending: Pending) {
        let tx = self.next_tx;
        self.next_tx += 1;
        let timed_here = !matches!(pending, Pending::Call { .. });
        self.pending.insert(tx, pending);
        self.send(&m.to_message(TxId::Tx(tx)));
        if timed_here {
            let generation = self.generation;
            me.send_after(REQUEST_TIMEOUT, move || LinkMsg::RequestTimeout { generation, tx });
        }
    }

    fn set_status(&mut self, status: LinkStatus) {
        let before = self.status;
        self.status = status;
        match (before, status) {
            (b, LinkStatus::Active) if b != LinkStatus::Active => {
                let _ = self.sup.cast(LinkSupMsg::LinkUp(self.cfg.n));
            }
            (LinkStatus::Active, LinkStatus::Suspending) => {
                tracing::info!(link = self.cfg.n, "connector suspending (graceful shutdown): its DNs move now");
                self.registered.clear();
                let cause = "connector suspending".to_string();
                let _ = self.sup.cast(LinkSupMsg::LinkDown { link: self.cfg.n, cause });
            }
            _ => {}
        }
    }

    fn lost(&mut self, me: &ActorRef<LinkMsg>, reason: &str) {
        let was_up = matches!(self.status, LinkStatus::Active | LinkStatus::Suspending);
        self.drop_connection(reason);
        self.status = LinkStatus::Disconnected;
        // Whatever the old connection still has queued (Closed, Inbound) is now stale.
        self.generation += 1;
        self.registered.clear();
        if was_up {
            tracing::warn!(link = self.cfg.n, %reason, "connector link lost");
        }
        let _ = self.sup.cast(LinkSupMsg::LinkDown { link: self.cfg.n, cause: reason.to_string() });
        self.retry_later(me);
    }
}
