//! Every refusal of apply, accept, fund, deliver and friends, with its code.

use super::*;

#[test]
fn apply_refusals_in_order() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let fresh = m.register("new@x.io", "password1", None, "127.0.0.1").unwrap();
    m.acknowledge_nda(fresh, job).unwrap();
    let e = m.apply(fresh, job, apply_input(500)).unwrap_err();
    assert_eq!((e.code(), e.status()), ("EMAIL_NOT_VERIFIED", 403));
    m.verify_email(fresh).unwrap();
    m.apply(fresh, job, apply_input(500)).unwrap();
    assert_eq!(code(m.apply(p, job, apply_input(500))), "CANNOT_APPLY_OWN_JOB");
    assert_eq!(code(m.apply(a, job, apply_input(500))), "ACKNOWLEDGMENT_REQUIRED");
    m.acknowledge_nda(a, job).unwrap();
    let bad = ApplyInput {
        message: "hi".into(),
        proposed_price: 0,
        estimated_delivery: " ".into(),
    };
    let DomainError::ValidationFailed { details, .. } = m.apply(a, job, bad).unwrap_err() else {
        panic!()
    };
    assert_eq!(details.len(), 3);
    m.apply(a, job, apply_input(500)).unwrap();
    let e = m.apply(a, job, apply_input(400)).unwrap_err();
    assert_eq!((e.code(), e.status()), ("ALREADY_APPLIED", 409));
    assert_eq!(code(m.apply(a, uuid::Uuid::new_v4(), apply_input(400))), "NOT_FOUND");
    // in_progress takes no applications
    let b = agent(&mut m);
    let j2 = post(&mut m, p, false, 0);
    hire(&mut m, p, a, j2, 500);
    m.acknowledge_nda(b, j2).unwrap();
    assert_eq!(code(m.apply(b, j2, apply_input(500))), "INVALID_STATE");
    // body types
    assert_eq!(
        code(ApplyInput::from_json(
            &json!({"message": "0123456789", "proposed_price": 10.5, "estimated_delivery": "1d"})
        )),
        "VALIDATION_FAILED"
    );
    assert_eq!(
        code(ApplyInput::from_json(
            &json!({"message": "0123456789", "proposed_price": -1, "estimated_delivery": "1d"})
        )),
        "VALIDATION_FAILED"
    );
    assert!(
        ApplyInput::from_json(&json!({"message": "0123456789", "proposed_price": 1, "estimated_delivery": "1d"}))
            .is_ok()
    );
    assert_eq!(code(ApplyInput::from_json(&json!([1, 2]))), "VALIDATION_FAILED");
}

#[test]
fn applications_are_limited_per_hour_by_tier() {
    let mut m = mp();
    // An enterprise poster: 21 postings stay under its 100 per hour.
    let p = actor(&mut m, ActorRole::Poster, &[], 0, Tier::Enterprise);
    let a = agent(&mut m);
    let jobs: Vec<JobId> = (0..21).map(|_| post(&mut m, p, false, 0)).collect();
    for j in &jobs[..20] {
        apply(&mut m, a, *j, 500);
    }
    m.acknowledge_nda(a, jobs[20]).unwrap();
    let e = m.apply(a, jobs[20], apply_input(500)).unwrap_err();
    assert_eq!((e.code(), e.retry_after()), ("RATE_LIMITED", Some(3600)));
    m.advance_clock(3600);
    m.apply(a, jobs[20], apply_input(500)).unwrap();
}

#[test]
fn job_posting_is_limited_per_hour_by_tier() {
    for (tier, limit) in [(Tier::Free, 10), (Tier::Pro, 30), (Tier::Enterprise, 100)] {
        let mut m = mp();
        let p = actor(&mut m, ActorRole::Poster, &[], 0, tier);
        for _ in 0..limit {
            post(&mut m, p, false, 0);
        }
        let e = m.create_job(p, new_job(false, 0)).unwrap_err();
        assert_eq!((e.code(), e.retry_after()), ("RATE_LIMITED", Some(3600)), "{tier:?}");
        m.advance_clock(3600);
        post(&mut m, p, false, 0);
    }
    let mut m = mp();
    m.set_faults([Fault::PostingUnlimited]);
    let p = poster(&mut m, 0);
    for _ in 0..11 {
        post(&mut m, p, false, 0);
    }
}

#[test]
fn accept_application_refusals_and_races() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let b = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let other = post(&mut m, p, false, 0);
    let app_a = apply(&mut m, a, job, 500);
    let app_b = apply(&mut m, b, job, 600);
    let app_other = apply(&mut m, a, other, 500);
    assert_eq!(code(m.accept_application(a, job, app_a)), "NOT_JOB_OWNER");
    assert_eq!(code(m.accept_application(p, job, app_other)), "NOT_FOUND");
    assert_eq!(code(m.accept_application(p, job, uuid::Uuid::new_v4())), "NOT_FOUND");
    m.accept_application(p, job, app_a).unwrap();
    assert_eq!(code(m.accept_application(p, job, app_a)), "APPLICATION_NOT_PENDING");
    assert_eq!(
        code(m.accept_application(p, job, app_b)),
        "INVALID_STATE",
        "the second racing accept loses"
    );
    assert_eq!(m.get_job(job).unwrap().assigned_agent_id, Some(a));
    m.cancel(p, other).unwrap();
    assert_eq!(
        code(m.accept_application(p, other, app_other)),
        "APPLICATION_NOT_PENDING"
    );
}

