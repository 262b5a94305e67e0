//! Identifiers. `DnName` is always lower case because Skype for Business only supports lower-case
//! URIs (guide: "Devices for T-Server"); `ConnId` is the 64-bit Genesys connection ID, written as
//! 16 lower-case hex digits in logs and in the JSON mapping.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A configured device name (a SIP URI such as `sip:agent01@skype.lab`, a number, or `gcti::park`).
/// Constructed only through [`DnName::new`], which lower-cases, so two spellings of the same DN
/// compare equal everywhere. Shared text (`Arc<str>`): a DN name is copied into every event,
/// party, route and snapshot that mentions it, and those copies were a sixth of a Call actor's
/// time at 1,000 CPS as string allocations; a copy is now a reference count.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DnName(std::sync::Arc<str>);

impl DnName {
    pub fn new(name: impl AsRef<str>) -> Self {
        DnName(name.as_ref().trim().to_lowercase().into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for DnName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for DnName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
impl From<&str> for DnName {
    fn from(s: &str) -> Self {
        DnName::new(s)
    }
}
impl Serialize for DnName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for DnName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(DnName::new(s))
    }
}

/// An agent's login ID (an Agent Login object's code, e.g. `1001`). Case is preserved.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub String);

impl AgentId {
    pub fn new(s: impl Into<String>) -> Self {
        AgentId(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The Genesys connection ID of a call. Zero means "no call".
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ConnId(pub u64);

impl ConnId {
    pub const NONE: ConnId = ConnId(0);

    /// Parses the 16-hex-digit form (shorter hex strings are accepted and zero-extended).
    pub fn parse(s: &str) -> Option<ConnId> {
        if s.is_empty() || s.len() > 16 {
            return None;
        }
        u64::from_str_radix(s, 16).ok().map(ConnId)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnId({:016x})", self.0)
    }
}

/// Human-readable formats (JSON) get the hex string; binary formats get the raw u64.
impl Serialize for ConnId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_u64(self.0)
        }
    }
}
impl<'de> Deserialize<'de> for ConnId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            ConnId::parse(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid ConnID {s:?}: expected up to 16 hex digits")))
        } else {
            u64::deserialize(d).map(ConnId)
        }
    }
}

/// Allocates ConnIDs unique for this T-Server instance: the high 32 bits carry the server start
/// time (seconds), the low 32 bits a counter, so IDs from two runs never collide in reports.
#[derive(Debug)]
pub struct ConnIdGenerator {
    base: u64,
    next: AtomicU64,
}

impl ConnIdGenerator {
    pub fn new(start_secs: u64) -> Self {
        ConnIdGenerator { base: (start_secs & 0xffff_ffff) << 32, next: AtomicU64::new(1) }
    }
    /// Continues after a restart from the highest ConnID seen in persisted snapshots.
    pub fn resume_after(&self, seen: ConnId) {
        if seen.0 & 0xffff_ffff_0000_0000 == self.base {
            self.next.fetch_max((seen.0 & 0xffff_ffff) + 1, Ordering::Relaxed);
        }
    }
    pub fn next(&self) -> ConnId {
        let n = self.next.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff;
        ConnId(self.base | n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_names_are_lower_case() {
        assert_eq!(DnName::new("sip:Agent01@Skype.LAB").as_str(), "sip:agent01@skype.lab");
        assert_eq!(DnName::new("SIP:x"), DnName::new("sip:X"));
    }

    #[test]
    fn conn_id_is_sixteen_hex_digits() {
        let c = ConnId(0x006c02462a161006);
        assert_eq!(c.to_string(), "006c02462a161006");
        assert_eq!(ConnId::parse("006c02462a161006"), Some(c));
        assert_eq!(ConnId::parse("xyz"), None);
        assert_eq!(ConnId::parse("00000000000000000"), None);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"006c02462a161006\"");
    }

    #[test]
    fn generator_is_unique_and_resumes() {
        let g = ConnIdGenerator::new(7);
        let a = g.next();
        let b = g.next();
        assert_ne!(a, b);
        assert_eq!(a.0 >> 32, 7);
        g.resume_after(ConnId((7 << 32) | 100));
        assert_eq!(g.next().0 & 0xffff_ffff, 101);
    }
}
