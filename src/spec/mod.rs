//! The spec model: load an OpenAPI 3.0 or 3.1 document (JSON or YAML),
//! find the operation for a (method, concrete path), and check a response
//! against it.
//!
//! It knows nothing of scenarios, targets or reports beyond the
//! `Finding` type it returns. (Contract for the other rooms: the public
//! items below keep these signatures.)
//!
//! Decisions:
//! - The whole document is held as one `serde_json::Value` and handled
//!   the same way for 3.0 and 3.1, because `openapiv3` reads 3.0 only.
//!   `openapiv3` is still used by [`Spec::strict_check_30`] to prove that a
//!   3.0 document is a structurally valid OpenAPI 3.0 document.
//! - Schemas are converted to JSON Schema 2020-12 in a copy of the
//!   document that keeps its layout (see `convert`), so that a validation
//!   error points at the keyword in the original document
//!   (`#/components/schemas/Job/properties/id/format`).
//! - One validator per response schema (operation, status, media type),
//!   compiled the first time a response of that operation and status is
//!   checked (start-up pays for none), against a single registry of the
//!   converted document; responses shared through `$ref` share their
//!   validator, and concurrent checks share one compilation.
//!   Formats are validated (unknown ones such as `int64` are ignored).
//! - Only local `#/...` references: an external one is a load error
//!   naming it. A dangling local reference is not a load error; it is
//!   listed by [`Spec::unresolved_refs`] and [`Spec::warnings`], and the
//!   schemas that use it are not checked.
//! - YAML specs may write status keys unquoted (`200:`): plain scalar keys
//!   are kept as written.

mod contract;
mod convert;
mod fields;
mod model;
mod overlay;
mod paths;
mod refs;
mod validate;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use crate::finding::Finding;
use crate::yaml::{self, Location};

pub use contract::{Contract, ContractCheck, DOCUMENTED_SPEC, REFERENCE_OVERLAY};
pub use fields::Described;
pub use model::{HeaderSpec, MediaTypeSpec, Operation, Parameter, RequestBodySpec, ResponseSpec, SecurityRequirement};
pub use overlay::{Overlay, OverlayAction, OverlayError};
pub use validate::is_json;

use convert::{Converted, View};
use validate::Validators;

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
        CheckSet {
            status: true,
            content_type: true,
            schema: true,
            headers: true,
        }
    }
}

/// The spec the responses were checked against.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpecInfo {
    pub path: String,
    pub title: String,
    pub version: String,
    pub openapi: String,
    /// SHA-256 of the spec file's bytes, hex.
    pub sha256: String,
}

/// What a spec is, for reports (the same type as [`SpecInfo`]).
pub type SpecSummary = SpecInfo;

/// Why a spec could not be loaded (or failed the strict 3.0 check).
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read spec `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The text is neither valid JSON nor valid YAML.
    #[error("{origin}:{line}:{column}: invalid {format}: {message}")]
    Syntax {
        /// The file (or origin given to [`Spec::from_text`]).
        origin: String,
        /// `JSON` or `YAML`.
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    /// Not an OpenAPI 3.0.x / 3.1.x document.
    #[error("{at}: not an OpenAPI 3.0 or 3.1 document: {message}")]
    NotOpenApi {
        /// `origin:line:column (pointer)` or `origin (pointer)`.
        at: String,
        message: String,
    },
    /// A `$ref` to another file or URL.
    #[error("{at}: external reference `{reference}` is not supported (only local `#/...` references)")]
    ExternalRef {
        /// Where the `$ref` is: `origin:line:column (pointer)` or `origin (pointer)`.
        at: String,
        /// The reference as written.
        reference: String,
    },
    /// The document is OpenAPI, but a part of it has the wrong shape.
    #[error("{at}: {message}")]
    Invalid {
        /// `origin:line:column (pointer)` or `origin (pointer)`.
        at: String,
        /// The spec pointer of the place.
        pointer: String,
        message: String,
    },
}

/// The OpenAPI version family of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiVersion {
    /// `openapi: 3.0.x`.
    V30,
    /// `openapi: 3.1.x`.
    V31,
}

