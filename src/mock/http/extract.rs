//! Request extractors that always answer JSON errors: path ids (full UUIDs
//! only), JSON bodies (1 MB, content type, UTF-8, syntax), query strings,
//! the client IP and the `Host` header.
//!
//! Type and range checks of body fields are the domain's (`from_json`); this
//! module only turns bytes into a `serde_json::Value`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderMap, header, request::Parts};
use futures::StreamExt;
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use super::server::AppState;
use crate::mock::domain::{DomainError, FieldError};

/// Largest JSON body accepted.
pub(crate) const MAX_JSON_BYTES: usize = 1024 * 1024;
/// How much of an oversized body is read and thrown away before answering
/// 413 (so the client reads the answer instead of a reset connection).
const DRAIN_CAP: usize = 64 * 1024 * 1024;

/// Parses a hyphenated 36-character UUID; anything else (REF codes, simple
/// or braced forms) is `None`.
pub(crate) fn parse_full_uuid(raw: &str) -> Option<Uuid> {
    let b = raw.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    Uuid::try_parse(raw).ok()
}

/// The `{id}` of a job path; `404 NOT_FOUND` unless it is a full UUID.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobPath(pub(crate) Uuid);

impl FromRequestParts<AppState> for JobPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, st)
            .await
            .map_err(|_| ApiError::not_found("job"))?;
        if let Some(id) = parse_full_uuid(&raw) {
            return Ok(JobPath(id));
        }
        if st.fault("refs_resolve")
            && let Some(id) = st.resolve_ref(&raw)
        {
            return Ok(JobPath(id));
        }
        Err(ApiError::not_found("job"))
    }
}

/// A JSON request body as a `Value`. An empty body is `Value::Null` (the
/// domain then reports required fields); a non-empty one must be
/// `application/json` (415), at most 1 MB (413), UTF-8 JSON (400 INVALID_JSON).
#[derive(Debug, Clone)]
pub(crate) struct JsonBody(pub(crate) Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _st: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut stream = body.into_data_stream();
        let mut buf: Vec<u8> = Vec::new();
        let mut too_large = declared.is_some_and(|n| n > MAX_JSON_BYTES as u64);
        let mut seen = 0usize;
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else {
                // The client went away or the router's own limit tripped.
                too_large = true;
                break;
            };
            seen += chunk.len();
            if !too_large && buf.len() + chunk.len() > MAX_JSON_BYTES {
                too_large = true;
                buf = Vec::new();
            }
            if too_large {
                if seen > DRAIN_CAP {
                    break;
                }
                continue;
            }
            buf.extend_from_slice(&chunk);
        }
        if too_large {
            return Err(DomainError::PayloadTooLarge(
                "The JSON body is over 1 MB. Send a smaller body (upload files with multipart instead).".into(),
            )
            .into());
        }
        if buf.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(JsonBody(Value::Null));
        }
        if !is_json_content_type(&parts.headers) {
            return Err(DomainError::UnsupportedMediaType(
                "The body must be JSON: send it with `Content-Type: application/json`.".into(),
            )
            .into());
        }
        if std::str::from_utf8(&buf).is_err() {
            return Err(
                DomainError::InvalidJson("The body is not valid UTF-8. Send UTF-8 encoded JSON.".into()).into(),
            );
        }
        match serde_json::from_slice::<Value>(&buf) {
            Ok(v) => Ok(JsonBody(v)),
            Err(e) => Err(DomainError::InvalidJson(format!(
                "The body is not valid JSON (line {}, column {}: {}). Fix the syntax and retry.",
                e.line(),
                e.column(),
                short_reason(&e)
            ))
            .into()),
        }
    }
}

fn short_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Whether the request says `application/json` (or `application/*+json`).
pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")))
}

/// The query string as a map (last value wins). Never fails.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryMap(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _st: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        Ok(QueryMap(
            url::form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        ))
    }
}

impl QueryMap {
    /// A raw value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A non-empty string.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.get(name).filter(|s| !s.is_empty()).map(str::to_string)
    }

    /// An integer in `min..=max`, else `400 VALIDATION_FAILED`.
    pub(crate) fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(raw) => match raw.parse::<i64>() {
                Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
                _ => Err(query_error(name, &format!("must be an integer from {min} to {max}"))),
            },
        }
    }

    /// `limit`: 1..100.
    pub(crate) fn limit(&self) -> Result<Option<usize>, ApiError> {
        Ok(self.int("limit", 1, 100)?.map(|v| v as usize))
    }

    /// `true` or `false`, else `400 VALIDATION_FAILED`.
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(_) => Err(query_error(name, "must be true or false")),
        }
    }
}

/// `400 VALIDATION_FAILED` on a query parameter.
pub(crate) fn query_error(name: &str, message: &str) -> ApiError {
    DomainError::validation(vec![FieldError::new(name, message)]).into()
}

/// The client's IP (from the connection; `127.0.0.1` in in-memory tests).
#[derive(Debug, Clone)]
pub(crate) struct ClientIp(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _st: &S) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "127.0.0.1".into());
        Ok(ClientIp(ip))
    }
}

/// The request's `Host` header when it looks like `host[:port]`.
pub(crate) fn host_of(headers: &HeaderMap) -> Option<String> {
    let h = headers.get(header::HOST)?.to_str().ok()?.trim();
    let ok = !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    ok.then(|| h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_hyphenated_uuids_parse() {
        assert!(parse_full_uuid("308f8811-0a46-4024-b8ef-514f4dcd857b").is_some());
        assert!(parse_full_uuid("308F8811").is_none());
        assert!(parse_full_uuid("308f88110a464024b8ef514f4dcd857b").is_none());
        assert!(parse_full_uuid("{308f8811-0a46-4024-b8ef-514f4dcd857}").is_none());
        assert!(parse_full_uuid("308f8811-0a46-4024-b8ef-514f4dcd857g").is_none());
    }
}
