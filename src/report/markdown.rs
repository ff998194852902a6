//! A Markdown summary fit for a PR comment or `$GITHUB_STEP_SUMMARY`:
//! totals table, failures with rule, doc link and first finding, the
//! departures from the reference server apart from them (folded when
//! long; never failures), scenarios that could not run, skipped ones and
//! why, money moved, and coverage when given.
//!
//! Everything that comes from run data is escaped (a hostile server's
//! message must not become markup, links, math or a broken table). Tables
//! are capped at [`MAX_ROWS`] rows so a comment stays under GitHub's size
//! limit. Returns a string; writes nothing.

use std::fmt::Write as _;

use super::coverage::{self, Coverage};
use super::model::{Outcome, RunReport, ScenarioReport};
use super::text::{
    STRICT_NOTE, departing, departures_phrase, doc_url, duration, first_finding, headline, level, money, outcome_label,
    short_value, target_kind, target_url,
};

/// The most rows in one table; the rest are counted in a closing line.
pub const MAX_ROWS: usize = 100;

/// The most characters of a rule or message shown in a cell.
const MAX_CELL: usize = 300;

/// The departures table is folded (`<details>`) past this many rows.
pub const FOLD_ROWS: usize = 10;

/// The most characters of an expected or actual value shown in a cell.
const MAX_VALUE: usize = 120;

/// Escapes text for inline Markdown: backslash before every character with
/// a meaning (`\ ` * _ [ ] < > | # ~ ! $ &`), line breaks become spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' | '$' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a table cell, cut to a readable length.
pub fn cell(text: &str) -> String {
    escape(&clip(text.trim(), MAX_CELL))
}

/// Text as a code span inside a table cell: literal, with `|` escaped for
/// the table and a fence longer than any backtick run inside.
pub fn code_cell(text: &str) -> String {
    code_span(text).replace('|', "\\|")
}

