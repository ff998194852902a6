//! Job messages between participants and the caller's notifications.
//!
//! Participation and NDA rules are the domain's.

use axum::extract::State;
use serde_json::json;

use super::nda_gate;
use crate::mock::domain::MessageInput;
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiResult, created, ok};
use crate::mock::http::extract::{JobPath, JsonBody, QueryMap};
use crate::mock::http::server::AppState;

/// `GET /api/jobs/{id}/messages` → `{messages, count}`.
pub(crate) async fn list(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        m.list_messages(caller.user, job)
    })?)
}

/// `POST /api/jobs/{id}/messages` → 201 `{success, message}`.
pub(crate) async fn post(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = MessageInput::from_json(&body)?;
    let message = st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        m.post_message(caller.user, job, input)
    })?;
    created(json!({"success": true, "message": message}))
}

/// `GET /api/agent/notifications` (`unread`, `limit`).
pub(crate) async fn notifications(State(st): State<AppState>, caller: Caller, q: QueryMap) -> ApiResult {
    let unread = q.boolean("unread")?.unwrap_or(false);
    let limit = q.limit()?;
    ok(st.run(|m| m.notifications(caller.user, unread, limit))?)
}
