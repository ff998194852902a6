//! Request steps: interpolating a request, the money guard (sandbox,
//! `allow_real_money`, the spending cap with amounts read in advance), the
//! exchange itself (paced and retried on an unexpected 429, or repeated),
//! its checks, and captures. It must not decide the scenario's outcome or
//! record unredacted data for good (the scenario redacts every step report).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::RunnerError;
use super::context::ScenarioContext;
use super::exec::{self, Body, Prepared, Received, human};
use super::money::{MoneyStep, committed, money_step};
use super::pacing::{MAX_RETRY_AFTER, per_minute, requested_wait, retry_after};
use super::record::{request_record, response_record};
use super::state::{
    Deadline, Halt, ScenarioState, auto_checks, interpolated, join_url, parse_json, register_sensitive, step_auth,
};
use super::vars::text_of;
use crate::check;
use crate::finding::{Finding, FindingKind};
use crate::report::model::StepReport;
use crate::scenario::{Capture, Expect, Repeat, Request, Step};

/// Interpolates a request into a [`Prepared`] one.
pub(crate) fn prepare(
    ctx: &ScenarioContext,
    st: &ScenarioState,
    step: &Step,
    req: &Request,
) -> Result<Prepared, RunnerError> {
    let v = &st.vars;
    let path = v.interpolate_str(&req.path, "`request.path`")?;
    let method = reqwest::Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| RunnerError::BadRequest(format!("`{}` is not an HTTP method", req.method)))?;
    // A URL the target returned (a signed download link) is fetched where
    // it points; credentials never go to another host.
    let absolute = path.starts_with("http://") || path.starts_with("https://");
    let mut url = if absolute {
        Url::parse(&path).map_err(|e| RunnerError::BadRequest(format!("URL `{path}`: {e}")))?
    } else {
        join_url(&st.base_url, &path)?
    };
    let foreign = absolute
        && (url.host_str() != st.base_url.host_str()
            || url.port_or_known_default() != st.base_url.port_or_known_default());
    if !req.query.is_empty() {
        let mut pairs = Vec::new();
        for (k, val) in &req.query {
            let key = v.interpolate_str(k, "`request.query`")?;
            match v.interpolate_value(val, &format!("`request.query.{k}`"))? {
                Value::Array(items) => pairs.extend(items.iter().map(|i| (key.clone(), text_of(i)))),
                Value::Null => {}
                other => pairs.push((key, text_of(&other))),
            }
        }
        let mut q = url.query_pairs_mut();
        for (k, val) in pairs {
            q.append_pair(&k, &val);
        }
    }
    let mut headers = if foreign {
        Vec::new()
    } else {
        step_auth(st, step, &ctx.secrets)?
    };
    for (k, val) in &req.headers {
        let name = v.interpolate_str(k, "`request.headers`")?;
        let value = v.interpolate_str(val, &format!("`request.headers.{k}`"))?;
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&name));
        headers.push((name, value));
    }
    let bodies = [
        req.json.is_some(),
        req.raw.is_some(),
        req.raw_size.is_some(),
        req.multipart.is_some(),
    ];
    if bodies.iter().filter(|b| **b).count() > 1 {
        return Err(RunnerError::BadRequest(
            "a request has one body: `json`, `raw`, `raw_size` or `multipart`".into(),
        ));
    }
    let body = if let Some(j) = &req.json {
        let value = v.interpolate_value(j, "`request.json`")?;
        match &req.content_type {
            // A JSON body sent under another content type: raw bytes.
            Some(ct) if !ct.to_ascii_lowercase().contains("json") => Body::Raw {
                bytes: serde_json::to_vec(&value).unwrap_or_default().into(),
                content_type: Some(ct.clone()),
                shown: value,
            },
            Some(ct) => {
                headers.retain(|(h, _)| !h.eq_ignore_ascii_case("content-type"));
                headers.push(("Content-Type".into(), ct.clone()));
                Body::Json(value)
            }
            None => Body::Json(value),
        }
    } else if let Some(raw) = &req.raw {
        let text = v.interpolate_str(raw, "`request.raw`")?;
        let shown = Value::String(super::record::truncate_text(&text, super::record::MAX_TEXT_CHARS));
        Body::Raw {
            bytes: text.into_bytes().into(),
            content_type: req.content_type.clone(),
            shown,
        }
    } else if let Some(n) = req.raw_size {
        Body::Filler {
            size: n,
            content_type: Some(req.content_type.clone().unwrap_or_else(|| "application/json".into())),
            shown: Value::String(format!("({n} bytes of `x`)")),
        }
    } else if let Some(m) = &req.multipart {
        let fields = m
            .fields
            .iter()
            .map(|(k, val)| Ok((k.clone(), v.interpolate_str(val, &format!("`multipart.fields.{k}`"))?)))
            .collect::<Result<Vec<_>, RunnerError>>()?;
        Body::Multipart {
            field: m.field.clone(),
            filename: v.interpolate_str(&m.filename, "`multipart.filename`")?,
            content: v.interpolate_str(&m.content, "`multipart.content`")?,
            content_type: m.content_type.clone(),
            fields,
        }
    } else {
        Body::None
    };
    let concrete = if absolute {
        url.path().to_string()
    } else {
        path.split(['?', '#']).next().unwrap_or_default().to_string()
    };
    Ok(Prepared {
        method,
        url,
        path: concrete,
        headers,
        body,
    })
}

