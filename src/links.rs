//! Which connector link serves which DN (guide: "Pools of UCMA Connectors", "Multiple Application
//! Pools", "Graceful Shutdown"). Pure: the LinkSup actor feeds it link state changes and applies
//! the moves it returns (unregister on the old link, register on the new one).
//!
//! Rules: a DN is served by one link of its own pool; DNs are spread evenly over the pool's usable
//! links; when a link is lost or suspends (graceful shutdown), its DNs move to the surviving links
//! at once; when a link (re)appears, the pool is rebalanced moving as few DNs as possible. A DN
//! whose pool has no usable link is unassigned (out of service). Calls never move: they stay with
//! the connector that owns them, which is not this module's business.

use crate::model::DnName;
use std::collections::{BTreeMap, BTreeSet};

/// A link's index (its `n` in `link-n-name`).
pub type LinkId = u32;

/// One DN changing hands. `from = None`: it was out of service; `to = None`: it goes out of service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub dn: DnName,
    pub from: Option<LinkId>,
    pub to: Option<LinkId>,
}

#[derive(Clone, Debug, Default)]
pub struct Assignment {
    /// pool -> its DNs (configuration).
    pools: BTreeMap<String, BTreeSet<DnName>>,
    /// pool -> its links (configuration).
    pool_links: BTreeMap<String, BTreeSet<LinkId>>,
    /// Links that can take DNs (connected and not suspending).
    usable: BTreeSet<LinkId>,
    serving: BTreeMap<DnName, LinkId>,
}

impl Assignment {
    /// `dns`: (DN, pool) for every DN with register = true; `links`: (link, pool).
    pub fn new(
        dns: impl IntoIterator<Item = (DnName, String)>,
        links: impl IntoIterator<Item = (LinkId, String)>,
    ) -> Self {
        let mut a = Assignment::default();
        for (dn, pool) in dns {
            a.pools.entry(pool).or_default().insert(dn);
        }
        for (link, pool) in links {
            a.pool_links.entry(pool).or_default().insert(link);
        }
        a
    }

    pub fn link_of(&self, dn: &DnName) -> Option<LinkId> {
        self.serving.get(dn).copied()
    }

    pub fn dns_of(&self, link: LinkId) -> Vec<DnName> {
        self.serving.iter().filter(|(_, l)| **l == link).map(|(d, _)| d.clone()).collect()
    }

    pub fn is_usable(&self, link: LinkId) -> bool {
        self.usable.contains(&link)
    }

    /// A link connected (or resumed): rebalance its pool.
    pub fn link_up(&mut self, link: LinkId) -> Vec<Move> {
        self.usable.insert(link);
        self.rebalance_pool_of(link)
    }

    /// A link was lost or started suspending: its DNs move to the pool's other usable links.
    pub fn link_down(&mut self, link: LinkId) -> Vec<Move> {
        self.usable.remove(&link);
        self.rebalance_pool_of(link)
    }

    fn rebalance_pool_of(&mut self, link: LinkId) -> Vec<Move> {
        let Some(pool) = self.pool_links.iter().find(|(_, ls)| ls.contains(&link)).map(|(p, _)| p.clone()) else {
            return Vec::new();
        };
        self.rebalance(&pool)
    }

    /// Moves DNs so that each usable link of `pool` serves floor(n/k) or ceil(n/k) of them,
    /// keeping every DN that may stay where it is.
    fn rebalance(&mut self, pool: &str) -> Vec<Move> {
        let dns: Vec<DnName> = self.pools.get(pool).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        let links: Vec<LinkId> = self
            .pool_links
            .get(pool)
            .map(|s| s.iter().copied().filter(|l| self.usable.contains(l)).collect())
            .unwrap_or_default();
        let mut moves = Vec::new();
        if links.is_empty() {
            for dn in dns {
                if let Some(from) = self.serving.remove(&dn) {
                    moves.push(Move { dn, from: Some(from), to: None });
                }
            }
            return moves;
        }
        let (base, extra) = (dns.len() / links.len(), dns.len() % links.len());
        // Capacity per link: the first `extra` links (by current load, then id) take one more.
        let mut load: BTreeMap<LinkId, usize> = links.iter().map(|l| (*l, 0)).collect();
        for dn in &dns {
            if let Some(l) = self.serving.get(dn) {
                if let Some(n) = load.get_mut(l) {
                    *n += 1;
                }
            }
        }
        let mut order = links.clone();
        order.sort_by_key(|l| (std::cmp::Reverse(load[l]), *l));
        let cap: BTreeMap<LinkId, usize> =
            order.iter().enumerate().map(|(i, l)| (*l, base + usize::from(i < extra))).collect();
        let mut kept: BTreeMap<LinkId, usize> = links.iter().map(|l| (*l, 0)).collect();
        let mut homeless = Vec::new();
        for dn in dns {
            match self.serving.get(&dn).copied() {
                Some(l) if kept.get(&l).is_some_and(|k| *k < cap[&l]) => *kept.get_mut(&l).unwrap() += 1,
                from => homeless.push((dn, from)),
            }
        }
        for (dn, from) in homeless {
            let to =
                *links.iter().min_by_key(|l| (kept[*l] as isize - cap[*l] as isize, **l)).expect("links not empty");
            *kept.get_mut(&to).unwrap() += 1;
            self.serving.insert(dn.clone(), to);
            moves.push(Move { dn, from, to: Some(to) });
        }
        moves
    }
}

