//! Corpus files: one JSON file per failure, holding the minimal request
//! with placeholders for everything target-specific (`{{job_id}}`,
//! `{{application_id}}`, `{{agent.api_key}}`, ...), what it deserved and
//! what it got; and [`replay`], which provisions fresh actors and objects
//! on any target, fills the placeholders, sends the request again,
//! re-judges the answer with the current contract (both layers; for a
//! mutated request, who requires its refusal *now*) and says whether the
//! failure reproduces, as a failure or only as a departure from the
//! reference server.
//!
//! A corpus file never holds a credential. Writes only inside the corpus
//! directory it is given.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::exec::{FailureKind, Oracle, judge, send};
use super::fixtures::provision;
use super::mutate::{Basis, Location, Refusal, RequestParts};
use super::plan::weighed_sites;
use super::request::{BodyFormat, Expect, WireBody, WireRequest};
use super::{DEFAULT_MAX_BODY_BYTES, FuzzError, Layer};
use crate::finding::Finding;
use crate::redact::Secrets;
#[cfg(test)]
use crate::spec::Spec;
use crate::spec::{Contract, Operation};
use crate::target::ControlClient;

/// Version of the corpus file format (2: the layer of the problem, the doc
/// references, and the refusal of a mutated request; version 1 files
/// still read).
pub const CORPUS_VERSION: u32 = 2;
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
    /// The layer it broke (`reference` only for a strict run's departure).
    #[serde(default)]
    pub layer: Layer,
    /// The doc references the failure rests on.
    #[serde(default)]
    pub docs: Vec<String>,
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
    /// Why the mutated request deserved a refusal when the failure was
    /// found, and who required it (the docs with their references, or
    /// only our reference server). A replay weighs it again.
    #[serde(default)]
    pub refusal: Option<Refusal>,
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

/// Settings of a replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Departures from the reference server count as failures.
    pub strict: bool,
    /// Bytes of an answer body read at most.
    pub max_body_bytes: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            strict: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The result of replaying a corpus file.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayOutcome {
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// The stored failure happened again as a failure (same kind).
    pub reproduced: bool,
    /// The stored problem happened again, but only as a departure from the
    /// reference server (the current contract does not make it a failure).
    pub departed: bool,
    /// The failure stored in the file.
    pub original: FailureKind,
    /// The layer it was stored on.
    pub original_layer: Layer,
    /// The rule the answer must follow.
    pub expect: Expect,
    /// Status of the replayed request (`None`: no answer).
    pub status: Option<u16>,
    /// How the replayed request failed, if it did.
    pub failure: Option<FailureKind>,
    /// The layer on which the stored problem happened again: `documented`
    /// (a failure), `reference` (a departure; a failure in strict replays).
    pub layer: Option<Layer>,
    /// One sentence about the new answer.
    pub message: String,
    /// The doc references the new failure rests on.
    pub docs: Vec<String>,
    /// Findings on the new answer (redacted).
    pub findings: Vec<Finding>,
    /// Departures of the new answer from the reference server (redacted).
    pub departures: Vec<Finding>,
    /// The request as sent, ready to run (credentials from the environment).
    pub curl: String,
}

impl ReplayOutcome {
    /// One paragraph for the terminal.
    pub fn render_text(&self) -> String {
        let verdict = if self.reproduced {
            "REPRODUCED"
        } else if self.departed {
            "reproduced as a departure from the reference server only (not a failure)"
        } else {
            "not reproduced"
        };
        let status = self.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into());
        let mut out = format!(
            "replay {}: {verdict} (stored: {} on the {} layer; now: status {status}, {})\n",
            self.operation,
            self.original.as_str(),
            self.original_layer.as_str(),
            self.message
        );
        if !self.docs.is_empty() {
            out.push_str(&format!("  docs: {}\n", self.docs.join(", ")));
        }
        for f in self.findings.iter().take(5) {
            out.push_str(&format!("  - {}\n", f.message));
        }
        if !self.departures.is_empty() {
            out.push_str("  departures from the reference server (not failures):\n");
            for f in self.departures.iter().take(10) {
                out.push_str(&format!("  ~ {}\n", f.message));
            }
            if self.departures.len() > 10 {
                out.push_str(&format!("  ~ … and {} more\n", self.departures.len() - 10));
            }
        }
        out
    }
}

/// Sends a corpus request again to `base_url`, after provisioning a fresh
/// actor of each role and fresh objects through `control`. Judged by
/// status only, with the stored refusal (a contract violation needs
/// [`replay_with`] and a contract).
pub async fn replay(file: &Path, base_url: &str, control: &ControlClient) -> Result<ReplayOutcome, FuzzError> {
    replay_with(file, base_url, control, None, &ReplayOptions::default()).await
}

