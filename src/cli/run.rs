//! `run` and `coverage`: plan, execute with progress, print, write reports,
//! scan what was written for secrets, and choose the exit code.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::redact::Secrets;
use crate::report::RunState;
use crate::report::model::{Outcome, RunReport};
use crate::report::terminal::{TerminalStyle, render_failure, render_summary};
use crate::report::{Format, coverage, write_report};
use crate::runner::{PlannedScenario, ProgressEvent, Recording, RunOptions, RunPlan, run_with_secrets};
use crate::spec::Contract;
use crate::target::TargetSpec;

use super::args::{CoverageArgs, DoctorArgs, RunArgs, SelectArgs, TargetArgs};
use super::library::{self, UsageError, has_errors, selected};
use super::{EXIT_FAILED, EXIT_OK, Out};

/// The target named by the arguments (the bundled server when none is).
pub fn target_of(args: &TargetArgs) -> Result<TargetSpec, UsageError> {
    let spec = TargetSpec::from_sources(args.profile.as_deref(), args.target.as_deref(), args.insecure)
        .map_err(|e| UsageError::Other(e.to_string()))?;
    if !spec.is_bundled() || (args.clock_start.is_none() && args.choices.is_empty() && !args.all_choices) {
        return Ok(spec);
    }
    let mut config = if args.all_choices {
        crate::mock::MockConfig::all_choices()
    } else {
        crate::mock::MockConfig::default().with_choices(args.choices.iter().map(String::as_str))
    };
    config.clock_start = args.clock_start;
    config.validate().map_err(|e| UsageError::Other(e.to_string()))?;
    Ok(TargetSpec::BundledWith(config))
}

/// `report FORMAT=PATH` arguments, parsed.
fn parse_reports(specs: &[String]) -> Result<Vec<(Format, PathBuf)>, UsageError> {
    specs
        .iter()
        .map(|s| {
            let (format, path) = s.split_once('=').ok_or_else(|| {
                UsageError::Other(format!("`--report {s}`: expected FORMAT=PATH, e.g. junit=report.xml"))
            })?;
            let format: Format = format
                .parse()
                .map_err(|e: crate::report::ReportError| UsageError::Other(format!("`--report {s}`: {e}")))?;
            Ok((format, PathBuf::from(path)))
        })
        .collect()
}

/// Ids that failed or errored in the previous run, from the state file.
fn last_failed(state: &Path) -> Result<BTreeSet<String>, UsageError> {
    RunState::load(state)
        .map(|s| s.failed())
        .map_err(|e| UsageError::Other(format!("`--last-failed`: {e}; run once without it first")))
}

/// Loads, lints and selects; returns the spec and the planned scenarios.
fn plan(
    library_args: &super::args::LibraryArgs,
    select: &SelectArgs,
    only: Option<&BTreeSet<String>>,
    out: &mut Out,
) -> Result<(Contract, Vec<PlannedScenario>), UsageError> {
    // The spec on a thread of its own while the library loads.
    let (contract, lib) = std::thread::scope(|scope| {
        let contract = scope.spawn(|| library::load_contract(library_args));
        let lib = library::load(library_args);
        (contract.join(), lib)
    });
    let contract = contract.map_err(|_| UsageError::Other("loading the spec failed unexpectedly".into()))??;
    let lib = lib?;
    let findings = crate::plan::lint(&lib, &contract);
    if has_errors(&findings) {
        let text: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
        return Err(UsageError::Library(text.join("\n")));
    }
    for f in &findings {
        out.err(&f.to_string());
    }
    let mut planned = Vec::new();
    for s in lib.scenarios.iter().filter(|s| selected(s, select)) {
        if only.is_some_and(|ids| !ids.contains(&s.id)) {
            continue;
        }
        let steps = lib.expand(s).map_err(|e| UsageError::Library(e.to_string()))?;
        planned.push(PlannedScenario::new(s.clone(), steps));
    }
    Ok((contract, planned))
}

/// A progress callback: a bar on a terminal, plain lines otherwise.
fn progress(total_hint: usize, tty: bool) -> (crate::runner::ProgressFn, Option<ProgressBar>) {
    if tty {
        let bar = ProgressBar::new(total_hint as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} scenarios {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        let b = bar.clone();
        let failing = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f: crate::runner::ProgressFn = Arc::new(move |ev| {
            if let ProgressEvent::ScenarioFinished { report, .. } = ev {
                if matches!(report.outcome, Outcome::Failed | Outcome::Errored { .. }) {
                    let n = failing.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    b.set_message(format!("({n} failing)"));
                }
                b.inc(1);
            }
        });
        (f, Some(bar))
    } else {
        let f: crate::runner::ProgressFn = Arc::new(|ev| {
            if let ProgressEvent::ScenarioFinished { report, .. } = ev {
                let word = match &report.outcome {
                    Outcome::Passed => "pass",
                    Outcome::Failed => "FAIL",
                    Outcome::Skipped { .. } => "skip",
                    Outcome::Errored { .. } => "ERROR",
                };
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("{word:<5} {} ({} ms)", report.id, report.duration_ms);
                }
            }
        });
        (f, None)
    }
}

