//! SfbSim: the simulated Skype for Business deployment, one per process, shared by every
//! Connector attached to it (a pool of connectors talks to one SfB, as in the guide). It owns the
//! pure `World` (kept outside the actor so a restart loses nothing), drives its timers, executes
//! the control API's commands (people) and the connectors' commands (the application), and
//! routes every world event to the connector that owns it: a call to the connector that created
//! it or whose endpoint it was offered to, presence to the connector that subscribed.

use crate::actors::connector::connector::ConnectorMsg;
use crate::actors::connector::sim_ticker::SimTicker;
use crate::sim::{AnswerMode, Behavior, CallId, CallRecord, Media, PartyMode, Playback, SimError, SimEvent, World};
use parking_lot::Mutex;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

pub use super::sim_link::{SimLink, SimReply};

pub struct SfbSim;

/// Everything that must outlive one SfbSim incarnation.
pub struct SimShared {
    pub world: Mutex<World>,
    pub epoch: Instant,
    routes: Mutex<Routes>,
}

#[derive(Default)]
struct Routes {
    connectors: HashMap<String, ActorRef<ConnectorMsg>>,
    call_owner: HashMap<CallId, String>,
    /// Connectors that registered each endpoint, oldest first; the last one serves it. A DN
    /// being moved is briefly registered on two connectors, in either order.
    endpoint_owner: HashMap<String, Vec<String>>,
    presence_owner: HashMap<String, String>,
}

impl SimShared {
    pub fn new(world: World) -> Arc<Self> {
        Arc::new(SimShared { world: Mutex::new(world), epoch: Instant::now(), routes: Mutex::default() })
    }

    /// Simulation time: milliseconds since the simulated deployment started.
    pub fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Which connector owns a call (tests and the admin view).
    pub fn call_owner(&self, call: CallId) -> Option<String> {
        self.routes.lock().call_owner.get(&call).cloned()
    }

    /// The connectors an endpoint is registered on, oldest first (tests: a DN being moved is on
    /// two until the old connector's unregistration arrives, and a call created meanwhile may go
    /// to either).
    pub fn endpoint_owners(&self, uri: &str) -> Vec<String> {
        self.routes.lock().endpoint_owner.get(uri).cloned().unwrap_or_default()
    }
}

/// What people do (the control API). `endpoint` (1-based) answers or rejects on one endpoint of
/// a user whose call forks to several; None acts on all of them.
#[derive(Debug, Clone)]
pub enum ControlCmd {
    StartCall {
        from: String,
        to: String,
        media: Media,
        text: Option<String>,
    },
    Answer {
        user: String,
        call: Option<CallId>,
        endpoint: Option<u32>,
    },
    Reject {
        user: String,
        call: Option<CallId>,
        endpoint: Option<u32>,
    },
    Hangup {
        user: String,
        call: Option<CallId>,
    },
    Hold {
        user: String,
        call: Option<CallId>,
    },
    Retrieve {
        user: String,
        call: Option<CallId>,
    },
    Im {
        user: String,
        call: Option<CallId>,
        text: String,
    },
    Dtmf {
        user: String,
        call: Option<CallId>,
        digits: String,
    },
    Presence {
        user: String,
        availability: u32,
        activity: Option<String>,
    },
    Behavior {
        user: String,
        answer: AnswerMode,
        delay_ms: u64,
    },
    View {
        user: String,
    },
    /// The load interface: start or replace the traffic profile, read it and its counters, stop it.
    TrafficStart(Box<crate::sim::TrafficRequest>),
    TrafficView,
    TrafficStop,
}

