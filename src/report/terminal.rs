//! The terminal rendering: one block per failure with everything needed to
//! act without rerunning, and a run summary (with the departures from the
//! reference server in a section of their own, in yellow, never counted as
//! failures).
//!
//! Returns `String`s; never prints. Colors only when the caller's
//! [`TerminalStyle`] says so (the CLI decides: a terminal, and no `NO_COLOR`).

use std::fmt::Write as _;

use owo_colors::Style;
use serde_json::Value;
use similar::TextDiff;

use super::gate::Verdict;
use super::model::{Finding, Outcome, RunReport, ScenarioReport, StepReport};
use super::text::{
    STRICT_NOTE, by_area, clip_lines, compact, defanged, departing, departures_phrase, doc_url, duration,
    expected_actual, failing_steps, headline, is_structured, money, outcome_label, pointer_parent, pretty_body,
    request_line, serde_name, spec_words, status_text, target_kind, target_url,
};

pub use super::explain::render_explain;

/// Whether to color the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TerminalStyle {
    /// ANSI colors on or off.
    pub color: bool,
}

impl TerminalStyle {
    /// The usual decision: color only on a terminal, and never when
    /// `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    /// The caller passes `std::io::IsTerminal::is_terminal(&stdout)` and
    /// `std::env::var_os("NO_COLOR")`.
    pub fn detect(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Self {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        TerminalStyle {
            color: is_terminal && !no_color,
        }
    }

    fn paint(&self, text: impl std::fmt::Display, style: Style) -> String {
        if self.color {
            style.style(text).to_string()
        } else {
            text.to_string()
        }
    }
    fn red(&self, t: impl std::fmt::Display) -> String {
        self.paint(t, Style::new().red().bold())
    }
    fn green(&self, t: impl std::fmt::Display) -> String {
        self.paint(t, Style::new().green().bold())
    }
    fn yellow(&self, t: impl std::fmt::Display) -> String {
        self.paint(t, Style::new().yellow())
    }
    fn magenta(&self, t: impl std::fmt::Display) -> String {
        self.paint(t, Style::new().magenta().bold())
    }
    fn cyan(&self, t: impl std::fmt::Display) -> String {
        self.paint(t, Style::new().cyan())
    }
    fn bold(&self, t: impl std::fmt::Display) -> String {
        self.paint(t, Style::new().bold())
    }
    fn dim(&self, t: impl std::fmt::Display) -> String {
        self.paint(t, Style::new().dimmed())
    }
}

/// The icon of an outcome: `✓`, `✗`, `-`, `!`, colored.
fn icon(o: &Outcome, st: &TerminalStyle) -> String {
    match o {
        Outcome::Passed => st.green("✓"),
        Outcome::Failed => st.red("✗"),
        Outcome::Skipped { .. } => st.yellow("-"),
        Outcome::Errored { .. } => st.magenta("!"),
    }
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

/// Everything about one failed (or could-not-run) scenario: what it checks,
/// where it is written, the steps, and for each failing step the request,
/// the response, every finding with expected versus actual, pointers and
/// a diff of the relevant part of the body.
pub fn render_failure(s: &ScenarioReport, st: &TerminalStyle) -> String {
    let s = &defanged(s);
    let mut out = String::new();
    let verdict = match &s.outcome {
        Outcome::Failed => st.red("FAIL"),
        Outcome::Errored { .. } => st.magenta("COULD NOT RUN"),
        Outcome::Skipped { .. } => st.yellow("SKIPPED"),
        Outcome::Passed => st.green("PASS"),
    };
    let level = format!("[{}]", level_name(s));
    let _ = writeln!(
        out,
        "{} {verdict}  {}  {}",
        icon(&s.outcome, st),
        st.bold(&s.id),
        st.dim(level)
    );
    let _ = writeln!(out, "  {}", s.title);
    let _ = writeln!(out, "  {}  {}", st.dim("file "), s.file);
    if let Some(rule) = &s.rule {
        let rule = rule.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "  {}  {}", st.dim("rule "), rule);
    }
    for (i, d) in s.doc.iter().enumerate() {
        let label = if i == 0 { st.dim("docs ") } else { "     ".to_string() };
        match doc_url(d) {
            Some(u) => {
                let _ = writeln!(out, "  {label}  {d}  {}", st.cyan(u));
            }
            None => {
                let _ = writeln!(out, "  {label}  {d}");
            }
        }
    }
    match &s.outcome {
        Outcome::Errored { message } => {
            let _ = writeln!(out, "  {}  {}", st.dim("error"), st.magenta(message));
        }
        Outcome::Skipped { reason } => {
            let _ = writeln!(out, "  {}  {}", st.dim("why  "), reason);
        }
        _ => {}
    }
    if !s.steps.is_empty() {
        let _ = writeln!(out, "\n  {}", st.bold("steps"));
        for step in &s.steps {
            let resp = step
                .response
                .as_ref()
                .map(|r| format!(" → {}", status_text(r.status)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {} {:>2} {}  {}{}",
                icon(&step.outcome, st),
                step.index,
                step.name,
                st.dim(request_line(step)),
                resp
            );
        }
    }
    for step in failing_steps(s) {
        out.push('\n');
        out.push_str(&render_step_detail(step, st));
    }
    out
}

fn level_name(s: &ScenarioReport) -> &'static str {
    super::text::level(s.level)
}

fn render_step_detail(step: &StepReport, st: &TerminalStyle) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  {} {} \"{}\"", st.bold("step"), step.index, step.name);
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "    {}  {}", st.dim(format!("{k:<9}")), v);
    };
    row(&mut out, "at", &step.location);
    if let Some(a) = &step.actor {
        row(&mut out, "actor", a);
    }
    match &step.request {
        Some(r) => row(&mut out, "request", &format!("{} {}", r.method, r.url)),
        None => row(&mut out, "action", &request_line(step)),
    }
    if let Some(op) = &step.operation {
        row(&mut out, "operation", op);
    }
    if let Some(r) = &step.response {
        let mut parts = vec![status_text(r.status)];
        if let Some(ct) = &r.content_type {
            parts.push(ct.clone());
        }
        parts.push(format!("{} bytes", r.body_bytes));
        parts.push(format!("{} ms", r.elapsed_ms));
        row(&mut out, "response", &parts.join("  "));
    }
    if step.attempts > 1 || step.retries > 0 {
        row(
            &mut out,
            "attempts",
            &format!("{} sent, {} retried after 429", step.attempts, step.retries),
        );
    }
    for c in &step.skipped_checks {
        row(&mut out, "check off", c);
    }
    if let Outcome::Errored { message } = &step.outcome {
        row(&mut out, "error", &st.magenta(message));
    }
    if let Some(body) = step.request.as_ref().and_then(|r| r.body.as_ref()) {
        let _ = writeln!(out, "    {}", st.dim("request body"));
        let _ = writeln!(out, "{}", indent(&clip_lines(&pretty_body(body), 15), 6));
    }
    let body = step.response.as_ref().and_then(|r| r.body.as_ref());
    let mut showed_body = false;
    for f in &step.findings {
        out.push_str(&render_finding(f, body, st, &mut showed_body));
    }
    if !showed_body && let Some(b) = body {
        let _ = writeln!(out, "    {}", st.dim("response body"));
        let _ = writeln!(out, "{}", indent(&clip_lines(&pretty_body(b), 20), 6));
    }
    out
}

