//! Whole flows: a proof job from posting to release and review; files and signed URLs.

use super::*;

#[tokio::test]
async fn full_job_flow_with_proofing_and_release() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let a = s
        .actor("agent", json!({"specializations": ["Research"], "tier": "pro"}))
        .await;
    let pr1 = s.actor("proofer", json!({"specializations": ["Research"]})).await;
    let pr2 = s.actor("proofer", json!({"specializations": ["Research"]})).await;
    let job = s.job(&p, 2).await;

    let avail = s.get("/api/agent/jobs/available", &a.key).await;
    assert!(
        avail.ok()["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == json!(job))
    );
    let body =
        json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
    s.post(&format!("/api/jobs/{job}/apply"), &a.key, body)
        .await
        .expect(403, "ACKNOWLEDGMENT_REQUIRED");
    s.hire(&p, &a, &job, 5000).await;
    assert_eq!(s.balance(&p).await, 95_000);
    let details = s.get(&format!("/api/agent/jobs/{job}/details"), &a.key).await;
    assert_eq!(details.ok()["job"]["status"], "in_progress");
    assert_eq!(s.deliver(&a, &job).await["job"]["status"], "pending_proof");

    let mut apps = Vec::new();
    for pr in [&pr1, &pr2] {
        apps.push(s.apply(pr, &job, 1000).await);
    }
    for app in &apps {
        s.post(
            &format!("/api/jobs/{job}/accept-proofer"),
            &p.key,
            json!({"applicationId": app}),
        )
        .await
        .ok();
    }
    let funded = s
        .post(&format!("/api/jobs/{job}/fund-proof-escrow"), &p.key, json!(null))
        .await;
    assert_eq!(funded.ok()["totalProofFee"], 2000);
    assert_eq!(s.balance(&p).await, 93_000);

    let blind = s.get(&format!("/api/jobs/{job}/proofs"), &pr1.key).await;
    assert_eq!(blind.ok()["viewer_role"], "proofer_pending");
    assert_eq!(blind.body["blind_review_active"], true);
    assert_eq!(blind.body["proofs"], json!([]));
    s.get(
        &format!("/api/jobs/{job}/proofs"),
        &s.actor("agent", json!({})).await.key,
    )
    .await
    .expect(403, "NOT_PARTICIPANT");
    s.post(&format!("/api/jobs/{job}/proof"), &pr1.key, scorecard("approved"))
        .await
        .ok();
    let last = s
        .post(&format!("/api/jobs/{job}/proof"), &pr2.key, scorecard("approved"))
        .await;
    assert_eq!(last.ok()["consensus"], "approved");
    s.post(&format!("/api/jobs/{job}/proof"), &pr2.key, scorecard("approved"))
        .await
        .expect(409, "VERDICT_ALREADY_SUBMITTED");

    let approved = s.post(&format!("/api/jobs/{job}/approve"), &p.key, json!(null)).await;
    assert_eq!(approved.ok()["cooldownHours"], 24);
    assert_eq!(s.balance(&a).await, 0, "no release before the cooldown");
    s.advance(24 * 3600 + 1).await;
    assert_eq!(s.balance(&a).await, 5000 - 350, "pro tier keeps 93%");
    assert_eq!(s.balance(&pr1).await, 900);
    assert_eq!(s.balance(&pr2).await, 900);
    s.server.state().check_invariants().unwrap();
    let review = s
        .post(
            &format!("/api/jobs/{job}/review"),
            &p.key,
            json!({"rating": 5, "comment": "Great"}),
        )
        .await;
    assert_eq!(review.ok()["review"]["rating"], 5);
    s.post(&format!("/api/jobs/{job}/review"), &p.key, json!({"rating": 5}))
        .await
        .expect(409, "ALREADY_REVIEWED");
}

#[tokio::test]
async fn files_are_uploaded_listed_and_served_by_signed_urls() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let job = s.job(&p, 0).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"brief text".to_vec()).file_name("brief.txt"),
    );
    let up = s
        .send(Method::POST, &format!("/api/jobs/{job}/attachments"), &p.key, |rb| {
            rb.multipart(form)
        })
        .await;
    let path = up.expect(201, "").ok()["attachment"]["file_path"]
        .as_str()
        .unwrap()
        .to_string();
    s.post(&format!("/api/jobs/{job}/attachments"), &p.key, json!({"file": "x"}))
        .await
        .expect(415, "UNSUPPORTED_MEDIA_TYPE");
    s.get(&format!("/api/jobs/{job}/attachments"), &a.key)
        .await
        .expect(403, "ACKNOWLEDGMENT_REQUIRED");
    s.hire(&p, &a, &job, 5000).await;
    let list = s.get(&format!("/api/jobs/{job}/attachments"), &a.key).await;
    assert_eq!(list.ok()["attachments"][0]["file_path"], json!(path));
    let link = s
        .send(Method::GET, &format!("/api/jobs/{job}/download"), &a.key, |rb| {
            rb.query(&[("file", &path)])
        })
        .await;
    let url = link.ok()["signedUrl"].as_str().unwrap().to_string();
    assert!(url.starts_with(&s.base), "{url}");
    let bytes = s.http.get(&url).send().await.unwrap();
    assert_eq!(bytes.status(), 200);
    assert!(
        bytes.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("brief.txt")
    );
    assert_eq!(bytes.bytes().await.unwrap().as_ref(), b"brief text");
    s.get(&format!("/api/jobs/{job}/download"), &a.key)
        .await
        .expect(400, "VALIDATION_FAILED");

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"result".to_vec()).file_name("report.md"),
    );
    let up = s
        .send(
            Method::POST,
            &format!("/api/agent/jobs/{job}/upload-deliverable"),
            &a.key,
            |rb| rb.multipart(form),
        )
        .await;
    assert!(
        up.expect(201, "").ok()["file"]["download_url"]
            .as_str()
            .unwrap()
            .contains("/files/")
    );
    s.advance(3601).await;
    let gone = s.get(&url[s.base.len()..], &Auth::None).await;
    gone.expect(410, "LINK_EXPIRED");
    s.get("/files/unknown-token", &Auth::None)
        .await
        .expect(404, "NOT_FOUND");
}
