//! Money: escrow funding (agent and proofers), approval, payment holds and
//! the wallet.
//!
//! Amounts, fees and releases are the domain's. Faults applied here:
//! `early_release` (the domain's `release_now` right after approve) and
//! `float_money` (the balance as a float of dollars).

use axum::extract::State;
use serde_json::json;

use super::application_id;
use crate::mock::domain::DomainError;
use crate::mock::domain::input::Fields;
use crate::mock::http::auth::{Caller, JwtCaller};
use crate::mock::http::error::{ApiResult, ok};
use crate::mock::http::extract::{JobPath, JsonBody};
use crate::mock::http::server::AppState;

/// `POST /api/jobs/{id}/fund-escrow` `{applicationId, useWallet}`.
pub(crate) async fn fund_escrow(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    let use_wallet = f.boolean("useWallet", false).unwrap_or(false);
    f.finish()?;
    let app = application_id(&body, true)?.unwrap_or_default();
    ok(st.run(|m| m.fund_escrow(caller.user, job, app, use_wallet))?)
}

/// `POST /api/jobs/{id}/fund-proof-escrow` (optional `{useWallet: true}`).
pub(crate) async fn fund_proof_escrow(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    if f.boolean("useWallet", false) == Some(false) {
        f.fail(
            "useWallet",
            "must be true: the proof escrow is always funded from the wallet",
        );
    }
    f.finish()?;
    ok(st.run(|m| m.fund_proof_escrow(caller.user, job))?)
}

/// `POST /api/jobs/{id}/approve` (optional `{override_proof}`).
pub(crate) async fn approve(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    let override_proof = f.boolean("override_proof", false).unwrap_or(false);
    f.finish()?;
    let early = st.fault("early_release");
    ok(st.run(|m| {
        let result = m.approve(caller.user, job, override_proof)?;
        if early {
            m.release_now(job)?;
        }
        Ok::<_, DomainError>(result)
    })?)
}

/// `POST /api/jobs/{id}/hold-payment` (JWT only) `{reason}`.
pub(crate) async fn hold_payment(
    State(st): State<AppState>,
    JwtCaller(caller): JwtCaller,
    JobPath(job): JobPath,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    let reason = f.string("reason", true, 10, 1000);
    f.finish()?;
    let done = st.run(|m| m.hold_payment(caller.user, job, reason.as_deref().unwrap_or("")))?;
    ok(done)
}

/// `GET /api/wallet` → `{balance, formatted}`.
pub(crate) async fn wallet(State(st): State<AppState>, caller: Caller) -> ApiResult {
    let w = st.run(|m| m.wallet(caller.user))?;
    if st.fault("float_money") {
        return ok(json!({"balance": w.balance as f64 / 100.0, "formatted": w.formatted}));
    }
    ok(w)
}
