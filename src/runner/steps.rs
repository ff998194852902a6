//! Executing one step: requests (paced, retried on an unexpected 429, or
//! repeated), their automatic spec checks, `expect`, captures and money,
//! plus `set` and `clock`. Event steps live in `stream_steps`. It must
//! not decide the scenario's outcome or record unredacted data for good
//! (the scenario redacts every step report).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use super::RunnerError;
use super::auth::auth_headers;
use super::context::ScenarioContext;
use super::events::Stream;
use super::exec::{self, Body, Prepared, Received, human};
use super::money::{MoneyStep, committed, money_step};
use super::pacing::{MAX_RETRY_AFTER, per_minute, requested_wait, retry_after};
use super::record::{request_record, response_record};
use super::vars::{Vars, text_of};
use crate::check;
use crate::redact::{SENSITIVE_KEYS, Secrets};
use crate::report::model::{Finding, FindingKind, RequestRecord, ResponseRecord, StepReport};
use crate::scenario::{AutoCheck, Capture, Expect, Repeat, Request, SkipCheck, Step, Tier};
use crate::spec::{CheckSet, ResponseView};
use crate::target::{ControlClient, ControlInfo};

/// What a running scenario carries from step to step.
pub(crate) struct ScenarioState {
    pub scenario_id: String,
    pub vars: Vars,
    pub tiers: BTreeMap<String, Tier>,
    pub base_url: Url,
    pub control: Option<ControlClient>,
    pub features: ControlInfo,
    pub streams: HashMap<String, Stream>,
    /// Time spent pacing or waiting out `Retry-After` (extends the scenario limit).
    pub waited: Duration,
}

/// Why a step ended early.
pub(crate) enum Halt {
    /// Could not run.
    Error(RunnerError),
    /// Deliberately not run (the spending cap).
    Refused(String),
}

impl From<RunnerError> for Halt {
    fn from(e: RunnerError) -> Self {
        Halt::Error(e)
    }
}

/// The time limits binding a step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    /// The step's own limit (moved by pacing and `Retry-After` waits).
    pub step_at: Instant,
    pub step_label: &'static str,
    /// The scenario's or run's limit, whichever is sooner.
    pub outer_at: Instant,
    pub outer_label: &'static str,
    /// The run's limit, never moved.
    pub hard_at: Option<Instant>,
}

impl Deadline {
    /// Moves the limits by time spent waiting on purpose (not past the run's).
    pub fn extend(&mut self, d: Duration) {
        let cap = |t: Instant| self.hard_at.map_or(t, |h| t.min(h));
        self.step_at = cap(self.step_at + d);
        if self.outer_label == "scenario time limit" {
            self.outer_at = cap(self.outer_at + d);
        }
    }

    /// The limit for one request, and its name.
    pub fn request_limit(&self, request_timeout: Duration) -> (Duration, &'static str) {
        let now = Instant::now();
        let mut best = (request_timeout, "request time limit");
        for (at, label) in [(self.step_at, self.step_label), (self.outer_at, self.outer_label)] {
            let left = at.saturating_duration_since(now);
            if left < best.0 {
                best = (left, label);
            }
        }
        best
    }

    /// The time left before the outer (scenario or run) limit.
    pub fn outer_left(&self) -> Duration {
        self.outer_at.saturating_duration_since(Instant::now())
    }
}

/// The default name of a step.
pub(crate) fn default_name(step: &Step) -> String {
    if let Some(r) = &step.request {
        return format!("{} {}", r.method.to_ascii_uppercase(), r.path);
    }
    if let Some(c) = &step.clock {
        return format!("advance the clock by {} s", c.advance_seconds);
    }
    if let Some(s) = &step.subscribe {
        return format!("subscribe `{}` as {}", s.stream, step.actor.as_deref().unwrap_or("nobody"));
    }
    if let Some(e) = &step.event {
        return format!("expect `{}` on `{}`", e.event_type, e.stream);
    }
    if let Some(e) = &step.no_event {
        return format!("expect no `{}` event on `{}`", e.event_type.as_deref().unwrap_or("any"), e.stream);
    }
    if let Some(s) = &step.set {
        return format!("set {}", s.keys().cloned().collect::<Vec<_>>().join(", "));
    }
    if let Some(i) = &step.include {
        return format!("include `{i}`");
    }
    "step".to_string()
}

