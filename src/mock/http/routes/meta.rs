//! Discovery endpoints that need no authentication: `GET /api/help` and
//! `GET /api/categories`.
//!
//! The help manifest is an adapted copy of the upstream `/api/help`
//! (`../help.json`) with this server's own base URL.

use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::mock::domain::CATEGORIES;
use crate::mock::http::error::{ApiResult, ok};
use crate::mock::http::extract::host_of;
use crate::mock::http::server::AppState;

const HELP: &str = include_str!("../help.json");

/// `GET /api/help`.
pub(crate) async fn help(State(st): State<AppState>, headers: HeaderMap) -> ApiResult {
    let base = host_of(&headers)
        .map(|h| format!("http://{h}"))
        .unwrap_or_else(|| st.base_url().to_string());
    let text = HELP.replace("{{BASE}}", &base);
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({}));
    ok(value)
}

/// `GET /api/categories`.
pub(crate) async fn categories() -> ApiResult {
    ok(json!({"categories": CATEGORIES, "count": CATEGORIES.len()}))
}
