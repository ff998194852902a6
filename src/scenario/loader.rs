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
use super::diagnostics::{KeyPath, LoadError, LoadErrorKind, LoadErrors, Locator, from_serde};
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
        return Err(e.into());
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
            Parsed::Flow(result, doc) => {
                match result {
                    Ok(f) => {
                        if let Some(first) = flows.get(&f.name) {
                            let message =
                                format!("duplicate flow `{}`: `{}` has the same name", f.name, first.source.file);
                            errors.push(LoadError::new(f.source.clone(), "", LoadErrorKind::Invalid { message }));
                        } else {
                            flows.insert(f.name.clone(), f);
                        }
                    }
                    Err(es) => errors.extend(es),
                }
                docs.insert(label.clone(), doc);
            }
            Parsed::Scenario(result, doc) => {
                match result {
                    Ok(s) => scenarios.push(s),
                    Err(es) => errors.extend(es),
                }
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
    if errors.is_empty() {
        Ok(library)
    } else {
        Err(LoadErrors(errors))
    }
}

/// What one file of the library gave.
enum Parsed {
    /// It could not be read or is not YAML.
    Failed(LoadError),
    Scenario(Result<Scenario, Vec<LoadError>>, Document),
    Flow(Result<Flow, Vec<LoadError>>, Document),
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
        Parsed::Flow(flow_from_doc(&doc, label), doc)
    } else {
        Parsed::Scenario(scenario_from_doc(&doc, label), doc)
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

/// What deserialisation produced: the document without its steps (if
/// that part was valid), the valid steps with their indices, the errors.
struct Partial<T> {
    top: Option<T>,
    steps: Vec<(usize, Step)>,
    errors: Vec<LoadError>,
}

/// Deserialises a document step by step, so that one file can report an
/// error per step.
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
    let mut errors = Vec::new();
    let top: Option<T> = match serde_path_to_error::deserialize(StrictValue(&shell)) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(from_serde(&e, &root, loc));
            None
        }
    };
    let mut steps = Vec::new();
    for (i, v) in raw_steps.iter().enumerate() {
        let p = steps_path.index(i);
        match serde_path_to_error::deserialize::<_, Step>(StrictValue(v)) {
            Ok(mut step) => {
                step.source = loc.node(&p);
                steps.push((i, step));
            }
            Err(e) => errors.push(from_serde(&e, &p, loc)),
        }
    }
    Partial { top, steps, errors }
}

fn scenario_from_doc(doc: &Document, label: &str) -> Result<Scenario, Vec<LoadError>> {
    let loc = Locator { file: label, doc };
    let Partial { top, steps, mut errors } = deserialize_doc::<Scenario>(doc, &loc);
    let Some(mut s) = top else { return Err(errors) };
    s.source = loc.node(&KeyPath::root());
    let mut v = Validator::new(&loc, s.actors.keys().cloned().collect());
    v.scenario(&s, &steps);
    errors.append(&mut v.errors);
    if errors.is_empty() {
        s.steps = steps.into_iter().map(|(_, st)| st).collect();
        Ok(s)
    } else {
        finish_errors(&mut errors);
        Err(errors)
    }
}

fn flow_from_doc(doc: &Document, label: &str) -> Result<Flow, Vec<LoadError>> {
    let loc = Locator { file: label, doc };
    let Partial { top, steps, mut errors } = deserialize_doc::<Flow>(doc, &loc);
    let Some(mut f) = top else { return Err(errors) };
    f.source = loc.node(&KeyPath::root());
    let stem = Path::new(label)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_string();
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
    errors.append(&mut v.errors);
    if errors.is_empty() {
        f.steps = steps.into_iter().map(|(_, st)| st).collect();
        Ok(f)
    } else {
        finish_errors(&mut errors);
        Err(errors)
    }
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
