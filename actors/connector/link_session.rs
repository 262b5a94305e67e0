//! LinkSession: the Connector's end of one T-Server link. It decodes MLTP, executes each request
//! against the simulated SfB on behalf of its Connector, answers with RESPONSE (errors carry the
//! guide's codes), and writes the Connector's events to the T-Server. A malformed message closes
//! only this link. Temporary: the T-Server reconnects.
//!
//! A request that is one command to SfB (release, hold, redirect, ...) is not awaited: it is sent
//! and answered when SfB answers ([`SessionMsg::Answered`]), so the events this link carries never
//! wait behind SfB working on a request. Answers keep the requests' order and still come before
//! the events their command caused (SfB answers before the Connector sees those events). Any
//! other request waits until those in flight are answered, and what arrives behind it waits too.
//! MAKE_CALL, answered by the Connector once it has anchored the call, is the one answer that
//! requests sent behind it may overtake (as before pipelining).

use crate::actors::connector::connector::ConnectorMsg;
use crate::actors::connector::sfb_sim::{AppCmd, SimLink, SimReply};
use crate::mltp::{ConnectorState, HideHeaders, Mltp, MltpMessage, PresenceType, Response, TxId};
use crate::model::{DnType, ErrorCode};
use crate::sim::{CallId, Media, PartyMode};
use bytes::BytesMut;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

pub struct LinkSession;

pub struct SessionArgs {
    pub connector: String,
    pub sim: Arc<SimLink>,
    pub owner: ActorRef<ConnectorMsg>,
    pub tcp: TcpStream,
    pub state: ConnectorState,
    pub hide_sensitive_data: bool,
    /// The Switch annex `[log] hide-header` list.
    pub hide_header: Vec<String>,
    /// TLS on the CTI port when the Connector has a certificate.
    pub acceptor: crate::transport::Acceptor,
    /// Whether the Connector started with its own HA data (HELLO's `ha-data`).
    pub ha_present: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

pub struct SessionState {
    connector: String,
    sim: Arc<SimLink>,
    owner: ActorRef<ConnectorMsg>,
    state: ConnectorState,
    out: mpsc::UnboundedSender<BytesMut>,
    io: Option<crate::actors::task::AbortOnDrop<()>>,
    pending: Option<(TcpStream, mpsc::UnboundedReceiver<BytesMut>, crate::transport::Acceptor)>,
    hide: HideHeaders,
    me: ActorRef<SessionMsg>,
    ha_present: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// One-command requests sent to SfB and not yet answered.
    in_flight: usize,
    /// Requests waiting for those to be answered, in arrival order.
    waiting: VecDeque<MltpMessage>,
}

pub enum SessionMsg {
    Inbound(Box<MltpMessage>),
    /// An event of the Connector for the T-Server.
    Event(Box<Mltp>),
    /// The answer to a request the Connector executed for this link (MAKE_CALL).
    Reply(TxId, Box<Response>),
    /// SfB's answer to a one-command request sent without waiting.
    Answered(TxId, Box<Response>),
    Closed(String),
}

impl Actor for LinkSession {
    type Msg = SessionMsg;
    type State = SessionState;
    type Arguments = SessionArgs;

    async fn pre_start(&self, me: ActorRef<SessionMsg>, a: SessionArgs) -> Result<SessionState, ActorProcessingErr> {
        let (out, rx) = mpsc::unbounded_channel();
        Ok(SessionState {
            connector: a.connector,
            sim: a.sim,
            owner: a.owner,
            state: a.state,
            out,
            io: None,
            pending: Some((a.tcp, rx, a.acceptor)),
            hide: HideHeaders::new(&a.hide_header, a.hide_sensitive_data),
            me,
            ha_present: a.ha_present,
            in_flight: 0,
            waiting: VecDeque::new(),
        })
    }

