//! The fuzzer end to end: against the bundled reference server it finds
//! nothing; against deliberately broken stand-ins (a proxy in front of the
//! reference server that breaks one rule) it reports the failure, shrunk,
//! with a curl command free of secrets and a corpus file that `replay`
//! reproduces. On two layers: a stand-in faithful to the docs that chose
//! differently where they are silent has no failure, only departures from
//! the reference server (failures with `strict`); accepting an invalid
//! request is a failure only where the docs say so (`x-doc`), and the
//! failure cites them. A hostile answer body is read only up to the cap.
//!
//! `AGENTGIGS_FUZZ_CASES` raises the case count of the clean run (default 4);
//! `AGENTGIGS_FUZZ_SEED` changes its seed; `AGENTGIGS_FUZZ_CORPUS` keeps its
//! corpus files in that directory (for CI artifacts).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentgigs_conformance::fuzz::{self, FailureKind, FuzzOptions, FuzzReport, Layer, ReplayOptions};
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

/// The real documented spec with the reference overlay of the repository.
fn contract() -> Contract {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Contract::load(
        &root.join("specs/agentgigs.openapi.yaml"),
        Some(&root.join("specs/reference.overlay.yaml")),
    )
    .expect("contract loads")
}

/// Removes every `x-doc` (the spec then states its constraints without
/// citing the docs for any).
fn strip_docs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("x-doc");
            m.values_mut().for_each(strip_docs);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_docs),
        _ => {}
    }
}

/// The real documented spec with its `x-doc`s removed.
fn undocumented_spec() -> Spec {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut doc = Spec::load(&root.join(DOCUMENTED_SPEC))
        .expect("the documented spec loads")
        .document()
        .clone();
    strip_docs(&mut doc);
    Spec::from_document(doc, "agentgigs.openapi.yaml without x-doc").expect("spec builds")
}

/// [`undocumented_spec`] with the repository's reference overlay over it.
fn undocumented_contract() -> Contract {
    let documented = undocumented_spec();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let overlay = std::fs::read_to_string(root.join("specs/reference.overlay.yaml")).expect("the overlay");
    let reference = Contract::reference_of(&documented, &overlay, "reference.overlay.yaml").expect("overlay applies");
    Contract::new(Arc::new(documented), Some(Arc::new(reference)))
}

/// The real spec without its `x-doc`s, with `x-doc: refs` set at `pointer`
/// only, as the documented contract, over which `overlay` (if any) builds
/// the reference layer.
fn contract_with_doc(pointer: &str, refs: &[&str], overlay: Option<&str>) -> Contract {
    let mut doc = undocumented_spec().document().clone();
    let node = doc.pointer_mut(pointer).expect("pointer exists");
    node.as_object_mut()
        .expect("an object")
        .insert("x-doc".into(), json!(refs));
    let documented = Spec::from_document(doc, "agentgigs.openapi.yaml + x-doc").expect("spec builds");
    let reference = overlay.map(|o| Arc::new(Contract::reference_of(&documented, o, "overlay.yaml").expect("overlay")));
    Contract::new(Arc::new(documented), reference)
}

/// The cited docs of `message` in [`DOCUMENTED`].
const MESSAGE_DOCS: [&str; 2] = [
    "llms.txt#browse-and-apply-agent-actions",
    "openapi:POST /api/jobs/{id}/apply",
];

