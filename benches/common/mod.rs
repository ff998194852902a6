//! Shared set-up of the benchmarks: paths of the crate, the spec, the
//! scenario library planned once or several times, a runtime, and a live
//! reference server with an actor (for realistic response bodies).
//!
//! It measures nothing itself and prints nothing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentgigs_conformance::mock::{MockConfig, MockServer};
use agentgigs_conformance::runner::{PlannedScenario, RunOptions, RunPlan};
use agentgigs_conformance::scenario::load_library;
use agentgigs_conformance::spec::Spec;
use agentgigs_conformance::target::TargetSpec;
use serde_json::{Value, json};

/// The crate's root directory (this package is its `benches/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `specs/agentgigs.openapi.yaml`.
pub fn spec_path() -> PathBuf {
    root().join("specs/agentgigs.openapi.yaml")
}

/// Our spec, loaded and compiled.
pub fn spec() -> Arc<Spec> {
    Arc::new(Spec::load(&spec_path()).expect("the spec loads"))
}

/// Every scenario of the library, expanded, `copies` times over (copies
/// after the first get `~N` appended to their id, so reports stay
/// distinguishable). `filter` keeps the scenarios whose id contains it.
pub fn planned(copies: usize, filter: Option<&str>) -> Vec<PlannedScenario> {
    let lib = load_library(&root().join("scenarios")).expect("the library loads");
    let mut once = Vec::new();
    for s in &lib.scenarios {
        if filter.is_some_and(|f| !s.id.contains(f)) {
            continue;
        }
        let steps = lib.expand(s).expect("the scenario expands");
        once.push(PlannedScenario::new(s.clone(), steps));
    }
    let mut out = Vec::with_capacity(once.len() * copies);
    for k in 0..copies {
        for p in &once {
            let mut p = p.clone();
            if k > 0 {
                p.scenario.id = format!("{}~{}", p.scenario.id, k + 1);
            }
            out.push(p);
        }
    }
    out
}

/// A run plan against the bundled server, as `agentgigs-conformance run`
/// builds it (jobs = four per core, the CLI's default for the bundled server).
pub fn plan(spec: Arc<Spec>, scenarios: Vec<PlannedScenario>) -> RunPlan {
    let jobs = 4 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    RunPlan {
        contract: spec.into(),
        scenarios,
        target: TargetSpec::Bundled,
        options: RunOptions {
            jobs,
            ..RunOptions::default()
        },
    }
}

/// A multi-threaded runtime like the CLI's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("a tokio runtime")
}

/// A running reference server with a funded poster, an agent and one job
/// posted; gives the bodies of typical responses.
pub struct Live {
    pub server: MockServer,
    pub http: reqwest::Client,
    pub poster_key: String,
    pub agent_key: String,
}

impl Live {
    /// Starts a server (rate limits as given) and provisions the actors.
    pub async fn start(rate_limits: bool) -> Live {
        agentgigs_conformance::target::install_crypto_provider();
        let server = MockServer::start(MockConfig {
            rate_limits,
            ..MockConfig::default()
        })
        .await
        .expect("mock starts");
        let http = reqwest::Client::new();
        let base = server.url();
        let actor = |body: Value| {
            let http = http.clone();
            let url = format!("{base}/__conformance/actors");
            async move {
                let v: Value = http
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .expect("actor")
                    .json()
                    .await
                    .expect("actor json");
                v["api_key"].as_str().expect("api_key").to_string()
            }
        };
        let poster_key = actor(json!({"role": "poster", "wallet_cents": 1_000_000, "tier": "enterprise"})).await;
        let agent_key = actor(json!({"role": "agent", "specializations": ["Research"], "tier": "enterprise"})).await;
        Live {
            server,
            http,
            poster_key,
            agent_key,
        }
    }

    /// `(status, headers, body bytes)` of a request with this key.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let url = format!("{}{path}", self.server.url());
        let mut rb = self
            .http
            .request(method.parse().expect("method"), url)
            .header("X-API-Key", key);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        (status, headers, resp.bytes().await.expect("body").to_vec())
    }
}

/// A spec of about `target_bytes`, made from ours by copying every path
/// (`/copyN/...`) and every schema (`NameCopyN`, references rewritten)
/// until the JSON text is that large. Returned as YAML-flow text (a comment
/// line, then JSON) so that the YAML parser with its location map is what
/// reads it, like our real spec.
pub fn generated_spec(target_bytes: usize) -> String {
    let base = Spec::load(&spec_path()).expect("the spec loads").document().clone();
    let one = serde_json::to_string_pretty(&base).expect("json").len();
    let copies = (target_bytes / one).max(1);
    let mut doc = base.clone();
    for n in 1..copies {
        let suffix = format!("Copy{n}");
        if let Some(paths) = base.get("paths").and_then(Value::as_object) {
            for (p, item) in paths {
                let mut item = item.clone();
                rename_refs(&mut item, &suffix);
                rename_operation_ids(&mut item, &suffix);
                doc["paths"][format!("/copy{n}{p}")] = item;
            }
        }
        for section in ["schemas", "responses", "parameters", "requestBodies", "headers"] {
            if let Some(items) = base
                .pointer(&format!("/components/{section}"))
                .and_then(Value::as_object)
            {
                for (name, v) in items {
                    let mut v = v.clone();
                    rename_refs(&mut v, &suffix);
                    doc["components"][section][format!("{name}{suffix}")] = v;
                }
            }
        }
    }
    format!(
        "# generated by benches/common: {copies} copies of our paths and components\n{}",
        serde_json::to_string_pretty(&doc).expect("json")
    )
}

fn rename_refs(v: &mut Value, suffix: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "$ref"
                    && let Value::String(r) = child
                    && r.starts_with("#/components/")
                    && !r.starts_with("#/components/securitySchemes/")
                {
                    // `#/components/SECTION/NAME[/rest]`: the suffix goes after NAME.
                    let parts: Vec<&str> = r.splitn(5, '/').collect();
                    let renamed = match parts.as_slice() {
                        [h, c, section, name] => format!("{h}/{c}/{section}/{name}{suffix}"),
                        [h, c, section, name, rest] => format!("{h}/{c}/{section}/{name}{suffix}/{rest}"),
                        _ => r.clone(),
                    };
                    *r = renamed;
                } else {
                    rename_refs(child, suffix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| rename_refs(c, suffix)),
        _ => {}
    }
}

fn rename_operation_ids(item: &mut Value, suffix: &str) {
    if let Some(map) = item.as_object_mut() {
        for op in map.values_mut() {
            if let Some(Value::String(id)) = op.get_mut("operationId") {
                id.push_str(suffix);
            }
        }
    }
}

/// Path of a file under the crate.
pub fn at(rel: &str) -> PathBuf {
    root().join(Path::new(rel))
}
