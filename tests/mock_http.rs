//! The reference server driven over real HTTP: lifecycle of the handle, the
//! auth matrix, ids and routing, body limits, a full job flow, races with
//! concurrent requests, events (SSE and WebSocket), the control API and the
//! deliberate faults. No test sleeps to synchronise; time moves through the
//! control clock.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use agentgigs_conformance::mock::{MockConfig, MockError, MockServer};
use agentgigs_conformance::spec::{CheckSet, ResponseView, Spec};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

// ---------------------------------------------------------------- harness

fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The API and control specs, loaded once.
static SPECS: std::sync::LazyLock<[Spec; 2]> = std::sync::LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
    ["agentgigs.openapi.yaml", "control.openapi.yaml"]
        .map(|f| Spec::load(&dir.join(f)).unwrap_or_else(|e| panic!("spec `{f}` loads: {e}")))
});

/// Spec findings caused by fields the domain does not expose yet (operation
/// label, part of the finding's message). Remove an entry once the domain
/// serves the field.
const KNOWN_DOMAIN_GAPS: &[(&str, &str)] = &[
    // `MyApplication` has no `message` and no accessor gives it to the HTTP layer.
    (
        "GET /api/agent/applications",
        "\"message\" is a required property",
    ),
];

/// Checks a response against the spec operation it belongs to (if any).
fn check_against_spec(method: &Method, path: &str, status: u16, headers: &HeaderMap, bytes: &[u8]) {
    let Some((spec, op)) = SPECS
        .iter()
        .find_map(|s| s.find_operation(method.as_str(), path).map(|op| (s, op)))
    else {
        return;
    };
    let pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    let json: Option<Value> = serde_json::from_slice(bytes).ok();
    let view = ResponseView {
        status,
        headers: &pairs,
        content_type,
        json: json.as_ref(),
        raw: bytes,
    };
    let label = op.label();
    let findings: Vec<_> = spec
        .check_response(op, &view, CheckSet::default())
        .into_iter()
        .filter(|f| {
            !KNOWN_DOMAIN_GAPS
                .iter()
                .any(|(l, m)| *l == label && f.message.contains(m))
        })
        .collect();
    assert!(
        findings.is_empty(),
        "{method} {path} → {status} breaks the spec:\n{findings:#?}\nbody: {}",
        String::from_utf8_lossy(bytes)
    );
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Key(String),
    Jwt(String),
    Headers(Vec<(&'static str, String)>),
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    #[track_caller]
    fn expect(&self, status: u16, code: &str) -> &Self {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        self
    }
    #[track_caller]
    fn ok(&self) -> &Value {
        assert!(
            (200..300).contains(&self.status),
            "status {}: {}",
            self.status,
            self.body
        );
        &self.body
    }
}

struct Srv {
    server: MockServer,
    http: reqwest::Client,
    base: String,
    /// Off for servers with faults (they break the spec on purpose).
    validate: bool,
}

#[derive(Clone, Debug)]
struct Actor {
    id: String,
    key: Auth,
    jwt: Auth,
    email: String,
    password: String,
}

async fn start() -> Srv {
    start_with(MockConfig::default()).await
}

async fn start_with(cfg: MockConfig) -> Srv {
    init();
    let validate = cfg.faults.is_empty();
    let server = MockServer::start(cfg).await.expect("server starts");
    let base = server.url();
    Srv {
        server,
        http: reqwest::Client::new(),
        base,
        validate,
    }
}

fn faulty(faults: &[&str]) -> MockConfig {
    MockConfig {
        faults: faults
            .iter()
            .map(|f| f.to_string())
            .collect::<BTreeSet<_>>(),
        ..MockConfig::default()
    }
}

impl Srv {
    async fn send(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Resp {
        let mut rb = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path));
        rb = match auth {
            Auth::None => rb,
            Auth::Key(k) => rb.header("X-API-Key", k),
            Auth::Jwt(t) => rb.header("Authorization", format!("Bearer {t}")),
            Auth::Headers(hs) => hs.iter().fold(rb, |rb, (k, v)| rb.header(*k, v)),
        };
        let resp = build(rb).send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body read");
        assert!(
            status < 500,
            "a 5xx from the mock: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        if status >= 400 {
            let ct = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert!(
                ct.starts_with("application/json"),
                "error without JSON: {status} {ct}"
            );
        }
        if self.validate {
            check_against_spec(&method, path, status, &headers, &bytes);
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str, auth: &Auth) -> Resp {
        self.send(Method::GET, path, auth, |rb| rb).await
    }

    async fn post(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send(Method::POST, path, auth, |rb| rb.json(&body))
            .await
    }

    async fn actor(&self, role: &str, extra: Value) -> Actor {
        let mut body = json!({"role": role, "tier": "enterprise"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.post("/__conformance/actors", &Auth::None, body).await;
        let v = r.expect(201, "").ok().clone();
        Actor {
            id: v["user_id"].as_str().unwrap().to_string(),
            key: Auth::Key(v["api_key"].as_str().unwrap().to_string()),
            jwt: Auth::Jwt(v["access_token"].as_str().unwrap().to_string()),
            email: v["email"].as_str().unwrap().to_string(),
            password: v["password"].as_str().unwrap().to_string(),
        }
    }

    async fn advance(&self, secs: i64) {
        self.post(
            "/__conformance/clock",
            &Auth::None,
            json!({"advance_seconds": secs}),
        )
        .await
        .ok();
    }

    async fn balance(&self, a: &Actor) -> i64 {
        self.get("/api/wallet", &a.key).await.ok()["balance"]
            .as_i64()
            .unwrap()
    }

    /// Posts a Research job; returns its id.
    async fn job(&self, poster: &Actor, proofers: u32) -> String {
        let mut body = json!({
            "title": "Market research on widgets",
            "description": "Find the top ten widget makers and their prices.",
            "category": "Research", "budget_min": 1000, "budget_max": 10000,
        });
        if proofers > 0 {
            body["proof_required"] = json!(true);
            body["proofer_count"] = json!(proofers);
        }
        let r = self.post("/api/agent/jobs", &poster.key, body).await;
        r.expect(201, "").ok()["job"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// NDA then apply; returns the application id.
    async fn apply(&self, who: &Actor, job: &str, price: i64) -> String {
        self.post(&format!("/api/jobs/{job}/nda"), &who.key, json!(null))
            .await
            .ok();
        let body = json!({"message": "I can do this well and fast.", "proposed_price": price, "estimated_delivery": "1 day"});
        let r = self
            .post(&format!("/api/jobs/{job}/apply"), &who.key, body)
            .await;
        r.ok()["application"]["id"].as_str().unwrap().to_string()
    }

    /// Apply, accept, fund from the wallet.
    async fn hire(&self, poster: &Actor, agent: &Actor, job: &str, price: i64) -> String {
        let app = self.apply(agent, job, price).await;
        self.post(
            &format!("/api/agent/jobs/{job}/accept-application"),
            &poster.key,
            json!({"applicationId": app}),
        )
        .await
        .ok();
        self.post(
            &format!("/api/jobs/{job}/fund-escrow"),
            &poster.key,
            json!({"applicationId": app, "useWallet": true}),
        )
        .await
        .ok();
        app
    }

    async fn deliver(&self, agent: &Actor, job: &str) -> Value {
        let body = json!({"deliverableUrl": "https://example.com/report.pdf", "message": "Here is the report you asked for."});
        self.post(&format!("/api/jobs/{job}/deliver"), &agent.key, body)
            .await
            .ok()
            .clone()
    }
}

fn scorecard(verdict: &str) -> Value {
    let sec = json!({"rating": 4, "comments": "x".repeat(60)});
    json!({
        "verdict": verdict,
        "scorecard": {"completeness": sec, "accuracy": sec, "methodology": sec, "quality": sec, "summary": sec},
        "evidence_summary": "e".repeat(210),
        "agent_feedback": "Cite your sources next time.",
    })
}

// ---------------------------------------------------------------- the handle

#[tokio::test]
async fn start_shutdown_and_drop() {
    let s = start().await;
    assert!(s.base.starts_with("http://127.0.0.1:"));
    s.get("/api/help", &Auth::None).await.ok();
    let url = s.base.clone();
    s.server.shutdown().await;
    assert!(
        s.http.get(format!("{url}/api/help")).send().await.is_err(),
        "closed after shutdown"
    );

    let dropped = start().await;
    let url = dropped.base.clone();
    drop(dropped.server);
    tokio::time::timeout(Duration::from_secs(5), async {
        while reqwest::get(format!("{url}/api/help")).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a dropped server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_servers_at_once_keep_their_own_state() {
    let servers = futures::future::join_all((0..8).map(|_| start())).await;
    let urls: BTreeSet<_> = servers.iter().map(|s| s.base.clone()).collect();
    assert_eq!(urls.len(), 8);
    for s in &servers {
        let p = s.actor("poster", json!({})).await;
        s.job(&p, 0).await;
        assert_eq!(s.get("/api/agent/jobs", &p.key).await.ok()["count"], 1);
        assert_eq!(
            s.get("/api/categories", &Auth::None).await.ok()["count"],
            13
        );
    }
    futures::future::join_all(servers.into_iter().map(|s| s.server.shutdown())).await;
}

#[tokio::test]
async fn non_loopback_bind_needs_a_token_and_faults_must_be_known() {
    init();
    let cfg = MockConfig {
        host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ..MockConfig::default()
    };
    assert!(matches!(
        MockServer::start(cfg.clone()).await,
        Err(MockError::TokenRequired { .. })
    ));
    let with_token = MockConfig {
        control_token: Some("s3cret".into()),
        ..cfg
    };
    MockServer::start(with_token)
        .await
        .expect("token given")
        .shutdown()
        .await;
    assert!(matches!(
        MockServer::start(faulty(&["no_such_fault"])).await,
        Err(MockError::UnknownFault { .. })
    ));
}

#[tokio::test]
async fn control_api_and_its_token() {
    let s = start_with(MockConfig {
        control_token: Some("tok".into()),
        ..MockConfig::default()
    })
    .await;
    let r = s.get("/__conformance", &Auth::None).await;
    r.expect(401, "CONTROL_TOKEN_REQUIRED");
    assert!(r.headers.contains_key("www-authenticate"));
    s.get(
        "/__conformance",
        &Auth::Headers(vec![("X-Conformance-Token", "wrong".into())]),
    )
    .await
    .expect(401, "CONTROL_TOKEN_REQUIRED");
    let tok = Auth::Headers(vec![("X-Conformance-Token", "tok".into())]);
    let info = s.get("/__conformance", &tok).await;
    assert_eq!(
        info.ok(),
        &json!({"version": 1, "features": ["actors", "clock", "reset"]})
    );
    s.post(
        "/__conformance/actors",
        &Auth::None,
        json!({"role": "agent"}),
    )
    .await
    .expect(401, "CONTROL_TOKEN_REQUIRED");
    let a = s
        .send(Method::POST, "/__conformance/actors", &tok, |rb| {
            rb.json(&json!({"role": "agent"}))
        })
        .await;
    let v = a.expect(201, "").ok();
    assert!(v["access_token"].as_str().unwrap().starts_with("eyJ"));
    assert!(v["api_key"].as_str().unwrap().starts_with("age_"));
    let bad = s
        .send(Method::POST, "/__conformance/actors", &tok, |rb| {
            rb.json(&json!({"role": "wizard", "wallet_cents": -1}))
        })
        .await;
    bad.expect(400, "VALIDATION_FAILED");
    assert_eq!(bad.body["details"].as_array().unwrap().len(), 2);
    let clock = s
        .send(Method::POST, "/__conformance/clock", &tok, |rb| {
            rb.json(&json!({"advance_seconds": 60}))
        })
        .await;
    assert!(clock.ok()["now"].is_string());
    let reset = s
        .send(Method::POST, "/__conformance/reset", &tok, |rb| rb)
        .await;
    assert_eq!(reset.status, 204);
    let key = Auth::Key(v["api_key"].as_str().unwrap().into());
    s.get("/api/wallet", &key)
        .await
        .expect(401, "INVALID_API_KEY");
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn auth_matrix() {
    let s = start().await;
    let a = s.actor("agent", json!({})).await;
    let Auth::Key(key) = a.key.clone() else {
        unreachable!()
    };
    let Auth::Jwt(jwt) = a.jwt.clone() else {
        unreachable!()
    };
    s.get("/api/wallet", &a.key).await.ok();
    s.get("/api/wallet", &a.jwt).await.ok();
    let r = s.get("/api/wallet", &Auth::Jwt(key.clone())).await;
    r.expect(401, "API_KEY_IN_BEARER");
    assert!(r.body["error"].as_str().unwrap().contains("X-API-Key"));
    assert!(r.headers.contains_key("www-authenticate"));
    let both = Auth::Headers(vec![
        ("X-API-Key", key.clone()),
        ("Authorization", format!("Bearer {jwt}")),
    ]);
    s.get("/api/wallet", &both)
        .await
        .expect(400, "CONFLICTING_CREDENTIALS");
    let r = s.get("/api/wallet", &Auth::None).await;
    r.expect(401, "UNAUTHENTICATED");
    assert!(r.headers.contains_key("www-authenticate"));
    s.get("/api/wallet", &Auth::Jwt("eyJnot.a.jwt".into()))
        .await
        .expect(401, "INVALID_JWT");
    s.get("/api/wallet", &Auth::Key("age_nothex".into()))
        .await
        .expect(401, "INVALID_API_KEY");
    s.get("/api/wallet", &Auth::Key(format!("age_{}", "0".repeat(32))))
        .await
        .expect(401, "INVALID_API_KEY");
    s.get("/api/agent/events", &Auth::None)
        .await
        .expect(401, "UNAUTHENTICATED");

    // JWT-only endpoints refuse a key.
    s.post("/api/agent/api-key", &a.key, json!(null))
        .await
        .expect(401, "JWT_REQUIRED");
    s.post(
        "/api/agent/profile",
        &a.key,
        json!({"name": "x", "specializations": []}),
    )
    .await
    .expect(401, "JWT_REQUIRED");
    let fake_job = uuid::Uuid::new_v4();
    s.post(
        &format!("/api/jobs/{fake_job}/hold-payment"),
        &a.key,
        json!({"reason": "accidental approval"}),
    )
    .await
    .expect(401, "JWT_REQUIRED");
    let fresh = s.post("/api/agent/api-key", &a.jwt, json!(null)).await;
    let new_key = fresh.ok()["api_key"].as_str().unwrap().to_string();
    s.get("/api/wallet", &Auth::Key(new_key)).await.ok();
    s.get("/api/wallet", &a.key).await.ok();

    // The JWT expires on the server clock; keys do not.
    s.advance(3601).await;
    s.get("/api/wallet", &a.jwt)
        .await
        .expect(401, "JWT_EXPIRED");
    s.get("/api/wallet", &a.key).await.ok();
    let login = s
        .post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": a.email, "password": a.password}),
        )
        .await;
    let token = login.ok()["accessToken"].as_str().unwrap().to_string();
    assert!(token.starts_with("eyJ"));
    assert_eq!(login.body["user"]["id"], json!(a.id));
    s.get("/api/wallet", &Auth::Jwt(token)).await.ok();
    s.post(
        "/api/auth/login",
        &Auth::None,
        json!({"email": a.email, "password": "wrong-password"}),
    )
    .await
    .expect(401, "INVALID_CREDENTIALS");

    // Register gives a working JWT; a profile needs it.
    let reg = s
        .post(
            "/api/auth/register",
            &Auth::None,
            json!({"email": "new@agentgigs.test", "password": "longenough"}),
        )
        .await;
    let reg = reg.expect(201, "").ok().clone();
    let jwt = Auth::Jwt(reg["accessToken"].as_str().unwrap().into());
    s.post(
        "/api/agent/profile",
        &jwt,
        json!({"name": "Newbie", "specializations": ["Research"]}),
    )
    .await
    .expect(201, "");
    s.post(
        "/api/agent/profile",
        &jwt,
        json!({"name": "Newbie", "specializations": ["Research"]}),
    )
    .await
    .expect(409, "PROFILE_EXISTS");
    s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"email": "NEW@agentgigs.test", "password": "longenough"}),
    )
    .await
    .expect(409, "EMAIL_TAKEN");
}

#[tokio::test]
async fn standard_rate_limit_answers_429_with_retry_after() {
    let s = start().await;
    let a = s.actor("agent", json!({"tier": "free"})).await;
    for _ in 0..30 {
        s.get("/api/wallet", &a.key).await.ok();
    }
    let r = s.get("/api/wallet", &a.key).await;
    r.expect(429, "RATE_LIMITED");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    assert_eq!(r.body["retry_after"], json!(secs));
    s.advance(61).await;
    s.get("/api/wallet", &a.key).await.ok();
}

// ---------------------------------------------------------------- ids, routes, bodies

#[tokio::test]
async fn ref_codes_and_rebuilt_uuids_are_not_found() {
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let job = s.job(&p, 0).await;
    s.get(&format!("/api/jobs/{job}/nda"), &p.key).await.ok();
    let refc = job[..8].to_uppercase();
    s.get(&format!("/api/jobs/{refc}/nda"), &p.key)
        .await
        .expect(404, "NOT_FOUND");
    let rebuilt = format!("{}-0000-4000-8000-000000000000", &job[..8]);
    s.get(&format!("/api/jobs/{rebuilt}/nda"), &p.key)
        .await
        .expect(404, "NOT_FOUND");
    let simple = job.replace('-', "");
    s.get(&format!("/api/jobs/{simple}/nda"), &p.key)
        .await
        .expect(404, "NOT_FOUND");
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": refc}),
    )
    .await
    .expect(404, "NOT_FOUND");
}

#[tokio::test]
async fn routing_answers_json_404_and_405() {
    let s = start().await;
    let r = s.get("/api/poster/jobs", &Auth::None).await;
    r.expect(404, "ROUTE_NOT_FOUND");
    assert_eq!(r.body["docs"], "/docs/api");
    s.get("/nothing/here", &Auth::None)
        .await
        .expect(404, "ROUTE_NOT_FOUND");
    let r = s
        .send(Method::DELETE, "/api/wallet", &Auth::None, |rb| rb)
        .await;
    r.expect(405, "METHOD_NOT_ALLOWED");
    assert!(r.headers["allow"].to_str().unwrap().contains("GET"));
    let help = s.get("/api/help", &Auth::None).await;
    assert!(
        help.ok()["docs"]["human"]
            .as_str()
            .unwrap()
            .starts_with(&s.base)
    );
    assert!(help.body["core_endpoints"].as_array().unwrap().len() > 10);
    let cats = s.get("/api/categories", &Auth::None).await;
    assert_eq!(cats.ok()["categories"].as_array().unwrap().len(), 13);
}

#[tokio::test]
async fn request_bodies_are_checked_in_json() {
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let send = |ct: &'static str, bytes: Vec<u8>| {
        let key = p.key.clone();
        let s = &s;
        async move {
            s.send(Method::POST, "/api/agent/jobs", &key, |rb| {
                rb.header("content-type", ct).body(bytes)
            })
            .await
        }
    };
    let big = serde_json::to_vec(&json!({"title": "x".repeat(1024 * 1024 + 10)})).unwrap();
    send("application/json", big)
        .await
        .expect(413, "PAYLOAD_TOO_LARGE");
    send("application/json", br#"{"title": "#.to_vec())
        .await
        .expect(400, "INVALID_JSON");
    send("application/json", vec![b'"', 0xff, 0xfe, b'"'])
        .await
        .expect(400, "INVALID_JSON");
    send("text/plain", br#"{"title": "hello"}"#.to_vec())
        .await
        .expect(415, "UNSUPPORTED_MEDIA_TYPE");
    let typed = json!({"title": "Valid title", "description": "d".repeat(30), "category": "Research", "budget_min": "100", "budget_max": 99.5});
    let r = s.post("/api/agent/jobs", &p.key, typed).await;
    r.expect(400, "VALIDATION_FAILED");
    let fields: Vec<_> = r.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    assert!(
        fields.contains(&"budget_min".into()) && fields.contains(&"budget_max".into()),
        "{fields:?}"
    );
    let empty = s
        .send(Method::POST, "/api/agent/jobs", &p.key, |rb| rb)
        .await;
    empty.expect(400, "VALIDATION_FAILED");
    assert!(empty.body["details"].as_array().unwrap().len() >= 4);
}

// ---------------------------------------------------------------- a full flow

#[tokio::test]
async fn full_job_flow_with_proofing_and_release() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let a = s
        .actor(
            "agent",
            json!({"specializations": ["Research"], "tier": "pro"}),
        )
        .await;
    let pr1 = s
        .actor("proofer", json!({"specializations": ["Research"]}))
        .await;
    let pr2 = s
        .actor("proofer", json!({"specializations": ["Research"]}))
        .await;
    let job = s.job(&p, 2).await;

    let avail = s.get("/api/agent/jobs/available", &a.key).await;
    assert!(
        avail.ok()["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == json!(job))
    );
    let body = json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
    s.post(&format!("/api/jobs/{job}/apply"), &a.key, body)
        .await
        .expect(403, "ACKNOWLEDGMENT_REQUIRED");
    s.hire(&p, &a, &job, 5000).await;
    assert_eq!(s.balance(&p).await, 95_000);
    let details = s
        .get(&format!("/api/agent/jobs/{job}/details"), &a.key)
        .await;
    assert_eq!(details.ok()["job"]["status"], "in_progress");
    assert_eq!(s.deliver(&a, &job).await["job"]["status"], "pending_proof");

    let mut apps = Vec::new();
    for pr in [&pr1, &pr2] {
        apps.push(s.apply(pr, &job, 1000).await);
    }
    for app in &apps {
        s.post(
            &format!("/api/jobs/{job}/accept-proofer"),
            &p.key,
            json!({"applicationId": app}),
        )
        .await
        .ok();
    }
    let funded = s
        .post(
            &format!("/api/jobs/{job}/fund-proof-escrow"),
            &p.key,
            json!(null),
        )
        .await;
    assert_eq!(funded.ok()["totalProofFee"], 2000);
    assert_eq!(s.balance(&p).await, 93_000);

    let blind = s.get(&format!("/api/jobs/{job}/proofs"), &pr1.key).await;
    assert_eq!(blind.ok()["viewer_role"], "proofer_pending");
    assert_eq!(blind.body["blind_review_active"], true);
    assert_eq!(blind.body["proofs"], json!([]));
    s.get(
        &format!("/api/jobs/{job}/proofs"),
        &s.actor("agent", json!({})).await.key,
    )
    .await
    .expect(403, "NOT_PARTICIPANT");
    s.post(
        &format!("/api/jobs/{job}/proof"),
        &pr1.key,
        scorecard("approved"),
    )
    .await
    .ok();
    let last = s
        .post(
            &format!("/api/jobs/{job}/proof"),
            &pr2.key,
            scorecard("approved"),
        )
        .await;
    assert_eq!(last.ok()["consensus"], "approved");
    s.post(
        &format!("/api/jobs/{job}/proof"),
        &pr2.key,
        scorecard("approved"),
    )
    .await
    .expect(409, "VERDICT_ALREADY_SUBMITTED");

    let approved = s
        .post(&format!("/api/jobs/{job}/approve"), &p.key, json!(null))
        .await;
    assert_eq!(approved.ok()["cooldownHours"], 24);
    assert_eq!(s.balance(&a).await, 0, "no release before the cooldown");
    s.advance(24 * 3600 + 1).await;
    assert_eq!(s.balance(&a).await, 5000 - 350, "pro tier keeps 93%");
    assert_eq!(s.balance(&pr1).await, 900);
    assert_eq!(s.balance(&pr2).await, 900);
    s.server.state().check_invariants().unwrap();
    let review = s
        .post(
            &format!("/api/jobs/{job}/review"),
            &p.key,
            json!({"rating": 5, "comment": "Great"}),
        )
        .await;
    assert_eq!(review.ok()["review"]["rating"], 5);
    s.post(
        &format!("/api/jobs/{job}/review"),
        &p.key,
        json!({"rating": 5}),
    )
    .await
    .expect(409, "ALREADY_REVIEWED");
}

#[tokio::test]
async fn files_are_uploaded_listed_and_served_by_signed_urls() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Research"]}))
        .await;
    let job = s.job(&p, 0).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"brief text".to_vec()).file_name("brief.txt"),
    );
    let up = s
        .send(
            Method::POST,
            &format!("/api/jobs/{job}/attachments"),
            &p.key,
            |rb| rb.multipart(form),
        )
        .await;
    let path = up.expect(201, "").ok()["attachment"]["file_path"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(
        &format!("/api/jobs/{job}/attachments"),
        &p.key,
        json!({"file": "x"}),
    )
    .await
    .expect(415, "UNSUPPORTED_MEDIA_TYPE");
    s.get(&format!("/api/jobs/{job}/attachments"), &a.key)
        .await
        .expect(403, "ACKNOWLEDGMENT_REQUIRED");
    s.hire(&p, &a, &job, 5000).await;
    let list = s.get(&format!("/api/jobs/{job}/attachments"), &a.key).await;
    assert_eq!(list.ok()["attachments"][0]["file_path"], json!(path));
    let link = s
        .send(
            Method::GET,
            &format!("/api/jobs/{job}/download"),
            &a.key,
            |rb| rb.query(&[("file", &path)]),
        )
        .await;
    let url = link.ok()["signedUrl"].as_str().unwrap().to_string();
    assert!(url.starts_with(&s.base), "{url}");
    let bytes = s.http.get(&url).send().await.unwrap();
    assert_eq!(bytes.status(), 200);
    assert!(
        bytes.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("brief.txt")
    );
    assert_eq!(bytes.bytes().await.unwrap().as_ref(), b"brief text");
    s.get(&format!("/api/jobs/{job}/download"), &a.key)
        .await
        .expect(400, "VALIDATION_FAILED");

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"result".to_vec()).file_name("report.md"),
    );
    let up = s
        .send(
            Method::POST,
            &format!("/api/agent/jobs/{job}/upload-deliverable"),
            &a.key,
            |rb| rb.multipart(form),
        )
        .await;
    assert!(
        up.expect(201, "").ok()["file"]["download_url"]
            .as_str()
            .unwrap()
            .contains("/files/")
    );
    s.advance(3601).await;
    let gone = s.get(&url[s.base.len()..], &Auth::None).await;
    gone.expect(410, "LINK_EXPIRED");
    s.get("/files/unknown-token", &Auth::None)
        .await
        .expect(404, "NOT_FOUND");
}

// ---------------------------------------------------------------- races

async fn concurrently<F, Fut>(n: usize, f: F) -> Vec<Resp>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Resp> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_accepts_hire_once_and_racing_funds_debit_once() {
    let s = std::sync::Arc::new(start().await);
    let p = s.actor("poster", json!({"wallet_cents": 50_000})).await;
    let job = s.job(&p, 0).await;
    let mut apps = Vec::new();
    for _ in 0..20 {
        let a = s
            .actor("agent", json!({"specializations": ["Research"]}))
            .await;
        apps.push(s.apply(&a, &job, 5000).await);
    }
    let results = concurrently(20, |i| {
        let (s, key, job, app) = (s.clone(), p.key.clone(), job.clone(), apps[i].clone());
        async move {
            s.post(
                &format!("/api/agent/jobs/{job}/accept-application"),
                &key,
                json!({"applicationId": app}),
            )
            .await
        }
    })
    .await;
    let winners: Vec<_> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == 200)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one hire");
    assert!(
        results
            .iter()
            .all(|r| r.status == 200 || r.code() == "INVALID_STATE")
    );
    let winner = apps[winners[0]].clone();

    let results = concurrently(10, |_| {
        let (s, key, job, app) = (s.clone(), p.key.clone(), job.clone(), winner.clone());
        async move {
            s.post(
                &format!("/api/jobs/{job}/fund-escrow"),
                &key,
                json!({"applicationId": app, "useWallet": true}),
            )
            .await
        }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.status == 200).count(),
        1,
        "funded once"
    );
    assert!(
        results
            .iter()
            .all(|r| r.status == 200 || ["INVALID_STATE", "RATE_LIMITED"].contains(&r.code()))
    );
    assert_eq!(s.balance(&p).await, 45_000, "debited once");
    let details = s
        .get(&format!("/api/agent/jobs/{job}/details"), &p.key)
        .await;
    assert_eq!(details.ok()["job"]["status"], "in_progress");
    s.server.state().check_invariants().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_accept_proofer_never_overfills_slots() {
    let s = std::sync::Arc::new(start().await);
    let p = s.actor("poster", json!({"wallet_cents": 50_000})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Research"]}))
        .await;
    let job = s.job(&p, 2).await;
    s.hire(&p, &a, &job, 5000).await;
    s.deliver(&a, &job).await;
    let mut apps = Vec::new();
    for _ in 0..6 {
        let pr = s
            .actor("proofer", json!({"specializations": ["Research"]}))
            .await;
        apps.push(s.apply(&pr, &job, 500).await);
    }
    let results = concurrently(6, |i| {
        let (s, key, job, app) = (s.clone(), p.key.clone(), job.clone(), apps[i].clone());
        async move {
            s.post(
                &format!("/api/jobs/{job}/accept-proofer"),
                &key,
                json!({"applicationId": app}),
            )
            .await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 2);
    assert!(
        results
            .iter()
            .all(|r| r.status == 200 || r.code() == "SLOTS_FULL")
    );
    let funded = s
        .post(
            &format!("/api/jobs/{job}/fund-proof-escrow"),
            &p.key,
            json!({"useWallet": true}),
        )
        .await;
    assert_eq!(funded.ok()["totalProofFee"], 1000);
    assert_eq!(s.balance(&p).await, 50_000 - 5000 - 1000);
    s.server.state().check_invariants().unwrap();
}

// ---------------------------------------------------------------- events

async fn open_sse(
    s: &Srv,
    who: &Actor,
    query: &str,
) -> impl futures::Stream<Item = eventsource_stream::Event> + Unpin {
    let Auth::Key(key) = &who.key else {
        unreachable!()
    };
    let resp = s
        .http
        .get(format!("{}/api/agent/events{query}", s.base))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    Box::pin(
        resp.bytes_stream()
            .eventsource()
            .map(|e| e.expect("well-formed SSE")),
    )
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = eventsource_stream::Event> + Unpin),
) -> eventsource_stream::Event {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event in time")
        .expect("stream open")
}

#[tokio::test]
async fn sse_delivers_events_with_filters() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Research"]}))
        .await;
    let mut all = open_sse(&s, &a, "").await;
    let mut only_updates = open_sse(&s, &a, "?types=application.update").await;
    s.get("/api/agent/events?types=job.available,nope", &a.key)
        .await
        .expect(400, "VALIDATION_FAILED");

    let job = s.job(&p, 0).await;
    let ev = next_event(&mut all).await;
    assert_eq!((ev.event.as_str(), ev.id.as_str()), ("job.available", "1"));
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(data["job_id"], json!(job));
    assert_eq!(data["type"], "job.available");
    assert_eq!(data["budget_max"], 10000);

    let app = s.apply(&a, &job, 5000).await;
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": app}),
    )
    .await
    .ok();
    let ev = next_event(&mut only_updates).await;
    assert_eq!(
        (ev.event.as_str(), ev.id.as_str()),
        ("application.update", "1"),
        "job.available was filtered out"
    );
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(
        (data["status"].as_str(), data["application_id"].as_str()),
        (Some("accepted"), Some(app.as_str()))
    );
    let ev = next_event(&mut all).await;
    assert_eq!(
        (ev.event.as_str(), ev.id.as_str()),
        ("application.update", "2")
    );

    // Another user's stream sees nothing of it.
    let other = s.actor("agent", json!({})).await;
    let mut quiet = open_sse(&s, &other, "").await;
    s.post(
        &format!("/api/jobs/{job}/fund-escrow"),
        &p.key,
        json!({"applicationId": app, "useWallet": true}),
    )
    .await
    .ok();
    assert_eq!(next_event(&mut all).await.event, "application.update");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), quiet.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn sse_keepalive_and_reset_closes_streams() {
    let s = start_with(MockConfig {
        keepalive: Duration::from_millis(100),
        ..MockConfig::default()
    })
    .await;
    let a = s.actor("agent", json!({})).await;
    let Auth::Key(key) = &a.key else {
        unreachable!()
    };
    let resp = s
        .http
        .get(format!("{}/api/agent/events", s.base))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap();
    let mut bytes = resp.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !seen.contains(": keepalive\n") {
            seen.push_str(&String::from_utf8_lossy(
                &bytes.next().await.unwrap().unwrap(),
            ));
        }
    })
    .await
    .expect("a keepalive comment");
    s.post("/__conformance/reset", &Auth::None, json!(null))
        .await;
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = bytes.next().await {}
    })
    .await
    .expect("reset ends the stream");
}

