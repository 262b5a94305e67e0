//! Calling using Back-to-Back User Agent, configuration side: the [`DialPlan`] of each
//! Application pool, built from `calling-method-dialplan` (which names a Voice over IP Service
//! DN with `service-type = dialplan`), that DN's `dial-plan-rule-<n>`, `calling-method` and
//! `cpn`, and the pool's Application-level `cpn`. Every rule was parsed when the file was loaded
//! (option kind `DialPlanRule`); this module adds the checks across options and the lookups.
//! Pure lookups over a validated [`ServerConfig`]: nothing here does I/O or keeps state.

use super::error::{ConfigError, Problems};
use super::model::{DnConfig, ServerConfig};
use super::options::OptionValue;
use super::values::{CallingMethod, OptionEnum};
use crate::dialplan::{DialPlan, Rule};
use crate::model::DnName;
use std::collections::BTreeMap;

const RULE_PREFIX: &str = "dial-plan-rule-";

/// The n of a `dial-plan-rule-<n>` key (None for other keys or an n beyond u32).
fn rule_number(key: &str) -> Option<u32> {
    key.strip_prefix(RULE_PREFIX)?.parse().ok()
}

/// Load-time checks the option kinds cannot make alone: a rule's n must fit in 32 bits (rules
/// are ordered by it).
pub(crate) fn check(dns: &BTreeMap<DnName, DnConfig>, p: &mut Problems) {
    for d in dns.values() {
        for key in d.annex.section("TServer").into_iter().flat_map(|t| t.keys()) {
            if key.starts_with(RULE_PREFIX) && rule_number(key).is_none() {
                p.push(ConfigError::invalid(
                    super::annex::option_label(&format!("[[dn]] {:?}", d.spelling), "TServer", key),
                    key.trim_start_matches(RULE_PREFIX),
                    format!("the rule number must be from 1 to {}", u32::MAX),
                ));
            }
        }
    }
}

impl ServerConfig {
    /// A "default pool only" `[TServer]` option of `pool`: its top-level folder annex, else the
    /// Switch annex, else the Application (these options have no built-in default).
    fn pool_option(&self, pool: &str, key: &str) -> Option<&OptionValue> {
        self.pool_folder(pool)
            .and_then(|f| f.annex.get("TServer", key))
            .or_else(|| self.switch.annex.get("TServer", key))
            .or_else(|| self.application.get(key))
    }

    /// The B2BUA dial plan of `pool`. Without `calling-method-dialplan` the plan has no DN and
    /// only the pool's `cpn` (B2BUA then happens only when a request asks for it).
    pub fn dial_plan(&self, pool: &str) -> DialPlan {
        let application_cpn = self.pool_option(pool, "cpn").map(|v| v.raw.clone());
        let dn = self.pool_option(pool, "calling-method-dialplan").and_then(|v| self.dns.get(&DnName::new(&v.raw)));
        let Some(dn) = dn else {
            return DialPlan::without_dn(application_cpn);
        };
        let table = dn.annex.section("TServer");
        let rules = table
            .into_iter()
            .flat_map(|t| t.iter())
            .filter_map(|(key, v)| Some((rule_number(key)?, Rule::parse(&v.raw).ok()?)));
        let calling_method = dn
            .annex
            .get_str("TServer", "calling-method")
            .and_then(CallingMethod::parse)
            .unwrap_or(CallingMethod::Dialout);
        let cpn = dn.annex.get_str("TServer", "cpn").map(str::to_string);
        DialPlan::new(dn.number.clone(), rules, calling_method, cpn, application_cpn)
    }

