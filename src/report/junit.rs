//! JUnit XML for CI test views (quick-junit): one `<testsuite>` per area,
//! one `<testcase>` per scenario (name = scenario id, classname = area).
//!
//! A failed scenario is a `<failure>` whose message is its first finding and
//! whose text lists every finding of every failing step (location, request
//! line, expected/actual); a skipped one is `<skipped>` with its reason; one
//! that could not run is an `<error>`.
//!
//! A departure from the reference server is never a `<failure>`: a
//! scenario's departures go to its test case's `<system-out>` (one block
//! of text lines per departure) and to `<property name="departure">`s,
//! and each suite carries the departure counts as properties. In a strict
//! run the departures are findings already, so they are failures there.
//! Returns a string; writes nothing.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::ReportError;
use super::model::{Finding, Outcome, RunReport, ScenarioReport};
use super::text::{
    by_area, compact, doc_url, expected_actual, failing_steps, first_finding, headline, request_line, serde_name,
    status_text,
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
        let suite_departures: usize = scenarios.iter().map(|s| s.departure_count()).sum();
        let suite_departing = scenarios.iter().filter(|s| s.departure_count() > 0).count();
        suite.add_properties([
            Property::new(
                "reference",
                match &r.reference {
                    Some(info) => format!("{} {} ({})", info.title, info.version, info.path),
                    None => "none".to_string(),
                },
            ),
            Property::new("strict", r.strict.to_string()),
            Property::new("departures", suite_departures.to_string()),
            Property::new("departing", suite_departing.to_string()),
            Property::new("run_departures", r.totals.departures.to_string()),
            Property::new("run_departing", r.totals.departing.to_string()),
            Property::new("must_executed", r.totals.must_executed.to_string()),
            Property::new("must_total", r.totals.must_total.to_string()),
            Property::new("min_executed_percent", r.min_executed.to_string()),
            Property::new("verdict", super::gate::verdict_of(r).word()),
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
    if s.departure_count() > 0 {
        for (st, f) in s.departures() {
            let ea = expected_actual(f, 200);
            let ea = if ea.is_empty() { ea } else { format!(" ({ea})") };
            tc.add_property(Property::new(
                "departure",
                format!(
                    "step {} \"{}\" at {}: {}{ea}",
                    st.index, st.name, st.location, f.message
                ),
            ));
        }
        tc.set_system_out(departures_text(s));
    }
    tc
}

/// Every departure from the reference server of a scenario, as text lines:
/// the scenario and its docs, then per departure its step, location,
/// message and expected versus actual.
fn departures_text(s: &ScenarioReport) -> String {
    let mut out = String::new();
    let n = s.departure_count();
    let _ = writeln!(
        out,
        "{} departs from the reference server ({n} departure{}; reported, not failures)",
        s.id,
        if n == 1 { "" } else { "s" }
    );
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
    for st in s.steps.iter().filter(|st| !st.departures.is_empty()) {
        let _ = writeln!(out, "\nstep {} \"{}\" at {}", st.index, st.name, st.location);
        let resp = st
            .response
            .as_ref()
            .map(|r| format!(" -> {}", status_text(r.status)))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}{resp}", request_line(st));
        for f in &st.departures {
            finding_lines(&mut out, f);
        }
    }
    out
}

/// A finding (or departure) as indented text lines.
fn finding_lines(out: &mut String, f: &Finding) {
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
            finding_lines(&mut out, f);
        }
    }
    out
}
