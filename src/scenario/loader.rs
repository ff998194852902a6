//! The scenario loader: YAML files → [`Scenario`]s and [`Flow`]s.
//!
//! Job: read `scenarios/<area>/<name>.yaml` (and the flows under
//! `_flows/`), deserialise them into the model with the key path of any
//! error, map it to `file:line:column`, fill the sources, run the
//! semantic validation and the include checks, and return every error of
//! every file at once.
//!
//! It must not: run anything, print, or panic on any input.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::de::StrictValue;
use super::diagnostics::{
    KeyPath, LoadError, LoadErrorKind, LoadErrors, Locator, Seg, SerdePlace, from_serde, serde_place,
};
use super::flow;
use super::model::{Flow, Scenario, SourceLocation, Step};
use super::validate::Validator;
use crate::yaml::{self, Document};

/// The largest file the loader reads.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The directory of shared flows, inside the scenario root.
pub const FLOWS_DIR: &str = "_flows";

/// A loaded scenario library.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    /// The directory it was loaded from (`.../scenarios`).
    pub root: PathBuf,
    /// Every scenario, sorted by file path.
    pub scenarios: Vec<Scenario>,
    /// Every flow, by name (the file stem).
    pub flows: BTreeMap<String, Flow>,
}

impl Library {
    /// The scenario with this id.
    pub fn scenario(&self, id: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    /// The steps of `scenario` with its includes expanded (see [`flow::expand`]).
    pub fn expand(&self, scenario: &Scenario) -> Result<Vec<Step>, LoadError> {
        flow::expand(scenario, self)
    }
}

/// Load every scenario and flow under `root` (a `scenarios` directory).
///
/// Files are `*.yaml` or `*.yml`, searched recursively and sorted by path;
/// hidden files and directories are skipped; files with a `_flows`
/// directory in their path are flows. File labels (in sources and errors)
/// are relative to `root`'s parent: `scenarios/nda/apply.yaml`.
pub fn load_library(root: &Path) -> Result<Library, LoadErrors> {
    let (library, errors) = load_library_partial(root);
    if errors.is_empty() {
        Ok(library)
    } else {
        Err(LoadErrors(errors))
    }
}

/// Loads what can be loaded under `root`, for `lint`: every error of every
/// file (as [`load_library`] reports them), and a library of the files
/// that could be read into the model whole, those with errors as repaired
/// while reading them (a misspelt key read as the key it is close to, a
/// bad value dropped), so that the later rules can look at them too. A
/// file that is not valid YAML, or whose top level or one of whose steps
/// could not be read even so, is left out of the library.
pub fn load_library_partial(root: &Path) -> (Library, Vec<LoadError>) {
    let base = root_label(root);
    let mut errors = Vec::new();
    let mut scenarios = Vec::new();
    let mut flows: BTreeMap<String, Flow> = BTreeMap::new();
    let mut docs: HashMap<String, Document> = HashMap::new();

    if !root.is_dir() {
        let e = LoadError::new(
            file_start(&base),
            "",
            LoadErrorKind::Io(format!("`{}` is not a directory", root.display())),
        );
        let empty = Library {
            root: root.to_path_buf(),
            scenarios,
            flows,
        };
        return (empty, vec![e]);
    }

    let files: Vec<(String, bool, PathBuf)> = scenario_files(root, &base, &mut errors)
        .into_iter()
        .map(|(rel, full)| (format!("{base}/{}", slash_path(&rel)), is_flow_path(&rel), full))
        .collect();
    // Files are parsed in parallel, then taken in path order: the library,
    // its errors and the duplicate-flow check do not depend on timing.
    for ((label, _, _), parsed) in files.iter().zip(parse_files(&files)) {
        match parsed {
            Parsed::Failed(e) => errors.push(e),
            Parsed::Flow(read, doc) => {
                errors.extend(read.errors);
                if let Some(f) = read.model {
                    if let Some(first) = flows.get(&f.name) {
                        let message = format!("duplicate flow `{}`: `{}` has the same name", f.name, first.source.file);
                        errors.push(LoadError::new(f.source.clone(), "", LoadErrorKind::Invalid { message }));
                    } else {
                        flows.insert(f.name.clone(), f);
                    }
                }
                docs.insert(label.clone(), doc);
            }
            Parsed::Scenario(read, doc) => {
                errors.extend(read.errors);
                scenarios.extend(read.model);
                docs.insert(label.clone(), doc);
            }
        }
    }

    let library = Library {
        root: root.to_path_buf(),
        scenarios,
        flows,
    };
    errors.extend(flow::check_includes(&library, Some(&docs)));
    finish_errors(&mut errors);
    (library, errors)
}

/// What one file of the library gave.
enum Parsed {
    /// It could not be read or is not YAML.
    Failed(LoadError),
    Scenario(Read<Scenario>, Document),
    Flow(Read<Flow>, Document),
}

/// Stack of a parsing thread: deserialising follows the nesting of the
/// document (capped by the YAML reader), as on the main thread.
const PARSE_STACK: usize = 8 * 1024 * 1024;

/// Fewest files worth a second thread.
const PARALLEL_FROM: usize = 8;

/// Parses every `(label, is_flow, path)`, on up to one thread per core;
/// the results are in the order of `files`.
fn parse_files(files: &[(String, bool, PathBuf)]) -> Vec<Parsed> {
    let one = |(label, is_flow, full): &(String, bool, PathBuf)| parse_file(label, *is_flow, full);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len() / (PARALLEL_FROM / 2).max(1));
    if workers < 2 || files.len() < PARALLEL_FROM {
        return files.iter().map(one).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<Parsed>> = std::iter::repeat_with(|| None).take(files.len()).collect();
    std::thread::scope(|scope| {
        let work = || {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                mine.push((i, one(file)));
            }
            mine
        };
        let handles: Vec<_> = (0..workers)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("load-library".into())
                    .stack_size(PARSE_STACK)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        for handle in handles {
            // A worker that could not finish leaves its files to the loop below.
            if let Ok(done) = handle.join() {
                for (i, parsed) in done {
                    slots[i] = Some(parsed);
                }
            }
        }
    });
    // Whatever no thread parsed (none could start, say) is parsed here.
    slots
        .into_iter()
        .zip(files)
        .map(|(slot, file)| slot.unwrap_or_else(|| one(file)))
        .collect()
}

