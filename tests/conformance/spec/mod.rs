//! The contract, and the tests that need material from outside the
//! repository, as trials named `spec::<module>::<test>` (filter them as
//! usual: `cargo test --test conformance -- spec::layers::`):
//!
//! - `model`: the spec model against inline fixtures and against the
//!   upstream OpenAPI document;
//! - `layers`: the documented contract and the reference layer, what keeps
//!   them apart, and every `x-doc` reference against the docs it names;
//! - `soundness`: the contract is sound, the reference server serves exactly
//!   it, and the upstream OpenAPI document accepts what it answers;
//! - `html_report`: the HTML report of a real run rendered by headless
//!   Chromium.
//!
//! Some trials need what a plain clone does not hold: the reference
//! material beside the repository (`../shared`: the user's llms.txt and the
//! upstream docs) or a Chromium. That is decided before the run: when the
//! input is missing the trial shows as `ignored (<what is missing>)` and is
//! counted as ignored, never as passed. Where the input is present (in CI)
//! it runs.
//!
//! A test function is registered in its module's `trials()`; one left out
//! is dead code, which the lints refuse. A `#[test]` attribute in this
//! binary would compile to nothing (it has no built-in harness), so the
//! trial `spec::every_test_is_a_trial` fails on one.

use std::path::{Path, PathBuf};

use libtest_mimic::{Completion, Failed, Trial};

/// A trial named `<module>::<function>` (as the built-in harness would name
/// the test), optionally with what it needs from outside the repository.
macro_rules! trial {
    ($f:ident) => {
        $crate::spec::test(module_path!(), stringify!($f), $f, Ok(()))
    };
    ($f:ident, needs $need:expr) => {
        $crate::spec::test(module_path!(), stringify!($f), $f, $need)
    };
}

mod html_report;
mod layers;
mod model;
mod soundness;

/// Every trial of this module; the longest first (the HTML report's run
/// and its browsers, the upstream document's run of the library), so they
/// overlap the rest.
pub fn trials() -> Vec<Trial> {
    [
        html_report::trials(),
        soundness::trials(),
        model::trials(),
        layers::trials(),
        vec![Trial::test("spec::every_test_is_a_trial", every_test_is_a_trial)],
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The trial of `function` in `module` (a `module_path!()`, whose first
/// segment, the crate, is dropped). When `need` is an error, the trial is
/// ignored with it as the reason and `function` never runs.
pub(crate) fn test(module: &str, function: &str, f: fn(), need: Result<(), String>) -> Trial {
    let module = module.split_once("::").map_or(module, |(_, rest)| rest);
    let name = format!("{module}::{function}");
    match need {
        Ok(()) => Trial::test(name, move || {
            f();
            Ok(())
        }),
        Err(reason) => Trial::ignorable_test(name, move || Ok(Completion::ignored_with(reason))),
    }
}

/// The repository's root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The reference material beside the repository (`../shared`).
pub(crate) fn shared_dir() -> PathBuf {
    root().join("../shared")
}

/// Each of `files` (relative to `../shared`) is there; else which is not.
pub(crate) fn shared(files: &[&str]) -> Result<(), String> {
    match files.iter().find(|f| !shared_dir().join(f).is_file()) {
        None => Ok(()),
        Some(f) => Err(format!(
            "needs ../shared/{f}, the reference material beside the repository, which is missing"
        )),
    }
}

/// No file of this binary holds a `#[test]` (or `#[tokio::test]`) function,
/// which would silently never run: tests are registered in `trials()`.
fn every_test_is_a_trial() -> Result<(), Failed> {
    let dir = root().join("tests/conformance");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&dir) {
        let path = entry.map_err(|e| e.to_string())?.into_path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                    found.push(format!("{}:{}", path.display(), i + 1));
                }
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "a #[test] never runs in this binary (harness = false): register the function in its module's \
             `trials()` instead:\n  {}",
            found.join("\n  ")
        )
        .into())
    }
}
