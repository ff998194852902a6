//! Wording shared by every format: outcome labels, money, durations, doc
//! links, the failing step of a scenario. Pure functions over run data;
//! no escaping here (each format escapes for its own syntax).

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::{Finding, Outcome, RunReport, ScenarioReport, SpecInfo, StepReport, TargetInfo, Totals};

/// Where the documentation named in a scenario's `doc` lives on the web.
///
/// `llms.txt#section` → `https://www.agentgigs.io/llms.txt`,
/// `docs/api#section` → `https://www.agentgigs.io/docs/api` (the section
/// is dropped: the pages have no stable anchors), an `https://` URL → itself.
/// `openapi:...` references and anything else → `None`.
pub fn doc_url(doc: &str) -> Option<String> {
    const SITE: &str = "https://www.agentgigs.io";
    let doc = doc.trim();
    if doc.starts_with("https://") || doc.starts_with("http://") {
        return Some(doc.to_string());
    }
    let page = doc.split('#').next().unwrap_or("").trim_start_matches('/');
    if page.is_empty() || page.contains(':') || page.contains(char::is_whitespace) {
        return None;
    }
    if page == "llms.txt" || page == "llms-full.txt" || page.starts_with("docs/") || page == "docs" {
        return Some(format!("{SITE}/{page}"));
    }
    None
}

/// The target in words, without the URL: `bundled reference server,
/// sandbox` for the in-process server (whose `base_url` is only the word
/// `bundled`: each scenario gets its own server), `remote, sandbox` else.
/// The caller shows the URL first for remote targets (see [`target_url`]).
pub(crate) fn target_kind(t: &TargetInfo) -> String {
    let kind = if t.kind == "bundled" {
        "bundled reference server"
    } else {
        t.kind.as_str()
    };
    if t.sandbox {
        format!("{kind}, sandbox")
    } else {
        kind.to_string()
    }
}

/// The target's URL worth showing: `None` for the bundled server.
pub(crate) fn target_url(t: &TargetInfo) -> Option<&str> {
    (t.kind != "bundled" && !t.base_url.is_empty()).then_some(t.base_url.as_str())
}

/// `passed`, `failed`, `skipped`, `could not run`.
pub(crate) fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped { .. } => "skipped",
        Outcome::Errored { .. } => "could not run",
    }
}

/// `must`, `should` or `reference`.
pub(crate) fn level(l: crate::scenario::Level) -> &'static str {
    l.as_str()
}

/// A short machine-friendly key: `passed`, `failed`, `skipped`, `errored`.
pub(crate) fn outcome_key(o: &Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped { .. } => "skipped",
        Outcome::Errored { .. } => "errored",
    }
}

/// Integer USD cents as dollars: `$12.50`, `-$0.05`.
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}${}.{:02}", group_thousands(abs / 100), abs % 100)
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `850 ms`, `12.3 s`, `2 min 05 s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        let s = ms / 1000;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// Steps worth showing in detail: those with findings or that failed.
pub(crate) fn failing_steps(s: &ScenarioReport) -> impl Iterator<Item = &StepReport> {
    s.steps
        .iter()
        .filter(|st| !st.findings.is_empty() || !matches!(st.outcome, Outcome::Passed | Outcome::Skipped { .. }))
}

/// The first finding of a scenario, with its step.
pub(crate) fn first_finding(s: &ScenarioReport) -> Option<(&StepReport, &Finding)> {
    s.steps.iter().find_map(|st| st.findings.first().map(|f| (st, f)))
}

/// One line saying why a scenario did not pass: the first finding's message,
/// the skip reason, or the error message.
pub(crate) fn headline(s: &ScenarioReport) -> String {
    match &s.outcome {
        Outcome::Skipped { reason } => reason.clone(),
        Outcome::Errored { message } => message.clone(),
        _ => match first_finding(s) {
            Some((_, f)) => f.message.clone(),
            None => s
                .steps
                .iter()
                .find_map(|st| match &st.outcome {
                    Outcome::Errored { message } => Some(message.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
        },
    }
}

/// Scenarios with at least one departure from the reference server, in
/// run order (whatever their outcome: a passed scenario may depart).
pub(crate) fn departing(r: &RunReport) -> Vec<&ScenarioReport> {
    r.scenarios.iter().filter(|s| s.departure_count() > 0).collect()
}

/// `3 scenarios depart from the reference server (12 departures)`, in the
/// singular where it is one.
pub(crate) fn departures_phrase(t: &Totals) -> String {
    let scenarios = if t.departing == 1 {
        "1 scenario departs".to_string()
    } else {
        format!("{} scenarios depart", t.departing)
    };
    let departures = if t.departures == 1 {
        "1 departure".to_string()
    } else {
        format!("{} departures", t.departures)
    };
    format!("{scenarios} from the reference server ({departures})")
}

/// A spec in words: `AgentGigs API 1.4.0 (OpenAPI 3.0.3, specs/x.yaml, sha256 9f86d081884c)`.
pub(crate) fn spec_words(s: &SpecInfo) -> String {
    let sha: String = s.sha256.chars().take(12).collect();
    format!(
        "{} {} (OpenAPI {}, {}, sha256 {sha})",
        s.title, s.version, s.openapi, s.path
    )
}

/// What `--strict` did, in one sentence.
pub(crate) const STRICT_NOTE: &str = "strict: departures from the reference server counted as failures";

/// The first line of a value as compact JSON, cut to `max` characters.
pub(crate) fn short_value(v: &Value, max: usize) -> String {
    let text = compact(v);
    if text.chars().count() <= max {
        text
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// `expected 31, actual 35` for a finding that has either; empty else.
pub(crate) fn expected_actual(f: &Finding, max: usize) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &f.expected {
        parts.push(format!("expected {}", short_value(e, max)));
    }
    if let Some(a) = &f.actual {
        parts.push(format!("actual {}", short_value(a, max)));
    }
    parts.join(", ")
}

/// `as agent: POST https://host/api/jobs/1/apply` (or the template or kind
/// when nothing was sent).
pub(crate) fn request_line(st: &StepReport) -> String {
    let who = st.actor.as_deref().map(|a| format!("as {a}: ")).unwrap_or_default();
    match (&st.request, &st.path_template) {
        (Some(r), _) => format!("{who}{} {}", r.method, r.url),
        (None, Some(t)) => format!("{who}{} {t}", st.kind),
        (None, None) => format!("{who}{}", st.kind),
    }
}

