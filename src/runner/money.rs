//! Money: which requests commit money, how much they committed, and the
//! run's spending cap. It must not decide whether a scenario may run at
//! all (the scenario guard does).
//!
//! The cap is a guarantee, not a hope: under a cap, a money step is sent
//! only when the most it can commit is known beforehand (read from the
//! target: the accepted application's price, the accepted proofers' bids)
//! and fits in what is left; that amount is held while the request is in
//! flight (so parallel scenarios cannot overshoot together), and when the
//! outcome is unknown (a timeout, a broken connection) it stays counted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use url::Url;

use super::exec::{self, Body, Prepared};
use crate::report::model::MoneyMoved;

/// A request that commits money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MoneyStep {
    /// `POST /api/jobs/{id}/fund-escrow` (`totalCharge`).
    Escrow,
    /// `POST /api/jobs/{id}/fund-proof-escrow` (`totalProofFee`).
    ProofEscrow,
}

/// Classifies a request by method and concrete path.
pub(crate) fn money_step(method: &str, path: &str) -> Option<MoneyStep> {
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    let (_, action) = job_and_action(path)?;
    match action {
        "fund-escrow" => Some(MoneyStep::Escrow),
        "fund-proof-escrow" => Some(MoneyStep::ProofEscrow),
        _ => None,
    }
}

/// `(job id, action)` of `/api/jobs/{id}/{action}`.
fn job_and_action(path: &str) -> Option<(&str, &str)> {
    let path = path.split(['?', '#']).next().unwrap_or(path).trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    // "", "api", "jobs", "{id}", action
    (segs.len() == 5 && segs[0].is_empty() && segs[1] == "api" && segs[2] == "jobs" && !segs[3].is_empty())
        .then(|| (segs[3], segs[4]))
}

/// Cents a successful response says were committed. The card path of
/// fund-escrow (a `clientSecret` to complete in a browser) commits nothing.
pub(crate) fn committed(step: MoneyStep, body: Option<&Value>) -> i64 {
    let Some(b) = body else { return 0 };
    let cents = match step {
        MoneyStep::Escrow => {
            if b.get("clientSecret").is_some_and(|v| !v.is_null()) {
                return 0;
            }
            b.get("totalCharge").and_then(Value::as_i64)
        }
        MoneyStep::ProofEscrow => b.get("totalProofFee").and_then(Value::as_i64),
    };
    cents.unwrap_or(0).max(0)
}

/// The card path's fee on top of the price: 5.5 % (rounded up) + 50 cents.
fn card_fee(price: i64) -> i64 {
    (price.saturating_mul(55) + 999) / 1000 + 50
}

#[derive(Default)]
struct Inner {
    /// Cents confirmed committed.
    spent: i64,
    /// Cents held by money steps in flight, or whose outcome is unknown.
    held: i64,
    moved: BTreeMap<(String, String), i64>,
}

/// Run-wide money: the total committed, what is held, and the amounts per actor.
#[derive(Clone, Default)]
pub(crate) struct Ledger {
    inner: Arc<Mutex<Inner>>,
}

impl Ledger {
    /// Cents counted against the cap: committed plus held.
    pub fn used(&self) -> i64 {
        let inner = self.inner.lock();
        inner.spent + inner.held
    }

    /// The reason a further money step is refused outright (before its
    /// amount is even read), when `cap` is reached.
    pub fn refusal(&self, cap: Option<i64>) -> Option<String> {
        let cap = cap?;
        let used = self.used();
        (used >= cap).then(|| {
            format!("not run: the spending cap of {cap} cents is reached ({used} cents committed by this run); raise `--max-spend-cents`")
        })
    }

    /// Holds `cents` for a step named `what` if they fit under `cap`
    /// (atomically: parallel steps cannot overshoot together).
    pub fn reserve(&self, cap: i64, cents: i64, what: &str) -> Result<(), String> {
        let mut inner = self.inner.lock();
        let used = inner.spent + inner.held;
        if used.saturating_add(cents) > cap {
            return Err(format!(
                "not run: `{what}` would commit up to {cents} cents, over the spending cap of {cap} cents ({used} cents committed by this run); raise `--max-spend-cents`"
            ));
        }
        inner.held += cents;
        Ok(())
    }

    /// Ends a step that held `held` cents and committed `cents`. When its
    /// outcome is unknown, what it held stays counted against the cap (but
    /// is not reported as moved).
    pub fn settle(&self, scenario: &str, actor: &str, held: i64, cents: i64, unknown: bool) {
        let mut inner = self.inner.lock();
        inner.held -= held;
        if unknown {
            inner.held += (held - cents).max(0);
        }
        drop(inner);
        self.record(scenario, actor, cents);
    }

    /// Records cents committed by an actor of a scenario.
    pub fn record(&self, scenario: &str, actor: &str, cents: i64) {
        if cents == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        inner.spent += cents;
        *inner
            .moved
            .entry((scenario.to_string(), actor.to_string()))
            .or_default() += cents;
    }

    /// Everything committed so far, per scenario and actor.
    pub fn moved(&self) -> Vec<MoneyMoved> {
        self.inner
            .lock()
            .moved
            .iter()
            .map(|((s, a), c)| MoneyMoved {
                scenario: s.clone(),
                actor: a.clone(),
                cents: *c,
            })
            .collect()
    }
}

