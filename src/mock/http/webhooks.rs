//! Sending the webhook deliveries the marketplace queued: each one a POST
//! of its raw JSON body with `X-AgentGigs-Signature` (none on an
//! integration job's callback, which has no secret), sent on its own task
//! after the marketplace lock is released. A short timeout, no redirects
//! followed, and at most 3 retries with exponential backoff (DOCS: "Failed
//! deliveries retry 3 times with exponential backoff").

use std::sync::OnceLock;
use std::time::Duration;

use crate::mock::domain::webhook::{WebhookDelivery, webhook_signature};

/// How long one delivery attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Retries after the first attempt (DOCS).
const RETRIES: u32 = 3;
/// The first backoff; doubled for each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            crate::target::install_crypto_provider();
            reqwest::Client::builder()
                .user_agent(concat!("agentgigs-reference-webhooks/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none())
                .timeout(ATTEMPT_TIMEOUT)
                .build()
                .ok()
        })
        .as_ref()
}

/// Sends each delivery on a task of the current runtime (none: dropped).
/// `bad_signature` (the `webhook_bad_signature` fault) signs with a key
/// that is not the webhook's secret.
pub(crate) fn send_all(deliveries: Vec<WebhookDelivery>, bad_signature: bool) {
    if deliveries.is_empty() {
        return;
    }
    let (Ok(rt), Some(client)) = (tokio::runtime::Handle::try_current(), client()) else {
        return;
    };
    for d in deliveries {
        // An integration callback has no secret, and goes unsigned.
        let signature = d.secret.as_ref().map(|secret| {
            let key = if bad_signature {
                format!("{secret}-not-the-secret")
            } else {
                secret.clone()
            };
            webhook_signature(&key, d.body.as_bytes())
        });
        rt.spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            for attempt in 0..=RETRIES {
                let mut post = client
                    .post(&d.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("X-AgentGigs-Event", &d.event);
                if let Some(signature) = &signature {
                    post = post.header("X-AgentGigs-Signature", signature);
                }
                let sent = post.body(d.body.clone()).send().await;
                if sent.is_ok_and(|r| r.status().is_success()) || attempt == RETRIES {
                    break;
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        });
    }
}
