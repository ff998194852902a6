//! `concurrent` steps: several requests sent at once (races), each through
//! the same money guard and automatic contract checks as a request step,
//! then `expect_all` on the set of answers (counts by status, statuses no
//! answer may have). Every request is built and its spending held before
//! the first is sent; all are then in flight together and awaited
//! together. It must not decide the scenario's outcome.

use futures::future::join_all;
use serde_json::{Value, json};

use super::RunnerError;
use super::context::ScenarioContext;
use super::exec::{self, Body, Prepared, Received};
use super::money::{committed, money_step};
use super::request_steps::{hold_spending, prepare};
use super::state::{Deadline, Halt, ScenarioState, auto_checks, interpolated, parse_json, register_sensitive};
use crate::finding::{Finding, FindingKind};
use crate::report::model::{ResponseRecord, StepReport};
use crate::scenario::validate::parse_status_key;
use crate::scenario::{Concurrent, ExpectAll, Step};

/// One request of the set: the step as its actor sends it, and what it is.
struct Member {
    step: Step,
    prepared: Prepared,
    held: i64,
}

/// The requests of a `concurrent` step, each as a one-request step (its
/// actor and auth mode), in the written order.
fn members_of(step: &Step, c: &Concurrent) -> Vec<Step> {
    let mut out = Vec::new();
    if let Some(r) = &c.request {
        for _ in 0..c.times.unwrap_or(2) {
            let mut one = step.clone();
            one.concurrent = None;
            one.request = Some(r.clone());
            out.push(one);
        }
    }
    for r in &c.requests {
        let mut one = step.clone();
        one.concurrent = None;
        one.request = Some(r.request.clone());
        if r.actor.is_some() {
            one.actor = r.actor.clone();
        }
        if r.auth.is_some() {
            one.auth = r.auth;
        }
        out.push(one);
    }
    out
}

