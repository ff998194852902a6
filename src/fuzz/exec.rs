//! Sending one wire request and judging the answer: the status against
//! what the request deserves ([`Expect`]) and, when a spec is at hand,
//! everything `Spec::check_response` checks.
//!
//! A body is read under a size cap (over it, the exchange has no answer);
//! event streams are not read: their status and headers are checked and
//! the connection is dropped. Nothing is printed or stored here.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::{Capped, is_json, read_capped, too_large};
use super::request::{Expect, WireBody, WireRequest};
use crate::finding::{Finding, FindingKind};
use crate::spec::{CheckSet, Operation, ResponseView, Spec};

/// Timeout of a normal request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time an event stream has to send its status and headers.
pub const STREAM_HEAD_TIMEOUT: Duration = Duration::from_secs(3);
/// Bytes of a response body kept for reports.
const BODY_EXCERPT: usize = 2000;

/// An answer as received.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The HTTP status.
    pub status: u16,
    /// Names lower-case.
    pub headers: Vec<(String, String)>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body (empty for an event stream).
    pub body: Vec<u8>,
    /// The body parsed as JSON, when it is.
    pub json: Option<Value>,
    /// Time to the full answer (to the headers for a stream).
    pub elapsed: Duration,
    /// The answer was an event stream (body not read).
    pub stream: bool,
}

impl Observed {
    /// The body as JSON, or its text (cut to a few kB).
    pub fn body_excerpt(&self) -> Option<Value> {
        if let Some(j) = &self.json {
            return Some(j.clone());
        }
        if self.body.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(&self.body);
        Some(Value::String(text.chars().take(BODY_EXCERPT).collect()))
    }
}

/// Sends `req` (placeholders already filled in) to `base_url` and reads
/// the answer's body, at most `max_body` bytes of it (a larger body is no
/// answer: "the answer is larger than N bytes; not read").
pub async fn send(
    http: &reqwest::Client,
    base_url: &str,
    req: &WireRequest,
    stream_op: bool,
    max_body: usize,
) -> Result<Observed, String> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| format!("bad method: {e}"))?;
    let mut builder = http.request(method, req.url(base_url));
    for (name, value) in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder = match &req.body {
        None => builder,
        Some(WireBody::Json { value }) => builder.body(serde_json::to_vec(value).unwrap_or_default()),
        Some(WireBody::Multipart { fields, files }) => {
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in fields {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if files.contains(name) {
                    let part = reqwest::multipart::Part::bytes(text.into_bytes()).file_name(format!("fuzz-{name}.txt"));
                    form = form.part(name.clone(), part);
                } else {
                    form = form.text(name.clone(), text);
                }
            }
            builder.multipart(form)
        }
    };
    let started = Instant::now();
    let head_timeout = if stream_op {
        STREAM_HEAD_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    };
    let resp = tokio::time::timeout(head_timeout, builder.send())
        .await
        .map_err(|_| format!("no answer within {} s", head_timeout.as_secs()))?
        .map_err(|e| crate::target::describe_error(&e))?;
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone());
    let is_stream = content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("text/event-stream"));
    if is_stream {
        drop(resp);
        return Ok(Observed {
            status,
            headers,
            content_type,
            elapsed: started.elapsed(),
            stream: true,
            ..Default::default()
        });
    }
    let body = tokio::time::timeout(REQUEST_TIMEOUT, read_capped(resp, max_body))
        .await
        .map_err(|_| format!("the body did not arrive within {} s", REQUEST_TIMEOUT.as_secs()))?
        .map_err(|e| match e {
            Capped::TooLarge => too_large(max_body),
            Capped::Broken(e) => crate::target::describe_error(&e),
        })?;
    let json = if content_type.as_deref().is_some_and(is_json) || body.first() == Some(&b'{') {
        serde_json::from_slice(&body).ok()
    } else {
        None
    };
    Ok(Observed {
        status,
        headers,
        content_type,
        body,
        json,
        elapsed: started.elapsed(),
        stream: false,
    })
}

/// How a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A 5xx.
    ServerError,
    /// A 2xx (or other non-4xx) to a request that breaks the contract.
    AcceptedInvalid,
    /// A status the operation does not document.
    UndocumentedStatus,
    /// Content type, body schema or a required header differ from the spec.
    ContractViolation,
    /// No answer: refused, reset, timed out.
    Transport,
}

impl FailureKind {
    /// Short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::ServerError => "server error",
            FailureKind::AcceptedInvalid => "invalid request accepted",
            FailureKind::UndocumentedStatus => "undocumented status",
            FailureKind::ContractViolation => "contract violation",
            FailureKind::Transport => "no answer",
        }
    }
}

