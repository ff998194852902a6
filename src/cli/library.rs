//! Loading the spec and the library for a command, and choosing scenarios.

use std::path::{Path, PathBuf};

use crate::scenario::{Level, Library, LintFinding, Scenario, Severity, load_library};
use crate::spec::{Contract, Spec};

use super::args::{LevelArg, LibraryArgs, SelectArgs};

/// Why a command could not start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("cannot load the spec `{path}`: {message}")]
    Spec { path: String, message: String },
    #[error("the scenario library has errors:\n{0}")]
    Library(String),
    #[error("{0}")]
    Other(String),
}

/// Finds a path given on the command line: as given when it exists, else
/// relative to the crate this binary was built from (so `cargo run` works
/// from any directory of the checkout).
pub fn locate(path: &Path) -> PathBuf {
    if path.exists() || path.is_absolute() {
        return path.to_path_buf();
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if built.exists() { built } else { path.to_path_buf() }
}

/// Loads the spec.
pub fn load_spec(path: &Path) -> Result<Spec, UsageError> {
    let path = locate(path);
    Spec::load(&path).map_err(|e| UsageError::Spec {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Loads the documented contract and, unless `--no-reference`, the
/// reference layer over it.
pub fn load_contract(args: &LibraryArgs) -> Result<Contract, UsageError> {
    let spec = std::sync::Arc::new(load_spec(&args.spec)?);
    if args.no_reference {
        return Ok(Contract::documented_only(spec));
    }
    let path = locate(&args.reference);
    let text = std::fs::read_to_string(&path).map_err(|e| UsageError::Spec {
        path: path.display().to_string(),
        message: format!(
            "cannot read the reference overlay: {e} (pass `--no-reference` to check the documented contract only)"
        ),
    })?;
    let reference =
        Contract::reference_of(&spec, &text, &path.display().to_string()).map_err(|e| UsageError::Spec {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    Ok(Contract::new(spec, Some(std::sync::Arc::new(reference))))
}

/// Loads the library, with every error of every file in the message.
pub fn load(args: &LibraryArgs) -> Result<Library, UsageError> {
    let root = locate(&args.scenarios);
    load_library(&root).map_err(|errors| UsageError::Library(errors.to_string()))
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[LintFinding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Whether a scenario is selected by the filters.
pub fn selected(scenario: &Scenario, select: &SelectArgs) -> bool {
    let by_filter = select.filter.is_empty()
        || select
            .filter
            .iter()
            .any(|f| scenario.id.contains(f.as_str()) || scenario.source.file.contains(f.as_str()));
    let by_tag = select.tag.is_empty() || select.tag.iter().any(|t| scenario.tags.contains(t));
    let by_level = match select.level {
        None => true,
        Some(LevelArg::Must) => scenario.level == Level::Must,
        Some(LevelArg::Should) => scenario.level == Level::Should,
    };
    by_filter && by_tag && by_level
}
