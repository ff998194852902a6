//! The spec model: load an OpenAPI 3.0 or 3.1 document (JSON or YAML),
//! find the operation for a (method, concrete path), and check a response
//! against it.
//!
//! It knows nothing of scenarios, targets or reports beyond the
//! `Finding` type it returns. (Contract for the other rooms: the public
//! items below keep these signatures.)

use std::path::Path;

use serde_json::Value;

use crate::report::model::Finding;

/// A response as the checker sees it.
#[derive(Debug, Clone)]
pub struct ResponseView<'a> {
    pub status: u16,
    /// Header names lower-case.
    pub headers: &'a [(String, String)],
    pub content_type: Option<&'a str>,
    /// The parsed JSON body, if the body was JSON.
    pub json: Option<&'a Value>,
    /// The raw body bytes (possibly truncated).
    pub raw: &'a [u8],
}

/// Which automatic checks to apply.
#[derive(Debug, Clone, Copy)]
pub struct CheckSet {
    pub status: bool,
    pub content_type: bool,
    pub schema: bool,
    pub headers: bool,
}

impl Default for CheckSet {
    fn default() -> Self {
        CheckSet { status: true, content_type: true, schema: true, headers: true }
    }
}
