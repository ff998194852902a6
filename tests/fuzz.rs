//! The fuzzer end to end: against the bundled reference server it finds
//! nothing; against deliberately broken stand-ins (a proxy in front of the
//! reference server that breaks one rule) it reports the failure, shrunk,
//! with a curl command free of secrets and a corpus file that `replay`
//! reproduces.
//!
//! `AGENTGIGS_FUZZ_CASES` raises the case count of the clean run (default 4);
//! `AGENTGIGS_FUZZ_SEED` changes its seed; `AGENTGIGS_FUZZ_CORPUS` keeps its
//! corpus files in that directory (for CI artifacts).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentgigs_conformance::fuzz::{self, FailureKind, FuzzOptions, FuzzReport};
use agentgigs_conformance::mock::{MockConfig, MockServer};
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, Spec};
use agentgigs_conformance::target::{ClientOptions, ControlClient, build_client};
use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

/// The reference layer: the documented contract with our reference server's
/// choices (`specs/reference.overlay.yaml`) applied, which is what the
/// reference server serves.
fn reference_spec(root: &Path) -> Spec {
    let documented = Spec::load(&root.join(DOCUMENTED_SPEC)).expect("the documented spec loads");
    let overlay = std::fs::read_to_string(root.join(REFERENCE_OVERLAY)).expect("the reference overlay");
    Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY).expect("the overlay applies")
}

/// The reference layer: the fuzzer judges the reference server by the
/// contract it serves (the documented one with our choices applied).
fn spec() -> Spec {
    reference_spec(Path::new(env!("CARGO_MANIFEST_DIR")))
}

