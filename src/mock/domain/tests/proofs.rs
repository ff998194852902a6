//! Proofing: settings windows, slots, proof escrow, verdict validation, consensus, blind views, trends.

use super::*;

struct Setup {
    m: Marketplace,
    p: UserId,
    a: UserId,
    job: JobId,
}

/// A proof job with `count` slots, hired and delivered (pending_proof).
fn delivered(count: u32) -> Setup {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let job = post(&mut m, p, true, count);
    hire(&mut m, p, a, job, 6000);
    deliver(&mut m, a, job);
    Setup { m, p, a, job }
}

#[test]
fn proof_settings_windows() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let s = m.proof_settings(p, job).unwrap();
    assert!(s.can_modify && !s.proof_required && s.proofer_count == 0);
    assert_eq!(code(m.proof_settings(a, job)), "NOT_JOB_OWNER");
    let on = |c| ProofSettingsPatch {
        proof_required: true,
        proofer_count: Some(c),
    };
    let off = ProofSettingsPatch {
        proof_required: false,
        proofer_count: None,
    };
    assert_eq!(m.update_proof_settings(p, job, on(3)).unwrap().proofer_count, 3);
    assert_eq!(
        code(m.update_proof_settings(
            p,
            job,
            ProofSettingsPatch {
                proof_required: true,
                proofer_count: None
            }
        )),
        "VALIDATION_FAILED"
    );
    assert_eq!(
        code(ProofSettingsPatch::from_json(
            &json!({"proof_required": true, "proofer_count": 4})
        )),
        "VALIDATION_FAILED"
    );
    assert_eq!(
        code(ProofSettingsPatch::from_json(&json!({"proofer_count": 1}))),
        "VALIDATION_FAILED"
    );
    let app = apply(&mut m, a, job, 6000);
    m.accept_application(p, job, app).unwrap();
    assert_eq!(m.update_proof_settings(p, job, on(2)).unwrap().proofer_count, 2);
    m.fund_escrow(p, job, app, true).unwrap();
    let s = m.proof_settings(p, job).unwrap();
    assert!(!s.can_modify);
    assert_eq!(code(m.update_proof_settings(p, job, on(1))), "PROOF_SETTINGS_LOCKED");
    deliver(&mut m, a, job);
    // pending_proof: lower only, never below accepted, never up
    assert!(!m.proof_settings(p, job).unwrap().can_modify);
    assert_eq!(code(m.update_proof_settings(p, job, on(3))), "PROOF_SETTINGS_LOCKED");
    let pr = proofer(&mut m);
    let papp = apply(&mut m, pr, job, 100);
    m.accept_proofer(p, job, papp).unwrap();
    let pr2 = proofer(&mut m);
    let papp2 = apply(&mut m, pr2, job, 100);
    m.accept_proofer(p, job, papp2).unwrap();
    assert_eq!(code(m.update_proof_settings(p, job, on(1))), "PROOF_SETTINGS_LOCKED");
    assert_eq!(m.update_proof_settings(p, job, on(2)).unwrap().proofer_count, 2);
    m.fund_proof_escrow(p, job).unwrap();
    assert_eq!(balance(&m, p), 100_000 - 6000 - 200);
    // turning proof off refunds the proof escrow and moves the job to delivered
    let s = m.update_proof_settings(p, job, off).unwrap();
    assert_eq!(
        (s.status, s.proof_required, s.proofer_count),
        (JobStatus::Delivered, false, 0)
    );
    assert_eq!(balance(&m, p), 100_000 - 6000);
    assert_eq!(m.applications[&papp].status, ApplicationStatus::Rejected);
    m.approve(p, job, false).unwrap();
    assert_eq!(code(m.update_proof_settings(p, job, on(1))), "PROOF_SETTINGS_LOCKED");
    conserved(&m);
}

#[test]
fn lowering_proofer_count_in_pending_proof() {
    let Setup { mut m, p, job, .. } = delivered(3);
    let pr = proofer(&mut m);
    let app = apply(&mut m, pr, job, 100);
    m.accept_proofer(p, job, app).unwrap();
    let e = m.fund_proof_escrow(p, job).unwrap_err();
    assert_eq!(e.code(), "PROOFER_COUNT_MISMATCH");
    assert_eq!(
        (e.body()["accepted"].as_u64(), e.body()["required"].as_u64()),
        (Some(1), Some(3))
    );
    assert!(
        e.message()
            .contains("requires 3 proofer(s) but only 1 have been accepted")
    );
    let s = m
        .update_proof_settings(
            p,
            job,
            ProofSettingsPatch {
                proof_required: true,
                proofer_count: Some(1),
            },
        )
        .unwrap();
    assert_eq!(s.proofer_count, 1);
    m.fund_proof_escrow(p, job).unwrap();
    let e = m.fund_proof_escrow(p, job).unwrap_err();
    assert_eq!(
        e.code(),
        "RATE_LIMITED",
        "fund-escrow and fund-proof-escrow share the 3/min burst"
    );
    m.advance_clock(60);
    assert_eq!(code(m.fund_proof_escrow(p, job)), "INVALID_STATE");
    conserved(&m);
}

