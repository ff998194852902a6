//! The choice switches of the rules: each changes only its decision, and
//! only when switched on (the default is checked beside the switched one).

use super::*;

/// A marketplace with the given choices on.
fn with(choices: &[Choice]) -> Marketplace {
    let mut m = mp();
    m.set_choices(choices.iter().copied());
    m
}

/// Poster, agent and a proof job with `count` slots, hired (6000) and delivered.
fn pending_proof(m: &mut Marketplace, count: u32) -> (UserId, UserId, JobId) {
    let p = poster(m, 100_000);
    let a = agent(m);
    let job = post(m, p, true, count);
    hire(m, p, a, job, 6000);
    deliver(m, a, job);
    (p, a, job)
}

/// A no-proof job, hired (6000) and delivered.
fn delivered(m: &mut Marketplace, a: UserId) -> (UserId, JobId) {
    let p = poster(m, 100_000);
    let job = post(m, p, false, 0);
    hire(m, p, a, job, 6000);
    deliver(m, a, job);
    (p, job)
}

#[test]
fn every_choice_has_a_unique_name_that_parses_back() {
    for c in Choice::ALL {
        assert_eq!(Choice::parse(c.name()), Some(c));
    }
    assert_eq!(Choice::parse("other_codes"), None, "an HTTP-layer choice");
    let mut m = mp();
    m.set_choices([Choice::Statuses]);
    assert!(m.chooses(Choice::Statuses) && !m.chooses(Choice::Alternatives));
}

#[test]
fn alternatives_consensus_waits_for_every_vote() {
    for (choices, expected) in [(&[][..], Some(Verdict::Approved)), (&[Choice::Alternatives][..], None)] {
        let mut m = with(choices);
        let (p, _, job) = pending_proof(&mut m, 3);
        let prs = [proofer(&mut m), proofer(&mut m), proofer(&mut m)];
        staff_proofers(&mut m, p, job, &prs, 500);
        m.submit_verdict(prs[0], job, &scorecard("approved", 4)).unwrap();
        let second = m.submit_verdict(prs[1], job, &scorecard("approved", 4)).unwrap();
        assert_eq!(second.consensus, expected, "2 of 3 agree ({choices:?})");
        let third = m.submit_verdict(prs[2], job, &scorecard("rejected", 2)).unwrap();
        assert_eq!(third.consensus, Some(Verdict::Approved), "everyone voted");
    }
}

#[test]
fn alternatives_lock_proof_settings_in_pending_proof() {
    let lower = ProofSettingsPatch {
        proof_required: true,
        proofer_count: Some(1),
    };
    let off = ProofSettingsPatch {
        proof_required: false,
        proofer_count: None,
    };
    let mut m = mp();
    let (p, _, job) = pending_proof(&mut m, 2);
    assert_eq!(m.update_proof_settings(p, job, lower.clone()).unwrap().proofer_count, 1);
    let mut m = with(&[Choice::Alternatives]);
    let (p, _, job) = pending_proof(&mut m, 2);
    assert_eq!(code(m.update_proof_settings(p, job, lower)), "PROOF_SETTINGS_LOCKED");
    assert_eq!(code(m.update_proof_settings(p, job, off)), "PROOF_SETTINGS_LOCKED");
    assert!(!m.proof_settings(p, job).unwrap().can_modify);
    // Still editable before proofing.
    let open = post(&mut m, p, true, 2);
    let on = ProofSettingsPatch {
        proof_required: true,
        proofer_count: Some(3),
    };
    assert_eq!(m.update_proof_settings(p, open, on).unwrap().proofer_count, 3);
}