fn pacing_key(st: &ScenarioState, step: &Step) -> Option<(String, u32)> {
    let name = step.actor.as_ref()?;
    let creds = st.vars.actor(name)?;
    let key = creds
        .user_id
        .clone()
        .or_else(|| creds.api_key.clone())
        .unwrap_or_else(|| format!("{}/{name}", st.scenario_id));
    let tier = st.tiers.get(name).copied().unwrap_or_default();
    Some((key, per_minute(tier)))
}

pub(crate) async fn request_step(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    req: &Request,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    if let Some(r) = &step.repeat {
        bind_over(st, r, 1)?;
    }
    let prepared = prepare(ctx, st, step, req)?;
    rep.request = Some(request_record(&prepared));
    if let Body::Json(j) = &prepared.body {
        register_sensitive(&ctx.secrets, j);
    }
    let expect = interpolated(&st.vars, &step.expect.clone().unwrap_or_default(), "`expect`")?;
    let repeat = match &step.repeat {
        Some(r) => Some(interpolated(&st.vars, r, "`repeat`")?),
        None => None,
    };
    let money = money_step(prepared.method.as_str(), &prepared.path);
    let held = match money {
        Some(m) => hold_spending(ctx, st, &prepared, m, repeat.as_ref().map_or(1, |r| r.times), dl).await?,
        None => 0,
    };
    let mut cents = 0i64;
    let result = exchange(
        ctx,
        st,
        step,
        req,
        &prepared,
        &expect,
        repeat.as_ref(),
        rep,
        dl,
        money,
        &mut cents,
    )
    .await;
    if money.is_some() {
        let actor = step.actor.as_deref().unwrap_or("(anonymous)");
        let unknown = result.is_err();
        ctx.ledger.settle(&st.scenario_id, actor, held, cents, unknown);
        if unknown && held > cents {
            let note = format!(
                "; the outcome is unknown, so the {} cents it may have committed count against the spending cap",
                held - cents
            );
            return result.map(|_| ()).map_err(|e| match e {
                RunnerError::Timeout(m) => RunnerError::Timeout(format!("{m}{note}")).into(),
                RunnerError::Transport {
                    what,
                    method,
                    url,
                    message,
                } => RunnerError::Transport {
                    what,
                    method,
                    url,
                    message: format!("{message}{note}"),
                }
                .into(),
                other => other.into(),
            });
        }
    }
    let Some((received, json)) = result? else { return Ok(()) };
    rep.response = Some(response_record(&received, json.as_ref()));
    if let Some(j) = &json {
        register_sensitive(&ctx.secrets, j);
    }
    if let Some(caps) = &step.capture {
        capture(ctx, st, caps, &received, json.as_ref(), rep);
    }
    Ok(())
}

