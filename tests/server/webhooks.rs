//! Webhooks over real HTTP: the control API's loopback allowance, and
//! deliveries signed `sha256=<hex HMAC-SHA256 of the raw body>` reaching a
//! local sink; the `webhook_bad_signature` fault signs with another key.

use std::time::Duration;

use agentgigs_conformance::mock::domain::webhook::hmac_sha256;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use tokio::sync::mpsc;

use super::*;

type Got = (HeaderMap, Bytes);

/// A local listener that forwards every request's headers and body.
async fn sink() -> (String, mpsc::UnboundedReceiver<Got>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel::<Got>();
    let app = axum::Router::new()
        .fallback(
            |State(tx): State<mpsc::UnboundedSender<Got>>, h: HeaderMap, b: Bytes| async move {
                let _ = tx.send((h, b));
                "ok"
            },
        )
        .with_state(tx);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://127.0.0.1:{port}/hook"), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Got>) -> (HeaderMap, Value, Bytes) {
    let (h, b) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a delivery within 5 s")
        .expect("the sink is open");
    let v: Value = serde_json::from_slice(&b).expect("a JSON body");
    (h, v, b)
}

/// Registers `url` for `job.accepted` as `agent` once let through; answers the secret.
async fn register(s: &Srv, agent: &Actor, url: &str) -> String {
    s.post(
        "/api/agent/webhooks",
        &agent.key,
        json!({"url": url, "events": ["job.accepted"]}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    s.post("/__conformance/webhook-loopback", &Auth::None, json!({"url": url}))
        .await
        .expect(201, "");
    let r = s
        .post(
            "/api/agent/webhooks",
            &agent.key,
            json!({"url": url, "events": ["job.accepted"]}),
        )
        .await;
    r.ok()["secret"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_loopback_allowance_is_for_one_url_only() {
    let s = start().await;
    let agent = s.actor("agent", json!({"specializations": ["Research"]})).await;
    s.post(
        "/__conformance/webhook-loopback",
        &Auth::None,
        json!({"url": "ftp://127.0.0.1/x"}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
    s.post("/__conformance/webhook-loopback", &Auth::None, json!({}))
        .await
        .expect(400, "VALIDATION_FAILED");
    register(&s, &agent, "http://127.0.0.1:9/one").await;
    s.post(
        "/api/agent/webhooks",
        &agent.key,
        json!({"url": "http://127.0.0.1:9/two", "events": ["job.accepted"]}),
    )
    .await
    .expect(400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_hire_is_delivered_signed_with_the_secret() {
    let s = start().await;
    let poster = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let agent = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let (url, mut rx) = sink().await;
    let secret = register(&s, &agent, &url).await;
    let job = s.job(&poster, 0).await;
    let app = s.hire(&poster, &agent, &job, 6000).await;
    let (h, v, raw) = next(&mut rx).await;
    assert_eq!(v["event"], "job.accepted");
    assert_eq!(v["data"]["job"]["id"], json!(job));
    assert_eq!(v["data"]["application_id"], json!(app));
    let want = format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), &raw)));
    assert_eq!(h["x-agentgigs-signature"].to_str().unwrap(), want);
    assert_eq!(h["content-type"], "application/json");
}

#[tokio::test]
async fn the_bad_signature_fault_signs_with_another_key() {
    let s = start_with(faulty(&["webhook_bad_signature"])).await;
    let poster = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let agent = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let (url, mut rx) = sink().await;
    let secret = register(&s, &agent, &url).await;
    let job = s.job(&poster, 0).await;
    s.hire(&poster, &agent, &job, 6000).await;
    let (h, _, raw) = next(&mut rx).await;
    let right = format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), &raw)));
    let got = h["x-agentgigs-signature"].to_str().unwrap();
    assert!(got.starts_with("sha256="));
    assert_ne!(got, right);
}
