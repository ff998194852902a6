//! Property tests of the loader: garbage never panics, and any scenario
//! the loader accepts re-serialises to an equal one. (Test-only module;
//! the strategies generate valid scenarios over the whole model.)

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn strip_sources(mut s: Scenario) -> Scenario {
    s.source = SourceLocation::default();
    for st in &mut s.steps {
        st.source = SourceLocation::default();
    }
    s
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,5}"
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "\\PC{0,6}",
        Just("{{job_id}}".to_string()),
        Just("null".to_string()),
        Just("".to_string()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        // Integers beyond i64 become floats in YAML (saphyr's integers are i64).
        any::<i64>().prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z]{1,4}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("/job/id".to_string()),
        Just("/a~1b/0".to_string()),
        Just("$.jobs[*].id".to_string()),
        Just("$..id".to_string()),
    ]
}

fn check() -> impl Strategy<Value = Check> {
    let flat = (
        option::of(json_value()),
        option::of(prop_oneof![Just("string".to_string()), Just("integer".to_string())]),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(prop_oneof![Just("^a+$".to_string()), Just("^{{job_id}}/".to_string())]),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        (option::of(0usize..100), option::of(0usize..100)),
        (option::of(-1.0e9f64..1.0e9), option::of(-1.0e9f64..1.0e9)),
        option::of(json_value()),
        option::of(vec(json_value(), 0..3)),
    )
        .prop_map(
            |(
                equals,
                type_,
                cents,
                uuid,
                regex,
                exists,
                absent,
                (length, min_length),
                (min, max),
                contains,
                one_of,
            )| Check {
                equals,
                type_,
                cents,
                uuid,
                regex,
                exists,
                absent,
                length,
                min_length,
                min,
                max,
                contains,
                one_of,
                not: None,
            },
        )
        .boxed();
    (flat.clone(), option::of(flat)).prop_map(|(mut c, not)| {
        c.not = not.map(Box::new);
        c
    })
}

fn assertion() -> impl Strategy<Value = BodyAssertion> {
    (body_path(), check(), any::<bool>()).prop_map(|(path, check, allow_empty)| BodyAssertion {
        path,
        check,
        allow_empty,
    })
}

fn status() -> impl Strategy<Value = StatusExpect> {
    prop_oneof![
        prop_oneof![Just(200u16), Just(201), Just(404), Just(429)].prop_map(StatusExpect::Code),
        (1u16..=5).prop_map(StatusExpect::Family),
    ]
}

fn flat_expect() -> impl Strategy<Value = Expect> {
    (
        vec(status(), 0..3),
        btree_map("[a-z-]{1,8}", check(), 0..2),
        vec(assertion(), 0..3),
    )
        .prop_map(|(status, headers, body)| Expect {
            status,
            headers,
            body,
            reference: None,
        })
}

fn expect() -> impl Strategy<Value = Expect> {
    (flat_expect(), option::of(flat_expect())).prop_map(|(mut e, reference)| {
        // The reference status must lie within the documented one: take it from there.
        e.reference = reference.map(|mut r| {
            r.status = e
                .status
                .iter()
                .filter(|s| s.code().is_some())
                .copied()
                .take(1)
                .collect();
            Box::new(r)
        });
        e
    })
}

fn request() -> impl Strategy<Value = Request> {
    let body = prop_oneof![
        Just((None, None, None, None)),
        json_value().prop_map(|j| (Some(j), None, None, None)),
        text().prop_map(|r| (None, Some(r), None, None)),
        (0usize..10_000_000).prop_map(|n| (None, None, Some(n), None)),
        (
            "[a-z]{1,5}",
            "[a-z]{1,8}\\.txt",
            text(),
            option::of(Just("text/plain".to_string())),
            btree_map("[a-z]{1,4}", text(), 0..2)
        )
            .prop_map(|(field, filename, content, content_type, fields)| {
                (
                    None,
                    None,
                    None,
                    Some(Multipart {
                        field,
                        filename,
                        content,
                        content_type,
                        fields,
                    }),
                )
            }),
    ];
    (
        prop_oneof![Just("GET"), Just("POST"), Just("PATCH"), Just("DELETE")],
        prop_oneof![
            Just("/api/wallet".to_string()),
            Just("/api/jobs/{{job_id}}/apply".to_string())
        ],
        btree_map("[a-z]{1,5}", json_value(), 0..3),
        btree_map("[A-Za-z-]{1,8}", text(), 0..3),
        body,
        option::of(Just("application/json".to_string())),
    )
        .prop_map(
            |(method, path, query, headers, (json, raw, raw_size, multipart), content_type)| Request {
                method: method.to_string(),
                path,
                query,
                headers,
                json,
                raw,
                raw_size,
                content_type,
                multipart,
            },
        )
}

