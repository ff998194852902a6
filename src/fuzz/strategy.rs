//! Proptest strategies for JSON values that satisfy a (resolved or
//! `$ref`-carrying) OpenAPI 3.0 or 3.1 schema.
//!
//! Covers types and type arrays, `nullable`, formats (uuid, date, date-time,
//! email, uri, int32/int64), `enum`, `const`, bounds (exclusive too),
//! string lengths, simple patterns, required and optional properties
//! (optional ones sometimes present; `minProperties` honoured), nested
//! objects and arrays, `oneOf`/`anyOf` (one branch) and `allOf` (merged).
//! Depth and sizes are bounded. Cross-field rules a schema cannot say
//! (`budget_max >= budget_min`) are not known here. No HTTP, no I/O.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Number, Value};

use super::schema::{branches, numeric_bounds, types_of};

/// Limits of generation.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Objects deeper than this get only their required properties, arrays only `minItems`.
    pub max_depth: usize,
    /// Arrays get at most `minItems + max_extra_items` items.
    pub max_extra_items: usize,
    /// Strings get at most `minLength + max_extra_chars` characters.
    pub max_extra_chars: usize,
    /// Probability that an optional property is present.
    pub optional_presence: f64,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            max_depth: 5,
            max_extra_items: 3,
            max_extra_chars: 300,
            optional_presence: 0.5,
        }
    }
}

/// Known-good values for properties with a given name (real ids, real
/// categories), preferred over schema-generated ones so that generation
/// reaches past `404` and validation into the handlers. For an array
/// property the values are used as its items.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// Property name → values to pick from.
    pub by_name: BTreeMap<String, Vec<Value>>,
}

impl Hints {
    /// Adds (or replaces) the values for a property name.
    pub fn set(&mut self, name: &str, values: Vec<Value>) {
        if !values.is_empty() {
            self.by_name.insert(name.to_string(), values);
        }
    }
}

/// A strategy for values valid against `schema`, resolving `$ref`s in `root`.
pub fn value_strategy(schema: &Value, root: &Value) -> BoxedStrategy<Value> {
    Generator::new(root, GenConfig::default(), Hints::default()).strategy(schema)
}

/// Builds strategies with a configuration and hints.
#[derive(Debug, Clone)]
pub struct Generator {
    root: Arc<Value>,
    cfg: GenConfig,
    hints: Hints,
}

/// Depth beyond which generation stops recursing at all (recursive schemas).
const HARD_DEPTH: usize = 12;

impl Generator {
    /// A generator over the document `root` (for `$ref`s).
    pub fn new(root: &Value, cfg: GenConfig, hints: Hints) -> Self {
        Generator {
            root: Arc::new(root.clone()),
            cfg,
            hints,
        }
    }

    /// A strategy for values valid against `schema`.
    pub fn strategy(&self, schema: &Value) -> BoxedStrategy<Value> {
        self.any(schema, 0, None)
    }

    /// A strategy for the value of a property or parameter called `name`
    /// (hints for that name apply).
    pub fn named(&self, name: &str, schema: &Value) -> BoxedStrategy<Value> {
        self.any(schema, 0, Some(name))
    }

    /// The document `$ref`s resolve in.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// A strategy for one branch of a schema (see [`branches`]).
    pub fn branch_strategies(&self, schema: &Value) -> Vec<(Value, BoxedStrategy<Value>)> {
        branches(schema, &self.root)
            .into_iter()
            .map(|b| {
                let s = self.any(&b, 0, None);
                (b, s)
            })
            .collect()
    }

    fn any(&self, schema: &Value, depth: usize, name: Option<&str>) -> BoxedStrategy<Value> {
        if depth > HARD_DEPTH {
            return Just(Value::Null).boxed();
        }
        let alternatives = branches(schema, &self.root);
        let mut strategies: Vec<BoxedStrategy<Value>> =
            alternatives.iter().map(|b| self.single(b, depth, name)).collect();
        let schema_strategy = if strategies.len() == 1 {
            strategies.remove(0)
        } else {
            proptest::strategy::Union::new(strategies).boxed()
        };
        match name.and_then(|n| self.hints.by_name.get(n)) {
            Some(values) if !is_array_schema(&alternatives) => {
                let pick = select(values.clone()).boxed();
                prop_oneof![4 => pick, 1 => schema_strategy].boxed()
            }
            _ => schema_strategy,
        }
    }

