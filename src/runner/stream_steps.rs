//! Event steps: `subscribe` (open an actor's stream, SSE or WebSocket),
//! `event` (a matching event arrives in time, optionally exactly once)
//! and `no_event` (none arrives). It must not read streams itself (the
//! `events` module does).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::RunnerError;
use super::context::ScenarioContext;
use super::events::{Event, KEEPALIVE, Stream};
use super::exec::{Body, Prepared, human};
use super::record::{request_record, response_record};
use super::state::{
    Deadline, Halt, ScenarioState, auto_checks, cut_message, interpolated, join_url, parse_json, step_auth,
};
use crate::check;
use crate::finding::{Finding, FindingKind};
use crate::report::model::{ResponseRecord, StepReport};
use crate::scenario::{BodyAssertion, Step};
use crate::target::{EVENTS_FLUSH, EVENTS_SYNC, EventsTransport};

/// Path of the event stream.
const EVENTS_PATH: &str = "/api/agent/events";
/// How long `exactly_once` watches for a duplicate after the first match
/// (bounded by the rest of `within_ms`).
const DUPLICATE_GRACE: Duration = Duration::from_millis(300);
/// Default `within_ms` of `event` and of `no_event`.
const EVENT_WITHIN_MS: u64 = 2000;
const NO_EVENT_WITHIN_MS: u64 = 500;

pub(crate) async fn subscribe(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    let Some(sub) = &step.subscribe else { return Ok(()) };
    if step.actor.is_none() {
        return Err(RunnerError::NoActor {
            mode: "subscribe".into(),
        }
        .into());
    }
    let mut url = join_url(&st.base_url, EVENTS_PATH)?;
    if !sub.types.is_empty() {
        url.query_pairs_mut().append_pair("types", &sub.types.join(","));
    }
    let mut headers = step_auth(st, step, &ctx.secrets)?;
    let transport = ctx.events_transport();
    if transport == EventsTransport::Sse {
        headers.push(("Accept".into(), "text/event-stream".into()));
    }
    let prepared = Prepared {
        method: reqwest::Method::GET,
        url,
        path: EVENTS_PATH.to_string(),
        headers,
        body: Body::None,
    };
    rep.request = Some(request_record(&prepared));
    let expect = interpolated(&st.vars, &step.expect.clone().unwrap_or_default(), "`expect`")?;
    let (stream, received) = loop {
        let (limit, label) = dl.request_limit(ctx.options.request_timeout);
        rep.attempts += 1;
        let (stream, received) = super::events::open(
            &ctx.http,
            transport,
            &prepared,
            limit,
            label,
            ctx.options.max_body_bytes,
            ctx.insecure,
        )
        .await?;
        if let Some(a) = step.actor.as_deref().and_then(|a| st.pool_account(a)) {
            a.note_sent(1, None);
        }
        // An unexpected 429 (the account's allowance spent, on a shared
        // target) is waited out once within the step's time, as requests are.
        let retry = super::pacing::retry_after(received.header("retry-after"));
        if received.status == 429 && !expect.names_status(429) && rep.retries == 0 && retry < dl.outer_left() {
            tokio::time::sleep(retry).await;
            dl.extend(retry);
            st.waited += retry;
            rep.retries += 1;
            continue;
        }
        break (stream, received);
    };
    let json = parse_json(&received);
    let upgraded = received.status == 101;
    if !upgraded {
        let checked = auto_checks(
            ctx,
            &prepared,
            &received,
            json.as_ref(),
            &step.skip_checks,
            stream.is_some(),
        );
        rep.operation = checked.operation;
        rep.findings.extend(checked.findings);
        rep.departures.extend(checked.departures);
    }
    // A WebSocket upgrade (101) counts as the success an empty `expect.status` asks for.
    let status_for_expect = if upgraded && expect.status.is_empty() {
        200
    } else {
        received.status
    };
    rep.findings.extend(check::check_expect(
        &expect,
        status_for_expect,
        &received.headers,
        json.as_ref(),
    ));
    rep.departures.extend(check::check_reference(
        &expect,
        status_for_expect,
        &received.headers,
        json.as_ref(),
    ));
    rep.response = Some(response_record(&received, json.as_ref()));
    if let Some(s) = stream {
        st.streams.insert(sub.stream.clone(), s);
    }
    Ok(())
}

fn matches(e: &Event, event_type: Option<&str>, assertions: &[BodyAssertion]) -> bool {
    event_type.is_none_or(|t| e.event_type == t) && check::assertions_hold(assertions, &e.data)
}

fn event_record(e: &Event) -> ResponseRecord {
    ResponseRecord {
        status: 200,
        headers: vec![
            ("event-type".into(), e.event_type.clone()),
            ("received-at".into(), e.received_at.clone()),
        ],
        content_type: Some("text/event-stream".into()),
        body: Some(e.data.clone()),
        body_bytes: 0,
        elapsed_ms: 0,
    }
}