fn render_finding(f: &Finding, body: Option<&Value>, st: &TerminalStyle, showed_body: &mut bool) -> String {
    let mut out = String::new();
    let kind = serde_name(&f.kind);
    let _ = writeln!(
        out,
        "    {} {} {}",
        st.red("✗"),
        st.dim(format!("[{kind}]")),
        st.bold(&f.message)
    );
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "        {}  {}", st.dim(format!("{k:<9}")), v);
    };
    if let Some(e) = &f.expected {
        row(&mut out, "expected", &st.green(clip_lines(&compact(e), 1)));
    }
    if let Some(a) = &f.actual {
        row(&mut out, "actual", &st.red(clip_lines(&compact(a), 1)));
    }
    if let Some(p) = &f.body_pointer {
        row(&mut out, "body at", if p.is_empty() { "(root)" } else { p });
    }
    if let Some(p) = &f.schema_pointer {
        row(&mut out, "schema at", p);
    }
    // The relevant part of the body: a diff when the expectation is
    // structured, else the neighbourhood of the pointer.
    match (&f.expected, &f.actual) {
        (Some(e), Some(a)) if is_structured(e) || is_structured(a) => {
            out.push_str(&indent(&diff(e, a, st), 8));
            out.push('\n');
            *showed_body = true;
        }
        _ => {
            if let (Some(p), Some(b)) = (&f.body_pointer, body)
                && is_structured(b)
            {
                let (at, part) = relevant_part(b, p);
                let label = if at.is_empty() {
                    "response body".to_string()
                } else {
                    format!("response body at {at}")
                };
                let _ = writeln!(out, "        {}", st.dim(label));
                let _ = writeln!(out, "{}", indent(&clip_lines(&pretty_body(part), 15), 10));
                *showed_body = true;
            }
        }
    }
    out
}

/// The deepest existing value on the way to `pointer`, preferring its
/// parent so the key in question is shown in context.
fn relevant_part<'a, 'p>(body: &'a Value, pointer: &'p str) -> (&'p str, &'a Value) {
    let mut p = pointer_parent(pointer);
    loop {
        if let Some(v) = body.pointer(p) {
            return (p, v);
        }
        if p.is_empty() {
            return ("", body);
        }
        p = pointer_parent(p);
    }
}

