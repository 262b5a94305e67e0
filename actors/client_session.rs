//! One ClientSession per T-Library connection. Two tasks do the socket work (`client_io`): a
//! reader that decodes frames and casts each request here, and a writer that drains the client's
//! bounded outbound queue in bursts (one write and one flush per burst). The actor itself validates
//! requests, answers the connection-level ones (handshake, input mask, server queries) and hands
//! DN requests to the Dn actor. Any protocol violation (garbage, truncated or oversized frames, an
//! event sent by a client, no handshake) closes this connection only; a client that cannot keep
//! up is disconnected. Sessions are never restarted: the client reconnects and re-registers.

use crate::actors::call_sup::CallSupMsg;
use crate::actors::client_io;
use crate::actors::client_lane::{route, Answerable, Lane, Route};
use crate::actors::context::ServerContext;
use crate::actors::dn::DnMsg;
use crate::actors::outbound::{ClientHandle, ClientQueue, CloseReason};
use crate::actors::task::AbortOnDrop;
use crate::model::{DnName, ErrorCode};
use crate::tlib::{check_open_server, Event, EventKind, Request, RequestKind, PROTOCOL_VERSION};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long a request waits for a DN that is being restarted before it is answered with an error.
const DN_RESTART_WAIT: Duration = Duration::from_secs(2);

pub struct ClientSession;

pub struct SessionArgs {
    pub ctx: Arc<ServerContext>,
    pub id: u64,
    pub tcp: TcpStream,
    pub peer: SocketAddr,
}

pub struct SessionState {
    ctx: Arc<ServerContext>,
    id: u64,
    peer: SocketAddr,
    handle: ClientHandle,
    /// Shared with the reader: opened, the registered DNs, requests not yet handled here.
    lane: Arc<Lane>,
    io: Option<AbortOnDrop<()>>,
    pending: Option<(TcpStream, ClientQueue)>,
}

pub enum SessionMsg {
    Inbound(Box<Request>),
    /// The reader or writer ended; the reason is on the handle.
    Closed,
}

impl Actor for ClientSession {
    type Msg = SessionMsg;
    type State = SessionState;
    type Arguments = SessionArgs;

    async fn pre_start(
        &self,
        _me: ActorRef<SessionMsg>,
        args: SessionArgs,
    ) -> Result<SessionState, ActorProcessingErr> {
        let (handle, queue) = ClientHandle::new(args.id, args.ctx.config.server.client_queue_limit);
        args.ctx.metrics.clients_connected.fetch_add(1, Ordering::Relaxed);
        Ok(SessionState {
            ctx: args.ctx,
            id: args.id,
            peer: args.peer,
            handle,
            lane: Arc::new(Lane::default()),
            io: None,
            pending: Some((args.tcp, queue)),
        })
    }

    async fn post_start(&self, me: ActorRef<SessionMsg>, st: &mut SessionState) -> Result<(), ActorProcessingErr> {
        let (tcp, queue) = st.pending.take().expect("post_start runs once");
        st.io = Some(AbortOnDrop::spawn(client_io::run_io(
            st.ctx.clone(),
            tcp,
            queue,
            st.handle.clone(),
            st.lane.clone(),
            me,
        )));
        tracing::info!(client = st.id, peer = %st.peer, "client connected");
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<SessionMsg>, st: &mut SessionState) -> Result<(), ActorProcessingErr> {
        st.handle.disconnect(CloseReason::Shutdown);
        if let Some(m) = st.ctx.monitor_sup() {
            let _ = m.cast(crate::actors::monitor_sup::MonitorMsg::ClientGone { client: st.id });
        }
        for dn in &st.lane.registered() {
            st.ctx.directory.unsubscribe(dn, st.id);
            st.ctx.routing_client_left(dn);
            // The DN's agent may have to log out (logout-on-disconnect).
            if let Some(actor) = st.ctx.directory.dn(dn) {
                let _ = actor.cast(DnMsg::ClientGone { client: st.id });
            }
        }
        st.io = None;
        st.ctx.metrics.clients_connected.fetch_sub(1, Ordering::Relaxed);
        let reason = st.handle.close_reason();
        match &reason {
            Some(CloseReason::SlowClient) => {
                st.ctx.metrics.clients_disconnected_slow.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(client = st.id, peer = %st.peer, "client disconnected: outbound queue full (cannot keep up)");
            }
            Some(CloseReason::Protocol(e)) => {
                st.ctx.metrics.clients_disconnected_protocol.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(client = st.id, peer = %st.peer, error = %e, "client disconnected: protocol error");
            }
            _ => tracing::info!(client = st.id, peer = %st.peer, reason = ?reason, "client disconnected"),
        }
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<SessionMsg>,
        msg: SessionMsg,
        st: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            // Boxed: ractor keeps the handler's future inside the actor's task for its whole
            // life; the request paths make it ~7 KiB per connection (see DnActor::handle).
            SessionMsg::Inbound(req) => {
                Box::pin(st.on_request(*req)).await;
                st.lane.handled();
            }
            // The I/O task sends Closed once it has flushed what must reach the client (the
            // EventError of a refused handshake, EventServerDisconnected) or dropped a slow one.
            SessionMsg::Closed => me.stop(None),
        }
        Ok(())
    }
}

