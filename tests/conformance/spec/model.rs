//! The spec model against the upstream OpenAPI 3.1 document and small
//! inline fixtures (3.0 nullable, 3.1 type arrays, `$ref` cycles, path
//! precedence, YAML and JSON, malformed documents).

use std::path::PathBuf;

use agentgigs_conformance::finding::{Finding, FindingKind};
use agentgigs_conformance::spec::{CheckSet, OpenApiVersion, Operation, ResponseView, Spec, SpecError};
use serde_json::{Value, json};

/// The upstream OpenAPI document, under `../shared`.
const UPSTREAM: &str = "upstream/openapi.json";

/// The upstream spec (its trials are ignored when it is missing).
fn upstream() -> Spec {
    Spec::load(&crate::spec::shared_dir().join(UPSTREAM)).expect("the upstream spec loads")
}

fn check(
    spec: &Spec,
    method: &str,
    path: &str,
    status: u16,
    headers: &[(String, String)],
    body: &Value,
) -> Vec<Finding> {
    let op = spec
        .find_operation(method, path)
        .unwrap_or_else(|| panic!("no operation for {method} {path}"));
    let resp = ResponseView {
        status,
        headers,
        content_type: Some("application/json"),
        json: Some(body),
        raw: b"",
    };
    spec.check_response(op, &resp, CheckSet::default())
}

fn pointers(f: &[Finding]) -> Vec<(FindingKind, String, String)> {
    f.iter()
        .map(|f| {
            (
                f.kind,
                f.body_pointer.clone().unwrap_or_default(),
                f.schema_pointer.clone().unwrap_or_default(),
            )
        })
        .collect()
}

const UUID: &str = "3f0c1a52-8d1e-4c7a-9a51-6f2b1e0c9d44";

fn upstream_loads_cleanly() {
    let spec = upstream();
    assert_eq!(spec.openapi_version(), OpenApiVersion::V31);
    let info = spec.info();
    assert_eq!(info.title, "AgentGigs API");
    assert!(info.openapi.starts_with("3.1"));
    assert_eq!(info.sha256.len(), 64);
    assert!(spec.operations().len() >= 20, "{}", spec.operations().len());
    assert!(spec.unresolved_refs().is_empty(), "{:?}", spec.unresolved_refs());
    assert!(spec.warnings().is_empty(), "{:?}", spec.warnings());
    assert!(
        spec.strict_check_30().is_err(),
        "3.1 is refused by the 3.0 strict check"
    );
}

/// `op`'s path with a UUID in each parameter; asserts that finding an
/// operation by it gives `op` back. Answers the path.
fn found_by_a_concrete_path(spec: &Spec, op: &Operation) -> String {
    let concrete = op
        .path
        .split('/')
        .map(|s| if s.starts_with('{') { UUID } else { s })
        .collect::<Vec<_>>()
        .join("/");
    let found = spec
        .find_operation(&op.method, &concrete)
        .unwrap_or_else(|| panic!("{} not found", op.label()));
    assert_eq!(found.pointer, op.pointer, "{concrete}");
    concrete
}

fn upstream_every_operation_is_found_by_a_concrete_path() {
    let spec = upstream();
    for op in spec.operations() {
        let concrete = found_by_a_concrete_path(&spec, op);
        let lower = spec.find_operation(&op.method.to_lowercase(), &format!("{concrete}?page=2"));
        assert_eq!(lower.map(|o| &o.pointer), Some(&op.pointer));
        assert!(!op.statuses.is_empty(), "{}", op.label());
    }
    assert!(spec.find_operation("DELETE", "/api/wallet").is_none());
    assert!(spec.find_operation("GET", "/api/nowhere").is_none());
    assert!(spec.find_operation("GET", "/api/jobs").is_none());
}

fn upstream_wallet_valid_and_invalid() {
    let spec = upstream();
    assert!(
        check(
            &spec,
            "GET",
            "/api/wallet",
            200,
            &[],
            &json!({"balance": 1250, "formatted": "$12.50"})
        )
        .is_empty()
    );
    let f = check(&spec, "GET", "/api/wallet", 200, &[], &json!({"balance": "12.50"}));
    assert_eq!(
        pointers(&f),
        [(
            FindingKind::Schema,
            "/balance".to_string(),
            "#/paths/~1api~1wallet/get/responses/200/content/application~1json/schema/properties/balance/type"
                .to_string()
        )]
    );
    let f = check(&spec, "GET", "/api/wallet", 500, &[], &json!({"error": "boom"}));
    assert_eq!(
        f.iter().map(|f| f.kind).collect::<Vec<_>>(),
        [FindingKind::UndocumentedStatus]
    );
}

