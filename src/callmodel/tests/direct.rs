//! Direct (1pcc) calls through the simulated SfB: a call placed or answered on a SfB client is
//! seen (its DN's endpoint is forked the call), EventRinging goes out as soon as the invitation
//! is sent with the SfB Conversation-ID, and `handle-direct-calls` / `handle-direct-calls-media`
//! (DN level, a desktop's override, on-login) decide whether the T-Server handles it at all.

use super::*;
use crate::config::{DirectCallsMedia as M, HandleDirectCalls as H};
use crate::model::{DnName, KvList, MediaType};
use crate::tlib::RequestKind as K;
use parking_lot::Mutex;

/// The DNs of [`super::directory`], with per-DN direct-call policies and logged-in agents that a
/// test changes between steps (the actor layer backs these with the options, the desktop's
/// override and the agent sessions).
#[derive(Default)]
struct Policies {
    policies: Mutex<BTreeMap<DnName, DirectCallPolicy>>,
    logged_in: Mutex<BTreeSet<DnName>>,
}

struct PolicyDirectory(Arc<Policies>);

impl Directory for PolicyDirectory {
    fn lookup(&self, uri: &str) -> Option<DnInfo> {
        directory().lookup(uri)
    }
    fn direct_calls(&self, dn: &DnName) -> Option<DirectCallPolicy> {
        self.0.policies.lock().get(dn).copied()
    }
    fn agent_logged_in(&self, dn: &DnName) -> bool {
        self.0.logged_in.lock().contains(dn)
    }
}

/// A rig whose agent01 has two signed-in SfB endpoints (calls fork to both).
fn rig() -> (Rig, Arc<Policies>) {
    let sim = "[sim]\n[[sim.user]]\nuri = \"sip:agent01@skype.lab\"\nendpoints = 2\n";
    let mut r = Rig::with_world(world(sim));
    let p = Arc::new(Policies::default());
    let dir = Arc::new(PolicyDirectory(p.clone()));
    r.table = CallTable::new(dir, Arc::new(ConnIdGenerator::new(0)), CallModelOptions::default());
    (r, p)
}

fn set(p: &Policies, who: &str, handle: H, media: &[M]) {
    p.policies.lock().insert(DnName::new(uri(who)), DirectCallPolicy::new(handle, media));
}

fn calls(r: &mut Rig, from: &str, to: &str, media: sim::Media) -> sim::CallStarted {
    let text = (media == sim::Media::Im).then(|| "hello".to_string());
    let mut started = None;
    r.person(|w, now| started = Some(w.start_call(now, &uri(from), &uri(to), media, text).unwrap()));
    started.unwrap()
}

/// Every event since the last `take` carries this Conversation-ID.
#[track_caller]
fn all_carry(r: &Rig, conversation: &str) {
    for d in &r.log.deliveries[r.log.mark..] {
        let ext = d.event.attrs.extensions.as_ref();
        assert_eq!(ext.and_then(|x| x.get_str(CONVERSATION_ID)), Some(conversation), "{}", r.log.render(d));
    }
}

