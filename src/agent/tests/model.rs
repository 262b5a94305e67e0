//! Property test: random sequences of agent requests, call facts, client departures, out-of-service
//! and time (firing the machine's timers, and stale ones) against a small reference model of
//! GenEM's agent-state diagram (Null, Ready, NotReady, LegalGuard, ACW; Busy-* follow from the
//! calls). Checked after every input: each request answered exactly once with the model's
//! predicted error code or success; the machine's state is the model's, or for server-driven
//! transitions one the diagram allows; events report the resulting state; timers match the state.

use super::*;
use crate::model::AgentStatus;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum M {
    Null,
    Ready,
    NotReady,
    LegalGuard,
    Acw,
}

fn coarse(m: &AgentMachine) -> M {
    match m.session().map(|s| &s.state) {
        None => M::Null,
        Some(AgentState::Ready { .. }) => M::Ready,
        Some(AgentState::NotReady { .. }) => M::NotReady,
        Some(AgentState::LegalGuard { .. }) => M::LegalGuard,
        Some(AgentState::AfterCallWork { .. }) => M::Acw,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Login { agent: u8, client: u64, mode: Option<AgentWorkMode>, strict_refused: bool, elsewhere: bool },
    Logout { on_call: Option<bool> },
    Ready(Option<AgentWorkMode>),
    NotReady(Option<AgentWorkMode>, Option<i64>),
    Ring(u64, Option<NoAnswerAction>),
    Dial(u64),
    Establish(u64),
    Release(u64),
    NotAnswered(u64, Option<NoAnswerAction>),
    Advance(u64),
    Stale,
    ClientGone(u64, Option<bool>),
    OutOfService,
}

fn mode() -> impl Strategy<Value = Option<AgentWorkMode>> {
    prop::option::of(prop::sample::select(AgentWorkMode::ALL.to_vec()))
}

fn action() -> impl Strategy<Value = Option<NoAnswerAction>> {
    prop::option::of(prop::sample::select(vec![NoAnswerAction::None, NoAnswerAction::NotReady, NoAnswerAction::Logout]))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..2, 1u64..3, mode(), prop::bool::weighted(0.1), prop::bool::weighted(0.1)).prop_map(
            |(agent, client, mode, strict_refused, elsewhere)| Op::Login { agent, client, mode, strict_refused, elsewhere }
        ),
        1 => prop::option::of(any::<bool>()).prop_map(|on_call| Op::Logout { on_call }),
        3 => mode().prop_map(Op::Ready),
        3 => (mode(), prop::option::of(prop::sample::select(vec![0i64, 3, -1]))).prop_map(|(m, w)| Op::NotReady(m, w)),
        3 => (1u64..4, action()).prop_map(|(c, a)| Op::Ring(c, a)),
        1 => (1u64..4).prop_map(Op::Dial),
        3 => (1u64..4).prop_map(Op::Establish),
        3 => (1u64..4).prop_map(Op::Release),
        1 => (1u64..4, action()).prop_map(|(c, a)| Op::NotAnswered(c, a)),
        4 => prop::sample::select(vec![500u64, 2000, 5000, 12_000, 70_000]).prop_map(Op::Advance),
        1 => Just(Op::Stale),
        1 => (1u64..3, prop::option::of(any::<bool>())).prop_map(|(c, e)| Op::ClientGone(c, e)),
        1 => Just(Op::OutOfService),
    ]
}

fn settings() -> impl Strategy<Value = AgentSettings> {
    let wrap = prop::sample::select(vec![WrapUp::Timed(0), WrapUp::Timed(5000), WrapUp::Untimed]);
    (
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (wrap, prop::sample::select(vec![0u64, 2000]), prop::sample::select(vec![0u64, 60_000])),
        (prop::sample::select(vec![0u64, 10_000]), action()),
    )
        .prop_map(|((login_ready, on_call, lod, loos, alr, timed, force), (wrap_up, lg, alt), (nat, naa))| {
            AgentSettings {
                emulated_login_ready: login_ready,
                emu_login_on_call: on_call,
                logout_on_disconnect: lod,
                logout_on_out_of_service: loos,
                auto_logout_timeout_ms: alt,
                auto_logout_ready: alr,
                wrap_up,
                timed_acw_in_idle: timed,
                acw_in_idle_force_ready: force,
                legal_guard_ms: lg,
                no_answer_timeout_ms: nat,
                no_answer_action: naa.unwrap_or(NoAnswerAction::None),
            }
        })
}

