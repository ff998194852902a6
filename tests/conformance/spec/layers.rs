//! The two layers of the contract, and what keeps them apart.
//!
//! - The documented contract (`specs/agentgigs.openapi.yaml`) is a valid
//!   OpenAPI 3.0 document that says only what the docs say: every
//!   operation, response, request body, parameter and component, and every
//!   schema node that constrains anything, names its source in `x-doc`
//!   (in one of the allowed forms); the error `code` is open; no schema
//!   forbids extra fields; no 5xx or `default` answer is documented.
//! - The reference layer (the overlay `specs/reference.overlay.yaml`
//!   applied to it) is a valid OpenAPI 3.0 document that keeps every
//!   documented operation and describes our reference server as the spec
//!   did before the split (`tests/fixtures/spec/reference-before.yaml`,
//!   the spec file as it was on `main` then, profile creation already 200):
//!   the same operations and statuses, the 43 error codes, every required
//!   field, the event payload schemas. Every overlay action says which
//!   section of `docs/api-decisions.md` explains it.
//! - With the reference material beside the repository (`../shared`),
//!   every `x-doc` reference resolves: an `llms.txt#` section is a heading
//!   of the user's llms.txt, a `docs/api#` section a heading of the docs
//!   page, a `help.json#` key a key of the help manifest, an `openapi:`
//!   reference an operation or component of the upstream OpenAPI document.
//!   Without it that trial is ignored, naming what is missing (it never
//!   passes without looking).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agentgigs_conformance::mock::KNOWN_CHOICES;
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, Overlay, REFERENCE_OVERLAY, Spec};
use serde_json::Value;

/// The reference server's error codes, as the spec listed them before the split.
const REFERENCE_CODES: [&str; 43] = [
    "UNAUTHENTICATED",
    "INVALID_API_KEY",
    "INVALID_JWT",
    "JWT_EXPIRED",
    "API_KEY_IN_BEARER",
    "JWT_REQUIRED",
    "CONFLICTING_CREDENTIALS",
    "INVALID_CREDENTIALS",
    "ACKNOWLEDGMENT_REQUIRED",
    "EMAIL_NOT_VERIFIED",
    "NOT_JOB_OWNER",
    "NOT_ASSIGNED_AGENT",
    "NOT_PARTICIPANT",
    "CANNOT_APPLY_OWN_JOB",
    "PROOFER_NOT_ELIGIBLE",
    "PROOFER_NOT_REGISTERED",
    "CONFLICT_OF_INTEREST",
    "NOT_ASSIGNED_PROOFER",
    "NOT_FOUND",
    "ROUTE_NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "VALIDATION_FAILED",
    "INVALID_JSON",
    "UNSUPPORTED_MEDIA_TYPE",
    "PAYLOAD_TOO_LARGE",
    "INVALID_STATE",
    "WRONG_APPLICATION_TYPE",
    "APPLICATION_NOT_PENDING",
    "SLOTS_FULL",
    "PROOFER_COUNT_MISMATCH",
    "PROOF_SETTINGS_LOCKED",
    "PROOF_INCOMPLETE",
    "INSUFFICIENT_BALANCE",
    "REVISION_LIMIT_REACHED",
    "FILE_LIMIT_REACHED",
    "FILE_TYPE_NOT_ALLOWED",
    "ALREADY_APPLIED",
    "ALREADY_REVIEWED",
    "VERDICT_ALREADY_SUBMITTED",
    "PROFILE_EXISTS",
    "EMAIL_TAKEN",
    "LINK_EXPIRED",
    "RATE_LIMITED",
];

/// The one code the docs define.
const DOCUMENTED_CODES: [&str; 1] = ["ACKNOWLEDGMENT_REQUIRED"];

