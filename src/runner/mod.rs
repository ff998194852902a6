//! The runner: executes scenarios against a target and records the results.
//!
//! It provisions actors, interpolates variables, sends requests with the
//! chosen auth mode, checks every response against the spec and the
//! step's `expect`, captures values, repeats, moves the clock, follows
//! event streams, paces, times out, and runs scenarios in parallel. All it
//! records is redacted. It must not print, render reports, or panic: every
//! problem ends up inside the [`RunReport`](crate::report::model::RunReport).

mod auth;
mod clock;
mod concurrent_steps;
mod conserve_steps;
mod context;
mod events;
mod exec;
mod money;
mod pacing;
mod preflight;
mod record;
mod request_steps;
mod scenario;
mod schedule;
mod sink;
mod state;
mod steps;
mod stream_steps;
mod vars;

use std::sync::Arc;
use std::time::Duration;

pub use context::ScenarioContext;
pub use preflight::{AccountReport, Preflight, preflight};
pub use scenario::{can_run, run_scenario};
pub use schedule::{run, run_with_secrets};

use crate::report::model::{ScenarioReport, StepReport, Totals};
use crate::scenario::{Scenario, Step};
use crate::spec::Contract;
use crate::target::TargetSpec;

/// A callback receiving progress as the run goes.
pub type ProgressFn = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// How a run behaves.
#[derive(Clone)]
pub struct RunOptions {
    /// Scenarios run at once (at least 1).
    pub jobs: usize,
    /// Stop scheduling new scenarios after the first must-level failure.
    pub fail_fast: bool,
    /// Limit of one HTTP request (headers and body).
    pub request_timeout: Duration,
    /// Limit of one step (a step's `timeout_ms` overrides it); time spent
    /// pacing or waiting out a `Retry-After` is added to it.
    pub step_timeout: Duration,
    /// Limit of one scenario (pacing and `Retry-After` waits added).
    pub scenario_timeout: Duration,
    /// Limit of the whole run; scenarios not started by then are errored.
    pub run_timeout: Option<Duration>,
    /// Largest response body read; a larger one makes the step errored.
    pub max_body_bytes: usize,
    /// Accept invalid TLS certificates.
    pub insecure: bool,
    /// Run `moves_money` scenarios on a non-sandbox target.
    pub allow_real_money: bool,
    /// Most cents the run may commit (default 0 off sandboxes, unbounded on them).
    pub max_spend_cents: Option<i64>,
    /// Retries of an unexpected 429 after its `Retry-After`.
    pub retry_429: u32,
    /// Departures from the reference server count as failures (for
    /// implementers who want to match the reference server exactly).
    pub strict: bool,
    /// The least share of must-level scenarios (percent) that must run for
    /// the run to pass; `None`: all against the bundled server, half
    /// against a deployment. Recorded in the report.
    pub min_executed: Option<u8>,
    /// Limits an earlier run spent (from the state file): scenarios that
    /// need them are not run until they free.
    pub spent_limits: Vec<crate::report::model::SpentLimit>,
    /// Progress callback.
    pub progress: Option<ProgressFn>,
    /// Whether the progress callback hears [`ProgressEvent::StepFinished`]
    /// (each step redacted as it ends). Off, a step is redacted once, when
    /// its scenario ends.
    pub progress_steps: bool,
    /// Which scenarios keep their steps' requests and responses in the report.
    pub record: Recording,
}

/// Which scenarios keep their steps' exchanges (requests and responses)
/// in the report. Either way a scenario's steps keep their exchanges raw
/// while it runs, and what is kept is redacted once, when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recording {
    /// Every step keeps its exchanges: for reports and transcripts.
    #[default]
    All,
    /// Only the steps of scenarios that failed or errored keep them (what
    /// the terminal shows); the others keep their outcomes, findings and
    /// departures, and `request`/`response` are `None`.
    Failures,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: 1,
            fail_fast: false,
            request_timeout: Duration::from_secs(10),
            step_timeout: Duration::from_secs(30),
            scenario_timeout: Duration::from_secs(120),
            run_timeout: None,
            max_body_bytes: 4 * 1024 * 1024,
            insecure: false,
            allow_real_money: false,
            max_spend_cents: None,
            retry_429: 2,
            strict: false,
            min_executed: None,
            spent_limits: Vec::new(),
            progress: None,
            progress_steps: true,
            record: Recording::All,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("jobs", &self.jobs)
            .field("fail_fast", &self.fail_fast)
            .field("request_timeout", &self.request_timeout)
            .field("step_timeout", &self.step_timeout)
            .field("scenario_timeout", &self.scenario_timeout)
            .field("run_timeout", &self.run_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("insecure", &self.insecure)
            .field("allow_real_money", &self.allow_real_money)
            .field("max_spend_cents", &self.max_spend_cents)
            .field("retry_429", &self.retry_429)
            .field("strict", &self.strict)
            .field("min_executed", &self.min_executed)
            .field("progress", &self.progress.is_some())
            .field("progress_steps", &self.progress_steps)
            .field("record", &self.record)
            .finish()
    }
}

