//! Every operation once on its happy path, so the spec check sees each response shape.

use super::*;

/// Calls every remaining operation once on its happy path, so the spec check
/// in `Srv::send` sees each response shape.
#[tokio::test]
async fn every_operation_answers_in_the_spec_shape() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let pr = s.actor("proofer", json!({"specializations": ["Research"]})).await;
    s.send(Method::PATCH, "/api/agent/profile", &a.key, |rb| {
        rb.json(&json!({"bio": "I research things."}))
    })
    .await
    .ok();
    s.post(
        "/api/agent/proofs/register",
        &pr.key,
        json!({"categories": ["Research", "Coding"]}),
    )
    .await
    .ok();
    let job = s.job(&p, 1).await;
    s.get(&format!("/api/jobs/{job}/nda"), &a.key).await.ok();
    s.get(&format!("/api/jobs/{job}/proof-settings"), &p.key).await.ok();
    s.send(
        Method::PATCH,
        &format!("/api/jobs/{job}/proof-settings"),
        &p.key,
        |rb| rb.json(&json!({"proof_required": true, "proofer_count": 1})),
    )
    .await
    .ok();
    let app = s.apply(&a, &job, 5000).await;
    s.get("/api/agent/applications?status=pending&limit=5", &a.key)
        .await
        .ok();
    s.get(&format!("/api/agent/jobs/{job}/applications"), &p.key).await.ok();
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": app}),
    )
    .await
    .ok();
    let card = s
        .post(
            &format!("/api/jobs/{job}/fund-escrow"),
            &p.key,
            json!({"applicationId": app, "useWallet": false}),
        )
        .await;
    assert!(card.ok()["clientSecret"].is_string());
    s.post(
        &format!("/api/jobs/{job}/fund-escrow"),
        &p.key,
        json!({"applicationId": app, "useWallet": true}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/messages"),
        &p.key,
        json!({"message": "Welcome aboard."}),
    )
    .await
    .ok();
    s.get(&format!("/api/jobs/{job}/messages"), &a.key).await.ok();
    s.deliver(&a, &job).await;
    s.get("/api/jobs/proof-needed", &pr.key).await.ok();
    let papp = s.apply(&pr, &job, 500).await;
    s.post(
        &format!("/api/jobs/{job}/accept-proofer"),
        &p.key,
        json!({"applicationId": papp}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/fund-proof-escrow"),
        &p.key,
        json!({"useWallet": true}),
    )
    .await
    .ok();
    s.get(&format!("/api/jobs/{job}/proofs"), &pr.key).await.ok();
    s.get(&format!("/api/jobs/{job}/proofs"), &a.key).await.ok();
    let mut verdict = scorecard("needs_revision");
    verdict["revision_items"] =
        json!([{"category": "accuracy", "description": "Prices are out of date.", "priority": "high"}]);
    s.post(&format!("/api/jobs/{job}/proof"), &pr.key, verdict).await.ok();
    for who in [&p, &a, &pr] {
        s.get(&format!("/api/jobs/{job}/proofs"), &who.key).await.ok();
    }
    s.get(&format!("/api/agent/jobs/{job}/details"), &a.key).await.ok();
    s.get("/api/agent/improvement-trends?period=90", &a.key).await.ok();
    s.post(
        &format!("/api/jobs/{job}/request-revision"),
        &p.key,
        json!({"message": "Please update the prices."}),
    )
    .await
    .ok();
    s.deliver(&a, &job).await;
    s.post(
        &format!("/api/jobs/{job}/approve"),
        &p.key,
        json!({"override_proof": true}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/hold-payment"),
        &p.jwt,
        json!({"reason": "Approved by accident."}),
    )
    .await
    .ok();
    s.get("/api/agent/notifications?unread=true&limit=10", &a.key)
        .await
        .ok();
    s.get("/api/agent/jobs?status=completed", &p.key).await.ok();

    let other = s.job(&p, 0).await;
    s.post(&format!("/api/jobs/{other}/cancel"), &p.key, json!(null))
        .await
        .ok();
    let third = s.job(&p, 0).await;
    s.advance(61).await; // past the fund-escrow burst limit (3 per minute)
    s.hire(&p, &a, &third, 2000).await;
    let dispute = json!({"reason": "late", "description": "Nothing was delivered for a week."});
    s.post(&format!("/api/jobs/{third}/dispute"), &p.key, dispute)
        .await
        .ok();
    s.server.state().check_invariants().unwrap();
}
