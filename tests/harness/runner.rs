//! Runner tests: against a tiny in-test server (right and deliberately
//! wrong), and against the bundled reference server.

use crate::tiny;

use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use agentgigs_conformance::finding::FindingKind;
use agentgigs_conformance::mock::{MockConfig, MockServer};
use agentgigs_conformance::redact::Secrets;
use agentgigs_conformance::report::model::{Outcome, RunReport, ScenarioReport};
use agentgigs_conformance::report::terminal::{TerminalStyle, render_failure};
use agentgigs_conformance::runner::{PlannedScenario, RunOptions, RunPlan, run, run_with_secrets};
use agentgigs_conformance::scenario::{load_library, parse_scenario};
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, Spec};
use agentgigs_conformance::target::{EventsTransport, Profile, TargetSpec};
use tiny::{Behaviour, Tiny};

/// The reference layer: the documented contract with our reference server's
/// choices (`specs/reference.overlay.yaml`) applied, which is what the
/// reference server serves.
fn reference_spec(root: &Path) -> Spec {
    let documented = Spec::load(&root.join(DOCUMENTED_SPEC)).expect("the documented spec loads");
    let overlay = std::fs::read_to_string(root.join(REFERENCE_OVERLAY)).expect("the reference overlay");
    Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY).expect("the overlay applies")
}

fn mini_spec() -> Arc<Spec> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runner/mini.openapi.yaml");
    Arc::new(Spec::load(&p).expect("the mini spec loads"))
}

fn planned(yaml: &str) -> PlannedScenario {
    let s = parse_scenario(yaml, "scenarios/test/case.yaml").unwrap_or_else(|e| panic!("bad test scenario: {e}"));
    let steps = s.steps.clone();
    PlannedScenario::new(s, steps)
}

fn remote(url: &str) -> TargetSpec {
    let mut p = Profile::from_url(url).unwrap();
    p.pace = false;
    TargetSpec::Remote(p)
}

fn options() -> RunOptions {
    RunOptions {
        request_timeout: Duration::from_secs(2),
        ..RunOptions::default()
    }
}

async fn run_all(target: TargetSpec, yamls: &[&str], options: RunOptions) -> RunReport {
    run(RunPlan {
        contract: mini_spec().into(),
        scenarios: yamls.iter().map(|y| planned(y)).collect(),
        target,
        options,
    })
    .await
}

async fn run_one(url: &str, yaml: &str) -> ScenarioReport {
    run_all(remote(url), &[yaml], options()).await.scenarios.remove(0)
}

async fn tiny(b: Behaviour) -> (String, Tiny) {
    let t = Tiny::new(b);
    (t.clone().start().await, t)
}

fn all_findings(r: &ScenarioReport) -> Vec<String> {
    r.steps
        .iter()
        .flat_map(|s| s.findings.iter().map(|f| format!("{:?}: {}", f.kind, f.message)))
        .collect()
}

fn skipped_reason(o: &Outcome) -> &str {
    match o {
        Outcome::Skipped { reason } => reason,
        other => panic!("expected skipped, got {other:?}"),
    }
}

fn errored_message(o: &Outcome) -> &str {
    match o {
        Outcome::Errored { message } => message,
        other => panic!("expected errored, got {other:?}"),
    }
}

const ASSERTIONS: &str = r#"
id: test.assertions
title: every kind of assertion
actors:
  poster: {role: poster}
steps:
  - as: poster
    request: {method: GET, path: /api/things/t1}
    expect:
      status: 200
      headers: {content-type: {contains: json}}
      body:
        - {path: /id, equals: t1}
        - {path: /price, type: integer, cents: true, min: 100, max: 100000}
        - {path: /name, regex: "^a ", min_length: 3}
        - {path: /tags, length: 2, contains: red}
        - {path: /tags/0, one_of: [red, green]}
        - {path: /missing, absent: true}
        - {path: /id, exists: true, not: {equals: t2}}
        - {path: "$.tags[*]", type: string}
"#;

#[tokio::test]
async fn assertions_pass_on_a_right_server_and_fail_on_a_wrong_one() {
    let (url, _) = tiny(Behaviour::default()).await;
    let r = run_one(&url, ASSERTIONS).await;
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", all_findings(&r));
    assert_eq!(r.steps[0].operation.as_deref(), Some("GET /api/things/{id}"));

    let (url, _) = tiny(Behaviour {
        wrong: true,
        ..Behaviour::default()
    })
    .await;
    let r = run_one(&url, ASSERTIONS).await;
    assert_eq!(r.outcome, Outcome::Failed);
    let f = &r.steps[0].findings;
    let at = |p: &str| f.iter().filter(|x| x.body_pointer.as_deref() == Some(p)).count();
    assert!(at("/id") >= 1, "{f:#?}");
    assert!(at("/price") >= 2, "type, cents and min/max fail: {f:#?}");
    assert!(at("/tags") >= 2, "length and contains fail: {f:#?}");
    assert!(at("/tags/0") >= 1, "{f:#?}");
    // The spec's schema check sees the string price too.
    assert!(f.iter().any(|x| x.kind == FindingKind::Schema), "{f:#?}");
    let price = f
        .iter()
        .find(|x| x.body_pointer.as_deref() == Some("/price") && x.kind == FindingKind::Body)
        .unwrap();
    assert_eq!(price.actual, Some(serde_json::json!("15.00")));
}

#[tokio::test]
async fn captures_flow_into_later_steps_and_a_missing_one_stops_the_scenario() {
    let (url, _) = tiny(Behaviour::default()).await;
    let ok = r#"
id: test.captures
title: captures
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: POST, path: /api/things}
    expect: {status: 201}
    capture: {thing_id: /id, thing_key: /api_key, ctype: {header: content-type}}
  - as: poster
    request: {method: GET, path: "/api/things/{{thing_id}}"}
    expect:
      body: [{path: /id, equals: "{{thing_id}}"}]
  - set: {copy: "{{thing_id}}", label: "thing {{thing_id}} as {{ctype}}"}
  - as: poster
    request: {method: GET, path: "/api/things/{{copy}}"}
