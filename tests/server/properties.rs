//! Properties of the reference server, checked through HTTP with proptest:
//! cents round-trip exactly and non-integer amounts are refused; an
//! 8-character REF prefix of a job id is a 404 on every job path family;
//! a Bearer value that is not a valid JWT and an unknown `X-API-Key` are
//! both 401.
//!
//! 32 cases per property; `PROPTEST_CASES` raises it.

use std::time::Duration;

use std::collections::BTreeSet;

use agentgigs_conformance::mock::{MockConfig, MockServer};
use agentgigs_conformance::scenario::{ActorSpec, Role, Tier};
use agentgigs_conformance::target::{ClientOptions, ControlClient, build_client};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A reference server with a poster, an agent and a few jobs, driven from
/// a synchronous proptest closure through its own runtime.
struct Env {
    rt: tokio::runtime::Runtime,
    server: Option<MockServer>,
    http: reqwest::Client,
    control: ControlClient,
    base: String,
    poster_key: String,
    agent_key: String,
    jobs: Vec<String>,
}

impl Env {
    fn new() -> Env {
        Env::with_faults(&[])
    }

    /// A reference server with deliberate rule-breaks (to prove a property bites).
    fn with_faults(faults: &[&str]) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let faults: BTreeSet<String> = faults.iter().map(|f| f.to_string()).collect();
        let server = rt
            .block_on(MockServer::start(MockConfig {
                faults,
                ..MockConfig::default()
            }))
            .expect("mock starts");
        let base = server.url();
        let http = build_client(&ClientOptions::default()).unwrap();
        let control = ControlClient::new(http.clone(), url::Url::parse(&base).unwrap(), None);
        let actor = |role: Role, wallet: i64| {
            let spec = ActorSpec {
                role,
                specializations: Some(vec!["Research".into()]),
                wallet_cents: Some(wallet),
                email_verified: Some(true),
                stripe_connected: Some(true),
                tier: Some(Tier::Enterprise),
                fresh: None,
            };
            rt.block_on(control.create_actor(&spec, "property"))
                .expect("actor")
                .api_key
                .expect("api key")
        };
        let poster_key = actor(Role::Poster, 100_000_000);
        let agent_key = actor(Role::Agent, 0);
        let mut env = Env {
            rt,
            server: Some(server),
            http,
            control,
            base,
            poster_key,
            agent_key,
            jobs: Vec::new(),
        };
        for _ in 0..4 {
            let (status, body) = env.create_job(json!(1000), json!(5000));
            assert_eq!(status, 201, "{body}");
            env.jobs.push(body["job"]["id"].as_str().unwrap().to_string());
        }
        env
    }

    /// Sends a request; a 429 is waited out by moving the server clock.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> (u16, Value) {
        self.rt.block_on(async {
            for _ in 0..3 {
                let mut req = self
                    .http
                    .request(
                        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                        format!("{}{path}", self.base),
                    )
                    .timeout(Duration::from_secs(10));
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                if let Some(b) = body {
                    req = req.json(b);
                }
                let resp = req.send().await.expect("answer");
                let status = resp.status().as_u16();
                let retry = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<i64>().ok());
                let value: Value = resp.json().await.unwrap_or(Value::Null);
                if status == 429 {
                    self.control
                        .advance_clock(retry.unwrap_or(60) + 1)
                        .await
                        .expect("clock");
                    continue;
                }
                return (status, value);
            }
            panic!("still rate limited after moving the clock");
        })
    }

    fn create_job(&self, budget_min: Value, budget_max: Value) -> (u16, Value) {
        let body = json!({
            "title": "Property job",
            "description": "A job created to check a property of the API.",
            "category": "Research",
            "budget_min": budget_min,
            "budget_max": budget_max
        });
        self.send(
            "POST",
            "/api/agent/jobs",
            &[("X-API-Key", &self.poster_key)],
            Some(&body),
        )
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) -> Result<(), String>
where
    S::Value: std::fmt::Debug,
{
    run_with(config(), strategy, test)
}

/// A fixed seed, for the checks that a property catches a known fault.
fn fixed() -> Config {
    Config {
        rng_seed: proptest::test_runner::RngSeed::Fixed(7),
        ..config()
    }
}

fn run_with<S: Strategy>(
    config: Config,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> Result<(), String>
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(config);
    runner.run(&strategy, test).map_err(|e| e.to_string())
}

#[test]
fn integer_cents_round_trip_exactly() {
    let env = Env::new();
    let budgets = (100i64..=10_000_000).prop_flat_map(|max| (100i64..=max, Just(max)));
    run(budgets, |(min, max)| {
        let (status, body) = env.create_job(json!(min), json!(max));
        prop_assert_eq!(status, 201, "{}", body);
        prop_assert_eq!(body["job"]["budget_min"].as_i64(), Some(min), "{}", body);
        prop_assert_eq!(body["job"]["budget_max"].as_i64(), Some(max), "{}", body);
        prop_assert!(
            body["job"]["budget_max"].is_i64(),
            "budget_max is not a JSON integer: {}",
            body
        );
        Ok(())
    })
    .unwrap();
}

/// A non-integer amount: a float with a fraction, an integer as a string,
/// or a decimal as a string.
fn non_integer_amount() -> impl Strategy<Value = Value> {
    let whole = 100i64..10_000_000;
    prop_oneof![
        (whole.clone(), 1u32..100).prop_map(|(i, c)| json!(i as f64 + f64::from(c) / 100.0)),
        whole.clone().prop_map(|i| json!(i.to_string())),
        (whole, 0u32..100).prop_map(|(i, c)| json!(format!("{i}.{c:02}"))),
    ]
}

