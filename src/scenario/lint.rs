//! Lint of a loaded library: the rules that span steps, scenarios or the spec.
//!
//! Job: unique ids, variables defined before use, actors declared in
//! `{{actor.field}}`, streams subscribed before use, requests that match a
//! documented operation, `doc` and `rule` present, known `requires`
//! features, money-moving steps only in `moves_money` scenarios, clock
//! steps only with `requires: [clock]`. Each finding has a location.
//!
//! It must not: fail on a broken library (it reports what it can), print,
//! or run anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::diagnostics::did_you_mean;
use super::diagnostics::tick_list;
use super::flow::expand;
use super::loader::Library;
use super::model::{AutoCheck, Capture, Level, Scenario, SourceLocation, StatusExpect, Step};
use super::validate::METHODS;
use super::vars::{ACTOR_FIELD_ALIASES, ACTOR_FIELDS, BUILTINS, FILTERS, replace_references, step_references};

/// Control-API features a scenario may require.
pub const FEATURES: &[&str] = &["actors", "clock", "reset", "attachments", "webhook_loopback"];

/// `POST` paths ending in one of these move money.
pub const MONEY_SUFFIXES: &[&str] = &["fund-escrow", "fund-proof-escrow", "approve"];

/// The value put in place of each `{{variable}}` of a path before it is
/// matched against the spec.
pub const PLACEHOLDER_ID: &str = "00000000-0000-4000-8000-000000000000";

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The library is wrong; `lint` fails.
    Error,
    /// Worth fixing; `lint` passes.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintFinding {
    /// Where: the scenario's file (1:1 for scenario-wide findings) or the
    /// step's own file and position (a flow's file for included steps).
    pub location: SourceLocation,
    /// Error or warning.
    pub severity: Severity,
    /// The scenario concerned (a flow's step is linted in each scenario
    /// that includes it), if any.
    pub scenario: Option<String>,
    /// What is wrong, lower-case, naming the thing in backticks.
    pub message: String,
}

impl fmt::Display for LintFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.severity, self.message)
    }
}

/// What the documented contract says of a place in an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldDoc {
    /// The index cannot tell (the lint then says nothing).
    Unknown,
    /// The documented answer does not contain the place.
    Undocumented,
    /// Documented; `values` lists the values the docs name for it, if any.
    Documented { values: Option<Vec<serde_json::Value>> },
}

/// Something that knows the documented contract (and, optionally, the
/// reference layer). The scenario room reaches the spec only through it.
pub trait OperationIndex {
    /// Whether `method` on the concrete `path` matches a documented operation.
    fn has_operation(&self, method: &str, path: &str) -> bool;

    /// Whether only the reference layer has the operation (a route the docs
    /// do not name, used by our reference server).
    fn has_reference_operation(&self, _method: &str, _path: &str) -> bool {
        false
    }

    /// The exact statuses the docs fix for the operation (`200`, `403`),
    /// leaving out ranges (`4XX`); `None` when the index cannot tell.
    fn documented_statuses(&self, _method: &str, _path: &str) -> Option<Vec<u16>> {
        None
    }

    /// What the documented answer for `status` says of a place (`segments`:
    /// property names, `*` for any item or key).
    fn documented_field(&self, _method: &str, _path: &str, _status: u16, _segments: &[String]) -> FieldDoc {
        FieldDoc::Unknown
    }

    /// Whether the documented answer for `status` names a header; `None`
    /// when the index cannot tell.
    fn documented_header(&self, _method: &str, _path: &str, _status: u16, _name: &str) -> Option<bool> {
        None
    }
}