"#;
    let r = run_one(&url, ok).await;
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", all_findings(&r));
    assert_eq!(r.steps.len(), 4);

    let missing = r#"
id: test.capture-missing
title: a capture finds nothing
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: POST, path: /api/things}
    expect: {status: 201}
    capture: {nothing: /nope}
  - as: poster
    request: {method: GET, path: "/api/things/{{nothing}}"}
"#;
    let r = run_one(&url, missing).await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.steps[0].findings[0].kind, FindingKind::Capture);
    assert!(skipped_reason(&r.steps[1].outcome).contains("step 1 failed"));

    let undefined = r#"
id: test.undefined
title: an undefined variable
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: GET, path: "/api/things/{{never_set}}"}
"#;
    let r = run_one(&url, undefined).await;
    assert!(
        errored_message(&r.outcome).contains("undefined variable `never_set`"),
        "{:?}",
        r.outcome
    );
}

#[tokio::test]
async fn includes_from_the_loader_run_flattened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("scenarios");
    std::fs::create_dir_all(root.join("_flows")).unwrap();
    std::fs::create_dir_all(root.join("things")).unwrap();
    std::fs::write(
        root.join("_flows/make-thing.yaml"),
        r#"
description: Makes a thing and captures `thing_id`.
actors: [owner]
steps:
  - as: owner
    request: {method: POST, path: /api/things}
    expect: {status: 201}
    capture: {thing_id: /id}
"#,
    )
    .unwrap();
    std::fs::write(
        root.join("things/uses-flow.yaml"),
        r#"
id: things.uses-flow
title: a flow makes the thing
actors: {alice: {role: poster}}
steps:
  - include: make-thing
    with: {owner: alice}
  - as: alice
    request: {method: GET, path: "/api/things/{{thing_id}}"}
    expect: {status: 200}
"#,
    )
    .unwrap();
    let lib = load_library(&root).unwrap_or_else(|e| panic!("{e:?}"));
    let s = lib.scenarios[0].clone();
    let steps = lib.expand(&s).unwrap();
    let mut p = PlannedScenario::new(s, steps);
    assert_eq!(p.steps.len(), 2);
    p.area = "things".into();
    let (url, _) = tiny(Behaviour::default()).await;
    let report = run(RunPlan {
        contract: mini_spec().into(),
        scenarios: vec![p],
        target: remote(&url),
        options: options(),
    })
    .await;
    let r = &report.scenarios[0];
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", all_findings(r));
    assert_eq!(r.steps[0].actor.as_deref(), Some("alice"));
    assert!(r.steps[0].location.contains("make-thing"), "{}", r.steps[0].location);
}

#[tokio::test]
async fn auth_modes_send_the_right_headers_and_the_report_shows_labels_only() {
    let (url, t) = tiny(Behaviour::default()).await;
    let modes = [
        "api_key",
        "jwt",
        "none",
        "api_key_as_bearer",
        "both",
        "unknown_key",
        "malformed_key",
        "malformed_jwt",
        "tampered_jwt",
    ];
    let mut yaml = String::from("id: test.auth\ntitle: auth modes\nactors: {poster: {role: poster}}\nsteps:\n");
    for m in modes {
        yaml.push_str(&format!(
            "  - as: poster\n    auth: {m}\n    request: {{method: GET, path: /api/echo}}\n"
        ));
    }
    let report = run_all(remote(&url), &[&yaml], options()).await;
    let r = &report.scenarios[0];
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", all_findings(r));
    let seen = t.seen.lock();
    let (key, jwt) = (seen.issued[0].clone(), seen.issued[1].clone());
    let a = &seen.auth;
    assert_eq!(a[0], (Some(key.clone()), None));
    assert_eq!(a[1], (None, Some(format!("Bearer {jwt}"))));
    assert_eq!(a[2], (None, None));
    assert_eq!(a[3], (None, Some(format!("Bearer {key}"))));
    assert_eq!(a[4], (Some(key.clone()), Some(format!("Bearer {jwt}"))));
    let unknown = a[5].0.clone().unwrap();
    assert!(unknown.starts_with("age_") && unknown.len() == 36 && unknown != key && a[5].1.is_none());
    assert!(!a[6].0.clone().unwrap().starts_with("age_") && a[6].1.is_none());
    let malformed = a[7].1.clone().unwrap();
    assert!(a[7].0.is_none() && malformed.starts_with("Bearer ") && !malformed.contains('.'));
    let tampered = a[8].1.clone().unwrap().trim_start_matches("Bearer ").to_string();
    assert_ne!(tampered, jwt);
    let (head, _) = jwt.rsplit_once('.').unwrap();
    assert!(tampered.starts_with(head));

    let header = |i: usize, name: &str| {
        r.steps[i]
            .request
            .as_ref()
            .unwrap()
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header(0, "x-api-key").as_deref(), Some("[API_KEY:poster]"));
    assert_eq!(header(1, "authorization").as_deref(), Some("Bearer [JWT:poster]"));
    assert_eq!(header(5, "x-api-key").as_deref(), Some("[UNKNOWN_KEY]"));
    assert_eq!(
        header(8, "authorization").as_deref(),
        Some("Bearer [TAMPERED_JWT:poster]")
    );
    let text = serde_json::to_string(&report).unwrap();
    for secret in seen
        .issued
        .iter()
        .chain(a.iter().flat_map(|(k, b)| k.iter().chain(b.iter())))
    {
        let bare = secret.trim_start_matches("Bearer ");
        assert!(!text.contains(bare), "the report leaks `{bare}`");
    }
}

fn repeat_yaml(id: &str, times: u32, expect_at: Option<u32>) -> String {
    let at = expect_at.map(|n| format!(", expect_at: {n}")).unwrap_or_default();
    format!(
        r#"
id: test.{id}
title: repeat
actors: {{agent: {{role: agent}}}}
steps:
  - as: agent
    request: {{method: GET, path: /api/limited}}
    repeat: {{times: {times}, until_status: 429{at}, each: {{status: 200}}}}
    expect:
      status: 429
      headers: {{retry-after: {{exists: true}}}}
"#
    )
}

