//! agentgigs-conformance: a conformance harness for the AgentGigs API and
//! a stateful reference server for it.
//!
//! The rooms, from the bottom up (see `docs/ARCHITECTURE.md`):
//! - [`yaml`]: YAML with source locations.
//! - [`spec`]: load OpenAPI, find operations, check responses.
//! - [`scenario`]: the scenario model and its loader (no HTTP).
//! - [`check`]: a scenario's expectations against responses.
//! - [`redact`]: secrets and their redaction.
//! - [`target`]: targets, profiles, the control API.
//! - [`plan`]: the scenario library seen through the contract (lint).
//! - [`runner`]: executes scenarios against a target.
//! - [`report`]: run results as data, and their renderings.
//! - [`transcript`]: runs as stable text for regression snapshots.
//! - [`mock`]: the reference server (an independent oracle).
//! - [`cli`]: the command line.

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
