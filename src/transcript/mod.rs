//! Transcripts: a scenario run as stable text, for regression snapshots.
//!
//! For each step: the actor, the method and path template, the status, and
//! the response body with every varying value replaced by a stable
//! placeholder: ids by kind and order of appearance (`[JOB_1]`,
//! `[APPLICATION_2]`; the same id keeps its placeholder across the
//! transcript, so relations stay visible), date-like values by kind and
//! value (`[TIMESTAMP_1]`, `[DATE_1]`, `[MONTH_1]`, `[PERIOD_1]`, `[AGE_1]`,
//! `[EPOCH_1]`; whatever day a run happens on, its transcript is the same), the
//! server's address (`[BASE_URL]`), e-mail addresses, signed-URL tokens.
//! Secrets are already redacted by the runner (`[API_KEY:poster]`).
//!
//! [`write_snapshots`] writes insta-format `.snap` files (or `.snap.new`
//! beside a differing one) so `cargo insta review` works on any target's
//! transcripts. This room reads run data and runs nothing.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::report::model::{Outcome, RunReport, ScenarioReport};

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").expect("regex")
});
/// "Retry after 59 seconds" in an error message.
static RETRY_AFTER_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(retry after )\d+( seconds?\b)").expect("regex"));
/// Date-like values, most specific first, each with its placeholder kind.
/// A value matched by one is replaced before the next looks, so a date-time
/// is one `[TIMESTAMP_n]`, never a `[DATE_n]` plus a time.
static DATE_LIKE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    const MONTH: &str = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)";
    const WEEKDAY: &str = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*";
    const UNIT: &str = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|yrs?|[smhdwy])";
    let patterns = [
        // ISO 8601 / RFC 3339 date-times, extended and basic forms.
        (
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?|\b)".to_string(),
            "TIMESTAMP",
        ),
        (
            r"\b\d{8}T\d{4,6}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?".to_string(),
            "TIMESTAMP",
        ),
        // RFC 2822 / HTTP dates: `Fri, 04 Dec 2026 13:29:22 GMT`.
        (
            format!(
                r"\b(?:{WEEKDAY},?\s+)?\d{{1,2}}\s+{MONTH}\s+\d{{4}}\s+\d{{2}}:\d{{2}}(?::\d{{2}})?(?:\s*(?:GMT|UTC|Z|[+-]\d{{4}}))?"
            ),
            "TIMESTAMP",
        ),
        // Calendar dates: ISO, ordinal, and written forms.
        (r"\b\d{4}-\d{2}-\d{2}\b".to_string(), "DATE"),
        (
            format!(r"\b(?:{WEEKDAY},?\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}\.?,?\s+\d{{4}}\b"),
            "DATE",
        ),
        (
            format!(r"\b(?:{WEEKDAY},?\s+)?{MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"),
            "DATE",
        ),
        (r"\b\d{1,2}/\d{1,2}/\d{4}\b".to_string(), "DATE"),
        // Periods: ISO weeks, quarters, halves, months.
        (r"\b(?:19|20)\d{2}-?W\d{2}(?:-?\d)?\b".to_string(), "PERIOD"),
        (
            r"\b(?:(?:19|20)\d{2}-?[QH][1-4]|[QH][1-4][ -](?:19|20)\d{2})\b".to_string(),
            "PERIOD",
        ),
        (r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])\b".to_string(), "MONTH"),
        (format!(r"\b{MONTH}\.?,?\s+\d{{4}}\b"), "MONTH"),
        // Relative ages: `3 days ago`, `in 2h`, `5m ago`.
        (format!(r"\b\d+(?:\.\d+)?\s*{UNIT}\s+ago\b"), "AGE"),
        (format!(r"\bin\s+\d+(?:\.\d+)?\s*{UNIT}\b"), "AGE"),
        (r"(?i)\b(?:just now|yesterday|today|tomorrow)\b".to_string(), "AGE"),
    ];
    patterns
        .into_iter()
        .map(|(p, kind)| (Regex::new(&p).expect("date-like regex"), kind))
        .collect()
});
/// Keys whose numeric value is a point in time (Unix seconds or millis).
static EPOCH_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i:(?:^|_)(?:at|iat|exp|nbf|timestamp|time|date))$|[a-z](?:At|Time|Date)$").expect("regex")
});
static BASE_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://(127\.0\.0\.1|localhost|\[::1\]):\d+").expect("regex"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").expect("regex"));
static PROVIDER_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([a-z]{2,5})_[0-9A-Za-z]{16,}(_secret_[0-9A-Za-z]+)?\b").expect("regex"));
static EPOCH_MILLIS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"/\d{12,14}-").expect("regex"));
static FILE_TOKEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"/files/[A-Za-z0-9_-]{8,}").expect("regex"));

