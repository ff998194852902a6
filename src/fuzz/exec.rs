//! Sending one wire request and judging the answer on the two layers of
//! the contract: the status against what the request deserves
//! ([`Expect`], and for a mutated request who requires its refusal,
//! [`Refusal`]), and, when a contract is at hand, everything
//! `Spec::check_response` checks, on the documented contract (failures,
//! citing the nearest `x-doc`) and on the reference layer (departures).
//!
//! A body is read under a size cap (over it, the exchange has no answer);
//! event streams are not read: their status and headers are checked and
//! the connection is dropped. Nothing is printed or stored here.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Layer;
use super::mutate::Refusal;
use super::request::{Expect, WireBody, WireRequest};
use super::schema::doc_refs_along;
use crate::finding::{Finding, FindingKind};
use crate::spec::is_json;
use crate::spec::{CheckSet, Contract, Operation, ResponseView};
use crate::target::{Capped, read_capped, too_large};

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
    /// The layer the failure is on (`Reference` only in strict runs).
    pub layer: Layer,
    /// One sentence saying why.
    pub message: String,
    /// Findings of the documented contract (and the status rules); each
    /// message ends with the doc references of its place, if any.
    pub findings: Vec<Finding>,
    /// The doc references the failure rests on.
    pub docs: Vec<String>,
    /// Departures from the reference server: findings of the reference
    /// layer alone, and the acceptance of a request only our reference
    /// server refuses. Never failures (see [`Judgement::strict`]).
    pub departures: Vec<Departure>,
}

/// One departure from the reference server in one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Departure {
    /// What kind of problem it would be as a failure.
    pub kind: FailureKind,
    /// What identifies it across answers (for deduplication).
    pub key: String,
    /// The finding.
    pub finding: Finding,
}

impl Departure {
    fn of_finding(f: Finding) -> Departure {
        let kind = match f.kind {
            FindingKind::UndocumentedStatus => FailureKind::UndocumentedStatus,
            _ => FailureKind::ContractViolation,
        };
        let key = format!(
            "{:?}|{}|{}",
            f.kind,
            f.schema_pointer.as_deref().unwrap_or_default(),
            normalize_indexes(&f.message)
        );
        Departure { kind, key, finding: f }
    }
}

/// `/items/3/id` → `/items/*/id`: array positions do not tell problems apart.
fn normalize_indexes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '/' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('*');
        }
    }
    out
}

impl Judgement {
    /// The judgement of a strict run: departures are failures too (on the
    /// reference layer when nothing documented failed).
    pub fn strict(mut self) -> Judgement {
        if self.departures.is_empty() {
            return self;
        }
        let departures = std::mem::take(&mut self.departures);
        if self.failure.is_none() {
            self.failure = Some(departures[0].kind);
            self.layer = Layer::Reference;
            self.message = departures[0].finding.message.clone();
        }
        self.findings.extend(departures.into_iter().map(|d| d.finding));
        self
    }
}

/// What an answer is judged against.
#[derive(Debug, Clone, Copy)]
pub enum Oracle<'a> {
    /// Both layers of the contract, for this operation of the documented one.
    Contract(&'a Contract, &'a Operation),
    /// Only the documented status keys (`200`, `4XX`, `default`).
    Statuses(&'a [String]),
}

/// The doc references a finding of `op`'s answer rests on: the nearest
/// `x-doc` from its schema place up, else from the documented response,
/// else from the operation.
fn finding_refs(contract: &Contract, op: &Operation, status: u16, f: &Finding) -> Vec<String> {
    let mut chain: Vec<String> = f.schema_pointer.iter().cloned().collect();
    if let Some(r) = op.response_for(status) {
        chain.push(r.pointer.clone());
    }
    chain.push(op.pointer.clone());
    doc_refs_along(contract.documented().document(), &chain)
}

/// The findings of both layers on one answer of `op` (an operation of the
/// documented contract): documented ones, and those only the reference
/// layer's same operation has (not repeating what a documented finding
/// says at the same place).
fn check_layers(
    contract: &Contract,
    op: &Operation,
    view: &ResponseView<'_>,
    checks: CheckSet,
) -> (Vec<Finding>, Vec<Finding>) {
    let findings = contract.documented().check_response(op, view, checks);
    let mut departures = Vec::new();
    let reference_op = contract.reference().and_then(|r| {
        r.operations()
            .iter()
            .find(|o| o.method == op.method && o.path == op.path)
            .map(|o| (r, o))
    });
    if let Some((reference, rop)) = reference_op {
        let said: Vec<(FindingKind, Option<String>)> =
            findings.iter().map(|f| (f.kind, f.body_pointer.clone())).collect();
        for f in reference.check_response(rop, view, checks) {
            if !said.contains(&(f.kind, f.body_pointer.clone())) && !departures.contains(&f) {
                departures.push(f);
            }
        }
    }
    (findings, departures)
}