/// A loaded OpenAPI document with its operations and compiled validators.
pub struct Spec {
    origin: String,
    sha256: String,
    version: OpenApiVersion,
    doc: Value,
    /// Source locations, for a YAML document.
    locations: Option<yaml::Document>,
    operations: Vec<Operation>,
    response_view: Converted,
    validators: Option<Validators>,
    server_paths: Vec<String>,
    /// The warnings of the load before and after the compile failures.
    load_warnings: (Vec<String>, Vec<String>),
    /// Every warning, compile failures included (compiled when asked for).
    warnings: OnceLock<Vec<String>>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("origin", &self.origin)
            .field("version", &self.version)
            .field("operations", &self.operations.len())
            .finish_non_exhaustive()
    }
}

/// Loading context shared by the builders: the document, where errors
/// point, and the warnings collected on the way.
pub(crate) struct LoadCx<'a> {
    pub(crate) doc: &'a Value,
    origin: &'a str,
    locations: Option<&'a yaml::Document>,
    warnings: RefCell<Vec<String>>,
}

impl LoadCx<'_> {
    fn at(&self, pointer: &str) -> String {
        place(self.origin, self.locations, pointer)
    }

    pub(crate) fn invalid(&self, pointer: &str, message: impl Into<String>) -> SpecError {
        SpecError::Invalid {
            at: self.at(pointer),
            pointer: pointer.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn warn(&self, message: String) {
        self.warnings.borrow_mut().push(message);
    }
}

fn place(origin: &str, locations: Option<&yaml::Document>, pointer: &str) -> String {
    match locations {
        Some(d) => {
            let l = d.key_location(pointer).unwrap_or_else(|| d.nearest_location(pointer));
            format!("{origin}:{}:{} (`{pointer}`)", l.line, l.column)
        }
        None => format!("{origin} (`{pointer}`)"),
    }
}

impl Spec {
    /// Load a spec file; JSON or YAML is decided by the content.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Spec::from_text(&text, &path.display().to_string())
    }

    /// Load a spec from text; `origin` names it in errors and reports.
    pub fn from_text(text: &str, origin: &str) -> Result<Spec, SpecError> {
        let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()));
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (doc, locations) = parse_text(body, origin)?;
        Spec::build(doc, locations, sha256, origin)
    }

    /// A spec from a document already in memory (an overlay's result, say);
    /// its SHA-256 is that of the compact JSON text.
    pub fn from_document(doc: Value, origin: &str) -> Result<Spec, SpecError> {
        let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, doc.to_string().as_bytes()));
        Spec::build(doc, None, sha256, origin)
    }

    fn build(doc: Value, locations: Option<yaml::Document>, sha256: String, origin: &str) -> Result<Spec, SpecError> {
        let version = version_of(&doc, origin, locations.as_ref())?;

        let cx = LoadCx {
            doc: &doc,
            origin,
            locations: locations.as_ref(),
            warnings: RefCell::new(Vec::new()),
        };
        if refs::ref_strings(&doc).iter().any(|r| !r.starts_with('#'))
            && let Some(r) = refs::all_refs(&doc).into_iter().find(|r| !r.reference.starts_with('#'))
        {
            return Err(SpecError::ExternalRef {
                at: cx.at(&r.site),
                reference: r.reference,
            });
        }
        let mut response_view = convert::convert_document(&doc, View::Response);
        let operations = model::build_operations(&cx)?;

        let mut pointers: Vec<String> = operations
            .iter()
            .flat_map(|o| o.responses.iter())
            .flat_map(|r| r.content.iter())
            .filter(|m| validate::is_json(&m.content_type) || m.content_type == "*/*")
            .filter_map(|m| m.schema_pointer.clone())
            .collect();
        pointers.sort();
        pointers.dedup();
        // The registry takes the converted document: only validators read it.
        let validators = match validate::prepare(std::mem::take(&mut response_view.doc), &pointers) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.warn(format!(
                    "{origin}: response schemas cannot be compiled, none checked: {e}"
                ));
                None
            }
        };
        // Schemas that fail to compile are known only once compiled: they
        // join the warnings when those are asked for, in this place.
        let load_warnings = cx.warnings.take();
        for u in refs::unresolved(&doc) {
            cx.warn(format!("{origin}: unresolved reference {u}"));
        }
        let warnings = (load_warnings, cx.warnings.into_inner());
        let server_paths = server_paths(&doc);
        let locations = locations.map(|mut d| {
            d.value = Value::Null;
            d
        });
        Ok(Spec {
            origin: origin.to_string(),
            sha256,
            version,
            doc,
            locations,
            operations,
            response_view,
            validators,
            server_paths,
            load_warnings: warnings,
            warnings: OnceLock::new(),
        })
    }

    /// Origin, title, version, OpenAPI version and SHA-256 of the text.
    pub fn info(&self) -> SpecSummary {
        let s = |p: &str| {
            self.doc
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        SpecSummary {
            path: self.origin.clone(),
            title: s("/info/title"),
            version: s("/info/version"),
            openapi: s("/openapi"),
            sha256: self.sha256.clone(),
        }
    }

    /// 3.0 or 3.1.
    pub fn openapi_version(&self) -> OpenApiVersion {
        self.version
    }

    /// All operations, in document order.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation with this `operationId`.
    pub fn operation_by_id(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.operation_id.as_deref() == Some(id))
    }

    /// The operation for a method and a concrete path (a query or fragment
    /// is ignored). Literal segments beat templated ones at the first
    /// segment where candidates differ. A trailing `/` and the path part of
    /// the document's `servers` URLs are tolerated.
    pub fn find_operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let path = paths::bare_path(path);
        let mut tries = vec![path.to_string()];
        if path.len() > 1 && path.ends_with('/') {
            tries.push(path.trim_end_matches('/').to_string());
        }
        for prefix in &self.server_paths {
            if let Some(rest) = path.strip_prefix(prefix.as_str())
                && rest.starts_with('/')
            {
                tries.push(rest.to_string());
            }
        }
        tries.iter().find_map(|p| self.best_match(method, p))
    }

    fn best_match(&self, method: &str, path: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .filter(|o| o.method.eq_ignore_ascii_case(method))
            .filter_map(|o| o.template.rank(path).map(|r| (r, o)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, o)| o)
    }

    /// Check a response against the operation's documentation: status,
    /// content type, JSON, schema (at most 20 findings, then "and N
    /// more"), required headers.
    pub fn check_response(&self, op: &Operation, resp: &ResponseView<'_>, checks: CheckSet) -> Vec<Finding> {
        validate::check(
            &self.doc,
            &self.response_view,
            self.validators.as_ref(),
            op,
            resp,
            checks,
        )
    }

    /// What the JSON answer of `op` for `status` says of a place in it
    /// (`segments`: property names, `*` for any item or key).
    pub fn describe(&self, op: &Operation, status: u16, segments: &[String]) -> Described {
        fields::describe(&self.doc, op, status, segments)
    }

    /// The `enum` of `components.schemas.Error.properties.code`, if any.
    pub fn error_codes(&self) -> Vec<String> {
        model::error_codes(&self.doc)
    }

    /// The document as loaded (not converted).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Local references that point nowhere, as "`REF` (at SITE)".
    pub fn unresolved_refs(&self) -> Vec<String> {
        refs::unresolved(&self.doc)
    }

    /// Problems that did not stop the load: dangling references, schemas
    /// that could not be compiled (and so are not checked).
    ///
    /// Response validators are compiled when first needed, so the first
    /// call compiles those not compiled yet, to name the ones that fail.
    pub fn warnings(&self) -> &[String] {
        self.warnings.get_or_init(|| {
            let (before, after) = &self.load_warnings;
            let mut all = before.clone();
            if let Some(v) = &self.validators {
                for (p, e) in v.failures() {
                    all.push(format!(
                        "{}: response schema cannot be compiled, not checked: {e}",
                        self.place(&p)
                    ));
                }
            }
            all.extend(after.iter().cloned());
            all
        })
    }

    /// How many response validators are compiled so far (they are compiled
    /// when a response first needs one).
    pub fn compiled_validators(&self) -> usize {
        self.validators.as_ref().map_or(0, Validators::compiled)
    }

    /// Where a spec pointer (`#/paths/...`) was written, for a YAML spec.
    pub fn location(&self, pointer: &str) -> Option<Location> {
        let d = self.locations.as_ref()?;
        d.location(pointer).or_else(|| Some(d.nearest_location(pointer)))
    }

    /// `origin:line:column (pointer)` (YAML) or `origin (pointer)` (JSON).
    pub fn place(&self, pointer: &str) -> String {
        place(&self.origin, self.locations.as_ref(), pointer)
    }

    /// The schema at `pointer` as self-contained JSON Schema (request
    /// view: `readOnly` properties not required), `$ref`s inlined and
    /// recursion cut with `{"x-recursive-ref": REF}`.
    pub fn inline_schema(&self, pointer: &str) -> Option<Value> {
        model::inline_at(&self.doc, pointer)
    }

    /// A security scheme of `components.securitySchemes`, `$ref` followed.
    pub fn security_scheme(&self, name: &str) -> Option<&Value> {
        let p = refs::child("#/components/securitySchemes", name);
        refs::follow(&self.doc, &p).map(|(_, v)| v)
    }

    /// Prove a 3.0 document parses as a structurally valid OpenAPI 3.0
    /// document (`openapiv3`). An error names the path of the first
    /// offending field. A 3.1 document is refused.
    pub fn strict_check_30(&self) -> Result<(), SpecError> {
        if self.version != OpenApiVersion::V30 {
            return Err(SpecError::NotOpenApi {
                at: self.origin.clone(),
                message: "the strict check reads OpenAPI 3.0 documents only".into(),
            });
        }
        let parsed: Result<openapiv3::OpenAPI, _> = serde_path_to_error::deserialize(&self.doc);
        parsed.map(|_| ()).map_err(|e| {
            let mut pointer = "#".to_string();
            for seg in e.path() {
                match seg {
                    serde_path_to_error::Segment::Seq { index } => pointer = format!("{pointer}/{index}"),
                    serde_path_to_error::Segment::Map { key } => pointer = refs::child(&pointer, key),
                    _ => {}
                }
            }
            SpecError::Invalid {
                at: self.place(&pointer),
                pointer,
                message: format!("not a valid OpenAPI 3.0 document at `{}`: {}", e.path(), e.inner()),
            }
        })
    }
}

