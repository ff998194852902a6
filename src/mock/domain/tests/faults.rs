//! The fault hooks and deliberate rule-breaks: each breaks exactly its rule
//! and only when switched on; lifting rate limits; posted-job filters.

use super::*;

/// A funded no-proof job: (marketplace, poster, agent, job).
fn funded(m: &mut Marketplace) -> (UserId, UserId, JobId) {
    let p = poster(m, 100_000);
    let a = agent(m);
    let job = post(m, p, false, 0);
    hire(m, p, a, job, 6000);
    (p, a, job)
}

#[test]
fn every_fault_has_a_unique_name_that_parses_back() {
    for f in Fault::ALL {
        assert_eq!(Fault::parse(f.name()), Some(f));
    }
    assert_eq!(Fault::parse("skip_nda"), None, "an HTTP-layer fault");
}

#[test]
fn cancel_after_funding_only_when_switched_on() {
    let mut m = mp();
    let (p, _, job) = funded(&mut m);
    assert_eq!(code(m.cancel(p, job)), "INVALID_STATE");
    m.set_faults([Fault::CancelAfterFunding]);
    assert_eq!(m.cancel(p, job).unwrap().status, JobStatus::Cancelled);
    conserved(&m);
}

#[test]
fn commission_ignored_pays_the_whole_price() {
    let mut m = mp();
    m.set_faults([Fault::CommissionIgnored]);
    let (p, a, job) = funded(&mut m);
    deliver(&mut m, a, job);
    m.approve(p, job, false).unwrap();
    m.advance_clock(86_400);
    assert_eq!(balance(&m, a), 6000);
    conserved(&m);
}

#[test]
fn deliverables_public_and_messages_open_let_outsiders_in() {
    let mut m = mp();
    let (_, a, job) = funded(&mut m);
    let path = m
        .upload_deliverable(a, job, "report.md", b"done".to_vec())
        .unwrap()
        .file_path;
    let outsider = agent(&mut m);
    m.acknowledge_nda(outsider, job).unwrap();
    assert_eq!(code(m.download_link(outsider, job, &path)), "NOT_PARTICIPANT");
    assert_eq!(code(m.list_messages(outsider, job)), "NOT_PARTICIPANT");
    m.set_faults([Fault::DeliverablesPublic, Fault::MessagesOpen]);
    m.download_link(outsider, job, &path).unwrap();
    m.list_messages(outsider, job).unwrap();
}

#[test]
fn slots_unbounded_overfills_without_panicking() {
    let mut m = mp();
    m.set_faults([Fault::SlotsUnbounded]);
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let job = post(&mut m, p, true, 1);
    hire(&mut m, p, a, job, 6000);
    deliver(&mut m, a, job);
    for _ in 0..2 {
        let pr = proofer(&mut m);
        let app = apply(&mut m, pr, job, 100);
        m.accept_proofer(p, job, app).unwrap();
    }
    assert_eq!(m.accepted_proofers(job).len(), 2);
}

