//! The choice switches: decisions the reference server can make the other
//! way where the AgentGigs docs are silent or conflict, to prove that the
//! scenario library never fails a faithful server that chose differently.
//!
//! [`KNOWN_CHOICES`] lists them. The domain makes its own ones
//! ([`Choice`](crate::mock::domain::Choice)); the handlers make the shape
//! ones of their answers (`alternatives`, `links_403`,
//! `downloads_text_plain`, the event stream's); this module makes the
//! response-wide ones in one rewriting step after every `/api` and `/files`
//! answer: statuses (`created_200`, `content_type_400`, `validation_422`,
//! `conflicts_400`), error codes (`other_codes`) and field names and sets
//! (`renamed_fields`, then `documented_fields_only`, read from the
//! documented contract). The control API is never touched.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::contract::Contract;
use super::server::AppState;

/// Every choice switch: `(name, what it changes)`. Each flips only
/// something the docs leave open, or takes the other documented version
/// where the docs conflict. All are off by default.
pub const KNOWN_CHOICES: &[(&str, &str)] = &[
    (
        "other_codes",
        "error codes other than the documented ACKNOWLEDGMENT_REQUIRED are named `err.<lower case>` (INVALID_STATE → err.invalid_state)",
    ),
    (
        "created_200",
        "creations whose success status the docs do not fix answer 200 instead of 201",
    ),
    (
        "content_type_400",
        "a body of the wrong content type answers 400 instead of 415",
    ),
    (
        "links_403",
        "an unknown or expired signed-download token answers 403 instead of 404 / 410",
    ),
    (
        "downloads_text_plain",
        "files behind signed URLs are served as text/plain; charset=utf-8 whatever their type",
    ),
    (
        "documented_fields_only",
        "JSON answers carry only the fields the documented contract declares (and `id`)",
    ),
    (
        "renamed_fields",
        "fields the documented contract does not declare, and every event payload field, are camelCase",
    ),
    (
        "alternatives",
        "the other documented version where the docs conflict (download `url`, register `{userId}`, apply `{applicationId}`, consensus when all voted, proof settings only before proofing, revisions and file limits by tier, proofers keep their bid, no agent_name for proofers, 14-day cooldown for young accounts)",
    ),
    (
        "statuses",
        "an approved job stays delivered/pending_proof until released, then completed; a needs_revision consensus → in_progress; a rejected one → disputed",
    ),
    (
        "sse_type_in_data",
        "event frames have no `event:` line (the type is in the data) and the keepalive is an `event: ping` with empty data",
    ),
    (
        "fixed_window_limits",
        "rate limits count in fixed clock-aligned minute/hour windows; Retry-After = seconds to the next window",
    ),
    (
        "unknown_types_ignored",
        "an unknown event type in `?types=` is ignored (200) instead of 400",
    ),
    (
        "validation_422",
        "validation failures (missing, mistyped or out-of-range fields) answer 422 instead of 400",
    ),
    (
        "conflicts_400",
        "duplicates (email taken, already applied, reviewed or voted, profile exists) answer 400 instead of 409",
    ),
    (
        "reject_others_on_hire",
        "accept-application rejects the other pending agent applications at once instead of at funding",
    ),
];

/// The only error code the docs define; `other_codes` keeps it.
const DOCUMENTED_CODE: &str = "ACKNOWLEDGMENT_REQUIRED";
/// The one route whose 409 the docs fix (duplicate report); `conflicts_400` keeps it.
const REPORTS_PATH: &str = "/api/reports";
/// Largest JSON answer rewritten (every answer of the mock is far smaller).
const MAX_REWRITTEN_BYTES: usize = 16 * 1024 * 1024;

/// Whether any response-wide choice is on.
pub(crate) fn rewrites(st: &AppState) -> bool {
    [
        "other_codes",
        "created_200",
        "content_type_400",
        "documented_fields_only",
        "renamed_fields",
        "validation_422",
        "conflicts_400",
    ]
    .iter()
    .any(|c| st.choice(c))
}

/// `other_codes`: `INVALID_STATE` → `err.invalid_state` (the documented code unchanged).
pub(crate) fn other_code(code: &str) -> String {
    if code == DOCUMENTED_CODE {
        code.to_string()
    } else {
        format!("err.{}", code.to_ascii_lowercase())
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Applies the response-wide choices to an answer of `method path`.
pub(crate) async fn rewrite(
    st: &AppState,
    contract: Option<&Contract>,
    method: &Method,
    path: &str,
    resp: Response,
) -> Response {
    let mut status = resp.status().as_u16();
    match status {
        201 if st.choice("created_200") => status = 200,
        415 if st.choice("content_type_400") => status = 400,
        409 if st.choice("conflicts_400") && path != REPORTS_PATH => status = 400,
        _ => {}
    }
    let error = status >= 400;
    let body_choices = st.choice("documented_fields_only")
        || st.choice("renamed_fields")
        || (error && (st.choice("other_codes") || st.choice("validation_422")));
    let (mut parts, body) = resp.into_parts();
    parts.status = StatusCode::from_u16(status).unwrap_or(parts.status);
    if !body_choices || !is_json(&parts.headers) {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REWRITTEN_BYTES).await else {
        return super::error::internal_error();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if error {
        let code = value.get("code").and_then(Value::as_str).map(str::to_string);
        if st.choice("validation_422") && status == 400 && code.as_deref() == Some("VALIDATION_FAILED") {
            status = 422;
            parts.status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        if st.choice("other_codes")
            && let Some(code) = code
        {
            value["code"] = Value::String(other_code(&code));
        }
    }
    if let Some(contract) = contract {
        let schema = contract.response_schema(method.as_str(), path, status);
        if st.choice("renamed_fields") {
            contract.rename(schema.flatten(), &mut value);
        }
        if st.choice("documented_fields_only")
            && let Some(Some(schema)) = schema
        {
            contract.prune(schema, &mut value);
        }
    }
    let out = serde_json::to_vec(&value).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, Body::from(out))
}
