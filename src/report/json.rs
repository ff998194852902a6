//! The JSON report: the [`RunReport`] serialised as is, described by
//! `schemas/run-report.schema.json` (embedded here as [`SCHEMA`]).
//! Version 2: departures from the reference server sit in each step's
//! `departures`, apart from its `findings`, and are counted in
//! `totals.departures` / `totals.departing` only (never as failures);
//! `reference` names the reference layer and `strict` says whether
//! departures were turned into failures.
//!
//! Reads and writes strings only; the caller chooses files and streams.

use serde_json::Value;

use super::ReportError;
use super::model::{REPORT_SCHEMA_VERSION, RunReport};

/// The JSON Schema (draft 2020-12) of the JSON report, version
/// [`REPORT_SCHEMA_VERSION`].
pub const SCHEMA: &str = include_str!("../../schemas/run-report.schema.json");

/// The report as pretty-printed JSON, ending in a newline.
pub fn to_json(report: &RunReport) -> String {
    // A `RunReport` holds only strings, numbers and JSON values with string
    // keys, so serialisation cannot fail.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

/// Reads a JSON report back. Refuses another `schema_version` by name, and
/// names the JSON pointer of the first field that does not fit.
pub fn from_json(text: &str) -> Result<RunReport, ReportError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ReportError::InvalidJson {
        pointer: String::new(),
        message: e.to_string(),
    })?;
    match value.get("schema_version").and_then(Value::as_u64) {
        Some(v) if v == u64::from(REPORT_SCHEMA_VERSION) => {}
        Some(found) => {
            return Err(ReportError::SchemaVersion {
                found,
                expected: REPORT_SCHEMA_VERSION,
            });
        }
        None => {
            return Err(ReportError::InvalidJson {
                pointer: "/schema_version".into(),
                message: format!("missing or not an integer: expected `{REPORT_SCHEMA_VERSION}`"),
            });
        }
    }
    serde_path_to_error::deserialize::<_, RunReport>(value).map_err(|e| {
        let pointer = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => {
                    Some(format!("/{}", key.replace('~', "~0").replace('/', "~1")))
                }
                _ => None,
            })
            .collect::<String>();
        ReportError::InvalidJson {
            pointer,
            message: e.into_inner().to_string(),
        }
    })
}

/// The embedded schema, parsed.
pub fn schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap_or(Value::Null)
}

/// Checks a JSON report against [`SCHEMA`]; returns one line per violation
/// (`/scenarios/0/outcome: ...`), empty when the report conforms.
pub fn validate(report: &Value) -> Vec<String> {
    let validator = match jsonschema::validator_for(&schema()) {
        Ok(v) => v,
        Err(e) => return vec![format!("the embedded schema does not compile: {e}")],
    };
    validator
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
