//! Direct (1pcc) calls — guide, "Handling Direct Calls", "Call Monitoring", "IM Suppression": a
//! call placed or answered on a SfB client reaches the T-Server only because SfB forks it to the
//! Connector's endpoint of the user, and the T-Server handles it only when the DN it targets
//! handles direct calls of its media (`handle-direct-calls` true / false / on-login,
//! `handle-direct-calls-media` av / im / all; DN level over Application level; a desktop may
//! override both for as long as it stays connected). A direct call the DN does not handle is left
//! alone: no ConnID, no event, no request to the Connector. Calls dialed by a request, calls
//! through a Routing Point and escalations of a conversation the T-Server handles are not direct.
//!
//! The policy type and its parsing are pure; which policy a DN has right now (DN options, the
//! desktop's override, whether an agent is logged in) comes from [`super::Directory`].

use super::CallTable;
use crate::config::{DirectCallsMedia, HandleDirectCalls, OptionContext, OptionEnum, ServerConfig};
use crate::model::{DnName, DnType, KvList, KvValue, MediaType};
use serde::{Deserialize, Serialize};

/// The option (and extension key) saying whether direct calls are handled.
pub const HANDLE_DIRECT_CALLS: &str = "handle-direct-calls";
/// The option (and extension key) saying which media of direct calls are handled.
pub const HANDLE_DIRECT_CALLS_MEDIA: &str = "handle-direct-calls-media";

/// How a DN's direct calls are handled: `handle-direct-calls` and the media of
/// `handle-direct-calls-media` (audio/video, IM).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectCallPolicy {
    pub handle: HandleDirectCallsMode,
    pub av: bool,
    pub im: bool,
}

/// `handle-direct-calls` (a serde-friendly mirror of [`HandleDirectCalls`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandleDirectCallsMode {
    True,
    False,
    OnLogin,
}

impl From<HandleDirectCalls> for HandleDirectCallsMode {
    fn from(v: HandleDirectCalls) -> Self {
        match v {
            HandleDirectCalls::True => HandleDirectCallsMode::True,
            HandleDirectCalls::False => HandleDirectCallsMode::False,
            HandleDirectCalls::OnLogin => HandleDirectCallsMode::OnLogin,
        }
    }
}

impl HandleDirectCallsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            HandleDirectCallsMode::True => "true",
            HandleDirectCallsMode::False => "false",
            HandleDirectCallsMode::OnLogin => "on-login",
        }
    }
}

impl Default for DirectCallPolicy {
    /// The built-in defaults: every direct call handled, all media.
    fn default() -> Self {
        DirectCallPolicy { handle: HandleDirectCallsMode::True, av: true, im: true }
    }
}

/// Audio/video and IM flags of a `handle-direct-calls-media` list.
fn media_flags(list: &[DirectCallsMedia]) -> (bool, bool) {
    let has = |m| list.contains(&DirectCallsMedia::All) || list.contains(&m);
    (has(DirectCallsMedia::Av), has(DirectCallsMedia::Im))
}

impl DirectCallPolicy {
    pub fn new(handle: HandleDirectCalls, media: &[DirectCallsMedia]) -> Self {
        let (av, im) = media_flags(media);
        DirectCallPolicy { handle: handle.into(), av, im }
    }

    /// The DN's configured policy, each option from the hierarchy (DN annex > top-level folder >
    /// Switch annex > Application > default; guide: "The DN-level setting takes precedence").
    pub fn for_dn(config: &ServerConfig, dn: &DnName) -> Self {
        let ctx = OptionContext::for_dn(dn);
        let handle = config.resolve_enum::<HandleDirectCalls>("TServer", HANDLE_DIRECT_CALLS, &ctx);
        let media = config.resolve_list("TServer", HANDLE_DIRECT_CALLS_MEDIA, &ctx);
        let media: Vec<DirectCallsMedia> =
            media.map(|(l, _)| l.iter().filter_map(|m| DirectCallsMedia::parse(m)).collect()).unwrap_or_default();
        let media = if media.is_empty() { vec![DirectCallsMedia::All] } else { media };
        DirectCallPolicy::new(handle.map_or(HandleDirectCalls::True, |(h, _)| h), &media)
    }

