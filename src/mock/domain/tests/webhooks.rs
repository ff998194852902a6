//! Webhook deliveries: queued per subscribed webhook, documented payload
//! shape, the HMAC-SHA256 signature, and the loopback allowance.

use super::*;
use crate::mock::domain::webhook::{hmac_sha256, webhook_signature};

const ALL: [&str; 5] = [
    "job.available",
    "job.accepted",
    "job.revision_requested",
    "job.approved",
    "payment.released",
];

fn events(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn hmac_sha256_matches_rfc_4231() {
    assert_eq!(
        hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // Test case 6: a key longer than the block is hashed first.
    assert_eq!(
        hex::encode(hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    assert_eq!(
        webhook_signature("Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn a_loopback_url_is_registered_only_once_let_through() {
    let mut m = mp();
    let u = agent(&mut m);
    let url = "http://127.0.0.1:4567/webhooks/hooks";
    assert_eq!(
        code(m.register_webhook(u, url, events(&["job.available"]))),
        "VALIDATION_FAILED"
    );
    m.allow_webhook_url(url);
    m.register_webhook(u, url, events(&["job.available"])).unwrap();
    // Only that URL: another port, another path stay refused.
    for other in ["http://127.0.0.1:4568/webhooks/hooks", "http://127.0.0.1:4567/other"] {
        assert_eq!(
            code(m.register_webhook(u, other, events(&["job.available"]))),
            "VALIDATION_FAILED"
        );
    }
}

#[test]
fn every_documented_event_is_delivered_to_the_subscribed_webhook_signed() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let other = agent(&mut m);
    let url = "http://127.0.0.1:4567/h";
    m.allow_webhook_url(url);
    let reg = m.register_webhook(a, url, events(&ALL)).unwrap();
    let secret = reg["secret"].as_str().unwrap().to_string();
    // Another agent subscribed to one event only; a hook on a reserved name.
    m.allow_webhook_url("http://127.0.0.1:4567/other");
    m.register_webhook(other, "http://127.0.0.1:4567/other", events(&["job.approved"]))
        .unwrap();
    m.register_webhook(a, "https://hooks.example.com/h", events(&ALL))
        .unwrap();
    m.drain_webhooks();

    let job = post(&mut m, p, false, 0);
    let app = hire(&mut m, p, a, job, 6000);
    deliver(&mut m, a, job);
    m.request_revision(p, job, Some("more detail")).unwrap();
    deliver(&mut m, a, job);
    m.approve(p, job, false).unwrap();
    m.release_now(job).unwrap();

    let sent = m.drain_webhooks();
    assert!(
        sent.iter().all(|d| d.url == url),
        "only the agent's reachable hook: {sent:?}"
    );
    let names: Vec<&str> = sent.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(names, ALL.to_vec());
    for d in &sent {
        let body: Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(body["event"], d.event.as_str());
        assert_eq!(body["data"]["job"]["id"], job.to_string());
        assert!(body["timestamp"].is_string());
        assert_eq!(d.secret.as_deref(), Some(secret.as_str()));
    }
    let accepted: Value = serde_json::from_str(&sent[1].body).unwrap();
    assert_eq!(accepted["data"]["application_id"], app.to_string());
    assert!(m.drain_webhooks().is_empty(), "drained once");
}

#[test]
fn unsubscribed_events_and_other_users_get_nothing() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let url = "http://127.0.0.1:4567/h";
    m.allow_webhook_url(url);
    m.register_webhook(a, url, events(&["payment.released"])).unwrap();
    let job = post(&mut m, p, false, 0);
    let b = agent(&mut m);
    hire(&mut m, p, b, job, 6000);
    assert!(m.drain_webhooks().is_empty());
}

/// An integration job with a callback: created from JSON as the route does.
fn integration_job(m: &mut Marketplace, p: UserId, callback: &str) -> JobId {
    let body = serde_json::json!({
        "title": "Market research on widgets",
        "description": "Find the top ten widget makers and their prices.",
        "category": "Research",
        "budget_min": 1000,
        "budget_max": 10000,
        "source": "zapier",
        "external_id": "row-1",
        "callback_url": callback,
    });
    let input = crate::mock::domain::growth::IntegrationJobInput::from_json(&body).unwrap();
    let out = m.create_integration_job(p, input).unwrap();
    out["job"]["id"].as_str().unwrap().parse().unwrap()
}

#[test]
fn an_integration_callback_is_called_once_unsigned_when_the_job_completes() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let url = "http://127.0.0.1:4567/callback";
    // A loopback callback is refused unless let through, like a webhook.
    let body = serde_json::json!({
        "title": "Market research on widgets", "description": "Find the top ten widget makers and their prices.",
        "category": "Research", "budget_min": 1000, "budget_max": 10000, "callback_url": url,
    });
    let input = crate::mock::domain::growth::IntegrationJobInput::from_json(&body).unwrap();
    assert_eq!(code(m.create_integration_job(p, input)), "VALIDATION_FAILED");
    m.allow_webhook_url(url);
    let job = integration_job(&mut m, p, url);
    hire(&mut m, p, a, job, 6000);
    deliver(&mut m, a, job);
    assert!(m.drain_webhooks().is_empty(), "nothing before the job completes");
    m.approve(p, job, false).unwrap();
    let sent = m.drain_webhooks();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let d = &sent[0];
    assert_eq!(
        (d.url.as_str(), d.event.as_str(), d.secret.as_ref()),
        (url, "job.completed", None)
    );
    let v: Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(v["data"]["job"]["id"], serde_json::json!(job));
    assert_eq!(v["data"]["job"]["status"], "completed");
    assert_eq!(v["data"]["integration"]["external_id"], "row-1");
    // The release does not call it again.
    m.release_now(job).unwrap();
    assert!(m.drain_webhooks().is_empty());

    // The fault: never called.
    let mut m = mp();
    m.set_faults([crate::mock::domain::fault::Fault::CallbackNeverSent]);
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    m.allow_webhook_url(url);
    let job = integration_job(&mut m, p, url);
    hire(&mut m, p, a, job, 6000);
    deliver(&mut m, a, job);
    m.approve(p, job, false).unwrap();
    m.release_now(job).unwrap();
    assert!(m.drain_webhooks().is_empty());
}
