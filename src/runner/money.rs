//! Money: which requests commit money, how much they committed, and the
//! run's spending cap. It must not decide whether a scenario may run at
//! all (the scenario guard does).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

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
    let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    // "", "api", "jobs", "{id}", action
    if segs.len() == 5 && segs[1] == "api" && segs[2] == "jobs" && !segs[3].is_empty() {
        return match segs[4] {
            "fund-escrow" => Some(MoneyStep::Escrow),
            "fund-proof-escrow" => Some(MoneyStep::ProofEscrow),
            _ => None,
        };
    }
    None
}

/// Cents a successful response says were committed. The card path of
/// fund-escrow (a `clientSecret` to complete in a browser) commits nothing.
pub(crate) fn committed(step: MoneyStep, body: Option<&Value>) -> i64 {
    let Some(b) = body else { return 0 };
    match step {
        MoneyStep::Escrow => {
            if b.get("clientSecret").is_some_and(|v| !v.is_null()) {
                return 0;
            }
            b.get("totalCharge").and_then(Value::as_i64).unwrap_or(0)
        }
        MoneyStep::ProofEscrow => b.get("totalProofFee").and_then(Value::as_i64).unwrap_or(0),
    }
}

#[derive(Default)]
struct Inner {
    spent: i64,
    moved: BTreeMap<(String, String), i64>,
}

/// Run-wide money: the total committed and the amounts per actor.
#[derive(Clone, Default)]
pub(crate) struct Ledger {
    inner: Arc<Mutex<Inner>>,
}

impl Ledger {
    /// The reason a further money step is refused, when `cap` is reached.
    pub fn refusal(&self, cap: Option<i64>) -> Option<String> {
        let cap = cap?;
        let spent = self.inner.lock().spent;
        (spent >= cap).then(|| {
            format!("not run: the spending cap of {cap} cents is reached ({spent} cents committed by this run); raise `--max-spend`")
        })
    }

    /// Records cents committed by an actor of a scenario.
    pub fn record(&self, scenario: &str, actor: &str, cents: i64) {
        if cents == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        inner.spent += cents;
        *inner.moved.entry((scenario.to_string(), actor.to_string())).or_default() += cents;
    }

    /// Everything committed so far, per scenario and actor.
    pub fn moved(&self) -> Vec<MoneyMoved> {
        self.inner
            .lock()
            .moved
            .iter()
            .map(|((s, a), c)| MoneyMoved { scenario: s.clone(), actor: a.clone(), cents: *c })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn classifies_and_counts() {
        assert_eq!(money_step("POST", "/api/jobs/abc/fund-escrow"), Some(MoneyStep::Escrow));
        assert_eq!(money_step("post", "/api/jobs/abc/fund-proof-escrow?x=1"), Some(MoneyStep::ProofEscrow));
        assert_eq!(money_step("GET", "/api/jobs/abc/fund-escrow"), None);
        assert_eq!(money_step("POST", "/api/jobs/abc/approve"), None);
        assert_eq!(committed(MoneyStep::Escrow, Some(&json!({"totalCharge": 1500}))), 1500);
        assert_eq!(committed(MoneyStep::Escrow, Some(&json!({"totalCharge": 1633, "clientSecret": "x"}))), 0);
        assert_eq!(committed(MoneyStep::ProofEscrow, Some(&json!({"totalProofFee": 300}))), 300);
        let l = Ledger::default();
        assert!(l.refusal(None).is_none());
        assert!(l.refusal(Some(0)).is_some());
        l.record("s", "poster", 1500);
        assert!(l.refusal(Some(2000)).is_none());
        l.record("s", "poster", 600);
        assert!(l.refusal(Some(2000)).is_some());
        assert_eq!(l.moved(), vec![MoneyMoved { scenario: "s".into(), actor: "poster".into(), cents: 2100 }]);
    }
}
