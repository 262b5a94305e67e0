//! Option tables and annexes: the validated `[section] key = value` maps that configuration
//! objects carry (the Application's `[TServer]`, and the Annex of the Switch, top-level folders,
//! DNs and Agent Logins). Validation checks every key against the catalogue and the level it is
//! set at, and canonicalises values; it never resolves the hierarchy (see `hierarchy.rs`).

use super::error::{ConfigError, Problems};
use super::options::{self, OptionSpec, OptionValue, Scope};
use super::raw::{RawAnnex, RawTable, RawValue};
use serde::Serialize;
use std::collections::BTreeMap;

/// One section's validated options, keyed by canonical option name (an alias is stored under
/// the guide's main name; members of numbered families such as `dial-plan-rule-3` by their own
/// name).
pub type OptionTable = BTreeMap<String, OptionValue>;

/// The validated Annex of a configuration object: section name -> options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Annex(pub BTreeMap<String, OptionTable>);

impl Annex {
    /// The value of `key` (canonical name) in `section`.
    pub fn get(&self, section: &str, key: &str) -> Option<&OptionValue> {
        self.0.get(section)?.get(key)
    }
    /// The canonical text of `key` in `section`.
    pub fn get_str(&self, section: &str, key: &str) -> Option<&str> {
        self.get(section, key).map(|v| v.raw.as_str())
    }
    pub fn section(&self, section: &str) -> Option<&OptionTable> {
        self.0.get(section)
    }
    pub fn is_empty(&self) -> bool {
        self.0.values().all(BTreeMap::is_empty)
    }
}

/// The canonical key under which `key` is stored (`None` when the catalogue does not know it).
pub fn canonical_key(section: &str, key: &str) -> Option<String> {
    let spec = options::find(section, key)?;
    Some(if spec.name.contains("<n>") { key.to_string() } else { spec.name.to_string() })
}

/// How an option is named in messages: `[TServer] key` for the Application, or
/// `<owner> annex [section] key` for an object's annex.
pub fn option_label(owner: &str, section: &str, key: &str) -> String {
    if owner.is_empty() {
        format!("[{section}] {key}")
    } else if owner == "[switch]" {
        format!("[switch.annex.{section}] {key}")
    } else {
        format!("{owner} annex [{section}] {key}")
    }
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Application => "the T-Server Application",
        Scope::Switch => "the Switch annex",
        Scope::Folder => "a top-level folder annex",
        Scope::Dn => "a DN annex",
        Scope::AgentLogin => "an Agent Login annex",
    }
}

/// Renders a raw TOML value as the option text the guide would write (`15`, `true`, `a, b`).
pub fn value_text(v: &RawValue) -> Result<String, String> {
    match v {
        RawValue::String(s) => Ok(s.clone()),
        RawValue::Bool(b) => Ok(b.to_string()),
        RawValue::Number(n) => Ok(n.to_string()),
        RawValue::Array(items) => {
            let parts: Result<Vec<String>, String> = items
                .iter()
                .map(|i| match i {
                    RawValue::Array(_) | RawValue::Object(_) => Err("expected a list of plain values".to_string()),
                    other => value_text(other),
                })
                .collect();
            Ok(parts?.join(", "))
        }
        RawValue::Object(_) => Err("expected a value, found a table".into()),
        RawValue::Null => Err("expected a value".into()),
    }
}

/// Validates one option section set at `scope` and owned by `owner` ("" for the Application).
pub(crate) fn parse_table(
    owner: &str,
    section: &str,
    raw: &RawTable,
    scope: Scope,
    problems: &mut Problems,
) -> OptionTable {
    let mut out = OptionTable::new();
    for (key, value) in raw {
        let label = option_label(owner, section, key);
        let Some(spec) = options::find(section, key) else {
            problems.push(ConfigError::unknown(label, format!("the guide names no such option in [{section}]")));
            continue;
        };
        if !spec.levels.allows(scope) {
            problems.push(ConfigError::unknown(label, format!("{} cannot be set in {}", spec.name, scope_name(scope))));
            continue;
        }
        match parse_value(spec, value) {
            Ok(v) => {
                let canonical = canonical_key(section, key).expect("known option");
                if out.insert(canonical.clone(), v).is_some() {
                    problems.push(ConfigError::misconfigured(format!(
                        "{label}: option {canonical} is set twice (under two spellings)"
                    )));
                }
            }
            Err((text, reason)) => problems.push(ConfigError::invalid(label, text, reason)),
        }
    }
    out
}