/// Text as an inline code span (outside tables).
pub fn code_span(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

fn clip(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        text
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// Markdown links for a scenario's `doc` entries (the entry as text, the
/// site page as target; entries without a page are plain text).
pub fn doc_links(docs: &[String]) -> String {
    docs.iter()
        .map(|d| match doc_url(d) {
            Some(u) => format!(
                "[{}]({})",
                escape(d),
                u.replace(')', "%29").replace(' ', "%20").replace('|', "%7C")
            ),
            None => escape(d),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole summary. `coverage` adds a collapsed coverage section.
pub fn render(r: &RunReport, coverage: Option<&Coverage>) -> String {
    let t = &r.totals;
    let mut out = String::new();
    let executed = super::gate::executed_line(r, r.min_executed);
    let (icon, verdict) = match super::gate::verdict_of(r) {
        super::Verdict::Failed => ("❌", format!("{} failed ({} must)", t.failed, t.failed_must)),
        super::Verdict::Unreachable => ("⚠️", format!("{} could not run", t.errored)),
        super::Verdict::TooLittleRan => ("⚠️", format!("too little ran: {executed}")),
        super::Verdict::Passed if t.failed > 0 => ("✅", format!("passed with {} should-level failure(s)", t.failed)),
        super::Verdict::Passed => ("✅", format!("{} of {} passed", t.passed, t.total)),
    };
    let verdict = if t.departures > 0 {
        format!("{verdict} · {}", departures_phrase(t))
    } else {
        verdict
    };
    let _ = writeln!(out, "## {icon} AgentGigs conformance: {}\n", escape(&verdict));
    let _ = writeln!(
        out,
        "The gate {}: a run that executes less than the minimum exits 4 (too little ran).\n",
        escape(&executed)
    );
    let target = match target_url(&r.target) {
        Some(url) => format!("{} ({})", code_span(url), escape(&target_kind(&r.target))),
        None => escape(&target_kind(&r.target)),
    };
    let reference = match &r.reference {
        Some(info) => format!("reference {} {}", escape(&info.title), escape(&info.version)),
        None => "no reference layer".to_string(),
    };
    let _ = writeln!(
        out,
        "Target {target} · spec {} {} · {reference} · started {} · {} · tool {}\n",
        escape(&r.spec.title),
        escape(&r.spec.version),
        escape(&r.started_at),
        escape(&duration(r.duration_ms)),
        escape(&r.tool_version),
    );
    if r.strict {
        let _ = writeln!(
            out,
            "> **Strict run** ({}): they appear under Failures, their message starting with \"{}\".\n",
            escape(STRICT_NOTE),
            escape(super::model::STRICT_PREFIX.trim_end())
        );
    }
    let _ = writeln!(
        out,
        "| Total | ✅ Passed | ❌ Failed | ⏭️ Skipped | ⚠️ Could not run | Must failures | Steps | Requests | 🔸 Departures |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        t.total,
        t.passed,
        t.failed,
        t.skipped,
        t.errored,
        t.failed_must,
        t.steps,
        t.requests,
        departures_cell(r)
    );

    let failed: Vec<&ScenarioReport> = r.scenarios.iter().filter(|s| s.outcome.is_failed()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "### Failures ({})\n", failed.len());
        let _ = writeln!(
            out,
            "| Scenario | Area | Level | Rule | Docs | First finding |\n|---|---|---|---|---|---|"
        );
        for s in failed.iter().take(MAX_ROWS) {
            let finding = match first_finding(s) {
                Some((st, f)) => format!(
                    "{} (step {} at {})",
                    cell(&f.message),
                    st.index,
                    code_cell(&st.location)
                ),
                None => cell(&headline(s)),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                code_cell(&s.id),
                cell(&s.area),
                level(s.level),
                s.rule.as_deref().map(cell).unwrap_or_default(),
                doc_links(&s.doc),
                finding
            );
        }
        more(&mut out, failed.len());
    }
    departures_section(&mut out, r);
    let errored: Vec<&ScenarioReport> = r
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Errored { .. }))
        .collect();
    if !errored.is_empty() {
        let _ = writeln!(out, "### Could not run ({})\n", errored.len());
        let _ = writeln!(out, "| Scenario | Area | Why |\n|---|---|---|");
        for s in errored.iter().take(MAX_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code_cell(&s.id),
                cell(&s.area),
                cell(&headline(s))
            );
        }
        more(&mut out, errored.len());
    }
    let skipped: Vec<&ScenarioReport> = r
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Skipped { .. }))
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "### Skipped ({})\n", skipped.len());
        let _ = writeln!(out, "| Scenario | Area | Reason |\n|---|---|---|");
        for s in skipped.iter().take(MAX_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code_cell(&s.id),
                cell(&s.area),
                cell(&headline(s))
            );
        }
        more(&mut out, skipped.len());
    }
    if !r.money.is_empty() {
        let total: i64 = r.money.iter().map(|m| m.cents).sum();
        let _ = writeln!(out, "### Money moved: {}\n", escape(&money(total)));
        let _ = writeln!(out, "| Scenario | Actor | Amount |\n|---|---|---:|");
        for m in r.money.iter().take(MAX_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code_cell(&m.scenario),
                cell(&m.actor),
                escape(&money(m.cents))
            );
        }
        more(&mut out, r.money.len());
    }
    if let Some(c) = coverage {
        let _ = writeln!(out, "<details><summary>Coverage</summary>\n");
        out.push_str(&coverage::render_markdown(c));
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// The departures cell of the totals table: `4 (3 scenarios)`, `0`, or
/// `strict` (departures were counted as failures).
fn departures_cell(r: &RunReport) -> String {
    let t = &r.totals;
    if r.strict {
        "strict".to_string()
    } else if t.departures == 0 {
        "0".to_string()
    } else {
        format!(
            "{} ({} scenario{})",
            t.departures,
            t.departing,
            if t.departing == 1 { "" } else { "s" }
        )
    }
}

/// Departures from the reference server: one table row per departure
/// (scenario, step with its location, what differs, expected, actual,
/// docs), folded when longer than [`FOLD_ROWS`], capped at [`MAX_ROWS`].
fn departures_section(out: &mut String, r: &RunReport) {
    let departing = departing(r);
    if departing.is_empty() {
        return;
    }
    let t = &r.totals;
    let _ = writeln!(
        out,
        "### 🔸 Departures from the reference server ({} in {} scenario{})\n",
        t.departures,
        t.departing,
        if t.departing == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "Where the docs are silent, these responses differ from what our reference server does. \
         They are reported, not failures: they fail no scenario and no run (`--strict` would count them).\n"
    );
    let fold = t.departures > FOLD_ROWS;
    if fold {
        let _ = writeln!(
            out,
            "<details><summary>{} departures from the reference server</summary>\n",
            t.departures
        );
    }
    let _ = writeln!(
        out,
        "| Scenario | Step | What differs | Expected | Actual | Docs |\n|---|---|---|---|---|---|"
    );
    let value = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(|v| code_cell(&short_value(v, MAX_VALUE)))
            .unwrap_or_default()
    };
    let mut rows = 0;
    for s in departing {
        for (st, f) in s.departures() {
            rows += 1;
            if rows > MAX_ROWS {
                continue;
            }
            let _ = writeln!(
                out,
                "| {} ({}, {}) | step {} \"{}\" at {} | {} | {} | {} | {} |",
                code_cell(&s.id),
                level(s.level),
                outcome_label(&s.outcome),
                st.index,
                cell(&st.name),
                code_cell(&st.location),
                cell(&f.message),
                value(&f.expected),
                value(&f.actual),
                doc_links(&s.doc)
            );
        }
    }
    if rows > MAX_ROWS {
        let _ = writeln!(out, "\n…and {} more (see the full report).", rows - MAX_ROWS);
    }
    if fold {
        let _ = writeln!(out, "\n</details>");
    }
    out.push('\n');
}

fn more(out: &mut String, n: usize) {
    if n > MAX_ROWS {
        let _ = writeln!(out, "\n…and {} more (see the full report).", n - MAX_ROWS);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_pipes() {
        assert_eq!(escape("a|b <script>"), "a\\|b \\<script\\>");
        assert_eq!(escape("line1\nline2"), "line1 line2");
        assert_eq!(escape("$5 and $6"), "\\$5 and \\$6");
        assert_eq!(code_cell("a|b"), "`a\\|b`");
        assert_eq!(code_span("a`b"), "``a`b``");
    }
}