/// Lint a library, matching requests against `ops` when given.
pub fn lint_with(library: &Library, ops: Option<&dyn OperationIndex>) -> Vec<LintFinding> {
    let mut out = Vec::new();
    let mut ids: BTreeMap<&str, &SourceLocation> = BTreeMap::new();
    let mut included: BTreeSet<String> = BTreeSet::new();
    for s in &library.scenarios {
        if let Some(first) = ids.get(s.id.as_str()) {
            out.push(finding(
                &s.source,
                Severity::Error,
                s,
                format!("duplicate id `{}`: also used by {first}", s.id),
            ));
        } else {
            ids.insert(&s.id, &s.source);
        }
        lint_scenario(s, library, ops, &mut included, &mut out);
    }
    for f in library.flows.values() {
        for st in &f.steps {
            if let Some(n) = &st.include {
                included.insert(n.clone());
            }
        }
    }
    for (name, f) in &library.flows {
        if !included.contains(name) {
            out.push(LintFinding {
                location: f.source.clone(),
                severity: Severity::Warning,
                scenario: None,
                message: format!("flow `{name}` is never included"),
            });
        }
    }
    out.sort_by(|a, b| {
        let key = |f: &LintFinding| (f.location.file.clone(), f.location.line, f.location.column, f.severity);
        key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
    });
    out.dedup();
    out
}

fn finding(at: &SourceLocation, severity: Severity, s: &Scenario, message: String) -> LintFinding {
    let message = if at.file != s.source.file && !at.file.is_empty() {
        format!("{message} (included from scenario `{}`)", s.id)
    } else {
        message
    };
    LintFinding {
        location: at.clone(),
        severity,
        scenario: Some(s.id.clone()),
        message,
    }
}

fn lint_scenario(
    s: &Scenario,
    library: &Library,
    ops: Option<&dyn OperationIndex>,
    included: &mut BTreeSet<String>,
    out: &mut Vec<LintFinding>,
) {
    let here = &s.source;
    if s.doc.iter().all(|d| d.trim().is_empty()) {
        out.push(finding(
            here,
            Severity::Error,
            s,
            "missing `doc`: name where the rule is documented (`llms.txt#section`, `docs/api#section` or `openapi:operationId`)".into(),
        ));
    }
    if s.rule.as_deref().is_none_or(|r| r.trim().is_empty()) {
        out.push(finding(
            here,
            Severity::Warning,
            s,
            "missing `rule`: quote or paraphrase the documented rule".into(),
        ));
    }
    for r in &s.requires {
        if !FEATURES.contains(&r.as_str()) {
            let hint = did_you_mean(r, FEATURES.iter())
                .map(|m| format!(" (did you mean `{m}`?)"))
                .unwrap_or_default();
            out.push(finding(
                here,
                Severity::Error,
                s,
                format!(
                    "unknown feature `{r}` in requires: expected one of {}{hint}",
                    tick_list(FEATURES)
                ),
            ));
        }
    }
    for st in &s.steps {
        if let Some(n) = &st.include {
            included.insert(n.clone());
        }
    }
    // Includes are checked by the loader; a broken one leaves nothing to lint.
    let Ok(steps) = expand(s, library) else {
        return;
    };

    let actors: Vec<&String> = s.actors.keys().collect();
    let mut defined: BTreeSet<String> = s.vars.keys().cloned().collect();
    let later: BTreeSet<String> = steps.iter().flat_map(defines).collect();
    let mut streams: BTreeSet<String> = BTreeSet::new();
    let mut sinks: BTreeSet<String> = BTreeSet::new();
    let requires_clock = s.requires.iter().any(|r| r == "clock");
    for st in &steps {
        if let Some(rep) = &st.repeat {
            for (var, list) in &rep.over {
                if !defined.contains(list) {
                    out.push(finding(
                        &st.source,
                        Severity::Error,
                        s,
                        format!(
                            "`repeat.over.{var}` reads the list `{list}`, which no earlier step, `vars` or `collect` defines{}",
                            hint(list, &defined.iter().map(String::as_str).collect::<Vec<_>>())
                        ),
                    ));
                }
            }
            if rep.pause.is_some() && !requires_clock {
                out.push(finding(
                    &st.source,
                    Severity::Error,
                    s,
                    "`repeat.pause` moves the target's clock: add `clock` to `requires`".into(),
                ));
            }
        }
        // The `over` variables are set for this step's own request.
        let own: Vec<String> = st
            .repeat
            .iter()
            .flat_map(|r| r.over.keys().cloned())
            .filter(|k| !defined.contains(k))
            .collect();
        defined.extend(own.iter().cloned());
        for r in step_references(st) {
            if let Some(msg) = check_reference(&r, &actors, &defined, &later) {
                out.push(finding(&st.source, Severity::Error, s, msg));
            }
        }
        for k in &own {
            defined.remove(k);
        }
        lint_step(s, st, ops, &streams, out);
        if let Some(sub) = &st.subscribe {
            streams.insert(sub.stream.clone());
        }
        if let Some(k) = &st.sink {
            sinks.insert(k.name.clone());
        }
        if let Some(msg) = super::lint_sink::check(s, st, &sinks) {
            out.push(finding(&st.source, Severity::Error, s, msg));
        }
        defined.extend(defines(st));
    }
}

