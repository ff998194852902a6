//! Findings: the shared vocabulary of every check. A finding says one way
//! in which a response (or an event) differs from what the spec or a
//! scenario demands.
//!
//! This room sits at the bottom: the spec, the checks, the runner, fuzzing
//! and the reports all speak it, and it imports nothing of them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of check produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The request matched no operation in the spec.
    UndocumentedOperation,
    /// The status is not documented for the operation.
    UndocumentedStatus,
    ContentType,
    /// The body does not validate against the documented schema.
    Schema,
    /// A documented header is missing.
    MissingHeader,
    /// The body is not valid JSON although JSON is documented.
    InvalidJson,
    /// A scenario's `expect: status`.
    Status,
    /// A scenario's `expect: headers`.
    Header,
    /// A scenario's `expect: body`.
    Body,
    /// A `repeat` expectation (the status arrived too early or never).
    Repeat,
    /// An event expectation.
    Event,
    /// A capture found nothing.
    Capture,
    /// A `concurrent` step's `expect_all` (answers by status).
    Concurrent,
    /// A `conserve` step's balance equation.
    Conservation,
}

/// One way in which a response differs from what the spec or scenario demands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// One sentence: what is wrong.
    pub message: String,
    /// What was expected, as text or JSON.
    pub expected: Option<Value>,
    /// What arrived.
    pub actual: Option<Value>,
    /// JSON pointer into the response body (or event payload).
    pub body_pointer: Option<String>,
    /// JSON pointer into the spec document (`#/paths/...`).
    pub schema_pointer: Option<String>,
}

impl Finding {
    pub fn new(kind: FindingKind, message: impl Into<String>) -> Self {
        Finding {
            kind,
            message: message.into(),
            expected: None,
            actual: None,
            body_pointer: None,
            schema_pointer: None,
        }
    }
    pub fn expected(mut self, v: impl Into<Value>) -> Self {
        self.expected = Some(v.into());
        self
    }
    pub fn actual(mut self, v: impl Into<Value>) -> Self {
        self.actual = Some(v.into());
        self
    }
    pub fn at_body(mut self, pointer: impl Into<String>) -> Self {
        self.body_pointer = Some(pointer.into());
        self
    }
    pub fn at_schema(mut self, pointer: impl Into<String>) -> Self {
        self.schema_pointer = Some(pointer.into());
        self
    }
}