/// Schema keywords that constrain a value (and so need an `x-doc`).
const CONSTRAINTS: &[&str] = &[
    "required",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "additionalProperties",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documented() -> Spec {
    Spec::load(&root().join(DOCUMENTED_SPEC)).unwrap_or_else(|e| panic!("{DOCUMENTED_SPEC} loads: {e}"))
}

/// The contract as the harness loads it (paths relative to the crate root,
/// where cargo runs integration tests).
fn contract() -> Contract {
    Contract::load(Path::new(DOCUMENTED_SPEC), Some(Path::new(REFERENCE_OVERLAY)))
        .unwrap_or_else(|e| panic!("the overlay applies: {e}"))
}

fn before() -> Spec {
    let p = root().join("tests/fixtures/spec/reference-before.yaml");
    Spec::load(&p).unwrap_or_else(|e| panic!("{} loads: {e}", p.display()))
}

/// `METHOD /path` → documented statuses.
fn statuses(spec: &Spec) -> BTreeMap<String, BTreeSet<String>> {
    spec.operations()
        .iter()
        .map(|o| (o.label(), o.statuses.iter().cloned().collect()))
        .collect()
}

/// Follows a local `#/...` reference.
fn follow<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("`{reference}` is not a local reference"));
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("`{reference}` points nowhere"))
}