/// The variable names a step defines (after it runs).
fn defines(st: &Step) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if let Some(set) = &st.set {
        v.extend(set.keys().cloned());
    }
    if let Some(c) = &st.capture {
        v.extend(c.keys().cloned());
    }
    if let Some(r) = &st.repeat {
        v.extend(r.collect.keys().cloned());
        v.extend(r.over.keys().cloned());
    }
    if let Some(c) = st.event.as_ref().and_then(|e| e.capture.as_ref()) {
        v.extend(c.keys().cloned());
    }
    if let Some(k) = &st.sink {
        v.push(k.name.clone());
    }
    v
}

fn hint(word: &str, candidates: &[&str]) -> String {
    did_you_mean(word, candidates.iter().copied())
        .map(|m| format!(" (did you mean `{m}`?)"))
        .unwrap_or_default()
}

/// What is wrong with one reference (`name`, `actor.field`,
/// `var.key.0`, each optionally followed by `|filter`s), if anything.
/// Resolution follows the runner: an actor's field first, then a defined
/// variable (dotted access into its value), then the built-ins.
fn check_reference(
    reference: &str,
    actors: &[&String],
    defined: &BTreeSet<String>,
    later: &BTreeSet<String>,
) -> Option<String> {
    let mut parts = reference.split('|').map(str::trim);
    let r = parts.next().unwrap_or_default();
    let shown = format!("`{{{{{reference}}}}}`");
    for filter in parts {
        if let Some((op, operand)) = filter.split_once(':') {
            let operand = operand.trim();
            if !matches!(op.trim(), "plus" | "minus") {
                return Some(format!(
                    "unknown filter `{filter}` in {shown}: the arithmetic filters are `plus:N` and `minus:N`"
                ));
            }
            if operand.parse::<i64>().is_err() && !defined.contains(operand) && !later.contains(operand) {
                return Some(format!(
                    "`{filter}` in {shown}: `{operand}` is neither an integer nor a defined variable"
                ));
            }
            continue;
        }
        if !FILTERS.contains(&filter) {
            return Some(format!(
                "unknown filter `{filter}` in {shown}: expected one of {}{}",
                tick_list(FILTERS),
                hint(filter, FILTERS)
            ));
        }
    }
    let head = r.split('.').next().unwrap_or(r);
    if let Some((actor, field)) = r.split_once('.')
        && actors.iter().any(|a| a.as_str() == actor)
    {
        if ACTOR_FIELDS.contains(&field) || ACTOR_FIELD_ALIASES.contains(&field) {
            return None;
        }
        return Some(format!(
            "unknown actor field `{field}` in {shown}: expected one of {}{}",
            tick_list(ACTOR_FIELDS),
            hint(field, ACTOR_FIELDS)
        ));
    }
    if defined.contains(head) || (head == r && BUILTINS.contains(&r)) {
        return None;
    }
    if later.contains(head) {
        return Some(format!(
            "variable `{head}` in {shown} is used before the step that defines it"
        ));
    }
    let mut candidates: Vec<&str> = defined.iter().map(String::as_str).collect();
    if head == r {
        candidates.extend(BUILTINS.iter().copied());
        return Some(format!(
            "undefined variable `{r}` in {shown}: no earlier step, `vars` or built-in defines it{}",
            hint(r, &candidates)
        ));
    }
    candidates.extend(actors.iter().map(|a| a.as_str()));
    Some(format!(
        "undefined actor or variable `{head}` in {shown}: no actor, earlier step or `vars` defines it{}",
        hint(head, &candidates)
    ))
}

/// `path` with each `{{...}}` replaced by [`PLACEHOLDER_ID`] and the query
/// string removed.
pub fn concrete_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    replace_references(path, PLACEHOLDER_ID)
}

