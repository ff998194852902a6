//! Coverage: which documented (operation, status) pairs and error codes a
//! run's responses exercised, and by which scenarios.
//!
//! Computed from [`ScenarioReport`]s (each step's `operation` and
//! `response`); the documented operations and codes come from the caller
//! (the spec room). Runs nothing; renders to strings.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::ScenarioReport;
use super::text::defang;

/// Coverage of documented operations, statuses and error codes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// One entry per documented operation, in the order given.
    pub operations: Vec<OperationCoverage>,
    /// One entry per documented error code, in the order given.
    pub error_codes: Vec<CodeCoverage>,
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
}

impl Missing {
    /// True when everything documented was hit.
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty() && self.error_codes.is_empty()
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
        }
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
    let (sc, st) = c.status_counts();
    let (cc, ct) = c.code_counts();
    let _ = writeln!(
        out,
        "\ncovered: {sc}/{st} operation statuses ({}), {cc}/{ct} error codes ({})",
        pct(sc, st),
        pct(cc, ct)
    );
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
    out
}
