//! Unit tests: every check kind, holding and failing.

use serde_json::{Value, json};

use super::*;
use crate::scenario::StatusExpect;
use crate::scenario::{BodyAssertion, Check, Expect};

fn a(path: &str, check: Value) -> BodyAssertion {
    let mut obj = check.as_object().cloned().unwrap_or_default();
    obj.insert("path".into(), Value::String(path.into()));
    serde_json::from_value(Value::Object(obj)).expect("valid assertion")
}

fn body() -> Value {
    json!({
        "job": {
            "id": "3f2b8c1e-9a4d-4e2f-8b1a-0c5d6e7f8a9b",
            "status": "open",
            "budget_min": 1500,
            "budget_float": 15.5,
            "budget_str": "1500",
            "tags": ["rust", "api"],
            "title": "Write a parser",
            "null_field": null,
            "empty": {}
        },
        "jobs": [ {"id": "a", "price": 100}, {"id": "b", "price": 250} ],
        "count": 2
    })
}

fn holds(path: &str, check: Value) {
    let f = check_assertions(&[a(path, check.clone())], &body());
    assert!(f.is_empty(), "expected {check} at {path} to hold, got {f:#?}");
}

fn fails(path: &str, check: Value) -> Vec<Finding> {
    let f = check_assertions(&[a(path, check.clone())], &body());
    assert!(!f.is_empty(), "expected {check} at {path} to fail");
    for x in &f {
        assert_eq!(x.kind, FindingKind::Body);
    }
    f
}

#[test]
fn equals_both_ways() {
    holds("/job/status", json!({"equals": "open"}));
    holds("/job/budget_min", json!({"equals": 1500.0}));
    holds("/job/tags", json!({"equals": ["rust", "api"]}));
    let f = fails("/job/status", json!({"equals": "closed"}));
    assert_eq!(f[0].body_pointer.as_deref(), Some("/job/status"));
    assert_eq!(f[0].expected, Some(json!("closed")));
    assert_eq!(f[0].actual, Some(json!("open")));
    assert!(f[0].message.contains("`/job/status`"), "{}", f[0].message);
    fails("/job/budget_str", json!({"equals": 1500}));
}

#[test]
fn type_integer_versus_number() {
    holds("/job/budget_min", json!({"type": "integer"}));
    holds("/job/budget_min", json!({"type": "number"}));
    holds("/job/budget_float", json!({"type": "number"}));
    fails("/job/budget_float", json!({"type": "integer"}));
    holds("/job/status", json!({"type": "string"}));
    holds("/job/tags", json!({"type": "array"}));
    holds("/job", json!({"type": "object"}));
    holds("/job/null_field", json!({"type": "null"}));
    fails("/job/status", json!({"type": "boolean"}));
    fails("/job/budget_str", json!({"type": "integer"}));
}

#[test]
fn cents_both_ways() {
    holds("/job/budget_min", json!({"cents": true}));
    fails("/job/budget_float", json!({"cents": true}));
    let f = fails("/job/budget_str", json!({"cents": true}));
    assert!(f[0].message.contains("integer number of cents"));
    holds("/job/budget_str", json!({"cents": false}));
    fails("/job/budget_min", json!({"cents": false}));
}

#[test]
fn uuid_both_ways() {
    holds("/job/id", json!({"uuid": true}));
    fails("/jobs/0/id", json!({"uuid": true}));
    fails("/job/budget_min", json!({"uuid": true}));
    holds("/job/status", json!({"uuid": false}));
    fails("/job/id", json!({"uuid": false}));
    assert!(!eval::is_canonical_uuid("3f2b8c1e9a4d4e2f8b1a0c5d6e7f8a9b"));
    assert!(!eval::is_canonical_uuid("{3f2b8c1e-9a4d-4e2f-8b1a-0c5d6e7f8a9b}"));
}

#[test]
fn regex_both_ways() {
    holds("/job/title", json!({"regex": "^Write"}));
    fails("/job/title", json!({"regex": "^Read"}));
    holds("/job/budget_min", json!({"regex": "^15"}));
    let f = fails("/job/title", json!({"regex": "("}));
    assert!(f[0].message.contains("invalid regex"));
}

#[test]
fn exists_and_absent_both_ways() {
    holds("/job/status", json!({"exists": true}));
    holds("/job/null_field", json!({"exists": true}));
    fails("/job/nope", json!({"exists": true}));
    holds("/job/nope", json!({"exists": false}));
    fails("/job/status", json!({"exists": false}));
    holds("/job/nope", json!({"absent": true}));
    let f = fails("/job/status", json!({"absent": true}));
    assert_eq!(f.len(), 1);
    holds("/job/status", json!({"absent": false}));
    fails("/job/nope", json!({"absent": false}));
}

#[test]
fn missing_value_fails_value_checks() {
    let f = fails("/job/nope", json!({"equals": 1}));
    assert!(f[0].message.contains("missing"));
}

#[test]
fn length_and_min_length_both_ways() {
    holds("/job/tags", json!({"length": 2}));
    holds("/job/status", json!({"length": 4}));
    holds("/job/empty", json!({"length": 0}));
    fails("/job/tags", json!({"length": 3}));
    fails("/job/budget_min", json!({"length": 3}));
    holds("/job/tags", json!({"min_length": 1}));
    fails("/job/tags", json!({"min_length": 3}));
}

#[test]
fn min_and_max_both_ways() {
    holds("/job/budget_min", json!({"min": 100, "max": 1500}));
    fails("/job/budget_min", json!({"min": 1501}));
    fails("/job/budget_min", json!({"max": 1499}));
    fails("/job/budget_str", json!({"min": 1}));
}

