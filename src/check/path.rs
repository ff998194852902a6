//! Paths into a JSON value: a JSON pointer (`/a/0/b`, `""` for the root)
//! or a JSONPath (`$...`). Resolution only; it must not check values.

use serde_json::Value;
use serde_json_path::JsonPath;

use super::CheckError;

/// What a path selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Located<'a> {
    /// A JSON pointer: at most one place, which may hold nothing.
    Pointer { pointer: String, value: Option<&'a Value> },
    /// A JSONPath: every selected value with its JSON pointer, in document order.
    Matches(Vec<(String, &'a Value)>),
}

impl<'a> Located<'a> {
    /// The first value selected, if any (used by captures).
    pub fn first(&self) -> Option<(String, &'a Value)> {
        match self {
            Located::Pointer { pointer, value } => value.map(|v| (pointer.clone(), v)),
            Located::Matches(m) => m.first().map(|(p, v)| (p.clone(), *v)),
        }
    }
}

/// True when `path` is written as a JSONPath.
pub fn is_json_path(path: &str) -> bool {
    path.trim_start().starts_with('$')
}

/// True when a JSONPath can select several values (a wildcard, a
/// descendant `..`, a filter, a slice or a union).
pub fn is_multi_select(path: &str) -> bool {
    is_json_path(path) && path.contains(['*', '?', ':', ',']) || path.contains("..")
}

/// Resolves a pointer or JSONPath against `value`.
///
/// A pointer must be empty or start with `/`; a JSONPath must parse.
pub fn resolve<'a>(path: &str, value: &'a Value) -> Result<Located<'a>, CheckError> {
    if is_json_path(path) {
        let parsed = JsonPath::parse(path.trim()).map_err(|e| CheckError::InvalidPath {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let matches = parsed
            .query_located(value)
            .into_iter()
            .map(|n| (n.location().to_json_pointer(), n.node()))
            .collect();
        Ok(Located::Matches(matches))
    } else if path.is_empty() || path.starts_with('/') {
        Ok(Located::Pointer {
            pointer: path.to_string(),
            value: value.pointer(path),
        })
    } else {
        Err(CheckError::InvalidPath {
            path: path.to_string(),
            message: "expected a JSON pointer (`/a/0/b`, empty for the whole body) or a JSONPath (`$.a[*].b`)".into(),
        })
    }
}
