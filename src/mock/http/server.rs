//! The shared state of one server and the router around it: the single
//! marketplace lock, event publication, the JSON 404/405 answers, panic
//! catching, the response-wide faults, and the hook of the response-wide
//! choices (`choice.rs`; event payloads are renamed here, on publication).
//!
//! It holds no business rule; routes live in `routes/`, `control.rs` and
//! `events.rs`.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use futures::FutureExt;
use parking_lot::Mutex;
use serde_json::Value;
use uuid::Uuid;

use super::choice;
use super::contract::{Contract, rename_all};
use super::error::{ApiError, internal_error};
use super::events::EventHub;
use super::jwt::JwtKeys;
use crate::mock::MockConfig;
use crate::mock::domain::{Choice, Clock, DomainError, Fault, Marketplace};

/// The deliberate rule-breaks a server can be started with (for tests that
/// prove the harness catches a broken server). Those [`Fault::parse`] knows
/// are broken in the domain; the others here, in the HTTP layer.
pub const KNOWN_FAULTS: &[&str] = &[
    "skip_nda",               // NDA-gated actions work without an acknowledgment
    "bearer_accepts_api_key", // `Authorization: Bearer age_...` authenticates
    "float_money",            // wallet balance as a float of dollars
    "no_retry_after",         // 429 without the `Retry-After` header
    "refs_resolve",           // an 8-char REF code resolves to the job
    "list_all_categories",    // jobs/available ignores specializations
    "no_blind_review",        // a proofer who has not voted sees everything
    "early_release",          // payment released at approve
    "double_hire",            // a second accept-application answers 200
    "events_to_everyone",     // every event goes to every subscriber
    "error_without_code",     // error bodies lack `code`
    "html_404",               // unknown routes answer an HTML page
    "webhook_bad_signature",  // webhooks signed with a key that is not the secret
    "cancel_after_funding",   // the poster cancels a funded job
    "commission_ignored",     // the agent is paid the whole price
    "deliverables_public",    // anyone with the NDA downloads deliverables
    "messages_open",          // anyone with the NDA reads and writes messages
    "slots_unbounded",        // accept-proofer accepts beyond proofer_count
    // `Retry-After` counts milliseconds, not seconds
    "retry_after_millis",
    // one SSE keepalive, then none
    "keepalive_once",
    // registration takes a password under 8 characters
    "short_password",
    // a proofer may bid more than 50% of the budget
    "proofer_bid_uncapped",
    // fund-proof-escrow funds nothing, in any state
    "proof_escrow_unguarded",
    // the card path answers no clientSecret
    "card_without_client_secret",
    // the payment is released an hour before the cooldown ends
    "cooldown_ends_early",
    // an agent without Stripe Connect is paid out
    "payout_without_stripe",
    // proofer_count may drop below the accepted proofers
    "settings_below_accepted",
    // a delivery after a revision stays in the same round
    "round_not_advanced",
    // a verdict with custom_answers is refused
    "custom_answers_refused",
    // the proofs view names the agent to proofers
    "agent_shown_to_proofers",
    // funding sends the hired agent no application.update
    "no_funded_update",
    // accepted proofers are not participants
    "proofers_locked_out",
    // job posting has no hourly limit
    "posting_unlimited",
    // applications have no hourly limit
    "applications_unlimited",
    // escrow funding has no hourly limit by tier
    "funding_unlimited",
    "commission_twice",        // the agent's commission is taken twice at release
    "race_fund_escrow",        // overlapping fund-escrow calls both fund
    "race_accept_application", // overlapping accept-application calls both hire
    "race_accept_proofer",     // overlapping accept-proofer calls overfill the slots
    "race_verdict",            // one proofer's overlapping verdicts both count
    "race_approve",            // overlapping approvals release the payment twice
    "race_nda",                // an overlapping second NDA acknowledgment fails
    // an integration job's callback_url is never called
    "callback_never_sent",
    // escrow funding is not held to 5 per hour per job
    "funding_per_job_unlimited",
    // every poster's hourly funding limit is the free tier's 20
    "funding_one_tier",
    // enterprise accounts get pro's hourly limits for applications and funding
    "enterprise_as_pro",
    // every poster's hourly job-posting limit is the free tier's 10
    "posting_one_tier",
    // every agent's hourly application limit is the free tier's 20
    "applications_one_tier",
];