/// Runs a plan on a fresh runtime, keeping the run's secrets.
fn execute(plan: RunPlan) -> Result<(RunReport, Secrets), UsageError> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| UsageError::Other(format!("cannot start the runtime: {e}")))?;
    let secrets = Secrets::new();
    let report = runtime.block_on(run_with_secrets(plan, secrets.clone()));
    Ok((report, secrets))
}

/// `run`.
pub fn run(args: &RunArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let reports = parse_reports(&args.reports)?;
    let only = if args.last_failed {
        Some(last_failed(&args.state_file)?)
    } else {
        None
    };
    if only.as_ref().is_some_and(BTreeSet::is_empty) {
        out.line(&format!(
            "--last-failed: no scenario failed in the previous run (`{}`); nothing to rerun",
            args.state_file.display()
        ));
        return Ok(ExitCode::from(EXIT_OK));
    }
    let (spec, planned) = plan(&args.library, &args.select, only.as_ref(), out)?;
    let target = target_of(&args.target)?;
    if args.list {
        for p in &planned {
            let money = if p.scenario.moves_money && !target.is_sandbox() {
                "  (skipped: moves money and the target is not a sandbox)"
            } else {
                ""
            };
            out.line(&format!("{}  {}{money}", p.scenario.id, p.file));
        }
        out.line(&format!("{} scenarios", planned.len()));
        return Ok(ExitCode::from(EXIT_OK));
    }
    if planned.is_empty() {
        return Err(UsageError::Other("no scenario matches the filters".into()));
    }
    let tty = std::io::stderr().is_terminal();
    let (callback, bar) = progress(planned.len(), tty);
    let options = RunOptions {
        jobs: args.jobs.unwrap_or_else(|| default_jobs(&target)).max(1),
        fail_fast: args.fail_fast,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        step_timeout: Duration::from_secs(args.step_timeout.max(1)),
        scenario_timeout: Duration::from_secs(args.scenario_timeout.max(1)),
        run_timeout: args.run_timeout.map(Duration::from_secs),
        max_body_bytes: args.max_body_bytes,
        insecure: args.target.insecure,
        allow_real_money: args.allow_real_money,
        max_spend_cents: args.max_spend_cents,
        strict: args.strict,
        min_executed: args.min_executed,
        // Limits an earlier run found spent, while they last.
        spent_limits: RunState::load(&args.state_file)
            .map(|s| s.spent_limits)
            .unwrap_or_default(),
        progress: Some(callback),
        // The callback hears scenarios only.
        progress_steps: false,
        // Only failures are shown unless a report or transcripts are written.
        record: if reports.is_empty() && args.snapshots.is_none() {
            Recording::Failures
        } else {
            Recording::All
        },
        ..RunOptions::default()
    };
    let plan = RunPlan {
        contract: spec.clone(),
        scenarios: planned,
        target,
        options,
    };
    let (report, secrets) = execute(plan)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let style = TerminalStyle::detect(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    for s in report
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Failed | Outcome::Errored { .. }))
    {
        out.text(&render_failure(s, &style));
        out.line("");
    }
    out.text(&render_summary(&report, &style));
    let coverage = (!reports.is_empty())
        .then(|| coverage::coverage_of(spec.reference().unwrap_or(spec.documented()), &[], &report));
    let mut written: Vec<PathBuf> = Vec::new();
    for (format, path) in &reports {
        write_report(*format, &report, coverage.as_ref(), path).map_err(|e| UsageError::Other(e.to_string()))?;
        written.push(path.clone());
        out.line(&format!("wrote {} report to {}", format.name(), path.display()));
    }
    if let Some(dir) = &args.snapshots {
        let files = crate::transcript::write_snapshots(&report, dir).map_err(UsageError::Other)?;
        out.line(&format!("wrote {} transcripts to {}", files.len(), dir.display()));
        written.extend(files);
    }
    if RunState::of(&report).save(&args.state_file).is_ok() {
        written.push(args.state_file.clone());
    }
    match secrets.scan_files(&written) {
        Ok(leaks) if !leaks.is_empty() => {
            for f in &leaks {
                out.err(&format!(
                    "error: `{}` contains a secret of this run; it must not be shared",
                    f.display()
                ));
            }
            return Ok(ExitCode::from(EXIT_FAILED));
        }
        Ok(_) => {}
        Err(e) => {
            // An artifact that cannot be checked cannot be trusted to share.
            out.err(&format!("error: could not scan the written files for secrets: {e}"));
            return Ok(ExitCode::from(EXIT_FAILED));
        }
    }
    Ok(ExitCode::from(crate::report::gate::verdict_of(&report).exit_code()))
}

