//! Semantic validation of one parsed scenario or flow file.
//!
//! Job: the rules serde cannot express: one action per step, modifiers
//! only where they make sense, declared actors, known methods, id format,
//! regexes that compile, valid JSON pointers and JSONPaths, sane numbers.
//! Each error names its place (via the document's locations).
//!
//! It must not: look at other files (includes and flows are checked by
//! `flow.rs`, cross-scenario rules by `lint.rs`), or stop at the first error.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json_path::JsonPath;

use super::diagnostics::{KeyPath, LoadError, LoadErrorKind, Locator, and_list, did_you_mean, tick_list};
use super::model::{
    BodyAssertion, Capture, Check, Concurrent, Conserve, Expect, ExpectAll, ExpectAt, Flow, Level, Request, Scenario,
    StatusExpect, Step,
};
use super::vars::{is_variable_name, replace_references};

/// The `type` of an `event` step that waits for the stream's keepalive
/// (in whatever form the server sends it) instead of an event.
pub const KEEPALIVE_TYPE: &str = "keepalive";

/// The keys among `keys` that are present.
fn present_keys<const N: usize>(keys: [(&'static str, bool); N]) -> Vec<&'static str> {
    keys.into_iter()
        .filter(|(_, present)| *present)
        .map(|(k, _)| k)
        .collect()
}

/// The action keys of a step; exactly one is present.
pub const ACTIONS: &[&str] = &[
    "request",
    "include",
    "clock",
    "subscribe",
    "event",
    "no_event",
    "set",
    "attach",
    "concurrent",
    "conserve",
    "sink",
    "webhook",
];

/// The webhook event names the docs list (docs/api#post-apiagentwebhooks).
pub const WEBHOOK_EVENT_NAMES: [&str; 5] = [
    "job.available",
    "job.accepted",
    "job.revision_requested",
    "job.approved",
    "payment.released",
];

/// A `webhook` step's `type` that takes any delivery, whatever its `event`
/// field (or none): for a callback whose payload the docs do not give.
pub const ANY_WEBHOOK: &str = "*";

/// HTTP methods a request may use (upper-case).
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"];

/// JSON type names accepted by `type:`.
pub const JSON_TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array", "null"];

/// Modifier keys and the actions that take them.
const MODIFIERS: &[(&str, &[&str])] = &[
    ("as", &["request", "subscribe", "concurrent"]),
    ("auth", &["request", "subscribe", "concurrent"]),
    ("with", &["include"]),
    ("repeat", &["request"]),
    ("expect", &["request"]),
    ("expect_all", &["concurrent"]),
    ("capture", &["request", "attach"]),
    ("skip_checks", &["request", "concurrent"]),
    (
        "timeout_ms",
        &[
            "request",
            "subscribe",
            "event",
            "no_event",
            "concurrent",
            "conserve",
            "webhook",
        ],
    ),
    (
        "level",
        &[
            "request",
            "subscribe",
            "event",
            "no_event",
            "concurrent",
            "conserve",
            "webhook",
        ],
    ),
];

/// The actions present in a step, in [`ACTIONS`] order.
pub fn step_actions(step: &Step) -> Vec<&'static str> {
    let present = [
        step.request.is_some(),
        step.include.is_some(),
        step.clock.is_some(),
        step.subscribe.is_some(),
        step.event.is_some(),
        step.no_event.is_some(),
        step.set.is_some(),
        step.attach.is_some(),
        step.concurrent.is_some(),
        step.conserve.is_some(),
        step.sink.is_some(),
        step.webhook.is_some(),
    ];
    ACTIONS
        .iter()
        .zip(present)
        .filter(|(_, p)| *p)
        .map(|(a, _)| *a)
        .collect()
}

fn modifiers_present(step: &Step) -> Vec<&'static str> {
    let present = [
        step.actor.is_some(),
        step.auth.is_some(),
        step.with.is_some(),
        step.repeat.is_some(),
        step.expect.is_some(),
        step.expect_all.is_some(),
        step.capture.is_some(),
        !step.skip_checks.is_empty(),
        step.timeout_ms.is_some(),
        step.level.is_some(),
    ];
    MODIFIERS
        .iter()
        .zip(present)
        .filter(|(_, p)| *p)
        .map(|((m, _), _)| *m)
        .collect()
}

/// Is `id` of the form `[a-z0-9][a-z0-9._-]*`?
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// Checks a body path: a JSON pointer (`/a/b`, `` for the root) or a
/// JSONPath (`$...`). On error: (what is wrong, why), e.g.
/// ("invalid JSON pointer `/a~2`", "`~` must be followed by `0` or `1`").
pub fn check_body_path(path: &str) -> Result<(), (String, String)> {
    if path.starts_with('$') {
        return JsonPath::parse(path)
            .map(|_| ())
            .map_err(|e| (format!("invalid JSONPath `{path}`"), one_line(&e.to_string())));
    }
    if !path.is_empty() && !path.starts_with('/') {
        return Err((
            format!("invalid path `{path}`"),
            "expected a JSON pointer (`/a/b`, or empty for the root) or a JSONPath (`$.a.b`)".into(),
        ));
    }
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err((
                format!("invalid JSON pointer `{path}`"),
                "`~` must be followed by `0` or `1`".into(),
            ));
        }
    }
    Ok(())
}