/// Assigns stable placeholders to ids, by kind and first appearance.
#[derive(Debug, Default)]
struct Placeholders {
    by_id: HashMap<String, String>,
    counts: HashMap<String, usize>,
}

impl Placeholders {
    fn for_id(&mut self, id: &str, kind: &str) -> String {
        let key = id.to_ascii_lowercase();
        if let Some(p) = self.by_id.get(&key) {
            return p.clone();
        }
        let n = self.counts.entry(kind.to_string()).or_insert(0);
        *n += 1;
        let p = format!("[{kind}_{n}]");
        self.by_id.insert(key, p.clone());
        p
    }

    /// Replaces every id, timestamp, address and token in free text.
    fn text(&mut self, s: &str, kind: &str) -> String {
        let s = BASE_URL.replace_all(s, "[BASE_URL]");
        // Seconds until a rate-limit window frees depend on wall time.
        let s = RETRY_AFTER_TEXT.replace_all(&s, "${1}[SECONDS]${2}");
        let s = FILE_TOKEN.replace_all(&s, "/files/[TOKEN]");
        let s = EPOCH_MILLIS.replace_all(&s, "/[MILLIS]-");
        let s = EMAIL.replace_all(&s, "[EMAIL]");
        let mut out = String::new();
        let mut last = 0;
        for c in PROVIDER_ID.captures_iter(&s) {
            let (Some(m), Some(prefix)) = (c.get(0), c.get(1)) else {
                continue;
            };
            out.push_str(&s[last..m.start()]);
            let kind = if c.get(2).is_some() {
                "CLIENT_SECRET".to_string()
            } else {
                prefix.as_str().to_ascii_uppercase()
            };
            out.push_str(&self.for_id(m.as_str(), &kind));
            last = m.end();
        }
        out.push_str(&s[last..]);
        let s = std::mem::take(&mut out);
        let mut last = 0;
        for m in UUID.find_iter(&s) {
            out.push_str(&s[last..m.start()]);
            out.push_str(&self.for_id(m.as_str(), kind));
            last = m.end();
        }
        out.push_str(&s[last..]);
        self.dates(&out)
    }

    /// Replaces every date-like value (date-times, dates, months, periods,
    /// relative ages) by a placeholder numbered by value: the same value
    /// keeps the same placeholder, as ids do.
    fn dates(&mut self, s: &str) -> String {
        let mut s = s.to_string();
        for (re, kind) in DATE_LIKE.iter() {
            if !re.is_match(&s) {
                continue;
            }
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for m in re.find_iter(&s) {
                out.push_str(&s[last..m.start()]);
                out.push_str(&self.for_id(&format!("{kind}:{}", m.as_str()), kind));
                last = m.end();
            }
            out.push_str(&s[last..]);
            s = out;
        }
        s
    }

