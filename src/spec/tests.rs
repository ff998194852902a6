//! Unit tests of the spec model on a small inline OpenAPI 3.0 fixture.

use serde_json::{Value, json};

use super::*;
use crate::finding::FindingKind;

pub(crate) const FIXTURE_30: &str = r##"
openapi: 3.0.3
info: {title: Fixture, version: "1.0"}
servers:
  - url: https://example.test/v1
paths:
  /api/wallet:
    get:
      operationId: getWallet
      tags: [wallet]
      security: [{ApiKey: []}]
      responses:
        200:
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [balance]
                properties:
                  balance: {type: integer}
                  note: {type: string, nullable: true}
                  owner: {nullable: true, allOf: [{$ref: '#/components/schemas/Owner'}]}
                  items: {type: array, items: {type: integer}}
        '429':
          $ref: '#/components/responses/TooMany'
        4XX:
          description: client error
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Error'}
  /api/jobs/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      parameters:
        - {name: expand, in: query, schema: {type: boolean}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Node'}}}}
  /api/jobs/proof-needed:
    get:
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: array, items: {type: string}}}}}
  /api/events:
    get:
      responses:
        '200': {description: stream, content: {text/event-stream: {schema: {type: string}}}}
  /api/jobs/{id}/apply:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Apply'}
      responses:
        '201': {description: created}
        default: {description: error, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
components:
  securitySchemes:
    ApiKey: {type: apiKey, in: header, name: X-API-Key}
  responses:
    TooMany:
      description: slow down
      headers:
        Retry-After: {required: true, schema: {type: integer}}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error: {type: string}
        code: {type: string, enum: [not_found, rate_limited]}
    Owner:
      type: object
      properties: {name: {type: string}}
    Node:
      type: object
      required: [id]
      properties:
        id: {type: string, format: uuid}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
        created_at: {type: string, format: date-time}
        link: {type: string, format: uri}
        email: {type: string, format: email}
        amount: {type: integer, format: int64, minimum: 0, exclusiveMinimum: true}
    Apply:
      type: object
      required: [message, id]
      properties:
        id: {type: string, readOnly: true}
        message: {type: string, minLength: 10}
        parent: {$ref: '#/components/schemas/Apply'}
"##;

fn spec() -> Spec {
    Spec::from_text(FIXTURE_30, "fixture.yaml").unwrap()
}

fn json_resp<'a>(status: u16, headers: &'a [(String, String)], body: &'a Value) -> ResponseView<'a> {
    ResponseView {
        status,
        headers,
        content_type: Some("application/json; charset=utf-8"),
        json: Some(body),
        raw: b"",
    }
}

fn kinds(f: &[Finding]) -> Vec<FindingKind> {
    f.iter().map(|f| f.kind).collect()
}

const WALLET_200: &str = "#/paths/~1api~1wallet/get/responses/200/content/application~1json/schema";

#[test]
fn loads_and_summarises() {
    let s = spec();
    assert_eq!(s.openapi_version(), OpenApiVersion::V30);
    let info = s.info();
    assert_eq!(
        (info.title.as_str(), info.version.as_str(), info.openapi.as_str()),
        ("Fixture", "1.0", "3.0.3")
    );
    assert_eq!(info.sha256.len(), 64);
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert!(s.unresolved_refs().is_empty());
    s.strict_check_30().unwrap();
    assert_eq!(s.error_codes(), ["not_found", "rate_limited"]);
    let w = s.operation_by_id("getWallet").unwrap();
    assert_eq!(w.statuses, ["200", "429", "4XX"]);
    assert_eq!(w.security[0].schemes, vec![("ApiKey".to_string(), vec![])]);
    assert_eq!(w.tags, ["wallet"]);
    assert_eq!(w.label(), "GET /api/wallet");
    assert!(s.security_scheme("ApiKey").is_some());
}

#[test]
fn find_operation_precedence_and_misses() {
    let s = spec();
    assert_eq!(
        s.find_operation("GET", "/api/jobs/proof-needed").unwrap().path,
        "/api/jobs/proof-needed"
    );
    assert_eq!(
        s.find_operation("get", "/api/jobs/abc?x=1").unwrap().path,
        "/api/jobs/{id}"
    );
    assert_eq!(
        s.find_operation("POST", "/api/jobs/abc/apply").unwrap().pointer,
        "#/paths/~1api~1jobs~1{id}~1apply/post"
    );
    assert_eq!(s.find_operation("GET", "/v1/api/wallet").unwrap().path, "/api/wallet");
    assert_eq!(s.find_operation("GET", "/api/wallet/").unwrap().path, "/api/wallet");
    assert!(s.find_operation("POST", "/api/wallet").is_none());
    assert!(s.find_operation("GET", "/api/nothing").is_none());
    assert!(s.find_operation("BREW", "/api/wallet").is_none());
    assert!(s.find_operation("GET", "").is_none());
    let op = s.find_operation("GET", "/api/jobs/abc").unwrap();
    assert_eq!(
        op.match_path("/api/jobs/abc").unwrap(),
        vec![("id".to_string(), "abc".to_string())]
    );
}

#[test]
fn parameters_and_bodies_are_resolved() {
    let s = spec();
    let op = s.find_operation("GET", "/api/jobs/x").unwrap();
    let names: Vec<_> = op
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.location.as_str(), p.required))
        .collect();
    assert_eq!(names, [("id", "path", true), ("expand", "query", false)]);
    assert_eq!(
        op.parameters[0].schema,
        Some(json!({"type": "string", "format": "uuid"}))
    );
    let op = s.find_operation("POST", "/api/jobs/x/apply").unwrap();
    let body = op.request_body.as_ref().unwrap();
    assert!(body.required);
    let schema = body.content[0].schema.as_ref().unwrap();
    assert_eq!(schema["required"], json!(["message"]));
    assert_eq!(
        schema["properties"]["parent"],
        json!({"x-recursive-ref": "#/components/schemas/Apply"})
    );
}