#[test]
fn alternatives_give_enterprise_agents_five_revisions() {
    for (choices, tier, limit) in [
        (&[][..], Tier::Enterprise, 3),
        (&[Choice::Alternatives][..], Tier::Enterprise, 5),
        (&[Choice::Alternatives][..], Tier::Pro, 3),
        (&[Choice::Alternatives][..], Tier::Free, 3),
    ] {
        let mut m = with(choices);
        let a = actor(&mut m, ActorRole::Agent, &["Research"], 0, tier);
        let (p, job) = delivered(&mut m, a);
        for _ in 0..limit {
            m.request_revision(p, job, None).unwrap();
            deliver(&mut m, a, job);
        }
        assert_eq!(
            code(m.request_revision(p, job, None)),
            "REVISION_LIMIT_REACHED",
            "{tier:?} {choices:?}"
        );
    }
}

#[test]
fn alternatives_let_proofers_keep_their_whole_bid() {
    for (choices, paid) in [(&[][..], 450), (&[Choice::Alternatives][..], 500)] {
        let mut m = with(choices);
        let (p, a, job) = pending_proof(&mut m, 1);
        let pr = proofer(&mut m);
        staff_proofers(&mut m, p, job, &[pr], 500);
        m.submit_verdict(pr, job, &scorecard("approved", 4)).unwrap();
        m.approve(p, job, false).unwrap();
        // Agents old enough for the 24 h cooldown under either choice set.
        m.advance_clock(15 * 86_400);
        assert_eq!(balance(&m, pr), paid, "{choices:?}");
        assert_eq!(balance(&m, a), 5400, "the agent's commission is unchanged");
        conserved(&m);
    }
}

#[test]
fn alternatives_size_file_limits_by_tier() {
    const MB: usize = 1024 * 1024;
    for (choices, tier, files, bytes) in [
        (&[][..], Tier::Enterprise, 20, 50 * MB),
        (&[Choice::Alternatives][..], Tier::Free, 20, 10 * MB),
        (&[Choice::Alternatives][..], Tier::Pro, 50, 50 * MB),
        (&[Choice::Alternatives][..], Tier::Enterprise, 100, 200 * MB),
    ] {
        let mut m = with(choices);
        let p = poster(&mut m, 100_000);
        let a = actor(&mut m, ActorRole::Agent, &["Research"], 0, tier);
        let job = post(&mut m, p, false, 0);
        hire(&mut m, p, a, job, 6000);
        m.acknowledge_nda(a, job).unwrap();
        assert_eq!(m.max_file_bytes(a), bytes, "{tier:?} {choices:?}");
        for i in 0..files {
            m.upload_deliverable(a, job, &format!("f{i}.txt"), b"x".to_vec())
                .unwrap();
        }
        assert_eq!(
            code(m.upload_deliverable(a, job, "one-more.txt", b"x".to_vec())),
            "FILE_LIMIT_REACHED",
            "{tier:?} {choices:?}"
        );
    }
    // The size check itself: a free agent's 11 MB file.
    let eleven = vec![0u8; 11 * MB];
    for (choices, refused) in [(&[][..], false), (&[Choice::Alternatives][..], true)] {
        let mut m = with(choices);
        let p = poster(&mut m, 100_000);
        let a = agent(&mut m);
        let job = post(&mut m, p, false, 0);
        hire(&mut m, p, a, job, 6000);
        m.acknowledge_nda(a, job).unwrap();
        let r = m.upload_deliverable(a, job, "big.zip", eleven.clone());
        assert_eq!(r.is_err(), refused, "{choices:?}");
        if refused {
            assert_eq!(code(r), "PAYLOAD_TOO_LARGE");
            assert_eq!(
                code(m.add_attachment(p, job, "big.zip", eleven.clone())),
                "PAYLOAD_TOO_LARGE"
            );
        }
    }
}

#[test]
fn alternatives_hide_the_agent_from_proofers() {
    for (choices, named) in [(&[][..], true), (&[Choice::Alternatives][..], false)] {
        let mut m = with(choices);
        let (_, _, job) = pending_proof(&mut m, 1);
        let pr = proofer(&mut m);
        let feed = m.proof_needed(pr).unwrap();
        assert_eq!(feed.jobs[0].id, job);
        assert_eq!(feed.jobs[0].agent_name.is_some(), named);
        let json = serde_json::to_value(&feed).unwrap();
        assert_eq!(json["jobs"][0].get("agent_name").is_some(), named, "{choices:?}");
    }
}