/// What the model predicts for an input: an exact state, or a set the diagram allows.
enum Expect {
    Exactly(M),
    OneOf(&'static [M]),
}

struct Run {
    rig: Rig,
    /// Transitions seen: (before, after, what caused it).
    seen: std::collections::BTreeSet<(M, M, &'static str)>,
    /// The reference model's view of the calls: conn -> (phase, was established, no-answer done).
    calls: BTreeMap<u64, (CallPhase, bool, bool)>,
    /// The NO_ANSWER_ACTION each call brought when it last rang.
    call_actions: BTreeMap<u64, Option<NoAnswerAction>>,
    login_client: Option<u64>,
    agent: Option<u8>,
    retired: Vec<(TimerKey, u64)>,
}

impl Run {
    fn busy(&self) -> bool {
        self.calls.values().any(|(p, _, _)| matches!(p, CallPhase::Dialing | CallPhase::Established))
    }

    fn after_release(&self, m: M, s: &AgentSettings) -> M {
        match m {
            M::Ready | M::LegalGuard if !s.wrap_up.is_zero() => M::Acw,
            M::Ready if s.legal_guard_ms > 0 => M::LegalGuard,
            other => other,
        }
    }

    fn no_answer(&self, m: M, call_action: Option<NoAnswerAction>) -> M {
        let Some(s) = self.rig.m.session() else { return M::Null };
        match call_action.unwrap_or(s.settings.no_answer_action) {
            NoAnswerAction::None => m,
            NoAnswerAction::NotReady if matches!(m, M::Ready | M::LegalGuard) => M::NotReady,
            NoAnswerAction::NotReady => m,
            NoAnswerAction::Logout => M::Null,
        }
    }