    /// This policy with a desktop's override applied (each value it names replaces the configured one).
    pub fn with_override(self, o: &DirectCallsOverride) -> Self {
        let (av, im) = o.media.unwrap_or((self.av, self.im));
        DirectCallPolicy { handle: o.handle.unwrap_or(self.handle), av, im }
    }

    /// Whether a direct call of `media` is handled. `false` handles none whatever the media
    /// option says (guide, IM Suppression: IMs are suppressed by `false` without media, or by
    /// `av`); `on-login` only while an agent is logged in on the DN.
    pub fn handles(&self, media: MediaType, agent_logged_in: bool) -> bool {
        let on = match self.handle {
            HandleDirectCallsMode::True => true,
            HandleDirectCallsMode::False => false,
            HandleDirectCallsMode::OnLogin => agent_logged_in,
        };
        on && if media == MediaType::CHAT { self.im } else { self.av }
    }

    /// `handle-direct-calls-media` as text: `all`, `av`, `im` (or `none`, only by override).
    pub fn media_text(&self) -> &'static str {
        match (self.av, self.im) {
            (true, true) => "all",
            (true, false) => "av",
            (false, true) => "im",
            (false, false) => "none",
        }
    }

    /// The setting as EventRegistered / EventAddressInfo report it, so a desktop knows whether
    /// to override it (guide: "analyzes information about the handle-direct-calls setting received
    /// from T-Server at the time of registration").
    pub fn extensions(&self) -> KvList {
        KvList::new().with(HANDLE_DIRECT_CALLS, self.handle.as_str()).with(HANDLE_DIRECT_CALLS_MEDIA, self.media_text())
    }
}

/// A desktop's override of its DN's direct-call handling, sent in the Extensions of
/// TPrivateService: `handle-direct-calls` and/or `handle-direct-calls-media` (guide: "The plug-in
/// also locks the mode of handle-direct-calls-media by the same request that locks
/// handle-direct-calls"). It lasts while that desktop stays registered on the DN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectCallsOverride {
    pub handle: Option<HandleDirectCallsMode>,
    /// (audio/video, IM).
    pub media: Option<(bool, bool)>,
}

impl DirectCallsOverride {
    /// The override carried by `ext`: None when it names neither key; Err(key) when a value is
    /// not one the option accepts.
    pub fn from_extensions(ext: &KvList) -> Result<Option<Self>, &'static str> {
        let text = |key: &'static str| match ext.get(key) {
            None => Ok(None),
            Some(KvValue::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(key),
        };
        let handle = match text(HANDLE_DIRECT_CALLS)? {
            None => None,
            Some(s) => Some(HandleDirectCalls::parse(&s).ok_or(HANDLE_DIRECT_CALLS)?.into()),
        };
        let media = match text(HANDLE_DIRECT_CALLS_MEDIA)? {
            None => None,
            Some(s) => {
                let list = crate::config::values::parse_enum_list(&s, DirectCallsMedia::VALUES)
                    .map_err(|_| HANDLE_DIRECT_CALLS_MEDIA)?;
                let list: Vec<DirectCallsMedia> = list.iter().filter_map(|m| DirectCallsMedia::parse(m)).collect();
                Some(media_flags(&list))
            }
        };
        Ok((handle.is_some() || media.is_some()).then_some(DirectCallsOverride { handle, media }))
    }
}