    async fn post_start(&self, me: ActorRef<SessionMsg>, st: &mut SessionState) -> Result<(), ActorProcessingErr> {
        let (tcp, rx, acceptor) = st.pending.take().expect("post_start runs once");
        st.io = Some(crate::actors::task::AbortOnDrop::spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = me.cast(SessionMsg::Closed(format!("TLS handshake failed: {e}")));
                    return;
                }
            };
            let deliver = |m| me.cast(SessionMsg::Inbound(Box::new(m))).is_ok();
            let reason = crate::actors::mltp_stream::pump(stream, rx, "the T-Server", deliver).await;
            let _ = me.cast(SessionMsg::Closed(reason));
        }));
        Ok(())
    }

    async fn post_stop(&self, _me: ActorRef<SessionMsg>, st: &mut SessionState) -> Result<(), ActorProcessingErr> {
        st.io = None;
        Ok(())
    }

    async fn handle(
        &self,
        me: ActorRef<SessionMsg>,
        msg: SessionMsg,
        st: &mut SessionState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SessionMsg::Inbound(m) if !st.waiting.is_empty() => st.waiting.push_back(*m),
            SessionMsg::Inbound(m) => st.on_message(&me, *m).await,
            SessionMsg::Answered(tx, response) => {
                st.in_flight -= 1;
                st.send(&Mltp::Response(*response).to_message(tx));
                while st.in_flight == 0 {
                    let Some(m) = st.waiting.pop_front() else { break };
                    st.on_message(&me, m).await;
                }
            }
            SessionMsg::Event(m) => {
                if let Mltp::ConnectorState { state } = &*m {
                    st.state = *state;
                }
                st.send(&m.to_message(TxId::Unsolicited));
            }
            SessionMsg::Reply(tx, response) => st.send(&Mltp::Response(*response).to_message(tx)),
            SessionMsg::Closed(reason) => {
                tracing::info!(connector = %st.connector, %reason, "T-Server link closed");
                me.stop(None);
            }
        }
        Ok(())
    }
}

impl SessionState {
    fn send(&self, m: &MltpMessage) {
        tracing::debug!(connector = %self.connector, "send MLTP\n{}", crate::mltp::render_for_log(m, &self.hide));
        let mut buf = BytesMut::new();
        match crate::mltp::link_codec().encode(m, &mut buf) {
            Ok(()) => {
                let _ = self.out.send(buf);
            }
            Err(e) => tracing::error!(connector = %self.connector, error = %e, "cannot encode MLTP"),
        }
    }

    async fn on_message(&mut self, me: &ActorRef<SessionMsg>, m: MltpMessage) {
        tracing::debug!(connector = %self.connector, "received MLTP\n{}", crate::mltp::render_for_log(&m, &self.hide));
        let id = m.id;
        let typed = match Mltp::from_message(&m) {
            Ok(t) => t,
            Err(e) => {
                if id.tx().is_some() && self.in_flight > 0 {
                    // Answered in its turn, like any request that is not pipelined.
                    self.waiting.push_front(m);
                    return;
                }
                if id.tx().is_some() {
                    self.send(&Mltp::Response(Response::error(ErrorCode::InvalidAttr, e.to_string())).to_message(id));
                    return;
                }
                tracing::warn!(connector = %self.connector, error = %e, "malformed MLTP; closing the link");
                me.stop(None);
                return;
            }
        };
        if id.tx().is_none() {
            return; // events from the T-Server side are not expected; ignore them
        }
        let bye = matches!(typed, Mltp::Bye { .. });
        if let Mltp::MakeCall { conn_id, from, to, media, text, calling_method, .. } = typed {
            if self.in_flight > 0 {
                self.waiting.push_front(m);
                return;
            }
            let b2b = calling_method.is_some_and(|m| m.eq_ignore_ascii_case("b2b"));
            return self.make_call(id, conn_id, from, to, media, text, b2b);
        }
        let typed = match self.one_command(typed) {
            Ok(cmd) => return self.send_command(id, cmd),
            Err(typed) => *typed,
        };
        if self.in_flight > 0 {
            // Its turn comes when those are answered (it was the oldest waiting, if it waited).
            self.waiting.push_front(m);
            return;
        }
        let response = self.execute(typed).await;
        self.send(&Mltp::Response(response).to_message(id));
        if bye {
            me.stop(Some("BYE".into()));
        }
    }