fn parse_text(body: &str, origin: &str) -> Result<(Value, Option<yaml::Document>), SpecError> {
    let first = body.trim_start().chars().next();
    if matches!(first, Some('{') | Some('[')) {
        return serde_json::from_str::<Value>(body)
            .map(|v| (v, None))
            .map_err(|e| SpecError::Syntax {
                origin: origin.to_string(),
                format: "JSON",
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            });
    }
    let options = yaml::Options {
        scalar_keys: true,
        ..yaml::Options::default()
    };
    let mut d = yaml::parse_with(body, &options).map_err(|e| SpecError::Syntax {
        origin: origin.to_string(),
        format: "YAML",
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    let v = std::mem::take(&mut d.value);
    Ok((v, Some(d)))
}

fn version_of(doc: &Value, origin: &str, locations: Option<&yaml::Document>) -> Result<OpenApiVersion, SpecError> {
    if !doc.is_object() {
        return Err(SpecError::NotOpenApi {
            at: place(origin, locations, "#"),
            message: "the top level must be a mapping".into(),
        });
    }
    let Some(v) = doc.get("openapi").and_then(Value::as_str) else {
        let message = if doc.get("swagger").is_some() {
            "Swagger 2.0 is not supported".to_string()
        } else {
            "missing string field `openapi`".to_string()
        };
        return Err(SpecError::NotOpenApi {
            at: place(origin, locations, "#"),
            message,
        });
    };
    if v.starts_with("3.0.") || v == "3.0" {
        Ok(OpenApiVersion::V30)
    } else if v.starts_with("3.1.") || v == "3.1" {
        Ok(OpenApiVersion::V31)
    } else {
        Err(SpecError::NotOpenApi {
            at: place(origin, locations, "#/openapi"),
            message: format!("`openapi: {v}` is not 3.0.x or 3.1.x"),
        })
    }
}

/// The path parts of `servers[].url` (`https://x/v1` → `/v1`), without
/// the root and templated ones.
fn server_paths(doc: &Value) -> Vec<String> {
    let Some(servers) = doc.get("servers").and_then(Value::as_array) else {
        return Vec::new();
    };
    servers
        .iter()
        .filter_map(|s| s.get("url").and_then(Value::as_str))
        .filter_map(|u| {
            let path = match u.find("://") {
                Some(i) => u[i + 3..].find('/').map(|j| &u[i + 3 + j..]).unwrap_or(""),
                None => u,
            };
            let path = path.trim_end_matches('/');
            (!path.is_empty() && !path.contains('{') && path.starts_with('/')).then(|| path.to_string())
        })
        .collect()
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Spec>();
}