/// Reads and parses one file of the library.
fn parse_file(label: &str, is_flow: bool, full: &Path) -> Parsed {
    let text = match read_text(full) {
        Ok(t) => t,
        Err(msg) => return Parsed::Failed(LoadError::new(file_start(label), "", LoadErrorKind::Io(msg))),
    };
    let doc = match parse_yaml(&text, label) {
        Ok(d) => d,
        Err(e) => return Parsed::Failed(e),
    };
    if is_flow {
        Parsed::Flow(read_flow(&doc, label), doc)
    } else {
        Parsed::Scenario(read_scenario(&doc, label), doc)
    }
}

/// Sort errors by place and drop exact duplicates.
pub(crate) fn finish_errors(errors: &mut Vec<LoadError>) {
    errors.sort_by(|a, b| {
        (&a.location.file, a.location.line, a.location.column).cmp(&(
            &b.location.file,
            b.location.line,
            b.location.column,
        ))
    });
    errors.dedup();
}

/// Parse one scenario file's text; the first error if any (see
/// [`parse_scenario_all`] for all of them). Includes are not checked
/// (that needs the library's flows).
pub fn parse_scenario(text: &str, file_label: &str) -> Result<Scenario, LoadError> {
    parse_scenario_all(text, file_label).map_err(first_error)
}

/// Parse one scenario file's text, returning every error found.
pub fn parse_scenario_all(text: &str, file_label: &str) -> Result<Scenario, LoadErrors> {
    let doc = parse_yaml(text, file_label)?;
    scenario_from_doc(&doc, file_label).map_err(LoadErrors)
}

/// Parse one flow file's text; its name is the stem of `file_label`.
/// The first error if any (see [`parse_flow_all`]).
pub fn parse_flow(text: &str, file_label: &str) -> Result<Flow, LoadError> {
    parse_flow_all(text, file_label).map_err(first_error)
}