/// Asks the target for a flush marker ([`EVENTS_FLUSH`]) and waits for it
/// on stream `name` until `deadline`, when the target promises that every
/// event is published before the answer to the request that causes it (the
/// bundled server, or [`EVENTS_SYNC`]) and
/// offers the marker. True when the marker came: every event the
/// scenario's requests caused is then buffered. False otherwise, asked or
/// not (the control call failed, the marker was late): the caller watches
/// its window as it would without the feature.
async fn flushed(ctx: &ScenarioContext, st: &mut ScenarioState, name: &str, deadline: Instant) -> bool {
    if ctx.target().event_lag().is_none()
        || !st.features.has(EVENTS_SYNC)
        || !st.features.has(EVENTS_FLUSH)
        || !st.streams.contains_key(name)
    {
        return false;
    }
    let Some(control) = st.control.as_ref() else {
        return false;
    };
    // Unique across runs: on a shared target every stream hears every marker.
    let token = uuid::Uuid::new_v4().simple().to_string();
    let left = deadline.saturating_duration_since(Instant::now());
    if !matches!(
        tokio::time::timeout(left, control.flush_events(&token)).await,
        Ok(Ok(()))
    ) {
        return false;
    }
    match st.streams.get_mut(name) {
        Some(stream) => stream.await_flush(&token, deadline).await,
        None => false,
    }
}

/// The finding for something awaited on `stream` that never came: `msg`,
/// why the stream ended (if it did) and the types it did receive.
fn missed(stream: &Stream, mut msg: String, event_type: Option<&str>, within_ms: u64) -> Finding {
    if let Some(why) = stream.closed() {
        msg.push_str(&format!(" (the stream ended: {why})"));
    }
    let seen: Vec<Value> = stream.seen().iter().map(|s| Value::String(s.clone())).collect();
    let mut f = Finding::new(FindingKind::Event, msg).actual(serde_json::json!({ "received_types": seen }));
    f.expected = Some(serde_json::json!({ "type": event_type, "within_ms": within_ms }));
    f
}

