//! `explain ID`: a scenario's rule, documentation and steps in words
//! ("as poster: POST /api/agent/jobs, expect 201, capture job_id from /job/id").
//!
//! Reads the loaded scenario model only; runs nothing and never prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::text::{compact, doc_url, serde_name};
use crate::scenario::{AuthMode, BodyAssertion, Capture, Check, Expect, Level, Scenario, Step};

/// The scenario in words: title, level, rule, documentation with links,
/// actors, then each of `steps` (the scenario's own, or the flattened run
/// with flows included: the caller chooses) as one numbered sentence.
pub fn render_explain(sc: &Scenario, steps: &[Step]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}", sc.id, sc.title);
    let level = match sc.level {
        Level::Must => "must (a failure fails the run)",
        Level::Should => "should (a failure is reported, the run still passes)",
        Level::Reference => {
            "reference (our reference server's choice where the docs are silent: a difference is a departure, never a failure)"
        }
    };
    let _ = writeln!(out, "  level     {level}");
    if !sc.source.file.is_empty() {
        let _ = writeln!(out, "  file      {}", sc.source);
    }
    if !sc.tags.is_empty() {
        let _ = writeln!(out, "  tags      {}", sc.tags.join(", "));
    }
    if !sc.requires.is_empty() {
        let _ = writeln!(out, "  requires  {} (control-API features)", sc.requires.join(", "));
    }
    let mut flags = Vec::new();
    if sc.moves_money {
        flags.push("moves money");
    }
    if sc.exclusive {
        flags.push("runs alone (exclusive)");
    }
    if !flags.is_empty() {
        let _ = writeln!(out, "  note      {}", flags.join("; "));
    }
    if let Some(rule) = &sc.rule {
        let _ = writeln!(
            out,
            "\nRule\n  {}",
            rule.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    if !sc.doc.is_empty() {
        let _ = writeln!(out, "\nDocumented in");
        for d in &sc.doc {
            match doc_url(d) {
                Some(u) => {
                    let _ = writeln!(out, "  {d}  {u}");
                }
                None => {
                    let _ = writeln!(out, "  {d}");
                }
            }
        }
    }
    if !sc.actors.is_empty() {
        let _ = writeln!(out, "\nActors");
        for (name, a) in &sc.actors {
            let mut parts = vec![format!("{:?}", a.role).to_lowercase()];
            if let Some(t) = a.tier {
                parts.push(format!("{t:?} tier").to_lowercase());
            }
            if let Some(c) = a.wallet_cents {
                parts.push(format!("wallet {}", super::text::money(c)));
            }
            if let Some(sp) = &a.specializations {
                parts.push(format!("specializations {}", sp.join(", ")));
            }
            if a.email_verified == Some(false) {
                parts.push("email not verified".into());
            }
            if let Some(sc) = a.stripe_connected {
                parts.push(if sc { "Stripe connected" } else { "Stripe not connected" }.into());
            }
            let _ = writeln!(out, "  {name}: {}", parts.join(", "));
        }
    }
    if !sc.vars.is_empty() {
        let vars: Vec<String> = sc.vars.iter().map(|(k, v)| format!("{k} = {}", compact(v))).collect();
        let _ = writeln!(out, "\nVariables\n  {}", vars.join(", "));
    }
    let _ = writeln!(out, "\nSteps");
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "  {:>2}. {}", i + 1, describe_step(step));
        if !step.source.file.is_empty() {
            let _ = writeln!(out, "      at {}", step.source);
        }
    }
    out
}

