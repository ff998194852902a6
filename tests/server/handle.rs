//! Starting, stopping and configuring servers; the control API and its token.

use super::*;

#[tokio::test]
async fn start_shutdown_and_drop() {
    let s = start().await;
    assert!(s.base.starts_with("http://127.0.0.1:"));
    s.get("/api/help", &Auth::None).await.ok();
    let url = s.base.clone();
    s.server.shutdown().await;
    assert!(
        s.http.get(format!("{url}/api/help")).send().await.is_err(),
        "closed after shutdown"
    );

    let dropped = start().await;
    let url = dropped.base.clone();
    drop(dropped.server);
    tokio::time::timeout(Duration::from_secs(5), async {
        while reqwest::get(format!("{url}/api/help")).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a dropped server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_servers_at_once_keep_their_own_state() {
    let servers = futures::future::join_all((0..8).map(|_| start())).await;
    let urls: BTreeSet<_> = servers.iter().map(|s| s.base.clone()).collect();
    assert_eq!(urls.len(), 8);
    for s in &servers {
        let p = s.actor("poster", json!({})).await;
        s.job(&p, 0).await;
        assert_eq!(s.get("/api/agent/jobs", &p.key).await.ok()["count"], 1);
        assert_eq!(s.get("/api/categories", &Auth::None).await.ok()["count"], 13);
    }
    futures::future::join_all(servers.into_iter().map(|s| s.server.shutdown())).await;
}

#[tokio::test]
async fn non_loopback_bind_needs_a_token_and_faults_must_be_known() {
    init();
    let cfg = MockConfig {
        host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ..MockConfig::default()
    };
    assert!(matches!(
        MockServer::start(cfg.clone()).await,
        Err(MockError::TokenRequired { .. })
    ));
    let with_token = MockConfig {
        control_token: Some("s3cret".into()),
        ..cfg
    };
    MockServer::start(with_token)
        .await
        .expect("token given")
        .shutdown()
        .await;
    assert!(matches!(
        MockServer::start(faulty(&["no_such_fault"])).await,
        Err(MockError::UnknownFault { .. })
    ));
}

/// `events_sync` promises that every event is published by the request
/// that causes it; a clock faster than real time releases payments between
/// requests, so such a server does not make the promise.
#[tokio::test]
async fn events_sync_is_offered_only_on_a_clock_at_real_speed() {
    let features = |rate| async move {
        let s = start_with(MockConfig {
            clock_rate: rate,
            ..MockConfig::default()
        })
        .await;
        s.get("/__conformance", &Auth::None).await.ok()["features"].clone()
    };
    let offered = |v: &serde_json::Value| v.as_array().unwrap().iter().any(|f| f == "events_sync");
    assert!(offered(&features(1).await));
    let fast = features(60).await;
    assert!(!offered(&fast), "{fast}");
    assert!(fast.as_array().unwrap().iter().any(|f| f == "clock"), "{fast}");
}

#[tokio::test]
async fn control_api_and_its_token() {
    let s = start_with(MockConfig {
        control_token: Some("tok".into()),
        ..MockConfig::default()
    })
    .await;
    let r = s.get("/__conformance", &Auth::None).await;
    r.expect(401, "CONTROL_TOKEN_REQUIRED");
    assert!(r.headers.contains_key("www-authenticate"));
    s.get(
        "/__conformance",
        &Auth::Headers(vec![("X-Conformance-Token", "wrong".into())]),
    )
    .await
    .expect(401, "CONTROL_TOKEN_REQUIRED");
    let tok = Auth::Headers(vec![("X-Conformance-Token", "tok".into())]);
    let info = s.get("/__conformance", &tok).await;
    assert_eq!(
        info.ok(),
        &json!({"version": 1, "features": ["actors", "clock", "reset", "attachments", "webhook_loopback", "events_sync", "events_flush"]})
    );
    s.post("/__conformance/actors", &Auth::None, json!({"role": "agent"}))
        .await
        .expect(401, "CONTROL_TOKEN_REQUIRED");
    let a = s
        .send(Method::POST, "/__conformance/actors", &tok, |rb| {
            rb.json(&json!({"role": "agent"}))
        })
        .await;
    let v = a.expect(201, "").ok();
    assert!(v["access_token"].as_str().unwrap().starts_with("eyJ"));
    assert!(v["api_key"].as_str().unwrap().starts_with("age_"));
    let bad = s
        .send(Method::POST, "/__conformance/actors", &tok, |rb| {
            rb.json(&json!({"role": "wizard", "wallet_cents": -1}))
        })
        .await;
    bad.expect(400, "VALIDATION_FAILED");
    assert_eq!(bad.body["details"].as_array().unwrap().len(), 2);
    let clock = s
        .send(Method::POST, "/__conformance/clock", &tok, |rb| {
            rb.json(&json!({"advance_seconds": 60}))
        })
        .await;
    assert!(clock.ok()["now"].is_string());
    let reset = s.send(Method::POST, "/__conformance/reset", &tok, |rb| rb).await;
    assert_eq!(reset.status, 204);
    let key = Auth::Key(v["api_key"].as_str().unwrap().into());
    s.get("/api/wallet", &key).await.expect(401, "INVALID_API_KEY");
}
