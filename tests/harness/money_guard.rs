//! Real money: a target is a sandbox when it is the bundled server, on
//! loopback, or its profile says `sandbox: true` (decided once, by the
//! profile). Off a sandbox, money-moving scenarios are skipped unless
//! `allow_real_money`; even then `max_spend_cents` (0 by default off
//! sandboxes) bounds the total the run may commit: before each money step
//! the most it can commit is read from the target and must fit, what is
//! in flight is held (parallel steps cannot overshoot together), and an
//! unknown outcome stays counted. `RunReport.money` says what moved, per
//! actor; the numbers are checked against a bundled flow of known prices.
//!
//! Non-sandbox targets are simulated by loopback test servers whose
//! profile says `sandbox: false` (a loopback URL alone would be a sandbox).

use crate::common;
use crate::raw;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentgigs_conformance::report::model::{MoneyMoved, Outcome};
use agentgigs_conformance::runner::RunOptions;
use agentgigs_conformance::target::{Profile, TargetSpec, is_loopback};
use common::*;
use raw::{Request, respond_json};
use serde_json::json;
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(30);

const JOB_A: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
const APP_A: &str = "0a0a0a0a-0000-4000-8000-0000000000a1";
const JOB_B: &str = "0b0b0b0b-0000-4000-8000-00000000000b";
const APP_B: &str = "0b0b0b0b-0000-4000-8000-0000000000b1";
/// A job whose applications list the server will not give.
const JOB_X: &str = "0c0c0c0c-0000-4000-8000-00000000000c";
/// A job whose funding never answers.
const JOB_SLOW: &str = "0d0d0d0d-0000-4000-8000-00000000000d";
const APP_SLOW: &str = "0d0d0d0d-0000-4000-8000-0000000000d1";

fn price_of(job: &str) -> Option<(&'static str, i64)> {
    match job {
        JOB_A => Some((APP_A, 7500)),
        JOB_B => Some((APP_B, 5000)),
        JOB_SLOW => Some((APP_SLOW, 2000)),
        _ => None,
    }
}

fn application(id: &str, job: &str, kind: &str, price: i64, status: &str) -> serde_json::Value {
    json!({
        "id": id, "job_id": job, "agent_id": uuid::Uuid::new_v4().to_string(), "application_type": kind,
        "proposed_price": price, "message": "m", "estimated_delivery": "1 day", "status": status,
        "created_at": "2030-01-01T00:00:00.000Z",
        "agents": {"id": uuid::Uuid::new_v4().to_string(), "name": "a", "rating": null, "total_reviews": 0, "completed_jobs": 0, "tier": "free"}
    })
}

/// A payments back end: applications with known prices, fund-escrow and
/// fund-proof-escrow that answer what they debit (after `delay`), and a
/// count of money requests that reached it.
async fn bank(delay: Duration) -> (raw::Server, Arc<AtomicUsize>) {
    let funded = Arc::new(AtomicUsize::new(0));
    let f = funded.clone();
    let server = raw::start(move |req: Request, stream: TcpStream| {
        let f = f.clone();
        async move { bank_answer(req, stream, f, delay).await }
    })
    .await;
    (server, funded)
}

async fn bank_answer(req: Request, mut stream: TcpStream, funded: Arc<AtomicUsize>, delay: Duration) {
    let segs: Vec<&str> = req.path.split('/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["", "api", "agent", "jobs", job, "applications"]) => {
            let Some((app, price)) = price_of(job) else {
                return respond_json(&mut stream, 404, &json!({"error": "no such job", "code": "NOT_FOUND"})).await;
            };
            let apps = vec![
                application(app, job, "agent", price, "accepted"),
                application(&uuid::Uuid::new_v4().to_string(), job, "agent", 99_999, "pending"),
                application(&uuid::Uuid::new_v4().to_string(), job, "proof", 300, "accepted"),
                application(&uuid::Uuid::new_v4().to_string(), job, "proof", 200, "accepted"),
                application(&uuid::Uuid::new_v4().to_string(), job, "proof", 900, "rejected"),
            ];
            let count = apps.len();
            respond_json(
                &mut stream,
                200,
                &json!({"jobId": job, "jobTitle": "t", "applications": apps, "count": count}),
            )
            .await;
        }
        ("POST", ["", "api", "jobs", job, "fund-escrow"]) => {
            funded.fetch_add(1, Ordering::SeqCst);
            if *job == JOB_SLOW {
                return raw::hold(stream).await;
            }
            tokio::time::sleep(delay).await;
            let price = price_of(job).map_or(1000, |(_, p)| p);
            let body =
                json!({"success": true, "paymentIntentId": "pi_test", "fundedFrom": "wallet", "totalCharge": price});
            respond_json(&mut stream, 200, &body).await;
        }
        ("POST", ["", "api", "jobs", _, "fund-proof-escrow"]) => {
            funded.fetch_add(1, Ordering::SeqCst);
            respond_json(
                &mut stream,
                200,
                &json!({"success": true, "totalProofFee": 500, "method": "wallet"}),
            )
            .await;
        }
        _ => {
            respond_json(
                &mut stream,
                404,
                &json!({"error": "no such route", "code": "NOT_FOUND"}),
            )
            .await
        }
    }
}