impl SessionState {
    async fn on_request(&mut self, req: Request) {
        self.ctx.metrics.request(req.kind);
        tracing::debug!(client = self.id, request = %req.log_display(self.ctx.visibility), "request");
        if !self.lane.is_open() {
            return self.open(&req);
        }
        if let Err(code) = req.check_supported() {
            return self.error(&req, code, format!("{} is not supported by this T-Server", req.kind.name()));
        }
        match route(req.kind) {
            Route::Dn => return self.forward_to_dn(req).await,
            Route::Monitoring => return self.forward_to_monitoring(req),
            Route::Calls => return self.forward_to_calls(req),
            Route::Connection => {}
        }
        match req.kind {
            RequestKind::OpenServer | RequestKind::OpenServerEx => {
                self.error(&req, ErrorCode::InSameState, "the connection is already open".into())
            }
            RequestKind::CloseServer => {
                self.reply(Event::answering(EventKind::ServerDisconnected, &req));
                self.handle.disconnect(CloseReason::CloseRequested);
            }
            RequestKind::SetInputMask => {
                self.handle.set_mask(req.attrs.input_mask.as_deref().unwrap_or(&[]));
                self.reply(Event::answering(EventKind::ACK, &req));
            }
            RequestKind::QueryServer => self.reply(self.server_info(&req)),
            RequestKind::RegisterAddress | RequestKind::UnregisterAddress => self.register(req).await,
            // route() sends only the kinds above here; should the two disagree, the client still
            // gets an answer.
            other => {
                tracing::error!(request = other.name(), "not a connection request");
                self.error(&req, ErrorCode::Internal, format!("{} was not dispatched", other.name()));
            }
        }
    }

    /// The handshake: the first request must be TOpenServer with a protocol version we speak.
    fn open(&mut self, req: &Request) {
        match check_open_server(req) {
            Ok(()) => {
                self.lane.open();
                let mut ev = self.server_info(req);
                ev.kind = EventKind::ServerConnected;
                self.reply(ev);
            }
            Err(code) => {
                let msg = format!(
                    "expected OpenServer with ProtocolVersion {PROTOCOL_VERSION} first, got {}",
                    req.kind.name()
                );
                self.error(req, code, msg);
                self.handle.disconnect(CloseReason::Protocol(format!("handshake refused: {}", req.kind.name())));
            }
        }
    }

    fn server_info(&self, req: &Request) -> Event {
        let mut ev = Event::answering(EventKind::ServerInfo, req);
        ev.attrs.protocol_version = Some(PROTOCOL_VERSION);
        ev.attrs.server_version = Some(format!("sfb-tserver {}", env!("CARGO_PKG_VERSION")));
        ev.attrs.application_name = Some(self.ctx.config.switch.name.clone());
        ev
    }

    async fn register(&mut self, req: Request) {
        let Some(dn) = self.known_dn(&req) else { return };
        let Some(actor) = self.ctx.directory.live_dn(&dn, DN_RESTART_WAIT).await else {
            return self.error(&req, ErrorCode::OutOfService, format!("DN {dn} is not available (restarting)"));
        };
        let reference_id = req.attrs.reference_id;
        let client = self.handle.clone();
        let registering = req.kind == RequestKind::RegisterAddress;
        let msg = if registering {
            let logout_on_disconnect =
                req.attrs.extensions.as_ref().and_then(crate::agent::logout_on_disconnect_extension);
            DnMsg::Register { client, reference_id, logout_on_disconnect }
        } else {
            self.lane.unregister(&dn);
            DnMsg::Unregister { client, reference_id }
        };
        if actor.cast(msg).is_err() {
            self.error(&req, ErrorCode::OutOfService, format!("DN {dn} is not available"));
        } else if registering {
            // Only now: a registration the DN never got must not open the fast lane for it. The
            // reader sees it only after this request is handled (see `client_lane`).
            self.lane.register(dn);
        }
    }