    /// One branch: no `oneOf`/`anyOf`/`allOf` left at the top.
    fn single(&self, schema: &Value, depth: usize, name: Option<&str>) -> BoxedStrategy<Value> {
        if let Some(c) = schema.get("const") {
            return Just(c.clone()).boxed();
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array)
            && !values.is_empty()
        {
            return select(values.clone()).boxed();
        }
        let types = types_of(schema);
        let mut parts: Vec<(u32, BoxedStrategy<Value>)> = Vec::new();
        let candidates: Vec<&str> = if types.is_empty() {
            vec!["string", "integer", "boolean"]
        } else {
            types
        };
        for t in candidates {
            let (weight, s) = match t {
                "null" => (1, Just(Value::Null).boxed()),
                "boolean" => (4, any::<bool>().prop_map(Value::Bool).boxed()),
                "integer" => (4, integer(schema)),
                "number" => (4, number(schema)),
                "string" => (4, self.string(schema)),
                "array" => (4, self.array(schema, depth, name)),
                "object" => (4, self.object(schema, depth)),
                _ => continue,
            };
            parts.push((weight, s));
        }
        match parts.len() {
            0 => Just(Value::Null).boxed(),
            1 => parts.remove(0).1,
            _ => proptest::strategy::Union::new_weighted(parts).boxed(),
        }
    }

    fn string(&self, schema: &Value) -> BoxedStrategy<Value> {
        let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize)
            .unwrap_or(usize::MAX)
            .min(min + self.cfg.max_extra_chars)
            .max(min);
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        let by_format = match format {
            "uuid" => Some(uuid_string().boxed()),
            "date-time" => Some(
                timestamp()
                    .prop_map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .boxed(),
            ),
            "date" => Some(timestamp().prop_map(|t| t.format("%Y-%m-%d").to_string()).boxed()),
            "email" => Some(regex_strategy("[a-z][a-z0-9]{0,9}@[a-z]{1,10}\\.(com|org|net|io)")),
            "uri" | "url" | "uri-reference" => Some(regex_strategy("https://example\\.com/[a-z0-9]{0,16}")),
            _ => None,
        };
        if let Some(s) = by_format {
            return s.prop_map(Value::String).boxed();
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && let Some(s) = pattern_strategy(pattern)
        {
            return s.prop_map(Value::String).boxed();
        }
        plain_string(min, max).prop_map(Value::String).boxed()
    }

    fn array(&self, schema: &Value, depth: usize, name: Option<&str>) -> BoxedStrategy<Value> {
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let extra = if depth >= self.cfg.max_depth {
            0
        } else {
            self.cfg.max_extra_items
        };
        let max = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as usize)
            .unwrap_or(usize::MAX)
            .min(min + extra)
            .max(min);
        let items = match name.and_then(|n| self.hints.by_name.get(n)) {
            Some(values) => select(values.clone()).boxed(),
            None => {
                let item_schema = schema.get("items").cloned().unwrap_or(Value::Object(Map::new()));
                self.any(&item_schema, depth + 1, None)
            }
        };
        proptest::collection::vec(items, min..=max)
            .prop_map(Value::Array)
            .boxed()
    }

    fn object(&self, schema: &Value, depth: usize) -> BoxedStrategy<Value> {
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default();
        let props: Vec<(String, Value)> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let min_props = schema.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
        let deep = depth >= self.cfg.max_depth;
        let mut fields: Vec<BoxedStrategy<(String, bool, Value)>> = Vec::new();
        for (key, prop_schema) in &props {
            let is_required = required.contains(key);
            if deep && !is_required {
                continue;
            }
            let value = self.any(prop_schema, depth + 1, Some(key));
            let presence: BoxedStrategy<bool> = if is_required {
                Just(true).boxed()
            } else {
                proptest::bool::weighted(self.cfg.optional_presence).boxed()
            };
            let key = key.clone();
            fields.push((presence, value).prop_map(move |(p, v)| (key.clone(), p, v)).boxed());
        }
        // Required names without a property schema: any small value.
        for key in required.iter().filter(|k| !props.iter().any(|(p, _)| p == *k)) {
            let key = key.clone();
            fields.push(
                any::<u8>()
                    .prop_map(move |n| (key.clone(), true, Value::from(n)))
                    .boxed(),
            );
        }
        fields
            .prop_map(move |fields| {
                let mut present = fields.iter().filter(|f| f.1).count();
                let mut obj = Map::new();
                for (key, on, value) in fields {
                    let on = on || {
                        let add = present < min_props;
                        present += usize::from(add);
                        add
                    };
                    if on {
                        obj.insert(key, value);
                    }
                }
                Value::Object(obj)
            })
            .boxed()
    }
}