/// A target that is not a sandbox although it listens on loopback.
fn real(url: &str) -> TargetSpec {
    let text = format!("base_url: {url}\nsandbox: false\npace: false\ncontrol: {{url: {url}}}\n");
    let p = Profile::parse(&text, "real.yaml").expect("a valid profile");
    assert!(!p.sandbox);
    TargetSpec::Remote(p)
}

/// An explicit sandbox profile.
fn sandbox(url: &str) -> TargetSpec {
    let text = format!("base_url: {url}\nsandbox: true\npace: false\ncontrol: {{url: {url}}}\n");
    TargetSpec::Remote(Profile::parse(&text, "sandbox.yaml").expect("a valid profile"))
}

fn fund(job: &str, app: &str) -> String {
    format!(
        "  - as: poster\n    request: {{method: POST, path: /api/jobs/{job}/fund-escrow, json: {{applicationId: \"{app}\", useWallet: true}}}}\n    expect: {{status: 200}}\n"
    )
}

fn money_scenario(id: &str, flagged: bool, steps: &[String]) -> String {
    format!(
        "id: money.{id}\ntitle: \"{id}\"\nmoves_money: {flagged}\nactors: {{poster: {{role: poster}}}}\nsteps:\n{}",
        steps.concat()
    )
}

#[test]
fn a_target_is_a_sandbox_when_bundled_on_loopback_or_said_so() {
    let url = |s: &str| url::Url::parse(s).unwrap();
    for yes in [
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost:3000",
        "http://[::1]:9",
    ] {
        assert!(is_loopback(&url(yes)), "{yes}");
        assert!(Profile::from_url(yes).unwrap().sandbox, "{yes}");
    }
    for no in [
        "https://api.agentgigs.example",
        "http://10.0.0.5",
        "http://192.168.1.10:8080",
        "http://api.localhost",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:127.0.0.1]",
    ] {
        assert!(!Profile::from_url(no).unwrap().sandbox, "{no}");
    }
    // A profile decides: `sandbox: false` on loopback (a tunnel to production), `true` elsewhere.
    assert!(
        !Profile::parse("base_url: http://127.0.0.1:9\nsandbox: false\n", "p.yaml")
            .unwrap()
            .sandbox
    );
    assert!(
        Profile::parse("base_url: https://staging.example\nsandbox: true\n", "p.yaml")
            .unwrap()
            .sandbox
    );
    assert!(
        Profile::parse("base_url: http://127.0.0.1:9\n", "p.yaml")
            .unwrap()
            .sandbox
    );
    assert!(
        !Profile::parse("base_url: https://api.example\n", "p.yaml")
            .unwrap()
            .sandbox
    );
    assert!(TargetSpec::Bundled.is_sandbox());
}

