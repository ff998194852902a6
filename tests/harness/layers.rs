//! The two layers of the contract in the runner: a break of the documented
//! contract (or of a scenario's documented expectation) is a failure; a
//! difference from our reference server's choices is a departure, reported
//! apart, never failing the run and never stopping the scenario, unless the
//! run is strict.

use crate::tiny;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentgigs_conformance::finding::FindingKind;
use agentgigs_conformance::report::model::{Outcome, RunReport, ScenarioReport};
use agentgigs_conformance::runner::{PlannedScenario, RunOptions, RunPlan, run};
use agentgigs_conformance::scenario::parse_scenario;
use agentgigs_conformance::spec::{Contract, Spec};
use agentgigs_conformance::target::{Profile, TargetSpec};
use tiny::{Behaviour, Tiny};

/// The reference layer over the mini spec: `GET /api/things/{id}` always
/// has a `name`, and things are created with 201 exactly (the documented
/// layer would accept any 2xx after this overlay removes nothing).
const OVERLAY: &str = r#"
overlay: 1.0.0
actions:
  - target: $.paths['/api/things/{id}'].get.responses['200'].content['application/json'].schema.required
    description: our reference server always names a thing
    update: [name, colour]
"#;

fn contract() -> Contract {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runner/mini.openapi.yaml");
    let documented = Spec::load(&p).expect("the mini spec loads");
    let reference = Contract::reference_of(&documented, OVERLAY, "overlay.yaml").expect("the overlay applies");
    Contract::new(Arc::new(documented), Some(Arc::new(reference)))
}

fn planned(yaml: &str) -> PlannedScenario {
    let s = parse_scenario(yaml, "scenarios/test/case.yaml").unwrap_or_else(|e| panic!("bad test scenario: {e}"));
    let steps = s.steps.clone();
    PlannedScenario::new(s, steps)
}

async fn run_yaml(url: &str, yaml: &str, strict: bool) -> RunReport {
    let mut p = Profile::from_url(url).unwrap();
    p.pace = false;
    run(RunPlan {
        contract: contract(),
        scenarios: vec![planned(yaml)],
        target: TargetSpec::Remote(p),
        options: RunOptions {
            request_timeout: Duration::from_secs(2),
            strict,
            ..RunOptions::default()
        },
    })
    .await
}

async fn server(b: Behaviour) -> String {
    Tiny::new(b).start().await
}

fn messages(r: &ScenarioReport) -> (Vec<String>, Vec<String>) {
    let f = r
        .steps
        .iter()
        .flat_map(|s| s.findings.iter().map(|f| f.message.clone()))
        .collect();
    let d = r
        .steps
        .iter()
        .flat_map(|s| s.departures.iter().map(|f| f.message.clone()))
        .collect();
    (f, d)
}

const THING: &str = r#"
id: test.layers
title: a documented check and a reference choice
actors: {poster: {role: poster}}
steps:
  - name: read the thing
    as: poster
    request: {method: GET, path: /api/things/t1}
    expect:
      status: 2xx
      body:
        - {path: /id, equals: t1}
      reference:
        status: 200
        body:
          - {path: /name, equals: "the reference name"}
  - name: a later documented check still runs
    as: poster
    request: {method: GET, path: /api/things/missing}
    expect: {status: 4xx}
"#;

#[tokio::test]
async fn a_reference_difference_is_a_departure_and_the_scenario_goes_on() {
    let url = server(Behaviour::default()).await;
    let report = run_yaml(&url, THING, false).await;
    let r = &report.scenarios[0];
    let (findings, departures) = messages(r);
    assert_eq!(r.outcome, Outcome::Passed, "{findings:#?}");
    assert!(findings.is_empty(), "{findings:#?}");
    // The schema of the reference layer (`colour` required) and the
    // scenario's reference expectation (`name`) both depart.
    assert!(departures.iter().any(|m| m.contains("colour")), "{departures:#?}");
    assert!(
        departures.iter().any(|m| m.contains("the reference name")),
        "{departures:#?}"
    );
    assert_eq!(r.steps.len(), 2);
    assert!(r.steps[1].outcome.is_passed(), "the step after a departure ran");
    assert_eq!(report.totals.failed_must, 0);
    assert_eq!(report.totals.departing, 1);
    assert_eq!(report.totals.departures, departures.len());
    assert!(report.reference.is_some());
}