/// The object itself, or the one its `$ref` names.
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => follow(doc, r),
        None => v,
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every `x-doc` list in the document, with its JSON pointer.
fn x_docs(v: &Value, at: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", escape(k));
                if k == "x-doc" {
                    out.push((p, x.clone()));
                } else {
                    x_docs(x, &p, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                x_docs(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn has_x_doc(v: &Value) -> bool {
    v.get("x-doc")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty() && a.iter().all(|e| e.as_str().is_some_and(|s| !s.trim().is_empty())))
}

/// Walks a schema: every node that constrains its value must carry an
/// `x-doc`. A `$ref` is checked where it points (components are walked
/// on their own).
fn walk_schema(v: &Value, at: &str, missing: &mut Vec<String>) {
    let Some(m) = v.as_object() else { return };
    if m.contains_key("$ref") {
        return;
    }
    let constraints: Vec<&str> = CONSTRAINTS.iter().copied().filter(|k| m.contains_key(*k)).collect();
    if !constraints.is_empty() && !has_x_doc(v) {
        missing.push(format!("{at} (constrains with {})", constraints.join(", ")));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, x) in props {
            walk_schema(x, &format!("{at}/properties/{}", escape(k)), missing);
        }
    }
    for k in ["items", "not", "additionalProperties"] {
        if let Some(x) = m.get(k) {
            walk_schema(x, &format!("{at}/{k}"), missing);
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = m.get(k).and_then(Value::as_array) {
            for (i, x) in list.iter().enumerate() {
                walk_schema(x, &format!("{at}/{k}/{i}"), missing);
            }
        }
    }
}

/// The schemas of a response, request body or header/parameter object.
fn walk_holder(v: &Value, at: &str, missing: &mut Vec<String>) {
    if let Some(s) = v.get("schema") {
        walk_schema(s, &format!("{at}/schema"), missing);
    }
    if let Some(content) = v.get("content").and_then(Value::as_object) {
        for (media, mt) in content {
            if let Some(s) = mt.get("schema") {
                walk_schema(s, &format!("{at}/content/{}/schema", escape(media)), missing);
            }
        }
    }
    if let Some(headers) = v.get("headers").and_then(Value::as_object) {
        for (name, h) in headers {
            if h.get("$ref").is_none() {
                walk_holder(h, &format!("{at}/headers/{}", escape(name)), missing);
            }
        }
    }
}

/// Every place of the documented contract that needs an `x-doc` and lacks one.
fn missing_x_docs(doc: &Value) -> Vec<String> {
    let mut missing = Vec::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        let item_at = format!("#/paths/{}", escape(path));
        let shared_params = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(*method) else { continue };
            let at = format!("{item_at}/{method}");
            if !has_x_doc(op) {
                missing.push(format!("{at} (operation)"));
            }
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (i, p) in shared_params.iter().chain(params.iter()).enumerate() {
                if p.get("$ref").is_some() {
                    continue;
                }
                let p_at = format!("{at}/parameters/{i}");
                if p.get("required") == Some(&Value::Bool(true))
                    && p.get("in") != Some(&Value::from("path"))
                    && !has_x_doc(p)
                {
                    missing.push(format!("{p_at} (required parameter)"));
                }
                walk_holder(p, &p_at, &mut missing);
            }
            if let Some(body) = op.get("requestBody") {
                let body_at = format!("{at}/requestBody");
                if !has_x_doc(deref(doc, body)) {
                    missing.push(format!("{body_at} (request body)"));
                }
                if body.get("$ref").is_none() {
                    walk_holder(body, &body_at, &mut missing);
                }
            }
            for (status, r) in op["responses"].as_object().expect("responses") {
                let r_at = format!("{at}/responses/{status}");
                if !has_x_doc(deref(doc, r)) {
                    missing.push(format!("{r_at} (response {status})"));
                }
                if r.get("$ref").is_none() {
                    walk_holder(r, &r_at, &mut missing);
                }
            }
        }
    }
    let components = &doc["components"];
    for kind in ["schemas", "responses", "parameters", "requestBodies"] {
        let Some(entries) = components.get(kind).and_then(Value::as_object) else {
            continue;
        };
        for (name, v) in entries {
            let at = format!("#/components/{kind}/{}", escape(name));
            if !has_x_doc(v) {
                missing.push(format!("{at} (component)"));
            }
            match kind {
                "schemas" => walk_schema(v, &at, &mut missing),
                _ => walk_holder(v, &at, &mut missing),
            }
        }
    }
    if let Some(headers) = components.get("headers").and_then(Value::as_object) {
        for (name, h) in headers {
            let at = format!("#/components/headers/{}", escape(name));
            if h.get("required") == Some(&Value::Bool(true)) && !has_x_doc(h) {
                missing.push(format!("{at} (required header)"));
            }
            walk_holder(h, &at, &mut missing);
        }
    }
    missing
}

/// The kinds of `x-doc` reference, each with what follows the prefix.
#[derive(Debug, PartialEq)]
enum DocRef<'a> {
    Llms(&'a str),
    DocsApi(&'a str),
    Help(&'a str),
    OpenApiOperation(&'a str, &'a str),
    OpenApiComponent(&'a str, &'a str),
    Refunds(&'a str),
    Roadmap(&'a str),
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// Parses one `x-doc` entry; `None` when it has none of the allowed forms.
fn parse_doc_ref(entry: &str) -> Option<DocRef<'_>> {
    let slugged = |prefix: &str| entry.strip_prefix(prefix).filter(|s| is_slug(s));
    if let Some(s) = slugged("llms.txt#") {
        return Some(DocRef::Llms(s));
    }
    if let Some(s) = slugged("docs/api#") {
        return Some(DocRef::DocsApi(s));
    }
    if let Some(s) = slugged("refunds#") {
        return Some(DocRef::Refunds(s));
    }
    if let Some(s) = slugged("roadmap#") {
        return Some(DocRef::Roadmap(s));
    }
    if let Some(key) = entry.strip_prefix("help.json#") {
        let ok = !key.is_empty()
            && key
                .split('.')
                .all(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        return ok.then_some(DocRef::Help(key));
    }
    let rest = entry.strip_prefix("openapi:")?;
    if let Some(c) = rest.strip_prefix("components/") {
        let (kind, name) = c.split_once('/')?;
        let kinds = [
            "schemas",
            "responses",
            "parameters",
            "headers",
            "securitySchemes",
            "requestBodies",
        ];
        let ok =
            kinds.contains(&kind) && !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return ok.then_some(DocRef::OpenApiComponent(kind, name));
    }
    let (method, path) = rest.split_once(' ')?;
    let ok = ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method)
        && path.starts_with('/')
        && !path.contains(char::is_whitespace);
    ok.then_some(DocRef::OpenApiOperation(method, path))
}

/// A heading's section name: lower case, spaces and hyphens as one `-`,
/// every other punctuation dropped (`Authentication — two headers, do not
/// mix` → `authentication-two-headers-do-not-mix`).
fn slug(heading: &str) -> String {
    let mut out = String::new();
    for c in heading.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else if (c.is_whitespace() || c == '-') && !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The headings of a Markdown-like text (`#` lines, outside ``` fences
/// when `fences`), as slugs.
fn heading_slugs(text: &str, fences: bool) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if fences && line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let s = slug(&line[hashes..]);
            if !s.is_empty() {
                out.push(s);
            }
        }
    }
    out
}

// ----------------------------------------------------------------- the documented layer

fn the_documented_contract_is_valid_openapi_30() {
    let spec = documented();
    spec.strict_check_30()
        .unwrap_or_else(|e| panic!("{DOCUMENTED_SPEC} is valid OpenAPI 3.0: {e}"));
    assert!(spec.unresolved_refs().is_empty(), "{:?}", spec.unresolved_refs());
    assert!(spec.warnings().is_empty(), "{:?}", spec.warnings());
    assert!(spec.operations().len() >= 40, "{} operations", spec.operations().len());
}

fn every_documented_constraint_names_its_source() {
    let spec = documented();
    let missing = missing_x_docs(spec.document());
    assert!(
        missing.is_empty(),
        "{} place(s) of {DOCUMENTED_SPEC} constrain without an `x-doc` naming the docs:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

fn every_x_doc_reference_has_an_allowed_form() {
    let spec = documented();
    let mut all = Vec::new();
    x_docs(spec.document(), "#", &mut all);
    assert!(
        all.len() > 100,
        "only {} x-doc lists found: the walk is broken",
        all.len()
    );
    let mut bad = Vec::new();
    for (at, list) in &all {
        let Some(entries) = list.as_array().filter(|a| !a.is_empty()) else {
            bad.push(format!("{at}: `x-doc` is not a non-empty list"));
            continue;
        };
        for e in entries {
            match e.as_str() {
                Some(s) if parse_doc_ref(s).is_some() => {}
                _ => bad.push(format!("{at}: `{e}`")),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "x-doc entries of no allowed form (llms.txt#section, docs/api#section, help.json#key, \
         openapi:METHOD /path, openapi:components/KIND/Name, refunds#section, roadmap#section):\n  {}",
        bad.join("\n  ")
    );
}

fn the_allowed_forms_are_parsed_as_written() {
    assert_eq!(
        parse_doc_ref("llms.txt#browse-and-apply-agent-actions"),
        Some(DocRef::Llms("browse-and-apply-agent-actions"))
    );
    assert_eq!(
        parse_doc_ref("openapi:POST /api/jobs/{id}/apply"),
        Some(DocRef::OpenApiOperation("POST", "/api/jobs/{id}/apply"))
    );
    assert_eq!(
        parse_doc_ref("openapi:components/schemas/Error"),
        Some(DocRef::OpenApiComponent("schemas", "Error"))
    );
    assert_eq!(
        parse_doc_ref("help.json#important_before_you_start"),
        Some(DocRef::Help("important_before_you_start"))
    );
    for bad in [
        "llms.txt#Browse",
        "llms.txt#",
        "docs/api#a--b",
        "openapi:POST/api/x",
        "openapi:components/Error",
        "see llms.txt",
    ] {
        assert_eq!(parse_doc_ref(bad), None, "{bad}");
    }
    assert_eq!(
        slug("Authentication — two headers, do not mix"),
        "authentication-two-headers-do-not-mix"
    );
    assert_eq!(
        slug("Full proofer flow (poster-side, via API) ```"),
        "full-proofer-flow-poster-side-via-api"
    );
    assert_eq!(slug("POST `/api/jobs/{id}/cancel`"), "post-apijobsidcancel");
    assert_eq!(
        slug("Human-only flows (can't be automated)"),
        "human-only-flows-cant-be-automated"
    );
}

fn the_documented_error_code_is_open() {
    let spec = documented();
    let error = &spec.document()["components"]["schemas"]["Error"];
    let code = &error["properties"]["code"];
    assert!(code.get("enum").is_none(), "`Error.code` must be open: {code}");
    assert_eq!(code["nullable"], Value::Bool(true), "OAS allows `code: null`");
    assert_eq!(
        error["required"],
        serde_json::json!(["error"]),
        "only `error` is required"
    );
    assert_eq!(error["x-documented-codes"], serde_json::json!(DOCUMENTED_CODES));
    let description = error["description"].as_str().unwrap_or_default();
    for c in DOCUMENTED_CODES {
        assert!(description.contains(c), "`Error.description` lists `{c}`");
    }
    assert!(spec.error_codes().is_empty(), "{:?}", spec.error_codes());
}

fn no_documented_schema_forbids_extra_fields() {
    fn find(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if m.get("additionalProperties") == Some(&Value::Bool(false)) {
                    out.push(at.to_string());
                }
                for (k, x) in m {
                    find(x, &format!("{at}/{}", escape(k)), out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    find(x, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    find(documented().document(), "#", &mut out);
    assert!(out.is_empty(), "`additionalProperties: false` at {out:?}");
}

fn the_documented_contract_documents_no_server_error() {
    let spec = documented();
    for op in spec.operations() {
        for s in &op.statuses {
            assert!(
                !s.starts_with('5') && s != "default",
                "{} documents `{s}`: a 5xx is never a documented answer",
                op.label()
            );
        }
        assert!(
            op.statuses.iter().any(|s| s == "4XX"),
            "{} lacks the `4XX` answer",
            op.label()
        );
    }
}

// ----------------------------------------------------------------- the reference layer

fn the_overlay_applies_and_the_reference_is_valid_openapi_30() {
    let c = contract();
    let reference = c.reference().expect("a reference layer");
    reference
        .strict_check_30()
        .unwrap_or_else(|e| panic!("the reference spec is valid OpenAPI 3.0: {e}"));
    assert!(
        reference.unresolved_refs().is_empty(),
        "{:?}",
        reference.unresolved_refs()
    );
    assert!(reference.warnings().is_empty(), "{:?}", reference.warnings());
    for op in reference.operations() {
        for s in &op.statuses {
            assert!(
                !s.ends_with("XX") && s != "default",
                "{} keeps the range `{s}`: the reference server's statuses are exact",
                op.label()
            );
        }
    }
}

fn every_documented_operation_is_in_the_reference() {
    let c = contract();
    let reference = c.reference().expect("a reference layer");
    for op in c.documented().operations() {
        let r = reference
            .operations()
            .iter()
            .find(|r| r.label() == op.label())
            .unwrap_or_else(|| panic!("{} is documented but not in the reference layer", op.label()));
        assert_eq!(r.operation_id, op.operation_id, "{}", op.label());
        assert_eq!(r.tags, op.tags, "{}", op.label());
    }
}

fn the_reference_has_the_43_error_codes() {
    let c = contract();
    let codes = c.reference().expect("a reference layer").error_codes();
    // Since the fixture: `ALREADY_REPORTED`, the documented 409 of a
    // duplicate content report (`POST /api/reports`).
    let mut expected: Vec<&str> = REFERENCE_CODES.to_vec();
    let at = expected
        .iter()
        .position(|c| *c == "ALREADY_REVIEWED")
        .expect("ALREADY_REVIEWED is listed")
        + 1;
    expected.insert(at, "ALREADY_REPORTED");
    assert_eq!(codes, expected, "the reference server's `Error.code` enum");
    assert_eq!(
        before().error_codes(),
        REFERENCE_CODES,
        "the list above is the one of the fixture"
    );
}

fn the_reference_keeps_the_operations_and_statuses_of_before() {
    let c = contract();
    let now = statuses(c.reference().expect("a reference layer"));
    let expected = statuses(&before());
    let mut problems = Vec::new();
    for (op, want) in &expected {
        match now.get(op) {
            None => problems.push(format!("{op}: missing")),
            Some(got) if got != want => problems.push(format!("{op}: {got:?}, want {want:?}")),
            Some(_) => {}
        }
    }
    // Operations added since the fixture must be ones the docs name (the
    // documented contract has them).
    let documented_now = statuses(c.documented());
    for op in now
        .keys()
        .filter(|op| !expected.contains_key(*op) && !documented_now.contains_key(*op))
    {
        problems.push(format!("{op}: not in the fixture"));
    }
    assert!(
        problems.is_empty(),
        "(operation, status) pairs:\n  {}",
        problems.join("\n  ")
    );
    let undocumented: Vec<String> = now
        .keys()
        .filter(|op| !statuses(c.documented()).contains_key(*op))
        .cloned()
        .collect();
    assert_eq!(
        undocumented,
        ["GET /files/{token}", "POST /api/jobs/{id}/attachments"],
        "the routes the docs never name live in the overlay only"
    );
}

fn the_reference_keeps_every_required_field_and_event_schema_of_before() {
    let c = contract();
    let reference = c.reference().expect("a reference layer").document();
    let old = before();
    let old = old.document();
    let mut problems = Vec::new();
    for (name, schema) in old["components"]["schemas"].as_object().expect("schemas") {
        let Some(now) = reference["components"]["schemas"].get(name) else {
            problems.push(format!("schema `{name}` is gone"));
            continue;
        };
        let mut want = Vec::new();
        let mut got = Vec::new();
        required_fields(schema, "", &mut want);
        required_fields(now, "", &mut got);
        for w in want.iter().filter(|w| !got.contains(w)) {
            problems.push(format!("`{name}`: `{w}` is no longer required"));
        }
    }
    let events = |doc: &Value| doc["paths"]["/api/agent/events"]["get"]["x-event-schemas"].clone();
    assert_eq!(events(reference), events(old), "x-event-schemas");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `path.field` for every `required` entry of a schema (inline parts only).
fn required_fields(v: &Value, at: &str, out: &mut Vec<String>) {
    let Some(m) = v.as_object() else { return };
    if let Some(req) = m.get("required").and_then(Value::as_array) {
        out.extend(req.iter().filter_map(Value::as_str).map(|f| format!("{at}{f}")));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, x) in props {
            required_fields(x, &format!("{at}{k}."), out);
        }
    }
    if let Some(items) = m.get("items") {
        required_fields(items, &format!("{at}[]."), out);
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = m.get(k).and_then(Value::as_array) {
            for (i, x) in list.iter().enumerate() {
                required_fields(x, &format!("{at}{k}{i}."), out);
            }
        }
    }
}

fn every_overlay_action_names_its_decision() {
    let text = std::fs::read_to_string(root().join(REFERENCE_OVERLAY)).expect("the overlay");
    let overlay = Overlay::from_text(&text, REFERENCE_OVERLAY).expect("the overlay parses");
    let decisions = std::fs::read_to_string(root().join("docs/api-decisions.md")).expect("docs/api-decisions.md");
    let sections: BTreeSet<String> = decisions
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_string())
        .collect();
    let doc = agentgigs_conformance::yaml::parse(&text)
        .expect("the overlay is YAML")
        .value;
    assert_eq!(doc["extends"], "./agentgigs.openapi.yaml");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let actions = overlay.actions();
    assert!(actions.len() >= 20, "{} actions", actions.len());
    for a in &actions {
        let d = a
            .description
            .as_deref()
            .unwrap_or_else(|| panic!("{}: action without a description", a.place));
        let d = d.split_whitespace().collect::<Vec<_>>().join(" ");
        let named: Vec<&str> = d
            .split('§')
            .skip(1)
            .map(|s| {
                let end = s
                    .find(|c: char| !(c.is_alphanumeric() || c == ' ' || c == '-'))
                    .unwrap_or(s.len());
                s[..end].trim()
            })
            .collect();
        if a.index == 0 || d.starts_with("The reference server's behaviour in words") {
            continue;
        }
        assert!(
            d.contains("docs/api-decisions.md §"),
            "{}: the description names no section of docs/api-decisions.md",
            a.place
        );
        for n in named {
            assert!(
                sections.iter().any(|s| s == n || n.starts_with(s.as_str())),
                "{}: `§{n}` is no section of docs/api-decisions.md (sections: {sections:?})",
                a.place
            );
        }
    }
}

fn every_choice_switch_is_explained_and_every_named_switch_exists() {
    let known: BTreeSet<&str> = KNOWN_CHOICES.iter().map(|(name, _)| *name).collect();
    let decisions = std::fs::read_to_string(root().join("docs/api-decisions.md")).expect("docs/api-decisions.md");
    for name in &known {
        assert!(
            decisions.contains(&format!("| `{name}` |")),
            "the reference server's switch `{name}` flips no row of docs/api-decisions.md"
        );
    }
    let text = std::fs::read_to_string(root().join(REFERENCE_OVERLAY)).expect("the overlay");
    let overlay = Overlay::from_text(&text, REFERENCE_OVERLAY).expect("the overlay parses");
    for a in overlay.actions() {
        let d = a.description.unwrap_or_default();
        let Some(i) = d.find("switch") else { continue };
        let tail = &d[i..d[i..].find(')').map_or(d.len(), |j| i + j)];
        for name in tail.split('`').skip(1).step_by(2) {
            assert!(known.contains(name), "{}: no switch is called `{name}`", a.place);
        }
    }
}

// ----------------------------------------------------------------- the docs themselves

fn shared_doc_references_resolve() {
    let shared = crate::spec::shared_dir();
    let read = |rel: &str| std::fs::read_to_string(shared.join(rel)).unwrap_or_else(|e| panic!("../shared/{rel}: {e}"));
    // The seed's formatting broke its one code fence (its opening ``` ends a
    // heading line), so fences are not followed there.
    let llms = heading_slugs(&read("seed/llms.formatted.md"), false);
    let docs_api = heading_slugs(&read("upstream/docs-api.txt"), true);
    let help: Value = serde_json::from_str(&read("upstream/help.json")).expect("help.json is JSON");
    let openapi: Value = serde_json::from_str(&read("upstream/openapi.json")).expect("openapi.json is JSON");
    assert!(
        llms.len() > 5 && docs_api.len() > 50,
        "headings not found: the parser is broken"
    );

    let spec = documented();
    let mut all = Vec::new();
    x_docs(spec.document(), "#", &mut all);
    let mut checked = 0;
    let mut bad = BTreeSet::new();
    for entry in all.iter().flat_map(|(_, l)| l.as_array().cloned().unwrap_or_default()) {
        let Some(s) = entry.as_str() else { continue };
        let ok = match parse_doc_ref(s) {
            // The seed runs each heading into its first paragraph: a section
            // is a heading's slug or a prefix of it ending at a word.
            Some(DocRef::Llms(sec)) => llms
                .iter()
                .any(|h| h == sec || h.strip_prefix(sec).is_some_and(|r| r.starts_with('-'))),
            Some(DocRef::DocsApi(sec)) => docs_api.iter().any(|h| h == sec),
            Some(DocRef::Help(key)) => key.split('.').try_fold(&help, |v, k| v.get(k)).is_some(),
            Some(DocRef::OpenApiOperation(m, p)) => openapi["paths"]
                .get(p)
                .and_then(|item| item.get(m.to_ascii_lowercase()))
                .is_some(),
            Some(DocRef::OpenApiComponent(kind, name)) => openapi["components"][kind].get(name).is_some(),
            // No local copy of these pages: the form is all that is checked.
            Some(DocRef::Refunds(_) | DocRef::Roadmap(_)) => true,
            None => false,
        };
        checked += 1;
        if !ok {
            bad.insert(s.to_string());
        }
    }
    assert!(checked > 100, "only {checked} references checked");
    assert!(
        bad.is_empty(),
        "x-doc references that name nothing in ../shared:\n  {}",
        bad.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

/// The docs `shared_doc_references_resolve` reads, under `../shared`.
const SHARED_DOCS: &[&str] = &[
    "seed/llms.formatted.md",
    "upstream/docs-api.txt",
    "upstream/help.json",
    "upstream/openapi.json",
];

pub fn trials() -> Vec<libtest_mimic::Trial> {
    vec![
        trial!(the_documented_contract_is_valid_openapi_30),
        trial!(every_documented_constraint_names_its_source),
        trial!(every_x_doc_reference_has_an_allowed_form),
        trial!(the_allowed_forms_are_parsed_as_written),
        trial!(the_documented_error_code_is_open),
        trial!(no_documented_schema_forbids_extra_fields),
        trial!(the_documented_contract_documents_no_server_error),
        trial!(the_overlay_applies_and_the_reference_is_valid_openapi_30),
        trial!(every_documented_operation_is_in_the_reference),
        trial!(the_reference_has_the_43_error_codes),
        trial!(the_reference_keeps_the_operations_and_statuses_of_before),
        trial!(the_reference_keeps_every_required_field_and_event_schema_of_before),
        trial!(every_overlay_action_names_its_decision),
        trial!(every_choice_switch_is_explained_and_every_named_switch_exists),
        trial!(shared_doc_references_resolve, needs crate::spec::shared(SHARED_DOCS)),
    ]
}
