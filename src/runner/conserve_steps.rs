//! `conserve` steps: money conservation over the wallets of some actors.
//! `open` reads each wallet (`GET /api/wallet`, as the actor) and keeps the
//! opening balances; a check reads them again and asserts one balance
//! equation: the sum of every change, plus the platform's documented take,
//! plus what is still held in escrow, is zero (the poster's debit equals
//! the payouts plus the commission plus the proofer fees; nothing created
//! or lost), and each `change` given. It must not decide the scenario's
//! outcome (a step marked `level: reference` turns its findings into
//! departures, as for any step).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::RunnerError;
use super::context::ScenarioContext;
use super::exec;
use super::request_steps::prepare;
use super::state::{Deadline, Halt, ScenarioState, auto_checks, parse_json};
use crate::finding::{Finding, FindingKind};
use crate::report::model::{ResponseRecord, StepReport};
use crate::scenario::{Conserve, Request, Step};

/// Reads `actor`'s wallet balance in cents; contract findings go to `rep`.
async fn balance(
    ctx: &ScenarioContext,
    st: &ScenarioState,
    step: &Step,
    actor: &str,
    rep: &mut StepReport,
    dl: &Deadline,
) -> Result<i64, Halt> {
    let mut read = step.clone();
    read.conserve = None;
    read.actor = Some(actor.to_string());
    read.auth = None;
    let req = Request {
        method: "GET".into(),
        path: "/api/wallet".into(),
        query: BTreeMap::new(),
        headers: BTreeMap::new(),
        json: None,
        raw: None,
        raw_size: None,
        content_type: None,
        multipart: None,
    };
    // No request record: the step's record is the balances, not one
    // exchange (readers of a request and response pair must not mistake it).
    let prepared = prepare(ctx, st, &read, &req)?;
    let (limit, label) = dl.request_limit(ctx.options.request_timeout);
    if limit.is_zero() {
        return Err(RunnerError::Timeout(format!("the {label} was reached before `{actor}`'s wallet was read")).into());
    }
    rep.attempts += 1;
    let r = exec::send(&ctx.http, &prepared, limit, label, ctx.options.max_body_bytes).await?;
    let json = parse_json(&r);
    let checked = auto_checks(ctx, &prepared, &r, json.as_ref(), &[], false);
    rep.operation = checked.operation;
    rep.findings.extend(checked.findings);
    rep.departures.extend(checked.departures);
    if !(200..300).contains(&r.status) {
        return Err(RunnerError::BadRequest(format!(
            "`{actor}`'s wallet could not be read: `GET /api/wallet` answered {}",
            r.status
        ))
        .into());
    }
    json.as_ref()
        .and_then(|j| j.get("balance"))
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            RunnerError::BadRequest(format!("`{actor}`'s wallet answer has no integer `balance` in cents")).into()
        })
}

pub(crate) async fn conserve_step(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    c: &Conserve,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    if !c.open.is_empty() {
        let mut shown = serde_json::Map::new();
        for a in &c.open {
            let b = balance(ctx, st, step, a, rep, dl).await?;
            st.wallets_open.insert(a.clone(), b);
            shown.insert(a.clone(), json!(b));
        }
        rep.response = Some(record(json!({ "opened": shown })));
        return Ok(());
    }
    if st.wallets_open.is_empty() {
        return Err(RunnerError::BadRequest(
            "a `conserve` check needs an earlier `conserve: {open: [actors]}` step".into(),
        )
        .into());
    }
    let mut opened: Vec<(String, i64)> = st.wallets_open.iter().map(|(a, b)| (a.clone(), *b)).collect();
    if !c.wallets.is_empty() {
        if let Some(a) = c.wallets.iter().find(|a| !st.wallets_open.contains_key(*a)) {
            return Err(RunnerError::BadRequest(format!(
                "`conserve.wallets`: `{a}`'s wallet was not opened by an earlier `conserve: {{open}}` step"
            ))
            .into());
        }
        opened.retain(|(a, _)| c.wallets.contains(a));
    }
    let mut changes: BTreeMap<String, i64> = BTreeMap::new();
    for (a, open) in &opened {
        let now = balance(ctx, st, step, a, rep, dl).await?;
        changes.insert(a.clone(), now - open);
    }
    let held = c.held.unwrap_or(0);
    let platforms = if c.platform.is_empty() {
        vec![0]
    } else {
        c.platform.clone()
    };
    rep.findings.extend(check_balance(&changes, &platforms, held));
    for (a, want) in &c.change {
        match changes.get(a) {
            Some(got) if got != want => rep.findings.push(
                Finding::new(
                    FindingKind::Conservation,
                    format!(
                        "`{a}`'s wallet changed by {} cents, expected {}",
                        signed(*got),
                        signed(*want)
                    ),
                )
                .expected(*want)
                .actual(*got),
            ),
            Some(_) => {}
            None => rep.findings.push(Finding::new(
                FindingKind::Conservation,
                format!("`{a}`'s wallet is not tracked (no `conserve: {{open}}` step opened it)"),
            )),
        }
    }
    let sum: i64 = changes.values().sum();
    rep.response = Some(record(json!({
        "changes": changes,
        "platform": platforms,
        "held": held,
        "sum_of_changes": sum,
    })));
    Ok(())
}

