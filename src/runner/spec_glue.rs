//! The runner's only contact points with the spec model: an operation's
//! label for reports and the spec's identity for the run report. Nothing
//! else of the runner may depend on the spec model's internals.

use crate::spec::SpecInfo;
use crate::spec::{Operation, Spec};

/// `METHOD /path/{template}` of an operation, as shown in reports.
pub(crate) fn operation_label(op: &Operation) -> String {
    op.label()
}

/// The spec's identity for the run report.
pub(crate) fn spec_info(spec: &Spec) -> SpecInfo {
    spec.info()
}
