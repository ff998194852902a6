//! Secrets: the registry of every secret value a run knows (API keys,
//! JWTs, passwords, the control token) and their redaction from text,
//! JSON and headers, plus a scan of written artifacts for leaks.
//!
//! It must not decide what is secret beyond what it is told and the
//! shapes it recognises (`age_<32 hex>`, JWTs); it never logs or prints.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use parking_lot::RwLock;
use regex::Regex;
use serde_json::Value;

/// What can go wrong while scanning artifacts.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// A file or directory could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
}

/// Secret values shorter than this are not registered: redacting them
/// would garble unrelated text (a negative test's "short" password would
/// turn "shorter" into "[PASSWORD]er"). Passwords are at least 8 characters
/// (docs/api: register), keys and tokens far longer.
pub const MIN_SECRET_LEN: usize = 8;

/// Header names whose values are always redacted, known secret or not.
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "x-conformance-token",
    "cookie",
    "set-cookie",
    "proxy-authorization",
];

/// JSON object keys whose string values are always redacted.
pub const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "api_key",
    "apikey",
    "access_token",
    "accesstoken",
    "refresh_token",
    "refreshtoken",
    "client_secret",
    "clientsecret",
    "secret",
    "token",
    "authorization",
];

static API_KEY_SHAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"age_[0-9a-fA-F]{32}").expect("static regex"));
static JWT_SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").expect("static regex"));

/// The run's secrets. Cheap to clone (an `Arc`), safe to share between tasks.
#[derive(Clone, Default)]
pub struct Secrets {
    inner: Arc<RwLock<Inner>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never show the values.
        f.debug_struct("Secrets")
            .field("count", &self.inner.read().labels.len())
            .finish()
    }
}

#[derive(Default)]
struct Inner {
    /// Every registered form (raw, JSON-escaped, percent-encoded) → label.
    labels: HashMap<String, String>,
    /// Raw values only, for file scans.
    raw: Vec<String>,
    /// Forms registered since the last lookup, not in any level yet.
    pending: Vec<String>,
    /// Automata over disjoint sets of forms, largest first. A lookup after
    /// a registration builds one small level for the new forms and merges
    /// levels of similar size (like a binary counter), so a run that
    /// alternates registrations and lookups builds in O(n log n) overall
    /// rather than rebuilding everything each time.
    levels: Vec<Level>,
}

/// One automaton (leftmost-longest) and the forms it finds, in pattern order.
struct Level {
    /// `None` past the automaton's size limits, far beyond a run's secrets:
    /// the forms are then searched one by one.
    ac: Option<AhoCorasick>,
    forms: Vec<String>,
}

impl Level {
    fn new(mut forms: Vec<String>) -> Level {
        forms.sort();
        forms.dedup();
        // A contiguous NFA: builds several times faster than a DFA, and
        // searches the short texts of a run about as fast.
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&forms)
            .ok();
        Level { ac, forms }
    }

    /// `(start, form)` of the leftmost form found in `text`.
    fn find<'a>(&'a self, text: &str) -> Option<(usize, &'a str)> {
        match &self.ac {
            Some(ac) => ac
                .find(text)
                .map(|m| (m.start(), self.forms[m.pattern().as_usize()].as_str())),
            None => self
                .forms
                .iter()
                .filter_map(|f| text.find(f.as_str()).map(|at| (at, f.as_str())))
                .min_by_key(|(at, f)| (*at, std::cmp::Reverse(f.len()))),
        }
    }
}

impl Inner {
    /// Puts the pending forms into a level and merges levels of similar size.
    fn settle(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut forms = std::mem::take(&mut self.pending);
        while let Some(last) = self.levels.last() {
            if last.forms.len() > 2 * forms.len() {
                break;
            }
            let last = self.levels.pop().expect("checked above");
            forms.extend(last.forms);
        }
        self.levels.push(Level::new(forms));
    }

