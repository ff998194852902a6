//! Includes of shared flows: checking them and expanding them.
//!
//! Job: replace each `include` step by a `set` step holding the flow's
//! parameters (defaults overridden by the include's `with`) followed by the
//! flow's steps, with the flow's actors renamed to the includer's (`as:`
//! and `{{flowActor.` inside strings). Nested includes are expanded;
//! cycles are errors naming the chain. Each expanded step keeps the
//! source of the file it was written in.
//!
//! It must not: interpolate variables (the runner does), or read files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::diagnostics::{KeyPath, LoadError, LoadErrorKind, Locator, did_you_mean};
use super::loader::Library;
use super::model::{Flow, Scenario, SourceLocation, Step};
use super::vars::rename_actor_refs;
use crate::yaml::Document;

/// The steps of `scenario` with every include expanded (recursively).
/// The first error found, if any (the loader has normally reported them
/// all already).
pub fn expand(scenario: &Scenario, library: &Library) -> Result<Vec<Step>, LoadError> {
    let mut x = Expander::new(&library.flows, None);
    let actors: Vec<String> = scenario.actors.keys().cloned().collect();
    let mut out = Vec::new();
    x.expand_into(&scenario.steps, &actors, &BTreeMap::new(), &mut Vec::new(), &mut out);
    match x.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Every include error of a library: unknown flows, missing parameters or
/// actor mappings, unknown `with` keys, cycles. With the parsed documents
/// (by file label), errors point at the exact key.
pub fn check_includes(library: &Library, docs: Option<&HashMap<String, Document>>) -> Vec<LoadError> {
    let mut x = Expander::new(&library.flows, docs);
    let mut sink = Vec::new();
    for f in library.flows.values() {
        sink.clear();
        let mut chain = vec![f.name.clone()];
        x.expand_into(&f.steps, &f.actors, &BTreeMap::new(), &mut chain, &mut sink);
    }
    for s in &library.scenarios {
        sink.clear();
        let actors: Vec<String> = s.actors.keys().cloned().collect();
        x.expand_into(&s.steps, &actors, &BTreeMap::new(), &mut Vec::new(), &mut sink);
    }
    let mut errors = x.errors;
    super::loader::finish_errors(&mut errors);
    errors
}

struct Expander<'a> {
    flows: &'a BTreeMap<String, Flow>,
    docs: Option<&'a HashMap<String, Document>>,
    errors: Vec<LoadError>,
    /// Cycles already reported (their flows, rotated to start at the least).
    cycles: BTreeSet<Vec<String>>,
}

impl<'a> Expander<'a> {
    fn new(flows: &'a BTreeMap<String, Flow>, docs: Option<&'a HashMap<String, Document>>) -> Self {
        Expander {
            flows,
            docs,
            errors: Vec::new(),
            cycles: BTreeSet::new(),
        }
    }

    /// An error at `p` inside the document of `step` (exact when the
    /// document is known, else the step's own location).
    fn error(&mut self, step: &Step, p: &KeyPath, key_of: bool, kind: LoadErrorKind) {
        let located = self.docs.and_then(|d| d.get(&step.source.file)).map(|doc| {
            let loc = Locator {
                file: &step.source.file,
                doc,
            };
            if key_of { loc.key(p) } else { loc.node(p) }
        });
        let location = located.unwrap_or_else(|| step.source.clone());
        self.errors.push(LoadError::new(location, p.display.clone(), kind));
    }

