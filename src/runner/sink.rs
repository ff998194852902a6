//! Webhook sinks: `sink` opens a local listener (on `127.0.0.1:0`) that
//! records every request it receives, sets `{{<name>.url}}`, and asks the
//! target's control API (feature `webhook_loopback`) to let that URL past
//! its SSRF check; `webhook` waits for a delivery of a documented event at
//! a sink and checks it: a POST, a JSON body whose `event` is the type
//! (DOCS: the payload `{event, timestamp, data}`), and, with `signature`,
//! `X-AgentGigs-Signature` = HMAC-SHA256 of the raw body under the secret
//! (DOCS). The encoding is undocumented: hex or base64 (standard or
//! URL-safe, padded or not), with or without a `sha256=` prefix, passes.
//! The sink's listener stops when the scenario ends (the value is dropped).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::RunnerError;
use super::context::ScenarioContext;
use super::exec::human;
use super::state::{Deadline, Halt, ScenarioState, cut_message, interpolated};
use crate::check;
use crate::finding::{Finding, FindingKind};
use crate::mock::domain::webhook::hmac_sha256;
use crate::report::model::{RequestRecord, ResponseRecord, StepReport};
use crate::scenario::{BodyAssertion, ExpectWebhook, SinkStep};

/// Default `within_ms` of a `webhook` step.
const WEBHOOK_WITHIN_MS: u64 = 5000;
/// The signature header (DOCS).
const SIGNATURE_HEADER: &str = "x-agentgigs-signature";

/// One request the sink received.
#[derive(Debug, Clone)]
struct Delivery {
    method: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    received_at: Instant,
}