    /// The first registered form found in `text` (by position), if any.
    fn first_match(&self, text: &str) -> Option<&str> {
        self.first_match_at(text, 0).map(|(_, f)| f)
    }

    /// `(start, form)` of the leftmost (then longest) form in `text[from..]`.
    fn first_match_at(&self, text: &str, from: usize) -> Option<(usize, &str)> {
        self.levels
            .iter()
            .filter_map(|l| l.find(&text[from..]))
            .min_by_key(|(at, f)| (*at, std::cmp::Reverse(f.len())))
            .map(|(at, f)| (from + at, f))
    }
}

impl Secrets {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret under a label such as `API_KEY:poster`; it is
    /// shown as `[API_KEY:poster]`. Values shorter than [`MIN_SECRET_LEN`]
    /// are ignored. Registering the same value again keeps the first label.
    pub fn add(&self, label: &str, value: &str) {
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let mut inner = self.inner.write();
        if inner.labels.contains_key(value) {
            return;
        }
        let shown = format!("[{label}]");
        for form in forms(value) {
            if !inner.labels.contains_key(&form) {
                inner.labels.insert(form.clone(), shown.clone());
                inner.pending.push(form);
            }
        }
        inner.raw.push(value.to_string());
    }

    /// How many secrets are registered.
    pub fn len(&self) -> usize {
        self.inner.read().raw.len()
    }

    /// True when no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `text` holds a registered secret verbatim, in any of the
    /// forms it is registered under (raw, JSON-escaped, percent-encoded).
    pub fn contains_secret(&self, text: &str) -> bool {
        self.with_matcher(|inner| inner.first_match(text).is_some())
    }

