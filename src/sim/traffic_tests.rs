//! The traffic generator against a simulated clock: exact rates and counts, hold time and
//! patience, media mix, caller numbering, replies to treatments, validation, determinism, and
//! the counters' invariants at every step.

use super::tests::{world, A1, A2, A3, RP};
use super::traffic::glob_match;
use super::*;
use serde_json::json;

fn req(v: serde_json::Value) -> TrafficRequest {
    serde_json::from_value(v).expect("a well-formed request")
}

/// The counters' invariants; returns the counters.
fn check(w: &World) -> TrafficCounters {
    let c = w.traffic_view().counters;
    assert_eq!(c.offered, c.failed + c.abandoned + c.connected + c.waiting, "{c:?}");
    assert_eq!(c.connected, c.completed + c.talking, "{c:?}");
    assert_eq!(c.in_progress, c.waiting + c.talking, "{c:?}");
    assert_eq!(c.offered, c.offered_voice + c.offered_im + c.offered_video, "{c:?}");
    assert!(c.peak_in_progress >= c.in_progress, "{c:?}");
    c
}

/// Agents 01..03 answering after `delay` ms, callers holding `hold` ms.
fn agents(cps: f64, duration_ms: u64, delay: u64, hold: u64) -> TrafficRequest {
    req(json!({
        "cps": cps, "duration_ms": duration_ms, "to": [A1, A2, A3], "hold_ms": hold,
        "agents": {"pattern": "sip:agent*@skype.lab", "answer_delay_ms": delay},
    }))
}

#[test]
fn the_rate_and_the_count_are_exact_on_a_simulated_clock() {
    let mut w = world("");
    let v = w.start_traffic(0, agents(5.0, 2000, 100, 60_000)).unwrap();
    assert_eq!((v.generated, v.counters.offered, v.generating), (1, 1, true));
    for (t, offered) in [(199, 1), (200, 2), (999, 5), (1000, 6), (1799, 9), (1800, 10), (1999, 10), (5000, 10)] {
        w.advance(t);
        assert_eq!(check(&w).offered, offered, "at {t} ms");
    }
    assert!(!w.traffic_view().generating, "the profile is over after 2 s");
    let mut starts: Vec<u64> = w.calls().iter().map(|c| c.created_at).collect();
    starts.sort();
    assert_eq!(starts, (0..10).map(|i| i * 200).collect::<Vec<_>>());
    // Round robin over the three agents, each answering after 100 ms.
    assert_eq!(w.user_view(A1).unwrap().calls.len(), 4);
    assert_eq!(w.user_view(A2).unwrap().calls.len(), 3);
    let c = check(&w);
    assert_eq!((c.connected, c.talking, c.failed, c.abandoned), (10, 10, 0, 0));
    assert_eq!(w.traffic_view().mean_answer_ms, Some(100.0));

    // A fractional rate, with a call count, the clock jumping far at once: still exact.
    let mut w = world("");
    let mut r = agents(2.5, 10_000, 0, 100);
    r.duration_ms = None;
    r.calls = Some(7);
    w.start_traffic(0, r).unwrap();
    w.advance(2399); // arrivals at 0, 400, ..., 2400
    assert_eq!(check(&w).offered, 6);
    w.advance(60_000);
    let c = check(&w);
    assert_eq!((c.offered, c.completed, c.in_progress), (7, 7, 0));
}

#[test]
fn callers_hang_up_after_their_hold_time_once_answered() {
    let mut w = world("");
    let mut r = agents(1.0, 1, 100, 1000);
    r.hold_ms = Some(SpanMs::Fixed(1000));
    w.start_traffic(0, r).unwrap();
    w.advance(99);
    assert_eq!((check(&w).waiting, check(&w).talking), (1, 0));
    w.advance(100);
    assert_eq!((check(&w).waiting, check(&w).talking), (0, 1));
    w.advance(1099);
    assert_eq!(check(&w).talking, 1);
    w.advance(1100);
    let c = check(&w);
    assert_eq!((c.completed, c.in_progress), (1, 0));
    assert!(w.calls().is_empty());
}

#[test]
fn callers_abandon_when_their_patience_runs_out_unanswered() {
    let mut w = world("");
    // Agents answer manually (nobody does): every caller abandons after 3 s.
    w.start_traffic(0, req(json!({"cps": 1, "calls": 2, "to": A1, "patience_ms": 3000}))).unwrap();
    w.advance(2999);
    assert_eq!(check(&w).waiting, 2);
    w.advance(3000);
    assert_eq!((check(&w).abandoned, check(&w).waiting), (1, 1));
    assert_eq!(w.user_view(A1).unwrap().calls.len(), 1, "the abandoned call stopped alerting");
    w.advance(4000);
    let c = check(&w);
    assert_eq!((c.abandoned, c.in_progress, c.connected), (2, 0, 0));

    // Answered before the patience runs out: completed, never abandoned.
    let mut w = world("");
    let mut r = agents(1.0, 1, 500, 2000);
    r.patience_ms = Some(SpanMs::Fixed(1000));
    w.start_traffic(0, r).unwrap();
    w.advance(10_000);
    let c = check(&w);
    assert_eq!((c.completed, c.abandoned), (1, 0));
}