/// The most a money step can commit, read from the target before it is
/// sent: `GET /api/agent/jobs/{id}/applications` with the step's
/// credentials. For fund-escrow, the price of the application named in
/// the body (plus the card fee off the wallet path); for fund-proof-escrow,
/// the sum of the accepted proofers' bids. `Err` says why it is unknown.
pub(crate) async fn estimate(
    http: &reqwest::Client,
    base: &Url,
    prepared: &Prepared,
    step: MoneyStep,
    limit: Duration,
    max_body: usize,
) -> Result<i64, String> {
    let (job, _) = job_and_action(&prepared.path).ok_or("the path names no job")?;
    let path = format!("/api/agent/jobs/{job}/applications");
    let url = super::state::join_url(base, &path).map_err(|e| e.to_string())?;
    let headers = prepared
        .headers
        .iter()
        .filter(|(k, _)| {
            ["x-api-key", "authorization", "cookie"]
                .iter()
                .any(|h| k.eq_ignore_ascii_case(h))
        })
        .cloned()
        .collect();
    let read = Prepared {
        method: reqwest::Method::GET,
        url,
        path: path.clone(),
        headers,
        body: Body::None,
    };
    let r = exec::send(http, &read, limit, "request time limit", max_body)
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&r.status) {
        return Err(format!("`GET {path}` answered {}", r.status));
    }
    let json: Value = serde_json::from_slice(&r.body).map_err(|_| format!("`GET {path}` did not answer JSON"))?;
    let apps = json
        .get("applications")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`GET {path}` answered no `applications` list"))?;
    let price = |a: &Value| a.get("proposed_price").and_then(Value::as_i64);
    let field = |a: &Value, k: &str| a.get(k).and_then(Value::as_str).map(str::to_string);
    match step {
        MoneyStep::Escrow => {
            let body = match &prepared.body {
                Body::Json(v) => Some(v),
                _ => None,
            };
            let wanted = body.and_then(|b| b.get("applicationId")).and_then(Value::as_str);
            let wallet = body.and_then(|b| b.get("useWallet")).and_then(Value::as_bool) == Some(true);
            let app = match wanted {
                Some(id) => apps.iter().find(|a| field(a, "id").as_deref() == Some(id)),
                None => None,
            };
            let p = match app {
                Some(app) => price(app)
                    .ok_or_else(|| format!("the application in `GET {path}` has no integer `proposed_price`"))?
                    .max(0),
                // Not on the job: the target should refuse; assume the dearest agent application.
                None => apps
                    .iter()
                    .filter(|a| field(a, "application_type").as_deref() != Some("proof"))
                    .filter_map(price)
                    .max()
                    .unwrap_or(0)
                    .max(0),
            };
            Ok(if wallet { p } else { p.saturating_add(card_fee(p)) })
        }
        MoneyStep::ProofEscrow => {
            let mut sum = 0i64;
            for a in apps {
                let accepted = field(a, "status").as_deref() == Some("accepted");
                let proof = field(a, "application_type").as_deref() == Some("proof");
                if accepted && proof {
                    let p = price(a).ok_or_else(|| {
                        format!("an accepted proof application in `GET {path}` has no integer `proposed_price`")
                    })?;
                    sum = sum.saturating_add(p.max(0));
                }
            }
            Ok(sum)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn classifies_and_counts() {
        assert_eq!(money_step("POST", "/api/jobs/abc/fund-escrow"), Some(MoneyStep::Escrow));
        assert_eq!(
            money_step("post", "/api/jobs/abc/fund-proof-escrow?x=1"),
            Some(MoneyStep::ProofEscrow)
        );
        assert_eq!(money_step("GET", "/api/jobs/abc/fund-escrow"), None);
        assert_eq!(money_step("POST", "/api/jobs/abc/approve"), None);
        assert_eq!(money_step("POST", "/x/api/jobs/abc/fund-escrow"), None);
        assert_eq!(committed(MoneyStep::Escrow, Some(&json!({"totalCharge": 1500}))), 1500);
        assert_eq!(
            committed(
                MoneyStep::Escrow,
                Some(&json!({"totalCharge": 1633, "clientSecret": "x"}))
            ),
            0
        );
        assert_eq!(
            committed(MoneyStep::ProofEscrow, Some(&json!({"totalProofFee": 300}))),
            300
        );
        assert_eq!(
            committed(MoneyStep::ProofEscrow, Some(&json!({"totalProofFee": -300}))),
            0
        );
        assert_eq!(card_fee(7500), 463);
        let l = Ledger::default();
        assert!(l.refusal(None).is_none());
        assert!(l.refusal(Some(0)).is_some());
        l.record("s", "poster", 1500);
        assert!(l.refusal(Some(2000)).is_none());
        l.record("s", "poster", 600);
        assert!(l.refusal(Some(2000)).is_some());
        assert_eq!(
            l.moved(),
            vec![MoneyMoved {
                scenario: "s".into(),
                actor: "poster".into(),
                cents: 2100
            }]
        );
    }

    #[test]
    fn holds_keep_parallel_steps_under_the_cap() {
        let l = Ledger::default();
        assert!(l.reserve(1000, 600, "a").is_ok());
        let e = l.reserve(1000, 600, "b").unwrap_err();
        assert!(
            e.contains("would commit up to 600 cents") && e.contains("600 cents committed"),
            "{e}"
        );
        // The first committed less than it held: the rest is free again.
        l.settle("s", "poster", 600, 500, false);
        assert_eq!(l.used(), 500);
        assert!(l.reserve(1000, 500, "b").is_ok());
        // Unknown outcome: what was held stays counted, nothing is reported moved.
        l.settle("s", "poster", 500, 0, true);
        assert_eq!(l.used(), 1000);
        assert_eq!(l.moved()[0].cents, 500);
        assert!(l.refusal(Some(1000)).is_some());
    }
}
