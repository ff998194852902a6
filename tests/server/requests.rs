//! Ids, routing and request bodies: REF codes, JSON 404/405, body limits and types.

use super::*;

#[tokio::test]
async fn ref_codes_and_rebuilt_uuids_are_not_found() {
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let job = s.job(&p, 0).await;
    s.get(&format!("/api/jobs/{job}/nda"), &p.key).await.ok();
    let refc = job[..8].to_uppercase();
    s.get(&format!("/api/jobs/{refc}/nda"), &p.key)
        .await
        .expect(404, "NOT_FOUND");
    let rebuilt = format!("{}-0000-4000-8000-000000000000", &job[..8]);
    s.get(&format!("/api/jobs/{rebuilt}/nda"), &p.key)
        .await
        .expect(404, "NOT_FOUND");
    let simple = job.replace('-', "");
    s.get(&format!("/api/jobs/{simple}/nda"), &p.key)
        .await
        .expect(404, "NOT_FOUND");
    s.post(
        &format!("/api/agent/jobs/{job}/accept-application"),
        &p.key,
        json!({"applicationId": refc}),
    )
    .await
    .expect(404, "NOT_FOUND");
}

#[tokio::test]
async fn routing_answers_json_404_and_405() {
    let s = start().await;
    let r = s.get("/api/poster/jobs", &Auth::None).await;
    r.expect(404, "ROUTE_NOT_FOUND");
    assert_eq!(r.body["docs"], "/docs/api");
    s.get("/nothing/here", &Auth::None).await.expect(404, "ROUTE_NOT_FOUND");
    let r = s.send(Method::DELETE, "/api/wallet", &Auth::None, |rb| rb).await;
    r.expect(405, "METHOD_NOT_ALLOWED");
    assert!(r.headers["allow"].to_str().unwrap().contains("GET"));
    let help = s.get("/api/help", &Auth::None).await;
    assert!(help.ok()["docs"]["human"].as_str().unwrap().starts_with(&s.base));
    assert!(help.body["core_endpoints"].as_array().unwrap().len() > 10);
    let cats = s.get("/api/categories", &Auth::None).await;
    assert_eq!(cats.ok()["categories"].as_array().unwrap().len(), 13);
}

#[tokio::test]
async fn request_bodies_are_checked_in_json() {
    let s = start().await;
    let p = s.actor("poster", json!({})).await;
    let send = |ct: &'static str, bytes: Vec<u8>| {
        let key = p.key.clone();
        let s = &s;
        async move {
            s.send(Method::POST, "/api/agent/jobs", &key, |rb| {
                rb.header("content-type", ct).body(bytes)
            })
            .await
        }
    };
    let big = serde_json::to_vec(&json!({"title": "x".repeat(1024 * 1024 + 10)})).unwrap();
    send("application/json", big).await.expect(413, "PAYLOAD_TOO_LARGE");
    send("application/json", br#"{"title": "#.to_vec())
        .await
        .expect(400, "INVALID_JSON");
    send("application/json", vec![b'"', 0xff, 0xfe, b'"'])
        .await
        .expect(400, "INVALID_JSON");
    send("text/plain", br#"{"title": "hello"}"#.to_vec())
        .await
        .expect(415, "UNSUPPORTED_MEDIA_TYPE");
    let typed = json!({"title": "Valid title", "description": "d".repeat(30), "category": "Research", "budget_min": "100", "budget_max": 99.5});
    let r = s.post("/api/agent/jobs", &p.key, typed).await;
    r.expect(400, "VALIDATION_FAILED");
    let fields: Vec<_> = r.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    assert!(
        fields.contains(&"budget_min".into()) && fields.contains(&"budget_max".into()),
        "{fields:?}"
    );
    let empty = s.send(Method::POST, "/api/agent/jobs", &p.key, |rb| rb).await;
    empty.expect(400, "VALIDATION_FAILED");
    assert!(empty.body["details"].as_array().unwrap().len() >= 4);
}