/// What the progress callback hears. Everything in it is redacted.
#[derive(Debug, Clone)]
pub enum ProgressEvent {
    /// The run begins with this many scenarios.
    RunStarted { total: usize },
    /// A scenario starts (`position` is its index in the plan).
    ScenarioStarted { position: usize, id: String },
    /// A step of a scenario ended.
    StepFinished { scenario: String, step: Box<StepReport> },
    /// A scenario ended (or was skipped without starting).
    ScenarioFinished {
        position: usize,
        report: Box<ScenarioReport>,
    },
    /// The run ended.
    RunFinished { totals: Totals },
}

/// One scenario ready to run: the scenario, its steps with includes
/// flattened (`scenario::loader::expand`), and where it came from.
#[derive(Debug, Clone)]
pub struct PlannedScenario {
    pub scenario: Scenario,
    /// The steps to execute, in order.
    pub steps: Vec<Step>,
    /// Path of the file under `scenarios/`.
    pub file: String,
    /// First directory under `scenarios/` (auth, nda, lifecycle, ...):
    /// [`Scenario::area`].
    pub area: String,
}

impl PlannedScenario {
    /// A planned scenario whose `file` and `area` come from
    /// `scenario.source.file` (relative to the scenario root).
    pub fn new(scenario: Scenario, steps: Vec<Step>) -> Self {
        let file = scenario.source.file.replace('\\', "/");
        let area = scenario.area();
        PlannedScenario {
            scenario,
            steps,
            file,
            area,
        }
    }
}

/// A whole run's input.
#[derive(Clone)]
pub struct RunPlan {
    /// The documented contract and, optionally, the reference layer.
    pub contract: Contract,
    pub scenarios: Vec<PlannedScenario>,
    pub target: TargetSpec,
    pub options: RunOptions,
}

/// Why a step or scenario could not run (the message of `Outcome::Errored`).
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum RunnerError {
    /// `{{name}}` has no value.
    #[error("undefined variable `{name}` in {place}")]
    UndefinedVariable { name: String, place: String },
    /// A step names an actor the scenario does not declare.
    #[error("unknown actor `{name}` (declared: {declared})")]
    UnknownActor { name: String, declared: String },
    /// The actor lacks the credential the auth mode needs.
    #[error("actor `{actor}` has no `{field}` for auth mode `{mode}`")]
    MissingCredential { actor: String, field: String, mode: String },
    /// The auth mode needs an actor (`as:`).
    #[error("auth mode `{mode}` needs an actor (`as:`)")]
    NoActor { mode: String },
    /// The request could not be built (bad method, URL, header).
    #[error("cannot build the request: {0}")]
    BadRequest(String),
    /// The target could not be reached or the exchange broke.
    #[error("{what} `{method} {url}`: {message}")]
    Transport {
        what: String,
        method: String,
        url: String,
        message: String,
    },
    /// A time limit passed.
    #[error("{0}")]
    Timeout(String),
    /// The response body exceeded `max_body_bytes`.
    #[error("the response body is larger than {limit} bytes (`max_body_bytes`); not read")]
    BodyTooLarge { limit: usize },
    /// A control-API call failed.
    #[error("control API: {0}")]
    Control(String),
    /// An event step names a stream no `subscribe` opened.
    #[error("no stream named `{0}` is open (subscribe first)")]
    NoStream(String),
    /// A step kind the runner does not execute.
    #[error("{0}")]
    Unsupported(String),
    /// Setting up the run failed.
    #[error("cannot set up the run: {0}")]
    Setup(String),
    /// The target answered a limit the harness cannot wait out: the
    /// scenario could not run (not a conformance failure).
    #[error("{0}")]
    LimitSpent(String),
}