#[tokio::test]
async fn strict_turns_departures_into_failures() {
    let url = server(Behaviour::default()).await;
    let report = run_yaml(&url, THING, true).await;
    let r = &report.scenarios[0];
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(report.totals.failed_must, 1);
    assert_eq!(report.totals.departures, 0);
    assert!(report.strict);
    let (findings, _) = messages(r);
    assert!(
        findings
            .iter()
            .all(|m| m.starts_with("departs from the reference server (--strict)")),
        "{findings:#?}"
    );
}

#[tokio::test]
async fn a_documented_break_is_still_a_failure() {
    let url = server(Behaviour {
        wrong: true,
        ..Behaviour::default()
    })
    .await;
    let report = run_yaml(&url, THING, false).await;
    let r = &report.scenarios[0];
    assert_eq!(r.outcome, Outcome::Failed);
    let (findings, _) = messages(r);
    // `price` must be an integer (documented schema), `id` must be t1 (documented expectation).
    assert!(
        findings.iter().any(|m| m.contains("price") || m.contains("/price")),
        "{findings:#?}"
    );
    assert!(findings.iter().any(|m| m.contains("t1")), "{findings:#?}");
    assert_eq!(report.totals.failed_must, 1);
}

const REFERENCE_STEP: &str = r#"
id: test.reference-step
title: a step that checks only a reference choice
actors: {poster: {role: poster}}
steps:
  - name: our reference server names things `the reference name`
    level: reference
    as: poster
    request: {method: GET, path: /api/things/t1}
    expect:
      status: 201
      body: [{path: /name, equals: "the reference name"}]
    capture: {nick: /nickname}
  - name: uses what the reference step would have captured
    as: poster
    request: {method: GET, path: "/api/things/{{nick}}"}
  - name: a documented check after it still runs
    as: poster
    request: {method: GET, path: /api/things/t2}
    expect:
      status: 200
      body: [{path: /id, equals: t2}]
"#;

#[tokio::test]
async fn a_reference_step_departs_and_what_depends_on_it_is_skipped() {
    let url = server(Behaviour::default()).await;
    let report = run_yaml(&url, REFERENCE_STEP, false).await;
    let r = &report.scenarios[0];
    let (findings, departures) = messages(r);
    assert_eq!(r.outcome, Outcome::Passed, "{findings:#?}");
    assert!(departures.iter().any(|m| m.contains("201")), "{departures:#?}");
    assert!(departures.iter().any(|m| m.contains("nickname")), "{departures:#?}");
    match &r.steps[1].outcome {
        Outcome::Skipped { reason } => assert!(reason.contains("`nick`") && reason.contains("step 1"), "{reason}"),
        other => panic!("expected the dependent step skipped, got {other:?}"),
    }
    assert!(r.steps[2].outcome.is_passed(), "{:?}", r.steps[2]);
}

#[tokio::test]
async fn a_whole_reference_scenario_never_fails() {
    let url = server(Behaviour {
        wrong: true,
        ..Behaviour::default()
    })
    .await;
    let yaml = THING.replace("title: a documented", "level: reference\ntitle: a documented");
    let report = run_yaml(&url, &yaml, false).await;
    let r = &report.scenarios[0];
    let (findings, departures) = messages(r);
    assert_eq!(r.outcome, Outcome::Passed, "{findings:#?}");
    assert!(!departures.is_empty());
    assert_eq!(report.totals.failed, 0);
}