/// The kind of a step as recorded.
pub(crate) fn kind(step: &Step) -> &'static str {
    if step.request.is_some() {
        "request"
    } else if step.clock.is_some() {
        "clock"
    } else if step.subscribe.is_some() {
        "subscribe"
    } else if step.event.is_some() {
        "event"
    } else if step.no_event.is_some() {
        "no_event"
    } else if step.set.is_some() {
        "set"
    } else if step.include.is_some() {
        "include"
    } else {
        "unknown"
    }
}

/// Runs one step, filling `rep`.
pub(crate) async fn execute(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    if let Some(req) = &step.request {
        return request_step(ctx, st, step, req, rep, dl).await;
    }
    if let Some(values) = &step.set {
        for (name, v) in values {
            let value = st.vars.interpolate_value(v, &format!("`set.{name}`"))?;
            st.vars.set(name, value);
        }
        return Ok(());
    }
    if let Some(c) = &step.clock {
        return clock_step(st, c.advance_seconds, rep, dl).await;
    }
    if step.subscribe.is_some() {
        return super::stream_steps::subscribe(ctx, st, step, rep, dl).await;
    }
    if step.event.is_some() || step.no_event.is_some() {
        return super::stream_steps::event(ctx, st, step, rep, dl).await;
    }
    if let Some(name) = &step.include {
        return Err(RunnerError::Unsupported(format!(
            "`include: {name}` was not expanded before the run (the loader flattens includes)"
        ))
        .into());
    }
    Err(RunnerError::Unsupported("the step has no action (request, set, clock, subscribe, event, no_event)".into()).into())
}

