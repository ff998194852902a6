//! Who is calling: `X-API-Key` or `Authorization: Bearer <JWT>`, never both.
//!
//! Key lookup and the standard rate limit are the domain's; JWT signatures
//! are checked here with `exp` read against the domain clock. An extractor
//! ([`Caller`], or [`JwtCaller`] for JWT-only endpoints) runs before any
//! body is read, so credentials are judged first.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::host_of;
use super::jwt::JwtRefusal;
use super::server::AppState;
use crate::mock::domain::DomainError;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    ApiKey,
    Jwt,
}

/// An authenticated caller (the standard rate limit already counted).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) user: Uuid,
    #[allow(dead_code)]
    pub(crate) via: Via,
    /// The `Host` header, for absolute signed URLs.
    pub(crate) host: Option<String>,
}

/// A caller that used a JWT (`401 JWT_REQUIRED` for an API key).
#[derive(Debug, Clone)]
pub(crate) struct JwtCaller(pub(crate) Caller);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, st, false)
    }
}

impl FromRequestParts<AppState> for JwtCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, st, true).map(JwtCaller)
    }
}

fn header_text<'a>(parts: &'a Parts, name: &str) -> Option<Result<&'a str, ()>> {
    parts
        .headers
        .get(name)
        .map(|v| v.to_str().map(str::trim).map_err(|_| ()))
}

fn jwt_required() -> ApiError {
    DomainError::JwtRequired(
        "This endpoint needs a session JWT: send `Authorization: Bearer <JWT>` from POST /api/auth/login (an X-API-Key is not accepted here).".into(),
    )
    .into()
}

fn invalid_jwt() -> ApiError {
    DomainError::InvalidJwt(
        "The Bearer token is not a valid session JWT. Log in again with POST /api/auth/login, or send an API key in X-API-Key.".into(),
    )
    .into()
}

/// Resolves the credentials of a request to a user.
pub(crate) fn authenticate(parts: &Parts, st: &AppState, jwt_only: bool) -> Result<Caller, ApiError> {
    let host = host_of(&parts.headers);
    let key = header_text(parts, "x-api-key");
    let authz = header_text(parts, "authorization");
    match (key, authz) {
        (Some(_), Some(_)) => Err(DomainError::ConflictingCredentials(
            "Send either X-API-Key or Authorization: Bearer, not both (two headers, do not mix).".into(),
        )
        .into()),
        (None, None) => Err(DomainError::Unauthenticated(
            "Authentication required: send `X-API-Key: age_...`, or `Authorization: Bearer <JWT>` from POST /api/auth/login.".into(),
        )
        .into()),
        (Some(key), None) => {
            if jwt_only {
                return Err(jwt_required());
            }
            let key = key.unwrap_or("");
            by_api_key(st, key, host)
        }
        (None, Some(value)) => {
            let value = value.map_err(|_| invalid_jwt())?;
            let token = match value.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => return Err(invalid_jwt()),
            };
            if token.starts_with("age_") {
                if st.fault("bearer_accepts_api_key") && !jwt_only {
                    return by_api_key(st, token, host);
                }
                return Err(DomainError::ApiKeyInBearer(
                    "An API key in `Authorization: Bearer` is rejected as an invalid JWT. Send API keys in the X-API-Key header.".into(),
                )
                .into());
            }
            let jwt = st.jwt();
            let user = st.run(|m| {
                let now = m.now().timestamp();
                let user = match jwt.verify(token, now) {
                    Ok((user, _)) => user,
                    Err(JwtRefusal::Expired) => {
                        return Err(ApiError::from(DomainError::JwtExpired(
                            "The session JWT has expired (1 h). Log in again with POST /api/auth/login.".into(),
                        )));
                    }
                    Err(JwtRefusal::Invalid) => return Err(invalid_jwt()),
                };
                if !m.user_exists(user) {
                    return Err(invalid_jwt());
                }
                m.check_standard_rate(user)?;
                Ok(user)
            })?;
            Ok(Caller { user, via: Via::Jwt, host })
        }
    }
}

fn by_api_key(st: &AppState, key: &str, host: Option<String>) -> Result<Caller, ApiError> {
    let user = st.run(|m| {
        let user = m.authenticate_api_key(key)?;
        m.check_standard_rate(user)?;
        Ok::<_, DomainError>(user)
    })?;
    Ok(Caller {
        user,
        via: Via::ApiKey,
        host,
    })
}