#[test]
fn release_now_skips_the_cooldown_but_not_stripe() {
    let mut m = mp();
    let (p, a, job) = funded(&mut m);
    assert!(!m.release_now(job).unwrap(), "nothing approved yet");
    deliver(&mut m, a, job);
    m.approve(p, job, false).unwrap();
    m.set_user_flags(
        a,
        UserFlags {
            stripe_connected: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!m.release_now(job).unwrap(), "no Stripe, no release");
    m.set_user_flags(
        a,
        UserFlags {
            stripe_connected: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(m.release_now(job).unwrap());
    assert_eq!(m.get_job(job).unwrap().payment_status, PaymentStatus::Released);
    assert_eq!(balance(&m, a), 5400);
    conserved(&m);
}

#[test]
fn find_job_by_ref_needs_eight_hex_digits() {
    let mut m = mp();
    let p = poster(&mut m, 0);
    let job = post(&mut m, p, false, 0);
    let code8 = job.simple().to_string()[..8].to_ascii_uppercase();
    assert_eq!(m.find_job_by_ref(&code8), Some(job));
    assert_eq!(m.find_job_by_ref(&code8[..7]), None);
    assert_eq!(m.find_job_by_ref("zzzzzzzz"), None);
}

#[test]
fn all_categories_lists_outside_the_specializations_without_touching_the_profile() {
    let mut m = mp();
    let p = poster(&mut m, 0);
    let coder = actor(&mut m, ActorRole::Agent, &["Coding"], 0, Tier::Free);
    post(&mut m, p, false, 0);
    assert_eq!(m.list_available(coder, AvailableQuery::default()).unwrap().count, 0);
    let all = AvailableQuery {
        all_categories: true,
        ..Default::default()
    };
    assert_eq!(m.list_available(coder, all).unwrap().count, 1);
    assert_eq!(m.profile(coder).unwrap().unwrap().specializations, ["Coding"]);
}

#[test]
fn rate_limits_can_be_lifted() {
    let mut m = mp();
    let a = actor(&mut m, ActorRole::Agent, &[], 0, Tier::Free);
    m.set_rate_limits(false);
    for _ in 0..100 {
        m.check_standard_rate(a).unwrap();
    }
    for i in 0..20 {
        m.register(&format!("u{i}@x.io"), "password1", None, "1.1.1.1").unwrap();
    }
    m.set_rate_limits(true);
    for i in 0..10 {
        m.register(&format!("v{i}@x.io"), "password1", None, "2.2.2.2").unwrap();
    }
    assert_eq!(code(m.register("w@x.io", "password1", None, "2.2.2.2")), "RATE_LIMITED");
}

#[test]
fn posted_jobs_filter_and_deadlines_are_date_times() {
    let mut m = mp();
    let p = poster(&mut m, 0);
    let first = post(&mut m, p, false, 0);
    post(&mut m, p, false, 0);
    m.cancel(p, first).unwrap();
    assert_eq!(
        m.list_posted(p, Some(JobStatus::Cancelled), None).unwrap().jobs[0].id,
        first
    );
    assert_eq!(m.list_posted(p, Some(JobStatus::Open), None).unwrap().count, 1);
    assert_eq!(m.list_posted(p, None, Some(1)).unwrap().count, 1);
    assert_eq!(code(m.list_posted(p, None, Some(0))), "VALIDATION_FAILED");
    assert_eq!(JobStatus::parse("pending_proof"), Some(JobStatus::PendingProof));
    let body = json!({"title": "T", "description": long(25), "category": "Research", "budget_min": 100, "budget_max": 100, "deadline": "2000-01-01"});
    let job = m.create_job(p, NewJob::from_json(&body).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&job).unwrap()["deadline"], "2000-01-01T00:00:00Z");
}

#[test]
fn commission_twice_takes_it_twice_and_still_balances_the_books() {
    let mut m = mp();
    m.set_faults([Fault::CommissionTwice]);
    let (p, a, job) = funded(&mut m);
    deliver(&mut m, a, job);
    m.approve(p, job, false).unwrap();
    m.advance_clock(86_400);
    assert_eq!(balance(&m, a), 4800, "6000 less twice the 600 commission");
    assert_eq!(m.platform_fees(), 1200);
    conserved(&m);
}

#[test]
fn a_race_fault_lets_only_overlapping_requests_through_the_guard() {
    let mut m = mp();
    m.set_faults([Fault::RaceFundEscrow]);
    m.set_rate_limits(false);
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    m.acknowledge_nda(a, job).unwrap();
    let app = apply(&mut m, a, job, 6000);
    m.accept_application(p, job, app).unwrap();
    // One after the other: the guard holds.
    let t = m.enter_race(Fault::RaceFundEscrow, job);
    m.fund_escrow(p, job, app, true).unwrap();
    m.leave_race(t);
    let t = m.enter_race(Fault::RaceFundEscrow, job);
    assert_eq!(code(m.fund_escrow(p, job, app, true)), "INVALID_STATE");
    m.leave_race(t);
    assert_eq!(balance(&m, p), 94_000);
    // Overlapping: both read the state before either wrote.
    let job = post(&mut m, p, false, 0);
    m.acknowledge_nda(a, job).unwrap();
    let app = apply(&mut m, a, job, 6000);
    m.accept_application(p, job, app).unwrap();
    let (t1, t2) = (
        m.enter_race(Fault::RaceFundEscrow, job),
        m.enter_race(Fault::RaceFundEscrow, job),
    );
    m.fund_escrow(p, job, app, true).unwrap();
    m.leave_race(t1);
    m.fund_escrow(p, job, app, true).unwrap();
    m.leave_race(t2);
    assert_eq!(balance(&m, p), 82_000, "funded twice");
    conserved(&m);
    // Without the fault, overlapping requests meet the guard.
    m.set_faults([]);
    let job = post(&mut m, p, false, 0);
    m.acknowledge_nda(a, job).unwrap();
    let app = apply(&mut m, a, job, 6000);
    m.accept_application(p, job, app).unwrap();
    let _ = (
        m.enter_race(Fault::RaceFundEscrow, job),
        m.enter_race(Fault::RaceFundEscrow, job),
    );
    m.fund_escrow(p, job, app, true).unwrap();
    assert_eq!(code(m.fund_escrow(p, job, app, true)), "INVALID_STATE");
}

#[test]
fn tier_faults_count_the_hourly_limits_with_another_tiers_figures() {
    use crate::mock::domain::ratelimit::{RateRule, RateSubject};
    let mut m = mp();
    let pro = actor(&mut m, ActorRole::Poster, &[], 0, Tier::Pro);
    let ent = actor(&mut m, ActorRole::Agent, &[], 0, Tier::Enterprise);
    let apply = |m: &mut Marketplace, u| m.check_rate(RateRule::Applications, RateSubject::User(u), None);
    // Funds three a minute (the burst), each on its own job (the per-job limit):
    // answers how many went through before the first refusal.
    let funds = |m: &mut Marketplace, u| {
        for n in 0..300 {
            if n > 0 && n % 3 == 0 {
                m.advance_clock(61);
            }
            if m.check_fund_rate(u, uuid::Uuid::new_v4()).is_err() {
                return n;
            }
        }
        300
    };

    // `enterprise_as_pro`: an enterprise agent's 51st application is refused;
    // its standard per-minute limit stays at 300.
    m.set_faults([Fault::EnterpriseAsPro]);
    for _ in 0..50 {
        apply(&mut m, ent).unwrap();
    }
    assert_eq!(code(apply(&mut m, ent)), "RATE_LIMITED");
    for _ in 0..300 {
        m.check_standard_rate(ent).unwrap();
    }
    assert_eq!(code(m.check_standard_rate(ent)), "RATE_LIMITED");
    // ... and an enterprise poster funds 60 in the hour; a pro poster keeps its 60.
    m.advance_clock(3601);
    assert_eq!(funds(&mut m, ent), 60);
    m.advance_clock(3601);
    assert_eq!(funds(&mut m, pro), 60);

    // `funding_one_tier`: every tier funds 20 in the hour; applications keep their figures.
    m.set_faults([Fault::FundingOneTier]);
    m.advance_clock(3601);
    assert_eq!(funds(&mut m, pro), 20);
    assert_eq!(funds(&mut m, ent), 20);
    for _ in 0..100 {
        apply(&mut m, ent).unwrap();
    }

    // `posting_one_tier`: a pro poster's 11th posting in the hour is refused.
    m.set_faults([Fault::PostingOneTier]);
    m.advance_clock(3601);
    let post = |m: &mut Marketplace, u| m.check_rate(RateRule::JobPosting, RateSubject::User(u), None);
    for _ in 0..10 {
        post(&mut m, pro).unwrap();
    }
    assert_eq!(code(post(&mut m, pro)), "RATE_LIMITED");

    // `applications_one_tier`: an enterprise agent's 21st application in the hour is refused.
    m.set_faults([Fault::ApplicationsOneTier]);
    m.advance_clock(3601);
    for _ in 0..20 {
        apply(&mut m, ent).unwrap();
    }
    assert_eq!(code(apply(&mut m, ent)), "RATE_LIMITED");

    // Without a fault: 60 for pro; enterprise's 200 is beyond the
    // 3-a-minute burst (at most 180 in any hour), so it is never refused.
    m.set_faults([]);
    m.advance_clock(3601);
    assert_eq!(funds(&mut m, pro), 60);
    assert_eq!(funds(&mut m, ent), 300);
}
