//! Evaluation of one [`Check`] against one value (or its absence).
//!
//! Produces [`Failure`]s without a location; the caller adds the pointer
//! or header name when turning them into findings. It must not resolve
//! paths (that is `path`).

use regex::Regex;
use serde_json::Value;

use super::shown;
use crate::finding::{Finding, FindingKind};
use crate::scenario::Check;

/// What the value is: a JSON value, or a header's text (where numeric
/// checks parse the text and `equals` compares text forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Json,
    Header,
}

/// One check that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub message: String,
    pub expected: Option<Value>,
    pub actual: Option<Value>,
}

impl Failure {
    fn new(message: impl Into<String>, expected: Option<Value>, actual: Option<&Value>) -> Self {
        Failure {
            message: message.into(),
            expected,
            actual: actual.map(shown),
        }
    }

    /// A finding naming the place: `pointer` in the body or a `header`.
    pub fn into_finding(self, kind: FindingKind, pointer: Option<&str>, header: Option<&str>) -> Finding {
        let place = match (header, pointer) {
            (Some(h), _) => format!("header `{h}`"),
            (None, Some("")) => "the body".to_string(),
            (None, Some(p)) => format!("`{p}`"),
            (None, None) => "the value".to_string(),
        };
        let mut f = Finding::new(kind, format!("{place} {}", self.message));
        f.expected = self.expected.map(|v| shown(&v));
        f.actual = self.actual;
        if header.is_none() {
            f.body_pointer = pointer.map(str::to_string);
        }
        f
    }
}

/// The check without what speaks of a selection as a whole
/// (`exists`, `absent`, `length`, `min_length`, `contains`).
pub(crate) fn per_value(check: &Check) -> Check {
    Check {
        exists: None,
        absent: None,
        length: None,
        min_length: None,
        contains: None,
        ..check.clone()
    }
}

/// The check without `exists`/`absent`.
pub(crate) fn without_presence(check: &Check) -> Check {
    Check {
        exists: None,
        absent: None,
        ..check.clone()
    }
}

/// `exists`/`absent` against whether something is there.
pub(crate) fn presence(check: &Check, present: bool) -> Vec<Failure> {
    let mut out = Vec::new();
    let want_present = [check.exists, check.absent.map(|a| !a)];
    for want in want_present.into_iter().flatten() {
        if want && !present {
            out.push(Failure::new(
                "is missing, expected it to exist",
                Some("present".into()),
                None,
            ));
        } else if !want && present {
            out.push(Failure::new(
                "is present, expected it to be absent",
                Some("absent".into()),
                None,
            ));
        }
    }
    out.dedup();
    out
}

/// The selection-wide checks of a multi-value JSONPath: `exists`/`absent`
/// (any match at all), `length`/`min_length` (the number of matches),
/// `contains` (some selected value equals it: the selection read as an array).
pub(crate) fn selection(check: &Check, selected: &[&Value]) -> Vec<Failure> {
    let count = selected.len();
    let mut out = Vec::new();
    if let Some(needle) = &check.contains
        && !selected.iter().any(|v| json_equal(needle, v))
    {
        let all = Value::Array(selected.iter().map(|v| (*v).clone()).collect());
        out.push(Failure::new(
            format!("selects no value equal to {} (among {count})", brief(needle)),
            Some(needle.clone()),
            Some(&all),
        ));
    }
    for want in [check.exists, check.absent.map(|a| !a)].into_iter().flatten() {
        if want && count == 0 {
            out.push(Failure::new(
                "selects nothing, expected at least one value",
                Some("present".into()),
                None,
            ));
        } else if !want && count > 0 {
            out.push(Failure::new(
                format!("selects {count} value(s), expected none"),
                Some("absent".into()),
                Some(&count.into()),
            ));
        }
    }
    out.dedup();
    if let Some(n) = check.length
        && n != count
    {
        out.push(Failure::new(
            format!("selects {count} value(s), expected {n}"),
            Some(n.into()),
            Some(&count.into()),
        ));
    }
    if let Some(n) = check.min_length
        && count < n
    {
        out.push(Failure::new(
            format!("selects {count} value(s), expected at least {n}"),
            Some(n.into()),
            Some(&count.into()),
        ));
    }
    out
}

