//! YAML → `serde_json::Value`, keeping where each node was written.
//!
//! Job: turn one YAML 1.2 document into a [`serde_json::Value`] plus a map
//! from JSON pointer to source [`Location`] (of the node, and of the mapping
//! key that introduced it), so that loaders of scenarios and specs can name
//! `file:line:column` in their diagnostics.
//!
//! Scalars resolve with the YAML 1.2 core schema (null, bool, int, float,
//! string; quoted scalars are always strings). Anchors and aliases are
//! resolved by copying; the expanded size and the nesting depth are capped
//! so that an alias bomb ("billion laughs") or a deeply nested input is an
//! error, not an out-of-memory or a stack overflow. A stream of several
//! documents is an error. Mapping keys must be strings ([`Options`] can
//! allow plain scalar keys such as `200:`, kept as written).
//!
//! It must not: know anything about scenarios or OpenAPI, print, or panic
//! on any input. The events come from `saphyr-parser` (the parser under
//! `saphyr`), driven iteratively here: `saphyr`'s own loader recurses per
//! nesting level and clones alias targets before any size check on keys.

mod build;

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

/// A position in the source text, both 1-based (column in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a YAML text could not be turned into a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct YamlError {
    /// What is wrong, lower-case.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl YamlError {
    /// The place of the error as a [`Location`].
    pub fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }

    pub(crate) fn at(loc: Location, message: impl Into<String>) -> Self {
        YamlError {
            message: message.into(),
            line: loc.line,
            column: loc.column,
        }
    }
}

/// Knobs for [`parse_with`]. The defaults are those of [`parse`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Accept plain non-string scalars as mapping keys (`200:`, `true:`),
    /// keeping the key text exactly as written. Off by default: keys must be
    /// strings. Collections as keys are always an error.
    pub scalar_keys: bool,
    /// Maximum number of nodes in the result, counting every copy made by
    /// aliases.
    pub max_nodes: usize,
    /// Maximum total bytes of strings (values and keys) in the result,
    /// counting alias copies.
    pub max_string_bytes: usize,
    /// Maximum nesting depth of collections.
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scalar_keys: false,
            max_nodes: 1_000_000,
            max_string_bytes: 64 * 1024 * 1024,
            max_depth: 200,
        }
    }
}

/// A parsed document: the value and where its nodes were written.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The document as JSON data (`Null` for an empty text).
    pub value: Value,
    locs: LocNode,
}

/// Where a node and (for a mapping value) its key were written, with the
/// same for its children (in document order). A tree rather than a map of
/// pointers: building it costs no pointer strings or hashing.
#[derive(Debug, Clone, Default)]
struct LocNode {
    at: Location,
    key: Option<Location>,
    children: Children,
}

#[derive(Debug, Clone, Default)]
enum Children {
    /// A scalar, or an alias copy (its insides were written elsewhere).
    #[default]
    None,
    Seq(Vec<LocNode>),
    Map(Vec<(String, LocNode)>),
}

impl Document {
    /// Where the node at `pointer` was written (a JSON pointer, `""` for the
    /// root; a leading `#` is accepted). `None` if no node was written
    /// there (including nodes inside an alias copy: see
    /// [`Document::nearest_location`]).
    pub fn location(&self, pointer: &str) -> Option<Location> {
        let (node, exact) = self.walk(pointer);
        exact.then_some(node.at)
    }

    /// The location of the node at `pointer`, or else of its closest
    /// ancestor that has one (at worst the root).
    pub fn nearest_location(&self, pointer: &str) -> Location {
        self.walk(pointer).0.at
    }

    /// Where the mapping key of the node at `pointer` was written. `None`
    /// for the root, sequence items and unknown pointers.
    pub fn key_location(&self, pointer: &str) -> Option<Location> {
        let (node, exact) = self.walk(pointer);
        if exact { node.key } else { None }
    }

    /// The deepest node on the way to `pointer`, and whether it is the node.
    fn walk(&self, pointer: &str) -> (&LocNode, bool) {
        let p = pointer.strip_prefix('#').unwrap_or(pointer);
        let mut node = &self.locs;
        if p.is_empty() {
            return (node, true);
        }
        let Some(rest) = p.strip_prefix('/') else {
            return (node, false);
        };
        for token in rest.split('/') {
            let next = match &node.children {
                Children::None => None,
                Children::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                Children::Map(entries) => {
                    let key = unescape_token(token);
                    entries.iter().find(|(k, _)| *k == key).map(|(_, n)| n)
                }
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }
}

fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Escape one JSON-pointer reference token (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1")
    } else {
        token.to_string()
    }
}

/// Parse one YAML document with source locations (default [`Options`]).
pub fn parse(text: &str) -> Result<Document, YamlError> {
    parse_with(text, &Options::default())
}

/// Parse one YAML document with the given [`Options`].
pub fn parse_with(text: &str, options: &Options) -> Result<Document, YamlError> {
    build::build(text, options)
}

/// Parse one YAML document to a value, dropping the locations.
pub fn parse_value(text: &str) -> Result<Value, YamlError> {
    parse(text).map(|d| d.value)
}

#[cfg(test)]
mod tests;