    /// Runs `f` with every registered form in a level (settling the
    /// pending ones first).
    fn with_matcher<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        {
            let inner = self.inner.read();
            if inner.pending.is_empty() {
                return f(&inner);
            }
        }
        let mut inner = self.inner.write();
        inner.settle();
        f(&inner)
    }

    /// The label of the first registered secret `text` holds, if any (for
    /// naming a leak without showing it).
    pub fn find_secret(&self, text: &str) -> Option<String> {
        if !self.contains_secret(text) {
            return None;
        }
        let inner = self.inner.read();
        let mut found: Vec<&String> = inner
            .labels
            .iter()
            .filter(|(form, _)| text.contains(form.as_str()))
            .map(|(_, label)| label)
            .collect();
        found.sort();
        found.first().map(|l| l.to_string())
    }

    /// Replaces every known secret with its label, then the head of a known
    /// secret cut short by truncation (followed by `…` or `...`), then
    /// anything shaped like an API key (`[API_KEY]`) or a JWT (`[JWT]`).
    pub fn redact_str(&self, text: &str) -> String {
        // Most text holds nothing to redact: one scan, one copy. The shapes
        // begin with literals (`age_`, `eyJ`), so their absence rules them out.
        if !text.contains("age_")
            && !text.contains("eyJ")
            && !TRUNCATION_MARKS.iter().any(|m| text.contains(m))
            && !self.contains_secret(text)
        {
            return text.to_string();
        }
        let replaced = self.replace_known(text);
        let replaced = self.replace_truncated(&replaced);
        let replaced = API_KEY_SHAPE.replace_all(&replaced, "[API_KEY]");
        JWT_SHAPE.replace_all(&replaced, "[JWT]").into_owned()
    }

    /// Replaces the head of a known secret (at least [`MIN_TRUNCATED_LEN`]
    /// characters) that ends right at a truncation mark: text cut for
    /// display must not show part of a secret either.
    fn replace_truncated(&self, text: &str) -> String {
        if !TRUNCATION_MARKS.iter().any(|m| text.contains(m)) {
            return text.to_string();
        }
        let inner = self.inner.read();
        // (start, end, label) of every cut secret found.
        let mut cuts: Vec<(usize, usize, &String)> = Vec::new();
        for (form, label) in &inner.labels {
            let Some((head_end, _)) = form.char_indices().nth(MIN_TRUNCATED_LEN) else {
                continue;
            };
            let head = &form[..head_end];
            for (start, _) in text.match_indices(head) {
                let common = common_prefix(&text[start..], form);
                let end = start + common;
                if common < form.len() && TRUNCATION_MARKS.iter().any(|m| text[end..].starts_with(m)) {
                    cuts.push((start, end, label));
                }
            }
        }
        if cuts.is_empty() {
            return text.to_string();
        }
        cuts.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, label) in cuts {
            if start < at {
                continue;
            }
            out.push_str(&text[at..start]);
            out.push_str(label);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Leftmost-longest across every level at once, so that a secret
    /// inside a longer one never splits it.
    fn replace_known(&self, text: &str) -> String {
        self.with_matcher(|inner| {
            let mut out = String::with_capacity(text.len());
            let mut at = 0;
            while let Some((start, form)) = inner.first_match_at(text, at) {
                out.push_str(&text[at..start]);
                out.push_str(inner.labels.get(form).map(String::as_str).unwrap_or("[REDACTED]"));
                at = start + form.len();
            }
            out.push_str(&text[at..]);
            out
        })
    }

    /// Redacts every string in a JSON value (keys too), and replaces the
    /// string values of sensitive keys (`password`, `api_key`, ...) whole.
    pub fn redact_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact_str(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) if is_sensitive_key(k) => Value::String(self.redact_whole(s, "REDACTED")),
                            other => self.redact_json(other),
                        };
                        (self.redact_str(k), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Redacts one header value; sensitive headers are always redacted,
    /// keeping an auth scheme word (`Bearer [JWT:poster]`).
    pub fn redact_header(&self, name: &str, value: &str) -> String {
        let lname = name.to_ascii_lowercase();
        if !SENSITIVE_HEADERS.contains(&lname.as_str()) {
            return self.redact_str(value);
        }
        if lname == "cookie" || lname == "set-cookie" {
            return "[REDACTED]".to_string();
        }
        match value.split_once(' ') {
            Some((scheme, rest)) if lname.contains("authorization") && !scheme.is_empty() => {
                format!("{scheme} {}", self.redact_whole(rest.trim(), "REDACTED"))
            }
            _ => self.redact_whole(value, "REDACTED"),
        }
    }

    /// Redacts a list of headers (names too: a hostile server may echo a
    /// secret in a header's name).
    pub fn redact_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(k, v)| (self.redact_str(k), self.redact_header(k, v)))
            .collect()
    }

    /// The value's label if it is a known secret (or has a secret's shape),
    /// otherwise `[fallback]`: never the value itself.
    fn redact_whole(&self, value: &str, fallback: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        if let Some(label) = self.inner.read().labels.get(value) {
            return label.clone();
        }
        let r = self.redact_str(value);
        if is_only_labels(&r) { r } else { format!("[{fallback}]") }
    }

    /// The files among `paths` (directories are walked) that contain a known
    /// secret verbatim (in any registered form). Unreadable files are
    /// reported as errors. Files are read in chunks ([`SCAN_CHUNK`] bytes,
    /// plus the tail of the previous chunk a secret may start in), never
    /// whole.
    pub fn scan_files<P: AsRef<Path>>(&self, paths: &[P]) -> Result<Vec<PathBuf>, RedactError> {
        let mut found = Vec::new();
        for root in paths {
            for entry in walkdir::WalkDir::new(root.as_ref()).follow_links(false) {
                let entry = entry.map_err(|e| RedactError::Read {
                    path: e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.as_ref().to_path_buf()),
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk failed")),
                })?;
                if !entry.file_type().is_file() {
                    continue;
                }
                let leaks = self.file_has_secret(entry.path()).map_err(|source| RedactError::Read {
                    path: entry.path().to_path_buf(),
                    source,
                })?;
                if leaks {
                    found.push(entry.path().to_path_buf());
                }
            }
        }
        Ok(found)
    }
}