#[tokio::test]
async fn repeat_finds_the_429_at_the_right_request_too_early_too_late_or_never() {
    let (url, _) = tiny(Behaviour {
        limit: 3,
        ..Behaviour::default()
    })
    .await;
    let right = run_one(&url, &repeat_yaml("right", 6, Some(4))).await;
    assert_eq!(right.outcome, Outcome::Passed, "{:#?}", all_findings(&right));
    assert_eq!(right.steps[0].attempts, 4);
    assert_eq!(right.steps[0].retries, 0);

    let early = run_one(&url, &repeat_yaml("early", 6, Some(5))).await;
    let f = all_findings(&early);
    assert!(
        f.iter().any(|m| m.contains("Repeat") && m.contains("too early")),
        "{f:#?}"
    );

    let late = run_one(&url, &repeat_yaml("late", 6, Some(3))).await;
    let f = all_findings(&late);
    assert!(
        f.iter().any(|m| m.contains("Repeat") && m.contains("too late")),
        "{f:#?}"
    );

    let never = run_one(&url, &repeat_yaml("never", 3, Some(3))).await;
    let f = all_findings(&never);
    assert!(
        f.iter().any(|m| m.contains("Repeat") && m.contains("never arrived")),
        "{f:#?}"
    );
    assert_eq!(never.steps[0].attempts, 3);
}

#[tokio::test]
async fn an_unexpected_429_is_retried_after_retry_after() {
    let (url, t) = tiny(Behaviour {
        limit: 1,
        retry_after: "0",
        ..Behaviour::default()
    })
    .await;
    let yaml = r#"
id: test.retry
title: retries
actors: {agent: {role: agent}}
steps:
  - as: agent
    request: {method: GET, path: /api/limited}
  - as: agent
    request: {method: GET, path: /api/limited}
"#;
    let r = run_one(&url, yaml).await;
    assert_eq!(r.outcome, Outcome::Failed);
    let s = &r.steps[1];
    assert_eq!((s.attempts, s.retries), (3, 2), "two retries then the 429 is judged");
    assert_eq!(s.findings.iter().filter(|f| f.kind == FindingKind::Status).count(), 1);
    assert_eq!(t.seen.lock().limited_total, 4);
}

const CLOCK: &str = r#"
id: test.clock
title: clock
actors: {poster: {role: poster}}
steps:
  - clock: {advance_seconds: 3600}
  - as: poster
    request: {method: GET, path: /api/clock}
    expect:
      body: [{path: /advanced, equals: 3600}]
"#;

#[tokio::test]
async fn clock_steps_move_the_clock_or_skip_without_the_feature() {
    let (url, _) = tiny(Behaviour::default()).await;
    let r = run_one(&url, CLOCK).await;
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", all_findings(&r));
    assert_eq!(r.steps[0].kind, "clock");

    let (url, _) = tiny(Behaviour {
        features: vec!["actors"],
        ..Behaviour::default()
    })
    .await;
    let r = run_one(&url, CLOCK).await;
    assert_eq!(skipped_reason(&r.outcome), "target offers no `clock` control");
    let needs_reset = "id: test.reset\ntitle: reset\nrequires: [reset]\nsteps:\n  - set: {a: 1}\n";
    let r = run_one(&url, needs_reset).await;
    assert_eq!(skipped_reason(&r.outcome), "target offers no `reset` control");
}

fn events_yaml(id: &str, subscribe_types: &str, emit: &str, check: &str) -> String {
    format!(
        r#"
id: test.{id}
title: events
actors: {{poster: {{role: poster}}, agent: {{role: agent}}}}
steps:
  - as: agent
    subscribe: {{stream: s{subscribe_types}}}
  - as: poster
    request: {{method: POST, path: /api/emit, query: {emit}}}
  - {check}
"#
    )
}

#[tokio::test]
async fn events_arrive_are_filtered_never_come_or_come_twice() {
    let (url, _) = tiny(Behaviour::default()).await;
    let arrive = events_yaml(
        "arrive",
        "",
        "{type: job.available, job_id: j1}",
        "event: {stream: s, type: job.available, match: [{path: /job_id, equals: j1}], exactly_once: true, capture: {got: /job_id}}",
    );
    let r = run_one(&url, &arrive).await;
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", all_findings(&r));
    assert_eq!(
        r.steps[2].response.as_ref().unwrap().body,
        Some(serde_json::json!({"type": "job.available", "job_id": "j1"}))
    );

    let twice = events_yaml(
        "twice",
        "",
        "{type: job.available, job_id: j1, times: 2}",
        "event: {stream: s, type: job.available, within_ms: 300, exactly_once: true}",
    );
    let f = all_findings(&run_one(&url, &twice).await);
    assert!(f.iter().any(|m| m.contains("second")), "{f:#?}");

    let never = events_yaml(
        "never",
        "",
        "{type: job.message, job_id: j1}",
        "event: {stream: s, type: job.available, within_ms: 200}",
    );
    let f = all_findings(&run_one(&url, &never).await);
    assert!(
        f.iter().any(|m| m.starts_with("Event: no `job.available` event")),
        "{f:#?}"
    );

    let mismatch = events_yaml(
        "mismatch",
        "",
        "{type: job.available, job_id: j2}",
        "event: {stream: s, type: job.available, within_ms: 200, match: [{path: /job_id, equals: j1}]}",
    );
    let f = all_findings(&run_one(&url, &mismatch).await);
    assert!(f.iter().any(|m| m.contains("closest `job.available` event")), "{f:#?}");

    let filtered = events_yaml(
        "filtered",
        ", types: [application.update]",
        "{type: job.available, job_id: j1}",
        "no_event: {stream: s, type: job.available, within_ms: 200}",
    );
    let r = run_one(&url, &filtered).await;
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", all_findings(&r));
    let (bad_url, _) = tiny(Behaviour {
        ignore_filter: true,
        ..Behaviour::default()
    })
    .await;
    let f = all_findings(&run_one(&bad_url, &filtered).await);
    assert!(f.iter().any(|m| m.contains("expected none")), "{f:#?}");

    let garbage = events_yaml(
        "garbage",
        "",
        "{type: job.available, raw: not-json}",
        "no_event: {stream: s, within_ms: 200}",
    );
    let f = all_findings(&run_one(&url, &garbage).await);
    assert!(f.iter().any(|m| m.contains("not JSON")), "{f:#?}");

    let unknown_stream = "id: test.nostream\ntitle: x\nsteps:\n  - event: {stream: nope, type: job.available}\n";
    let r = run_one(&url, unknown_stream).await;
    assert!(errored_message(&r.outcome).contains("no stream named `nope`"));
}

