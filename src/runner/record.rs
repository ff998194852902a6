//! Records of what was sent and received, redacted and truncated, and the
//! final redaction pass over step reports. It must not talk to the
//! network or decide outcomes.

use serde_json::Value;

use super::exec::{Prepared, Received};
use crate::finding::Finding;
use crate::redact::Secrets;
use crate::report::model::{Outcome, RequestRecord, ResponseRecord, ScenarioReport, StepReport};

/// Largest text body kept in a record (characters).
pub(crate) const MAX_TEXT_CHARS: usize = 16 * 1024;
/// Largest JSON body kept whole in a record (serialised bytes).
pub(crate) const MAX_JSON_BYTES: usize = 64 * 1024;

/// Cuts text to `max` characters, saying how long it was.
pub(crate) fn truncate_text(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}… (truncated, {} bytes in all)", s.len())
}

/// A JSON value kept whole when small, else as truncated text.
fn bounded(v: &Value) -> Value {
    let text = v.to_string();
    if text.len() <= MAX_JSON_BYTES {
        v.clone()
    } else {
        Value::String(truncate_text(&text, MAX_TEXT_CHARS))
    }
}

/// The request as sent (not yet redacted: see [`redact_step`]).
pub(crate) fn request_record(req: &Prepared) -> RequestRecord {
    RequestRecord {
        method: req.method.to_string(),
        url: req.url.to_string(),
        headers: req.headers.clone(),
        body: req.shown_body().map(|b| bounded(&b)),
    }
}

/// The response as received (not yet redacted).
pub(crate) fn response_record(r: &Received, json: Option<&Value>) -> ResponseRecord {
    let body = match json {
        Some(v) => Some(bounded(v)),
        None if r.body.is_empty() => None,
        None => Some(Value::String(truncate_text(
            &String::from_utf8_lossy(&r.body),
            MAX_TEXT_CHARS,
        ))),
    };
    ResponseRecord {
        status: r.status,
        headers: r.headers.clone(),
        content_type: r.content_type().map(str::to_string),
        body,
        body_bytes: r.body.len(),
        elapsed_ms: r.elapsed.as_millis() as u64,
    }
}

fn redact_in(s: &Secrets, text: &mut String) {
    *text = s.redact_str(text);
}

fn redact_finding(s: &Secrets, f: &mut Finding) {
    redact_in(s, &mut f.message);
    for v in [&mut f.expected, &mut f.actual].into_iter().flatten() {
        *v = s.redact_json(v);
    }
    if let Some(p) = &mut f.body_pointer {
        redact_in(s, p);
    }
    if let Some(p) = &mut f.schema_pointer {
        redact_in(s, p);
    }
}

fn redact_outcome(s: &Secrets, o: &mut Outcome) {
    match o {
        Outcome::Skipped { reason: text } | Outcome::Errored { message: text } => redact_in(s, text),
        Outcome::Passed | Outcome::Failed => {}
    }
}

/// Redacts every text a step report holds, in place, with the secrets
/// known now: the exchanges (URL, headers, bodies), findings, departures,
/// outcome, and the names taken from the scenario.
fn redact_step_in(s: &Secrets, step: &mut StepReport) {
    redact_in(s, &mut step.name);
    redact_in(s, &mut step.location);
    for t in [&mut step.actor, &mut step.path_template, &mut step.operation]
        .into_iter()
        .flatten()
    {
        redact_in(s, t);
    }
    if let Some(r) = &mut step.request {
        redact_in(s, &mut r.url);
        r.headers = s.redact_headers(&r.headers);
        if let Some(b) = &mut r.body {
            *b = s.redact_json(b);
        }
    }
    if let Some(r) = &mut step.response {
        r.headers = s.redact_headers(&r.headers);
        if let Some(c) = &mut r.content_type {
            redact_in(s, c);
        }
        if let Some(b) = &mut r.body {
            *b = s.redact_json(b);
        }
    }
    step.skipped_checks.iter_mut().for_each(|c| redact_in(s, c));
    step.findings.iter_mut().for_each(|f| redact_finding(s, f));
    step.departures.iter_mut().for_each(|f| redact_finding(s, f));
    redact_outcome(s, &mut step.outcome);
}

/// A redacted copy of a step report (for a progress callback).
pub(crate) fn redact_step(s: &Secrets, step: &StepReport) -> StepReport {
    let mut step = step.clone();
    redact_step_in(s, &mut step);
    step
}

/// Redacts a whole scenario report: every text it holds. This is the one
/// redaction of a step's exchanges, done when they are kept (see
/// [`Recording`](super::Recording)); the run's last pass repeats it with
/// the secrets learnt later.
pub(crate) fn redact_scenario(s: &Secrets, mut r: ScenarioReport) -> ScenarioReport {
    for t in [&mut r.id, &mut r.title, &mut r.file, &mut r.area] {
        redact_in(s, t);
    }
    for t in r.tags.iter_mut().chain(r.doc.iter_mut()).chain(r.rule.iter_mut()) {
        redact_in(s, t);
    }
    redact_outcome(s, &mut r.outcome);
    r.steps.iter_mut().for_each(|st| redact_step_in(s, st));
    r
}
