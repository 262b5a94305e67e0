//! Monitoring sessions (issue 7; guide: "Call Supervision"). When a call is established on a DN a
//! supervisor subscribed to (`Directory::monitor`), the supervisor is invited into the call in the
//! subscription's mode (SINGLE_STEP_CONFERENCE with `mode`); an agent's TSingleStepConference with
//! AssistMode connect / coach is an assistance session (scope call, one call). A silent (mute) or
//! coaching supervisor is hidden: it has the role Observer, never becomes anyone's OtherDN, and the
//! others' EventPartyAdded / EventPartyDeleted name it with OtherDNRole Observer so desktops can
//! suppress them. Scope agent: the supervisor leaves with the agent; scope call: it stays while
//! the customer or the agent remains. TSetMuteOn / TSetMuteOff switch modes during an established
//! supervision call (EventMuteOn / EventMuteOff with MonitorMode to supervisor and agent). The end
//! of a session is an effect: the subscription registry cancels a one-call subscription.
//! Not supervised: IM calls; internal calls unless `monitor-internal-calls`; consultation calls
//! unless `monitor-consult-calls`.

use super::events::EventExt;
use super::io::{Effect, Output};
use super::types::{ClientRef, Party, Stage};
use super::{CallError, CallTable};
use crate::config::{MonitorConsultCalls, MonitorMode as Mode, MonitorScope, OptionEnum};
use crate::mltp::{self, Mltp};
use crate::model::{CallType, ConnId, DnName, DnRole, MediaType};
use crate::supervision::{MONITOR_MODE, MONITOR_SCOPE};
use crate::tlib::{EventKind, Request, RequestKind as K};
use serde::{Deserialize, Serialize};

/// A subscription as the call model needs it (from the registry in the shell).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorSpec {
    pub supervisor: DnName,
    pub mode: Mode,
    pub scope: MonitorScope,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    Subscription,
    Assistance,
}

/// One supervisor on (or invited to) a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub supervisor: DnName,
    pub agent: DnName,
    pub mode: Mode,
    pub scope: MonitorScope,
    pub kind: SessionKind,
    pub joined: bool,
}

fn hidden(mode: Mode) -> bool {
    matches!(mode, Mode::Mute | Mode::Normal | Mode::Coach)
}

fn switch_mode(mode: Mode) -> Option<mltp::MonitorMode> {
    match mode {
        Mode::Mute | Mode::Normal => Some(mltp::MonitorMode::Mute),
        Mode::Coach => Some(mltp::MonitorMode::Coach),
        Mode::Connect => None,
    }
}

impl CallTable {
    /// The call is established on `uri`: invite its supervisor if one subscribed.
    pub(super) fn maybe_monitor(&mut self, c: ConnId, uri: &str, out: &mut Output) {
        let call = &self.calls[&c];
        let Some(party) = call.party(uri) else { return };
        let (Some(dn), role) = (party.dn.clone(), party.role) else { return };
        let Some(spec) = self.directory.monitor(&dn) else { return };
        let internal = call.call_type == CallType::Internal && !self.options.monitor_internal_calls;
        // `monitor-consult-calls`: consultations made (orig) or received (dest) by the DN, or both.
        let consult = call.consult
            && !match self.options.monitor_consult_calls {
                MonitorConsultCalls::All => true,
                MonitorConsultCalls::None => false,
                MonitorConsultCalls::Orig => role == DnRole::Origination,
                MonitorConsultCalls::Dest => role != DnRole::Origination,
            };
        if call.media == MediaType::CHAT || internal || consult {
            return;
        }
        // Guide (limitations): a supervisor already on a call is not invited to a new one.
        let engaged = call.party_of_dn(&spec.supervisor).is_some() || self.directory.on_call(&spec.supervisor);
        if engaged || call.monitors.iter().any(|s| s.supervisor == spec.supervisor) {
            return;
        }
        let session = Session {
            supervisor: spec.supervisor.clone(),
            agent: dn,
            mode: spec.mode,
            scope: spec.scope,
            kind: SessionKind::Subscription,
            joined: false,
        };
        self.call_mut(c).expect("live call").monitors.push(session);
        let (route, call) = self.switch_of(c);
        let msg = Mltp::SingleStepConference { call, to: spec.supervisor.to_string(), mode: switch_mode(spec.mode) };
        self.send(c, c, route, msg, false, out);
    }