/// Biggest request body the router lets through at all (files: 50 MB, plus
/// multipart framing); JSON bodies are held to 1 MB by the extractor.
pub(crate) const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
pub(crate) const ROUTER_BODY_LIMIT: usize = MAX_FILE_BYTES + 1024 * 1024;
/// The biggest file of any tier under the `alternatives` choice (enterprise, 200 MB).
const MAX_TIER_FILE_BYTES: usize = 200 * 1024 * 1024;

/// Marks a response the normalising middleware must leave alone.
#[derive(Debug, Clone, Copy)]
struct Untouched;

/// The shared state of one reference server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    market: Mutex<Marketplace>,
    /// Held from "events drained" to "events published", so streams see events in order.
    publish_order: Mutex<()>,
    hub: EventHub,
    jwt: JwtKeys,
    control_token: Option<String>,
    keepalive: Duration,
    faults: BTreeSet<String>,
    /// Choices made the other way (see [`choice::KNOWN_CHOICES`]).
    choices: BTreeSet<String>,
    /// The documented contract read by `documented_fields_only` and `renamed_fields`.
    contract: Option<Arc<Contract>>,
    /// Whether rate limits apply (kept across resets).
    rate_limits: bool,
    /// Server seconds per real second (`MockConfig::clock_rate`).
    clock_rate: u32,
    base_url: String,
}

impl AppState {
    /// Fresh state for a server whose own base URL is `base_url`.
    pub fn new(config: &MockConfig, base_url: &str) -> Self {
        let base_url = base_url.trim_end_matches('/');
        let clock = config
            .clock_start
            .map_or_else(Clock::real, Clock::starting_at)
            .with_rate(config.clock_rate);
        let market = fresh_market(clock, base_url, &config.faults, &config.choices, config.rate_limits);
        let wants_contract = ["documented_fields_only", "renamed_fields"]
            .iter()
            .any(|c| config.choices.contains(*c));
        let contract = match &config.contract {
            _ if !wants_contract => None,
            Some(text) => Contract::parse(text).ok().map(Arc::new),
            None => Contract::embedded().ok(),
        };
        AppState(Arc::new(Shared {
            market: Mutex::new(market),
            publish_order: Mutex::new(()),
            hub: EventHub::new(),
            jwt: JwtKeys::random(),
            control_token: config.control_token.clone().filter(|t| !t.is_empty()),
            keepalive: config.keepalive,
            faults: config.faults.clone(),
            choices: config.choices.clone(),
            contract,
            rate_limits: config.rate_limits,
            clock_rate: config.clock_rate,
            base_url: base_url.to_string(),
        }))
    }

    /// Reads the marketplace (for in-process checks; no events are drained).
    pub fn inspect<T>(&self, f: impl FnOnce(&Marketplace) -> T) -> T {
        f(&self.0.market.lock())
    }

    /// Changes the marketplace outside any operation (the race window of
    /// the race faults; no tick, no events).
    pub(crate) fn with_market<T>(&self, f: impl FnOnce(&mut Marketplace) -> T) -> T {
        f(&mut self.0.market.lock())
    }

    /// The domain's money invariants (conservation, no negative balance).
    pub fn check_invariants(&self) -> Result<(), String> {
        self.inspect(|m| m.check_invariants())
    }

    /// Ends every open event stream (shutdown, reset).
    pub fn close_streams(&self) {
        self.0.hub.close_all();
    }

    /// Whether the fault `name` is on.
    pub(crate) fn fault(&self, name: &str) -> bool {
        self.0.faults.contains(name)
    }

    /// Whether the choice `name` is on.
    pub(crate) fn choice(&self, name: &str) -> bool {
        self.0.choices.contains(name)
    }

    /// Largest uploaded file the HTTP layer reads (the domain then applies
    /// the uploader's own limit).
    pub(crate) fn max_upload_bytes(&self) -> usize {
        if self.choice("alternatives") {
            MAX_TIER_FILE_BYTES
        } else {
            MAX_FILE_BYTES
        }
    }

