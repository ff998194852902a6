//! What the fuzzer does with one operation: which credential and actor
//! role, which parameters and body format, whether it streams, the
//! mutation sites of its requests weighed against the two layers of the
//! contract (who requires a refusal: the docs, citing their `x-doc`
//! references; only our reference server; nobody), and the proptest
//! strategies for its valid and its invalid requests. Requests are drawn
//! from the documented contract; the reference layer adds the sites of
//! constraints only it states.
//!
//! Operations it cannot drive (the signed `/files/{token}` URL, the
//! control API, bodies that are neither JSON nor multipart) are skipped
//! with a reason. No network here.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

use super::Layer;
use super::fixtures::Fixtures;
use super::mutate::{Basis, Location, MutationKind, MutationSite, apply_nth, body_sites, parameter_sites};
use super::request::{BodyFormat, Credential, Expect, FuzzRequest};
use super::schema::{branches, doc_refs_along, refuses_others, schema_trail};
use super::strategy::Generator;
use crate::scenario::Role;
use crate::spec::is_json;
use crate::spec::{Contract, MediaTypeSpec, Operation, RequestBodySpec, Spec};

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
    pub role: Role,
    /// The body, if the operation takes one.
    pub body: Option<BodyPlan>,
    /// (name, schema).
    pub path_params: Vec<(String, Value)>,
    /// (name, required, schema).
    pub query_params: Vec<(String, bool, Value)>,
    /// Documented status keys.
    pub statuses: Vec<String>,
    /// Mutation sites of the path and query parameters, weighed.
    pub param_sites: Vec<MutationSite>,
    /// The body's alternatives (documented `oneOf`/`anyOf` branches, or the
    /// schema itself), each with its weighed sites.
    pub body_branches: Vec<BodyBranch>,
    /// The reference layer's body schema, when it has one: a site only the
    /// reference layer states is checked against it.
    pub reference_body: Option<Value>,
}

