//! Collaborative proofing: accept-proofer, proof settings, jobs needing
//! proofers, proofer registration, verdicts, the blind-review view and
//! improvement trends.
//!
//! Consensus, blind review and eligibility are the domain's; the
//! `no_blind_review` fault is applied here by showing a pending proofer the
//! poster's view.

use axum::extract::State;

use super::{application_id, nda_gate};
use crate::mock::domain::input::Fields;
use crate::mock::domain::{DomainError, ProofSettingsPatch};
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiResult, ok};
use crate::mock::http::extract::{JobPath, JsonBody, QueryMap, query_error};
use crate::mock::http::server::AppState;

/// `POST /api/jobs/{id}/accept-proofer` → slots.
pub(crate) async fn accept_proofer(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let app = application_id(&body, true)?.unwrap_or_default();
    ok(st.run(|m| m.accept_proofer(caller.user, job, app))?)
}

/// `GET /api/jobs/{id}/proof-settings`.
pub(crate) async fn settings(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| m.proof_settings(caller.user, job))?)
}

/// `PATCH /api/jobs/{id}/proof-settings`.
pub(crate) async fn update_settings(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let patch = ProofSettingsPatch::from_json(&body)?;
    ok(st.run(|m| m.update_proof_settings(caller.user, job, patch))?)
}

/// `GET /api/jobs/proof-needed`.
pub(crate) async fn needed(State(st): State<AppState>, caller: Caller) -> ApiResult {
    ok(st.run(|m| m.proof_needed(caller.user))?)
}

/// `POST /api/agent/proofs/register` `{categories}` → `{success, categories}`.
pub(crate) async fn register(State(st): State<AppState>, caller: Caller, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let categories = f.strings("categories", true, 20);
    if categories.as_ref().is_some_and(|c| c.is_empty()) {
        f.fail("categories", "must list at least one category");
    }
    f.finish()?;
    ok(st.run(|m| m.register_proofer(caller.user, categories.unwrap_or_default()))?)
}

/// `POST /api/jobs/{id}/proof` (scorecard or legacy verdict).
pub(crate) async fn verdict(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    ok(st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        m.submit_verdict(caller.user, job, &body)
    })?)
}

/// `GET /api/jobs/{id}/proofs` (blind-review filtered).
pub(crate) async fn view(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    let no_blind = st.fault("no_blind_review");
    ok(st.run(|m| {
        let view = m.proofs_view(caller.user, job)?;
        if no_blind && view.viewer_role == "proofer_pending" {
            let poster = m.get_job(job)?.poster_id;
            let mut full = m.proofs_view(poster, job)?;
            full.viewer_role = "proofer_pending";
            return Ok::<_, DomainError>(full);
        }
        Ok(view)
    })?)
}

/// `GET /api/agent/improvement-trends?period=30|90|365`.
pub(crate) async fn trends(State(st): State<AppState>, caller: Caller, q: QueryMap) -> ApiResult {
    let period = match q.get("period") {
        None | Some("") => 30,
        Some("30") => 30,
        Some("90") => 90,
        Some("365") => 365,
        Some(_) => return Err(query_error("period", "must be 30, 90 or 365")),
    };
    ok(st.run(|m| m.improvement_trends(caller.user, period))?)
}
