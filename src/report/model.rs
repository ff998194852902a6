//! The results of a run, as data.
//!
//! The runner fills these; every renderer (terminal, JSON, JUnit,
//! Markdown, HTML) reads them and runs nothing. The JSON report is this
//! structure serialised, and `schemas/run-report.schema.json` describes it.
//! Everything here is already redacted: no secret may be stored in it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::finding::{Finding, FindingKind};
pub use crate::spec::SpecInfo;

/// Version of the JSON report format. Bump on any incompatible change.
/// Version 2 added departures from the reference server (`departures` on
/// steps, `totals.departures`, `totals.departing`, `reference`, `strict`).
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// How a departure from the reference server that `--strict` turned into
/// a failure begins its message.
pub const STRICT_PREFIX: &str = "departs from the reference server (--strict): ";

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    /// Version of the harness that produced the report.
    pub tool_version: String,
    pub target: TargetInfo,
    /// The documented contract the responses were checked against.
    pub spec: SpecInfo,
    /// The reference layer (our reference server's choices), if the run had one.
    pub reference: Option<SpecInfo>,
    /// True when departures from the reference server counted as failures.
    pub strict: bool,
    /// The least share of must-level scenarios (percent) that must run for
    /// the run to pass (`--min-executed`).
    pub min_executed: u8,
    /// RFC 3339 wall-clock start.
    pub started_at: String,
    pub duration_ms: u64,
    pub scenarios: Vec<ScenarioReport>,
    pub totals: Totals,
    /// Money the run committed, per actor (scenario id + actor name).
    pub money: Vec<MoneyMoved>,
    /// Limits the target said were spent for longer than the harness waits
    /// (the scenarios that met them could not run).
    #[serde(default)]
    pub spent_limits: Vec<SpentLimit>,
}

/// A limit the target answered 429 to, with a `Retry-After` longer than the
/// harness waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpentLimit {
    /// `METHOD /path/{template}` of the operation.
    pub operation: String,
    /// The documented limit, in words.
    pub limit: String,
    /// When it frees (wall clock, RFC 3339).
    pub until: String,
}

/// What the run was pointed at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Base URL (with any credentials removed).
    pub base_url: String,
    /// `bundled` for the in-process reference server, else `remote`.
    pub kind: String,
    pub sandbox: bool,
    /// Control-API features the target offers.
    pub features: Vec<String>,
}

/// Counts that add up: `passed + failed + skipped + errored == total`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Could not run (target unreachable, broken file, timeout).
    pub errored: usize,
    /// Failed scenarios whose level is `must`.
    pub failed_must: usize,
    /// Must-level scenarios selected for the run.
    pub must_total: usize,
    /// Must-level scenarios that ran to a verdict (passed or failed).
    pub must_executed: usize,
    /// Departures from the reference server (findings), in every scenario.
    pub departures: usize,
    /// Scenarios with at least one departure.
    pub departing: usize,
    pub steps: usize,
    pub requests: usize,
}

/// How a scenario (or a step) ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// The target does not conform: at least one finding.
    Failed,
    /// Not run, with the reason (a missing feature, a money guard, a filter).
    Skipped {
        reason: String,
    },
    /// Could not run: the target was unreachable, timed out, or the
    /// scenario could not be executed. Not a conformance verdict.
    Errored {
        message: String,
    },
}

impl Outcome {
    pub fn is_passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed)
    }
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub id: String,
    pub title: String,
    /// Path of the file under `scenarios/`.
    pub file: String,
    /// First directory under `scenarios/` (auth, nda, lifecycle, ...).
    pub area: String,
    pub level: crate::scenario::Level,
    pub tags: Vec<String>,
    pub doc: Vec<String>,
    pub rule: Option<String>,
    pub moves_money: bool,
    pub outcome: Outcome,
    pub steps: Vec<StepReport>,
    pub duration_ms: u64,
}

impl ScenarioReport {
    /// Every departure from the reference server, with its step.
    pub fn departures(&self) -> impl Iterator<Item = (&StepReport, &Finding)> {
        self.steps.iter().flat_map(|s| s.departures.iter().map(move |f| (s, f)))
    }

    /// How many departures the scenario has.
    pub fn departure_count(&self) -> usize {
        self.steps.iter().map(|s| s.departures.len()).sum()
    }
}

/// One executed step (an included flow's steps appear in place, flattened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// 1-based position in the flattened run of steps.
    pub index: usize,
    pub name: String,
    /// `file:line:column` of the step (the flow file for included steps).
    pub location: String,
    pub actor: Option<String>,
    /// `request`, `clock`, `subscribe`, `event`, `no_event`, `set`.
    pub kind: String,
    /// The path template as written (`/api/jobs/{{job_id}}/apply`).
    pub path_template: Option<String>,
    /// The spec operation matched, if any (`POST /api/jobs/{id}/apply`).
    pub operation: Option<String>,
    pub request: Option<RequestRecord>,
    pub response: Option<ResponseRecord>,
    /// For `repeat`: how many requests were sent.
    pub attempts: u32,
    /// Unexpected 429s retried after `Retry-After`.
    pub retries: u32,
    /// Automatic checks that were turned off, with reasons.
    pub skipped_checks: Vec<String>,
    /// Breaks of the documented contract (or of the scenario's documented
    /// expectations): conformance findings.
    pub findings: Vec<Finding>,
    /// Differences from what our reference server does where the docs are
    /// silent: reported, never a failure (unless the run is strict).
    pub departures: Vec<Finding>,
    pub outcome: Outcome,
    pub duration_ms: u64,
}

/// A request as sent (redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// JSON body, or a string for a non-JSON body (truncated when large).
    pub body: Option<Value>,
}

/// A response as received (redacted, body truncated when large).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    /// Parsed JSON when the body is JSON, else the text (truncated).
    pub body: Option<Value>,
    pub body_bytes: usize,
    pub elapsed_ms: u64,
}

/// Money the run committed for one actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyMoved {
    pub scenario: String,
    pub actor: String,
    /// Cents committed by requests this actor sent (escrow, proof escrow).
    pub cents: i64,
}
