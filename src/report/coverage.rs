//! Coverage: which documented (operation, status) pairs and error codes a
//! run's responses exercised, and by which scenarios; and, against the list
//! of every operation the docs name (`specs/documented-operations.yaml`),
//! which of them the spec leaves out and which no scenario exercises.
//!
//! Computed from [`ScenarioReport`]s (each step's `operation` and
//! `response`); the documented operations and codes come from the caller
//! (the spec room, and the list's text). Runs nothing; renders to strings.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{RunReport, ScenarioReport};
use super::text::defang;
use crate::spec::Spec;

/// The checked-in list of every operation the docs name, relative to the
/// crate root.
pub const DOCUMENTED_OPERATIONS: &str = "specs/documented-operations.yaml";

/// One operation the docs name, and where they name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentedOperation {
    /// Upper-case method.
    pub method: String,
    /// Path template, parameters normalised to `{id}`, no query string.
    pub path: String,
    /// Where the docs name it (`docs/api#...`, `openapi:GET /api/...`, ...).
    pub sources: Vec<String>,
}

/// A list of documented operations that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct DocumentedOperationsError {
    /// The file (or other origin) the text came from.
    pub origin: String,
    /// What is wrong, naming the entry.
    pub message: String,
}

/// Parses the list of documented operations (`operations: [{method, path,
/// sources}]`, YAML). Every entry needs a known method, a path starting
/// with `/` and at least one source; a repeated (method, path) is refused.
pub fn parse_documented_operations(
    text: &str,
    origin: &str,
) -> Result<Vec<DocumentedOperation>, DocumentedOperationsError> {
    let fail = |message: String| DocumentedOperationsError {
        origin: origin.to_string(),
        message,
    };
    let doc = crate::yaml::parse(text).map_err(|e| fail(e.to_string()))?;
    let entries = doc
        .value
        .get("operations")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("expected a top-level `operations` list".into()))?;
    let mut out: Vec<DocumentedOperation> = Vec::with_capacity(entries.len());
    let mut seen = BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        let at = |what: &str| {
            let loc = doc.nearest_location(&format!("/operations/{i}"));
            format!("operations[{i}] (line {}): {what}", loc.line)
        };
        let method = e
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_uppercase)
            .filter(|m| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
            .ok_or_else(|| fail(at("`method` must be one of GET, POST, PUT, PATCH, DELETE")))?;
        let path = e
            .get("path")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| fail(at("`path` must be a string starting with `/`")))?;
        let sources: Vec<String> = e
            .get("sources")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        if sources.is_empty() {
            return Err(fail(at("`sources` must name at least one place in the docs")));
        }
        let path = normalise_path(path);
        if !seen.insert((method.clone(), path.clone())) {
            return Err(fail(at(&format!("`{method} {path}` is listed twice"))));
        }
        out.push(DocumentedOperation { method, path, sources });
    }
    Ok(out)
}

/// A path template with its query string dropped and every parameter
/// (`{id}`, `{jobId}`, `{{job_id}}`) written `{id}`.
pub fn normalise_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path).trim();
    let mut out = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{id}");
                }
                depth += 1;
            }
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let trimmed = out.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    }
}

/// One documented operation: whether the spec has it and which scenarios
/// exercised it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DocumentedCoverage {
    /// Upper-case method.
    pub method: String,
    /// Normalised path template.
    pub path: String,
    /// Where the docs name it.
    pub sources: Vec<String>,
    /// Whether the spec has an operation with this method and path.
    pub in_spec: bool,
    /// Ids of the scenarios with a step that sent a request to it (sorted).
    pub scenarios: Vec<String>,
}