    /// Biggest request body the router lets through (the largest file plus framing).
    pub(crate) fn router_body_limit(&self) -> usize {
        self.max_upload_bytes() + (ROUTER_BODY_LIMIT - MAX_FILE_BYTES)
    }

    /// The JWT signing keys.
    pub(crate) fn jwt(&self) -> &JwtKeys {
        &self.0.jwt
    }

    /// The event fan-out.
    pub(crate) fn hub(&self) -> &EventHub {
        &self.0.hub
    }

    /// The SSE keepalive interval.
    /// Whether every event is published by the request that causes it
    /// (the control feature `events_sync`). Not on a clock that runs
    /// faster than real time: there a payment whose cooldown ends between
    /// two requests is released, and its event published, by whichever
    /// request comes next.
    pub(crate) fn events_sync(&self) -> bool {
        self.0.clock_rate <= 1
    }

    pub(crate) fn keepalive(&self) -> Duration {
        self.0.keepalive
    }

    /// This server's own base URL (`http://127.0.0.1:PORT`).
    pub(crate) fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// The control token, if one is configured.
    pub(crate) fn control_token(&self) -> Option<&str> {
        self.0.control_token.as_deref()
    }

    /// The one way into the marketplace: lock, `tick()`, `f`, drain the
    /// outbox, unlock, publish the events in order.
    pub(crate) fn run<T, E: Into<ApiError>>(
        &self,
        f: impl FnOnce(&mut Marketplace) -> Result<T, E>,
    ) -> Result<T, ApiError> {
        self.run_at(None, f)
    }

    /// Like [`AppState::run`], with signed URLs built on `host` (the request's
    /// `Host` header) instead of the bound address.
    pub(crate) fn run_at<T, E: Into<ApiError>>(
        &self,
        host: Option<&str>,
        f: impl FnOnce(&mut Marketplace) -> Result<T, E>,
    ) -> Result<T, ApiError> {
        let mut market = self.0.market.lock();
        if let Some(h) = host {
            market.set_base_url(format!("http://{h}"));
        }
        market.tick();
        let out = f(&mut market).map_err(Into::into);
        if host.is_some() {
            market.set_base_url(self.0.base_url.clone());
        }
        let mut events = market.drain_events();
        if self.choice("renamed_fields") {
            // Event payloads are entirely undocumented: every field is renamed.
            events.iter_mut().for_each(|e| rename_all(&mut e.payload));
        }
        let hooks = market.drain_webhooks();
        let order = self.0.publish_order.lock();
        drop(market);
        self.0.hub.publish(events, self.fault("events_to_everyone"));
        drop(order);
        super::webhooks::send_all(hooks, self.fault("webhook_bad_signature"));
        out
    }

    /// Replaces the marketplace with an empty one on the same clock and ends streams.
    pub(crate) fn reset(&self) {
        let mut market = self.0.market.lock();
        let clock = market.clock().clone();
        *market = fresh_market(
            clock,
            &self.0.base_url,
            &self.0.faults,
            &self.0.choices,
            self.0.rate_limits,
        );
        self.0.hub.close_all();
    }

    /// The job whose id starts with a REF code (only under `refs_resolve`).
    pub(crate) fn resolve_ref(&self, code: &str) -> Option<Uuid> {
        self.inspect(|m| m.find_job_by_ref(code))
    }
}

/// An empty marketplace with this server's settings: base URL, domain
/// faults and choices, rate limits.
fn fresh_market(
    clock: Clock,
    base_url: &str,
    faults: &BTreeSet<String>,
    choices: &BTreeSet<String>,
    rate_limits: bool,
) -> Marketplace {
    let mut market = Marketplace::new(clock);
    market.set_base_url(base_url);
    market.set_faults(faults.iter().filter_map(|f| Fault::parse(f)));
    market.set_choices(choices.iter().filter_map(|c| Choice::parse(c)));
    market.set_rate_limits(rate_limits);
    market
}

/// The whole application: `/api`, `/files`, `/__conformance`, JSON 404/405.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(super::routes::routes())
        .merge(super::control::routes(state.clone()))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(state.router_body_limit()))
        .layer(middleware::from_fn_with_state(state.clone(), super::race::window))
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .with_state(state)
}

