//! Checks: a scenario's expectations (`expect`, `match`) against a
//! response or an event payload, turned into [`Finding`]s.
//!
//! Pure functions: no HTTP, no I/O, no spec. The runner hands in the
//! status, headers and parsed body; this room says what differs. It must
//! not know where the values came from, nor redact them (the runner does).

mod eval;
mod path;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::finding::{Finding, FindingKind};
use crate::scenario::{BodyAssertion, Check, Expect, StatusExpect};

pub use path::{Located, resolve};

/// What can go wrong before a check is even made (a bad path or regex in a
/// scenario). These become findings so a run never stops on them.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CheckError {
    /// A path is neither a JSON pointer nor a valid JSONPath.
    #[error("invalid path `{path}`: {message}")]
    InvalidPath { path: String, message: String },
    /// A `regex` check whose pattern does not compile.
    #[error("invalid regex `{pattern}`: {message}")]
    InvalidRegex { pattern: String, message: String },
}

/// Largest serialised size of a value shown in a finding before it is cut.
pub const MAX_SHOWN_CHARS: usize = 512;

/// Checks a response against an `expect` block: status, headers, body.
/// Its `reference` part is not read here: the runner checks it apart, as
/// departures (see [`check_reference`]).
///
/// An empty `expect.status` demands any 2xx. `headers` holds header names
/// (any case) and their values; `json` is the parsed body, `None` when the
/// body was not JSON (every body assertion then fails, naming that).
pub fn check_expect(expect: &Expect, status: u16, headers: &[(String, String)], json: Option<&Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(f) = check_status(&expect.status, status) {
        out.push(f);
    }
    for (name, check) in &expect.headers {
        let values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        let value = if values.is_empty() {
            None
        } else {
            Some(Value::String(values.join(", ")))
        };
        for failure in eval::evaluate(check, value.as_ref(), eval::Mode::Header) {
            out.push(failure.into_finding(FindingKind::Header, None, Some(name)));
        }
    }
    if !expect.body.is_empty() {
        match json {
            Some(body) => out.extend(check_assertions(&expect.body, body)),
            None => out.push(
                Finding::new(
                    FindingKind::Body,
                    format!(
                        "the body is not JSON, so {} body assertion(s) could not hold",
                        expect.body.len()
                    ),
                )
                .expected("a JSON body"),
            ),
        }
    }
    out
}

/// Checks a response against the `reference` part of an `expect` block
/// (none: no finding). Its findings are departures from the reference
/// server, never failures.
///
/// A `reference` block without `status` checks no status (it does not
/// mean "any 2xx" there: the documented `status` already decided that).
pub fn check_reference(
    expect: &Expect,
    status: u16,
    headers: &[(String, String)],
    json: Option<&Value>,
) -> Vec<Finding> {
    let Some(r) = &expect.reference else {
        return Vec::new();
    };
    let mut out = check_expect(r, status, headers, json);
    if r.status.is_empty() {
        out.retain(|f| f.kind != FindingKind::Status);
    }
    out
}