#[tokio::test]
async fn off_a_sandbox_money_moving_scenarios_are_skipped_before_touching_the_target() {
    let (server, funded) = bank(Duration::ZERO).await;
    let flagged = money_scenario("flagged", true, &[fund(JOB_A, APP_A)]);
    let unflagged = money_scenario("unflagged", false, &[fund(JOB_A, APP_A)]);
    let (report, _) = run_bounded(real(&server.url), &[&flagged, &unflagged], tight(), LIMIT).await;
    assert!(!report.target.sandbox);
    let r = skipped(&scenario(&report, "money.flagged").outcome);
    assert!(
        r.contains("moves real money")
            && r.contains("not a sandbox")
            && r.contains("--i-understand-this-moves-real-money"),
        "{r}"
    );
    // A money step in a scenario not marked `moves_money` is refused too, step by step.
    let s = scenario(&report, "money.unflagged");
    let r = skipped(&s.steps[0].outcome);
    assert!(r.contains("fund-escrow") && r.contains("not a sandbox"), "{r}");
    assert_eq!(funded.load(Ordering::SeqCst), 0, "no money request reached the target");
    assert!(report.money.is_empty());
    assert_eq!(report.totals.skipped, 2);
    // The flagged scenario did not even create accounts.
    assert_eq!(
        server.seen.lock().issued.len(),
        3,
        "only the unflagged scenario's actor was created"
    );
}

#[tokio::test]
async fn allowing_real_money_still_spends_nothing_without_a_cap() {
    let (server, funded) = bank(Duration::ZERO).await;
    let flagged = money_scenario("flagged", true, &[fund(JOB_A, APP_A)]);
    let unflagged = money_scenario("unflagged", false, &[fund(JOB_A, APP_A)]);
    let options = RunOptions {
        allow_real_money: true,
        ..tight()
    };
    let (report, _) = run_bounded(real(&server.url), &[&flagged, &unflagged], options, LIMIT).await;
    let r = skipped(&scenario(&report, "money.flagged").outcome);
    assert!(r.contains("spending cap of 0 cents"), "{r}");
    let r = skipped(&scenario(&report, "money.unflagged").steps[0].outcome);
    assert!(r.contains("spending cap of 0 cents"), "{r}");
    assert_eq!(funded.load(Ordering::SeqCst), 0);
    assert!(report.money.is_empty());
}

#[tokio::test]
async fn the_cap_bounds_the_total_before_each_step_using_the_amount_read_from_the_target() {
    let (server, funded) = bank(Duration::ZERO).await;
    // 7500 fits under 10000; 5000 more would not: refused before it is sent.
    let two = money_scenario("two", true, &[fund(JOB_A, APP_A), fund(JOB_B, APP_B)]);
    let options = RunOptions {
        allow_real_money: true,
        max_spend_cents: Some(10_000),
        ..tight()
    };
    let (report, _) = run_bounded(real(&server.url), &[&two], options, LIMIT).await;
    let s = scenario(&report, "money.two");
    assert_eq!(s.steps[0].outcome, Outcome::Passed, "{:?}", findings(s));
    let r = skipped(&s.steps[1].outcome);
    assert!(
        r.contains("would commit up to 5000 cents")
            && r.contains("spending cap of 10000 cents")
            && r.contains("7500 cents committed"),
        "{r}"
    );
    assert_eq!(funded.load(Ordering::SeqCst), 1, "the second funding was never sent");
    assert_eq!(
        report.money,
        vec![MoneyMoved {
            scenario: "money.two".into(),
            actor: "poster".into(),
            cents: 7500
        }]
    );

    // A cap that exactly fits both lets both through.
    let options = RunOptions {
        allow_real_money: true,
        max_spend_cents: Some(12_500),
        ..tight()
    };
    let (report, _) = run_bounded(real(&server.url), &[&two], options, LIMIT).await;
    assert_eq!(
        report.scenarios[0].outcome,
        Outcome::Passed,
        "{:?}",
        report.scenarios[0].outcome
    );
    assert_eq!(report.money.iter().map(|m| m.cents).sum::<i64>(), 12_500);

    // The proof escrow is the sum of the accepted proofers' bids (300 + 200).
    let proof = money_scenario(
        "proof",
        true,
        &[
            "  - as: poster\n    request: {method: POST, path: /api/jobs/".to_string()
                + JOB_A
                + "/fund-proof-escrow, json: {}}\n    expect: {status: 200}\n",
        ],
    );
    let options = RunOptions {
        allow_real_money: true,
        max_spend_cents: Some(499),
        ..tight()
    };
    let (report, _) = run_bounded(real(&server.url), &[&proof], options, LIMIT).await;
    let r = skipped(&report.scenarios[0].steps[0].outcome);
    assert!(r.contains("would commit up to 500 cents"), "{r}");
    let options = RunOptions {
        allow_real_money: true,
        max_spend_cents: Some(500),
        ..tight()
    };
    let (report, _) = run_bounded(real(&server.url), &[&proof], options, LIMIT).await;
    assert_eq!(
        report.scenarios[0].outcome,
        Outcome::Passed,
        "{:?}",
        report.scenarios[0].outcome
    );
    assert_eq!(report.money[0].cents, 500);
}

