//! Events over SSE and WebSocket: filters, keepalive, reset closing streams.

use super::*;

#[tokio::test]
async fn sse_delivers_events_with_filters() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let mut all = open_sse(&s, &a, "").await;
    let mut only_updates = open_sse(&s, &a, "?types=application.update").await;
    s.get("/api/agent/events?types=job.available,nope", &a.key)
        .await
        .expect(400, "VALIDATION_FAILED");

    let job = s.job(&p, 0).await;
    let ev = next_event(&mut all).await;
    assert_eq!((ev.event.as_str(), ev.id.as_str()), ("job.available", "1"));
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(data["job_id"], json!(job));
    assert_eq!(data["type"], "job.available");
    assert_eq!(data["budget_max"], 10000);

    let app = s.apply(&a, &job, 5000).await;
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": app}),
    )
    .await
    .ok();
    let ev = next_event(&mut only_updates).await;
    assert_eq!(
        (ev.event.as_str(), ev.id.as_str()),
        ("application.update", "1"),
        "job.available was filtered out"
    );
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(
        (data["status"].as_str(), data["application_id"].as_str()),
        (Some("accepted"), Some(app.as_str()))
    );
    let ev = next_event(&mut all).await;
    assert_eq!((ev.event.as_str(), ev.id.as_str()), ("application.update", "2"));

    // Another user's stream sees nothing of it.
    let other = s.actor("agent", json!({})).await;
    let mut quiet = open_sse(&s, &other, "").await;
    s.post(
        &format!("/api/jobs/{job}/fund-escrow"),
        &p.key,
        json!({"applicationId": app, "useWallet": true}),
    )
    .await
    .ok();
    assert_eq!(next_event(&mut all).await.event, "application.update");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), quiet.next())
            .await
            .is_err()
    );
}

/// `POST /__conformance/events/flush` (feature `events_flush`): the marker
/// comes on every open stream, a filtered one too, after the events
/// published before it, with the token given.
#[tokio::test]
async fn the_flush_marker_follows_the_events_published_before_it() {
    let s = start().await;
    let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let mut all = open_sse(&s, &a, "").await;
    let mut filtered = open_sse(&s, &a, "?types=application.update").await;
    s.job(&p, 0).await;
    let control = |body: Value| {
        s.http
            .post(format!("{}/__conformance/events/flush", s.base))
            .json(&body)
            .send()
    };
    let r = control(json!({"token": "t-1"})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"streams": 2}));
    assert_eq!(next_event(&mut all).await.event, "job.available");
    for stream in [&mut all, &mut filtered] {
        let marker = next_event(stream).await;
        assert_eq!(marker.event, "conformance.flush");
        let data: Value = serde_json::from_str(&marker.data).unwrap();
        assert_eq!(data, json!({"type": "conformance.flush", "token": "t-1"}));
    }
    let r = control(json!({})).await.unwrap();
    assert_eq!(r.status(), 400, "the token is required");
}

#[tokio::test]
async fn sse_keepalive_and_reset_closes_streams() {
    let s = start_with(MockConfig {
        keepalive: Duration::from_millis(100),
        ..MockConfig::default()
    })
    .await;
    let a = s.actor("agent", json!({})).await;
    let Auth::Key(key) = &a.key else { unreachable!() };
    let resp = s
        .http
        .get(format!("{}/api/agent/events", s.base))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap();
    let mut bytes = resp.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !seen.contains(": keepalive\n") {
            seen.push_str(&String::from_utf8_lossy(&bytes.next().await.unwrap().unwrap()));
        }
    })
    .await
    .expect("a keepalive comment");
    s.post("/__conformance/reset", &Auth::None, json!(null)).await;
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = bytes.next().await {}
    })
    .await
    .expect("reset ends the stream");
}

#[tokio::test]
async fn websocket_upgrade_carries_the_same_events() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let Auth::Key(key) = &a.key else { unreachable!() };
    let mut req = format!(
        "{}/api/agent/events?types=job.available",
        s.base.replace("http://", "ws://")
    )
    .into_client_request()
    .unwrap();
    req.headers_mut().insert("X-API-Key", key.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("upgrade");
    let job = s.job(&p, 0).await;
    let msg = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await.unwrap().unwrap() {
                tokio_tungstenite::tungstenite::Message::Text(t) => break t.to_string(),
                _ => continue,
            }
        }
    })
    .await
    .unwrap();
    let frame: Value = serde_json::from_str(&msg).unwrap();
    assert_eq!(frame["event"], "job.available");
    assert_eq!(frame["data"]["job_id"], json!(job));
    let mut unauth = format!("{}/api/agent/events", s.base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    unauth.headers_mut().remove("X-API-Key");
    assert!(
        tokio_tungstenite::connect_async(unauth).await.is_err(),
        "no upgrade without credentials"
    );
}
