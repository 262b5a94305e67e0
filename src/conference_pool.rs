//! The Connector's conference pool (guide: "Conference Resource Pools", "Performance: Conference
//! pooling / AV call reuse"). Every T-Server call is anchored in a Skype for Business conference
//! scheduled on one of the Trusted Application Endpoints named by `[conference-services] count /
//! uri-pattern`. Scheduling is expensive, so the pool pre-creates `conference-pool-size`
//! conferences one at a time, spread round-robin over the endpoints, refills whenever one is used
//! or expires, and — with `caching-enabled` — takes a conference back after its call for reuse
//! until it expires. `reuse-avcall` bounds how many calls reuse the application's AV leg in a
//! conference before it is recreated (the guide warns of leaks past ~50).
//!
//! Pure bookkeeping: the Connector actor asks what to schedule, schedules it on the (simulated)
//! SfB, and reports back. Time is passed in (ms).

use serde::Serialize;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub size: usize,
    pub caching: bool,
    pub reuse_avcall: u32,
    /// Trusted Application Endpoints, in order (from count / uri-pattern).
    pub endpoints: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conference {
    pub id: String,
    pub endpoint: String,
    pub expires_at: u64,
    /// Calls this conference has carried.
    pub uses: u32,
    /// Calls that reused the current AV leg (reset when the leg is recreated).
    pub av_leg_uses: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    pub scheduled: u64,
    pub failed: u64,
    pub expired: u64,
    pub reused: u64,
    pub av_legs_recreated: u64,
    pub last_failure: Option<String>,
}

#[derive(Debug)]
pub struct ConferencePool {
    cfg: PoolConfig,
    ready: VecDeque<Conference>,
    in_use: usize,
    pending: usize,
    next_endpoint: usize,
    pub stats: PoolStats,
}

impl ConferencePool {
    pub fn new(cfg: PoolConfig) -> Self {
        ConferencePool {
            cfg,
            ready: VecDeque::new(),
            in_use: 0,
            pending: 0,
            next_endpoint: 0,
            stats: PoolStats::default(),
        }
    }

    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// The endpoint to schedule the next pool conference on, if the pool wants one now. One at a
    /// time, as the guide describes; `None` when full, busy scheduling, or without endpoints.
    pub fn want(&mut self) -> Option<String> {
        if self.pending > 0 || self.ready.len() >= self.cfg.size || self.cfg.endpoints.is_empty() {
            return None;
        }
        self.pending += 1;
        Some(self.pick_endpoint())
    }

    /// An endpoint for an on-demand conference (the pool was empty when a call needed one).
    pub fn on_demand(&mut self) -> Option<String> {
        if self.cfg.endpoints.is_empty() {
            return None;
        }
        self.pending += 1;
        Some(self.pick_endpoint())
    }

    fn pick_endpoint(&mut self) -> String {
        let e = self.cfg.endpoints[self.next_endpoint % self.cfg.endpoints.len()].clone();
        self.next_endpoint += 1;
        e
    }

    /// A scheduled conference joins the ready pool.
    pub fn on_scheduled(&mut self, id: String, endpoint: String, expires_at: u64) {
        self.pending = self.pending.saturating_sub(1);
        self.stats.scheduled += 1;
        self.ready.push_back(Conference { id, endpoint, expires_at, uses: 0, av_leg_uses: 0 });
    }

    pub fn on_failed(&mut self, reason: String) {
        self.pending = self.pending.saturating_sub(1);
        self.stats.failed += 1;
        self.stats.last_failure = Some(reason);
    }

    /// Takes a ready conference for a call; expired ones are dropped on the way.
    pub fn acquire(&mut self, now: u64) -> Option<Conference> {
        self.expire(now);
        let mut conf = self.ready.pop_front()?;
        if conf.uses > 0 {
            self.stats.reused += 1;
        }
        conf.uses += 1;
        if conf.av_leg_uses >= self.cfg.reuse_avcall.max(1) {
            conf.av_leg_uses = 0;
            self.stats.av_legs_recreated += 1;
        }
        conf.av_leg_uses += 1;
        self.in_use += 1;
        Some(conf)
    }