/// Bytes of a file the leak scan reads at a time.
pub const SCAN_CHUNK: usize = 64 * 1024;

impl Secrets {
    /// True when the file holds a registered form of a secret. A form that
    /// spans two chunks is found: each chunk is searched together with the
    /// end of the one before, as long as the longest form less one byte.
    fn file_has_secret(&self, path: &Path) -> Result<bool, std::io::Error> {
        use std::io::Read;
        let longest = self.inner.read().labels.keys().map(String::len).max().unwrap_or(0);
        let mut file = std::fs::File::open(path)?;
        if longest == 0 {
            return Ok(false);
        }
        let mut buf: Vec<u8> = Vec::with_capacity(SCAN_CHUNK + longest + 3);
        // Bytes at the end of `buf` read but not searched yet.
        let mut unsearched = 0usize;
        loop {
            let start = buf.len();
            buf.resize(start + SCAN_CHUNK, 0);
            let n = loop {
                match file.read(&mut buf[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            buf.truncate(start + n);
            let eof = n == 0;
            if eof && unsearched == 0 {
                return Ok(false);
            }
            // An incomplete character at the end waits for its other bytes.
            let end = if eof { buf.len() } else { complete_utf8_end(&buf) };
            if self.contains_secret(&String::from_utf8_lossy(&buf[..end])) {
                return Ok(true);
            }
            if eof {
                return Ok(false);
            }
            unsearched = buf.len() - end;
            // A form that ends past `end` starts at or after `end - (longest - 1)`.
            buf.drain(..end.saturating_sub(longest - 1));
        }
    }
}

/// The length of `bytes` without a trailing incomplete UTF-8 sequence.
fn complete_utf8_end(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(4) {
        let lead = bytes[len - back];
        if lead & 0xC0 == 0x80 {
            continue;
        }
        let need = match lead {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if need > back { len - back } else { len };
    }
    len
}

/// Marks that say text was cut short (ours and the renderers').
const TRUNCATION_MARKS: &[&str] = &["…", "..."];

/// Shortest head of a secret recognised before a truncation mark.
pub const MIN_TRUNCATED_LEN: usize = 6;

/// Length in bytes of the common prefix of `a` and `b`, on a character
/// boundary of both.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| a.len().min(b.len()))
}

fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SENSITIVE_KEYS.contains(&k.as_str())
}

/// True when the text is nothing but `[LABEL]`s (and spaces).
fn is_only_labels(text: &str) -> bool {
    static ONLY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\s*\[[A-Za-z0-9_:.\- ]+\]\s*)+$").expect("static regex"));
    ONLY.is_match(text)
}

/// The forms a secret may take in recorded text: raw, JSON-escaped,
/// percent-encoded as a form value (query pairs, form bodies), as a path
/// segment, in a path, a query string or a fragment (the `url` crate's
/// encodings, which the HTTP client uses).
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let mut push = |form: String| {
        if form.chars().count() >= MIN_SECRET_LEN && !out.contains(&form) {
            out.push(form);
        }
    };
    let json = serde_json::to_string(value).unwrap_or_default();
    push(json.trim_matches('"').to_string());
    let pct: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    push(pct.replace('+', "%20"));
    push(pct);
    if let Ok(mut u) = url::Url::parse("http://h/") {
        if let Ok(mut segments) = u.path_segments_mut() {
            segments.clear().push(value);
        }
        push(u.path().trim_start_matches('/').to_string());
        u.set_path(value);
        let path = u.path();
        push(if value.starts_with('/') {
            path.to_string()
        } else {
            path.trim_start_matches('/').to_string()
        });
        u.set_query(Some(value));
        push(u.query().unwrap_or_default().to_string());
        u.set_fragment(Some(value));
        push(u.fragment().unwrap_or_default().to_string());
    }
    out
}
