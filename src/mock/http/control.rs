//! The conformance control API (`specs/control.openapi.yaml`): features,
//! actors, clock, reset, attachments, webhook loopback, behind an optional `X-Conformance-Token`.
//!
//! Control calls are not rate limited and are not part of the AgentGigs API;
//! they only create accounts, move the clock and wipe state.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::error::{ApiError, ApiResult, created, ok};
use super::extract::JsonBody;
use super::server::AppState;
use crate::mock::domain::input::Fields;
use crate::mock::domain::{ActorRole, ActorSpec, DomainError, Tier};

/// Largest clock step accepted (ten years).
const MAX_ADVANCE_SECS: i64 = 10 * 365 * 24 * 3600;

/// The `/__conformance` routes.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/__conformance", get(info))
        .route("/__conformance/actors", post(create_actor))
        .route("/__conformance/clock", post(advance_clock))
        .route("/__conformance/reset", post(reset))
        .route("/__conformance/attachments", post(seed_attachment))
        .route("/__conformance/webhook-loopback", post(allow_webhook_url))
        .route("/__conformance/events/flush", post(flush_events))
        .route_layer(middleware::from_fn_with_state(state, require_token))
}

async fn require_token(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(expected) = st.control_token() {
        let given = req.headers().get("x-conformance-token").and_then(|v| v.to_str().ok());
        if given != Some(expected) {
            return ApiError::from(DomainError::ControlTokenRequired(
                "This server requires the control token: send it in the X-Conformance-Token header.".into(),
            ))
            .into_response();
        }
    }
    next.run(req).await
}

/// What the control API of the reference server offers (`events_sync` only
/// on a clock at real speed: [`AppState::events_sync`]).
pub const CONTROL_FEATURES: &[&str] = &[
    "actors",
    "clock",
    "reset",
    "attachments",
    "webhook_loopback",
    // Every event is published while the request that causes it is
    // handled (`AppState::run_at`), and nothing publishes later.
    EVENTS_SYNC,
    // A marker on every open stream, after every event published before it.
    "events_flush",
];

const EVENTS_SYNC: &str = "events_sync";

async fn info(State(st): State<AppState>) -> ApiResult {
    let features: Vec<&str> = CONTROL_FEATURES
        .iter()
        .copied()
        .filter(|f| *f != EVENTS_SYNC || st.events_sync())
        .collect();
    ok(json!({"version": 1, "features": features}))
}

fn parse_actor(body: &serde_json::Value) -> Result<ActorSpec, ApiError> {
    let mut f = Fields::new(body);
    let role = f.one_of("role", true, &["poster", "agent", "proofer"]);
    let name = f.string("name", false, 1, 100);
    let email = f.string("email", false, 3, 254);
    let password = f.string("password", false, 8, 128);
    let specializations = f.strings("specializations", false, 100);
    let wallet = f.int("wallet_cents", false, 0, 100_000_000_000);
    let verified = f.boolean("email_verified", false);
    let stripe = f.boolean("stripe_connected", false);
    let tier = f.one_of("tier", false, &["free", "pro", "enterprise"]);
    f.finish()?;
    let role = match role.as_deref() {
        Some("poster") => ActorRole::Poster,
        Some("proofer") => ActorRole::Proofer,
        _ => ActorRole::Agent,
    };
    let mut spec = ActorSpec::new(role);
    spec.name = name;
    spec.email = email;
    spec.password = password;
    spec.specializations = specializations.unwrap_or_default();
    spec.wallet_cents = wallet.unwrap_or(0);
    spec.email_verified = verified.unwrap_or(true);
    spec.stripe_connected = stripe.unwrap_or(true);
    spec.tier = tier.as_deref().and_then(Tier::parse).unwrap_or_default();
    Ok(spec)
}

async fn create_actor(State(st): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let spec = parse_actor(&body)?;
    let jwt = st.jwt();
    let (actor, token) = st.run(|m| {
        let actor = m.create_actor(spec)?;
        let token = jwt.issue(actor.id, &actor.email, m.now().timestamp());
        Ok::<_, DomainError>((actor, token))
    })?;
    created(json!({
        "user_id": actor.id,
        "email": actor.email,
        "password": actor.password,
        "access_token": token,
        "api_key": actor.api_key,
        "role": actor.role,
        "name": actor.name,
        "tier": actor.tier,
        "wallet_cents": actor.wallet_cents,
        "specializations": actor.specializations,
    }))
}

async fn advance_clock(State(st): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let secs = f.int("advance_seconds", true, 0, MAX_ADVANCE_SECS);
    f.finish()?;
    let now = st.run(|m| {
        m.advance_clock(secs.unwrap_or(0));
        Ok::<_, DomainError>(m.now())
    })?;
    ok(json!({"now": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}))
}

/// `POST /__conformance/attachments {job_id, file_name, content}`: an
/// attachment on the job, as its poster would have added it.
async fn seed_attachment(State(st): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let job = f.string("job_id", true, 1, 64);
    let name = f.string("file_name", true, 1, 255);
    let content = f.string("content", false, 0, 1_000_000);
    f.finish()?;
    let job: uuid::Uuid = job
        .as_deref()
        .and_then(|j| j.parse().ok())
        .ok_or_else(|| ApiError::from(DomainError::invalid_field("job_id", "must be a job's UUID")))?;
    let file = st.run(|m| {
        m.seed_attachment(
            job,
            name.as_deref().unwrap_or_default(),
            content.unwrap_or_default().into_bytes(),
        )
    })?;
    created(json!({ "attachment": file }))
}

/// `POST /__conformance/webhook-loopback {url}` (feature `webhook_loopback`):
/// lets exactly this URL, on a loopback or private address, be registered
/// as a webhook (a harness's sink); every other such URL stays refused
/// (DOCS SSRF protection). Only http(s) URLs with a host.
async fn allow_webhook_url(State(st): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let url = f.string("url", true, 1, 2000);
    f.finish()?;
    let url = url.unwrap_or_default();
    let parsed = url::Url::parse(url.trim()).ok();
    if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()) {
        return Err(DomainError::invalid_field("url", "must be an absolute http(s) URL").into());
    }
    st.run(|m| {
        m.allow_webhook_url(&url);
        Ok::<_, DomainError>(())
    })?;
    created(json!({"allowed": url.trim()}))
}

/// `POST /__conformance/events/flush {token}` (feature `events_flush`):
/// the flush marker, an event of type `conformance.flush` with this token,
/// on every open event stream; answers how many streams it reached.
async fn flush_events(State(st): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let token = f.string("token", true, 1, 200);
    f.finish()?;
    let streams = st.hub().flush(token.as_deref().unwrap_or_default());
    ok(json!({ "streams": streams }))
}

async fn reset(State(st): State<AppState>) -> Response {
    st.reset();
    StatusCode::NO_CONTENT.into_response()
}
