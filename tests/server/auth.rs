//! Credentials: the auth matrix, JWT expiry, JWT-only endpoints, the standard rate limit.

use super::*;

#[tokio::test]
async fn auth_matrix() {
    let s = start().await;
    let a = s.actor("agent", json!({})).await;
    let Auth::Key(key) = a.key.clone() else { unreachable!() };
    let Auth::Jwt(jwt) = a.jwt.clone() else { unreachable!() };
    s.get("/api/wallet", &a.key).await.ok();
    s.get("/api/wallet", &a.jwt).await.ok();
    let r = s.get("/api/wallet", &Auth::Jwt(key.clone())).await;
    r.expect(401, "API_KEY_IN_BEARER");
    assert!(r.body["error"].as_str().unwrap().contains("X-API-Key"));
    assert!(r.headers.contains_key("www-authenticate"));
    let both = Auth::Headers(vec![
        ("X-API-Key", key.clone()),
        ("Authorization", format!("Bearer {jwt}")),
    ]);
    s.get("/api/wallet", &both).await.expect(400, "CONFLICTING_CREDENTIALS");
    let r = s.get("/api/wallet", &Auth::None).await;
    r.expect(401, "UNAUTHENTICATED");
    assert!(r.headers.contains_key("www-authenticate"));
    s.get("/api/wallet", &Auth::Jwt("eyJnot.a.jwt".into()))
        .await
        .expect(401, "INVALID_JWT");
    s.get("/api/wallet", &Auth::Key("age_nothex".into()))
        .await
        .expect(401, "INVALID_API_KEY");
    s.get("/api/wallet", &Auth::Key(format!("age_{}", "0".repeat(32))))
        .await
        .expect(401, "INVALID_API_KEY");
    s.get("/api/agent/events", &Auth::None)
        .await
        .expect(401, "UNAUTHENTICATED");

    // JWT-only endpoints refuse a key.
    s.post("/api/agent/api-key", &a.key, json!(null))
        .await
        .expect(401, "JWT_REQUIRED");
    s.post(
        "/api/agent/profile",
        &a.key,
        json!({"name": "x", "specializations": []}),
    )
    .await
    .expect(401, "JWT_REQUIRED");
    let fake_job = uuid::Uuid::new_v4();
    s.post(
        &format!("/api/jobs/{fake_job}/hold-payment"),
        &a.key,
        json!({"reason": "accidental approval"}),
    )
    .await
    .expect(401, "JWT_REQUIRED");
    let fresh = s.post("/api/agent/api-key", &a.jwt, json!(null)).await;
    let new_key = fresh.ok()["api_key"].as_str().unwrap().to_string();
    s.get("/api/wallet", &Auth::Key(new_key)).await.ok();
    s.get("/api/wallet", &a.key).await.ok();

    // The JWT expires on the server clock; keys do not.
    s.advance(3601).await;
    s.get("/api/wallet", &a.jwt).await.expect(401, "JWT_EXPIRED");
    s.get("/api/wallet", &a.key).await.ok();
    let login = s
        .post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": a.email, "password": a.password}),
        )
        .await;
    let token = login.ok()["accessToken"].as_str().unwrap().to_string();
    assert!(token.starts_with("eyJ"));
    assert_eq!(login.body["user"]["id"], json!(a.id));
    s.get("/api/wallet", &Auth::Jwt(token)).await.ok();
    s.post(
        "/api/auth/login",
        &Auth::None,
        json!({"email": a.email, "password": "wrong-password"}),
    )
    .await
    .expect(401, "INVALID_CREDENTIALS");

    // Register gives a working JWT; a profile needs it.
    let reg = s
        .post(
            "/api/auth/register",
            &Auth::None,
            json!({"email": "new@agentgigs.test", "password": "longenough"}),
        )
        .await;
    let reg = reg.expect(201, "").ok().clone();
    let jwt = Auth::Jwt(reg["accessToken"].as_str().unwrap().into());
    s.post(
        "/api/agent/profile",
        &jwt,
        json!({"name": "Newbie", "specializations": ["Research"]}),
    )
    .await
    .expect(200, "");
    s.post(
        "/api/agent/profile",
        &jwt,
        json!({"name": "Newbie", "specializations": ["Research"]}),
    )
    .await
    .expect(409, "PROFILE_EXISTS");
    s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"email": "NEW@agentgigs.test", "password": "longenough"}),
    )
    .await
    .expect(409, "EMAIL_TAKEN");
}

#[tokio::test]
async fn standard_rate_limit_answers_429_with_retry_after() {
    let s = start().await;
    let a = s.actor("agent", json!({"tier": "free"})).await;
    for _ in 0..30 {
        s.get("/api/wallet", &a.key).await.ok();
    }
    let r = s.get("/api/wallet", &a.key).await;
    r.expect(429, "RATE_LIMITED");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    assert_eq!(r.body["retry_after"], json!(secs));
    s.advance(61).await;
    s.get("/api/wallet", &a.key).await.ok();
}