/// A unified diff of two JSON values, pretty-printed.
fn diff(expected: &Value, actual: &Value, st: &TerminalStyle) -> String {
    let e = format!("{}\n", pretty_body(expected));
    let a = format!("{}\n", pretty_body(actual));
    let d = TextDiff::from_lines(&e, &a);
    let text = d
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string();
    let text = clip_lines(text.trim_end(), 40);
    text.lines()
        .map(|l| {
            if l.starts_with("---") || l.starts_with("+++") {
                st.bold(l)
            } else if l.starts_with('-') {
                st.green(l)
            } else if l.starts_with('+') {
                st.red(l)
            } else if l.starts_with("@@") {
                st.cyan(l)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The run at a glance: target, spec and reference layer (and `strict`),
/// totals with the departures, failures grouped by area, departures from
/// the reference server apart from them, scenarios that could not run, skipped scenarios with reasons, money
/// moved per actor, duration and the verdict.
pub fn render_summary(r: &RunReport, st: &TerminalStyle) -> String {
    let r = &defanged(r);
    let mut out = String::new();
    let t = &r.totals;
    let _ = writeln!(out, "{}", st.bold("AgentGigs conformance run"));
    let target = match target_url(&r.target) {
        Some(url) => format!("{url} ({})", target_kind(&r.target)),
        None => target_kind(&r.target),
    };
    let _ = writeln!(out, "  {}  {target}", st.dim("target   "));
    let _ = writeln!(out, "  {}  {}", st.dim("spec     "), spec_words(&r.spec));
    let reference = match &r.reference {
        Some(info) => spec_words(info),
        None => "none (no reference layer: only the scenarios' own reference expectations can depart)".to_string(),
    };
    let _ = writeln!(out, "  {}  {reference}", st.dim("reference"));
    if r.strict {
        let _ = writeln!(out, "  {}  {}", st.dim("mode     "), st.yellow(STRICT_NOTE));
    }
    let _ = writeln!(
        out,
        "  {}  {}   {} {}   {} {}",
        st.dim("started  "),
        r.started_at,
        st.dim("duration"),
        duration(r.duration_ms),
        st.dim("tool"),
        r.tool_version
    );
    out.push('\n');
    let must = if t.failed_must > 0 {
        format!(" ({} must)", t.failed_must)
    } else {
        String::new()
    };
    let layer = if r.strict {
        format!("  ·  {}", st.yellow("strict"))
    } else if t.departures > 0 {
        format!("  ·  {}", st.yellow(departures_phrase(t)))
    } else if r.reference.is_some() {
        "  ·  no departure from the reference server".to_string()
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  {} scenarios: {}, {}, {}, {}{layer}  ·  {} steps  ·  {} requests",
        t.total,
        st.green(format!("{} passed", t.passed)),
        if t.failed > 0 {
            st.red(format!("{} failed{must}", t.failed))
        } else {
            "0 failed".to_string()
        },
        st.yellow(format!("{} skipped", t.skipped)),
        if t.errored > 0 {
            st.magenta(format!("{} could not run", t.errored))
        } else {
            "0 could not run".to_string()
        },
        t.steps,
        t.requests
    );

    let failed: Vec<&ScenarioReport> = r.scenarios.iter().filter(|s| s.outcome.is_failed()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\n{}", st.bold("Failures by area"));
        for (area, list) in by_area(failed) {
            let _ = writeln!(out, "  {} ({})", st.bold(area), list.len());
            for s in list {
                let _ = writeln!(
                    out,
                    "    {} {} {}  {}",
                    icon(&s.outcome, st),
                    s.id,
                    st.dim(format!("[{}]", level_name(s))),
                    headline(s)
                );
                if let Some((step, _)) = super::text::first_finding(s) {
                    let _ = writeln!(out, "        {}", st.dim(&step.location));
                }
            }
        }
    }
    out.push_str(&render_departures(r, st));
    let errored: Vec<&ScenarioReport> = r
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Errored { .. }))
        .collect();
    if !errored.is_empty() {
        let _ = writeln!(out, "\n{}", st.bold("Could not run"));
        for s in errored {
            let _ = writeln!(out, "  {} {} ({})  {}", icon(&s.outcome, st), s.id, s.area, headline(s));
        }
    }
    let skipped: Vec<&ScenarioReport> = r
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Skipped { .. }))
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\n{}", st.bold("Skipped"));
        for s in skipped {
            let _ = writeln!(out, "  {} {} ({})  {}", icon(&s.outcome, st), s.id, s.area, headline(s));
        }
    }
    if !r.money.is_empty() {
        let _ = writeln!(out, "\n{}", st.bold("Money moved"));
        let w_s = r.money.iter().map(|m| m.scenario.chars().count()).max().unwrap_or(0);
        let w_a = r.money.iter().map(|m| m.actor.chars().count()).max().unwrap_or(0);
        for m in &r.money {
            let _ = writeln!(out, "  {:<w_s$}  {:<w_a$}  {:>12}", m.scenario, m.actor, money(m.cents));
        }
        let total: i64 = r.money.iter().map(|m| m.cents).sum();
        let _ = writeln!(
            out,
            "  {:<w$}  {:>12}",
            st.bold("total"),
            st.bold(money(total)),
            w = w_s + w_a + 2 + visible_extra(st)
        );
    }
    out.push('\n');
    let _ = writeln!(out, "{}", verdict(r, st));
    out
}