#[test]
fn direct_call_through_forking() {
    let (mut r, _) = rig();
    let started = calls(&mut r, "customer", "agent01", sim::Media::Voice);
    // Emulated ringing: EventRinging as soon as the invitation is sent — the forked call alerts
    // on both of agent01's endpoints — with the Conversation-ID the SfB client shows.
    let view = r.world.user_view(&uri("agent01")).unwrap();
    assert_eq!(view.calls[0].alerting_endpoints, vec![1, 2]);
    assert_eq!(view.calls[0].conversation_id, started.conversation_id);
    all_carry(&r, &started.conversation_id);
    golden(r.log.take(), &[
        "agent01 EventRinging ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    // Answered on the second endpoint: the first stops alerting, the desktop sees one answer.
    r.person(|w, now| w.answer_endpoint(now, &uri("agent01"), None, 2).unwrap());
    let view = r.world.user_view(&uri("agent01")).unwrap();
    assert_eq!((view.calls[0].answered_on, view.calls[0].conference.clone()), (Some(2), None), "peer-to-peer");
    all_carry(&r, &started.conversation_id);
    golden(r.log.take(), &[
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    // Hold and retrieve on the SfB client: reported without ReferenceID.
    r.person(|w, now| w.hold(now, &uri("agent01"), None).unwrap());
    r.person(|w, now| w.retrieve(now, &uri("agent01"), None).unwrap());
    all_carry(&r, &started.conversation_id);
    golden(r.log.take(), &[
        "agent01 EventHeld ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
        "agent01 EventRetrieved ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    r.person(|w, now| w.hangup(now, CUSTOMER, None).unwrap());
    all_carry(&r, &started.conversation_id);
    golden(r.log.take(), &[
        "agent01 EventReleased ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    assert!(r.sent.is_empty(), "a direct call needs nothing from the Connector");
}

#[test]
fn a_call_placed_on_a_sfb_client_is_seen_by_both_agents() {
    let (mut r, p) = rig();
    // agent01 does not handle direct calls, but the call targets agent02, who does.
    set(&p, "agent01", H::False, &[M::All]);
    let started = calls(&mut r, "agent01", "agent02", sim::Media::Voice);
    all_carry(&r, &started.conversation_id);
    golden(r.log.take(), &[
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
    r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
    golden(r.log.take(), &[
        "agent02 EventEstablished ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
        "agent01 EventEstablished ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0",
    ]);
    r.person(|w, now| w.hold(now, &uri("agent02"), None).unwrap());
    golden(r.log.take(), &[
        "agent02 EventHeld ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
}

#[test]
fn a_direct_call_the_dn_does_not_handle_is_left_alone() {
    let (mut r, p) = rig();
    set(&p, "agent02", H::False, &[M::All]);
    calls(&mut r, "customer", "agent02", sim::Media::Voice);
    r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
    r.person(|w, now| w.hold(now, &uri("agent02"), None).unwrap());
    r.person(|w, now| w.retrieve(now, &uri("agent02"), None).unwrap());
    // The SfB call connects directly (peer-to-peer, never moved into a conference).
    let view = r.world.user_view(&uri("agent02")).unwrap();
    assert_eq!((view.calls[0].conference.clone(), view.calls[0].hears.clone()), (None, vec![CUSTOMER.to_string()]));
    r.person(|w, now| w.hangup(now, CUSTOMER, None).unwrap());
    golden(r.log.take(), &[]);
    assert!(r.log.conns.is_empty() && r.table.calls().next().is_none() && r.sent.is_empty());
    // Placed from agent01's SfB client to agent02: the target decides, nobody sees it.
    calls(&mut r, "agent01", "agent02", sim::Media::Voice);
    r.person(|w, now| w.hangup(now, &uri("agent01"), None).unwrap());
    golden(r.log.take(), &[]);
    // A call agent02 places on its SfB client to an external number follows its own setting.
    calls(&mut r, "agent02", "customer", sim::Media::Voice);
    golden(r.log.take(), &[]);
    r.person(|w, now| w.hangup(now, &uri("agent02"), None).unwrap());
    // A 3pcc call from a desktop is reported as usual (guide: "processed in the usual way").
    r.request(K::MakeCall, "agent01", |a| a.other_dn = Some(uri("agent02").as_str().into()));
    golden(r.log.take(), &[
        "agent01 EventDialing ConnID=c1 ThisDN=agent01 ThisDNRole=Origination OtherDN=agent02 OtherDNRole=Destination CallState=Ok CallType=Internal MediaType=0 ReferenceID=1",
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=agent01 OtherDNRole=Origination CallState=Ok CallType=Internal MediaType=0",
    ]);
}

#[test]
fn direct_ims_are_suppressed_by_av_or_by_false() {
    let (mut r, p) = rig();
    set(&p, "agent01", H::True, &[M::Av]);
    calls(&mut r, "customer", "agent01", sim::Media::Im);
    golden(r.log.take(), &[]);
    r.person(|w, now| w.hangup(now, CUSTOMER, None).unwrap());
    // ...while a voice call of the same DN is handled.
    calls(&mut r, "customer", "agent01", sim::Media::Voice);
    golden(r.log.take(), &[
        "agent01 EventRinging ConnID=c1 ThisDN=agent01 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    // An IM escalation of a conversation the T-Server handles is no direct call: reported.
    r.person(|w, now| w.answer(now, &uri("agent01"), None).unwrap());
    r.log.take();
    let mut esc = None;
    r.person(|w, now| esc = Some(w.escalate(now, &uri("agent01"), None, sim::Media::Im).unwrap()));
    let esc = esc.unwrap();
    let c1 = r.conn(1);
    assert_eq!(esc.conversation_id, r.table.call(c1).unwrap().conversation_id);
    golden(r.log.take(), &[
        "agent01 EventDialing ConnID=c2 ThisDN=agent01 ThisDNRole=Origination OtherDN=customer OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=5",
        "agent01 EventNetworkReached ConnID=c2 ThisDN=agent01 ThisDNRole=Origination OtherDN=customer OtherDNRole=Destination CallState=Ok CallType=Outbound MediaType=5",
    ]);
    r.person(|w, now| w.hangup(now, CUSTOMER, Some(esc.call)).unwrap());
    r.person(|w, now| w.hangup(now, CUSTOMER, None).unwrap());
    assert_eq!(r.log.take().len(), 2, "both calls released");
    // `false` without media: IMs are not handled either (nor is voice).
    set(&p, "agent02", H::False, &[M::All]);
    calls(&mut r, "customer", "agent02", sim::Media::Im);
    calls(&mut r, "tel:+14155550111", "agent02", sim::Media::Voice);
    golden(r.log.take(), &[]);
    // `im` only: the IM is handled (MediaType 5), the voice call is not.
    set(&p, "agent03", H::True, &[M::Im]);
    calls(&mut r, "customer", "agent03", sim::Media::Im);
    calls(&mut r, "tel:+14155550122", "agent03", sim::Media::Voice);
    let n = r.log.conns.len();
    golden(r.log.take(), &[
        format!("agent03 EventRinging ConnID=c{n} ThisDN=agent03 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=5").as_str(),
    ]);
}

#[test]
fn on_login_handles_direct_calls_only_while_an_agent_is_logged_in() {
    let (mut r, p) = rig();
    set(&p, "agent02", H::OnLogin, &[M::All]);
    calls(&mut r, "customer", "agent02", sim::Media::Voice);
    golden(r.log.take(), &[]);
    r.person(|w, now| w.hangup(now, CUSTOMER, None).unwrap());
    p.logged_in.lock().insert(DnName::new(uri("agent02")));
    calls(&mut r, "customer", "agent02", sim::Media::Voice);
    golden(r.log.take(), &[
        "agent02 EventRinging ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
    // A change applies to the next call: the one in progress goes on being reported.
    p.logged_in.lock().clear();
    r.person(|w, now| w.answer(now, &uri("agent02"), None).unwrap());
    golden(r.log.take(), &[
        "agent02 EventEstablished ConnID=c1 ThisDN=agent02 ThisDNRole=Destination OtherDN=customer OtherDNRole=Origination CallState=Ok CallType=Inbound MediaType=0",
    ]);
}

#[test]
fn the_application_value_applies_where_the_dn_has_none() {
    let mut s = Script::new();
    let options = CallModelOptions { direct_calls: DirectCallPolicy::new(H::False, &[M::All]), ..Default::default() };
    s.table = CallTable::new(directory(), Arc::new(ConnIdGenerator::new(0)), options);
    s.created(1, "customer", "agent01", mltp::Direction::Inbound);
    s.party(1, "customer", mltp::PartyState::Dialing);
    s.party(1, "agent01", mltp::PartyState::Alerting);
    s.state(1, "agent01", mltp::PartyState::Connected);
    s.sw(Mltp::CallDeleted { call: 1, cause: None });
    golden(s.log.take(), &[]);
    // A call through a Routing Point is always handled.
    s.created(2, "customer", "rp1", mltp::Direction::Inbound);
    assert_eq!(s.log.conns.len(), 1, "the Routing Point's call exists");
    // So is a call the Connector reports with this T-Server's ConnID (a request dialed it).
    let conn = ConnId(0x42);
    let conversation_id = "conv3".to_string();
    let (from, to, media) = (uri("agent01"), uri("agent02"), mltp::Media::Voice);
    let direction = mltp::Direction::Internal;
    let created = Mltp::CallCreated {
        call: 3,
        conversation_id,
        media,
        from,
        to,
        direction,
        monitored: true,
        conn_id: Some(conn),
    };
    s.sw(created);
    assert_eq!(s.log.conns, vec![s.log.conns[0], conn]);
}

#[test]
fn the_desktop_overrides_through_private_service() {
    let mut s = Script::new();
    let ext = KvList::new().with(HANDLE_DIRECT_CALLS, "false").with(HANDLE_DIRECT_CALLS_MEDIA, "av");
    let r = s.request(K::PrivateService, "agent01", |a| {
        a.private_msg_id = Some(1);
        a.extensions = Some(ext.clone());
    });
    golden(s.log.take(), &["client1 EventPrivateInfo ThisDN=agent01 ReferenceID=1"]);
    assert_eq!(r, 1);
    let bad = KvList::new().with(HANDLE_DIRECT_CALLS, "sometimes");
    s.request(K::PrivateService, "agent01", |a| {
        a.private_msg_id = Some(1);
        a.extensions = Some(bad);
    });
    golden(s.log.take(), &["client1 EventError ThisDN=agent01 ReferenceID=2 ErrorCode=53"]);
    let out = s.table.apply(
        Input::Request {
            client: ClientRef(9),
            request: Box::new(Request::with_attrs(
                K::PrivateService,
                Attributes {
                    this_dn: Some(uri("agent01").as_str().into()),
                    private_msg_id: Some(1),
                    extensions: Some(ext.clone()),
                    ..Default::default()
                },
            )),
        },
        0,
    );
    let want =
        Effect::PrivateService { dn: DnName::new(uri("agent01")), client: ClientRef(9), msg_id: 1, extensions: ext };
    assert_eq!(out.effects, vec![want]);
    let policy = DirectCallPolicy::default().with_override(
        &DirectCallsOverride::from_extensions(&KvList::new().with(HANDLE_DIRECT_CALLS, "false")).unwrap().unwrap(),
    );
    assert!(!policy.handles(MediaType::VOICE, true));
}
