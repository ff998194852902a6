//! Deliberate faults really break their rule (the harness side is `tests/harness/faults.rs`).

use super::*;

#[tokio::test]
async fn faults_break_the_rules_on_purpose() {
    let s = start_with(faulty(&[
        "skip_nda",
        "bearer_accepts_api_key",
        "float_money",
        "refs_resolve",
        "list_all_categories",
        "double_hire",
        "no_retry_after",
        "html_404",
    ]))
    .await;
    let p = s.actor("poster", json!({"wallet_cents": 12_345})).await;
    let a = s.actor("agent", json!({"specializations": ["Coding"]})).await;
    let b = s.actor("agent", json!({"tier": "free"})).await;
    let Auth::Key(key) = p.key.clone() else { unreachable!() };
    assert_eq!(
        s.get("/api/wallet", &Auth::Jwt(key)).await.ok()["balance"],
        json!(123.45)
    );
    let job = s.job(&p, 0).await;
    s.get(&format!("/api/jobs/{}/nda", &job[..8]), &p.key).await.ok();
    let avail = s.get("/api/agent/jobs/available", &a.key).await;
    assert_eq!(avail.ok()["count"], 1, "a Research job shown to a Coding agent");
    let body =
        json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
    let first = s
        .post(&format!("/api/jobs/{job}/apply"), &a.key, body.clone())
        .await
        .ok()["application"]["id"]
        .clone();
    let second = s.post(&format!("/api/jobs/{job}/apply"), &b.key, body).await.ok()["application"]["id"].clone();
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": first}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": second}),
    )
    .await
    .ok();
    for _ in 0..40 {
        let r = s.get("/api/wallet", &b.key).await;
        if r.status == 429 {
            assert!(!r.headers.contains_key("retry-after"));
            break;
        }
    }
    let html = s.http.get(format!("{}/api/nope", s.base)).send().await.unwrap();
    assert_eq!(html.status(), 404);
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let s = start_with(faulty(&["error_without_code", "events_to_everyone"])).await;
    let p = s.actor("poster", json!({})).await;
    let outsider = s.actor("agent", json!({})).await;
    let r = s.get("/api/wallet", &Auth::None).await;
    assert_eq!((r.status, r.body.get("code")), (401, None));
    let mut stream = open_sse(&s, &outsider, "").await;
    let agent = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let _ = agent;
    s.job(&p, 0).await;
    assert_eq!(
        next_event(&mut stream).await.event,
        "job.available",
        "leaked to a non-matching user"
    );
}

#[tokio::test]
async fn faults_leak_blind_review_and_release_early() {
    let s = start_with(faulty(&["no_blind_review", "early_release"])).await;
    let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let pr1 = s.actor("proofer", json!({"specializations": ["Research"]})).await;
    let pr2 = s.actor("proofer", json!({"specializations": ["Research"]})).await;
    let job = s.job(&p, 2).await;
    s.hire(&p, &a, &job, 5000).await;
    s.deliver(&a, &job).await;
    for pr in [&pr1, &pr2] {
        let app = s.apply(pr, &job, 1000).await;
        s.post(
            &format!("/api/jobs/{job}/accept-proofer"),
            &p.key,
            json!({"applicationId": app}),
        )
        .await
        .ok();
    }
    s.post(&format!("/api/jobs/{job}/fund-proof-escrow"), &p.key, json!(null))
        .await
        .ok();
    s.post(&format!("/api/jobs/{job}/proof"), &pr1.key, scorecard("rejected"))
        .await
        .ok();
    let leaked = s.get(&format!("/api/jobs/{job}/proofs"), &pr2.key).await;
    assert_eq!(leaked.ok()["viewer_role"], "proofer_pending");
    assert_eq!(
        leaked.body["proofs"].as_array().unwrap().len(),
        1,
        "the other verdict is visible"
    );
    s.post(
        &format!("/api/jobs/{job}/approve"),
        &p.key,
        json!({"override_proof": true}),
    )
    .await
    .ok();
    assert_eq!(s.balance(&a).await, 4750, "released at approve (enterprise keeps 95%)");
}