/// One alternative of a body schema and the sites of its mutations.
#[derive(Debug, Clone)]
pub struct BodyBranch {
    /// The (documented) branch schema requests are drawn from.
    pub schema: Value,
    /// Its mutation sites (those only the reference layer states included).
    pub sites: Vec<MutationSite>,
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

/// Plans an operation of the documented contract, or says why it is skipped.
pub fn plan(contract: &Contract, op: &Operation) -> Result<OpPlan, String> {
    let spec = contract.documented();
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
    let body = match body_media(op)? {
        None => None,
        Some((rb, m, format)) => {
            let schema = m.schema.clone().unwrap_or_else(|| serde_json::json!({}));
            let files = if format == BodyFormat::Multipart {
                file_fields(&schema)
            } else {
                Vec::new()
            };
            Some(BodyPlan {
                format,
                schema,
                required: rb.required,
                files,
            })
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
    let weighed = weighed_sites(contract, op);
    let role = if POSTER_OPS.contains(&name.as_str()) {
        Role::Poster
    } else if PROOFER_OPS.contains(&name.as_str()) {
        Role::Proofer
    } else if op.tags.iter().any(|t| t == "posting" || t == "escrow") {
        Role::Poster
    } else if op.tags.iter().any(|t| t == "proofing") {
        Role::Proofer
    } else {
        Role::Agent
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
        param_sites: weighed.params,
        body_branches: weighed.branches,
        reference_body: weighed.reference_body,
    })
}

/// The body an operation is fuzzed with: JSON first, else multipart;
/// `Err` for a body of another media type.
fn body_media(op: &Operation) -> Result<Option<(&RequestBodySpec, &MediaTypeSpec, BodyFormat)>, String> {
    let Some(rb) = &op.request_body else {
        return Ok(None);
    };
    if let Some(m) = rb.content.iter().find(|m| is_json(&m.content_type)) {
        return Ok(Some((rb, m, BodyFormat::Json)));
    }
    if let Some(m) = rb
        .content
        .iter()
        .find(|m| m.content_type.starts_with("multipart/form-data"))
    {
        return Ok(Some((rb, m, BodyFormat::Multipart)));
    }
    let types: Vec<&str> = rb.content.iter().map(|m| m.content_type.as_str()).collect();
    Err(format!(
        "request body media type `{}` is not supported",
        types.join("`, `")
    ))
}

/// Multipart fields sent as files (`format: binary` or `byte`).
fn file_fields(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, s)| matches!(s.get("format").and_then(Value::as_str), Some("binary" | "byte")))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The mutation sites of an operation, weighed against both layers.
#[derive(Debug, Clone, Default)]
pub struct WeighedSites {
    /// Path and query parameter sites.
    pub params: Vec<MutationSite>,
    /// One entry per documented body branch (none without a body).
    pub branches: Vec<BodyBranch>,
    /// The reference layer's body schema, if any.
    pub reference_body: Option<Value>,
}

impl WeighedSites {
    /// Every site (parameters, then each branch's).
    pub fn all(&self) -> impl Iterator<Item = &MutationSite> {
        self.params
            .iter()
            .chain(self.branches.iter().flat_map(|b| b.sites.iter()))
    }
}

/// Raw (unweighed) sites of one operation of one spec: parameters, and
/// body branches with their sites.
fn raw_sites(spec: &Spec, op: &Operation) -> (Vec<MutationSite>, Vec<BodyBranch>, Option<Value>) {
    let root = spec.document();
    let mut params = Vec::new();
    for p in &op.parameters {
        let schema = p
            .schema
            .clone()
            .unwrap_or_else(|| serde_json::json!({"type": "string"}));
        if matches!(p.location.as_str(), "path" | "query") {
            params.extend(parameter_sites(&p.name, &p.location, &schema, root));
        }
    }
    let mut out = Vec::new();
    let mut body_schema = None;
    if let Ok(Some((_, m, format))) = body_media(op) {
        let schema = m.schema.clone().unwrap_or_else(|| serde_json::json!({}));
        for branch in branches(&schema, root) {
            let mut sites = body_sites(&branch, root);
            if format == BodyFormat::Multipart {
                sites.retain(|s| s.kind == MutationKind::MissingRequired);
            }
            out.push(BodyBranch { schema: branch, sites });
        }
        body_schema = Some(schema);
    }
    (params, out, body_schema)
}

/// The pointers from a site's field out to its operation, innermost
/// first: the schema nodes down to the field (`$ref` hops included), the
/// parameter or request body, the operation.
fn site_chain(op: &Operation, site: &MutationSite, doc: &Value) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    match &site.location {
        Location::Body { path } => {
            if let Ok(Some((rb, m, _))) = body_media(op) {
                if let Some(sp) = &m.schema_pointer {
                    let trail = schema_trail(doc, sp, path).unwrap_or_else(|| vec![sp.clone()]);
                    chain.extend(trail.into_iter().rev());
                }
                chain.push(rb.pointer.clone());
            }
        }
        Location::Query { name } | Location::Path { name } => {
            let within = if matches!(site.location, Location::Query { .. }) {
                "query"
            } else {
                "path"
            };
            if let Some(p) = op.parameters.iter().find(|p| p.name == *name && p.location == within) {
                if let Some(sp) = &p.schema_pointer {
                    let trail = schema_trail(doc, sp, &[]).unwrap_or_else(|| vec![sp.clone()]);
                    chain.extend(trail.into_iter().rev());
                }
                chain.push(p.pointer.clone());
            }
        }
    }
    chain.push(op.pointer.clone());
    chain
}

/// Who requires a request breaking a documented site to be refused.
fn weigh_documented(doc: &Value, op: &Operation, site: &MutationSite, reference_has_it: bool) -> Basis {
    let chain = site_chain(op, site, doc);
    let unbacked = |reason: String| {
        if reference_has_it {
            Basis::Reference { reason }
        } else {
            Basis::Nobody { reason }
        }
    };
    if let Location::Query { name } = &site.location
        && site.kind == MutationKind::NotInEnum
        && !refuses_others(doc, &chain)
    {
        return unbacked(format!(
            "the docs list the values of `?{name}` without saying that others are refused (no `x-refuse-others: true`)"
        ));
    }
    let refs = doc_refs_along(doc, &chain);
    if refs.is_empty() {
        unbacked("the documented spec states this constraint without an `x-doc` reference".into())
    } else {
        Basis::Docs { refs }
    }
}

