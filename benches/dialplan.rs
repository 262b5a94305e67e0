//! Dial-plan matching: one destination resolved against a 10-rule and a 100-rule plan
//! (`DialPlan::resolve`, the call the call model makes per dialed destination). Three
//! destinations per plan: one the first rule matches, one only the last rule matches (every rule
//! is tried), and one no rule matches. One element = one destination resolved.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sfb_tserver::config::CallingMethod;
use sfb_tserver::dialplan::{DialPlan, Rule};
use sfb_tserver::model::DnName;
use std::hint::black_box;

/// A plan of `n` rules mixing the guide's pattern shapes; the first rule matches TEL URIs with a
/// '+', the last one SIP URIs of last.skype.lab.
fn plan(n: u32) -> DialPlan {
    let rule = |i: u32| -> String {
        match i {
            1 => "tel:+{#}".to_string(),
            i if i == n => "sip:{*}@last.skype.lab=>sip:{1}@gw.skype.lab;calling-method=b2b".to_string(),
            i => match i % 4 {
                0 => format!("sip:{{SSSS}}@domain{i}.com"),
                1 => format!("sip:{{*}}@site{i}.skype.lab"),
                2 => format!("+{{DD{:03}DDD}}", i % 1000),
                _ => format!("sip:agent{i}{{DD}}@skype.lab=>sip:{{DIGITS}}@pool{i}.skype.lab;cpn=sip:rp{i}@skype.lab"),
            },
        }
    };
    let rules = (1..=n).map(|i| (i, Rule::parse(&rule(i)).expect("bench rule parses")));
    DialPlan::new(DnName::new("sip:dialplan@skype.lab"), rules, CallingMethod::B2b, None, None)
}

fn resolve(c: &mut Criterion) {
    let mut group = c.benchmark_group("dialplan_resolve");
    group.throughput(Throughput::Elements(1));
    for n in [10u32, 100] {
        let plan = plan(n);
        for (case, destination, rule) in [
            ("first_rule", "tel:+14155550100", Some(1)),
            ("last_rule", "sip:customer42@last.skype.lab", Some(n)),
            ("no_match", "sip:nobody@nowhere.example.com", None),
        ] {
            assert_eq!(plan.resolve(destination, None).rule, rule, "{case} with {n} rules");
            group.bench_with_input(BenchmarkId::new(format!("{n}_rules"), case), &destination, |b, d| {
                b.iter(|| black_box(plan.resolve(black_box(d), None)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, resolve);
criterion_main!(benches);
