//! The simulation's traffic interface end to end (`POST/GET/DELETE /sim/traffic`): the simulated
//! SfB generates callers at a rate, agents answer on their simulated SfB clients, the counters
//! add up, and the T-Server sees every call on the agents' DNs.

use crate::util::*;
use serde_json::{json, Value};
use sfb_tserver::model::{ConnId, DnName};
use sfb_tserver::tlib::EventKind;
use std::collections::BTreeMap;

async fn traffic(server: &TestServer) -> Value {
    let (status, v) = server.admin_json("GET", "/sim/traffic", "").await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_callers_reach_auto_answering_agents_and_are_counted() {
    init_log();
    let server = TestServer::start().await;
    let mut desk = server.client().await;
    desk.register(AGENT01).await.unwrap();

    let v = traffic(&server).await;
    assert_eq!((&v["profile"], &v["generating"], &v["counters"]["offered"]), (&Value::Null, &json!(false), &json!(0)));

    // 5 callers per second for 2 s, round robin over four agents who answer after 100 ms;
    // each caller hangs up 300 ms after the answer.
    let profile = json!({
        "cps": 5, "duration_ms": 2000, "to": [AGENT01, AGENT02, AGENT03, AGENT04], "hold_ms": 300,
        "agents": {"uris": [AGENT01, AGENT02, AGENT03, AGENT04], "answer_delay_ms": 100},
    });
    let (status, v) = server.admin_json("POST", "/sim/traffic", &profile.to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((&v["generating"], &v["profile"]["cps"]), (&json!(true), &json!(5.0)), "{v}");

    // agent01 gets arrivals 0, 4 and 8: three calls ring, establish and release on its DN.
    let mut seen: BTreeMap<ConnId, Vec<EventKind>> = BTreeMap::new();
    while seen.values().filter(|k| k.contains(&EventKind::Released)).count() < 3 {
        let ev = desk.next_event_within(STEP).await.unwrap_or_else(|| panic!("agent01 saw only {seen:?}"));
        if matches!(ev.kind, EventKind::Ringing | EventKind::Established | EventKind::Released) {
            assert_eq!(ev.attrs.this_dn, Some(DnName::new(AGENT01)), "{ev:?}");
            seen.entry(ev.attrs.conn_id.expect("a call event has a ConnID")).or_default().push(ev.kind);
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    for kinds in seen.values() {
        assert_eq!(kinds, &[EventKind::Ringing, EventKind::Established, EventKind::Released], "{seen:?}");
    }

    let done = || async {
        let v = traffic(&server).await;
        v["generating"] == json!(false) && v["counters"]["completed"] == json!(10)
    };
    assert!(wait_until(STEP, done).await, "{}", traffic(&server).await);
    let v = traffic(&server).await;
    let c = &v["counters"];
    for (name, want) in [("offered", 10), ("connected", 10), ("completed", 10), ("abandoned", 0), ("failed", 0)] {
        assert_eq!(c[name], json!(want), "{name}: {v}");
    }
    assert_eq!((&c["in_progress"], &c["offered_voice"]), (&json!(0), &json!(10)), "{v}");
    assert!((1..=4).contains(&c["peak_in_progress"].as_u64().unwrap()), "{v}");
    assert_eq!(v["generated"], json!(10));
    let mean = v["mean_answer_ms"].as_f64().unwrap();
    assert!((100.0..1000.0).contains(&mean), "answered after the 100 ms delay: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_stops_generating_and_calls_in_progress_finish() {
    let server = TestServer::start().await;
    let profile = json!({
        "cps": 20, "to": AGENT02, "hold_ms": 400,
        "agents": {"pattern": "sip:agent02@skype.lab", "answer_delay_ms": 0},
    });
    let (status, v) = server.admin_json("POST", "/sim/traffic", &profile.to_string()).await;
    assert_eq!(status, 200, "{v}");
    let some = || async { traffic(&server).await["counters"]["offered"].as_u64().unwrap() >= 3 };
    assert!(wait_until(STEP, some).await, "{}", traffic(&server).await);

    let (status, stopped) = server.admin_json("DELETE", "/sim/traffic", "").await;
    assert_eq!((status, &stopped["generating"]), (200, &json!(false)), "{stopped}");
    let offered = stopped["counters"]["offered"].clone();
    let idle = || async { traffic(&server).await["counters"]["in_progress"] == json!(0) };
    assert!(wait_until(STEP, idle).await, "{}", traffic(&server).await);
    let v = traffic(&server).await;
    assert_eq!(v["counters"]["offered"], offered, "no caller after DELETE: {v}");
    assert_eq!(v["counters"]["completed"], offered, "{v}");
    assert_eq!(v["counters"]["failed"], json!(0), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_profile_is_refused_with_400_and_the_field_named() {
    let server = TestServer::start().await;
    for (body, needle) in [
        (json!({"cps": 0, "to": AGENT01}).to_string(), "cps"),
        (json!({"cps": 5, "to": "sip:nobody@skype.lab"}).to_string(), "to[0]"),
        (json!({"cps": 5, "to": AGENT01, "hold_ms": {"min": 9, "max": 1}}).to_string(), "hold_ms"),
        (json!({"cps": 5, "to": AGENT01, "speed": 2}).to_string(), "speed"),
        ("{not json".to_string(), "invalid traffic profile"),
    ] {
        let (status, v) = server.admin_json("POST", "/sim/traffic", &body).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| e.contains(needle)), "{body}: {v}");
    }
    assert_eq!(traffic(&server).await["profile"], Value::Null, "nothing started");
}
