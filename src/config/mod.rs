//! Configuration: the TOML file (raw serde layer, `raw.rs`), its validation into a typed model
//! (`validate*.rs`, `model.rs`), the option catalogue with the guide's names and defaults
//! (`options.rs`, `catalogue.rs`), option hierarchy resolution (`hierarchy.rs`) and the
//! `check-config` dump (`render.rs`). Loading is all-or-nothing: a [`ServerConfig`] is whole and
//! consistent, or an error names every bad option, value and reason. This module never starts
//! anything, opens sockets or depends on actors.
//!
//! Layout and every option: docs/configuration.md.

mod annex;
mod calling;
mod catalogue;
mod error;
mod hierarchy;
mod model;
pub mod options;
mod presence;
mod raw;
mod render;
mod router;
mod tserver;
mod validate;
mod validate_objects;
mod validate_server;
pub mod values;

pub use annex::{Annex, OptionTable};
pub use error::ConfigError;
pub use hierarchy::{Level, OptionContext};
pub use model::{
    dn_type_name, parse_dn_type, AgentLoginConfig, ConferenceServices, ConnectorOptions, DnConfig, FolderConfig,
    LinkConfig, LogOptions, ServerConfig, ServerSection, SwitchConfig, TlsFiles, DEFAULT_POOL,
};
pub use options::OptionValue;
pub use render::render;
pub use router::{pattern_matches, RouterConfig, RouterTreatment, DEFAULT_IM_PROMPT};
pub use tserver::TServerOptions;
pub use validate_objects::PARK_TRUNK;
pub use values::{
    AvailabilityRanges, CallingMethod, DirectCallsMedia, EmulatedLoginState, EscalationUserData, HandleDirectCalls,
    ImReporting, LinkProtocol, MonitorConsultCalls, MonitorMode, MonitorScope, NoAnswerAction, OptionEnum,
    PassThroughCalls, WrapUpTime,
};

use std::path::Path;

/// The embedded demo switch (domain skype.lab), used by `run` without a file.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../config/default.toml");

/// Prefix of environment overrides: `SFB_TSERVER_<SECTION>__<KEY>` (see [`env_overrides`]).
pub const ENV_PREFIX: &str = "SFB_TSERVER_";

/// Loads and validates a configuration file.
pub fn load_file(path: &Path) -> Result<ServerConfig, ConfigError> {
    load_file_with_overrides(path, &[])
}

/// Loads a file, then applies `overrides` (`("server.tlib-listen", "0.0.0.0:7000")`, later
/// entries win) before validating. `main.rs` passes [`env_overrides`] and CLI flags here.
pub fn load_file_with_overrides(path: &Path, overrides: &[(String, String)]) -> Result<ServerConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
    load(&text, &path.display().to_string(), overrides)
}

/// Loads and validates configuration text.
pub fn load_str(toml: &str) -> Result<ServerConfig, ConfigError> {
    load(toml, "(text)", &[])
}

/// Loads text with overrides; `origin` names the text in parse errors.
pub fn load(toml: &str, origin: &str, overrides: &[(String, String)]) -> Result<ServerConfig, ConfigError> {
    validate::build(raw::read(toml, origin, overrides)?)
}

/// The embedded demo configuration, validated.
pub fn embedded_default() -> ServerConfig {
    load(EMBEDDED_DEFAULT, "embedded config/default.toml", &[]).expect("the embedded config/default.toml is valid")
}

/// Overrides from environment variables `SFB_TSERVER_<SECTION>__<KEY>` for the `[server]`,
/// `[TServer]` and `[router]` sections; underscores in the key become hyphens:
/// `SFB_TSERVER_SERVER__TLIB_LISTEN=0.0.0.0:7000`, `SFB_TSERVER_TSERVER__NO_ANSWER_TIMEOUT=10s`.
pub fn env_overrides() -> Vec<(String, String)> {
    overrides_from(std::env::vars())
}

fn overrides_from(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vars
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            let (section, key) = rest.split_once("__")?;
            let section = match section.to_ascii_lowercase().as_str() {
                "server" => "server",
                "tserver" => "TServer",
                "router" => "router",
                _ => return None,
            };
            Some((format!("{section}.{}", key.to_ascii_lowercase().replace('_', "-")), value))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests;
