//! Every report format, produced from one realistic hand-built run and read
//! back where the format allows: JSON (round trip, schema), JUnit (XML
//! well-formed, counts), Markdown (ids, rules, escaping), HTML (one file,
//! escaped, no network), terminal, explain, coverage and `write_report`.

use std::str::FromStr;

use agentgigs_conformance::report::coverage::{self, Coverage};
use agentgigs_conformance::report::model::*;
use agentgigs_conformance::report::{self, Format, ReportError, TerminalStyle, html, json, junit, markdown, terminal};
use agentgigs_conformance::scenario::{Level, Scenario};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert('pwned')</script>";
const NDA_RULE: &str =
    "POST /api/jobs/{id}/apply requires NDA acknowledgment first; without it, it returns 403 ACKNOWLEDGMENT_REQUIRED.";
const BOTH_RULE: &str = "Authentication: two headers, do not mix.";
/// A departure's message, as the runner words one.
const DEPARTURE: &str = "`/total` is missing: our reference server always sends it";

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[allow(clippy::too_many_arguments)]
fn request_step(
    index: usize,
    name: &str,
    location: &str,
    actor: &str,
    method: &str,
    template: &str,
    operation: &str,
    url: &str,
    body: Option<Value>,
    status: u16,
    response_body: Value,
    findings: Vec<Finding>,
) -> StepReport {
    let outcome = if findings.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    StepReport {
        departures: Vec::new(),
        index,
        name: name.into(),
        location: location.into(),
        actor: Some(actor.into()),
        kind: "request".into(),
        path_template: Some(template.into()),
        operation: Some(operation.into()),
        request: Some(RequestRecord {
            method: method.into(),
            url: url.into(),
            headers: headers(&[
                ("x-api-key", "[redacted:agent.api_key]"),
                ("content-type", "application/json"),
            ]),
            body,
        }),
        response: Some(ResponseRecord {
            status,
            headers: headers(&[("content-type", "application/json"), ("x-request-id", HOSTILE)]),
            content_type: Some("application/json".into()),
            body_bytes: response_body.to_string().len(),
            body: Some(response_body),
            elapsed_ms: 42,
        }),
        attempts: 1,
        retries: 0,
        skipped_checks: vec![],
        findings,
        outcome,
        duration_ms: 45,
    }
}

fn scenario(
    id: &str,
    area: &str,
    level: Level,
    rule: Option<&str>,
    outcome: Outcome,
    steps: Vec<StepReport>,
) -> ScenarioReport {
    ScenarioReport {
        id: id.into(),
        title: format!("Title of {id}"),
        file: format!("scenarios/{area}/{}.yaml", id.split('.').nth(1).unwrap_or(id)),
        area: area.into(),
        level,
        tags: vec![area.into()],
        doc: vec!["llms.txt#browse-and-apply".into(), "openapi:applyToJob".into()],
        rule: rule.map(str::to_string),
        moves_money: area == "nda" || area == "money",
        outcome,
        duration_ms: steps.iter().map(|s| s.duration_ms).sum::<u64>() + 3,
        steps,
    }
}

const BASE: &str = "https://sandbox.agentgigs.io";

