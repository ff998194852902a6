//! Happy paths and money: no proof, 1/2/3 proofers, tiers, release rules, files, messages.

use super::*;

#[test]
fn full_flow_without_proof_pays_the_agent_after_cooldown() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let loser = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let app = apply(&mut m, a, job, 5000);
    let other = apply(&mut m, loser, job, 4000);
    m.drain_events();
    m.accept_application(p, job, app).unwrap();
    let j = m.get_job(job).unwrap();
    assert_eq!((j.status, j.assigned_agent_id), (JobStatus::PendingEscrow, Some(a)));
    assert_eq!(
        m.applications[&other].status,
        ApplicationStatus::Pending,
        "others stay pending until funding"
    );
    let f = m.fund_escrow(p, job, app, true).unwrap();
    assert_eq!((f.success, f.funded_from, f.total_charge), (true, "wallet", 5000));
    assert_eq!(balance(&m, p), 95_000);
    assert_eq!(m.get_job(job).unwrap().status, JobStatus::InProgress);
    assert_eq!(m.applications[&other].status, ApplicationStatus::Rejected);
    let ev = events_of(&mut m, "application.update");
    let st: Vec<(UserId, &str)> = ev
        .iter()
        .map(|e| (e.recipient, e.payload["status"].as_str().unwrap()))
        .collect();
    assert_eq!(st, [(a, "accepted"), (a, "funded"), (loser, "rejected")]);
    assert_eq!(deliver(&mut m, a, job).status, JobStatus::Delivered);
    let r = m.approve(p, job, false).unwrap();
    assert_eq!(r.cooldown_hours, 24);
    assert_eq!(r.release_scheduled_at, t0() + chrono::Duration::hours(24));
    let j = m.get_job(job).unwrap();
    assert_eq!(
        (j.status, j.payment_status),
        (JobStatus::Completed, PaymentStatus::PendingRelease)
    );
    m.advance_clock(24 * 3600 - 1);
    assert_eq!(balance(&m, a), 0);
    m.advance_clock(1);
    assert_eq!(balance(&m, a), 4500);
    assert_eq!(m.platform_fees(), 500);
    assert_eq!(m.get_job(job).unwrap().payment_status, PaymentStatus::Released);
    let paid = events_of(&mut m, "payment.released");
    assert_eq!(paid.len(), 1);
    assert_eq!(
        (
            paid[0].payload["amount_cents"].as_i64(),
            paid[0].payload["role"].as_str()
        ),
        (Some(4500), Some("agent"))
    );
    assert_eq!(m.user_view(a).unwrap().completed_jobs, 1);
    conserved(&m);
    assert_eq!(m.total_money(), 100_000);
}

#[test]
fn commission_follows_the_agent_tier_and_rounds_half_up() {
    for (tier, price, payout) in [
        (Tier::Free, 1015, 913),
        (Tier::Pro, 1050, 976),
        (Tier::Enterprise, 1010, 959),
    ] {
        let mut m = mp();
        let p = poster(&mut m, 10_000);
        let a = actor(&mut m, ActorRole::Agent, &["Research"], 0, tier);
        let job = post(&mut m, p, false, 0);
        hire(&mut m, p, a, job, price);
        deliver(&mut m, a, job);
        m.approve(p, job, false).unwrap();
        m.advance_clock(86_400);
        assert_eq!(balance(&m, a), payout, "{tier:?}");
        assert_eq!(m.platform_fees(), price - payout);
        conserved(&m);
    }
}