fn record(body: Value) -> ResponseRecord {
    ResponseRecord {
        status: 200,
        headers: vec![],
        content_type: Some("application/json".into()),
        body: Some(body),
        body_bytes: 0,
        elapsed_ms: 0,
    }
}

fn signed(c: i64) -> String {
    if c > 0 { format!("+{c}") } else { c.to_string() }
}

/// The balance equation: `Σ changes + platform + held = 0` for one of the
/// platform's documented takes. A finding names each change and what is
/// unaccounted for.
pub(crate) fn check_balance(changes: &BTreeMap<String, i64>, platforms: &[i64], held: i64) -> Vec<Finding> {
    let sum: i64 = changes.values().sum();
    if platforms.iter().any(|p| sum + p + held == 0) {
        return Vec::new();
    }
    let each = changes
        .iter()
        .map(|(a, d)| format!("{a} {}", signed(*d)))
        .collect::<Vec<_>>()
        .join(", ");
    let closest = platforms
        .iter()
        .copied()
        .min_by_key(|p| (sum + p + held).abs())
        .unwrap_or(0);
    let off = sum + closest + held;
    let what = if off > 0 {
        format!("{off} cents were created")
    } else {
        format!("{} cents were lost", -off)
    };
    let take = if platforms.len() == 1 {
        format!("the platform's documented take of {closest}")
    } else {
        format!(
            "the platform's documented take (any of {})",
            platforms.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        )
    };
    vec![
        Finding::new(
            FindingKind::Conservation,
            format!("money is not conserved: the wallets changed by {each}; with {take} and {held} still held in escrow, {what}"),
        )
        .expected(json!({ "sum_of_changes": -(closest + held) }))
        .actual(json!({ "sum_of_changes": sum })),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_balance_equation() {
        let ch = |v: &[(&str, i64)]| v.iter().map(|(a, d)| (a.to_string(), *d)).collect::<BTreeMap<_, _>>();
        // 8000 job, free tier: the agent keeps 7200, the platform 800.
        assert!(check_balance(&ch(&[("poster", -8000), ("agent", 7200)]), &[800], 0).is_empty());
        // Funded, not released: the price is held.
        assert!(check_balance(&ch(&[("poster", -8000), ("agent", 0)]), &[0], 8000).is_empty());
        // The commission taken twice: 800 lost.
        let f = check_balance(&ch(&[("poster", -8000), ("agent", 6400)]), &[800], 0);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("800 cents were lost"), "{}", f[0].message);
        assert!(f[0].message.contains("agent +6400, poster -8000"), "{}", f[0].message);
        // Documented alternatives: either proofer fee balances.
        let both = ch(&[("poster", -7500), ("agent", 5400), ("proofers", 1500)]);
        let fees = ch(&[("poster", -7500), ("agent", 5400), ("proofers", 1350)]);
        assert!(check_balance(&fees, &[600, 750], 0).is_empty());
        assert!(check_balance(&both, &[600, 750], 0).is_empty());
        let created = check_balance(&ch(&[("poster", -6000), ("agent", 6000)]), &[600], 0);
        assert!(
            created[0].message.contains("600 cents were created"),
            "{}",
            created[0].message
        );
    }
}
