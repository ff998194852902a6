//! Rules where the reference server once disagreed with the spec: profile
//! patches and answers, job fields (title, deadline, tags), the posted-jobs
//! filters, spec fields on lists, the poster's NDA status, and the switch
//! that lifts rate limits.

use super::*;

/// Poster, agent and a completed, reviewed job: the agent then has a record.
async fn reviewed_agent(s: &Srv) -> (Actor, Actor, String) {
    let p = s.actor("poster", json!({"wallet_cents": 50_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let job = s.job(&p, 0).await;
    s.hire(&p, &a, &job, 5000).await;
    s.deliver(&a, &job).await;
    s.post(&format!("/api/jobs/{job}/approve"), &p.key, json!({}))
        .await
        .ok();
    s.post(
        &format!("/api/jobs/{job}/review"),
        &p.key,
        json!({"rating": 4, "comment": "Solid work."}),
    )
    .await
    .ok();
    (p, a, job)
}

async fn patch(s: &Srv, who: &Actor, body: Value) -> Resp {
    s.send(Method::PATCH, "/api/agent/profile", &who.key, |rb| rb.json(&body))
        .await
}

#[tokio::test]
async fn profile_patches_must_change_something_and_answer_the_record() {
    let s = start().await;
    let fresh = s.actor("agent", json!({"specializations": ["Coding"]})).await;
    for body in [
        json!({}),
        json!({"unknown": true}),
        json!({"specializations": []}),
        json!({"tools": [""]}),
        json!({"specializations": ["Astrology"]}),
    ] {
        patch(&s, &fresh, body.clone()).await.expect(400, "VALIDATION_FAILED");
    }
    let before = patch(&s, &fresh, json!({"bio": "New here."})).await;
    let profile = &before.ok()["profile"];
    assert_eq!(profile["id"], json!(fresh.id));
    assert_eq!(
        (&profile["rating"], &profile["total_reviews"]),
        (&Value::Null, &json!(0))
    );

    let (_, a, _) = reviewed_agent(&s).await;
    let after = patch(&s, &a, json!({"availability": "24/7"})).await;
    let profile = &after.ok()["profile"];
    assert_eq!(profile["id"], json!(a.id));
    assert_eq!(profile["rating"], json!(4.0));
    assert_eq!(profile["total_reviews"], json!(1));
    assert_eq!(profile["completed_jobs"], json!(1));
    assert_eq!(profile["tier"], json!("enterprise"));
    assert_eq!(profile["availability"], json!("24/7"));

    let reg = s
        .post(
            "/api/auth/register",
            &Auth::None,
            json!({"email": "prof@agentgigs.test", "password": "longenough"}),
        )
        .await;
    let jwt = Auth::Jwt(reg.ok()["accessToken"].as_str().unwrap().into());
    s.post(
        "/api/agent/profile",
        &jwt,
        json!({"name": "Empty", "specializations": []}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    let created = s
        .post(
            "/api/agent/profile",
            &jwt,
            json!({"name": "Full", "specializations": ["Research"], "referral_code": "FRIEND"}),
        )
        .await;
    assert_eq!(created.expect(200, "").ok()["profile"]["rating"], Value::Null);
}

#[tokio::test]
async fn job_fields_follow_the_spec() {
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let base = json!({
        "title": "A",
        "description": "A description of twenty characters or more.",
        "category": "Research", "budget_min": 1000, "budget_max": 2000,
    });
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let short = s.post("/api/agent/jobs", &p.key, base.clone()).await;
    assert_eq!(short.expect(201, "").ok()["job"]["title"], "A", "minLength 1");
    let dated = s
        .post("/api/agent/jobs", &p.key, with(json!({"deadline": "2000-01-01"})))
        .await;
    assert_eq!(dated.ok()["job"]["deadline"], "2000-01-01T00:00:00Z");
    let timed = s
        .post(
            "/api/agent/jobs",
            &p.key,
            with(json!({"deadline": "2030-05-01T12:30:00+02:00"})),
        )
        .await;
    assert_eq!(timed.ok()["job"]["deadline"], "2030-05-01T10:30:00Z");
    let asked = s
        .post(
            "/api/agent/jobs",
            &p.key,
            with(json!({"proof_required": true, "proofer_count": 1,
                "proof_requirements": [{"question": "Are the sources cited?"}]})),
        )
        .await;
    assert_eq!(
        asked.ok()["job"]["proof_requirements"],
        json!([{"question": "Are the sources cited?", "required": true}]),
        "`required` defaults to true"
    );
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    for bad in [
        json!({"title": ""}),
        json!({"description": "d".repeat(10_001)}),
        json!({"tags": tags}),
        json!({"tags": [""]}),
        json!({"deadline": "next tuesday"}),
    ] {
        s.post("/api/agent/jobs", &p.key, with(bad))
            .await
            .expect(400, "VALIDATION_FAILED");
    }
    let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    s.post("/api/agent/jobs", &p.key, with(json!({"tags": twenty})))
        .await
        .expect(201, "");
}

#[tokio::test]
async fn posted_jobs_filter_by_status_and_limit() {
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let first = s.job(&p, 0).await;
    s.job(&p, 0).await;
    s.post(&format!("/api/jobs/{first}/cancel"), &p.key, json!(null))
        .await
        .ok();
    let all = s.get("/api/agent/jobs", &p.key).await;
    assert_eq!(all.ok()["count"], 2);
    let cancelled = s.get("/api/agent/jobs?status=cancelled", &p.key).await;
    assert_eq!(cancelled.ok()["count"], 1);
    assert_eq!(cancelled.body["jobs"][0]["id"], json!(first));
    let one = s.get("/api/agent/jobs?limit=1", &p.key).await;
    assert_eq!(one.ok()["jobs"].as_array().unwrap().len(), 1);
    assert_ne!(one.body["jobs"][0]["id"], json!(first), "newest first");
    for bad in ["status=closed", "limit=0", "limit=101"] {
        s.get(&format!("/api/agent/jobs?{bad}"), &p.key)
            .await
            .expect(400, "VALIDATION_FAILED");
    }
}

#[tokio::test]
async fn lists_carry_the_spec_fields() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 50_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let job = s.job(&p, 0).await;
    let nda = s.get(&format!("/api/jobs/{job}/nda"), &p.key).await;
    assert_eq!(
        nda.ok(),
        &json!({"accepted": true, "accepted_at": null}),
        "the poster is exempt, with no time"
    );
    let app = s.apply(&a, &job, 5000).await;
    let details = s.get(&format!("/api/agent/jobs/{job}/details"), &p.key).await;
    let row = &details.ok()["applications"][0];
    assert_eq!(row["agents"]["id"], json!(a.id));
    assert_eq!(row["agents"]["rating"], Value::Null, "null without reviews");
    let mine = s.get("/api/agent/applications", &a.key).await;
    let row = &mine.ok()["applications"][0];
    assert_eq!(row["agent_id"], json!(a.id));
    assert_eq!(row["message"], "I can do this well and fast.");
    let d = s.get(&format!("/api/agent/jobs/{job}/details"), &a.key).await;
    assert_eq!(d.ok()["myApplication"]["message"], "I can do this well and fast.");
    let notes = s.get("/api/agent/notifications", &a.key).await;
    assert_eq!(notes.ok()["notifications"][0]["job_id"], json!(job));
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": app}),
    )
    .await
    .ok();
    s.post(
        &format!("/api/jobs/{job}/fund-escrow"),
        &p.key,
        json!({"applicationId": app, "useWallet": true}),
    )
    .await
    .ok();
    let msgs = s.get(&format!("/api/jobs/{job}/messages"), &a.key).await;
    assert_eq!(msgs.ok(), &json!({"messages": [], "count": 0}));
}

#[tokio::test]
async fn rate_limits_can_be_lifted_for_benchmarks() {
    let s = start_with(MockConfig {
        rate_limits: false,
        ..MockConfig::default()
    })
    .await;
    let a = s.actor("agent", json!({"tier": "free"})).await;
    for _ in 0..45 {
        s.get("/api/wallet", &a.key).await.ok();
    }
    for _ in 0..25 {
        s.post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": a.email, "password": a.password}),
        )
        .await
        .ok();
    }
    // The switch survives a reset.
    s.post("/__conformance/reset", &Auth::None, json!(null)).await;
    let b = s.actor("agent", json!({"tier": "free"})).await;
    for _ in 0..35 {
        s.get("/api/wallet", &b.key).await.ok();
    }
}

#[tokio::test]
async fn registration_is_limited_per_ip() {
    let s = start().await;
    for i in 0..10 {
        s.post(
            "/api/auth/register",
            &Auth::None,
            json!({"email": format!("r{i}@agentgigs.test"), "password": "longenough"}),
        )
        .await
        .expect(201, "");
    }
    let r = s
        .post(
            "/api/auth/register",
            &Auth::None,
            json!({"email": "r10@agentgigs.test", "password": "longenough"}),
        )
        .await;
    r.expect(429, "RATE_LIMITED");
    assert!(r.headers.contains_key("retry-after"));
}
