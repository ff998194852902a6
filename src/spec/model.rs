//! The operations of a spec, as data: what the rest of the harness reads
//! (method, path template, parameters, request body, responses, security).
//!
//! Job: build [`Operation`]s from the document with every `$ref` on the
//! way followed. It must not validate responses (that is `validate`) or
//! touch the network.

use serde_json::Value;

use super::convert::{View, convert_schema};
use super::paths::Template;
use super::refs::{child, follow, follow_value, inline};
use super::{LoadCx, SpecError};

/// HTTP methods an OpenAPI path item can hold, in document order.
pub(crate) const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// One operation (method + path template) of the spec.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Upper-case method (`POST`).
    pub method: String,
    /// The path template as written in the spec (`/api/jobs/{id}/apply`).
    pub path: String,
    /// `operationId`, if given.
    pub operation_id: Option<String>,
    /// `summary`, if given.
    pub summary: Option<String>,
    /// Spec pointer of the operation object
    /// (`#/paths/~1api~1jobs~1{id}~1apply/post`).
    pub pointer: String,
    /// The documented status keys in document order (`200`, `4XX`, `default`).
    pub statuses: Vec<String>,
    /// The documented responses, `$ref`s followed, in document order.
    pub responses: Vec<ResponseSpec>,
    /// Path-level and operation-level parameters merged (the operation
    /// wins on the same name and `in`), `$ref`s followed.
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBodySpec>,
    /// The effective security (the operation's, else the document's).
    /// Alternatives: any one satisfied is enough. Empty = no security; an
    /// alternative without schemes = anonymous access allowed.
    pub security: Vec<SecurityRequirement>,
    /// `tags`, in document order.
    pub tags: Vec<String>,
    /// `deprecated: true`.
    pub deprecated: bool,
    pub(crate) template: Template,
}

impl Operation {
    /// `METHOD /path/template`, as shown in reports.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The documented response for a status: the exact code, else its
    /// range (`4XX`), else `default`.
    pub fn response_for(&self, status: u16) -> Option<&ResponseSpec> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        self.responses
            .iter()
            .find(|r| r.status == exact)
            .or_else(|| self.responses.iter().find(|r| r.status.eq_ignore_ascii_case(&range)))
            .or_else(|| self.responses.iter().find(|r| r.status == "default"))
    }

    /// If the concrete `path` (no query) matches this operation's
    /// template, the path parameters by name (raw, not percent-decoded).
    pub fn match_path(&self, path: &str) -> Option<Vec<(String, String)>> {
        self.template.captures(path)
    }
}

/// One parameter (`in`: path, query, header, cookie).
#[derive(Debug, Clone)]
pub struct Parameter {
    /// The name as written (header names keep their case).
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    /// Path parameters are always required.
    pub required: bool,
    /// `deprecated: true`.
    pub deprecated: bool,
    /// `style`, if given (`form`, `simple`, ...).
    pub style: Option<String>,
    /// `explode`, if given.
    pub explode: Option<bool>,
    /// Where the parameter object is (after `$ref`).
    pub pointer: String,
    /// Where its schema is (`schema`, or the schema of its single `content`).
    pub schema_pointer: Option<String>,
    /// The schema as JSON Schema (request view: `readOnly` properties not
    /// required), `$ref`s inlined, recursion cut with `{"x-recursive-ref": REF}`.
    pub schema: Option<Value>,
    /// The media type when the parameter uses `content` instead of `schema`.
    pub content_type: Option<String>,
}

/// A request body.
#[derive(Debug, Clone)]
pub struct RequestBodySpec {
    /// `required: true`.
    pub required: bool,
    /// Where the request body object is (after `$ref`).
    pub pointer: String,
    /// One entry per documented media type, in document order; `schema`
    /// is filled (request view, inlined like [`Parameter::schema`]).
    pub content: Vec<MediaTypeSpec>,
}

/// One documented media type.
#[derive(Debug, Clone)]
pub struct MediaTypeSpec {
    /// As written (`application/json`, `text/event-stream`, `*/*`).
    pub content_type: String,
    /// Where its schema is, if it has one.
    pub schema_pointer: Option<String>,
    /// Request bodies only: the inlined JSON Schema. `None` for responses
    /// (they are checked by compiled validators; see `Spec::inline_schema`).
    pub schema: Option<Value>,
}

/// One documented response.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// The status key (`200`, `4XX`, `default`).
    pub status: String,
    /// Where the response object is (after `$ref`).
    pub pointer: String,
    /// `description`.
    pub description: Option<String>,
    /// The documented media types, in document order.
    pub content: Vec<MediaTypeSpec>,
    /// The documented headers, `$ref`s followed.
    pub headers: Vec<HeaderSpec>,
}

/// One documented response header.
#[derive(Debug, Clone)]
pub struct HeaderSpec {
    /// The header name as written (compare case-insensitively).
    pub name: String,
    /// `required: true`.
    pub required: bool,
    /// Where the header object is (after `$ref`).
    pub pointer: String,
    /// Where its schema is, if it has one.
    pub schema_pointer: Option<String>,
}