    /// Applies one input to machine and model and checks them; `ops` is for messages.
    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let before = coarse(&self.rig.m);
        let s = self.rig.settings.clone();
        let logged = before != M::Null;
        let ref_before = self.rig.next_ref;
        let (outs, expect, refusal): (Vec<Output>, Expect, Option<ErrorCode>) = match op.clone() {
            Op::Login { agent, client, mode, strict_refused, elsewhere } => {
                let id = ["1001", "1002"][agent as usize];
                let check = LoginCheck {
                    settings: s.clone(),
                    strict_id_refused: strict_refused,
                    logged_in_elsewhere: elsewhere,
                };
                let action = RequestAction::Login { agent_id: AgentId::new(id), work_mode: mode, check };
                let out = self.rig.request_from(client, action, KvList::new(), KvList::new());
                let refusal = match self.agent {
                    Some(a) if a != agent => Some(ErrorCode::SoftAgentAlreadyLoggedIn),
                    Some(_) => None,
                    None if strict_refused => Some(ErrorCode::SoftAgentWrongId),
                    None if elsewhere => Some(ErrorCode::SoftAgentAlreadyLoggedIn),
                    None if !self.calls.is_empty() && !s.emu_login_on_call => Some(ErrorCode::InvCallState),
                    None => None,
                };
                let next = match (logged, refusal, mode) {
                    (true, _, _) | (false, Some(_), _) => before,
                    (false, None, Some(AgentWorkMode::ManualIn | AgentWorkMode::AutoIn)) => M::Ready,
                    (false, None, Some(AgentWorkMode::AfterCallWork)) => M::Acw,
                    (false, None, Some(AgentWorkMode::Unknown) | None) if s.emulated_login_ready => M::Ready,
                    (false, None, _) => M::NotReady,
                };
                if !logged && refusal.is_none() {
                    self.agent = Some(agent);
                    self.login_client = Some(client);
                }
                (vec![out], Expect::Exactly(next), refusal)
            }
            Op::Logout { on_call } => {
                let ext = on_call.map_or(KvList::new(), |b| ext("AgentEmuLoginOnCall", b.to_string().as_str()));
                let out = self.rig.request_from(1, RequestAction::Logout, KvList::new(), ext);
                let refusal = if !logged {
                    Some(ErrorCode::SoftAgentNotLoggedIn)
                } else if !self.calls.is_empty() && !on_call.unwrap_or(s.emu_login_on_call) {
                    Some(ErrorCode::InvCallState)
                } else {
                    None
                };
                (vec![out], Expect::Exactly(if refusal.is_none() { M::Null } else { before }), refusal)
            }
            Op::Ready(mode) => {
                let out = self.rig.request(RequestAction::SetReady { work_mode: mode });
                let ok_mode = matches!(
                    mode,
                    None | Some(AgentWorkMode::ManualIn | AgentWorkMode::AutoIn | AgentWorkMode::Unknown)
                );
                let refusal = (!logged)
                    .then_some(ErrorCode::SoftAgentNotLoggedIn)
                    .or((!ok_mode).then_some(ErrorCode::InvalidAttr));
                (vec![out], Expect::Exactly(if refusal.is_none() { M::Ready } else { before }), refusal)
            }
            Op::NotReady(mode, wrap) => {
                let ext = wrap.map_or(KvList::new(), |w| ext("WrapUpTime", w));
                let out = self.rig.request_from(1, RequestAction::SetNotReady { work_mode: mode }, KvList::new(), ext);
                let bad = matches!(mode, Some(AgentWorkMode::ManualIn | AgentWorkMode::AutoIn));
                let refusal =
                    (!logged).then_some(ErrorCode::SoftAgentNotLoggedIn).or(bad.then_some(ErrorCode::InvalidAttr));
                let next = match (refusal, mode) {
                    (Some(_), _) => before,
                    (None, Some(AgentWorkMode::AfterCallWork)) => M::Acw,
                    (None, _) => M::NotReady,
                };
                (vec![out], Expect::Exactly(next), refusal)
            }
            Op::Ring(c, action) => {
                let no_answer = NoAnswerOverride { timeout_ms: None, action };
                let out = self.rig.call(CallFact::Ringing { conn_id: ConnId(c), business: true, no_answer });
                let was = self.calls.get(&c).is_some_and(|x| x.1);
                self.calls.insert(c, (CallPhase::Ringing, was, false));
                self.call_actions.insert(c, action);
                (vec![out], Expect::Exactly(before), None)
            }
            Op::Dial(c) | Op::Establish(c) => {
                let est = matches!(op, Op::Establish(_));
                let fact = if est {
                    CallFact::Established { conn_id: ConnId(c), business: true }
                } else {
                    CallFact::Dialing { conn_id: ConnId(c), business: true }
                };
                let out = self.rig.call(fact);
                let e = self.calls.entry(c).or_insert((CallPhase::Ringing, false, false));
                e.0 = if est { CallPhase::Established } else { CallPhase::Dialing };
                e.1 |= est;
                prop_assert_eq!(out.call_extensions.get("WrapUpTime").is_some(), est && logged);
                (vec![out], Expect::Exactly(before), None)
            }
            Op::Release(c) => {
                let out = self.rig.release(c);
                let next = match self.calls.remove(&c) {
                    Some((_, true, _)) if logged && !self.busy() => self.after_release(before, &s),
                    _ => before,
                };
                (vec![out], Expect::Exactly(next), None)
            }
            Op::NotAnswered(c, action) => {
                let out = self.rig.call(CallFact::NotAnswered { conn_id: ConnId(c), action });
                let next = match self.calls.get_mut(&c) {
                    Some(x) if x.0 == CallPhase::Ringing && !x.2 => {
                        x.2 = true;
                        let call_action = action.or(self.call_actions.get(&c).copied().flatten());
                        self.no_answer(before, call_action)
                    }
                    _ => before,
                };
                (vec![out], Expect::Exactly(next), None)
            }
            Op::Advance(ms) => {
                // Each fired timer is its own step: check them one by one.
                let target = self.rig.now + ms;
                loop {
                    let due = self
                        .rig
                        .timers
                        .iter()
                        .map(|(k, v)| (*k, *v))
                        .filter(|(_, (_, d))| *d <= target)
                        .min_by_key(|(_, (_, d))| *d);
                    let Some((key, (token, at))) = due else { break };
                    self.rig.timers.remove(&key);
                    self.rig.now = self.rig.now.max(at);
                    let before = coarse(&self.rig.m);
                    let expect = match key {
                        TimerKey::AcwEnd => Expect::OneOf(&[M::Ready, M::NotReady, M::LegalGuard]),
                        TimerKey::LegalGuardEnd => Expect::Exactly(M::Ready),
                        TimerKey::AutoLogout => Expect::Exactly(M::Null),
                        TimerKey::NoAnswer(c) => {
                            let call_action = self.call_actions.get(&c.0).copied().flatten();
                            if let Some(x) = self.calls.get_mut(&c.0) {
                                x.2 = true;
                            }
                            Expect::Exactly(self.no_answer(before, call_action))
                        }
                    };
                    self.retired.push((key, token));
                    let out = self.rig.feed(AgentInput::TimerExpired { key, token });
                    self.check(before, &[out], expect, None, None)?;
                    let cause = match key {
                        TimerKey::AcwEnd => "acw-end",
                        TimerKey::LegalGuardEnd => "legal-guard-end",
                        TimerKey::AutoLogout => "auto-logout",
                        TimerKey::NoAnswer(_) => "no-answer-timer",
                    };
                    self.seen.insert((before, coarse(&self.rig.m), cause));
                }
                self.rig.now = target;
                return Ok(());
            }
            Op::Stale => {
                let Some((key, token)) = self.retired.last().copied() else { return Ok(()) };
                let out = self.rig.feed(AgentInput::TimerExpired { key, token });
                prop_assert_eq!(out, Output::default(), "a fired or replaced timer's token does nothing");
                return Ok(());
            }
            Op::ClientGone(c, ext) => {
                let out = self.rig.feed(AgentInput::ClientGone { client: c, logout_on_disconnect: ext });
                let leave = logged && self.login_client == Some(c) && ext.unwrap_or(s.logout_on_disconnect);
                (vec![out], Expect::Exactly(if leave { M::Null } else { before }), None)
            }
            Op::OutOfService => {
                let out = self.rig.feed(AgentInput::OutOfService);
                (vec![out], Expect::Exactly(if logged && s.logout_on_out_of_service { M::Null } else { before }), None)
            }
        };
        let request = self.rig.next_ref != ref_before;
        self.check(before, &outs, expect, request.then_some(refusal), Some(op))?;
        self.seen.insert((before, coarse(&self.rig.m), op_name(op)));
        Ok(())
    }

