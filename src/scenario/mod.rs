//! Scenarios: the model of a scenario file, its loader with line/column
//! diagnostics, includes of shared flows, and lint.
//!
//! Knows nothing of HTTP or targets; it must not run, print, or panic on
//! any input.
//!
//! - [`model`]: the data (the file format is this model).
//! - [`loader`]: files → model, every error with `file:line:column`.
//! - [`flow`]: includes: checking and expansion.
//! - [`lint`]: cross-step and cross-scenario rules, and the spec.
//! - [`vars`]: `{{variable}}` references.

mod de;
pub mod diagnostics;
pub mod flow;
pub mod lint;
mod lint_sink;
pub mod loader;
pub mod model;
#[cfg(test)]
mod properties;
pub mod validate;
pub mod vars;

pub use diagnostics::{LoadError, LoadErrorKind, LoadErrors};
pub use flow::expand;
pub use lint::{FieldDoc, LintFinding, OperationIndex, Severity, lint_with};
pub use loader::{
    Library, load_library, load_library_partial, parse_flow, parse_flow_all, parse_scenario, parse_scenario_all,
};
pub use model::*;
pub use vars::{step_references, variables_in};