#[test]
fn alternatives_make_young_accounts_wait_fourteen_days() {
    let mut m = with(&[Choice::Alternatives]);
    let young = agent(&mut m);
    let (p, job) = delivered(&mut m, young);
    let r = m.approve(p, job, false).unwrap();
    assert_eq!(r.cooldown_hours, 336);
    assert_eq!(r.release_scheduled_at, m.now() + chrono::Duration::days(14));
    m.advance_clock(86_401);
    assert_eq!(balance(&m, young), 0, "not released after 24 h");
    m.advance_clock(13 * 86_400);
    assert_eq!(balance(&m, young), 5400, "released after 14 days");

    // An account 30 days old waits the usual 24 h.
    let old = agent(&mut m);
    m.advance_clock(30 * 86_400);
    let (p, job) = delivered(&mut m, old);
    assert_eq!(m.approve(p, job, false).unwrap().cooldown_hours, 24);
    // And without the choice a young account waits 24 h too.
    let mut m = mp();
    let young = agent(&mut m);
    let (p, job) = delivered(&mut m, young);
    assert_eq!(m.approve(p, job, false).unwrap().cooldown_hours, 24);
    conserved(&m);
}

#[test]
fn statuses_keep_an_approved_job_delivered_until_the_release() {
    let mut m = mp();
    let a = agent(&mut m);
    let (p, job) = delivered(&mut m, a);
    m.approve(p, job, false).unwrap();
    assert_eq!(m.get_job(job).unwrap().status, JobStatus::Completed, "default: at once");

    let mut m = with(&[Choice::Statuses]);
    let a = agent(&mut m);
    let (p, job) = delivered(&mut m, a);
    m.approve(p, job, false).unwrap();
    let j = m.get_job(job).unwrap();
    assert_eq!(
        (j.status, j.payment_status),
        (JobStatus::Delivered, PaymentStatus::PendingRelease)
    );
    // Approved: no second approve, revision, dispute or review yet.
    assert_eq!(code(m.approve(p, job, false)), "INVALID_STATE");
    assert_eq!(code(m.request_revision(p, job, None)), "INVALID_STATE");
    let dispute = DisputeInput {
        reason: "quality".into(),
        description: "The report misses half of the widget makers.".into(),
    };
    assert_eq!(code(m.dispute(p, job, dispute)), "INVALID_STATE");
    let review = || ReviewInput {
        rating: 5,
        comment: None,
    };
    assert_eq!(code(m.review(p, job, review())), "INVALID_STATE");
    assert_eq!(
        m.hold_payment(p, job, "Checking one more thing.").unwrap().status,
        JobStatus::Delivered
    );
    // A held payment is not released and the job stays delivered.
    m.advance_clock(86_401);
    assert_eq!(m.get_job(job).unwrap().status, JobStatus::Delivered);

    let b = agent(&mut m);
    let (p, job) = delivered(&mut m, b);
    m.approve(p, job, false).unwrap();
    m.advance_clock(86_401);
    let j = m.get_job(job).unwrap();
    assert_eq!(
        (j.status, j.payment_status),
        (JobStatus::Completed, PaymentStatus::Released)
    );
    m.review(p, job, review()).unwrap();
    conserved(&m);
}

#[test]
fn statuses_keep_an_overridden_proof_job_in_pending_proof() {
    let mut m = with(&[Choice::Statuses]);
    let (p, _, job) = pending_proof(&mut m, 1);
    let pr = proofer(&mut m);
    let papp = apply(&mut m, pr, job, 500);
    m.approve(p, job, true).unwrap();
    assert_eq!(m.get_job(job).unwrap().status, JobStatus::PendingProof);
    // Proofing is over for this job.
    assert_eq!(code(m.accept_proofer(p, job, papp)), "INVALID_STATE");
    assert_eq!(code(m.fund_proof_escrow(p, job)), "INVALID_STATE");
    assert!(m.proof_needed(pr).unwrap().jobs.is_empty());
    let late = proofer(&mut m);
    m.acknowledge_nda(late, job).unwrap();
    assert_eq!(code(m.apply(late, job, apply_input(500))), "INVALID_STATE");
    let patch = ProofSettingsPatch {
        proof_required: false,
        proofer_count: None,
    };
    assert_eq!(code(m.update_proof_settings(p, job, patch)), "PROOF_SETTINGS_LOCKED");
    m.advance_clock(86_401);
    assert_eq!(m.get_job(job).unwrap().status, JobStatus::Completed);
    conserved(&m);
}

