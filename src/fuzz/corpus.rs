//! Corpus files: one JSON file per failure, holding the minimal request
//! with placeholders for everything target-specific (`{{job_id}}`,
//! `{{application_id}}`, `{{agent.api_key}}`, ...), what it deserved and
//! what it got; and [`replay`], which provisions fresh actors and objects
//! on any target, fills the placeholders, sends the request again and
//! says whether the failure reproduces.
//!
//! A corpus file never holds a credential. Writes only inside the corpus
//! directory it is given.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::exec::{FailureKind, Oracle, judge, send};
use super::fixtures::provision;
use super::request::{BodyFormat, Expect, WireBody, WireRequest};
use super::{DEFAULT_MAX_BODY_BYTES, FuzzError};
use crate::finding::Finding;
use crate::redact::Secrets;
use crate::spec::Spec;
use crate::target::ControlClient;

/// Version of the corpus file format.
pub const CORPUS_VERSION: u32 = 1;
/// JSON bodies larger than this go to a side file for the curl command.
pub const INLINE_BODY_LIMIT: usize = 8 * 1024;

/// What the request deserved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusExpected {
    /// The rule the answer must follow.
    pub expect: Expect,
    /// The documented status keys of the operation.
    pub statuses: Vec<String>,
    /// In words.
    pub description: String,
}

/// What the request got when the failure was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusObserved {
    /// The status (`None`: no answer).
    pub status: Option<u16>,
    /// How it failed.
    pub failure: FailureKind,
    /// One sentence.
    pub message: String,
    /// The findings on the answer.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// The (redacted) answer body.
    #[serde(default)]
    pub body: Option<Value>,
}

/// One corpus file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusEntry {
    /// [`CORPUS_VERSION`].
    pub version: u32,
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// Upper-case method.
    pub method: String,
    /// The concrete path with placeholders (`/api/jobs/{{job_id}}/apply`).
    pub path: String,
    /// Query pairs, values with placeholders.
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// Headers, credentials as placeholders naming the actor role
    /// (`X-API-Key: {{agent.api_key}}`, `Authorization: Bearer {{poster.access_token}}`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The JSON body (or the multipart fields), ids as placeholders.
    #[serde(default)]
    pub body: Option<Value>,
    /// `json` (default when a body is present) or `multipart`.
    #[serde(default)]
    pub body_format: Option<BodyFormat>,
    /// Multipart fields sent as files.
    #[serde(default)]
    pub files: Vec<String>,
    /// The operation streams (only status and headers are read).
    #[serde(default)]
    pub stream: bool,
    /// What the request deserved.
    pub expected: CorpusExpected,
    /// What it got when the failure was found.
    pub observed: CorpusObserved,
    /// The mutation of an invalid request.
    #[serde(default)]
    pub mutation: Option<String>,
    /// The run's seed.
    #[serde(default)]
    pub seed: u64,
}