    fn check(
        &mut self,
        before: M,
        outs: &[Output],
        expect: Expect,
        request: Option<Option<ErrorCode>>,
        op: Option<&Op>,
    ) -> Result<(), TestCaseError> {
        let after = coarse(&self.rig.m);
        match expect {
            Expect::Exactly(m) => prop_assert_eq!(after, m, "{:?} -> {:?} on {:?}", before, after, op),
            Expect::OneOf(set) => prop_assert!(set.contains(&after), "{:?} -> {:?} not allowed", before, after),
        }
        if after == M::Null {
            self.agent = None;
            self.login_client = None;
        }
        for out in outs {
            match request {
                Some(refusal) => prop_assert_eq!(error_code(out), refusal, "answer to {:?}", op),
                None => prop_assert!(out.answer.is_none()),
            }
            for e in &out.events {
                prop_assert_eq!(e.attrs.this_dn.as_ref().map(|d| d.as_str()), Some(DN));
                prop_assert!(e.attrs.agent_id.is_some());
                if e.attrs.agent_work_mode == Some(AgentWorkMode::AfterCallWork)
                    && e.kind != crate::tlib::EventKind::AgentLogin
                {
                    prop_assert!(
                        e.attrs.extensions.as_ref().is_some_and(|x| x.get("WrapUpTime").is_some()),
                        "ACW without WrapUpTime"
                    );
                }
            }
            // The last event reports the state the machine is in.
            if let Some(last) = out.events.last() {
                match self.rig.m.session() {
                    None => prop_assert_eq!(last.kind, crate::tlib::EventKind::AgentLogout),
                    Some(s) if last.kind != crate::tlib::EventKind::AgentLogin => {
                        prop_assert_eq!(last.kind, s.state.event_kind());
                        prop_assert_eq!(last.attrs.agent_work_mode, Some(s.state.work_mode()));
                    }
                    Some(_) => {}
                }
            } else if request.is_none() {
                prop_assert_eq!(before, after, "a state change without an event");
            }
        }
        // Timers: what the rig holds is what the machine armed, and it matches the state.
        let armed: BTreeMap<TimerKey, u64> = self.rig.m.armed().iter().map(|t| (t.key, t.token)).collect();
        let held: BTreeMap<TimerKey, u64> = self.rig.timers.iter().map(|(k, (t, _))| (*k, *t)).collect();
        prop_assert_eq!(&armed, &held);
        let state = self.rig.m.session().map(|s| s.state.clone());
        let timed_acw = matches!(state, Some(AgentState::AfterCallWork { period: AcwPeriod::Timed { .. }, .. }));
        prop_assert_eq!(armed.contains_key(&TimerKey::AcwEnd), timed_acw);
        prop_assert_eq!(armed.contains_key(&TimerKey::LegalGuardEnd), after == M::LegalGuard);
        if after == M::Null {
            prop_assert!(armed.keys().all(|k| matches!(k, TimerKey::NoAnswer(_))), "agent timers outlive the agent");
        }
        if let Some(s) = self.rig.m.agent_session() {
            prop_assert_eq!(s.status == AgentStatus::AfterCallWork, after == M::Acw);
        }
        Ok(())
    }
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Login { .. } => "login",
        Op::Logout { .. } => "logout",
        Op::Ready(_) => "ready",
        Op::NotReady(..) => "not-ready",
        Op::Ring(..) => "ring",
        Op::Dial(_) => "dial",
        Op::Establish(_) => "establish",
        Op::Release(_) => "release",
        Op::NotAnswered(..) => "not-answered",
        Op::Advance(_) => "advance",
        Op::Stale => "stale",
        Op::ClientGone(..) => "client-gone",
        Op::OutOfService => "out-of-service",
    }
}

