//! The reference server under attack: parallel load from many clients (no
//! lost update, no double hire, no double funding, no over-filled slots,
//! money conserved, checked through the API and the server's own
//! invariants), every kind of malformed request answered with a JSON 4xx
//! (never a 5xx, never a hang), and a control API that no call without the
//! token can use. Read-only use of `mock`: only its public handle.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentgigs_conformance::mock::{MockConfig, MockError, MockServer};
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, Spec};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest any one answer may take.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The reference layer: the documented contract with our reference server's
/// choices (`specs/reference.overlay.yaml`) applied, which is what the
/// reference server serves.
fn reference_spec(root: &Path) -> Spec {
    let documented = Spec::load(&root.join(DOCUMENTED_SPEC)).expect("the documented spec loads");
    let overlay = std::fs::read_to_string(root.join(REFERENCE_OVERLAY)).expect("the reference overlay");
    Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY).expect("the overlay applies")
}

// ------------------------------------------------------------------ raw HTTP

/// An answer read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A 4xx with a JSON body that has a string `code` (and `error`).
    #[track_caller]
    fn assert_json_4xx(&self, what: &str) {
        assert!(
            (400..500).contains(&self.status),
            "{what}: status {} ({})",
            self.status,
            self.text()
        );
        self.assert_json(what);
    }

    #[track_caller]
    fn assert_json(&self, what: &str) {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "{what}: content type `{ct}` ({})",
            self.status
        );
        let body = self
            .json()
            .unwrap_or_else(|| panic!("{what}: the body is not JSON: {}", self.text()));
        if self.status >= 400 {
            assert!(
                body["code"].is_string() && body["error"].is_string(),
                "{what}: no `code`/`error`: {body}"
            );
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).chars().take(300).collect()
    }
}

/// Sends raw bytes as one HTTP/1.1 request (`connection: close`) and reads
/// the answer; panics when no complete answer comes within [`ANSWER_LIMIT`].
async fn raw_request(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> Answer {
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut bytes = head.as_bytes().to_vec();
        bytes.extend_from_slice(body);
        let (mut rd, mut wr) = stream.split();
        // Write and read at once: a server may answer before the body is all sent.
        let write = async {
            let _ = wr.write_all(&bytes).await;
            let _ = wr.flush().await;
        };
        let read = async {
            let mut out = Vec::new();
            let _ = rd.read_to_end(&mut out).await;
            out
        };
        let ((), out) = tokio::join!(write, read);
        out
    };
    let out = tokio::time::timeout(ANSWER_LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("no answer to {head:?}"));
    parse_answer(&out).unwrap_or_else(|| {
        panic!(
            "no HTTP answer to {:?}: {:?}",
            head.lines().next(),
            String::from_utf8_lossy(&out)
        )
    })
}