#[tokio::test]
async fn a_keepalive_in_any_form_passes_and_none_fails() {
    let yaml = "id: test.keepalive\ntitle: keepalive\nactors: {agent: {role: agent}}\nsteps:\n  - as: agent\n    \
                subscribe: {stream: s}\n  - event: {stream: s, type: keepalive, within_ms: 600}\n";
    for (keepalive_ms, keepalive_as_event) in [(Some(100), false), (Some(100), true)] {
        let (url, _) = tiny(Behaviour {
            keepalive_ms,
            keepalive_as_event,
            ..Behaviour::default()
        })
        .await;
        let r = run_one(&url, yaml).await;
        assert_eq!(
            r.outcome,
            Outcome::Passed,
            "as event: {keepalive_as_event}: {:#?}",
            all_findings(&r)
        );
    }
    // Too rare for the window, or never: a failure that says what was looked for.
    for keepalive_ms in [Some(5_000), None] {
        let (url, _) = tiny(Behaviour {
            keepalive_ms,
            ..Behaviour::default()
        })
        .await;
        let r = run_one(&url, yaml).await;
        assert_eq!(r.outcome, Outcome::Failed);
        let f = all_findings(&r);
        assert!(
            f.iter()
                .any(|m| m.contains("no keepalive arrived on `s` within 600 ms") && m.contains("`:` comment line")),
            "{f:#?}"
        );
    }
    // A keepalive can't carry checks, and `no_event` can't name it.
    let bad =
        "id: test.bad\ntitle: bad\nsteps:\n  - event: {stream: s, type: keepalive, match: [{path: /a, equals: 1}]}\n";
    let err = parse_scenario(bad, "bad.yaml").unwrap_err().to_string();
    assert!(
        err.contains("waits for a keepalive, which has no payload: remove `match`"),
        "{err}"
    );
    let bad = "id: test.bad\ntitle: bad\nsteps:\n  - no_event: {stream: s, type: keepalive}\n";
    let err = parse_scenario(bad, "bad.yaml").unwrap_err().to_string();
    assert!(
        err.contains("bad.yaml:4:") && err.contains("a keepalive can only be awaited"),
        "{err}"
    );
}

const MONEY: &str = r#"
id: test.money
title: funds twice
moves_money: true
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: POST, path: /api/jobs/j1/fund-escrow, json: {applicationId: a1, useWallet: true}}
  - as: poster
    request: {method: POST, path: /api/jobs/j2/fund-escrow, json: {applicationId: a2, useWallet: true}}
"#;

#[tokio::test]
async fn the_money_guard_skips_real_money_and_caps_spending() {
    let (url, _) = tiny(Behaviour::default()).await;
    let real = || {
        let mut p = Profile::from_url(&url).unwrap();
        p.pace = false;
        p.sandbox = false;
        TargetSpec::Remote(p)
    };
    let report = run_all(real(), &[MONEY], options()).await;
    assert!(skipped_reason(&report.scenarios[0].outcome).contains("not a sandbox"));
    assert!(report.money.is_empty());

    let allowed = RunOptions {
        allow_real_money: true,
        ..options()
    };
    let report = run_all(real(), &[MONEY], allowed.clone()).await;
    let r = &report.scenarios[0];
    assert!(
        skipped_reason(&r.outcome).contains("spending cap of 0 cents"),
        "{:?}",
        r.outcome
    );
    assert!(report.money.is_empty());

    // The cap with amounts read from the target before each step is tested
    // in tests/harness/money_guard.rs.

    let report = run_all(remote(&url), &[MONEY], options()).await;
    assert_eq!(report.scenarios[0].outcome, Outcome::Passed);
    assert_eq!(report.money[0].cents, 3000);
}

#[tokio::test]
async fn an_unreachable_target_is_errored_not_failed_and_the_run_goes_on() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{port}");
    let simple =
        "id: test.simple\ntitle: x\nsteps:\n  - auth: none\n    request: {method: GET, path: /api/things/t1}\n";
    let report = run_all(remote(&dead), &[simple, simple], options()).await;
    assert_eq!(report.totals.errored, 2);
    assert_eq!(report.totals.failed, 0);
    assert!(
        errored_message(&report.scenarios[0].outcome).contains("connection refused"),
        "{:?}",
        report.scenarios[0].outcome
    );

    // Without a control API, the request itself is refused.
    let mut p = Profile::from_url(&dead).unwrap();
    p.control = None;
    let report = run_all(TargetSpec::Remote(p), &[simple], options()).await;
    let r = &report.scenarios[0];
    assert!(
        errored_message(&r.outcome).contains("connection refused"),
        "{:?}",
        r.outcome
    );
    assert!(matches!(r.steps[0].outcome, Outcome::Errored { .. }));

    // Timeouts, oversized bodies and bad JSON, and the rest of the run goes on.
    let (url, _) = tiny(Behaviour::default()).await;
    let slow = "id: test.slow\ntitle: x\nsteps:\n  - auth: none\n    request: {method: GET, path: /api/slow}\n";
    let big = "id: test.big\ntitle: x\nsteps:\n  - auth: none\n    request: {method: GET, path: /api/big}\n";
    let bad = "id: test.bad\ntitle: x\nsteps:\n  - auth: none\n    request: {method: GET, path: /api/badjson}\n";
    let opts = RunOptions {
        request_timeout: Duration::from_millis(500),
        max_body_bytes: 1000,
        ..options()
    };
    let report = run_all(remote(&url), &[slow, big, bad, simple], opts).await;
    let s = &report.scenarios;
    assert!(
        errored_message(&s[0].outcome).contains("timed out"),
        "{:?}",
        s[0].outcome
    );
    assert!(
        errored_message(&s[1].outcome).contains("larger than 1000 bytes"),
        "{:?}",
        s[1].outcome
    );
    assert_eq!(s[2].outcome, Outcome::Failed);
    assert!(
        s[2].steps[0]
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::InvalidJson),
        "{:#?}",
        s[2].steps[0].findings
    );
    assert_eq!(s[3].outcome, Outcome::Passed, "{:#?}", all_findings(&s[3]));
    assert_eq!(
        (report.totals.errored, report.totals.failed, report.totals.passed),
        (2, 1, 1)
    );
}

