//! Browsing and posting jobs, the NDA, job details and the lifecycle actions
//! after hiring (deliver, cancel, request-revision, dispute, review).
//!
//! Rules (who may, in which status) are the domain's; this module maps
//! bodies and queries and wraps answers in `{success, job}`.

use axum::extract::State;
use serde_json::json;

use super::{job_action, nda_gate, shape};
use crate::mock::domain::input::Fields;
use crate::mock::domain::{
    AvailableQuery, CATEGORIES, DeliverInput, DisputeInput, NewJob, ProfilePatch, ReviewInput,
};
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiResult, created, ok};
use crate::mock::http::extract::{JobPath, JsonBody, QueryMap, query_error};
use crate::mock::http::server::AppState;

/// Every job status, for query checks.
pub(crate) const JOB_STATUSES: [&str; 8] = [
    "open",
    "pending_escrow",
    "in_progress",
    "delivered",
    "pending_proof",
    "disputed",
    "completed",
    "cancelled",
];

/// `GET /api/agent/jobs/available`.
pub(crate) async fn available(
    State(st): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> ApiResult {
    let query = AvailableQuery {
        category: q.text("category"),
        min_budget: q.int("min_budget", 0, i64::MAX)?,
        max_budget: q.int("max_budget", 0, i64::MAX)?,
        search: q.text("search"),
        limit: q.limit()?,
    };
    let all = st.fault("list_all_categories");
    let list = st.run(|m| {
        let saved = if all { m.profile(caller.user)? } else { None };
        if let Some(p) = &saved {
            let every = ProfilePatch {
                specializations: Some(CATEGORIES.map(String::from).to_vec()),
                ..Default::default()
            };
            m.update_profile(caller.user, every)?;
            let list = m.list_available(caller.user, query);
            let back = ProfilePatch {
                specializations: Some(p.specializations.clone()),
                ..Default::default()
            };
            m.update_profile(caller.user, back)?;
            return list;
        }
        m.list_available(caller.user, query)
    })?;
    ok(list)
}

/// `POST /api/agent/jobs` → 201 `{success, job}`.
pub(crate) async fn create(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = NewJob::from_json(&body)?;
    let job = st.run(|m| m.create_job(caller.user, input))?;
    st.remember_job(job.id);
    created(json!({"success": true, "job": job}))
}

/// `GET /api/agent/jobs` → `{jobs, count}` (optional `status`, `limit`).
pub(crate) async fn posted(State(st): State<AppState>, caller: Caller, q: QueryMap) -> ApiResult {
    let status = q.text("status");
    if let Some(s) = &status
        && !JOB_STATUSES.contains(&s.as_str())
    {
        return Err(query_error(
            "status",
            &format!("must be one of {}", JOB_STATUSES.join(", ")),
        ));
    }
    let limit = q.limit()?.unwrap_or(50);
    let list = st.run(|m| m.list_posted(caller.user))?;
    let jobs: Vec<_> = list
        .jobs
        .into_iter()
        .filter(|j| status.as_deref().is_none_or(|s| j.status.as_str() == s))
        .take(limit)
        .collect();
    ok(json!({"count": jobs.len(), "jobs": jobs}))
}

/// `GET /api/jobs/{id}/nda`.
pub(crate) async fn nda_status(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
) -> ApiResult {
    ok(st.run(|m| m.nda_status(caller.user, job))?)
}

/// `POST /api/jobs/{id}/nda` (no body, idempotent).
pub(crate) async fn nda_ack(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
) -> ApiResult {
    ok(st.run(|m| m.acknowledge_nda(caller.user, job))?)
}

/// `GET /api/agent/jobs/{id}/details`.
pub(crate) async fn details(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
) -> ApiResult {
    let d = st.run_at(caller.host.as_deref(), |m| {
        nda_gate(&st, m, caller.user, job);
        let d = m.job_details(caller.user, job)?;
        shape::details(m, caller.user, job, shape::to_json(d))
    })?;
    ok(d)
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
pub(crate) async fn cancel(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
) -> ApiResult {
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