    /// Expands `steps` (all written in one document whose actors are
    /// `actors`), renaming actors through `renames` (document actor →
    /// final actor), into `out`. `chain` holds the flows being expanded.
    fn expand_into(
        &mut self,
        steps: &[Step],
        actors: &[String],
        renames: &BTreeMap<String, String>,
        chain: &mut Vec<String>,
        out: &mut Vec<Step>,
    ) {
        for (i, step) in steps.iter().enumerate() {
            let Some(name) = &step.include else {
                out.push(rename_step(step, renames));
                continue;
            };
            let p = KeyPath::root().key("steps").index(i);
            let Some(flow) = self.flows.get(name) else {
                let suggestion = did_you_mean(name, self.flows.keys());
                let kind = LoadErrorKind::UnknownFlow {
                    name: name.clone(),
                    at: p.describe(),
                    suggestion,
                };
                self.error(step, &p.key("include"), false, kind);
                continue;
            };
            if let Some(start) = chain.iter().position(|c| c == name) {
                let mut cycle = chain[start..].to_vec();
                let least = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, c)| *c)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                cycle.rotate_left(least);
                if self.cycles.insert(cycle) {
                    let mut full = chain[start..].to_vec();
                    full.push(name.clone());
                    let kind = LoadErrorKind::IncludeCycle {
                        at: p.describe(),
                        chain: full,
                    };
                    self.error(step, &p.key("include"), false, kind);
                }
                continue;
            }
            let Some((params, inner)) = self.bind(step, &p, flow, actors, renames) else {
                continue;
            };
            if !params.is_empty() {
                out.push(set_step(name, params, step.source.clone()));
            }
            chain.push(name.clone());
            self.expand_into(&flow.steps, &flow.actors, &inner, chain, out);
            chain.pop();
        }
    }

    /// The parameters and actor renames of one include, or `None` after
    /// reporting what is wrong.
    fn bind(
        &mut self,
        step: &Step,
        p: &KeyPath,
        flow: &Flow,
        actors: &[String],
        renames: &BTreeMap<String, String>,
    ) -> Option<(BTreeMap<String, Value>, BTreeMap<String, String>)> {
        let errors_before = self.errors.len();
        let wp = p.key("with");
        let mut inner: BTreeMap<String, String> = BTreeMap::new();
        let mut given: BTreeMap<String, Value> = BTreeMap::new();
        let outer: Vec<(String, String)> = renames.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
        for (k, v) in step.with.iter().flatten() {
            if flow.actors.contains(k) {
                match v {
                    Value::String(a) if actors.contains(a) => {
                        inner.insert(k.clone(), renames.get(a).unwrap_or(a).clone());
                    }
                    Value::String(a) => {
                        let kind = LoadErrorKind::UndefinedActor {
                            actor: a.clone(),
                            at: wp.key(k).describe(),
                            declared: actors.to_vec(),
                            suggestion: did_you_mean(a, actors.iter()),
                        };
                        self.error(step, &wp.key(k), false, kind);
                    }
                    other => {
                        let kind = LoadErrorKind::WrongType {
                            at: wp.key(k).quoted(),
                            expected: format!("the name of one of your actors (flow `{}` actor `{k}`)", flow.name),
                            found: describe_value(other),
                        };
                        self.error(step, &wp.key(k), false, kind);
                    }
                }
            } else if flow.params.contains_key(k) {
                let mut v = v.clone();
                rename_actor_refs(&mut v, &outer);
                given.insert(k.clone(), v);
            } else {
                let known: Vec<&String> = flow.params.keys().chain(flow.actors.iter()).collect();
                let kind = match did_you_mean(k, known.iter().copied()) {
                    Some(m) => LoadErrorKind::UnknownKey {
                        key: k.clone(),
                        at: wp.describe(),
                        suggestion: Some(m),
                    },
                    None => LoadErrorKind::Invalid {
                        message: format!(
                            "unknown key `{k}` in {}: flow `{}` {}",
                            wp.describe(),
                            flow.name,
                            flow_keys(flow)
                        ),
                    },
                };
                self.error(step, &wp.key(k), true, kind);
            }
        }
        for a in &flow.actors {
            if inner.contains_key(a) || step.with.as_ref().is_some_and(|w| w.contains_key(a)) {
                continue;
            }
            if actors.contains(a) {
                inner.insert(a.clone(), renames.get(a).unwrap_or(a).clone());
            } else {
                let kind = LoadErrorKind::MissingKey {
                    key: a.clone(),
                    at: wp.describe(),
                    hint: Some(format!(
                        "flow `{}` needs its actor `{a}` mapped to one of yours (`{a}: <actor>`)",
                        flow.name
                    )),
                };
                let at = if step.with.is_some() { &wp } else { p };
                self.error(step, at, false, kind);
            }
        }
        // Defaults speak of the flow's own actors: rename them through `inner`.
        let inner_renames: Vec<(String, String)> = inner.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
        let mut params = BTreeMap::new();
        for (k, default) in &flow.params {
            match given.remove(k) {
                Some(v) => {
                    params.insert(k.clone(), v);
                }
                None if default.is_null() => {
                    let kind = LoadErrorKind::MissingKey {
                        key: k.clone(),
                        at: wp.describe(),
                        hint: Some(format!("flow `{}` requires the parameter `{k}`", flow.name)),
                    };
                    let at = if step.with.is_some() { &wp } else { p };
                    self.error(step, at, false, kind);
                }
                None => {
                    let mut v = default.clone();
                    rename_actor_refs(&mut v, &inner_renames);
                    params.insert(k.clone(), v);
                }
            }
        }
        (self.errors.len() == errors_before).then_some((params, inner))
    }
}