/// What a connector does on behalf of the T-Server.
#[derive(Debug, Clone)]
pub enum AppCmd {
    RegisterEndpoint(String),
    UnregisterEndpoint(String),
    SubscribePresence(String),
    UnsubscribePresence(String),
    PublishPresence {
        dn: String,
        availability: u32,
        activity: Option<String>,
    },
    /// A call hosted by one of this connector's scheduled (pooled) conferences.
    MakeCallIn {
        conference: crate::sim::ConferenceId,
        from: String,
        to: String,
        media: Media,
        text: Option<String>,
    },
    MakeCall {
        from: String,
        to: String,
        media: Media,
        text: Option<String>,
    },
    Release {
        call: CallId,
        party: String,
    },
    Hold {
        call: CallId,
        party: String,
    },
    Retrieve {
        call: CallId,
        party: String,
    },
    Redirect {
        call: CallId,
        to: String,
    },
    AddParty {
        call: CallId,
        to: String,
        mode: PartyMode,
    },
    DeleteParty {
        call: CallId,
        party: String,
    },
    Merge {
        call: CallId,
        consult: CallId,
        keep_party: Option<String>,
    },
    SingleStepTransfer {
        call: CallId,
        party: String,
        to: String,
    },
    SendIm {
        call: CallId,
        from: String,
        text: String,
    },
    SendDtmf {
        call: CallId,
        party: String,
        digits: String,
    },
    Play {
        call: CallId,
        party: Option<String>,
        what: Playback,
    },
    StopPlay {
        call: CallId,
    },
    SetMode {
        call: CallId,
        party: String,
        mode: PartyMode,
    },
    ScheduleConference {
        endpoint: String,
        lobby_bypass: bool,
    },
    /// How the application hosts calls (its conference options).
    SetHostingPolicy(crate::sim::HostingPolicy),
    /// HA: the records of these calls (None: every call this connector owns).
    ExportCalls(Option<Vec<CallId>>),
    /// HA: restore calls after a connector restart; they become this connector's again.
    ImportCalls(Vec<CallRecord>),
}

pub type SimResult = Result<serde_json::Value, SimError>;

pub enum SfbMsg {
    Control(ControlCmd, RpcReplyPort<SimResult>),
    App {
        connector: String,
        cmd: AppCmd,
        reply: RpcReplyPort<SimResult>,
    },
    /// [`SimLink::app_then`]: the same, answered through `then`.
    AppThen {
        connector: String,
        cmd: AppCmd,
        then: SimReply,
    },
    Attach {
        connector: String,
        actor: ActorRef<ConnectorMsg>,
    },
    Detach {
        connector: String,
    },
    /// The world's next deadline (`at`, simulated ms) has come (sent by the [`SimTicker`]).
    Tick {
        at: u64,
    },
}

pub struct SfbState {
    shared: Arc<SimShared>,
    /// The one wake-up driving the world's timers, re-aimed after every message.
    ticker: SimTicker,
}