fn upstream_refs_stray_nullable_and_type_arrays() {
    let spec = upstream();
    let apply = format!("/api/jobs/{UUID}/apply");
    // Error.code is `type: string, nullable: true` in a 3.1 document.
    assert!(
        check(
            &spec,
            "POST",
            &apply,
            401,
            &[],
            &json!({"error": "no key", "code": null})
        )
        .is_empty()
    );
    let f = check(&spec, "POST", &apply, 401, &[], &json!({"error": "no key", "code": 7}));
    assert_eq!(
        pointers(&f),
        [(
            FindingKind::Schema,
            "/code".into(),
            "#/components/schemas/Error/properties/code/type".into()
        )]
    );
    let f = check(&spec, "POST", &apply, 401, &[], &json!({"code": "x"}));
    assert_eq!(
        pointers(&f),
        [(
            FindingKind::Schema,
            "".into(),
            "#/components/schemas/Error/required".into()
        )]
    );
    // A referenced schema inside an inline one.
    let f = check(
        &spec,
        "POST",
        &apply,
        200,
        &[],
        &json!({"application": {"id": "not-a-uuid", "status": "pending"}}),
    );
    assert_eq!(
        pointers(&f),
        [(
            FindingKind::Schema,
            "/application/id".into(),
            "#/components/schemas/Application/properties/id/format".into()
        )]
    );
    // Type arrays (3.1).
    let proofs = format!("/api/jobs/{UUID}/proofs");
    let ok = json!({"summary": {"total_submitted": null, "verdict_counts": null, "avg_score": 3}});
    assert!(check(&spec, "GET", &proofs, 200, &[], &ok).is_empty());
    let bad = json!({"summary": {"total_submitted": "3"}});
    let f = check(&spec, "GET", &proofs, 200, &[], &bad);
    let base = "#/paths/~1api~1jobs~1{id}~1proofs/get/responses/200/content/application~1json/schema";
    assert_eq!(
        pointers(&f),
        [(
            FindingKind::Schema,
            "/summary/total_submitted".into(),
            format!("{base}/properties/summary/properties/total_submitted/type")
        )]
    );
}

const FIXTURE_30: &str = r##"
openapi: 3.0.3
info: {title: Fixture 3.0, version: "2"}
paths:
  /api/jobs/{id}:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
  /api/jobs/proof-needed:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Job'}}
  /api/things/{a}/b:
    get:
      responses: {'200': {description: ok}}
  /api/things/x/{b}:
    get:
      responses: {'200': {description: ok}}
  /api/tree:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/A'}
components:
  schemas:
    Job:
      type: object
      required: [id, title]
      properties:
        id: {type: string, format: uuid}
        title: {type: string, nullable: true}
        status: {type: string, enum: [open, done], nullable: true}
        parent: {nullable: true, allOf: [{$ref: '#/components/schemas/Job'}]}
        price: {type: integer, minimum: 1, exclusiveMinimum: true}
    A:
      type: object
      properties:
        b: {$ref: '#/components/schemas/B'}
        name: {type: string}
    B:
      type: object
      properties:
        a: {$ref: '#/components/schemas/A'}
        list: {type: array, items: {$ref: '#/components/schemas/B'}}
"##;

fn nullable_in_30() {
    let spec = Spec::from_text(FIXTURE_30, "fixture30.yaml").unwrap();
    spec.strict_check_30().unwrap();
    let path = format!("/api/jobs/{UUID}");
    let ok = json!({"id": UUID, "title": null, "status": null, "parent": null, "price": 2});
    assert!(check(&spec, "GET", &path, 200, &[], &ok).is_empty());
    let ok = json!({"id": UUID, "title": "t", "status": "open", "parent": {"id": UUID, "title": "p"}});
    assert!(check(&spec, "GET", &path, 200, &[], &ok).is_empty());
    let bad = json!({"id": UUID, "title": 1, "status": "closed", "parent": {"id": UUID, "title": 2}, "price": 1});
    let mut got = pointers(&check(&spec, "GET", &path, 200, &[], &bad));
    got.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
    let job = "#/components/schemas/Job/properties";
    assert_eq!(
        got,
        [
            (FindingKind::Schema, "/parent/title".into(), format!("{job}/title/type")),
            (
                FindingKind::Schema,
                "/price".into(),
                format!("{job}/price/exclusiveMinimum")
            ),
            (FindingKind::Schema, "/status".into(), format!("{job}/status/enum")),
            (FindingKind::Schema, "/title".into(), format!("{job}/title/type")),
        ]
    );
    // `parent` null is allowed, but a string is not.
    let bad = json!({"id": UUID, "title": "t", "parent": "nope"});
    let f = check(&spec, "GET", &path, 200, &[], &bad);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].body_pointer.as_deref(), Some("/parent"));
    assert_eq!(f[0].schema_pointer.as_deref(), Some("#/components/schemas/Job/type"));
}

