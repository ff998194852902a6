//! What the fuzzer does with one operation: which credential and actor
//! role, which parameters and body format, whether it streams, and the
//! proptest strategies for its valid and its invalid requests.
//!
//! Operations it cannot drive (the signed `/files/{token}` URL, the
//! control API, bodies that are neither JSON nor multipart) are skipped
//! with a reason. No network here.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

use super::body::is_json;
use super::fixtures::Fixtures;
use super::mutate::{MutationKind, MutationSite, apply_nth, body_sites, parameter_sites};
use super::request::{ActorRole, BodyFormat, Credential, Expect, FuzzRequest};
use super::schema::branches;
use super::strategy::Generator;
use crate::spec::{Operation, Spec};

/// How an operation authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// Public.
    None,
    /// `X-API-Key` (the operation accepts it).
    ApiKey,
    /// `Authorization: Bearer` (JWT-only operations).
    Jwt,
}

/// The body of an operation as the fuzzer sends it.
#[derive(Debug, Clone)]
pub struct BodyPlan {
    /// JSON or multipart.
    pub format: BodyFormat,
    /// Inlined JSON Schema (request view).
    pub schema: Value,
    /// The body must be sent.
    pub required: bool,
    /// Multipart fields sent as files (`format: binary`).
    pub files: Vec<String>,
}

/// One operation, ready to fuzz.
#[derive(Debug, Clone)]
pub struct OpPlan {
    /// operationId, or `METHOD /path` without one.
    pub name: String,
    /// `METHOD /path`.
    pub label: String,
    /// Upper-case method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// A 2xx answer is `text/event-stream`.
    pub stream: bool,
    /// The credential it takes.
    pub auth: AuthKind,
    /// The role that normally calls it (others are tried too).
    pub role: ActorRole,
    /// The body, if the operation takes one.
    pub body: Option<BodyPlan>,
    /// (name, schema).
    pub path_params: Vec<(String, Value)>,
    /// (name, required, schema).
    pub query_params: Vec<(String, bool, Value)>,
    /// Documented status keys.
    pub statuses: Vec<String>,
}

/// Operations whose natural caller is the poster.
const POSTER_OPS: &[&str] = &[
    "createJob",
    "listMyJobs",
    "listJobApplications",
    "acceptApplication",
    "acceptProofer",
    "getProofSettings",
    "updateProofSettings",
    "fundEscrow",
    "fundProofEscrow",
    "approveJob",
    "holdPayment",
    "requestRevision",
    "cancelJob",
    "reviewJob",
    "uploadAttachment",
];
/// Operations whose natural caller is the proofer.
const PROOFER_OPS: &[&str] = &["registerAsProofer", "listProofNeededJobs", "submitVerdict"];