#[test]
fn valid_response_has_no_findings() {
    let s = spec();
    let op = s.find_operation("GET", "/api/wallet").unwrap();
    let body = json!({"balance": 10, "note": null, "owner": null, "items": [1]});
    let f = s.check_response(op, &json_resp(200, &[], &body), CheckSet::default());
    assert!(f.is_empty(), "{f:?}");
    let body = json!({"balance": 10, "note": "x", "owner": {"name": "n"}});
    assert!(
        s.check_response(op, &json_resp(200, &[], &body), CheckSet::default())
            .is_empty()
    );
}

#[test]
fn schema_findings_point_at_the_keyword() {
    let s = spec();
    let op = s.find_operation("GET", "/api/wallet").unwrap();
    let body = json!({"balance": "12"});
    let f = s.check_response(op, &json_resp(200, &[], &body), CheckSet::default());
    assert_eq!(kinds(&f), [FindingKind::Schema]);
    assert_eq!(f[0].body_pointer.as_deref(), Some("/balance"));
    assert_eq!(
        f[0].schema_pointer.as_deref(),
        Some(&*format!("{WALLET_200}/properties/balance/type"))
    );
    assert_eq!(f[0].actual, Some(json!("12")));
    assert_eq!(f[0].expected, Some(json!("integer")));
    assert!(f[0].message.contains("/balance"), "{}", f[0].message);

    // Inside a referenced schema, below a nullable wrapper.
    let body = json!({"balance": 1, "owner": {"name": 5}});
    let f = s.check_response(op, &json_resp(200, &[], &body), CheckSet::default());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        f[0].schema_pointer.as_deref(),
        Some("#/components/schemas/Owner/properties/name/type")
    );
    assert_eq!(f[0].body_pointer.as_deref(), Some("/owner/name"));

    // Missing required property.
    let f = s.check_response(op, &json_resp(200, &[], &json!({})), CheckSet::default());
    assert_eq!(f[0].schema_pointer.as_deref(), Some(&*format!("{WALLET_200}/required")));
    assert_eq!(f[0].body_pointer.as_deref(), Some(""));
}

#[test]
fn recursive_schemas_and_formats() {
    let s = spec();
    let op = s
        .find_operation("GET", "/api/jobs/8f8e2a4e-6f1a-4f43-9d53-3a8e1f0a9b11")
        .unwrap();
    let good = json!({"id": "8f8e2a4e-6f1a-4f43-9d53-3a8e1f0a9b11", "created_at": "2024-05-01T12:30:00.123+02:00",
        "link": "https://example.com/a?b=c", "email": "a@b.example", "amount": 9007199254740993_i64,
        "children": [{"id": "0b3c4d5e-0000-4000-8000-000000000000", "children": []}]});
    let f = s.check_response(op, &json_resp(200, &[], &good), CheckSet::default());
    assert!(f.is_empty(), "{f:?}");
    let bad = json!({"id": "8f8e2a4e-6f1a-4f43-9d53-3a8e1f0a9b11", "amount": 0, "children": [{"id": "nope"}]});
    let f = s.check_response(op, &json_resp(200, &[], &bad), CheckSet::default());
    let mut got: Vec<_> = f
        .iter()
        .map(|f| (f.body_pointer.clone().unwrap(), f.schema_pointer.clone().unwrap()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "/amount".to_string(),
                "#/components/schemas/Node/properties/amount/exclusiveMinimum".to_string()
            ),
            (
                "/children/0/id".to_string(),
                "#/components/schemas/Node/properties/id/format".to_string()
            ),
        ]
    );
}