    /// A JSON value with every varying value replaced, keys kept.
    fn json(&mut self, v: &Value, parent_key: &str) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s, &kind_of(parent_key))),
            // Seconds until a rate-limit window frees depend on wall time.
            Value::Number(_) if parent_key == "retry_after" => Value::String("[SECONDS]".into()),
            // A point in time as a number (Unix seconds or millis).
            Value::Number(n) if EPOCH_KEY.is_match(parent_key) => {
                Value::String(self.for_id(&format!("EPOCH:{n}"), "EPOCH"))
            }
            Value::Array(items) => Value::Array(items.iter().map(|x| self.json(x, parent_key)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, x)| {
                        let ctx = if k == "id" { singular(parent_key) } else { k.clone() };
                        (k.clone(), self.json(x, &ctx))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// `applications` → `application`, `job` → `job`.
fn singular(key: &str) -> String {
    key.strip_suffix("ies")
        .map(|s| format!("{s}y"))
        .or_else(|| key.strip_suffix('s').map(str::to_string))
        .unwrap_or_else(|| key.to_string())
}

/// The placeholder kind for a value found under `key`.
fn kind_of(key: &str) -> String {
    let k = key
        .trim_end_matches("_id")
        .trim_end_matches("Id")
        .trim_end_matches("_ids");
    let k = match k {
        "" | "id" => "ID",
        "agent" | "proofer_agent" | "user" | "poster" | "assigned_agent" | "sub" | "recipient" | "sender"
        | "agents" => "USER",
        "jobs" | "job" => "JOB",
        other => return singular(other).to_ascii_uppercase().replace(['-', ' '], "_"),
    };
    k.to_string()
}

/// The transcript of one scenario run.
pub fn transcript(report: &ScenarioReport) -> String {
    let mut ph = Placeholders::default();
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", report.id);
    let _ = writeln!(out, "outcome: {}", outcome_word(&report.outcome));
    for step in &report.steps {
        let _ = writeln!(out);
        let _ = writeln!(out, "- step: {} {}", step.index, step.name);
        if let Some(actor) = &step.actor {
            let _ = writeln!(out, "  as: {actor}");
        }
        match (&step.request, &step.path_template) {
            (Some(req), Some(template)) => {
                let _ = writeln!(out, "  request: {} {}", req.method, template);
            }
            _ => {
                let _ = writeln!(out, "  kind: {}", step.kind);
            }
        }
        if step.attempts > 1 {
            let _ = writeln!(out, "  attempts: {}", step.attempts);
        }
        if let Some(resp) = &step.response {
            if step.kind == "event" || step.kind == "no_event" {
                let event_type = resp
                    .headers
                    .iter()
                    .find(|(k, _)| k == "event-type")
                    .map(|(_, v)| v.as_str());
                let _ = writeln!(out, "  event: {}", event_type.unwrap_or("-"));
            } else {
                let _ = writeln!(out, "  status: {}", resp.status);
            }
            if let Some(body) = &resp.body {
                let stable = ph.json(body, "");
                let text = serde_json::to_string_pretty(&stable).unwrap_or_default();
                let _ = writeln!(out, "  body: |");
                for line in text.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        if !matches!(step.outcome, Outcome::Passed) {
            let _ = writeln!(out, "  outcome: {}", outcome_word(&step.outcome));
            for f in &step.findings {
                let _ = writeln!(out, "  finding: {}", ph.text(&f.message, "ID"));
            }
        }
    }
    out
}

fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped { .. } => "skipped",
        Outcome::Errored { .. } => "could not run",
    }
}

/// The snapshot name of a scenario: its file under `scenarios/`, with `/`
/// as `__` and no extension (`nda__apply-requires-ack`).
pub fn snapshot_name(report: &ScenarioReport) -> String {
    report
        .file
        .trim_start_matches("scenarios/")
        .trim_end_matches(".yaml")
        .trim_end_matches(".yml")
        .replace('/', "__")
}

/// The content of an insta `.snap` file. The name is quoted (as a JSON
/// string, which YAML reads) unless it is plain, so any file name reads back.
pub fn insta_file(name: &str, body: &str) -> String {
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    let expression = if plain {
        name.to_string()
    } else {
        serde_json::to_string(name).unwrap_or_default()
    };
    format!("---\nsource: agentgigs-conformance run --snapshots\nexpression: {expression}\n---\n{body}")
}

/// Reads the body of an insta `.snap` file (after its front matter).
pub fn insta_body(file_text: &str) -> Option<&str> {
    let rest = file_text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(&rest[end + 5..])
}

/// Writes one insta-format transcript per scenario into `dir`: a `.snap`
/// when none exists, a `.snap.new` beside a `.snap` whose body differs
/// (review them with `cargo insta review`), nothing when equal (and, as
/// insta does, a `.snap.new` left by an earlier run is removed then, so a
/// stale difference cannot be accepted). Returns the files written.
pub fn write_snapshots(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let mut written = Vec::new();
    for s in report
        .scenarios
        .iter()
        .filter(|s| !matches!(s.outcome, Outcome::Skipped { .. }))
    {
        let name = snapshot_name(s);
        let body = transcript(s);
        let snap = dir.join(format!("{name}.snap"));
        let target = match std::fs::read_to_string(&snap) {
            Ok(old) if insta_body(&old).map(str::trim_end) == Some(body.trim_end()) => {
                let pending = dir.join(format!("{name}.snap.new"));
                match std::fs::remove_file(&pending) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("cannot remove the stale `{}`: {e}", pending.display())),
                }
                continue;
            }
            Ok(_) => dir.join(format!("{name}.snap.new")),
            Err(_) => snap,
        };
        std::fs::write(&target, insta_file(&name, &body))
            .map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_get_stable_placeholders_by_kind() {
        let mut ph = Placeholders::default();
        let a = "308f8811-0a46-4024-b8ef-514f4dcd857b";
        let b = "11111111-0a46-4024-b8ef-514f4dcd857b";
        let v = ph.json(&json!({"job": {"id": a}, "applications": [{"id": b, "job_id": a}]}), "");
        assert_eq!(
            v,
            json!({"job": {"id": "[JOB_1]"}, "applications": [{"id": "[APPLICATION_1]", "job_id": "[JOB_1]"}]})
        );
    }

    #[test]
    fn seconds_to_wait_are_replaced_in_messages() {
        let mut ph = Placeholders::default();
        let v = ph.json(
            &json!({"error": "Too many API requests (limit 30 per minute). Retry after 59 seconds.", "limit": 30}),
            "",
        );
        assert_eq!(
            v,
            json!({"error": "Too many API requests (limit 30 per minute). Retry after [SECONDS] seconds.", "limit": 30})
        );
    }

    #[test]
    fn timestamps_addresses_and_tokens_are_replaced() {
        let mut ph = Placeholders::default();
        let v = ph.json(
            &json!({"created_at": "2026-11-30T16:04:43.346972349Z", "signedUrl": "http://127.0.0.1:41234/files/abcdefghijkl", "email": "agent-1@example.test"}),
            "",
        );
        assert_eq!(
            v,
            json!({"created_at": "[TIMESTAMP_1]", "signedUrl": "[BASE_URL]/files/[TOKEN]", "email": "[EMAIL]"})
        );
        let v = ph.json(
            &json!({"paymentIntentId": "pi_82d5a8eca15e468996d71e45", "again": "pi_82d5a8eca15e468996d71e45"}),
            "",
        );
        assert_eq!(v, json!({"paymentIntentId": "[PI_1]", "again": "[PI_1]"}));
    }

    #[test]
    fn every_date_like_value_gets_a_placeholder_by_value() {
        let mut ph = Placeholders::default();
        let v = ph.json(
            &json!({
                "score_trend": [{"date": "2026-12-04", "avg": 60}, {"date": "2026-12-05"}, {"date": "2026-12-04"}],
                "occurred_at": "2026-12-04T13:29:22+00:00",
                "created_at": "2026-12-04T13:29:22+00:00",
                "minutes": "2026-12-04T13:29Z",
                "basic": "20261204T132922Z",
                "http": "Fri, 04 Dec 2026 13:29:22 GMT",
                "written": ["December 4, 2026", "4 Dec 2026", "12/04/2026"],
                "month": ["2026-12", "December 2026", "Dec 2026"],
                "period": ["2026-W49", "2026-Q4", "Q4 2026"],
                "age": ["3 days ago", "5m ago", "retry in 42 seconds", "yesterday"],
                "releaseScheduledAt": 1_796_400_000_u64,
                "iat": 1_796_400_000_u64,
                "amount_cents": 2026,
            }),
            "",
        );
        assert_eq!(
            v,
            json!({
                "score_trend": [{"date": "[DATE_1]", "avg": 60}, {"date": "[DATE_2]"}, {"date": "[DATE_1]"}],
                "occurred_at": "[TIMESTAMP_1]",
                "created_at": "[TIMESTAMP_1]",
                "minutes": "[TIMESTAMP_2]",
                "basic": "[TIMESTAMP_3]",
                "http": "[TIMESTAMP_4]",
                "written": ["[DATE_3]", "[DATE_4]", "[DATE_5]"],
                "month": ["[MONTH_1]", "[MONTH_2]", "[MONTH_3]"],
                "period": ["[PERIOD_1]", "[PERIOD_2]", "[PERIOD_3]"],
                "age": ["[AGE_1]", "[AGE_2]", "retry [AGE_3]", "[AGE_4]"],
                "releaseScheduledAt": "[EPOCH_1]",
                "iat": "[EPOCH_1]",
                "amount_cents": 2026,
            })
        );
        // Ids, amounts and ordinary text are left alone.
        let v = ph.json(
            &json!({"message": "Budget 1000-2000 cents, 3 revisions", "format": 7}),
            "",
        );
        assert_eq!(
            v,
            json!({"message": "Budget 1000-2000 cents, 3 revisions", "format": 7})
        );
    }

    #[test]
    fn insta_body_round_trips() {
        let f = insta_file("nda__x", "scenario: x\n");
        assert_eq!(insta_body(&f), Some("scenario: x\n"));
        assert!(f.contains("\nexpression: nda__x\n"));
        let f = insta_file("odd__a: #b", "scenario: x\n");
        assert!(f.contains("\nexpression: \"odd__a: #b\"\n"), "{f}");
        assert_eq!(insta_body(&f), Some("scenario: x\n"));
    }
}
