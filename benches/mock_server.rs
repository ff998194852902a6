//! The reference server under load.
//!
//! Two modes:
//! - `--serve [--port P] [--no-rate-limits] [--seconds N] [--threads T]`: serves the
//!   reference server in release (like `agentgigs-conformance mock
//!   --no-rate-limits`, with a choice of runtime: `--threads 1` serves on a
//!   current-thread runtime, the CLI uses one worker per core) and prints
//!   `listening on URL`, for `wrk` experiments. It stops after `--seconds`
//!   (default 300) or on Ctrl-C.
//! - otherwise (`cargo bench`): a short in-process load of `GET
//!   /api/wallet` with `X-API-Key` from a reqwest client (so lower than
//!   `wrk`'s figure, the client shares the 2 cores), for the 200 path
//!   (limits lifted) and the 429 path (limits on, the key over its limit).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use agentgigs_conformance::mock::{MockConfig, MockServer};

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[allow(clippy::print_stdout)]
fn serve(args: &[String]) {
    let port: u16 = arg_value(args, "--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    let seconds: u64 = arg_value(args, "--seconds").and_then(|p| p.parse().ok()).unwrap_or(300);
    let rate_limits = !args.iter().any(|a| a == "--no-rate-limits");
    let threads: usize = arg_value(args, "--threads").and_then(|p| p.parse().ok()).unwrap_or(0);
    let rt = match threads {
        0 => common::runtime(),
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime"),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()
            .expect("a runtime"),
    };
    rt.block_on(async {
        let server = MockServer::start(MockConfig {
            port,
            rate_limits,
            ..MockConfig::default()
        })
        .await
        .expect("the server starts");
        println!(
            "listening on {} (rate limits {})",
            server.url(),
            if rate_limits { "on" } else { "lifted" }
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
        }
        server.shutdown().await;
    });
}

/// `(requests/s, p50, p99, statuses)` of `duration` of load with `conns` clients.
async fn load(
    url: String,
    key: String,
    conns: usize,
    duration: Duration,
) -> (f64, Duration, Duration, Vec<(u16, usize)>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .build()
        .expect("client");
    let end = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (client, url, key) = (client.clone(), url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
            while Instant::now() < end {
                let t = Instant::now();
                let resp = client
                    .get(&url)
                    .header("X-API-Key", &key)
                    .send()
                    .await
                    .expect("request");
                let status = resp.status().as_u16();
                let _ = resp.bytes().await;
                lat.push(t.elapsed());
                *statuses.entry(status).or_default() += 1;
            }
            (lat, statuses)
        }));
    }
    let t0 = Instant::now();
    let mut all = Vec::new();
    let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
    for t in tasks {
        let (lat, st) = t.await.expect("task");
        all.extend(lat);
        for (k, v) in st {
            *statuses.entry(k).or_default() += v;
        }
    }
    let elapsed = t0.elapsed().max(duration);
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    (
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        statuses.into_iter().collect(),
    )
}

#[allow(clippy::print_stdout)]
fn bench(filters: &[String]) {
    let rt = common::runtime();
    for (name, limits) in [
        ("mock_server/wallet_200_limits_lifted", false),
        ("mock_server/wallet_429_limits_on", true),
    ] {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let (rps, p50, p99, statuses) = rt.block_on(async {
            let live = common::Live::start(limits).await;
            let url = format!("{}/api/wallet", live.server.url());
            let out = load(url, live.poster_key.clone(), 32, Duration::from_secs(3)).await;
            live.server.shutdown().await;
            out
        });
        println!(
            "{name:<40} {rps:>9.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms  statuses {statuses:?} (in-process reqwest client, 32 connections)",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--serve") {
        serve(&args);
    } else {
        let filters: Vec<String> = args.iter().filter(|a| !a.starts_with("--")).cloned().collect();
        bench(&filters);
    }
}