/// Coverage of `spec` and of `documented` by `report`: every (operation,
/// status) of the spec and every error code it defines, plus, for every
/// operation the docs name, whether the spec has it and which scenarios
/// exercised it. This is what `agentgigs-conformance coverage` prints.
pub fn coverage_of(spec: &Spec, documented: &[DocumentedOperation], report: &RunReport) -> Coverage {
    let ops: Vec<(String, String, Vec<String>)> = spec
        .operations()
        .iter()
        .map(|o| (o.method.clone(), o.path.clone(), o.statuses.clone()))
        .collect();
    let mut coverage = Coverage::from_reports(&ops, &spec.error_codes(), &report.scenarios);
    let in_spec: BTreeSet<(String, String)> = spec
        .operations()
        .iter()
        .map(|o| (o.method.to_uppercase(), normalise_path(&o.path)))
        .collect();
    coverage.documented = documented
        .iter()
        .map(|d| DocumentedCoverage {
            method: d.method.clone(),
            path: d.path.clone(),
            sources: d.sources.clone(),
            in_spec: in_spec.contains(&(d.method.clone(), normalise_path(&d.path))),
            scenarios: exercised_by(d, &report.scenarios),
        })
        .collect();
    coverage
}

/// The scenarios with a step that sent `op` a request that was answered:
/// by the spec operation the runner matched, else by the step's path
/// template (a route the spec lacks is still exercised).
fn exercised_by(op: &DocumentedOperation, reports: &[ScenarioReport]) -> Vec<String> {
    let wanted = normalise_path(&op.path);
    let mut out = BTreeSet::new();
    for s in reports {
        for st in &s.steps {
            if st.response.is_none() {
                continue;
            }
            let matched = match (&st.operation, &st.request, &st.path_template) {
                (Some(o), _, _) => o
                    .trim()
                    .split_once(' ')
                    .is_some_and(|(m, p)| m.eq_ignore_ascii_case(&op.method) && normalise_path(p) == wanted),
                (None, Some(req), Some(t)) => {
                    req.method.eq_ignore_ascii_case(&op.method) && normalise_path(t) == wanted
                }
                _ => false,
            };
            if matched {
                out.insert(s.id.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// Coverage of documented operations, statuses and error codes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// One entry per documented operation, in the order given.
    pub operations: Vec<OperationCoverage>,
    /// One entry per documented error code, in the order given.
    pub error_codes: Vec<CodeCoverage>,
    /// One entry per operation the docs name
    /// (`specs/documented-operations.yaml`), in the order listed; empty
    /// when the coverage was computed without the list.
    #[serde(default)]
    pub documented: Vec<DocumentedCoverage>,
}

/// One documented operation and what hit each of its statuses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OperationCoverage {
    /// Upper-case method.
    pub method: String,
    /// Path template as in the spec (`/api/jobs/{id}/apply`).
    pub path: String,
    /// Documented statuses (`200`, `4XX`, `default`), in the order given.
    pub statuses: Vec<StatusCoverage>,
    /// Statuses seen that the operation does not document.
    pub undocumented: Vec<StatusCoverage>,
}

/// One status of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCoverage {
    /// As documented: `200`, `4XX` or `default`; a seen status for
    /// [`OperationCoverage::undocumented`].
    pub status: String,
    /// Ids of the scenarios with a step whose response had it (sorted).
    pub scenarios: Vec<String>,
    /// Error `code`s seen in those responses' bodies (sorted).
    pub codes: Vec<String>,
}

/// One documented error code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CodeCoverage {
    /// The documented code (`ACKNOWLEDGMENT_REQUIRED`).
    pub code: String,
    /// Ids of the scenarios with a response whose body had `code` equal to
    /// it (sorted).
    pub scenarios: Vec<String>,
}

/// An (operation, documented status) pair no scenario hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingStatus {
    /// Upper-case method.
    pub method: String,
    /// Path template as in the spec.
    pub path: String,
    /// The documented status no response had (`403`, `4XX`, `default`).
    pub status: String,
}