/// Scenarios run at once unless `--jobs` says otherwise: the number of
/// cores against a deployment, four times that against the bundled
/// server, where each scenario has its own server and mostly waits (event
/// windows) rather than computes.
fn default_jobs(target: &TargetSpec) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    if target.is_bundled() { cores * 4 } else { cores }
}

/// `coverage`: runs the library against the bundled server and prints the table.
pub fn coverage(args: &CoverageArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let text = std::fs::read_to_string(&args.documented)
        .map_err(|e| UsageError::Other(format!("cannot read `{}`: {e}", args.documented.display())))?;
    let documented = coverage::parse_documented_operations(&text, &args.documented.display().to_string())
        .map_err(|e| UsageError::Other(e.to_string()))?;
    let (spec, planned) = plan(&args.library, &SelectArgs::default(), None, out)?;
    let options = RunOptions {
        jobs: default_jobs(&TargetSpec::Bundled),
        progress_steps: false,
        ..RunOptions::default()
    };
    let plan = RunPlan {
        contract: spec.clone(),
        scenarios: planned,
        target: TargetSpec::Bundled,
        options,
    };
    let (report, _) = execute(plan)?;
    let cov = coverage::coverage_of(spec.reference().unwrap_or(spec.documented()), &documented, &report);
    out.text(&coverage::render_table(&cov));
    if let Some(path) = &args.markdown {
        std::fs::write(path, coverage::render_markdown(&cov))
            .map_err(|e| UsageError::Other(format!("cannot write `{}`: {e}", path.display())))?;
    }
    // Something documented that no scenario exercises, or that the spec
    // leaves out, is a gap of the library: exit 1.
    let missing = cov.missing();
    Ok(ExitCode::from(if missing.is_empty() { EXIT_OK } else { EXIT_FAILED }))
}

/// `doctor`: probes the target and prints what would run; exits 4 when nothing could.
pub fn doctor(args: &DoctorArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let (_, planned) = plan(&args.library, &args.select, None, out)?;
    let target = target_of(&args.target)?;
    let options = RunOptions {
        insecure: args.target.insecure,
        allow_real_money: args.allow_real_money,
        max_spend_cents: args.max_spend_cents,
        ..RunOptions::default()
    };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| UsageError::Other(format!("cannot start the runtime: {e}")))?;
    let p = runtime.block_on(crate::runner::preflight(&target, &planned, &options));
    out.line(&format!(
        "target   {} ({}, {})",
        p.target,
        target.kind(),
        if p.sandbox {
            "sandbox"
        } else {
            "NOT a sandbox: money is real"
        }
    ));
    match &p.features {
        Ok(f) if f.is_empty() => out.line("control  none (scenarios take accounts from the profile's pool)"),
        Ok(f) => out.line(&format!("control  {}", f.join(", "))),
        Err(e) => out.line(&format!("control  unusable: {e}")),
    }
    match &p.events {
        Ok(what) => out.line(&format!("events   {what}")),
        Err(why) => out.line(&format!("events   do not connect: {why}")),
    }
    if !p.accounts.is_empty() {
        out.line("accounts");
        for a in &p.accounts {
            let state = match &a.usable {
                Ok(()) => "usable".to_string(),
                Err(why) => format!("NOT usable: {why}"),
            };
            let mut what = vec![format!("{} tier", a.tier)];
            if let Some(w) = a.wallet_cents {
                what.push(format!("wallet {w} cents"));
            }
            if let Some(s) = &a.specializations {
                what.push(format!("specializations [{}]", s.join(", ")));
            }
            if let Some(c) = &a.proofer_categories {
                what.push(format!("proofs in [{}]", c.join(", ")));
            }
            if !a.email_verified {
                what.push("email not verified".into());
            }
            out.line(&format!("  {:<12} {:<8} {state}; {}", a.label, a.role, what.join(", ")));
        }
    }
    let (can, of) = p.must_runnable();
    out.line(&format!("plan     {can} of {of} must-level scenarios would run"));
    for (id, level, why) in &p.plan {
        match why {
            None => out.line(&format!("  run   {id} [{}]", level.as_str())),
            Some(why) => out.line(&format!("  skip  {id} [{}]: {why}", level.as_str())),
        }
    }
    Ok(ExitCode::from(if p.nothing_runs() {
        crate::report::Verdict::TooLittleRan.exit_code()
    } else {
        EXIT_OK
    }))
}
