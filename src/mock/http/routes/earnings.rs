//! Earnings and referrals: `GET /api/agent/earnings[?calculate=]`,
//! `GET/POST /api/agent/referrals`. The rules are the domain's
//! (`earnings.rs`).

use axum::extract::State;

use crate::mock::domain::earnings::MAX_CALCULATE_CENTS;
use crate::mock::domain::input::Fields;
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiResult, ok};
use crate::mock::http::extract::{JsonBody, QueryMap};
use crate::mock::http::server::AppState;

/// `GET /api/agent/earnings[?calculate=<cents>]`.
pub(crate) async fn earnings(State(st): State<AppState>, caller: Caller, q: QueryMap) -> ApiResult {
    let calculate = q.int("calculate", 0, MAX_CALCULATE_CENTS)?;
    ok(st.run(|m| m.earnings(caller.user, calculate))?)
}

/// `GET /api/agent/referrals`.
pub(crate) async fn referrals(State(st): State<AppState>, caller: Caller) -> ApiResult {
    ok(st.run(|m| m.referrals(caller.user))?)
}

/// `POST /api/agent/referrals {referral_code}`.
pub(crate) async fn apply_referral(State(st): State<AppState>, caller: Caller, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let code = f.string("referral_code", true, 1, 100);
    f.finish()?;
    let code = code.unwrap_or_default();
    ok(st.run(|m| m.apply_referral(caller.user, &code))?)
}