/// The money guard of one money step: off a sandbox it needs
/// `allow_real_money`; under a spending cap the most it can commit
/// (`times` requests) must be known and fit. Answers the cents held.
pub(crate) async fn hold_spending(
    ctx: &ScenarioContext,
    st: &ScenarioState,
    prepared: &Prepared,
    money: MoneyStep,
    times: u32,
    dl: &Deadline,
) -> Result<i64, Halt> {
    let what = format!("{} {}", prepared.method, prepared.path);
    if !ctx.sandbox() && !ctx.options.allow_real_money {
        return Err(Halt::Refused(format!(
            "not run: `{what}` moves real money and the target is not a sandbox (pass `--i-understand-this-moves-real-money` and `--max-spend-cents`)"
        )));
    }
    let Some(cap) = ctx.spend_cap() else { return Ok(0) };
    if let Some(reason) = ctx.ledger.refusal(Some(cap)) {
        return Err(Halt::Refused(reason));
    }
    let (limit, _) = dl.request_limit(ctx.options.request_timeout);
    let one = super::money::estimate(&ctx.http, &st.base_url, prepared, money, limit, ctx.options.max_body_bytes)
        .await
        .map_err(|why| {
            Halt::Refused(ctx.secrets.redact_str(&format!(
                "not run: cannot tell in advance how much `{what}` would commit ({why}); under a spending cap a money step runs only when its amount is known"
            )))
        })?;
    let most = one.saturating_mul(i64::from(times.max(1)));
    ctx.ledger.reserve(cap, most, &what).map_err(Halt::Refused)?;
    Ok(most)
}

/// Sends the request (once, paced and retried, or repeated), checks the
/// answer, and adds what successful money answers committed to `cents`.
/// Answers the response `expect` applied to, or `None` when none did.
#[allow(clippy::too_many_arguments)]
async fn exchange(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    req: &Request,
    prepared: &Prepared,
    expect: &Expect,
    repeat: Option<&Repeat>,
    rep: &mut StepReport,
    dl: &mut Deadline,
    money: Option<MoneyStep>,
    cents: &mut i64,
) -> Result<Option<(Received, Option<Value>)>, RunnerError> {
    // The documented limit the operation counts against beyond the
    // standard one, and its window.
    let operation = ctx
        .contract
        .documented()
        .find_operation(prepared.method.as_str(), &prepared.path)
        .map(|o| o.label())
        .unwrap_or_else(|| format!("{} {}", prepared.method, prepared.path));
    let documented = super::pacing::documented_limit(&operation);
    let window = documented.window;
    let limit = (documented.label != super::pacing::STANDARD_LIMIT).then_some(documented.label);
    let account = step.actor.as_deref().and_then(|a| st.pool_account(a)).cloned();
    if let Some(repeat) = repeat {
        // A pool account may have been used by other scenarios within the
        // window: the server counts those requests, so a limit may answer
        // earlier than the scenario counts by as many.
        let prior = account.as_ref().map_or(0, |a| {
            let now = std::time::Instant::now();
            // The window is on the target's clock.
            let window = window / ctx.clock_rate().max(1);
            let n = a.sent_before(limit, now.checked_sub(window).unwrap_or(st.steps_from), st.steps_from);
            u32::try_from(n).unwrap_or(u32::MAX)
        });
        let outcome = repeat_request(
            ctx, st, step, req, prepared, repeat, expect, rep, dl, money, cents, prior,
        )
        .await;
        if let Some(a) = &account {
            a.note_sent(rep.attempts, limit);
        }
        // A burst used the actor's allowance: it counts in the actor's window.
        if ctx.pace()
            && let Some((key, limit)) = pacing_key(st, step)
        {
            ctx.pacer.record(&key, limit, rep.attempts as usize);
        }
        return outcome;
    }
    let received = send_paced(ctx, st, step, prepared, expect, rep, dl).await;
    if let Some(a) = &account {
        a.note_sent(rep.attempts, limit);
    }
    let received = received?;
    let json = parse_json(&received);
    if let Some(m) = money
        && (200..300).contains(&received.status)
    {
        *cents += committed(m, json.as_ref());
    }
    let checked = auto_checks(ctx, prepared, &received, json.as_ref(), &step.skip_checks, false);
    rep.operation = checked.operation;
    rep.findings.extend(checked.findings);
    rep.departures.extend(checked.departures);
    rep.findings.extend(check::check_expect(
        expect,
        received.status,
        &received.headers,
        json.as_ref(),
    ));
    rep.departures.extend(check::check_reference(
        expect,
        received.status,
        &received.headers,
        json.as_ref(),
    ));
    Ok(Some((received, json)))
}