#[tokio::test]
async fn step_and_run_time_limits_make_scenarios_errored() {
    let (url, _) = tiny(Behaviour::default()).await;
    let step_limit = "id: test.step-limit\ntitle: x\nsteps:\n  - auth: none\n    timeout_ms: 300\n    request: {method: GET, path: /api/slow}\n";
    let r = run_one(&url, step_limit).await;
    assert!(
        errored_message(&r.outcome).contains("step time limit"),
        "{:?}",
        r.outcome
    );

    let slow = "id: test.slow\ntitle: x\nsteps:\n  - auth: none\n    request: {method: GET, path: /api/slow}\n";
    let opts = RunOptions {
        request_timeout: Duration::from_secs(10),
        run_timeout: Some(Duration::from_millis(800)),
        ..options()
    };
    let report = run_all(remote(&url), &[slow, slow, slow], opts).await;
    let s = &report.scenarios;
    assert!(
        errored_message(&s[0].outcome).contains("run time limit"),
        "{:?}",
        s[0].outcome
    );
    assert!(
        errored_message(&s[2].outcome).contains("not started"),
        "{:?}",
        s[2].outcome
    );
    assert_eq!(report.totals.errored, 3);
    assert!(
        report.duration_ms < 3000,
        "the run stopped at its limit: {} ms",
        report.duration_ms
    );
}

#[tokio::test]
async fn events_over_websocket_against_a_reference_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = load_library(&root.join("scenarios")).unwrap_or_else(|e| panic!("the scenario library loads:\n{e}"));
    let spec = Arc::new(reference_spec(root));
    let picked: Vec<PlannedScenario> = lib
        .scenarios
        .iter()
        .filter(|s| s.id.starts_with("events."))
        .map(|s| {
            let steps = lib.expand(s).unwrap_or_else(|e| panic!("`{}` expands: {e}", s.id));
            PlannedScenario::new(s.clone(), steps)
        })
        .collect();
    assert!(!picked.is_empty());
    let server = MockServer::start(MockConfig::default())
        .await
        .expect("the reference server starts");
    let mut profile = Profile::from_url(&server.url()).unwrap();
    profile.pace = false;
    profile.events = EventsTransport::WebSocket;
    let report = run(RunPlan {
        contract: spec.into(),
        scenarios: picked,
        target: TargetSpec::Remote(profile),
        options: options(),
    })
    .await;
    server.shutdown().await;
    for s in &report.scenarios {
        assert_eq!(
            s.outcome,
            Outcome::Passed,
            "`{}` over WebSocket: {:#?}",
            s.id,
            all_findings(s)
        );
    }
    let upgraded = report
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|st| st.kind == "subscribe");
    for st in upgraded {
        assert_eq!(st.response.as_ref().map(|r| r.status), Some(101), "{}", st.name);
    }
}

#[tokio::test]
async fn parallel_runs_give_the_same_results_as_serial_ones_in_file_order() {
    let (url, _) = tiny(Behaviour::default()).await;
    let (url2, _) = tiny(Behaviour::default()).await;
    let repeat = repeat_yaml("par-repeat", 6, Some(4));
    let events = events_yaml(
        "par-events",
        "",
        "{type: job.available, job_id: j1}",
        "event: {stream: s, type: job.available}",
    );
    let missing = "id: test.par-missing\ntitle: x\nactors: {a: {role: agent}}\nsteps:\n  - as: a\n    request: {method: GET, path: /api/things/missing}\n";
    let yamls: Vec<&str> = vec![
        ASSERTIONS, &repeat, CLOCK, &events, missing, ASSERTIONS, &repeat, missing,
    ];
    let serial = run_all(remote(&url), &yamls, RunOptions { jobs: 1, ..options() }).await;
    let parallel = run_all(remote(&url2), &yamls, RunOptions { jobs: 4, ..options() }).await;
    let summary = |r: &RunReport| -> Vec<(String, Outcome, Vec<String>)> {
        r.scenarios
            .iter()
            .map(|s| (s.id.clone(), s.outcome.clone(), all_findings(s)))
            .collect()
    };
    assert_eq!(summary(&serial), summary(&parallel));
    assert_eq!(serial.totals, parallel.totals);
    assert_eq!(
        serial.scenarios.iter().map(|s| s.id.as_str()).collect::<Vec<_>>()[..3],
        ["test.assertions", "test.par-repeat", "test.clock"]
    );
}

#[tokio::test]
async fn fail_fast_stops_scheduling_after_a_must_failure() {
    let (url, _) = tiny(Behaviour {
        wrong: true,
        ..Behaviour::default()
    })
    .await;
    let report = run_all(
        remote(&url),
        &[ASSERTIONS, CLOCK],
        RunOptions {
            fail_fast: true,
            ..options()
        },
    )
    .await;
    assert_eq!(report.scenarios[0].outcome, Outcome::Failed);
    assert!(skipped_reason(&report.scenarios[1].outcome).contains("fail-fast"));
    assert_eq!(report.totals.failed_must, 1);
}

