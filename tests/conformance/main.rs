//! The scenario library as tests: one libtest-mimic trial per scenario file,
//! named by its path under `scenarios/`, each run against its own
//! in-process reference server.
//!
//! Set `AGENTGIGS_TARGET=<url>` (a server with the control API) or
//! `AGENTGIGS_PROFILE=<file>` to run the same trials against another server.
//! The target is probed once, before the trials are built (its control
//! features, its account pool): a scenario it cannot run (a missing control
//! feature, an account the pool lacks, money on a non-sandbox target) is an
//! **ignored** trial, and the reasons are printed first.
//!
//! Against the bundled server each passing scenario's transcript is also
//! compared with its insta snapshot under `snapshots/` (review changes with
//! `cargo insta review`; CI runs with `INSTA_UPDATE=no` and never writes).
//!
//! Against the bundled server the library runs three times:
//! - at wall time, strict: our reference server keeps the documented
//!   contract and every reference choice, so any departure fails;
//! - `shifted-clock/…`: the same with the server clock started on 31
//!   December more than 400 days ahead, so the clock-moving scenarios cross
//!   a month and a year boundary; both compare with the same snapshots (a
//!   transcript must not depend on the date it was recorded on);
//! - `choices/…`: every choice switch of the server on at once (everything
//!   the docs leave open done otherwise, the other documented alternative
//!   wherever they conflict): a faithful server that chose differently, so
//!   a departure is fine and only a documented failure fails the trial.
//!
//! Beside them, `deployment/…` (see `deployment.rs`) runs the library
//! through the `run` command against a separate server process with an
//! account pool and no control API, and `spec::…` (see `spec/mod.rs`)
//! checks the contract itself, some trials with material from beside the
//! repository.
//!
//! The trials wait on event windows and on servers far more than they
//! compute, so they run four per core unless `--test-threads` says
//! otherwise (`RUST_TEST_THREADS`, which `.cargo/config.toml` sets for the
//! libtest binaries, is not read here).

mod deployment;
#[path = "../fixtures/mock_stdout.rs"]
mod mock_stdout;
mod spec;

use std::path::Path;

use agentgigs_conformance::mock::MockConfig;
use agentgigs_conformance::redact::Secrets;
use agentgigs_conformance::report::model::Outcome;
use agentgigs_conformance::report::terminal::{TerminalStyle, render_failure};
use agentgigs_conformance::runner::{PlannedScenario, RunOptions, ScenarioContext, can_run, run_scenario};
use agentgigs_conformance::scenario::load_library;
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY};
use agentgigs_conformance::target::{ClientOptions, Target, TargetSpec, build_client};
use agentgigs_conformance::transcript::{snapshot_name, transcript};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        args.test_threads = Some(4 * cores);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut trials = Vec::new();
    // The longest trial first, so the others run beside it (the pool of
    // libtest-mimic takes trials in order). Only when the library runs
    // against the bundled server: it starts its own server process.
    if TargetSpec::from_env().is_ok_and(|t| t.is_bundled()) {
        trials.push(
            Trial::test(
                "deployment/a_deployment_without_the_control_api_runs_most_of_the_library_from_a_pool",
                deployment::a_deployment_without_the_control_api_runs_most_of_the_library_from_a_pool,
            )
            .with_kind("deployment"),
        );
    }
    trials.extend(spec::trials());
    match build_trials(root) {
        Ok(more) => trials.extend(more),
        Err(message) => trials.push(Trial::test("scenario library loads", move || {
            Err(Failed::from(message.clone()))
        })),
    }
    libtest_mimic::run(&args, trials).exit();
}

/// One pass of the library over a target.
#[derive(Clone)]
struct Pass {
    /// Prefix of the trial names (`shifted-clock/`, `choices/`).
    prefix: &'static str,
    target: TargetSpec,
    /// Departures from the reference server fail the trial.
    strict: bool,
    /// Compare transcripts with `snapshots/`.
    snapshots: bool,
}

