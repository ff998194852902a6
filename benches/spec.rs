//! Spec benchmarks: loading and compiling our spec (file read, YAML with
//! locations, `$ref` checks, conversion, one validator per response
//! schema), the same for a generated ~5 MB spec, finding an operation, and
//! checking typical responses (status, content type, schema, headers).
//!
//! Targets (see `benches/README.md`): our spec under 50 ms, a 5 MB one
//! under 2 s. Sample sizes are small so that `cargo bench` stays short.

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use agentgigs_conformance::spec::{CheckSet, ResponseView, Spec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("spec_load");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    let path = common::spec_path();
    let ours = std::fs::read_to_string(&path).expect("spec text");
    g.throughput(Throughput::Bytes(ours.len() as u64));
    g.bench_function("ours_file", |b| b.iter(|| black_box(Spec::load(&path).expect("loads"))));

    let big = common::generated_spec(5 * 1024 * 1024);
    let check = Spec::from_text(&big, "generated.yaml").expect("the generated spec loads");
    assert!(check.operations().len() > 100, "the generated spec has its copies");
    drop(check);
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("generated_5mb_yaml", |b| {
        b.iter(|| black_box(Spec::from_text(&big, "generated.yaml").expect("loads")))
    });
    // The same document as JSON (the JSON reader, no location map).
    let as_json = big
        .split_once('\n')
        .map(|(_, j)| j.to_string())
        .expect("json after the comment");
    g.bench_function("generated_5mb_json", |b| {
        b.iter(|| black_box(Spec::from_text(&as_json, "generated.json").expect("loads")))
    });
    g.finish();
}

/// Typical bodies, taken from a live reference server.
struct Samples {
    wallet: (u16, Vec<(String, String)>, Vec<u8>),
    job: (u16, Vec<(String, String)>, Vec<u8>),
    available: (u16, Vec<(String, String)>, Vec<u8>),
    error: (u16, Vec<(String, String)>, Vec<u8>),
    job_path: String,
}

fn samples() -> Samples {
    let rt = common::runtime();
    rt.block_on(async {
        let live = common::Live::start(true).await;
        let wallet = live.call("GET", "/api/wallet", &live.poster_key, None).await;
        let created = live
            .call(
                "POST",
                "/api/agent/jobs",
                &live.poster_key,
                Some(json!({
                    "title": "Summarise ten papers on agent evaluation",
                    "description": "Read ten recent papers on evaluating AI agents and write a two-page summary with citations.",
                    "category": "Research",
                    "budget_min": 5000,
                    "budget_max": 7500
                })),
            )
            .await;
        let v: Value = serde_json::from_slice(&created.2).unwrap_or(Value::Null);
        let id = v.pointer("/job/id").or_else(|| v.pointer("/id")).and_then(Value::as_str).unwrap_or("00000000-0000-0000-0000-000000000000").to_string();
        let job_path = format!("/api/agent/jobs/{id}/details");
        let job = live.call("GET", &job_path, &live.poster_key, None).await;
        let available = live.call("GET", "/api/agent/jobs/available", &live.agent_key, None).await;
        let error = live.call("GET", "/api/wallet", "age_00000000000000000000000000000000", None).await;
        live.server.shutdown().await;
        Samples { wallet, job, available, error, job_path }
    })
}

fn check(c: &mut Criterion) {
    let spec = common::spec();
    let s = samples();
    let mut g = c.benchmark_group("spec_check");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    g.bench_function("find_operation", |b| {
        b.iter(|| black_box(spec.find_operation("GET", black_box(&s.job_path)).is_some()))
    });
    let cases = [
        ("GET", "/api/wallet", &s.wallet),
        ("GET", s.job_path.as_str(), &s.job),
        ("GET", "/api/agent/jobs/available", &s.available),
        ("GET", "/api/wallet", &s.error),
    ];
    for (method, path, (status, headers, body)) in cases {
        let op = spec
            .find_operation(method, path)
            .unwrap_or_else(|| panic!("`{method} {path}` is in the spec"));
        let name = format!("{}_{status}", op.label().replace([' ', '/', '{', '}'], "_"));
        let content_type = headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.as_str());
        g.throughput(Throughput::Bytes(body.len() as u64));
        // Parse + check: what the runner does with each response.
        g.bench_function(format!("parse_and_check/{name}"), |b| {
            b.iter(|| {
                let json: Option<Value> = serde_json::from_slice(body).ok();
                let view = ResponseView {
                    status: *status,
                    headers,
                    content_type,
                    json: json.as_ref(),
                    raw: body,
                };
                black_box(spec.check_response(op, &view, CheckSet::default()))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, load, check);
criterion_main!(benches);
