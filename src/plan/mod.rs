//! Planning a run: the scenario library seen through the contract.
//!
//! The scenario room knows nothing of OpenAPI; it lints against an
//! [`OperationIndex`]. This room is the adapter that answers it from the
//! [`Contract`] (documented layer first, the reference layer for routes
//! the docs do not name), so that neither room imports the other.

use std::path::Path;

use crate::scenario::{
    FieldDoc, Library, LintFinding, LoadError, LoadErrorKind, OperationIndex, Severity, SourceLocation, lint_with,
    load_library_partial,
};
use crate::spec::{Contract, Described};

/// The contract as the linter's operation index.
pub struct ContractIndex<'a>(pub &'a Contract);

impl OperationIndex for ContractIndex<'_> {
    fn has_operation(&self, method: &str, path: &str) -> bool {
        self.0.documented().find_operation(method, path).is_some()
    }

    fn has_reference_operation(&self, method: &str, path: &str) -> bool {
        self.0
            .reference()
            .is_some_and(|r| r.find_operation(method, path).is_some())
    }

    fn documented_statuses(&self, method: &str, path: &str) -> Option<Vec<u16>> {
        let op = self.0.documented().find_operation(method, path)?;
        Some(op.statuses.iter().filter_map(|s| s.parse().ok()).collect())
    }

    fn documented_field(&self, method: &str, path: &str, status: u16, segments: &[String]) -> FieldDoc {
        let spec = self.0.documented();
        let Some(op) = spec.find_operation(method, path) else {
            return FieldDoc::Unknown;
        };
        match spec.describe(op, status, segments) {
            Described::Unknown => FieldDoc::Unknown,
            Described::No => FieldDoc::Undocumented,
            Described::Yes { values } => FieldDoc::Documented { values },
        }
    }

    fn documented_header(&self, method: &str, path: &str, status: u16, name: &str) -> Option<bool> {
        let op = self.0.documented().find_operation(method, path)?;
        let resp = op.response_for(status)?;
        if name.eq_ignore_ascii_case("content-type") {
            // Documented by the answer's media types.
            return Some(!resp.content.is_empty());
        }
        Some(resp.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name)))
    }
}

/// Lints a library against a contract.
pub fn lint(library: &Library, contract: &Contract) -> Vec<LintFinding> {
    lint_with(library, Some(&ContractIndex(contract)))
}

/// Everything `lint` says of a scenario directory at once.
#[derive(Debug, Clone)]
pub struct Linted {
    /// The files that could be read into the model (see
    /// [`crate::scenario::load_library_partial`]).
    pub library: Library,
    /// Every load error of every file: YAML syntax, unknown keys, wrong
    /// types, undeclared actors, unknown methods, includes.
    pub load_errors: Vec<LoadError>,
    /// The lint findings of the files that could be read, repaired ones
    /// included.
    pub findings: Vec<LintFinding>,
}

impl Linted {
    /// Errors: every load error, and the findings of severity error.
    pub fn errors(&self) -> usize {
        self.load_errors.len() + self.findings.iter().filter(|f| f.severity == Severity::Error).count()
    }

    /// Warnings (findings of severity warning).
    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Warning).count()
    }

    /// One line per problem, in file, line and column order: load errors
    /// as `file:line:column: message`, findings as `file:line:column:
    /// severity: message`. A YAML syntax error is followed by a note: the
    /// reading of that file cannot go on past it, so its other mistakes
    /// show once it is fixed.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<(&SourceLocation, u8, String)> = Vec::new();
        for e in &self.load_errors {
            lines.push((&e.location, 0, e.to_string()));
            if matches!(*e.kind, LoadErrorKind::Yaml(_)) {
                lines.push((
                    &e.location,
                    1,
                    format!(
                        "{}: note: the file is not valid YAML, so nothing else in it can be checked until this is fixed",
                        e.location
                    ),
                ));
            }
        }
        for f in &self.findings {
            lines.push((&f.location, 2, f.to_string()));
        }
        lines.sort_by(|a, b| (&a.0.file, a.0.line, a.0.column, a.1).cmp(&(&b.0.file, b.0.line, b.0.column, b.1)));
        lines.into_iter().map(|(_, _, l)| l).collect()
    }
}

/// Lints the scenario directory `root` against a contract in one pass:
/// every load error of every file, and the lint rules over every file
/// that could be read (those with load errors as repaired by the loader),
/// so that one run shows every mistake it can.
pub fn lint_dir(root: &Path, contract: &Contract) -> Linted {
    let (library, load_errors) = load_library_partial(root);
    let findings = lint(&library, contract);
    Linted {
        library,
        load_errors,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/agentgigs.openapi.yaml");
        Contract::documented_only(std::sync::Arc::new(crate::spec::Spec::load(&path).unwrap()))
    }

    /// Load errors and lint findings come in one list, in file order; a
    /// YAML syntax error says that the file cannot be read past it.
    #[test]
    fn lint_dir_reports_load_errors_and_findings_together() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("scenarios");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/broken.yaml"), "id: a\n  b: [\n").unwrap();
        std::fs::write(
            root.join("a/wrong.yaml"),
            "id: a.wrong\ntitle: t\ndoc: [llms.txt#x]\nrule: r\nactors: {p: {role: poster}}\nsteps:\n  - as: p\n    request: {method: DELETE, path: /api/wallet}\n    expect: {statuss: 200}\n",
        )
        .unwrap();
        let linted = lint_dir(&root, &contract());
        let lines = linted.lines();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(
            lines[0].starts_with("scenarios/a/broken.yaml:2:4: invalid YAML: "),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            "scenarios/a/broken.yaml:2:4: note: the file is not valid YAML, so nothing else in it can be checked until this is fixed"
        );
        assert!(
            lines[2].starts_with("scenarios/a/wrong.yaml:7:5: error: no documented operation for `DELETE /api/wallet`"),
            "{}",
            lines[2]
        );
        assert!(lines[2].contains("the docs name `GET` for this path"), "{}", lines[2]);
        assert_eq!(
            lines[3],
            "scenarios/a/wrong.yaml:9:14: unknown key `statuss` in steps[0].expect (did you mean `status`?)"
        );
        assert_eq!((linted.errors(), linted.warnings()), (3, 0));
        // The repaired file is in the library; the unreadable one is not.
        assert_eq!(linted.library.scenarios.len(), 1);
    }
}