#[test]
fn slots_application_types_and_conflicts() {
    let Setup { mut m, p, a, job } = delivered(1);
    let prs: Vec<UserId> = (0..2).map(|_| proofer(&mut m)).collect();
    let apps: Vec<ApplicationId> = prs.iter().map(|pr| apply(&mut m, *pr, job, 100)).collect();
    assert_eq!(m.applications[&apps[0]].application_type, ApplicationType::Proof);
    assert_eq!(code(m.accept_application(p, job, apps[0])), "WRONG_APPLICATION_TYPE");
    m.accept_proofer(p, job, apps[0]).unwrap();
    assert_eq!(code(m.accept_proofer(p, job, apps[0])), "APPLICATION_NOT_PENDING");
    let e = m.accept_proofer(p, job, apps[1]).unwrap_err();
    assert_eq!(
        (e.code(), e.message().as_str()),
        ("SLOTS_FULL", "All proofer slots are filled")
    );
    assert_eq!(code(m.accept_proofer(a, job, apps[1])), "NOT_JOB_OWNER");
    assert_eq!(code(m.accept_proofer(p, job, uuid::Uuid::new_v4())), "NOT_FOUND");
    // the hired agent cannot proof; an unregistered user neither; bids ≤ 50% of budget_max
    assert_eq!(code(m.apply(a, job, apply_input(100))), "CONFLICT_OF_INTEREST");
    let plain = agent(&mut m);
    m.acknowledge_nda(plain, job).unwrap();
    assert_eq!(code(m.apply(plain, job, apply_input(100))), "PROOFER_NOT_REGISTERED");
    let greedy = proofer(&mut m);
    m.acknowledge_nda(greedy, job).unwrap();
    assert_eq!(code(m.apply(greedy, job, apply_input(5001))), "VALIDATION_FAILED");
    m.apply(greedy, job, apply_input(5000)).unwrap();
    assert_eq!(code(m.apply(greedy, job, apply_input(5000))), "ALREADY_APPLIED");
    // accepting an agent application with accept-proofer
    let open = post(&mut m, p, true, 1);
    let agent_app = apply(&mut m, plain, open, 500);
    assert_eq!(code(m.accept_proofer(p, open, agent_app)), "WRONG_APPLICATION_TYPE");
}

#[test]
fn verdict_refusals_and_validation() {
    let Setup { mut m, p, a, job } = delivered(2);
    let prs: Vec<UserId> = (0..2).map(|_| proofer(&mut m)).collect();
    let outsider = proofer(&mut m);
    assert_eq!(
        code(m.submit_verdict(outsider, job, &scorecard("approved", 5))),
        "ACKNOWLEDGMENT_REQUIRED"
    );
    m.acknowledge_nda(outsider, job).unwrap();
    assert_eq!(
        code(m.submit_verdict(outsider, job, &scorecard("approved", 5))),
        "NOT_ASSIGNED_PROOFER"
    );
    let apps: Vec<ApplicationId> = prs.iter().map(|pr| apply(&mut m, *pr, job, 100)).collect();
    for app in &apps {
        m.accept_proofer(p, job, *app).unwrap();
    }
    assert_eq!(
        code(m.submit_verdict(prs[0], job, &scorecard("approved", 5))),
        "NOT_ASSIGNED_PROOFER",
        "not before funding"
    );
    m.fund_proof_escrow(p, job).unwrap();
    let mut bad = scorecard("approved", 5);
    bad["scorecard"]["accuracy"]["comments"] = json!("too short");
    bad["scorecard"]["quality"]["rating"] = json!(6);
    bad["scorecard"].as_object_mut().unwrap().remove("methodology");
    bad["evidence_summary"] = json!("brief");
    let DomainError::ValidationFailed { details, .. } = m.submit_verdict(prs[0], job, &bad).unwrap_err() else {
        panic!()
    };
    let fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "scorecard.accuracy.comments",
            "scorecard.methodology",
            "scorecard.quality.rating",
            "evidence_summary"
        ]
    );
    let mut nr = scorecard("needs_revision", 2);
    nr.as_object_mut().unwrap().remove("revision_items");
    assert_eq!(
        m.submit_verdict(prs[0], job, &nr).unwrap_err().body()["details"][0]["field"],
        "revision_items"
    );
    nr["revision_items"] = json!([{"category": "style", "description": "short", "priority": "urgent"}]);
    let e = m.submit_verdict(prs[0], job, &nr).unwrap_err();
    let fields: Vec<String> = e.body()["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "revision_items[0].category",
            "revision_items[0].description",
            "revision_items[0].priority"
        ]
    );
    assert_eq!(
        code(m.submit_verdict(prs[0], job, &json!({"verdict": "maybe"}))),
        "VALIDATION_FAILED"
    );
    // legacy format
    assert_eq!(
        code(m.submit_verdict(
            prs[0],
            job,
            &json!({"verdict": "approved", "feedback": "fine work", "score": 0})
        )),
        "VALIDATION_FAILED"
    );
    let r = m
        .submit_verdict(
            prs[0],
            job,
            &json!({"verdict": "approved", "feedback": "Looks complete.", "score": 88}),
        )
        .unwrap();
    assert_eq!((r.proof.score, r.proof.format, r.consensus), (88, "legacy", None));
    assert_eq!(
        code(m.submit_verdict(prs[0], job, &scorecard("approved", 5))),
        "VERDICT_ALREADY_SUBMITTED"
    );
    assert_eq!(code(m.approve(p, job, false)), "PROOF_INCOMPLETE");
    let r = m.submit_verdict(prs[1], job, &scorecard("rejected", 1)).unwrap();
    assert_eq!(
        (r.proof.score, r.consensus),
        (20, Some(Verdict::NeedsRevision)),
        "1-1 split → needs_revision"
    );
    assert_eq!(code(m.approve(p, job, false)), "PROOF_INCOMPLETE");
    assert_eq!(code(m.approve(a, job, true)), "NOT_JOB_OWNER");
    m.approve(p, job, true).unwrap();
    assert_eq!(
        code(m.submit_verdict(prs[0], job, &scorecard("approved", 5))),
        "INVALID_STATE"
    );
    m.advance_clock(86_400);
    assert_eq!(balance(&m, prs[0]), 90);
    conserved(&m);
}