/// A run with passed, failed (must and should), skipped and errored
/// scenarios across six areas, a hostile response body, and departures from
/// the reference server: two in a passed `should` scenario, one in a
/// scenario of level `reference`, one in a failed scenario.
fn sample_run() -> RunReport {
    let post_job = || {
        request_step(
            1,
            "post a job",
            "scenarios/_flows/post-job.yaml:5:5",
            "poster",
            "POST",
            "/api/agent/jobs",
            "POST /api/agent/jobs",
            &format!("{BASE}/api/agent/jobs"),
            Some(json!({"title": "Summarise 10 papers", "budget_cents": 6000})),
            201,
            json!({"job": {"id": "4f1c2d9e-8a7b-4c3d-9e8f-1a2b3c4d5e6f", "status": "open"}}),
            vec![],
        )
    };
    let nda_fail = request_step(
        2,
        "the agent applies without acknowledging the NDA",
        "scenarios/nda/apply-requires-ack.yaml:14:5",
        "agent",
        "POST",
        "/api/jobs/{{job_id}}/apply",
        "POST /api/jobs/{id}/apply",
        &format!("{BASE}/api/jobs/4f1c2d9e-8a7b-4c3d-9e8f-1a2b3c4d5e6f/apply"),
        Some(json!({"message": "I would like to take this job, please.", "proposed_price": 6000})),
        200,
        json!({"application": {"status": "pending", "note": HOSTILE}, "code": "OK"}),
        vec![
            Finding::new(FindingKind::Status, "expected status 403, got 200")
                .expected(403)
                .actual(200),
            Finding::new(FindingKind::Body, "`/code` should equal \"ACKNOWLEDGMENT_REQUIRED\"")
                .expected("ACKNOWLEDGMENT_REQUIRED")
                .actual("OK")
                .at_body("/code"),
            Finding::new(
                FindingKind::Schema,
                "`/application` does not match the documented schema: `job_id` is required",
            )
            .expected(json!({"status": "pending", "job_id": "4f1c2d9e-8a7b-4c3d-9e8f-1a2b3c4d5e6f"}))
            .actual(json!({"status": "pending", "note": HOSTILE}))
            .at_body("/application/job_id")
            .at_schema("#/components/schemas/Application/required"),
        ],
    );
    let both = request_step(
        1,
        "both headers",
        "scenarios/auth/both-headers.yaml:11:5",
        "agent",
        "GET",
        "/api/wallet",
        "GET /api/wallet",
        &format!("{BASE}/api/wallet"),
        None,
        200,
        json!({"balance_cents": 0}),
        vec![
            Finding::new(
                FindingKind::Status,
                "expected status 400, got 200 | pipes & <tags>\u{1b}]0;pwned\u{7}",
            )
            .expected(400)
            .actual(200),
        ],
    );
    let unauth = request_step(
        1,
        "no credentials",
        "scenarios/auth/missing-and-bad-credentials.yaml:12:5",
        "agent",
        "GET",
        "/api/wallet",
        "GET /api/wallet",
        &format!("{BASE}/api/wallet"),
        None,
        401,
        json!({"error": "Send X-API-Key.", "code": "UNAUTHENTICATED"}),
        vec![],
    );
    let mut limited = request_step(
        1,
        "31 searches",
        "scenarios/ratelimit/free-tier.yaml:9:5",
        "agent",
        "GET",
        "/api/jobs",
        "GET /api/jobs",
        &format!("{BASE}/api/jobs?limit=1"),
        None,
        429,
        json!({"error": "Slow down.", "code": "RATE_LIMITED", "retry_after": 30}),
        vec![],
    );
    limited.attempts = 31;
    limited.skipped_checks = vec!["headers: Retry-After is checked by the scenario".into()];

    let mut nda_steps = vec![post_job(), nda_fail];
    let mut third = post_job();
    third.index = 3;
    third.name = "not run after the failure".into();
    third.outcome = Outcome::Skipped {
        reason: "an earlier step failed".into(),
    };
    third.request = None;
    third.response = None;
    third.attempts = 0;
    nda_steps.push(third);
    // A failed scenario may depart too: the first step kept the documented
    // contract but not our reference server's choice.
    nda_steps[0].departures = vec![
        Finding::new(
            FindingKind::MissingHeader,
            "no `Location` header: our reference server sends one with 201",
        )
        .expected("/api/jobs/4f1c2d9e-8a7b-4c3d-9e8f-1a2b3c4d5e6f")
        .at_schema("#/paths/~1api~1agent~1jobs/post/responses/201/headers/Location"),
    ];

    let mut errored_step = post_job();
    errored_step.response = None;
    errored_step.outcome = Outcome::Errored {
        message: "connection refused (os error 111)".into(),
    };

    // Passed, yet departs twice from the reference server (the second
    // message is hostile: a pipe, markup and a terminal escape).
    let mut search = request_step(
        1,
        "search with no filters",
        "scenarios/discovery/search-defaults.yaml:10:5",
        "agent",
        "GET",
        "/api/jobs",
        "GET /api/jobs",
        &format!("{BASE}/api/jobs"),
        None,
        200,
        json!({"jobs": [{"id": "j2"}, {"id": "j1"}], "count": 2}),
        vec![],
    );
    search.departures = vec![
        Finding::new(FindingKind::Schema, DEPARTURE)
            .expected(json!(["jobs", "count", "total"]))
            .actual(json!(["jobs", "count"]))
            .at_body("/total")
            .at_schema("#/components/schemas/JobList/required"),
        Finding::new(
            FindingKind::Body,
            "`/jobs` is not newest first | as <b>our</b> reference server sorts it\u{1b}[2J",
        )
        .expected(json!(["j1", "j2"]))
        .actual(json!(["j2", "j1"]))
        .at_body("/jobs"),
    ];
    // A scenario of level `reference`: it only checks a reference choice.
    let mut window = request_step(
        1,
        "35 searches",
        "scenarios/ratelimit/reference-window.yaml:9:5",
        "agent",
        "GET",
        "/api/jobs",
        "GET /api/jobs",
        &format!("{BASE}/api/jobs?limit=1"),
        None,
        429,
        json!({"error": "Slow down.", "code": "RATE_LIMITED"}),
        vec![],
    );
    window.attempts = 35;
    window.departures = vec![
        Finding::new(
            FindingKind::Repeat,
            "429 arrived at request 35; our reference server answers it at request 31",
        )
        .expected(31)
        .actual(35),
    ];

    let scenarios = vec![
        scenario(
            "auth.missing-and-bad-credentials",
            "auth",
            Level::Must,
            Some("Requests without valid credentials are refused with 401."),
            Outcome::Passed,
            vec![unauth],
        ),
        scenario(
            "auth.both-headers-refused",
            "auth",
            Level::Should,
            Some(BOTH_RULE),
            Outcome::Failed,
            vec![both],
        ),
        scenario(
            "nda.apply-requires-ack",
            "nda",
            Level::Must,
            Some(NDA_RULE),
            Outcome::Failed,
            nda_steps,
        ),
        scenario(
            "lifecycle.no-proof-happy-path",
            "lifecycle",
            Level::Must,
            None,
            Outcome::Errored {
                message: "target unreachable: connection refused (os error 111)".into(),
            },
            vec![errored_step],
        ),
        scenario(
            "money.release-requires-approval",
            "money",
            Level::Must,
            Some("Only the poster releases escrow."),
            Outcome::Skipped {
                reason: "moves money on a non-sandbox target (pass --allow-money)".into(),
            },
            vec![],
        ),
        scenario(
            "ratelimit.free-tier-30-per-minute",
            "ratelimit",
            Level::Must,
            Some("Free tier: 30 requests per minute."),
            Outcome::Passed,
            vec![limited],
        ),
        scenario(
            "discovery.search-defaults",
            "discovery",
            Level::Should,
            Some("GET /api/jobs lists open jobs."),
            Outcome::Passed,
            vec![search],
        ),
        scenario(
            "ratelimit.reference-window",
            "ratelimit",
            Level::Reference,
            None,
            Outcome::Passed,
            vec![window],
        ),
    ];
    let totals = report::tally(&scenarios);
    RunReport {
        schema_version: REPORT_SCHEMA_VERSION,
        min_executed: 50,
        spent_limits: Vec::new(),
        tool_version: "0.1.0".into(),
        target: TargetInfo {
            base_url: BASE.into(),
            kind: "remote".into(),
            sandbox: true,
            features: vec!["actors".into(), "clock".into(), "reset".into()],
        },
        spec: SpecInfo {
            path: "specs/agentgigs.openapi.yaml".into(),
            title: "AgentGigs API".into(),
            version: "1.4.0".into(),
            openapi: "3.0.3".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        },
        reference: Some(SpecInfo {
            path: "specs/reference.overlay.yaml over specs/agentgigs.openapi.yaml".into(),
            title: "AgentGigs reference server choices".into(),
            version: "1.0.0".into(),
            openapi: "3.0.3".into(),
            sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".into(),
        }),
        strict: false,
        started_at: "2025-06-01T12:00:00Z".into(),
        duration_ms: 12_345,
        scenarios,
        totals,
        money: vec![MoneyMoved {
            scenario: "nda.apply-requires-ack".into(),
            actor: "poster".into(),
            cents: 6000,
        }],
    }
}

/// The same run with `--strict`: every departure became a failure whose
/// message starts with [`STRICT_PREFIX`], and the scenarios that only
/// departed failed (a `should` one at must level: strict failures fail the run).
fn strict_run() -> RunReport {
    let mut run = sample_run();
    run.strict = true;
    for s in &mut run.scenarios {
        let mut failed = false;
        for st in &mut s.steps {
            for mut f in std::mem::take(&mut st.departures) {
                f.message = format!("{STRICT_PREFIX}{}", f.message);
                st.findings.push(f);
            }
            if !st.findings.is_empty() {
                st.outcome = Outcome::Failed;
                failed = true;
            }
        }
        if failed {
            s.outcome = Outcome::Failed;
        }
    }
    run.totals = report::tally(&run.scenarios);
    run
}

fn sample_coverage(r: &RunReport) -> Coverage {
    let ops = vec![
        (
            "POST".to_string(),
            "/api/agent/jobs".to_string(),
            vec!["201".to_string(), "400".to_string()],
        ),
        (
            "POST".to_string(),
            "/api/jobs/{id}/apply".to_string(),
            vec!["200".to_string(), "403".to_string()],
        ),
        (
            "GET".to_string(),
            "/api/wallet".to_string(),
            vec!["200".to_string(), "4XX".to_string()],
        ),
        (
            "GET".to_string(),
            "/api/jobs".to_string(),
            vec!["200".to_string(), "default".to_string()],
        ),
    ];
    let codes = vec![
        "UNAUTHENTICATED".to_string(),
        "RATE_LIMITED".to_string(),
        "ACKNOWLEDGMENT_REQUIRED".to_string(),
    ];
    Coverage::from_reports(&ops, &codes, &r.scenarios)
}

#[test]
fn totals_add_up() {
    let t = sample_run().totals;
    assert_eq!(t.total, 8);
    // Departures are never failures: the two scenarios that only depart passed.
    assert_eq!((t.passed, t.failed, t.skipped, t.errored), (4, 2, 1, 1));
    assert_eq!(t.passed + t.failed + t.skipped + t.errored, t.total);
    assert_eq!(t.failed_must, 1);
    assert_eq!((t.departures, t.departing), (4, 3));
    assert_eq!(t.requests, 1 + 1 + 2 + 1 + 31 + 1 + 35);

    // With --strict they are failures, and none is left as a departure.
    let t = strict_run().totals;
    assert_eq!((t.passed, t.failed, t.skipped, t.errored), (2, 4, 1, 1));
    assert_eq!(t.failed_must, 3);
    assert_eq!((t.departures, t.departing), (0, 0));
}

