//! Load errors of scenario and flow files, with `file:line:column`.
//!
//! Job: the [`LoadError`] type (where, which key, what was wrong), the
//! translation of `serde`'s error messages (via `serde_path_to_error`)
//! into those errors, key paths ([`KeyPath`]: a JSON pointer for the
//! location and a dotted form such as `steps[3].expect.status` for
//! people), and "did you mean" suggestions.
//!
//! It must not: read files, print, or decide what is valid (the loader
//! and the validation do).

use std::fmt;

use serde_path_to_error::Segment;

use super::model::SourceLocation;
use crate::yaml::{Document, escape_token};

/// A place in a document: a JSON pointer and its dotted, human form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath {
    /// JSON pointer (`/steps/3/expect/status`), `""` for the root.
    pub pointer: String,
    /// Dotted form (`steps[3].expect.status`), `""` for the root.
    pub display: String,
}

impl KeyPath {
    /// The root of the document.
    pub fn root() -> Self {
        KeyPath::default()
    }

    /// The child at a mapping key.
    pub fn key(&self, key: &str) -> Self {
        let display = if self.display.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.display)
        };
        KeyPath {
            pointer: format!("{}/{}", self.pointer, escape_token(key)),
            display,
        }
    }

    /// The child at a sequence index.
    pub fn index(&self, i: usize) -> Self {
        KeyPath {
            pointer: format!("{}/{i}", self.pointer),
            display: format!("{}[{i}]", self.display),
        }
    }

    /// The dotted form, or `the top level` for the root.
    pub fn describe(&self) -> String {
        if self.display.is_empty() {
            "the top level".to_string()
        } else {
            self.display.clone()
        }
    }

    /// The dotted form in backticks, or `the top level` for the root.
    pub fn quoted(&self) -> String {
        if self.display.is_empty() {
            "the top level".to_string()
        } else {
            format!("`{}`", self.display)
        }
    }

    /// This path followed by the path `serde_path_to_error` recorded.
    pub fn join_serde(&self, path: &serde_path_to_error::Path) -> Self {
        let mut p = self.clone();
        for seg in path.iter() {
            p = p.segment(seg);
        }
        p
    }

    fn segment(self, seg: &Segment) -> Self {
        match seg {
            Segment::Seq { index } => self.index(*index),
            Segment::Map { key } => self.key(key),
            Segment::Enum { .. } | Segment::Unknown => self,
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// What is wrong, without the file position (see [`LoadError`]).
///
/// Fields: `at` is the place, ready to print (`steps[2]`,
/// `` `steps[2].as` `` or `the top level`); `key`/`actor`/`name` the
/// offending word; `suggestion` the closest allowed word ("did you mean");
/// `expected`/`found` are phrases (`a non-negative integer`,
/// `string "soon"`); `hint` says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// The text is not valid YAML.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// A key the model does not know.
    #[error("unknown key `{key}` in {at}{}", fmt_suggest(.suggestion))]
    UnknownKey {
        key: String,
        at: String,
        suggestion: Option<String>,
    },
    /// A required key is missing.
    #[error("missing key `{key}` in {at}{}", fmt_hint(.hint))]
    MissingKey {
        key: String,
        at: String,
        hint: Option<String>,
    },
    /// A value of the wrong type.
    #[error("wrong type for {at}: expected {expected}, found {found}")]
    WrongType {
        at: String,
        expected: String,
        found: String,
    },
    /// A value of the right type but not an allowed one.
    #[error("invalid value for {at}: expected {expected}, found {found}{}", fmt_suggest(.suggestion))]
    InvalidValue {
        at: String,
        expected: String,
        found: String,
        suggestion: Option<String>,
    },
    /// A step with no action key.
    #[error("no action in {at}: expected one of {}", tick_list(super::validate::ACTIONS))]
    NoAction { at: String },
    /// A step with several action keys.
    #[error("several actions in {at}: {} (a step has exactly one)", and_list(.actions))]
    SeveralActions { at: String, actions: Vec<String> },
    /// A modifier key on a step whose action does not take it.
    #[error("key `{key}` is not allowed on a `{action}` step in {at}: {allowed}")]
    NotAllowed {
        key: String,
        action: String,
        at: String,
        allowed: String,
    },
    /// `as:` (or an include's actor mapping) names no declared actor.
    #[error("undefined actor `{actor}` in {at}: {}{}", fmt_declared(.declared), fmt_suggest(.suggestion))]
    UndefinedActor {
        actor: String,
        at: String,
        declared: Vec<String>,
        suggestion: Option<String>,
    },
    /// An include names no flow.
    #[error("unknown flow `{name}` in {at}{}", fmt_suggest(.suggestion))]
    UnknownFlow {
        name: String,
        at: String,
        suggestion: Option<String>,
    },
    /// Flows that include each other.
    #[error("include cycle in {at}: {}", fmt_chain(.chain))]
    IncludeCycle { at: String, chain: Vec<String> },
    /// Any other rule of the format.
    #[error("{message}")]
    Invalid { message: String },
}

fn fmt_suggest(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

fn fmt_hint(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(": {s}"),
        None => String::new(),
    }
}

fn fmt_declared(v: &[String]) -> String {
    if v.is_empty() {
        "no actors are declared".to_string()
    } else {
        format!("expected one of the declared actors {}", tick_list(v))
    }
}

fn fmt_chain(v: &[String]) -> String {
    v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" → ")
}

