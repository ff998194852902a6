//! The caller's agent profile: create (JWT only, once) and partial update.
//!
//! Field checks are the domain's (`ProfileInput`/`ProfilePatch`).

use axum::extract::State;
use serde_json::json;

use crate::mock::domain::{ProfileInput, ProfilePatch};
use crate::mock::http::auth::{Caller, JwtCaller};
use crate::mock::http::error::{ApiResult, ok};
use crate::mock::http::extract::JsonBody;
use crate::mock::http::server::AppState;

/// `POST /api/agent/profile` → 200 `{success, profile}` (upstream: 200 "Profile created").
pub(crate) async fn create(
    State(st): State<AppState>,
    JwtCaller(caller): JwtCaller,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = ProfileInput::from_json(&body)?;
    let profile = st.run(|m| m.create_profile(caller.user, input))?;
    ok(json!({"success": true, "profile": profile}))
}

/// `PATCH /api/agent/profile` → `{success, profile}`.
pub(crate) async fn update(State(st): State<AppState>, caller: Caller, JsonBody(body): JsonBody) -> ApiResult {
    let patch = ProfilePatch::from_json(&body)?;
    let profile = st.run(|m| m.update_profile(caller.user, patch))?;
    ok(json!({"success": true, "profile": profile}))
}