#[test]
fn json_round_trips_and_validates_against_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/run-report.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(schema, json::schema(), "the embedded schema is the file");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["properties"]["schema_version"]["const"], REPORT_SCHEMA_VERSION);
    assert_eq!(REPORT_SCHEMA_VERSION, 2);
    jsonschema::meta::validate(&schema).expect("the schema is a valid draft 2020-12 schema");
    let validator = jsonschema::validator_for(&schema).unwrap();

    // The sample run (departures, a reference layer) and its strict twin.
    for run in [sample_run(), strict_run()] {
        let text = json::to_json(&run);
        assert_eq!(json::from_json(&text).unwrap(), run);
        let instance: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(json::validate(&instance).is_empty());
    }

    let run = sample_run();
    let instance: Value = serde_json::from_str(&json::to_json(&run)).unwrap();
    // Departures sit apart from the findings and are counted apart.
    let search = &instance["scenarios"][6];
    assert_eq!(search["id"], "discovery.search-defaults");
    assert_eq!(search["outcome"], json!({"status": "passed"}));
    assert_eq!(search["steps"][0]["findings"], json!([]));
    assert_eq!(search["steps"][0]["departures"][0]["message"], DEPARTURE);
    assert_eq!(search["steps"][0]["departures"][0]["body_pointer"], "/total");
    assert_eq!(instance["scenarios"][7]["level"], "reference");
    assert_eq!(instance["totals"]["departures"], 4);
    assert_eq!(instance["totals"]["departing"], 3);
    assert_eq!(instance["totals"]["failed"], 2);
    assert_eq!(instance["strict"], false);
    assert_eq!(instance["reference"]["title"], "AgentGigs reference server choices");

    // `reference` is nullable but required; `strict` is a boolean.
    let mut no_reference = instance.clone();
    no_reference["reference"] = Value::Null;
    assert!(validator.is_valid(&no_reference));
    let mut bad = instance.clone();
    bad.as_object_mut().unwrap().remove("reference");
    assert!(!validator.is_valid(&bad));
    let mut bad = instance.clone();
    bad["strict"] = json!("no");
    assert!(!validator.is_valid(&bad));
    // The new counts and a step's departures are required.
    let mut bad = instance.clone();
    bad["totals"].as_object_mut().unwrap().remove("departures");
    assert!(!validator.is_valid(&bad));
    let mut bad = instance.clone();
    bad["scenarios"][6]["steps"][0]
        .as_object_mut()
        .unwrap()
        .remove("departures");
    assert!(!validator.is_valid(&bad));
    // A departure is a finding: same shape, same strictness.
    let mut bad = instance.clone();
    bad["scenarios"][6]["steps"][0]["departures"][0]["kind"] = json!("vibes");
    assert!(!validator.is_valid(&bad));

    // The schema is strict: a wrong version, a missing field, an unknown
    // field or an unknown outcome or level are rejected.
    let mut bad = instance.clone();
    bad["schema_version"] = json!(1);
    assert!(!validator.is_valid(&bad));
    let mut bad = instance.clone();
    bad["scenarios"][0].as_object_mut().unwrap().remove("level");
    assert!(!validator.is_valid(&bad));
    let mut bad = instance.clone();
    bad["scenarios"][0]["level"] = json!("could");
    assert!(!validator.is_valid(&bad));
    let mut bad = instance.clone();
    bad["totals"]["extra"] = json!(1);
    assert!(!validator.is_valid(&bad));
    let mut bad = instance.clone();
    bad["scenarios"][0]["outcome"] = json!({"status": "flaky"});
    assert!(!validator.is_valid(&bad));
}

#[test]
fn from_json_names_the_version_and_the_field() {
    let run = sample_run();
    let mut v: Value = serde_json::from_str(&json::to_json(&run)).unwrap();
    // A version 1 report (before departures) is refused by name.
    v["schema_version"] = json!(1);
    match json::from_json(&v.to_string()) {
        Err(ReportError::SchemaVersion { found: 1, expected: 2 }) => {}
        other => panic!("{other:?}"),
    }
    v["schema_version"] = json!(2);
    v["scenarios"][2]["steps"][1]["response"]["status"] = json!("two hundred");
    match json::from_json(&v.to_string()) {
        Err(ReportError::InvalidJson { pointer, .. }) => {
            assert_eq!(pointer, "/scenarios/2/steps/1/response/status")
        }
        other => panic!("{other:?}"),
    }
    v["scenarios"][2]["steps"][1]["response"]["status"] = json!(200);
    v["scenarios"][6]["steps"][0]["departures"][0]["kind"] = json!("vibes");
    match json::from_json(&v.to_string()) {
        Err(ReportError::InvalidJson { pointer, .. }) => {
            assert_eq!(pointer, "/scenarios/6/steps/0/departures/0/kind")
        }
        other => panic!("{other:?}"),
    }
    v.as_object_mut().unwrap().remove("schema_version");
    match json::from_json(&v.to_string()) {
        Err(ReportError::InvalidJson { pointer, message }) => {
            assert_eq!(pointer, "/schema_version");
            assert!(message.contains("`2`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(json::from_json("{").is_err());
}

/// Counts of one `<testsuite>` or of `<testsuites>`, from attributes.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

/// Reads a JUnit report with a plain XML reader: checks it is well formed,
/// that every declared count matches the elements and the run's totals,
/// and that every scenario is a test case of its area's suite. Returns the
/// XML and the `<failure>` messages.
fn check_junit(run: &RunReport) -> (String, Vec<String>) {
    use quick_xml::events::Event;

    let xml = junit::to_junit(run).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> Option<String> {
        e.try_get_attribute(name).unwrap().map(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .unwrap()
                .into_owned()
        })
    };
    let num = |e: &quick_xml::events::BytesStart, name: &str| -> usize {
        attr(e, name).map(|v| v.parse().unwrap()).unwrap_or(0)
    };
    let mut declared_root = Counts::default();
    let mut declared_suites: Vec<(String, Counts)> = vec![];
    let mut seen = Counts::default();
    let mut cases: Vec<(String, String)> = vec![];
    let mut failure_messages = vec![];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuites" => {
                    declared_root = Counts {
                        tests: num(&e, "tests"),
                        failures: num(&e, "failures"),
                        errors: num(&e, "errors"),
                        skipped: num(&e, "skipped"),
                    };
                    assert!(attr(&e, "time").is_some());
                }
                b"testsuite" => {
                    declared_suites.push((
                        attr(&e, "name").unwrap(),
                        Counts {
                            tests: num(&e, "tests"),
                            failures: num(&e, "failures"),
                            errors: num(&e, "errors"),
                            skipped: num(&e, "skipped"),
                        },
                    ));
                }
                b"testcase" => {
                    seen.tests += 1;
                    cases.push((attr(&e, "name").unwrap(), attr(&e, "classname").unwrap()));
                    assert!(attr(&e, "time").is_some());
                }
                b"failure" => {
                    seen.failures += 1;
                    failure_messages.push(attr(&e, "message").unwrap());
                }
                b"error" => seen.errors += 1,
                b"skipped" => seen.skipped += 1,
                _ => {}
            },
            _ => {}
        }
    }
    let t = &run.totals;
    assert_eq!(
        seen,
        Counts {
            tests: t.total,
            failures: t.failed,
            errors: t.errored,
            skipped: t.skipped
        }
    );
    assert_eq!(declared_root, seen);
    let sum = declared_suites.iter().fold(Counts::default(), |mut a, (_, c)| {
        a.tests += c.tests;
        a.failures += c.failures;
        a.errors += c.errors;
        a.skipped += c.skipped;
        a
    });
    assert_eq!(sum, seen);
    let names: Vec<&str> = declared_suites.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["auth", "discovery", "lifecycle", "money", "nda", "ratelimit"]);
    for s in &run.scenarios {
        assert!(cases.contains(&(s.id.clone(), s.area.clone())), "{} missing", s.id);
    }
    assert!(!xml.contains("<script>"));
    assert!(!xml.contains('\u{1b}'));
    // quick-junit reads it back too.
    let back = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!((back.tests, back.failures, back.errors), (t.total, t.failed, t.errored));
    (xml, failure_messages)
}