/// A key of `expect_all.count`: an exact status (`409`) or a family (`4xx`).
pub fn parse_status_key(key: &str) -> Option<StatusExpect> {
    let k = key.trim();
    if let Ok(c) = k.parse::<u16>() {
        return (100..=599).contains(&c).then_some(StatusExpect::Code(c));
    }
    let b = k.as_bytes();
    (b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx"))
        .then(|| StatusExpect::Family(u16::from(b[0] - b'0')))
}

/// A status a [`StatusExpect`] stands for (the family's `x00`).
fn status_of(s: StatusExpect) -> u16 {
    match s {
        StatusExpect::Code(c) => c,
        StatusExpect::Family(h) => h * 100,
    }
}

/// The last meaningful line of a multi-line error text.
pub fn one_line(s: &str) -> String {
    let line = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// Collects the errors of one document.
pub struct Validator<'a> {
    loc: &'a Locator<'a>,
    /// Actor names `as:` may use.
    actors: Vec<String>,
    /// The errors found, in order.
    pub errors: Vec<LoadError>,
}

impl<'a> Validator<'a> {
    /// A validator for a document whose steps may use `actors`.
    pub fn new(loc: &'a Locator<'a>, actors: Vec<String>) -> Self {
        Validator {
            loc,
            actors,
            errors: Vec::new(),
        }
    }

    /// The captures of a step (`capture`) or of a repeat (`collect`).
    fn captures(&mut self, c: &BTreeMap<String, Capture>, cp: &KeyPath) {
        for (name, cap) in c {
            self.name(&cp.key(name), name, "variable");
            match cap {
                Capture::Body(path) => self.body_path(&cp.key(name), path),
                Capture::Header { header } if header.trim().is_empty() => self.invalid_value(
                    &cp.key(name).key("header"),
                    "a header name",
                    "an empty string".into(),
                    None,
                ),
                Capture::Header { .. } => {}
                Capture::AnyOf(paths) => {
                    for (i, path) in paths.iter().enumerate() {
                        self.body_path(&cp.key(name).index(i), path);
                    }
                }
            }
        }
    }

    fn invalid(&mut self, p: &KeyPath, message: String) {
        self.errors.push(self.loc.error(p, LoadErrorKind::Invalid { message }));
    }

    /// An error when `value` is empty or blank: `expected` says what belongs there.
    fn non_empty(&mut self, p: &KeyPath, value: &str, expected: &str) {
        if value.trim().is_empty() {
            self.invalid_value(p, expected, "an empty string".into(), None);
        }
    }

    fn invalid_value(&mut self, p: &KeyPath, expected: &str, found: String, suggestion: Option<String>) {
        let kind = LoadErrorKind::InvalidValue {
            at: p.quoted(),
            expected: expected.to_string(),
            found,
            suggestion,
        };
        self.errors.push(self.loc.error(p, kind));
    }

    /// All rules of a scenario; `steps` are its valid steps with their
    /// indices (`s.steps` is not read).
    pub fn scenario(&mut self, s: &Scenario, steps: &[(usize, Step)]) {
        let root = KeyPath::root();
        if !is_valid_id(&s.id) {
            self.invalid_value(
                &root.key("id"),
                "lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit",
                format!("`{}`", s.id),
                None,
            );
        }
        self.non_empty(&root.key("title"), &s.title, "a non-empty title");
        for name in s.actors.keys() {
            self.name(&root.key("actors").key(name), name, "actor");
        }
        for name in s.vars.keys() {
            self.name(&root.key("vars").key(name), name, "variable");
        }
        self.steps(steps, &root.key("steps"));
    }

    /// All rules of a flow; `steps` as for [`Validator::scenario`].
    pub fn flow(&mut self, f: &Flow, steps: &[(usize, Step)]) {
        let root = KeyPath::root();
        for (i, a) in f.actors.iter().enumerate() {
            let p = root.key("actors").index(i);
            self.name(&p, a, "actor");
            if f.actors[..i].contains(a) {
                self.invalid(&p, format!("duplicate actor `{a}` in actors"));
            }
            if f.params.contains_key(a) {
                self.invalid(&p, format!("`{a}` is both an actor and a parameter of the flow"));
            }
        }
        for name in f.params.keys() {
            self.name(&root.key("params").key(name), name, "parameter");
        }
        self.steps(steps, &root.key("steps"));
    }

    /// The rules of the steps alone, for a document whose top level could
    /// not be read (`steps` as for [`Validator::scenario`]).
    pub fn steps_of(&mut self, steps: &[(usize, Step)]) {
        self.steps(steps, &KeyPath::root().key("steps"));
    }

    /// `as:` names a declared actor.
    fn actor(&mut self, step: &Step, p: &KeyPath) {
        if let Some(actor) = &step.actor
            && !self.actors.contains(actor)
        {
            let kind = LoadErrorKind::UndefinedActor {
                actor: actor.clone(),
                at: p.key("as").describe(),
                declared: self.actors.clone(),
                suggestion: did_you_mean(actor, self.actors.iter()),
            };
            self.errors.push(self.loc.error(&p.key("as"), kind));
        }
    }

    fn name(&mut self, p: &KeyPath, name: &str, what: &str) {
        if !is_variable_name(name) {
            let kind = LoadErrorKind::Invalid {
                message: format!(
                    "invalid {what} name `{name}` in {}: expected letters, digits and `_`, not starting with a digit",
                    p.describe()
                ),
            };
            self.errors.push(self.loc.key_error(p, kind));
        }
    }

    fn steps(&mut self, steps: &[(usize, Step)], p: &KeyPath) {
        let written = self
            .loc
            .doc
            .value
            .get("steps")
            .and_then(|v| v.as_array())
            .map_or(0, Vec::len);
        if written == 0 {
            self.invalid(p, format!("empty {}: expected at least one step", p.describe()));
        }
        for (i, step) in steps {
            self.step(step, &p.index(*i));
        }
    }

    fn step(&mut self, step: &Step, p: &KeyPath) {
        let actions = step_actions(step);
        let action = match actions.as_slice() {
            [] => {
                self.errors
                    .push(self.loc.error(p, LoadErrorKind::NoAction { at: p.describe() }));
                self.actor(step, p);
                return;
            }
            [one] => *one,
            [_, second, ..] => {
                let kind = LoadErrorKind::SeveralActions {
                    at: p.describe(),
                    actions: actions.iter().map(|a| a.to_string()).collect(),
                };
                self.errors.push(self.loc.key_error(&p.key(second), kind).keyed(p));
                self.actor(step, p);
                return;
            }
        };
        if let Some(level) = step.level
            && level != Level::Reference
        {
            self.invalid_value(
                &p.key("level"),
                "`reference` (a step can only be marked as checking a choice of our reference server)",
                level.as_str().to_string(),
                None,
            );
        }
        for m in modifiers_present(step) {
            let allowed = MODIFIERS.iter().find(|(k, _)| *k == m).map(|(_, a)| *a).unwrap_or(&[]);
            if !allowed.contains(&action) {
                let kind = LoadErrorKind::NotAllowed {
                    key: m.to_string(),
                    action: action.to_string(),
                    at: p.describe(),
                    allowed: format!("only {} steps take it", and_list(allowed)),
                };
                self.errors.push(self.loc.key_error(&p.key(m), kind).keyed(p));
            }
        }
        self.actor(step, p);
        let copies = step.concurrent.as_ref().is_some_and(|c| c.request.is_some());
        let needs_actor = (matches!(action, "request" | "subscribe") || copies)
            && step.actor.is_none()
            && step.auth != Some(super::model::AuthMode::None);
        if needs_actor {
            let hint = format!("a `{action}` step needs an actor unless `auth: none`");
            let kind = LoadErrorKind::MissingKey {
                key: "as".into(),
                at: p.describe(),
                hint: Some(hint),
            };
            self.errors.push(self.loc.error(p, kind));
        }
        if let Some(r) = &step.request {
            self.request(r, &p.key("request"));
        }
        if let Some(c) = &step.concurrent {
            self.concurrent(step, c, p);
        }
        if let Some(c) = &step.conserve {
            self.conserve(c, &p.key("conserve"));
        }
        if let Some(rep) = &step.repeat {
            let rp = p.key("repeat");
            if rep.times < 1 {
                self.invalid_value(&rp.key("times"), "at least 1", rep.times.to_string(), None);
            }
            if let Some(at) = rep.expect_at {
                if rep.until_status.is_none() {
                    let kind = LoadErrorKind::MissingKey {
                        key: "until_status".into(),
                        at: rp.describe(),
                        hint: Some("`expect_at` needs `until_status`".into()),
                    };
                    self.errors.push(self.loc.error(&rp, kind));
                }
                let last = match at {
                    ExpectAt::Exactly(k) | ExpectAt::Between(_, k) => k,
                };
                if at.first() < 1 || last > rep.times {
                    let expected = format!("request numbers from 1 to {}", rep.times);
                    self.invalid_value(&rp.key("expect_at"), &expected, at.to_string(), None);
                }
            }
            if let Some(k) = rep.reference.as_ref().and_then(|r| r.expect_at) {
                let at = rp.key("reference").key("expect_at");
                if rep.until_status.is_none() {
                    self.invalid(&at, "`reference.expect_at` needs `until_status`".into());
                } else if k < 1 || k > rep.times {
                    let expected = format!("a request number from 1 to {}", rep.times);
                    self.invalid_value(&at, &expected, k.to_string(), None);
                } else if rep.expect_at.is_some_and(|e| !e.accepts(k)) {
                    self.invalid(
                        &at,
                        format!("`reference.expect_at: {k}` lies outside the documented `expect_at` (the reference server must keep the documented contract)"),
                    );
                }
            }
            if let Some(s) = rep.until_status {
                self.status(&rp.key("until_status"), s);
            }
            if let Some(n) = rep.in_flight {
                let at = rp.key("in_flight");
                if !(1..=super::model::MAX_IN_FLIGHT).contains(&n) {
                    let expected = format!("from 1 to {}", super::model::MAX_IN_FLIGHT);
                    self.invalid_value(&at, &expected, n.to_string(), None);
                } else if n > 1 && rep.until_status.is_some() {
                    self.invalid(
                        &at,
                        "`in_flight` above 1 cannot go with `until_status`: the request at which a status arrives needs the requests sent one after another".into(),
                    );
                }
            }
            if let Some(each) = &rep.each {
                self.expect(each, &rp.key("each"));
            }
            let op = rp.key("over");
            for (var, list) in &rep.over {
                self.name(&op.key(var), var, "variable");
                self.name(&op.key(var), list, "list variable");
                if rep.over.contains_key(list) || rep.collect.contains_key(list) {
                    self.invalid(
                        &op.key(var),
                        format!("`over.{var}` reads the list `{list}`, which this repeat itself sets: name a list an earlier step built"),
                    );
                }
            }
            self.captures(&rep.collect, &rp.key("collect"));
            for name in rep.collect.keys().filter(|n| rep.over.contains_key(*n)) {
                self.invalid(
                    &rp.key("collect").key(name),
                    format!("`{name}` is both an `over` variable and a `collect` list of this repeat"),
                );
            }
            if let Some(pause) = &rep.pause {
                let pp = rp.key("pause");
                if pause.every < 1 {
                    self.invalid_value(&pp.key("every"), "at least 1", pause.every.to_string(), None);
                }
                if pause.advance_seconds < 1 {
                    self.invalid_value(
                        &pp.key("advance_seconds"),
                        "a positive number of seconds",
                        pause.advance_seconds.to_string(),
                        None,
                    );
                }
            }
        }
        if let Some(e) = &step.expect {
            self.expect(e, &p.key("expect"));
        }
        if let Some(c) = &step.capture {
            self.captures(c, &p.key("capture"));
        }
        for (i, sc) in step.skip_checks.iter().enumerate() {
            if sc.reason.trim().is_empty() {
                let rp = p.key("skip_checks").index(i).key("reason");
                self.invalid_value(
                    &rp,
                    "a reason saying why the check is off",
                    "an empty string".into(),
                    None,
                );
            }
        }
        if let Some(c) = &step.clock
            && c.advance_seconds <= 0
        {
            let cp = p.key("clock").key("advance_seconds");
            self.invalid_value(&cp, "a positive number of seconds", c.advance_seconds.to_string(), None);
        }
        if let Some(s) = &step.subscribe {
            self.non_empty(&p.key("subscribe").key("stream"), &s.stream, "a stream name");
        }
        if let Some(e) = &step.event {
            let ep = p.key("event");
            self.non_empty(&ep.key("stream"), &e.stream, "a stream name");
            self.assertions(&e.matches, &ep.key("match"));
            if e.keepalives == Some(0) {
                self.invalid_value(&ep.key("keepalives"), "a count of 1 or more", "0".into(), None);
            }
            if e.keepalives.is_some() && e.event_type != KEEPALIVE_TYPE {
                self.invalid(
                    &ep.key("keepalives"),
                    format!(
                        "{} counts keepalives, so it needs `type: {KEEPALIVE_TYPE}`",
                        ep.key("keepalives").describe()
                    ),
                );
            }
            if e.event_type == KEEPALIVE_TYPE {
                let extras = present_keys([
                    ("match", !e.matches.is_empty()),
                    ("capture", e.capture.is_some()),
                    ("exactly_once", e.exactly_once.is_some()),
                ]);
                if !extras.is_empty() {
                    self.invalid(
                        &ep,
                        format!(
                            "{} waits for a keepalive, which has no payload: remove {}",
                            ep.describe(),
                            tick_list(&extras)
                        ),
                    );
                }
            }
            if let Some(c) = &e.capture {
                for (name, path) in c {
                    self.name(&ep.key("capture").key(name), name, "variable");
                    self.body_path(&ep.key("capture").key(name), path);
                }
            }
        }
        if let Some(e) = &step.no_event {
            let ep = p.key("no_event");
            self.non_empty(&ep.key("stream"), &e.stream, "a stream name");
            self.assertions(&e.matches, &ep.key("match"));
            if e.event_type.as_deref() == Some(KEEPALIVE_TYPE) {
                self.invalid_value(
                    &ep.key("type"),
                    "an event type (a keepalive can only be awaited, with `event`)",
                    format!("`{KEEPALIVE_TYPE}`"),
                    None,
                );
            }
        }
        if let Some(k) = &step.sink {
            self.name(&p.key("sink").key("name"), &k.name, "sink");
        }
        if let Some(w) = &step.webhook {
            let wp = p.key("webhook");
            self.non_empty(&wp.key("sink"), &w.sink, "a sink name");
            if w.event_type != ANY_WEBHOOK && !WEBHOOK_EVENT_NAMES.contains(&w.event_type.as_str()) {
                self.invalid_value(
                    &wp.key("type"),
                    &format!(
                        "a documented webhook event ({}), or `{ANY_WEBHOOK}` for any delivery",
                        tick_list(&WEBHOOK_EVENT_NAMES)
                    ),
                    format!("`{}`", w.event_type),
                    None,
                );
            }
            if w.within_ms == Some(0) {
                self.invalid_value(
                    &wp.key("within_ms"),
                    "a positive number of milliseconds",
                    "0".into(),
                    None,
                );
            }
            if let Some(sig) = &w.signature {
                self.non_empty(
                    &wp.key("signature").key("secret"),
                    &sig.secret,
                    "the webhook's secret (`{{hook_secret}}`)",
                );
            }
            if let Some(r) = &w.reference {
                self.assertions(&r.matches, &wp.key("reference").key("match"));
            }
        }
        if let Some(set) = &step.set {
            for name in set.keys() {
                self.name(&p.key("set").key(name), name, "variable");
            }
        }
        if let Some(name) = &step.include {
            self.non_empty(&p.key("include"), name, "a flow name");
        }
    }

    fn request(&mut self, r: &Request, p: &KeyPath) {
        if !METHODS.contains(&r.method.as_str()) {
            let upper = r.method.to_ascii_uppercase();
            let suggestion = if METHODS.contains(&upper.as_str()) {
                Some(upper)
            } else {
                did_you_mean(&r.method, METHODS.iter())
            };
            let expected = format!("one of {}", tick_list(METHODS));
            self.invalid_value(&p.key("method"), &expected, format!("`{}`", r.method), suggestion);
        }
        // A path may also start with a variable: a URL the target returned
        // (`{{signed_url}}`, fetched where it points) or its path
        // (`{{signed_url|path}}`, against the target).
        let path_variable = r.path.starts_with("{{");
        if !r.path.starts_with('/') && !path_variable {
            self.invalid_value(
                &p.key("path"),
                "a path starting with `/`, or a variable holding a URL the target returned (`{{signed_url}}`, `{{signed_url|path}}`)",
                format!("`{}`", r.path),
                None,
            );
        }
        let bodies = present_keys([
            ("json", r.json.is_some()),
            ("raw", r.raw.is_some()),
            ("raw_size", r.raw_size.is_some()),
            ("multipart", r.multipart.is_some()),
        ]);
        if bodies.len() > 1 {
            self.invalid(
                p,
                format!(
                    "several bodies in {}: {} (a request has at most one)",
                    p.describe(),
                    tick_list(&bodies)
                ),
            );
        }
    }

    /// A `concurrent` step: copies (`times` ≥ 2 and `request`) or a list
    /// of at least two `requests`, each with a known actor; `expect_all`
    /// with counts by status that the number of requests can meet.
    fn concurrent(&mut self, step: &Step, c: &Concurrent, p: &KeyPath) {
        let cp = p.key("concurrent");
        let n = match (&c.request, c.requests.is_empty()) {
            (Some(r), true) => {
                self.request(r, &cp.key("request"));
                match c.times {
                    Some(t) if t >= 2 => t,
                    Some(t) => {
                        self.invalid_value(&cp.key("times"), "at least 2 copies", t.to_string(), None);
                        2
                    }
                    None => {
                        let kind = LoadErrorKind::MissingKey {
                            key: "times".into(),
                            at: cp.describe(),
                            hint: Some("copies of one `request` need `times` (2 or more)".into()),
                        };
                        self.errors.push(self.loc.error(&cp, kind));
                        2
                    }
                }
            }
            (None, false) => {
                if c.times.is_some() {
                    self.invalid(
                        &cp.key("times"),
                        format!(
                            "`times` in {} copies one `request`; with a list of `requests` each is sent once: remove `times`",
                            cp.describe()
                        ),
                    );
                }
                if c.requests.len() < 2 {
                    self.invalid_value(
                        &cp.key("requests"),
                        "at least two requests sent at once",
                        format!("{} request", c.requests.len()),
                        None,
                    );
                }
                for (i, r) in c.requests.iter().enumerate() {
                    let rp = cp.key("requests").index(i);
                    self.request(&r.request, &rp.key("request"));
                    match &r.actor {
                        Some(actor) if !self.actors.contains(actor) => {
                            let kind = LoadErrorKind::UndefinedActor {
                                actor: actor.clone(),
                                at: rp.key("as").describe(),
                                declared: self.actors.clone(),
                                suggestion: did_you_mean(actor, self.actors.iter()),
                            };
                            self.errors.push(self.loc.error(&rp.key("as"), kind));
                        }
                        Some(_) => {}
                        None if step.actor.is_none() && r.auth.or(step.auth) != Some(super::model::AuthMode::None) => {
                            let kind = LoadErrorKind::MissingKey {
                                key: "as".into(),
                                at: rp.describe(),
                                hint: Some(
                                    "each request needs an actor (its own `as`, or the step's) unless `auth: none`"
                                        .into(),
                                ),
                            };
                            self.errors.push(self.loc.error(&rp, kind));
                        }
                        None => {}
                    }
                }
                c.requests.len() as u32
            }
            (Some(_), false) => {
                self.invalid(
                    &cp,
                    format!(
                        "{} has both `request` (copies) and `requests` (a list): use one",
                        cp.describe()
                    ),
                );
                return;
            }
            (None, true) => {
                let kind = LoadErrorKind::MissingKey {
                    key: "request".into(),
                    at: cp.describe(),
                    hint: Some("send `times` copies of a `request`, or a list of `requests`".into()),
                };
                self.errors.push(self.loc.error(&cp, kind));
                return;
            }
        };
        match &step.expect_all {
            None => {
                let kind = LoadErrorKind::MissingKey {
                    key: "expect_all".into(),
                    at: p.describe(),
                    hint: Some(
                        "say what the set of answers must be, e.g. `expect_all: {count: {\"2xx\": 1, \"4xx\": 1}, none: 5xx}`".into(),
                    ),
                };
                self.errors.push(self.loc.error(p, kind));
            }
            Some(e) => self.expect_all(e, &p.key("expect_all"), n, false),
        }
    }

    fn expect_all(&mut self, e: &ExpectAll, p: &KeyPath, n: u32, nested: bool) {
        if e.count.is_empty() && e.none.is_empty() && e.reference.is_none() {
            self.invalid(
                p,
                format!(
                    "empty {}: give `count` (answers by status) or `none` (statuses no answer may have)",
                    p.describe()
                ),
            );
        }
        let mut families: u32 = 0;
        for (key, want) in &e.count {
            let kp = p.key("count").key(key);
            match parse_status_key(key) {
                None => self.invalid_value(
                    &kp,
                    "an HTTP status (100 to 599) or a family such as `4xx`",
                    format!("`{key}`"),
                    None,
                ),
                Some(st) => {
                    if *want > n {
                        self.invalid_value(
                            &kp,
                            &format!("at most {n} (the step sends {n} requests)"),
                            want.to_string(),
                            None,
                        );
                    }
                    if matches!(st, StatusExpect::Family(_)) {
                        families += want;
                    }
                    if e.none.iter().any(|x| x.matches(status_of(st))) && *want > 0 {
                        self.invalid(
                            &kp,
                            format!("`{key}` is counted in {} but listed under `none`", p.describe()),
                        );
                    }
                }
            }
        }
        if families > n {
            self.invalid(
                &p.key("count"),
                format!(
                    "the families in {} add up to {families} answers, more than the {n} requests sent",
                    p.describe()
                ),
            );
        }
        if let Some(r) = &e.reference {
            let rp = p.key("reference");
            if nested {
                self.invalid(&rp, "a `reference` block cannot hold another `reference`".into());
            } else {
                self.expect_all(r, &rp, n, true);
            }
        }
    }

    /// A `conserve` step: `open` a list of actors, or check (`platform`,
    /// `held`, `change`) against the opened wallets; not both.
    fn conserve(&mut self, c: &Conserve, p: &KeyPath) {
        let check = present_keys([
            ("wallets", !c.wallets.is_empty()),
            ("platform", !c.platform.is_empty()),
            ("held", c.held.is_some()),
            ("change", !c.change.is_empty()),
        ]);
        if !c.open.is_empty() && !check.is_empty() {
            self.invalid(
                p,
                format!(
                    "{} both opens wallets (`open`) and checks them ({}): open in one step, check in a later one",
                    p.describe(),
                    tick_list(&check)
                ),
            );
        }
        if c.open.is_empty() && c.platform.is_empty() {
            let kind = LoadErrorKind::MissingKey {
                key: "platform".into(),
                at: p.describe(),
                hint: Some(
                    "open the tracked wallets with `open: [actors]`, or check them with `platform: <cents>` (the platform's documented take; 0 when none)".into(),
                ),
            };
            self.errors.push(self.loc.error(p, kind));
        }
        let declared = self.actors.clone();
        let unknown = |a: &String| !declared.contains(a);
        for (i, a) in c.open.iter().enumerate() {
            if unknown(a) {
                let kind = LoadErrorKind::UndefinedActor {
                    actor: a.clone(),
                    at: p.key("open").index(i).describe(),
                    declared: self.actors.clone(),
                    suggestion: did_you_mean(a, self.actors.iter()),
                };
                self.errors.push(self.loc.error(&p.key("open").index(i), kind));
            }
            if c.open[..i].contains(a) {
                self.invalid(&p.key("open").index(i), format!("`{a}` is opened twice"));
            }
        }
        for (i, a) in c.wallets.iter().enumerate().filter(|(_, a)| unknown(a)) {
            let kind = LoadErrorKind::UndefinedActor {
                actor: a.clone(),
                at: p.key("wallets").index(i).describe(),
                declared: self.actors.clone(),
                suggestion: did_you_mean(a, self.actors.iter()),
            };
            self.errors.push(self.loc.error(&p.key("wallets").index(i), kind));
        }
        for a in c.change.keys().filter(|a| unknown(a)) {
            let kind = LoadErrorKind::UndefinedActor {
                actor: a.clone(),
                at: p.key("change").key(a).describe(),
                declared: self.actors.clone(),
                suggestion: did_you_mean(a, self.actors.iter()),
            };
            self.errors.push(self.loc.error(&p.key("change").key(a), kind));
        }
        for (i, v) in c.platform.iter().enumerate() {
            if *v < 0 {
                let at = if c.platform.len() == 1 {
                    p.key("platform")
                } else {
                    p.key("platform").index(i)
                };
                self.invalid_value(&at, "cents the platform keeps (0 or more)", v.to_string(), None);
            }
        }
        if let Some(h) = c.held
            && h < 0
        {
            self.invalid_value(&p.key("held"), "cents still in escrow (0 or more)", h.to_string(), None);
        }
    }

    fn status(&mut self, p: &KeyPath, s: u16) {
        if !(100..=599).contains(&s) {
            self.invalid_value(p, "an HTTP status from 100 to 599", s.to_string(), None);
        }
    }

    fn expect(&mut self, e: &Expect, p: &KeyPath) {
        for (name, check) in &e.headers {
            self.check(check, &p.key("headers").key(name));
        }
        self.assertions(&e.body, &p.key("body"));
        if let Some(r) = &e.reference {
            let rp = p.key("reference");
            if r.reference.is_some() {
                self.invalid(
                    &rp.key("reference"),
                    "a `reference` block cannot hold another `reference`".into(),
                );
            }
            if !r.status.is_empty()
                && !e.status.is_empty()
                && r.status.iter().any(|s| match s.code() {
                    Some(c) => !e.accepts_status(c),
                    None => false,
                })
            {
                self.invalid(
                    &rp.key("status"),
                    "the reference status lies outside the documented `status` (the reference server must keep the documented contract)".into(),
                );
            }
            self.expect(r, &rp);
        }
    }

    fn assertions(&mut self, v: &[BodyAssertion], p: &KeyPath) {
        for (i, a) in v.iter().enumerate() {
            let ap = p.index(i);
            self.body_path(&ap.key("path"), &a.path);
            self.check(&a.check, &ap);
        }
    }

    fn body_path(&mut self, p: &KeyPath, path: &str) {
        if let Err((what, why)) = check_body_path(path) {
            self.invalid(p, format!("{what} in {}: {why}", p.describe()));
        }
    }

    fn check(&mut self, c: &Check, p: &KeyPath) {
        // `not` nests; walk it without recursion.
        let mut cur = Some((c, p.clone()));
        while let Some((c, p)) = cur {
            // Variables are interpolated before the regex is compiled.
            if let Some(re) = &c.regex
                && let Err(e) = Regex::new(&replace_references(re, "x"))
            {
                let message = format!(
                    "invalid regex in {}: {}",
                    p.key("regex").describe(),
                    one_line(&e.to_string())
                );
                self.invalid(&p.key("regex"), message);
            }
            if let Some(t) = &c.type_
                && !JSON_TYPES.contains(&t.as_str())
            {
                let expected = format!("one of {}", tick_list(JSON_TYPES));
                let suggestion = did_you_mean(t, JSON_TYPES.iter());
                self.invalid_value(&p.key("type"), &expected, format!("`{t}`"), suggestion);
            }
            for (k, v) in [("min", c.min), ("max", c.max)] {
                if let Some(x) = v
                    && !x.is_finite()
                {
                    self.invalid_value(&p.key(k), "a finite number", x.to_string(), None);
                }
            }
            cur = c.not.as_deref().map(|n| (n, p.key("not")));
        }
    }
}

impl LoadError {
    /// Sets the key path the error is about.
    pub(crate) fn keyed(mut self, p: &KeyPath) -> Self {
        self.key = p.display.clone();
        self
    }
}

#[cfg(test)]
mod concurrent_and_conserve_tests {
    use crate::scenario::parse_scenario_all;

    const HEAD: &str = "id: a\ntitle: t\nactors:\n  poster: {role: poster}\n  agent: {role: agent}\nsteps:\n";

    fn errors(steps: &str) -> Vec<String> {
        match parse_scenario_all(&format!("{HEAD}{steps}"), "s/a.yaml") {
            Ok(_) => Vec::new(),
            Err(e) => e.errors().iter().map(|x| x.to_string()).collect(),
        }
    }

    #[test]
    fn a_good_concurrent_step_and_conserve_steps_load() {
        let ok = errors(
            "  - conserve: {open: [poster]}\n  - as: poster\n    concurrent:\n      times: 2\n      request: {method: POST, path: /api/jobs/x/nda}\n    expect_all: {count: {\"2xx\": 1, \"4xx\": 1}, none: 5xx, reference: {count: {\"400\": 1}}}\n  - conserve: {platform: [0, 10], held: 5, change: {poster: -5}}\n",
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn bad_concurrent_steps_name_the_place() {
        let e = errors(
            "  - as: poster\n    concurrent: {times: 1, request: {method: GET, path: /x}}\n    expect_all: {none: 5xx}\n",
        );
        assert!(
            e.iter()
                .any(|m| m.contains("a.yaml:8") && m.contains("times") && m.contains("at least 2")),
            "{e:?}"
        );
        let e = errors("  - as: poster\n    concurrent: {times: 2, request: {method: GET, path: /x}}\n");
        assert!(e.iter().any(|m| m.contains("expect_all")), "{e:?}");
        let e = errors(
            "  - as: poster\n    concurrent: {times: 2, request: {method: GET, path: /x}}\n    expect_all: {count: {\"2xy\": 1}}\n",
        );
        assert!(e.iter().any(|m| m.contains("2xy") && m.contains("family")), "{e:?}");
        let e = errors(
            "  - as: poster\n    concurrent: {times: 2, request: {method: GET, path: /x}}\n    expect_all: {count: {\"2xx\": 3}}\n",
        );
        assert!(e.iter().any(|m| m.contains("at most 2")), "{e:?}");
        let e = errors(
            "  - concurrent: {requests: [{as: nobody, request: {method: GET, path: /x}}, {request: {method: GET, path: /y}}]}\n    expect_all: {none: 5xx}\n",
        );
        assert!(e.iter().any(|m| m.contains("nobody")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("each request needs an actor")), "{e:?}");
        let e = errors(
            "  - as: poster\n    concurrent: {times: 2, request: {method: GET, path: /x}}\n    expect_all: {none: 5xx}\n    expect: {status: 200}\n",
        );
        assert!(e.iter().any(|m| m.contains("expect")), "{e:?}");
    }

    #[test]
    fn bad_conserve_steps_name_the_place() {
        let e = errors("  - conserve: {open: [poster], platform: 0}\n");
        assert!(e.iter().any(|m| m.contains("open in one step")), "{e:?}");
        let e = errors("  - conserve: {held: 5}\n");
        assert!(e.iter().any(|m| m.contains("platform")), "{e:?}");
        let e = errors("  - conserve: {open: [posterr]}\n");
        assert!(e.iter().any(|m| m.contains("posterr")), "{e:?}");
        let e = errors("  - conserve: {platform: -1}\n");
        assert!(e.iter().any(|m| m.contains("0 or more")), "{e:?}");
    }
}
