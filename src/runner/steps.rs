//! Executing one step: the dispatch to the step kinds (`request_steps`,
//! `stream_steps`), and the small ones done here (`set`, `clock`). It must
//! not decide the scenario's outcome or record unredacted data for good
//! (the scenario redacts every step report).

use std::time::Instant;

use super::RunnerError;
use super::context::ScenarioContext;
use super::state::{Deadline, Halt, ScenarioState};
use crate::report::model::{RequestRecord, ResponseRecord, StepReport};
use crate::scenario::Step;

/// Runs one step, filling `rep`.
pub(crate) async fn execute(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    step: &Step,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    if let Some(req) = &step.request {
        return super::request_steps::request_step(ctx, st, step, req, rep, dl).await;
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
    Err(
        RunnerError::Unsupported("the step has no action (request, set, clock, subscribe, event, no_event)".into())
            .into(),
    )
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
    if s.ends_with('/') {
        s.to_string()
    } else {
        format!("{s}/")
    }
}