#[test]
fn status_content_type_json_and_headers() {
    let s = spec();
    let op = s.find_operation("GET", "/api/wallet").unwrap();
    let err = json!({"error": "slow"});
    // 429 documented via $ref, Retry-After required.
    let f = s.check_response(op, &json_resp(429, &[], &err), CheckSet::default());
    assert_eq!(kinds(&f), [FindingKind::MissingHeader]);
    assert_eq!(
        f[0].schema_pointer.as_deref(),
        Some("#/components/responses/TooMany/headers/Retry-After")
    );
    let h = [("Retry-After".to_string(), "3".to_string())];
    assert!(
        s.check_response(op, &json_resp(429, &h, &err), CheckSet::default())
            .is_empty()
    );
    // 418 falls into 4XX; 500 is undocumented.
    assert!(
        s.check_response(op, &json_resp(418, &[], &err), CheckSet::default())
            .is_empty()
    );
    let f = s.check_response(op, &json_resp(500, &[], &err), CheckSet::default());
    assert_eq!(kinds(&f), [FindingKind::UndocumentedStatus]);
    assert_eq!(f[0].expected, Some(json!(["200", "429", "4XX"])));
    let off = CheckSet {
        status: false,
        ..CheckSet::default()
    };
    assert!(s.check_response(op, &json_resp(500, &[], &err), off).is_empty());
    // `default` covers the rest.
    let apply = s.find_operation("POST", "/api/jobs/1/apply").unwrap();
    assert!(
        s.check_response(apply, &json_resp(503, &[], &err), CheckSet::default())
            .is_empty()
    );
    // Wrong content type; body not JSON.
    let html = ResponseView {
        status: 200,
        headers: &[],
        content_type: Some("text/html"),
        json: None,
        raw: b"<html>",
    };
    let f = s.check_response(op, &html, CheckSet::default());
    assert_eq!(kinds(&f), [FindingKind::ContentType]);
    let broken = ResponseView {
        status: 200,
        headers: &[],
        content_type: Some("application/json"),
        json: None,
        raw: b"{\"balance\":",
    };
    let f = s.check_response(op, &broken, CheckSet::default());
    assert_eq!(kinds(&f), [FindingKind::InvalidJson]);
    // Raw JSON without a parsed body is parsed here.
    let raw = ResponseView {
        status: 200,
        headers: &[],
        content_type: Some("application/json"),
        json: None,
        raw: b"{\"balance\":\"x\"}",
    };
    assert_eq!(
        kinds(&s.check_response(op, &raw, CheckSet::default())),
        [FindingKind::Schema]
    );
    // Content type from the headers when the field is empty.
    let hs = [("content-type".to_string(), "text/plain".to_string())];
    let plain = ResponseView {
        status: 200,
        headers: &hs,
        content_type: None,
        json: None,
        raw: b"hi",
    };
    assert_eq!(
        kinds(&s.check_response(op, &plain, CheckSet::default())),
        [FindingKind::ContentType]
    );
    // SSE: the media type matches, the body is not validated.
    let ev = s.find_operation("GET", "/api/events").unwrap();
    let sse = ResponseView {
        status: 200,
        headers: &[],
        content_type: Some("text/event-stream"),
        json: None,
        raw: b"data: 1\n\n",
    };
    assert!(s.check_response(ev, &sse, CheckSet::default()).is_empty());
}

#[test]
fn schema_findings_are_capped() {
    let s = spec();
    let op = s.find_operation("GET", "/api/wallet").unwrap();
    let items: Vec<Value> = (0..25).map(|i| json!(format!("s{i}"))).collect();
    let body = json!({"balance": 1, "items": items});
    let f = s.check_response(op, &json_resp(200, &[], &body), CheckSet::default());
    assert_eq!(f.len(), validate::MAX_SCHEMA_FINDINGS + 1);
    assert_eq!(f.last().unwrap().message, "and 5 more schema errors");
}

#[test]
fn malformed_documents_name_the_place() {
    let e = Spec::from_text("openapi: 3.0.3\npaths: [\n", "bad.yaml").unwrap_err();
    assert!(matches!(e, SpecError::Syntax { format: "YAML", .. }), "{e}");
    assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
    let e = Spec::from_text("{\"openapi\": \"3.1.0\",\n \"paths\": }", "bad.json").unwrap_err();
    assert!(e.to_string().starts_with("bad.json:2:"), "{e}");
    let e = Spec::from_text(
        "openapi: 3.0.3\ninfo: {title: t, version: v}\npaths:\n  /a:\n    get:\n      responses: 12\n",
        "s.yaml",
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("s.yaml:6:7"), "{e}");
    let e = Spec::from_text(
        "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: 'other.yaml#/x'}\n",
        "s.yaml",
    )
    .unwrap_err();
    assert!(
        matches!(e, SpecError::ExternalRef { ref reference, .. } if reference == "other.yaml#/x"),
        "{e}"
    );
    assert!(e.to_string().contains("s.yaml:6:"), "{e}");
    let e = Spec::from_text("swagger: '2.0'\n", "s.yaml").unwrap_err();
    assert!(e.to_string().contains("Swagger"), "{e}");
    let e = Spec::from_text("openapi: 2.5.0\n", "s.yaml").unwrap_err();
    assert!(e.to_string().contains("s.yaml:1:"), "{e}");
    let e = Spec::from_text("- 1\n", "s.yaml").unwrap_err();
    assert!(matches!(e, SpecError::NotOpenApi { .. }));
    let e = Spec::from_text(
        "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses:\n        '299x': {description: x}\n",
        "s.yaml",
    )
    .unwrap_err();
    assert!(e.to_string().contains("299x"), "{e}");
}