#[tokio::test]
async fn status_families_accept_the_family_only() {
    let url = server(Behaviour::default()).await;
    let yaml = r#"
id: test.family
title: families
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: GET, path: /api/things/missing}
    expect: {status: 5xx}
"#;
    let report = run_yaml(&url, yaml, false).await;
    let (findings, _) = messages(&report.scenarios[0]);
    assert_eq!(findings, ["status 404, expected 5xx"]);
}

#[tokio::test]
async fn an_empty_selection_fails_unless_allowed_and_any_of_captures_the_first_present() {
    let url = server(Behaviour::default()).await;
    let yaml = r#"
id: test.empty
title: empty selections
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: GET, path: /api/things/t1}
    capture: {thing: [/thing/id, /identifier, /id]}
    expect:
      body:
        - {path: "$.colours[*]", type: string}
  - as: poster
    request: {method: GET, path: "/api/things/{{thing}}"}
    expect:
      body:
        - {path: "$.colours[*]", type: string, allow_empty: true}
        - {path: /id, equals: t1}
"#;
    let report = run_yaml(&url, yaml, false).await;
    let r = &report.scenarios[0];
    let f = &r.steps[0].findings;
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].kind, FindingKind::Body);
    assert!(f[0].message.contains("selects nothing"), "{}", f[0].message);
    // The first step failed, so the run stopped; run the second alone.
    let second = yaml.replace(
        "    expect:\n      body:\n        - {path: \"$.colours[*]\", type: string}\n",
        "",
    );
    let report = run_yaml(&url, &second, false).await;
    let r = &report.scenarios[0];
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", messages(r));
}

#[tokio::test]
async fn a_repeat_within_the_documented_range_departs_only_from_the_exact_reference() {
    let url = server(Behaviour {
        limit: 4,
        ..Behaviour::default()
    })
    .await;
    let yaml = r#"
id: test.repeat-range
title: repeat ranges
actors: {poster: {role: poster}}
steps:
  - as: poster
    request: {method: GET, path: /api/limited}
    repeat: {times: 8, until_status: 429, expect_at: [4, 7], reference: {expect_at: 4}}
    expect: {status: 429}
"#;
    let report = run_yaml(&url, yaml, false).await;
    let r = &report.scenarios[0];
    let (findings, departures) = messages(r);
    assert_eq!(r.outcome, Outcome::Passed, "{findings:#?}");
    assert_eq!(departures.len(), 1, "{departures:#?}");
    assert!(
        departures[0].contains("request 5") && departures[0].contains("request 4"),
        "{departures:#?}"
    );
    let early = yaml
        .replace("expect_at: [4, 7]", "expect_at: [6, 7]")
        .replace("{expect_at: 4}", "{expect_at: 6}");
    let report = run_yaml(&url, &early, false).await;
    let (findings, _) = messages(&report.scenarios[0]);
    assert!(findings.iter().any(|m| m.contains("too early")), "{findings:#?}");
}

#[tokio::test]
async fn an_event_that_keeps_only_the_documented_checks_departs() {
    let url = server(Behaviour::default()).await;
    let yaml = r#"
id: test.event-reference
title: event payloads are undocumented
actors: {poster: {role: poster}, agent: {role: agent}}
steps:
  - as: agent
    subscribe: {stream: s}
  - as: poster
    request: {method: POST, path: /api/emit, query: {type: job.available, job_id: j2}}
  - event:
      stream: s
      type: job.available
      within_ms: 300
      reference:
        match: [{path: /job_id, equals: j1}]
  - no_event: {stream: s, type: job.available, within_ms: 100}
"#;
    let report = run_yaml(&url, yaml, false).await;
    let r = &report.scenarios[0];
    let (findings, departures) = messages(r);
    assert_eq!(r.outcome, Outcome::Passed, "{findings:#?}");
    assert!(
        departures
            .iter()
            .any(|m| m.contains("departs from our reference server's payload") && m.contains("j1")),
        "{departures:#?}"
    );
    // The documented-only event was taken: nothing is left for `no_event`.
    assert!(r.steps[3].outcome.is_passed(), "{:?}", r.steps[3]);
    // The exact event passes with no departure.
    let exact = yaml.replace("job_id: j2", "job_id: j1");
    let report = run_yaml(&url, &exact, false).await;
    let (findings, departures) = messages(&report.scenarios[0]);
    assert!(
        findings.is_empty() && departures.is_empty(),
        "{findings:#?} {departures:#?}"
    );
}

