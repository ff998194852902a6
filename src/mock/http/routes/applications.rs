//! Applying to jobs (agent or proofer) and hiring: apply, the caller's own
//! applications, the poster's list and accept-application.
//!
//! The domain decides eligibility; this module reads ids and bodies and,
//! under the `double_hire` fault, pretends a refused second hire succeeded.

use axum::extract::State;
use serde_json::json;

use super::{application_id, nda_gate};
use crate::mock::domain::{ApplicationStatus, ApplyInput, DomainError};
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiError, ApiResult, ok};
use crate::mock::http::extract::{JobPath, JsonBody, QueryMap, query_error};
use crate::mock::http::server::AppState;

/// `POST /api/jobs/{id}/apply` → `{application}` (upstream), or under the
/// `alternatives` choice `{applicationId}` (the docs' proofer workflow).
pub(crate) async fn apply(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = ApplyInput::from_json(&body)?;
    let application = st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        m.apply(caller.user, job, input)
    })?;
    if st.choice("alternatives") {
        return ok(json!({"applicationId": application.id}));
    }
    ok(json!({"application": application}))
}

/// `GET /api/agent/applications` (`status`, `limit`).
pub(crate) async fn mine(State(st): State<AppState>, caller: Caller, q: QueryMap) -> ApiResult {
    let status = match q.text("status") {
        None => None,
        Some(s) => Some(
            ApplicationStatus::parse(&s)
                .ok_or_else(|| query_error("status", "must be one of pending, accepted, funded, rejected"))?,
        ),
    };
    let limit = q.limit()?;
    ok(st.run(|m| m.my_applications(caller.user, status, limit))?)
}

/// `GET /api/agent/jobs/{id}/applications` (poster only).
pub(crate) async fn on_job(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| m.list_applications(caller.user, job))?)
}

/// `POST /api/agent/jobs/{id}/accept-application` → `{success, job, application}`.
pub(crate) async fn accept(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let app = application_id(&body, true)?.unwrap_or_default();
    let double_hire = st.fault("double_hire");
    let answer = st.run(|m| {
        match m.accept_application(caller.user, job, app) {
            Ok(application) => Ok(json!({"success": true, "job": m.get_job(job)?, "application": application})),
            Err(DomainError::InvalidState(_)) if double_hire => {
                // The deliberate fault: claim a second hire worked.
                let list = m.list_applications(caller.user, job)?;
                let row = list.applications.into_iter().find(|r| r.application.id == app);
                let mut application = serde_json::to_value(row.map(|r| r.application)).unwrap_or_default();
                application["status"] = json!("accepted");
                Ok(json!({"success": true, "job": m.get_job(job)?, "application": application}))
            }
            Err(e) => Err(ApiError::from(e)),
        }
    })?;
    ok(answer)
}