#[tokio::test]
async fn an_amount_that_cannot_be_known_in_advance_is_not_spent() {
    let (server, funded) = bank(Duration::ZERO).await;
    let unknown = money_scenario("unknown", true, &[fund(JOB_X, APP_A)]);
    let options = RunOptions {
        allow_real_money: true,
        max_spend_cents: Some(1_000_000),
        ..tight()
    };
    let (report, _) = run_bounded(real(&server.url), &[&unknown], options, LIMIT).await;
    let r = skipped(&report.scenarios[0].steps[0].outcome);
    assert!(
        r.contains("cannot tell in advance") && r.contains("answered 404"),
        "{r}"
    );
    assert_eq!(funded.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unknown_outcome_stays_counted_against_the_cap() {
    let (server, funded) = bank(Duration::ZERO).await;
    // The funding of JOB_SLOW (2000) never answers: it may have been committed.
    let slow = money_scenario("slow", true, &[fund(JOB_SLOW, APP_SLOW)]);
    let after = money_scenario("after", true, &[fund(JOB_B, APP_B)]);
    let options = RunOptions {
        allow_real_money: true,
        max_spend_cents: Some(6_000),
        ..tight()
    };
    let (report, _) = run_bounded(real(&server.url), &[&slow, &after], options, LIMIT).await;
    let m = errored(&scenario(&report, "money.slow").outcome);
    assert!(
        m.contains("timed out") && m.contains("2000 cents it may have committed"),
        "{m}"
    );
    let r = skipped(&scenario(&report, "money.after").steps[0].outcome);
    assert!(
        r.contains("would commit up to 5000 cents") && r.contains("2000 cents committed"),
        "{r}"
    );
    assert_eq!(funded.load(Ordering::SeqCst), 1);
    assert!(
        report.money.is_empty(),
        "nothing is reported as moved when nothing is known to have moved"
    );
}

#[tokio::test]
async fn parallel_scenarios_cannot_overshoot_the_cap_together() {
    // A sandbox with an explicit cap: money scenarios run in parallel, each
    // funding takes 300 ms, and only what fits is ever in flight.
    let (server, funded) = bank(Duration::from_millis(300)).await;
    let yamls: Vec<String> = (0..6)
        .map(|i| money_scenario(&format!("p{i}"), true, &[fund(JOB_B, APP_B)]))
        .collect();
    let refs: Vec<&str> = yamls.iter().map(String::as_str).collect();
    let options = RunOptions {
        jobs: 6,
        max_spend_cents: Some(12_000),
        ..tight()
    };
    let (report, _) = run_bounded(sandbox(&server.url), &refs, options, LIMIT).await;
    let total: i64 = report.money.iter().map(|m| m.cents).sum();
    assert_eq!(
        total, 10_000,
        "two fundings of 5000 fit under 12000, a third never started"
    );
    assert_eq!(funded.load(Ordering::SeqCst), 2);
    assert_eq!(report.totals.passed, 2);
    assert_eq!(report.totals.skipped, 4);
}

/// A whole flow on the bundled server with known prices: two posters fund
/// 7500 and 5000 from their wallets; a card-path funding commits nothing.
const FLOW: &str = r#"
id: money.known-prices
title: two posters fund escrows of known prices
moves_money: true
actors:
  poster: {role: poster, wallet_cents: 100000}
  poster2: {role: poster, wallet_cents: 20000}
  agent: {role: agent, specializations: [Research], tier: free}
steps:
  - {include_job: poster, price: 7500, wallet: true}
  - {include_job: poster2, price: 5000, wallet: true}
  - name: the first poster's wallet was debited by the price
    as: poster
    request: {method: GET, path: /api/wallet}
    expect: {status: 200, body: [{path: /balance, equals: 92500}]}
  - name: the second poster's too
    as: poster2
    request: {method: GET, path: /api/wallet}
    expect: {status: 200, body: [{path: /balance, equals: 15000}]}
"#;

/// The steps that post a job as `poster`, hire `agent` at `price` and fund it.
fn hire_and_fund(poster: &str, price: i64, n: usize) -> String {
    format!(
        r#"  - as: {poster}
    request:
      method: POST
      path: /api/agent/jobs
      json: {{title: "Summarise ten papers on agent evaluation", description: "Read ten recent papers on evaluating AI agents and write a two-page summary with citations.", category: Research, budget_min: 5000, budget_max: 7500, proof_required: false, proofer_count: 0}}
    expect: {{status: 201}}
    capture: {{job{n}: /job/id}}
  - as: agent
    request: {{method: POST, path: "/api/jobs/{{{{job{n}}}}}/nda"}}
    expect: {{status: 200}}
  - as: agent
    request:
      method: POST
      path: "/api/jobs/{{{{job{n}}}}}/apply"
      json: {{message: "I have done this kind of literature review many times.", proposed_price: {price}, estimated_delivery: "2 days"}}
    expect: {{status: 200}}
    capture: {{app{n}: /application/id}}
  - as: {poster}
    request: {{method: POST, path: "/api/agent/jobs/{{{{job{n}}}}}/accept-application", json: {{applicationId: "{{{{app{n}}}}}"}}}}
    expect: {{status: 200}}
  - as: {poster}
    request: {{method: POST, path: "/api/jobs/{{{{job{n}}}}}/fund-escrow", json: {{applicationId: "{{{{app{n}}}}}", useWallet: true}}}}
    expect: {{status: 200, body: [{{path: /totalCharge, equals: {price}}}]}}
"#
    )
}

fn known_prices_flow() -> String {
    FLOW.replace(
        "  - {include_job: poster, price: 7500, wallet: true}\n",
        &hire_and_fund("poster", 7500, 1),
    )
    .replace(
        "  - {include_job: poster2, price: 5000, wallet: true}\n",
        &hire_and_fund("poster2", 5000, 2),
    )
}

#[tokio::test]
async fn the_report_says_how_much_money_moved_per_actor() {
    let flow = known_prices_flow();
    let no_money = "id: money.none\ntitle: x\nactors: {poster: {role: poster}}\nsteps:\n  - as: poster\n    request: {method: GET, path: /api/wallet}\n";
    let (report, _) = run_bounded(TargetSpec::Bundled, &[&flow, no_money], RunOptions::default(), LIMIT).await;
    let s = scenario(&report, "money.known-prices");
    assert_eq!(s.outcome, Outcome::Passed, "{:#?}", findings(s));
    assert!(report.target.sandbox);
    assert_eq!(
        report.money,
        vec![
            MoneyMoved {
                scenario: "money.known-prices".into(),
                actor: "poster".into(),
                cents: 7500
            },
            MoneyMoved {
                scenario: "money.known-prices".into(),
                actor: "poster2".into(),
                cents: 5000
            },
        ]
    );
    // The summary says it in words too.
    let text =
        agentgigs_conformance::report::render(agentgigs_conformance::report::Format::Terminal, &report, None).unwrap();
    assert!(text.contains("poster2") && text.contains("$125.00"), "{text}");

    // On a bundled (sandbox) target a cap still applies when asked for, with amounts read from the server.
    let options = RunOptions {
        max_spend_cents: Some(10_000),
        ..RunOptions::default()
    };
    let (report, _) = run_bounded(TargetSpec::Bundled, &[&flow], options, LIMIT).await;
    let s = &report.scenarios[0];
    let refused = s.steps.iter().find_map(|st| match &st.outcome {
        Outcome::Skipped { reason } if reason.contains("would commit") => Some(reason.clone()),
        _ => None,
    });
    assert!(
        refused
            .as_deref()
            .is_some_and(|r| r.contains("up to 5000 cents") && r.contains("7500 cents committed")),
        "{refused:?} {:?}",
        s.outcome
    );
    assert_eq!(report.money.iter().map(|m| m.cents).sum::<i64>(), 7500);
}
