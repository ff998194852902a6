//! Reports: renderings of a [`model::RunReport`] for people and for CI.
//!
//! One file per format: [`terminal`], [`json`], [`junit`], [`markdown`],
//! [`html`]; [`coverage`] computes which documented (operation, status)
//! pairs and error codes a run exercised. This room reads run data and runs
//! nothing: no HTTP, no scenario execution, no printing. Renderers return
//! `String`s; [`write_report`] writes one to a path the caller chose.

pub mod coverage;
mod explain;
pub mod gate;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod state;
pub mod terminal;
mod text;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use coverage::Coverage;
pub use gate::Verdict;
pub use model::*;
pub use state::RunState;
pub use terminal::TerminalStyle;
pub use text::doc_url;

/// Errors of the report room.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A format name that is not one of ours.
    #[error("unknown report format `{0}`: expected one of `terminal`, `json`, `junit`, `markdown` (`md`), `html`")]
    UnknownFormat(String),
    /// Writing the report file (or creating its directory) failed.
    #[error("cannot write report `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON report that does not parse into a [`RunReport`].
    #[error("invalid JSON report at `{pointer}`: {message}")]
    InvalidJson { pointer: String, message: String },
    /// A JSON report of another format version.
    #[error("unsupported JSON report `schema_version` {found}: this tool reads version {expected}")]
    SchemaVersion { found: u64, expected: u32 },
    /// The JUnit serialiser failed.
    #[error("cannot serialise the JUnit report: {0}")]
    Junit(String),
}

/// The formats a run can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text as on the terminal (no colors in files).
    Terminal,
    /// The [`RunReport`] as JSON (`schemas/run-report.schema.json`).
    Json,
    /// JUnit XML for CI test views.
    Junit,
    /// GitHub-flavoured Markdown for a PR comment or `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// One self-contained HTML page.
    Html,
}

impl Format {
    /// All formats, in the order shown in help texts.
    pub const ALL: [Format; 5] = [
        Format::Terminal,
        Format::Json,
        Format::Junit,
        Format::Markdown,
        Format::Html,
    ];

    /// The canonical name (`junit`, `markdown`, ...), accepted by `FromStr`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Terminal => "terminal",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Terminal => "txt",
            Format::Json => "json",
            Format::Junit => "xml",
            Format::Markdown => "md",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = ReportError;

    /// Case-insensitive: `terminal` (`text`), `json`, `junit` (`xml`),
    /// `markdown` (`md`), `html`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "terminal" | "text" | "txt" => Ok(Format::Terminal),
            "json" => Ok(Format::Json),
            "junit" | "xml" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            _ => Err(ReportError::UnknownFormat(s.to_string())),
        }
    }
}

/// Renders `report` in `format` to a string. `coverage` is used by the
/// formats that show it (terminal, Markdown, HTML) and ignored by the
/// others (JSON and JUnit carry run data only).
pub fn render(format: Format, report: &RunReport, coverage: Option<&Coverage>) -> Result<String, ReportError> {
    Ok(match format {
        Format::Terminal => {
            let style = TerminalStyle { color: false };
            let mut out = String::new();
            for s in report.scenarios.iter().filter(|s| needs_detail(s)) {
                out.push_str(&terminal::render_failure(s, &style));
                out.push('\n');
            }
            out.push_str(&terminal::render_summary(report, &style));
            if let Some(c) = coverage {
                out.push('\n');
                out.push_str(&coverage::render_table(c));
            }
            out
        }
        Format::Json => json::to_json(report),
        Format::Junit => junit::to_junit(report)?,
        Format::Markdown => markdown::render(report, coverage),
        Format::Html => html::render(report, coverage),
    })
}

/// Writes `report` in `format` to `path`, creating parent directories.
pub fn write_report(
    format: Format,
    report: &RunReport,
    coverage: Option<&Coverage>,
    path: &Path,
) -> Result<(), ReportError> {
    let text = render(format, report, coverage)?;
    let write_err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    std::fs::write(path, text).map_err(write_err)
}

/// Counts the scenarios' outcomes, steps and requests. The runner may use
/// it to fill [`RunReport::totals`]; the counts add up by construction.
pub fn tally(scenarios: &[ScenarioReport]) -> Totals {
    let mut t = Totals {
        total: scenarios.len(),
        ..Totals::default()
    };
    for s in scenarios {
        match &s.outcome {
            Outcome::Passed => t.passed += 1,
            Outcome::Failed => {
                t.failed += 1;
                let strict_departure = s
                    .steps
                    .iter()
                    .any(|st| st.findings.iter().any(|f| f.message.starts_with(model::STRICT_PREFIX)));
                if s.level == crate::scenario::Level::Must || strict_departure {
                    t.failed_must += 1;
                }
            }
            Outcome::Skipped { .. } => t.skipped += 1,
            Outcome::Errored { .. } => t.errored += 1,
        }
        for st in &s.steps {
            if !matches!(st.outcome, Outcome::Skipped { .. }) {
                t.steps += 1;
            }
            t.requests += st.attempts as usize;
        }
        if s.level == crate::scenario::Level::Must {
            t.must_total += 1;
            if matches!(s.outcome, Outcome::Passed | Outcome::Failed) {
                t.must_executed += 1;
            }
        }
        let departures = s.departure_count();
        t.departures += departures;
        if departures > 0 {
            t.departing += 1;
        }
    }
    t
}

/// True for scenarios whose details a reader needs: failed or could not run.
pub(crate) fn needs_detail(s: &ScenarioReport) -> bool {
    matches!(s.outcome, Outcome::Failed | Outcome::Errored { .. })
}