/// Like [`replay`]; with a contract, the answer is checked on both of its
/// layers and a mutated request's refusal is weighed against it again.
pub async fn replay_with(
    file: &Path,
    base_url: &str,
    control: &ControlClient,
    contract: Option<&Contract>,
    opts: &ReplayOptions,
) -> Result<ReplayOutcome, FuzzError> {
    let entry = CorpusEntry::read(file)?;
    let http = super::driver::client()?;
    let fx = provision(&http, base_url, control, opts.max_body_bytes).await?;
    let secrets = Secrets::new();
    fx.register_secrets(&secrets);
    let wire = entry.wire().instantiate(&fx);
    let outcome = send(&http, base_url, &wire, entry.stream, opts.max_body_bytes).await;
    let op = contract.and_then(|c| {
        let s = c.documented();
        s.operation_by_id(&entry.operation)
            .or_else(|| s.find_operation(&wire.method, &wire.path))
            .map(|o| (c, o))
    });
    let refusal = match op {
        Some((c, o)) => refusal_now(&entry, c, o, &wire),
        None => entry.refusal.clone(),
    };
    let oracle = match op {
        Some((c, o)) => Oracle::Contract(c, o),
        None => Oracle::Statuses(&entry.expected.statuses),
    };
    let judged = judge(entry.expected.expect, refusal.as_ref(), &outcome, oracle);
    let stored = entry.observed.failure;
    let as_failure = judged.failure == Some(stored);
    let as_departure = !as_failure && judged.departures.iter().any(|d| d.kind == stored);
    let j = if opts.strict { judged.strict() } else { judged };
    // Strict: a departure of the stored kind is a failure again (on the
    // reference layer), whatever else failed first.
    let reproduced = as_failure || (opts.strict && as_departure);
    let layer = if as_failure {
        Some(j.layer)
    } else if as_departure {
        Some(Layer::Reference)
    } else {
        None
    };
    let mut message = j.message.clone();
    if op.is_none() && entry.observed.failure == FailureKind::ContractViolation && j.failure.is_none() {
        message.push_str("; the stored failure is a contract violation, which only a replay with the spec can check");
    }
    let redact = |findings: &mut dyn Iterator<Item = &Finding>| -> Vec<Finding> {
        findings
            .map(|f| {
                let v = serde_json::to_value(f).unwrap_or_default();
                serde_json::from_value(secrets.redact_json(&v)).unwrap_or_else(|_| f.clone())
            })
            .collect()
    };
    let findings = redact(&mut j.findings.iter());
    let departures = redact(&mut j.departures.iter().map(|d| &d.finding));
    Ok(ReplayOutcome {
        operation: entry.operation.clone(),
        reproduced,
        departed: as_departure && !reproduced,
        original: entry.observed.failure,
        original_layer: entry.observed.layer,
        expect: entry.expected.expect,
        status: outcome.as_ref().ok().map(|o| o.status),
        failure: j.failure,
        layer,
        message: secrets.redact_str(&message),
        docs: j.docs.clone(),
        findings,
        departures,
        curl: secrets.redact_str(&wire.map_strings(&|s| fx.hide_credentials(s)).curl(base_url)),
    })
}

/// The place a mutation description names: "`a.b`: ..." (body),
/// "`?limit`: ..." (query), "`{id}`: ..." (path).
fn location_of(description: &str) -> Option<Location> {
    let rest = description.strip_prefix('`')?;
    let label = &rest[..rest.find('`')?];
    if let Some(name) = label.strip_prefix('?') {
        return Some(Location::Query { name: name.to_string() });
    }
    if let Some(name) = label.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
        return Some(Location::Path { name: name.to_string() });
    }
    Some(Location::Body {
        path: label.split('.').map(str::to_string).collect(),
    })
}

/// The parts of a request as sent (path parameters read back through the
/// operation's template).
fn parts_of(wire: &WireRequest, op: &Operation) -> RequestParts {
    RequestParts {
        path_params: op.match_path(&wire.path).unwrap_or_default().into_iter().collect(),
        query: wire.query.clone(),
        body: match &wire.body {
            Some(WireBody::Json { value }) => Some(value.clone()),
            Some(WireBody::Multipart { fields, .. }) => Some(Value::Object(fields.clone())),
            None => None,
        },
    }
}