#[tokio::test]
async fn secrets_never_reach_the_report_or_its_files() {
    let (url, t) = tiny(Behaviour::default()).await;
    let yaml = r#"
id: test.secrets
title: secrets everywhere
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: POST, path: /api/things, json: {password: "{{poster.password}}", note: "key {{poster.api_key}}"}}
    expect: {status: 201}
    capture: {new_key: /api_key}
  - as: poster
    request:
      method: GET
      path: /api/echo
      headers: {X-API-Key: "{{new_key}}"}
  - as: poster
    auth: jwt
    request: {method: GET, path: "/api/things/{{poster.api_key}}", query: {pw: "{{poster.password}}"}}
    expect: {status: 404}
"#;
    let secrets = Secrets::new();
    let plan = RunPlan {
        contract: mini_spec().into(),
        scenarios: vec![planned(yaml)],
        target: remote(&url),
        options: options(),
    };
    let report = run_with_secrets(plan, secrets.clone()).await;
    let text = serde_json::to_string_pretty(&report).unwrap();
    let issued = t.seen.lock().issued.clone();
    assert!(issued.len() >= 4);
    for s in &issued {
        assert!(!text.contains(s.as_str()), "the report leaks `{s}`");
    }
    assert!(
        text.contains("[API_KEY:poster]") && text.contains("[PASSWORD:poster]"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("report.json");
    std::fs::write(&clean, &text).unwrap();
    let leaky = dir.path().join("leaky.txt");
    std::fs::write(&leaky, format!("oops {}", issued[0])).unwrap();
    assert_eq!(secrets.scan_files(&[dir.path()]).unwrap(), vec![leaky]);
}

#[tokio::test]
async fn a_static_profile_maps_actors_without_a_control_api() {
    let (url, t) = tiny(Behaviour {
        features: vec![],
        ..Behaviour::default()
    })
    .await;
    // A variable cargo sets for every test run (the crate forbids `unsafe`, so no `set_var`).
    let key = std::env::var("CARGO_PKG_NAME").expect("cargo sets CARGO_PKG_NAME when it runs tests");
    let text = format!("base_url: {url}\npace: false\nactors:\n  poster:\n    api_key_env: CARGO_PKG_NAME\n");
    let profile = Profile::parse(&text, "profile.yaml").unwrap();
    let yaml = "id: test.static\ntitle: x\nactors: {alice: {role: poster}}\nsteps:\n  - as: alice\n    request: {method: GET, path: /api/echo}\n";
    let two = "id: test.static2\ntitle: x\nactors: {a: {role: poster}, b: {role: poster}}\nsteps:\n  - as: a\n    request: {method: GET, path: /api/echo}\n";
    let agent = "id: test.static3\ntitle: x\nactors: {a: {role: agent}}\nsteps:\n  - as: a\n    request: {method: GET, path: /api/echo}\n";
    let report = run_all(TargetSpec::Remote(profile), &[yaml, two, agent], options()).await;
    assert_eq!(
        report.scenarios[0].outcome,
        Outcome::Passed,
        "{:?}",
        report.scenarios[0].outcome
    );
    assert_eq!(t.seen.lock().auth[0].0.as_deref(), Some(key.as_str()));
    let why = skipped_reason(&report.scenarios[1].outcome);
    assert!(why.contains("needs 2 distinct accounts"), "{why}");
    let why = skipped_reason(&report.scenarios[2].outcome);
    assert!(
        why.contains("needs an agent for `a`") && why.contains("poster is not an agent"),
        "{why}"
    );
}

/// A short clock step on a target without clock control is waited out in
/// real time, for its length on the target's clock: a profile's
/// `clock_rate: 600` makes a minute pass in a tenth of a second.
#[tokio::test]
async fn a_clock_step_without_clock_control_waits_on_the_targets_clock() {
    let (url, _) = tiny(Behaviour {
        features: vec![],
        ..Behaviour::default()
    })
    .await;
    let yaml = "id: test.wait\ntitle: x\nactors: {alice: {role: poster}}\nsteps:\n  - clock: {advance_seconds: 60}\n  - as: alice\n    request: {method: GET, path: /api/echo}\n";
    let text = format!("base_url: {url}\nclock_rate: 600\nactors:\n  poster:\n    api_key_env: CARGO_PKG_NAME\n");
    let profile = Profile::parse(&text, "profile.yaml").unwrap();
    let started = std::time::Instant::now();
    let report = run_all(TargetSpec::Remote(profile), &[yaml], options()).await;
    let took = started.elapsed();
    assert_eq!(
        report.scenarios[0].outcome,
        Outcome::Passed,
        "{:?}",
        report.scenarios[0].outcome
    );
    assert!(
        took >= std::time::Duration::from_millis(100) && took < std::time::Duration::from_secs(20),
        "a minute at 600x waits 0.1 s, took {took:?}"
    );
}

/// A pool account's hourly limit by tier is paced within a scenario: after
/// a burst of 20 funds (the free tier's hour), the next paced fund waits
/// for the first to leave the target's hour (`clock_rate: 3600`: a second),
/// or, when the scenario has not that long left, is never sent and the
/// scenario is skipped as "limit spent".
#[tokio::test]
async fn a_pool_accounts_hourly_limit_is_paced_within_a_scenario() {
    let yaml = "id: test.hourly\ntitle: x\nmoves_money: true\nactors: {poster: {role: poster}}\nsteps:\n  \
                - as: poster\n    request: {method: POST, path: /api/jobs/j1/fund-escrow}\n    \
                repeat: {times: 20, each: {status: 200}}\n  \
                - as: poster\n    request: {method: POST, path: /api/jobs/j1/fund-escrow}\n    expect: {status: 200}\n";
    let profile = |url: &str| {
        let text = format!(
            "base_url: {url}\nsandbox: true\nclock_rate: 3600\nactors:\n  poster:\n    api_key_env: CARGO_PKG_NAME\n"
        );
        TargetSpec::Remote(Profile::parse(&text, "profile.yaml").unwrap())
    };

    let (url, t) = tiny(Behaviour::default()).await;
    let report = run_all(profile(&url), &[yaml], options()).await;
    let s = &report.scenarios[0];
    assert_eq!(s.outcome, Outcome::Passed, "{:#?}", all_findings(s));
    let funds = t.seen.lock().funds.clone();
    assert_eq!(funds.len(), 21);
    assert!(
        funds[20].duration_since(funds[0]) >= Duration::from_millis(990),
        "the 21st fund came {:?} after the first, within the hour",
        funds[20].duration_since(funds[0])
    );

    let (url, t) = tiny(Behaviour::default()).await;
    let short = RunOptions {
        scenario_timeout: Duration::from_millis(800),
        ..options()
    };
    let report = run_all(profile(&url), &[yaml], short).await;
    let reason = skipped_reason(&report.scenarios[0].outcome);
    assert!(reason.contains("as pool account `poster`"), "{reason}");
    assert!(reason.contains("funding limit"), "{reason}");
    assert_eq!(t.seen.lock().funds.len(), 20, "the 21st fund is never sent");
}

/// The whole library in one run on one bundled server, as `run` does it by
/// default (many scenarios at once on a shared server; `tests/conformance.rs`
/// gives each scenario its own), judged strictly: the contract it ran with,
/// how many scenarios were planned, and the report. Run once per test
/// process: `coverage::every_documented_status_and_error_code_is_exercised`
/// computes the library's coverage from this same run.
pub(crate) static WHOLE_LIBRARY: LazyLock<(Contract, usize, RunReport)> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract = Contract::load(&root.join(DOCUMENTED_SPEC), Some(&root.join(REFERENCE_OVERLAY)))
        .unwrap_or_else(|e| panic!("the contract loads: {e}"));
    let lib = load_library(&root.join("scenarios")).unwrap_or_else(|e| panic!("the scenario library loads:\n{e}"));
    assert!(
        !lib.scenarios.is_empty(),
        "no scenario found under scenarios/: discovery is broken"
    );
    let scenarios: Vec<PlannedScenario> = lib
        .scenarios
        .iter()
        .map(|s| {
            let steps = lib.expand(s).unwrap_or_else(|e| panic!("`{}` expands: {e}", s.id));
            PlannedScenario::new(s.clone(), steps)
        })
        .collect();
    let areas: std::collections::BTreeSet<&str> = scenarios.iter().map(|p| p.area.as_str()).collect();
    assert!(areas.len() >= 10, "{} areas: {areas:?}", areas.len());
    let count = scenarios.len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // Scenarios mostly wait on the server (event windows): more at once than cores.
    let report = runtime.block_on(run(RunPlan {
        contract: contract.clone(),
        scenarios,
        target: TargetSpec::Bundled,
        options: RunOptions {
            jobs: 8,
            strict: true,
            ..RunOptions::default()
        },
    }));
    (contract, count, report)
});

