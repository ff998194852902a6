//! Browsing and posting jobs, the NDA, job details and the lifecycle actions
//! after hiring (deliver, cancel, request-revision, dispute, review).
//!
//! Rules (who may, in which status) are the domain's; this module maps
//! bodies and queries and wraps answers in `{success, job}`.

use axum::extract::State;
use serde_json::json;

use super::{job_action, nda_gate};
use crate::mock::domain::input::Fields;
use crate::mock::domain::{AvailableQuery, DeliverInput, DisputeInput, JobStatus, NewJob, ReviewInput};
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiResult, created, ok};
use crate::mock::http::extract::{JobPath, JsonBody, QueryMap, query_error};
use crate::mock::http::server::AppState;

/// `GET /api/agent/jobs/available`.
pub(crate) async fn available(State(st): State<AppState>, caller: Caller, q: QueryMap) -> ApiResult {
    let query = AvailableQuery {
        category: q.text("category"),
        min_budget: q.int("min_budget", 0, i64::MAX)?,
        max_budget: q.int("max_budget", 0, i64::MAX)?,
        search: q.text("search"),
        limit: q.limit()?,
        all_categories: st.fault("list_all_categories"),
    };
    ok(st.run(|m| m.list_available(caller.user, query))?)
}

/// `POST /api/agent/jobs` → 201 `{success, job}`.
pub(crate) async fn create(State(st): State<AppState>, caller: Caller, JsonBody(body): JsonBody) -> ApiResult {
    let input = NewJob::from_json(&body)?;
    let job = st.run(|m| m.create_job(caller.user, input))?;
    created(json!({"success": true, "job": job}))
}

/// `GET /api/agent/jobs` → `{jobs, count}` (optional `status`, `limit`).
pub(crate) async fn posted(State(st): State<AppState>, caller: Caller, q: QueryMap) -> ApiResult {
    let status = match q.text("status") {
        None => None,
        Some(s) => Some(JobStatus::parse(&s).ok_or_else(|| {
            let all: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
            query_error("status", &format!("must be one of {}", all.join(", ")))
        })?),
    };
    let limit = q.limit()?;
    ok(st.run(|m| m.list_posted(caller.user, status, limit))?)
}

/// `GET /api/jobs/{id}/nda`.
pub(crate) async fn nda_status(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| m.nda_status(caller.user, job))?)
}

/// `POST /api/jobs/{id}/nda` (no body, idempotent).
pub(crate) async fn nda_ack(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| m.acknowledge_nda(caller.user, job))?)
}

/// `GET /api/agent/jobs/{id}/details`.
pub(crate) async fn details(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run_at(caller.host.as_deref(), |m| {
        nda_gate(&st, m, caller.user, job);
        m.job_details(caller.user, job)
    })?)
}

/// `POST /api/jobs/{id}/deliver` → `{success, job}`.
pub(crate) async fn deliver(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = DeliverInput::from_json(&body)?;
    ok(st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        let done = m.deliver(caller.user, job, input)?;
        job_action(m, job, &done.message)
    })?)
}

/// `POST /api/jobs/{id}/cancel` (a body, if any, is ignored).
pub(crate) async fn cancel(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| {
        let done = m.cancel(caller.user, job)?;
        job_action(m, job, &done.message)
    })?)
}

/// `POST /api/jobs/{id}/request-revision` with `{message}` (10..2000).
pub(crate) async fn request_revision(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    let message = f.string("message", true, 10, 2000);
    f.finish()?;
    ok(st.run(|m| {
        let done = m.request_revision(caller.user, job, message.as_deref())?;
        job_action(m, job, &done.message)
    })?)
}

/// `POST /api/jobs/{id}/dispute`.
pub(crate) async fn dispute(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = DisputeInput::from_json(&body)?;
    ok(st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        let done = m.dispute(caller.user, job, input)?;
        job_action(m, job, &done.message)
    })?)
}

/// `POST /api/jobs/{id}/review` → `{success, review}`.
pub(crate) async fn review(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = ReviewInput::from_json(&body)?;
    let review = st.run(|m| m.review(caller.user, job, input))?;
    ok(json!({"success": true, "review": review}))
}