fn build_trials(root: &Path) -> Result<Vec<Trial>, String> {
    let contract = Contract::load(&root.join(DOCUMENTED_SPEC), Some(&root.join(REFERENCE_OVERLAY)))
        .map_err(|e| format!("contract: {e}"))?;
    let library = load_library(&root.join("scenarios")).map_err(|e| format!("scenario library:\n{e}"))?;
    if library.scenarios.is_empty() {
        return Err("no scenario found under scenarios/: discovery is broken".into());
    }
    let target = TargetSpec::from_env().map_err(|e| e.to_string())?;
    let passes = if target.is_bundled() {
        vec![
            // Our reference server keeps both layers: any departure fails.
            Pass {
                prefix: "",
                target: target.clone(),
                strict: true,
                snapshots: true,
            },
            Pass {
                prefix: "shifted-clock/",
                target: TargetSpec::BundledWith(MockConfig {
                    clock_start: Some(shifted_start(chrono::Utc::now())),
                    ..MockConfig::default()
                }),
                strict: true,
                snapshots: true,
            },
            // Every choice the docs leave open flipped at once: a faithful
            // server that chose otherwise must pass (departures allowed).
            Pass {
                prefix: "choices/",
                target: TargetSpec::BundledWith(MockConfig::all_choices()),
                strict: false,
                snapshots: false,
            },
        ]
    } else {
        vec![Pass {
            prefix: "",
            target,
            strict: false,
            snapshots: false,
        }]
    };
    let mut trials = Vec::new();
    for pass in passes {
        trials.extend(trials_for(root, &library, &contract, &pass)?);
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

/// Why each scenario cannot run on the pass's target (probed once).
fn unrunnable(planned: &[PlannedScenario], pass: &Pass) -> Result<Vec<Option<String>>, String> {
    if pass.target.is_bundled() {
        return Ok(vec![None; planned.len()]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build a runtime: {e}"))?;
    let http = build_client(&ClientOptions::default()).map_err(|e| e.to_string())?;
    let options = RunOptions::default();
    let target = runtime.block_on(Target::resolve(
        &pass.target,
        &http,
        &Secrets::new(),
        options.request_timeout,
    ));
    Ok(planned.iter().map(|p| can_run(p, &target, &options).err()).collect())
}

fn trials_for(
    root: &Path,
    library: &agentgigs_conformance::scenario::Library,
    contract: &Contract,
    pass: &Pass,
) -> Result<Vec<Trial>, String> {
    let mut planned = Vec::new();
    for scenario in &library.scenarios {
        let steps = library.expand(scenario).map_err(|e| e.to_string())?;
        planned.push(PlannedScenario::new(scenario.clone(), steps));
    }
    let reasons = unrunnable(&planned, pass)?;
    let ignored: Vec<String> = planned
        .iter()
        .zip(&reasons)
        .filter_map(|(p, r)| r.as_ref().map(|r| format!("  {}{}: {r}", pass.prefix, p.file)))
        .collect();
    if !ignored.is_empty() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "{} scenario(s) ignored: the target cannot run them:\n{}",
                ignored.len(),
                ignored.join("\n")
            );
        }
    }
    let mut trials = Vec::new();
    for (planned, reason) in planned.into_iter().zip(reasons) {
        let name = format!(
            "{}{}",
            pass.prefix,
            planned.file.trim_start_matches("scenarios/").trim_end_matches(".yaml")
        );
        let contract = contract.clone();
        let kind = planned.area.clone();
        let snapshots = pass.snapshots.then(|| root.join("snapshots"));
        let (target, strict) = (pass.target.clone(), pass.strict);
        trials.push(
            Trial::test(name, move || run_one(planned, contract, target, strict, snapshots))
                .with_kind(kind)
                .with_ignored_flag(reason.is_some()),
        );
    }
    Ok(trials)
}

fn run_one(
    planned: PlannedScenario,
    contract: Contract,
    target: TargetSpec,
    strict: bool,
    snapshots: Option<std::path::PathBuf>,
) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot build a runtime: {e}")))?;
    let report = runtime.block_on(async {
        let options = RunOptions {
            strict,
            ..RunOptions::default()
        };
        let ctx = ScenarioContext::new(contract, &target, options)
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
        // What the target cannot run is an ignored trial, decided before the
        // run; a scenario that still could not run did not check anything.
        Outcome::Skipped { reason } => Err(Failed::from(format!(
            "could not run (not a conformance failure, but nothing was checked): {reason}"
        ))),
        Outcome::Failed | Outcome::Errored { .. } => {
            Err(Failed::from(render_failure(&report, &TerminalStyle { color: false })))
        }
    }
}