/// One alternative of a security requirement: all its schemes together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRequirement {
    /// (scheme name from `components.securitySchemes`, scopes).
    pub schemes: Vec<(String, Vec<String>)>,
}

/// Budget of nodes when inlining one schema.
const INLINE_BUDGET: usize = 20_000;

/// Build all operations, in document order.
pub(crate) fn build_operations(cx: &LoadCx<'_>) -> Result<Vec<Operation>, SpecError> {
    let doc = cx.doc;
    let mut ops = Vec::new();
    let Some(paths) = doc.get("paths") else { return Ok(ops) };
    let Some(paths) = paths.as_object() else {
        return Err(cx.invalid("#/paths", "`paths` must be a mapping of path templates"));
    };
    for (path, item) in paths {
        let item_ptr = child("#/paths", path);
        if !path.starts_with('/') {
            return Err(cx.invalid(&item_ptr, format!("path `{path}` must start with `/`")));
        }
        let Some((item_ptr, item)) = follow_value(doc, &item_ptr, item) else {
            return Err(cx.invalid(&item_ptr, "path item `$ref` does not resolve"));
        };
        let Some(item_obj) = item.as_object() else {
            return Err(cx.invalid(&item_ptr, "a path item must be a mapping"));
        };
        let template = Template::parse(path).map_err(|m| cx.invalid(&item_ptr, m))?;
        let shared = params_of(cx, item_obj.get("parameters"), &child(&item_ptr, "parameters"))?;
        for method in METHODS {
            let Some(op) = item_obj.get(*method) else { continue };
            let op_ptr = child(&item_ptr, method);
            let Some(op_obj) = op.as_object() else {
                return Err(cx.invalid(&op_ptr, format!("operation `{method}` must be a mapping")));
            };
            let mut parameters = shared.clone();
            for p in params_of(cx, op_obj.get("parameters"), &child(&op_ptr, "parameters"))? {
                match parameters
                    .iter_mut()
                    .find(|q| q.name == p.name && q.location == p.location)
                {
                    Some(q) => *q = p,
                    None => parameters.push(p),
                }
            }
            let responses = responses_of(cx, op_obj.get("responses"), &child(&op_ptr, "responses"))?;
            let request_body = match op_obj.get("requestBody") {
                None => None,
                Some(b) => body_of(cx, b, &child(&op_ptr, "requestBody"))?,
            };
            let security = match op_obj.get("security").or_else(|| doc.get("security")) {
                Some(s) => security_of(s),
                None => Vec::new(),
            };
            ops.push(Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                operation_id: op_obj.get("operationId").and_then(Value::as_str).map(str::to_string),
                summary: op_obj.get("summary").and_then(Value::as_str).map(str::to_string),
                pointer: op_ptr,
                statuses: responses.iter().map(|r| r.status.clone()).collect(),
                responses,
                parameters,
                request_body,
                security,
                tags: op_obj
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default(),
                deprecated: op_obj.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
                template: template.clone(),
            });
        }
    }
    Ok(ops)
}

/// The schema at `pointer`, `$ref`s inlined, converted to JSON Schema
/// (request view).
pub(crate) fn inline_at(doc: &Value, pointer: &str) -> Option<Value> {
    let v = super::refs::get(doc, pointer)?;
    let mut budget = INLINE_BUDGET;
    Some(convert_schema(inline(doc, v, &mut budget), View::Request))
}

fn params_of(cx: &LoadCx<'_>, list: Option<&Value>, base: &str) -> Result<Vec<Parameter>, SpecError> {
    let Some(list) = list else { return Ok(Vec::new()) };
    let Some(list) = list.as_array() else {
        return Err(cx.invalid(base, "`parameters` must be a sequence"));
    };
    let mut out = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let at = format!("{base}/{i}");
        let Some((ptr, p)) = follow_value(cx.doc, &at, p) else {
            cx.warn(format!("`{at}`: parameter `$ref` does not resolve; parameter ignored"));
            continue;
        };
        let (Some(name), Some(location)) = (
            p.get("name").and_then(Value::as_str),
            p.get("in").and_then(Value::as_str),
        ) else {
            return Err(cx.invalid(&ptr, "a parameter needs string `name` and `in`"));
        };
        let (schema_pointer, content_type) = if p.get("schema").is_some() {
            (Some(child(&ptr, "schema")), None)
        } else if let Some((ct, m)) = p
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
        {
            let mp = child(&child(&ptr, "content"), ct);
            (m.get("schema").map(|_| child(&mp, "schema")), Some(ct.clone()))
        } else {
            (None, None)
        };
        out.push(Parameter {
            name: name.to_string(),
            location: location.to_string(),
            required: location == "path" || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            deprecated: p.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
            style: p.get("style").and_then(Value::as_str).map(str::to_string),
            explode: p.get("explode").and_then(Value::as_bool),
            schema: schema_pointer.as_deref().and_then(|sp| inline_at(cx.doc, sp)),
            pointer: ptr,
            schema_pointer,
            content_type,
        });
    }
    Ok(out)
}