    /// Intrusion (`intrusion-enabled`): a new subscription on `agent` joins its established calls.
    pub(super) fn intrude(&mut self, agent: &DnName, out: &mut Output) {
        let on: Vec<(ConnId, String)> = self
            .calls
            .values()
            .filter_map(|c| c.party_of_dn(agent).filter(|p| p.state.is_active()).map(|p| (c.conn_id, p.uri.clone())))
            .collect();
        for (c, uri) in on {
            self.maybe_monitor(c, &uri, out);
        }
    }

    /// An agent's TSingleStepConference with AssistMode: an assistance session (scope call).
    pub(super) fn assistance(&mut self, c: ConnId, agent: &DnName, to: &str, mode: Mode) {
        let Some(info) = self.directory.lookup(to) else { return };
        let session = Session {
            supervisor: info.dn,
            agent: agent.clone(),
            mode,
            scope: MonitorScope::Call,
            kind: SessionKind::Assistance,
            joined: false,
        };
        self.call_mut(c).expect("live call").monitors.push(session);
    }

    /// The session of a supervisor party on call `c`.
    pub(super) fn session_of(&self, c: ConnId, uri: &str) -> Option<&Session> {
        let dn = self.calls.get(&c)?.party(uri)?.dn.clone()?;
        self.calls[&c].monitors.iter().find(|s| s.supervisor == dn)
    }

    /// The role a newly invited supervisor takes.
    pub(super) fn supervisor_role(&self, c: ConnId, uri: &str) -> Option<DnRole> {
        let dn = self.directory.lookup(uri)?.dn;
        let s = self.calls.get(&c)?.monitors.iter().find(|s| s.supervisor == dn)?;
        Some(if hidden(s.mode) { DnRole::Observer } else { DnRole::ConferenceMember })
    }

    /// The supervisor answered: EventEstablished to it, EventPartyAdded (OtherDNRole Observer when
    /// hidden) to the others; the session is established. True if `uri` was a supervisor.
    pub(super) fn supervisor_joined(&mut self, c: ConnId, uri: &str, out: &mut Output) -> bool {
        let Some(session) = self.session_of(c, uri).cloned() else { return false };
        let call = self.call_mut(c).expect("live call");
        if let Some(s) = call.monitors.iter_mut().find(|s| s.supervisor == session.supervisor) {
            s.joined = true;
        }
        let call = &self.calls[&c];
        let sup = call.party(uri).expect("joined party").clone();
        let role = if hidden(session.mode) { DnRole::Observer } else { DnRole::NewParty };
        let ext = |ev: crate::tlib::Event| {
            let mut ev = ev;
            let x = ev.attrs.extensions.take().unwrap_or_default();
            ev.attrs.extensions =
                Some(x.with(MONITOR_MODE, session.mode.as_str()).with(MONITOR_SCOPE, session.scope.as_str()));
            ev
        };
        for o in call.parties.iter().filter(|o| o.uri != uri && o.state.is_active()) {
            if let Some(dn) = o.call_events_dn() {
                let ev = call.event(EventKind::PartyAdded, o).other(sup.name(), role);
                out.deliver(dn, ext(ev.third(session.agent.clone(), DnRole::AddedBy)));
            }
        }
        if let Some(dn) = sup.call_events_dn() {
            let role = call.party_of_dn(&session.agent).map_or(DnRole::Unknown, |a| a.role);
            let ev = call.event(EventKind::Established, &sup).other(session.agent.clone(), role);
            out.deliver(dn, ext(ev));
        }
        true
    }

