//! The validated configuration model: typed, complete and internally consistent (every
//! reference resolved, every DN in exactly one pool). Actors receive slices of a
//! [`ServerConfig`]; they never see raw TOML. Per-object option values come from the hierarchy
//! (`hierarchy.rs`); this module only holds objects and answers lookups.

use super::annex::{Annex, OptionTable};
use super::tserver::TServerOptions;
use super::values::LinkProtocol;
use crate::model::{AgentId, DnName, DnType};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The pool name of the default Application pool ("Multiple Application Pools").
pub const DEFAULT_POOL: &str = "default";

/// A whole, validated configuration.
#[derive(Clone, Debug, Serialize)]
pub struct ServerConfig {
    pub server: ServerSection,
    /// T-Server-wide effective `[TServer]` values (Switch annex > Application > built-in
    /// default). Per-DN / per-agent values: use the `resolve_*` methods.
    pub tserver: TServerOptions,
    /// Connector links ordered by n.
    pub links: Vec<LinkConfig>,
    pub switch: SwitchConfig,
    /// Top-level DN folders in file order.
    pub folders: Vec<FolderConfig>,
    pub dns: BTreeMap<DnName, DnConfig>,
    pub agent_logins: BTreeMap<AgentId, AgentLoginConfig>,
    /// The raw `[sim]` section (Null when absent); `crate::sim::SimSection` reads and validates it.
    pub sim: serde_json::Value,
    /// `[router]`: the reference router (disabled when the section is absent).
    pub router: super::router::RouterConfig,
    /// The Application's validated `[TServer]` section (the hierarchy's Application level).
    pub application: OptionTable,
    /// Presence profiles (Voice over IP Service DNs with `service-type = presence-profile`),
    /// their push-mode XML maps read and checked at load.
    #[serde(skip)]
    pub presence_profiles: BTreeMap<DnName, crate::presence::PresenceProfile>,
    /// Things that load but probably do not do what was meant (shown by `check-config`).
    pub warnings: Vec<String>,
}

/// `[server]`: process options of this re-implementation (not in the guide).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerSection {
    /// T-Library client port.
    pub tlib_listen: SocketAddr,
    /// Admin HTTP port.
    pub admin_listen: SocketAddr,
    /// Bearer token required by the admin API (None: no authentication).
    pub admin_token: Option<String>,
    /// Directory of the durable snapshot store.
    pub data_dir: PathBuf,
    /// Largest T-Library frame accepted or sent, in bytes.
    pub max_frame_size: usize,
    /// Per-client outbound queue bound; a client that falls this far behind is disconnected.
    pub client_queue_limit: usize,
    /// TLS on the client port (PEM files), when configured.
    pub tls: Option<TlsFiles>,
    /// CA certificate(s) (PEM) trusted on connector links with `protocol = tls`.
    pub link_ca: Option<PathBuf>,
    /// `run` starts the Connector and the simulated SfB in-process.
    pub embedded_connector: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One Connector link (`link-n-name` and the section it names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkConfig {
    /// The n of `link-n-name` (1-based, consecutive).
    pub n: u32,
    /// The section name (`connector1`).
    pub name: String,
    pub hostname: String,
    pub port: u16,
    pub protocol: LinkProtocol,
    /// The Application pool this Connector serves ([`DEFAULT_POOL`] when empty or missing).
    pub pool_name: String,
    /// Whether the `conn-certificate` thumbprint is used on this link.
    pub use_certificate: bool,
}

/// The Switch object and its Annex.
#[derive(Clone, Debug, Serialize)]
pub struct SwitchConfig {
    pub name: String,
    /// `[conference-services]` of the default pool.
    pub conference_services: Option<ConferenceServices>,
    /// `[connector]` of the default pool.
    pub connector: ConnectorOptions,
    pub log: LogOptions,
    /// The whole validated Switch annex (including `[TServer]` overrides).
    pub annex: Annex,
}

/// `[conference-services]`: Trusted Application Endpoints for conference services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConferenceServices {
    pub count: u32,
    pub uri_pattern: String,
    pub lobby_bypass_enabled: bool,
}

impl ConferenceServices {
    /// The endpoint URI number `i` (1-based): `sip:conf{DD}@skype.lab`, 7 -> `sip:conf07@skype.lab`.
    pub fn endpoint_uri(&self, i: u32) -> String {
        let open = self.uri_pattern.find('{').expect("validated pattern");
        let close = self.uri_pattern.find('}').expect("validated pattern");
        let width = close - open - 1;
        format!("{}{:0width$}{}", &self.uri_pattern[..open], i, &self.uri_pattern[close + 1..])
    }
    /// All `count` endpoint URIs, in order.
    pub fn endpoint_uris(&self) -> Vec<String> {
        (1..=self.count).map(|i| self.endpoint_uri(i)).collect()
    }
}