/// One step as a sentence.
pub(crate) fn describe_step(step: &Step) -> String {
    let who = step.actor.as_deref().map(|a| format!("as {a}: ")).unwrap_or_default();
    let mut parts: Vec<String> = Vec::new();
    if let Some(r) = &step.request {
        let mut line = format!("{who}{} {}", r.method.to_uppercase(), r.path);
        if !r.query.is_empty() {
            let q: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect();
            line.push('?');
            line.push_str(&q.join("&"));
        }
        parts.push(line);
        if let Some(a) = step.auth.filter(|a| *a != AuthMode::ApiKey) {
            parts.push(format!("authenticating with {}", auth_words(a)));
        }
        if !r.headers.is_empty() {
            let h: Vec<String> = r.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            parts.push(format!("headers {}", h.join("; ")));
        }
        if let Some(j) = &r.json {
            parts.push(format!("JSON body {}", shorten(&compact(j), 100)));
        }
        if let Some(raw) = &r.raw {
            parts.push(format!("raw body {}", shorten(&format!("{raw:?}"), 60)));
        }
        if let Some(n) = r.raw_size {
            parts.push(format!("a body of {n} bytes"));
        }
        if let Some(ct) = &r.content_type {
            parts.push(format!("content type {ct}"));
        }
        if let Some(m) = &r.multipart {
            parts.push(format!("uploading {} as part `{}`", m.filename, m.field));
        }
    } else if let Some(flow) = &step.include {
        let mut line = format!("include flow `{flow}`");
        if let Some(with) = &step.with {
            line.push_str(" with ");
            line.push_str(&with_words(with));
        }
        parts.push(line);
    } else if let Some(c) = &step.clock {
        parts.push(format!("advance the target's clock by {}", seconds(c.advance_seconds)));
    } else if let Some(s) = &step.subscribe {
        let types = if s.types.is_empty() {
            "all events".to_string()
        } else {
            s.types.join(", ")
        };
        parts.push(format!("{who}open event stream `{}` ({types})", s.stream));
    } else if let Some(e) = &step.event {
        let mut line = format!(
            "expect event `{}` on stream `{}` within {} ms",
            e.event_type,
            e.stream,
            e.within_ms.unwrap_or(2000)
        );
        if e.exactly_once == Some(true) {
            line.push_str(", exactly once");
        }
        parts.push(line);
        if !e.matches.is_empty() {
            parts.push(format!("where {}", assertions(&e.matches)));
        }
        if let Some(c) = &e.capture {
            let c: Vec<String> = c.iter().map(|(k, p)| format!("{k} from {p}")).collect();
            parts.push(format!("capture {}", c.join(", ")));
        }
    } else if let Some(e) = &step.no_event {
        let what = e
            .event_type
            .as_deref()
            .map(|t| format!("no `{t}` event"))
            .unwrap_or_else(|| "no event".into());
        parts.push(format!(
            "expect {what} on stream `{}` for {} ms",
            e.stream,
            e.within_ms.unwrap_or(500)
        ));
        if !e.matches.is_empty() {
            parts.push(format!("matching {}", assertions(&e.matches)));
        }
    } else if let Some(set) = &step.set {
        let s: Vec<String> = set.iter().map(|(k, v)| format!("{k} = {}", compact(v))).collect();
        parts.push(format!("set {}", s.join(", ")));
    } else {
        parts.push(format!("{who}(no action)"));
    }
    if let Some(rep) = &step.repeat {
        let mut line = format!("send up to {} times", rep.times);
        if let Some(u) = rep.until_status {
            line.push_str(&format!(" until {u}"));
            if let Some(at) = rep.expect_at {
                line.push_str(&format!(", which must arrive at {at}"));
            }
            if let Some(at) = rep.reference.as_ref().and_then(|r| r.expect_at) {
                line.push_str(&format!(
                    " (our reference server answers it at request {at}: another request departs from it)"
                ));
            }
        }
        parts.push(line);
        if let Some(each) = &rep.each {
            parts.push(format!("each earlier response: {}", expect_words(each)));
        }
    }
    if let Some(e) = &step.expect {
        parts.push(expect_words(e));
    }
    if let Some(c) = &step.capture {
        let c: Vec<String> = c
            .iter()
            .map(|(k, cap)| match cap {
                Capture::Body(p) => format!("{k} from {p}"),
                Capture::Header { header } => format!("{k} from header {header}"),
                Capture::AnyOf(paths) => format!("{k} from the first of {}", paths.join(", ")),
            })
            .collect();
        parts.push(format!("capture {}", c.join(", ")));
    }
    for s in &step.skip_checks {
        parts.push(format!("automatic {} check off ({})", serde_name(&s.check), s.reason));
    }
    if let Some(t) = step.timeout_ms {
        parts.push(format!("timeout {t} ms"));
    }
    let sentence = parts.join(", ");
    match &step.name {
        Some(n) => format!("{n} — {sentence}"),
        None => sentence,
    }
}

