//! Runner benchmarks: one scenario, step by step, against an in-process
//! reference server.
//!
//! - `bundled/…`: as `run` does it: a fresh server for the scenario, actors
//!   provisioned through the control API, then every step (request, spec
//!   check, `expect`, captures, redaction).
//! - `shared/…`: the same scenario against one long-lived server (rate
//!   limits lifted, no pacing), so the figure is the runner's cost per step
//!   plus the server's answer, without server start-up.
//!
//! Throughput is in steps: criterion's `elem/s` is steps per second, and
//! the time per step is its inverse. Compare with Hurl's time per request
//! on the same flows (`benches/compare.sh`).

#[path = "common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use agentgigs_conformance::mock::{MockConfig, MockServer};
use agentgigs_conformance::report::model::Outcome;
use agentgigs_conformance::runner::{RunOptions, ScenarioContext, run_scenario};
use agentgigs_conformance::target::{Profile, TargetSpec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Request-only scenarios (no event grace windows, no 55 MB bodies).
const SCENARIOS: &[&str] = &["lifecycle.poster-only-actions", "auth.unauthenticated-everywhere"];

fn scenarios(c: &mut Criterion) {
    let spec = common::spec();
    let rt = common::runtime();
    let mut g = c.benchmark_group("runner_scenario");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_millis(500));

    let bundled = rt
        .block_on(ScenarioContext::new(
            spec.clone(),
            &TargetSpec::Bundled,
            RunOptions::default(),
        ))
        .expect("a bundled context");
    let server = rt
        .block_on(MockServer::start(MockConfig {
            rate_limits: false,
            ..MockConfig::default()
        }))
        .expect("the shared server starts");
    let mut profile = Profile::from_url(&server.url()).expect("a profile");
    profile.pace = false;
    let shared = rt
        .block_on(ScenarioContext::new(
            spec.clone(),
            &TargetSpec::Remote(profile),
            RunOptions::default(),
        ))
        .expect("a remote context");

    for id in SCENARIOS {
        let planned = common::planned(1, Some(id))
            .into_iter()
            .find(|p| p.scenario.id == *id)
            .expect("the scenario exists");
        let steps = planned.steps.len() as u64;
        for (name, ctx) in [("bundled", &bundled), ("shared", &shared)] {
            let first = rt.block_on(run_scenario(&planned, ctx));
            assert!(
                matches!(first.outcome, Outcome::Passed),
                "{id} on {name} passes: {:?}",
                first.outcome
            );
            g.throughput(Throughput::Elements(steps));
            g.bench_function(format!("{name}/{id}"), |b| {
                b.iter(|| black_box(rt.block_on(run_scenario(&planned, ctx))))
            });
        }
    }
    g.finish();
    rt.block_on(server.shutdown());
}

criterion_group!(benches, scenarios);
criterion_main!(benches);