/// `event` and `no_event`. For these steps the report's `response` holds
/// the event concerned (headers `event-type` and `received-at`, the
/// payload as body).
pub(crate) async fn event(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    let (name, event_type, assertions, within_ms, positive) = match (&step.event, &step.no_event) {
        (Some(e), _) => (
            &e.stream,
            Some(e.event_type.as_str()),
            &e.matches,
            e.within_ms.unwrap_or(EVENT_WITHIN_MS),
            true,
        ),
        (None, Some(n)) => (
            &n.stream,
            n.event_type.as_deref(),
            &n.matches,
            n.within_ms.unwrap_or(NO_EVENT_WITHIN_MS),
            false,
        ),
        (None, None) => return Ok(()),
    };
    let assertions: Vec<BodyAssertion> = interpolated(&st.vars, assertions, "`match`")?;
    let assertions = &assertions;
    let reference: Vec<BodyAssertion> = match step.event.as_ref().and_then(|e| e.reference.as_ref()) {
        Some(r) => interpolated(&st.vars, &r.matches, "`reference.match`")?,
        None => Vec::new(),
    };
    let within = Duration::from_millis(within_ms);
    // A quiet window need not outlast the target's longest event lag (the
    // bundled server publishes while it answers): `within` stays the limit
    // reported.
    let watched = match ctx.target().event_lag() {
        Some(lag) if !positive && event_type != Some(KEEPALIVE) => within.min(lag),
        _ => within,
    };
    let started = Instant::now();
    let mut window_end = (started + watched).min(dl.outer_at);
    let mut cut = started + watched > dl.outer_at;
    // Every event the scenario's requests caused is in once the marker is:
    // the window ends there (what is buffered then is all there will be).
    let settled = event_type != Some(KEEPALIVE) && flushed(ctx, st, name, window_end).await;
    if settled {
        window_end = Instant::now();
        cut = false;
    }
    let Some(stream) = st.streams.get_mut(name) else {
        return Err(RunnerError::NoStream(name.clone()).into());
    };
    if positive && event_type == Some(KEEPALIVE) {
        // Each keepalive must come within `within` of the one before (the
        // first, of the step's start): the interval is measured.
        let wanted = step.event.as_ref().and_then(|e| e.keepalives).unwrap_or(1).max(1);
        let (mut since, mut end, mut cut) = (started, window_end, cut);
        for n in 1..=wanted {
            if let Some(at) = stream.keepalive_since(since, end).await {
                since = at + Duration::from_nanos(1);
                end = (at + within).min(dl.outer_at);
                cut = at + within > dl.outer_at;
                continue;
            }
            if cut {
                return Err(RunnerError::Timeout(cut_message(dl.outer_label, within)).into());
            }
            let after = if n == 1 {
                String::new()
            } else {
                format!(
                    " of keepalive {} of {wanted} (the interval between keepalives was measured)",
                    n - 1
                )
            };
            let msg = format!(
                "no keepalive arrived on `{name}` within {}{after} (looked for a `:` comment line, an event named \
                 `keepalive`, `ping` or `heartbeat`, or a WebSocket ping)",
                human(within)
            );
            rep.findings.push(missed(stream, msg, Some(KEEPALIVE), within_ms));
            return Ok(());
        }
        return Ok(());
    }
    let pred = |e: &Event| matches(e, event_type, assertions);
    let found = if positive && !reference.is_empty() {
        // Wait for the event our reference server sends; settle for one that
        // keeps only the documented checks, with the difference as departures.
        let exact = |e: &Event| pred(e) && check::assertions_hold(&reference, &e.data);
        match stream.take(window_end, &exact).await {
            Some(e) => Some(e),
            None => {
                let settled = stream.take(Instant::now(), &pred).await;
                if let Some(e) = &settled {
                    for mut x in check::check_assertions_as(FindingKind::Event, &reference, &e.data) {
                        x.message = format!(
                            "the `{}` event departs from our reference server's payload: {}",
                            e.event_type, x.message
                        );
                        rep.departures.push(x);
                    }
                }
                settled
            }
        }
    } else {
        stream.take(window_end, &pred).await
    };
    let what = event_type
        .map(|t| format!("`{t}` event"))
        .unwrap_or_else(|| "event".to_string());
    let filtered = if assertions.is_empty() {
        String::new()
    } else {
        " matching the `match` checks".to_string()
    };

    if positive {
        match found {
            None => {
                if cut {
                    return Err(RunnerError::Timeout(cut_message(dl.outer_label, within)).into());
                }
                let msg = format!("no {what}{filtered} arrived on `{name}` within {}", human(within));
                rep.findings.push(missed(stream, msg, event_type, within_ms));
                // Explain with the closest event of the right type, if any.
                if let Some(t) = event_type
                    && let Some(closest) = stream.buffered_of(t).last()
                {
                    rep.response = Some(event_record(closest));
                    for mut x in check::check_assertions_as(FindingKind::Event, assertions, &closest.data) {
                        x.message = format!("the closest `{t}` event: {}", x.message);
                        rep.findings.push(x);
                    }
                }
            }
            Some(e) => {
                rep.response = Some(event_record(&e));
                if let Some(caps) = step.event.as_ref().and_then(|x| x.capture.as_ref()) {
                    for (var, path) in caps {
                        match check::resolve(path, &e.data).ok().and_then(|l| l.first()) {
                            Some((_, v)) => st.vars.set(var, v.clone()),
                            None => rep.findings.push(
                                Finding::new(
                                    FindingKind::Capture,
                                    format!("capture `{var}`: the event has nothing at `{path}`"),
                                )
                                .at_body(path.clone()),
                            ),
                        }
                    }
                }
                if step.event.as_ref().and_then(|x| x.exactly_once) == Some(true) {
                    let stream = st
                        .streams
                        .get_mut(name)
                        .ok_or_else(|| RunnerError::NoStream(name.clone()))?;
                    let grace = ctx
                        .target()
                        .event_lag()
                        .map_or(DUPLICATE_GRACE, |lag| lag.min(DUPLICATE_GRACE));
                    let watch_until = if settled {
                        // A duplicate would have come before the marker.
                        Instant::now()
                    } else {
                        window_end.min(Instant::now() + grace)
                    };
                    if let Some(second) = stream.take(watch_until, &pred).await {
                        rep.findings.push(
                            Finding::new(
                                FindingKind::Event,
                                format!(
                                    "a second {what}{filtered} arrived on `{name}` within {} of the first (expected exactly once)",
                                    human(DUPLICATE_GRACE)
                                ),
                            )
                            .expected("exactly one")
                            .actual(second.data.clone()),
                        );
                    }
                }
            }
        }
    } else if let Some(e) = found {
        rep.response = Some(event_record(&e));
        rep.findings.push(
            Finding::new(
                FindingKind::Event,
                format!(
                    "a {what}{filtered} arrived on `{name}` within {}, expected none",
                    human(within)
                ),
            )
            .expected("no event")
            .actual(serde_json::json!({ "type": e.event_type, "data": e.data })),
        );
    } else if cut {
        return Err(RunnerError::Timeout(cut_message(dl.outer_label, within)).into());
    }
    if let Some(stream) = st.streams.get_mut(name) {
        for p in stream.take_problems() {
            rep.findings
                .push(Finding::new(FindingKind::Event, p).expected("JSON event data"));
        }
    }
    Ok(())
}