/// `a`, `b` and `c` (each in backticks).
pub fn and_list<S: AsRef<str>>(v: &[S]) -> String {
    match v {
        [] => String::new(),
        [one] => format!("`{}`", one.as_ref()),
        [init @ .., last] => format!("{} and `{}`", tick_list(init), last.as_ref()),
    }
}

/// `a`, `b`, `c` (each in backticks).
pub fn tick_list<S: AsRef<str>>(v: &[S]) -> String {
    v.iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One error in one file: where, at which key, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct LoadError {
    /// File (relative to the scenario root's parent when loaded from a
    /// library), line and column.
    pub location: SourceLocation,
    /// The key path the error is about (`steps[3].expect.status`), empty
    /// for the whole document.
    pub key: String,
    /// What is wrong (boxed to keep `Result<_, LoadError>` small).
    pub kind: Box<LoadErrorKind>,
}

impl LoadError {
    /// An error at a location.
    pub fn new(location: SourceLocation, key: impl Into<String>, kind: LoadErrorKind) -> Self {
        LoadError {
            location,
            key: key.into(),
            kind: Box::new(kind),
        }
    }
}

/// Every error found while loading (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct LoadErrors(pub Vec<LoadError>);

fn render(v: &[LoadError]) -> String {
    v.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

impl LoadErrors {
    /// The errors, in file order.
    pub fn errors(&self) -> &[LoadError] {
        &self.0
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors(vec![e])
    }
}

/// The closest candidate to `word`, if close enough to be a likely typo.
pub fn did_you_mean<'a, I, S>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    // Long words are not typos of short keys; also bounds the work.
    if word.is_empty() || word.len() > 64 {
        return None;
    }
    let lw = word.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let c = c.as_ref();
        if c == word {
            continue;
        }
        let score = strsim::normalized_damerau_levenshtein(&lw, &c.to_lowercase());
        if score >= 0.6 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Locates pointers in a document, for a file label.
pub struct Locator<'a> {
    /// The file label (`scenarios/nda/apply.yaml`).
    pub file: &'a str,
    /// The parsed document.
    pub doc: &'a Document,
}

impl Locator<'_> {
    /// Where the node at `p` was written (or its nearest ancestor).
    pub fn node(&self, p: &KeyPath) -> SourceLocation {
        let l = self.doc.nearest_location(&p.pointer);
        SourceLocation {
            file: self.file.to_string(),
            line: l.line,
            column: l.column,
        }
    }

    /// Where the key of the node at `p` was written (else the node).
    pub fn key(&self, p: &KeyPath) -> SourceLocation {
        match self.doc.key_location(&p.pointer) {
            Some(l) => SourceLocation {
                file: self.file.to_string(),
                line: l.line,
                column: l.column,
            },
            None => self.node(p),
        }
    }

    /// An error about the node at `p`.
    pub fn error(&self, p: &KeyPath, kind: LoadErrorKind) -> LoadError {
        LoadError::new(self.node(p), p.display.clone(), kind)
    }

    /// An error about the key of the node at `p`.
    pub fn key_error(&self, p: &KeyPath, kind: LoadErrorKind) -> LoadError {
        LoadError::new(self.key(p), p.display.clone(), kind)
    }
}

/// One step of a path inside a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// What a `serde_path_to_error` error is about, relative to the value it
/// was raised on: the path to the offending node (for an unknown key, the
/// key itself), and whether it is an unknown key or a missing one
/// (with the missing key's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SerdePlace {
    /// An unknown key: the path of the mapping holding it, and the key.
    UnknownKey {
        holder: Vec<Seg>,
        key: String,
        suggestion: Option<String>,
    },
    /// A required key is missing from the mapping at `holder`.
    MissingKey { holder: Vec<Seg>, key: String },
    /// Any other error about the node at `at`.
    Node { at: Vec<Seg> },
}

/// Where a serde error points (see [`SerdePlace`]).
pub(crate) fn serde_place(err: &serde_path_to_error::Error<serde_json::Error>) -> SerdePlace {
    let msg = err.inner().to_string();
    let mut segs: Vec<Seg> = err
        .path()
        .iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (key, expected) = split_ticked(rest);
        if segs.last() == Some(&Seg::Key(key.clone())) {
            segs.pop();
        }
        let suggestion = did_you_mean(&key, expected.iter());
        return SerdePlace::UnknownKey {
            holder: segs,
            key,
            suggestion,
        };
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or("").to_string();
        return SerdePlace::MissingKey { holder: segs, key };
    }
    SerdePlace::Node { at: segs }
}