/// A documented contract in the permissive, docs-only form: only what the
/// docs state, with `x-doc` where they state it. Applications have an id
/// and a status; errors a sentence; `message` at least 10 characters (the
/// docs say so); `?status` lists values without saying others are refused.
const DOCUMENTED: &str = r#"
openapi: 3.0.3
info: {title: AgentGigs as documented (test), version: "1"}
components:
  securitySchemes:
    ApiKey: {type: apiKey, in: header, name: X-API-Key}
    BearerJWT: {type: http, scheme: bearer}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error: {type: string}
        code: {type: string}
    Application:
      type: object
      required: [id, status]
      properties:
        id: {type: string, format: uuid}
        status: {type: string}
    ApplyRequest:
      type: object
      required: [message, proposed_price, estimated_delivery]
      properties:
        message:
          type: string
          minLength: 10
          x-doc: [llms.txt#browse-and-apply-agent-actions, "openapi:POST /api/jobs/{id}/apply"]
        proposed_price: {type: integer, minimum: 1, description: USD cents.}
        estimated_delivery: {type: string}
  responses:
    Error:
      description: refused
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
paths:
  /api/jobs/{id}/apply:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    post:
      operationId: applyToJob
      security: [{ApiKey: []}, {BearerJWT: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ApplyRequest'}
      responses:
        '200':
          description: applied
          content:
            application/json:
              schema:
                type: object
                required: [application]
                properties:
                  application: {$ref: '#/components/schemas/Application'}
        '4XX': {$ref: '#/components/responses/Error'}
  /api/agent/applications:
    get:
      operationId: listMyApplications
      x-doc: ["docs/api#applications"]
      security: [{ApiKey: []}, {BearerJWT: []}]
      parameters:
        - name: status
          in: query
          schema: {type: string, enum: [pending, accepted, funded, rejected]}
      responses:
        '200':
          description: the caller's applications
          content:
            application/json:
              schema:
                type: object
                required: [applications]
                properties:
                  applications:
                    type: array
                    items: {$ref: '#/components/schemas/Application'}
        '4XX': {$ref: '#/components/responses/Error'}
"#;

/// Our reference server's choices over [`DOCUMENTED`]: applications also
/// carry `job_id` and `created_at`, errors a `code` of a closed list, and
/// `message` at most 5000 characters.
fn reference_overlay() -> String {
    let codes: Vec<String> = spec().error_codes();
    format!(
        r#"
overlay: 1.0.0
info: {{title: reference choices (test), version: "1"}}
actions:
  - target: $.components.schemas.Application.required
    update: [job_id, created_at]
  - target: $.components.schemas.Application.properties
    update:
      job_id: {{type: string, format: uuid}}
      created_at: {{type: string, format: date-time}}
  - target: $.components.schemas.Error.required
    update: [code]
  - target: $.components.schemas.Error.properties.code
    update:
      enum: {codes}
  - target: $.components.schemas.ApplyRequest.properties.message
    update: {{maxLength: 5000}}
"#,
        codes = serde_json::to_string(&codes).unwrap()
    )
}

/// [`DOCUMENTED`] with the reference layer of [`reference_overlay`].
fn layered() -> Contract {
    let documented = Spec::from_text(DOCUMENTED, "documented.yaml").expect("documented spec");
    let reference =
        Contract::reference_of(&documented, &reference_overlay(), "reference.overlay.yaml").expect("overlay applies");
    Contract::new(Arc::new(documented), Some(Arc::new(reference)))
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
    let report = fuzz::fuzz(&contract(), &server.url(), &control(&server.url()), &opts)
        .await
        .expect("fuzz runs");
    let text = report.render_text();
    assert!(report.is_clean(), "{text}");
    // The reference server is what the reference layer describes.
    assert_eq!(report.departures().count(), 0, "{text}");
    assert!(corpus_files(&corpus).is_empty(), "{text}");
    assert!(report.operations.len() >= 35, "{text}");
    // `GET /files/{token}` is a route of our reference server only: not fuzzed.
    assert!(
        !report.operations.iter().any(|o| o.operation == "downloadSignedFile"),
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

/// Decides whether the stand-in answers by itself, with anything (method, path).
type RawRule = fn(&Method, &str) -> Option<Response<Body>>;

/// How a stand-in differs from the reference server it forwards to.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Answers with JSON by itself.
    rule: Option<Rule>,
    /// Answers with anything by itself (method, path).
    raw: Option<RawRule>,
    /// Rewrites the query before forwarding (method, path, query).
    query: Option<fn(&Method, &str, &str) -> String>,
    /// Rewrites a forwarded JSON answer (status, body).
    answer: Option<fn(u16, &mut Value)>,
}

const FORWARD: Behaviour = Behaviour {
    rule: None,
    raw: None,
    query: None,
    answer: None,
};

/// A stand-in server: forwards everything to `upstream` unless `rule` answers.
async fn stand_in(upstream: String, rule: Rule) -> String {
    stand_in_with(
        upstream,
        Behaviour {
            rule: Some(rule),
            ..FORWARD
        },
    )
    .await
}

/// A stand-in server behaving as `b` says, forwarding the rest to `upstream`.
async fn stand_in_with(upstream: String, b: Behaviour) -> String {
    let http = build_client(&ClientOptions::default()).unwrap();
    let upstream = Arc::new(upstream);
    let app = axum::Router::new().fallback(move |req: Request<Body>| {
        let http = http.clone();
        let upstream = upstream.clone();
        async move { proxy(req, &http, &upstream, b).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn proxy(req: Request<Body>, http: &reqwest::Client, upstream: &str, b: Behaviour) -> Response<Body> {
    let (parts, body) = req.into_parts();
    if let Some(answer) = b.raw.and_then(|raw| raw(&parts.method, parts.uri.path())) {
        return answer;
    }
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some((status, answer)) = b.rule.and_then(|rule| rule(&parts.method, parts.uri.path(), &json)) {
        return Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(answer.to_string()))
            .unwrap();
    }
    let query = parts.uri.query().unwrap_or("");
    let query = match b.query {
        Some(rewrite) => rewrite(&parts.method, parts.uri.path(), query),
        None => query.to_string(),
    };
    let target = if query.is_empty() {
        format!("{upstream}{}", parts.uri.path())
    } else {
        format!("{upstream}{}?{query}", parts.uri.path())
    };
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
    let status = answer.status().as_u16();
    let mut builder = Response::builder().status(status);
    for (name, value) in answer.headers() {
        if !matches!(name.as_str(), "content-length" | "connection" | "transfer-encoding") {
            builder = builder.header(name, value);
        }
    }
    let mut body = answer.bytes().await.unwrap_or_default().to_vec();
    if let Some(rewrite) = b.answer
        && let Ok(mut v) = serde_json::from_slice::<Value>(&body)
    {
        rewrite(status, &mut v);
        body = serde_json::to_vec(&v).unwrap();
    }
    builder.body(Body::from(body)).unwrap()
}

/// Faithful to the docs, different where they are silent: applications
/// without `job_id` and `created_at`, errors with a code of its own.
fn faithful_answer(status: u16, body: &mut Value) {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if o.contains_key("application_type") {
                    o.shift_remove("job_id");
                    o.shift_remove("created_at");
                }
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(body);
    if status >= 400
        && let Some(code) = body.get_mut("code")
    {
        *code = json!("REQUEST_REFUSED");
    }
}

/// ... and an unknown `?status` filter is ignored rather than refused.
fn faithful_query(method: &Method, path: &str, query: &str) -> String {
    let known = ["pending", "accepted", "funded", "rejected"];
    if method != Method::GET || path != "/api/agent/applications" {
        return query.to_string();
    }
    query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some(("status", v)) => known.contains(&v),
            _ => true,
        })
        .collect::<Vec<_>>()
        .join("&")
}

const FAITHFUL: Behaviour = Behaviour {
    rule: None,
    raw: None,
    query: Some(faithful_query),
    answer: Some(faithful_answer),
};

/// Breaks the documented `minLength: 10` of `message`: a shorter one is accepted.
fn short_message_accepted(method: &Method, path: &str, body: &Value) -> Option<(StatusCode, Value)> {
    let is_apply = path.starts_with("/api/jobs/") && path.ends_with("/apply");
    let short = body
        .get("message")
        .and_then(Value::as_str)
        .is_some_and(|m| m.chars().count() < 10);
    (method == Method::POST && is_apply && short).then(|| {
        (
            StatusCode::OK,
            json!({"application": {"id": "7c1f5a0e-2f0a-4b59-9d47-3c1d2f5e8a10", "status": "pending"}}),
        )
    })
}

/// 50 MB of JSON-ish filler, streamed without a `Content-Length`, to every
/// listing of the caller's applications.
fn huge_listing(method: &Method, path: &str) -> Option<Response<Body>> {
    if method != Method::GET || path != "/api/agent/applications" {
        return None;
    }
    const CHUNK: usize = 64 * 1024;
    let chunks = 50 * 1024 * 1024 / CHUNK;
    let block = axum::body::Bytes::from(vec![b' '; CHUNK]);
    let stream = futures::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(block.clone())));
    Some(
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap(),
    )
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
    run_with(&contract(), url, operation, cases, dir, false).await
}

async fn run_with(contract: &Contract, url: &str, operation: &str, cases: u32, dir: &Path, strict: bool) -> FuzzReport {
    let opts = FuzzOptions {
        seed: 42,
        cases,
        operation: Some(operation.to_string()),
        corpus_dir: dir.to_path_buf(),
        time_budget: Some(Duration::from_secs(60)),
        strict,
        ..Default::default()
    };
    fuzz::fuzz(contract, url, &control(url), &opts)
        .await
        .expect("fuzz runs")
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
async fn finds_a_float_price_accepted_where_the_docs_require_cents() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in(server.url(), float_price_accepted).await;
    let dir = tempfile::tempdir().unwrap();
    // The docs back `proposed_price` (integer cents) with a reference.
    let docs = ["llms.txt#browse-and-apply-agent-actions"];
    let backed = contract_with_doc(
        "/components/schemas/ApplyRequest/properties/proposed_price",
        &docs,
        None,
    );
    let report = run_with(&backed, &url, "applyToJob", 64, dir.path(), false).await;
    let text = report.render_text();
    let failure = report
        .failures()
        .find(|f| f.kind == FailureKind::AcceptedInvalid)
        .unwrap_or_else(|| panic!("no accepted invalid request found:\n{text}"));
    let mutation = failure.mutation.clone().unwrap_or_default();
    assert!(mutation.starts_with("`proposed_price`: float "), "{mutation}");
    assert!(mutation.ends_with("where integer cents are due"), "{mutation}");
    assert_eq!(failure.status, Some(200), "{text}");
    assert_eq!(failure.layer, Layer::Documented);
    assert!(
        failure
            .message
            .contains("the docs require an integer (USD cents) (llms.txt#browse-and-apply-agent-actions)"),
        "{}",
        failure.message
    );
    assert_eq!(failure.docs, docs);
    assert_no_secret(&failure.curl);
    assert!(failure.curl.contains("proposed_price"), "{}", failure.curl);
    let file = failure.corpus_file.clone().expect("corpus written");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["operation"], "applyToJob");
    assert!(stored["path"].as_str().unwrap().contains("{{job_id}}"), "{stored}");
    assert_eq!(stored["expected"]["expect"], "reject");
    assert_eq!(stored["observed"]["status"], 200);
    assert_eq!(stored["observed"]["layer"], "documented");
    assert_eq!(stored["refusal"]["basis"]["by"], "docs");
    assert_eq!(stored["refusal"]["basis"]["refs"], json!(docs));
    let again = fuzz::replay(&file, &url, &control(&url)).await.expect("replay runs");
    assert!(again.reproduced, "{}", again.render_text());
    let clean = fuzz::replay(&file, &server.url(), &control(&server.url()))
        .await
        .expect("replay runs");
    assert!(!clean.reproduced, "{}", clean.render_text());
    assert_eq!(clean.status, Some(400), "{}", clean.render_text());
    // Replayed against a contract whose docs do not back the constraint,
    // but whose reference layer has it: only a departure.
    let opts = ReplayOptions::default();
    let unbacked = fuzz::replay_with(&file, &url, &control(&url), Some(&undocumented_contract()), &opts)
        .await
        .expect("replay runs");
    assert!(!unbacked.reproduced && unbacked.departed, "{}", unbacked.render_text());
    let strict = ReplayOptions {
        strict: true,
        ..ReplayOptions::default()
    };
    let unbacked = fuzz::replay_with(&file, &url, &control(&url), Some(&undocumented_contract()), &strict)
        .await
        .expect("replay runs");
    assert!(unbacked.reproduced, "{}", unbacked.render_text());
    assert_eq!(unbacked.layer, Some(Layer::Reference));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_invalid_request_the_docs_do_not_refuse_is_no_failure() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in(server.url(), float_price_accepted).await;
    let dir = tempfile::tempdir().unwrap();
    // No `x-doc` anywhere: the constraint is stated, not documented.
    let report = run_with(&undocumented_contract(), &url, "applyToJob", 64, dir.path(), false).await;
    let text = report.render_text();
    assert!(
        !report.failures().any(|f| f.kind == FailureKind::AcceptedInvalid),
        "{text}"
    );
    // The reference layer has it: accepting it departs from the reference server.
    let departure = report
        .departures()
        .find(|d| d.kind == FailureKind::AcceptedInvalid)
        .unwrap_or_else(|| panic!("no departure:\n{text}"));
    assert!(
        departure.message.contains("our reference server refuses this"),
        "{text}"
    );
    assert!(text.contains("departures from the reference server"), "{text}");
    // Documented only: not even a departure.
    let documented = Contract::documented_only(Arc::new(undocumented_spec()));
    let report = run_with(&documented, &url, "applyToJob", 64, dir.path(), false).await;
    let text = report.render_text();
    assert!(
        !report.failures().any(|f| f.kind == FailureKind::AcceptedInvalid),
        "{text}"
    );
    assert!(
        !report.departures().any(|d| d.kind == FailureKind::AcceptedInvalid),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faithful_server_that_chose_differently_only_departs() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in_with(server.url(), FAITHFUL).await;
    let dir = tempfile::tempdir().unwrap();
    let contract = layered();
    let mut departures = Vec::new();
    for op in ["applyToJob", "listMyApplications"] {
        let report = run_with(&contract, &url, op, 24, dir.path(), false).await;
        let text = report.render_text();
        assert!(report.is_clean(), "{text}");
        assert_eq!(report.failures().count(), 0, "{text}");
        departures.extend(report.departures().cloned());
        assert!(text.contains("departures from the reference server"), "{text}");
    }
    assert!(corpus_files(dir.path()).is_empty());
    let messages: Vec<&str> = departures.iter().map(|d| d.message.as_str()).collect();
    // Undocumented fields missing, and codes of its own.
    assert!(
        departures
            .iter()
            .any(|d| d.kind == FailureKind::ContractViolation && d.message.contains("created_at")),
        "{messages:#?}"
    );
    assert!(
        departures
            .iter()
            .any(|d| d.kind == FailureKind::ContractViolation && d.message.contains("REQUEST_REFUSED")),
        "{messages:#?}"
    );
    // An unknown `?status` accepted: the docs list values, they do not refuse others.
    assert!(
        departures.iter().any(|d| d.kind == FailureKind::AcceptedInvalid
            && d.message.contains("`?status` is `fuzz_not_in_enum`")
            && d.message.contains("our reference server refuses this")),
        "{messages:#?}"
    );
    // Deduplicated: each departure once per operation, counted.
    let mut keys: Vec<(&str, &str)> = departures
        .iter()
        .map(|d| (d.operation.as_str(), d.key.as_str()))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "{messages:#?}");
    assert!(departures.iter().any(|d| d.count > 1), "{messages:#?}");
    for d in &departures {
        assert_no_secret(&d.curl);
    }
    // Strict: the same departures are failures, on the reference layer.
    let strict = run_with(&contract, &url, "listMyApplications", 24, dir.path(), true).await;
    let text = strict.render_text();
    assert!(!strict.is_clean(), "{text}");
    assert!(strict.failures().all(|f| f.layer == Layer::Reference), "{text}");
    assert!(text.contains("strict"), "{text}");
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus_files(dir.path()).first().unwrap()).unwrap()).unwrap();
    assert_eq!(stored["observed"]["layer"], "reference", "{stored}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_message_accepted_fails_citing_the_docs() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in(server.url(), short_message_accepted).await;
    let dir = tempfile::tempdir().unwrap();
    let report = run_with(&layered(), &url, "applyToJob", 64, dir.path(), false).await;
    let text = report.render_text();
    let failure = report
        .failures()
        .find(|f| f.kind == FailureKind::AcceptedInvalid)
        .unwrap_or_else(|| panic!("no accepted invalid request found:\n{text}"));
    let cited = MESSAGE_DOCS.join(", ");
    assert_eq!(
        failure.message,
        format!(
            "answered 200 to a request whose `message` is 9 characters; the docs require at least 10 characters ({cited})"
        ),
        "{text}"
    );
    assert_eq!(failure.docs, MESSAGE_DOCS);
    assert!(text.contains(&format!("docs: {cited}")), "{text}");
    let file = failure.corpus_file.clone().expect("corpus written");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored["observed"]["docs"], json!(MESSAGE_DOCS), "{stored}");
    assert_eq!(stored["refusal"]["basis"]["refs"], json!(MESSAGE_DOCS), "{stored}");
    assert!(
        stored["observed"]["message"].as_str().unwrap().contains(&cited),
        "{stored}"
    );
    let opts = ReplayOptions::default();
    let again = fuzz::replay_with(&file, &url, &control(&url), Some(&layered()), &opts)
        .await
        .expect("replay runs");
    assert!(again.reproduced, "{}", again.render_text());
    assert_eq!(again.docs, MESSAGE_DOCS);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_answer_is_capped_not_read() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let url = stand_in_with(
        server.url(),
        Behaviour {
            raw: Some(huge_listing),
            ..FORWARD
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let opts = FuzzOptions {
        seed: 3,
        cases: 2,
        operation: Some("listMyApplications".into()),
        corpus_dir: dir.path().to_path_buf(),
        time_budget: Some(Duration::from_secs(60)),
        max_shrink_steps: 3,
        ..Default::default()
    };
    let report = fuzz::fuzz(&layered(), &url, &control(&url), &opts)
        .await
        .expect("fuzz runs");
    let text = report.render_text();
    let failure = report
        .failures()
        .find(|f| f.kind == FailureKind::Transport)
        .unwrap_or_else(|| panic!("no transport failure:\n{text}"));
    assert_eq!(
        failure.message,
        format!(
            "no answer: the answer is larger than {} bytes; not read",
            4 * 1024 * 1024
        ),
        "{text}"
    );
    assert!(failure.response_body.is_none());
    // Replay reads under its own cap.
    let file = failure.corpus_file.clone().expect("corpus written");
    let small = ReplayOptions {
        max_body_bytes: 1000,
        ..ReplayOptions::default()
    };
    let again = fuzz::replay_with(&file, &url, &control(&url), Some(&layered()), &small)
        .await
        .expect("replay runs");
    assert!(again.reproduced, "{}", again.render_text());
    assert!(again.message.contains("larger than 1000 bytes"), "{}", again.message);
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
