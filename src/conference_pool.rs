//! The Connector's conference pool (guide: "Conference Resource Pools", "Disable Lobby Bypass",
//! "Performance: Conference pooling / AV call reuse"). Every call the application acts on is
//! hosted by a Skype for Business conference scheduled on one of the Trusted Application
//! Endpoints named by `[conference-services] count / uri-pattern`. Scheduling is expensive, so the
//! pool pre-creates `conference-pool-size` conferences one at a time, spread round-robin over the
//! endpoints, and schedules a new one whenever one is used or expires. With `caching-enabled` a
//! conference serves call after call until SfB expires it; without, it serves one call. A call
//! finding no free conference gets one scheduled on demand — except with a pool and caching off
//! (the guide: pooling needs conference caching), where it is refused. `reuse-avcall` bounds how
//! many calls reuse the application's AV leg in a conference before it is recreated.
//!
//! Pure bookkeeping that mirrors what SfB reports ([`Seen`]): SfB — not this module — knows which
//! conference hosts which call. Also the guide's sizing rule ([`guideline_pool_size`]).

use crate::config::{ServerConfig, DEFAULT_POOL};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub size: usize,
    pub caching: bool,
    pub reuse_avcall: u32,
    /// Trusted Application Endpoints, in order (from count / uri-pattern).
    pub endpoints: Vec<String>,
}

impl PoolConfig {
    /// Whether a call that finds no free pooled conference gets one scheduled on demand: always
    /// with caching, and without a pool; never with a pool and caching off.
    pub fn on_demand(&self) -> bool {
        self.caching || self.size == 0
    }
}