fn ref_cycles_load_and_validate() {
    let spec = Spec::from_text(FIXTURE_30, "fixture30.yaml").unwrap();
    let mut deep = json!({"name": "leaf"});
    for i in 0..30 {
        deep = if i % 2 == 0 {
            json!({"b": {"a": deep, "list": [{"list": []}]}})
        } else {
            deep
        };
    }
    assert!(check(&spec, "GET", "/api/tree", 200, &[], &deep).is_empty());
    let bad = json!({"b": {"a": {"b": {"list": [{"a": {"name": 5}}]}}}});
    let f = check(&spec, "GET", "/api/tree", 200, &[], &bad);
    assert_eq!(
        pointers(&f),
        [(
            FindingKind::Schema,
            "/b/a/b/list/0/a/name".into(),
            "#/components/schemas/A/properties/name/type".into()
        )]
    );
    let op = spec.find_operation("GET", "/api/tree").unwrap();
    let schema = spec
        .inline_schema(op.responses[0].content[0].schema_pointer.as_deref().unwrap())
        .unwrap();
    assert_eq!(
        schema["properties"]["b"]["properties"]["a"],
        json!({"x-recursive-ref": "#/components/schemas/A"})
    );
}

fn find_operation_precedence() {
    let spec = Spec::from_text(FIXTURE_30, "fixture30.yaml").unwrap();
    assert_eq!(
        spec.find_operation("GET", "/api/jobs/proof-needed").unwrap().path,
        "/api/jobs/proof-needed"
    );
    assert_eq!(
        spec.find_operation("GET", "/api/jobs/proof-needed-not").unwrap().path,
        "/api/jobs/{id}"
    );
    assert_eq!(
        spec.find_operation("GET", "/api/things/x/b").unwrap().path,
        "/api/things/x/{b}"
    );
    assert_eq!(
        spec.find_operation("GET", "/api/things/y/b").unwrap().path,
        "/api/things/{a}/b"
    );
    assert!(spec.find_operation("POST", "/api/jobs/proof-needed").is_none());
    assert!(spec.find_operation("GET", "/api/jobs").is_none());
    assert!(spec.find_operation("GET", "/api/jobs//x").is_none());
    assert!(spec.find_operation("", "").is_none());
}

fn type_arrays_in_31() {
    let text = r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
      "paths": {"/x": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema":
        {"type": "object", "properties": {"n": {"type": ["integer", "null"]}, "s": {"type": ["string", "number"]}}}}}}}}}}}"##;
    let spec = Spec::from_text(text, "t31.json").unwrap();
    assert!(check(&spec, "GET", "/x", 200, &[], &json!({"n": null, "s": 1.5})).is_empty());
    assert!(check(&spec, "GET", "/x", 200, &[], &json!({"n": 3, "s": "x"})).is_empty());
    let f = check(&spec, "GET", "/x", 200, &[], &json!({"n": "3", "s": true}));
    let mut got: Vec<_> = f.iter().map(|f| f.schema_pointer.clone().unwrap()).collect();
    got.sort();
    let base = "#/paths/~1x/get/responses/200/content/application~1json/schema/properties";
    assert_eq!(got, [format!("{base}/n/type"), format!("{base}/s/type")]);
}