#[test]
fn junit_is_well_formed_and_counts_add_up() {
    let (xml, failure_messages) = check_junit(&sample_run());
    assert!(failure_messages.contains(&"expected status 403, got 200".to_string()));
    // The body lists every finding of the failing step with where and what.
    assert!(xml.contains("scenarios/nda/apply-requires-ack.yaml:14:5"));
    assert!(xml.contains("POST https://sandbox.agentgigs.io/api/jobs/4f1c2d9e-8a7b-4c3d-9e8f-1a2b3c4d5e6f/apply"));
    assert!(xml.contains("#/components/schemas/Application/required"));
    assert!(xml.contains("moves money on a non-sandbox target"));
    // Departures are no failures: only the two failed scenarios fail.
    assert_eq!(failure_messages.len(), 2, "{failure_messages:?}");
    assert!(!failure_messages.iter().any(|m| m.contains("reference server")));
}

#[test]
fn junit_puts_departures_in_system_out_and_properties() {
    let run = sample_run();
    let (xml, _) = check_junit(&run);
    assert!(xml.contains("failures=\"2\""), "{xml}");
    let back = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let case = |id: &str| {
        back.test_suites
            .iter()
            .flat_map(|s| s.test_cases.iter())
            .find(|c| c.name.as_str() == id)
            .unwrap_or_else(|| panic!("no test case {id}"))
            .clone()
    };
    let props = |c: &quick_junit::TestCase, name: &str| -> Vec<String> {
        c.properties
            .iter()
            .filter(|p| p.name.as_str() == name)
            .map(|p| p.value.to_string())
            .collect()
    };
    // A passed scenario that departs: a success, its departures told apart.
    let search = case("discovery.search-defaults");
    assert!(matches!(search.status, quick_junit::TestCaseStatus::Success { .. }));
    let out = search.system_out.as_ref().expect("system-out").to_string();
    for needle in [
        "discovery.search-defaults departs from the reference server (2 departures; reported, not failures)",
        "doc: llms.txt#browse-and-apply (https://www.agentgigs.io/llms.txt)",
        "doc: openapi:applyToJob",
        "step 1 \"search with no filters\" at scenarios/discovery/search-defaults.yaml:10:5",
        "GET https://sandbox.agentgigs.io/api/jobs -> 200 OK",
        &format!("- [schema] {DEPARTURE}"),
        "expected: [\"jobs\",\"count\",\"total\"]",
        "actual:   [\"jobs\",\"count\"]",
        "body at:  /total",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let deps = props(&search, "departure");
    assert_eq!(deps.len(), 2, "{deps:?}");
    assert!(
        deps[0].starts_with(&format!(
            "step 1 \"search with no filters\" at scenarios/discovery/search-defaults.yaml:10:5: {DEPARTURE} (expected"
        )),
        "{deps:?}"
    );
    // A scenario of level `reference` passes; a failed one keeps its single
    // failure and has its departure apart.
    let window = case("ratelimit.reference-window");
    assert!(matches!(window.status, quick_junit::TestCaseStatus::Success { .. }));
    assert_eq!(props(&window, "level"), ["reference"]);
    assert!(props(&window, "departure")[0].contains("(expected 31, actual 35)"));
    let nda = case("nda.apply-requires-ack");
    assert!(matches!(nda.status, quick_junit::TestCaseStatus::NonSuccess { .. }));
    assert!(nda.system_out.as_ref().unwrap().contains("no `Location` header"));
    // No departure, no system-out and no property.
    let ok = case("auth.missing-and-bad-credentials");
    assert!(ok.system_out.is_none() && props(&ok, "departure").is_empty());
    // The suites carry the counts.
    let suite = |name: &str| back.test_suites.iter().find(|s| s.name.as_str() == name).unwrap();
    let sprop = |name: &str, key: &str| {
        suite(name)
            .properties
            .iter()
            .find(|p| p.name.as_str() == key)
            .map(|p| p.value.to_string())
    };
    assert_eq!(sprop("discovery", "departures").as_deref(), Some("2"));
    assert_eq!(sprop("discovery", "departing").as_deref(), Some("1"));
    assert_eq!(sprop("auth", "departures").as_deref(), Some("0"));
    assert_eq!(sprop("auth", "run_departures").as_deref(), Some("4"));
    assert_eq!(sprop("auth", "run_departing").as_deref(), Some("3"));
    assert_eq!(sprop("auth", "strict").as_deref(), Some("false"));
    assert!(
        sprop("auth", "reference")
            .unwrap()
            .starts_with("AgentGigs reference server choices 1.0.0")
    );
    // The hostile message is text, not markup or a terminal escape.
    assert!(!xml.contains("<b>") && !xml.contains('\u{1b}'));

    // Strict: the departures are the failures now, with the strict prefix.
    let strict = strict_run();
    let (xml, failure_messages) = check_junit(&strict);
    assert!(xml.contains("failures=\"4\""), "{xml}");
    assert!(
        failure_messages
            .iter()
            .any(|m| m == &format!("{STRICT_PREFIX}{DEPARTURE}")),
        "{failure_messages:?}"
    );
    assert!(xml.contains("<property name=\"strict\" value=\"true\""));
    assert!(!xml.contains("name=\"departure\""));
}

#[test]
fn markdown_has_totals_failures_rules_and_escapes() {
    let run = sample_run();
    let cov = sample_coverage(&run);
    let md = markdown::render(&run, Some(&cov));
    assert!(
        md.contains("| 8 | 4 | 2 | 1 | 1 | 1 | 8 | 72 | 4 (3 scenarios) |"),
        "{md}"
    );
    for id in ["auth.both-headers-refused", "nda.apply-requires-ack"] {
        assert!(md.contains(&format!("`{id}`")), "{id}");
    }
    assert!(md.contains(BOTH_RULE));
    assert!(md.contains(&markdown::escape(NDA_RULE)));
    assert!(md.contains("[llms.txt\\#browse-and-apply](https://www.agentgigs.io/llms.txt)"));
    assert!(md.contains("expected status 403, got 200"));
    // A `|` in data must not break the table, nor `<tags>` become HTML.
    assert!(md.contains("200 \\| pipes \\& \\<tags\\>"), "{md}");
    assert!(!md.contains("<script>") && !md.contains("<tags>"));
    assert!(!md.contains('\u{1b}') && !md.contains('\u{7}'));
    assert!(md.contains("moves money on a non-sandbox target"));
    assert!(md.contains("target unreachable"));
    assert!(md.contains("\\$60.00"));
    assert!(md.contains("<details><summary>Coverage</summary>"));
    assert_tables_are_square(&md);
}

/// Every table row has the same number of unescaped pipes as its header.
fn assert_tables_are_square(md: &str) {
    for block in md.split("\n\n") {
        let rows: Vec<&str> = block.lines().filter(|l| l.starts_with('|')).collect();
        if let Some(first) = rows.first() {
            let cols = |l: &str| l.replace("\\|", "").matches('|').count();
            assert!(rows.iter().all(|r| cols(r) == cols(first)), "ragged table:\n{block}");
        }
    }
}

/// The text of a Markdown section: from its `### ` heading to the next one.
fn md_section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md
        .find(&format!("### {heading}"))
        .unwrap_or_else(|| panic!("no section {heading:?} in\n{md}"));
    let rest = &md[start..];
    let end = rest[4..].find("\n### ").map(|i| i + 4).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn markdown_lists_departures_after_the_failures_not_as_failures() {
    let run = sample_run();
    let md = markdown::render(&run, None);
    assert!(md.contains("## ❌ AgentGigs conformance: 2 failed (1 must) · 3 scenarios depart from the reference server (4 departures)"), "{md}");
    assert!(
        md.contains("· reference AgentGigs reference server choices 1.0.0 ·"),
        "{md}"
    );
    // After the failures, before what could not run.
    let at = |needle: &str| md.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    assert!(at("### Failures (2)") < at("### 🔸 Departures from the reference server (4 in 3 scenarios)"));
    assert!(at("### 🔸 Departures") < at("### Could not run"));
    let deps = md_section(&md, "🔸 Departures from the reference server");
    assert!(deps.contains("reported, not failures"), "{deps}");
    assert!(deps.contains("| Scenario | Step | What differs | Expected | Actual | Docs |"));
    for row in [
        format!(
            "| `discovery.search-defaults` (should, passed) | step 1 \"search with no filters\" at `scenarios/discovery/search-defaults.yaml:10:5` | {} | `[\"jobs\",\"count\",\"total\"]` | `[\"jobs\",\"count\"]` | [llms.txt\\#browse-and-apply](https://www.agentgigs.io/llms.txt), openapi:applyToJob |",
            markdown::escape(DEPARTURE)
        ),
        "| `ratelimit.reference-window` (reference, passed) | step 1 \"35 searches\" at `scenarios/ratelimit/reference-window.yaml:9:5` | 429 arrived at request 35; our reference server answers it at request 31 | `31` | `35` |".to_string(),
        "| `nda.apply-requires-ack` (must, failed) | step 1 \"post a job\" at `scenarios/_flows/post-job.yaml:5:5` | no \\`Location\\` header".to_string(),
    ] {
        assert!(deps.contains(&row), "missing {row:?} in\n{deps}");
    }
    assert_eq!(deps.lines().filter(|l| l.starts_with("| `")).count(), 4);
    // Short: not folded. The hostile message is escaped.
    assert!(!deps.contains("<details>"));
    assert!(deps.contains("not newest first \\| as \\<b\\>our\\</b\\>"), "{deps}");
    assert!(!md.contains('\u{1b}'));
    // Not failures: the failures table lists the two failed scenarios only.
    let failures = md_section(&md, "Failures");
    assert_eq!(failures.lines().filter(|l| l.starts_with("| `")).count(), 2);
    assert!(!failures.contains("discovery") && !failures.contains(&markdown::escape(DEPARTURE)));
    assert_tables_are_square(&md);

    // Long: folded away.
    let mut long = sample_run();
    let step = &mut long.scenarios[6].steps[0];
    step.departures = vec![step.departures[0].clone(); markdown::FOLD_ROWS + 1];
    long.totals = report::tally(&long.scenarios);
    let md = markdown::render(&long, None);
    let deps = md_section(&md, "🔸 Departures from the reference server");
    assert!(
        deps.contains("<details><summary>13 departures from the reference server</summary>"),
        "{deps}"
    );
    assert!(deps.contains("</details>"));
    assert_tables_are_square(&md);

    // Strict: noted, no departures section, the departures are failures.
    let md = markdown::render(&strict_run(), None);
    assert!(
        md.contains("> **Strict run** (strict: departures from the reference server counted as failures)"),
        "{md}"
    );
    assert!(md.contains("| 8 | 2 | 4 | 1 | 1 | 3 | 8 | 72 | strict |"), "{md}");
    assert!(!md.contains("### 🔸 Departures"));
    let failures = md_section(&md, "Failures");
    assert!(failures.contains("`discovery.search-defaults`"), "{failures}");
    assert_tables_are_square(&md);
}

#[test]
fn html_is_one_escaped_self_contained_file() {
    let run = sample_run();
    let cov = sample_coverage(&run);
    let page = html::render(&run, Some(&cov));
    assert!(page.starts_with("<!doctype html>"));
    // Exactly one script: ours. The hostile body is shown as text.
    assert_eq!(page.matches("<script").count(), 1);
    assert!(!page.contains(HOSTILE));
    assert!(page.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));
    assert!(!page.contains("<tags>"));
    assert!(!page.contains('\u{1b}') && !page.contains('\u{7}'));
    // No network resources.
    let lower = page.to_lowercase();
    for bad in ["<link", "src=", "@import", "url(", "<iframe", "<img"] {
        assert!(!lower.contains(bad), "found {bad}");
    }
    assert!(lower.contains("content-security-policy"));
    // Totals, big and colored.
    for (class, n) in [
        ("all", 8),
        ("passed", 4),
        ("failed", 2),
        ("skipped", 1),
        ("errored", 1),
        ("departs", 4),
    ] {
        let pressed = class == "all";
        let title = if class == "departs" {
            " title=\"Departures from the reference server: where the docs are silent, responses that differ from what our reference server does. Reported, not failures.\""
        } else {
            ""
        };
        assert!(page.contains(&format!("class=\"stat {class}\" data-outcome-filter=\"{class}\" aria-pressed=\"{pressed}\"{title}><span class=\"num\">{n}</span>")), "{class}");
    }
    // Filters by area and outcome.
    for area in ["auth", "lifecycle", "money", "nda", "ratelimit"] {
        assert!(page.contains(&format!("data-area-filter=\"{area}\"")));
    }
    // The failing scenario is expanded, a passing one is not.
    assert!(page.contains("id=\"s-nda.apply-requires-ack\" data-area=\"nda\" data-outcome=\"failed\""));
    let nda = &page[page.find("id=\"s-nda.apply-requires-ack\"").unwrap()..];
    assert!(nda[..nda.find('>').unwrap()].ends_with(" open"));
    let ok = &page[page.find("id=\"s-auth.missing-and-bad-credentials\"").unwrap()..];
    assert!(!ok[..ok.find('>').unwrap()].ends_with(" open"));
    // The finding's body pointer is marked (a missing key marks its object).
    assert!(page.contains("<mark class=\"hit\" title=\"finding at /code\">"));
    assert!(page.contains("<mark class=\"hit\" title=\"finding at /application\">"));
    // Rule, doc link, coverage, money.
    assert!(page.contains(&html::escape(NDA_RULE)));
    assert!(page.contains("href=\"https://www.agentgigs.io/llms.txt\""));
    assert!(page.contains("id=\"coverage\""));
    assert!(page.contains("<a href=\"#s-nda.apply-requires-ack\">"));
    assert!(page.contains("$60.00"));
}

