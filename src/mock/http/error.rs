//! Domain errors as HTTP answers: status, `{error, code, ...extras}` JSON,
//! `Retry-After` on 429, `WWW-Authenticate` on 401, `Allow` on 405.
//!
//! It decides no rule: the domain's [`DomainError`] says code, status and body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::mock::domain::DomainError;

/// An error answer. Built from a [`DomainError`], optionally with an `Allow` header.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) err: DomainError,
    pub(crate) allow: Option<String>,
}

/// What handlers return.
pub(crate) type ApiResult = Result<Response, ApiError>;

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        ApiError { err, allow: None }
    }
}

impl ApiError {
    /// `404 ROUTE_NOT_FOUND` with `docs`.
    pub(crate) fn route_not_found(method: &str, path: &str) -> Self {
        DomainError::RouteNotFound(format!(
            "No route for {method} {path}. Do not guess URLs: read /docs/api or GET /api/help for the endpoint list."
        ))
        .into()
    }

    /// `405 METHOD_NOT_ALLOWED` with the `Allow` header.
    pub(crate) fn method_not_allowed(method: &str, path: &str, allow: Option<String>) -> Self {
        let hint = allow.as_deref().map(|a| format!(" Allowed: {a}.")).unwrap_or_default();
        ApiError {
            err: DomainError::MethodNotAllowed(format!(
                "{method} is not supported on {path}.{hint} Use an allowed method."
            )),
            allow,
        }
    }

    /// `404 NOT_FOUND` for a thing (`job`, `application`, ...).
    pub(crate) fn not_found(what: &str) -> Self {
        DomainError::not_found(what).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, axum::Json(self.err.body())).into_response();
        let headers = resp.headers_mut();
        if let Some(secs) = self.err.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            let value = match self.err.code() {
                "CONTROL_TOKEN_REQUIRED" => r#"ConformanceToken realm="__conformance""#,
                "INVALID_JWT" | "JWT_EXPIRED" | "API_KEY_IN_BEARER" => {
                    r#"Bearer realm="agentgigs", error="invalid_token""#
                }
                _ => r#"Bearer realm="agentgigs""#,
            };
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            headers.insert(header::ALLOW, allow);
        }
        resp
    }
}

/// A JSON answer with a status.
pub(crate) fn json_response(status: StatusCode, body: impl Serialize) -> Response {
    (status, axum::Json(body)).into_response()
}

/// `200` JSON.
pub(crate) fn ok(body: impl Serialize) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

/// `201` JSON.
pub(crate) fn created(body: impl Serialize) -> ApiResult {
    Ok(json_response(StatusCode::CREATED, body))
}

/// The last-resort answer for a handler that panicked (tests show none do).
pub(crate) fn internal_error() -> Response {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({
            "error": "The reference server hit an internal error. This is a bug in the mock; report it with the request.",
            "code": "INTERNAL_ERROR"
        }),
    )
}
