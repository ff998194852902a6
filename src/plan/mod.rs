//! Planning a run: the scenario library seen through the contract.
//!
//! The scenario room knows nothing of OpenAPI; it lints against an
//! [`OperationIndex`]. This room is the adapter that answers it from the
//! [`Contract`] (documented layer first, the reference layer for routes
//! the docs do not name), so that neither room imports the other.

use crate::scenario::{FieldDoc, Library, LintFinding, OperationIndex, lint_with};
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