#[tokio::test]
async fn websocket_upgrade_carries_the_same_events() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Research"]}))
        .await;
    let Auth::Key(key) = &a.key else {
        unreachable!()
    };
    let mut req = format!(
        "{}/api/agent/events?types=job.available",
        s.base.replace("http://", "ws://")
    )
    .into_client_request()
    .unwrap();
    req.headers_mut().insert("X-API-Key", key.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    let job = s.job(&p, 0).await;
    let msg = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await.unwrap().unwrap() {
                tokio_tungstenite::tungstenite::Message::Text(t) => break t.to_string(),
                _ => continue,
            }
        }
    })
    .await
    .unwrap();
    let frame: Value = serde_json::from_str(&msg).unwrap();
    assert_eq!(frame["event"], "job.available");
    assert_eq!(frame["data"]["job_id"], json!(job));
    let mut unauth = format!("{}/api/agent/events", s.base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    unauth.headers_mut().remove("X-API-Key");
    assert!(
        tokio_tungstenite::connect_async(unauth).await.is_err(),
        "no upgrade without credentials"
    );
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn faults_break_the_rules_on_purpose() {
    let s = start_with(faulty(&[
        "skip_nda",
        "bearer_accepts_api_key",
        "float_money",
        "refs_resolve",
        "list_all_categories",
        "double_hire",
        "no_retry_after",
        "html_404",
    ]))
    .await;
    let p = s.actor("poster", json!({"wallet_cents": 12_345})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Coding"]}))
        .await;
    let b = s.actor("agent", json!({"tier": "free"})).await;
    let Auth::Key(key) = p.key.clone() else {
        unreachable!()
    };
    assert_eq!(
        s.get("/api/wallet", &Auth::Jwt(key)).await.ok()["balance"],
        json!(123.45)
    );
    let job = s.job(&p, 0).await;
    s.get(&format!("/api/jobs/{}/nda", &job[..8]), &p.key)
        .await
        .ok();
    let avail = s.get("/api/agent/jobs/available", &a.key).await;
    assert_eq!(
        avail.ok()["count"],
        1,
        "a Research job shown to a Coding agent"
    );
    let body = json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
    let first = s
        .post(&format!("/api/jobs/{job}/apply"), &a.key, body.clone())
        .await
        .ok()["application"]["id"]
        .clone();
    let second = s
        .post(&format!("/api/jobs/{job}/apply"), &b.key, body)
        .await
        .ok()["application"]["id"]
        .clone();
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": first}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": second}),
    )
    .await
    .ok();
    for _ in 0..40 {
        let r = s.get("/api/wallet", &b.key).await;
        if r.status == 429 {
            assert!(!r.headers.contains_key("retry-after"));
            break;
        }
    }
    let html = s
        .http
        .get(format!("{}/api/nope", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 404);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let s = start_with(faulty(&["error_without_code", "events_to_everyone"])).await;
    let p = s.actor("poster", json!({})).await;
    let outsider = s.actor("agent", json!({})).await;
    let r = s.get("/api/wallet", &Auth::None).await;
    assert_eq!((r.status, r.body.get("code")), (401, None));
    let mut stream = open_sse(&s, &outsider, "").await;
    let agent = s
        .actor("agent", json!({"specializations": ["Research"]}))
        .await;
    let _ = agent;
    s.job(&p, 0).await;
    assert_eq!(
        next_event(&mut stream).await.event,
        "job.available",
        "leaked to a non-matching user"
    );
}

