//! Invalid variants of a valid request: exactly one mutation each.
//!
//! The places a mutation can hit ([`MutationSite`]s) are derived from the
//! schemas alone, so a site index stays meaningful while proptest shrinks
//! the body underneath it. Kinds: a missing required field, a wrong type,
//! below the minimum / above the maximum, a float or a numeric string
//! where integer (cents) are due, a too-short or too-long string (over
//! `maxLength`, or 100 kB where there is none), a broken UUID, a negative
//! amount, a value outside the enum, a value breaking the pattern, an
//! empty or over-full array. Each applied mutation carries a description
//! such as "`proposed_price`: float 50.5 where integer cents are due",
//! and a [`Refusal`]: what the request now holds at that place, what the
//! constraint asks, and who asks it ([`Basis`]: the docs, with their
//! references; only our reference server; nobody). The planner weighs the
//! basis against the contract; here a site starts out unweighed.
//! No HTTP here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Layer;
use super::schema::{branches, flatten, is_cents, json_type, numeric_bounds, types_of};

/// Size of the "huge" string put into fields without `maxLength`.
pub const HUGE_STRING_BYTES: usize = 100 * 1024;

/// What a valid target must answer to a mutated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// The request breaks the contract: a 4xx, never a 2xx or 5xx.
    Reject,
    /// The contract does not say it is wrong (a 100 kB string where there
    /// is no `maxLength`): any documented status but a 5xx.
    NoServerError,
}

/// The kind of one mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MutationKind {
    /// A required property removed.
    MissingRequired,
    /// A value of a type the schema does not allow.
    WrongType,
    /// Just below `minimum` (or at an exclusive one).
    BelowMinimum,
    /// Just above `maximum` (or at an exclusive one).
    AboveMaximum,
    /// `n + 0.5` where an integer (cents) is due.
    FloatForInteger,
    /// The integer as a string (`"2500"`).
    StringForInteger,
    /// A negative amount of cents.
    NegativeAmount,
    /// One character under `minLength`.
    TooShort,
    /// One character over `maxLength`.
    TooLong,
    /// 100 kB where there is no `maxLength` (only 5xx is wrong).
    Huge,
    /// A UUID cut short (8-character REF prefix in paths).
    BrokenUuid,
    /// A value outside the `enum` (or `const`).
    NotInEnum,
    /// A string the `pattern` does not match.
    PatternMismatch,
    /// An empty array under `minItems`.
    TooFewItems,
    /// One item over `maxItems`.
    TooManyItems,
}

/// Where in a request a mutation applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "in", rename_all = "snake_case")]
pub enum Location {
    /// A property path from the body's root (property names).
    Body { path: Vec<String> },
    /// A query parameter.
    Query { name: String },
    /// A path parameter.
    Path { name: String },
}

impl Location {
    /// How the place is named in descriptions: `a.b`, `?limit`, `{id}`.
    pub fn label(&self) -> String {
        match self {
            Location::Body { path } => path.join("."),
            Location::Query { name } => format!("?{name}"),
            Location::Path { name } => format!("{{{name}}}"),
        }
    }
}

/// One place and kind of mutation, derived from the schemas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationSite {
    /// Where the field is.
    pub location: Location,
    /// What is done to it.
    pub kind: MutationKind,
    /// The (flattened) schema of the field.
    pub schema: Value,
    /// The field is an amount in USD cents.
    pub cents: bool,
    /// What a conforming target must answer.
    pub expectation: Expectation,
    /// The layer whose request schema the site was derived from.
    #[serde(default)]
    pub origin: Layer,
    /// Who requires a request breaking it to be refused.
    #[serde(default)]
    pub basis: Basis,
}

/// Who requires a request that breaks a constraint to be refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Basis {
    /// The documented contract states the constraint and cites the docs
    /// for it (`x-doc`): accepting such a request is a failure.
    Docs {
        /// The doc references (`llms.txt#...`, `openapi:POST /api/...`).
        refs: Vec<String>,
    },
    /// Only our reference server refuses it (a constraint of the reference
    /// layer alone, or one the docs do not back): accepting it is a
    /// departure from the reference server.
    Reference {
        /// Why the docs do not require the refusal.
        reason: String,
    },
    /// Nobody requires the refusal: accepting it is no problem.
    Nobody {
        /// Why.
        reason: String,
    },
}

impl Default for Basis {
    fn default() -> Self {
        Basis::Nobody {
            reason: "not weighed against the contract".into(),
        }
    }
}

impl Basis {
    /// The layer on which accepting the request is a problem, if any.
    pub fn layer(&self) -> Option<Layer> {
        match self {
            Basis::Docs { .. } => Some(Layer::Documented),
            Basis::Reference { .. } => Some(Layer::Reference),
            Basis::Nobody { .. } => None,
        }
    }