    /// MAKE_CALL goes to the Connector, which anchors the call in a pool conference and answers
    /// through [`SessionMsg::Reply`]. One argument per field of the MLTP message.
    #[allow(clippy::too_many_arguments)]
    fn make_call(
        &self,
        tx: TxId,
        conn_id: crate::model::ConnId,
        from: String,
        to: String,
        media: crate::mltp::Media,
        text: String,
        b2b: bool,
    ) {
        if self.state == ConnectorState::Suspending {
            let r = Response::error(ErrorCode::OutOfService, "connector is suspending (graceful shutdown)");
            return self.send(&Mltp::Response(r).to_message(tx));
        }
        let text = Some(text).filter(|t| !t.is_empty());
        let msg = ConnectorMsg::MakeCall {
            conn_id,
            from,
            to,
            media: to_sim_media(media),
            text,
            b2b,
            tx,
            session: self.me.clone(),
        };
        if self.owner.cast(msg).is_err() {
            self.send(
                &Mltp::Response(Response::error(ErrorCode::OutOfService, "connector is stopping")).to_message(tx),
            );
        }
    }

    /// Sends a one-command request to SfB; its answer comes back as [`SessionMsg::Answered`].
    fn send_command(&mut self, tx: TxId, cmd: AppCmd) {
        self.in_flight += 1;
        let me = self.me.clone();
        let then = SimReply::new(move |result| {
            let response = match result {
                Ok(_) => Response::ok(),
                Err(e) => Response::error(e.error_code(), e.to_string()),
            };
            let _ = me.cast(SessionMsg::Answered(tx, Box::new(response)));
        });
        self.sim.app_then(&self.connector, cmd, then);
    }

    /// The SfB command of a request answered OK once that command succeeds; the request back
    /// when it is not one of those.
    fn one_command(&self, m: Mltp) -> Result<AppCmd, Box<Mltp>> {
        let call = |c: u64| CallId(c);
        Ok(match m {
            Mltp::ReleaseCall { call: c, party } => AppCmd::Release { call: call(c), party },
            Mltp::HoldCall { call: c, party } => AppCmd::Hold { call: call(c), party },
            Mltp::RetrieveCall { call: c, party } => AppCmd::Retrieve { call: call(c), party },
            Mltp::TransferCall { call: c, consult_call, party } => {
                AppCmd::Merge { call: call(c), consult: call(consult_call), keep_party: Some(party) }
            }
            Mltp::ConferenceCall { call: c, consult_call, .. } => {
                AppCmd::Merge { call: call(c), consult: call(consult_call), keep_party: None }
            }
            Mltp::SingleStepTransfer { call: c, party, to } => AppCmd::SingleStepTransfer { call: call(c), party, to },
            Mltp::SingleStepConference { call: c, to, mode } => {
                let mode = mode.map(to_party_mode).unwrap_or(PartyMode::Normal);
                AppCmd::AddParty { call: call(c), to, mode }
            }
            Mltp::RedirectCall { call: c, to, calling_method, .. } => {
                // B2BUA: the Connector reports the Tel URI until its owner answers (queued before
                // the call's events, which reach the Connector after this redirect).
                if calling_method.is_some_and(|m| m.eq_ignore_ascii_case("b2b")) {
                    let _ = self.owner.cast(ConnectorMsg::NoteB2b { call: call(c), to: to.clone() });
                }
                AppCmd::Redirect { call: call(c), to }
            }
            Mltp::DeleteParty { call: c, party } => AppCmd::DeleteParty { call: call(c), party },
            Mltp::SendIm { call: c, from, text } => AppCmd::SendIm { call: call(c), from, text },
            Mltp::SendDtmf { call: c, party, digits } => AppCmd::SendDtmf { call: call(c), party, digits },
            Mltp::PlayTreatment { call: c, party, treatment_type, params } => {
                let what = crate::actors::connector::events::playback(treatment_type, params.unwrap_or_default());
                AppCmd::Play { call: call(c), party, what }
            }
            Mltp::StopTreatment { call: c } => AppCmd::StopPlay { call: call(c) },
            Mltp::SetMute { call: c, party, mode } => {
                AppCmd::SetMode { call: call(c), party, mode: to_party_mode(mode) }
            }
            other => return Err(Box::new(other)),
        })
    }