/// The `<details class="scenario ...">` element of a scenario, to the next one.
fn html_scenario<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"s-{id}\""))
        .unwrap_or_else(|| panic!("no scenario {id}"));
    let start = page[..at].rfind('<').unwrap();
    let end = at
        + page[at..]
            .find("<details class=\"scenario")
            .or_else(|| page[at..].find("</main>"))
            .unwrap();
    &page[start..end]
}

#[test]
fn html_shows_departures_apart_with_a_filter() {
    let run = sample_run();
    let page = html::render(&run, None);
    // In the totals, not counted as failures.
    assert!(page.contains("<span class=\"num\">4</span><span class=\"lbl\">departures · 3 scenarios</span>"));
    assert!(page.contains("<span class=\"num\">2</span><span class=\"lbl\">failed (1 must)</span>"));
    assert!(page.contains("<dt>Reference</dt><dd title=\"specs/reference.overlay.yaml over specs/agentgigs.openapi.yaml\">AgentGigs reference server choices 1.0.0</dd>"));
    assert!(!page.contains("<dt>Mode</dt>"));
    // The filter beside the outcome filters counts the departing scenarios.
    let outcome_group = &page[page.find("aria-label=\"Outcome\"").unwrap()..page.find("aria-label=\"Area\"").unwrap()];
    assert!(outcome_group.contains(
        "<button type=\"button\" class=\"chip dep\" data-outcome-filter=\"departs\" aria-pressed=\"false\">Departs from the reference server<span class=\"n\">3</span></button>"
    ), "{outcome_group}");
    // Every scenario says how many departures it has (the filter reads it).
    for sc in &run.scenarios {
        assert!(
            page.contains(&format!(
                "id=\"s-{}\" data-area=\"{}\" data-outcome=\"{}\" data-departures=\"{}\"",
                sc.id,
                sc.area,
                match sc.outcome {
                    Outcome::Passed => "passed",
                    Outcome::Failed => "failed",
                    Outcome::Skipped { .. } => "skipped",
                    Outcome::Errored { .. } => "errored",
                },
                sc.departure_count()
            )),
            "{}",
            sc.id
        );
    }
    // A passed scenario that departs: passed, closed, with a block of its
    // departures (docs, step, location, expected/actual, both panes, the
    // pointer marked apart) and no failure.
    let search = html_scenario(&page, "discovery.search-defaults");
    assert!(search.contains("data-outcome=\"passed\" data-departures=\"2\""));
    assert!(!search[..search.find('>').unwrap()].ends_with(" open"));
    assert!(search.contains("<span class=\"badge passed\">passed</span>"));
    assert!(search.contains("<span class=\"pill dep\">departs ×2</span>"));
    assert!(search.contains(&format!(
        "<span class=\"why dep\">departs from the reference server: {} (and 1 more)</span>",
        html::escape(DEPARTURE)
    )));
    let block = &search[search
        .find("<section class=\"departures\">")
        .expect("a departures block")..];
    let block = &block[..block.find("</section>").unwrap()];
    for needle in [
        "Departs from the reference server <span class=\"n\">2 departures</span>",
        "Reported, not a failure",
        "href=\"https://www.agentgigs.io/llms.txt\"",
        "<code>openapi:applyToJob</code>",
        "<span class=\"lbl2\">Step 1</span>search with no filters · at <code>scenarios/discovery/search-defaults.yaml:10:5</code>",
        &format!(
            "<div class=\"departure\"><span class=\"kind\">schema</span><span class=\"msg\">{}</span>",
            html::escape(DEPARTURE)
        ),
        "<dt>Expected</dt><dd><code class=\"exp\">[&quot;jobs&quot;,&quot;count&quot;,&quot;total&quot;]</code></dd>",
        "<dt>Actual</dt><dd><code class=\"act\">[&quot;jobs&quot;,&quot;count&quot;]</code></dd>",
        "class=\"pane req\"",
        "class=\"pane resp\"",
        "<mark class=\"hit dep\" title=\"departs from the reference server at /jobs\">",
        // `/total` is missing: its object is marked.
        "<mark class=\"hit dep\" title=\"departs from the reference server at (root)\">",
        "as &lt;b&gt;our&lt;/b&gt; reference server",
    ] {
        assert!(block.contains(needle), "missing {needle:?} in\n{block}");
    }
    assert!(!search.contains("class=\"finding\"") && !search.contains("<mark class=\"hit\""));
    // The failed scenario keeps its failures and has its departure apart.
    let nda = html_scenario(&page, "nda.apply-requires-ack");
    assert!(nda.contains("<section class=\"departures\">") && nda.contains("class=\"finding\""));
    assert!(nda.contains("<span class=\"why\">expected status 403, got 200</span>"));
    // A scenario with no departure has no block.
    assert!(!html_scenario(&page, "auth.missing-and-bad-credentials").contains("departures\">"));
    // The hostile message is text.
    assert!(!page.contains("<b>our</b>") && !page.contains('\u{1b}'));

    // Strict: noted; the departures are failures, nothing departs.
    let page = html::render(&strict_run(), None);
    assert!(page.contains("<dt>Mode</dt><dd><span class=\"pill dep\">strict</span> strict: departures from the reference server counted as failures</dd>"));
    assert!(page.contains("<span class=\"num\">4</span><span class=\"lbl\">failed (3 must)</span>"));
    assert!(
        page.contains(
            "<span class=\"num\">0</span><span class=\"lbl\">departures (strict: counted as failures)</span>"
        )
    );
    assert!(!page.contains("<section class=\"departures\">"));
    let search = html_scenario(&page, "discovery.search-defaults");
    assert!(search.contains("data-outcome=\"failed\" data-departures=\"0\""));
    assert!(search.contains(&html::escape(&format!("{STRICT_PREFIX}{DEPARTURE}"))));
}

