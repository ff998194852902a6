//! JUnit XML for CI test views (quick-junit): one `<testsuite>` per area,
//! one `<testcase>` per scenario (name = scenario id, classname = area).
//!
//! A failed scenario is a `<failure>` whose message is its first finding and
//! whose text lists every finding of every failing step (location, request
//! line, expected/actual); a skipped one is `<skipped>` with its reason; one
//! that could not run is an `<error>`. Returns a string; writes nothing.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::ReportError;
use super::model::{Outcome, RunReport, ScenarioReport};
use super::text::{
    by_area, compact, doc_url, failing_steps, first_finding, headline, request_line, serde_name, status_text,
};

/// The run as JUnit XML.
pub fn to_junit(r: &RunReport) -> Result<String, ReportError> {
    let mut report = Report::new("agentgigs-conformance");
    let timestamp = chrono::DateTime::parse_from_rfc3339(&r.started_at).ok();
    if let Some(ts) = timestamp {
        report.set_timestamp(ts);
    }
    report.set_time(Duration::from_millis(r.duration_ms));
    for (area, scenarios) in by_area(&r.scenarios) {
        let mut suite = TestSuite::new(area);
        if let Some(ts) = timestamp {
            suite.set_timestamp(ts);
        }
        suite.set_time(Duration::from_millis(scenarios.iter().map(|s| s.duration_ms).sum()));
        suite.add_properties([
            Property::new("target", &r.target.base_url),
            Property::new("spec", format!("{} {}", r.spec.title, r.spec.version)),
            Property::new("spec_sha256", &r.spec.sha256),
            Property::new("tool_version", &r.tool_version),
        ]);
        for s in scenarios {
            suite.add_test_case(test_case(s));
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|e| ReportError::Junit(e.to_string()))
}

fn test_case(s: &ScenarioReport) -> TestCase {
    let status = match &s.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Failed => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(headline(s));
            if let Some((_, f)) = first_finding(s) {
                st.set_type(serde_name(&f.kind));
            }
            st.set_description(failure_text(s));
            st
        }
        Outcome::Skipped { reason } => {
            let mut st = TestCaseStatus::skipped();
            st.set_message(reason.as_str());
            st
        }
        Outcome::Errored { message } => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(message.as_str());
            st.set_type("could_not_run");
            st.set_description(failure_text(s));
            st
        }
    };
    let mut tc = TestCase::new(s.id.as_str(), status);
    tc.set_classname(s.area.as_str());
    tc.set_time(Duration::from_millis(s.duration_ms));
    tc.set_assertions(s.steps.iter().map(|st| st.findings.len().max(1)).sum());
    tc.add_property(Property::new("level", super::text::level(s.level)));
    tc.add_property(Property::new("file", s.file.as_str()));
    tc
}

/// Every finding of every failing step, with where and what.
fn failure_text(s: &ScenarioReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", s.id, s.title);
    if let Some(rule) = &s.rule {
        let _ = writeln!(out, "rule: {}", rule.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    for d in &s.doc {
        match doc_url(d) {
            Some(u) => {
                let _ = writeln!(out, "doc: {d} ({u})");
            }
            None => {
                let _ = writeln!(out, "doc: {d}");
            }
        }
    }
    if let Outcome::Errored { message } = &s.outcome {
        let _ = writeln!(out, "could not run: {message}");
    }
    for st in failing_steps(s) {
        let _ = writeln!(out, "\nstep {} \"{}\" at {}", st.index, st.name, st.location);
        let resp = st
            .response
            .as_ref()
            .map(|r| format!(" -> {}", status_text(r.status)))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}{resp}", request_line(st));
        if let Some(op) = &st.operation {
            let _ = writeln!(out, "  operation: {op}");
        }
        if let Outcome::Errored { message } = &st.outcome {
            let _ = writeln!(out, "  error: {message}");
        }
        for f in &st.findings {
            let _ = writeln!(out, "  - [{}] {}", serde_name(&f.kind), f.message);
            if let Some(e) = &f.expected {
                let _ = writeln!(out, "      expected: {}", compact(e));
            }
            if let Some(a) = &f.actual {
                let _ = writeln!(out, "      actual:   {}", compact(a));
            }
            if let Some(p) = &f.body_pointer {
                let _ = writeln!(out, "      body at:  {p}");
            }
            if let Some(p) = &f.schema_pointer {
                let _ = writeln!(out, "      schema:   {p}");
            }
        }
    }
    out
}