    /// The dial plan that applies to calls made from or for `dn` (the plan of its pool).
    pub fn dial_plan_for(&self, dn: &DnName) -> DialPlan {
        self.dial_plan(self.pool_of(dn))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{embedded_default, load_str, CallingMethod};
    use crate::dialplan::MethodSource;
    use crate::model::{DnName, KvList};

    const BASE: &str = r#"
[TServer]
link-1-name = "connector1"
calling-method-dialplan = "sip:dialplan@skype.lab"
cpn = "sip:app@skype.lab"
[connector1]
hostname = "127.0.0.1"
port = 9001
protocol = "tcp"
[[dn]]
number = "sip:agent01@skype.lab"
type = "Extension"
"#;

    fn dial_plan_dn(options: &str) -> String {
        format!(
            "{BASE}[[dn]]\nnumber = \"sip:dialplan@skype.lab\"\ntype = \"Voice over IP Service\"\nannex = {{ TServer = {{ service-type = \"dialplan\", {options} }} }}\n"
        )
    }

    fn refused(options: &str) -> String {
        load_str(&dial_plan_dn(options)).expect_err("should be refused").to_string()
    }

    #[test]
    fn the_embedded_demo_dials_tel_uris_back_to_back() {
        let cfg = embedded_default();
        let plan = cfg.dial_plan_for(&DnName::new("sip:agent01@skype.lab"));
        assert_eq!(plan.dn, Some(DnName::new("sip:dialplan@skype.lab")));
        assert_eq!(
            plan.rules.iter().map(|(n, r)| (*n, r.as_str())).collect::<Vec<_>>(),
            [(1, "tel:+{#}"), (2, "tel:{#}")]
        );
        let r = plan.resolve("tel:+14155550100", None);
        assert_eq!((r.calling_method, r.rule, r.cpn), (CallingMethod::B2b, Some(1), None));
        let r = plan.resolve("sip:agent02@skype.lab", None);
        assert_eq!((r.calling_method, r.source), (CallingMethod::Dialout, MethodSource::NoMatch));
    }

    #[test]
    fn rules_are_ordered_by_number_and_cpn_comes_from_dn_then_application() {
        let cfg = load_str(&dial_plan_dn(
            r#"calling-method = "b2b", cpn = "sip:dn@skype.lab", dial-plan-rule-10 = "{*}", dial-plan-rule-2 = "tel:{#}=>sip:{DIGITS}@gw.skype.lab;cpn=sip:rule@skype.lab""#,
        ))
        .unwrap();
        let plan = cfg.dial_plan("default");
        assert_eq!(plan.rules.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [2, 10]);
        let r = plan.resolve("tel:5550100", None);
        assert_eq!(
            (r.destination.as_str(), r.cpn.as_deref()),
            ("sip:5550100@gw.skype.lab", Some("sip:rule@skype.lab"))
        );
        let r = plan.resolve("sip:x@y", None);
        assert_eq!((r.rule, r.cpn.as_deref()), (Some(10), Some("sip:dn@skype.lab")));
        let ext = KvList::new().with("CPNDigits", "sip:+14155551212@skype.lab").with("calling-method", "b2b");
        assert_eq!(plan.resolve("sip:x@y", Some(&ext)).cpn.as_deref(), Some("sip:+14155551212@skype.lab"));
        let cfg = load_str(&dial_plan_dn(r#"calling-method = "b2b""#)).unwrap();
        let r = cfg.dial_plan("default").resolve("sip:x@y", None);
        assert_eq!((r.calling_method, r.cpn.as_deref()), (CallingMethod::B2b, Some("sip:app@skype.lab")));
    }

    #[test]
    fn without_calling_method_dialplan_only_requests_ask_for_b2bua() {
        let cfg = load_str(&BASE.replace("calling-method-dialplan = \"sip:dialplan@skype.lab\"\n", "")).unwrap();
        let plan = cfg.dial_plan("default");
        assert_eq!((plan.dn.as_ref(), plan.application_cpn.as_deref()), (None, Some("sip:app@skype.lab")));
        assert_eq!(plan.resolve("tel:+1", None).source, MethodSource::NoDialPlan);
        let ext = KvList::new().with("calling-method", "b2b");
        assert_eq!(plan.resolve("tel:+1", Some(&ext)).cpn.as_deref(), Some("sip:app@skype.lab"));
    }

    #[test]
    fn each_pool_has_its_own_dial_plan() {
        let text = dial_plan_dn(r#"calling-method = "b2b""#)
            + r#"
[[folder]]
name = "Pool2Folder"
annex = { connector = { pool-name = "Pool2" }, TServer = { calling-method-dialplan = "sip:dialplan2@skype.lab", cpn = "sip:pool2@skype.lab" } }
[[dn]]
number = "sip:dialplan2@skype.lab"
type = "Voice over IP Service"
folder = "Pool2Folder"
annex = { TServer = { service-type = "dialplan", dial-plan-rule-1 = "tel:{#};calling-method=b2b" } }
[[dn]]
number = "sip:agent02@skype.lab"
type = "Extension"
folder = "Pool2Folder"
"#;
        let cfg = load_str(&text).unwrap();
        let p2 = cfg.dial_plan_for(&DnName::new("sip:agent02@skype.lab"));
        assert_eq!(p2.dn, Some(DnName::new("sip:dialplan2@skype.lab")));
        let r = p2.resolve("tel:123", None);
        assert_eq!(
            (r.calling_method, r.source, r.cpn.as_deref()),
            (CallingMethod::B2b, MethodSource::Rule, Some("sip:pool2@skype.lab"))
        );
        let p1 = cfg.dial_plan_for(&DnName::new("sip:agent01@skype.lab"));
        assert_eq!(
            (p1.dn, p1.application_cpn.as_deref()),
            (Some(DnName::new("sip:dialplan@skype.lab")), Some("sip:app@skype.lab"))
        );
    }

    #[test]
    fn malformed_rules_refuse_the_load_naming_the_option() {
        let e = refused(r#"dial-plan-rule-3 = "tel:{#""#);
        assert!(
            e.lines().any(|l| l.trim_start_matches("  - ") ==
            r#"invalid value "tel:{#" for [[dn]] "sip:dialplan@skype.lab" annex [TServer] dial-plan-rule-3: not a dial-plan rule: '{' at position 4 is never closed by '}'"#),
            "{e}"
        );
        let e = refused(r#"dial-plan-rule-1 = "tel:{#};priority=1""#);
        assert!(e.contains(r#"dial-plan-rule-1: not a dial-plan rule: unknown parameter "priority" after ';' (known: calling-method, cpn)"#), "{e}");
        let e = refused(r#"dial-plan-rule-1 = "tel:{#};cpn=4155551212""#);
        assert!(
            e.contains("dial-plan-rule-1: not a dial-plan rule: invalid value \"4155551212\" for parameter cpn"),
            "{e}"
        );
        let e = refused(r#"dial-plan-rule-99999999999 = "tel:{#}""#);
        assert!(e.contains("dial-plan-rule-99999999999: the rule number must be from 1 to 4294967295"), "{e}");
        let e = refused(r#"calling-method = "sometimes""#);
        assert!(e.contains("annex [TServer] calling-method: expected one of dialout, b2b"), "{e}");
        let e = refused(r#"cpn = "4155551212""#);
        assert!(e.contains("annex [TServer] cpn: expected a SIP URI"), "{e}");
    }
}