/// Parse one flow file's text, returning every error found.
pub fn parse_flow_all(text: &str, file_label: &str) -> Result<Flow, LoadErrors> {
    let doc = parse_yaml(text, file_label)?;
    flow_from_doc(&doc, file_label).map_err(LoadErrors)
}

fn first_error(mut e: LoadErrors) -> LoadError {
    if e.0.is_empty() {
        LoadError::new(
            SourceLocation::default(),
            "",
            LoadErrorKind::Invalid {
                message: "unknown error".into(),
            },
        )
    } else {
        e.0.swap_remove(0)
    }
}

fn file_start(label: &str) -> SourceLocation {
    SourceLocation {
        file: label.to_string(),
        line: 1,
        column: 1,
    }
}

fn parse_yaml(text: &str, label: &str) -> Result<Document, LoadError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        let msg = format!("file too large: {} bytes, the limit is {MAX_FILE_BYTES}", text.len());
        return Err(LoadError::new(file_start(label), "", LoadErrorKind::Io(msg)));
    }
    yaml::parse(text).map_err(|e| {
        let location = SourceLocation {
            file: label.to_string(),
            line: e.line.max(1),
            column: e.column.max(1),
        };
        LoadError::new(location, "", LoadErrorKind::Yaml(e.message))
    })
}

/// At most this many errors are collected from one mapping (the top
/// level of a file, or one step) before its reading stops.
const MAX_REPAIRS: usize = 32;

/// What deserialisation of one value produced, collecting errors.
struct Collected<T> {
    /// The model of the value as repaired, if one was reached.
    value: Option<T>,
    errors: Vec<LoadError>,
    /// Display paths (`steps[2].as`) of the nodes dropped to go on: later
    /// layers must not report their absence.
    dropped: Vec<String>,
}

/// Deserialises `value` (the node at `base`), collecting every error serde
/// meets rather than the first: after an error the offending node is
/// repaired and the reading starts again. A misspelt key with one close
/// match is read as that key; any other unknown key, and a value of the
/// wrong type or an invalid one, is dropped (for an item of a list, the
/// list's key). It stops at a missing required key that the file lacks,
/// at a node that cannot be dropped (the value itself), and after
/// [`MAX_REPAIRS`] errors; the model is then `None`.
fn deserialize_collecting<T: DeserializeOwned>(value: &Value, base: &KeyPath, loc: &Locator<'_>) -> Collected<T> {
    let mut v = value.clone();
    let mut out = Collected {
        value: None,
        errors: Vec::new(),
        dropped: Vec::new(),
    };
    let mut dropped_here: Vec<Vec<Seg>> = Vec::new();
    for _ in 0..MAX_REPAIRS {
        let err = match serde_path_to_error::deserialize::<_, T>(StrictValue(&v)) {
            Ok(t) => {
                out.value = Some(t);
                return out;
            }
            Err(e) => e,
        };
        let place = serde_place(&err);
        if let SerdePlace::MissingKey { holder, key } = &place {
            let mut at = holder.clone();
            at.push(Seg::Key(key.clone()));
            // Missing because a wrong value was dropped: already reported.
            if !dropped_here.contains(&at) {
                out.errors.push(from_serde(&err, base, loc));
            }
            return out;
        }
        out.errors.push(from_serde(&err, base, loc));
        let repaired = match place {
            SerdePlace::UnknownKey {
                holder,
                key,
                suggestion,
            } => node_mut(&mut v, &holder)
                .and_then(Value::as_object_mut)
                .and_then(|map| {
                    let old = map.remove(&key)?;
                    if let Some(s) = suggestion.filter(|s| !map.contains_key(s)) {
                        map.insert(s, old);
                    }
                    Some(())
                })
                .is_some(),
            SerdePlace::Node { mut at } => {
                // Up to the nearest key of a mapping: list items are not
                // removed (that would shift the places of the next ones).
                while matches!(at.last(), Some(Seg::Index(_))) {
                    at.pop();
                }
                match at.split_last() {
                    Some((Seg::Key(key), holder)) => {
                        let removed = node_mut(&mut v, holder)
                            .and_then(Value::as_object_mut)
                            .and_then(|map| map.remove(key))
                            .is_some();
                        if removed {
                            out.dropped.push(display(base, &at));
                            dropped_here.push(at.clone());
                        }
                        removed
                    }
                    _ => false,
                }
            }
            SerdePlace::MissingKey { .. } => false,
        };
        if !repaired {
            return out;
        }
    }
    out
}

