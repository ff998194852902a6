//! The scenario library as tests: one libtest-mimic trial per scenario file,
//! named by its path under `scenarios/`, each run against its own
//! in-process reference server.
//!
//! Set `AGENTGIGS_TARGET=<url>` (a server with the control API) or
//! `AGENTGIGS_PROFILE=<file>` to run the same trials against another server.
//! Scenarios the target cannot run (a missing control feature, money on a
//! non-sandbox target) pass with the reason printed.
//!
//! Against the bundled server each passing scenario's transcript is also
//! compared with its insta snapshot under `snapshots/` (review changes with
//! `cargo insta review`; CI runs with `INSTA_UPDATE=no` and never writes).
//!
//! The bundled library runs twice: once with the server clock at wall time,
//! once (`shifted-clock/…`) with it started on 31 December more than 400 days
//! ahead, so the clock-moving scenarios cross a month and a year boundary.
//! Both compare with the same snapshots: a transcript must not depend on
//! the date it was recorded on.

use std::path::Path;
use std::sync::Arc;

use agentgigs_conformance::mock::MockConfig;
use agentgigs_conformance::report::model::Outcome;
use agentgigs_conformance::report::terminal::{TerminalStyle, render_failure};
use agentgigs_conformance::runner::{PlannedScenario, RunOptions, ScenarioContext, run_scenario};
use agentgigs_conformance::scenario::load_library;
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, Spec};
use agentgigs_conformance::target::{Profile, TargetSpec};
use agentgigs_conformance::transcript::{snapshot_name, transcript};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trials = match build_trials(root) {
        Ok(trials) => trials,
        Err(message) => vec![Trial::test("scenario library loads", move || {
            Err(Failed::from(message.clone()))
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}

fn target() -> Result<TargetSpec, String> {
    if let Ok(file) = std::env::var("AGENTGIGS_PROFILE") {
        return Profile::load(Path::new(&file))
            .map(TargetSpec::Remote)
            .map_err(|e| e.to_string());
    }
    if let Ok(url) = std::env::var("AGENTGIGS_TARGET") {
        return Profile::from_url(&url)
            .map(TargetSpec::Remote)
            .map_err(|e| e.to_string());
    }
    Ok(TargetSpec::Bundled)
}

/// The reference layer (the documented contract with our reference server's
/// choices applied): the scenarios check what the reference server serves.
fn reference_spec(root: &Path) -> Result<Spec, String> {
    let documented = Spec::load(&root.join(DOCUMENTED_SPEC)).map_err(|e| format!("spec: {e}"))?;
    let overlay =
        std::fs::read_to_string(root.join(REFERENCE_OVERLAY)).map_err(|e| format!("{REFERENCE_OVERLAY}: {e}"))?;
    Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY).map_err(|e| format!("spec: {e}"))
}

fn build_trials(root: &Path) -> Result<Vec<Trial>, String> {
    let spec = Arc::new(reference_spec(root)?);
    let library = load_library(&root.join("scenarios")).map_err(|e| format!("scenario library:\n{e}"))?;
    if library.scenarios.is_empty() {
        return Err("no scenario found under scenarios/: discovery is broken".into());
    }
    let target = target()?;
    let mut runs = vec![(String::new(), target.clone())];
    if target.is_bundled() {
        let config = MockConfig {
            clock_start: Some(shifted_start(chrono::Utc::now())),
            ..MockConfig::default()
        };
        runs.push(("shifted-clock/".to_string(), TargetSpec::BundledWith(config)));
    }
    let mut trials = Vec::new();
    for (prefix, target) in runs {
        trials.extend(trials_for(root, &library, &spec, &target, &prefix)?);
    }
    Ok(trials)
}

/// Noon on the 31 December at least 400 days after `now`: far from today,
/// and a day before a new month and year.
fn shifted_start(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{Datelike, TimeZone, Timelike};
    let ahead = now + chrono::Duration::days(400);
    let year = if ahead.month() == 12 && ahead.day() == 31 && ahead.hour() >= 12 {
        ahead.year() + 1
    } else {
        ahead.year()
    };
    chrono::Utc
        .with_ymd_and_hms(year, 12, 31, 12, 0, 0)
        .single()
        .expect("31 December noon exists")
}

fn trials_for(
    root: &Path,
    library: &agentgigs_conformance::scenario::Library,
    spec: &Arc<Spec>,
    target: &TargetSpec,
    prefix: &str,
) -> Result<Vec<Trial>, String> {
    let mut trials = Vec::new();
    for scenario in &library.scenarios {
        let name = format!(
            "{prefix}{}",
            scenario
                .source
                .file
                .trim_start_matches("scenarios/")
                .trim_end_matches(".yaml")
        );
        let steps = library.expand(scenario).map_err(|e| e.to_string())?;
        let planned = PlannedScenario::new(scenario.clone(), steps);
        let spec = spec.clone();
        let target = target.clone();
        let kind = planned.area.clone();
        let snapshots = target.is_bundled().then(|| root.join("snapshots"));
        trials.push(Trial::test(name, move || run_one(planned, spec, target, snapshots)).with_kind(kind));
    }
    Ok(trials)
}

fn run_one(
    planned: PlannedScenario,
    spec: Arc<Spec>,
    target: TargetSpec,
    snapshots: Option<std::path::PathBuf>,
) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot build a runtime: {e}")))?;
    let report = runtime.block_on(async {
        let options = RunOptions::default();
        let ctx = ScenarioContext::new(spec, &target, options)
            .await
            .map_err(|e| Failed::from(e.to_string()))?;
        Ok::<_, Failed>(run_scenario(&planned, &ctx).await)
    })?;
    match &report.outcome {
        Outcome::Passed => {
            // Regression snapshot of the transcript (bundled server only: another
            // implementation may differ in what the spec leaves open).
            if let Some(dir) = snapshots {
                let mut settings = insta::Settings::clone_current();
                settings.set_snapshot_path(dir);
                settings.set_prepend_module_to_snapshot(false);
                settings.set_omit_expression(true);
                let name = snapshot_name(&report);
                let text = transcript(&report);
                settings.bind(|| insta::assert_snapshot!(name, text));
            }
            Ok(())
        }
        Outcome::Skipped { reason } => {
            // libtest-mimic cannot skip at run time; a skip is a pass that says why.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("skipped: {reason}");
            }
            Ok(())
        }
        Outcome::Failed | Outcome::Errored { .. } => {
            Err(Failed::from(render_failure(&report, &TerminalStyle { color: false })))
        }
    }
}