/// The mutation sites of `op` (an operation of the documented contract):
/// those of the documented schemas, each weighed (the docs back it with
/// an `x-doc`; only the reference server refuses it; nobody), then those
/// only the reference layer's schemas have (departures when accepted).
pub fn weighed_sites(contract: &Contract, op: &Operation) -> WeighedSites {
    let documented = contract.documented();
    let doc = documented.document();
    let (mut params, mut doc_branches, _) = raw_sites(documented, op);
    let reference = contract.reference().and_then(|r| {
        r.operations()
            .iter()
            .find(|o| o.method == op.method && o.path == op.path)
            .map(|rop| (r, rop))
    });
    let (ref_params, ref_branches, reference_body) = match reference {
        Some((r, rop)) => raw_sites(r, rop),
        None => (Vec::new(), Vec::new(), None),
    };
    let ref_all: Vec<&MutationSite> = ref_params
        .iter()
        .chain(ref_branches.iter().flat_map(|b| &b.sites))
        .collect();
    let doc_all: Vec<MutationSite> = params
        .iter()
        .chain(doc_branches.iter().flat_map(|b| &b.sites))
        .cloned()
        .collect();
    let weigh = |site: &mut MutationSite| {
        let has = ref_all.iter().any(|r| r.same_rule(site));
        site.basis = weigh_documented(doc, op, site, has);
        site.origin = Layer::Documented;
    };
    params.iter_mut().for_each(weigh);
    for b in &mut doc_branches {
        b.sites.iter_mut().for_each(weigh);
    }
    let only_reference = |site: &MutationSite| {
        let mut s = site.clone();
        s.origin = Layer::Reference;
        s.basis = Basis::Reference {
            reason: "only the reference layer states this constraint".into(),
        };
        s
    };
    let new_here = |site: &&MutationSite| !doc_all.iter().any(|d| d.same_rule(site));
    params.extend(ref_params.iter().filter(new_here).map(only_reference));
    if !doc_branches.is_empty() {
        let same_shape = ref_branches.len() == doc_branches.len();
        for (i, rb) in ref_branches.iter().enumerate() {
            let extra: Vec<MutationSite> = rb.sites.iter().filter(new_here).map(only_reference).collect();
            for (j, b) in doc_branches.iter_mut().enumerate() {
                if !same_shape || i == j {
                    for s in &extra {
                        if !b.sites.iter().any(|x| x.same_rule(s)) {
                            b.sites.push(s.clone());
                        }
                    }
                }
            }
        }
    }
    WeighedSites {
        params,
        branches: doc_branches,
        reference_body,
    }
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
    fn role_strategy(&self) -> BoxedStrategy<Role> {
        let natural = self.role;
        let others: Vec<Role> = Role::ALL.into_iter().filter(|r| *r != natural).collect();
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
                    refusal: None,
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
        let json = self.body.as_ref().is_some_and(|b| b.format == BodyFormat::Json);
        let compile = |schema: &Value| {
            jsonschema::options()
                .should_validate_formats(true)
                .build(schema)
                .ok()
                .map(Arc::new)
        };
        let validators = Arc::new(Validators {
            documented: self.body.as_ref().filter(|_| json).and_then(|b| compile(&b.schema)),
            reference: self.reference_body.as_ref().filter(|_| json).and_then(compile),
        });
        let mut alternatives: Vec<BoxedStrategy<FuzzRequest>> = Vec::new();
        let body_branches: Vec<Option<&BodyBranch>> = if self.body_branches.is_empty() {
            vec![None]
        } else {
            self.body_branches.iter().map(Some).collect()
        };
        for branch in body_branches {
            let mut sites = self.param_sites.clone();
            if let Some(b) = branch {
                sites.extend(b.sites.iter().cloned());
            }
            if sites.is_empty() {
                continue;
            }
            let body_strategy = branch.map(|b| generator.strategy(&b.schema));
            let base = self.requests(generator, fx, body_strategy, true);
            let sites = Arc::new(sites);
            let validators = validators.clone();
            alternatives.push(
                (base, any::<Index>())
                    .prop_map(move |(req, index)| mutate(req, &sites, index, &validators))
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

/// The validators of the body schemas of both layers (JSON bodies only).
struct Validators {
    documented: Option<Arc<jsonschema::Validator>>,
    reference: Option<Arc<jsonschema::Validator>>,
}

/// Applies the chosen mutation; a body mutation that the schema of the
/// site's layer still accepts (a second `oneOf` branch covers it) only
/// forbids 5xx.
fn mutate(mut req: FuzzRequest, sites: &[MutationSite], index: Index, validators: &Validators) -> FuzzRequest {
    let Some(m) = apply_nth(sites, index.index(sites.len()), &req.parts) else {
        return req;
    };
    let mut expect = Expect::from(m.expectation);
    let mut description = m.description;
    let body_changed = m.parts.body != req.parts.body;
    let validator = match m.origin {
        Layer::Documented => validators.documented.as_deref(),
        Layer::Reference => validators.reference.as_deref(),
    };
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
    req.refusal = (expect == Expect::Reject).then_some(m.refusal);
    req.expect = expect;
    req
}
