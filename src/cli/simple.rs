//! The commands that run nothing against a target: lint, list, explain,
//! mock, completions, man.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::CommandFactory;

use crate::mock::{MockConfig, MockServer};
use crate::report::terminal::render_explain;

use super::args::{Cli, ExplainArgs, LibraryArgs, ListArgs, MockArgs};
use super::library::{self, UsageError, selected};
use super::{EXIT_OK, EXIT_USAGE, Out};

/// `lint`: every load error of every file and the lint findings of every
/// file that could be read, against the spec, in one run.
pub fn lint(args: &LibraryArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let contract = library::load_contract(args)?;
    let linted = crate::plan::lint_dir(&library::locate(&args.scenarios), &contract);
    for line in linted.lines() {
        out.err(&line);
    }
    let errors = linted.errors();
    out.line(&format!(
        "lint: {} scenarios, {} flows: {errors} errors, {} warnings",
        linted.library.scenarios.len(),
        linted.library.flows.len(),
        linted.warnings()
    ));
    Ok(if errors > 0 {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::from(EXIT_OK)
    })
}

/// `list`: one line per selected scenario.
pub fn list(args: &ListArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let lib = library::load(&args.library)?;
    let mut n = 0;
    for s in lib.scenarios.iter().filter(|s| selected(s, &args.select)) {
        n += 1;
        let level = s.level.as_str();
        let money = if s.moves_money { " $" } else { "" };
        out.line(&format!(
            "{:<48} {:<6} {:<10} {}{money}",
            s.id,
            level,
            s.area(),
            s.source.file
        ));
    }
    out.line(&format!("{n} scenarios"));
    Ok(ExitCode::from(EXIT_OK))
}

/// `explain ID`.
pub fn explain(args: &ExplainArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    let lib = library::load(&args.library)?;
    let Some(scenario) = lib.scenario(&args.id) else {
        let ids: Vec<&str> = lib.scenarios.iter().map(|s| s.id.as_str()).collect();
        let hint = crate::scenario::diagnostics::did_you_mean(&args.id, ids.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(UsageError::Other(format!("no scenario has the id `{}`{hint}", args.id)));
    };
    let steps = lib.expand(scenario).map_err(|e| UsageError::Other(e.to_string()))?;
    out.text(&render_explain(scenario, &steps));
    Ok(ExitCode::from(EXIT_OK))
}

/// `mock`: serves until Ctrl-C.
pub fn mock(args: &MockArgs, out: &mut Out) -> Result<ExitCode, UsageError> {
    if args.list_choices {
        for (name, what) in crate::mock::KNOWN_CHOICES {
            out.line(&format!("{name:<24} {what}"));
        }
        return Ok(ExitCode::from(EXIT_OK));
    }
    let choices: Vec<&str> = if args.all_choices {
        crate::mock::KNOWN_CHOICES.iter().map(|(n, _)| *n).collect()
    } else {
        args.choices.iter().map(String::as_str).collect()
    };
    let config = MockConfig {
        host: args.host,
        port: args.port,
        control_token: args.control_token.clone().filter(|t| !t.is_empty()),
        keepalive: Duration::from_secs(args.keepalive_secs.max(1)),
        rate_limits: !args.no_rate_limits,
        clock_start: args.clock_start,
        clock_rate: args.clock_rate,
        ..MockConfig::default()
    }
    .with_choices(choices.iter().copied());
    config.validate().map_err(|e| {
        let hint = if config.control_token.is_none() && !config.host.is_loopback() {
            " (pass `--control-token TOKEN` or set `AGENTGIGS_CONTROL_TOKEN`)"
        } else {
            ""
        };
        UsageError::Other(format!("{e}{hint}"))
    })?;
    let token_note = config.control_token.is_some();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(mock_workers(args.workers))
        .enable_all()
        .build()
        .map_err(|e| UsageError::Other(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(async {
        let server = MockServer::start(config).await?;
        let url = server.url();
        out.line(&format!("AgentGigs reference server listening on {url}"));
        if args.no_rate_limits {
            out.line("Rate limits are lifted (--no-rate-limits): no request is ever answered 429.");
        }
        if !choices.is_empty() {
            out.line(&format!(
                "Choices flipped where the docs are silent: {} (the documented contract still holds).",
                choices.join(", ")
            ));
        }
        if let Some(start) = args.clock_start {
            out.line(&format!("The server clock started at {} (--clock-start).", start.to_rfc3339()));
        }
        if args.clock_rate > 1 {
            out.line(&format!(
                "The server clock runs {}x as fast as real time (--clock-rate); Retry-After is in real seconds.",
                args.clock_rate
            ));
        }
        out.line("");
        out.line("Create a test actor (poster, agent or proofer) through the control API:");
        let token = if token_note { " -H \"X-Conformance-Token: $AGENTGIGS_CONTROL_TOKEN\"" } else { "" };
        out.line(&format!(
            "  curl -s -X POST {url}/__conformance/actors{token} -H 'content-type: application/json' \\\n       -d '{{\"role\":\"agent\",\"specializations\":[\"Research\"],\"wallet_cents\":100000}}'"
        ));
        out.line("Then call the API with its key:");
        out.line(&format!("  curl -s {url}/api/agent/jobs/available -H 'X-API-Key: age_...'"));
        out.line(&format!("Move the clock: curl -s -X POST {url}/__conformance/clock{token} -H 'content-type: application/json' -d '{{\"advance_seconds\":3600}}'"));
        out.line("Press Ctrl-C to stop.");
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        Ok::<(), crate::mock::MockError>(())
    });
    result.map_err(|e| UsageError::Other(e.to_string()))?;
    Ok(ExitCode::from(EXIT_OK))
}

/// `completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut Out) -> ExitCode {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "agentgigs-conformance", &mut buf);
    out.bytes(&buf);
    ExitCode::from(EXIT_OK)
}

/// `man`.
pub fn man(dir: Option<&std::path::Path>, out: &mut Out) -> ExitCode {
    if let Some(dir) = dir {
        let written = std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir));
        return match written {
            Ok(()) => {
                out.line(&format!("wrote man pages to {}", dir.display()));
                ExitCode::from(EXIT_OK)
            }
            Err(e) => {
                out.err(&format!("error: cannot write man pages to `{}`: {e}", dir.display()));
                ExitCode::from(EXIT_USAGE)
            }
        };
    }
    let mut buf = Vec::new();
    if clap_mangen::Man::new(Cli::command()).render(&mut buf).is_err() {
        out.err("cannot render the man page");
        return ExitCode::from(EXIT_USAGE);
    }
    out.bytes(&buf);
    ExitCode::from(EXIT_OK)
}

impl Out {
    /// Writes raw bytes to stdout.
    pub fn bytes(&mut self, b: &[u8]) {
        let _ = self.stdout.write_all(b);
    }
}

/// The threads `mock` answers on: `--workers`, else one fewer than the
/// cores (at least one). Its clients usually share the machine: on two
/// cores, with a load generator on the other, one worker answered
/// 137k requests a second with a p99 of 0.4 ms where two answered 130k
/// with a p99 of 3 ms (benches/README.md, issue 13).
fn mock_workers(asked: Option<u16>) -> usize {
    match asked {
        Some(n) => usize::from(n.max(1)),
        None => std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .saturating_sub(1)
            .max(1),
    }
}
