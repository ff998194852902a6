//! Response checking: compiled JSON Schema validators and the automatic
//! checks (status, content type, JSON, schema, required headers).
//!
//! Job: compile one validator per response schema once per spec, the
//! first time a response needs it, all against one registry holding the
//! converted document, so that every error carries its absolute place in
//! the document; turn a response into
//! [`Finding`]s. It must not fetch anything (validators are offline) or
//! know about scenarios.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::{Draft, Registry, Validator};
use serde_json::{Value, json};

use super::convert::Converted;
use super::model::{MediaTypeSpec, Operation, ResponseSpec};
use super::refs::{get, percent_decode, percent_encode_fragment};
use super::{CheckSet, ResponseView};
use crate::finding::{Finding, FindingKind};

/// The URI under which the converted document is registered.
const BASE: &str = "https://spec.agentgigs.invalid/openapi.json";

/// Schema findings per response before "and N more".
pub(crate) const MAX_SCHEMA_FINDINGS: usize = 20;

/// Longest message or value shown in a finding.
const MAX_TEXT: usize = 300;

/// The response validators by schema pointer (`#/.../schema`), each
/// compiled the first time a response needs it: a run that meets a dozen
/// operations does not pay for the hundred it never sees. Concurrent
/// scenarios share them; a validator is compiled once (the first caller
/// compiles, any other waits for it).
pub(crate) struct Validators {
    /// The converted document, registered once (it owns a copy).
    registry: Registry<'static>,
    by_pointer: HashMap<String, OnceLock<Result<Validator, String>>>,
}

impl std::fmt::Debug for Validators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validators")
            .field("count", &self.by_pointer.len())
            .field("compiled", &self.compiled())
            .finish()
    }
}

/// Register the converted document (the validators' own: nothing else
/// reads it) and make room for a validator for
/// each of `pointers` (response schemas); none is compiled yet. A
/// registry that cannot be built is an error (then nothing is checked);
/// a schema that cannot be compiled fails on its own, when first met (and
/// [`Validators::failures`] lists them all).
pub(crate) fn prepare(doc: Value, pointers: &[String]) -> Result<Validators, String> {
    let registry = Registry::new()
        .draft(Draft::Draft202012)
        .add(BASE, doc)
        .map_err(|e| e.to_string())?
        .prepare()
        .map_err(|e| e.to_string())?;
    let by_pointer = pointers.iter().map(|p| (p.clone(), OnceLock::new())).collect();
    Ok(Validators { registry, by_pointer })
}

impl Validators {
    /// The validator of the schema at `pointer`, compiled on first use;
    /// `None` for a pointer not prepared.
    fn get(&self, pointer: &str) -> Option<&Result<Validator, String>> {
        let cell = self.by_pointer.get(pointer)?;
        Some(cell.get_or_init(|| self.compile(pointer)))
    }

    fn compile(&self, pointer: &str) -> Result<Validator, String> {
        let fragment = percent_encode_fragment(pointer.strip_prefix('#').unwrap_or(pointer));
        let root = json!({ "$ref": format!("{BASE}#{fragment}") });
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .offline()
            .build(&root)
            .map_err(|e| e.to_string())
    }

    /// How many validators are compiled so far.
    pub(crate) fn compiled(&self) -> usize {
        self.by_pointer.values().filter(|c| c.get().is_some()).count()
    }

