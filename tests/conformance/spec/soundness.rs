//! The contract is sound, and the reference server serves exactly it.
//!
//! - The documented contract, the reference layer (the documented contract
//!   with `specs/reference.overlay.yaml` applied) and the control spec
//!   parse, are structurally valid OpenAPI 3.0 (openapiv3), every `$ref`
//!   resolves, every operation has a unique `operationId`.
//! - The set of routes the reference server serves equals the set of
//!   operations in the reference layer: every operation answers something
//!   other than "no such route"/"wrong method", every other method on one
//!   of its paths is a 405, and the server's route table names no path the
//!   reference layer lacks.
//! - The upstream `openapi.json` (read from `../shared/upstream`; the trial
//!   is ignored, saying so, when it is absent) validates the reference server's responses
//!   for every operation it describes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use agentgigs_conformance::mock::{MockConfig, MockServer};
use agentgigs_conformance::report::model::Outcome;
use agentgigs_conformance::runner::{PlannedScenario, RunOptions, RunPlan, run};
use agentgigs_conformance::scenario::load_library;
use agentgigs_conformance::spec::{CheckSet, Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, ResponseView, Spec};
use agentgigs_conformance::target::{TargetSpec, install_crypto_provider};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The reference layer: what the reference server serves.
fn ours() -> Spec {
    let documented = Spec::load(&root().join(DOCUMENTED_SPEC)).expect("the documented spec loads");
    let overlay = std::fs::read_to_string(root().join(REFERENCE_OVERLAY)).expect("the reference overlay");
    Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY).expect("the overlay applies")
}

fn the_specs_are_sound() {
    let specs = [DOCUMENTED_SPEC, REFERENCE_OVERLAY, "specs/control.openapi.yaml"].map(|file| {
        let spec = if file == REFERENCE_OVERLAY {
            ours()
        } else {
            Spec::load(&root().join(file)).unwrap_or_else(|e| panic!("{file} loads: {e}"))
        };
        (file, spec)
    });
    for (file, spec) in specs {
        spec.strict_check_30()
            .unwrap_or_else(|e| panic!("{file} is valid OpenAPI 3.0: {e}"));
        assert!(
            spec.unresolved_refs().is_empty(),
            "{file}: unresolved refs {:?}",
            spec.unresolved_refs()
        );
        let mut ids = BTreeSet::new();
        for op in spec.operations() {
            let id = op
                .operation_id
                .clone()
                .unwrap_or_else(|| panic!("{file}: {} has no operationId", op.label()));
            assert!(ids.insert(id.clone()), "{file}: operationId `{id}` is used twice");
            assert!(!op.statuses.is_empty(), "{file}: {} documents no response", op.label());
        }
    }
}

fn every_error_code_is_in_the_enum_and_the_decisions_table() {
    let spec = ours();
    let codes = spec.error_codes();
    assert!(
        codes.contains(&"ACKNOWLEDGMENT_REQUIRED".to_string()),
        "the documented code is in the enum"
    );
    let decisions = std::fs::read_to_string(root().join("docs/api-decisions.md")).expect("docs/api-decisions.md");
    for code in &codes {
        assert!(
            decisions.contains(&format!("`{code}`")),
            "`{code}` is not explained in docs/api-decisions.md"
        );
    }
}

/// A concrete path for a template: ids are a fresh UUID, tokens a made-up one.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")
        .replace("{token}", "not-a-real-token")
}

/// Methods and paths in the reference server's route table (its source).
fn served_routes() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("src/mock/http/routes/mod.rs")).expect("route table source");
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]+)",\s*((?:[^()]|\([^()]*\))*)\)"#).expect("regex");
    let method = regex::Regex::new(r"\b(get|post|patch|put|delete)\(").expect("regex");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in route.captures_iter(&text) {
        let methods = method.captures_iter(&c[2]).map(|m| m[1].to_uppercase());
        out.entry(c[1].to_string()).or_default().extend(methods);
    }
    out
}