/// What a run did not cover.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Missing {
    /// Uncovered (operation, status) pairs, in the order documented.
    pub statuses: Vec<MissingStatus>,
    /// Documented error codes no response body carried.
    pub error_codes: Vec<String>,
    /// Operations the docs name that the spec leaves out (`METHOD /path`).
    #[serde(default)]
    pub not_in_spec: Vec<String>,
    /// Operations the docs name that no scenario exercised (`METHOD /path`).
    #[serde(default)]
    pub not_exercised: Vec<String>,
}

impl Missing {
    /// True when everything documented was hit.
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty()
            && self.error_codes.is_empty()
            && self.not_in_spec.is_empty()
            && self.not_exercised.is_empty()
    }
}

#[derive(Default)]
struct Hits {
    scenarios: BTreeSet<String>,
    codes: BTreeSet<String>,
}

impl Hits {
    fn into_status(self, status: String) -> StatusCoverage {
        StatusCoverage {
            status,
            scenarios: self.scenarios.into_iter().collect(),
            codes: self.codes.into_iter().collect(),
        }
    }
}

/// The documented key a status falls under: the exact code, else its
/// `NXX` range, else `default`.
fn documented_key(documented: &[String], status: u16) -> Option<&String> {
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    documented
        .iter()
        .find(|d| **d == exact)
        .or_else(|| documented.iter().find(|d| d.eq_ignore_ascii_case(&range)))
        .or_else(|| documented.iter().find(|d| d.eq_ignore_ascii_case("default")))
}

fn body_code(body: Option<&Value>) -> Option<&str> {
    body?.get("code")?.as_str()
}

impl Coverage {
    /// Coverage of `operations` (method, path template, documented
    /// statuses) and `error_codes` by the responses in `reports`.
    ///
    /// A step hits an operation when its `operation` is `"METHOD /path"`
    /// with the same method (any case) and path; a response counts once, under
    /// its exact status, else its `NXX` range, else `default`, else as
    /// undocumented. A scenario hits an error code when any of its responses
    /// has a body whose top-level `code` equals it.
    pub fn from_reports(
        operations: &[(String, String, Vec<String>)],
        error_codes: &[String],
        reports: &[ScenarioReport],
    ) -> Coverage {
        // (op index, status key) -> hits; documented keys and undocumented.
        let mut documented: BTreeMap<(usize, String), Hits> = BTreeMap::new();
        let mut undocumented: BTreeMap<(usize, u16), Hits> = BTreeMap::new();
        let mut codes: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        let wanted: BTreeSet<&str> = error_codes.iter().map(String::as_str).collect();

        for s in reports {
            for st in &s.steps {
                let Some(resp) = &st.response else { continue };
                let code = body_code(resp.body.as_ref());
                if let Some(c) = code.filter(|c| wanted.contains(c)) {
                    codes.entry(c).or_default().insert(s.id.clone());
                }
                let Some(op) = &st.operation else { continue };
                let Some((method, path)) = op.trim().split_once(' ') else {
                    continue;
                };
                let Some(i) = operations
                    .iter()
                    .position(|(m, p, _)| m.eq_ignore_ascii_case(method) && p == path.trim())
                else {
                    continue;
                };
                let hits = match documented_key(&operations[i].2, resp.status) {
                    Some(k) => documented.entry((i, k.clone())).or_default(),
                    None => undocumented.entry((i, resp.status)).or_default(),
                };
                hits.scenarios.insert(s.id.clone());
                if let Some(c) = code {
                    hits.codes.insert(c.to_string());
                }
            }
        }

        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, (method, path, statuses))| OperationCoverage {
                method: method.to_uppercase(),
                path: path.clone(),
                statuses: statuses
                    .iter()
                    .map(|k| {
                        documented
                            .remove(&(i, k.clone()))
                            .unwrap_or_default()
                            .into_status(k.clone())
                    })
                    .collect(),
                undocumented: {
                    let keys: Vec<(usize, u16)> = undocumented.range((i, 0)..=(i, u16::MAX)).map(|(k, _)| *k).collect();
                    keys.into_iter()
                        .filter_map(|k| undocumented.remove(&k).map(|h| h.into_status(k.1.to_string())))
                        .collect()
                },
            })
            .collect();
        let error_codes = error_codes
            .iter()
            .map(|c| CodeCoverage {
                code: c.clone(),
                scenarios: codes
                    .get(c.as_str())
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default(),
            })
            .collect();
        Coverage {
            operations,
            error_codes,
            documented: Vec::new(),
        }
    }

    /// The documented (operation, status) pairs and error codes no scenario hit.
    pub fn missing(&self) -> Missing {
        Missing {
            statuses: self
                .operations
                .iter()
                .flat_map(|o| {
                    o.statuses
                        .iter()
                        .filter(|s| s.scenarios.is_empty())
                        .map(|s| MissingStatus {
                            method: o.method.clone(),
                            path: o.path.clone(),
                            status: s.status.clone(),
                        })
                })
                .collect(),
            error_codes: self
                .error_codes
                .iter()
                .filter(|c| c.scenarios.is_empty())
                .map(|c| c.code.clone())
                .collect(),
            not_in_spec: self
                .documented
                .iter()
                .filter(|d| !d.in_spec)
                .map(|d| format!("{} {}", d.method, d.path))
                .collect(),
            not_exercised: self
                .documented
                .iter()
                .filter(|d| d.scenarios.is_empty())
                .map(|d| format!("{} {}", d.method, d.path))
                .collect(),
        }
    }

    /// `(in the spec and exercised, named by the docs)` counts of documented
    /// operations.
    pub fn documented_counts(&self) -> (usize, usize) {
        let done = self
            .documented
            .iter()
            .filter(|d| d.in_spec && !d.scenarios.is_empty())
            .count();
        (done, self.documented.len())
    }

    /// `(covered, documented)` counts of (operation, status) pairs.
    pub fn status_counts(&self) -> (usize, usize) {
        let all = self.operations.iter().flat_map(|o| &o.statuses);
        let total = all.clone().count();
        (all.filter(|s| !s.scenarios.is_empty()).count(), total)
    }

    /// `(covered, documented)` counts of error codes.
    pub fn code_counts(&self) -> (usize, usize) {
        let covered = self.error_codes.iter().filter(|c| !c.scenarios.is_empty()).count();
        (covered, self.error_codes.len())
    }
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "n/a".into()
    } else {
        format!("{:.0}%", a as f64 * 100.0 / b as f64)
    }
}