    /// The compile failures, as (schema pointer, message). This compiles
    /// every validator not compiled yet.
    pub(crate) fn failures(&self) -> Vec<(String, String)> {
        let mut out: Vec<_> = self
            .by_pointer
            .keys()
            .filter_map(|p| match self.get(p) {
                Some(Err(e)) => Some((p.clone(), e.clone())),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    /// Validate `body` against the schema at `pointer`.
    fn schema_findings(&self, doc: &Value, converted: &Converted, pointer: &str, body: &Value) -> Vec<Finding> {
        let Some(Ok(validator)) = self.get(pointer) else {
            return Vec::new();
        };
        // Most bodies are valid: `is_valid` stops at the first error and
        // builds none, where collecting them explores every branch.
        if validator.is_valid(body) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut more = 0usize;
        for err in validator.iter_errors(body) {
            if out.len() >= MAX_SCHEMA_FINDINGS {
                more += 1;
                continue;
            }
            let body_pointer = err.instance_path().as_str().to_string();
            let schema_pointer = match err.absolute_keyword_location().map(|u| u.as_str().to_string()) {
                Some(uri) if uri.starts_with(BASE) => {
                    let frag = uri.split_once('#').map(|(_, f)| f).unwrap_or("");
                    converted.original_pointer(&format!("#{}", percent_decode(frag)))
                }
                Some(uri) => uri,
                None => format!("{pointer}{}", err.schema_path().as_str()),
            };
            let shown = if body_pointer.is_empty() {
                "body".to_string()
            } else {
                format!("body at `{body_pointer}`")
            };
            let mut f = Finding::new(FindingKind::Schema, clip(&format!("{shown}: {err}")))
                .at_body(body_pointer)
                .actual(small(err.instance()));
            if let Some(kw) = get(doc, &schema_pointer) {
                f = f.expected(small(kw));
            }
            out.push(f.at_schema(schema_pointer));
        }
        if more > 0 {
            out.push(
                Finding::new(FindingKind::Schema, format!("and {more} more schema errors"))
                    .at_schema(pointer.to_string()),
            );
        }
        out
    }
}

/// The response checks of `Spec::check_response`.
pub(crate) fn check(
    doc: &Value,
    converted: &Converted,
    validators: Option<&Validators>,
    op: &Operation,
    resp: &ResponseView<'_>,
    checks: CheckSet,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(documented) = op.response_for(resp.status) else {
        if checks.status {
            out.push(
                Finding::new(
                    FindingKind::UndocumentedStatus,
                    format!("status {} is not documented for `{}`", resp.status, op.label()),
                )
                .expected(op.statuses.clone())
                .actual(resp.status)
                .at_schema(format!("{}/responses", op.pointer)),
            );
        }
        return out;
    };
    let actual_ct = resp
        .content_type
        .or_else(|| header(resp, "content-type"))
        .map(media_type);
    let media = select_media(documented, actual_ct.as_deref());

    if checks.content_type && !documented.content.is_empty() {
        let expected: Vec<String> = documented.content.iter().map(|m| m.content_type.clone()).collect();
        let message = match (&actual_ct, media) {
            (None, _) if !resp.raw.is_empty() || resp.json.is_some() => {
                Some(format!("response has no content type; documented: {}", list(&expected)))
            }
            (Some(ct), None) => Some(format!(
                "content type `{ct}` is not documented; documented: {}",
                list(&expected)
            )),
            _ => None,
        };
        if let Some(message) = message {
            out.push(
                Finding::new(FindingKind::ContentType, message)
                    .expected(expected)
                    .actual(actual_ct.clone().map(Value::String).unwrap_or(Value::Null))
                    .at_schema(format!("{}/content", documented.pointer)),
            );
        }
    }

    // A HEAD response has no body to check.
    let json_media = media
        .filter(|_| checks.schema && op.method != "HEAD")
        .filter(|m| is_json(&m.content_type) || m.content_type == "*/*" && actual_ct.as_deref().is_some_and(is_json));
    if let Some(media) = json_media {
        let parsed;
        let body = match resp.json {
            Some(v) => Some(v),
            None => match serde_json::from_slice::<Value>(resp.raw) {
                Ok(v) => {
                    parsed = v;
                    Some(&parsed)
                }
                Err(e) => {
                    let what = if resp.raw.is_empty() {
                        "the body is empty".to_string()
                    } else {
                        format!("the body is not JSON ({e})")
                    };
                    out.push(
                        Finding::new(
                            FindingKind::InvalidJson,
                            format!("`{}` is documented but {what}", media.content_type),
                        )
                        .expected(media.content_type.clone())
                        .actual(clip(&String::from_utf8_lossy(resp.raw)))
                        .at_schema(format!("{}/content", documented.pointer)),
                    );
                    None
                }
            },
        };
        if let (Some(body), Some(sp), Some(v)) = (body, &media.schema_pointer, validators) {
            out.extend(v.schema_findings(doc, converted, sp, body));
        }
    }

    if checks.headers {
        for h in documented.headers.iter().filter(|h| h.required) {
            if header(resp, &h.name).is_none() {
                out.push(
                    Finding::new(
                        FindingKind::MissingHeader,
                        format!(
                            "required header `{}` is missing from the {} response",
                            h.name, resp.status
                        ),
                    )
                    .expected(h.name.clone())
                    .at_schema(h.pointer.clone()),
                );
            }
        }
    }
    out
}

fn header<'a>(resp: &ResponseView<'a>, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Application/JSON; charset=utf-8` → `application/json`.
pub(crate) fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether a media type is JSON: `application/json`,
/// `application/problem+json`, `text/json` (parameters and case
/// ignored). The crate's one answer to this question: the spec's media
/// types, the runner's automatic checks and the fuzzer all ask it here.
/// (The reference server keeps its own: it uses nothing of the harness.)
pub fn is_json(ct: &str) -> bool {
    let ct = media_type(ct);
    let Some((_, sub)) = ct.split_once('/') else {
        return false;
    };
    sub == "json" || sub.ends_with("+json")
}

/// The documented media type matching the actual one: exact, then
/// `type/*`, then `*/*`. Without an actual type: the first JSON one, else
/// the first.
fn select_media<'r>(r: &'r ResponseSpec, actual: Option<&str>) -> Option<&'r MediaTypeSpec> {
    let Some(actual) = actual else {
        return r
            .content
            .iter()
            .find(|m| is_json(&m.content_type))
            .or(r.content.first());
    };
    let top = actual.split('/').next().unwrap_or("");
    r.content
        .iter()
        .find(|m| media_type(&m.content_type) == actual)
        .or_else(|| {
            r.content
                .iter()
                .find(|m| media_type(&m.content_type) == format!("{top}/*"))
        })
        .or_else(|| r.content.iter().find(|m| m.content_type == "*/*"))
}

fn list(v: &[String]) -> String {
    v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_TEXT).collect();
    out.push('…');
    out
}

/// A value small enough for a finding (large ones become clipped text).
fn small(v: &Value) -> Value {
    let text = v.to_string();
    if text.len() <= MAX_TEXT {
        v.clone()
    } else {
        Value::String(clip(&text))
    }
}