    async fn app(&self, cmd: AppCmd) -> Result<serde_json::Value, Response> {
        self.sim.app(&self.connector, cmd).await.map_err(|e| Response::error(e.error_code(), e.to_string()))
    }

    async fn execute(&mut self, m: Mltp) -> Response {
        match self.run(m).await {
            Ok(r) | Err(r) => r,
        }
    }

    async fn run(&mut self, m: Mltp) -> Result<Response, Response> {
        let ok = Response::ok();
        Ok(match m {
            Mltp::Hello { .. } => {
                // The T-Server keeps a copy of our HA data: with our own, it drops its copy and we
                // re-mirror every call; without (a new host), it gives its copy back (HA_RESTORE).
                // Only the first HELLO after a start without HA data asks for the T-Server's copy:
                // from then on this connector's own records are the truth.
                let present = self.ha_present.swap(true, std::sync::atomic::Ordering::Relaxed);
                let _ = self.owner.cast(ConnectorMsg::Resync(self.me.clone()));
                ok.with("connector", self.connector.clone())
                    .with("state", self.state)
                    .with("version", "1.0".to_string())
                    .with("ha-data", if present { "present".to_string() } else { "none".to_string() })
            }
            Mltp::Ping {} => ok,
            Mltp::Bye { .. } => ok,
            Mltp::RegisterDn { dn, dn_type } => {
                if self.state == ConnectorState::Suspending {
                    return Err(Response::error(
                        ErrorCode::OutOfService,
                        "connector is suspending (graceful shutdown)",
                    ));
                }
                // Only SfB users and application endpoints exist in SfB; queues and services are
                // T-Server objects and need nothing on this side.
                match dn_type {
                    DnType::Extension | DnType::RoutingPoint | DnType::ExternalRoutingPoint => {
                        let v = self.app(AppCmd::RegisterEndpoint(dn.to_string())).await?;
                        let pt: PresenceType = serde_json::from_value(v).unwrap_or(PresenceType::Local);
                        ok.with("presence-type", pt)
                    }
                    _ => ok.with("presence-type", PresenceType::Local),
                }
            }
            Mltp::UnregisterDn { dn, .. } => {
                self.app(AppCmd::UnregisterEndpoint(dn.to_string())).await?;
                ok
            }
            Mltp::SubscribePresence { dn } => {
                self.app(AppCmd::SubscribePresence(dn.to_string())).await?;
                ok
            }
            Mltp::UnsubscribePresence { dn } => {
                self.app(AppCmd::UnsubscribePresence(dn.to_string())).await?;
                ok
            }
            Mltp::PublishPresence { dn, availability, activity } => {
                self.app(AppCmd::PublishPresence { dn: dn.to_string(), availability, activity }).await?;
                ok
            }
            Mltp::HaRestore { records } => {
                let records: Vec<crate::sim::CallRecord> = serde_json::from_str(&records)
                    .map_err(|e| Response::error(ErrorCode::InvalidAttr, format!("HA records: {e}")))?;
                let v = self.app(AppCmd::ImportCalls(records)).await?;
                ok.with("restored", v.as_u64().unwrap_or(0))
            }
            other => {
                return Err(Response::error(ErrorCode::UnsupOper, format!("{} is not a request", other.name())));
            }
        })
    }
}

fn to_sim_media(m: crate::mltp::Media) -> Media {
    match m {
        crate::mltp::Media::Voice => Media::Voice,
        crate::mltp::Media::Video => Media::Video,
        crate::mltp::Media::Im => Media::Im,
    }
}

fn to_party_mode(m: crate::mltp::MonitorMode) -> PartyMode {
    match m {
        crate::mltp::MonitorMode::Connect => PartyMode::Normal,
        crate::mltp::MonitorMode::Coach => PartyMode::Coach,
        crate::mltp::MonitorMode::Mute => PartyMode::Mute,
    }
}