    /// A party left call `c`: a supervisor's session ends; an agent leaving takes an agent-scope
    /// supervisor with it; a call left with supervisors only releases them.
    pub(super) fn monitoring_departure(&mut self, c: ConnId, party: &Party, out: &mut Output) {
        let Some(call) = self.calls.get(&c) else { return };
        if call.monitors.is_empty() {
            return;
        }
        if let Some(dn) = &party.dn {
            if let Some(i) = call.monitors.iter().position(|s| &s.supervisor == dn) {
                let s = self.call_mut(c).expect("live call").monitors.remove(i);
                out.effects.push(Effect::MonitoringEnded {
                    supervisor: s.supervisor,
                    assistance: s.kind == SessionKind::Assistance,
                });
                return;
            }
        }
        let call = &self.calls[&c];
        let supervisors: Vec<DnName> = call.monitors.iter().map(|s| s.supervisor.clone()).collect();
        let is_sup = |p: &Party| p.dn.as_ref().is_some_and(|d| supervisors.contains(d));
        let others = call.parties.iter().filter(|p| p.state.is_active() && !is_sup(p)).count();
        let mut release = Vec::new();
        for s in &call.monitors {
            let agent_left = party.dn.as_ref() == Some(&s.agent);
            if (s.scope == MonitorScope::Agent && agent_left) || others == 0 {
                if let Some(p) = call.party_of_dn(&s.supervisor) {
                    release.push(p.uri.clone());
                }
            }
        }
        let (route, call_id) = self.switch_of(c);
        for uri in release {
            self.send(c, c, route.clone(), Mltp::ReleaseCall { call: call_id, party: uri }, false, out);
        }
    }

    /// TSetMuteOn / TSetMuteOff from the supervisor during an established supervision call.
    pub(super) fn set_mute(&mut self, client: ClientRef, req: &Request, out: &mut Output) -> Result<(), CallError> {
        let t = self.target(req, true)?;
        let joined = self.calls[&t.conn].monitors.iter().any(|s| s.supervisor == t.dn && s.joined);
        if !joined {
            return Err(CallError::CallState { conn: t.conn, reason: "no established supervision call of this DN" });
        }
        let coach = req.attrs.extensions.as_ref().and_then(|e| e.get_str(MONITOR_MODE)).is_some_and(|m| m == "coach");
        let mode = match (req.kind, coach) {
            (_, true) => Mode::Coach,
            (K::SetMuteOn, false) => Mode::Mute,
            _ => Mode::Connect,
        };
        let op = self.start_op(t.conn, client, req, Stage::Response);
        op.target = Some(mode.as_str().to_string());
        let (route, call) = self.switch_of(t.conn);
        let wire = switch_mode(mode).unwrap_or(mltp::MonitorMode::Connect);
        self.send(t.conn, t.conn, route, Mltp::SetMute { call, party: t.dn.to_string(), mode: wire }, true, out);
        Ok(())
    }

    /// The Connector applied the new mode: EventMuteOn / EventMuteOff (MonitorMode) to the
    /// supervisor (the answer) and the agent.
    pub(super) fn mute_applied(&mut self, home: ConnId, out: &mut Output) {
        let Some(op) = self.op(home).cloned().filter(|o| matches!(o.kind, K::SetMuteOn | K::SetMuteOff)) else {
            return;
        };
        let mode = match op.target.as_deref() {
            Some("coach") => Mode::Coach,
            Some("mute") => Mode::Mute,
            _ => Mode::Connect,
        };
        let call = self.call_mut(home).expect("live call");
        let Some(s) = call.monitors.iter_mut().find(|s| s.supervisor == op.requester) else { return };
        s.mode = mode;
        let agent = s.agent.clone();
        let scope = s.scope;
        if let Some(p) = call.party_of_dn(&op.requester).map(|p| p.uri.clone()).and_then(|u| call.party_mut(&u)) {
            p.role = if hidden(mode) { DnRole::Observer } else { DnRole::ConferenceMember };
        }
        let kind = if op.kind == K::SetMuteOn { EventKind::MuteOn } else { EventKind::MuteOff };
        let call = &self.calls[&home];
        for (dn, reference) in [(op.requester.clone(), Some(op.reference_id)), (agent, None)] {
            let stand_in = Party::for_dn(&dn);
            let p = call.party_of_dn(&dn).unwrap_or(&stand_in);
            let mut ev = call.event(kind, p).reference(reference);
            let x = ev.attrs.extensions.take().unwrap_or_default();
            ev.attrs.extensions = Some(x.with(MONITOR_MODE, mode.as_str()).with(MONITOR_SCOPE, scope.as_str()));
            out.deliver(&dn, ev);
        }
        self.take_answer(home);
        self.set_stage(home, Stage::Done);
    }
}
