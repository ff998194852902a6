//! The schema-driven fuzzer (`agentgigs-conformance fuzz` and `replay`).
//!
//! From each operation of the documented contract it derives valid
//! requests (proptest strategies over the parameter and body schemas, fed
//! with real actors, ids and categories provisioned through the control
//! API) and invalid ones (exactly one mutation of a valid request each),
//! sends them, and judges every answer on the two layers of the
//! [`Contract`](crate::spec::Contract):
//!
//! - a break of the documented contract is a **failure**: a 5xx, an
//!   undocumented status, an answer off the documented schema, and a 2xx
//!   to a request that breaks a documented constraint the docs back with
//!   an `x-doc` reference (the failure cites them);
//! - a break of the reference layer only is a **departure** from our
//!   reference server, reported apart and never failing (unless
//!   `strict`): an answer off the reference schema, and a 2xx to a request
//!   only our reference server refuses (a constraint of the reference
//!   layer, one the documented spec states without `x-doc`, a value
//!   outside a query parameter's `enum` that does not say
//!   `x-refuse-others: true`).
//!
//! A failure is shrunk with proptest to a minimal request, rendered as a
//! curl command without secrets and saved to a corpus file that [`replay`]
//! sends again to any target and re-judges with the current contract.
//! Departures are deduplicated per operation. Every answer body is read
//! under a size cap, through the crate's one capped read
//! ([`crate::target::read_capped`], as the runner does).
//!
//! Rooms: [`schema`] (schema helpers, `x-doc` lookup), [`strategy`] (value strategies),
//! [`mutate`] (invalid variants), [`request`] (wire form, placeholders,
//! curl), [`fixtures`] (provisioning), [`exec`] (send and judge),
//! [`plan`] (per-operation strategies), [`driver`] (the loop),
//! [`corpus`] (files and replay), [`report`] (results and their text).
//!
//! It never prints and writes only inside the corpus directory it is given.

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

use serde::{Deserialize, Serialize};

pub use corpus::{CorpusEntry, ReplayOptions, ReplayOutcome, replay, replay_with};
pub use driver::{FuzzOptions, fuzz, select_operations};
pub use exec::FailureKind;
pub use mutate::{Basis, Refusal};
pub use report::{FuzzDeparture, FuzzFailure, FuzzReport, OperationFuzzResult, SkippedOperation};
pub use strategy::value_strategy;

/// Bytes of an answer body read at most, unless told otherwise (4 MiB,
/// as `run --max-body-bytes`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The layer of the contract a constraint or a problem belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The documented contract: a break is a conformance failure.
    #[default]
    Documented,
    /// The reference layer (our reference server's choices): a break is a
    /// departure, a failure only in strict runs.
    Reference,
}

impl Layer {
    /// `documented` or `reference`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Documented => "documented",
            Layer::Reference => "reference",
        }
    }
}

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
