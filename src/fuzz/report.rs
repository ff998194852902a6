//! The result of a fuzzing run as data, and its plain-text summary.
//!
//! Everything here is already redacted (credentials appear only as
//! placeholders or `[API_KEY:role]` labels). Rendering runs nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::exec::FailureKind;
use super::request::{Expect, WireRequest};
use crate::finding::Finding;

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    /// The seed of the run.
    pub seed: u64,
    /// Cases per operation and phase (valid, invalid) asked for.
    pub cases: u32,
    /// Wall time of the run.
    pub duration: Duration,
    /// One entry per fuzzed operation, in spec order.
    pub operations: Vec<OperationFuzzResult>,
    /// Operations not fuzzed, with the reason.
    pub skipped: Vec<SkippedOperation>,
    /// The time budget ran out before every case was sent.
    pub budget_exhausted: bool,
}

/// An operation that was not fuzzed.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedOperation {
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// Why it was not fuzzed.
    pub reason: String,
}

/// One operation's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationFuzzResult {
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// `METHOD /path`.
    pub label: String,
    /// Valid requests sent (shrinking steps not counted).
    pub cases_valid: u32,
    /// Invalid (mutated) requests sent.
    pub cases_invalid: u32,
    /// How often each status was answered (shrinking steps not counted).
    pub statuses: BTreeMap<u16, u32>,
    /// At most one per phase (valid, invalid): fuzzing a phase stops at its first failure.
    pub failures: Vec<FuzzFailure>,
    /// Set when the operation could not be fuzzed at all (provisioning failed).
    pub error: Option<String>,
}

/// One failure, shrunk.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzFailure {
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// How it failed.
    pub kind: FailureKind,
    /// What the request deserved.
    pub expect: Expect,
    /// The mutation of an invalid request.
    pub mutation: Option<String>,
    /// The minimal request, credentials as placeholders (`{{agent.api_key}}`).
    pub request: WireRequest,
    /// `None` when there was no answer.
    pub status: Option<u16>,
    /// The (redacted) answer body.
    pub response_body: Option<Value>,
    /// One sentence.
    pub message: String,
    /// Every finding on the answer (redacted).
    pub findings: Vec<Finding>,
    /// Ready to run; credentials read from `$AGENTGIGS_<ROLE>_API_KEY` / `_JWT`.
    pub curl: String,
    /// Where the corpus entry was written.
    pub corpus_file: Option<PathBuf>,
    /// Shrinking steps tried.
    pub shrink_steps: u32,
}

impl FuzzReport {
    /// Every failure of every operation.
    pub fn failures(&self) -> impl Iterator<Item = &FuzzFailure> {
        self.operations.iter().flat_map(|o| o.failures.iter())
    }

    /// True when no failure and no operation error was found.
    pub fn is_clean(&self) -> bool {
        self.operations
            .iter()
            .all(|o| o.failures.is_empty() && o.error.is_none())
    }

    /// Total valid and invalid cases sent.
    pub fn totals(&self) -> (u32, u32) {
        self.operations
            .iter()
            .fold((0, 0), |(v, i), o| (v + o.cases_valid, i + o.cases_invalid))
    }

    /// A plain-text summary: one line per operation, then each failure
    /// with its request, answer, curl command and corpus file.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let (valid, invalid) = self.totals();
        let failures = self.failures().count();
        let _ = writeln!(
            out,
            "fuzz: seed {}, {} operations, {valid} valid + {invalid} invalid requests in {:.1} s: {}",
            self.seed,
            self.operations.len(),
            self.duration.as_secs_f64(),
            if failures == 0 {
                "no failure".to_string()
            } else {
                format!("{failures} failure(s)")
            }
        );
        if self.budget_exhausted {
            let _ = writeln!(out, "  (the time budget ran out; not every case was sent)");
        }
        for op in &self.operations {
            let statuses: Vec<String> = op.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
            let mark = if op.error.is_some() {
                "ERROR"
            } else if op.failures.is_empty() {
                "ok"
            } else {
                "FAIL"
            };
            let _ = writeln!(
                out,
                "  {mark:<5} {:<28} {:<45} valid {:>3}  invalid {:>3}  [{}]",
                op.operation,
                op.label,
                op.cases_valid,
                op.cases_invalid,
                statuses.join(" ")
            );
            if let Some(e) = &op.error {
                let _ = writeln!(out, "        {e}");
            }
        }
        for s in &self.skipped {
            let _ = writeln!(out, "  skip  {:<28} {}", s.operation, s.reason);
        }
        for (n, f) in self.failures().enumerate() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "failure {}: {} — {}: {}",
                n + 1,
                f.operation,
                f.kind.as_str(),
                f.message
            );
            if let Some(m) = &f.mutation {
                let _ = writeln!(out, "  mutation: {m}");
            }
            let _ = writeln!(out, "  expected: {}", f.expect.describe());
            match f.status {
                Some(s) => {
                    let _ = writeln!(out, "  observed: status {s}");
                }
                None => {
                    let _ = writeln!(out, "  observed: no answer");
                }
            }
            for finding in f.findings.iter().take(5) {
                let _ = writeln!(out, "  - {}", finding.message);
            }
            let _ = writeln!(out, "  minimal request (after {} shrinking steps):", f.shrink_steps);
            for line in f.curl.lines() {
                let _ = writeln!(out, "    {line}");
            }
            if let Some(p) = &f.corpus_file {
                let _ = writeln!(out, "  corpus: {}", p.display());
            }
        }
        out
    }
}
