//! The clap definitions of `agentgigs-conformance`. No logic here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Conformance harness for the AgentGigs agent-marketplace API, with a
/// bundled stateful reference server.
#[derive(Debug, Parser)]
#[command(
    name = "agentgigs-conformance",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Exit codes of `run`: 0 passed; 1 conformance failures; 2 bad usage, spec or scenario files; \
                  3 the target could not be reached; 4 too little ran (fewer must-level scenarios than \
                  --min-executed)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the scenario library against a target (default: the bundled reference server).
    Run(RunArgs),
    /// Serve the reference server until Ctrl-C.
    Mock(MockArgs),
    /// Check every scenario file without any server.
    Lint(LibraryArgs),
    /// Probe a target: its control features, its accounts and what each can do,
    /// whether the event stream connects, and which scenarios would run (and why not).
    Doctor(DoctorArgs),
    /// List the scenarios (id, level, area, file).
    List(ListArgs),
    /// Run the library against the bundled server and print the coverage of the spec
    /// (operation × status × error code, and which scenarios hit each).
    Coverage(CoverageArgs),
    /// Print a scenario's rule, documentation and steps in words.
    Explain(ExplainArgs),
    /// Generate requests from the spec's schemas and check that the target answers them as documented.
    Fuzz(FuzzArgs),
    /// Send a saved fuzz failure again against a target.
    Replay(ReplayArgs),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory.
    Man {
        /// Write `agentgigs-conformance.1` and one page per subcommand here.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Where the spec and the library are.
#[derive(Debug, Clone, Args)]
pub struct LibraryArgs {
    /// The documented contract (OpenAPI) responses are checked against; a break is a failure.
    #[arg(long, value_name = "FILE", default_value = "specs/agentgigs.openapi.yaml")]
    pub spec: PathBuf,
    /// The reference layer: an OpenAPI Overlay of our reference server's choices where the
    /// docs are silent, applied over `--spec`; a break is a departure, not a failure.
    #[arg(long, value_name = "FILE", default_value = "specs/reference.overlay.yaml")]
    pub reference: PathBuf,
    /// Check the documented contract only (no reference layer, no departures).
    #[arg(long, conflicts_with = "reference")]
    pub no_reference: bool,
    /// The scenario library.
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    pub scenarios: PathBuf,
}

/// Which scenarios to take.
#[derive(Debug, Clone, Args, Default)]
pub struct SelectArgs {
    /// Only scenarios whose id or file path contains this text (repeatable: any matches).
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Only scenarios with this tag (repeatable: any matches).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Only scenarios of this level.
    #[arg(long, value_enum)]
    pub level: Option<LevelArg>,
}

/// A scenario level on the command line.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LevelArg {
    Must,
    Should,
}

/// Where to send requests.
#[derive(Debug, Clone, Args, Default)]
pub struct TargetArgs {
    /// Base URL of a server that offers the control API at the same URL.
    #[arg(long, value_name = "URL", conflicts_with = "profile", env = "AGENTGIGS_TARGET")]
    pub target: Option<String>,
    /// A target profile file (base URL, control API, static actors, tier, sandbox).
    #[arg(long, value_name = "FILE", env = "AGENTGIGS_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Accept invalid TLS certificates (verification is on by default).
    #[arg(long)]
    pub insecure: bool,
    /// Start the bundled server's clock at this instant (RFC 3339) instead of
    /// now: a run must not depend on the date (bundled server only).
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant, conflicts_with_all = ["target", "profile"])]
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Flip one of the bundled server's choices where the docs are silent
    /// (repeatable; `mock --list-choices` names them): the library must still pass.
    #[arg(long = "choice", value_name = "NAME", conflicts_with_all = ["target", "profile"])]
    pub choices: Vec<String>,
    /// Flip every choice of the bundled server at once.
    #[arg(long, conflicts_with_all = ["target", "profile", "choices"])]
    pub all_choices: bool,
}

/// `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub library: LibraryArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Scenarios run at once (default: the number of cores; four times that against the bundled server).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// List what would run, with skip reasons, and exit.
    #[arg(long)]
    pub list: bool,
    /// Stop scheduling scenarios after the first must-level failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// Count departures from the reference server as failures (to match our reference
    /// server exactly, not only the documented contract).
    #[arg(long)]
    pub strict: bool,
    /// The least share of must-level scenarios, in percent, that must run (pass or
    /// fail) for the run to pass; below it the run exits 4, "too little ran".
    /// Default: 100 against the bundled server, 50 against a deployment.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_executed: Option<u8>,
    /// Rerun only the scenarios that failed in the previous run.
    #[arg(long)]
    pub last_failed: bool,
    /// Write a report: FORMAT=PATH with FORMAT one of junit, json, markdown, html (repeatable).
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<String>,
    /// Write insta-format transcripts of every scenario into DIR (`.snap.new` for differences).
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Run money-moving scenarios against a target that is not a sandbox. You accept that real money moves.
    #[arg(long = "i-understand-this-moves-real-money")]
    pub allow_real_money: bool,
    /// The most money (cents) the run may commit; default 0 off sandboxes, unlimited on them.
    #[arg(long, value_name = "CENTS")]
    pub max_spend_cents: Option<i64>,
    /// The most bytes read of one response body.
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Timeout of one request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub request_timeout: u64,
    /// Timeout of one step, in seconds (pacing and `Retry-After` waits are added).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub step_timeout: u64,
    /// Timeout of one scenario, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub scenario_timeout: u64,
    /// Timeout of the whole run, in seconds.
    #[arg(long, value_name = "SECS")]
    pub run_timeout: Option<u64>,
    /// Where the state of the previous run is kept (for --last-failed).
    #[arg(long, value_name = "FILE", default_value = ".agentgigs-conformance/last-run.json")]
    pub state_file: PathBuf,
}

