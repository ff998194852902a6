//! Tests of the scenario loader: exact error messages, loads of every
//! feature of the format, include expansion, lint, robustness. (The
//! property tests are in `src/scenario/properties.rs`.)

use std::path::{Path, PathBuf};

use agentgigs_conformance::scenario::*;
use serde_json::json;

/// `tests/` (works whatever the current directory of the test binary).
fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn fixtures() -> PathBuf {
    tests_dir().join("fixtures/scenarios")
}

fn library(name: &str) -> Result<Library, LoadErrors> {
    load_library(&fixtures().join(name).join("scenarios"))
}

fn error_case(name: &str) -> String {
    let path = fixtures().join("errors").join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    match parse_scenario_all(&text, &format!("scenarios/errors/{name}.yaml")) {
        Ok(_) => panic!("{name} loaded without error"),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Exact error messages of single files.
// ---------------------------------------------------------------------------

#[test]
fn unknown_key_with_did_you_mean() {
    assert_eq!(
        error_case("unknown-key"),
        "scenarios/errors/unknown-key.yaml:10:5: unknown key `captur` in steps[0] (did you mean `capture`?)"
    );
    assert_eq!(
        error_case("unknown-check-key"),
        "scenarios/errors/unknown-check-key.yaml:12:27: unknown key `uuidd` in steps[0].expect.body[0] (did you mean `uuid`?)"
    );
    assert_eq!(
        error_case("exactly-once-misplaced"),
        "scenarios/errors/exactly-once-misplaced.yaml:8:30: unknown key `exactly_once` in steps[0].no_event"
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        error_case("wrong-type"),
        "scenarios/errors/wrong-type.yaml:10:17: wrong type for `steps[0].timeout_ms`: expected a non-negative integer, found string \"soon\""
    );
    assert_eq!(
        error_case("bad-status"),
        "scenarios/errors/bad-status.yaml:11:15: invalid value for `steps[0].expect.status`: expected an HTTP status (100 to 599) or a family such as `4xx`, found string \"200\""
    );
    assert_eq!(
        error_case("not-a-mapping"),
        "scenarios/errors/not-a-mapping.yaml:1:1: wrong type for the top level: expected a mapping, found a list"
    );
}

#[test]
fn missing_key() {
    assert_eq!(
        error_case("missing-key"),
        "scenarios/errors/missing-key.yaml:10:7: missing key `path` in steps[0].request"
    );
    assert_eq!(
        error_case("no-actor"),
        "scenarios/errors/no-actor.yaml:8:5: missing key `as` in steps[0]: a `request` step needs an actor unless `auth: none`"
    );
}

#[test]
fn undefined_actor() {
    assert_eq!(
        error_case("undefined-actor"),
        "scenarios/errors/undefined-actor.yaml:8:9: undefined actor `bobb` in steps[0].as: expected one of the declared actors `alice`, `bob` (did you mean `bob`?)"
    );
}

#[test]
fn actions_and_modifiers() {
    assert_eq!(
        error_case("two-actions"),
        "scenarios/errors/two-actions.yaml:10:5: several actions in steps[0]: `request` and `clock` (a step has exactly one)"
    );
    assert_eq!(
        error_case("no-action"),
        "scenarios/errors/no-action.yaml:8:5: no action in steps[0]: expected one of `request`, `include`, `clock`, `subscribe`, `event`, `no_event`, `set`, `attach`, `concurrent`, `conserve`, `sink`, `webhook`"
    );
    assert_eq!(
        error_case("modifier-misplaced"),
        "scenarios/errors/modifier-misplaced.yaml:9:5: key `expect` is not allowed on a `clock` step in steps[0]: only `request` steps take it\n\
         scenarios/errors/modifier-misplaced.yaml:11:5: key `with` is not allowed on a `set` step in steps[1]: only `include` steps take it"
    );
}

#[test]
fn value_rules() {
    assert_eq!(
        error_case("bad-method"),
        "scenarios/errors/bad-method.yaml:9:23: invalid value for `steps[0].request.method`: expected one of `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, `OPTIONS`, `TRACE`, found `post` (did you mean `POST`?)"
    );
    assert_eq!(
        error_case("bad-id"),
        "scenarios/errors/bad-id.yaml:1:5: invalid value for `id`: expected lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit, found `Errors/Bad Id`"
    );
    assert_eq!(
        error_case("bad-level"),
        "scenarios/errors/bad-level.yaml:3:8: invalid value for `level`: expected one of `must`, `should`, `reference`, found `mustt` (did you mean `must`?)"
    );
    assert_eq!(
        error_case("bad-regex"),
        "scenarios/errors/bad-regex.yaml:12:35: invalid regex in steps[0].expect.body[0].regex: unclosed group"
    );
    assert_eq!(
        error_case("bad-paths"),
        "scenarios/errors/bad-paths.yaml:12:18: invalid path `balance` in steps[0].expect.body[0].path: expected a JSON pointer (`/a/b`, or empty for the root) or a JSONPath (`$.a.b`)\n\
         scenarios/errors/bad-paths.yaml:13:18: invalid JSONPath `$.[` in steps[0].expect.body[1].path: at position 2, in dot member name, must start with lowercase alpha or '_'\n\
         scenarios/errors/bad-paths.yaml:14:18: invalid JSON pointer `/a~2b` in steps[0].expect.body[2].path: `~` must be followed by `0` or `1`"
    );
    assert_eq!(
        error_case("repeat-zero"),
        "scenarios/errors/repeat-zero.yaml:10:21: invalid value for `steps[0].repeat.times`: expected at least 1, found 0"
    );
    assert_eq!(
        error_case("empty-reason"),
        "scenarios/errors/empty-reason.yaml:11:33: invalid value for `steps[0].skip_checks[0].reason`: expected a reason saying why the check is off, found an empty string"
    );
}

#[test]
fn yaml_syntax_error() {
    assert_eq!(
        error_case("garbage"),
        "scenarios/errors/garbage.yaml:2:6: invalid YAML: illegal placement of ':' indicator"
    );
}

#[test]
fn every_step_reports_its_own_error() {
    assert_eq!(
        error_case("several-errors"),
        "scenarios/errors/several-errors.yaml:10:14: unknown key `statuss` in steps[0].expect (did you mean `status`?)\n\
         scenarios/errors/several-errors.yaml:11:13: unknown key `advance_secs` in steps[1].clock (did you mean `advance_seconds`?)\n\
         scenarios/errors/several-errors.yaml:12:9: undefined actor `carol` in steps[2].as: expected one of the declared actors `alice`, `bob`"
    );
}

#[test]
fn errors_carry_key_and_kind() {
    let text = std::fs::read_to_string(fixtures().join("errors/unknown-key.yaml")).unwrap();
    let e = parse_scenario(&text, "scenarios/errors/unknown-key.yaml").unwrap_err();
    assert_eq!(e.key, "steps[0].captur");
    assert_eq!((e.location.line, e.location.column), (10, 5));
    assert_eq!(
        *e.kind,
        LoadErrorKind::UnknownKey {
            key: "captur".into(),
            at: "steps[0]".into(),
            suggestion: Some("capture".into())
        }
    );
}

#[test]
fn first_error_and_all_errors() {
    let text = "id: x\ntitle: t\nsteps:\n  - clock: {advance_seconds: 0}\n  - set: {a: 1}\n    as: nobody\n";
    let all = parse_scenario_all(text, "a.yaml").unwrap_err();
    assert_eq!(all.errors().len(), 3, "{all}");
    let first = parse_scenario(text, "a.yaml").unwrap_err();
    assert_eq!(first, all.errors()[0]);
    assert_eq!(
        first.to_string(),
        "a.yaml:4:30: invalid value for `steps[0].clock.advance_seconds`: expected a positive number of seconds, found 0"
    );
}

// ---------------------------------------------------------------------------
// Library loads and every feature of the format.
// ---------------------------------------------------------------------------

#[test]
fn library_loads_with_sources() {
    let lib = library("library").unwrap();
    let ids: Vec<&str> = lib.scenarios.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["format.auth-modes", "format.events", "format.everything"]);
    assert_eq!(lib.flows.keys().collect::<Vec<_>>(), ["hire", "login", "post-job"]);
    let s = lib.scenario("format.everything").unwrap();
    assert_eq!(s.source.to_string(), "scenarios/format/everything.yaml:1:1");
    assert_eq!(s.steps[0].source.to_string(), "scenarios/format/everything.yaml:17:5");
    assert_eq!(s.steps[1].source.to_string(), "scenarios/format/everything.yaml:23:5");
    let f = &lib.flows["hire"];
    assert_eq!(f.name, "hire");
    assert_eq!(f.source.file, "scenarios/_flows/hire.yaml");
    assert_eq!(f.steps[1].source.to_string(), "scenarios/_flows/hire.yaml:11:5");
    assert!(lib.root.ends_with("library/scenarios"));
}

#[test]
fn every_feature_is_read_into_the_model() {
    let lib = library("library").unwrap();
    let s = lib.scenario("format.everything").unwrap();
    assert_eq!(s.doc, ["llms.txt#browse-and-apply-agent-actions", "openapi:createJob"]);
    assert_eq!(s.level, Level::Should);
    assert!(s.moves_money && s.exclusive);
    assert_eq!(s.requires, ["actors", "clock", "reset"]);
    assert_eq!(s.actors["alice"].role, Role::Poster);
    assert_eq!(s.actors["alice"].wallet_cents, Some(100000));
    assert_eq!(s.actors["alice"].tier, Some(Tier::Pro));
    assert_eq!(
        s.actors["bob"].specializations.as_deref(),
        Some(&["Research".to_string(), "Writing".to_string()][..])
    );
    assert_eq!(s.vars["limit"], json!(5));

    let inc = &s.steps[0];
    assert_eq!(inc.include.as_deref(), Some("hire"));
    assert_eq!(inc.with.as_ref().unwrap()["price"], json!(7000));

    let list = &s.steps[1];
    assert_eq!(list.auth, Some(AuthMode::Jwt));
    assert_eq!(list.timeout_ms, Some(5000));
    let r = list.request.as_ref().unwrap();
    assert_eq!(r.query["limit"], json!("{{limit}}"));
    assert_eq!(r.headers["X-Trace"], "{{run_id}}");
    let e = list.expect.as_ref().unwrap();
    assert_eq!(e.status, [StatusExpect::Code(200), StatusExpect::Code(304)]);
    assert_eq!(e.headers["content-type"].regex.as_deref(), Some("^application/json"));
    assert_eq!(e.body[0].path, "$.jobs[*].id");
    assert_eq!(e.body[0].check.uuid, Some(true));
    assert_eq!(e.body[2].check.min, Some(1.0));
    assert_eq!(e.body[2].check.max, Some(1000.5));
    assert_eq!(
        e.body[3].check.one_of,
        Some(vec![json!("open"), json!("pending_escrow")])
    );
    assert_eq!(e.body[5].check.not.as_ref().unwrap().equals, Some(json!("")));
    assert_eq!(e.body[7].check.contains, Some(json!("research")));
    assert_eq!(e.body[7].check.length, Some(2));
    // `equals: null` is a check for null, not an absent check.
    assert_eq!(e.body[8].check.equals, Some(serde_json::Value::Null));
    assert_eq!(e.body[9].path, "");
    let c = list.capture.as_ref().unwrap();
    assert_eq!(c["first_job"], Capture::Body("/jobs/0/id".into()));
    assert_eq!(
        c["request_id"],
        Capture::Header {
            header: "x-request-id".into()
        }
    );

    let raw = s.steps[2].request.as_ref().unwrap();
    assert_eq!(raw.raw.as_deref(), Some("{\"text\": \"{{greeting}}\"}"));
    assert_eq!(raw.content_type.as_deref(), Some("application/json"));
    let big = &s.steps[3];
    assert_eq!(big.request.as_ref().unwrap().raw_size, Some(2_000_000));
    assert_eq!(big.skip_checks[0].check, AutoCheck::Schema);
    let mp = s.steps[4].request.as_ref().unwrap().multipart.as_ref().unwrap();
    assert_eq!(mp.field, "file");
    assert_eq!(mp.filename, "brief.txt");
    assert_eq!(mp.fields["note"], "first");
    let rep = s.steps[5].repeat.as_ref().unwrap();
    assert_eq!(
        (rep.times, rep.until_status, rep.expect_at),
        (31, Some(429), Some(ExpectAt::Exactly(31)))
    );
    assert_eq!(rep.each.as_ref().unwrap().status, [StatusExpect::Code(200)]);
    assert_eq!(s.steps[6].clock.as_ref().unwrap().advance_seconds, 3600);
    assert_eq!(s.steps[7].set.as_ref().unwrap()["count"], json!(3));
    assert_eq!(s.steps[9].request.as_ref().unwrap().json, Some(serde_json::Value::Null));
    assert_eq!(s.steps[10].skip_checks.len(), 2);
    assert_eq!(s.steps[10].skip_checks[0].check, AutoCheck::Operation);

    let ev = lib.scenario("format.events").unwrap();
    let sub = ev.steps[0].subscribe.as_ref().unwrap();
    assert_eq!(sub.stream, "feed");
    assert_eq!(sub.types, ["job.available", "message.created"]);
    let e = ev.steps[2].event.as_ref().unwrap();
    assert_eq!(e.event_type, "job.available");
    assert_eq!(e.exactly_once, Some(true));
    assert_eq!(e.within_ms, Some(3000));
    assert_eq!(e.matches[0].check.equals, Some(json!("{{job_id}}")));
    assert_eq!(e.capture.as_ref().unwrap()["announced"], "/job/id");
    let ne = ev.steps[3].no_event.as_ref().unwrap();
    assert_eq!(ne.event_type.as_deref(), Some("message.created"));
    assert_eq!(ne.within_ms, Some(500));
    assert_eq!(ev.steps[4].no_event.as_ref().unwrap().event_type, None);

    let auth = lib.scenario("format.auth-modes").unwrap();
    let modes: Vec<Option<AuthMode>> = auth.steps[1..10].iter().map(|s| s.auth).collect();
    assert_eq!(
        modes,
        [
            AuthMode::ApiKey,
            AuthMode::Jwt,
            AuthMode::None,
            AuthMode::ApiKeyAsBearer,
            AuthMode::Both,
            AuthMode::UnknownKey,
            AuthMode::MalformedKey,
            AuthMode::MalformedJwt,
            AuthMode::TamperedJwt
        ]
        .map(Some)
    );
}

#[test]
fn the_fixture_library_lints_clean() {
    let lib = library("library").unwrap();
    let findings = lint_with(&lib, None);
    assert!(findings.is_empty(), "{findings:#?}");
}

/// The repository's contract: the documented spec and the reference overlay.
fn contract() -> agentgigs_conformance::spec::Contract {
    let root = tests_dir().join("..");
    agentgigs_conformance::spec::Contract::load(
        &root.join(agentgigs_conformance::spec::DOCUMENTED_SPEC),
        Some(&root.join(agentgigs_conformance::spec::REFERENCE_OVERLAY)),
    )
    .unwrap_or_else(|e| panic!("the contract loads: {e}"))
}

#[test]
fn the_fixture_library_matches_the_spec() {
    let lib = library("library").unwrap();
    let findings = agentgigs_conformance::plan::lint(&lib, &contract());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_repository_library_loads() {
    let root = tests_dir().join("../scenarios");
    if root.is_dir()
        && let Err(e) = load_library(&root)
    {
        panic!("{e}");
    }
}

#[test]
fn parse_flow_takes_its_name_from_the_file() {
    let f = parse_flow(
        "actors: [u]\nsteps:\n  - {as: u, request: {method: GET, path: /x}}\n",
        "scenarios/_flows/look.yaml",
    )
    .unwrap();
    assert_eq!(f.name, "look");
    assert_eq!(f.steps[0].actor.as_deref(), Some("u"));
    let e = parse_flow("name: other\nsteps:\n  - set: {a: 1}\n", "scenarios/_flows/look.yaml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "scenarios/_flows/look.yaml:1:7: invalid value for `name`: expected the file's name `look` (or no `name`), found `other`"
    );
    let e = parse_flow(
        "actors: [u]\nsteps:\n  - {as: v, request: {method: GET, path: /x}}\n",
        "f.yaml",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "f.yaml:3:10: undefined actor `v` in steps[0].as: expected one of the declared actors `u`"
    );
}

// ---------------------------------------------------------------------------
// Includes.
// ---------------------------------------------------------------------------

#[test]
fn include_errors() {
    let e = library("includes").unwrap_err();
    assert_eq!(
        e.to_string(),
        "scenarios/x/bad-with.yaml:9:13: undefined actor `alise` in steps[0].with.user: expected one of the declared actors `alice` (did you mean `alice`?)\n\
         scenarios/x/bad-with.yaml:11:7: unknown key `remembr` in steps[0].with (did you mean `remember`?)\n\
         scenarios/x/missing-flow.yaml:7:14: unknown flow `logn` in steps[0] (did you mean `login`?)\n\
         scenarios/x/missing-mapping.yaml:8:11: missing key `user` in steps[0].with: flow `login` needs its actor `user` mapped to one of yours (`user: <actor>`)\n\
         scenarios/x/missing-param.yaml:9:7: missing key `password` in steps[0].with: flow `login` requires the parameter `password`"
    );
}

#[test]
fn include_cycles() {
    let e = library("cycle").unwrap_err();
    assert_eq!(
        e.to_string(),
        "scenarios/_flows/b.yaml:3:14: include cycle in steps[1]: `a` → `b` → `a`\n\
         scenarios/_flows/self.yaml:2:14: include cycle in steps[0]: `self` → `self`"
    );
}

#[test]
fn expansion_with_params_actor_mapping_and_nesting() {
    let lib = library("library").unwrap();
    let s = lib.scenario("format.everything").unwrap();
    let steps = expand(s, &lib).unwrap();
    assert_eq!(steps.len(), s.steps.len() - 1 + 5);

    // 1. the parameters of `hire`: defaults overridden by `with`.
    assert_eq!(steps[0].name.as_deref(), Some("include hire: parameters"));
    assert_eq!(
        steps[0].set,
        Some(
            [
                ("category".to_string(), json!("Research")),
                ("price".to_string(), json!(7000))
            ]
            .into()
        )
    );
    assert_eq!(steps[0].source.to_string(), "scenarios/format/everything.yaml:17:5");
    // 2. the parameters of the nested `post-job`; its default speaks of its
    //    own actor `poster`, now alice (poster → boss → alice).
    assert_eq!(
        steps[1].set,
        Some(
            [
                ("budget_min".to_string(), json!(5000)),
                ("category".to_string(), json!("{{category}}")),
                ("contact".to_string(), json!("{{alice.email}}")),
            ]
            .into()
        )
    );
    assert_eq!(steps[1].source.to_string(), "scenarios/_flows/hire.yaml:7:5");
    // 3. post-job's step, renamed twice, keeps its own source.
    assert_eq!(steps[2].actor.as_deref(), Some("alice"));
    assert_eq!(steps[2].source.to_string(), "scenarios/_flows/post-job.yaml:8:5");
    let json = steps[2].request.as_ref().unwrap().json.as_ref().unwrap();
    assert_eq!(json["owner"], json!("{{ alice.user_id }}"));
    assert_eq!(json["category"], json!("{{category}}"));
    // 4-5. hire's own steps.
    assert_eq!(steps[3].actor.as_deref(), Some("bob"));
    assert_eq!(
        steps[3].request.as_ref().unwrap().json.as_ref().unwrap()["from"],
        json!("{{bob.email}}")
    );
    assert_eq!(steps[4].actor.as_deref(), Some("alice"));
    assert_eq!(steps[4].source.to_string(), "scenarios/_flows/hire.yaml:19:5");
    // The rest is the scenario's own steps, unchanged.
    assert_eq!(steps[5], s.steps[1]);
    assert_eq!(steps.last(), s.steps.last());
    // No include is left.
    assert!(steps.iter().all(|st| st.include.is_none() && st.with.is_none()));
}

#[test]
fn expansion_with_implicit_mapping_and_without_params() {
    let lib = library("library").unwrap();
    // `post-job`'s actor `poster` is not in `with`: the scenario's own
    // `poster` is used.
    let ev = lib.scenario("format.events").unwrap();
    let steps = expand(ev, &lib).unwrap();
    assert_eq!(steps[1].set.as_ref().unwrap()["contact"], json!("{{poster.email}}"));
    assert_eq!(steps[2].actor.as_deref(), Some("poster"));
    // `login` has no parameters: no `set` step.
    let auth = lib.scenario("format.auth-modes").unwrap();
    let steps = expand(auth, &lib).unwrap();
    assert_eq!(steps.len(), auth.steps.len());
    assert_eq!(
        steps[0].request.as_ref().unwrap().json,
        Some(json!({"email": "{{alice.email}}", "password": "{{alice.password}}"}))
    );
    assert_eq!(steps[0].source.to_string(), "scenarios/_flows/login.yaml:4:5");
}

#[test]
fn expand_reports_a_missing_flow() {
    let s = parse_scenario("id: a\ntitle: t\nsteps:\n  - include: nowhere\n", "scenarios/x/a.yaml").unwrap();
    let lib = Library {
        root: PathBuf::from("scenarios"),
        scenarios: vec![s.clone()],
        flows: Default::default(),
    };
    let e = expand(&s, &lib).unwrap_err();
    assert_eq!(
        e.to_string(),
        "scenarios/x/a.yaml:4:5: unknown flow `nowhere` in steps[0]"
    );
}

// ---------------------------------------------------------------------------
// Lint.
// ---------------------------------------------------------------------------

#[test]
fn lint_findings() {
    let lib = library("lint").unwrap();
    let found: Vec<String> = agentgigs_conformance::plan::lint(&lib, &contract())
        .iter()
        .map(|f| f.to_string())
        .collect();
    let mut expected = vec![
        "scenarios/_flows/orphan.yaml:1:1: warning: flow `orphan` is never included",
        "scenarios/_flows/uses-var.yaml:3:5: error: undefined variable `flow_job` in `{{flow_job}}`: no earlier step, `vars` or built-in defines it (included from scenario `lint.problems`)",
        "scenarios/lint/b.yaml:1:1: error: duplicate id `lint.same`: also used by scenarios/lint/a.yaml:1:1",
        "scenarios/lint/problems.yaml:1:1: error: missing `doc`: name where the rule is documented (`llms.txt#section`, `docs/api#section` or `openapi:operationId`)",
        "scenarios/lint/problems.yaml:1:1: error: unknown feature `clocks` in requires: expected one of `actors`, `clock`, `reset`, `attachments`, `webhook_loopback` (did you mean `clock`?)",
        "scenarios/lint/problems.yaml:1:1: warning: missing `rule`: quote or paraphrase the documented rule",
        "scenarios/lint/problems.yaml:7:5: error: variable `job_id` in `{{job_id}}` is used before the step that defines it",
        "scenarios/lint/problems.yaml:13:5: error: undefined actor or variable `carol` in `{{carol.email}}`: no actor, earlier step or `vars` defines it",
        "scenarios/lint/problems.yaml:13:5: error: undefined variable `job_idd` in `{{job_idd}}`: no earlier step, `vars` or built-in defines it (did you mean `job_id`?)",
        "scenarios/lint/problems.yaml:13:5: error: unknown actor field `mail` in `{{alice.mail}}`: expected one of `user_id`, `email`, `api_key`, `access_token`, `password` (did you mean `email`?)",
        "scenarios/lint/problems.yaml:13:5: error: unknown filter `reff` in `{{job_id | reff}}`: expected one of `ref`, `ref_uuid`, `path`, `upper`, `lower`, `plus:N`, `minus:N` (did you mean `ref`?)",
        "scenarios/lint/problems.yaml:19:5: error: `POST /api/jobs/{{job_id}}/fund-escrow` moves money but the scenario lacks `moves_money: true`",
        "scenarios/lint/problems.yaml:22:5: error: a `clock` step needs the target's clock: add `clock` to `requires`",
        "scenarios/lint/problems.yaml:23:5: error: stream `feed` is not opened by an earlier `subscribe` step",
    ];
    expected.push("scenarios/lint/problems.yaml:24:5: error: no documented operation for `GET /api/nowhere` (matched as `/api/nowhere`); if intended, add `skip_checks: [{check: operation, reason: ...}]`");
    assert_eq!(found, expected);
    let f = &lint_with(&lib, None)[1];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.scenario.as_deref(), Some("lint.problems"));
}

#[test]
fn variables_in_strings() {
    assert_eq!(
        variables_in("/api/jobs/{{job_id}}/x?{{ alice.email }}"),
        ["job_id", "alice.email"]
    );
    assert_eq!(variables_in("no variables {{ here"), Vec::<String>::new());
    assert_eq!(variables_in("{{a}}{{b}}"), ["a", "b"]);
}

#[test]
fn money_moving_requests() {
    use agentgigs_conformance::scenario::lint::{concrete_path, moves_money};
    assert!(moves_money("POST", "/api/jobs/{{job_id}}/fund-escrow"));
    assert!(moves_money("POST", "/api/jobs/{{job_id}}/fund-proof-escrow"));
    assert!(moves_money("POST", "/api/jobs/{{job_id}}/approve?x=1"));
    assert!(!moves_money("GET", "/api/jobs/{{job_id}}/approve"));
    assert!(!moves_money("POST", "/api/jobs/{{job_id}}/apply"));
    assert_eq!(
        concrete_path("/api/jobs/{{job_id}}/nda?a={{b}}"),
        "/api/jobs/00000000-0000-4000-8000-000000000000/nda"
    );
}

// ---------------------------------------------------------------------------
// Robustness.
// ---------------------------------------------------------------------------

#[test]
fn deep_nesting_and_odd_inputs_do_not_panic() {
    let deep_json = format!(
        "id: a\ntitle: t\nsteps:\n  - auth: none\n    request: {{method: POST, path: /x, json: {}1{}}}\n",
        "[".repeat(190),
        "]".repeat(190)
    );
    assert!(parse_scenario(&deep_json, "a.yaml").is_ok());
    let deep_not = format!(
        "id: a\ntitle: t\nsteps:\n  - auth: none\n    request: {{method: GET, path: /x}}\n    expect: {{body: [{{path: /a, {}equals: 1{}}}]}}\n",
        "not: {".repeat(150),
        "}".repeat(150)
    );
    assert!(parse_scenario(&deep_not, "a.yaml").is_ok());
    for text in [
        "[".repeat(100_000),
        "{".repeat(100_000),
        "- ".repeat(10_000),
        "a: &a [1]\nb: *a\n".to_string(),
        "\u{feff}id: x".to_string(),
        "steps: 5".to_string(),
        "steps: [5, null, [], {}]".to_string(),
        "id: x\ntitle: t\nsteps:\n  - request: {method: GET, path: /x, json: 1}\n    auth: none\n    expect: {status: [1.5]}".to_string(),
        "id: x\ntitle: t\nsteps:\n  - {set: {\"a.b\": 1, \"\": 2}}".to_string(),
        "id: x\ntitle: t\nsteps:\n  - {include: \"\"}".to_string(),
        format!("id: x\ntitle: t\nsteps:\n  - {{captur{}: 1}}", "e".repeat(100_000)),
        format!("id: x\ntitle: t\nsteps:\n  - {{as: a, request: {{method: GET, path: /x}}, expect: {{body: [{{path: /a, regex: \"{}\"}}]}}}}", "(a".repeat(5_000)),
    ] {
        let _ = parse_scenario_all(&text, "a.yaml");
        let _ = parse_flow_all(&text, "f.yaml");
    }
}

// ---------------------------------------------------------------------------
// A library large enough to be parsed on several threads.
// ---------------------------------------------------------------------------

#[test]
fn a_large_library_loads_in_path_order_with_every_error_in_place_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("scenarios");
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let good = |id: &str| {
        format!(
            "id: {id}\ntitle: t\nactors: {{u: {{role: agent}}}}\nsteps:\n  - {{as: u, request: {{method: GET, path: /api/wallet}}}}\n"
        )
    };
    let mut ids = Vec::new();
    for area in ["b", "a", "c"] {
        for n in (0..20).rev() {
            let id = format!("{area}.s{n:02}");
            write(&format!("{area}/s{n:02}.yaml"), &good(&id));
            ids.push(id);
        }
    }
    ids.sort();
    // Two flows of the same name: the later path is the duplicate.
    let flow = "actors: [u]\nsteps:\n  - {as: u, request: {method: GET, path: /x}}\n";
    write("_flows/one/same.yaml", flow);
    write("_flows/two/same.yaml", flow);
    write("_flows/look.yaml", flow);
    let lib = load_library(&root).unwrap_err().to_string();
    assert_eq!(
        lib,
        "scenarios/_flows/two/same.yaml:1:1: duplicate flow `same`: `scenarios/_flows/one/same.yaml` has the same name"
    );
    std::fs::remove_file(root.join("_flows/two/same.yaml")).unwrap();
    let lib = load_library(&root).unwrap();
    let loaded: Vec<&str> = lib.scenarios.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(loaded, ids);
    assert_eq!(lib.flows.keys().collect::<Vec<_>>(), ["look", "same"]);
    // Broken files everywhere: every error, sorted by place, the same each time.
    write("c/broken.yaml", "id: c.broken\ntitle: [unclosed\n");
    write("a/typo.yaml", "id: a.typo\ntitel: t\nsteps: []\n");
    write(
        "b/actor.yaml",
        "id: b.actor\ntitle: t\nsteps:\n  - {as: nobody, request: {method: GET, path: /x}}\n",
    );
    let first = load_library(&root).unwrap_err().to_string();
    let mut files: Vec<&str> = first.lines().map(|l| l.split(':').next().unwrap()).collect();
    files.dedup();
    assert_eq!(
        files,
        [
            "scenarios/a/typo.yaml",
            "scenarios/b/actor.yaml",
            "scenarios/c/broken.yaml"
        ],
        "{first}"
    );
    for _ in 0..5 {
        assert_eq!(load_library(&root).unwrap_err().to_string(), first);
    }
}