/// What SfB says about one of the pool's conferences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Still being scheduled; `failure` is what SfB will answer if it refuses.
    Scheduling {
        failure: Option<String>,
    },
    Ready,
    InUse {
        call: u64,
    },
    /// Failed, expired, or deleted after its call.
    Gone,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Slot {
    Scheduling,
    Free,
    InUse { call: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conference {
    pub id: u64,
    pub endpoint: String,
    #[serde(flatten)]
    pub slot: Slot,
    /// Calls this conference has carried.
    pub uses: u32,
    /// Calls that reused the current AV leg (reset when the leg is recreated).
    pub av_leg_uses: u32,
    #[serde(skip)]
    failure: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    /// Conferences SfB scheduled for the pool.
    pub scheduled: u64,
    /// Scheduling refused by SfB (e.g. inconsistent lobby settings).
    pub failed: u64,
    /// Conferences SfB expired.
    pub expired: u64,
    /// Single-use conferences deleted after their call (caching off).
    pub retired: u64,
    /// Calls hosted by a conference that had carried a call before (caching).
    pub reused: u64,
    pub av_legs_recreated: u64,
    /// MAKE_CALL requests refused because no conference could host the call.
    pub calls_refused: u64,
    pub last_failure: Option<String>,
}

/// Occupancy, as `GET /connectors` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolView {
    pub size: usize,
    pub caching: bool,
    pub on_demand: bool,
    pub free: usize,
    pub in_use: usize,
    pub scheduling: usize,
    /// This Connector's calls hosted by conferences scheduled on demand (not from the pool).
    pub ad_hoc: usize,
    pub stats: PoolStats,
}

#[derive(Debug)]
pub struct ConferencePool {
    cfg: PoolConfig,
    confs: BTreeMap<u64, Conference>,
    next_endpoint: usize,
    ad_hoc: usize,
    pub stats: PoolStats,
}

impl ConferencePool {
    pub fn new(cfg: PoolConfig) -> Self {
        ConferencePool { cfg, confs: BTreeMap::new(), next_endpoint: 0, ad_hoc: 0, stats: PoolStats::default() }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }

    fn count(&self, f: impl Fn(&Slot) -> bool) -> usize {
        self.confs.values().filter(|c| f(&c.slot)).count()
    }

    pub fn free(&self) -> usize {
        self.count(|s| *s == Slot::Free)
    }

    pub fn in_use(&self) -> usize {
        self.count(|s| matches!(s, Slot::InUse { .. }))
    }

    /// The pool's conferences, by id (what to ask SfB about).
    pub fn ids(&self) -> Vec<u64> {
        self.confs.keys().copied().collect()
    }

    /// The free conference a call should take (the lowest id, as SfB would pick).
    pub fn free_conference(&self) -> Option<u64> {
        self.confs.values().find(|c| c.slot == Slot::Free).map(|c| c.id)
    }

    /// The endpoint to schedule the next pool conference on, if the pool wants one now: one at a
    /// time, as the guide describes; `None` when full, busy scheduling, or without endpoints.
    pub fn want(&mut self) -> Option<String> {
        let scheduling = self.count(|s| *s == Slot::Scheduling);
        if scheduling > 0 || self.free() >= self.cfg.size || self.cfg.endpoints.is_empty() {
            return None;
        }
        let e = self.cfg.endpoints[self.next_endpoint % self.cfg.endpoints.len()].clone();
        self.next_endpoint += 1;
        Some(e)
    }

    /// SfB accepted to schedule conference `id`; [`Self::sync`] reports when it is ready.
    pub fn on_ticket(&mut self, id: u64, endpoint: String) {
        let failure = None;
        let conf = Conference { id, endpoint, slot: Slot::Scheduling, uses: 0, av_leg_uses: 0, failure };
        self.confs.insert(id, conf);
    }

    /// SfB refused to schedule a conference.
    pub fn on_failed(&mut self, reason: String) {
        self.stats.failed += 1;
        self.stats.last_failure = Some(reason);
    }

    /// A call was refused because no conference could host it.
    pub fn on_refused(&mut self, reason: String) {
        self.stats.calls_refused += 1;
        self.stats.last_failure = Some(reason);
    }

    /// How many of this Connector's calls are hosted ad hoc (on demand).
    pub fn set_ad_hoc(&mut self, n: usize) {
        self.ad_hoc = n;
    }

    /// Brings conference `id` up to date with what SfB says about it.
    pub fn sync(&mut self, id: u64, seen: Seen) {
        let Some(c) = self.confs.get_mut(&id) else { return };
        match (&c.slot, seen) {
            (Slot::Scheduling, Seen::Scheduling { failure }) => c.failure = failure,
            (Slot::Scheduling, Seen::Gone) => {
                let reason = c.failure.take().unwrap_or_else(|| format!("conference {id} was not scheduled"));
                self.confs.remove(&id);
                self.on_failed(reason);
            }
            (Slot::Scheduling, Seen::Ready) => {
                c.slot = Slot::Free;
                self.stats.scheduled += 1;
            }
            (Slot::Scheduling, Seen::InUse { call }) => {
                self.stats.scheduled += 1;
                self.take(id, call);
            }
            (Slot::Free, Seen::InUse { call }) => self.take(id, call),
            (Slot::InUse { call: was }, Seen::InUse { call }) if *was != call => self.take(id, call),
            (Slot::InUse { .. }, Seen::Ready) => c.slot = Slot::Free,
            (slot, Seen::Gone) => {
                if matches!(slot, Slot::InUse { .. }) && !self.cfg.caching {
                    self.stats.retired += 1;
                } else {
                    self.stats.expired += 1;
                }
                self.confs.remove(&id);
            }
            _ => {}
        }
    }

    /// Conference `id` now hosts `call`.
    fn take(&mut self, id: u64, call: u64) {
        let limit = self.cfg.reuse_avcall.max(1);
        let Some(c) = self.confs.get_mut(&id) else { return };
        c.slot = Slot::InUse { call };
        if c.uses > 0 {
            self.stats.reused += 1;
        }
        c.uses += 1;
        if c.av_leg_uses >= limit {
            c.av_leg_uses = 0;
            self.stats.av_legs_recreated += 1;
        }
        c.av_leg_uses += 1;
    }

    pub fn view(&self) -> PoolView {
        PoolView {
            size: self.cfg.size,
            caching: self.cfg.caching,
            on_demand: self.cfg.on_demand(),
            free: self.free(),
            in_use: self.in_use(),
            scheduling: self.count(|s| *s == Slot::Scheduling),
            ad_hoc: self.ad_hoc,
            stats: self.stats.clone(),
        }
    }
}

/// The pool options of `pool`: its `[connector]` options and `[conference-services]` endpoints,
/// and the LobbyBypass flag its conferences are scheduled with (the guide's default, true, when
/// there is no `[conference-services]`).
pub fn pool_config(cfg: &ServerConfig, pool: &str) -> (PoolConfig, bool) {
    let (options, services) = if pool == DEFAULT_POOL {
        (cfg.switch.connector.clone(), cfg.switch.conference_services.clone())
    } else {
        (cfg.connector_for_pool(pool), cfg.conference_services_for_pool(pool))
    };
    let pool_cfg = PoolConfig {
        size: options.conference_pool_size as usize,
        caching: options.caching_enabled,
        reuse_avcall: options.reuse_avcall,
        endpoints: services.as_ref().map(|c| c.endpoint_uris()).unwrap_or_default(),
    };
    (pool_cfg, services.is_none_or(|c| c.lobby_bypass_enabled))
}

/// The guide's sizing rule applied to every pool served by a link, for `max_calls` simultaneous
/// calls with `stopped` of the pool's Connectors down: one line per pool, then a warning for each
/// pool whose `conference-pool-size` is below the guideline (`check-config --max-calls`).
pub fn sizing_report(cfg: &ServerConfig, max_calls: u32, stopped: u32) -> Vec<String> {
    let mut lines = vec![format!(
        "Conference pool sizing (guide: conference-pool-size = 1.2 * maxCalls / (numConn - numStopped); \
         maxCalls = {max_calls}, numStopped = {stopped})"
    )];
    let mut warnings = Vec::new();
    for pool in cfg.pools() {
        let connectors = cfg.links_for_pool(&pool).len() as u32;
        if connectors == 0 {
            continue;
        }
        let (pc, _) = pool_config(cfg, &pool);
        let Some(size) = guideline_pool_size(max_calls, connectors, stopped) else {
            warnings.push(format!("  - pool {pool:?}: {connectors} Connector(s) with {stopped} stopped leaves none"));
            continue;
        };
        lines.push(format!(
            "  pool {pool:?}: numConn = {connectors} -> conference-pool-size = {size} ({} pre-created with all \
             Connectors up), Trusted Application Endpoints = {}; configured conference-pool-size = {}, count = {}",
            size as usize * connectors as usize,
            guideline_endpoints(size),
            pc.size,
            pc.endpoints.len()
        ));
        if pc.size < size as usize {
            warnings.push(format!(
                "  - pool {pool:?}: conference-pool-size = {} is below the guideline {size} for {max_calls} calls",
                pc.size
            ));
        }
    }
    if !warnings.is_empty() {
        lines.push("Sizing warnings".into());
        lines.extend(warnings);
    }
    lines
}

/// The guide's guideline value of `conference-pool-size` ("Calculating Resources for Conference
/// Pooling"): `1.2 * maxCalls / (numConn - numStopped)`, rounded up. None when no Connector would
/// be left running.
pub fn guideline_pool_size(max_calls: u32, connectors: u32, stopped: u32) -> Option<u32> {
    let running = connectors.checked_sub(stopped).filter(|n| *n > 0)?;
    Some((u64::from(max_calls) * 6).div_ceil(5 * u64::from(running)) as u32)
}

/// The guide's guideline number of Trusted Application Endpoints for a pool size: at least 10
/// pre-created conferences per endpoint, i.e. `conference-pool-size / 10` (at least one).
pub fn guideline_endpoints(pool_size: u32) -> u32 {
    (pool_size / 10).max(1)
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

    /// Schedules until full, SfB answering at once; ids from `first`.
    fn fill(p: &mut ConferencePool, first: u64) -> Vec<u64> {
        let mut ids = Vec::new();
        while let Some(ep) = p.want() {
            let id = first + ids.len() as u64;
            p.on_ticket(id, ep);
            p.sync(id, Seen::Ready);
            ids.push(id);
        }
        ids
    }

    #[test]
    fn pre_creates_one_at_a_time_round_robin() {
        let mut p = pool(3, true);
        let a = p.want().unwrap();
        p.on_ticket(1, a.clone());
        assert_eq!(p.want(), None, "one scheduling at a time");
        p.sync(1, Seen::Scheduling { failure: None });
        assert_eq!(p.want(), None, "still scheduling");
        p.sync(1, Seen::Ready);
        let b = p.want().unwrap();
        assert_ne!(a, b, "spread over the endpoints");
        p.on_ticket(2, b);
        p.sync(2, Seen::Ready);
        fill(&mut p, 3);
        assert_eq!((p.free(), p.stats.scheduled), (3, 3));
        assert_eq!(p.want(), None);
    }

    #[test]
    fn caching_reuses_until_expiry_and_refills() {
        let mut p = pool(1, true);
        let id = fill(&mut p, 1)[0];
        assert_eq!(p.free_conference(), Some(id));
        p.sync(id, Seen::InUse { call: 7 });
        assert_eq!((p.free(), p.in_use()), (0, 1));
        assert!(p.want().is_some(), "a used conference is replaced");
        p.on_failed("busy".into());
        p.sync(id, Seen::Ready);
        assert_eq!((p.free(), p.in_use()), (1, 0), "back to the pool after its call");
        p.sync(id, Seen::InUse { call: 8 });
        assert_eq!(p.stats.reused, 1);
        p.sync(id, Seen::InUse { call: 9 });
        assert_eq!(p.stats.reused, 2, "freed and taken again between two looks");
        p.sync(id, Seen::Gone);
        assert_eq!((p.free(), p.in_use(), p.stats.expired, p.stats.retired), (0, 0, 1, 0));
    }

    #[test]
    fn without_caching_conferences_are_single_use_and_none_is_scheduled_on_demand() {
        let mut p = pool(1, false);
        assert!(!p.config().on_demand());
        let id = fill(&mut p, 1)[0];
        p.sync(id, Seen::InUse { call: 7 });
        p.sync(id, Seen::Gone);
        assert_eq!((p.free(), p.stats.retired, p.stats.expired), (0, 1, 0));
        assert!(pool(0, false).config().on_demand(), "without a pool every call schedules its own");
        assert!(pool(5, true).config().on_demand());
    }

    #[test]
    fn a_refused_scheduling_keeps_its_reason() {
        let mut p = pool(1, true);
        let ep = p.want().unwrap();
        p.on_ticket(4, ep);
        p.sync(4, Seen::Scheduling { failure: Some("lobby settings are inconsistent".into()) });
        p.sync(4, Seen::Gone);
        assert_eq!(p.stats.failed, 1);
        assert_eq!(p.stats.last_failure.as_deref(), Some("lobby settings are inconsistent"));
        assert!(p.want().is_some(), "and tries again");
    }

    #[test]
    fn av_leg_is_recreated_after_reuse_avcall_calls() {
        let mut p = pool(1, true);
        let id = fill(&mut p, 1)[0];
        for call in 0..5 {
            p.sync(id, Seen::InUse { call });
            p.sync(id, Seen::Ready);
        }
        assert_eq!(p.stats.av_legs_recreated, 2, "5 calls with reuse-avcall=2: legs 1-2, 3-4, 5");
    }

    #[test]
    fn view_counts_occupancy() {
        let mut p = pool(3, true);
        let ids = fill(&mut p, 10);
        p.sync(ids[0], Seen::InUse { call: 1 });
        p.set_ad_hoc(2);
        let ep = p.want().unwrap();
        p.on_ticket(20, ep);
        let v = p.view();
        assert_eq!((v.size, v.free, v.in_use, v.scheduling, v.ad_hoc), (3, 2, 1, 1, 2));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["stats"]["scheduled"], 3, "{json}");
    }

    #[test]
    fn sizing_follows_the_guide() {
        // The guide's example: 3 Connectors, 1 may be stopped, 100 calls -> 60 (180 in all).
        assert_eq!(guideline_pool_size(100, 3, 1), Some(60));
        assert_eq!(guideline_pool_size(100, 1, 0), Some(120), "20% above maxCalls for one Connector");
        assert_eq!(guideline_pool_size(101, 2, 0), Some(61), "rounded up: 60.6");
        assert_eq!(guideline_pool_size(100, 2, 2), None, "no Connector left");
        assert_eq!(guideline_pool_size(100, 0, 0), None);
        assert_eq!(guideline_endpoints(60), 6);
        assert_eq!(guideline_endpoints(69), 6, "at least 10 conferences per endpoint");
        assert_eq!(guideline_endpoints(0), 1);
    }

    #[test]
    fn sizing_report_warns_below_the_guideline() {
        let cfg = crate::config::embedded_default(); // one link, conference-pool-size = 0
        let report = sizing_report(&cfg, 100, 0).join("\n");
        assert!(report.contains("conference-pool-size = 120"), "{report}");
        assert!(report.contains("Trusted Application Endpoints = 12"), "{report}");
        assert!(report.contains("conference-pool-size = 0 is below the guideline 120"), "{report}");
        let mut cfg = cfg;
        cfg.switch.connector.conference_pool_size = 120;
        let report = sizing_report(&cfg, 100, 0).join("\n");
        assert!(!report.contains("below"), "{report}");
        assert!(sizing_report(&cfg, 100, 1).join("\n").contains("leaves none"));
    }
}