impl CorpusEntry {
    /// The stored request (placeholders kept).
    pub fn wire(&self) -> WireRequest {
        let body = self.body.as_ref().map(|b| match self.body_format {
            Some(BodyFormat::Multipart) => WireBody::Multipart {
                fields: b.as_object().cloned().unwrap_or_default(),
                files: self.files.clone(),
            },
            _ => WireBody::Json { value: b.clone() },
        });
        WireRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body,
        }
    }

    /// The file name: operation, failure kind and a hash of the request.
    pub fn file_name(&self) -> String {
        let request = serde_json::to_string(&self.wire()).unwrap_or_default();
        let kind = serde_json::to_value(self.observed.failure)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let op: String = self
            .operation
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("{op}-{kind}-{:08x}.json", fnv1a(request.as_bytes()) as u32)
    }

    /// Reads a corpus file.
    pub fn read(path: &Path) -> Result<CorpusEntry, FuzzError> {
        let text = std::fs::read_to_string(path).map_err(|e| FuzzError::CorpusRead {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| FuzzError::CorpusRead {
            path: path.to_path_buf(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })
    }

    /// Writes the entry into `dir` (created if missing); a large JSON body
    /// also goes to `<name>.body.json` for the curl command. Answers the
    /// entry's path and the body file, if any.
    pub fn write(&self, dir: &Path, secrets: &Secrets) -> Result<(PathBuf, Option<PathBuf>), FuzzError> {
        let io = |path: &Path, e: std::io::Error| FuzzError::CorpusWrite {
            path: path.to_path_buf(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let name = self.file_name();
        let path = dir.join(&name);
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        let text = secrets.redact_str(&text);
        std::fs::write(&path, text + "\n").map_err(|e| io(&path, e))?;
        let mut body_file = None;
        if let Some(b) = &self.body {
            let raw = b.to_string();
            if raw.len() > INLINE_BODY_LIMIT && self.body_format != Some(BodyFormat::Multipart) {
                let p = dir.join(name.replace(".json", ".body.json"));
                std::fs::write(&p, secrets.redact_str(&raw)).map_err(|e| io(&p, e))?;
                body_file = Some(p);
            }
        }
        Ok((path, body_file))
    }
}

/// FNV-1a, 64 bits (stable across runs and platforms).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The result of replaying a corpus file.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayOutcome {
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// The stored failure happened again (same kind).
    pub reproduced: bool,
    /// The failure stored in the file.
    pub original: FailureKind,
    /// The rule the answer must follow.
    pub expect: Expect,
    /// Status of the replayed request (`None`: no answer).
    pub status: Option<u16>,
    /// How the replayed request failed, if it did.
    pub failure: Option<FailureKind>,
    /// One sentence about the new answer.
    pub message: String,
    /// Findings on the new answer (redacted).
    pub findings: Vec<Finding>,
    /// The request as sent, ready to run (credentials from the environment).
    pub curl: String,
}

impl ReplayOutcome {
    /// One paragraph for the terminal.
    pub fn render_text(&self) -> String {
        let verdict = if self.reproduced {
            "REPRODUCED"
        } else {
            "not reproduced"
        };
        let status = self.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into());
        let mut out = format!(
            "replay {}: {verdict} (stored: {}; now: status {status}, {})\n",
            self.operation,
            self.original.as_str(),
            self.message
        );
        for f in self.findings.iter().take(5) {
            out.push_str(&format!("  - {}\n", f.message));
        }
        out
    }
}

/// Sends a corpus request again to `base_url`, after provisioning a fresh
/// actor of each role and fresh objects through `control`. Judged by
/// status only (a stored contract violation needs [`replay_with_spec`]).
pub async fn replay(file: &Path, base_url: &str, control: &ControlClient) -> Result<ReplayOutcome, FuzzError> {
    replay_inner(file, base_url, control, None).await
}

/// Like [`replay`], with every `check_response` check of `spec`.
pub async fn replay_with_spec(
    file: &Path,
    base_url: &str,
    control: &ControlClient,
    spec: &Spec,
) -> Result<ReplayOutcome, FuzzError> {
    replay_inner(file, base_url, control, Some(spec)).await
}

async fn replay_inner(
    file: &Path,
    base_url: &str,
    control: &ControlClient,
    spec: Option<&Spec>,
) -> Result<ReplayOutcome, FuzzError> {
    let entry = CorpusEntry::read(file)?;
    let http = super::driver::client()?;
    let fx = provision(&http, base_url, control, DEFAULT_MAX_BODY_BYTES).await?;
    let secrets = Secrets::new();
    fx.register_secrets(&secrets);
    let wire = entry.wire().instantiate(&fx);
    let outcome = send(&http, base_url, &wire, entry.stream, DEFAULT_MAX_BODY_BYTES).await;
    let op = spec.and_then(|s| {
        s.operation_by_id(&entry.operation)
            .or_else(|| s.find_operation(&wire.method, &wire.path))
            .map(|o| (s, o))
    });
    let oracle = match op {
        Some((s, o)) => Oracle::Spec(s, o),
        None => Oracle::Statuses(&entry.expected.statuses),
    };
    let j = judge(entry.expected.expect, &outcome, oracle);
    let mut message = j.message.clone();
    if op.is_none() && entry.observed.failure == FailureKind::ContractViolation && j.failure.is_none() {
        message.push_str("; the stored failure is a contract violation, which only a replay with the spec can check");
    }
    let findings: Vec<Finding> = j
        .findings
        .iter()
        .map(|f| {
            let v = serde_json::to_value(f).unwrap_or_default();
            serde_json::from_value(secrets.redact_json(&v)).unwrap_or_else(|_| f.clone())
        })
        .collect();
    Ok(ReplayOutcome {
        operation: entry.operation.clone(),
        reproduced: j.failure == Some(entry.observed.failure),
        original: entry.observed.failure,
        expect: entry.expected.expect,
        status: outcome.as_ref().ok().map(|o| o.status),
        failure: j.failure,
        message: secrets.redact_str(&message),
        findings,
        curl: secrets.redact_str(&wire.map_strings(&|s| fx.hide_credentials(s)).curl(base_url)),
    })
}