/// True when the check asks something of a value beyond presence.
fn has_value_checks(c: &Check) -> bool {
    c.equals.is_some()
        || c.type_.is_some()
        || c.cents.is_some()
        || c.uuid.is_some()
        || c.regex.is_some()
        || c.length.is_some()
        || c.min_length.is_some()
        || c.min.is_some()
        || c.max.is_some()
        || c.contains.is_some()
        || c.one_of.is_some()
}

/// Evaluates every field of `check` against `value` (`None` = nothing there).
pub(crate) fn evaluate(check: &Check, value: Option<&Value>, mode: Mode) -> Vec<Failure> {
    let mut out = presence(check, value.is_some());
    let Some(v) = value else {
        if has_value_checks(check) {
            out.push(Failure::new("is missing", Some(describe(check)), None));
        }
        if let Some(inner) = &check.not
            && evaluate(inner, None, mode).is_empty()
        {
            out.push(Failure::new(
                "is missing, and the `not` checks all hold for that",
                None,
                None,
            ));
        }
        return out;
    };

    if let Some(want) = &check.equals
        && !equals(want, v, mode)
    {
        out.push(Failure::new(
            format!("is {}, expected {}", brief(v), brief(want)),
            Some(want.clone()),
            Some(v),
        ));
    }
    if let Some(t) = &check.type_
        && !has_type(v, t, mode)
    {
        out.push(Failure::new(
            format!("is {} ({}), expected type `{t}`", brief(v), type_name(v)),
            Some(Value::String(t.clone())),
            Some(v),
        ));
    }
    if let Some(want) = check.cents {
        let is_cents = match (mode, v) {
            (_, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (Mode::Header, Value::String(s)) => s.trim().parse::<i64>().is_ok(),
            _ => false,
        };
        if want && !is_cents {
            out.push(Failure::new(
                format!(
                    "is {} ({}), expected an integer number of cents",
                    brief(v),
                    type_name(v)
                ),
                Some("integer cents".into()),
                Some(v),
            ));
        } else if !want && is_cents {
            out.push(Failure::new(
                format!("is {}, expected something other than integer cents", brief(v)),
                Some("not integer cents".into()),
                Some(v),
            ));
        }
    }
    if let Some(want) = check.uuid {
        let is = v.as_str().is_some_and(is_canonical_uuid);
        if want && !is {
            out.push(Failure::new(
                format!("is {}, expected a canonical UUID (8-4-4-4-12 hex digits)", brief(v)),
                Some("uuid".into()),
                Some(v),
            ));
        } else if !want && is {
            out.push(Failure::new(
                format!("is {}, expected something other than a UUID", brief(v)),
                None,
                Some(v),
            ));
        }
    }
    if let Some(pattern) = &check.regex {
        match Regex::new(pattern) {
            Err(e) => out.push(Failure::new(
                format!("cannot be checked: invalid regex `{pattern}`: {e}"),
                Some(Value::String(pattern.clone())),
                None,
            )),
            Ok(re) => {
                let text = text_form(v);
                if !text.as_deref().is_some_and(|t| re.is_match(t)) {
                    out.push(Failure::new(
                        format!("is {}, expected it to match /{pattern}/", brief(v)),
                        Some(Value::String(pattern.clone())),
                        Some(v),
                    ));
                }
            }
        }
    }
    if let Some(n) = check.length {
        match length_of(v) {
            Some(len) if len == n => {}
            Some(len) => out.push(Failure::new(
                format!("has length {len}, expected {n}"),
                Some(n.into()),
                Some(v),
            )),
            None => out.push(Failure::new(
                format!(
                    "is {} ({}), which has no length; expected length {n}",
                    brief(v),
                    type_name(v)
                ),
                Some(n.into()),
                Some(v),
            )),
        }
    }
    if let Some(n) = check.min_length {
        match length_of(v) {
            Some(len) if len >= n => {}
            Some(len) => out.push(Failure::new(
                format!("has length {len}, expected at least {n}"),
                Some(n.into()),
                Some(v),
            )),
            None => out.push(Failure::new(
                format!(
                    "is {} ({}), which has no length; expected at least {n}",
                    brief(v),
                    type_name(v)
                ),
                Some(n.into()),
                Some(v),
            )),
        }
    }
    for (bound, is_min) in [(check.min, true), (check.max, false)] {
        let Some(b) = bound else { continue };
        let word = if is_min { "at least" } else { "at most" };
        match number_of(v, mode) {
            Some(x) if (is_min && x >= b) || (!is_min && x <= b) => {}
            Some(x) => out.push(Failure::new(
                format!("is {x}, expected {word} {b}"),
                Some(b.into()),
                Some(v),
            )),
            None => out.push(Failure::new(
                format!("is {} ({}), expected a number {word} {b}", brief(v), type_name(v)),
                Some(b.into()),
                Some(v),
            )),
        }
    }
    if let Some(needle) = &check.contains
        && !contains(v, needle, mode)
    {
        out.push(Failure::new(
            format!("is {}, expected it to contain {}", brief(v), brief(needle)),
            Some(needle.clone()),
            Some(v),
        ));
    }
    if let Some(options) = &check.one_of
        && !options.iter().any(|o| equals(o, v, mode))
    {
        out.push(Failure::new(
            format!(
                "is {}, expected one of {}",
                brief(v),
                options.iter().map(brief).collect::<Vec<_>>().join(", ")
            ),
            Some(Value::Array(options.clone())),
            Some(v),
        ));
    }
    if let Some(inner) = &check.not
        && evaluate(inner, Some(v), mode).is_empty()
    {
        out.push(Failure::new(
            format!("is {}, which satisfies the `not` checks", brief(v)),
            Some(serde_json::json!({ "not": serde_json::to_value(inner).unwrap_or(Value::Null) })),
            Some(v),
        ));
    }
    out
}

/// A one-line description of what a check wants (for a missing value).
fn describe(check: &Check) -> Value {
    let mut c = without_presence(check);
    c.not = None;
    serde_json::to_value(c).unwrap_or(Value::Null)
}

/// A short rendering of a value for a message.
fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let head: String = s.chars().take(77).collect();
        format!("{head}...")
    } else {
        s
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `integer` means a JSON number written without fraction or exponent
/// (so `1.0` is a `number`, not an `integer`); `number` is any number.
fn has_type(v: &Value, t: &str, mode: Mode) -> bool {
    if mode == Mode::Header
        && let Value::String(s) = v
    {
        let s = s.trim();
        return match t {
            "string" => true,
            "integer" => s.parse::<i64>().is_ok(),
            "number" => s.parse::<f64>().is_ok_and(f64::is_finite),
            "boolean" => s == "true" || s == "false",
            _ => false,
        };
    }
    match t {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_number().is_some_and(|n| n.is_i64() || n.is_u64()),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// Deep equality where numbers compare by value (`1` equals `1.0`); in
/// header mode a scalar expectation compares with the header's text.
pub(crate) fn equals(want: &Value, got: &Value, mode: Mode) -> bool {
    if mode == Mode::Header
        && let Value::String(text) = got
    {
        return match want {
            Value::String(w) => w == text,
            Value::Number(n) => text.trim().parse::<f64>().ok() == n.as_f64(),
            Value::Bool(b) => text.trim() == b.to_string(),
            _ => false,
        };
    }
    json_equal(want, got)
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| json_equal(a, b)))
        }
        _ => a == b,
    }
}

/// Canonical textual UUID: 36 characters, hyphens at 8, 13, 18 and 23,
/// hex digits elsewhere (either case; RFC 9562 reads case-insensitively).
pub(crate) fn is_canonical_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn text_form(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn length_of(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

fn number_of(v: &Value, mode: Mode) -> Option<f64> {
    match (v, mode) {
        (Value::Number(n), _) => n.as_f64(),
        (Value::String(s), Mode::Header) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// A string contains a substring; an array an equal element; an object a key.
fn contains(v: &Value, needle: &Value, mode: Mode) -> bool {
    match (v, needle) {
        (Value::String(s), Value::String(n)) => s.contains(n.as_str()),
        (Value::String(s), n) if mode == Mode::Header => text_form(n).is_some_and(|n| s.contains(&n)),
        (Value::Array(items), n) => items.iter().any(|i| json_equal(n, i)),
        (Value::Object(map), Value::String(k)) => map.contains_key(k),
        _ => false,
    }
}