async fn clock_step(st: &mut ScenarioState, seconds: i64, rep: &mut StepReport, dl: &Deadline) -> Result<(), Halt> {
    let Some(control) = st.control.as_ref().filter(|_| st.features.has("clock")) else {
        return Err(RunnerError::Control("the target offers no `clock` control".into()).into());
    };
    let body = serde_json::json!({ "advance_seconds": seconds });
    rep.request = Some(RequestRecord {
        method: "POST".into(),
        url: format!("{}__conformance/clock", control_base(st)),
        headers: vec![],
        body: Some(body),
    });
    let started = Instant::now();
    let now = match tokio::time::timeout(dl.outer_left(), control.advance_clock(seconds)).await {
        Err(_) => return Err(RunnerError::Timeout(format!("the clock call timed out ({})", dl.outer_label)).into()),
        Ok(r) => r.map_err(|e| RunnerError::Control(e.to_string()))?,
    };
    rep.response = Some(ResponseRecord {
        status: 200,
        headers: vec![],
        content_type: Some("application/json".into()),
        body: Some(serde_json::json!({ "now": now })),
        body_bytes: 0,
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    Ok(())
}

fn control_base(st: &ScenarioState) -> String {
    let s = st.base_url.as_str();
    if s.ends_with('/') { s.to_string() } else { format!("{s}/") }
}

/// Joins the target's base URL and a scenario path.
pub(crate) fn join_url(base: &Url, path: &str) -> Result<Url, RunnerError> {
    let mut s = base.as_str().trim_end_matches('/').to_string();
    if !path.starts_with('/') {
        s.push('/');
    }
    s.push_str(path);
    Url::parse(&s).map_err(|e| RunnerError::BadRequest(format!("URL `{s}`: {e}")))
}

/// The credential headers of a step (its actor and auth mode).
pub(crate) fn step_auth(st: &ScenarioState, step: &Step, secrets: &Secrets) -> Result<Vec<(String, String)>, RunnerError> {
    let actor = match &step.actor {
        None => None,
        Some(name) => match st.vars.actor(name) {
            Some(c) => Some((name.as_str(), c)),
            None => {
                return Err(RunnerError::UnknownActor {
                    name: name.clone(),
                    declared: st.vars.actor_names().join(", "),
                });
            }
        },
    };
    auth_headers(step.auth.unwrap_or_default(), actor, secrets)
}

/// Interpolates a request into a [`Prepared`] one.
fn prepare(ctx: &ScenarioContext, st: &ScenarioState, step: &Step, req: &Request) -> Result<Prepared, RunnerError> {
    let v = &st.vars;
    let path = v.interpolate_str(&req.path, "`request.path`")?;
    let method = reqwest::Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| RunnerError::BadRequest(format!("`{}` is not an HTTP method", req.method)))?;
    let mut url = join_url(&st.base_url, &path)?;
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
    let mut headers = step_auth(st, step, &ctx.secrets)?;
    for (k, val) in &req.headers {
        let name = v.interpolate_str(k, "`request.headers`")?;
        let value = v.interpolate_str(val, &format!("`request.headers.{k}`"))?;
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&name));
        headers.push((name, value));
    }
    let bodies = [req.json.is_some(), req.raw.is_some(), req.raw_size.is_some(), req.multipart.is_some()];
    if bodies.iter().filter(|b| **b).count() > 1 {
        return Err(RunnerError::BadRequest("a request has one body: `json`, `raw`, `raw_size` or `multipart`".into()));
    }
    let body = if let Some(j) = &req.json {
        let value = v.interpolate_value(j, "`request.json`")?;
        match &req.content_type {
            // A JSON body sent under another content type: raw bytes.
            Some(ct) if !ct.to_ascii_lowercase().contains("json") => Body::Raw {
                bytes: serde_json::to_vec(&value).unwrap_or_default(),
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
        Body::Raw { bytes: text.into_bytes(), content_type: req.content_type.clone(), shown }
    } else if let Some(n) = req.raw_size {
        Body::Raw {
            bytes: vec![b'x'; n],
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
    let concrete = path.split(['?', '#']).next().unwrap_or_default().to_string();
    Ok(Prepared { method, url, path: concrete, headers, body })
}

/// A scenario structure (an `expect`, assertions) with every `{{name}}`
/// in its strings interpolated; exact references keep their JSON type.
pub(crate) fn interpolated<T>(vars: &Vars, value: &T, place: &str) -> Result<T, RunnerError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone,
{
    let v = serde_json::to_value(value).map_err(|e| RunnerError::BadRequest(format!("{place}: {e}")))?;
    if !v.to_string().contains("{{") {
        return Ok(value.clone());
    }
    let v = vars.interpolate_value(&v, place)?;
    serde_json::from_value(v).map_err(|e| RunnerError::BadRequest(format!("{place} after interpolation: {e}")))
}

/// Registers the string values of sensitive keys (`password`, `api_key`,
/// `accessToken`, ...) anywhere in a JSON value as secrets.
pub(crate) fn register_sensitive(secrets: &Secrets, v: &Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, val) in m {
                    if let Value::String(s) = val
                        && SENSITIVE_KEYS.contains(&k.to_ascii_lowercase().as_str())
                    {
                        secrets.add(&k.to_ascii_uppercase(), s);
                    }
                    stack.push(val);
                }
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
}

fn pacing_key(st: &ScenarioState, step: &Step) -> Option<(String, u32)> {
    let name = step.actor.as_ref()?;
    let creds = st.vars.actor(name)?;
    let key = creds.user_id.clone().or_else(|| creds.api_key.clone()).unwrap_or_else(|| format!("{}/{name}", st.scenario_id));
    let tier = st.tiers.get(name).copied().unwrap_or_default();
    Some((key, per_minute(tier)))
}

async fn request_step(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    req: &Request,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
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
    let result = exchange(ctx, st, step, &prepared, &expect, repeat.as_ref(), rep, dl, money, &mut cents).await;
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
                RunnerError::Transport { what, method, url, message } => {
                    RunnerError::Transport { what, method, url, message: format!("{message}{note}") }.into()
                }
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
async fn hold_spending(
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
            "not run: `{what}` moves real money and the target is not a sandbox (pass `--allow-real-money` and `--max-spend`)"
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
    prepared: &Prepared,
    expect: &Expect,
    repeat: Option<&Repeat>,
    rep: &mut StepReport,
    dl: &mut Deadline,
    money: Option<MoneyStep>,
    cents: &mut i64,
) -> Result<Option<(Received, Option<Value>)>, RunnerError> {
    if let Some(repeat) = repeat {
        let outcome = repeat_request(ctx, step, prepared, repeat, expect, rep, dl, money, cents).await;
        // A burst used the actor's allowance: later paced requests wait.
        if ctx.pace()
            && let Some((key, _)) = pacing_key(st, step)
        {
            ctx.pacer.drain(&key);
        }
        return outcome;
    }
    let received = send_paced(ctx, st, step, prepared, expect, rep, dl).await?;
    let json = parse_json(&received);
    if let Some(m) = money
        && (200..300).contains(&received.status)
    {
        *cents += committed(m, json.as_ref());
    }
    let (op, found) = auto_checks(ctx, prepared, &received, json.as_ref(), &step.skip_checks, false);
    rep.operation = op;
    rep.findings.extend(found);
    rep.findings.extend(check::check_expect(expect, received.status, &received.headers, json.as_ref()));
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
        if let Some((key, limit)) = &pace {
            let waited = ctx.pacer.acquire(key, *limit).await;
            dl.extend(waited);
            st.waited += waited;
        }
        let (limit, label) = dl.request_limit(ctx.options.request_timeout);
        if limit.is_zero() {
            return Err(RunnerError::Timeout(format!("the {label} was reached before `{}` was sent", prepared.url)));
        }
        rep.attempts += 1;
        let r = exec::send(&ctx.http, prepared, limit, label, ctx.options.max_body_bytes).await?;
        let unexpected_429 = r.status == 429 && !expect.status.contains(&429);
        if !unexpected_429 {
            return Ok(r);
        }
        let header = r.header("retry-after").map(str::to_string);
        let asked = requested_wait(header.as_deref());
        let shown = header.as_deref().map(|h| super::record::truncate_text(h, 80)).unwrap_or_default();
        if asked.is_err() && !rep.findings.iter().any(|f| f.kind == FindingKind::Header && f.message.contains("Retry-After")) {
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
            rep.findings.push(
                Finding::new(
                    FindingKind::Status,
                    format!("rate limited (429) and `Retry-After: {shown}` asks for a wait {why}: not retried"),
                )
                .actual(429),
            );
            return Ok(r);
        }
        if let Some((key, _)) = &pace {
            ctx.pacer.drain(key);
        }
        tokio::time::sleep(wait).await;
        dl.extend(wait);
        st.waited += wait;
        rep.retries += 1;
    }
}

/// Sends a request `repeat.times` times (never paced or retried); answers
/// the response `expect` applies to, or `None` when it does not apply.
#[allow(clippy::too_many_arguments)]
async fn repeat_request(
    ctx: &ScenarioContext,
    step: &Step,
    prepared: &Prepared,
    repeat: &Repeat,
    expect: &Expect,
    rep: &mut StepReport,
    dl: &mut Deadline,
    money: Option<MoneyStep>,
    cents: &mut i64,
) -> Result<Option<(Received, Option<Value>)>, RunnerError> {
    if repeat.times == 0 {
        return Err(RunnerError::BadRequest("`repeat.times` must be at least 1".into()));
    }
    let mut seen: Vec<Finding> = Vec::new();
    let mut last = None;
    let mut hit_at = None;
    for i in 1..=repeat.times {
        let (limit, label) = dl.request_limit(ctx.options.request_timeout);
        if limit.is_zero() {
            return Err(RunnerError::Timeout(format!("the {label} was reached after {} of {} requests", i - 1, repeat.times)));
        }
        rep.attempts += 1;
        let r = exec::send(&ctx.http, prepared, limit, label, ctx.options.max_body_bytes).await?;
        let json = parse_json(&r);
        if let Some(m) = money
            && (200..300).contains(&r.status)
        {
            *cents += committed(m, json.as_ref());
        }
        let (op, found) = auto_checks(ctx, prepared, &r, json.as_ref(), &step.skip_checks, false);
        rep.operation = op;
        for f in found {
            if !seen.iter().any(|s| s.kind == f.kind && s.message == f.message) {
                seen.push(f);
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
        if !is_final && let Some(each) = &repeat.each {
            let f = check::check_expect(each, r.status, &r.headers, json.as_ref());
            if !f.is_empty() {
                rep.findings.extend(seen);
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
    let Some((r, json)) = last else { return Ok(None) };
    if let Some(s) = repeat.until_status {
        match (hit_at, repeat.expect_at) {
            (None, at) => {
                let mut f = Finding::new(
                    FindingKind::Repeat,
                    format!("status {s} never arrived in {} requests (the last was {})", repeat.times, r.status),
                )
                .actual(r.status);
                f.expected = Some(match at {
                    Some(n) => serde_json::json!({ "status": s, "at_request": n }),
                    None => serde_json::json!({ "status": s }),
                });
                rep.findings.push(f);
                rep.response = Some(response_record(&r, json.as_ref()));
                return Ok(None);
            }
            (Some(k), Some(n)) if k != n => {
                let when = if k < n { "too early" } else { "too late" };
                rep.findings.push(
                    Finding::new(
                        FindingKind::Repeat,
                        format!("status {s} arrived at request {k}, expected at request {n} ({when})"),
                    )
                    .expected(n)
                    .actual(k),
                );
            }
            _ => {}
        }
    }
    rep.findings.extend(check::check_expect(expect, r.status, &r.headers, json.as_ref()));
    Ok(Some((r, json)))
}

/// The body as JSON, when it parses (whatever the content type says).
pub(crate) fn parse_json(r: &Received) -> Option<Value> {
    if r.body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice(&r.body).ok()
}

fn is_json_type(ct: Option<&str>) -> bool {
    ct.map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .is_some_and(|c| c == "application/json" || c.ends_with("+json"))
}

/// The spec's checks on a response; answers the operation's label and findings.
pub(crate) fn auto_checks(
    ctx: &ScenarioContext,
    prepared: &Prepared,
    r: &Received,
    json: Option<&Value>,
    skips: &[SkipCheck],
    stream: bool,
) -> (Option<String>, Vec<Finding>) {
    let skipped = |c: AutoCheck| skips.iter().any(|s| s.check == c);
    let mut out = Vec::new();
    let op = ctx.spec.find_operation(prepared.method.as_str(), &prepared.path);
    let label = op.map(super::spec_glue::operation_label);
    match op {
        None if !skipped(AutoCheck::Operation) => out.push(
            Finding::new(
                FindingKind::UndocumentedOperation,
                format!("`{} {}` matches no operation in the spec", prepared.method, prepared.path),
            )
            .actual(format!("{} {}", prepared.method, prepared.path)),
        ),
        None => {}
        Some(op) => {
            let set = CheckSet {
                status: !skipped(AutoCheck::Status),
                content_type: !skipped(AutoCheck::ContentType),
                schema: !skipped(AutoCheck::Schema) && !stream,
                headers: !skipped(AutoCheck::Headers),
            };
            let view = ResponseView {
                status: r.status,
                headers: &r.headers,
                content_type: r.content_type(),
                json,
                raw: &r.body,
            };
            out.extend(ctx.spec.check_response(op, &view, set));
        }
    }
    if !stream
        && json.is_none()
        && is_json_type(r.content_type())
        && !r.body.iter().all(u8::is_ascii_whitespace)
        && !out.iter().any(|f| f.kind == FindingKind::InvalidJson)
    {
        out.push(
            Finding::new(FindingKind::InvalidJson, "the body is labelled JSON but does not parse as JSON")
                .actual(super::record::truncate_text(&String::from_utf8_lossy(&r.body), 200)),
        );
    }
    (label, out)
}

/// True when a capture's name or path suggests a secret.
fn secret_like(name: &str, path: &str) -> bool {
    let s = format!("{name} {path}").to_ascii_lowercase();
    ["key", "token", "password", "secret", "jwt"].iter().any(|w| s.contains(w))
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
        let (value, from) = match cap {
            Capture::Body(path) => {
                let v = json.and_then(|j| check::resolve(path, j).ok()).and_then(|l| l.first()).map(|(_, v)| v.clone());
                (v, format!("body `{path}`"))
            }
            Capture::Header { header } => (r.header(header).map(|h| Value::String(h.to_string())), format!("header `{header}`")),
        };
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
                let mut f = Finding::new(FindingKind::Capture, format!("capture `{name}`: the response has nothing at {from}"));
                if let Capture::Body(p) = cap {
                    f = f.at_body(p.clone());
                }
                rep.findings.push(f);
            }
        }
    }
}

/// Timeout message for an event window cut by the outer limit.
pub(crate) fn cut_message(label: &str, within: Duration) -> String {
    format!("the {label} was reached while waiting {} for an event", human(within))
}