/// `→ 403 Forbidden` style status text: `403 Forbidden`.
pub(crate) fn status_text(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    };
    if reason.is_empty() {
        status.to_string()
    } else {
        format!("{status} {reason}")
    }
}

/// The serde name of a unit enum value (`FindingKind::Schema` → `schema`).
pub(crate) fn serde_name<T: serde::Serialize>(t: &T) -> String {
    match serde_json::to_value(t) {
        Ok(Value::String(s)) => s,
        Ok(other) => compact(&other),
        Err(_) => String::new(),
    }
}

/// A value as compact JSON (`403`, `"open"`, `{"a":1}`).
pub(crate) fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A value as indented JSON; a JSON string body is shown as its text.
pub(crate) fn pretty_body(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// True when a value is an object or an array (worth a diff).
pub(crate) fn is_structured(v: &Value) -> bool {
    matches!(v, Value::Object(_) | Value::Array(_))
}

/// At most `max` lines of `text`, with a note of how many were cut.
pub(crate) fn clip_lines(text: &str, max: usize) -> String {
    let total = text.lines().count();
    if total <= max {
        return text.to_string();
    }
    let mut out: Vec<&str> = text.lines().take(max).collect();
    let note = format!("… {} more lines", total - max);
    out.push(&note);
    out.join("\n")
}

/// Scenarios grouped by area, areas in alphabetical order, scenarios in
/// run order.
pub(crate) fn by_area<'a>(
    scenarios: impl IntoIterator<Item = &'a ScenarioReport>,
) -> BTreeMap<&'a str, Vec<&'a ScenarioReport>> {
    let mut map: BTreeMap<&str, Vec<&ScenarioReport>> = BTreeMap::new();
    for s in scenarios {
        map.entry(s.area.as_str()).or_default().push(s);
    }
    map
}

/// Makes control characters in text visible and inert for a terminal:
/// ESC and the other C0/C1 controls (except newline and tab) become
/// `\u{1b}`-style text, so a hostile server cannot move the cursor, set
/// the title or hide lines.
pub(crate) fn defang(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A copy of `t` with every string (and object key) passed through
/// [`defang`]; `t` itself when nothing needed it.
pub(crate) fn defanged<T: serde::Serialize + serde::de::DeserializeOwned + Clone>(t: &T) -> T {
    fn walk(v: &mut Value, changed: &mut bool) {
        match v {
            Value::String(s) if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
                *s = defang(s);
                *changed = true;
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, changed)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut child) in entries {
                    walk(&mut child, changed);
                    let k2 = defang(&k);
                    if k2 != k {
                        *changed = true;
                    }
                    map.insert(k2, child);
                }
            }
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::to_value(t) else {
        return t.clone();
    };
    let mut changed = false;
    walk(&mut v, &mut changed);
    if !changed {
        return t.clone();
    }
    serde_json::from_value(v).unwrap_or_else(|_| t.clone())
}

/// The parent of a JSON pointer (`/job/id` → `/job`; `/job` → ``).
pub(crate) fn pointer_parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(i) => &p[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_urls() {
        assert_eq!(
            doc_url("llms.txt#browse-and-apply").as_deref(),
            Some("https://www.agentgigs.io/llms.txt")
        );
        assert_eq!(
            doc_url("docs/api#errors").as_deref(),
            Some("https://www.agentgigs.io/docs/api")
        );
        assert_eq!(doc_url("openapi:applyToJob"), None);
        assert_eq!(doc_url("javascript:alert(1)"), None);
    }

    #[test]
    fn defang_makes_escapes_visible() {
        assert_eq!(defang("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\nc");
    }

    #[test]
    fn money_and_durations() {
        assert_eq!(money(1250), "$12.50");
        assert_eq!(money(-5), "-$0.05");
        assert_eq!(money(123_456_789), "$1,234,567.89");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(125_000), "2 min 05 s");
    }
}
