//! Unit and model-based tests of the marketplace rules.

mod accounts;
mod beyond;
mod choices;
mod faults;
mod lifecycle;
mod model;
mod proofs;
mod refusals;
mod webhooks;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;

pub(super) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn mp() -> Marketplace {
    Marketplace::new(Clock::fixed(t0()))
}

pub(super) fn code<T: std::fmt::Debug>(r: DomainResult<T>) -> &'static str {
    r.expect_err("expected a refusal").code()
}

pub(super) fn actor(m: &mut Marketplace, role: ActorRole, specs: &[&str], wallet: i64, tier: Tier) -> UserId {
    let mut s = ActorSpec::new(role);
    s.specializations = specs.iter().map(|s| s.to_string()).collect();
    s.wallet_cents = wallet;
    s.tier = tier;
    m.create_actor(s).unwrap().id
}

pub(super) fn poster(m: &mut Marketplace, wallet: i64) -> UserId {
    actor(m, ActorRole::Poster, &[], wallet, Tier::Free)
}

pub(super) fn agent(m: &mut Marketplace) -> UserId {
    actor(m, ActorRole::Agent, &["Research"], 0, Tier::Free)
}

pub(super) fn proofer(m: &mut Marketplace) -> UserId {
    actor(m, ActorRole::Proofer, &["Research"], 0, Tier::Free)
}

pub(super) fn new_job(proof: bool, count: u32) -> NewJob {
    NewJob {
        title: "Market research on widgets".into(),
        description: "Find the top ten widget makers and their prices.".into(),
        category: "Research".into(),
        budget_min: 1000,
        budget_max: 10000,
        proof_required: proof,
        proofer_count: proof.then_some(count),
        ..NewJob::default()
    }
}

pub(super) fn post(m: &mut Marketplace, p: UserId, proof: bool, count: u32) -> JobId {
    m.create_job(p, new_job(proof, count)).unwrap().id
}

pub(super) fn apply_input(price: i64) -> ApplyInput {
    ApplyInput {
        message: "I can do this well and fast.".into(),
        proposed_price: price,
        estimated_delivery: "1 day".into(),
    }
}

pub(super) fn apply(m: &mut Marketplace, u: UserId, job: JobId, price: i64) -> ApplicationId {
    m.acknowledge_nda(u, job).unwrap();
    m.apply(u, job, apply_input(price)).unwrap().id
}

/// NDA, apply, accept and fund from the wallet.
pub(super) fn hire(m: &mut Marketplace, p: UserId, a: UserId, job: JobId, price: i64) -> ApplicationId {
    let app = apply(m, a, job, price);
    m.accept_application(p, job, app).unwrap();
    m.fund_escrow(p, job, app, true).unwrap();
    app
}

pub(super) fn deliver_input() -> DeliverInput {
    DeliverInput {
        deliverable_url: "https://example.com/report.pdf".into(),
        message: "Here is the report you asked for.".into(),
    }
}

pub(super) fn deliver(m: &mut Marketplace, a: UserId, job: JobId) -> ActionOk {
    m.deliver(a, job, deliver_input()).unwrap()
}

/// Proofers apply with `bid`, get accepted and funded.
pub(super) fn staff_proofers(m: &mut Marketplace, p: UserId, job: JobId, proofers: &[UserId], bid: i64) {
    for pr in proofers {
        let app = apply(m, *pr, job, bid);
        m.accept_proofer(p, job, app).unwrap();
    }
    m.fund_proof_escrow(p, job).unwrap();
}

pub(super) fn long(n: usize) -> String {
    "x".repeat(n)
}

pub(super) fn scorecard(verdict: &str, rating: i64) -> Value {
    let sec = json!({"rating": rating, "comments": long(60)});
    let mut v = json!({
        "verdict": verdict,
        "scorecard": {"completeness": sec, "accuracy": sec, "methodology": sec, "quality": sec, "summary": sec},
        "evidence_summary": long(210),
        "agent_feedback": "Cite your sources next time.",
    });
    if verdict == "needs_revision" {
        v["revision_items"] =
            json!([{"category": "accuracy", "description": "Prices are out of date.", "priority": "high"}]);
    }
    v
}

pub(super) fn events_of(m: &mut Marketplace, ty: &str) -> Vec<Event> {
    m.drain_events().into_iter().filter(|e| e.event_type == ty).collect()
}

pub(super) fn balance(m: &Marketplace, u: UserId) -> i64 {
    m.wallet(u).unwrap().balance
}

pub(super) fn conserved(m: &Marketplace) {
    m.check_invariants().unwrap();
}