#[test]
fn terminal_failure_has_everything_needed() {
    let run = sample_run();
    let nda = &run.scenarios[2];
    let plain = terminal::render_failure(nda, &TerminalStyle { color: false });
    assert!(!plain.contains('\u{1b}'));
    for needle in [
        "nda.apply-requires-ack",
        "Title of nda.apply-requires-ack",
        "scenarios/nda/apply-requires-ack.yaml",
        "scenarios/nda/apply-requires-ack.yaml:14:5",
        "actor",
        "agent",
        "POST https://sandbox.agentgigs.io/api/jobs/4f1c2d9e-8a7b-4c3d-9e8f-1a2b3c4d5e6f/apply",
        "POST /api/jobs/{id}/apply",
        "expected status 403, got 200",
        "403",
        "\"ACKNOWLEDGMENT_REQUIRED\"",
        "body at",
        "/code",
        "/application/job_id",
        "#/components/schemas/Application/required",
        "--- expected",
        "+++ actual",
        "-  \"job_id\": \"4f1c2d9e-8a7b-4c3d-9e8f-1a2b3c4d5e6f\"",
        NDA_RULE,
        "llms.txt#browse-and-apply",
        "https://www.agentgigs.io/llms.txt",
        "openapi:applyToJob",
    ] {
        assert!(plain.contains(needle), "missing {needle:?} in\n{plain}");
    }
    // Terminal escapes from the server are shown, not obeyed.
    let both = terminal::render_failure(&run.scenarios[1], &TerminalStyle { color: false });
    assert!(!both.contains('\u{1b}') && !both.contains('\u{7}'), "{both}");
    assert!(both.contains("<tags>\\u{1b}]0;pwned\\u{7}"), "{both}");
    let summary = terminal::render_summary(&run, &TerminalStyle { color: true });
    assert!(!summary.contains("\u{1b}]0;"));

    let colored = terminal::render_failure(nda, &TerminalStyle { color: true });
    assert!(colored.contains("\u{1b}["));

    let errored = terminal::render_failure(&run.scenarios[3], &TerminalStyle::default());
    assert!(errored.contains("COULD NOT RUN") && errored.contains("connection refused"));
}