/// The coverage as aligned plain text for the terminal: one line per
/// (operation, status) with the scenarios hitting it (`-` when none), then
/// the error codes, then the totals.
pub fn render_table(c: &Coverage) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    for o in &c.operations {
        let op = format!("{} {}", o.method, o.path);
        for s in &o.statuses {
            rows.push([
                op.clone(),
                s.status.clone(),
                defang(&s.codes.join(", ")),
                hit_list(&s.scenarios),
            ]);
        }
        for s in &o.undocumented {
            rows.push([
                op.clone(),
                format!("{} (undocumented)", s.status),
                defang(&s.codes.join(", ")),
                hit_list(&s.scenarios),
            ]);
        }
    }
    let mut out = String::new();
    let header = [
        "operation".to_string(),
        "status".into(),
        "codes seen".into(),
        "scenarios".into(),
    ];
    let w: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        )
        .trim_end()
        .to_string()
    };
    let _ = writeln!(out, "{}", line(&header));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    if !c.error_codes.is_empty() {
        let wc = c.error_codes.iter().map(|e| e.code.len()).max().unwrap_or(0).max(10);
        let _ = writeln!(out, "\n{:<wc$}  scenarios", "error code");
        for e in &c.error_codes {
            let _ = writeln!(out, "{:<wc$}  {}", e.code, hit_list(&e.scenarios));
        }
    }
    if !c.documented.is_empty() {
        let wd = c
            .documented
            .iter()
            .map(|d| d.method.len() + 1 + d.path.len())
            .max()
            .unwrap_or(0)
            .max(20);
        let _ = writeln!(out, "\n{:<wd$}  in spec  scenarios", "documented operation");
        for d in &c.documented {
            let op = format!("{} {}", d.method, d.path);
            let spec = if d.in_spec { "yes" } else { "NO" };
            let _ = writeln!(out, "{op:<wd$}  {spec:<7}  {}", hit_list(&d.scenarios));
        }
    }
    let (sc, st) = c.status_counts();
    let (cc, ct) = c.code_counts();
    let _ = writeln!(
        out,
        "\ncovered: {sc}/{st} operation statuses ({}), {cc}/{ct} error codes ({})",
        pct(sc, st),
        pct(cc, ct)
    );
    if !c.documented.is_empty() {
        let (dc, dt) = c.documented_counts();
        let m = c.missing();
        let _ = writeln!(
            out,
            "documented operations: {dc}/{dt} in the spec and exercised ({}); {} missing from the spec, {} never exercised",
            pct(dc, dt),
            m.not_in_spec.len(),
            m.not_exercised.len()
        );
    }
    out
}