#[test]
fn the_media_mix_is_followed_within_tolerance_and_im_callers_write_first() {
    let mut w = world("");
    let r = req(json!({
        "cps": 1000, "calls": 10000, "to": [A1, A2, A3], "hold_ms": 5,
        "media": {"voice": 5, "im": 3, "video": 2}, "im_text": "Hi there",
        "agents": {"uris": [A1, A2, A3]},
    }));
    w.start_traffic(0, r).unwrap();
    let mut t = 0;
    while t < 12_000 {
        t += 7;
        w.advance(t);
        w.drain_events();
    }
    let c = check(&w);
    assert_eq!((c.offered, c.completed), (10_000, 10_000));
    for (got, want) in [(c.offered_voice, 5000), (c.offered_im, 3000), (c.offered_video, 2000)] {
        assert!(got.abs_diff(want) < 250, "{c:?}");
    }
    let ims = &w.user_view(A1).unwrap().ims;
    assert!(!ims.is_empty() && ims.iter().all(|m| m.text == "Hi there"), "{ims:?}");
}

#[test]
fn caller_numbers_are_unique_among_calls_in_progress_and_reused_after() {
    let mut w = world("");
    let mut r = agents(10.0, 1000, 0, 250);
    r.caller_prefix = Some("tel:+1666".into());
    r.caller_digits = Some(4);
    w.start_traffic(0, r).unwrap();
    w.advance(200);
    let mut callers: Vec<String> = w.calls().iter().map(|c| c.from.clone()).collect();
    callers.sort();
    assert_eq!(callers, ["tel:+16660000", "tel:+16660001", "tel:+16660002"]);
    w.advance(300); // the first caller left at 250; the arrival at 300 reuses its number
    let newest = w.calls().into_iter().max_by_key(|c| c.created_at).unwrap();
    assert_eq!((newest.created_at, newest.from.as_str()), (300, "tel:+16660000"));

    // Ten numbers for twenty simultaneous calls: the other ten are refused, and say why.
    let mut w = world("");
    let mut r = agents(100.0, 200, 0, 60_000);
    r.caller_digits = Some(1);
    w.start_traffic(0, r).unwrap();
    w.advance(1000);
    let v = w.traffic_view();
    assert_eq!((v.counters.offered, v.counters.talking, v.counters.failed), (20, 10, 10));
    assert_eq!(v.failures.get("refused: no free caller number"), Some(&10), "{v:?}");
}

#[test]
fn calls_that_end_unanswered_are_failed_with_their_cause() {
    let mut w = world("");
    w.set_behavior(A2, Behavior { answer: AnswerMode::Reject, delay_ms: 0 }).unwrap();
    w.start_traffic(0, req(json!({"cps": 10, "calls": 3, "to": A2}))).unwrap();
    w.advance(1000);
    let v = w.traffic_view();
    assert_eq!((v.counters.failed, v.counters.in_progress), (3, 0));
    assert_eq!(v.failures.get("ended unanswered: Rejected"), Some(&3), "{v:?}");
}

#[test]
fn stopping_lets_calls_in_progress_finish_and_a_new_profile_adds_to_the_counters() {
    let mut w = world("");
    w.start_traffic(0, agents(5.0, 60_000, 0, 3000)).unwrap();
    w.advance(999);
    let v = w.stop_traffic(999);
    assert_eq!((v.generating, v.counters.offered, v.counters.in_progress), (false, 5, 5));
    w.advance(10_000);
    let c = check(&w);
    assert_eq!((c.offered, c.completed, c.in_progress), (5, 5, 0));

    w.start_traffic(20_000, agents(10.0, 500, 0, 100)).unwrap();
    w.advance(30_000);
    let v = w.traffic_view();
    assert_eq!((v.generated, v.counters.offered, v.counters.completed), (5, 10, 10));
    assert_eq!(v.started_at, Some(20_000));
}