fn proof_flow(n: usize, bids: &[i64]) {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let prs: Vec<UserId> = (0..n).map(|_| proofer(&mut m)).collect();
    let job = post(&mut m, p, true, n as u32);
    hire(&mut m, p, a, job, 6000);
    assert_eq!(deliver(&mut m, a, job).status, JobStatus::PendingProof);
    let needed = m.proof_needed(prs[0]).unwrap();
    assert_eq!(
        (needed.count, needed.jobs[0].slots_total, needed.jobs[0].slots_available),
        (1, n as u32, n as u32)
    );
    let mut apps = Vec::new();
    for (pr, bid) in prs.iter().zip(bids) {
        apps.push(apply(&mut m, *pr, job, *bid));
    }
    assert!(m.proof_needed(prs[0]).unwrap().jobs[0].already_applied);
    for (i, app) in apps.iter().enumerate() {
        let s = m.accept_proofer(p, job, *app).unwrap();
        assert_eq!((s.slots_filled, s.all_filled), (i as u32 + 1, i + 1 == n));
    }
    m.drain_events();
    let fr = m.fund_proof_escrow(p, job).unwrap();
    let total: i64 = bids.iter().sum();
    assert_eq!(fr.total_proof_fee, total);
    assert_eq!(balance(&m, p), 100_000 - 6000 - total);
    assert_eq!(events_of(&mut m, "proof.assigned").len(), n);
    let need = n / 2 + 1;
    for (i, pr) in prs.iter().enumerate() {
        let r = m.submit_verdict(*pr, job, &scorecard("approved", 4)).unwrap();
        assert_eq!(r.proof.score, 80);
        let expect = (i + 1 >= need).then_some(Verdict::Approved);
        assert_eq!(r.consensus, expect, "after {} of {n}", i + 1);
    }
    m.approve(p, job, false).unwrap();
    m.advance_clock(86_400);
    assert_eq!(balance(&m, a), 5400);
    let fees: i64 = bids.iter().map(|b| money::proofer_fee(*b)).sum();
    for (pr, bid) in prs.iter().zip(bids) {
        assert_eq!(balance(&m, *pr), bid - money::proofer_fee(*bid));
    }
    assert_eq!(m.platform_fees(), 600 + fees);
    let paid = events_of(&mut m, "payment.released");
    assert_eq!(paid.len(), n + 1);
    assert_eq!(paid.iter().filter(|e| e.payload["role"] == "proofer").count(), n);
    conserved(&m);
}

#[test]
fn proof_flow_with_one_two_and_three_proofers() {
    proof_flow(1, &[500]);
    proof_flow(2, &[500, 1005]);
    proof_flow(3, &[300, 400, 5000]);
}