/// Who requires the refusal of a stored mutated request under the current
/// contract: the strongest site at the stored place (and of the stored
/// kind) that the request still breaks; nobody when none does. `None`
/// for a request that was not mutated, or a version 1 entry whose place
/// no current site knows (judged as before: a 4xx is due).
fn refusal_now(entry: &CorpusEntry, contract: &Contract, op: &Operation, wire: &WireRequest) -> Option<Refusal> {
    if entry.expected.expect != Expect::Reject {
        return entry.refusal.clone();
    }
    let (location, kind) = match &entry.refusal {
        Some(r) => (r.location.clone(), Some(r.kind)),
        None => (location_of(entry.mutation.as_deref()?)?, None),
    };
    let parts = parts_of(wire, op);
    let sites = weighed_sites(contract, op);
    let at_place: Vec<_> = sites
        .all()
        .filter(|s| s.location == location && kind.is_none_or(|k| s.kind == k))
        .collect();
    if let Some(best) = at_place
        .iter()
        .filter(|s| s.breaks(&parts))
        .max_by_key(|s| s.basis.rank())
    {
        return Some(Refusal {
            location,
            kind: best.kind,
            breach: best.breach_in(&parts),
            requirement: best.requirement(),
            basis: best.basis.clone(),
        });
    }
    let stored = entry.refusal.clone().or_else(|| {
        at_place.first().map(|s| Refusal {
            location: location.clone(),
            kind: s.kind,
            breach: s.breach_in(&parts),
            requirement: s.requirement(),
            basis: Basis::default(),
        })
    })?;
    Some(Refusal {
        basis: Basis::Nobody {
            reason: "the current contract does not refuse this request".into(),
        },
        ..stored
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::mutate::MutationKind;
    use crate::fuzz::tests::layers::{DOC, MESSAGE_DOCS, layered, op};
    use serde_json::json;

    fn entry(message: &str, refusal: Option<Refusal>) -> (CorpusEntry, WireRequest) {
        let text = json!({
            "version": 1,
            "operation": "applyToJob",
            "method": "POST",
            "path": "/api/jobs/11111111-1111-4111-8111-111111111111/apply",
            "body": {"message": message, "proposed_price": 2500},
            "expected": {"expect": "reject", "statuses": ["200", "4XX"], "description": "a 4xx"},
            "observed": {"status": 200, "failure": "accepted_invalid", "message": "accepted"},
            "mutation": "`message`: 9 characters, under minLength 10"
        });
        let mut e: CorpusEntry = serde_json::from_value(text).unwrap();
        e.refusal = refusal;
        let wire = e.wire();
        (e, wire)
    }

    #[test]
    fn version_1_files_read_with_defaults() {
        let (e, _) = entry("x", None);
        assert_eq!(e.observed.layer, Layer::Documented);
        assert!(e.observed.docs.is_empty() && e.refusal.is_none());
        let back: CorpusEntry = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn places_of_mutation_descriptions() {
        assert_eq!(
            location_of("`a.b`: 6 above the maximum 5"),
            Some(Location::Body {
                path: vec!["a".into(), "b".into()]
            })
        );
        assert_eq!(
            location_of("`?limit`: 0 below"),
            Some(Location::Query { name: "limit".into() })
        );
        assert_eq!(
            location_of("`{id}`: broken"),
            Some(Location::Path { name: "id".into() })
        );
        assert_eq!(location_of("no place"), None);
    }

    #[test]
    fn a_replay_weighs_the_refusal_with_the_current_contract() {
        let c = layered();
        let o = op(&c, "applyToJob");
        // A version 1 entry: the place comes from the mutation's description.
        let (e, wire) = entry("xxxxxxxxx", None);
        let r = refusal_now(&e, &c, o, &wire).expect("a refusal");
        assert_eq!(r.kind, MutationKind::TooShort);
        assert_eq!(r.breach, "is 9 characters");
        assert_eq!(
            r.basis,
            Basis::Docs {
                refs: MESSAGE_DOCS.iter().map(|s| s.to_string()).collect()
            }
        );
        // The docs no longer cite anything for `message`: only our reference server refuses it.
        let bare = Spec::from_text(&DOC.replace("x-doc: [llms.txt", "x-note: [llms.txt"), "doc.yaml").unwrap();
        let reference = Contract::reference_of(&bare, crate::fuzz::tests::layers::OVERLAY, "ref.yaml").unwrap();
        let now = Contract::new(std::sync::Arc::new(bare), Some(std::sync::Arc::new(reference)));
        let (e, wire) = entry("xxxxxxxxx", Some(r.clone()));
        let again = refusal_now(&e, &now, op(&now, "applyToJob"), &wire).unwrap();
        assert!(matches!(again.basis, Basis::Reference { .. }), "{again:?}");
        // The stored value no longer breaks the current constraint: nobody refuses it.
        let looser = Spec::from_text(&DOC.replace("minLength: 10", "minLength: 5"), "doc.yaml").unwrap();
        let looser = Contract::documented_only(std::sync::Arc::new(looser));
        let again = refusal_now(&e, &looser, op(&looser, "applyToJob"), &wire).unwrap();
        assert!(matches!(again.basis, Basis::Nobody { .. }), "{again:?}");
    }
}
