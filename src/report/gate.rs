//! The verdict of a finished run: what a CI gate should conclude from it.
//!
//! In order: a must-level failure fails the run; a run that could not reach
//! its target is unreachable; a run that executed fewer must-level
//! scenarios than the minimum ran too little (a gate must not turn green
//! by skipping); otherwise it passed. Departures from the reference server
//! never fail a run (`--strict` has already turned them into failures).

use super::model::RunReport;

/// What a finished run comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every must-level scenario that ran passed, and enough of them ran.
    Passed,
    /// At least one must-level failure.
    Failed,
    /// Some scenarios could not reach the target.
    Unreachable,
    /// Fewer must-level scenarios ran than the minimum asks.
    TooLittleRan,
}

impl Verdict {
    /// The process exit code: 0 passed, 1 failures, 3 unreachable, 4 too
    /// little ran (2 is bad usage, decided before any run).
    pub const fn exit_code(self) -> u8 {
        match self {
            Verdict::Passed => 0,
            Verdict::Failed => 1,
            Verdict::Unreachable => 3,
            Verdict::TooLittleRan => 4,
        }
    }

    /// One word for summaries.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Passed => "PASSED",
            Verdict::Failed => "FAILED",
            Verdict::Unreachable => "UNREACHABLE",
            Verdict::TooLittleRan => "TOO LITTLE RAN",
        }
    }
}

/// The default minimum share of must-level scenarios that must run, in
/// percent: all of them against the bundled server (a skip there is a bug),
/// half against a deployment (which may lack a control API or accounts).
pub fn default_min_executed(bundled: bool) -> u8 {
    if bundled { 100 } else { 50 }
}

/// The share of must-level scenarios that ran, in percent (100 when none was selected).
pub fn executed_percent(report: &RunReport) -> f64 {
    let t = &report.totals;
    if t.must_total == 0 {
        100.0
    } else {
        t.must_executed as f64 * 100.0 / t.must_total as f64
    }
}

/// The verdict of a run, with the minimum share it recorded.
pub fn verdict_of(report: &RunReport) -> Verdict {
    verdict(report, report.min_executed)
}

/// The verdict of a run, with `min_executed` percent of the must-level
/// scenarios required to run.
pub fn verdict(report: &RunReport, min_executed: u8) -> Verdict {
    let t = &report.totals;
    if t.failed_must > 0 {
        Verdict::Failed
    } else if t.errored > 0 {
        Verdict::Unreachable
    } else if executed_percent(report) + 1e-9 < f64::from(min_executed.min(100)) {
        Verdict::TooLittleRan
    } else {
        Verdict::Passed
    }
}

/// "ran 12 of 58 must-level scenarios (21%; the minimum is 50%)".
pub fn executed_line(report: &RunReport, min_executed: u8) -> String {
    let t = &report.totals;
    format!(
        "ran {} of {} must-level scenarios ({:.0}%; the minimum is {}%)",
        t.must_executed,
        t.must_total,
        executed_percent(report),
        min_executed.min(100)
    )
}
