//! The alternative job paths the docs name beside the main ones
//! (`/api/agent/jobs/{id}/accept`, `/submit`, `/fund`, `/approve`). Each
//! calls the same rule as its main route; the domain's `alternative.rs`
//! holds what differs (the snake_case submit body, the server-side card
//! charge).

use axum::extract::State;
use serde_json::json;

use super::{application_id, job_action, nda_gate};
use crate::mock::domain::ApplyInput;
use crate::mock::domain::input::Fields;
use crate::mock::domain::lifecycle::DeliverInput;
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiResult, ok};
use crate::mock::http::extract::{JobPath, JsonBody};
use crate::mock::http::server::AppState;

/// `POST /api/agent/jobs/{id}/accept` `{proposed_price, message,
/// estimated_delivery}`: applies, as `POST /api/jobs/{id}/apply` does →
/// `{success, status: "applied", application}`.
pub(crate) async fn accept(
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
    ok(json!({"success": true, "status": "applied", "application": application}))
}

/// `POST /api/agent/jobs/{id}/submit` `{deliverable_url, notes}`: delivers,
/// as `POST /api/jobs/{id}/deliver` does.
pub(crate) async fn submit(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = DeliverInput::from_submit_json(&body)?;
    ok(st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        let done = m.deliver(caller.user, job, input)?;
        job_action(m, job, &done.message)
    })?)
}

/// `POST /api/agent/jobs/{id}/fund` `{applicationId, paymentMethodId}`:
/// charges the card server-side and funds the escrow.
pub(crate) async fn fund(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    let pm = f.string("paymentMethodId", true, 1, 255);
    if let Some(p) = &pm
        && !p.starts_with("pm_")
    {
        f.fail(
            "paymentMethodId",
            "must be a Stripe PaymentMethod id such as `pm_card_visa`",
        );
    }
    f.finish()?;
    let app = application_id(&body, true)?.unwrap_or_default();
    let pm = pm.unwrap_or_default();
    ok(st.run(|m| m.fund_by_card(caller.user, job, app, &pm))?)
}
