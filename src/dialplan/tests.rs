//! Dial-plan tests: every row and example of the guide's pattern table ("Dial Plan Rule
//! Examples"), every example rule the guide writes, rule syntax errors, the precedence of
//! Extensions, rules and options, and properties over arbitrary input (no panic, literal
//! patterns match only themselves, agreement with a naive reference matcher).

use super::pattern::Token;
use super::*;
use proptest::prelude::*;

fn pat(p: &str) -> Pattern {
    Pattern::parse(p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}

/// Asserts which destinations a pattern of the guide's table matches and which it does not.
fn row(pattern: &str, matching: &[&str], not_matching: &[&str]) {
    let p = pat(pattern);
    for d in matching {
        assert!(p.is_match(d), "{pattern:?} should match {d:?}");
    }
    for d in not_matching {
        assert!(!p.is_match(d), "{pattern:?} should not match {d:?}");
    }
}

// ---- The guide's pattern table, one test per row -------------------------------------------

#[test]
fn guide_row_plus_eight_digits() {
    // "+{DDDDDDDD}  Matches 8 digits with a '+' prefix  +12345678"
    row("+{DDDDDDDD}", &["+12345678"], &["+1234567", "+123456789", "12345678", "+1234567a", "++2345678"]);
    assert_eq!(pat("+{DDDDDDDD}").captures("+12345678").unwrap().digits(), "12345678");
}

#[test]
fn guide_row_plus_69_prefix_two_spellings() {
    // "+{69DDDDDD}, +69{DDDDDD}  Matches 8 digits with a '+69' prefix  +69123456"
    for p in ["+{69DDDDDD}", "+69{DDDDDD}"] {
        row(p, &["+69123456"], &["+68123456", "+6912345", "+691234567", "69123456"]);
    }
    // Both spellings match the same numbers; the braces only move the variable area.
    assert_eq!(pat("+{69DDDDDD}").captures("+69123456").unwrap().digits(), "69123456");
    assert_eq!(pat("+69{DDDDDD}").captures("+69123456").unwrap().digits(), "123456");
}

#[test]
fn guide_row_812_in_positions_4_to_6() {
    // "+{DD812DDD}  Matches 8 digits with a '+' prefix and 812 in positions 4-6
    //  +078129876; +008121234". Both printed examples have 9 digits, one more than the pattern
    // (and the description) allow: a pattern matches the whole destination, so they do not
    // match. The same numbers with 8 digits do.
    row("+{DD812DDD}", &["+07812987", "+00812123"], &["+078129876", "+008121234", "+07813987", "07812987"]);
}

#[test]
fn guide_row_812_then_any_digits() {
    // "{DD812#}  Matches a number with 812 in positions 3-5" (no examples printed).
    row("{DD812#}", &["12812", "00812345", "99812000000"], &["81234", "12813", "1281", "+12812", "12812a"]);
}

#[test]
fn guide_row_four_character_user_at_domain_com() {
    // "sip:{SSSS}@domain.com  ... a user part containing exactly 4 characters  sip:andy@domain.com"
    row(
        "sip:{SSSS}@domain.com",
        &["sip:andy@domain.com", "SIP:Andy@Domain.COM", "sip:a1b2@domain.com"],
        &["sip:andrew@domain.com", "sip:and@domain.com", "sip:andy@domain.org", "sip:andy@domain.com.uk"],
    );
}

#[test]
fn guide_row_four_character_user_at_any_domain() {
    // "sip:{SSSS}@{*}  ... exactly 4 characters in the user part
    //  sip:andy@domain.com; sip:mike@domain01.uk.com"
    row(
        "sip:{SSSS}@{*}",
        &["sip:andy@domain.com", "sip:mike@domain01.uk.com"],
        &["sip:bob@domain.com", "sip:alice@domain.com", "tel:andy@domain.com"],
    );
    let c = pat("sip:{SSSS}@{*}").captures("sip:mike@domain01.uk.com").unwrap();
    assert_eq!((c.area(0), c.area(1)), (Some("mike"), Some("domain01.uk.com")));
}

#[test]
fn guide_row_any_user_at_domain02() {
    // "sip:{*}@domain02.uk.com  ... sip:123@domain02.uk.com; sip:alice321@domain02.uk.com;
    //  sip:987bob@domain02.uk.com; sip:michael@domain02.uk.com"
    row(
        "sip:{*}@domain02.uk.com",
        &[
            "sip:123@domain02.uk.com",
            "sip:alice321@domain02.uk.com",
            "sip:987bob@domain02.uk.com",
            "sip:michael@domain02.uk.com",
        ],
        &["sip:alice@domain01.uk.com", "sip:alice@domain02.uk.com.evil", "tel:123@domain02.uk.com"],
    );
}

#[test]
fn guide_row_digit_user_at_domain02() {
    // "sip:{#}@domain02.uk.com" (printed across a page break as "sip:{#}@domain02." / "uk.com")
    // "... contains only digits in the user part  sip:1234567@domain02.uk.com; sip:987@domain02.uk.com"
    row(
        "sip:{#}@domain02.uk.com",
        &["sip:1234567@domain02.uk.com", "sip:987@domain02.uk.com"],
        &["sip:alice321@domain02.uk.com", "sip:987bob@domain02.uk.com", "sip:987@domain01.uk.com"],
    );
}

#[test]
fn guide_row_tel_digits_only() {
    // "tel: {#}  Matches any TEI URI that contains digits only  tel:012345; tel:987"
    row("tel: {#}", &["tel:012345", "tel:987"], &["tel:+987", "tel:98a7", "sip:987@x"]);
    assert_eq!(pat("tel: {#}").as_str(), "tel:{#}", "the space is layout");
}

#[test]
fn guide_row_tel_plus_digits() {
    // "tel: + {#}  Matches any TEI URI that with a '+' prefix followed by digits only
    //  tel: +012345; tel: +987" — the spaces are layout, in the pattern as in the examples.
    row("tel: + {#}", &["tel:+012345", "tel:+987"], &["tel:012345", "tel:+98a7"]);
    let plan = plan_with(&[(1, "tel: + {#}")], CallingMethod::B2b);
    for d in ["tel: +012345", "tel: +987"] {
        assert_eq!(plan.resolve(d, None).rule, Some(1), "{d:?}");
    }
}

#[test]
fn guide_row_literal_sss_then_four_characters() {
    // "sip:SSS{SSSS}@domain.com  ... a user part containing 'SSS' and 4 additional characters
    //  sip:SSSabcd@domain.com; sip:sssdcba@domain.com" — outside braces S is the letter S.
    row(
        "sip:SSS{SSSS}@domain.com",
        &["sip:SSSabcd@domain.com", "sip:sssdcba@domain.com"],
        &["sip:abcdefg@domain.com", "sip:SSSabc@domain.com", "sip:SSSabcde@domain.com"],
    );
}

#[test]
fn guide_row_literal_sss_then_four_digits() {
    // "sip:SSS{DDDD}@domain.com  ... 'SSS' followed by 4 digits
    //  sip:SSS1234@domain.com; sip:sss4321@domain.com"
    row(
        "sip:SSS{DDDD}@domain.com",
        &["sip:SSS1234@domain.com", "sip:sss4321@domain.com"],
        &["sip:SSSabcd@domain.com", "sip:abc1234@domain.com", "sip:SSS123@domain.com"],
    );
}

#[test]
fn metacharacters_act_only_inside_braces() {
    row("*D#S", &["*D#S", "*d#s"], &["xD#S", "*1#S"]);
    row("{*}", &["", "anything at all", "sip:a@b"], &[]);
    row("{#}", &["", "0123"], &["12a"]);
    // Lower-case d and s are letters even inside braces.
    row("{ds}", &["DS", "ds"], &["12"]);
}

// ---- Example rules the guide writes ------------------------------------------------------------

#[test]
fn guide_example_rules_parse_and_translate() {
    // Call Barring: "dial-plan-rule-1=1234=>????"
    let barring = Rule::parse("1234=>????").unwrap();
    assert_eq!(barring.apply("1234").as_deref(), Some("????"));
    assert_eq!(barring.apply("12345"), None);
    // Response Groups: "dial-plan-rule-N: sip:group1@company.com=>99+123456789"
    let group = Rule::parse("sip:group1@company.com=>99+123456789").unwrap();
    assert!(group.pattern().is_literal());
    assert_eq!(group.apply("sip:Group1@Company.com").as_deref(), Some("99+123456789"));
    assert_eq!(group.apply("sip:group2@company.com"), None);
    // The embedded demo's dial-plan DN (config/default.toml).
    for (rule, dest) in [("tel:+{#}", "tel:+14155550100"), ("tel:{#}", "tel:5550100")] {
        assert_eq!(Rule::parse(rule).unwrap().apply(dest).as_deref(), Some(dest));
    }
}

#[test]
fn targets_reference_variable_areas() {
    let r = Rule::parse("+69{DDDDDD} => tel:+{DIGITS}").unwrap();
    assert_eq!(r.apply("+69123456").as_deref(), Some("tel:+123456"));
    let r = Rule::parse("sip:{SSSS}@{*}=>sip:{1}@pstn.{2}").unwrap();
    assert_eq!(r.apply("sip:andy@domain.com").as_deref(), Some("sip:andy@pstn.domain.com"));
    let r = Rule::parse("{9}{#}=>tel:+1{2};calling-method=b2b;cpn=sip:rp1@skype.lab").unwrap();
    assert_eq!(r.apply("94155550100").as_deref(), Some("tel:+14155550100"));
    assert_eq!((r.calling_method(), r.cpn()), (Some(CallingMethod::B2b), Some("sip:rp1@skype.lab")));
    let r = Rule::parse("tel:{#} ; calling-method = Dialout ;").unwrap();
    assert_eq!((r.has_target(), r.calling_method()), (false, Some(CallingMethod::Dialout)));
}

#[test]
fn malformed_rules_are_refused_with_the_reason() {
    let e = |s: &str| Rule::parse(s).unwrap_err();
    assert_eq!(e("  "), RuleError::EmptyPattern);
    assert_eq!(e("=>sip:a@b"), RuleError::EmptyPattern);
    assert_eq!(e("tel:{#"), RuleError::UnclosedBrace { at: 4 });
    assert_eq!(e("tel:#}"), RuleError::UnopenedBrace { at: 5 });
    assert_eq!(e("{{D}}"), RuleError::NestedBrace { at: 1 });
    assert_eq!(e("tel:{}"), RuleError::EmptyArea { at: 4 });
    assert_eq!(e("tel:{#}=>"), RuleError::EmptyTarget);
    assert_eq!(e("tel:{#}=>{3}"), RuleError::BadReference { reference: "3".into(), areas: 1 });
    assert_eq!(e("tel:123=>{DIGITS}"), RuleError::BadReference { reference: "DIGITS".into(), areas: 0 });
    assert_eq!(e("tel:{#}=>a}b"), RuleError::TargetBrace { target: "a}b".into() });
    assert_eq!(e("tel:{#};speed=fast"), RuleError::UnknownParameter { name: "speed".into() });
    assert_eq!(e("tel:{#};cpn"), RuleError::MissingValue { name: "cpn".into() });
    assert_eq!(
        e("tel:{#};calling-method=b2b;calling-method=b2b"),
        RuleError::DuplicateParameter { name: "calling-method".into() }
    );
    let bad = e("tel:{#};calling-method=sometimes");
    assert_eq!(bad.to_string(), "invalid value \"sometimes\" for parameter calling-method: expected dialout or b2b");
    assert!(matches!(e("tel:{#};cpn=+14155550100"), RuleError::InvalidParameter { name, .. } if name == "cpn"));
    assert_eq!(e(&"1".repeat(MAX_PATTERN_LEN + 1)), RuleError::TooLong { len: 513, max: 512 });
    assert_eq!(e("tel:{#"), RuleError::UnclosedBrace { at: 4 });
    assert_eq!(e("tel:{#").to_string(), "'{' at position 4 is never closed by '}'");
    assert_eq!(
        e("tel:{#}=>{3}").to_string(),
        "'{3}' in the target names no variable area of the pattern (the pattern has 1; use {DIGITS} or {1}..{1})"
    );
}

// ---- Precedence: Extensions > rule > dial-plan DN > Application --------------------------------

fn plan_with(rules: &[(u32, &str)], method: CallingMethod) -> DialPlan {
    DialPlan::new(
        DnName::new("sip:dialplan@skype.lab"),
        rules.iter().map(|(n, r)| (*n, Rule::parse(r).unwrap())),
        method,
        Some("sip:dn-cpn@skype.lab".into()),
        Some("sip:app-cpn@skype.lab".into()),
    )
}

fn ext(pairs: &[(&str, &str)]) -> KvList {
    pairs.iter().fold(KvList::new(), |l, (k, v)| l.with(*k, *v))
}

#[test]
fn a_matching_rule_uses_the_dial_plan_dn_calling_method() {
    let plan = plan_with(&[(1, "tel:+{#}"), (2, "tel:{#}")], CallingMethod::B2b);
    let r = plan.resolve("tel:+14155550100", None);
    assert_eq!((r.calling_method, r.source, r.rule), (CallingMethod::B2b, MethodSource::DialPlanDn, Some(1)));
    assert_eq!((r.destination.as_str(), r.cpn.as_deref()), ("tel:+14155550100", Some("sip:dn-cpn@skype.lab")));
    assert_eq!(r.ringing_extension(), Some(("calling-method", "b2b")));
    let r = plan.resolve("sip:agent01@skype.lab", None);
    assert_eq!(r.ringing_extension(), None);
    assert_eq!(
        (r.calling_method, r.source, r.rule, r.cpn),
        (CallingMethod::Dialout, MethodSource::NoMatch, None, None)
    );
}

#[test]
fn the_request_extension_decides_regardless_of_the_dial_plan() {
    let plan = plan_with(&[(1, "tel:+{#}=>sip:+{DIGITS}@gw.skype.lab")], CallingMethod::B2b);
    let r = plan.resolve("tel:+1555", Some(&ext(&[("calling-method", "dialout")])));
    assert_eq!(
        (r.calling_method, r.source, r.rule, r.cpn),
        (CallingMethod::Dialout, MethodSource::Extension, None, None)
    );
    assert_eq!(r.destination, "tel:+1555", "no translation when the dial plan is bypassed");
    let r = plan.resolve("sip:agent01@skype.lab", Some(&ext(&[("calling-method", "b2b")])));
    assert_eq!((r.calling_method, r.source), (CallingMethod::B2b, MethodSource::Extension));
    assert_eq!(r.cpn.as_deref(), Some("sip:dn-cpn@skype.lab"));
    // Without any dial-plan DN the Extension still asks for B2BUA.
    let none = DialPlan::without_dn(Some("sip:app-cpn@skype.lab".into()));
    let r = none.resolve("tel:+1555", Some(&ext(&[("calling-method", "B2B")])));
    assert_eq!((r.calling_method, r.cpn.as_deref()), (CallingMethod::B2b, Some("sip:app-cpn@skype.lab")));
    let r = none.resolve("tel:+1555", None);
    assert_eq!((r.calling_method, r.source, r.cpn), (CallingMethod::Dialout, MethodSource::NoDialPlan, None));
    // An Extension value that is neither b2b nor dialout is ignored.
    let r = plan.resolve("tel:+1555", Some(&ext(&[("calling-method", "sometimes")])));
    assert_eq!(
        (r.calling_method, r.source, r.destination.as_str()),
        (CallingMethod::B2b, MethodSource::DialPlanDn, "sip:+1555@gw.skype.lab")
    );
}

#[test]
fn caller_id_precedence() {
    let plan = plan_with(&[(1, "tel:+{#};cpn=sip:rule-cpn@skype.lab"), (2, "tel:{#}")], CallingMethod::B2b);
    let cpn = |d: &str, e: Option<&KvList>| plan.resolve(d, e).cpn;
    let digits = ext(&[("CPNDigits", "sip:+14155551212@skype.lab")]);
    assert_eq!(cpn("tel:+1", Some(&digits)).as_deref(), Some("sip:+14155551212@skype.lab"));
    assert_eq!(cpn("tel:+1", None).as_deref(), Some("sip:rule-cpn@skype.lab"));
    assert_eq!(cpn("tel:1", None).as_deref(), Some("sip:dn-cpn@skype.lab"));
    let bad = ext(&[("CPNDigits", "+14155551212")]);
    assert_eq!(cpn("tel:1", Some(&bad)).as_deref(), Some("sip:dn-cpn@skype.lab"), "not a SIP URI: ignored");
    let mut no_dn_cpn = plan.clone();
    no_dn_cpn.cpn = None;
    assert_eq!(no_dn_cpn.resolve("tel:1", None).cpn.as_deref(), Some("sip:app-cpn@skype.lab"));
    no_dn_cpn.application_cpn = None;
    assert_eq!(no_dn_cpn.resolve("tel:1", None).cpn, None, "None: the endpoint's own identity");
    assert_eq!(cpn("sip:a@b", Some(&digits)), None, "caller ID only for B2BUA calls");
}

#[test]
fn rules_apply_in_ascending_n_and_the_first_match_wins() {
    let plan = plan_with(
        &[(10, "tel:+1{#};calling-method=dialout"), (2, "tel:+{#}=>sip:+{DIGITS}@gw"), (3, "{*}")],
        CallingMethod::B2b,
    );
    assert_eq!(plan.rules.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [2, 3, 10]);
    let r = plan.resolve("tel:+1555", None);
    assert_eq!((r.rule, r.destination.as_str(), r.calling_method), (Some(2), "sip:+1555@gw", CallingMethod::B2b));
    let r = plan.resolve("sip:x@y", None);
    assert_eq!((r.rule, r.source), (Some(3), MethodSource::DialPlanDn));
    let dialout = plan_with(&[(1, "tel:{#};calling-method=dialout")], CallingMethod::B2b);
    let r = dialout.resolve("tel:123", None);
    assert_eq!((r.calling_method, r.source, r.cpn), (CallingMethod::Dialout, MethodSource::Rule, None));
}

#[test]
fn a_dial_plan_dn_without_rules_matches_every_destination() {
    let plan = plan_with(&[], CallingMethod::B2b);
    for d in ["tel:+1555", "sip:agent01@skype.lab"] {
        let r = plan.resolve(d, None);
        assert_eq!((r.calling_method, r.source, r.rule), (CallingMethod::B2b, MethodSource::DialPlanDn, None));
    }
    let r = plan_with(&[], CallingMethod::Dialout).resolve("tel:1", None);
    assert_eq!((r.calling_method, r.cpn), (CallingMethod::Dialout, None));
}

#[test]
fn pathological_patterns_stay_linear() {
    let p = pat(&format!("{{{}b}}", "*a".repeat(40)));
    let s = "a".repeat(5000);
    let t = std::time::Instant::now();
    assert!(!p.is_match(&s));
    assert!(p.is_match(&format!("{s}b")));
    assert!(t.elapsed() < std::time::Duration::from_secs(20), "memoised matching");
}

// ---- Properties ---------------------------------------------------------------------------------

/// The specification written as plainly as possible: exponential, for short inputs only.
fn naive(tokens: &[Token], s: &[char]) -> bool {
    match tokens.split_first() {
        None => s.is_empty(),
        Some((Token::Open(_) | Token::Close(_), rest)) => naive(rest, s),
        Some((Token::Lit(c), rest)) => {
            s.first().is_some_and(|x| x.to_lowercase().eq(c.to_lowercase())) && naive(rest, &s[1..])
        }
        Some((Token::Digit, rest)) => s.first().is_some_and(char::is_ascii_digit) && naive(rest, &s[1..]),
        Some((Token::Any, rest)) => !s.is_empty() && naive(rest, &s[1..]),
        Some((run @ (Token::Digits | Token::AnyRun), rest)) => (0..=s.len())
            .any(|k| (*run == Token::AnyRun || s[..k].iter().all(char::is_ascii_digit)) && naive(rest, &s[k..])),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_and_matching_arbitrary_text_never_panics(rule in "\\PC{0,40}", dest in "\\PC{0,40}") {
        if let Ok(r) = Rule::parse(&rule) {
            let _ = r.apply(&dest);
            let plan = DialPlan::new(DnName::new("sip:dp@x"), [(1, r)], CallingMethod::B2b, None, None);
            let _ = plan.resolve(&dest, Some(&ext(&[("CPNDigits", &dest), ("calling-method", &rule)])));
        }
    }

    #[test]
    fn meta_heavy_rules_never_panic(rule in "[{}DS#*=>;a1:@+ ]{0,24}", dest in "[a1:@+DS#* ]{0,16}") {
        if let Ok(r) = Rule::parse(&rule) {
            let _ = r.apply(&dest);
        }
    }

    #[test]
    fn patterns_without_braces_match_only_themselves(
        lit in "[a-zA-Z0-9:@.+_*#DS-]{1,24}",
        other in "[a-zA-Z0-9:@.+_*#DS-]{0,24}",
    ) {
        let p = Pattern::parse(&lit).unwrap();
        prop_assert!(p.is_literal());
        prop_assert!(p.is_match(&lit));
        prop_assert!(p.is_match(&lit.to_ascii_uppercase()) && p.is_match(&lit.to_ascii_lowercase()));
        prop_assert_eq!(p.is_match(&other), other.eq_ignore_ascii_case(&lit));
        let longer = format!("{lit}x");
        prop_assert!(!p.is_match(&longer));
        prop_assert!(!p.is_match(&lit[1..]));
    }

    #[test]
    fn the_matcher_agrees_with_a_naive_reference(pattern in "[a1:{}DS#*]{1,10}", dest in "[a1A:]{0,10}") {
        if let Ok(p) = Pattern::parse(&pattern) {
            let chars: Vec<char> = dest.chars().collect();
            prop_assert_eq!(p.is_match(&dest), naive(p.tokens(), &chars), "pattern {:?} on {:?}", pattern, dest);
        }
    }

    #[test]
    fn variable_area_classes(dest in "[0-9a+]{0,12}") {
        prop_assert_eq!(pat("{*}").captures(&dest).unwrap().digits(), dest.clone());
        prop_assert_eq!(pat("{#}").is_match(&dest), dest.bytes().all(|b| b.is_ascii_digit()));
        let five_digits = dest.len() == 5 && dest.bytes().all(|b| b.is_ascii_digit());
        prop_assert_eq!(pat("{DDDDD}").is_match(&dest), five_digits);
        prop_assert_eq!(pat("{SSSSS}").is_match(&dest), dest.chars().count() == 5);
    }
}