/// Plans an operation, or says why it is skipped.
pub fn plan(spec: &Spec, op: &Operation) -> Result<OpPlan, String> {
    let name = op.operation_id.clone().unwrap_or_else(|| op.label());
    if op.path.starts_with("/files/") || op.path.contains("{token}") {
        return Err("signed download URL: its token is a credential the fuzzer cannot generate".into());
    }
    if op.path.starts_with("/__conformance") {
        return Err("control API, not part of the contract under test".into());
    }
    let stream = op.responses.iter().any(|r| {
        r.status.starts_with('2')
            && r.content
                .iter()
                .any(|m| m.content_type.starts_with("text/event-stream"))
    });
    let body = match &op.request_body {
        None => None,
        Some(rb) => {
            let json = rb.content.iter().find(|m| is_json(&m.content_type));
            let multipart = rb
                .content
                .iter()
                .find(|m| m.content_type.starts_with("multipart/form-data"));
            match (json, multipart) {
                (Some(m), _) => Some(BodyPlan {
                    format: BodyFormat::Json,
                    schema: m.schema.clone().unwrap_or_else(|| serde_json::json!({})),
                    required: rb.required,
                    files: Vec::new(),
                }),
                (None, Some(m)) => {
                    let schema = m.schema.clone().unwrap_or_else(|| serde_json::json!({}));
                    let files = schema
                        .get("properties")
                        .and_then(Value::as_object)
                        .map(|p| {
                            p.iter()
                                .filter(|(_, s)| {
                                    matches!(s.get("format").and_then(Value::as_str), Some("binary" | "byte"))
                                })
                                .map(|(k, _)| k.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    Some(BodyPlan {
                        format: BodyFormat::Multipart,
                        schema,
                        required: rb.required,
                        files,
                    })
                }
                (None, None) => {
                    let types: Vec<&str> = rb.content.iter().map(|m| m.content_type.as_str()).collect();
                    return Err(format!(
                        "request body media type `{}` is not supported",
                        types.join("`, `")
                    ));
                }
            }
        }
    };
    let mut path_params = Vec::new();
    let mut query_params = Vec::new();
    for p in &op.parameters {
        let schema = p
            .schema
            .clone()
            .unwrap_or_else(|| serde_json::json!({"type": "string"}));
        match p.location.as_str() {
            "path" => path_params.push((p.name.clone(), schema)),
            "query" => query_params.push((p.name.clone(), p.required, schema)),
            _ => {}
        }
    }
    let role = if POSTER_OPS.contains(&name.as_str()) {
        ActorRole::Poster
    } else if PROOFER_OPS.contains(&name.as_str()) {
        ActorRole::Proofer
    } else if op.tags.iter().any(|t| t == "posting" || t == "escrow") {
        ActorRole::Poster
    } else if op.tags.iter().any(|t| t == "proofing") {
        ActorRole::Proofer
    } else {
        ActorRole::Agent
    };
    Ok(OpPlan {
        name,
        label: op.label(),
        method: op.method.clone(),
        path: op.path.clone(),
        stream,
        auth: auth_kind(spec, op),
        role,
        body,
        path_params,
        query_params,
        statuses: op.statuses.clone(),
    })
}

/// API key unless the operation is JWT-only; none for public operations.
fn auth_kind(spec: &Spec, op: &Operation) -> AuthKind {
    let scheme_kind = |name: &str| -> Option<AuthKind> {
        let s = spec.security_scheme(name)?;
        match s.get("type").and_then(Value::as_str)? {
            "apiKey" if s.get("in").and_then(Value::as_str) == Some("header") => Some(AuthKind::ApiKey),
            "http"
                if s.get("scheme")
                    .and_then(Value::as_str)
                    .is_some_and(|x| x.eq_ignore_ascii_case("bearer")) =>
            {
                Some(AuthKind::Jwt)
            }
            _ => None,
        }
    };
    let mut kinds = Vec::new();
    for alt in &op.security {
        if alt.schemes.is_empty() {
            continue;
        }
        let ks: Vec<Option<AuthKind>> = alt.schemes.iter().map(|(n, _)| scheme_kind(n)).collect();
        if ks.len() == 1
            && let Some(k) = ks[0]
        {
            kinds.push(k);
        }
    }
    if kinds.contains(&AuthKind::ApiKey) {
        AuthKind::ApiKey
    } else if kinds.contains(&AuthKind::Jwt) {
        AuthKind::Jwt
    } else {
        AuthKind::None
    }
}

/// A path parameter that names the job.
fn is_job_param(name: &str) -> bool {
    matches!(name, "id" | "jobId" | "job_id")
}

/// A parameter value as text (arrays comma-joined).
fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(to_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

impl OpPlan {
    fn role_strategy(&self) -> BoxedStrategy<ActorRole> {
        let natural = self.role;
        let others: Vec<ActorRole> = ActorRole::ALL.into_iter().filter(|r| *r != natural).collect();
        prop_oneof![4 => Just(natural), 1 => Just(others[0]), 1 => Just(others[1])].boxed()
    }

    /// Requests valid by the contract; `body` overrides the body strategy
    /// (one branch of it), and `force_body` sends an optional body always.
    fn requests(
        &self,
        generator: &Generator,
        fx: &Fixtures,
        body: Option<BoxedStrategy<Value>>,
        force_body: bool,
    ) -> BoxedStrategy<FuzzRequest> {
        let path: Vec<BoxedStrategy<(String, String)>> = self
            .path_params
            .iter()
            .map(|(name, schema)| {
                let name = name.clone();
                if is_job_param(&name) {
                    Just((name, fx.job_id.clone())).boxed()
                } else {
                    generator
                        .named(&name, schema)
                        .prop_map(move |v| (name.clone(), to_text(&v)))
                        .boxed()
                }
            })
            .collect();
        let query: Vec<BoxedStrategy<Option<(String, String)>>> = self
            .query_params
            .iter()
            .map(|(name, required, schema)| {
                let n = name.clone();
                let value = generator
                    .named(name, schema)
                    .prop_map(move |v| (n.clone(), to_text(&v)));
                if *required {
                    value.prop_map(Some).boxed()
                } else {
                    proptest::option::weighted(0.5, value).boxed()
                }
            })
            .collect();
        let body: BoxedStrategy<Option<Value>> = match (&self.body, body) {
            (None, _) => Just(None).boxed(),
            (Some(b), over) => {
                let s = over.unwrap_or_else(|| generator.strategy(&b.schema));
                if b.required || force_body {
                    s.prop_map(Some).boxed()
                } else {
                    proptest::option::weighted(0.85, s).boxed()
                }
            }
        };
        let auth = self.auth;
        let (operation, method, template) = (self.name.clone(), self.method.clone(), self.path.clone());
        let format = self.body.as_ref().map(|b| b.format);
        let files = self.body.as_ref().map(|b| b.files.clone()).unwrap_or_default();
        (self.role_strategy(), path, query, body)
            .prop_map(move |(role, path, query, body)| {
                let parts = super::mutate::RequestParts {
                    path_params: path.into_iter().collect(),
                    query: query.into_iter().flatten().collect(),
                    body,
                };
                FuzzRequest {
                    operation: operation.clone(),
                    method: method.clone(),
                    path_template: template.clone(),
                    credential: match auth {
                        AuthKind::None => Credential::None,
                        AuthKind::ApiKey => Credential::ApiKey(role),
                        AuthKind::Jwt => Credential::Jwt(role),
                    },
                    format,
                    files: files.clone(),
                    parts,
                    mutation: None,
                    expect: Expect::Documented,
                }
            })
            .boxed()
    }

    /// Requests the contract allows: real job id, hinted fields.
    pub fn valid_strategy(&self, generator: &Generator, fx: &Fixtures) -> BoxedStrategy<FuzzRequest> {
        self.requests(generator, fx, None, false)
    }

    /// Requests with exactly one mutation; `None` when nothing can be mutated.
    pub fn invalid_strategy(&self, generator: &Generator, fx: &Fixtures) -> Option<BoxedStrategy<FuzzRequest>> {
        let root = generator.root().clone();
        let mut param_sites: Vec<MutationSite> = Vec::new();
        for (name, schema) in &self.path_params {
            param_sites.extend(parameter_sites(name, "path", schema, &root));
        }
        for (name, _, schema) in &self.query_params {
            param_sites.extend(parameter_sites(name, "query", schema, &root));
        }
        let validator = self
            .body
            .as_ref()
            .filter(|b| b.format == BodyFormat::Json)
            .and_then(|b| {
                jsonschema::options()
                    .should_validate_formats(true)
                    .build(&b.schema)
                    .ok()
                    .map(Arc::new)
            });
        let mut alternatives: Vec<BoxedStrategy<FuzzRequest>> = Vec::new();
        let body_branches: Vec<Option<Value>> = match &self.body {
            Some(b) => branches(&b.schema, &root).into_iter().map(Some).collect(),
            None => vec![None],
        };
        for branch in body_branches {
            let mut sites = param_sites.clone();
            if let (Some(schema), Some(b)) = (&branch, &self.body) {
                let body = body_sites(schema, &root);
                if b.format == BodyFormat::Multipart {
                    sites.extend(body.into_iter().filter(|s| s.kind == MutationKind::MissingRequired));
                } else {
                    sites.extend(body);
                }
            }
            if sites.is_empty() {
                continue;
            }
            let body_strategy = branch.as_ref().map(|s| generator.strategy(s));
            let base = self.requests(generator, fx, body_strategy, true);
            let sites = Arc::new(sites);
            let validator = validator.clone();
            alternatives.push(
                (base, any::<Index>())
                    .prop_map(move |(req, index)| mutate(req, &sites, index, validator.as_deref()))
                    .boxed(),
            );
        }
        match alternatives.len() {
            0 => None,
            1 => alternatives.pop(),
            _ => Some(proptest::strategy::Union::new(alternatives).boxed()),
        }
    }
}

/// Applies the chosen mutation; a body mutation that the schema still
/// accepts (a second `oneOf` branch covers it) only forbids 5xx.
fn mutate(
    mut req: FuzzRequest,
    sites: &[MutationSite],
    index: Index,
    validator: Option<&jsonschema::Validator>,
) -> FuzzRequest {
    let Some(m) = apply_nth(sites, index.index(sites.len()), &req.parts) else {
        return req;
    };
    let mut expect = Expect::from(m.expectation);
    let mut description = m.description;
    let body_changed = m.parts.body != req.parts.body;
    if expect == Expect::Reject
        && body_changed
        && let (Some(v), Some(body)) = (validator, &m.parts.body)
        && v.is_valid(body)
    {
        expect = Expect::NoServerError;
        description.push_str(" (still valid by the schema)");
    }
    req.parts = m.parts;
    req.mutation = Some(description);
    req.expect = expect;
    req
}