    /// How strongly it requires the refusal (docs > reference > nobody).
    pub fn rank(&self) -> u8 {
        match self {
            Basis::Docs { .. } => 2,
            Basis::Reference { .. } => 1,
            Basis::Nobody { .. } => 0,
        }
    }
}

/// Why a mutated request deserves a refusal, and who says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Where the mutation hit.
    pub location: Location,
    /// What was done there.
    pub kind: MutationKind,
    /// What the request holds there: "is 9 characters", "is missing".
    pub breach: String,
    /// What the constraint asks: "at least 10 characters", "a UUID".
    pub requirement: String,
    /// Who requires the refusal.
    pub basis: Basis,
}

impl Refusal {
    /// The sentence for an answer `status` that accepted the request, and
    /// the layer it is a problem on; `None` when nobody requires a refusal.
    pub fn accepted(&self, status: u16) -> Option<(Layer, String)> {
        let head = format!(
            "answered {status} to a request whose `{}` {}",
            self.location.label(),
            self.breach
        );
        match &self.basis {
            Basis::Docs { refs } if !refs.is_empty() => Some((
                Layer::Documented,
                format!("{head}; the docs require {} ({})", self.requirement, refs.join(", ")),
            )),
            Basis::Reference { reason } => Some((
                Layer::Reference,
                format!(
                    "{head}; our reference server refuses this (it requires {}; {reason})",
                    self.requirement
                ),
            )),
            _ => None,
        }
    }

    /// What identifies the problem across requests (place and kind).
    pub fn key(&self) -> String {
        format!("{}|{:?}", self.location.label(), self.kind)
    }
}

/// The parts of a request a mutation may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestParts {
    /// Path parameter values by name.
    pub path_params: BTreeMap<String, String>,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
    /// The JSON body (or the multipart fields as an object).
    pub body: Option<Value>,
}

/// A request after one mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutated {
    /// The request parts after the mutation.
    pub parts: RequestParts,
    /// What was changed, e.g. "`proposed_price`: float 50.5 where integer cents are due".
    pub description: String,
    /// What was done.
    pub kind: MutationKind,
    /// What a conforming target must answer.
    pub expectation: Expectation,
    /// Why it deserves a refusal, and who says so.
    pub refusal: Refusal,
    /// The layer the site was derived from.
    pub origin: Layer,
}

/// Nesting depth of body properties that get their own sites.
const MAX_SITE_DEPTH: usize = 3;

/// Every mutation site of a body schema (one branch of it: pass a branch
/// from [`branches`] when the body is a `oneOf`). Properties nested in
/// optional objects, arrays or alternatives get sites only at their top.
pub fn body_sites(schema: &Value, root: &Value) -> Vec<MutationSite> {
    let mut out = Vec::new();
    let flat = flatten(schema, root);
    object_sites(&flat, root, &mut Vec::new(), &mut out);
    out
}

fn object_sites(schema: &Value, root: &Value, prefix: &mut Vec<String>, out: &mut Vec<MutationSite>) {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, prop) in props {
        prefix.push(name.clone());
        let location = Location::Body { path: prefix.clone() };
        let alternatives = branches(prop, root);
        let is_required = required.contains(&name.as_str());
        if is_required {
            out.push(site(location.clone(), MutationKind::MissingRequired, json!({}), false));
        }
        if alternatives.len() == 1 {
            let field = &alternatives[0];
            scalar_sites(name, field, location, out);
            if is_required && prefix.len() < MAX_SITE_DEPTH && types_of(field) == ["object"] {
                object_sites(field, root, prefix, out);
            }
        } else {
            // Alternatives: only a type none of them allows is surely wrong.
            let mut types: Vec<&str> = Vec::new();
            for alt in &alternatives {
                let t = types_of(alt);
                if t.is_empty() {
                    types.clear();
                    break;
                }
                types.extend(t);
            }
            if !types.is_empty() {
                let synthetic = json!({"type": types});
                out.push(site(location, MutationKind::WrongType, synthetic, false));
            }
        }
        prefix.pop();
    }
}

fn site(location: Location, kind: MutationKind, schema: Value, cents: bool) -> MutationSite {
    let expectation = if kind == MutationKind::Huge {
        Expectation::NoServerError
    } else {
        Expectation::Reject
    };
    MutationSite {
        location,
        kind,
        schema,
        cents,
        expectation,
        origin: Layer::Documented,
        basis: Basis::default(),
    }
}