fn flow_keys(flow: &Flow) -> String {
    let list = |v: Vec<&String>| v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    match (flow.params.is_empty(), flow.actors.is_empty()) {
        (true, true) => "takes nothing".to_string(),
        (false, true) => format!("takes parameters {}", list(flow.params.keys().collect())),
        (true, false) => format!("takes actors {}", list(flow.actors.iter().collect())),
        (false, false) => format!(
            "takes parameters {} and actors {}",
            list(flow.params.keys().collect()),
            list(flow.actors.iter().collect())
        ),
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// An empty step (no action, no modifiers).
pub fn empty_step(source: SourceLocation) -> Step {
    Step {
        name: None,
        actor: None,
        auth: None,
        request: None,
        include: None,
        clock: None,
        subscribe: None,
        event: None,
        no_event: None,
        set: None,
        attach: None,
        concurrent: None,
        conserve: None,
        sink: None,
        webhook: None,
        with: None,
        repeat: None,
        expect: None,
        expect_all: None,
        capture: None,
        skip_checks: Vec::new(),
        level: None,
        timeout_ms: None,
        source,
    }
}

fn set_step(flow: &str, params: BTreeMap<String, Value>, source: SourceLocation) -> Step {
    let mut s = empty_step(source);
    s.name = Some(format!("include {flow}: parameters"));
    s.set = Some(params);
    s
}

/// A copy of `step` with its actors renamed (`as:` and `{{actor.` in strings).
fn rename_step(step: &Step, renames: &BTreeMap<String, String>) -> Step {
    let pairs: Vec<(String, String)> = renames
        .iter()
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (a.clone(), b.clone()))
        .collect();
    let mut out = step.clone();
    if let Some(a) = &step.actor
        && let Some(b) = renames.get(a)
    {
        out.actor = Some(b.clone());
    }
    if let Some(c) = &mut out.concurrent {
        for r in &mut c.requests {
            if let Some(b) = r.actor.as_ref().and_then(|a| renames.get(a)) {
                r.actor = Some(b.clone());
            }
        }
    }
    if let Some(c) = &mut out.conserve {
        for a in &mut c.open {
            if let Some(b) = renames.get(a) {
                *a = b.clone();
            }
        }
        c.change = std::mem::take(&mut c.change)
            .into_iter()
            .map(|(a, v)| (renames.get(&a).cloned().unwrap_or(a), v))
            .collect();
    }
    if pairs.is_empty() {
        return out;
    }
    let Ok(mut v) = serde_json::to_value(&out) else {
        return out;
    };
    rename_actor_refs(&mut v, &pairs);
    match serde_json::from_value::<Step>(v) {
        Ok(mut renamed) => {
            renamed.source = step.source.clone();
            renamed
        }
        Err(_) => out,
    }
}
