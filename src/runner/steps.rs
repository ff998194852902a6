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
        return clock_step(ctx, st, c.advance_seconds, rep, dl).await;
    }
    if let Some(a) = &step.attach {
        return attach_step(st, step, a, rep, dl).await;
    }
    if let Some(c) = &step.concurrent {
        return super::concurrent_steps::concurrent_step(ctx, st, step, c, rep, dl).await;
    }
    if let Some(c) = &step.conserve {
        return super::conserve_steps::conserve_step(ctx, st, step, c, rep, dl).await;
    }
    if let Some(k) = &step.sink {
        return super::sink::open_step(ctx, st, k, rep, dl).await;
    }
    if let Some(w) = &step.webhook {
        return super::sink::webhook_step(ctx, st, w, rep, dl).await;
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
        RunnerError::Unsupported("the step has no action (request, set, clock, attach, subscribe, event, no_event, concurrent, conserve, sink, webhook)".into())
            .into(),
    )
}

async fn clock_step(
    ctx: &ScenarioContext,
    st: &mut ScenarioState,
    seconds: i64,
    rep: &mut StepReport,
    dl: &mut Deadline,
) -> Result<(), Halt> {
    let started = Instant::now();
    let super::clock::Moved::Controlled { now } = super::clock::advance(ctx, st, seconds, dl).await? else {
        return Ok(());
    };
    rep.request = Some(RequestRecord {
        method: "POST".into(),
        url: format!("{}__conformance/clock", control_base(st)),
        headers: vec![],
        body: Some(serde_json::json!({ "advance_seconds": seconds })),
    });
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

/// Seeds an attachment through the control API; its answer can be captured.
async fn attach_step(
    st: &mut ScenarioState,
    step: &Step,
    a: &crate::scenario::Attach,
    rep: &mut StepReport,
    dl: &Deadline,
) -> Result<(), Halt> {
    let Some(control) = st.control.clone().filter(|_| st.features.has("attachments")) else {
        return Err(RunnerError::Control("the target offers no `attachments` control".into()).into());
    };
    let job = st.vars.interpolate_str(&a.job, "`attach.job`")?;
    let name = st.vars.interpolate_str(&a.file_name, "`attach.file_name`")?;
    let content = st.vars.interpolate_str(&a.content, "`attach.content`")?;
    rep.request = Some(RequestRecord {
        method: "POST".into(),
        url: format!("{}__conformance/attachments", control_base(st)),
        headers: vec![],
        body: Some(serde_json::json!({ "job_id": job, "file_name": name })),
    });
    let started = Instant::now();
    let answer = match tokio::time::timeout(dl.outer_left(), control.seed_attachment(&job, &name, &content)).await {
        Err(_) => {
            return Err(RunnerError::Timeout(format!("the attachments call timed out ({})", dl.outer_label)).into());
        }
        Ok(r) => r.map_err(|e| RunnerError::Control(e.to_string()))?,
    };
    for (var, cap) in step.capture.iter().flatten() {
        let paths: Vec<&String> = match cap {
            crate::scenario::Capture::Body(p) => vec![p],
            crate::scenario::Capture::AnyOf(ps) => ps.iter().collect(),
            crate::scenario::Capture::Header { .. } => vec![],
        };
        let value = paths.iter().find_map(|p| {
            crate::check::resolve(p, &answer)
                .ok()
                .and_then(|l| l.first())
                .map(|(_, v)| v.clone())
        });
        match value {
            Some(v) => st.vars.set(var, v),
            None => rep.findings.push(crate::finding::Finding::new(
                crate::finding::FindingKind::Capture,
                format!("capture `{var}`: the control API's answer has nothing there"),
            )),
        }
    }
    rep.response = Some(ResponseRecord {
        status: 201,
        headers: vec![],
        content_type: Some("application/json".into()),
        body: Some(answer),
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