/// Sites for one field of known shape (body property or parameter).
fn scalar_sites(name: &str, field: &Value, location: Location, out: &mut Vec<MutationSite>) {
    use MutationKind::*;
    let types = types_of(field);
    let cents = types.contains(&"integer") && is_cents(name, field);
    let mut add = |kind: MutationKind| out.push(site(location.clone(), kind, field.clone(), cents));
    if field.get("const").is_some() {
        add(NotInEnum);
        return;
    }
    if types.is_empty() {
        return;
    }
    add(WrongType);
    if let Some(values) = field.get("enum").and_then(Value::as_array) {
        if values.iter().any(Value::is_string) || values.iter().any(Value::is_number) {
            add(NotInEnum);
        }
        return;
    }
    let (min, _, max, _) = numeric_bounds(field);
    if types.contains(&"integer") || types.contains(&"number") {
        if min.is_some() {
            add(BelowMinimum);
        }
        if max.is_some() {
            add(AboveMaximum);
        }
    }
    if types.contains(&"integer") && !types.contains(&"number") {
        add(FloatForInteger);
        if !types.contains(&"string") {
            add(StringForInteger);
        }
        if cents && min.is_none_or(|m| m >= 0.0) {
            add(NegativeAmount);
        }
    }
    if types.contains(&"string") {
        let format = field.get("format").and_then(Value::as_str).unwrap_or("");
        if format == "uuid" {
            add(BrokenUuid);
        }
        if field.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0 {
            add(TooShort);
        }
        if field.get("pattern").is_some() && format.is_empty() {
            add(PatternMismatch);
        }
        if field.get("maxLength").is_some() {
            add(TooLong);
        } else if !matches!(format, "uuid" | "date-time" | "date" | "email" | "uri" | "binary")
            && field.get("pattern").is_none()
        {
            add(Huge);
        }
    }
    if types.contains(&"array") {
        if field.get("minItems").and_then(Value::as_u64).unwrap_or(0) > 0 {
            add(TooFewItems);
        }
        if field.get("maxItems").is_some() {
            add(TooManyItems);
        }
    }
}

/// Sites of a query or path parameter (values travel as text, so the
/// "wrong type" of a number is a word, and a float is `1.5`). Path
/// parameters only get the broken-UUID site.
pub fn parameter_sites(name: &str, location_in: &str, schema: &Value, root: &Value) -> Vec<MutationSite> {
    use MutationKind::*;
    let field = flatten(schema, root);
    let types = types_of(&field);
    let location = if location_in == "path" {
        Location::Path { name: name.to_string() }
    } else {
        Location::Query { name: name.to_string() }
    };
    let mut out = Vec::new();
    let mut add = |kind: MutationKind, expectation: Expectation| {
        out.push(MutationSite {
            location: location.clone(),
            kind,
            schema: field.clone(),
            cents: false,
            expectation,
            origin: Layer::Documented,
            basis: Basis::default(),
        })
    };
    if location_in == "path" {
        if field.get("format").and_then(Value::as_str) == Some("uuid") {
            add(BrokenUuid, Expectation::Reject);
        }
        return out;
    }
    if location_in != "query" {
        return out;
    }
    if field.get("enum").is_some() {
        add(NotInEnum, Expectation::Reject);
        return out;
    }
    if types.contains(&"integer") {
        add(WrongType, Expectation::Reject);
        add(FloatForInteger, Expectation::Reject);
        let (min, _, max, _) = numeric_bounds(&field);
        if min.is_some() {
            add(BelowMinimum, Expectation::Reject);
        }
        if max.is_some() {
            add(AboveMaximum, Expectation::Reject);
        }
    } else if types.contains(&"boolean") {
        // The contract does not say a bad boolean is refused.
        add(WrongType, Expectation::NoServerError);
    } else if types.contains(&"string") && field.get("pattern").is_some() {
        add(PatternMismatch, Expectation::Reject);
    }
    out
}

impl MutationSite {
    /// Applies this mutation to `parts`; `None` when it cannot apply (the
    /// body has no parent object for the field, or no item to repeat).
    pub fn apply(&self, parts: &RequestParts) -> Option<Mutated> {
        let label = self.location.label();
        let mut out = parts.clone();
        let (new_value, what): (Option<Value>, String) = match &self.location {
            Location::Body { path } => {
                let current = parts.body.as_ref().and_then(|b| get_path(b, path)).cloned();
                let body = out.body.get_or_insert_with(|| Value::Object(Map::new()));
                if self.kind == MutationKind::MissingRequired {
                    remove_path(body, path)?;
                    (None, "missing required field".to_string())
                } else {
                    let (v, what) = self.body_value(current.as_ref())?;
                    set_path(body, path, v.clone())?;
                    (Some(v), what)
                }
            }
            Location::Query { name } => {
                let current = parts.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                let (v, what) = self.text_value(current.as_deref())?;
                out.query.retain(|(k, _)| k != name);
                out.query.push((name.clone(), v.clone()));
                (Some(Value::String(v)), what)
            }
            Location::Path { name } => {
                let current = parts.path_params.get(name).cloned();
                let (v, what) = self.text_value(current.as_deref())?;
                out.path_params.insert(name.clone(), v.clone());
                (Some(Value::String(v)), what)
            }
        };
        let breach = self.breach(new_value.as_ref());
        Some(Mutated {
            parts: out,
            description: format!("`{label}`: {what}"),
            kind: self.kind,
            expectation: self.expectation,
            refusal: Refusal {
                location: self.location.clone(),
                kind: self.kind,
                breach,
                requirement: self.requirement(),
                basis: self.basis.clone(),
            },
            origin: self.origin,
        })
    }