#[test]
fn callers_reply_to_collect_digits_and_to_im_prompts() {
    let mut w = world("");
    let replies =
        json!({"dtmf_reply": {"text": "42#", "delay_ms": 200}, "im_reply": {"text": "sales", "delay_ms": 100}});
    for (at, media) in [(0, "voice"), (500, "im")] {
        let mut r = json!({"cps": 1, "calls": 1, "to": RP, "media": {media: 1}});
        r.as_object_mut().unwrap().extend(replies.as_object().unwrap().clone());
        w.start_traffic(at, req(r)).unwrap();
    }
    w.advance(1000);
    let calls = w.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    w.drain_events();
    for c in &calls {
        let caller = c.from.clone();
        match c.media {
            Media::Voice => {
                let collect =
                    Playback::CollectDigits { prompt: None, max_digits: 4, terminator: Some('#'), timeout_ms: 5000 };
                w.app_play(1000, c.id, Some(&caller), collect).unwrap();
            }
            _ => w.app_send_im(1000, c.id, RP, "Sales or support?").unwrap(),
        }
    }
    w.advance(1300);
    let evs = w.drain_events();
    assert!(
        evs.iter().any(|e| matches!(e, SimEvent::PlaybackEnded { status: PlaybackStatus::Collected { digits }, .. }
            if digits == "42")),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| matches!(e, SimEvent::ImReceived { text, .. } if text == "sales")), "{evs:?}");
}

#[test]
fn runs_are_deterministic_for_a_seed() {
    let run = |seed: u64| {
        let mut w = world("");
        let r = req(json!({
            "cps": 40, "duration_ms": 3000, "to": [A1, A2], "arrival": "poisson", "seed": seed,
            "hold_ms": {"min": 50, "max": 400}, "patience_ms": {"min": 100, "max": 300},
            "media": {"voice": 2, "im": 1}, "agents": {"uris": [A1, A2], "answer_delay_ms": 200},
        }));
        w.start_traffic(0, r).unwrap();
        let mut events = Vec::new();
        for t in 1..5000 {
            w.advance(t);
            check(&w);
            events.extend(w.drain_events());
        }
        (w.traffic_view(), events)
    };
    let (a, ea) = run(7);
    let (b, eb) = run(7);
    assert_eq!((&a, &ea), (&b, &eb));
    let c = &a.counters;
    assert!(c.abandoned > 0 && c.completed > 0, "both fates happen: {c:?}");
    assert!((90..=150).contains(&c.offered), "poisson around 120 arrivals: {c:?}");
    assert_eq!(c.in_progress, 0);
    assert_ne!(run(8).0.counters, a.counters, "another seed, another run");
}

#[test]
fn requests_are_validated_with_the_field_named() {
    let mut w = world("");
    let bad = |w: &mut World, v: serde_json::Value, needle: &str| {
        let e = w.start_traffic(0, req(v)).unwrap_err();
        assert!(matches!(&e, SimError::BadArgument(m) if m.contains(needle)), "{e} should name {needle}");
    };
    bad(&mut w, json!({"cps": 0, "to": A1}), "cps");
    bad(&mut w, json!({"cps": 1e9, "to": A1}), "cps");
    bad(&mut w, json!({"cps": 1, "to": []}), "to");
    bad(&mut w, json!({"cps": 1, "to": [A1, "sip:nobody@skype.lab"]}), "to[1]");
    bad(&mut w, json!({"cps": 1, "to": "tel:+4930123"}), "to[0]");
    bad(&mut w, json!({"cps": 1, "to": A1, "hold_ms": {"min": 5, "max": 1}}), "hold_ms");
    bad(&mut w, json!({"cps": 1, "to": A1, "media": {"voice": 0}}), "media");
    bad(&mut w, json!({"cps": 1, "to": A1, "caller_prefix": "sip:x"}), "caller_prefix");
    bad(&mut w, json!({"cps": 1, "to": A1, "dtmf_reply": {"text": "xyz"}}), "dtmf_reply");
    bad(&mut w, json!({"cps": 1, "to": A1, "agents": {"pattern": "sip:nobody*@x"}}), "agents.pattern");
    bad(&mut w, json!({"cps": 1, "to": A1, "agents": {"uris": [RP]}}), "agents.uris");
    bad(&mut w, json!({"cps": 1, "to": A1, "calls": 0}), "calls");
    assert!(serde_json::from_value::<TrafficRequest>(json!({"cps": 1, "to": A1, "rate": 2})).is_err());
    let v = w.traffic_view();
    assert_eq!((v.profile, v.counters.offered), (None, 0), "a refused profile changes nothing");
    assert_eq!(w.user_view(A1).unwrap().calls.len(), 0);
}

#[test]
fn uri_patterns_match_with_stars() {
    assert!(glob_match("sip:agent*@skype.lab", "sip:agent01@skype.lab"));
    assert!(glob_match("*", "sip:x@y"));
    assert!(glob_match("sip:*@*", "sip:x@y"));
    assert!(glob_match("sip:agent01@skype.lab", "sip:agent01@skype.lab"));
    assert!(!glob_match("sip:agent*@skype.lab", "sip:supervisor1@skype.lab"));
    assert!(!glob_match("sip:agent0?@skype.lab", "sip:agent01@skype.lab"));
    assert!(!glob_match("sip:a*b", "sip:ab-c"));
}