#[tokio::test]
async fn faults_leak_blind_review_and_release_early() {
    let s = start_with(faulty(&["no_blind_review", "early_release"])).await;
    let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Research"]}))
        .await;
    let pr1 = s
        .actor("proofer", json!({"specializations": ["Research"]}))
        .await;
    let pr2 = s
        .actor("proofer", json!({"specializations": ["Research"]}))
        .await;
    let job = s.job(&p, 2).await;
    s.hire(&p, &a, &job, 5000).await;
    s.deliver(&a, &job).await;
    for pr in [&pr1, &pr2] {
        let app = s.apply(pr, &job, 1000).await;
        s.post(
            &format!("/api/jobs/{job}/accept-proofer"),
            &p.key,
            json!({"applicationId": app}),
        )
        .await
        .ok();
    }
    s.post(
        &format!("/api/jobs/{job}/fund-proof-escrow"),
        &p.key,
        json!(null),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/proof"),
        &pr1.key,
        scorecard("rejected"),
    )
    .await
    .ok();
    let leaked = s.get(&format!("/api/jobs/{job}/proofs"), &pr2.key).await;
    assert_eq!(leaked.ok()["viewer_role"], "proofer_pending");
    assert_eq!(
        leaked.body["proofs"].as_array().unwrap().len(),
        1,
        "the other verdict is visible"
    );
    s.post(
        &format!("/api/jobs/{job}/approve"),
        &p.key,
        json!({"override_proof": true}),
    )
    .await
    .ok();
    assert_eq!(
        s.balance(&a).await,
        4750,
        "released at approve (enterprise keeps 95%)"
    );
}

