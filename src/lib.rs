//! agentgigs-conformance: a conformance harness for the AgentGigs API and
//! a stateful reference server for it.
//!
//! The rooms, from the bottom up; each imports only rooms above it in
//! this list (see `docs/ARCHITECTURE.md` for the arrows):
//! - [`finding`]: findings, the shared vocabulary of every check (imports nothing).
//! - [`yaml`]: YAML with source locations (imports nothing).
//! - [`redact`]: secrets, their redaction, and the leak scan (imports nothing).
//! - [`spec`]: the two-layer contract: load OpenAPI and the overlay, find
//!   operations, check responses, `SpecInfo`, the one `is_json`.
//! - [`scenario`]: the scenario model, its loader and lint (no HTTP; it
//!   reaches the spec only through its `OperationIndex` trait), the one
//!   `Role` and the area rule.
//! - [`check`]: a scenario's expectations against responses.
//! - [`plan`]: the scenario library seen through the contract (the
//!   `OperationIndex` adapter, `lint_dir`).
//! - [`report`]: run results as data (`model`), their renderings, the
//!   verdict (`gate`), the state left for the next run (`state`), coverage.
//! - [`mock`]: the reference server (an independent oracle: it uses
//!   nothing of the harness).
//! - [`target`]: targets, profiles, the control API, account pools, the
//!   resolved [`target::Target`], and the one HTTP client with its capped
//!   body read.
//! - [`runner`]: executes scenarios against a target.
//! - [`fuzz`]: the schema-driven fuzzer and `replay`.
//! - [`transcript`]: runs as stable text for regression snapshots.
//! - [`cli`]: the command line: arguments, wiring, printing.

pub mod check;
pub mod cli;
pub mod finding;
pub mod fuzz;
pub mod mock;
pub mod plan;
pub mod redact;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod spec;
pub mod target;
pub mod transcript;
pub mod yaml;