fn yaml_and_json_give_the_same_model() {
    let yaml = Spec::from_text(FIXTURE_30, "f.yaml").unwrap();
    let text = serde_json::to_string_pretty(yaml.document()).unwrap();
    let json = Spec::from_text(&text, "f.json").unwrap();
    assert_eq!(yaml.document(), json.document());
    let ops = |s: &Spec| {
        s.operations()
            .iter()
            .map(|o| (o.label(), o.pointer.clone(), o.statuses.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ops(&yaml), ops(&json));
    assert_ne!(yaml.info().sha256, json.info().sha256);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("spec.yaml");
    std::fs::write(&p, FIXTURE_30).unwrap();
    assert_eq!(Spec::load(&p).unwrap().operations().len(), yaml.operations().len());
    let e = Spec::load(&dir.path().join("missing.yaml")).unwrap_err();
    assert!(matches!(e, SpecError::Io { .. }), "{e}");
}

fn malformed_documents_are_errors_naming_the_place() {
    let cases: &[(&str, &str)] = &[
        ("openapi: 3.0.3\npaths:\n  /a: [1, 2\n", "bad.yaml:"),
        ("{\"openapi\": \"3.1.0\", \"paths\": {\"/a\": }}", "bad.yaml:1:"),
        ("openapi: 3.0.3\npaths:\n  /a:\n    get: 5\n", "bad.yaml:4:"),
        ("openapi: 3.0.3\npaths:\n  a:\n    get: {}\n", "bad.yaml:3:"),
        (
            "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      parameters: {}\n",
            "bad.yaml:5:",
        ),
        (
            "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      parameters:\n        - {in: query}\n",
            "bad.yaml:6:",
        ),
        ("openapi: 3.0.3\npaths:\n  /a/{b:\n    get: {}\n", "bad.yaml:3:"),
        (
            "openapi: 3.0.3\ncomponents:\n  schemas:\n    X: {$ref: 'https://example.com/x.json'}\n",
            "https://example.com/x.json",
        ),
        ("openapi: 3.0.3\na: 1\n---\nb: 2\n", "bad.yaml:3:"),
        ("openapi: 3.0.3\npaths: 7\n", "bad.yaml:2:"),
        ("", "bad.yaml"),
        ("just text", "bad.yaml"),
    ];
    for (text, needle) in cases {
        let e = Spec::from_text(text, "bad.yaml").expect_err(text);
        assert!(e.to_string().contains(needle), "{text:?} gave {e}");
    }
}

fn truncated_and_mutated_documents_never_panic() {
    let text = FIXTURE_30;
    let chars: Vec<char> = text.chars().collect();
    for cut in (0..chars.len()).step_by(7) {
        let t: String = chars[..cut].iter().collect();
        let _ = Spec::from_text(&t, "cut.yaml");
    }
    for (i, c) in chars.iter().enumerate().step_by(13) {
        for r in [":", "-", "{", "'", " ", "\n", "$ref: '#/x'"] {
            let mut t: String = chars[..i].iter().collect();
            t.push_str(r);
            t.extend(&chars[i + 1..]);
            let _ = *c;
            if let Ok(s) = Spec::from_text(&t, "m.yaml") {
                for op in s.operations() {
                    let body = json!({"id": 1});
                    let resp = ResponseView {
                        status: 200,
                        headers: &[],
                        content_type: Some("application/json"),
                        json: Some(&body),
                        raw: b"",
                    };
                    let _ = s.check_response(op, &resp, CheckSet::default());
                }
            }
        }
    }
}

fn our_spec_operations_are_all_found() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs/agentgigs.openapi.yaml");
    // Whether the spec is sound is the spec-soundness test's business;
    // here only the model's handling of it.
    let spec = Spec::load(&path).unwrap_or_else(|e| panic!("our spec does not load: {e}"));
    assert_eq!(spec.openapi_version(), OpenApiVersion::V30);
    for op in spec.operations() {
        found_by_a_concrete_path(&spec, op);
    }
}

pub fn trials() -> Vec<libtest_mimic::Trial> {
    vec![
        trial!(upstream_loads_cleanly, needs crate::spec::shared(&[UPSTREAM])),
        trial!(upstream_every_operation_is_found_by_a_concrete_path, needs crate::spec::shared(&[UPSTREAM])),
        trial!(upstream_wallet_valid_and_invalid, needs crate::spec::shared(&[UPSTREAM])),
        trial!(upstream_refs_stray_nullable_and_type_arrays, needs crate::spec::shared(&[UPSTREAM])),
        trial!(nullable_in_30),
        trial!(ref_cycles_load_and_validate),
        trial!(find_operation_precedence),
        trial!(type_arrays_in_31),
        trial!(yaml_and_json_give_the_same_model),
        trial!(malformed_documents_are_errors_naming_the_place),
        trial!(truncated_and_mutated_documents_never_panic),
        trial!(our_spec_operations_are_all_found),
    ]
}