#[test]
fn release_waits_for_stripe_and_hold_stops_it() {
    let mut m = mp();
    let p = poster(&mut m, 10_000);
    let a = agent(&mut m);
    m.set_user_flags(
        a,
        UserFlags {
            stripe_connected: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    let job = post(&mut m, p, false, 0);
    hire(&mut m, p, a, job, 1000);
    deliver(&mut m, a, job);
    m.approve(p, job, false).unwrap();
    m.advance_clock(2 * 86_400);
    assert_eq!(m.get_job(job).unwrap().payment_status, PaymentStatus::PendingRelease);
    m.set_user_flags(
        a,
        UserFlags {
            stripe_connected: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(m.get_job(job).unwrap().payment_status, PaymentStatus::Released);
    assert_eq!(balance(&m, a), 900);

    let job2 = post(&mut m, p, false, 0);
    hire(&mut m, p, a, job2, 1000);
    assert_eq!(code(m.hold_payment(p, job2, "not yet approved")), "INVALID_STATE");
    deliver(&mut m, a, job2);
    m.approve(p, job2, false).unwrap();
    assert_eq!(code(m.hold_payment(p, job2, "short")), "VALIDATION_FAILED");
    assert_eq!(code(m.hold_payment(a, job2, "I am not the poster")), "NOT_JOB_OWNER");
    m.hold_payment(p, job2, "The report has wrong numbers.").unwrap();
    assert_eq!(
        code(m.hold_payment(p, job2, "The report has wrong numbers.")),
        "INVALID_STATE"
    );
    m.advance_clock(3 * 86_400);
    assert_eq!(m.get_job(job2).unwrap().payment_status, PaymentStatus::OnHold);
    assert_eq!(balance(&m, a), 900);
    conserved(&m);
}

#[test]
fn card_path_returns_a_client_secret_and_funds_nothing() {
    let mut m = mp();
    let p = poster(&mut m, 0);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let app = apply(&mut m, a, job, 7500);
    m.accept_application(p, job, app).unwrap();
    let f = m.fund_escrow(p, job, app, false).unwrap();
    assert_eq!((f.funded_from, f.total_charge), ("card", 7963));
    assert!(f.client_secret.unwrap().contains("_secret_"));
    assert_eq!(m.get_job(job).unwrap().status, JobStatus::PendingEscrow);
    let e = m.fund_escrow(p, job, app, true).unwrap_err();
    assert_eq!(e.code(), "INSUFFICIENT_BALANCE");
    assert_eq!(
        (e.body()["balance"].as_i64(), e.body()["required_cents"].as_i64()),
        (Some(0), Some(7500))
    );
}

#[test]
fn revisions_cancel_dispute_review() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    hire(&mut m, p, a, job, 1000);
    for i in 1..=3 {
        deliver(&mut m, a, job);
        let r = m.request_revision(p, job, Some("more sources")).unwrap();
        assert_eq!(r.status, JobStatus::InProgress);
        assert_eq!(m.get_job(job).unwrap().revision_count, i);
    }
    assert_eq!(code(m.request_revision(p, job, None)), "INVALID_STATE");
    deliver(&mut m, a, job);
    assert_eq!(code(m.request_revision(p, job, None)), "REVISION_LIMIT_REACHED");
    assert_eq!(code(m.cancel(p, job)), "INVALID_STATE");
    assert_eq!(
        code(m.review(
            p,
            job,
            ReviewInput {
                rating: 5,
                comment: None
            }
        )),
        "INVALID_STATE"
    );
    m.approve(p, job, false).unwrap();
    m.review(
        p,
        job,
        ReviewInput {
            rating: 4,
            comment: Some("good".into()),
        },
    )
    .unwrap();
    assert_eq!(
        code(m.review(
            p,
            job,
            ReviewInput {
                rating: 5,
                comment: None
            }
        )),
        "ALREADY_REVIEWED"
    );
    assert_eq!(m.user_view(a).unwrap().rating, 4.0);

    let open = post(&mut m, p, false, 0);
    let app = apply(&mut m, a, open, 500);
    assert_eq!(m.cancel(p, open).unwrap().status, JobStatus::Cancelled);
    assert_eq!(m.applications[&app].status, ApplicationStatus::Rejected);

    let d = post(&mut m, p, false, 0);
    hire(&mut m, p, a, d, 500);
    let outsider = agent(&mut m);
    let din = DisputeInput {
        reason: "quality".into(),
        description: "The work does not match the brief.".into(),
    };
    assert_eq!(code(m.dispute(outsider, d, din.clone())), "ACKNOWLEDGMENT_REQUIRED");
    m.acknowledge_nda(outsider, d).unwrap();
    assert_eq!(code(m.dispute(outsider, d, din.clone())), "NOT_PARTICIPANT");
    let short = DisputeInput {
        reason: "meh".into(),
        description: "short".into(),
    };
    assert_eq!(code(m.dispute(a, d, short)), "VALIDATION_FAILED");
    assert_eq!(m.dispute(a, d, din.clone()).unwrap().status, JobStatus::Disputed);
    assert_eq!(code(m.dispute(p, d, din)), "INVALID_STATE");
    conserved(&m);
}

#[test]
fn files_attachments_deliverables_and_signed_links() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let outsider = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let other_job = post(&mut m, p, false, 0);
    let att = m.add_attachment(p, job, "brief.pdf", b"brief".to_vec()).unwrap();
    assert!(att.file_path.starts_with(&format!("{job}/attachments/")));
    assert_eq!(code(m.add_attachment(a, job, "x.pdf", vec![])), "NOT_JOB_OWNER");
    assert_eq!(
        code(m.upload_deliverable(a, job, "r.pdf", vec![1])),
        "ACKNOWLEDGMENT_REQUIRED"
    );
    hire(&mut m, p, a, job, 1000);
    let f = m.upload_deliverable(a, job, "report.pdf", b"report".to_vec()).unwrap();
    assert!(f.file_path.starts_with(&format!("{job}/deliverables/{a}/")));
    assert_eq!(
        code(m.upload_deliverable(a, job, "run.EXE", vec![1])),
        "FILE_TYPE_NOT_ALLOWED"
    );
    assert_eq!(
        code(m.upload_deliverable(a, job, "big.zip", vec![0; file::MAX_FILE_BYTES + 1])),
        "PAYLOAD_TOO_LARGE"
    );
    m.acknowledge_nda(outsider, job).unwrap();
    assert_eq!(
        code(m.upload_deliverable(outsider, job, "r.pdf", vec![1])),
        "NOT_ASSIGNED_AGENT"
    );
    for i in 1..20 {
        m.upload_deliverable(a, job, &format!("part{i}.txt"), vec![1]).unwrap();
    }
    assert_eq!(
        code(m.upload_deliverable(a, job, "part21.txt", vec![1])),
        "FILE_LIMIT_REACHED"
    );
    // attachments: anyone with the NDA; deliverables: participants only
    assert_eq!(m.list_attachments(outsider, job).unwrap().attachments.len(), 1);
    m.download_link(outsider, job, &att.file_path).unwrap();
    assert_eq!(code(m.download_link(outsider, job, &f.file_path)), "NOT_PARTICIPANT");
    assert_eq!(code(m.download_link(p, other_job, &f.file_path)), "NOT_FOUND");
    assert_eq!(code(m.download_link(p, job, "nope")), "NOT_FOUND");
    let link = m.download_link(p, job, &f.file_path).unwrap();
    assert_eq!(link.expires_in, 3600);
    let token = link.signed_url.rsplit('/').next().unwrap().to_string();
    assert_eq!(m.resolve_download(&token).unwrap().bytes, b"report");
    let d = m.job_details(p, job).unwrap();
    assert_eq!(d.deliverable_files.as_ref().unwrap().len(), 20);
    assert!(m.job_details(outsider, job).unwrap().deliverable_files.is_none());
    m.advance_clock(3600);
    assert_eq!(code(m.resolve_download(&token)), "LINK_EXPIRED");
    assert_eq!(code(m.resolve_download("unknown")), "NOT_FOUND");
    // downloads: 30 per hour per user per job
    for _ in 0..30 {
        m.download_link(p, job, &f.file_path).unwrap();
    }
    let e = m.download_link(p, job, &f.file_path).unwrap_err();
    assert_eq!(e.code(), "RATE_LIMITED");
    m.download_link(a, job, &f.file_path).unwrap();
    m.set_base_url("http://127.0.0.1:9/");
    m.advance_clock(3600);
    assert!(
        m.download_link(p, job, &f.file_path)
            .unwrap()
            .signed_url
            .starts_with("http://127.0.0.1:9/files/")
    );
}

#[test]
fn messages_between_participants() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let pr = proofer(&mut m);
    let outsider = agent(&mut m);
    let job = post(&mut m, p, true, 1);
    hire(&mut m, p, a, job, 1000);
    m.drain_events();
    let msg = |t: &str| MessageInput {
        message: t.into(),
        ..Default::default()
    };
    m.post_message(p, job, msg("hello agent")).unwrap();
    let ev = events_of(&mut m, "job.message");
    assert_eq!(ev.iter().map(|e| e.recipient).collect::<Vec<_>>(), [a]);
    assert_eq!(ev[0].payload["message"], "hello agent");
    m.acknowledge_nda(outsider, job).unwrap();
    assert_eq!(code(m.list_messages(outsider, job)), "NOT_PARTICIPANT");
    assert_eq!(code(m.list_messages(pr, job)), "ACKNOWLEDGMENT_REQUIRED");
    deliver(&mut m, a, job);
    let app = apply(&mut m, pr, job, 100);
    assert_eq!(code(m.list_messages(pr, job)), "NOT_PARTICIPANT");
    m.accept_proofer(p, job, app).unwrap();
    m.drain_events();
    m.post_message(a, job, msg("hi all")).unwrap();
    let mut to: Vec<UserId> = events_of(&mut m, "job.message").iter().map(|e| e.recipient).collect();
    to.sort();
    let mut want = vec![p, pr];
    want.sort();
    assert_eq!(to, want);
    let list = m.list_messages(pr, job).unwrap();
    assert_eq!(list.messages.len(), 2);
    assert_eq!(list.messages[1].message_type, "message");
    assert_eq!(code(m.post_message(p, job, msg("   "))), "VALIDATION_FAILED");
}
