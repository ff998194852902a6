//! The operations beyond the core lifecycle: the card funding path, earnings,
//! referrals, subscriptions, featured jobs, reports and webhooks.

use super::*;
use crate::mock::domain::growth::webhook_url_problem;

#[test]
fn card_funding_charges_the_documented_fee_and_conserves_money() {
    let mut m = mp();
    let p = poster(&mut m, 0);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let app = apply(&mut m, a, job, 7500);
    m.accept_application(p, job, app).unwrap();
    let r = m.fund_by_card(p, job, app, "pm_card_visa").unwrap();
    // DOCS: jobAmount 7500, serviceFee 463, totalCharge 7963, agentCommission 750.
    assert_eq!(
        (r.job_amount, r.service_fee, r.total_charge, r.agent_commission),
        (7500, 463, 7963, 750)
    );
    assert_eq!(m.get_job(job).unwrap().status, JobStatus::InProgress);
    assert_eq!(balance(&m, p), 0, "the card pays, not the wallet");
    conserved(&m);
    // Funded once: a second charge is refused.
    assert_eq!(code(m.fund_by_card(p, job, app, "pm_card_visa")), "INVALID_STATE");
}

#[test]
fn earnings_count_the_payout_the_tier_keeps_and_the_calculator_agrees() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = actor(&mut m, ActorRole::Agent, &["Research"], 0, Tier::Pro);
    let preview = m.earnings(a, Some(7500)).unwrap();
    assert_eq!(preview["calculator"]["commissionAmount"], 525);
    assert_eq!(preview["calculator"]["agentPayout"], 6975);
    assert_eq!(preview["earnings"]["totalEarnings"], 0);
    let job = post(&mut m, p, false, 0);
    hire(&mut m, p, a, job, 7500);
    deliver(&mut m, a, job);
    m.approve(p, job, false).unwrap();
    m.advance_clock(15 * 86_400);
    let after = m.earnings(a, None).unwrap();
    assert_eq!(after["earnings"]["totalEarnings"], 6975);
    assert_eq!(after["earnings"]["completedJobs"], 1);
    assert_eq!(after["calculator"], Value::Null);
    assert_eq!(code(m.earnings(a, Some(-1))), "VALIDATION_FAILED");
    conserved(&m);
}

#[test]
fn referral_codes_apply_once_within_seven_days() {
    let mut m = mp();
    let r = actor(&mut m, ActorRole::Agent, &["Research"], 0, Tier::Enterprise);
    let n = agent(&mut m);
    let late = agent(&mut m);
    let code_of = |m: &mut Marketplace, u| m.referrals(u).unwrap()["referral_code"].as_str().unwrap().to_string();
    let c = code_of(&mut m, r);
    assert_eq!(m.referrals(r).unwrap()["program"]["bonus_rate"], "3%");
    let own = code_of(&mut m, n);
    assert_eq!(code(m.apply_referral(n, &own)), "INVALID_STATE");
    m.apply_referral(n, &c).unwrap();
    assert_eq!(code(m.apply_referral(n, &c)), "INVALID_STATE");
    assert_eq!(code(m.apply_referral(n, "ref_0000000000000000")), "NOT_FOUND");
    m.advance_clock(8 * 86_400);
    assert_eq!(code(m.apply_referral(late, &c)), "INVALID_STATE");
    assert_eq!(m.referrals(r).unwrap()["referred_agents"].as_array().unwrap().len(), 1);
}

#[test]
fn subscriptions_change_only_when_paid_and_cancel_at_period_end() {
    let mut m = mp();
    let f = agent(&mut m);
    let out = m.subscribe(f, Tier::Pro).unwrap();
    assert!(
        out["checkoutUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://checkout.stripe.com/")
    );
    assert_eq!(m.subscription(f).unwrap()["subscription"]["tier"], "free");
    assert_eq!(code(m.cancel_subscription(f)), "INVALID_STATE");
    let pro = actor(&mut m, ActorRole::Agent, &["Research"], 0, Tier::Pro);
    m.cancel_subscription(pro).unwrap();
    let s = m.subscription(pro).unwrap();
    assert_eq!(
        (s["subscription"]["tier"].as_str(), s["subscription"]["status"].as_str()),
        (Some("pro"), Some("canceling"))
    );
}

#[test]
fn featuring_costs_five_dollars_from_the_posters_wallet() {
    let mut m = mp();
    let p = poster(&mut m, 1000);
    let other = poster(&mut m, 1000);
    let job = post(&mut m, p, false, 0);
    assert_eq!(code(m.feature_job(other, job)), "NOT_JOB_OWNER");
    m.feature_job(p, job).unwrap();
    assert_eq!(balance(&m, p), 500);
    assert_eq!(m.feature_status(other, job).unwrap()["featured"], true);
    m.feature_job(p, job).unwrap();
    assert_eq!(code(m.feature_job(p, job)), "INSUFFICIENT_BALANCE");
    conserved(&m);
}

#[test]
fn duplicate_reports_are_refused() {
    let mut m = mp();
    let u = agent(&mut m);
    m.report_content(u, "job", "abc", "spam").unwrap();
    assert_eq!(code(m.report_content(u, "job", "abc", "fraud")), "ALREADY_REPORTED");
    m.report_content(u, "review", "abc", "spam").unwrap();
}

#[test]
fn webhook_urls_on_local_or_private_networks_are_refused() {
    for bad in [
        "http://localhost/x",
        "http://api.localhost/x",
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://172.31.0.1/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/x",
        "http://100.64.0.1/x",
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[fd00::1]/x",
        "http://[fe80::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "ftp://example.com/x",
        "not a url",
    ] {
        assert!(webhook_url_problem(bad).is_some(), "{bad} should be refused");
    }
    for good in [
        "https://hooks.example.com/x",
        "http://93.184.216.34/x",
        "https://[2606:4700::1111]/x",
    ] {
        assert_eq!(webhook_url_problem(good), None, "{good} should be allowed");
    }
    let mut m = mp();
    let u = agent(&mut m);
    assert_eq!(
        code(m.register_webhook(u, "http://127.0.0.1:9/h", vec!["job.available".into()])),
        "VALIDATION_FAILED"
    );
    let ok = m
        .register_webhook(u, "https://hooks.example.com/h", vec!["job.available".into()])
        .unwrap();
    assert!(ok["secret"].as_str().unwrap().starts_with("whsec_"));
}