/// `[connector]` options of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectorOptions {
    pub caching_enabled: bool,
    pub conference_pool_size: u32,
    pub reuse_avcall: u32,
    /// `musicOnHoldFilePath`: None means no music on hold is played.
    pub music_on_hold_file_path: Option<String>,
    pub ringtone_file_path: Option<String>,
    pub conf_session_shutdown: Option<String>,
    pub persistent_storage_path: Option<String>,
}

/// `[log]` of the Switch annex.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogOptions {
    /// MLTP headers printed as `**** (length:nn)` in logs (lower case).
    pub hide_header: Vec<String>,
}

/// A top-level DN folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderConfig {
    pub name: String,
    /// `[connector] pool-name` of its annex, or [`DEFAULT_POOL`].
    pub pool: String,
    pub annex: Annex,
}

/// A DN of the Switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnConfig {
    /// The DN name, lower case.
    pub number: DnName,
    /// The name as written in the file.
    pub spelling: String,
    pub dn_type: DnType,
    /// The guide's register flag: a DN with `register = false` is never in service (no
    /// on-demand registration).
    pub register: bool,
    /// Its top-level folder, if any.
    pub folder: Option<String>,
    /// The Application pool it belongs to.
    pub pool: String,
    /// The Association field (External Routing Point: the LineURI number).
    pub association: Option<String>,
    /// `[TServer] service-type` of a Voice over IP Service DN.
    pub service_type: Option<String>,
    pub annex: Annex,
}

/// An Agent Login object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentLoginConfig {
    pub code: AgentId,
    pub annex: Annex,
}

/// The guide's spelling of a DN type ("Routing Point", "Voice over IP Service", ...).
pub fn dn_type_name(t: DnType) -> &'static str {
    match t {
        DnType::Extension => "Extension",
        DnType::RoutingPoint => "Routing Point",
        DnType::ExternalRoutingPoint => "External Routing Point",
        DnType::VirtualQueue => "Virtual Queue",
        DnType::VoipService => "Voice over IP Service",
        DnType::TrunkGroup => "Trunk Group",
        DnType::AcdQueue => "ACD Queue",
    }
}

/// Parses a DN type written as the guide spells it (any case) or as its GenEM name.
pub fn parse_dn_type(s: &str) -> Option<DnType> {
    let t = s.trim();
    DnType::ALL.iter().copied().find(|d| dn_type_name(*d).eq_ignore_ascii_case(t) || d.name().eq_ignore_ascii_case(t))
}

impl ServerConfig {
    /// The pool of a DN ([`DEFAULT_POOL`] for an unknown DN).
    pub fn pool_of(&self, dn: &DnName) -> &str {
        self.dns.get(dn).map_or(DEFAULT_POOL, |d| d.pool.as_str())
    }

    /// The links that serve `pool`, ordered by n.
    pub fn links_for_pool(&self, pool: &str) -> Vec<&LinkConfig> {
        self.links.iter().filter(|l| l.pool_name == pool).collect()
    }

    /// Every pool name: the default pool, then the pools of folders and links (sorted, unique).
    pub fn pools(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .folders
            .iter()
            .map(|f| f.pool.clone())
            .chain(self.links.iter().map(|l| l.pool_name.clone()))
            .filter(|p| p != DEFAULT_POOL)
            .collect();
        names.sort();
        names.dedup();
        names.insert(0, DEFAULT_POOL.to_string());
        names
    }

    pub fn dn(&self, dn: &DnName) -> Option<&DnConfig> {
        self.dns.get(dn)
    }

    /// DNs of one type, in name order.
    pub fn dns_of_type(&self, t: DnType) -> impl Iterator<Item = &DnConfig> {
        self.dns.values().filter(move |d| d.dn_type == t)
    }

    /// The top-level folder that carries `pool`'s own options (None for the default pool).
    pub fn pool_folder(&self, pool: &str) -> Option<&FolderConfig> {
        if pool == DEFAULT_POOL {
            return None;
        }
        self.folders.iter().find(|f| f.pool == pool)
    }

    pub fn folder(&self, name: &str) -> Option<&FolderConfig> {
        self.folders.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conference_endpoints_follow_the_pattern() {
        let c =
            ConferenceServices { count: 3, uri_pattern: "sip:conf{DD}@skype.lab".into(), lobby_bypass_enabled: true };
        assert_eq!(c.endpoint_uris(), ["sip:conf01@skype.lab", "sip:conf02@skype.lab", "sip:conf03@skype.lab"]);
    }

    #[test]
    fn dn_types_use_the_guide_spellings() {
        assert_eq!(parse_dn_type("Voice over IP Service"), Some(DnType::VoipService));
        assert_eq!(parse_dn_type("voice over ip service"), Some(DnType::VoipService));
        assert_eq!(parse_dn_type("Routing Point"), Some(DnType::RoutingPoint));
        assert_eq!(parse_dn_type("RoutingPoint"), Some(DnType::RoutingPoint));
        assert_eq!(parse_dn_type("Trunk"), None);
        for t in DnType::ALL {
            assert_eq!(parse_dn_type(dn_type_name(*t)), Some(*t));
        }
    }
}