// ---------------------------------------------------------------------------
// `repeat`: `over`, `collect` and `pause`.
// ---------------------------------------------------------------------------

const REPEAT_OVER: &str = "id: lint.over
title: t
doc: llms.txt#x
rule: r
requires: [actors, clock]
actors:
  alice: {role: poster}
steps:
  - as: alice
    request: {method: POST, path: /api/agent/jobs, json: {title: t}}
    repeat: {times: 3, collect: {jobs: [/job/id, /id]}, pause: {every: 2, advance_seconds: 61}}
  - as: alice
    request: {method: POST, path: \"/api/jobs/{{job_id}}/nda\"}
    repeat: {times: 3, over: {job_id: jobs}}
";

#[test]
fn repeat_over_collect_and_pause_load() {
    let s = parse_scenario(REPEAT_OVER, "scenarios/lint/over.yaml").unwrap();
    let first = s.steps[0].repeat.as_ref().unwrap();
    assert_eq!(
        first.pause,
        Some(RepeatPause {
            every: 2,
            advance_seconds: 61
        })
    );
    assert_eq!(
        first.collect.get("jobs"),
        Some(&Capture::AnyOf(vec!["/job/id".into(), "/id".into()]))
    );
    let second = s.steps[1].repeat.as_ref().unwrap();
    assert_eq!(second.over.get("job_id").map(String::as_str), Some("jobs"));
}

#[test]
fn repeat_over_collect_and_pause_errors() {
    let text = REPEAT_OVER
        .replace("every: 2, advance_seconds: 61", "every: 0, advance_seconds: 0")
        .replace(
            "over: {job_id: jobs}",
            "over: {job_id: job_id, 2x: jobs}, collect: {job_id: /id}",
        );
    let e = parse_scenario_all(&text, "scenarios/lint/over.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "scenarios/lint/over.yaml:11:72: invalid value for `steps[0].repeat.pause.every`: expected at least 1, found 0\n\
         scenarios/lint/over.yaml:11:92: invalid value for `steps[0].repeat.pause.advance_seconds`: expected a positive number of seconds, found 0\n\
         scenarios/lint/over.yaml:14:39: `over.job_id` reads the list `job_id`, which this repeat itself sets: name a list an earlier step built\n\
         scenarios/lint/over.yaml:14:47: invalid variable name `2x` in steps[1].repeat.over.2x: expected letters, digits and `_`, not starting with a digit\n\
         scenarios/lint/over.yaml:14:76: `job_id` is both an `over` variable and a `collect` list of this repeat"
    );
}

#[test]
fn repeat_in_flight_is_bounded_and_never_with_until_status() {
    let ok = REPEAT_OVER.replace("repeat: {times: 3, over:", "repeat: {times: 3, in_flight: 2, over:");
    let s = parse_scenario(&ok, "scenarios/lint/over.yaml").unwrap();
    assert_eq!(s.steps[1].repeat.as_ref().unwrap().in_flight, Some(2));
    let text = REPEAT_OVER
        .replace(
            "repeat: {times: 3, collect:",
            "repeat: {times: 3, in_flight: 17, collect:",
        )
        .replace(
            "repeat: {times: 3, over:",
            "repeat: {times: 3, in_flight: 2, until_status: 429, over:",
        );
    let e = parse_scenario_all(&text, "scenarios/lint/over.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "scenarios/lint/over.yaml:11:35: invalid value for `steps[0].repeat.in_flight`: expected from 1 to 16, found 17\n\
         scenarios/lint/over.yaml:14:35: `in_flight` above 1 cannot go with `until_status`: the request at which a status arrives needs the requests sent one after another"
    );
}

#[test]
fn repeat_over_collect_and_pause_lint() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("scenarios");
    std::fs::create_dir_all(root.join("lint")).unwrap();
    std::fs::write(root.join("lint/over.yaml"), REPEAT_OVER).unwrap();
    let clean = lint_with(&load_library(&root).unwrap(), None);
    assert!(clean.is_empty(), "{clean:?}");
    // A list nobody built, a misspelt one, and a pause without the clock.
    let broken = REPEAT_OVER
        .replace("requires: [actors, clock]", "requires: [actors]")
        .replace("over: {job_id: jobs}", "over: {job_id: jbos}");
    std::fs::write(root.join("lint/over.yaml"), broken).unwrap();
    let found: Vec<String> = lint_with(&load_library(&root).unwrap(), None)
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        found,
        [
            "scenarios/lint/over.yaml:9:5: error: `repeat.pause` moves the target's clock: add `clock` to `requires`",
            "scenarios/lint/over.yaml:12:5: error: `repeat.over.job_id` reads the list `jbos`, which no earlier step, `vars` or `collect` defines (did you mean `jobs`?)",
        ]
    );
}