fn cases() -> u32 {
    std::env::var("AGENTGIGS_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

fn control(base: &str) -> ControlClient {
    let http = build_client(&ClientOptions::default()).expect("client");
    ControlClient::new(http, url::Url::parse(base).expect("url"), None)
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// No credential-shaped text: API keys, JWTs.
fn assert_no_secret(text: &str) {
    let key = regex::Regex::new(r"age_[0-9a-f]{32}").unwrap();
    let jwt = regex::Regex::new(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}").unwrap();
    assert!(!key.is_match(text), "an API key leaked:\n{text}");
    assert!(!jwt.is_match(text), "a JWT leaked:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_has_no_failures() {
    let server = MockServer::start(MockConfig::default()).await.expect("mock starts");
    let dir = tempfile::tempdir().unwrap();
    let corpus = std::env::var("AGENTGIGS_FUZZ_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().to_path_buf());
    let opts = FuzzOptions {
        seed: std::env::var("AGENTGIGS_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20240601),
        cases: cases(),
        corpus_dir: corpus.clone(),
        time_budget: Some(Duration::from_secs(120)),
        ..Default::default()
    };
    let report = fuzz::fuzz(&spec(), &server.url(), &control(&server.url()), &opts)
        .await
        .expect("fuzz runs");
    let text = report.render_text();
    assert!(report.is_clean(), "{text}");
    assert!(corpus_files(&corpus).is_empty(), "{text}");
    assert!(report.operations.len() >= 35, "{text}");
    assert!(
        report.skipped.iter().any(|s| s.operation == "downloadSignedFile"),
        "{text}"
    );
    // Generation reaches the handlers: plenty of 2xx answers overall.
    let ok: u32 = report
        .operations
        .iter()
        .flat_map(|o| o.statuses.iter())
        .filter(|(s, _)| **s < 300)
        .map(|(_, n)| n)
        .sum();
    assert!(ok >= 20, "only {ok} 2xx answers:\n{text}");
    let (valid, invalid) = report.totals();
    assert!(valid > 0 && invalid > 0, "{text}");
    server.shutdown().await;
}

/// Decides whether the stand-in answers by itself instead of forwarding.
type Rule = fn(&Method, &str, &Value) -> Option<(StatusCode, Value)>;

/// A stand-in server: forwards everything to `upstream` unless `rule` answers.
async fn stand_in(upstream: String, rule: Rule) -> String {
    let http = build_client(&ClientOptions::default()).unwrap();
    let upstream = Arc::new(upstream);
    let app = axum::Router::new().fallback(move |req: Request<Body>| {
        let http = http.clone();
        let upstream = upstream.clone();
        async move { proxy(req, &http, &upstream, rule).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn proxy(req: Request<Body>, http: &reqwest::Client, upstream: &str, rule: Rule) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some((status, answer)) = rule(&parts.method, parts.uri.path(), &json) {
        return Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(answer.to_string()))
            .unwrap();
    }
    let target = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut out = http.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            out = out.header(name, value);
        }
    }
    let answer = match out.body(bytes).send().await {
        Ok(a) => a,
        Err(e) => {
            return Response::builder().status(502).body(Body::from(e.to_string())).unwrap();
        }
    };
    let mut builder = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if !matches!(name.as_str(), "content-length" | "connection" | "transfer-encoding") {
            builder = builder.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    builder.body(Body::from(body)).unwrap()
}

/// Breaks "never 5xx": a job title over 100 characters crashes it.
fn long_title_crashes(method: &Method, path: &str, body: &Value) -> Option<(StatusCode, Value)> {
    let long = body
        .get("title")
        .and_then(Value::as_str)
        .is_some_and(|t| t.chars().count() > 100);
    (method == Method::POST && path == "/api/agent/jobs" && long).then(|| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "title column overflow", "code": "INTERNAL"}),
        )
    })
}

/// Breaks "integer cents": a float `proposed_price` is accepted with 200.
fn float_price_accepted(method: &Method, path: &str, body: &Value) -> Option<(StatusCode, Value)> {
    let is_apply = path.starts_with("/api/jobs/") && path.ends_with("/apply");
    let float = body.get("proposed_price").is_some_and(|p| p.is_f64());
    (method == Method::POST && is_apply && float).then(|| {
        let job = path
            .trim_start_matches("/api/jobs/")
            .trim_end_matches("/apply")
            .to_string();
        (
            StatusCode::OK,
            json!({"application": {
                "id": "7c1f5a0e-2f0a-4b59-9d47-3c1d2f5e8a10", "job_id": job,
                "agent_id": "0d6c3b5a-1e2f-4a3b-8c9d-0e1f2a3b4c5d", "application_type": "agent",
                "proposed_price": body["proposed_price"], "message": "ok", "estimated_delivery": "1 day",
                "status": "pending", "created_at": "2025-01-01T00:00:00Z"}}),
        )
    })
}

async fn run_against(url: &str, operation: &str, cases: u32, dir: &Path) -> FuzzReport {
    let opts = FuzzOptions {
        seed: 42,
        cases,
        operation: Some(operation.to_string()),
        corpus_dir: dir.to_path_buf(),
        time_budget: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    fuzz::fuzz(&spec(), url, &control(url), &opts).await.expect("fuzz runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_and_shrinks_a_crash_on_long_titles() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in(server.url(), long_title_crashes).await;
    let dir = tempfile::tempdir().unwrap();
    let report = run_against(&url, "createJob", 16, dir.path()).await;
    let text = report.render_text();
    let failure = report
        .failures()
        .find(|f| f.kind == FailureKind::ServerError && f.mutation.is_none())
        .unwrap_or_else(|| panic!("no server error found:\n{text}"));
    assert_eq!(failure.status, Some(500), "{text}");
    // Shrunk: the title is just over the threshold.
    let Some(fuzz::request::WireBody::Json { value }) = &failure.request.body else {
        panic!("no JSON body:\n{text}")
    };
    let title = value["title"].as_str().expect("title");
    assert!(
        (101..=105).contains(&title.chars().count()),
        "title of {} chars:\n{text}",
        title.chars().count()
    );
    assert!(failure.shrink_steps > 0, "{text}");
    // The curl command runs as is, with the key from the environment.
    assert!(failure.curl.contains("$AGENTGIGS_"), "{}", failure.curl);
    assert!(failure.curl.contains(&url), "{}", failure.curl);
    assert_no_secret(&failure.curl);
    assert_no_secret(&text);
    // The corpus file names the actor role, holds no secret, and replays.
    let file = failure.corpus_file.clone().expect("corpus written");
    let stored = std::fs::read_to_string(&file).unwrap();
    assert_no_secret(&stored);
    assert!(
        stored.contains("{{poster.api_key}}")
            || stored.contains("{{agent.api_key}}")
            || stored.contains("{{proofer.api_key}}"),
        "{stored}"
    );
    let again = fuzz::replay(&file, &url, &control(&url)).await.expect("replay runs");
    assert!(again.reproduced, "{}", again.render_text());
    assert_eq!(again.status, Some(500));
    assert_no_secret(&again.curl);
    // The reference server does not have the bug.
    let clean = fuzz::replay(&file, &server.url(), &control(&server.url()))
        .await
        .expect("replay runs");
    assert!(!clean.reproduced, "{}", clean.render_text());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_a_float_price_accepted() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in(server.url(), float_price_accepted).await;
    let dir = tempfile::tempdir().unwrap();
    let report = run_against(&url, "applyToJob", 64, dir.path()).await;
    let text = report.render_text();
    let failure = report
        .failures()
        .find(|f| f.kind == FailureKind::AcceptedInvalid)
        .unwrap_or_else(|| panic!("no accepted invalid request found:\n{text}"));
    let mutation = failure.mutation.clone().unwrap_or_default();
    assert!(mutation.starts_with("`proposed_price`: float "), "{mutation}");
    assert!(mutation.ends_with("where integer cents are due"), "{mutation}");
    assert_eq!(failure.status, Some(200), "{text}");
    assert_no_secret(&failure.curl);
    assert!(failure.curl.contains("proposed_price"), "{}", failure.curl);
    let file = failure.corpus_file.clone().expect("corpus written");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored["operation"], "applyToJob");
    assert!(stored["path"].as_str().unwrap().contains("{{job_id}}"), "{stored}");
    assert_eq!(stored["expected"]["expect"], "reject");
    assert_eq!(stored["observed"]["status"], 200);
    let again = fuzz::replay(&file, &url, &control(&url)).await.expect("replay runs");
    assert!(again.reproduced, "{}", again.render_text());
    let clean = fuzz::replay(&file, &server.url(), &control(&server.url()))
        .await
        .expect("replay runs");
    assert!(!clean.reproduced, "{}", clean.render_text());
    assert_eq!(clean.status, Some(400), "{}", clean.render_text());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_requests() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in(server.url(), long_title_crashes).await;
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = run_against(&url, "createJob", 8, a.path()).await;
    let second = run_against(&url, "createJob", 8, b.path()).await;
    let names = |d: &Path| {
        corpus_files(d)
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(!names(a.path()).is_empty(), "{}", first.render_text());
    assert_eq!(
        names(a.path()),
        names(b.path()),
        "{}\n{}",
        first.render_text(),
        second.render_text()
    );
    server.shutdown().await;
}