// ------------------------------------------------------------------ lint

/// A documented contract with one documented code, a range for creation
/// and an undocumented answer, and a reference layer with our choices.
const LINT_DOC: &str = r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /api/jobs:
    post:
      responses:
        '2XX': {description: undocumented answer, content: {application/json: {schema: {type: object}}}}
        '4XX': {$ref: '#/components/responses/Error'}
  /api/jobs/{id}/apply:
    post:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: applied
          content: {application/json: {schema: {type: object, properties: {application: {type: object, properties: {id: {type: string}}}}}}}
        '403': {$ref: '#/components/responses/Error'}
        '4XX': {$ref: '#/components/responses/Error'}
components:
  responses:
    Error:
      description: error
      content:
        application/json:
          schema:
            type: object
            required: [error]
            properties:
              error: {type: string}
              code: {type: string, nullable: true, x-documented-codes: [ACKNOWLEDGMENT_REQUIRED]}
"#;

const LINT_OVERLAY: &str = r#"
overlay: 1.0.0
actions:
  - target: $.paths
    update:
      /api/jobs/{id}/attachments:
        post:
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          responses: {'201': {description: added}}
"#;

fn lint_of(scenario: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let area = dir.path().join("scenarios/test");
    std::fs::create_dir_all(&area).unwrap();
    std::fs::write(area.join("case.yaml"), scenario).unwrap();
    let library = agentgigs_conformance::scenario::load_library(&dir.path().join("scenarios")).unwrap();
    let documented = Spec::from_text(LINT_DOC, "doc.yaml").unwrap();
    let reference = Contract::reference_of(&documented, LINT_OVERLAY, "overlay.yaml").unwrap();
    let contract = Contract::new(Arc::new(documented), Some(Arc::new(reference)));
    agentgigs_conformance::plan::lint(&library, &contract)
        .iter()
        .filter(|f| f.severity == agentgigs_conformance::scenario::Severity::Error)
        .map(|f| f.to_string())
        .collect()
}

const LINT_HEAD: &str =
    "id: test.lint\ntitle: lint\ndoc: [llms.txt#x]\nrule: r\nactors: {agent: {role: agent}}\nsteps:\n";

