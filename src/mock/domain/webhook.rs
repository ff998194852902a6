//! Webhook deliveries: the marketplace queues one delivery per registered
//! webhook subscribed to an event; the HTTP layer drains the queue
//! ([`Marketplace::drain_webhooks`]) and POSTs each one, off the lock.
//!
//! DOCS (docs/api#post-apiagentwebhooks, docs/api#webhook-signatures): the
//! events `job.available`, `job.accepted`, `job.revision_requested`,
//! `job.approved`, `payment.released`; the payload `{event, timestamp,
//! data: {job: {id, title}, application_id}}`; the `X-AgentGigs-Signature`
//! header, an HMAC-SHA256 of the raw body with the per-webhook secret.
//! OURS: the signature is written `sha256=<lower-case hex>` (the encoding is
//! undocumented); URLs under reserved example names are never sent to.
//!
//! DOCS (docs/api#post-create-a-job-from-an-external-system): an
//! integration job's optional `callback_url` "receive[s] a webhook when the
//! job completes". OURS (the payload is undocumented): one unsigned POST of
//! `{event: "job.completed", timestamp, data: {job: {id, title, status},
//! integration: {source, external_id}}}` when the job becomes `completed`.

use serde_json::{Value, json};

use super::growth::WEBHOOK_EVENTS;
use super::{JobId, Marketplace, UserId};

/// One POST the HTTP layer is to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Where it goes.
    pub url: String,
    /// The event name (one of [`WEBHOOK_EVENTS`]).
    pub event: String,
    /// The raw JSON body, exactly as signed.
    pub body: String,
    /// The webhook's secret (the HTTP layer signs with it); `None` for an
    /// integration job's callback, which has no secret.
    pub secret: Option<String>,
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key` (ring's, the TLS stack's
/// own crypto).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), message);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The `X-AgentGigs-Signature` value of the reference server:
/// `sha256=` and the lower-case hex HMAC-SHA256 of the raw body.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), body)))
}

/// Whether a URL's host is a reserved example/test name (RFC 2606/6761)
/// that cannot be reached: registered, but never sent to.
fn unreachable_by_design(url: &str) -> bool {
    let Some(host) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    else {
        return true;
    };
    let host = host.trim_end_matches('.');
    [
        "example.com",
        "example.org",
        "example.net",
        "example",
        "test",
        "invalid",
    ]
    .iter()
    .any(|r| host == *r || host.ends_with(&format!(".{r}")))
}

impl Marketplace {
    /// Lets exactly this loopback/private URL be registered as a webhook
    /// (the control API's `webhook_loopback` feature, for a test sink).
    pub fn allow_webhook_url(&mut self, url: &str) {
        self.extras.loopback_urls.insert(url.trim().to_string());
    }

    /// Whether `url` was let through by [`Marketplace::allow_webhook_url`].
    pub(super) fn webhook_url_allowed(&self, url: &str) -> bool {
        self.extras.loopback_urls.contains(url.trim())
    }

    /// Queues a delivery of `event` about `job` to every webhook of
    /// `recipient` subscribed to it.
    pub(super) fn queue_webhook(&mut self, recipient: UserId, event: &str, job: JobId, application: Option<Value>) {
        if !WEBHOOK_EVENTS.contains(&event) {
            return;
        }
        let hooks: Vec<(String, String)> = self
            .extras
            .webhooks
            .iter()
            .filter(|h| h.user == recipient && h.events.iter().any(|e| e == event) && !unreachable_by_design(&h.url))
            .map(|h| (h.url.clone(), h.secret.clone()))
            .collect();
        if hooks.is_empty() {
            return;
        }
        let title = self.jobs.get(&job).map(|j| j.title.clone()).unwrap_or_default();
        let mut data = json!({"job": {"id": job, "title": title}});
        if let Some(a) = application {
            data["application_id"] = a;
        }
        let body = json!({
            "event": event,
            "timestamp": self.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        })
        .to_string();
        for (url, secret) in hooks {
            self.extras.webhook_outbox.push(WebhookDelivery {
                url,
                event: event.to_string(),
                body: body.clone(),
                secret: Some(secret),
            });
        }
    }

    /// Queues the call of `job`'s integration `callback_url`, if it has
    /// one: the job has just completed.
    pub(super) fn queue_integration_callback(&mut self, job: JobId) {
        if self.breaks(super::fault::Fault::CallbackNeverSent) {
            return;
        }
        let Some(rec) = self.extras.integration_jobs.iter().find(|r| r.job == job) else {
            return;
        };
        let Some(url) = rec.callback_url.clone().filter(|u| !unreachable_by_design(u)) else {
            return;
        };
        let integration = json!({"source": rec.source, "external_id": rec.external_id});
        let (title, status) = self
            .jobs
            .get(&job)
            .map(|j| (j.title.clone(), j.status.as_str()))
            .unwrap_or_default();
        let body = json!({
            "event": "job.completed",
            "timestamp": self.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": {"job": {"id": job, "title": title, "status": status}, "integration": integration},
        })
        .to_string();
        self.extras.webhook_outbox.push(WebhookDelivery {
            url,
            event: "job.completed".into(),
            body,
            secret: None,
        });
    }

    /// Takes the queued deliveries.
    pub fn drain_webhooks(&mut self) -> Vec<WebhookDelivery> {
        std::mem::take(&mut self.extras.webhook_outbox)
    }
}