/// Does a `POST` to `path` move money?
pub fn moves_money(method: &str, path: &str) -> bool {
    let p = concrete_path(path);
    let last = p.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    method.eq_ignore_ascii_case("POST") && MONEY_SUFFIXES.contains(&last)
}

fn lint_step(
    s: &Scenario,
    st: &Step,
    ops: Option<&dyn OperationIndex>,
    streams: &BTreeSet<String>,
    out: &mut Vec<LintFinding>,
) {
    if st.clock.is_some() && !s.requires.iter().any(|r| r == "clock") {
        out.push(finding(
            &st.source,
            Severity::Error,
            s,
            "a `clock` step needs the target's clock: add `clock` to `requires`".into(),
        ));
    }
    let stream = st
        .event
        .as_ref()
        .map(|e| &e.stream)
        .or(st.no_event.as_ref().map(|e| &e.stream));
    if let Some(stream) = stream
        && !streams.contains(stream)
    {
        let hint = did_you_mean(stream, streams.iter())
            .map(|m| format!(" (did you mean `{m}`?)"))
            .unwrap_or_default();
        out.push(finding(
            &st.source,
            Severity::Error,
            s,
            format!("stream `{stream}` is not opened by an earlier `subscribe` step{hint}"),
        ));
    }
    let must = is_must(s, st);
    if must
        && let Some(e) = &st.event
        && (!e.matches.is_empty() || e.capture.as_ref().is_some_and(|c| !c.is_empty()))
    {
        out.push(finding(
            &st.source,
            Severity::Error,
            s,
            format!(
                "the `{}` event's payload fields are undocumented (the docs name event types only): move `match` under `reference: {{match: [...]}}` and any `capture` to a step marked `level: reference`",
                e.event_type
            ),
        ));
    }
    if must
        && let Some(n) = &st.no_event
        && !n.matches.is_empty()
    {
        out.push(finding(
            &st.source,
            Severity::Error,
            s,
            "a `no_event` with `match` relies on undocumented payload fields: drop the `match` (no event of the type at all) or mark the step `level: reference`".into(),
        ));
    }
    if let Some(c) = &st.concurrent {
        lint_concurrent(s, st, c, ops, must, out);
    }
    if let Some(c) = &st.conserve {
        lint_conserve(s, st, c, must, out);
    }
    let Some(r) = &st.request else { return };
    lint_request(s, st, r, ops, must, out);
}

/// The lint of one request of a step (a `request` step's, or each of a
/// `concurrent` step's): money, the operation, the documented layer.
fn lint_request(
    s: &Scenario,
    st: &Step,
    r: &super::model::Request,
    ops: Option<&dyn OperationIndex>,
    must: bool,
    out: &mut Vec<LintFinding>,
) {
    if moves_money(&r.method, &r.path) && !s.moves_money {
        out.push(finding(
            &st.source,
            Severity::Error,
            s,
            format!(
                "`{} {}` moves money but the scenario lacks `moves_money: true`",
                r.method, r.path
            ),
        ));
    }
    let skipped = st.skip_checks.iter().any(|c| c.check == AutoCheck::Operation);
    // A path computed at run time (`{{url|path}}`) is matched by the runner.
    let dynamic = r.path.starts_with("{{");
    // A method that is not one (`FETCH`) is the loader's error already.
    let known_method = METHODS.contains(&r.method.as_str());
    if let Some(ops) = ops
        && !skipped
        && !dynamic
        && known_method
    {
        let concrete = concrete_path(&r.path);
        if !ops.has_operation(&r.method, &concrete) {
            let reference_only = ops.has_reference_operation(&r.method, &concrete);
            if reference_only && must {
                out.push(finding(
                    &st.source,
                    Severity::Error,
                    s,
                    format!(
                        "`{} {}` is a route the docs do not name (only our reference server has it): mark the step `level: reference`, or reach the same state through documented routes",
                        r.method, r.path
                    ),
                ));
            } else if !reference_only {
                // A wrong method on a documented path: name the right ones.
                let documented: Vec<&str> = METHODS
                    .iter()
                    .copied()
                    .filter(|m| ops.has_operation(m, &concrete))
                    .collect();
                let methods = if documented.is_empty() {
                    String::new()
                } else {
                    format!(": the docs name {} for this path", tick_list(&documented))
                };
                out.push(finding(
                    &st.source,
                    Severity::Error,
                    s,
                    format!(
                        "no documented operation for `{} {}` (matched as `{concrete}`){methods}; if intended, add `skip_checks: [{{check: operation, reason: ...}}]`",
                        r.method, r.path
                    ),
                ));
            }
        } else if must {
            documented_only(s, st, ops, &r.method, &concrete, &r.path, out);
        }
    }
}