fn content_of(
    cx: &LoadCx<'_>,
    holder: &Value,
    ptr: &str,
    inline_schemas: bool,
) -> Result<Vec<MediaTypeSpec>, SpecError> {
    let Some(content) = holder.get("content") else {
        return Ok(Vec::new());
    };
    let Some(content) = content.as_object() else {
        return Err(cx.invalid(&child(ptr, "content"), "`content` must be a mapping of media types"));
    };
    let base = child(ptr, "content");
    Ok(content
        .iter()
        .map(|(ct, media)| {
            let schema_pointer = media.get("schema").map(|_| child(&child(&base, ct), "schema"));
            MediaTypeSpec {
                content_type: ct.clone(),
                schema: match (inline_schemas, &schema_pointer) {
                    (true, Some(sp)) => inline_at(cx.doc, sp),
                    _ => None,
                },
                schema_pointer,
            }
        })
        .collect())
}

fn body_of(cx: &LoadCx<'_>, b: &Value, at: &str) -> Result<Option<RequestBodySpec>, SpecError> {
    let Some((ptr, b)) = follow_value(cx.doc, at, b) else {
        cx.warn(format!("`{at}`: request body `$ref` does not resolve; body ignored"));
        return Ok(None);
    };
    Ok(Some(RequestBodySpec {
        required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
        content: content_of(cx, b, &ptr, true)?,
        pointer: ptr,
    }))
}

fn responses_of(cx: &LoadCx<'_>, rs: Option<&Value>, base: &str) -> Result<Vec<ResponseSpec>, SpecError> {
    let Some(rs) = rs else { return Ok(Vec::new()) };
    let Some(rs) = rs.as_object() else {
        return Err(cx.invalid(base, "`responses` must be a mapping of status codes"));
    };
    let mut out = Vec::new();
    for (status, r) in rs {
        let at = child(base, status);
        if status.starts_with("x-") {
            continue;
        }
        if !valid_status_key(status) {
            return Err(cx.invalid(
                &at,
                format!("response key `{status}` is not a status code, a range like `4XX`, or `default`"),
            ));
        }
        let Some((ptr, r)) = follow_value(cx.doc, &at, r) else {
            cx.warn(format!(
                "`{at}`: response `$ref` does not resolve; its content is not checked"
            ));
            out.push(ResponseSpec {
                status: status.clone(),
                pointer: at,
                description: None,
                content: Vec::new(),
                headers: Vec::new(),
            });
            continue;
        };
        let mut headers = Vec::new();
        if let Some(hs) = r.get("headers").and_then(Value::as_object) {
            let hbase = child(&ptr, "headers");
            for (name, h) in hs {
                let hat = child(&hbase, name);
                let Some((hptr, h)) = follow_value(cx.doc, &hat, h) else {
                    cx.warn(format!("`{hat}`: header `$ref` does not resolve; header ignored"));
                    continue;
                };
                headers.push(HeaderSpec {
                    name: name.clone(),
                    required: h.get("required").and_then(Value::as_bool).unwrap_or(false),
                    schema_pointer: h.get("schema").map(|_| child(&hptr, "schema")),
                    pointer: hptr,
                });
            }
        }
        out.push(ResponseSpec {
            status: status.clone(),
            description: r.get("description").and_then(Value::as_str).map(str::to_string),
            content: content_of(cx, r, &ptr, false)?,
            headers,
            pointer: ptr,
        });
    }
    Ok(out)
}

fn valid_status_key(s: &str) -> bool {
    if s == "default" {
        return true;
    }
    let b = s.as_bytes();
    b.len() == 3
        && (b'1'..=b'5').contains(&b[0])
        && ((b[1].is_ascii_digit() && b[2].is_ascii_digit())
            || (b[1].eq_ignore_ascii_case(&b'X') && b[2].eq_ignore_ascii_case(&b'X')))
}

fn security_of(v: &Value) -> Vec<SecurityRequirement> {
    v.as_array()
        .map(|alts| {
            alts.iter()
                .filter_map(Value::as_object)
                .map(|alt| SecurityRequirement {
                    schemes: alt
                        .iter()
                        .map(|(name, scopes)| {
                            let scopes = scopes
                                .as_array()
                                .map(|s| s.iter().filter_map(Value::as_str).map(str::to_string).collect())
                                .unwrap_or_default();
                            (name.clone(), scopes)
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `enum` of `components.schemas.Error.properties.code`, following refs.
pub(crate) fn error_codes(doc: &Value) -> Vec<String> {
    let Some((_, code)) = follow(doc, "#/components/schemas/Error/properties/code") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut collect = |s: &Value| {
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            out.extend(e.iter().filter_map(Value::as_str).map(str::to_string));
        }
    };
    collect(code);
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(alts) = code.get(key).and_then(Value::as_array) {
            for a in alts {
                let a = match a.get("$ref").and_then(Value::as_str) {
                    Some(r) => follow(doc, r).map(|(_, t)| t),
                    None => Some(a),
                };
                if let Some(a) = a {
                    collect(a);
                }
            }
        }
    }
    out.dedup();
    out
}