fn is_array_schema(alternatives: &[Value]) -> bool {
    alternatives.len() == 1 && types_of(&alternatives[0]) == ["array"]
}

/// An integer within the schema's bounds (inclusive after exclusives), kept
/// to a modest range when a side is open.
fn integer(schema: &Value) -> BoxedStrategy<Value> {
    let (min, min_ex, max, max_ex) = numeric_bounds(schema);
    let format_min = match schema.get("format").and_then(Value::as_str) {
        Some("int32") => i32::MIN as i64,
        _ => i64::MIN / 2,
    };
    let format_max = match schema.get("format").and_then(Value::as_str) {
        Some("int32") => i32::MAX as i64,
        _ => i64::MAX / 2,
    };
    let lo = min.map(|m| if min_ex { m.floor() as i64 + 1 } else { m.ceil() as i64 });
    let hi = max.map(|m| if max_ex { m.ceil() as i64 - 1 } else { m.floor() as i64 });
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo.saturating_add(10_000_000)),
        (None, Some(hi)) => (hi.saturating_sub(10_000_000), hi),
        (None, None) => (-1_000_000, 10_000_000),
    };
    let lo = lo.max(format_min);
    let hi = hi.min(format_max).max(lo);
    let multiple = schema.get("multipleOf").and_then(Value::as_i64).filter(|m| *m > 1);
    match multiple {
        Some(m) => {
            let first = lo.div_euclid(m) + i64::from(lo.rem_euclid(m) != 0);
            let last = hi.div_euclid(m).max(first);
            (first..=last).prop_map(move |k| Value::from(k * m)).boxed()
        }
        None => (lo..=hi).prop_map(Value::from).boxed(),
    }
}

/// A finite number within the bounds, with a fractional part most of the time.
fn number(schema: &Value) -> BoxedStrategy<Value> {
    let (min, min_ex, max, max_ex) = numeric_bounds(schema);
    let lo = min.unwrap_or(-1_000_000.0);
    let hi = max.unwrap_or(lo.max(0.0) + 1_000_000.0).max(lo);
    if hi <= lo {
        return Just(Number::from_f64(lo).map(Value::Number).unwrap_or(Value::Null)).boxed();
    }
    (lo..=hi)
        .prop_filter("exclusive bound", move |x| !(min_ex && *x <= lo || max_ex && *x >= hi))
        .prop_map(|x| Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null))
        .boxed()
}

/// A random version-4 UUID string.
fn uuid_string() -> impl Strategy<Value = String> {
    any::<[u8; 16]>().prop_map(|b| uuid::Builder::from_random_bytes(b).into_uuid().to_string())
}

/// A UTC time between 2000 and 2100, whole seconds.
fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800i64..4_102_444_800i64).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default())
}

fn regex_strategy(re: &str) -> BoxedStrategy<String> {
    proptest::string::string_regex(re)
        .map(|s| s.boxed())
        .unwrap_or_else(|_| Just(String::new()).boxed())
}

/// A strategy for a JSON-Schema `pattern`, when proptest can generate it:
/// one leading `^` and one trailing `$` are dropped (patterns are searches);
/// anything else anchored, or beyond the regex generator, gives `None`.
pub fn pattern_strategy(pattern: &str) -> Option<BoxedStrategy<String>> {
    let mut p = pattern.strip_prefix('^').unwrap_or(pattern);
    if p.ends_with('$') && !p.ends_with("\\$") {
        p = &p[..p.len() - 1];
    }
    let strategy = proptest::string::string_regex(p).ok()?;
    // Keep only strings the real pattern accepts (anchors elsewhere, look-arounds).
    let check = regex::Regex::new(pattern).ok()?;
    Some(strategy.prop_filter("pattern", move |s| check.is_match(s)).boxed())
}

/// Characters for plain strings: mostly ASCII letters and digits, some
/// punctuation and spaces, occasionally any Unicode scalar value.
fn plain_char() -> impl Strategy<Value = char> {
    prop_oneof![
        12 => proptest::char::ranges(vec!['a'..='z', 'A'..='Z', '0'..='9'].into()),
        2 => select(vec![' ', '-', '_', '.', ',', '\'', '"', '/', '&', '<', '{']),
        1 => any::<char>(),
    ]
}