fn the_server_serves_exactly_the_spec() {
    install_crypto_provider();
    let spec = ours();
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for op in spec.operations() {
        documented.entry(op.path.clone()).or_default().insert(op.method.clone());
    }
    // The route table as written in the server's source.
    let served = served_routes();
    assert!(
        !served.is_empty(),
        "no route found in src/mock/http/routes/mod.rs: the parser is out of date"
    );
    assert_eq!(
        served, documented,
        "the server's route table and the spec's operations differ"
    );

    // And as seen over HTTP.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let server = MockServer::start(MockConfig::default()).await.expect("server starts");
        let client = reqwest::Client::new();
        for (path, methods) in &documented {
            for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                let url = format!("{}{}", server.url(), concrete(path));
                let method = reqwest::Method::from_bytes(m.as_bytes()).expect("method");
                let resp = client.request(method, &url).send().await.expect("the server answers");
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                let code = body.get("code").and_then(|c| c.as_str()).unwrap_or("");
                if methods.contains(m) {
                    assert!(
                        code != "ROUTE_NOT_FOUND" && code != "METHOD_NOT_ALLOWED" && status != 405,
                        "{m} {path} is in the spec but the server answers {status} {code}"
                    );
                } else {
                    assert_eq!(
                        status, 405,
                        "{m} {path} is not in the spec but the server answers {status} {code}"
                    );
                    assert_eq!(code, "METHOD_NOT_ALLOWED");
                }
            }
        }
        server.shutdown().await;
    });
}

fn upstream_openapi_validates_the_reference_server() {
    let upstream =
        Spec::load(&crate::spec::shared_dir().join("upstream/openapi.json")).expect("the upstream openapi.json loads");
    let spec = Arc::new(ours());
    let library = load_library(&root().join("scenarios")).expect("library");
    let scenarios: Vec<PlannedScenario> = library
        .scenarios
        .iter()
        .map(|s| PlannedScenario::new(s.clone(), library.expand(s).expect("expands")))
        .collect();
    let options = RunOptions {
        jobs: 4,
        ..RunOptions::default()
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt.block_on(run(RunPlan {
        contract: spec.into(),
        scenarios,
        target: TargetSpec::Bundled,
        options,
    }));
    let mut checked: BTreeSet<String> = BTreeSet::new();
    let mut problems = Vec::new();
    for s in report.scenarios.iter().filter(|s| s.outcome == Outcome::Passed) {
        for step in &s.steps {
            let (Some(req), Some(resp)) = (&step.request, &step.response) else {
                continue;
            };
            let Ok(url) = url::Url::parse(&req.url) else { continue };
            let Some(op) = upstream.find_operation(&req.method, url.path()) else {
                continue;
            };
            checked.insert(op.label());
            let headers: Vec<(String, String)> = resp
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect();
            let view = ResponseView {
                status: resp.status,
                headers: &headers,
                content_type: resp.content_type.as_deref(),
                json: resp.body.as_ref(),
                raw: &[],
            };
            // Upstream documents few statuses; only the shapes of the ones it documents are compared.
            let checks = CheckSet {
                status: false,
                content_type: false,
                schema: true,
                headers: false,
            };
            for f in upstream.check_response(op, &view, checks) {
                problems.push(format!("{} ({} step {}): {}", op.label(), s.id, step.index, f.message));
            }
        }
    }
    let described: BTreeSet<String> = upstream.operations().iter().map(|o| o.label()).collect();
    let unexercised: Vec<&String> = described.difference(&checked).collect();
    assert!(
        unexercised.is_empty(),
        "upstream operations no scenario exercised: {unexercised:?}"
    );
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "the upstream openapi.json rejects reference-server responses:\n{}",
        problems.join("\n")
    );
}

pub fn trials() -> Vec<libtest_mimic::Trial> {
    vec![
        trial!(the_specs_are_sound),
        trial!(every_error_code_is_in_the_enum_and_the_decisions_table),
        trial!(the_server_serves_exactly_the_spec),
        trial!(upstream_openapi_validates_the_reference_server, needs crate::spec::shared(&["upstream/openapi.json"])),
    ]
}