#[test]
fn fund_escrow_refusals() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let b = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let app_a = apply(&mut m, a, job, 500);
    let app_b = apply(&mut m, b, job, 600);
    assert_eq!(
        code(m.fund_escrow(p, job, app_a, true)),
        "INVALID_STATE",
        "not accepted yet"
    );
    m.accept_application(p, job, app_a).unwrap();
    assert_eq!(
        code(m.fund_escrow(p, job, app_b, true)),
        "INVALID_STATE",
        "not the accepted one"
    );
    assert_eq!(code(m.fund_escrow(a, job, app_a, true)), "NOT_JOB_OWNER");
    m.advance_clock(60);
    m.set_user_flags(
        p,
        UserFlags {
            email_verified: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(code(m.fund_escrow(p, job, app_a, true)), "EMAIL_NOT_VERIFIED");
    m.verify_email(p).unwrap();
    m.fund_escrow(p, job, app_a, true).unwrap();
    assert_eq!(code(m.fund_escrow(p, job, app_a, true)), "INVALID_STATE", "funded once");
    let e = m.fund_escrow(p, job, app_a, true).unwrap_err();
    // 3 attempts in this minute (burst: 60 s) and 5 on this job this hour (3540 s): the longer wait wins
    assert_eq!((e.code(), e.retry_after()), ("RATE_LIMITED", Some(3540)));
    assert_eq!(balance(&m, p), 99_500);
    assert_eq!(m.get_job(job).unwrap().escrow_fund_count, 1);
    conserved(&m);
}

#[test]
fn fund_limit_per_job_per_hour() {
    let mut m = mp();
    let p = poster(&mut m, 0);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let app = apply(&mut m, a, job, 500);
    m.accept_application(p, job, app).unwrap();
    for i in 0..5 {
        assert_eq!(
            code(m.fund_escrow(p, job, app, true)),
            "INSUFFICIENT_BALANCE",
            "attempt {i}"
        );
        m.advance_clock(30);
    }
    let e = m.fund_escrow(p, job, app, true).unwrap_err();
    assert_eq!((e.code(), e.retry_after()), ("RATE_LIMITED", Some(3450)));
    let other = post(&mut m, p, false, 0);
    let app2 = apply(&mut m, a, other, 500);
    m.accept_application(p, other, app2).unwrap();
    assert_eq!(
        code(m.fund_escrow(p, other, app2, true)),
        "INSUFFICIENT_BALANCE",
        "another job has its own budget"
    );
}

#[test]
fn deliver_refusals() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let b = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let app = apply(&mut m, a, job, 500);
    m.accept_application(p, job, app).unwrap();
    assert_eq!(code(m.deliver(a, job, deliver_input())), "INVALID_STATE", "not funded");
    m.fund_escrow(p, job, app, true).unwrap();
    assert_eq!(code(m.deliver(b, job, deliver_input())), "ACKNOWLEDGMENT_REQUIRED");
    m.acknowledge_nda(b, job).unwrap();
    assert_eq!(code(m.deliver(b, job, deliver_input())), "NOT_ASSIGNED_AGENT");
    let bad = DeliverInput {
        deliverable_url: "ftp://x".into(),
        message: "Here is the report you asked for.".into(),
    };
    assert_eq!(code(m.deliver(a, job, bad)), "VALIDATION_FAILED");
    assert_eq!(code(m.approve(p, job, false)), "INVALID_STATE");
    let body = json!({"deliverableUrl": "https://x.io/r", "message": "Done, see the link."});
    m.deliver(a, job, DeliverInput::from_json(&body).unwrap()).unwrap();
    assert_eq!(
        code(m.deliver(a, job, deliver_input())),
        "INVALID_STATE",
        "already delivered"
    );
    assert_eq!(
        code(DeliverInput::from_json(
            &json!({"deliverableUrl": "not a url", "message": "short"})
        )),
        "VALIDATION_FAILED"
    );
    assert_eq!(
        m.get_job(job).unwrap().deliverable_url.as_deref(),
        Some("https://x.io/r")
    );
}

#[test]
fn my_applications_and_lists() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let j1 = post(&mut m, p, false, 0);
    let j2 = post(&mut m, p, false, 0);
    hire(&mut m, p, a, j1, 500);
    apply(&mut m, a, j2, 700);
    let mine = m.my_applications(a, None, None).unwrap();
    assert_eq!((mine.counts.total, mine.counts.pending, mine.counts.funded), (2, 1, 1));
    assert_eq!(mine.applications[0].job_id, j2, "newest first");
    let pending = m
        .my_applications(a, Some(ApplicationStatus::Pending), Some(10))
        .unwrap();
    assert_eq!(pending.applications.len(), 1);
    let list = m.list_applications(p, j2).unwrap();
    assert_eq!(list.count, 1);
    let v = serde_json::to_value(&list).unwrap();
    assert_eq!(v["applications"][0]["application_type"], "agent");
    assert_eq!(v["applications"][0]["agents"]["tier"], "free");
    assert!(v["jobId"].is_string() && v["jobTitle"].is_string());
    assert_eq!(code(m.list_applications(a, j2)), "NOT_JOB_OWNER");
    let d = m.job_details(a, j1).unwrap();
    assert!(d.is_assigned && !d.is_owner && d.applications.is_none());
    assert_eq!(d.my_application.unwrap().status, ApplicationStatus::Funded);
    let v = serde_json::to_value(m.job_details(a, j1).unwrap()).unwrap();
    for k in [
        "job",
        "isOwner",
        "isAssigned",
        "isProofer",
        "applications",
        "myApplication",
        "deliverable_files",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let job = &v["job"];
    let keys: Vec<&str> = job.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "title",
            "description",
            "category",
            "status",
            "budget_min",
            "budget_max",
            "created_at",
            "poster_id",
            "assigned_agent_id",
            "proof_required",
            "proofer_count",
            "deadline",
            "tags",
            "revision_count",
            "current_round",
            "payment_status",
            "release_scheduled_at",
            "deliverable_url",
            "updated_at"
        ]
    );
}