/// Reconnect delay for the n-th attempt (n >= 1): exponential from 100 ms to 5 s, jittered to
/// between 50 % and 100 % so a pool of links lost together does not reconnect in lockstep.
/// `salt` varies the jitter between links and attempts.
pub fn reconnect_backoff(attempt: u32, salt: u64) -> std::time::Duration {
    use std::time::Duration;
    let exp = Duration::from_millis(100).saturating_mul(1 << attempt.min(6)).min(Duration::from_secs(5));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut x = (nanos as u64) ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    exp.mul_f64(0.5 + 0.5 * ((x % 10_000) as f64 / 10_000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(n: usize) -> Vec<(DnName, String)> {
        (0..n).map(|i| (DnName::new(format!("sip:a{i:02}@x")), "default".to_string())).collect()
    }

    fn loads(a: &Assignment, links: &[LinkId]) -> Vec<usize> {
        links.iter().map(|l| a.dns_of(*l).len()).collect()
    }

    #[test]
    fn spreads_evenly_and_rehomes_on_loss() {
        let mut a = Assignment::new(dns(10), [(1, "default".into()), (2, "default".into()), (3, "default".into())]);
        let m = a.link_up(1);
        assert_eq!(m.len(), 10, "first link takes every DN");
        assert!(m.iter().all(|m| m.from.is_none() && m.to == Some(1)));
        a.link_up(2);
        let m = a.link_up(3);
        assert!(m.iter().all(|m| m.to == Some(3)), "a returning link only takes DNs, nothing else shuffles");
        let mut l = loads(&a, &[1, 2, 3]);
        l.sort();
        assert_eq!(l, vec![3, 3, 4]);
        let lost = a.dns_of(2);
        let m = a.link_down(2);
        assert_eq!(m.len(), lost.len(), "only the lost link's DNs move");
        assert!(m.iter().all(|m| m.from == Some(2) && m.to.is_some()));
        assert_eq!(loads(&a, &[1, 2, 3]).iter().sum::<usize>(), 10);
        assert_eq!(a.dns_of(2).len(), 0);
    }

    #[test]
    fn last_link_lost_takes_dns_out_of_service_and_back() {
        let mut a = Assignment::new(dns(3), [(1, "default".into())]);
        a.link_up(1);
        let m = a.link_down(1);
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|m| m.to.is_none()));
        assert_eq!(a.link_of(&DnName::new("sip:a00@x")), None);
        let m = a.link_up(1);
        assert!(m.iter().all(|m| m.from.is_none() && m.to == Some(1)));
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        use std::time::Duration;
        for attempt in 1..20 {
            let d = reconnect_backoff(attempt, attempt as u64);
            let cap = Duration::from_millis(100).saturating_mul(1 << attempt.min(6)).min(Duration::from_secs(5));
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?} within [{:?}, {cap:?}]", cap / 2);
        }
        assert!(reconnect_backoff(30, 1) <= Duration::from_secs(5));
    }

    #[test]
    fn pools_are_separate() {
        let mut a = Assignment::new(
            [(DnName::new("p1dn"), "pool1".to_string()), (DnName::new("p2dn"), "pool2".to_string())],
            [(1, "pool1".into()), (2, "pool2".into())],
        );
        a.link_up(1);
        assert_eq!(a.link_of(&DnName::new("p1dn")), Some(1));
        assert_eq!(a.link_of(&DnName::new("p2dn")), None, "pool2's DN waits for a pool2 link");
        a.link_up(2);
        assert_eq!(a.link_of(&DnName::new("p2dn")), Some(2));
    }
}
