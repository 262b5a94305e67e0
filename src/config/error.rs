//! The one error type of configuration loading. Every message names the option (as
//! `[section] key`, or the object it belongs to), the offending value and the reason, so an
//! operator can fix the file without reading code. This module only describes failures; it never
//! decides what is valid.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be loaded. `load_*` either returns a whole validated model or
/// one of these; with several problems, [`ConfigError::Multiple`] lists them all.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// The text is not valid TOML, or a fixed section has the wrong shape (unknown field,
    /// a table where a value is expected, ...).
    #[error("cannot parse configuration {origin}: {message}")]
    Parse { origin: String, message: String },

    /// A value that does not fit its option.
    #[error("invalid value {value:?} for {option}: {reason}")]
    InvalidValue { option: String, value: String, reason: String },

    /// An option name this T-Server does not know (or does not accept at that level).
    #[error("unknown option {option}: {reason}")]
    UnknownOption { option: String, reason: String },

    /// A mandatory option is absent.
    #[error("missing {option}: {reason}")]
    MissingOption { option: String, reason: String },

    /// A rule across objects is broken (duplicate DN, pool assigned twice, dangling reference).
    #[error("{0}")]
    Misconfigured(String),

    /// More than one problem; each is listed on its own line.
    #[error("{}", ListDisplay(.0))]
    Multiple(Vec<ConfigError>),
}

impl ConfigError {
    pub(crate) fn invalid(option: impl Into<String>, value: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::InvalidValue { option: option.into(), value: value.into(), reason: reason.into() }
    }
    pub(crate) fn unknown(option: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::UnknownOption { option: option.into(), reason: reason.into() }
    }
    pub(crate) fn missing(option: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::MissingOption { option: option.into(), reason: reason.into() }
    }
    pub(crate) fn misconfigured(message: impl Into<String>) -> Self {
        ConfigError::Misconfigured(message.into())
    }

    /// The individual problems (one for a single error).
    pub fn problems(&self) -> Vec<&ConfigError> {
        match self {
            ConfigError::Multiple(all) => all.iter().collect(),
            other => vec![other],
        }
    }
}

struct ListDisplay<'a>(&'a [ConfigError]);

impl fmt::Display for ListDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} configuration errors:", self.0.len())?;
        for e in self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

/// Collects validation problems so one run reports all of them.
#[derive(Default)]
pub(crate) struct Problems(Vec<ConfigError>);

impl Problems {
    pub fn push(&mut self, e: ConfigError) {
        self.0.push(e);
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn into_result(mut self) -> Result<(), ConfigError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(self.0.pop().expect("one error")),
            _ => Err(ConfigError::Multiple(self.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_value_names_option_value_and_reason() {
        let e = ConfigError::invalid("[TServer] no-answer-timeout", "abc", "expected a duration like \"15s\"");
        assert_eq!(
            e.to_string(),
            r#"invalid value "abc" for [TServer] no-answer-timeout: expected a duration like "15s""#
        );
    }

    #[test]
    fn several_problems_are_listed() {
        let mut p = Problems::default();
        p.push(ConfigError::misconfigured("first"));
        p.push(ConfigError::missing("[connector1] port", "a Connector link needs a port"));
        let e = p.into_result().unwrap_err();
        assert_eq!(e.problems().len(), 2);
        assert_eq!(
            e.to_string(),
            "2 configuration errors:\n  - first\n  - missing [connector1] port: a Connector link needs a port"
        );
    }
}