fn json<T: serde::Serialize>(v: T) -> SimResult {
    Ok(serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
}

impl Actor for SfbSim {
    type Msg = SfbMsg;
    type State = SfbState;
    type Arguments = Arc<SimLink>;

    async fn pre_start(&self, me: ActorRef<SfbMsg>, link: Arc<SimLink>) -> Result<SfbState, ActorProcessingErr> {
        *link.actor.write() = Some(me.clone());
        let ticker = SimTicker::spawn(link.shared.epoch, me);
        Ok(SfbState { shared: link.shared.clone(), ticker })
    }

    async fn post_start(&self, _me: ActorRef<SfbMsg>, st: &mut SfbState) -> Result<(), ActorProcessingErr> {
        st.settle(false); // re-arm the world's timers after a restart
        Ok(())
    }

    async fn handle(&self, _me: ActorRef<SfbMsg>, msg: SfbMsg, st: &mut SfbState) -> Result<(), ActorProcessingErr> {
        let ticked = matches!(msg, SfbMsg::Tick { .. });
        match msg {
            SfbMsg::Control(cmd, reply) => {
                let result = st.control(cmd);
                let _ = reply.send(result);
            }
            SfbMsg::App { connector, cmd, reply } => {
                let result = st.app(&connector, cmd);
                let _ = reply.send(result);
            }
            SfbMsg::AppThen { connector, cmd, then } => then.send(st.app(&connector, cmd)),
            SfbMsg::Attach { connector, actor } => {
                st.shared.routes.lock().connectors.insert(connector, actor);
            }
            SfbMsg::Detach { connector } => {
                let mut routes = st.shared.routes.lock();
                routes.connectors.remove(&connector);
                // Endpoints and presence it served are free to be taken by another connector;
                // its calls stay its own (they are recovered when it comes back).
                routes.endpoint_owner.values_mut().for_each(|owners| owners.retain(|c| *c != connector));
                routes.endpoint_owner.retain(|_, owners| !owners.is_empty());
                routes.presence_owner.retain(|_, c| *c != connector);
            }
            SfbMsg::Tick { .. } => {}
        }
        st.settle(ticked);
        Ok(())
    }
}

impl SfbState {
    fn control(&mut self, cmd: ControlCmd) -> SimResult {
        let now = self.shared.now();
        let mut w = self.shared.world.lock();
        w.advance(now);
        match cmd {
            ControlCmd::StartCall { from, to, media, text } => json(w.start_call(now, &from, &to, media, text)?),
            ControlCmd::Answer { user, call, endpoint: None } => json(w.answer(now, &user, call)?),
            ControlCmd::Answer { user, call, endpoint: Some(e) } => json(w.answer_endpoint(now, &user, call, e)?),
            ControlCmd::Reject { user, call, endpoint: None } => json(w.reject(now, &user, call)?),
            ControlCmd::Reject { user, call, endpoint: Some(e) } => json(w.reject_endpoint(now, &user, call, e)?),
            ControlCmd::Hangup { user, call } => json(w.hangup(now, &user, call)?),
            ControlCmd::Hold { user, call } => json(w.hold(now, &user, call)?),
            ControlCmd::Retrieve { user, call } => json(w.retrieve(now, &user, call)?),
            ControlCmd::Im { user, call, text } => json(w.send_im(now, &user, call, &text)?),
            ControlCmd::Dtmf { user, call, digits } => json(w.send_dtmf(now, &user, call, &digits)?),
            ControlCmd::Presence { user, availability, activity } => {
                json(w.set_presence(now, &user, availability, activity)?)
            }
            ControlCmd::Behavior { user, answer, delay_ms } => {
                json(w.set_behavior(&user, Behavior { answer, delay_ms })?)
            }
            ControlCmd::View { user } => json(w.user_view(&user)?),
            ControlCmd::TrafficStart(req) => json(w.start_traffic(now, *req)?),
            ControlCmd::TrafficView => json(w.traffic_view()),
            ControlCmd::TrafficStop => json(w.stop_traffic(now)),
        }
    }

    fn app(&mut self, connector: &str, cmd: AppCmd) -> SimResult {
        let now = self.shared.now();
        let mut w = self.shared.world.lock();
        w.advance(now);
        let mut routes = self.shared.routes.lock();
        match cmd {
            AppCmd::RegisterEndpoint(dn) => {
                let presence_type = w.register_endpoint(&dn)?;
                let owners = routes.endpoint_owner.entry(dn).or_default();
                owners.retain(|c| c != connector);
                owners.push(connector.to_string());
                json(presence_type)
            }
            AppCmd::UnregisterEndpoint(dn) => {
                if let Some(owners) = routes.endpoint_owner.get_mut(&dn) {
                    owners.retain(|c| c != connector);
                    if owners.is_empty() {
                        routes.endpoint_owner.remove(&dn);
                        w.unregister_endpoint(&dn);
                    }
                }
                json(())
            }
            AppCmd::SubscribePresence(dn) => {
                w.subscribe_presence(&dn)?;
                routes.presence_owner.insert(dn, connector.to_string());
                json(())
            }
            AppCmd::UnsubscribePresence(dn) => {
                if routes.presence_owner.get(&dn).map(String::as_str) == Some(connector) {
                    routes.presence_owner.remove(&dn);
                    w.unsubscribe_presence(&dn);
                }
                json(())
            }
            AppCmd::PublishPresence { dn, availability, activity } => {
                json(w.publish_presence(now, &dn, availability, activity)?)
            }
            AppCmd::MakeCall { from, to, media, text } => {
                let started = w.app_make_call(now, &from, &to, media, text)?;
                routes.call_owner.insert(started.call, connector.to_string());
                json(started)
            }
            AppCmd::MakeCallIn { conference, from, to, media, text } => {
                let started = w.app_make_call_in(now, conference, &from, &to, media, text)?;
                routes.call_owner.insert(started.call, connector.to_string());
                json(started)
            }
            AppCmd::Release { call, party } => json(w.app_release(now, call, &party)?),
            AppCmd::Hold { call, party } => json(w.app_hold(now, call, &party)?),
            AppCmd::Retrieve { call, party } => json(w.app_retrieve(now, call, &party)?),
            AppCmd::Redirect { call, to } => json(w.app_redirect(now, call, &to)?),
            AppCmd::AddParty { call, to, mode } => json(w.app_add_party(now, call, &to, mode)?),
            AppCmd::DeleteParty { call, party } => json(w.app_delete_party(now, call, &party)?),
            AppCmd::Merge { call, consult, keep_party } => {
                json(w.app_merge(now, call, consult, keep_party.as_deref())?)
            }
            AppCmd::SingleStepTransfer { call, party, to } => json(w.app_single_step_transfer(now, call, &party, &to)?),
            AppCmd::SendIm { call, from, text } => json(w.app_send_im(now, call, &from, &text)?),
            AppCmd::SendDtmf { call, party, digits } => json(w.app_send_dtmf(now, call, &party, &digits)?),
            AppCmd::Play { call, party, what } => json(w.app_play(now, call, party.as_deref(), what)?),
            AppCmd::StopPlay { call } => json(w.app_stop_play(now, call)?),
            AppCmd::SetMode { call, party, mode } => json(w.app_set_mode(call, &party, mode)?),
            AppCmd::ScheduleConference { endpoint, lobby_bypass } => {
                json(w.schedule_conference(now, &endpoint, lobby_bypass)?)
            }
            AppCmd::SetHostingPolicy(policy) => {
                w.set_hosting_policy(policy);
                json(())
            }
            AppCmd::ExportCalls(calls) => {
                let mine = |r: &CallRecord| routes.call_owner.get(&r.call).map(String::as_str) == Some(connector);
                // Named calls are looked up one by one (the Connector names the one call an event
                // was about): never a record of every call in progress per event.
                let records: Vec<CallRecord> = match calls {
                    Some(ids) => ids.into_iter().filter_map(|id| w.export_call(id)).filter(mine).collect(),
                    None => w.export_calls().into_iter().filter(mine).collect(),
                };
                json(records)
            }
            AppCmd::ImportCalls(records) => {
                let ids: Vec<CallId> = records.iter().map(|r| r.call).collect();
                let n = w.import_calls(records)?;
                for id in ids {
                    routes.call_owner.insert(id, connector.to_string());
                }
                json(n)
            }
        }
    }

    /// After every message: run due timers, route the events, aim the wake-up at the next
    /// deadline (one ticker for every timer of the world, see `sim_ticker.rs`).
    fn settle(&mut self, ticked: bool) {
        let now = self.shared.now();
        let (events, next) = {
            let mut w = self.shared.world.lock();
            w.advance(now);
            (w.drain_events(), w.next_deadline())
        };
        self.route(events);
        self.ticker.aim(next, ticked);
    }

    fn route(&self, events: Vec<SimEvent>) {
        if events.is_empty() {
            return;
        }
        let mut routes = self.shared.routes.lock();
        let mut batches: HashMap<String, Vec<SimEvent>> = HashMap::new();
        for ev in events {
            let owner = match &ev {
                SimEvent::CallCreated { call, from, to, .. } => {
                    let serving = |uri: &String| routes.endpoint_owner.get(uri).and_then(|o| o.last()).cloned();
                    let owner = routes.call_owner.get(call).cloned().or_else(|| serving(to).or_else(|| serving(from)));
                    if let Some(o) = &owner {
                        routes.call_owner.insert(*call, o.clone());
                    }
                    owner
                }
                SimEvent::PresenceChanged { user, .. } => routes.presence_owner.get(user).cloned(),
                other => other.call().and_then(|c| routes.call_owner.get(&c).cloned()),
            };
            if let SimEvent::CallDeleted { call, .. } = &ev {
                routes.call_owner.remove(call);
            }
            match owner {
                Some(o) => batches.entry(o).or_default().push(ev),
                None => tracing::trace!(event = ?ev, "sim event with no connector to receive it"),
            }
        }
        for (owner, events) in batches {
            if let Some(c) = routes.connectors.get(&owner) {
                let _ = c.cast(ConnectorMsg::SimEvents(events));
            }
        }
    }
}
