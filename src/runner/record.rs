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

fn redact_finding(s: &Secrets, f: &Finding) -> Finding {
    Finding {
        kind: f.kind,
        message: s.redact_str(&f.message),
        expected: f.expected.as_ref().map(|v| s.redact_json(v)),
        actual: f.actual.as_ref().map(|v| s.redact_json(v)),
        body_pointer: f.body_pointer.as_ref().map(|p| s.redact_str(p)),
        schema_pointer: f.schema_pointer.clone(),
    }
}

fn redact_outcome(s: &Secrets, o: &Outcome) -> Outcome {
    match o {
        Outcome::Skipped { reason } => Outcome::Skipped {
            reason: s.redact_str(reason),
        },
        Outcome::Errored { message } => Outcome::Errored {
            message: s.redact_str(message),
        },
        other => other.clone(),
    }
}

/// Redacts everything a step report holds with the secrets known now.
pub(crate) fn redact_step(s: &Secrets, step: &StepReport) -> StepReport {
    StepReport {
        name: s.redact_str(&step.name),
        request: step.request.as_ref().map(|r| RequestRecord {
            method: r.method.clone(),
            url: s.redact_str(&r.url),
            headers: s.redact_headers(&r.headers),
            body: r.body.as_ref().map(|b| s.redact_json(b)),
        }),
        response: step.response.as_ref().map(|r| ResponseRecord {
            headers: s.redact_headers(&r.headers),
            body: r.body.as_ref().map(|b| s.redact_json(b)),
            ..r.clone()
        }),
        findings: step.findings.iter().map(|f| redact_finding(s, f)).collect(),
        outcome: redact_outcome(s, &step.outcome),
        ..step.clone()
    }
}

/// Redacts a whole scenario report.
pub(crate) fn redact_scenario(s: &Secrets, r: &ScenarioReport) -> ScenarioReport {
    ScenarioReport {
        outcome: redact_outcome(s, &r.outcome),
        steps: r.steps.iter().map(|st| redact_step(s, st)).collect(),
        ..r.clone()
    }
}
