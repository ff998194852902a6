//! The command line: clap definitions and command wiring, no rules of its own.
//! This is the only room that prints.

pub mod args;
mod fuzz;
mod library;
mod run;
mod simple;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

use crate::report::Verdict;

/// Every must-level scenario passed.
pub const EXIT_OK: u8 = Verdict::Passed.exit_code();
/// Conformance failures.
pub const EXIT_FAILED: u8 = Verdict::Failed.exit_code();
/// Bad usage, spec or scenario files.
pub const EXIT_USAGE: u8 = 2;
/// The target could not be reached.
pub const EXIT_UNREACHABLE: u8 = Verdict::Unreachable.exit_code();
/// Too little ran: fewer must-level scenarios than `--min-executed` (a
/// gate must not turn green by skipping).
pub const EXIT_TOO_LITTLE_RAN: u8 = Verdict::TooLittleRan.exit_code();

/// Where the CLI writes: stdout for results, stderr for diagnostics.
pub struct Out {
    stdout: Box<dyn Write>,
    stderr: Box<dyn Write>,
}

impl Out {
    fn std() -> Self {
        Out {
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
        }
    }
    /// A line on stdout.
    pub fn line(&mut self, s: &str) {
        let _ = writeln!(self.stdout, "{s}");
    }
    /// Text on stdout, as is.
    pub fn text(&mut self, s: &str) {
        let _ = write!(self.stdout, "{s}");
        let _ = self.stdout.flush();
    }
    /// A line on stderr.
    pub fn err(&mut self, s: &str) {
        let _ = writeln!(self.stderr, "{s}");
    }
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let mut out = Out::std();
    let result = match &cli.command {
        Command::Lint(a) => simple::lint(a, &mut out),
        Command::List(a) => simple::list(a, &mut out),
        Command::Explain(a) => simple::explain(a, &mut out),
        Command::Mock(a) => simple::mock(a, &mut out),
        Command::Completions { shell } => Ok(simple::completions(*shell, &mut out)),
        Command::Man { dir } => Ok(simple::man(dir.as_deref(), &mut out)),
        Command::Run(a) => run::run(a, &mut out),
        Command::Doctor(a) => run::doctor(a, &mut out),
        Command::Coverage(a) => run::coverage(a, &mut out),
        Command::Fuzz(a) => fuzz::run_fuzz(a, &mut out),
        Command::Replay(a) => fuzz::run_replay(a, &mut out),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            out.err(&format!("error: {e}"));
            ExitCode::from(EXIT_USAGE)
        }
    }
}