/// Sends once, pacing first and retrying an unexpected 429.
async fn send_paced(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    prepared: &Prepared,
    expect: &Expect,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<Received, RunnerError> {
    let pace = if ctx.pace() { pacing_key(st, step) } else { None };
    loop {
        if pace.is_some() {
            let waited = pace_hourly(ctx, st, step, prepared, dl).await?;
            dl.extend(waited);
            st.waited += waited;
        }
        if let Some((key, limit)) = &pace {
            let waited = ctx.pacer.acquire(key, *limit).await;
            dl.extend(waited);
            st.waited += waited;
        }
        let (limit, label) = dl.request_limit(ctx.options.request_timeout);
        if limit.is_zero() {
            return Err(RunnerError::Timeout(format!(
                "the {label} was reached before `{}` was sent",
                prepared.url
            )));
        }
        rep.attempts += 1;
        let r = exec::send(&ctx.http, prepared, limit, label, ctx.options.max_body_bytes).await?;
        let unexpected_429 = r.status == 429 && !expect.names_status(429);
        if !unexpected_429 {
            return Ok(r);
        }
        let header = r.header("retry-after").map(str::to_string);
        let asked = requested_wait(header.as_deref());
        let shown = header
            .as_deref()
            .map(|h| super::record::truncate_text(h, 80))
            .unwrap_or_default();
        if asked.is_err()
            && !rep
                .findings
                .iter()
                .any(|f| f.kind == FindingKind::Header && f.message.contains("Retry-After"))
        {
            rep.findings.push(
                Finding::new(
                    FindingKind::Header,
                    format!("`Retry-After: {shown}` is neither a number of seconds nor an HTTP date (the harness waited 1 s)"),
                )
                .expected("seconds or an HTTP date")
                .actual(shown.clone()),
            );
        }
        if rep.retries >= ctx.options.retry_429 {
            return Ok(r);
        }
        let wait = retry_after(header.as_deref());
        let too_long = matches!(asked, Ok(Some(d)) if d > MAX_RETRY_AFTER);
        if too_long || wait >= dl.outer_left() {
            let why = if too_long {
                format!("longer than the harness ever waits ({})", human(MAX_RETRY_AFTER))
            } else {
                format!("longer than the {} leaves ({})", dl.outer_label, human(dl.outer_left()))
            };
            // A correct server enforcing a limit is not a conformance failure:
            // the scenario could not run, and the run remembers the limit.
            let operation = ctx
                .contract
                .documented()
                .find_operation(prepared.method.as_str(), &prepared.path)
                .map(|o| o.label())
                .unwrap_or_else(|| format!("{} {}", prepared.method, prepared.path));
            let super::pacing::DocumentedLimit {
                label: limit, window, ..
            } = super::pacing::documented_limit(&operation);
            let asked_for = asked.ok().flatten().unwrap_or(wait);
            if asked_for > window {
                // No documented limit asks for longer than its window.
                rep.findings.push(
                    Finding::new(
                        FindingKind::Header,
                        format!(
                            "`Retry-After: {shown}` asks for {}, longer than the window of the documented {limit} ({}): not retried",
                            human(asked_for),
                            human(window)
                        ),
                    )
                    .expected(format!("at most {} s", window.as_secs()))
                    .actual(shown.clone()),
                );
                return Ok(r);
            }
            let until = chrono::Utc::now()
                + chrono::Duration::from_std(asked_for).unwrap_or_else(|_| chrono::Duration::days(365));
            ctx.spent.lock().push(crate::report::model::SpentLimit {
                operation: operation.clone(),
                limit: limit.to_string(),
                until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            });
            return Err(RunnerError::LimitSpent(format!(
                "not run: `{operation}` answered 429 with `Retry-After: {shown}`, a wait {why}: the {limit} is spent; retry in {}",
                human(asked_for)
            )));
        }
        if let Some((key, limit)) = &pace {
            ctx.pacer.drain(key, *limit);
        }
        tokio::time::sleep(wait).await;
        dl.extend(wait);
        st.waited += wait;
        rep.retries += 1;
    }
}

/// Keeps a pool account under the hourly limit by tier the request counts
/// against (applications, postings, funding): when what the run sent as the
/// account within the target's hour leaves no room, waits for the oldest of
/// those sends to leave the hour, if the scenario's time allows; else the
/// scenario does not run (the limit is spent), rather than send a request
/// the documented limit refuses. Answers the time waited. Other actors
/// (made for the scenario) send only what the scenario sends.
async fn pace_hourly(
    ctx: &ScenarioContext,
    st: &ScenarioState,
    step: &Step,
    prepared: &Prepared,
    dl: &Deadline,
) -> Result<Duration, RunnerError> {
    let Some(account) = step.actor.as_deref().and_then(|a| st.pool_account(a)) else {
        return Ok(Duration::ZERO);
    };
    let Some(op) = ctx
        .contract
        .documented()
        .find_operation(prepared.method.as_str(), &prepared.path)
    else {
        return Ok(Duration::ZERO);
    };
    let operation = op.label();
    let limit = super::pacing::documented_limit(&operation);
    let Some(per_tier) = limit.hourly_by_tier else {
        return Ok(Duration::ZERO);
    };
    let figure = crate::target::pool::figure_for(per_tier, account.tier);
    // An hour of the target's clock, in real time.
    let window = limit.window / ctx.clock_rate().max(1);
    let wait = account.hourly_wait(limit.label, figure, window);
    if wait.is_zero() {
        return Ok(wait);
    }
    if wait >= dl.outer_left() {
        let until =
            chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1));
        ctx.spent.lock().push(crate::report::model::SpentLimit {
            operation: operation.clone(),
            limit: limit.label.to_string(),
            until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        return Err(RunnerError::LimitSpent(format!(
            "not run: what this run sent as pool account `{}` within the hour fills the {} ({figure} for its tier); `{operation}` would pass it, and the hour frees room in {}, longer than the {} leaves",
            account.account.label,
            limit.label,
            human(wait),
            dl.outer_label
        )));
    }
    tokio::time::sleep(wait).await;
    Ok(wait)
}

/// Sends a request `repeat.times` times (never paced or retried); answers
/// the response `expect` applies to, or `None` when it does not apply.
#[allow(clippy::too_many_arguments)]
async fn repeat_request(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    req: &Request,
    first: &Prepared,
    repeat: &Repeat,
    expect: &Expect,
    rep: &mut StepReport,
    dl: &mut Deadline,
    money: Option<MoneyStep>,
    cents: &mut i64,
    prior: u32,
) -> Result<Option<(Received, Option<Value>)>, RunnerError> {
    if repeat.times == 0 {
        return Err(RunnerError::BadRequest("`repeat.times` must be at least 1".into()));
    }
    for (var, list) in &repeat.over {
        let n = st.vars.get(list).and_then(Value::as_array).map(Vec::len);
        if n.is_none_or(|n| n < repeat.times as usize) {
            let held = n.map_or_else(|| "is not a list".to_string(), |n| format!("holds {n} items"));
            return Err(RunnerError::BadRequest(format!(
                "`repeat.over.{var}`: the list `{list}` {held}, fewer than the {} requests of the repeat",
                repeat.times
            )));
        }
    }
    for name in repeat.collect.keys() {
        st.vars.set(name, Value::Array(Vec::new()));
    }
    let mut seen: Vec<Finding> = Vec::new();
    let mut departed: Vec<Finding> = Vec::new();
    let mut last = None;
    let mut hit_at = None;
    // Requests sent together (`in_flight`), answered, not yet judged.
    let mut wave: std::collections::VecDeque<(Option<Prepared>, Result<Received, RunnerError>)> =
        std::collections::VecDeque::new();
    let width = match repeat.until_status {
        Some(_) => 1,
        None => repeat.in_flight.unwrap_or(1).max(1),
    };
    for i in 1..=repeat.times {
        if let Some(pause) = &repeat.pause
            && i > 1
            && (i - 1) % pause.every.max(1) == 0
        {
            super::clock::advance(ctx, st, pause.advance_seconds, dl).await?;
        }
        if wave.is_empty() {
            // This request and those that may go with it: never past the
            // repeat's end or the next pause.
            let mut end = (i + width - 1).min(repeat.times);
            if let Some(pause) = &repeat.pause {
                let every = pause.every.max(1);
                end = end.min((i - 1) / every * every + every);
            }
            let mut batch = Vec::new();
            for j in i..=end {
                batch.push(if !repeat.over.is_empty() && j > 1 {
                    bind_over(st, repeat, j)?;
                    Some(prepare(ctx, st, step, req)?)
                } else {
                    None
                });
            }
            let (limit, label) = dl.request_limit(ctx.options.request_timeout);
            if limit.is_zero() {
                return Err(RunnerError::Timeout(format!(
                    "the {label} was reached after {} of {} requests",
                    i - 1,
                    repeat.times
                )));
            }
            let sent = futures::future::join_all(batch.iter().map(|p| {
                let p = p.as_ref().unwrap_or(first);
                exec::send(&ctx.http, p, limit, label, ctx.options.max_body_bytes)
            }))
            .await;
            wave.extend(batch.into_iter().zip(sent));
        }
        let Some((varied, sent)) = wave.pop_front() else {
            break;
        };
        let prepared = varied.as_ref().unwrap_or(first);
        rep.attempts += 1;
        let r = sent?;
        let json = parse_json(&r);
        if let Some(m) = money
            && (200..300).contains(&r.status)
        {
            *cents += committed(m, json.as_ref());
        }
        let checked = auto_checks(ctx, prepared, &r, json.as_ref(), &step.skip_checks, false);
        rep.operation = checked.operation;
        for f in checked.findings {
            if !seen.iter().any(|s| s.kind == f.kind && s.message == f.message) {
                seen.push(f);
            }
        }
        for f in checked.departures {
            if !departed.iter().any(|s| s.kind == f.kind && s.message == f.message) {
                departed.push(f);
            }
        }
        let is_final = match repeat.until_status {
            Some(s) if r.status == s => {
                hit_at = Some(i);
                true
            }
            Some(_) => false,
            None => i == repeat.times,
        };
        if !is_final || repeat.until_status.is_none() {
            collect(st, repeat, i, &r, json.as_ref(), &mut seen);
        }
        if !is_final && let Some(each) = &repeat.each {
            let f = check::check_expect(each, r.status, &r.headers, json.as_ref());
            if !f.is_empty() {
                rep.findings.extend(seen);
                rep.departures.extend(departed);
                rep.findings.extend(f.into_iter().map(|mut x| {
                    x.message = format!("request {i} of {}: {}", repeat.times, x.message);
                    x
                }));
                rep.response = Some(response_record(&r, json.as_ref()));
                return Ok(None);
            }
        }
        last = Some((r, json));
        if is_final {
            break;
        }
    }
    rep.findings.extend(seen);
    rep.departures.extend(departed);
    let Some((r, json)) = last else { return Ok(None) };
    if let Some(s) = repeat.until_status {
        let reference_at = repeat.reference.as_ref().and_then(|x| x.expect_at);
        match (hit_at, repeat.expect_at) {
            (None, at) => {
                let mut f = Finding::new(
                    FindingKind::Repeat,
                    format!(
                        "status {s} never arrived in {} requests (the last was {})",
                        repeat.times, r.status
                    ),
                )
                .actual(r.status);
                f.expected = Some(match at {
                    Some(n) => serde_json::json!({ "status": s, "at_request": n.to_string() }),
                    None => serde_json::json!({ "status": s }),
                });
                rep.findings.push(f);
                rep.response = Some(response_record(&r, json.as_ref()));
                return Ok(None);
            }
            // Too early only by what other scenarios sent within the window
            // (some of which may have left it): the server counted between
            // `k` and `k + prior`.
            (Some(k), Some(at)) if k < at.first() && k.saturating_add(prior) >= at.first() => {}
            (Some(k), Some(at)) if !at.accepts(k) => {
                let when = if k < at.first() { "too early" } else { "too late" };
                rep.findings.push(
                    Finding::new(
                        FindingKind::Repeat,
                        format!("status {s} arrived at request {k}, expected at {at} ({when})"),
                    )
                    .expected(at.to_string())
                    .actual(k),
                );
            }
            _ => {}
        }
        if let (Some(k), Some(n)) = (hit_at, reference_at)
            && k != n
            && !(k..=k.saturating_add(prior)).contains(&n)
        {
            rep.departures.push(
                Finding::new(
                    FindingKind::Repeat,
                    format!("status {s} arrived at request {k}; our reference server answers it at request {n}"),
                )
                .expected(n)
                .actual(k),
            );
        }
    }
    rep.findings
        .extend(check::check_expect(expect, r.status, &r.headers, json.as_ref()));
    rep.departures
        .extend(check::check_reference(expect, r.status, &r.headers, json.as_ref()));
    Ok(Some((r, json)))
}

/// Sets each `repeat.over` variable to item `i` (1-based) of its list; a
/// list too short (or none) is left for the repeat to report.
fn bind_over(st: &mut ScenarioState, repeat: &Repeat, i: u32) -> Result<(), RunnerError> {
    for (var, list) in &repeat.over {
        let item = st
            .vars
            .get(list)
            .and_then(Value::as_array)
            .and_then(|a| a.get(i as usize - 1))
            .cloned();
        match item {
            Some(v) => st.vars.set(var, v),
            None => {
                return Err(RunnerError::BadRequest(format!(
                    "`repeat.over.{var}`: the list `{list}` has no item {i} (an earlier `collect` builds it)"
                )));
            }
        }
    }
    Ok(())
}

/// Appends what each `repeat.collect` capture finds in answer `i` to its
/// list variable; a capture that finds nothing is a finding.
fn collect(
    st: &mut ScenarioState,
    repeat: &Repeat,
    i: u32,
    r: &Received,
    json: Option<&Value>,
    seen: &mut Vec<Finding>,
) {
    for (name, cap) in &repeat.collect {
        let (value, from) = capture_value(cap, r, json);
        match value {
            Some(v) => {
                let mut list = match st.vars.get(name) {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                list.push(v);
                st.vars.set(name, Value::Array(list));
            }
            None => seen.push(Finding::new(
                FindingKind::Capture,
                format!(
                    "request {i} of {}: collect `{name}`: the response has nothing at {from}",
                    repeat.times
                ),
            )),
        }
    }
}

/// The value a capture finds in an answer, and a description of where it looked.
fn capture_value(cap: &Capture, r: &Received, json: Option<&Value>) -> (Option<Value>, String) {
    match cap {
        Capture::Body(path) => {
            let v = json
                .and_then(|j| check::resolve(path, j).ok())
                .and_then(|l| l.first())
                .map(|(_, v)| v.clone());
            (v, format!("body `{path}`"))
        }
        Capture::Header { header } => (
            r.header(header).map(|h| Value::String(h.to_string())),
            format!("header `{header}`"),
        ),
        Capture::AnyOf(paths) => {
            let v = json.and_then(|j| {
                paths.iter().find_map(|p| {
                    check::resolve(p, j)
                        .ok()
                        .and_then(|l| l.first())
                        .map(|(_, v)| v.clone())
                })
            });
            let list = paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
            (v, format!("any of the body's {list}"))
        }
    }
}

/// True when a capture's name or path suggests a secret.
fn secret_like(name: &str, path: &str) -> bool {
    let s = format!("{name} {path}").to_ascii_lowercase();
    ["key", "token", "password", "secret", "jwt"]
        .iter()
        .any(|w| s.contains(w))
}

/// Takes captured values from a response into variables.
fn capture(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    caps: &BTreeMap<String, Capture>,
    r: &Received,
    json: Option<&Value>,
    rep: &mut StepReport,
) {
    for (name, cap) in caps {
        let (value, from) = capture_value(cap, r, json);
        match value {
            Some(v) => {
                if let Value::String(s) = &v
                    && secret_like(name, &from)
                {
                    ctx.secrets.add(&format!("CAPTURED:{name}"), s);
                }
                st.vars.set(name, v);
            }
            None => {
                let mut f = Finding::new(
                    FindingKind::Capture,
                    format!("capture `{name}`: the response has nothing at {from}"),
                );
                if let Capture::Body(p) = cap {
                    f = f.at_body(p.clone());
                }
                rep.findings.push(f);
            }
        }
    }
}