fn capture() -> impl Strategy<Value = Capture> {
    prop_oneof![
        body_path().prop_map(Capture::Body),
        "[a-z-]{1,8}".prop_map(|header| Capture::Header { header }),
        vec(body_path(), 1..3).prop_map(Capture::AnyOf)
    ]
}

fn skip() -> impl Strategy<Value = SkipCheck> {
    (
        prop_oneof![
            Just(AutoCheck::Status),
            Just(AutoCheck::ContentType),
            Just(AutoCheck::Schema),
            Just(AutoCheck::Headers),
            Just(AutoCheck::Operation)
        ],
        "[a-z][a-z ]{0,10}",
    )
        .prop_map(|(check, reason)| SkipCheck { check, reason })
}

fn auth() -> impl Strategy<Value = AuthMode> {
    use AuthMode::*;
    prop_oneof![
        Just(ApiKey),
        Just(Jwt),
        Just(None),
        Just(ApiKeyAsBearer),
        Just(Both),
        Just(UnknownKey),
        Just(MalformedKey),
        Just(MalformedJwt),
        Just(TamperedJwt)
    ]
}

fn blank(source: SourceLocation) -> Step {
    super::flow::empty_step(source)
}

/// A valid step using only the given actors.
fn step(actors: Vec<String>) -> impl Strategy<Value = Step> {
    let actor = proptest::sample::select(actors);
    let name = option::of(text());
    let req = (
        actor.clone(),
        option::of(auth()),
        request(),
        option::of((1u32..100, option::of(Just(429u16)), option::of(expect()))),
        option::of(expect()),
        option::of(btree_map(ident(), capture(), 0..3)),
        vec(skip(), 0..2),
        option::of(0u64..=i64::MAX as u64),
    )
        .prop_map(|(a, auth, request, repeat, expect, capture, skip_checks, timeout_ms)| {
            let mut s = blank(SourceLocation::default());
            s.actor = Some(a);
            s.auth = auth;
            s.request = Some(request);
            s.repeat = repeat.map(|(times, until_status, each)| Repeat {
                times,
                expect_at: until_status.map(|_| {
                    if times % 2 == 0 {
                        ExpectAt::Exactly(times)
                    } else {
                        ExpectAt::Between(1, times)
                    }
                }),
                until_status,
                each: each.map(Box::new),
                reference: until_status.map(|_| RepeatReference { expect_at: Some(times) }),
                over: BTreeMap::new(),
                collect: BTreeMap::new(),
                pause: None,
                in_flight: None,
            });
            s.expect = expect;
            s.capture = capture;
            s.skip_checks = skip_checks;
            s.timeout_ms = timeout_ms;
            s
        });
    let other = prop_oneof![
        (1i64..1_000_000).prop_map(|n| {
            let mut s = blank(SourceLocation::default());
            s.clock = Some(ClockStep { advance_seconds: n });
            s
        }),
        (actor, "[a-z]{1,5}", vec("[a-z.]{1,8}", 0..3)).prop_map(|(a, stream, types)| {
            let mut s = blank(SourceLocation::default());
            s.actor = Some(a);
            s.subscribe = Some(Subscribe { stream, types });
            s
        }),
        (
            "[a-z]{1,5}",
            "[a-z.]{1,8}",
            vec(assertion(), 0..2),
            option::of(0u64..=i64::MAX as u64),
            option::of(any::<bool>()),
            option::of(btree_map(ident(), body_path(), 0..2))
        )
            .prop_map(|(stream, event_type, matches, within_ms, exactly_once, capture)| {
                let mut s = blank(SourceLocation::default());
                s.event = Some(ExpectEvent {
                    stream,
                    event_type,
                    keepalives: None,
                    matches: matches.clone(),
                    within_ms,
                    exactly_once,
                    capture,
                    reference: (!matches.is_empty()).then(|| EventReference { matches }),
                });
                s
            }),
        (
            "[a-z]{1,5}",
            option::of("[a-z.]{1,8}"),
            vec(assertion(), 0..2),
            option::of(0u64..=i64::MAX as u64)
        )
            .prop_map(|(stream, event_type, matches, within_ms)| {
                let mut s = blank(SourceLocation::default());
                s.no_event = Some(ExpectNoEvent {
                    stream,
                    event_type,
                    matches,
                    within_ms,
                });
                s
            }),
        btree_map(ident(), json_value(), 0..3).prop_map(|set| {
            let mut s = blank(SourceLocation::default());
            s.set = Some(set);
            s
        }),
        ("[a-z-]{1,8}", option::of(btree_map(ident(), json_value(), 0..3))).prop_map(|(include, with)| {
            let mut s = blank(SourceLocation::default());
            s.include = Some(include);
            s.with = with;
            s
        }),
    ];
    (name, prop_oneof![req, other]).prop_map(|(name, mut s)| {
        s.name = name;
        s
    })
}