async fn fallback(State(st): State<AppState>, method: Method, uri: axum::http::Uri) -> Response {
    if st.fault("html_404") {
        let mut resp = (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><html><body><h1>404 Not Found</h1></body></html>"),
        )
            .into_response();
        resp.extensions_mut().insert(Untouched);
        return resp;
    }
    ApiError::route_not_found(method.as_str(), uri.path()).into_response()
}

/// Outermost layer: catches panics, turns any non-JSON error into JSON
/// (axum's own 405 included) and applies the response-wide faults and
/// choices (never to the control API).
async fn finish(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| internal_error());
    if resp.extensions().get::<Untouched>().is_some() {
        return resp;
    }
    let resp = if resp.status().as_u16() < 400 {
        resp
    } else {
        normalise_error(&st, &method, &path, resp).await
    };
    if path.starts_with("/__conformance") || !choice::rewrites(&st) {
        return resp;
    }
    choice::rewrite(&st, st.0.contract.as_deref(), &method, &path, resp).await
}

/// An error answer as JSON, with the response-wide faults applied.
async fn normalise_error(st: &AppState, method: &Method, path: &str, resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut resp = if is_json { resp } else { jsonify(method, path, resp) };
    if st.fault("no_retry_after") {
        resp.headers_mut().remove(header::RETRY_AFTER);
    }
    if st.fault("retry_after_millis") {
        // The wait in milliseconds where seconds are meant.
        let millis = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|secs| secs.saturating_mul(1000));
        if let Some(ms) = millis {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(ms));
        }
    }
    if st.fault("error_without_code") {
        resp = strip_code(resp).await;
    }
    resp
}

/// A JSON body for an error answer that came out without one.
fn jsonify(method: &Method, path: &str, resp: Response) -> Response {
    let status = resp.status();
    let allow = resp
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let err: ApiError = match status.as_u16() {
        405 => return ApiError::method_not_allowed(method.as_str(), path, allow).into_response(),
        404 => ApiError::route_not_found(method.as_str(), path),
        413 => {
            DomainError::PayloadTooLarge("The request body is too large (JSON 1 MB, files 50 MB). Send less.".into())
                .into()
        }
        415 => DomainError::UnsupportedMediaType("Send the body as application/json.".into()).into(),
        401 => DomainError::Unauthenticated("Authentication required: send X-API-Key: age_...".into()).into(),
        400..=499 => {
            DomainError::invalid_field("request", &format!("was refused with status {}", status.as_u16())).into()
        }
        _ => return internal_error(),
    };
    err.into_response()
}

async fn strip_code(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return internal_error();
    };
    let mut value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        obj.remove("code");
    }
    let body = serde_json::to_vec(&value).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn call(app: Router, method: &str, path: &str) -> (StatusCode, HeaderMapLite, Value) {
        let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let allow = resp
            .headers()
            .get(header::ALLOW)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (
            status,
            HeaderMapLite { allow },
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    struct HeaderMapLite {
        allow: Option<String>,
    }

    async fn boom() -> &'static str {
        let v: Vec<&str> = Vec::new();
        v[0] // index out of bounds: a panic in a handler
    }

    fn state() -> AppState {
        AppState::new(&MockConfig::default(), "http://127.0.0.1:1")
    }

    #[tokio::test]
    async fn in_memory_router_answers_json_404_and_405() {
        let app = router(state());
        let (status, _, body) = call(app.clone(), "GET", "/api/nope").await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (404, Some("ROUTE_NOT_FOUND")));
        let (status, h, body) = call(app.clone(), "PUT", "/api/categories").await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (405, Some("METHOD_NOT_ALLOWED"))
        );
        assert!(h.allow.unwrap().contains("GET"));
        let (status, _, body) = call(app, "GET", "/api/categories").await;
        assert_eq!((status.as_u16(), body["count"].as_u64()), (200, Some(13)));
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_a_json_500() {
        let st = state();
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(middleware::from_fn_with_state(st.clone(), finish))
            .with_state(st);
        let (status, _, body) = call(app, "GET", "/boom").await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (500, Some("INTERNAL_ERROR")));
    }
}