#[test]
fn dangling_refs_are_listed_not_fatal() {
    let text = "openapi: 3.1.0\ninfo: {title: t, version: v}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Nope'}\n";
    let s = Spec::from_text(text, "s.yaml").unwrap();
    assert_eq!(s.unresolved_refs().len(), 1);
    assert!(s.unresolved_refs()[0].contains("#/components/schemas/Nope"));
    assert!(!s.warnings().is_empty());
    let op = s.find_operation("GET", "/a").unwrap();
    let body = json!(1);
    let f = s.check_response(op, &json_resp(200, &[], &body), CheckSet::default());
    assert!(f.is_empty());
    assert!(s.strict_check_30().is_err());
}

#[test]
fn strict_check_finds_structural_errors() {
    let text = "openapi: 3.0.3\ninfo: {title: t}\npaths: {}\n";
    let s = Spec::from_text(text, "s.yaml").unwrap();
    let e = s.strict_check_30().unwrap_err();
    assert!(e.to_string().contains("version"), "{e}");
    let text = "openapi: 3.0.3\ninfo: {title: t, version: v}\npaths:\n  /a/b:\n    get:\n      responses:\n        '200': {content: {}}\n";
    let s = Spec::from_text(text, "s.yaml").unwrap();
    let e = s.strict_check_30().unwrap_err();
    let SpecError::Invalid { pointer, at, .. } = &e else {
        panic!("{e}")
    };
    // `openapiv3` reads references through untagged enums: the path stops there.
    assert!(pointer.starts_with("#/paths"), "{e}");
    assert!(e.to_string().contains("description"), "{e}");
    assert!(at.starts_with("s.yaml:"), "{e}");
}

#[test]
fn json_media_types() {
    assert!(is_json("application/json"));
    assert!(is_json("Application/JSON; charset=utf-8"));
    assert!(is_json("application/problem+json"));
    assert!(is_json("text/json"));
    assert!(!is_json("text/event-stream"));
    assert!(!is_json("multipart/form-data"));
    assert!(!is_json("json"));
}

#[test]
fn validators_are_compiled_when_first_needed_and_once() {
    let s = spec();
    assert_eq!(s.compiled_validators(), 0, "nothing is compiled at load");
    let op = s.find_operation("GET", "/api/wallet").unwrap();
    let good = json!({"balance": 1});
    let bad = json!({"balance": "one"});
    // Concurrent checks of the same response share one compilation.
    let findings: Vec<Vec<Finding>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (s, body) = (&s, if i % 2 == 0 { &good } else { &bad });
                scope.spawn(move || s.check_response(op, &json_resp(200, &[], body), CheckSet::default()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(findings[0].is_empty() && findings[2].is_empty());
    assert_eq!(kinds(&findings[1]), [FindingKind::Schema]);
    assert_eq!(findings[1], findings[3]);
    assert_eq!(s.compiled_validators(), 1);
    // Another status of the same operation is another validator.
    let e = json!({"error": "x"});
    assert!(
        s.check_response(op, &json_resp(404, &[], &e), CheckSet::default())
            .is_empty()
    );
    assert_eq!(s.compiled_validators(), 2);
    // Asking for the warnings compiles the rest (to name any that fail).
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert!(s.compiled_validators() > 2);
}

#[test]
fn a_schema_that_cannot_be_compiled_is_a_warning_and_is_not_checked() {
    let text = "openapi: 3.0.3\ninfo: {title: t, version: v}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: {type: string, pattern: '(unclosed'}\n";
    let s = Spec::from_text(text, "s.yaml").unwrap();
    let op = s.find_operation("GET", "/a").unwrap();
    let body = json!("anything");
    let f = s.check_response(op, &json_resp(200, &[], &body), CheckSet::default());
    assert!(f.is_empty(), "{f:?}");
    let w = s.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("cannot be compiled, not checked"), "{}", w[0]);
    assert!(w[0].starts_with("s.yaml:"), "the place is named: {}", w[0]);
}