/// Translates a `serde_path_to_error` error, raised while reading the
/// node at `base`, into a [`LoadError`].
pub fn from_serde(err: &serde_path_to_error::Error<serde_json::Error>, base: &KeyPath, loc: &Locator<'_>) -> LoadError {
    let msg = err.inner().to_string();
    let mut path = base.join_serde(err.path());
    // An unknown key is recorded with the key itself as the last segment:
    // report it against the mapping that holds it.
    if let (Some(rest), Some(Segment::Map { key })) =
        (msg.strip_prefix("unknown field `"), err.path().iter().next_back())
        && split_ticked(rest).0 == *key
    {
        let segments: Vec<&Segment> = err.path().iter().collect();
        path = base.clone();
        for seg in &segments[..segments.len() - 1] {
            path = path.segment(seg);
        }
    }
    translate(&msg, &path, loc)
}

fn translate(msg: &str, path: &KeyPath, loc: &Locator<'_>) -> LoadError {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (key, expected) = split_ticked(rest);
        // The recorded path is that of the mapping holding the key.
        let (holder, keyp) = (path.clone(), path.key(&key));
        let suggestion = did_you_mean(&key, expected.iter());
        return loc.key_error(
            &keyp,
            LoadErrorKind::UnknownKey {
                key,
                at: holder.describe(),
                suggestion,
            },
        );
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or("").to_string();
        return loc.error(
            path,
            LoadErrorKind::MissingKey {
                key,
                at: path.describe(),
                hint: None,
            },
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let (value, expected) = split_ticked(rest);
        let suggestion = did_you_mean(&value, expected.iter());
        return loc.error(
            path,
            LoadErrorKind::InvalidValue {
                at: path.quoted(),
                expected: format!("one of {}", tick_list(&expected)),
                found: format!("`{value}`"),
                suggestion,
            },
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let (found, expected) = split_expected(rest);
        return loc.error(
            path,
            LoadErrorKind::WrongType {
                at: path.quoted(),
                expected: humanise_expected(&expected),
                found: humanise_found(&found),
            },
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        let (found, expected) = split_expected(rest);
        return loc.error(
            path,
            LoadErrorKind::InvalidValue {
                at: path.quoted(),
                expected: humanise_expected(&expected),
                found: humanise_found(&found),
                suggestion: None,
            },
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid length ") {
        let (found, expected) = split_expected(rest);
        return loc.error(
            path,
            LoadErrorKind::InvalidValue {
                at: path.quoted(),
                expected: humanise_expected(&expected),
                found: format!("length {found}"),
                suggestion: None,
            },
        );
    }
    if let Some(rest) = msg.strip_prefix("duplicate field `") {
        let key = rest.split('`').next().unwrap_or("");
        return loc.error(
            path,
            LoadErrorKind::Invalid {
                message: format!("duplicate key `{key}` in {}", path.describe()),
            },
        );
    }
    loc.error(
        path,
        LoadErrorKind::Invalid {
            message: format!("{msg} in {}", path.describe()),
        },
    )
}

/// `x`, expected one of `a`, `b`  →  ("x", ["a", "b"]).
fn split_ticked(rest: &str) -> (String, Vec<String>) {
    // The offending word ends at the last "`, " before the expectation.
    let (word, tail) = match rest.rfind("`, expected ").or_else(|| rest.rfind("`, there are no ")) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest.trim_end_matches('`'), ""),
    };
    let expected = tail.split('`').skip(1).step_by(2).map(str::to_string).collect();
    (word.to_string(), expected)
}

/// `string "x", expected u16`  →  ("string \"x\"", "u16").
fn split_expected(rest: &str) -> (String, String) {
    match rest.rfind(", expected ") {
        Some(i) => (rest[..i].to_string(), rest[i + ", expected ".len()..].to_string()),
        None => (rest.to_string(), "another value".to_string()),
    }
}

fn humanise_expected(e: &str) -> String {
    match e {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => match e {
            "u16" => "an integer from 0 to 65535".to_string(),
            _ => "a non-negative integer".to_string(),
        },
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a sequence" => "a list".to_string(),
        "a map" => "a mapping".to_string(),
        "any valid JSON value" => "a value".to_string(),
        _ if e.starts_with("struct ") => "a mapping".to_string(),
        _ => e.to_string(),
    }
}

fn humanise_found(f: &str) -> String {
    match f {
        "unit value" | "null" => "null".to_string(),
        "map" => "a mapping".to_string(),
        "sequence" => "a list".to_string(),
        _ => f.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_ticked_reads_serde_lists() {
        let (w, e) = split_ticked("captur`, expected one of `name`, `capture`");
        assert_eq!(w, "captur");
        assert_eq!(e, vec!["name", "capture"]);
        let (w, e) = split_ticked("x`, there are no fields");
        assert_eq!(w, "x");
        assert!(e.is_empty());
        let (w, e) = split_ticked("a`b`, expected `c` or `d`");
        assert_eq!(w, "a`b");
        assert_eq!(e, vec!["c", "d"]);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("captur", ["capture", "expect"].iter()),
            Some("capture".into())
        );
        assert_eq!(did_you_mean("zzz", ["capture", "expect"].iter()), None);
        assert_eq!(did_you_mean("Status", ["status"].iter()), Some("status".into()));
    }
}
