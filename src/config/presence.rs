//! Presence profiles at load (guide: "Configuring the Presence Profile", "Push Presence Mode"):
//! every Voice over IP Service DN with `service-type = presence-profile` becomes a
//! [`PresenceProfile`]. The `agent-presence-map` XML file is read here, once ("T-Server does not
//! re-load the XML file after starting"); a malformed file, a bad `aggregated-states` or an
//! aggregated state missing from the file refuses start, naming the option.

use super::annex::option_label;
use super::error::{ConfigError, Problems};
use super::model::DnConfig;
use super::values::parse_ranges;
use crate::model::{DnName, DnType};
use crate::presence::{AggregatedStates, PresenceProfile, PushMap};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) fn profiles(dns: &BTreeMap<DnName, DnConfig>, p: &mut Problems) -> BTreeMap<DnName, PresenceProfile> {
    let mut out = BTreeMap::new();
    for (name, d) in dns {
        if d.dn_type != DnType::VoipService || d.service_type.as_deref() != Some("presence-profile") {
            continue;
        }
        let owner = format!("[[dn]] {:?}", d.spelling);
        let label = |key: &str| option_label(&owner, "TServer", key);
        let get = |key: &str| d.annex.get("TServer", key);
        let map_to_dnd = get("map-presence-to-dnd").and_then(|v| v.as_bool()).unwrap_or(false);
        let availability_range = get("presence-availability-range")
            .and_then(|v| v.as_ranges().cloned())
            .unwrap_or_else(|| parse_ranges("3000-6000", 18000).expect("valid default"));
        // With map-presence-to-dnd the map is ignored (guide: the two are incompatible).
        let push = match (map_to_dnd, get("agent-presence-map")) {
            (false, Some(path)) => push_map(&path.raw, get("aggregated-states").map(|v| v.raw.as_str()), &label, p),
            _ => None,
        };
        out.insert(name.clone(), PresenceProfile { dn: name.clone(), map_to_dnd, availability_range, push });
    }
    out
}

fn push_map(
    path: &str,
    aggregated: Option<&str>,
    label: &dyn Fn(&str) -> String,
    p: &mut Problems,
) -> Option<Arc<PushMap>> {
    let Some(aggregated) = aggregated else {
        p.push(ConfigError::missing(label("aggregated-states"), "agent-presence-map needs the aggregated states"));
        return None;
    };
    let states = match AggregatedStates::parse(aggregated) {
        Ok(s) => s,
        Err(reason) => {
            p.push(ConfigError::invalid(label("aggregated-states"), aggregated, reason));
            return None;
        }
    };
    let xml = match std::fs::read_to_string(path) {
        Ok(x) => x,
        Err(e) => {
            p.push(ConfigError::invalid(label("agent-presence-map"), path, format!("cannot read the file: {e}")));
            return None;
        }
    };
    match PushMap::new(states, &xml) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => {
            p.push(ConfigError::invalid(label("agent-presence-map"), path, e.to_string()));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;
    use crate::model::DnName;

    const BASE: &str = r#"
        [TServer]
        link-1-name = "c1"
        presence-profile = "sip:push@skype.lab"
        [c1]
        hostname = "127.0.0.1"
        port = 9001
        protocol = "tcp"
        [[dn]]
        number = "sip:push@skype.lab"
        type = "Voice over IP Service"
        annex = { TServer = { service-type = "presence-profile", agent-presence-map = "PATH", aggregated-states = "STATES" } }
    "#;

    fn load(xml: &str, states: &str) -> Result<crate::config::ServerConfig, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.xml");
        std::fs::write(&path, xml).unwrap();
        let text = BASE.replace("PATH", &path.display().to_string().replace('\\', "/")).replace("STATES", states);
        load_str(&text).map_err(|e| e.to_string())
    }

    const XML: &str = r#"<?xml version="1.0"?>
<agentStates xmlns="http://schemas.genesys.com/09/2014/mslyncteserver/agentStates">
  <agentState ID="IDLE_READY" availability="3501"><activity LCID="1033">I am available</activity></agentState>
  <agentState ID="IDLE_OUT" availability="18000"><activity LCID="1033">Logged out</activity></agentState>
</agentStates>"#;

    #[test]
    fn a_valid_map_loads_into_the_profile() {
        let cfg = load(XML, "1=IDLE_OUT, 2=IDLE_READY").unwrap();
        let p = &cfg.presence_profiles[&DnName::new("sip:push@skype.lab")];
        assert!(!p.map_to_dnd);
        assert_eq!(p.push.as_ref().unwrap().states.len(), 2);
    }

    #[test]
    fn a_malformed_xml_file_refuses_start_naming_the_option() {
        let e = load("<agentStates><agentState ID=\"X\"", "1=X").unwrap_err();
        assert!(e.contains("annex [TServer] agent-presence-map") && e.contains("malformed XML"), "{e}");
    }

    #[test]
    fn an_aggregated_state_missing_from_the_file_refuses_start() {
        let e = load(XML, "1=IDLE_OUT, 2=IDLE_READY, 6=INCALL").unwrap_err();
        assert!(e.contains("agent-presence-map") && e.contains("INCALL"), "{e}");
        let e = load(XML, "16=IDLE_OUT").unwrap_err();
        assert!(e.contains("aggregated-states") && e.contains("1 to 15"), "{e}");
        let e = load_str(&BASE.replace(", aggregated-states = \"STATES\"", "").replace("PATH", "/x/map.xml"));
        let e = e.unwrap_err().to_string();
        assert!(e.contains("missing [[dn]] \"sip:push@skype.lab\" annex [TServer] aggregated-states"), "{e}");
    }

    #[test]
    fn an_unreadable_file_refuses_start() {
        let e = load_str(&BASE.replace("PATH", "/nonexistent/map.xml").replace("STATES", "1=A")).unwrap_err();
        assert!(e.to_string().contains("cannot read the file"), "{e}");
    }

    #[test]
    fn with_map_presence_to_dnd_the_map_is_ignored() {
        let text = BASE.replace("PATH", "/nonexistent/map.xml").replace("STATES", "1=A").replace(
            "service-type = \"presence-profile\",",
            "service-type = \"presence-profile\", map-presence-to-dnd = true,",
        );
        let cfg = load_str(&text).unwrap();
        let p = &cfg.presence_profiles[&DnName::new("sip:push@skype.lab")];
        assert!(p.map_to_dnd && p.push.is_none());
    }
}