/// `doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub library: LibraryArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run money-moving scenarios against a target that is not a sandbox (as `run`).
    #[arg(long = "i-understand-this-moves-real-money")]
    pub allow_real_money: bool,
    /// The most money (cents) the run may commit (as `run`).
    #[arg(long, value_name = "CENTS")]
    pub max_spend_cents: Option<i64>,
}

/// `mock`.
#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to bind (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Token every control-API call must carry in `X-Conformance-Token` (required off loopback).
    #[arg(long, value_name = "TOKEN", env = "AGENTGIGS_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// Seconds between keepalive comments on event streams.
    #[arg(long, default_value_t = 30)]
    pub keepalive_secs: u64,
    /// Lift every rate limit, for load tests of clients or of the server
    /// itself. The server then breaks the documented rate-limit rules.
    #[arg(long)]
    pub no_rate_limits: bool,
    /// Start the server clock at this instant (RFC 3339, e.g.
    /// `2031-12-31T12:00:00Z`) instead of now; it then runs at wall speed.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Run the server clock this many times as fast as real time, so the
    /// documented windows (a minute, an hour, the 24 h review) pass in
    /// seconds; `Retry-After` stays in real seconds.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub clock_rate: u32,
    /// Threads answering requests. Default: one fewer than the cores (at
    /// least one), leaving a core to the client that drives the server on
    /// the same machine (an agent, the harness, a load generator).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Flip a choice the docs leave open (repeatable), to test a client
    /// against another faithful server; see `--list-choices`.
    #[arg(long = "choice", value_name = "NAME")]
    pub choices: Vec<String>,
    /// Flip every choice at once.
    #[arg(long, conflicts_with = "choices")]
    pub all_choices: bool,
    /// Print the choices (name and what each flips) and exit.
    #[arg(long)]
    pub list_choices: bool,
}

fn parse_instant(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("expected an RFC 3339 instant such as `2031-12-31T12:00:00Z`: {e}"))
}

/// `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub library: LibraryArgs,
    #[command(flatten)]
    pub select: SelectArgs,
}

/// `coverage`.
#[derive(Debug, Clone, Args)]
pub struct CoverageArgs {
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Also write the table as Markdown to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// The list of every operation the docs name: coverage reports those the spec leaves
    /// out and those no scenario exercises.
    #[arg(long, value_name = "FILE", default_value = "specs/documented-operations.yaml")]
    pub documented: PathBuf,
}

/// `explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub library: LibraryArgs,
    /// The scenario id.
    pub id: String,
}

/// The contract `fuzz` and `replay` judge answers against (the `--spec`,
/// `--reference` and `--no-reference` of [`LibraryArgs`], without the
/// scenario library).
#[derive(Debug, Clone, Args)]
pub struct ContractArgs {
    /// The documented contract (OpenAPI): requests are generated from it and a break of it is a failure.
    #[arg(long, value_name = "FILE", default_value = "specs/agentgigs.openapi.yaml")]
    pub spec: PathBuf,
    /// The reference layer: an OpenAPI Overlay of our reference server's choices where the
    /// docs are silent, applied over `--spec`; a break is a departure, not a failure.
    #[arg(long, value_name = "FILE", default_value = "specs/reference.overlay.yaml")]
    pub reference: PathBuf,
    /// Judge on the documented contract only (no reference layer, no departures).
    #[arg(long, conflicts_with = "reference")]
    pub no_reference: bool,
    /// Count departures from the reference server as failures.
    #[arg(long)]
    pub strict: bool,
    /// The most bytes read of one response body (a larger one is reported, not read).
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
}

impl ContractArgs {
    /// The same files as library arguments (for `library::load_contract`).
    pub fn library(&self) -> LibraryArgs {
        LibraryArgs {
            spec: self.spec.clone(),
            reference: self.reference.clone(),
            no_reference: self.no_reference,
            scenarios: PathBuf::from("scenarios"),
        }
    }
}

/// `fuzz`.
#[derive(Debug, Clone, Args)]
pub struct FuzzArgs {
    #[command(flatten)]
    pub contract: ContractArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seed of the generator (a run is reproducible from it).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Generated cases per operation.
    #[arg(long, default_value_t = 64)]
    pub cases: u32,
    /// Only this operation (operationId or "METHOD /path").
    #[arg(long, value_name = "OP")]
    pub operation: Option<String>,
    /// Stop generating after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub time_budget: Option<u64>,
    /// Where failures are saved.
    #[arg(long, value_name = "DIR", default_value = "fuzz-corpus")]
    pub corpus: PathBuf,
}

/// `replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A corpus file written by `fuzz`.
    pub file: PathBuf,
    #[command(flatten)]
    pub contract: ContractArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}