    /// What `parts` hold at the site, in words ("is 9 characters").
    pub fn breach_in(&self, parts: &RequestParts) -> String {
        let value = match &self.location {
            Location::Body { path } => parts.body.as_ref().and_then(|b| get_path(b, path)).cloned(),
            Location::Query { name } => parts
                .query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| Value::String(v.clone())),
            Location::Path { name } => parts.path_params.get(name).map(|v| Value::String(v.clone())),
        };
        self.breach(value.as_ref())
    }

    /// What the mutated request holds at the site, in words.
    fn breach(&self, new_value: Option<&Value>) -> String {
        use MutationKind::*;
        let Some(v) = new_value else {
            return "is missing".to_string();
        };
        if !matches!(self.location, Location::Body { .. }) {
            return format!("is `{}`", v.as_str().map(clip).unwrap_or_default());
        }
        match (self.kind, v) {
            (TooShort | TooLong | Huge, Value::String(s)) => format!("is {} characters", s.chars().count()),
            (TooFewItems | TooManyItems, Value::Array(a)) => format!("has {} items", a.len()),
            (StringForInteger, Value::String(s)) => format!("is the string \"{}\"", clip(s)),
            _ => format!("is {}", clip(&v.to_string())),
        }
    }

    /// What the constraint asks, in words ("at least 10 characters").
    pub fn requirement(&self) -> String {
        use MutationKind::*;
        let f = &self.schema;
        let (min, min_ex, max, max_ex) = numeric_bounds(f);
        let int = |key: &str| f.get(key).and_then(Value::as_u64).unwrap_or_default();
        let integer = if self.cents {
            "an integer (USD cents)".to_string()
        } else {
            "an integer".to_string()
        };
        match self.kind {
            MissingRequired => "it".to_string(),
            WrongType => {
                let types: Vec<&str> = types_of(f).into_iter().filter(|t| *t != "null").collect();
                if types.is_empty() {
                    "another type".to_string()
                } else {
                    format!("type {}", types.join(" or "))
                }
            }
            BelowMinimum => match min {
                Some(m) if min_ex => format!("more than {}", show(m)),
                Some(m) => format!("at least {}", show(m)),
                None => "a larger value".to_string(),
            },
            AboveMaximum => match max {
                Some(m) if max_ex => format!("less than {}", show(m)),
                Some(m) => format!("at most {}", show(m)),
                None => "a smaller value".to_string(),
            },
            FloatForInteger | StringForInteger => integer,
            NegativeAmount => match min {
                Some(m) => format!("at least {}", show(m)),
                None => "a non-negative amount of USD cents".to_string(),
            },
            TooShort => format!("at least {} characters", int("minLength")),
            TooLong => format!("at most {} characters", int("maxLength")),
            Huge => "nothing of its length (there is no maxLength)".to_string(),
            BrokenUuid => "a UUID".to_string(),
            NotInEnum => {
                let values: Vec<Value> = match (f.get("enum"), f.get("const")) {
                    (Some(Value::Array(v)), _) => v.clone(),
                    (_, Some(c)) => vec![c.clone()],
                    _ => Vec::new(),
                };
                let shown: Vec<String> = values
                    .iter()
                    .take(8)
                    .map(|v| format!("`{}`", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                    .collect();
                let more = if values.len() > 8 { ", …" } else { "" };
                format!("one of {}{more}", shown.join(", "))
            }
            PatternMismatch => format!(
                "the pattern `{}`",
                f.get("pattern").and_then(Value::as_str).unwrap_or_default()
            ),
            TooFewItems => format!("at least {} items", int("minItems")),
            TooManyItems => format!("at most {} items", int("maxItems")),
        }
    }

    /// The keyword values the site tests (`minLength: 10` for a too-short
    /// string): two sites with the same place, kind and constraint test
    /// the same rule, whichever layer they were derived from.
    pub fn constraint(&self) -> Value {
        use MutationKind::*;
        let f = &self.schema;
        let g = |key: &str| f.get(key).cloned().unwrap_or(Value::Null);
        match self.kind {
            MissingRequired | Huge => Value::Null,
            WrongType => json!(types_of(f)),
            BelowMinimum => json!([g("minimum"), g("exclusiveMinimum")]),
            AboveMaximum => json!([g("maximum"), g("exclusiveMaximum")]),
            FloatForInteger | StringForInteger => json!("integer"),
            NegativeAmount => g("minimum"),
            TooShort => g("minLength"),
            TooLong => g("maxLength"),
            BrokenUuid => g("format"),
            NotInEnum => json!([g("enum"), g("const")]),
            PatternMismatch => g("pattern"),
            TooFewItems => g("minItems"),
            TooManyItems => g("maxItems"),
        }
    }

    /// Same place, kind and constraint.
    pub fn same_rule(&self, other: &MutationSite) -> bool {
        self.location == other.location && self.kind == other.kind && self.constraint() == other.constraint()
    }

    /// Whether `parts` (a request as it is now) still breaks this site's
    /// constraint: a replay re-judges a stored request with the current
    /// contract, whose constraint may have moved.
    pub fn breaks(&self, parts: &RequestParts) -> bool {
        use MutationKind::*;
        let f = &self.schema;
        let (min, min_ex, max, max_ex) = numeric_bounds(f);
        let below = |x: f64| min.is_some_and(|m| if min_ex { x <= m } else { x < m });
        let above = |x: f64| max.is_some_and(|m| if max_ex { x >= m } else { x > m });
        let len = |key: &str| f.get(key).and_then(Value::as_u64).map(|n| n as usize);
        let value: Option<Value> = match &self.location {
            Location::Body { path } => parts.body.as_ref().and_then(|b| get_path(b, path)).cloned(),
            Location::Query { name } => parts
                .query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| typed_text(v, f)),
            Location::Path { name } => parts.path_params.get(name).map(|v| Value::String(v.clone())),
        };
        let Some(v) = value else {
            return self.kind == MissingRequired;
        };
        match self.kind {
            MissingRequired | Huge => false,
            WrongType => {
                let types = types_of(f);
                let t = json_type(&v);
                !(types.is_empty() || types.contains(&t) || (t == "integer" && types.contains(&"number")))
            }
            BelowMinimum | NegativeAmount => v.as_f64().is_some_and(|x| below(x) || (min.is_none() && x < 0.0)),
            AboveMaximum => v.as_f64().is_some_and(above),
            FloatForInteger => v.as_f64().is_some_and(|x| x.fract() != 0.0) || v.is_string(),
            StringForInteger => v.is_string(),
            TooShort => v
                .as_str()
                .is_some_and(|s| len("minLength").is_some_and(|n| s.chars().count() < n)),
            TooLong => v
                .as_str()
                .is_some_and(|s| len("maxLength").is_some_and(|n| s.chars().count() > n)),
            BrokenUuid => v.as_str().is_some_and(|s| !is_uuid(s)),
            NotInEnum => {
                let listed = |x: &Value| x == &v || (x.as_str().is_none() && v.as_str() == Some(&x.to_string()));
                match (f.get("enum").and_then(Value::as_array), f.get("const")) {
                    (Some(values), _) => !values.iter().any(listed),
                    (_, Some(c)) => !listed(c),
                    _ => false,
                }
            }
            PatternMismatch => {
                let pattern = f.get("pattern").and_then(Value::as_str).unwrap_or("");
                match (regex::Regex::new(pattern), v.as_str()) {
                    (Ok(re), Some(s)) => !re.is_match(s),
                    _ => false,
                }
            }
            TooFewItems => v
                .as_array()
                .is_some_and(|a| len("minItems").is_some_and(|n| a.len() < n)),
            TooManyItems => v
                .as_array()
                .is_some_and(|a| len("maxItems").is_some_and(|n| a.len() > n)),
        }
    }

    fn due(&self) -> &'static str {
        if self.cents {
            "integer cents are due"
        } else {
            "an integer is due"
        }
    }

    /// The replacement JSON value and the description of it.
    fn body_value(&self, current: Option<&Value>) -> Option<(Value, String)> {
        use MutationKind::*;
        let f = &self.schema;
        let (min, min_ex, max, max_ex) = numeric_bounds(f);
        let int_now = current.and_then(Value::as_i64).unwrap_or(2500);
        Some(match self.kind {
            MissingRequired => return None,
            WrongType => {
                let types = types_of(f);
                let (v, t) = if !types.contains(&"string") {
                    (json!("fuzz"), "string")
                } else if !types.contains(&"integer") && !types.contains(&"number") {
                    (json!(12345), "number")
                } else if !types.contains(&"boolean") {
                    (json!(true), "boolean")
                } else {
                    (json!({"fuzz": 1}), "object")
                };
                let due: Vec<&str> = types.iter().filter(|t| **t != "null").copied().collect();
                (v.clone(), format!("{t} {v} where {} is due", due.join(" or ")))
            }
            BelowMinimum => {
                let m = min?;
                let v = number_value(if min_ex { m } else { m - 1.0 }, f);
                (v.clone(), format!("{v} below the minimum {}", show(m)))
            }
            AboveMaximum => {
                let m = max?;
                let v = number_value(if max_ex { m } else { m + 1.0 }, f);
                (v.clone(), format!("{v} above the maximum {}", show(m)))
            }
            FloatForInteger => {
                let x = int_now as f64 + 0.5;
                (json!(x), format!("float {} where {}", show(x), self.due()))
            }
            StringForInteger => {
                let s = int_now.to_string();
                (json!(s), format!("string \"{s}\" where {}", self.due()))
            }
            NegativeAmount => {
                let v = -(int_now.unsigned_abs().max(100) as i64);
                (json!(v), format!("negative amount {v}"))
            }
            TooShort => {
                let min_len = f.get("minLength").and_then(Value::as_u64)? as usize;
                let s = "x".repeat(min_len.saturating_sub(1));
                (
                    json!(s),
                    format!("{} characters, under minLength {min_len}", s.chars().count()),
                )
            }
            TooLong => {
                let max_len = f.get("maxLength").and_then(Value::as_u64)? as usize;
                let s = longer(current.and_then(Value::as_str).unwrap_or(""), max_len + 1);
                (
                    json!(s),
                    format!("{} characters, over maxLength {max_len}", max_len + 1),
                )
            }
            Huge => (
                json!("A".repeat(HUGE_STRING_BYTES)),
                "100 kB string (no maxLength)".to_string(),
            ),
            BrokenUuid => {
                let s = broken_uuid(current.and_then(Value::as_str));
                (json!(s), format!("broken UUID \"{s}\""))
            }
            NotInEnum => (
                json!("fuzz_not_in_enum"),
                "\"fuzz_not_in_enum\" not in the enum".to_string(),
            ),
            PatternMismatch => {
                let pattern = f.get("pattern").and_then(Value::as_str).unwrap_or("");
                let s = mismatch(pattern)?;
                (json!(s), format!("\"{s}\" does not match the pattern"))
            }
            TooFewItems => {
                let n = f.get("minItems").and_then(Value::as_u64)?;
                (json!([]), format!("empty array, under minItems {n}"))
            }
            TooManyItems => {
                let n = f.get("maxItems").and_then(Value::as_u64)? as usize;
                let item = current.and_then(Value::as_array).and_then(|a| a.first()).cloned()?;
                (
                    Value::Array(vec![item; n + 1]),
                    format!("{} items, over maxItems {n}", n + 1),
                )
            }
        })
    }

    /// The replacement text of a query or path parameter and its description.
    fn text_value(&self, current: Option<&str>) -> Option<(String, String)> {
        use MutationKind::*;
        let (min, min_ex, max, max_ex) = numeric_bounds(&self.schema);
        Some(match self.kind {
            WrongType => (
                "fuzz".to_string(),
                "\"fuzz\" where a number or boolean is due".to_string(),
            ),
            FloatForInteger => ("1.5".to_string(), "float 1.5 where an integer is due".to_string()),
            BelowMinimum => {
                let m = min?;
                let v = show(if min_ex { m } else { m - 1.0 });
                (v.clone(), format!("{v} below the minimum {}", show(m)))
            }
            AboveMaximum => {
                let m = max?;
                let v = show(if max_ex { m } else { m + 1.0 });
                (v.clone(), format!("{v} above the maximum {}", show(m)))
            }
            NotInEnum => (
                "fuzz_not_in_enum".to_string(),
                "\"fuzz_not_in_enum\" not in the enum".to_string(),
            ),
            PatternMismatch => {
                let s = mismatch(self.schema.get("pattern").and_then(Value::as_str).unwrap_or(""))?;
                (s.clone(), format!("\"{s}\" does not match the pattern"))
            }
            BrokenUuid => {
                let real = current.unwrap_or("");
                if real.len() >= 8 {
                    let prefix = real[..8].to_string();
                    (
                        prefix.clone(),
                        format!("8-character REF prefix \"{prefix}\" instead of the full UUID"),
                    )
                } else {
                    let s = broken_uuid(current);
                    (s.clone(), format!("broken UUID \"{s}\""))
                }
            }
            _ => return None,
        })
    }
}