impl CallTable {
    /// Whether the T-Server handles a call no request dialed, reported with `from`, `to` and
    /// `media`. Through a Routing Point: yes. An escalation of a conversation it handles (a live
    /// call with the same Conversation-ID): yes. Otherwise it is a direct call, handled when the
    /// DN it targets handles direct calls of its media; a call to something that is no DN (placed
    /// on a SfB client towards an external number or an unmonitored user) follows the
    /// originating DN's setting. A call between two parties that are no DN is handled.
    pub(super) fn handles_new_call(&self, from: &str, to: &str, media: MediaType, conversation_id: &str) -> bool {
        let routing = |t: DnType| matches!(t, DnType::RoutingPoint | DnType::ExternalRoutingPoint);
        let (to, from) = (self.directory.lookup(to), self.directory.lookup(from));
        if to.iter().chain(from.iter()).any(|i| routing(i.dn_type)) {
            return true;
        }
        if !conversation_id.is_empty() && self.calls.values().any(|c| c.conversation_id == conversation_id) {
            return true;
        }
        let Some(target) = to.or(from) else { return true };
        let policy = self.directory.direct_calls(&target.dn).unwrap_or(self.options.direct_calls);
        policy.handles(media, self.directory.agent_logged_in(&target.dn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(handle: HandleDirectCalls, media: &[DirectCallsMedia]) -> DirectCallPolicy {
        DirectCallPolicy::new(handle, media)
    }

    #[test]
    fn media_and_mode_decide_together() {
        use DirectCallsMedia as M;
        use HandleDirectCalls as H;
        let (voice, im) = (MediaType::VOICE, MediaType::CHAT);
        let all = policy(H::True, &[M::All]);
        assert!(all.handles(voice, false) && all.handles(im, false));
        // IM Suppression: `av` suppresses direct IMs; `false` suppresses everything.
        let av = policy(H::True, &[M::Av]);
        assert!(av.handles(voice, false) && !av.handles(im, false));
        let off = policy(H::False, &[M::All]);
        assert!(!off.handles(voice, true) && !off.handles(im, true));
        let on_login = policy(H::OnLogin, &[M::Av, M::Im]);
        assert!(!on_login.handles(voice, false) && on_login.handles(voice, true) && on_login.handles(im, true));
        assert_eq!(av.extensions().get_str(HANDLE_DIRECT_CALLS_MEDIA), Some("av"));
        assert_eq!(on_login.extensions().get_str(HANDLE_DIRECT_CALLS), Some("on-login"));
        assert_eq!(on_login.media_text(), "all");
    }

    #[test]
    fn an_override_replaces_what_it_names() {
        let ext = KvList::new().with(HANDLE_DIRECT_CALLS, "false");
        let o = DirectCallsOverride::from_extensions(&ext).unwrap().unwrap();
        let p = DirectCallPolicy::default().with_override(&o);
        assert_eq!((p.handle, p.av, p.im), (HandleDirectCallsMode::False, true, true));
        let ext = KvList::new().with(HANDLE_DIRECT_CALLS, "True").with(HANDLE_DIRECT_CALLS_MEDIA, "im");
        let o = DirectCallsOverride::from_extensions(&ext).unwrap().unwrap();
        let p = policy(HandleDirectCalls::False, &[DirectCallsMedia::All]).with_override(&o);
        assert!(!p.handles(MediaType::VOICE, false) && p.handles(MediaType::CHAT, false));
        assert_eq!(DirectCallsOverride::from_extensions(&KvList::new().with("record", "source")), Ok(None));
        let bad = KvList::new().with(HANDLE_DIRECT_CALLS, "sometimes");
        assert_eq!(DirectCallsOverride::from_extensions(&bad), Err(HANDLE_DIRECT_CALLS));
        let bad = KvList::new().with(HANDLE_DIRECT_CALLS_MEDIA, "fax");
        assert_eq!(DirectCallsOverride::from_extensions(&bad), Err(HANDLE_DIRECT_CALLS_MEDIA));
        let bad = KvList::new().with(HANDLE_DIRECT_CALLS, 1);
        assert_eq!(DirectCallsOverride::from_extensions(&bad), Err(HANDLE_DIRECT_CALLS));
    }

    #[test]
    fn dn_level_options_take_precedence() {
        let toml = r#"
[TServer]
link-1-name = "connector1"
handle-direct-calls = "on-login"
handle-direct-calls-media = "av"
[connector1]
hostname = "127.0.0.1"
port = 9001
protocol = "tcp"
pool-name = ""
use-certificate = true
[[dn]]
number = "sip:agent01@skype.lab"
type = "Extension"
[[dn]]
number = "sip:agent02@skype.lab"
type = "Extension"
annex = { TServer = { handle-direct-calls = "false", handle-direct-calls-media = "av, im" } }
"#;
        let cfg = crate::config::load_str(toml).unwrap();
        let a1 = DirectCallPolicy::for_dn(&cfg, &DnName::new("sip:agent01@skype.lab"));
        assert_eq!((a1.handle, a1.av, a1.im), (HandleDirectCallsMode::OnLogin, true, false));
        let a2 = DirectCallPolicy::for_dn(&cfg, &DnName::new("sip:agent02@skype.lab"));
        assert_eq!((a2.handle, a2.av, a2.im), (HandleDirectCallsMode::False, true, true));
    }
}