#[test]
fn terminal_summary_groups_and_totals() {
    let run = sample_run();
    let s = terminal::render_summary(&run, &TerminalStyle { color: false });
    for needle in [
        "8 scenarios: 4 passed, 2 failed (1 must), 1 skipped, 1 could not run",
        "3 scenarios depart from the reference server (4 departures)",
        "reference  AgentGigs reference server choices 1.0.0",
        "Failures by area",
        "auth (1)",
        "nda (1)",
        "Could not run",
        "lifecycle.no-proof-happy-path",
        "Skipped",
        "moves money on a non-sandbox target",
        "Money moved",
        "$60.00",
        "12.3 s",
        "FAILED: 1 must-level failure(s)",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
    assert!(!s.contains('\u{1b}'));
    assert!(!s.contains("strict"), "{s}");
    assert!(TerminalStyle::detect(true, None).color);
    assert!(!TerminalStyle::detect(true, Some(std::ffi::OsStr::new("1"))).color);
    assert!(!TerminalStyle::detect(false, None).color);
}

/// The text of a section of the terminal summary: from its title to the
/// next title (a line that does not start with a space) or the end.
fn section<'a>(text: &'a str, title: &str) -> &'a str {
    let start = text
        .find(&format!("\n{title}"))
        .unwrap_or_else(|| panic!("no section {title:?} in\n{text}"))
        + 1;
    let rest = &text[start..];
    let end = rest[1..].find("\n\n").map(|i| i + 1).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn terminal_lists_departures_apart_from_failures() {
    let run = sample_run();
    let s = terminal::render_summary(&run, &TerminalStyle { color: false });
    let deps = section(&s, "Departures from the reference server");
    assert!(deps.contains("(4 in 3 scenario(s); reported, not failures)"), "{deps}");
    // Grouped by scenario, with level, outcome and doc references; one line
    // per departure with its step, location, message and expected/actual.
    for needle in [
        "discovery.search-defaults [should, passed]  docs llms.txt#browse-and-apply, openapi:applyToJob",
        &format!(
            "~ step 1 \"search with no filters\" at scenarios/discovery/search-defaults.yaml:10:5  [schema] {DEPARTURE}  (expected [\"jobs\",\"count\",\"total\"], actual [\"jobs\",\"count\"])"
        ),
        "ratelimit.reference-window [reference, passed]",
        "[repeat] 429 arrived at request 35; our reference server answers it at request 31  (expected 31, actual 35)",
        "nda.apply-requires-ack [must, failed]",
        "~ step 1 \"post a job\" at scenarios/_flows/post-job.yaml:5:5  [missing_header] no `Location` header",
        // A hostile message is shown, not obeyed.
        "sorts it\\u{1b}[2J",
    ] {
        assert!(deps.contains(needle), "missing {needle:?} in\n{deps}");
    }
    assert_eq!(deps.lines().filter(|l| l.trim_start().starts_with('~')).count(), 4);
    // Not failures: the failures list and the counts leave them out.
    let failures = section(&s, "Failures by area");
    assert!(
        !failures.contains("discovery") && !failures.contains("reference-window"),
        "{failures}"
    );
    assert!(!failures.contains(DEPARTURE));
    assert!(s.contains("2 failed (1 must)"));
    assert!(
        s.contains("4 departures from the reference server, not failures"),
        "{s}"
    );
    // Colour: yellow (33), never red (31), in the departures section.
    let colored = terminal::render_summary(&run, &TerminalStyle { color: true });
    let deps = section(&colored, "\u{1b}[1mDepartures from the reference server");
    assert!(deps.contains("\u{1b}[33m~"), "{deps:?}");
    assert!(!deps.contains("\u{1b}[31") && !deps.contains("\u{1b}[1;31"), "{deps:?}");

    // The full terminal report (failure blocks and summary) keeps the
    // departures out of the failure blocks.
    let full = report::render(Format::Terminal, &run, None).unwrap();
    assert!(!full.contains("FAIL  discovery.search-defaults"));
    assert_eq!(full.matches(DEPARTURE).count(), 1, "{full}");
}

#[test]
fn terminal_caps_the_departure_lines() {
    let mut run = sample_run();
    let step = &mut run.scenarios[6].steps[0];
    let one = step.departures[0].clone();
    step.departures = vec![one; 70];
    run.totals = report::tally(&run.scenarios);
    let s = terminal::render_summary(&run, &TerminalStyle { color: false });
    let deps = section(&s, "Departures from the reference server");
    assert_eq!(
        deps.lines().filter(|l| l.trim_start().starts_with('~')).count(),
        terminal::MAX_DEPARTURE_LINES
    );
    assert!(deps.contains("… and 22 more departure(s)"), "{deps}");
}

#[test]
fn terminal_shows_a_strict_run() {
    let run = strict_run();
    let s = terminal::render_summary(&run, &TerminalStyle { color: false });
    assert!(
        s.contains("mode       strict: departures from the reference server counted as failures"),
        "{s}"
    );
    assert!(
        s.contains("8 scenarios: 2 passed, 4 failed (3 must), 1 skipped, 1 could not run  ·  strict"),
        "{s}"
    );
    assert!(!s.contains("Departures from the reference server"), "{s}");
    let failures = section(&s, "Failures by area");
    assert!(failures.contains(&format!("{STRICT_PREFIX}{DEPARTURE}")), "{failures}");
    // Without a reference layer the header says so and nothing departs.
    let mut run = sample_run();
    run.reference = None;
    for sc in &mut run.scenarios {
        sc.steps.iter_mut().for_each(|st| st.departures.clear());
    }
    run.totals = report::tally(&run.scenarios);
    let s = terminal::render_summary(&run, &TerminalStyle { color: false });
    assert!(s.contains("reference  none (no reference layer"), "{s}");
    assert!(!s.contains("depart from the reference server ("), "{s}");
}