#[test]
fn non_integer_cents_are_refused() {
    let env = Env::new();
    run((non_integer_amount(), any::<bool>()), |(amount, in_max)| {
        let (status, body) = if in_max {
            env.create_job(json!(100), amount.clone())
        } else {
            env.create_job(amount.clone(), json!(10_000_000))
        };
        prop_assert_eq!(status, 400, "{} accepted: {}", amount, body);
        prop_assert_eq!(body["code"].as_str(), Some("VALIDATION_FAILED"), "{}", body);
        Ok(())
    })
    .unwrap();
}

/// The job path families a REF prefix is tried on: (method, path template).
const FAMILIES: &[(&str, &str)] = &[
    ("GET", "/api/jobs/{}/nda"),
    ("POST", "/api/jobs/{}/nda"),
    ("GET", "/api/agent/jobs/{}/details"),
    ("POST", "/api/jobs/{}/apply"),
    ("GET", "/api/jobs/{}/proofs"),
    ("GET", "/api/jobs/{}/messages"),
    ("GET", "/api/jobs/{}/proof-settings"),
    ("GET", "/api/jobs/{}/attachments"),
];

fn check_ref_prefixes(env: &Env, config: Config) -> Result<(), String> {
    let random_id = any::<u128>().prop_map(|n| {
        uuid::Builder::from_random_bytes(n.to_le_bytes())
            .into_uuid()
            .to_string()
    });
    let ids = prop_oneof![3 => select(env.jobs.clone()), 1 => random_id];
    let strategy = (ids, select(FAMILIES.to_vec()), any::<bool>(), any::<bool>());
    run_with(config, strategy, |(id, (method, template), upper, as_poster)| {
        let prefix = if upper {
            id[..8].to_ascii_uppercase()
        } else {
            id[..8].to_ascii_lowercase()
        };
        let path = template.replace("{}", &prefix);
        let key = if as_poster { &env.poster_key } else { &env.agent_key };
        let body =
            json!({"message": "I would like to do this job.", "proposed_price": 2000, "estimated_delivery": "2 days"});
        let send_body = (template.ends_with("/apply")).then_some(&body);
        let (status, answer) = env.send(method, &path, &[("X-API-Key", key)], send_body);
        prop_assert_eq!(status, 404, "{} {} answered {}", method, path, answer);
        Ok(())
    })
}

#[test]
fn ref_prefixes_are_not_ids() {
    check_ref_prefixes(&Env::new(), config()).unwrap();
}

#[test]
fn ref_prefix_property_catches_resolving_refs() {
    let err = check_ref_prefixes(&Env::with_faults(&["refs_resolve"]), fixed()).expect_err("the fault must be caught");
    assert!(err.contains("answered"), "{err}");
}

/// Bearer values that are not valid JWTs of this server (`api_key` is a
/// real API key: an API key in the Bearer header is refused too).
fn bad_bearer(api_key: String) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(api_key),
        "[!-~]{1,120}",
        "eyJ[A-Za-z0-9_-]{10,40}\\.[A-Za-z0-9_-]{10,60}\\.[A-Za-z0-9_-]{0,43}",
        "age_[0-9a-f]{32}",
        // Well-formed HS256 JWTs with believable claims, signed with another secret.
        ("[a-zA-Z0-9]{8,32}", any::<u128>()).prop_map(|(secret, n)| {
            let now = chrono::Utc::now().timestamp();
            let claims = json!({
                "sub": uuid::Uuid::from_u128(n).to_string(), "email": "someone@example.com",
                "role": "authenticated", "aud": "authenticated", "iat": now, "exp": now + 3600
            });
            jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap()
        }),
    ]
}

fn check_bearer(env: &Env, config: Config) -> Result<(), String> {
    run_with(config, bad_bearer(env.agent_key.clone()), |token| {
        let header = format!("Bearer {token}");
        let (status, body) = env.send("GET", "/api/wallet", &[("Authorization", &header)], None);
        prop_assert_eq!(status, 401, "Bearer {} answered {}", token, body);
        Ok(())
    })
}

#[test]
fn bearer_values_that_are_not_valid_jwts_are_401() {
    check_bearer(&Env::new(), config()).unwrap();
}

#[test]
fn bearer_property_catches_api_keys_in_bearer() {
    let err =
        check_bearer(&Env::with_faults(&["bearer_accepts_api_key"]), fixed()).expect_err("the fault must be caught");
    assert!(err.contains("answered"), "{err}");
}

#[test]
fn unknown_api_keys_are_401() {
    let env = Env::new();
    let real = env.agent_key.clone();
    let near_miss = {
        let real = real.clone();
        (4usize..36, "[0-9a-f]").prop_filter_map("same key", move |(i, c)| {
            let mut k = real.clone();
            k.replace_range(i..i + 1, &c);
            (k != real).then_some(k)
        })
    };
    let keys = prop_oneof![
        "[!-~]{1,100}",
        "age_[0-9a-f]{32}",
        "AGE_[0-9A-F]{32}",
        Just(real.to_ascii_uppercase()),
        near_miss,
    ];
    run(keys, |key| {
        prop_assume!(key != real);
        let (status, body) = env.send("GET", "/api/wallet", &[("X-API-Key", &key)], None);
        prop_assert_eq!(status, 401, "X-API-Key answered {}", body);
        Ok(())
    })
    .unwrap();
}