fn consensus_of(votes: &[&str]) -> Vec<Option<Verdict>> {
    let Setup { mut m, p, job, .. } = delivered(votes.len() as u32);
    let prs: Vec<UserId> = votes.iter().map(|_| proofer(&mut m)).collect();
    staff_proofers(&mut m, p, job, &prs, 100);
    prs.iter()
        .zip(votes)
        .map(|(pr, v)| m.submit_verdict(*pr, job, &scorecard(v, 3)).unwrap().consensus)
        .collect()
}

#[test]
fn consensus_outcomes() {
    use Verdict::*;
    assert_eq!(consensus_of(&["rejected"]), [Some(Rejected)]);
    assert_eq!(consensus_of(&["approved", "approved"]), [None, Some(Approved)]);
    assert_eq!(
        consensus_of(&["approved", "needs_revision"]),
        [None, Some(NeedsRevision)]
    );
    assert_eq!(
        consensus_of(&["approved", "approved", "rejected"]),
        [None, Some(Approved), Some(Approved)]
    );
    assert_eq!(
        consensus_of(&["approved", "rejected", "rejected"]),
        [None, None, Some(Rejected)]
    );
    assert_eq!(
        consensus_of(&["approved", "rejected", "needs_revision"]),
        [None, None, Some(NeedsRevision)]
    );
}

