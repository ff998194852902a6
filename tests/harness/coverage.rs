//! Coverage of the spec by the scenario library: from the run of every
//! scenario against the bundled reference server that
//! `runner::the_bundled_reference_server_runs_the_library` checks (run once
//! per test process, shared), fails, listing them all, when a documented
//! (operation, status) pair or a documented error `code` is hit by no
//! scenario, when an operation the docs name
//! (`specs/documented-operations.yaml`) is missing from the spec, or when no
//! scenario exercises one. The coverage is the library's
//! (`report::coverage::coverage_of`, what `agentgigs-conformance coverage`
//! prints), not a copy.
//!
//! It checks coverage only: whether the scenarios pass is the job of
//! `tests/conformance.rs`. Gaps that no scenario can close today are listed
//! in [`KNOWN_GAPS`], each with the reason; the test also fails when one of
//! them becomes covered, so that the list never outlives its reason.

use std::collections::BTreeSet;
use std::path::Path;

use agentgigs_conformance::report::coverage::{
    DOCUMENTED_OPERATIONS, DocumentedOperation, coverage_of, parse_documented_operations,
};
use agentgigs_conformance::report::model::Outcome;
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, Spec};

/// What the library cannot cover today, and why. An entry is either
/// `"METHOD /path STATUS"` or an error code.
const KNOWN_GAPS: &[(&str, &str)] = &[];

/// The reference layer: the documented contract with our reference server's
/// choices (`specs/reference.overlay.yaml`) applied, which is what the
/// reference server serves.
fn reference_spec(root: &Path) -> Spec {
    let documented = Spec::load(&root.join(DOCUMENTED_SPEC)).expect("the documented spec loads");
    let overlay = std::fs::read_to_string(root.join(REFERENCE_OVERLAY)).expect("the reference overlay");
    Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY).expect("the overlay applies")
}

/// Every operation the docs name, as checked in.
fn documented_operations(root: &Path) -> Vec<DocumentedOperation> {
    let text = std::fs::read_to_string(root.join(DOCUMENTED_OPERATIONS)).expect("the documented operations list");
    parse_documented_operations(&text, DOCUMENTED_OPERATIONS).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_documented_status_and_error_code_is_exercised() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let documented = documented_operations(root);
    let (contract, _, report) = &*crate::runner::WHOLE_LIBRARY;
    let spec = contract
        .reference()
        .expect("the run's contract has the reference layer");
    let coverage = coverage_of(spec, &documented, report);
    let missing = coverage.missing();

    let known: BTreeSet<&str> = KNOWN_GAPS.iter().map(|(k, _)| *k).collect();
    let uncovered: Vec<String> = missing
        .statuses
        .iter()
        .map(|m| format!("{} {} {}", m.method, m.path, m.status))
        .chain(missing.error_codes.iter().cloned())
        .chain(
            missing
                .not_in_spec
                .iter()
                .map(|o| format!("{o} (missing from the spec)")),
        )
        .chain(missing.not_exercised.iter().map(|o| format!("{o} (never exercised)")))
        .collect();
    let unexpected: Vec<&String> = uncovered.iter().filter(|u| !known.contains(u.as_str())).collect();
    let stale: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| !uncovered.iter().any(|u| u == k))
        .collect();

    if unexpected.is_empty() && stale.is_empty() {
        return;
    }
    let (hit, total) = coverage.status_counts();
    let (codes_hit, codes_total) = coverage.code_counts();
    let (ops_done, ops_total) = coverage.documented_counts();
    let mut msg = format!(
        "coverage: {hit}/{total} (operation, status) pairs, {codes_hit}/{codes_total} error codes, \
         {ops_done}/{ops_total} documented operations in the spec and exercised\n"
    );
    if !unexpected.is_empty() {
        msg.push_str(&format!(
            "\n{} documented item(s) no scenario exercises:\n",
            unexpected.len()
        ));
        for u in &unexpected {
            msg.push_str(&format!("  - {u}\n"));
        }
    }
    if !stale.is_empty() {
        msg.push_str("\nnow covered, so remove them from `KNOWN_GAPS` in tests/harness/coverage.rs:\n");
        for s in &stale {
            msg.push_str(&format!("  - {s}\n"));
        }
    }
    let broken: Vec<String> = report
        .scenarios
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Errored { message } => Some(format!("  - {} could not run: {message}", s.id)),
            Outcome::Failed => Some(format!("  - {} failed", s.id)),
            Outcome::Skipped { reason } => Some(format!("  - {} was skipped: {reason}", s.id)),
            Outcome::Passed => None,
        })
        .collect();
    if !broken.is_empty() {
        msg.push_str("\nscenarios that did not pass (their steps may be what is missing):\n");
        msg.push_str(&broken.join("\n"));
        msg.push('\n');
    }
    panic!("{msg}");
}

#[test]
fn the_documented_operations_list_is_complete_and_cited() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let documented = documented_operations(root);
    // The count: every operation llms.txt, OAS, help.json and the docs page name.
    assert!(documented.len() >= 62, "{} documented operations", documented.len());
    for op in &documented {
        for s in &op.sources {
            let known = [
                "llms.txt#",
                "docs/api#",
                "help.json#",
                "openapi:",
                "refunds#",
                "roadmap#",
            ];
            assert!(
                known.iter().any(|k| s.starts_with(k)),
                "{} {}: source `{s}` has none of the forms {known:?}",
                op.method,
                op.path
            );
        }
    }
    // Every operation the upstream OpenAPI describes is in the list.
    let upstream = root.join("../shared/upstream/openapi.json");
    if let Ok(text) = std::fs::read_to_string(&upstream) {
        let oas: serde_json::Value = serde_json::from_str(&text).expect("upstream openapi.json parses");
        let paths = oas["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for m in ["get", "post", "put", "patch", "delete"] {
                if item.get(m).is_some() {
                    let norm = agentgigs_conformance::report::coverage::normalise_path(path);
                    assert!(
                        documented
                            .iter()
                            .any(|d| d.method == m.to_uppercase() && d.path == norm),
                        "upstream OAS names {} {path}, which specs/documented-operations.yaml lacks",
                        m.to_uppercase()
                    );
                }
            }
        }
    }
}

#[test]
fn known_gaps_name_documented_items() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = reference_spec(root);
    let mut documented: BTreeSet<String> = spec.error_codes().into_iter().collect();
    for o in spec.operations() {
        for s in &o.statuses {
            documented.insert(format!("{} {} {s}", o.method, o.path));
        }
    }
    for o in documented_operations(root) {
        documented.insert(format!("{} {} (missing from the spec)", o.method, o.path));
        documented.insert(format!("{} {} (never exercised)", o.method, o.path));
    }
    for (gap, reason) in KNOWN_GAPS {
        assert!(
            documented.contains(*gap),
            "`KNOWN_GAPS` names `{gap}`, which the spec does not document"
        );
        assert!(!reason.trim().is_empty(), "`KNOWN_GAPS` entry `{gap}` gives no reason");
    }
}