    /// Marks an on-demand conference as in use (it never went through the ready queue).
    pub fn adopt(&mut self, id: String, endpoint: String, expires_at: u64) -> Conference {
        self.pending = self.pending.saturating_sub(1);
        self.stats.scheduled += 1;
        self.in_use += 1;
        Conference { id, endpoint, expires_at, uses: 1, av_leg_uses: 1 }
    }

    /// A call ended: with caching the conference goes back to the pool (unless expired, or the
    /// pool is already full).
    pub fn release(&mut self, conf: Conference, now: u64) {
        self.in_use = self.in_use.saturating_sub(1);
        if self.cfg.caching && conf.expires_at > now && self.ready.len() < self.cfg.size.max(1) {
            self.ready.push_back(conf);
        }
    }

    /// A conference found unusable: dropped for good (`want` schedules a replacement).
    pub fn discard(&mut self, _conf: Conference) {
        self.in_use = self.in_use.saturating_sub(1);
    }

    /// Drops expired ready conferences; `want` then schedules replacements.
    pub fn expire(&mut self, now: u64) -> usize {
        let before = self.ready.len();
        self.ready.retain(|c| c.expires_at > now);
        let n = before - self.ready.len();
        self.stats.expired += n as u64;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(size: usize, caching: bool) -> ConferencePool {
        ConferencePool::new(PoolConfig {
            size,
            caching,
            reuse_avcall: 2,
            endpoints: vec!["sip:conf01@x".into(), "sip:conf02@x".into()],
        })
    }

    fn fill(p: &mut ConferencePool, expires_at: u64) {
        let mut i = 0;
        while let Some(ep) = p.want() {
            p.on_scheduled(format!("c{i}"), ep, expires_at);
            i += 1;
        }
    }

    #[test]
    fn pre_creates_one_at_a_time_round_robin() {
        let mut p = pool(3, true);
        let a = p.want().unwrap();
        assert_eq!(p.want(), None, "one scheduling at a time");
        p.on_scheduled("c0".into(), a.clone(), 1000);
        let b = p.want().unwrap();
        assert_ne!(a, b, "spread over the endpoints");
        p.on_scheduled("c1".into(), b, 1000);
        fill(&mut p, 1000);
        assert_eq!(p.ready_len(), 3);
        assert_eq!(p.want(), None);
    }

    #[test]
    fn caching_reuses_until_expiry_and_refills() {
        let mut p = pool(1, true);
        fill(&mut p, 1000);
        let c = p.acquire(10).unwrap();
        assert!(p.want().is_some(), "a used conference is replaced");
        p.on_failed("busy".into());
        p.release(c, 20);
        assert_eq!(p.ready_len(), 1);
        let c = p.acquire(30).unwrap();
        assert_eq!(c.uses, 2);
        assert_eq!(p.stats.reused, 1);
        p.release(c, 2000);
        assert_eq!(p.ready_len(), 0, "an expired conference is not taken back");
    }

    #[test]
    fn without_caching_conferences_are_single_use() {
        let mut p = pool(1, false);
        fill(&mut p, 1000);
        let c = p.acquire(0).unwrap();
        p.release(c, 1);
        assert_eq!(p.ready_len(), 0);
    }

    #[test]
    fn av_leg_is_recreated_after_reuse_avcall_calls() {
        let mut p = pool(1, true);
        fill(&mut p, u64::MAX);
        for _ in 0..5 {
            let c = p.acquire(0).unwrap();
            p.release(c, 0);
        }
        assert_eq!(p.stats.av_legs_recreated, 2, "5 calls with reuse-avcall=2: legs 1-2, 3-4, 5");
    }

    #[test]
    fn expiry_drops_ready_conferences() {
        let mut p = pool(2, true);
        fill(&mut p, 100);
        assert_eq!(p.expire(100), 2);
        assert_eq!(p.acquire(100), None);
        assert!(p.want().is_some());
    }
}