#[test]
fn contains_both_ways() {
    holds("/job/tags", json!({"contains": "api"}));
    fails("/job/tags", json!({"contains": "go"}));
    holds("/job/title", json!({"contains": "parser"}));
    fails("/job/title", json!({"contains": "lexer"}));
    holds("/job", json!({"contains": "status"}));
    fails("/job/budget_min", json!({"contains": 1}));
}

#[test]
fn one_of_both_ways() {
    holds("/job/status", json!({"one_of": ["open", "in_progress"]}));
    fails("/job/status", json!({"one_of": ["completed", "cancelled"]}));
}

#[test]
fn not_both_ways() {
    holds("/job/status", json!({"not": {"equals": "closed"}}));
    fails("/job/status", json!({"not": {"equals": "open"}}));
    holds("/job/nope", json!({"not": {"exists": true}}));
    fails("/job/status", json!({"not": {"exists": true}}));
}

#[test]
fn root_pointer_and_json_path() {
    holds("", json!({"type": "object"}));
    holds("$.jobs[*].price", json!({"cents": true, "min": 100}));
    let f = fails("$.jobs[*].price", json!({"min": 200}));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].body_pointer.as_deref(), Some("/jobs/0/price"));
    holds("$.jobs[*].id", json!({"exists": true}));
    // A per-value check on an empty selection looked at nothing: it fails,
    // unless the assertion allows an empty selection.
    let f = fails("$.nothing[*]", json!({"equals": 1}));
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("selects nothing"), "{}", f[0].message);
    holds("$.nothing[*]", json!({"equals": 1, "allow_empty": true}));
    fails("$.nothing[*]", json!({"exists": true}));
    holds("$.nothing[*]", json!({"absent": true}));
    fails("$.jobs[*]", json!({"absent": true}));
    fails("$.nothing[*]", json!({"min_length": 1}));
    // Several-value paths: length counts the matches; `not` is per value.
    holds("$.jobs[*]", json!({"length": 2, "min_length": 1}));
    fails("$.jobs[*]", json!({"length": 3}));
    fails("$.nothing[*]", json!({"not": {"equals": 1}}));
    holds("$.nothing[*]", json!({"not": {"equals": 1}, "allow_empty": true}));
    holds("$.jobs[*].id", json!({"not": {"equals": "c"}}));
    fails("$.jobs[*].id", json!({"not": {"equals": "b"}}));
    // `contains` on several values: some selected value equals it.
    holds("$.jobs[*].id", json!({"contains": "b"}));
    let f = fails("$.jobs[*].id", json!({"contains": "c"}));
    assert_eq!(f[0].actual, Some(json!(["a", "b"])));
    holds("$.jobs[?@.price > 200].id", json!({"contains": "b", "length": 1}));
    holds("$.jobs[*].id", json!({"not": {"contains": "c"}}));
    // A one-place JSONPath is like a pointer.
    holds("$.job.status", json!({"equals": "open"}));
    holds("$.job.tags", json!({"length": 2}));
    fails("$.job.nope", json!({"exists": true}));
    holds("$.job.nope", json!({"absent": true}));
    fails("$[", json!({"exists": true}));
    fails("job/status", json!({"exists": true}));
}

#[test]
fn expect_status_headers_and_body() {
    let headers = vec![
        ("Retry-After".to_string(), "30".to_string()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let ok: Expect = serde_json::from_value(json!({
        "status": 429,
        "headers": {"retry-after": {"type": "integer", "min": 1, "max": 60, "equals": 30}},
        "body": [{"path": "/count", "equals": 2}]
    }))
    .unwrap();
    assert!(check_expect(&ok, 429, &headers, Some(&body())).is_empty());
    let f = check_expect(&ok, 200, &headers, Some(&body()));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::Status);

    let bad: Expect = serde_json::from_value(json!({
        "headers": {"x-missing": {"exists": true}, "Retry-After": {"max": 10}}
    }))
    .unwrap();
    let f = check_expect(&bad, 200, &headers, None);
    assert_eq!(f.len(), 2);
    assert!(f.iter().all(|x| x.kind == FindingKind::Header));

    // No status given: any 2xx.
    let none = Expect::default();
    assert!(check_expect(&none, 204, &[], None).is_empty());
    assert_eq!(check_expect(&none, 404, &[], None)[0].kind, FindingKind::Status);
    assert!(check_status(&[200.into(), 201.into()], 201).is_none());
    assert!(check_status(&[StatusExpect::Family(4)], 409).is_none());
    let f = check_status(&[StatusExpect::Family(4)], 500).expect("500 is not a 4xx");
    assert_eq!(f.expected, Some(json!("4xx")));

    // Body assertions on a non-JSON body.
    let body_only: Expect = serde_json::from_value(json!({"body": [{"path": "/a", "exists": true}]})).unwrap();
    assert_eq!(check_expect(&body_only, 200, &[], None).len(), 1);
}

#[test]
fn big_values_are_truncated() {
    let big = Value::String("x".repeat(10_000));
    let f = check_value(
        FindingKind::Body,
        &Check {
            equals: Some(json!("y")),
            ..Check::default()
        },
        Some(&big),
        "/x",
    );
    let actual = f[0].actual.as_ref().unwrap().as_str().unwrap();
    assert!(actual.len() < 1000);
    assert!(actual.contains("bytes in all"));
}

#[test]
fn assertions_hold_filters() {
    assert!(assertions_hold(&[a("/count", json!({"equals": 2}))], &body()));
    assert!(!assertions_hold(&[a("/count", json!({"equals": 3}))], &body()));
}