pub(crate) async fn concurrent_step(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    c: &Concurrent,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    let expect_all = match &step.expect_all {
        Some(e) => interpolated(&st.vars, e, "`expect_all`")?,
        None => ExpectAll::default(),
    };
    let steps = members_of(step, c);
    if steps.len() < 2 {
        return Err(RunnerError::BadRequest("a `concurrent` step sends at least two requests".into()).into());
    }
    let mut members: Vec<Member> = Vec::new();
    for one in steps {
        let Some(req) = one.request.clone() else { continue };
        let prepared = prepare(ctx, st, &one, &req)?;
        if let Body::Json(j) = &prepared.body {
            register_sensitive(&ctx.secrets, j);
        }
        let held = match money_step(prepared.method.as_str(), &prepared.path) {
            Some(m) => match hold_spending(ctx, st, &prepared, m, 1, dl).await {
                Ok(h) => h,
                Err(e) => {
                    // Give back what the members before this one held.
                    for m in &members {
                        let actor = m.step.actor.as_deref().unwrap_or("(anonymous)");
                        ctx.ledger.settle(&st.scenario_id, actor, m.held, 0, false);
                    }
                    return Err(e);
                }
            },
            None => 0,
        };
        members.push(Member {
            step: one,
            prepared,
            held,
        });
    }
    // No request record: the step's record is the set of answers (each
    // with its request), not one exchange.
    let (limit, label) = dl.request_limit(ctx.options.request_timeout);
    if limit.is_zero() {
        for m in &members {
            let actor = m.step.actor.as_deref().unwrap_or("(anonymous)");
            ctx.ledger.settle(&st.scenario_id, actor, m.held, 0, false);
        }
        return Err(RunnerError::Timeout(format!("the {label} was reached before the requests were sent")).into());
    }
    rep.attempts = members.len() as u32;
    // All in flight at once: the futures are built first, then polled together.
    let mut tries = 0;
    let results = loop {
        let sends = members
            .iter()
            .map(|m| exec::send(&ctx.http, &m.prepared, limit, label, ctx.options.max_body_bytes));
        let results = join_all(sends).await;
        tries += 1;
        // Every answer a 429 (an account's allowance spent, on a shared
        // target): none took effect, so the set is sent again once the
        // longest Retry-After has passed, within the step's time.
        let all_limited = results.iter().all(|r| r.as_ref().is_ok_and(|r| r.status == 429));
        if all_limited && tries < 3 {
            let wait = results
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|r| super::pacing::retry_after(r.header("retry-after")))
                .max()
                .unwrap_or(std::time::Duration::from_secs(1));
            if wait < dl.outer_left() {
                tokio::time::sleep(wait).await;
                dl.extend(wait);
                st.waited += wait;
                rep.retries += 1;
                rep.attempts += members.len() as u32;
                continue;
            }
        }
        break results;
    };

    let n = members.len();
    let mut answers: Vec<(usize, Received, Option<Value>)> = Vec::new();
    let mut failure: Option<RunnerError> = None;
    for (i, (m, r)) in members.iter().zip(results).enumerate() {
        let actor = m.step.actor.as_deref().unwrap_or("(anonymous)");
        match r {
            Ok(r) => {
                let json = parse_json(&r);
                let cents = match money_step(m.prepared.method.as_str(), &m.prepared.path) {
                    Some(k) if (200..300).contains(&r.status) => committed(k, json.as_ref()),
                    _ => 0,
                };
                ctx.ledger.settle(&st.scenario_id, actor, m.held, cents, false);
                if let Some(j) = &json {
                    register_sensitive(&ctx.secrets, j);
                }
                answers.push((i, r, json));
            }
            Err(e) => {
                ctx.ledger.settle(&st.scenario_id, actor, m.held, 0, true);
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        return Err(e.into());
    }

    // Every answer against the contract, findings once each.
    for (i, r, json) in &answers {
        let m = &members[*i];
        let checked = auto_checks(ctx, &m.prepared, r, json.as_ref(), &step.skip_checks, false);
        rep.operation = rep.operation.take().or(checked.operation);
        let label = |f: Finding| {
            let mut f = f;
            f.message = format!(
                "request {} of {n} (`{} {}`, as {}): {}",
                i + 1,
                m.prepared.method,
                m.prepared.path,
                m.step.actor.as_deref().unwrap_or("nobody"),
                f.message
            );
            f
        };
        for f in checked.findings.into_iter().map(label) {
            if !rep.findings.iter().any(|x| x.message == f.message) {
                rep.findings.push(f);
            }
        }
        for f in checked.departures.into_iter().map(label) {
            if !rep.departures.iter().any(|x| x.message == f.message) {
                rep.departures.push(f);
            }
        }
    }
    let statuses: Vec<u16> = answers.iter().map(|(_, r, _)| r.status).collect();
    rep.findings.extend(check_set(&expect_all, &statuses));
    if let Some(r) = &expect_all.reference {
        rep.departures.extend(check_set(r, &statuses));
    }

    // The record: every answer, ordered by status (the order in which they
    // arrive varies from run to run; the transcript must not).
    let mut shown: Vec<(u16, Value)> = answers
        .iter()
        .map(|(i, r, json)| {
            let body = super::record::response_record(r, json.as_ref()).body;
            let m = &members[*i];
            let request = format!("{} {}", m.prepared.method, m.prepared.path);
            (
                r.status,
                json!({"status": r.status, "as": m.step.actor, "request": request, "body": body}),
            )
        })
        .collect();
    shown.sort_by_key(|(s, _)| *s);
    let first = shown.first().map_or(0, |(s, _)| *s);
    rep.response = Some(ResponseRecord {
        status: first,
        headers: vec![],
        content_type: Some("application/json".into()),
        body: Some(json!({ "answers": shown.into_iter().map(|(_, v)| v).collect::<Vec<_>>() })),
        body_bytes: 0,
        elapsed_ms: 0,
    });
    Ok(())
}

/// What differs between the statuses of a set of answers and `e`.
pub(crate) fn check_set(e: &ExpectAll, statuses: &[u16]) -> Vec<Finding> {
    let mut out = Vec::new();
    let shown = statuses.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    for (key, want) in &e.count {
        let Some(s) = parse_status_key(key) else {
            out.push(Finding::new(
                FindingKind::Concurrent,
                format!("`expect_all.count` key `{key}` is neither a status nor a family such as `4xx`"),
            ));
            continue;
        };
        let got = statuses.iter().filter(|x| s.matches(**x)).count() as u32;
        if got != *want {
            out.push(
                Finding::new(
                    FindingKind::Concurrent,
                    format!(
                        "{got} of the {} answers sent at once are {s}, expected {want} (the answers: {shown})",
                        statuses.len()
                    ),
                )
                .expected(json!({ key.clone(): want }))
                .actual(json!(statuses)),
            );
        }
    }
    for s in &e.none {
        let bad: Vec<u16> = statuses.iter().copied().filter(|x| s.matches(*x)).collect();
        if !bad.is_empty() {
            out.push(
                Finding::new(
                    FindingKind::Concurrent,
                    format!(
                        "{} of the {} answers sent at once are {s}, expected none (the answers: {shown})",
                        bad.len(),
                        statuses.len()
                    ),
                )
                .expected(format!("no {s}"))
                .actual(json!(statuses)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::scenario::StatusExpect;

    #[test]
    fn counts_and_forbidden_statuses() {
        let e = ExpectAll {
            count: BTreeMap::from([("2xx".to_string(), 1), ("4xx".to_string(), 1)]),
            none: vec![StatusExpect::Family(5)],
            reference: None,
        };
        assert!(check_set(&e, &[200, 400]).is_empty());
        assert!(check_set(&e, &[400, 200]).is_empty());
        let two = check_set(&e, &[200, 200]);
        assert_eq!(two.len(), 2, "{two:?}");
        assert!(
            two[0]
                .message
                .contains("2 of the 2 answers sent at once are 2xx, expected 1")
        );
        let five = check_set(&e, &[200, 500]);
        assert!(five.iter().any(|f| f.message.contains("are 5xx, expected none")));
        let exact = ExpectAll {
            count: BTreeMap::from([("409".to_string(), 1)]),
            ..ExpectAll::default()
        };
        assert_eq!(check_set(&exact, &[200, 400]).len(), 1);
    }
}