/// The most departure lines the summary lists; the rest are counted.
pub const MAX_DEPARTURE_LINES: usize = 50;

/// Departures from the reference server, apart from the failures: one
/// line per departure (step, location, message, expected versus actual),
/// grouped by scenario with its level, outcome and doc references; at most
/// [`MAX_DEPARTURE_LINES`] lines, the rest counted. Empty when there is none.
fn render_departures(r: &RunReport, st: &TerminalStyle) -> String {
    let mut out = String::new();
    let departing = departing(r);
    if departing.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\n{} {}",
        st.bold("Departures from the reference server"),
        st.dim(format!(
            "({} in {} scenario(s); reported, not failures)",
            r.totals.departures, r.totals.departing
        ))
    );
    let mut shown = 0;
    let total: usize = departing.iter().map(|s| s.departure_count()).sum();
    for s in departing {
        if shown >= MAX_DEPARTURE_LINES {
            break;
        }
        let docs = if s.doc.is_empty() {
            String::new()
        } else {
            format!("  {} {}", st.dim("docs"), s.doc.join(", "))
        };
        let _ = writeln!(
            out,
            "  {} {}{docs}",
            st.bold(&s.id),
            st.dim(format!("[{}, {}]", level_name(s), outcome_label(&s.outcome))),
        );
        for (step, f) in s.departures() {
            if shown >= MAX_DEPARTURE_LINES {
                break;
            }
            shown += 1;
            let ea = expected_actual(f, 60);
            let ea = if ea.is_empty() {
                ea
            } else {
                format!("  {}", st.dim(format!("({ea})")))
            };
            let _ = writeln!(
                out,
                "    {} step {} \"{}\" at {}  {} {}{ea}",
                st.yellow("~"),
                step.index,
                step.name,
                st.dim(&step.location),
                st.dim(format!("[{}]", serde_name(&f.kind))),
                f.message.split_whitespace().collect::<Vec<_>>().join(" "),
            );
        }
    }
    if total > shown {
        let _ = writeln!(
            out,
            "  … and {} more departure(s) (see the JSON or HTML report)",
            total - shown
        );
    }
    out
}

/// Extra width ANSI codes add to a bold label, so padding stays aligned.
fn visible_extra(st: &TerminalStyle) -> usize {
    st.bold("total").len() - "total".len()
}

fn verdict(r: &RunReport, st: &TerminalStyle) -> String {
    let t = &r.totals;
    let should_failed = t.failed.saturating_sub(t.failed_must);
    let notes = {
        let mut n = Vec::new();
        if should_failed > 0 {
            n.push(format!("{should_failed} should-level failure(s) reported"));
        }
        if t.skipped > 0 {
            n.push(format!("{} skipped", t.skipped));
        }
        if t.departures > 0 {
            n.push(format!(
                "{} from the reference server, not failures",
                if t.departures == 1 {
                    "1 departure".to_string()
                } else {
                    format!("{} departures", t.departures)
                }
            ));
        }
        if n.is_empty() {
            String::new()
        } else {
            format!(" ({})", n.join(", "))
        }
    };
    let executed = super::gate::executed_line(r, r.min_executed);
    let line = match super::gate::verdict_of(r) {
        Verdict::Failed => format!(
            "{} {} must-level failure(s){notes} in {}",
            st.red("FAILED:"),
            t.failed_must,
            duration(r.duration_ms)
        ),
        Verdict::Unreachable => format!(
            "{} {} scenario(s) could not run{notes} in {}",
            st.magenta("INCOMPLETE:"),
            t.errored,
            duration(r.duration_ms)
        ),
        Verdict::TooLittleRan => format!(
            "{} {executed}{notes} in {} (exit code 4)",
            st.magenta("TOO LITTLE RAN:"),
            duration(r.duration_ms)
        ),
        Verdict::Passed => format!(
            "{} {} of {} scenario(s){notes} in {}",
            st.green("PASSED:"),
            t.passed,
            t.total,
            duration(r.duration_ms)
        ),
    };
    format!("{line}\n  {executed}")
}