/// Judges an exchange. `refusal` says, for a mutated request, who requires
/// it to be refused; without one a `Reject` request that gets no 4xx is a
/// failure (a corpus file of an older version).
pub fn judge(
    expect: Expect,
    refusal: Option<&Refusal>,
    outcome: &Result<Observed, String>,
    oracle: Oracle<'_>,
) -> Judgement {
    let mut j = Judgement {
        failure: None,
        layer: Layer::Documented,
        message: String::new(),
        findings: Vec::new(),
        docs: Vec::new(),
        departures: Vec::new(),
    };
    let obs = match outcome {
        Ok(o) => o,
        Err(e) => {
            j.failure = Some(FailureKind::Transport);
            j.message = format!("no answer: {e}");
            return j;
        }
    };
    let status = obs.status;
    let (mut findings, reference_findings) = match oracle {
        Oracle::Contract(contract, op) => {
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
            let (mut findings, departures) = check_layers(contract, op, &view, checks);
            for f in &mut findings {
                let refs = finding_refs(contract, op, status, f);
                if !refs.is_empty() {
                    f.message = format!("{} (docs: {})", f.message, refs.join(", "));
                    for r in refs {
                        if !j.docs.contains(&r) {
                            j.docs.push(r);
                        }
                    }
                }
            }
            (findings, departures)
        }
        Oracle::Statuses(keys) => {
            let findings = if status_documented(keys, status) {
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
            };
            (findings, Vec::new())
        }
    };
    j.departures = reference_findings.into_iter().map(Departure::of_finding).collect();
    let accepted = expect == Expect::Reject && !(400..500).contains(&status) && status < 500;
    // Who requires the refusal: the docs (a failure), only our reference
    // server (a departure), or nobody.
    let acceptance = if accepted {
        match refusal {
            None => Some((
                Layer::Documented,
                format!("answered {status} to an invalid request (a 4xx is due)"),
                Vec::new(),
            )),
            Some(r) => r.accepted(status).map(|(layer, message)| {
                let refs = match &r.basis {
                    super::mutate::Basis::Docs { refs } => refs.clone(),
                    _ => Vec::new(),
                };
                (layer, message, refs)
            }),
        }
    } else {
        None
    };
    let (failure, message) = if status >= 500 {
        (Some(FailureKind::ServerError), format!("server error {status}"))
    } else if let Some((Layer::Documented, msg, refs)) = &acceptance {
        findings.insert(
            0,
            Finding::new(FindingKind::Status, msg.clone())
                .expected(Value::from("4xx"))
                .actual(Value::from(status)),
        );
        let mut docs = refs.clone();
        docs.extend(j.docs.iter().filter(|d| !refs.contains(d)).cloned());
        j.docs = docs;
        (Some(FailureKind::AcceptedInvalid), msg.clone())
    } else if let Some(f) = findings.iter().find(|f| f.kind == FindingKind::UndocumentedStatus) {
        (Some(FailureKind::UndocumentedStatus), f.message.clone())
    } else if let Some(f) = findings.first() {
        (Some(FailureKind::ContractViolation), f.message.clone())
    } else {
        (None, format!("answered {status}"))
    };
    if let (Some((Layer::Reference, msg, _)), Some(r)) = (&acceptance, refusal) {
        j.departures.insert(
            0,
            Departure {
                kind: FailureKind::AcceptedInvalid,
                key: format!("accepted|{}", r.key()),
                finding: Finding::new(FindingKind::Status, msg.clone())
                    .expected(Value::from("4xx"))
                    .actual(Value::from(status)),
            },
        );
    }
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
    if failure.is_none() {
        j.docs.clear();
    }
    j.failure = failure;
    j.message = message;
    j.findings = findings;
    j
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
        assert_eq!(judge(Expect::Documented, None, &obs(200), o).failure, None);
        assert_eq!(
            judge(Expect::Documented, None, &obs(500), o).failure,
            Some(FailureKind::ServerError)
        );
        assert_eq!(
            judge(Expect::Reject, None, &obs(200), o).failure,
            Some(FailureKind::AcceptedInvalid)
        );
        assert_eq!(judge(Expect::Reject, None, &obs(404), o).failure, None);
        assert_eq!(
            judge(Expect::Documented, None, &obs(302), o).failure,
            Some(FailureKind::UndocumentedStatus)
        );
        assert_eq!(
            judge(Expect::Documented, None, &Err("reset".into()), o).failure,
            Some(FailureKind::Transport)
        );
    }

    #[test]
    fn departure_keys_ignore_array_positions() {
        assert_eq!(
            normalize_indexes("body at `/applications/12/job_id`: missing"),
            "body at `/applications/*/job_id`: missing"
        );
        assert_eq!(normalize_indexes("/a/b1/2"), "/a/b1/*");
    }

    #[test]
    fn strict_turns_departures_into_failures() {
        let keys: Vec<String> = vec!["200".into()];
        let mut j = judge(Expect::Documented, None, &obs(200), Oracle::Statuses(&keys));
        j.departures
            .push(Departure::of_finding(Finding::new(FindingKind::Schema, "no `job_id`")));
        let strict = j.clone().strict();
        assert_eq!(strict.failure, Some(FailureKind::ContractViolation));
        assert_eq!(strict.layer, Layer::Reference);
        assert_eq!(strict.message, "no `job_id`");
        assert!(strict.departures.is_empty() && strict.findings.len() == 1);
        assert_eq!(j.failure, None);
    }
}