fn run_case(
    s: AgentSettings,
    ops: &[Op],
    seen: &mut std::collections::BTreeSet<(M, M, &'static str)>,
) -> Result<(), TestCaseError> {
    let mut run = Run {
        rig: Rig::new(s),
        seen: std::mem::take(seen),
        calls: BTreeMap::new(),
        call_actions: BTreeMap::new(),
        login_client: None,
        agent: None,
        retired: Vec::new(),
    };
    let result = ops.iter().try_for_each(|op| run.apply(op));
    *seen = run.seen;
    result
}

/// The random sequences reach the transitions that matter (so the property below tests them):
/// run with a fixed seed, collecting the transitions seen.
#[test]
fn random_sequences_cover_the_diagram() {
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let mut seen = std::collections::BTreeSet::new();
    let strategy = (settings(), prop::collection::vec(op(), 1..80));
    for _ in 0..400 {
        let (s, ops) = strategy.new_tree(&mut runner).unwrap().current();
        run_case(s, &ops, &mut seen).unwrap();
    }
    let wanted = [
        (M::Null, M::Ready, "login"),
        (M::Null, M::NotReady, "login"),
        (M::Null, M::Acw, "login"),
        (M::Ready, M::Acw, "release"),
        (M::Ready, M::LegalGuard, "release"),
        (M::Acw, M::Acw, "release"),
        (M::Acw, M::Ready, "acw-end"),
        (M::Acw, M::NotReady, "acw-end"),
        (M::Acw, M::LegalGuard, "acw-end"),
        (M::LegalGuard, M::Ready, "legal-guard-end"),
        (M::LegalGuard, M::LegalGuard, "release"),
        (M::Acw, M::Acw, "not-ready"),
        (M::NotReady, M::Null, "auto-logout"),
        (M::Ready, M::NotReady, "no-answer-timer"),
        (M::Ready, M::Null, "no-answer-timer"),
        (M::Ready, M::NotReady, "not-answered"),
        (M::Ready, M::Null, "client-gone"),
        (M::NotReady, M::Null, "out-of-service"),
        (M::Acw, M::Null, "logout"),
    ];
    let missing: Vec<_> = wanted.iter().filter(|w| !seen.contains(w)).collect();
    assert!(missing.is_empty(), "transitions never reached: {missing:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn machine_follows_the_genem_agent_state_diagram(s in settings(), ops in prop::collection::vec(op(), 1..80)) {
        run_case(s, &ops, &mut std::collections::BTreeSet::new())?;
    }
}