/// The node at `path` inside `v`.
fn node_mut<'v>(v: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |node, seg| match (seg, node) {
        (Seg::Key(k), Value::Object(m)) => m.get_mut(k),
        (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
        _ => None,
    })
}

/// The dotted form of `path` below `base`.
fn display(base: &KeyPath, path: &[Seg]) -> String {
    path.iter()
        .fold(base.clone(), |p, seg| match seg {
            Seg::Key(k) => p.key(k),
            Seg::Index(i) => p.index(*i),
        })
        .display
}

/// What deserialisation of a document produced: the document without its
/// steps (if it could be read, repaired or not), the steps that could be
/// read with their indices, whether every step could, the errors, and the
/// nodes dropped while repairing.
struct Partial<T> {
    top: Option<T>,
    steps: Vec<(usize, Step)>,
    all_steps: bool,
    errors: Vec<LoadError>,
    dropped: Vec<String>,
}

/// Deserialises a document step by step, collecting every error of the
/// top level and of each step.
fn deserialize_doc<T: DeserializeOwned>(doc: &Document, loc: &Locator<'_>) -> Partial<T> {
    let root = KeyPath::root();
    let steps_path = root.key("steps");
    let (shell, raw_steps) = match &doc.value {
        Value::Object(m) if matches!(m.get("steps"), Some(Value::Array(_))) => {
            let mut shell = m.clone();
            let steps = match shell.insert("steps".to_string(), Value::Array(Vec::new())) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            (Value::Object(shell), steps)
        }
        _ => (doc.value.clone(), Vec::new()),
    };
    let top = deserialize_collecting::<T>(&shell, &root, loc);
    let mut errors = top.errors;
    let mut dropped = top.dropped;
    let mut steps = Vec::new();
    let mut all_steps = true;
    for (i, v) in raw_steps.iter().enumerate() {
        let p = steps_path.index(i);
        let step = deserialize_collecting::<Step>(v, &p, loc);
        errors.extend(step.errors);
        dropped.extend(step.dropped);
        match step.value {
            Some(mut st) => {
                st.source = loc.node(&p);
                steps.push((i, st));
            }
            None => all_steps = false,
        }
    }
    Partial {
        top: top.value,
        steps,
        all_steps,
        errors,
        dropped,
    }
}

/// Leaves out the errors of later layers that only say a dropped node is
/// absent (a missing `as`, a step without its action).
fn drop_echoes(errors: &mut Vec<LoadError>, dropped: &[String]) {
    if dropped.is_empty() {
        return;
    }
    errors.retain(|e| match &*e.kind {
        LoadErrorKind::MissingKey { key, .. } => !dropped.contains(&format!("{}.{key}", e.key)),
        LoadErrorKind::NoAction { .. } => !super::validate::ACTIONS
            .iter()
            .any(|a| dropped.contains(&format!("{}.{a}", e.key))),
        _ => true,
    });
}