/// A `concurrent` step: each request as a request step; at `must` level,
/// an exact status counted in `expect_all.count` must be one the docs fix
/// for the operation (the loser's exact code is usually our choice).
fn lint_concurrent(
    s: &Scenario,
    st: &Step,
    c: &super::model::Concurrent,
    ops: Option<&dyn OperationIndex>,
    must: bool,
    out: &mut Vec<LintFinding>,
) {
    let requests: Vec<&super::model::Request> = c.request.iter().chain(c.requests.iter().map(|r| &r.request)).collect();
    for r in &requests {
        lint_request(s, st, r, ops, must, out);
    }
    let (Some(ops), true, Some(e)) = (ops, must, &st.expect_all) else {
        return;
    };
    let codes: Vec<u16> = e
        .count
        .keys()
        .filter_map(|k| super::validate::parse_status_key(k))
        .chain(e.none.iter().copied())
        .filter_map(StatusExpect::code)
        .collect();
    for r in &requests {
        if r.path.starts_with("{{") {
            continue;
        }
        let concrete = concrete_path(&r.path);
        let Some(fixed) = ops.documented_statuses(&r.method, &concrete) else {
            continue;
        };
        for code in codes.iter().filter(|c| !fixed.contains(c)) {
            let shown = if fixed.is_empty() {
                "none".to_string()
            } else {
                fixed.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            };
            out.push(finding(
                &st.source,
                Severity::Error,
                s,
                format!(
                    "`expect_all` counts status `{code}`, which the docs do not fix for `{} {}` (they fix {shown}): count the family `{}xx` and put `{code}` under `expect_all.reference`, or cite the doc that fixes it",
                    r.method,
                    r.path,
                    code / 100
                ),
            ));
        }
    }
}

/// A `conserve` check: after an `open`, over opened actors only; at `must`
/// level, never over an agent's or proofer's wallet (payouts go to their
/// Stripe accounts: a wallet credit is our reference server's choice).
fn lint_conserve(s: &Scenario, st: &Step, c: &super::model::Conserve, must: bool, out: &mut Vec<LintFinding>) {
    if !c.open.is_empty() {
        return;
    }
    let opened: Vec<&String> = s
        .steps
        .iter()
        .filter_map(|x| x.conserve.as_ref())
        .flat_map(|x| x.open.iter())
        .collect();
    if opened.is_empty() {
        out.push(finding(
            &st.source,
            Severity::Error,
            s,
            "a `conserve` check needs the opening balances: add an earlier step `conserve: {open: [actors]}`".into(),
        ));
        return;
    }
    for a in c.wallets.iter().chain(c.change.keys()) {
        if !opened.contains(&a) {
            out.push(finding(
                &st.source,
                Severity::Error,
                s,
                format!("`conserve`: `{a}`'s wallet is not tracked (add it to the `conserve: {{open: [...]}}` step)"),
            ));
        }
    }
    let summed: Vec<&String> = if c.wallets.is_empty() {
        opened
    } else {
        c.wallets.iter().collect()
    };
    if must {
        for a in &summed {
            let role = s.actors.get(*a).map(|x| x.role);
            if matches!(role, Some(super::model::Role::Agent | super::model::Role::Proofer)) {
                out.push(finding(
                    &st.source,
                    Severity::Error,
                    s,
                    format!(
                        "the balance equation tracks `{a}`'s wallet, and the docs pay agents and proofers to their Stripe accounts (a wallet credit is our reference server's choice): mark the step `level: reference`, or sum only the poster's (`wallets: [poster]`)"
                    ),
                ));
            }
        }
    }
}

/// Whether a step's checks are at the `must` level (the scenario is
/// `must` and the step is not marked `level: reference`).
fn is_must(s: &Scenario, st: &Step) -> bool {
    s.level == Level::Must && st.level != Some(Level::Reference)
}