#[test]
fn statuses_move_the_job_on_a_revision_or_rejection_consensus() {
    for (verdict, default_to, switched_to) in [
        ("needs_revision", JobStatus::PendingProof, JobStatus::InProgress),
        ("rejected", JobStatus::PendingProof, JobStatus::Disputed),
        ("approved", JobStatus::PendingProof, JobStatus::PendingProof),
    ] {
        for (choices, to) in [(&[][..], default_to), (&[Choice::Statuses][..], switched_to)] {
            let mut m = with(choices);
            let (p, a, job) = pending_proof(&mut m, 1);
            let pr = proofer(&mut m);
            staff_proofers(&mut m, p, job, &[pr], 500);
            let mut body = scorecard(verdict, 3);
            if verdict == "needs_revision" {
                body["revision_items"] =
                    json!([{"category": "accuracy", "description": "Prices are out of date.", "priority": "high"}]);
            }
            m.submit_verdict(pr, job, &body).unwrap();
            let j = m.get_job(job).unwrap();
            assert_eq!(j.status, to, "{verdict} {choices:?}");
            assert!(j.history.iter().all(|(f, t)| f.can_become(*t)), "{:?}", j.history);
            if to == JobStatus::InProgress {
                // The next delivery opens round 2 with the same proofer.
                deliver(&mut m, a, job);
                let j = m.get_job(job).unwrap();
                assert_eq!((j.status, j.current_round), (JobStatus::PendingProof, 2));
                m.submit_verdict(pr, job, &scorecard("approved", 5)).unwrap();
            }
            conserved(&m);
        }
    }
}

#[test]
fn reject_others_on_hire_rejects_at_accept_instead_of_at_funding() {
    for (choices, rejected_at_accept) in [(&[][..], false), (&[Choice::RejectOthersOnHire][..], true)] {
        let mut m = with(choices);
        let p = poster(&mut m, 100_000);
        let (a, b, c) = (agent(&mut m), agent(&mut m), agent(&mut m));
        let job = post(&mut m, p, false, 0);
        let hired = apply(&mut m, a, job, 6000);
        let other = apply(&mut m, b, job, 5000);
        let third = apply(&mut m, c, job, 5500);
        m.drain_events();
        m.accept_application(p, job, hired).unwrap();
        let status = |m: &mut Marketplace, app| {
            let list = m.list_applications(p, job).unwrap();
            list.applications
                .iter()
                .find(|r| r.application.id == app)
                .unwrap()
                .application
                .status
        };
        let want = if rejected_at_accept {
            ApplicationStatus::Rejected
        } else {
            ApplicationStatus::Pending
        };
        assert_eq!(
            (status(&mut m, other), status(&mut m, third)),
            (want, want),
            "{choices:?}"
        );
        let updates = events_of(&mut m, "application.update");
        let to: Vec<UserId> = updates.iter().map(|e| e.recipient).collect();
        if rejected_at_accept {
            assert_eq!(to, [a, b, c]);
            assert_eq!(updates[1].payload["status"], "rejected");
        } else {
            assert_eq!(to, [a]);
        }
        m.fund_escrow(p, job, hired, true).unwrap();
        assert_eq!(
            status(&mut m, other),
            ApplicationStatus::Rejected,
            "after funding either way"
        );
        let later = events_of(&mut m, "application.update");
        assert_eq!(
            later.len(),
            if rejected_at_accept { 1 } else { 3 },
            "funded, plus the rejections"
        );
    }
}
