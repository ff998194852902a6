//! The result of a fuzzing run as data, and its plain-text summary:
//! failures (breaks of the documented contract) and, apart, departures
//! from the reference server (never failures unless the run is strict).
//!
//! Everything here is already redacted (credentials appear only as
//! placeholders or `[API_KEY:role]` labels). Rendering runs nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::Layer;
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
    /// Departures counted as failures.
    pub strict: bool,
    /// Where the reference layer came from (`None`: documented contract only).
    pub reference: Option<String>,
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
    /// Distinct departures from the reference server (never failures),
    /// at most [`MAX_DEPARTURES`] per operation.
    pub departures: Vec<FuzzDeparture>,
    /// Distinct departures not kept beyond [`MAX_DEPARTURES`].
    pub departures_omitted: u32,
    /// Set when the operation could not be fuzzed at all (provisioning failed).
    pub error: Option<String>,
}

/// Distinct departures kept per operation.
pub const MAX_DEPARTURES: usize = 20;

/// One way the target departs from the reference server, deduplicated
/// within an operation (by kind and place), with its first example.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzDeparture {
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// What it would be as a failure.
    pub kind: FailureKind,
    /// What tells it apart from other departures.
    pub key: String,
    /// One sentence.
    pub message: String,
    /// The finding of the first example (redacted).
    pub finding: Finding,
    /// What the request deserved.
    pub expect: Expect,
    /// The mutation of the first example, if any.
    pub mutation: Option<String>,
    /// The first example's status.
    pub status: Option<u16>,
    /// The first example, credentials as placeholders.
    pub request: WireRequest,
    /// The first example, ready to run.
    pub curl: String,
    /// Answers it was seen in (shrinking steps not counted).
    pub count: u32,
}

/// One failure, shrunk.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzFailure {
    /// operationId (or `METHOD /path`).
    pub operation: String,
    /// How it failed.
    pub kind: FailureKind,
    /// The layer it broke: the documented contract, or (strict runs only)
    /// the reference layer.
    pub layer: Layer,
    /// The doc references it rests on (`x-doc` of the broken constraint or
    /// of the nearest place enclosing it).
    pub docs: Vec<String>,
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

    /// Every departure of every operation.
    pub fn departures(&self) -> impl Iterator<Item = &FuzzDeparture> {
        self.operations.iter().flat_map(|o| o.departures.iter())
    }

    /// True when no failure and no operation error was found (departures
    /// do not count: in a strict run they are failures already).
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
        let departures = self.departures().count()
            + self
                .operations
                .iter()
                .map(|o| o.departures_omitted as usize)
                .sum::<usize>();
        let mut verdict = if failures == 0 {
            "no failure".to_string()
        } else {
            format!("{failures} failure(s)")
        };
        if departures > 0 {
            verdict.push_str(&format!(", {departures} departure(s) from the reference server"));
        }
        let _ = writeln!(
            out,
            "fuzz: seed {}, {} operations, {valid} valid + {invalid} invalid requests in {:.1} s: {verdict}",
            self.seed,
            self.operations.len(),
            self.duration.as_secs_f64(),
        );
        match (&self.reference, self.strict) {
            (Some(r), true) => {
                let _ = writeln!(out, "  reference layer: {r} (strict: departures count as failures)");
            }
            (Some(r), false) => {
                let _ = writeln!(out, "  reference layer: {r}");
            }
            (None, _) => {
                let _ = writeln!(out, "  documented contract only (no reference layer)");
            }
        }
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
            let distinct = op.departures.len() + op.departures_omitted as usize;
            let departed = if distinct > 0 {
                format!("  departures {distinct}")
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {mark:<5} {:<28} {:<45} valid {:>3}  invalid {:>3}  [{}]{departed}",
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
            let layer = if f.layer == Layer::Reference {
                " (reference layer, strict run)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "failure {}: {} — {}{layer}: {}",
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
            if !f.docs.is_empty() {
                let _ = writeln!(out, "  docs: {}", f.docs.join(", "));
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
        if departures > 0 {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "departures from the reference server ({departures}; not failures: the documented contract allows them; --strict counts them):"
            );
            for op in &self.operations {
                if op.departures.is_empty() && op.departures_omitted == 0 {
                    continue;
                }
                let _ = writeln!(out, "  {} ({})", op.operation, op.label);
                for d in &op.departures {
                    let times = if d.count > 1 {
                        format!(" (×{})", d.count)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(out, "    - {}: {}{times}", d.kind.as_str(), d.message);
                    if let Some(m) = &d.mutation {
                        let _ = writeln!(out, "      mutation: {m}");
                    }
                    let status = d.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into());
                    let _ = writeln!(
                        out,
                        "      e.g. {} {} → {status}",
                        d.request.method,
                        d.request.path_and_query()
                    );
                }
                if op.departures_omitted > 0 {
                    let _ = writeln!(out, "    … and {} more", op.departures_omitted);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::FindingKind;

    fn departure(kind: FailureKind, message: &str, count: u32) -> FuzzDeparture {
        FuzzDeparture {
            operation: "listMyApplications".into(),
            kind,
            key: message.into(),
            message: message.into(),
            finding: Finding::new(FindingKind::Schema, message),
            expect: Expect::Documented,
            mutation: None,
            status: Some(200),
            request: WireRequest {
                method: "GET".into(),
                path: "/api/agent/applications".into(),
                query: vec![("status".into(), "x".into())],
                headers: vec![],
                body: None,
            },
            curl: String::new(),
            count,
        }
    }

    #[test]
    fn departures_are_shown_apart_and_never_fail() {
        let mut op = OperationFuzzResult {
            operation: "listMyApplications".into(),
            label: "GET /api/agent/applications".into(),
            cases_valid: 3,
            cases_invalid: 3,
            ..Default::default()
        };
        op.departures
            .push(departure(FailureKind::ContractViolation, "`job_id` is missing", 3));
        op.departures
            .push(departure(FailureKind::AcceptedInvalid, "answered 200", 1));
        op.departures_omitted = 2;
        let report = FuzzReport {
            seed: 7,
            cases: 3,
            duration: Duration::from_millis(10),
            operations: vec![op],
            skipped: vec![],
            budget_exhausted: false,
            strict: false,
            reference: Some("specs/reference.overlay.yaml".into()),
        };
        assert!(report.is_clean());
        let text = report.render_text();
        assert!(
            text.contains("no failure, 4 departure(s) from the reference server"),
            "{text}"
        );
        assert!(text.contains("  ok    listMyApplications"), "{text}");
        assert!(text.contains("departures 4"), "{text}");
        assert!(text.contains("\ndepartures from the reference server (4;"), "{text}");
        assert!(
            text.contains("    - contract violation: `job_id` is missing (×3)"),
            "{text}"
        );
        assert!(
            text.contains("      e.g. GET /api/agent/applications?status=x → 200"),
            "{text}"
        );
        assert!(text.contains("    … and 2 more"), "{text}");
        assert!(!text.contains("failure 1"), "{text}");
        let strict = FuzzReport {
            strict: true,
            ..report.clone()
        };
        assert!(strict.render_text().contains("(strict: departures count as failures)"));
        let bare = FuzzReport {
            reference: None,
            operations: vec![],
            ..report
        };
        assert!(bare.render_text().contains("documented contract only"));
    }
}