fn actor_spec() -> impl Strategy<Value = ActorSpec> {
    (
        prop_oneof![Just(Role::Poster), Just(Role::Agent), Just(Role::Proofer)],
        option::of(vec("[A-Z][a-z]{1,6}", 0..3)),
        option::of(any::<i64>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(prop_oneof![Just(Tier::Free), Just(Tier::Pro), Just(Tier::Enterprise)]),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(role, specializations, wallet_cents, email_verified, stripe_connected, tier, fresh)| ActorSpec {
                role,
                specializations,
                wallet_cents,
                email_verified,
                stripe_connected,
                tier,
                fresh,
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    btree_map(ident(), actor_spec(), 1..4).prop_flat_map(|actors| {
        let names: Vec<String> = actors.keys().cloned().collect();
        (
            "[a-z0-9][a-z0-9._-]{0,12}",
            "[A-Za-z][ -~]{0,20}",
            vec("[a-z.#:]{1,12}", 0..3),
            option::of(text()),
            vec("[a-z]{1,6}", 0..3),
            prop_oneof![Just(Level::Must), Just(Level::Should)],
            vec(prop_oneof![Just("actors".to_string()), Just("clock".to_string())], 0..3),
            (any::<bool>(), any::<bool>()),
            Just(actors),
            btree_map(ident(), json_value(), 0..3),
            vec(step(names), 1..5),
        )
            .prop_map(
                |(id, title, doc, rule, tags, level, requires, (moves_money, exclusive), actors, vars, steps)| {
                    Scenario {
                        id,
                        title,
                        doc,
                        rule,
                        tags,
                        level,
                        requires,
                        moves_money,
                        exclusive,
                        actors,
                        vars,
                        steps,
                        source: SourceLocation::default(),
                    }
                },
            )
    })
}

proptest! {

    #[test]
    fn garbage_never_panics(text in "\\PC{0,300}") {
        let _ = parse_scenario_all(&text, "g.yaml");
        let _ = parse_flow_all(&text, "g.yaml");
    }

    #[test]
    fn yaml_like_garbage_never_panics(text in "([a-z_]{1,8}: |  |- |\\{|\\}|\\[|\\]|, |\n|[a-z0-9/{}.$*]{1,10}|\"|'|&a |\\*a |null|true|-1|1\\.5){0,60}") {
        let _ = parse_scenario_all(&text, "g.yaml");
        let _ = parse_flow_all(&text, "g.yaml");
    }

    #[test]
    fn any_json_shape_never_panics(v in json_value(), steps in vec(json_value(), 0..4)) {
        let doc = json!({"id": "x", "title": "t", "actors": {"a": {"role": "agent"}}, "vars": v, "steps": steps});
        let _ = parse_scenario_all(&doc.to_string(), "g.yaml");
        let doc = json!({"steps": [{"as": "a", "request": v, "expect": {"body": [v]}}]});
        let _ = parse_scenario_all(&doc.to_string(), "g.yaml");
    }

    /// A generated scenario, written as JSON (which is YAML), loads to
    /// itself; and any scenario the loader accepts re-serialises
    /// (`to_value` → `from_value`) to an equal scenario.
    #[test]
    fn accepted_scenarios_round_trip(s in scenario()) {
        let text = serde_json::to_string_pretty(&s).unwrap();
        let loaded = match parse_scenario_all(&text, "p.yaml") {
            Ok(l) => l,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        let loaded = strip_sources(loaded);
        prop_assert_eq!(&loaded, &s);
        let again: Scenario = serde_json::from_value(serde_json::to_value(&loaded).unwrap()).unwrap();
        prop_assert_eq!(strip_sources(again), loaded);
    }
}

#[test]
fn maps_keep_their_keys() {
    // A BTreeMap-based model: key order in the file does not matter.
    let a = parse_scenario(
        "id: a\ntitle: t\nvars: {b: 1, a: 2}\nsteps: [{set: {x: 1}}]\n",
        "a.yaml",
    )
    .unwrap();
    let b = parse_scenario(
        "id: a\ntitle: t\nvars: {a: 2, b: 1}\nsteps: [{set: {x: 1}}]\n",
        "a.yaml",
    )
    .unwrap();
    assert_eq!(strip_sources(a).vars, strip_sources(b).vars);
    let _: BTreeMap<String, Value> = BTreeMap::new();
}