/// A string of `min..=max` characters (Unicode scalar values). It shrinks
/// by length only, by binary search towards `min` (a few steps, where
/// deleting one character at a time would cost a request per character).
pub fn plain_string(min: usize, max: usize) -> impl Strategy<Value = String> {
    (proptest::collection::vec(plain_char(), max).no_shrink(), min..=max)
        .prop_map(|(chars, len)| chars.into_iter().take(len).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use serde_json::json;

    fn sample(schema: &Value, root: &Value, n: usize) -> Vec<Value> {
        let mut runner =
            TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
        let s = value_strategy(schema, root);
        (0..n).map(|_| s.new_tree(&mut runner).unwrap().current()).collect()
    }

    fn validator(schema: &Value) -> jsonschema::Validator {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&super::super::schema::to_json_schema(schema))
            .unwrap()
    }

    #[test]
    fn respects_scalar_constraints() {
        let schema = json!({"type": "object", "required": ["id", "n", "s", "e", "at", "mail"], "properties": {
            "id": {"type": "string", "format": "uuid"},
            "n": {"type": "integer", "minimum": 1, "maximum": 5},
            "x": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
            "s": {"type": "string", "minLength": 3, "maxLength": 7},
            "e": {"enum": ["a", "b"]},
            "at": {"type": "string", "format": "date-time"},
            "mail": {"type": "string", "format": "email"},
            "maybe": {"type": "string", "nullable": true},
            "c": {"const": 42}
        }});
        let v = validator(&schema);
        for value in sample(&schema, &json!({}), 200) {
            assert!(v.is_valid(&value), "{value}");
        }
    }

    #[test]
    fn optional_fields_sometimes_present_and_min_properties() {
        let schema = json!({"type": "object", "minProperties": 1, "properties": {
            "a": {"type": "string"}, "b": {"type": "integer"}}});
        let values = sample(&schema, &json!({}), 100);
        assert!(values.iter().all(|v| !v.as_object().unwrap().is_empty()));
        assert!(values.iter().any(|v| v.get("a").is_some()));
        assert!(values.iter().any(|v| v.get("a").is_none()));
    }

    #[test]
    fn branches_refs_and_arrays() {
        let root = json!({"components": {"schemas": {
            "Item": {"type": "object", "required": ["q"], "properties": {"q": {"type": "string", "minLength": 1}}},
            "Req": {"oneOf": [
                {"type": "object", "required": ["kind", "items"], "properties": {
                    "kind": {"enum": ["list"]},
                    "items": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/components/schemas/Item"}}}},
                {"allOf": [{"$ref": "#/components/schemas/Item"}, {"type": "object", "properties": {"w": {"type": "boolean"}}}]}
            ]}
        }}});
        let schema = json!({"$ref": "#/components/schemas/Req"});
        let mut doc = root.clone();
        doc["$ref"] = json!("#/components/schemas/Req");
        let v = validator(&doc);
        let values = sample(&schema, &root, 100);
        for value in &values {
            assert!(v.is_valid(value), "{value}");
        }
        assert!(values.iter().any(|v| v.get("kind").is_some()));
        assert!(values.iter().any(|v| v.get("kind").is_none()));
    }

    #[test]
    fn simple_patterns_are_honoured() {
        let schema = json!({"type": "string", "pattern": "^\\$[0-9]{1,3}(,[0-9]{3})*\\.[0-9]{2}$"});
        let re = regex::Regex::new("^\\$[0-9]{1,3}(,[0-9]{3})*\\.[0-9]{2}$").unwrap();
        for value in sample(&schema, &json!({}), 50) {
            assert!(re.is_match(value.as_str().unwrap()), "{value}");
        }
    }

    #[test]
    fn hints_are_preferred() {
        let schema = json!({"type": "object", "required": ["applicationId", "tags"], "properties": {
            "applicationId": {"type": "string", "format": "uuid"},
            "tags": {"type": "array", "items": {"type": "string"}}}});
        let mut hints = Hints::default();
        hints.set("applicationId", vec![json!("11111111-1111-4111-8111-111111111111")]);
        hints.set("tags", vec![json!("Research")]);
        let g = Generator::new(&json!({}), GenConfig::default(), hints);
        let mut runner = TestRunner::deterministic();
        let s = g.strategy(&schema);
        let values: Vec<Value> = (0..50).map(|_| s.new_tree(&mut runner).unwrap().current()).collect();
        assert!(
            values
                .iter()
                .filter(|v| v["applicationId"] == json!("11111111-1111-4111-8111-111111111111"))
                .count()
                > 25
        );
        assert!(
            values
                .iter()
                .all(|v| v["tags"].as_array().unwrap().iter().all(|t| t == "Research"))
        );
    }
}