fn expect_words(e: &Expect) -> String {
    let mut parts = Vec::new();
    match e.status.len() {
        0 => {}
        1 => parts.push(format!("expect {}", e.status[0])),
        _ => {
            let s: Vec<String> = e.status.iter().map(ToString::to_string).collect();
            parts.push(format!("expect one of {}", s.join(", ")));
        }
    }
    for (h, c) in &e.headers {
        parts.push(format!("header {h} {}", check_words(c)));
    }
    if !e.body.is_empty() {
        parts.push(assertions(&e.body));
    }
    if parts.is_empty() {
        "expect any documented response".into()
    } else if e.status.is_empty() {
        format!("expect {}", parts.join(", "))
    } else {
        parts.join(", ")
    }
}

fn assertions(list: &[BodyAssertion]) -> String {
    list.iter()
        .map(|a| {
            let p = if a.path.is_empty() { "the body" } else { a.path.as_str() };
            format!("{p} {}", check_words(&a.check))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A check in words: `equals "open"`, `is a UUID`, `has at least 1 item`.
fn check_words(c: &Check) -> String {
    let mut w = Vec::new();
    if let Some(v) = &c.equals {
        w.push(format!("equals {}", compact(v)));
    }
    if let Some(t) = &c.type_ {
        w.push(format!("is of type {t}"));
    }
    if c.cents == Some(true) {
        w.push("is integer cents".into());
    }
    if c.uuid == Some(true) {
        w.push("is a UUID".into());
    }
    if let Some(r) = &c.regex {
        w.push(format!("matches /{r}/"));
    }
    match c.exists {
        Some(true) => w.push("exists".into()),
        Some(false) => w.push("does not exist".into()),
        None => {}
    }
    if c.absent == Some(true) {
        w.push("is absent".into());
    }
    if let Some(n) = c.length {
        w.push(format!("has length {n}"));
    }
    if let Some(n) = c.min_length {
        w.push(format!("has length at least {n}"));
    }
    if let Some(n) = c.min {
        w.push(format!("is at least {n}"));
    }
    if let Some(n) = c.max {
        w.push(format!("is at most {n}"));
    }
    if let Some(v) = &c.contains {
        w.push(format!("contains {}", compact(v)));
    }
    if let Some(vs) = &c.one_of {
        let vs: Vec<String> = vs.iter().map(compact).collect();
        w.push(format!("is one of {}", vs.join(", ")));
    }
    if let Some(n) = &c.not {
        w.push(format!("does not satisfy ({})", check_words(n)));
    }
    if w.is_empty() {
        "is present".into()
    } else {
        w.join(" and ")
    }
}

fn auth_words(a: AuthMode) -> &'static str {
    match a {
        AuthMode::ApiKey => "its API key",
        AuthMode::Jwt => "its JWT (Authorization: Bearer)",
        AuthMode::None => "no credentials",
        AuthMode::ApiKeyAsBearer => "its API key sent as a Bearer token (misuse)",
        AuthMode::Both => "both X-API-Key and a Bearer JWT",
        AuthMode::UnknownKey => "a well-formed API key no server issued",
        AuthMode::MalformedKey => "a malformed API key",
        AuthMode::MalformedJwt => "a Bearer value that is not a JWT",
        AuthMode::TamperedJwt => "a JWT with a tampered signature",
    }
}

fn with_words(with: &BTreeMap<String, Value>) -> String {
    with.iter()
        .map(|(k, v)| format!("{k}={}", plain(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value without quotes when it is a string.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

fn seconds(s: i64) -> String {
    match s {
        s if s != 0 && s % 86_400 == 0 => format!("{} day(s)", s / 86_400),
        s if s != 0 && s % 3_600 == 0 => format!("{} hour(s)", s / 3_600),
        s if s != 0 && s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} s"),
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}