/// A query value as the JSON its schema wants (`"5"` → `5` for numbers).
fn typed_text(text: &str, schema: &Value) -> Value {
    let types = types_of(schema);
    if (types.contains(&"integer") || types.contains(&"number"))
        && let Ok(n) = serde_json::from_str::<serde_json::Number>(text.trim())
    {
        return Value::Number(n);
    }
    if types.contains(&"boolean") && matches!(text, "true" | "false") {
        return Value::Bool(text == "true");
    }
    Value::String(text.to_string())
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// At most 60 characters of a value, for messages.
fn clip(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(57).collect::<String>())
    }
}

fn show(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn number_value(x: f64, schema: &Value) -> Value {
    if types_of(schema).contains(&"integer") && x.fract() == 0.0 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// `current` padded (or cut) to exactly `len` characters.
fn longer(current: &str, len: usize) -> String {
    let mut s: String = current.chars().take(len).collect();
    while s.chars().count() < len {
        s.push('x');
    }
    s
}

/// A UUID with its last character removed (or a fixed non-UUID).
fn broken_uuid(current: Option<&str>) -> String {
    match current {
        Some(u) if u.len() == 36 => u[..35].to_string(),
        _ => "not-a-uuid".to_string(),
    }
}

/// A short string the pattern does not match, if one of a few candidates works.
fn mismatch(pattern: &str) -> Option<String> {
    let re = regex::Regex::new(pattern).ok()?;
    ["fuzz.no.such.thing", "!", "", "0", "a b"]
        .iter()
        .find(|c| !re.is_match(c))
        .map(|s| s.to_string())
}

/// The value at a property path.
pub fn get_path<'a>(body: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(body, |v, key| v.get(key))
}

/// Sets the value at a property path; the parents must be objects.
fn set_path(body: &mut Value, path: &[String], value: Value) -> Option<()> {
    let (last, parents) = path.split_last()?;
    let mut cur = body;
    for key in parents {
        cur = cur.as_object_mut()?.get_mut(key)?;
    }
    cur.as_object_mut()?.insert(last.clone(), value);
    Some(())
}

/// Removes the value at a property path (absent is fine; a missing parent is not).
fn remove_path(body: &mut Value, path: &[String]) -> Option<()> {
    let (last, parents) = path.split_last()?;
    let mut cur = body;
    for key in parents {
        cur = cur.as_object_mut()?.get_mut(key)?;
    }
    cur.as_object_mut()?.shift_remove(last);
    Some(())
}

/// Applies the site at `index` (modulo the count), or the next one that
/// applies to `parts`. `None` only when no site applies at all.
pub fn apply_nth(sites: &[MutationSite], index: usize, parts: &RequestParts) -> Option<Mutated> {
    if sites.is_empty() {
        return None;
    }
    (0..sites.len()).find_map(|k| sites[(index + k) % sites.len()].apply(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_schema() -> Value {
        json!({"type": "object", "required": ["message", "proposed_price", "estimated_delivery"], "properties": {
            "message": {"type": "string", "minLength": 10, "maxLength": 5000},
            "proposed_price": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 10000000, "description": "USD cents."},
            "estimated_delivery": {"type": "string", "minLength": 1, "maxLength": 100},
            "note": {"type": "string"},
            "applicationId": {"type": "string", "format": "uuid"}
        }})
    }

    fn parts(body: Value) -> RequestParts {
        RequestParts {
            body: Some(body),
            ..Default::default()
        }
    }

    #[test]
    fn float_cents_description() {
        let sites = body_sites(&apply_schema(), &json!({}));
        let float = sites.iter().find(|s| s.kind == MutationKind::FloatForInteger).unwrap();
        let m = float
            .apply(&parts(
                json!({"message": "0123456789", "proposed_price": 50, "estimated_delivery": "1d"}),
            ))
            .unwrap();
        assert_eq!(
            m.description,
            "`proposed_price`: float 50.5 where integer cents are due"
        );
        assert_eq!(m.parts.body.unwrap()["proposed_price"], json!(50.5));
        assert_eq!(m.expectation, Expectation::Reject);
    }

    #[test]
    fn every_kind_changes_one_thing() {
        let body = json!({"message": "0123456789", "proposed_price": 2500, "estimated_delivery": "1d",
                          "applicationId": "11111111-1111-4111-8111-111111111111"});
        let sites = body_sites(&apply_schema(), &json!({}));
        let kinds: Vec<MutationKind> = sites.iter().map(|s| s.kind).collect();
        for k in [
            MutationKind::MissingRequired,
            MutationKind::WrongType,
            MutationKind::BelowMinimum,
            MutationKind::AboveMaximum,
            MutationKind::StringForInteger,
            MutationKind::NegativeAmount,
            MutationKind::TooLong,
            MutationKind::Huge,
            MutationKind::BrokenUuid,
            MutationKind::TooShort,
        ] {
            assert!(kinds.contains(&k), "{k:?}");
        }
        for s in &sites {
            let m = s.apply(&parts(body.clone())).unwrap();
            let after = m.parts.body.unwrap();
            let changed: Vec<&String> = body
                .as_object()
                .unwrap()
                .keys()
                .chain(after.as_object().unwrap().keys())
                .filter(|k| body.get(k.as_str()) != after.get(k.as_str()))
                .collect();
            assert!(
                !changed.is_empty() && changed.iter().all(|k| **k == changed[0].as_str()),
                "{}",
                m.description
            );
        }
        let huge = sites.iter().find(|s| s.kind == MutationKind::Huge).unwrap();
        assert_eq!(huge.expectation, Expectation::NoServerError);
    }

    #[test]
    fn parameters() {
        let limit = parameter_sites(
            "limit",
            "query",
            &json!({"type": "integer", "minimum": 1, "maximum": 100}),
            &json!({}),
        );
        let p = RequestParts {
            query: vec![("limit".into(), "5".into())],
            ..Default::default()
        };
        let texts: Vec<String> = limit
            .iter()
            .map(|s| s.apply(&p).unwrap().parts.query[0].1.clone())
            .collect();
        assert_eq!(texts, ["fuzz", "1.5", "0", "101"]);
        let id = parameter_sites("id", "path", &json!({"type": "string", "format": "uuid"}), &json!({}));
        let mut p = RequestParts::default();
        p.path_params
            .insert("id".into(), "1a2b3c4d-1111-4111-8111-111111111111".into());
        let m = id[0].apply(&p).unwrap();
        assert_eq!(m.parts.path_params["id"], "1a2b3c4d");
        assert!(m.description.contains("REF prefix"));
    }

    #[test]
    fn nested_required_objects_get_sites() {
        let schema = json!({"type": "object", "required": ["scorecard"], "properties": {
            "scorecard": {"type": "object", "required": ["accuracy"], "properties": {
                "accuracy": {"type": "object", "required": ["rating"], "properties": {
                    "rating": {"type": "integer", "minimum": 1, "maximum": 5}}}}}}});
        let sites = body_sites(&schema, &json!({}));
        assert!(
            sites
                .iter()
                .any(|s| s.location.label() == "scorecard.accuracy.rating" && s.kind == MutationKind::AboveMaximum)
        );
        let body = json!({"scorecard": {"accuracy": {"rating": 3}}});
        let above = sites
            .iter()
            .find(|s| s.location.label() == "scorecard.accuracy.rating" && s.kind == MutationKind::AboveMaximum)
            .unwrap();
        let m = above.apply(&parts(body)).unwrap();
        assert_eq!(m.parts.body.unwrap()["scorecard"]["accuracy"]["rating"], json!(6));
        assert_eq!(m.description, "`scorecard.accuracy.rating`: 6 above the maximum 5");
    }

    #[test]
    fn refusals_say_what_and_who() {
        let sites = body_sites(&apply_schema(), &json!({}));
        let body = json!({"message": "0123456789", "proposed_price": 2500, "estimated_delivery": "1d",
                          "applicationId": "11111111-1111-4111-8111-111111111111"});
        let refusal = |kind: MutationKind, label: &str| {
            let s = sites
                .iter()
                .find(|s| s.kind == kind && s.location.label() == label)
                .unwrap();
            s.apply(&parts(body.clone())).unwrap().refusal
        };
        let r = refusal(MutationKind::TooLong, "message");
        assert_eq!(
            (r.breach.as_str(), r.requirement.as_str()),
            ("is 5001 characters", "at most 5000 characters")
        );
        let r = refusal(MutationKind::MissingRequired, "proposed_price");
        assert_eq!((r.breach.as_str(), r.requirement.as_str()), ("is missing", "it"));
        let r = refusal(MutationKind::StringForInteger, "proposed_price");
        assert_eq!(r.breach, "is the string \"2500\"");
        assert_eq!(r.requirement, "an integer (USD cents)");
        let r = refusal(MutationKind::BrokenUuid, "applicationId");
        assert_eq!(r.requirement, "a UUID");
        // Unweighed: nobody requires the refusal.
        assert_eq!(r.accepted(200), None);
        let docs = Refusal {
            basis: Basis::Docs {
                refs: vec!["llms.txt#a".into()],
            },
            ..r.clone()
        };
        let (layer, message) = docs.accepted(201).unwrap();
        assert_eq!(layer, Layer::Documented);
        assert!(
            message.starts_with("answered 201 to a request whose `applicationId` is \""),
            "{message}"
        );
        assert!(message.ends_with("; the docs require a UUID (llms.txt#a)"), "{message}");
        let reference = Refusal {
            basis: Basis::Reference { reason: "why".into() },
            ..r
        };
        assert_eq!(reference.accepted(200).unwrap().0, Layer::Reference);
    }
}