/// Every scenario of the whole library passes against the bundled server,
/// strictly (our reference server departs from none of its own choices).
#[test]
fn the_bundled_reference_server_runs_the_library() {
    let (_, count, report) = &*WHOLE_LIBRARY;
    let count = *count;
    assert_eq!(report.scenarios.len(), count);
    assert_eq!(report.target.kind, "bundled");
    assert!(report.target.features.contains(&"actors".to_string()));
    let t = &report.totals;
    assert_eq!(t.passed + t.failed + t.skipped + t.errored, t.total);
    let style = TerminalStyle { color: false };
    let not_passed: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| s.outcome != Outcome::Passed)
        .map(|s| match &s.outcome {
            Outcome::Skipped { reason } => format!("`{}` could not run against the bundled server: {reason}", s.id),
            _ => render_failure(s, &style),
        })
        .collect();
    assert!(
        not_passed.is_empty(),
        "{} of {count} scenario(s) did not pass against the bundled server:\n\n{}",
        not_passed.len(),
        not_passed.join("\n")
    );
}

const OVER: &str = r#"
id: test.over
title: repeat over a collected list, with clock pauses
requires: [clock]
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: POST, path: /api/things}
    repeat: {times: 5, each: {status: 201}, collect: {ids: /id}, pause: {every: 2, advance_seconds: 100}}
    expect: {status: 201}
  - as: poster
    request: {method: GET, path: "/api/things/{{thing}}"}
    repeat: {times: 5, over: {thing: ids}, each: {status: 200}}
    expect:
      body: [{path: /id, equals: "{{ids.4}}"}]
  - as: poster
    request: {method: GET, path: /api/clock}
    expect:
      body: [{path: /advanced, equals: 200}]
  - as: poster
    request: {method: GET, path: "/api/things/{{thing}}"}
    repeat: {times: 6, over: {thing: ids}}
"#;

#[tokio::test]
async fn a_repeat_collects_a_list_sends_one_request_per_item_and_pauses_on_the_clock() {
    let (url, _) = tiny(Behaviour::default()).await;
    let r = run_one(&url, OVER).await;
    let steps: Vec<(u32, bool)> = r.steps.iter().map(|s| (s.attempts, s.outcome.is_passed())).collect();
    // Five things made (the clock moved twice: before the 3rd and the 5th),
    // each fetched by its own id (the last answer is the 5th thing's), and a
    // list of five cannot feed six requests.
    assert_eq!(steps[..3], [(5, true), (5, true), (1, true)], "{:#?}", all_findings(&r));
    assert!(
        errored_message(&r.outcome)
            .contains("`repeat.over.thing`: the list `ids` holds 5 items, fewer than the 6 requests of the repeat"),
        "{:?}",
        r.outcome
    );
}