/// The lint of the documented layer of a `must` request step: every exact
/// status, body field, value, header and capture it relies on must be in
/// the documented contract.
fn documented_only(
    s: &Scenario,
    st: &Step,
    ops: &dyn OperationIndex,
    method: &str,
    path: &str,
    written: &str,
    out: &mut Vec<LintFinding>,
) {
    let op = format!("{method} {written}");
    let fix = "cite the doc that says it (add it, with its `x-doc`, to the documented spec) or move it under `expect.reference`";
    let expect = st.expect.clone().unwrap_or_default();
    let fixed = ops.documented_statuses(method, path);
    if let Some(fixed) = &fixed {
        for code in expect.status.iter().filter_map(|x| x.code()) {
            if !fixed.contains(&code) {
                let shown = if fixed.is_empty() {
                    "none".to_string()
                } else {
                    fixed.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                };
                out.push(finding(
                    &st.source,
                    Severity::Error,
                    s,
                    format!(
                        "status `{code}` is not fixed by the docs for `{op}` (they fix {shown}): expect the family `{}xx` and move `{code}` under `expect.reference`, or cite the doc that fixes it",
                        code / 100
                    ),
                ));
            }
        }
    }
    let statuses: Vec<u16> = if expect.status.is_empty() {
        vec![200]
    } else {
        expect
            .status
            .iter()
            .map(|x| match x {
                StatusExpect::Code(c) => *c,
                StatusExpect::Family(h) => h * 100,
            })
            .collect()
    };
    let field = |segments: &[String]| -> FieldDoc {
        let mut unknown = false;
        let mut undocumented = false;
        for status in &statuses {
            match ops.documented_field(method, path, *status, segments) {
                d @ FieldDoc::Documented { .. } => return d,
                FieldDoc::Unknown => unknown = true,
                FieldDoc::Undocumented => undocumented = true,
            }
        }
        if unknown || !undocumented {
            FieldDoc::Unknown
        } else {
            FieldDoc::Undocumented
        }
    };
    for a in &expect.body {
        let Some(segments) = body_segments(&a.path) else {
            continue;
        };
        match field(&segments) {
            FieldDoc::Undocumented => out.push(finding(
                &st.source,
                Severity::Error,
                s,
                format!("`{}` is not in the documented answer of `{op}`: {fix}", a.path),
            )),
            FieldDoc::Documented { values: Some(values) } => {
                let asserted: Vec<&serde_json::Value> = a
                    .check
                    .equals
                    .iter()
                    .chain(a.check.one_of.iter().flatten())
                    .filter(|v| !v.as_str().is_some_and(|t| t.contains("{{")))
                    .collect();
                for v in asserted {
                    if !values.contains(v) {
                        out.push(finding(
                            &st.source,
                            Severity::Error,
                            s,
                            format!(
                                "`{}` is asserted to be {v}, a value the docs do not name for it (they name {}): {fix}",
                                a.path,
                                values.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for name in expect.headers.keys() {
        if statuses
            .iter()
            .all(|status| ops.documented_header(method, path, *status, name) == Some(false))
        {
            out.push(finding(
                &st.source,
                Severity::Error,
                s,
                format!("header `{name}` is not in the documented answer of `{op}`: {fix}"),
            ));
        }
    }
    let collected = st.repeat.iter().flat_map(|r| r.collect.iter());
    for (name, cap) in st.capture.iter().flatten().chain(collected) {
        let paths: Vec<&String> = match cap {
            Capture::Body(p) => vec![p],
            Capture::AnyOf(ps) => ps.iter().collect(),
            Capture::Header { .. } => continue,
        };
        let all_undocumented = paths
            .iter()
            .all(|p| body_segments(p).is_some_and(|segments| field(&segments) == FieldDoc::Undocumented));
        if all_undocumented {
            out.push(finding(
                &st.source,
                Severity::Error,
                s,
                format!(
                    "capture `{name}` reads a place the documented answer of `{op}` does not contain: capture from documented places (a list such as `[/application/id, /applicationId]` takes the first present), or mark the step `level: reference`"
                ),
            ));
        }
    }
}

/// The property names (`*` for any item) a body path walks, or `None` when
/// the path cannot be followed that way (a recursive descent, an odd
/// JSONPath): the lint then says nothing of it.
pub fn body_segments(path: &str) -> Option<Vec<String>> {
    let path = path.trim();
    if path.is_empty() {
        return Some(Vec::new());
    }
    if let Some(rest) = path.strip_prefix('/') {
        return Some(
            rest.split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect(),
        );
    }
    let mut rest = path.strip_prefix('$')?;
    if rest.contains("..") {
        return None;
    }
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return None;
            }
            out.push(name.to_string());
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = find_bracket_end(r)?;
            let inner = r[..end].trim();
            rest = &r[end + 1..];
            let quoted = inner
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')));
            if let Some(name) = quoted {
                out.push(name.to_string());
            } else if inner == "*" || inner.starts_with('?') || inner.parse::<i64>().is_ok() || inner.contains(':') {
                out.push("*".to_string());
            } else {
                return None;
            }
        } else {
            return None;
        }
    }
    Some(out)
}

/// The index of the `]` closing a bracket whose inside starts `s`
/// (quotes and nested brackets respected).
fn find_bracket_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') if depth == 0 => return Some(i),
            (None, ']') => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::body_segments;

    fn segs(p: &str) -> Option<Vec<&'static str>> {
        body_segments(p).map(|v| v.into_iter().map(|s| &*Box::leak(s.into_boxed_str())).collect())
    }

    #[test]
    fn body_paths_become_segments() {
        assert_eq!(segs(""), Some(vec![]));
        assert_eq!(segs("/job/id"), Some(vec!["job", "id"]));
        assert_eq!(segs("/a~1b/0"), Some(vec!["a/b", "0"]));
        assert_eq!(segs("$.jobs[*].id"), Some(vec!["jobs", "*", "id"]));
        assert_eq!(segs("$['jobs'][0].id"), Some(vec!["jobs", "*", "id"]));
        assert_eq!(
            segs("$.jobs[?@.id == '{{job_id}}'].slots_total"),
            Some(vec!["jobs", "*", "slots_total"])
        );
        assert_eq!(segs("$..id"), None);
        assert_eq!(segs("$.a[foo]"), None);
        assert_eq!(segs("job"), None);
    }

    /// A file with four kinds of mistakes, each of which used to hide the
    /// next: a misspelt key (the top level then went unchecked), a value of
    /// the wrong type in the same step as an undeclared actor (the step was
    /// then left out of the checks), and a method the docs do not name for
    /// the path (lint ran only on a library that loaded). One pass reports
    /// all four, each with line:column and a hint, and nothing else.
    #[test]
    fn one_pass_reports_every_mistake_of_a_file() {
        struct Wallet;
        impl super::OperationIndex for Wallet {
            fn has_operation(&self, method: &str, path: &str) -> bool {
                method == "GET" && path == "/api/wallet"
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("scenarios");
        std::fs::create_dir_all(root.join("lint")).unwrap();
        std::fs::write(
            root.join("lint/four.yaml"),
            "id: lint.four-at-once
titel: Four mistakes in one file
doc: [llms.txt#wallet]
rule: the wallet is read with GET
actors:
  alice: {role: poster}
steps:
  - name: a wrong type and an undeclared actor
    as: bob
    timeout_ms: soon
    request: {method: GET, path: /api/wallet}
  - name: a method the docs do not name here
    as: alice
    request: {method: DELETE, path: /api/wallet}
",
        )
        .unwrap();
        let (lib, errors) = crate::scenario::load_library_partial(&root);
        let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.extend(super::lint_with(&lib, Some(&Wallet)).iter().map(ToString::to_string));
        assert_eq!(
            lines,
            [
                "scenarios/lint/four.yaml:2:1: unknown key `titel` in the top level (did you mean `title`?)",
                "scenarios/lint/four.yaml:9:9: undefined actor `bob` in steps[0].as: expected one of the declared actors `alice`",
                "scenarios/lint/four.yaml:10:17: wrong type for `steps[0].timeout_ms`: expected a non-negative integer, found string \"soon\"",
                "scenarios/lint/four.yaml:12:5: error: no documented operation for `DELETE /api/wallet` (matched as `/api/wallet`): the docs name `GET` for this path; if intended, add `skip_checks: [{check: operation, reason: ...}]`",
            ]
        );
    }
}