    /// A DN request: the DN must be configured, and (except for queries) registered by this client.
    async fn forward_to_dn(&mut self, req: Request) {
        let Some(dn) = self.known_dn(&req) else { return };
        if req.kind != RequestKind::QueryAddress && !self.lane.is_registered(&dn) {
            return self.error(&req, ErrorCode::NotRegistered, format!("client has not registered for {dn}"));
        }
        let Some(actor) = self.ctx.directory.live_dn(&dn, DN_RESTART_WAIT).await else {
            return self.error(&req, ErrorCode::OutOfService, format!("DN {dn} is not available (restarting)"));
        };
        let client = self.handle.clone();
        if let Err(e) = actor.cast(DnMsg::Request { client, request: Box::new(req.clone()) }) {
            tracing::warn!(client = self.id, %dn, error = %e, "dn unreachable");
            self.error(&req, ErrorCode::OutOfService, format!("DN {dn} is not available"));
        }
    }

    /// A call request: its ThisDN, when given, must be configured and registered by this client;
    /// the call model checks the rest (ConnID, party, state) and answers with the guide's codes.
    /// The reader sends most of them to CallSup itself (`client_lane`); those that come here
    /// arrived behind another request or will be answered with an error.
    fn forward_to_calls(&mut self, req: Request) {
        if req.attrs.this_dn.is_some() {
            let Some(dn) = self.known_dn(&req) else { return };
            if !self.lane.is_registered(&dn) {
                return self.error(&req, ErrorCode::NotRegistered, format!("client has not registered for {dn}"));
            }
        }
        let req = match self.ctx.call_sup() {
            Some(sup) => {
                let kept = Answerable::of(&req);
                match sup.cast(CallSupMsg::Request { client: self.handle.clone(), request: Box::new(req) }) {
                    Ok(()) => return,
                    Err(ractor::MessagingErr::SendErr(CallSupMsg::Request { request, .. })) => *request,
                    // Not expected (see client_lane): answered from what was kept of it.
                    Err(e) => {
                        tracing::error!(client = self.id, error = %e, "call request refused by CallSup");
                        kept.request()
                    }
                }
            }
            None => req,
        };
        self.error(&req, ErrorCode::Internal, "call handling is restarting; retry".into());
    }

    /// Supervision subscriptions: the supervisor's desktop must be registered on ThisDN.
    fn forward_to_monitoring(&mut self, req: Request) {
        let Some(dn) = self.known_dn(&req) else { return };
        if !self.lane.is_registered(&dn) {
            return self.error(&req, ErrorCode::NotRegistered, format!("client has not registered for {dn}"));
        }
        let msg = crate::actors::monitor_sup::MonitorMsg::Request {
            client: self.handle.clone(),
            request: Box::new(req.clone()),
        };
        if self.ctx.monitor_sup().is_none_or(|m| m.cast(msg).is_err()) {
            self.error(&req, ErrorCode::Internal, "call supervision is restarting; retry".into());
        }
    }

    /// ThisDN of a request, if present and configured; otherwise answers the error and returns None.
    fn known_dn(&self, req: &Request) -> Option<DnName> {
        let Some(dn) = req.attrs.this_dn.clone().filter(|d| !d.is_empty()) else {
            self.error(req, ErrorCode::InvalidAttr, format!("{} requires ThisDN", req.kind.name()));
            return None;
        };
        if !self.ctx.config.dns.contains_key(&dn) {
            self.error(req, ErrorCode::NotConfigured, format!("DN {dn} is not configured"));
            return None;
        }
        Some(dn)
    }

    fn reply(&self, mut ev: Event) {
        self.ctx.stamp(&mut ev);
        if self.handle.reply(ev) {
            self.ctx.metrics.events(1);
        }
    }

    fn error(&self, req: &Request, code: ErrorCode, message: String) {
        self.ctx.metrics.error(code.code());
        self.reply(Event::error_for(req, code, Some(message)));
    }
}