#[test]
fn explain_describes_steps_in_words() {
    let sc: Scenario = serde_json::from_value(json!({
        "id": "nda.apply-requires-ack",
        "title": "Applying without the NDA acknowledgment is refused",
        "doc": ["llms.txt#browse-and-apply", "openapi:applyToJob"],
        "rule": NDA_RULE,
        "level": "must",
        "requires": ["actors"],
        "actors": {"poster": {"role": "poster", "wallet_cents": 100000}, "agent": {"role": "agent"}},
        "steps": [
            {"as": "poster", "request": {"method": "POST", "path": "/api/agent/jobs", "json": {"title": "x"}},
             "expect": {"status": 201}, "capture": {"job_id": "/job/id"}},
            {"name": "apply", "as": "agent", "request": {"method": "POST", "path": "/api/jobs/{{job_id}}/apply"},
             "expect": {"status": 403, "body": [{"path": "/code", "equals": "ACKNOWLEDGMENT_REQUIRED"}]}},
            {"include": "hire-agent", "with": {"poster": "poster"}},
            {"clock": {"advance_seconds": 3600}},
            {"as": "agent", "request": {"method": "GET", "path": "/api/jobs"},
             "repeat": {"times": 31, "until_status": 429, "expect_at": 31},
             "skip_checks": [{"check": "schema", "reason": "429 body undocumented"}]}
        ]
    }))
    .unwrap();
    let text = terminal::render_explain(&sc, &sc.steps);
    for needle in [
        "as poster: POST /api/agent/jobs, JSON body {\"title\":\"x\"}, expect 201, capture job_id from /job/id",
        "apply — as agent: POST /api/jobs/{{job_id}}/apply, expect 403, /code equals \"ACKNOWLEDGMENT_REQUIRED\"",
        "include flow `hire-agent` with poster=poster",
        "advance the target's clock by 1 hour(s)",
        "send up to 31 times until 429, which must arrive at request 31",
        "automatic schema check off (429 body undocumented)",
        NDA_RULE,
        "https://www.agentgigs.io/llms.txt",
        "poster: poster, wallet $1,000.00",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn coverage_lists_hits_and_missing() {
    let run = sample_run();
    let cov = sample_coverage(&run);
    let apply = &cov.operations[1];
    assert_eq!(apply.statuses[0].status, "200");
    assert_eq!(apply.statuses[0].scenarios, ["nda.apply-requires-ack"]);
    assert!(apply.statuses[1].scenarios.is_empty());
    // 401 falls under the documented `4XX`; 429 under `default`.
    assert_eq!(
        cov.operations[2].statuses[1].scenarios,
        ["auth.missing-and-bad-credentials"]
    );
    assert_eq!(cov.operations[2].statuses[1].codes, ["UNAUTHENTICATED"]);
    assert_eq!(
        cov.operations[3].statuses[1].scenarios,
        ["ratelimit.free-tier-30-per-minute", "ratelimit.reference-window"]
    );
    // A scenario that only departs exercised its responses all the same.
    assert_eq!(cov.operations[3].statuses[0].scenarios, ["discovery.search-defaults"]);
    let codes: Vec<(&str, usize)> = cov
        .error_codes
        .iter()
        .map(|c| (c.code.as_str(), c.scenarios.len()))
        .collect();
    assert_eq!(
        codes,
        [
            ("UNAUTHENTICATED", 1),
            ("RATE_LIMITED", 2),
            ("ACKNOWLEDGMENT_REQUIRED", 0)
        ]
    );
    let missing = cov.missing();
    let pairs: Vec<String> = missing
        .statuses
        .iter()
        .map(|m| format!("{} {} {}", m.method, m.path, m.status))
        .collect();
    assert_eq!(pairs, ["POST /api/agent/jobs 400", "POST /api/jobs/{id}/apply 403",]);
    assert_eq!(missing.error_codes, ["ACKNOWLEDGMENT_REQUIRED"]);
    assert_eq!(cov.status_counts(), (6, 8));

    let table = coverage::render_table(&cov);
    assert!(table.contains("POST /api/jobs/{id}/apply") && table.contains("covered: 6/8"));
    let md = coverage::render_markdown(&cov);
    assert!(
        md.contains("| `POST /api/jobs/{id}/apply` | 403 |  | ❌ none |"),
        "{md}"
    );
}

#[test]
fn write_report_writes_every_format_creating_directories() {
    let run = sample_run();
    let cov = sample_coverage(&run);
    let dir = tempfile::tempdir().unwrap();
    for format in Format::ALL {
        assert_eq!(Format::from_str(format.name()).unwrap(), format);
        let path = dir
            .path()
            .join("nested/deeper")
            .join(format!("report.{}", format.extension()));
        report::write_report(format, &run, Some(&cov), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("nda.apply-requires-ack"), "{format}");
    }
    let back = std::fs::read_to_string(dir.path().join("nested/deeper/report.json")).unwrap();
    assert_eq!(json::from_json(&back).unwrap(), run);
    let term = std::fs::read_to_string(dir.path().join("nested/deeper/report.txt")).unwrap();
    assert!(!term.contains('\u{1b}') && term.contains("--- expected"));
    assert_eq!(Format::from_str("md").unwrap(), Format::Markdown);
    assert_eq!(Format::from_str("JUnit").unwrap(), Format::Junit);
    let err = Format::from_str("pdf").unwrap_err().to_string();
    assert!(err.contains("`pdf`"), "{err}");
}

/// Writes every format of the sample run and of its strict twin, for a
/// person to look at, into `$REPORTS_DUMP_DIR` when set
/// (`REPORTS_DUMP_DIR=/tmp/r cargo test --test harness -- reports::`) and a temporary
/// directory else; and checks that each file keeps departures apart: in
/// the plain run, a departures section with the departure in it; in the
/// strict run, no such section, the strict mark, and the departure as a
/// failure.
#[test]
fn every_written_format_keeps_departures_apart() {
    let keep = std::env::var_os("REPORTS_DUMP_DIR").map(std::path::PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let dir = keep.as_deref().unwrap_or(tmp.path());
    for (name, run) in [("report", sample_run()), ("strict", strict_run())] {
        let cov = sample_coverage(&run);
        for format in Format::ALL {
            let path = dir.join(format!("{name}.{}", format.extension()));
            report::write_report(format, &run, Some(&cov), &path).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            // What marks the departures' own section, and a strict run.
            let (section, strict_mark) = match format {
                Format::Terminal => ("\nDepartures from the reference server (", "counted as failures"),
                Format::Json => ("\"departures\": [\n", "\"strict\": true"),
                Format::Junit => (
                    "<property name=\"departure\"",
                    "<property name=\"strict\" value=\"true\"/>",
                ),
                Format::Markdown => ("### 🔸 Departures from the reference server", "**Strict run**"),
                Format::Html => ("<section class=\"departures\">", "<dt>Mode</dt>"),
            };
            let departure = match format {
                Format::Markdown => markdown::escape(DEPARTURE),
                _ => DEPARTURE.to_string(),
            };
            if run.strict {
                assert!(
                    !text.contains(section),
                    "{name}.{format}: a departures section in a strict run"
                );
                assert!(text.contains(strict_mark), "{name}.{format}: no strict mark");
                assert!(
                    text.contains(&format!("{}{departure}", STRICT_PREFIX.trim_end()))
                        || text.contains(&format!("{STRICT_PREFIX}{departure}")),
                    "{name}.{format}: the departure is not a failure"
                );
            } else {
                assert!(text.contains(section), "{name}.{format}: no departures section");
                assert!(!text.contains(strict_mark), "{name}.{format}: a strict mark");
                assert!(text.contains(&departure), "{name}.{format}: the departure is missing");
                assert!(
                    !text.contains(STRICT_PREFIX.trim_end()),
                    "{name}.{format}: a departure counted as a failure"
                );
            }
        }
    }
    let colored = dir.join("terminal-color.txt");
    let run = sample_run();
    let mut text = terminal::render_failure(&run.scenarios[2], &TerminalStyle { color: true });
    text.push_str(&terminal::render_summary(&run, &TerminalStyle { color: true }));
    std::fs::write(&colored, &text).unwrap();
    assert!(text.contains("\u{1b}[33m~\u{1b}[0m"), "departures are not yellow");
}