fn parse_answer(out: &[u8]) -> Option<Answer> {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&out[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = out[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Some(Answer { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let Some(size) = size else { break };
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

fn head(method: &str, target: &str, headers: &[(&str, &str)], body_len: Option<usize>) -> String {
    let mut h = format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = body_len {
        h.push_str(&format!("content-length: {n}\r\n"));
    }
    h.push_str("\r\n");
    h
}

// ------------------------------------------------------------------ API client

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    /// Every status seen, for the "never a 5xx" check.
    statuses: Arc<Mutex<HashMap<u16, usize>>>,
}

#[derive(Debug, Clone)]
struct Actor {
    key: String,
    jwt: String,
    wallet: i64,
}

impl Api {
    fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(ANSWER_LIMIT)
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        Api {
            http,
            base: base.to_string(),
            statuses: Arc::default(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut rb = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(k) = key {
            rb = rb.header("X-API-Key", k);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: body: {e}"));
        *self.statuses.lock().entry(status).or_default() += 1;
        assert!(
            status < 500,
            "{method} {path}: a 5xx: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        assert!(
            ct.starts_with("application/json"),
            "{method} {path}: {status} with content type `{ct}`"
        );
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(key), None).await
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(key), Some(body)).await
    }

    async fn actor(&self, role: &str, wallet: i64) -> Actor {
        let body = json!({"role": role, "tier": "enterprise", "wallet_cents": wallet, "specializations": ["Research"]});
        let (status, v) = self
            .call(reqwest::Method::POST, "/__conformance/actors", None, Some(body))
            .await;
        assert_eq!(status, 201, "{v}");
        assert!(v["user_id"].is_string(), "{v}");
        Actor {
            key: v["api_key"].as_str().unwrap().to_string(),
            jwt: v["access_token"].as_str().unwrap().to_string(),
            wallet,
        }
    }

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
        let (status, v) = self.post("/api/agent/jobs", &poster.key, body).await;
        assert_eq!(status, 201, "{v}");
        v["job"]["id"].as_str().unwrap().to_string()
    }

    async fn balance(&self, a: &Actor) -> i64 {
        let (status, v) = self.get("/api/wallet", &a.key).await;
        assert_eq!(status, 200, "{v}");
        v["balance"].as_i64().unwrap()
    }

    async fn advance(&self, secs: i64) {
        let body = json!({"advance_seconds": secs});
        let (status, v) = self
            .call(reqwest::Method::POST, "/__conformance/clock", None, Some(body))
            .await;
        assert_eq!(status, 200, "{v}");
    }
}

/// Runs `f(i)` for `i` in `0..n` on separate tasks, all at once.
async fn all_at_once<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let b = barrier.clone();
            let fut = f(i);
            tokio::spawn(async move {
                b.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("the task did not panic"));
    }
    out
}

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or_default()
}

// ------------------------------------------------------------------ load

const AGENTS: usize = 64;
/// Twelve jobs (it was 24, at twice the time): each race below is per job
/// and as wide as before (64 agents at once, 8 hires, 4 fundings at once).
const JOBS: usize = 12;
const PROOF_JOBS: usize = 4;
const PROOFERS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_load_loses_no_update_and_never_double_spends() {
    init();
    let started = Instant::now();
    let server = MockServer::start(MockConfig::default())
        .await
        .expect("the server starts");
    let api = Api::new(&server.url());

    // Posters, one per job (funding limits are per poster), and 64 agents.
    let mut posters = Vec::new();
    for _ in 0..JOBS {
        posters.push(api.actor("poster", 1_000_000).await);
    }
    let mut jobs = Vec::new();
    for (i, p) in posters.iter().enumerate() {
        jobs.push(api.job(p, if i < PROOF_JOBS { 2 } else { 0 }).await);
    }
    let agents: Vec<Actor> = all_at_once(AGENTS, |_| {
        let api = api.clone();
        async move { api.actor("agent", 0).await }
    })
    .await;

    // Phase 1: every agent, at once, acknowledges and applies to every job
    // (and tries again), reading its wallet, the job, its applications and
    // the job board in between: about 60 requests each, 64 at a time.
    let jobs = Arc::new(jobs);
    let applied: Vec<Vec<(usize, String)>> = all_at_once(AGENTS, |i| {
        let (api, jobs, agent) = (api.clone(), jobs.clone(), agents[i].clone());
        async move {
            let mut mine = Vec::new();
            for (j, job) in jobs.iter().enumerate() {
                let (s, v) = api.post(&format!("/api/jobs/{job}/nda"), &agent.key, json!(null)).await;
                assert_eq!(s, 200, "{v}");
                let price = 1000 + ((i * 37 + j * 11) % 90) as i64 * 100;
                let body = json!({"message": "I can do this well and fast.", "proposed_price": price, "estimated_delivery": "1 day"});
                let (s, v) = api.post(&format!("/api/jobs/{job}/apply"), &agent.key, body.clone()).await;
                assert_eq!(s, 200, "{v}");
                mine.push((j, v["application"]["id"].as_str().unwrap().to_string()));
                // A second application to the same job is refused, never counted twice.
                let (s, v) = api.post(&format!("/api/jobs/{job}/apply"), &agent.key, body).await;
                assert_eq!((s, code(&v)), (409, "ALREADY_APPLIED"), "{v}");
                let (s, _) = api.get("/api/wallet", &agent.key).await;
                assert_eq!(s, 200);
                if j % 3 == 0 {
                    let (s, v) = api.get(&format!("/api/agent/jobs/{job}/details"), &agent.key).await;
                    assert_eq!(s, 200, "{v}");
                }
                if j % 4 == 0 {
                    let (s, _) = api.get("/api/agent/applications", &agent.key).await;
                    assert_eq!(s, 200);
                    let (s, _) = api.get("/api/agent/jobs/available", &agent.key).await;
                    assert_eq!(s, 200);
                }
            }
            mine
        }
    })
    .await;
    let mut per_job: Vec<Vec<String>> = vec![Vec::new(); JOBS];
    for list in &applied {
        for (j, app) in list {
            per_job[*j].push(app.clone());
        }
    }

    // No lost update: each job lists exactly the applications that were answered 200.
    for (j, job) in jobs.iter().enumerate() {
        let (s, v) = api
            .get(&format!("/api/agent/jobs/{job}/applications"), &posters[j].key)
            .await;
        assert_eq!(s, 200, "{v}");
        let listed: std::collections::BTreeSet<String> = v["applications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        let answered: std::collections::BTreeSet<String> = per_job[j].iter().cloned().collect();
        assert_eq!(listed, answered, "job {j}: lost or invented applications");
        assert_eq!(v["count"], AGENTS);
    }

    // Phase 2: on every job at once, its poster accepts 8 applications at once: one hire each.
    let per_job = Arc::new(per_job);
    let posters = Arc::new(posters);
    let hires: Vec<(String, i64)> = all_at_once(JOBS, |j| {
        let (api, jobs, per_job, posters) = (api.clone(), jobs.clone(), per_job.clone(), posters.clone());
        async move {
            let job = jobs[j].clone();
            let results = all_at_once(8, |k| {
                let (api, key, job, app) = (api.clone(), posters[j].key.clone(), job.clone(), per_job[j][k].clone());
                async move {
                    let r = api
                        .post(
                            &format!("/api/agent/jobs/{job}/accept-application"),
                            &key,
                            json!({"applicationId": app}),
                        )
                        .await;
                    (app, r)
                }
            })
            .await;
            let winners: Vec<&(String, (u16, Value))> = results.iter().filter(|(_, (s, _))| *s == 200).collect();
            assert_eq!(winners.len(), 1, "job {j}: exactly one hire: {results:?}");
            for (_, (s, v)) in &results {
                assert!(
                    *s == 200 || ["INVALID_STATE", "APPLICATION_NOT_PENDING", "RATE_LIMITED"].contains(&code(v)),
                    "{v}"
                );
            }
            let winner = winners[0].0.clone();
            let price = winners[0].1.1["application"]["proposed_price"]
                .as_i64()
                .expect("the hired price");
            (winner, price)
        }
    })
    .await;

    // Phase 3: every poster funds its job 4 times at once: one debit each.
    let hires = Arc::new(hires);
    let funded: Vec<usize> = all_at_once(JOBS, |j| {
        let (api, jobs, posters, hires) = (api.clone(), jobs.clone(), posters.clone(), hires.clone());
        async move {
            let results = all_at_once(4, |_| {
                let (api, key, job, app) = (api.clone(), posters[j].key.clone(), jobs[j].clone(), hires[j].0.clone());
                async move {
                    api.post(
                        &format!("/api/jobs/{job}/fund-escrow"),
                        &key,
                        json!({"applicationId": app, "useWallet": true}),
                    )
                    .await
                }
            })
            .await;
            for (s, v) in &results {
                assert!(*s == 200 || ["INVALID_STATE", "RATE_LIMITED"].contains(&code(v)), "{v}");
            }
            results
                .iter()
                .filter(|(s, v)| *s == 200 && v["totalCharge"] == hires[j].1)
                .count()
        }
    })
    .await;
    assert!(
        funded.iter().all(|n| *n == 1),
        "each job funded exactly once: {funded:?}"
    );
    for (j, p) in posters.iter().enumerate() {
        assert_eq!(
            api.balance(p).await,
            p.wallet - hires[j].1,
            "poster {j} debited exactly once"
        );
        let (s, v) = api
            .get(&format!("/api/agent/jobs/{}/applications", jobs[j]), &p.key)
            .await;
        assert_eq!(s, 200);
        let hired: Vec<&Value> = v["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| ["accepted", "funded"].contains(&a["status"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(hired.len(), 1, "job {j}: one hired application: {hired:?}");
    }

    // Phase 4: proof jobs: deliver, 10 proofers apply, and the poster accepts all 10 at once: 2 slots each.
    // A minute passes first (server time), so the funding burst limit is free again.
    api.advance(61).await;
    let proofers: Vec<Actor> = all_at_once(PROOFERS, |_| {
        let api = api.clone();
        async move { api.actor("proofer", 0).await }
    })
    .await;
    for j in 0..PROOF_JOBS {
        let hired = applied
            .iter()
            .position(|list| list.iter().any(|(jj, app)| *jj == j && *app == hires[j].0));
        let agent = &agents[hired.expect("the hired agent")];
        let body =
            json!({"deliverableUrl": "https://example.com/report.pdf", "message": "Here is the report you asked for."});
        let (s, v) = api
            .post(&format!("/api/jobs/{}/deliver", jobs[j]), &agent.key, body)
            .await;
        assert_eq!(s, 200, "{v}");
        let mut apps = Vec::new();
        for pr in &proofers {
            let (s, v) = api
                .post(&format!("/api/jobs/{}/nda", jobs[j]), &pr.key, json!(null))
                .await;
            assert_eq!(s, 200, "{v}");
            let body =
                json!({"message": "I will check it carefully.", "proposed_price": 500, "estimated_delivery": "1 day"});
            let (s, v) = api.post(&format!("/api/jobs/{}/apply", jobs[j]), &pr.key, body).await;
            assert_eq!(s, 200, "{v}");
            apps.push(v["application"]["id"].as_str().unwrap().to_string());
        }
        let results = all_at_once(PROOFERS, |k| {
            let (api, key, job, app) = (api.clone(), posters[j].key.clone(), jobs[j].clone(), apps[k].clone());
            async move {
                api.post(
                    &format!("/api/jobs/{job}/accept-proofer"),
                    &key,
                    json!({"applicationId": app}),
                )
                .await
            }
        })
        .await;
        assert_eq!(
            results.iter().filter(|(s, _)| *s == 200).count(),
            2,
            "job {j}: two slots: {results:?}"
        );
        for (s, v) in &results {
            assert!(*s == 200 || ["SLOTS_FULL", "RATE_LIMITED"].contains(&code(v)), "{v}");
            if *s == 200 {
                assert!(
                    v["slots_filled"].as_i64().unwrap() <= v["slots_total"].as_i64().unwrap(),
                    "{v}"
                );
            }
        }
        let results = all_at_once(3, |_| {
            let (api, key, job) = (api.clone(), posters[j].key.clone(), jobs[j].clone());
            async move {
                api.post(&format!("/api/jobs/{job}/fund-proof-escrow"), &key, json!({}))
                    .await
            }
        })
        .await;
        assert_eq!(
            results.iter().filter(|(s, _)| *s == 200).count(),
            1,
            "proof escrow funded once: {results:?}"
        );
        assert_eq!(api.balance(&posters[j]).await, posters[j].wallet - hires[j].1 - 1000);
    }

    // Money conserved, through the API: what left the wallets sits in escrow.
    let mut wallets = 0i64;
    let mut initial = 0i64;
    for a in posters.iter().chain(agents.iter()).chain(proofers.iter()) {
        wallets += api.balance(a).await;
        initial += a.wallet;
    }
    let escrowed: i64 = hires.iter().map(|(_, p)| *p).sum::<i64>() + PROOF_JOBS as i64 * 1000;
    assert_eq!(wallets + escrowed, initial, "money is conserved");
    server
        .state()
        .check_invariants()
        .expect("the server's own invariants hold");
    assert_eq!(server.state().inspect(|m| m.total_money()), initial);

    let statuses = api.statuses.lock().clone();
    let total: usize = statuses.values().sum();
    assert!(total > AGENTS * JOBS * 4, "a real load: {total} requests");
    assert!(statuses.keys().all(|s| *s < 500), "{statuses:?}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "bounded: {:?}",
        started.elapsed()
    );
    server.shutdown().await;
}

// ------------------------------------------------------------------ malformed

/// Every operation with a body, its path filled with a real job id.
fn body_operations(spec: &Spec, job: &str) -> Vec<(String, String)> {
    spec.operations()
        .iter()
        .filter(|o| o.request_body.is_some())
        .map(|o| {
            (
                o.method.clone(),
                o.path.replace("{id}", job).replace("{token}", "no-such-token"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_body_gets_a_json_4xx() {
    init();
    let server = MockServer::start(MockConfig::default())
        .await
        .expect("the server starts");
    let api = Api::new(&server.url());
    let addr = server.local_addr();
    let poster = api.actor("poster", 10_000).await;
    let job = api.job(&poster, 0).await;
    let spec = reference_spec(Path::new(env!("CARGO_MANIFEST_DIR")));
    let ops = body_operations(&spec, &job);
    assert!(ops.len() >= 15, "{ops:?}");

    let deep: String = "[".repeat(100_000) + &"]".repeat(100_000);
    let huge = format!("{{\"title\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let bodies: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("bad JSON", Some("application/json"), b"{\"title\": ".to_vec()),
        ("invalid UTF-8", Some("application/json"), b"{\"title\": \"\xff\xfe\xfd\"}".to_vec()),
        ("an array", Some("application/json"), b"[1, 2, 3]".to_vec()),
        ("wrong types", Some("application/json"), br#"{"title": 5, "email": [], "password": {}, "proposed_price": "lots", "applicationId": 7, "useWallet": "yes", "message": false, "rating": "five", "verdict": 1, "reason": 3, "content": null, "name": 9, "specializations": "Research", "categories": 5, "deliverableUrl": 1, "proofer_count": "two", "proof_required": "maybe", "override_proof": "no"}"#.to_vec()),
        ("unknown fields only", Some("application/json"), br#"{"zzz_unknown": 1, "__proto__": {"admin": true}}"#.to_vec()),
        ("nesting 100000 deep", Some("application/json"), deep.into_bytes()),
        ("2 MB", Some("application/json"), huge.into_bytes()),
        ("no content type", None, br#"{"title": "hello"}"#.to_vec()),
        ("text/plain", Some("text/plain"), br#"{"title": "hello"}"#.to_vec()),
        ("a NUL byte", Some("application/json"), b"{\"title\": \"a\x00b\"}\x00".to_vec()),
    ];
    let auth = format!("Bearer {}", poster.jwt);
    for (method, path) in &ops {
        for (what, ct, body) in &bodies {
            let mut headers = vec![("authorization", auth.as_str())];
            if let Some(ct) = ct {
                headers.push(("content-type", ct));
            }
            let a = raw_request(addr, &head(method, path, &headers, Some(body.len())), body).await;
            // An operation whose body is all optional may accept an unknown field and
            // then refuse on the job's state; the answer is a JSON 4xx all the same.
            a.assert_json_4xx(&format!("{method} {path} with {what}"));
        }
    }
    server.state().check_invariants().unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_query_strings_odd_methods_and_odd_paths_never_get_a_5xx_or_hang() {
    init();
    let server = MockServer::start(MockConfig::default())
        .await
        .expect("the server starts");
    let api = Api::new(&server.url());
    let addr = server.local_addr();
    let agent = api.actor("agent", 0).await;
    let key = agent.key.as_str();
    let long_number = "9".repeat(10_000);
    let many_keys = (0..1500).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join("&");
    let lists = [
        "/api/agent/jobs/available",
        "/api/agent/applications",
        "/api/agent/jobs",
        "/api/agent/notifications",
    ];
    // Values the server validates: always a 400.
    let malformed = [
        format!("limit={long_number}"),
        "limit=%zz%ff%fe".to_string(),
        "limit=%".to_string(),
        "limit=-1".to_string(),
        "limit=1e400".to_string(),
        "limit=%00".to_string(),
    ];
    // Odd but not necessarily wrong: any JSON answer below 500.
    let odd = [
        "limit=1&limit=2&limit=3".to_string(),
        many_keys.clone(),
        "%%%%&&&&====".to_string(),
        "=".repeat(10_000),
        "a[b][c][d]=1&a[]=2".to_string(),
        "limit=5#fragment".to_string(),
    ];
    for path in lists {
        for q in &malformed {
            let a = raw_request(
                addr,
                &head("GET", &format!("{path}?{q}"), &[("x-api-key", key)], None),
                b"",
            )
            .await;
            a.assert_json_4xx(&format!("GET {path}?{}", &q[..q.len().min(40)]));
        }
        for q in &odd {
            let a = raw_request(
                addr,
                &head("GET", &format!("{path}?{q}"), &[("x-api-key", key)], None),
                b"",
            )
            .await;
            assert!(a.status < 500, "GET {path}?{}: {}", &q[..q.len().min(40)], a.status);
            a.assert_json(&format!("GET {path}?{}", &q[..q.len().min(40)]));
        }
    }
    // The event stream refuses a malformed filter at once instead of streaming.
    for q in [
        "types=%zz",
        "types=nonsense",
        "types=".to_string().as_str(),
        &format!("types={}", "x".repeat(10_000)),
    ] {
        let a = raw_request(
            addr,
            &head("GET", &format!("/api/agent/events?{q}"), &[("x-api-key", key)], None),
            b"",
        )
        .await;
        a.assert_json_4xx(&format!("GET /api/agent/events?{}", &q[..q.len().min(40)]));
    }
    // Methods a route does not have: 405 (known path) as JSON.
    let routes = [
        "/api/wallet",
        "/api/categories",
        "/api/agent/jobs",
        "/api/auth/login",
        "/api/help",
    ];
    for path in routes {
        for method in ["PUT", "DELETE", "TRACE", "PROPFIND", "FOO", "M-SEARCH"] {
            let a = raw_request(addr, &head(method, path, &[("x-api-key", key)], Some(0)), b"").await;
            a.assert_json_4xx(&format!("{method} {path}"));
        }
    }
    // Odd paths: unknown routes, traversal, encoded garbage, a 4 kB segment.
    let long_segment = format!("/api/jobs/{}/nda", "a".repeat(4096));
    for path in [
        "/api/nope",
        "/api/../../etc/passwd",
        "/api/jobs/%zz/nda",
        "/api/jobs/%00/nda",
        "/api/jobs/..%2F..%2F/nda",
        long_segment.as_str(),
        "/api//jobs///nda",
    ] {
        for method in ["GET", "POST"] {
            let a = raw_request(
                addr,
                &head(
                    method,
                    path,
                    &[("x-api-key", key), ("content-type", "application/json")],
                    Some(2),
                ),
                b"{}",
            )
            .await;
            a.assert_json_4xx(&format!("{method} {path}"));
        }
    }
    // The server is still fine.
    let (s, _) = api.get("/api/wallet", key).await;
    assert_eq!(s, 200);
    server.shutdown().await;
}

// ------------------------------------------------------------------ control API

#[tokio::test]
async fn with_a_token_no_control_call_succeeds_without_it() {
    init();
    let token = "the-control-token-0123456789";
    let server = MockServer::start(MockConfig {
        control_token: Some(token.into()),
        ..MockConfig::default()
    })
    .await
    .expect("the server starts");
    let addr = server.local_addr();
    let calls: [(&str, &str, &[u8]); 4] = [
        ("GET", "/__conformance", b""),
        ("POST", "/__conformance/actors", br#"{"role": "agent"}"#),
        ("POST", "/__conformance/clock", br#"{"advance_seconds": 3600}"#),
        ("POST", "/__conformance/reset", b""),
    ];
    let upper = token.to_ascii_uppercase();
    let padded = format!(" {token}x");
    let prefix = &token[..token.len() - 1];
    let wrong: [Option<(&str, &str)>; 6] = [
        None,
        Some(("x-conformance-token", "")),
        Some(("x-conformance-token", "wrong")),
        Some(("x-conformance-token", upper.as_str())),
        Some(("x-conformance-token", padded.as_str())),
        Some(("x-conformance-token", prefix)),
    ];
    for (method, path, body) in calls {
        for w in &wrong {
            let mut headers = vec![("content-type", "application/json")];
            headers.extend(w.iter().copied());
            let a = raw_request(addr, &head(method, path, &headers, Some(body.len())), body).await;
            a.assert_json_4xx(&format!("{method} {path} with {w:?}"));
            assert!(
                [401, 403].contains(&a.status),
                "{method} {path} with {w:?}: {}",
                a.status
            );
        }
        // The token in the wrong place does not count either.
        let a = raw_request(
            addr,
            &head(
                method,
                &format!("{path}?token={token}"),
                &[("authorization", &format!("Bearer {token}"))],
                Some(body.len()),
            ),
            body,
        )
        .await;
        assert!(
            [401, 403].contains(&a.status),
            "{method} {path} with the token elsewhere: {}",
            a.status
        );
    }
    // Nothing happened: no actor was created, the clock did not move.
    assert_eq!(server.state().inspect(|m| m.total_deposits()), 0);
    // With the token, every call works.
    for (method, path, body) in calls {
        let headers = [("content-type", "application/json"), ("x-conformance-token", token)];
        let a = raw_request(addr, &head(method, path, &headers, Some(body.len())), body).await;
        assert!(
            (200..300).contains(&a.status),
            "{method} {path}: {} {}",
            a.status,
            a.text()
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_non_loopback_bind_needs_a_token() {
    init();
    for host in [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
    ] {
        for token in [None, Some(String::new())] {
            let config = MockConfig {
                host,
                control_token: token.clone(),
                ..MockConfig::default()
            };
            match MockServer::start(config).await {
                Err(MockError::TokenRequired { host: h }) => assert_eq!(h, host),
                Err(other) => panic!("{host} with {token:?}: the wrong refusal: {other}"),
                Ok(s) => {
                    s.shutdown().await;
                    panic!("{host} with {token:?}: bound without a control token");
                }
            }
        }
    }
    // With a token it binds (0.0.0.0 on a free port), and loopback never needs one.
    let s = MockServer::start(MockConfig {
        host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        control_token: Some("t0ken-xyz".into()),
        ..MockConfig::default()
    })
    .await
    .expect("binds with a token");
    s.shutdown().await;
    let s = MockServer::start(MockConfig::default())
        .await
        .expect("loopback without a token");
    s.shutdown().await;
}
