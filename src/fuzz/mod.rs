//! The schema-driven fuzzer (`agentgigs-conformance fuzz` and `replay`).
//!
//! From each operation of the spec it derives valid requests (proptest
//! strategies over the parameter and body schemas, fed with real actors,
//! ids and categories provisioned through the control API) and invalid
//! ones (exactly one mutation of a valid request each), sends them, and
//! checks every answer with the spec: a valid request must get a
//! documented 2xx or 4xx, an invalid one a 4xx, never a 5xx. A failure is
//! shrunk with proptest to a minimal request, rendered as a curl command
//! without secrets and saved to a corpus file that [`replay`] sends again
//! to any target.
//!
//! Rooms: [`schema`] (schema helpers), [`strategy`] (value strategies),
//! [`mutate`] (invalid variants), [`request`] (wire form, placeholders,
//! curl), [`fixtures`] (provisioning), [`exec`] (send and judge),
//! [`plan`] (per-operation strategies), [`driver`] (the loop),
//! [`corpus`] (files and replay), [`report`] (results and their text),
//! [`body`] (the capped body read shared with the runner: every answer
//! body is read under a size cap).
//!
//! It never prints and writes only inside the corpus directory it is given.

pub mod body;
pub mod corpus;
pub mod driver;
pub mod exec;
pub mod fixtures;
pub mod mutate;
pub mod plan;
pub mod report;
pub mod request;
pub mod schema;
pub mod strategy;

use std::path::PathBuf;

pub use corpus::{CorpusEntry, ReplayOutcome, replay, replay_with_spec};
pub use driver::{FuzzOptions, fuzz, select_operations};
pub use exec::FailureKind;
pub use report::{FuzzFailure, FuzzReport, OperationFuzzResult, SkippedOperation};
pub use strategy::value_strategy;

/// Bytes of an answer body read at most, unless told otherwise (4 MiB,
/// as `run --max-body-bytes`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What can stop a fuzzing run or a replay.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// `--operation` names nothing in the spec.
    #[error("no operation matches `{0}` (give an operationId such as `applyToJob`, or `METHOD /path`)")]
    UnknownOperation(String),
    /// Actors or objects could not be created on the target.
    #[error("cannot {step}: {message}")]
    Provision { step: String, message: String },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// A corpus file could not be read or parsed.
    #[error("cannot read corpus file `{path}`: {message}")]
    CorpusRead { path: PathBuf, message: String },
    /// A corpus file could not be written.
    #[error("cannot write corpus file `{path}`: {source}")]
    CorpusWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests;