fn hit_list(s: &[String]) -> String {
    if s.is_empty() { "-".into() } else { s.join(", ") }
}

/// The coverage as GitHub-flavoured Markdown tables (cells escaped).
pub fn render_markdown(c: &Coverage) -> String {
    use super::markdown::{cell, code_cell};
    let mut out = String::new();
    let (sc, st) = c.status_counts();
    let (cc, ct) = c.code_counts();
    let _ = writeln!(
        out,
        "**Coverage:** {sc}/{st} operation statuses ({}), {cc}/{ct} error codes ({})\n",
        pct(sc, st),
        pct(cc, ct)
    );
    let _ = writeln!(
        out,
        "| Operation | Status | Codes seen | Scenarios |\n|---|---|---|---|"
    );
    for o in &c.operations {
        let op = code_cell(&format!("{} {}", o.method, o.path));
        let rows = o.statuses.iter().map(|s| (s, cell(&s.status))).chain(
            o.undocumented
                .iter()
                .map(|s| (s, format!("{} (undocumented)", cell(&s.status)))),
        );
        for (s, status) in rows {
            let hits = if s.scenarios.is_empty() {
                "❌ none".to_string()
            } else {
                s.scenarios.iter().map(|x| code_cell(x)).collect::<Vec<_>>().join(", ")
            };
            let codes = s.codes.iter().map(|x| code_cell(x)).collect::<Vec<_>>().join(", ");
            let _ = writeln!(out, "| {op} | {status} | {codes} | {hits} |");
        }
    }
    if !c.error_codes.is_empty() {
        let _ = writeln!(out, "\n| Error code | Scenarios |\n|---|---|");
        for e in &c.error_codes {
            let hits = if e.scenarios.is_empty() {
                "❌ none".to_string()
            } else {
                e.scenarios.iter().map(|x| code_cell(x)).collect::<Vec<_>>().join(", ")
            };
            let _ = writeln!(out, "| {} | {hits} |", code_cell(&e.code));
        }
    }
    if !c.documented.is_empty() {
        let (dc, dt) = c.documented_counts();
        let _ = writeln!(
            out,
            "\n**Documented operations:** {dc}/{dt} in the spec and exercised ({})\n",
            pct(dc, dt)
        );
        let _ = writeln!(out, "| Operation | In spec | Sources | Scenarios |\n|---|---|---|---|");
        for d in &c.documented {
            let op = code_cell(&format!("{} {}", d.method, d.path));
            let spec = if d.in_spec { "yes" } else { "❌ no" };
            let sources = d.sources.iter().map(|x| code_cell(x)).collect::<Vec<_>>().join(", ");
            let hits = if d.scenarios.is_empty() {
                "❌ none".to_string()
            } else {
                d.scenarios.iter().map(|x| code_cell(x)).collect::<Vec<_>>().join(", ")
            };
            let _ = writeln!(out, "| {op} | {spec} | {sources} | {hits} |");
        }
    }
    out
}