#[test]
fn lint_refuses_must_assertions_the_docs_do_not_contain() {
    let bad = format!(
        "{LINT_HEAD}{}",
        r#"  - as: agent
    request: {method: POST, path: /api/jobs}
    expect: {status: 201}
    capture: {job: /job/id}
  - as: agent
    request: {method: POST, path: "/api/jobs/{{job}}/apply"}
    expect:
      status: 403
      body:
        - {path: /code, equals: NOT_VERIFIED}
        - {path: /hint, exists: true}
  - as: agent
    request: {method: POST, path: "/api/jobs/{{job}}/attachments"}
  - as: agent
    subscribe: {stream: s}
  - event: {stream: s, type: job.available, match: [{path: /job_id, equals: "{{job}}"}]}
"#
    );
    let errors = lint_of(&bad);
    let all = errors.join("\n");
    for want in [
        "status `201` is not fixed by the docs for `POST /api/jobs`",
        "capture `job` reads a place the documented answer",
        "`/code` is asserted to be \"NOT_VERIFIED\", a value the docs do not name",
        "`/hint` is not in the documented answer",
        "is a route the docs do not name",
        "payload fields are undocumented",
    ] {
        assert!(all.contains(want), "missing `{want}` in:\n{all}");
    }
    assert!(
        errors.iter().all(|e| e.starts_with("scenarios/test/case.yaml:")),
        "{all}"
    );

    let good = format!(
        "{LINT_HEAD}{}",
        r#"  - as: agent
    request: {method: POST, path: /api/jobs}
    expect: {status: 2xx, reference: {status: 201, body: [{path: /job/id, exists: true}]}}
    capture: {job: [/job/id, "$..id"]}
  - as: agent
    request: {method: POST, path: "/api/jobs/{{job}}/apply"}
    expect:
      status: 403
      body: [{path: /code, equals: ACKNOWLEDGMENT_REQUIRED}, {path: /error, type: string}]
      reference: {body: [{path: /code, equals: NOT_VERIFIED}, {path: /hint, exists: true}]}
  - as: agent
    level: reference
    request: {method: POST, path: "/api/jobs/{{job}}/attachments"}
  - as: agent
    subscribe: {stream: s}
  - event: {stream: s, type: job.available, reference: {match: [{path: /job_id, equals: "{{job}}"}]}}
"#
    );
    let errors = lint_of(&good);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[tokio::test]
async fn an_absolute_url_is_fetched_where_it_points_and_never_gets_credentials_abroad() {
    let here = server(Behaviour::default()).await;
    let abroad = server(Behaviour::default()).await;
    let yaml = format!(
        r#"
id: test.absolute
title: a signed URL elsewhere
actors: {{poster: {{role: poster}}}}
vars: {{here: "{here}", abroad: "{abroad}"}}
steps:
  - as: poster
    request: {{method: GET, path: "{{{{here}}}}/api/echo"}}
    expect: {{body: [{{path: /x_api_key, type: string}}]}}
  - as: poster
    request: {{method: GET, path: "{{{{abroad}}}}/api/echo"}}
    skip_checks: [{{check: operation, reason: another host}}]
    expect: {{body: [{{path: /x_api_key, equals: null}}, {{path: /authorization, equals: null}}]}}
"#
    );
    let report = run_yaml(&here, &yaml, false).await;
    let r = &report.scenarios[0];
    assert_eq!(r.outcome, Outcome::Passed, "{:#?}", messages(r));
}

#[tokio::test]
async fn a_documented_limit_spent_beyond_the_wait_is_could_not_run_and_beyond_its_window_a_failure() {
    // Registration: 10 per hour per IP. Asked to wait 50 minutes: within the
    // documented window, longer than the harness waits: could not run.
    let url = server(Behaviour {
        limit: 0,
        retry_after: "3000",
        ..Behaviour::default()
    })
    .await;
    let yaml = r#"
id: test.spent
title: a spent limit
steps:
  - auth: none
    request: {method: POST, path: /api/auth/register, json: {email: a@example.com, password: long enough}}
    skip_checks: [{check: operation, reason: not in the mini spec}]
    expect: {status: 2xx}
"#;
    let report = run_yaml(&url, yaml, false).await;
    match &report.scenarios[0].outcome {
        Outcome::Skipped { reason } => {
            assert!(reason.contains("registration limit of 10 per hour per IP"), "{reason}");
            assert!(reason.contains("retry in 50 min"), "{reason}");
        }
        other => panic!("expected could-not-run, got {other:?}"),
    }
    assert_eq!(report.spent_limits.len(), 1);
    assert_eq!(report.spent_limits[0].operation, "POST /api/auth/register");
    // Asked to wait longer than the hour the limit counts over: no
    // documented limit answers that.
    let url = server(Behaviour {
        limit: 0,
        retry_after: "90000",
        ..Behaviour::default()
    })
    .await;
    let report = run_yaml(&url, yaml, false).await;
    let (findings, _) = messages(&report.scenarios[0]);
    assert_eq!(report.scenarios[0].outcome, Outcome::Failed, "{findings:#?}");
    assert!(
        findings.iter().any(|m| m.contains("longer than the window")),
        "{findings:#?}"
    );
}
