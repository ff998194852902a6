//! The reference server driven over real HTTP: lifecycle of the handle, the
//! auth matrix, ids and routing, body limits, a full job flow, races with
//! concurrent requests, events (SSE and WebSocket), the control API and the
//! deliberate faults and choice switches. No test sleeps to synchronise;
//! time moves through the control clock. Every answer of a server without
//! faults or choices is checked against the spec.
//!
//! This file holds the harness (a server, actors, requests checked against
//! the spec); the tests live in the modules below, one per concern. Two of
//! them bring their own: `mock_under_attack` (parallel load, malformed
//! requests, the control API without its token) and `properties`
//! (proptest through HTTP). Run one with
//! `cargo test --test server -- <module>::`.

mod auth;
mod choices;
mod events;
mod faults;
mod flows;
mod handle;
mod mock_under_attack;
mod properties;
mod races;
mod requests;
mod rules;
mod shapes;
mod webhooks;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use agentgigs_conformance::mock::{MockConfig, MockError, MockServer};
use agentgigs_conformance::spec::{CheckSet, Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, ResponseView, Spec};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

// ---------------------------------------------------------------- harness

fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The API spec's reference layer (the documented contract with our
/// server's choices applied: what the server serves) and the control spec,
/// loaded once.
static SPECS: std::sync::LazyLock<[Spec; 2]> = std::sync::LazyLock::new(|| {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let documented =
        Spec::load(&root.join(DOCUMENTED_SPEC)).unwrap_or_else(|e| panic!("the documented spec loads: {e}"));
    let overlay = std::fs::read_to_string(root.join(REFERENCE_OVERLAY)).expect("the reference overlay");
    let reference = Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY)
        .unwrap_or_else(|e| panic!("the overlay applies: {e}"));
    let control = root.join("specs/control.openapi.yaml");
    [
        reference,
        Spec::load(&control).unwrap_or_else(|e| panic!("the control spec loads: {e}")),
    ]
});

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
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
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
    let findings = spec.check_response(op, &view, CheckSet::default());
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
        assert_eq!((self.status, self.code()), (status, code), "body: {}", self.body);
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
    /// Off for servers with faults (they break the spec on purpose) or
    /// choices (they depart from the reference server's own decisions).
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
    let validate = cfg.faults.is_empty() && cfg.choices.is_empty();
    let server = MockServer::start(cfg).await.expect("server starts");
    let base = server.url();
    Srv {
        server,
        http: reqwest::Client::new(),
        base,
        validate,
    }
}

/// The default settings with the given choice switches on.
fn choosing(choices: &[&str]) -> MockConfig {
    MockConfig::default().with_choices(choices.iter().copied())
}

fn faulty(faults: &[&str]) -> MockConfig {
    MockConfig {
        faults: faults.iter().map(|f| f.to_string()).collect::<BTreeSet<_>>(),
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
        let mut rb = self.http.request(method.clone(), format!("{}{}", self.base, path));
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
            let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert!(ct.starts_with("application/json"), "error without JSON: {status} {ct}");
        }
        if self.validate {
            check_against_spec(&method, path, status, &headers, &bytes);
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, body }
    }

    async fn get(&self, path: &str, auth: &Auth) -> Resp {
        self.send(Method::GET, path, auth, |rb| rb).await
    }

    async fn post(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send(Method::POST, path, auth, |rb| rb.json(&body)).await
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
        self.post("/__conformance/clock", &Auth::None, json!({"advance_seconds": secs}))
            .await
            .ok();
    }

    async fn balance(&self, a: &Actor) -> i64 {
        self.get("/api/wallet", &a.key).await.ok()["balance"].as_i64().unwrap()
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
        // 201, or 200 under the `created_200` choice.
        assert!(matches!(r.status, 200 | 201), "{}: {}", r.status, r.body);
        r.ok()["job"]["id"].as_str().unwrap().to_string()
    }

    /// NDA then apply; returns the application id.
    async fn apply(&self, who: &Actor, job: &str, price: i64) -> String {
        self.post(&format!("/api/jobs/{job}/nda"), &who.key, json!(null))
            .await
            .ok();
        let body =
            json!({"message": "I can do this well and fast.", "proposed_price": price, "estimated_delivery": "1 day"});
        let r = self.post(&format!("/api/jobs/{job}/apply"), &who.key, body).await;
        let v = r.ok();
        // `{application}`, or `{applicationId}` under the `alternatives` choice.
        v["application"]["id"]
            .as_str()
            .or(v["applicationId"].as_str())
            .unwrap()
            .to_string()
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

    /// Uploads `bytes` as the `file` part of a multipart body.
    async fn upload(&self, path: &str, who: &Actor, name: &str, bytes: Vec<u8>) -> Resp {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        self.send(Method::POST, path, &who.key, |rb| rb.multipart(form)).await
    }

    async fn deliver(&self, agent: &Actor, job: &str) -> Value {
        let body =
            json!({"deliverableUrl": "https://example.com/report.pdf", "message": "Here is the report you asked for."});
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

async fn open_sse(s: &Srv, who: &Actor, query: &str) -> impl futures::Stream<Item = eventsource_stream::Event> + Unpin {
    let Auth::Key(key) = &who.key else { unreachable!() };
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
    Box::pin(resp.bytes_stream().eventsource().map(|e| e.expect("well-formed SSE")))
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = eventsource_stream::Event> + Unpin),
) -> eventsource_stream::Event {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event in time")
        .expect("stream open")
}