/// The judgement of one exchange.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// `None` when the answer is acceptable.
    pub failure: Option<FailureKind>,
    /// One sentence saying why.
    pub message: String,
    /// Findings of `check_response` (and the status rules).
    pub findings: Vec<Finding>,
}

/// How to tell which statuses are documented when there is no spec.
#[derive(Debug, Clone, Copy)]
pub enum Oracle<'a> {
    /// Full checks with `check_response`.
    Spec(&'a Spec, &'a Operation),
    /// Only the documented status keys (`200`, `4XX`, `default`).
    Statuses(&'a [String]),
}

/// Judges an exchange.
pub fn judge(expect: Expect, outcome: &Result<Observed, String>, oracle: Oracle<'_>) -> Judgement {
    let obs = match outcome {
        Ok(o) => o,
        Err(e) => {
            return Judgement {
                failure: Some(FailureKind::Transport),
                message: format!("no answer: {e}"),
                findings: Vec::new(),
            };
        }
    };
    let status = obs.status;
    let mut findings = match oracle {
        Oracle::Spec(spec, op) => {
            let checks = if obs.stream {
                CheckSet {
                    status: true,
                    content_type: true,
                    schema: false,
                    headers: true,
                }
            } else {
                CheckSet::default()
            };
            let view = ResponseView {
                status,
                headers: &obs.headers,
                content_type: obs.content_type.as_deref(),
                json: obs.json.as_ref(),
                raw: &obs.body,
            };
            spec.check_response(op, &view, checks)
        }
        Oracle::Statuses(keys) => {
            if status_documented(keys, status) {
                Vec::new()
            } else {
                vec![
                    Finding::new(
                        FindingKind::UndocumentedStatus,
                        format!("status {status} is not documented"),
                    )
                    .expected(Value::from(keys.join(", ")))
                    .actual(Value::from(status)),
                ]
            }
        }
    };
    let (failure, message) = if status >= 500 {
        (Some(FailureKind::ServerError), format!("server error {status}"))
    } else if expect == Expect::Reject && !(400..500).contains(&status) {
        let msg = format!("answered {status} to an invalid request (a 4xx is due)");
        findings.insert(
            0,
            Finding::new(FindingKind::Status, msg.clone())
                .expected(Value::from("4xx"))
                .actual(Value::from(status)),
        );
        (Some(FailureKind::AcceptedInvalid), msg)
    } else if let Some(f) = findings.iter().find(|f| f.kind == FindingKind::UndocumentedStatus) {
        (Some(FailureKind::UndocumentedStatus), f.message.clone())
    } else if let Some(f) = findings.first() {
        (Some(FailureKind::ContractViolation), f.message.clone())
    } else {
        (None, format!("answered {status}"))
    };
    if failure == Some(FailureKind::ServerError)
        && !findings
            .iter()
            .any(|f| f.kind == FindingKind::Status || f.kind == FindingKind::UndocumentedStatus)
    {
        findings.insert(
            0,
            Finding::new(FindingKind::Status, format!("server error {status}"))
                .expected(Value::from(expect.describe()))
                .actual(Value::from(status)),
        );
    }
    Judgement {
        failure,
        message,
        findings,
    }
}

/// True when `status` matches a documented key (exact, `4XX` range or `default`).
pub fn status_documented(keys: &[String], status: u16) -> bool {
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    keys.iter()
        .any(|k| *k == exact || k.eq_ignore_ascii_case(&range) || k == "default")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(status: u16) -> Result<Observed, String> {
        Ok(Observed {
            status,
            ..Default::default()
        })
    }

    #[test]
    fn status_rules() {
        let keys: Vec<String> = ["200", "400", "4XX"].iter().map(|s| s.to_string()).collect();
        let o = Oracle::Statuses(&keys);
        assert_eq!(judge(Expect::Documented, &obs(200), o).failure, None);
        assert_eq!(
            judge(Expect::Documented, &obs(500), o).failure,
            Some(FailureKind::ServerError)
        );
        assert_eq!(
            judge(Expect::Reject, &obs(200), o).failure,
            Some(FailureKind::AcceptedInvalid)
        );
        assert_eq!(judge(Expect::Reject, &obs(404), o).failure, None);
        assert_eq!(
            judge(Expect::Documented, &obs(302), o).failure,
            Some(FailureKind::UndocumentedStatus)
        );
        assert_eq!(
            judge(Expect::Documented, &Err("reset".into()), o).failure,
            Some(FailureKind::Transport)
        );
    }
}
