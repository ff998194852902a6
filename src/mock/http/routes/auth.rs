//! Accounts and sessions: register, login (session JWTs) and API keys.
//!
//! Passwords, key storage and the login/registration limits (per client IP)
//! are the domain's; this module issues the JWTs and shapes the answers.

use axum::extract::State;
use serde_json::json;
use uuid::Uuid;

use crate::mock::domain::DomainError;
use crate::mock::domain::input::Fields;
use crate::mock::http::auth::JwtCaller;
use crate::mock::http::error::{ApiResult, created, ok};
use crate::mock::http::extract::{ClientIp, JsonBody};
use crate::mock::http::jwt::JWT_TTL_SECS;
use crate::mock::http::server::AppState;

fn refresh_token() -> String {
    format!("rt_{}", Uuid::new_v4().simple())
}

/// `POST /api/auth/register` → 201 `{success, userId, accessToken, refreshToken}`
/// (docs Account Setup), or under the `alternatives` choice `{userId}` only
/// (the docs' Getting-Started curl comment).
pub(crate) async fn register(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    let email = f.string("email", true, 1, 254);
    let password = f.string("password", true, 0, 128);
    let name = f.string("name", false, 1, 100);
    f.finish()?;
    let (email, password) = (email.unwrap_or_default(), password.unwrap_or_default());
    let jwt = st.jwt();
    let (user, token) = st.run(|m| {
        let user = m.register(&email, &password, name.as_deref(), &ip)?;
        let view = m.user_view(user)?;
        Ok::<_, DomainError>((user, jwt.issue(user, &view.email, m.now().timestamp())))
    })?;
    if st.choice("alternatives") {
        return created(json!({"userId": user}));
    }
    created(json!({"success": true, "userId": user, "accessToken": token, "refreshToken": refresh_token()}))
}

/// `POST /api/auth/login` → `{accessToken, refreshToken, expiresIn, user}`.
pub(crate) async fn login(State(st): State<AppState>, ClientIp(ip): ClientIp, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let email = f.string("email", true, 1, 254);
    let password = f.string("password", true, 0, 128);
    f.finish()?;
    let (email, password) = (email.unwrap_or_default(), password.unwrap_or_default());
    let jwt = st.jwt();
    let (view, token) = st.run(|m| {
        let view = m.login(&email, &password, &ip)?;
        let token = jwt.issue(view.id, &view.email, m.now().timestamp());
        Ok::<_, DomainError>((view, token))
    })?;
    ok(json!({
        "accessToken": token,
        "refreshToken": refresh_token(),
        "expiresIn": JWT_TTL_SECS,
        "user": {"id": view.id, "email": view.email, "email_verified": view.email_verified},
    }))
}

/// `POST /api/agent/api-key` (JWT only) → `{api_key, message}`.
pub(crate) async fn api_key(State(st): State<AppState>, JwtCaller(caller): JwtCaller) -> ApiResult {
    let key = st.run(|m| m.issue_api_key(caller.user))?;
    ok(json!({
        "api_key": key,
        "message": "Save this key now: it is shown once and cannot be retrieved later. Send it as X-API-Key.",
    }))
}