#[test]
fn blind_review_views() {
    let Setup { mut m, p, a, job } = delivered(2);
    let prs: Vec<UserId> = (0..2).map(|_| proofer(&mut m)).collect();
    let outsider = agent(&mut m);
    staff_proofers(&mut m, p, job, &prs, 100);
    m.submit_verdict(prs[0], job, &scorecard("approved", 5)).unwrap();

    let v = m.proofs_view(p, job).unwrap();
    assert_eq!(
        (
            v.viewer_role,
            v.blind_review_active,
            v.proofs.len(),
            v.assignments.len()
        ),
        ("poster", false, 1, 2)
    );
    assert_eq!(v.summary.total_submitted, Some(1));
    assert!(v.proofs[0].agent_feedback.is_none());
    let json = serde_json::to_value(&v).unwrap();
    assert!(json["proofs"][0].get("agent_feedback").is_none());
    assert!(json["proofs"][0]["revision_items"].is_array());

    let v = m.proofs_view(prs[1], job).unwrap();
    assert_eq!((v.viewer_role, v.blind_review_active), ("proofer_pending", true));
    assert_eq!(v.assignments.len(), 1);
    assert_eq!(v.assignments[0].proofer_agent_id, prs[1]);
    assert!(
        v.proofs.is_empty()
            && v.summary.total_submitted.is_none()
            && v.summary.verdict_counts.is_none()
            && v.summary.avg_score.is_none()
    );
    assert!(!v.summary.complete);

    let v = m.proofs_view(prs[0], job).unwrap();
    assert_eq!(
        (v.viewer_role, v.blind_review_active, v.proofs.len()),
        ("proofer_submitted", false, 1)
    );
    assert_eq!(
        v.proofs[0].agent_feedback.as_deref(),
        Some("Cite your sources next time."),
        "own feedback visible"
    );

    let v = m.proofs_view(a, job).unwrap();
    assert_eq!(
        (v.viewer_role, v.summary.total_assigned, v.summary.total_submitted),
        ("agent", 2, Some(1))
    );
    assert!(v.proofs.is_empty() && v.summary.verdict_counts.is_none() && v.summary.avg_score.is_none());

    assert_eq!(code(m.proofs_view(outsider, job)), "NOT_PARTICIPANT");

    let mut second = scorecard("approved", 4);
    second["agent_feedback"] = json!("Great structure.");
    m.submit_verdict(prs[1], job, &second).unwrap();
    let v = m.proofs_view(prs[0], job).unwrap();
    let fb: Vec<Option<&str>> = v.proofs.iter().map(|p| p.agent_feedback.as_deref()).collect();
    assert_eq!(
        fb,
        [Some("Cite your sources next time."), None],
        "others' agent_feedback hidden"
    );
    let v = m.proofs_view(a, job).unwrap();
    assert_eq!(v.consensus, Some(Verdict::Approved));
    assert_eq!(v.proofs.len(), 2);
    assert!(v.proofs.iter().all(|p| p.agent_feedback.is_some()));
    assert_eq!(v.summary.avg_score, Some(90));
    assert!(v.summary.complete);
}

#[test]
fn revision_rounds_reassign_funded_proofers_and_feed_trends() {
    let Setup { mut m, p, a, job } = delivered(1);
    let pr = proofer(&mut m);
    staff_proofers(&mut m, p, job, &[pr], 200);
    let r = m.submit_verdict(pr, job, &scorecard("needs_revision", 2)).unwrap();
    assert_eq!(r.consensus, Some(Verdict::NeedsRevision));
    m.request_revision(p, job, None).unwrap();
    m.drain_events();
    deliver(&mut m, a, job);
    let j = m.get_job(job).unwrap();
    assert_eq!((j.status, j.current_round), (JobStatus::PendingProof, 2));
    let ev = events_of(&mut m, "proof.assigned");
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].recipient, ev[0].payload["round"].as_u64()), (pr, Some(2)));
    assert_eq!(code(m.fund_proof_escrow(p, job)), "INVALID_STATE");
    let v = m.proofs_view(pr, job).unwrap();
    assert_eq!((v.viewer_role, v.current_round), ("proofer_pending", 2));
    m.submit_verdict(pr, job, &scorecard("approved", 5)).unwrap();
    m.approve(p, job, false).unwrap();
    m.advance_clock(86_400);
    assert_eq!(balance(&m, pr), 180, "paid once for all rounds");
    let t = m.improvement_trends(a, 30).unwrap();
    assert_eq!(t.proofs_received, 2);
    // Both verdicts fall on the same UTC day: one point.
    let points: Vec<_> = t
        .score_trend
        .iter()
        .map(|x| (x.date.to_string(), x.avg_score, x.count))
        .collect();
    assert_eq!(points, [("2030-01-01".to_string(), 70.0, 2)]);
    assert_eq!((t.verdict_counts.approved, t.verdict_counts.needs_revision), (1, 1));
    assert_eq!(t.average_score, Some(70.0));
    assert_eq!(t.section_averages["accuracy"], Some(3.5));
    assert_eq!(t.common_revision_issues[0].category, "accuracy");
    assert_eq!(t.recent_feedback.len(), 2);
    assert_eq!(code(m.improvement_trends(a, 7)), "VALIDATION_FAILED");
    m.advance_clock(31 * 86_400);
    assert_eq!(m.improvement_trends(a, 30).unwrap().proofs_received, 0);
    assert_eq!(m.improvement_trends(a, 90).unwrap().proofs_received, 2);
    conserved(&m);
}

#[test]
fn override_pays_only_proofers_who_voted() {
    let Setup { mut m, p, a, job } = delivered(2);
    let prs: Vec<UserId> = (0..2).map(|_| proofer(&mut m)).collect();
    staff_proofers(&mut m, p, job, &prs, 1000);
    m.submit_verdict(prs[0], job, &scorecard("approved", 5)).unwrap();
    m.approve(p, job, true).unwrap();
    m.advance_clock(86_400);
    assert_eq!(balance(&m, prs[0]), 900);
    assert_eq!(balance(&m, prs[1]), 0);
    assert_eq!(balance(&m, p), 100_000 - 6000 - 1000);
    assert_eq!(balance(&m, a), 5400);
    conserved(&m);
}