impl Delivery {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body's `event` field, if the body is JSON and has one.
    fn event(&self) -> Option<String> {
        self.json()?.get("event")?.as_str().map(str::to_string)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An open sink.
pub(crate) struct Sink {
    url: String,
    rx: mpsc::UnboundedReceiver<Delivery>,
    /// Received and not yet taken by a `webhook` step.
    buffered: Vec<Delivery>,
    /// The event names of everything received (for "never came" findings).
    seen: Vec<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sink {
    /// Binds `127.0.0.1:0` and serves: every request is recorded and
    /// answered `200 {"received": true}`.
    async fn open(name: &str) -> Result<Sink, RunnerError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| RunnerError::Unsupported(format!("cannot open webhook sink `{name}`: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| RunnerError::Unsupported(format!("cannot open webhook sink `{name}`: {e}")))?
            .port();
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(receive).with_state(tx);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sink {
            url: format!("http://127.0.0.1:{port}/webhooks/{name}"),
            rx,
            buffered: Vec::new(),
            seen: Vec::new(),
            task,
        })
    }

    fn drain(&mut self) {
        while let Ok(d) = self.rx.try_recv() {
            self.seen.push(d.event().unwrap_or_else(|| "(no `event` field)".into()));
            self.buffered.push(d);
        }
    }

    /// The first delivery of `event` that `wanted` accepts, waiting until
    /// `until`; then, if none came, the first of `event` at all.
    async fn take(&mut self, event: &str, until: Instant, wanted: impl Fn(&Delivery) -> bool) -> Option<Delivery> {
        let any = event == crate::scenario::validate::ANY_WEBHOOK;
        let of_type = |d: &Delivery| any || d.event().as_deref() == Some(event);
        loop {
            self.drain();
            if let Some(i) = self.buffered.iter().position(|d| of_type(d) && wanted(d)) {
                return Some(self.buffered.remove(i));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(d)) => {
                    self.seen.push(d.event().unwrap_or_else(|| "(no `event` field)".into()));
                    self.buffered.push(d);
                }
                Ok(None) | Err(_) => break,
            }
        }
        self.drain();
        let i = self.buffered.iter().position(of_type)?;
        Some(self.buffered.remove(i))
    }
}

async fn receive(
    State(tx): State<mpsc::UnboundedSender<Delivery>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let _ = tx.send(Delivery {
        method: method.to_string(),
        headers,
        body: body.to_vec(),
        received_at: Instant::now(),
    });
    (StatusCode::OK, axum::Json(json!({"received": true})))
}

/// Standard base64 alphabet.
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether `header` is the HMAC-SHA256 of `body` under `secret` in one of
/// the accepted encodings: an optional `sha256=` prefix (any case), then
/// hex (any case) or base64 (standard or URL-safe, padded or not).
pub(crate) fn signature_matches(header: &str, secret: &str, body: &[u8]) -> bool {
    let v = header.trim();
    let v = match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("sha256=") => &v[7..],
        _ => v,
    };
    let mac = hmac_sha256(secret.as_bytes(), body);
    if v.eq_ignore_ascii_case(&hex::encode(mac)) {
        return true;
    }
    let std = base64(&mac);
    let url = std.replace('+', "-").replace('/', "_");
    [
        std.clone(),
        std.trim_end_matches('=').to_string(),
        url.clone(),
        url.trim_end_matches('=').to_string(),
    ]
    .iter()
    .any(|c| c == v)
}

/// `sink`: opens the listener, lets its URL through the target's SSRF
/// check, sets `{{<name>.url}}`.
pub(crate) async fn open_step(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    k: &SinkStep,
    rep: &mut StepReport,
    dl: &Deadline,
) -> Result<(), Halt> {
    let _ = ctx;
    let Some(control) = st.control.clone().filter(|_| st.features.has("webhook_loopback")) else {
        return Err(RunnerError::Control("the target offers no `webhook_loopback` control".into()).into());
    };
    let sink = Sink::open(&k.name).await?;
    let url = sink.url.clone();
    rep.request = Some(RequestRecord {
        method: "POST".into(),
        url: format!(
            "{}/__conformance/webhook-loopback",
            st.base_url.as_str().trim_end_matches('/')
        ),
        headers: vec![],
        body: Some(json!({ "url": url })),
    });
    let started = Instant::now();
    match tokio::time::timeout(dl.outer_left(), control.allow_webhook_url(&url)).await {
        Err(_) => {
            return Err(
                RunnerError::Timeout(format!("the webhook-loopback call timed out ({})", dl.outer_label)).into(),
            );
        }
        Ok(r) => r.map_err(|e| RunnerError::Control(e.to_string()))?,
    }
    rep.response = Some(ResponseRecord {
        status: 201,
        headers: vec![],
        content_type: Some("application/json".into()),
        body: Some(json!({ "allowed": url })),
        body_bytes: 0,
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    st.vars.set(&k.name, json!({ "url": url }));
    st.sinks.insert(k.name.clone(), sink);
    Ok(())
}

/// `webhook`: a delivery of the type arrives at the sink in time, as a
/// POST with a JSON body and (with `signature`) a valid signature. The
/// report's `response` holds the delivery (its headers and body).
pub(crate) async fn webhook_step(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    w: &ExpectWebhook,
    rep: &mut StepReport,
    dl: &Deadline,
) -> Result<(), Halt> {
    let secret = match &w.signature {
        Some(sig) => {
            let s = st.vars.interpolate_str(&sig.secret, "`webhook.signature.secret`")?;
            ctx.secrets.add(&format!("WEBHOOK_SECRET:{}", w.sink), &s);
            Some(s)
        }
        None => None,
    };
    let reference: Vec<BodyAssertion> = match &w.reference {
        Some(r) => interpolated(&st.vars, &r.matches, "`webhook.reference.match`")?,
        None => Vec::new(),
    };
    let within_ms = w.within_ms.unwrap_or(WEBHOOK_WITHIN_MS);
    let within = Duration::from_millis(within_ms);
    let started = Instant::now();
    let window_end = (started + within).min(dl.outer_at);
    let cut = started + within > dl.outer_at;
    let Some(sink) = st.sinks.get_mut(&w.sink) else {
        return Err(RunnerError::Unsupported(format!(
            "no webhook sink named `{}` is open (open it with a `sink` step first)",
            w.sink
        ))
        .into());
    };
    // Another scenario's job may be delivered too (`job.available`): wait
    // for the one our reference checks describe, settle for any of the type.
    let wanted = |d: &Delivery| d.json().is_some_and(|b| check::assertions_hold(&reference, &b));
    let Some(d) = sink.take(&w.event_type, window_end, wanted).await else {
        if cut {
            return Err(RunnerError::Timeout(cut_message(dl.outer_label, within)).into());
        }
        let seen: Vec<Value> = sink.seen.iter().map(|s| Value::String(s.clone())).collect();
        let mut f = Finding::new(
            FindingKind::Event,
            format!(
                "no `{}` webhook delivery (a body whose `event` is `{}`) arrived at sink `{}` within {}",
                w.event_type,
                w.event_type,
                w.sink,
                human(within)
            ),
        )
        .actual(json!({ "received_events": seen }));
        f.expected = Some(json!({ "event": w.event_type, "within_ms": within_ms }));
        rep.findings.push(f);
        return Ok(());
    };
    let body = d.json();
    rep.response = Some(ResponseRecord {
        status: 200,
        headers: d.headers.clone(),
        content_type: d.header("content-type").map(str::to_string),
        body: body.clone(),
        body_bytes: d.body.len(),
        elapsed_ms: d.received_at.saturating_duration_since(started).as_millis() as u64,
    });
    if d.method != "POST" {
        rep.findings.push(
            Finding::new(
                FindingKind::Event,
                format!(
                    "the `{}` webhook delivery came as {}, expected POST",
                    w.event_type, d.method
                ),
            )
            .expected("POST")
            .actual(d.method.clone()),
        );
    }
    if let Some(secret) = &secret {
        match d.header(SIGNATURE_HEADER) {
            None => rep.findings.push(
                Finding::new(
                    FindingKind::Header,
                    format!(
                        "the `{}` webhook delivery has no `X-AgentGigs-Signature` header",
                        w.event_type
                    ),
                )
                .expected("HMAC-SHA256 of the raw body under the webhook secret"),
            ),
            Some(v) if !signature_matches(v, secret, &d.body) => rep.findings.push(
                Finding::new(
                    FindingKind::Header,
                    format!(
                        "the `{}` webhook delivery's `X-AgentGigs-Signature` is not the HMAC-SHA256 of the raw body \
                         under the webhook secret (accepted: hex or base64, with or without `sha256=`)",
                        w.event_type
                    ),
                )
                .expected("HMAC-SHA256(secret, raw body)")
                .actual(v.to_string()),
            ),
            Some(_) => {}
        }
    }
    if let Some(b) = &body {
        for mut x in check::check_assertions_as(FindingKind::Event, &reference, b) {
            x.message = format!(
                "the `{}` webhook payload departs from our reference server's: {}",
                w.event_type, x.message
            );
            rep.departures.push(x);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_encoding_of_the_signature_matches() {
        let body = br#"{"event":"job.accepted"}"#;
        let mac = hmac_sha256(b"whsec_k", body);
        let hex = hex::encode(mac);
        let b64 = base64(&mac);
        for v in [
            hex.clone(),
            hex.to_uppercase(),
            format!("sha256={hex}"),
            format!("SHA256={hex}"),
            b64.clone(),
            b64.trim_end_matches('=').to_string(),
            format!("sha256={b64}"),
            b64.replace('+', "-").replace('/', "_"),
        ] {
            assert!(signature_matches(&v, "whsec_k", body), "{v} should match");
        }
        assert!(!signature_matches(&hex, "whsec_other", body));
        assert!(!signature_matches(&format!("sha256={hex}"), "whsec_k", b"{}"));
        assert!(!signature_matches("", "whsec_k", body));
    }

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