fn parse_value(spec: &OptionSpec, value: &RawValue) -> Result<OptionValue, (String, String)> {
    let text = value_text(value).map_err(|reason| (value.to_string(), reason))?;
    spec.parse(&text).map_err(|reason| (text, reason))
}

/// Validates an object's Annex: every section must be an option section and every option must
/// be allowed at `scope`.
pub(crate) fn parse_annex(owner: &str, raw: &RawAnnex, scope: Scope, problems: &mut Problems) -> Annex {
    let mut annex = Annex::default();
    for (section, table) in raw {
        if options::section(section).is_none() {
            let known: Vec<&str> = options::section_names().collect();
            problems.push(ConfigError::unknown(
                format!("{owner} annex [{section}]"),
                format!("not an option section (known sections: {})", known.join(", ")),
            ));
            continue;
        }
        let parsed = parse_table(owner, section, table, scope, problems);
        if !parsed.is_empty() {
            annex.0.insert(section.clone(), parsed);
        }
    }
    annex
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(v: serde_json::Value) -> RawTable {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn application_table_canonicalises_and_reports_unknown_keys() {
        let mut p = Problems::default();
        let t = parse_table(
            "",
            "TServer",
            &table(json!({"no-answer-timeout": 15, "default-redirection-limit": "3", "bogus": 1})),
            Scope::Application,
            &mut p,
        );
        assert_eq!(t["no-answer-timeout"].raw, "15s");
        assert_eq!(t["default-redirect-limit"].as_u64(), Some(3));
        let e = p.into_result().unwrap_err().to_string();
        assert_eq!(e, "unknown option [TServer] bogus: the guide names no such option in [TServer]");
    }

    #[test]
    fn options_are_checked_against_their_level() {
        let mut p = Problems::default();
        parse_table(
            "[[agent-login]] \"1001\"",
            "TServer",
            &table(json!({"router-timeout": "5s"})),
            Scope::AgentLogin,
            &mut p,
        );
        let e = p.into_result().unwrap_err().to_string();
        assert!(e.contains("[[agent-login]] \"1001\" annex [TServer] router-timeout"), "{e}");
        assert!(e.contains("cannot be set in an Agent Login annex"), "{e}");
    }

    #[test]
    fn invalid_values_name_option_value_and_reason() {
        let mut p = Problems::default();
        parse_table("", "TServer", &table(json!({"no-answer-timeout": "abc"})), Scope::Application, &mut p);
        assert_eq!(
            p.into_result().unwrap_err().to_string(),
            r#"invalid value "abc" for [TServer] no-answer-timeout: expected a duration like "15s" (a plain number means seconds)"#
        );
    }

    #[test]
    fn annex_sections_must_be_option_sections() {
        let mut p = Problems::default();
        let raw: RawAnnex =
            serde_json::from_value(json!({"TServer": {"wrap-up-time": "untimed"}, "tserver": {}})).unwrap();
        let a = parse_annex("[[dn]] \"sip:a@b\"", &raw, Scope::Dn, &mut p);
        assert_eq!(a.get_str("TServer", "wrap-up-time"), Some("untimed"));
        assert!(p.into_result().unwrap_err().to_string().contains("annex [tserver]: not an option section"));
    }

    #[test]
    fn lists_accept_arrays() {
        let v = value_text(&json!(["media", "from"])).unwrap();
        assert_eq!(v, "media, from");
        assert!(value_text(&json!({"a": 1})).is_err());
    }
}