/// Checks the status against the acceptable ones (empty = any 2xx).
pub fn check_status(expected: &[StatusExpect], status: u16) -> Option<Finding> {
    let ok = if expected.is_empty() {
        (200..300).contains(&status)
    } else {
        expected.iter().any(|s| s.matches(status))
    };
    if ok {
        return None;
    }
    let as_value = |s: &StatusExpect| match s {
        StatusExpect::Code(c) => Value::from(*c),
        StatusExpect::Family(_) => Value::String(s.to_string()),
    };
    let want: Value = match expected {
        [] => Value::String("any 2xx".into()),
        [one] => as_value(one),
        many => Value::Array(many.iter().map(as_value).collect()),
    };
    let msg = match expected {
        [] => format!("status {status} is not a success (2xx)"),
        [one] => format!("status {status}, expected {one}"),
        many => format!(
            "status {status}, expected one of {}",
            many.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    Some(Finding::new(FindingKind::Status, msg).expected(want).actual(status))
}

/// Checks body assertions against a JSON value; findings are of kind `Body`.
///
/// Paths: a JSON pointer, or a JSONPath. A JSONPath that names one place
/// (`$.job.id`) behaves like a pointer. One that can select several values
/// (wildcard, `..`, filter, slice, union) is read as the array of the
/// selected values for `exists`, `absent`, `length`, `min_length` and
/// `contains` (membership); every other check, `not` included, applies to
/// each selected value. When nothing is selected those per-value checks
/// fail (a check that looked at nothing proves nothing), unless the
/// assertion says `allow_empty: true`.
/// Numbers compare by value (`1` equals `1.0`); `type: integer` and
/// `cents` want a number written without fraction or exponent.
pub fn check_assertions(assertions: &[BodyAssertion], body: &Value) -> Vec<Finding> {
    check_assertions_as(FindingKind::Body, assertions, body)
}

/// Like [`check_assertions`] with the findings' kind chosen (e.g. `Event`).
pub fn check_assertions_as(kind: FindingKind, assertions: &[BodyAssertion], body: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    for a in assertions {
        out.extend(check_one(kind, a, body));
    }
    out
}

/// True when every assertion holds (used to filter events).
pub fn assertions_hold(assertions: &[BodyAssertion], body: &Value) -> bool {
    assertions
        .iter()
        .all(|a| check_one(FindingKind::Body, a, body).is_empty())
}

fn check_one(kind: FindingKind, a: &BodyAssertion, body: &Value) -> Vec<Finding> {
    let located = match path::resolve(&a.path, body) {
        Ok(l) => l,
        Err(e) => {
            return vec![Finding::new(kind, e.to_string()).at_body(a.path.clone())];
        }
    };
    let mut out = Vec::new();
    match located {
        Located::Pointer { pointer, value } => {
            for failure in eval::evaluate(&a.check, value, eval::Mode::Json) {
                out.push(failure.into_finding(kind, Some(&pointer), None));
            }
        }
        Located::Matches(matches) if !path::is_multi_select(&a.path) => {
            // A JSONPath that names one place behaves like a pointer.
            let (pointer, value) = match matches.first() {
                Some((p, v)) => (p.clone(), Some(*v)),
                None => (a.path.clone(), None),
            };
            for failure in eval::evaluate(&a.check, value, eval::Mode::Json) {
                out.push(failure.into_finding(kind, Some(&pointer), None));
            }
        }
        Located::Matches(matches) => {
            // `exists`, `absent`, `length`, `min_length` and `contains` speak
            // of the selection (read as an array of the selected values);
            // the other checks apply to each selected value, and vacuously
            // hold for none (`not` included).
            let selected: Vec<&Value> = matches.iter().map(|(_, v)| *v).collect();
            for failure in eval::selection(&a.check, &selected) {
                out.push(failure.into_finding(kind, Some(&a.path), None));
            }
            let rest = eval::per_value(&a.check);
            if matches.is_empty() && !a.allow_empty && rest != Check::default() {
                out.push(
                    Finding::new(
                        kind,
                        format!(
                            "`{}` selects nothing, so its checks looked at no value (write `allow_empty: true` if an empty selection is acceptable)",
                            a.path
                        ),
                    )
                    .expected("at least one selected value")
                    .actual(Value::Array(Vec::new()))
                    .at_body(a.path.clone()),
                );
            }
            for (pointer, value) in matches {
                for failure in eval::evaluate(&rest, Some(value), eval::Mode::Json) {
                    out.push(failure.into_finding(kind, Some(&pointer), None));
                }
            }
        }
    }
    out
}

/// Checks one value (or its absence) against a [`Check`]; the findings
/// name `pointer`. Exposed for callers with a single value in hand.
pub fn check_value(kind: FindingKind, check: &Check, value: Option<&Value>, pointer: &str) -> Vec<Finding> {
    eval::evaluate(check, value, eval::Mode::Json)
        .into_iter()
        .map(|f| f.into_finding(kind, Some(pointer), None))
        .collect()
}

/// A value as shown in a finding: as is when small, else a string with
/// its first [`MAX_SHOWN_CHARS`] characters and the full size.
pub fn shown(value: &Value) -> Value {
    let text = value.to_string();
    if text.chars().count() <= MAX_SHOWN_CHARS {
        return value.clone();
    }
    let head: String = text.chars().take(MAX_SHOWN_CHARS).collect();
    Value::String(format!("{head}… ({} bytes in all)", text.len()))
}
