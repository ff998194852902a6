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
use super::model::{AutoCheck, Scenario, SourceLocation, Step};
use super::vars::{ACTOR_FIELD_ALIASES, ACTOR_FIELDS, BUILTINS, FILTERS, replace_references, step_references};

/// Control-API features a scenario may require.
pub const FEATURES: &[&str] = &["actors", "clock", "reset"];

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

/// Something that knows the documented operations (the spec).
pub trait OperationIndex {
    /// Whether `method` on the concrete `path` matches a documented operation.
    fn has_operation(&self, method: &str, path: &str) -> bool;
}

impl OperationIndex for crate::spec::Spec {
    fn has_operation(&self, method: &str, path: &str) -> bool {
        self.find_operation(method, path).is_some()
    }
}

/// Lint a library, matching each request's (method, path) against the
/// spec's operations when a spec is given (see [`lint_with`]).
pub fn lint(library: &Library, spec: Option<&crate::spec::Spec>) -> Vec<LintFinding> {
    lint_with(library, spec.map(|s| s as &dyn OperationIndex))
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
                format!("unknown feature `{r}` in requires: expected one of `actors`, `clock`, `reset`{hint}"),
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
    for st in &steps {
        for r in step_references(st) {
            if let Some(msg) = check_reference(&r, &actors, &defined, &later) {
                out.push(finding(&st.source, Severity::Error, s, msg));
            }
        }
        lint_step(s, st, ops, &streams, out);
        if let Some(sub) = &st.subscribe {
            streams.insert(sub.stream.clone());
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
    if let Some(c) = st.event.as_ref().and_then(|e| e.capture.as_ref()) {
        v.extend(c.keys().cloned());
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
    let Some(r) = &st.request else { return };
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
    if let Some(ops) = ops
        && !skipped
        && !dynamic
    {
        let concrete = concrete_path(&r.path);
        if !ops.has_operation(&r.method, &concrete) {
            out.push(finding(
                &st.source,
                Severity::Error,
                s,
                format!(
                    "no documented operation for `{} {}` (matched as `{concrete}`); if intended, add `skip_checks: [{{check: operation, reason: ...}}]`",
                    r.method, r.path
                ),
            ));
        }
    }
}
