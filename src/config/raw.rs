//! The raw layer: the TOML file as serde structs, read through the `config` crate (file, then
//! key overrides). Fixed sections refuse unknown fields; option sections (`[TServer]`, annexes)
//! and the Connector link sections, whose names are chosen by `link-n-name`, are kept as
//! generic tables for `validate.rs` to check with messages that name the option. Nothing here
//! judges values.

use super::error::ConfigError;
use config::{Config, File, FileFormat};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Any TOML value (string, integer, boolean, array, table).
pub type RawValue = serde_json::Value;
/// A table of option values.
pub type RawTable = BTreeMap<String, RawValue>;
/// An Annex: section name -> options.
pub type RawAnnex = BTreeMap<String, RawTable>;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default, rename = "TServer")]
    pub tserver: RawTable,
    #[serde(default)]
    pub switch: RawSwitch,
    #[serde(default)]
    pub folder: Vec<RawFolder>,
    #[serde(default)]
    pub dn: Vec<RawDn>,
    #[serde(default)]
    pub agent_login: Vec<RawAgentLogin>,
    /// `[sim]`: the simulated Skype for Business (validated by `crate::sim::SimSection`).
    #[serde(default)]
    pub sim: Option<RawValue>,
    /// `[router]`: the reference router.
    #[serde(default)]
    pub router: Option<RawRouter>,
    /// Every other top-level table: the Connector link sections named by `link-n-name`.
    #[serde(flatten)]
    pub sections: BTreeMap<String, RawValue>,
}

/// `[server]`: process options of this re-implementation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawServer {
    pub tlib_listen: Option<RawValue>,
    pub admin_listen: Option<RawValue>,
    pub admin_token: Option<RawValue>,
    pub data_dir: Option<RawValue>,
    pub max_frame_size: Option<RawValue>,
    pub client_queue_limit: Option<RawValue>,
    pub tls_cert: Option<RawValue>,
    pub tls_key: Option<RawValue>,
    pub link_ca: Option<RawValue>,
    pub embedded_connector: Option<RawValue>,
}

/// `[router]`: the reference router (validated by `router.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRouter {
    pub enabled: Option<RawValue>,
    pub server: Option<RawValue>,
    pub routing_points: Option<RawValue>,
    pub target_group: Option<RawValue>,
    pub agents: Option<RawValue>,
    pub treatment: Option<RawValue>,
    pub music: Option<RawValue>,
    pub im_prompt: Option<RawValue>,
    pub no_answer_pause: Option<RawValue>,
    pub tls_ca: Option<RawValue>,
    pub tls_name: Option<RawValue>,
}

/// `[switch]`: the Switch object of this T-Server and its Annex.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSwitch {
    pub name: Option<String>,
    #[serde(default)]
    pub annex: RawAnnex,
}

/// `[[folder]]`: a top-level DN folder of the Switch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFolder {
    pub name: String,
    #[serde(default)]
    pub annex: RawAnnex,
}

/// `[[dn]]`: a DN of the Switch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDn {
    pub number: String,
    #[serde(rename = "type")]
    pub dn_type: String,
    pub register: Option<RawValue>,
    pub folder: Option<String>,
    pub association: Option<String>,
    #[serde(default)]
    pub annex: RawAnnex,
}

/// `[[agent-login]]`: an Agent Login object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAgentLogin {
    pub code: RawValue,
    #[serde(default)]
    pub annex: RawAnnex,
}

/// A Connector link section (`[connector1]`), parsed from the generic table by `validate.rs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLink {
    pub hostname: Option<RawValue>,
    pub port: Option<RawValue>,
    pub protocol: Option<RawValue>,
    pub pool_name: Option<RawValue>,
    pub use_certificate: Option<RawValue>,
}

/// Reads TOML text, applies `overrides` (`("server.tlib-listen", "0.0.0.0:7000")`, later wins)
/// and deserializes the raw layer. `origin` names the text in messages (usually the file path).
pub fn read(toml: &str, origin: &str, overrides: &[(String, String)]) -> Result<RawConfig, ConfigError> {
    let parse = |e: config::ConfigError| ConfigError::Parse { origin: origin.to_string(), message: e.to_string() };
    let mut builder = Config::builder().add_source(File::from_str(toml, FileFormat::Toml));
    for (key, value) in overrides {
        builder = builder
            .set_override(key.as_str(), value.as_str())
            .map_err(|e| ConfigError::Parse { origin: format!("override {key}"), message: e.to_string() })?;
    }
    builder.build().map_err(parse)?.try_deserialize::<RawConfig>().map_err(parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixed_and_dynamic_sections() {
        let raw = read(
            r#"
            [server]
            tlib-listen = "127.0.0.1:7000"
            [TServer]
            link-1-name = "connector1"
            [connector1]
            hostname = "h"
            port = 9001
            [[dn]]
            number = "sip:A@x"
            type = "Extension"
            annex = { TServer = { no-answer-timeout = "10s" } }
            [[agent-login]]
            code = 1001
            "#,
            "test",
            &[("TServer.wrap-up-time".into(), "5".into())],
        )
        .unwrap();
        assert_eq!(raw.tserver["link-1-name"], "connector1");
        assert_eq!(raw.tserver["wrap-up-time"], "5");
        assert_eq!(raw.sections["connector1"]["port"], 9001);
        assert_eq!(raw.dn[0].annex["TServer"]["no-answer-timeout"], "10s");
        assert_eq!(raw.agent_login[0].code, 1001);
    }

    #[test]
    fn unknown_fields_of_fixed_sections_are_refused() {
        let e = read("[server]\ntlib-port = 7000\n", "f.toml", &[]).unwrap_err().to_string();
        assert!(e.contains("tlib-port"), "{e}");
        let e = read("[[dn]]\nnumber = \"sip:a@b\"\ntype = \"Extension\"\nregistr = true\n", "f.toml", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("registr"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_origin() {
        let e = read("[server\n", "demo.toml", &[]).unwrap_err().to_string();
        assert!(e.starts_with("cannot parse configuration demo.toml:"), "{e}");
    }
}