/// The names of a mapping's keys (or of a list's strings) at `key` of the
/// raw document: the actors, when the model could not be read.
fn raw_names(doc: &Document, key: &str) -> Vec<String> {
    match doc.value.get(key) {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// Whether the document has a non-empty list of steps.
fn has_steps(doc: &Document) -> bool {
    matches!(doc.value.get("steps"), Some(Value::Array(a)) if !a.is_empty())
}

/// A file read into the model as far as it goes: the model (repaired where
/// it had errors) when every part of it could be read, and every error.
struct Read<T> {
    model: Option<T>,
    errors: Vec<LoadError>,
}

impl<T> Read<T> {
    fn into_result(self) -> Result<T, Vec<LoadError>> {
        match self.model {
            Some(m) if self.errors.is_empty() => Ok(m),
            _ => Err(self.errors),
        }
    }
}

fn scenario_from_doc(doc: &Document, label: &str) -> Result<Scenario, Vec<LoadError>> {
    read_scenario(doc, label).into_result()
}

fn read_scenario(doc: &Document, label: &str) -> Read<Scenario> {
    let loc = Locator { file: label, doc };
    let Partial {
        top,
        steps,
        all_steps,
        mut errors,
        dropped,
    } = deserialize_doc::<Scenario>(doc, &loc);
    let model = match top {
        Some(mut s) => {
            s.source = loc.node(&KeyPath::root());
            let mut v = Validator::new(&loc, s.actors.keys().cloned().collect());
            v.scenario(&s, &steps);
            drop_echoes(&mut v.errors, &dropped);
            errors.append(&mut v.errors);
            s.steps = steps.into_iter().map(|(_, st)| st).collect();
            all_steps.then_some(s)
        }
        None => {
            // The steps are still checked, against the actors as written.
            let mut v = Validator::new(&loc, raw_names(doc, "actors"));
            if has_steps(doc) {
                v.steps_of(&steps);
            }
            drop_echoes(&mut v.errors, &dropped);
            errors.append(&mut v.errors);
            None
        }
    };
    finish_errors(&mut errors);
    Read { model, errors }
}

fn flow_from_doc(doc: &Document, label: &str) -> Result<Flow, Vec<LoadError>> {
    read_flow(doc, label).into_result()
}

fn read_flow(doc: &Document, label: &str) -> Read<Flow> {
    let loc = Locator { file: label, doc };
    let Partial {
        top,
        steps,
        all_steps,
        mut errors,
        dropped,
    } = deserialize_doc::<Flow>(doc, &loc);
    let stem = Path::new(label)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_string();
    let model = match top {
        Some(mut f) => {
            f.source = loc.node(&KeyPath::root());
            let mut v = Validator::new(&loc, f.actors.clone());
            if !f.name.is_empty() && f.name != stem {
                let p = KeyPath::root().key("name");
                let kind = LoadErrorKind::InvalidValue {
                    at: p.quoted(),
                    expected: format!("the file's name `{stem}` (or no `name`)"),
                    found: format!("`{}`", f.name),
                    suggestion: None,
                };
                v.errors.push(loc.error(&p, kind));
            }
            f.name = stem;
            v.flow(&f, &steps);
            drop_echoes(&mut v.errors, &dropped);
            errors.append(&mut v.errors);
            f.steps = steps.into_iter().map(|(_, st)| st).collect();
            all_steps.then_some(f)
        }
        None => {
            let mut v = Validator::new(&loc, raw_names(doc, "actors"));
            if has_steps(doc) {
                v.steps_of(&steps);
            }
            drop_echoes(&mut v.errors, &dropped);
            errors.append(&mut v.errors);
            None
        }
    };
    finish_errors(&mut errors);
    Read { model, errors }
}

/// The label of the root: its own directory name (`scenarios`).
fn root_label(root: &Path) -> String {
    let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).or_else(|| {
        root.canonicalize()
            .ok()?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    });
    name.unwrap_or_else(|| "scenarios".to_string())
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn is_flow_path(rel: &Path) -> bool {
    rel.components().any(|c| c.as_os_str() == FLOWS_DIR)
}

/// The YAML files under `root`, as (path relative to root, full path), sorted.
fn scenario_files(root: &Path, base: &str, errors: &mut Vec<LoadError>) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let label = match e.path().and_then(|p| p.strip_prefix(root).ok()) {
                    Some(rel) => format!("{base}/{}", slash_path(rel)),
                    None => base.to_string(),
                };
                errors.push(LoadError::new(file_start(&label), "", LoadErrorKind::Io(e.to_string())));
                continue;
            }
        };
        let path = entry.path();
        let is_yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
        if !entry.file_type().is_file() || !is_yaml {
            continue;
        }
        if let Ok(rel) = path.strip_prefix(root) {
            out.push((rel.to_path_buf(), path.to_path_buf()));
        }
    }
    out.sort();
    out
}

fn read_text(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "file too large: {} bytes, the limit is {MAX_FILE_BYTES}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "the file is not valid UTF-8".to_string())
}