/// `repeat.in_flight`: requests go out together, never across a pause, and
/// their answers are judged and collected in request order.
#[tokio::test]
async fn a_repeat_in_flight_sends_requests_together_and_keeps_their_order() {
    let (url, t) = tiny(Behaviour {
        thing_ms: 100,
        ..Behaviour::default()
    })
    .await;
    let yaml = OVER
        .replace(
            "repeat: {times: 5, each: {status: 201}",
            "repeat: {times: 5, in_flight: 4, each: {status: 201}",
        )
        .replace(
            "repeat: {times: 5, over: {thing: ids}",
            "repeat: {times: 5, in_flight: 3, over: {thing: ids}",
        );
    let r = run_one(&url, &yaml).await;
    let steps: Vec<(u32, bool)> = r.steps.iter().map(|s| (s.attempts, s.outcome.is_passed())).collect();
    // As one after another: five made, the clock moved between the groups
    // of two (a wave of four never crosses a pause), and the 5th answer is
    // the 5th thing's, though three were asked at once.
    assert_eq!(steps[..3], [(5, true), (5, true), (1, true)], "{:#?}", all_findings(&r));
    assert_eq!(t.seen.lock().things_max, 3, "three in flight at once");
}

fn bundled_contract() -> Contract {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Contract::load(&root.join(DOCUMENTED_SPEC), Some(&root.join(REFERENCE_OVERLAY)))
        .unwrap_or_else(|e| panic!("the contract loads: {e}"))
}

/// The bundled server publishes an event while it answers the request that
/// causes it, so a quiet window against it lasts at most
/// `BUNDLED_EVENT_LAG`; against a remote target, the scenario's window,
/// unless its control API declares the same promise (`events_sync`).
#[tokio::test]
async fn quiet_windows_against_the_bundled_server_last_its_event_lag() {
    use agentgigs_conformance::target::BUNDLED_EVENT_LAG;
    let yaml = |within: u64| {
        format!(
            "id: test.quiet\ntitle: quiet\nactors: {{agent: {{role: agent}}}}\nsteps:\n  - as: agent\n    \
             subscribe: {{stream: s}}\n  - no_event: {{stream: s, within_ms: {within}}}\n"
        )
    };
    let bundled = run(RunPlan {
        contract: bundled_contract(),
        scenarios: vec![planned(&yaml(20_000))],
        target: TargetSpec::Bundled,
        options: options(),
    })
    .await;
    let s = &bundled.scenarios[0];
    assert_eq!(s.outcome, Outcome::Passed, "{:#?}", all_findings(s));
    // It ends at the flush marker (`events_flush`), at most at the lag.
    let quiet = s.steps[1].duration_ms;
    assert!(
        quiet <= BUNDLED_EVENT_LAG.as_millis() as u64 + 1_000,
        "watched {quiet} ms"
    );

    let (url, _) = tiny(Behaviour::default()).await;
    let remote = run_one(&url, &yaml(400)).await;
    assert_eq!(remote.outcome, Outcome::Passed, "{:#?}", all_findings(&remote));
    assert!(
        remote.steps[1].duration_ms >= 400,
        "watched {} ms",
        remote.steps[1].duration_ms
    );

    // A bundled server whose clock runs fast makes no such promise (it
    // releases payments between requests): the window is watched in full.
    let fast = run(RunPlan {
        contract: bundled_contract(),
        scenarios: vec![planned(&yaml(400))],
        target: TargetSpec::BundledWith(MockConfig {
            clock_rate: 60,
            ..MockConfig::default()
        }),
        options: options(),
    })
    .await;
    let s = &fast.scenarios[0];
    assert_eq!(s.outcome, Outcome::Passed, "{:#?}", all_findings(s));
    assert!(s.steps[1].duration_ms >= 400, "watched {} ms", s.steps[1].duration_ms);

    // A remote target whose control API declares `events_sync` makes the
    // bundled server's promise: the window lasts its event lag plus the
    // network's round trip, far less than the scenario's 20 s.
    let (url, _) = tiny(Behaviour {
        features: vec!["actors", "clock", "reset", "events_sync"],
        ..Behaviour::default()
    })
    .await;
    let declared = run_one(&url, &yaml(20_000)).await;
    assert_eq!(declared.outcome, Outcome::Passed, "{:#?}", all_findings(&declared));
    let quiet = declared.steps[1].duration_ms;
    assert!(
        quiet >= BUNDLED_EVENT_LAG.as_millis() as u64 && quiet < 5_000,
        "watched {quiet} ms"
    );
}

/// `Recording::Failures` (what `run` uses without reports or transcripts):
/// a passing scenario's steps keep no exchanges, a failing one's keep them
/// all, redacted.
#[tokio::test]
async fn recording_failures_keeps_the_exchanges_of_failing_scenarios_only() {
    use agentgigs_conformance::runner::Recording;
    let yaml = |id: &str, status: u16| {
        format!(
            "id: test.{id}\ntitle: {id}\nactors: {{agent: {{role: agent}}}}\nsteps:\n  - as: agent\n    \
             request: {{method: GET, path: /api/wallet}}\n    expect: {{status: {status}}}\n"
        )
    };
    let report = run(RunPlan {
        contract: bundled_contract(),
        scenarios: vec![planned(&yaml("passes", 200)), planned(&yaml("fails", 404))],
        target: TargetSpec::Bundled,
        options: RunOptions {
            record: Recording::Failures,
            progress_steps: false,
            ..options()
        },
    })
    .await;
    let (passes, fails) = (&report.scenarios[0], &report.scenarios[1]);
    assert_eq!(passes.outcome, Outcome::Passed, "{:#?}", all_findings(passes));
    assert!(passes.steps.iter().all(|s| s.request.is_none() && s.response.is_none()));
    assert_eq!(fails.outcome, Outcome::Failed);
    let step = &fails.steps[0];
    let req = step.request.as_ref().expect("the failing step keeps its request");
    assert_eq!(step.response.as_ref().map(|r| r.status), Some(200));
    let auth: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-api-key") || n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(!auth.is_empty() && auth.iter().all(|v| v.contains('[')), "{auth:?}");
}