/// Calls every remaining operation once on its happy path, so the spec check
/// in `Srv::send` sees each response shape.
#[tokio::test]
async fn every_operation_answers_in_the_spec_shape() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Research"]}))
        .await;
    let pr = s
        .actor("proofer", json!({"specializations": ["Research"]}))
        .await;
    s.send(Method::PATCH, "/api/agent/profile", &a.key, |rb| {
        rb.json(&json!({"bio": "I research things."}))
    })
    .await
    .ok();
    s.post(
        "/api/agent/proofs/register",
        &pr.key,
        json!({"categories": ["Research", "Coding"]}),
    )
    .await
    .ok();
    let job = s.job(&p, 1).await;
    s.get(&format!("/api/jobs/{job}/nda"), &a.key).await.ok();
    s.get(&format!("/api/jobs/{job}/proof-settings"), &p.key)
        .await
        .ok();
    s.send(
        Method::PATCH,
        &format!("/api/jobs/{job}/proof-settings"),
        &p.key,
        |rb| rb.json(&json!({"proof_required": true, "proofer_count": 1})),
    )
    .await
    .ok();
    let app = s.apply(&a, &job, 5000).await;
    s.get("/api/agent/applications?status=pending&limit=5", &a.key)
        .await
        .ok();
    s.get(&format!("/api/agent/jobs/{job}/applications"), &p.key)
        .await
        .ok();
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": app}),
    )
    .await
    .ok();
    let card = s
        .post(
            &format!("/api/jobs/{job}/fund-escrow"),
            &p.key,
            json!({"applicationId": app, "useWallet": false}),
        )
        .await;
    assert!(card.ok()["clientSecret"].is_string());
    s.post(
        &format!("/api/jobs/{job}/fund-escrow"),
        &p.key,
        json!({"applicationId": app, "useWallet": true}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/messages"),
        &p.key,
        json!({"message": "Welcome aboard."}),
    )
    .await
    .ok();
    s.get(&format!("/api/jobs/{job}/messages"), &a.key)
        .await
        .ok();
    s.deliver(&a, &job).await;
    s.get("/api/jobs/proof-needed", &pr.key).await.ok();
    let papp = s.apply(&pr, &job, 500).await;
    s.post(
        &format!("/api/jobs/{job}/accept-proofer"),
        &p.key,
        json!({"applicationId": papp}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/fund-proof-escrow"),
        &p.key,
        json!({"useWallet": true}),
    )
    .await
    .ok();
    s.get(&format!("/api/jobs/{job}/proofs"), &pr.key)
        .await
        .ok();
    s.get(&format!("/api/jobs/{job}/proofs"), &a.key).await.ok();
    let mut verdict = scorecard("needs_revision");
    verdict["revision_items"] = json!([{"category": "accuracy", "description": "Prices are out of date.", "priority": "high"}]);
    s.post(&format!("/api/jobs/{job}/proof"), &pr.key, verdict)
        .await
        .ok();
    for who in [&p, &a, &pr] {
        s.get(&format!("/api/jobs/{job}/proofs"), &who.key)
            .await
            .ok();
    }
    s.get(&format!("/api/agent/jobs/{job}/details"), &a.key)
        .await
        .ok();
    s.get("/api/agent/improvement-trends?period=90", &a.key)
        .await
        .ok();
    s.post(
        &format!("/api/jobs/{job}/request-revision"),
        &p.key,
        json!({"message": "Please update the prices."}),
    )
    .await
    .ok();
    s.deliver(&a, &job).await;
    s.post(
        &format!("/api/jobs/{job}/approve"),
        &p.key,
        json!({"override_proof": true}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/hold-payment"),
        &p.jwt,
        json!({"reason": "Approved by accident."}),
    )
    .await
    .ok();
    s.get("/api/agent/notifications?unread=true&limit=10", &a.key)
        .await
        .ok();
    s.get("/api/agent/jobs?status=completed", &p.key).await.ok();

    let other = s.job(&p, 0).await;
    s.post(&format!("/api/jobs/{other}/cancel"), &p.key, json!(null))
        .await
        .ok();
    let third = s.job(&p, 0).await;
    s.advance(61).await; // past the fund-escrow burst limit (3 per minute)
    s.hire(&p, &a, &third, 2000).await;
    let dispute = json!({"reason": "late", "description": "Nothing was delivered for a week."});
    s.post(&format!("/api/jobs/{third}/dispute"), &p.key, dispute)
        .await
        .ok();
    s.server.state().check_invariants().unwrap();
}
