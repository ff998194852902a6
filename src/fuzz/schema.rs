//! Small helpers over JSON schemas as `serde_json::Value`: `$ref` lookup,
//! `allOf` merging, branch expansion of `oneOf`/`anyOf`, the set of types a
//! schema allows (OpenAPI 3.0 `nullable` and 3.1 type arrays alike), and
//! the 3.0 → JSON Schema conversion used to validate generated bodies.
//!
//! Pure data; no generation, no HTTP.

use serde_json::{Map, Value, json};

/// Maximum `$ref` hops followed before giving up (a cycle of refs).
const MAX_REF_HOPS: usize = 32;

/// Follows `$ref` (only local `#/...` pointers into `root`) until a schema
/// without `$ref` is reached. Siblings of `$ref` (3.1) are merged over the
/// target. Unknown refs resolve to `{}` (anything).
pub fn resolve(schema: &Value, root: &Value) -> Value {
    let mut current = schema.clone();
    for _ in 0..MAX_REF_HOPS {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        let target = reference
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .cloned()
            .unwrap_or_else(|| json!({}));
        let mut siblings = current.as_object().cloned().unwrap_or_default();
        siblings.remove("$ref");
        current = if siblings.is_empty() {
            target
        } else {
            merge(&target, &Value::Object(siblings))
        };
    }
    json!({})
}

/// Resolves `schema` and flattens every `allOf` into one schema (nested
/// `allOf`s included). `oneOf`/`anyOf` stay in place.
pub fn flatten(schema: &Value, root: &Value) -> Value {
    flatten_depth(schema, root, 0)
}

fn flatten_depth(schema: &Value, root: &Value, depth: usize) -> Value {
    let resolved = resolve(schema, root);
    if depth > MAX_REF_HOPS {
        return resolved;
    }
    let Some(obj) = resolved.as_object() else {
        return resolved;
    };
    let Some(parts) = obj.get("allOf").and_then(Value::as_array) else {
        return resolved;
    };
    let mut base = obj.clone();
    base.remove("allOf");
    let mut merged = Value::Object(base);
    for part in parts {
        let part = flatten_depth(part, root, depth + 1);
        merged = merge(&merged, &part);
    }
    // A part may itself have brought an `allOf` (through a ref): flatten again.
    if merged.get("allOf").is_some() {
        flatten_depth(&merged, root, depth + 1)
    } else {
        merged
    }
}

/// Merges two schemas as `allOf: [a, b]` would constrain: properties
/// united (shared ones merged), `required` united, bounds tightened, enums
/// intersected; for any other keyword the first one present wins.
pub fn merge(a: &Value, b: &Value) -> Value {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return if a.as_object().is_some_and(|o| !o.is_empty()) {
            a.clone()
        } else {
            b.clone()
        };
    };
    let mut out = a.clone();
    for (key, bv) in b {
        let Some(av) = out.get(key).cloned() else {
            out.insert(key.clone(), bv.clone());
            continue;
        };
        let merged = match key.as_str() {
            "properties" => {
                let mut props = av.as_object().cloned().unwrap_or_default();
                for (name, s) in bv.as_object().into_iter().flatten() {
                    let m = match props.get(name) {
                        Some(existing) => merge(existing, s),
                        None => s.clone(),
                    };
                    props.insert(name.clone(), m);
                }
                Value::Object(props)
            }
            "required" => {
                let mut req: Vec<Value> = av.as_array().cloned().unwrap_or_default();
                for r in bv.as_array().into_iter().flatten() {
                    if !req.contains(r) {
                        req.push(r.clone());
                    }
                }
                Value::Array(req)
            }
            "minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties" => max_number(&av, bv),
            "maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties" => min_number(&av, bv),
            "enum" => {
                let bs = bv.as_array().cloned().unwrap_or_default();
                let inter: Vec<Value> = av
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|v| bs.contains(v))
                    .cloned()
                    .collect();
                if inter.is_empty() {
                    bv.clone()
                } else {
                    Value::Array(inter)
                }
            }
            "items" => merge(&av, bv),
            "allOf" => {
                let mut all = av.as_array().cloned().unwrap_or_default();
                all.extend(bv.as_array().cloned().unwrap_or_default());
                Value::Array(all)
            }
            // A later, narrower `type` wins over a broader one.
            "type" | "const" | "format" | "pattern" => bv.clone(),
            "nullable" => Value::Bool(av.as_bool().unwrap_or(false) && bv.as_bool().unwrap_or(false)),
            "oneOf" | "anyOf" => {
                // Two alternative sets: keep the first here and the second as a nested allOf part.
                let mut all = out.get("allOf").and_then(Value::as_array).cloned().unwrap_or_default();
                all.push(json!({ key.clone(): bv.clone() }));
                out.insert("allOf".into(), Value::Array(all));
                av
            }
            _ => av,
        };
        out.insert(key.clone(), merged);
    }
    Value::Object(out)
}

fn max_number(a: &Value, b: &Value) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if y > x => b.clone(),
        (Some(_), _) => a.clone(),
        _ => b.clone(),
    }
}

fn min_number(a: &Value, b: &Value) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if y < x => b.clone(),
        (Some(_), _) => a.clone(),
        _ => b.clone(),
    }
}

/// The alternatives of a (flattened) schema: for `oneOf`/`anyOf`, each branch
/// merged with the rest of the schema; otherwise the schema itself.
pub fn branches(schema: &Value, root: &Value) -> Vec<Value> {
    let flat = flatten(schema, root);
    let Some(obj) = flat.as_object() else { return vec![flat] };
    let key = if obj.contains_key("oneOf") {
        "oneOf"
    } else if obj.contains_key("anyOf") {
        "anyOf"
    } else {
        return vec![flat];
    };
    let alternatives = obj.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut base = obj.clone();
    base.remove(key);
    if alternatives.is_empty() {
        return vec![Value::Object(base)];
    }
    let base = Value::Object(base);
    alternatives
        .iter()
        .map(|alt| flatten(&merge(&base, &flatten(alt, root)), root))
        .collect()
}

/// JSON types a flattened schema allows, in a stable order; `null` when
/// nullable. An empty list means "any type".
pub fn types_of(schema: &Value) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let mut push = |t: &str| {
        let t = match t {
            "object" => "object",
            "array" => "array",
            "string" => "string",
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            "null" => "null",
            _ => return,
        };
        if !out.contains(&t) {
            out.push(t);
        }
    };
    match schema.get("type") {
        Some(Value::String(t)) => push(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).for_each(&mut push),
        _ => {
            if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                for v in values {
                    push(json_type(v));
                }
            } else if let Some(c) = schema.get("const") {
                push(json_type(c));
            } else if schema.get("properties").is_some() || schema.get("required").is_some() {
                push("object");
            } else if schema.get("items").is_some() {
                push("array");
            } else if schema.get("minLength").is_some()
                || schema.get("maxLength").is_some()
                || schema.get("pattern").is_some()
                || schema.get("format").is_some()
            {
                push("string");
            } else if schema.get("minimum").is_some() || schema.get("maximum").is_some() {
                push("number");
            }
        }
    }
    let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
    if nullable && !out.is_empty() && !out.contains(&"null") {
        out.push("null");
    }
    out
}

/// The JSON type name of a value (`integer` for whole numbers).
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Converts an OpenAPI 3.0 schema tree to plain JSON Schema: `nullable: true`
/// becomes a type array with `null` (and `null` in any `enum`), and the 3.0
/// boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers. Used on the
/// whole document so that `$ref`s still resolve.
pub fn to_json_schema(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        Value::Object(obj) => {
            let mut out: Map<String, Value> = obj.iter().map(|(k, v)| (k.clone(), to_json_schema(v))).collect();
            if out.get("nullable").and_then(Value::as_bool) == Some(true) {
                out.remove("nullable");
                match out.get("type").cloned() {
                    Some(Value::String(t)) => {
                        out.insert("type".into(), json!([t, "null"]));
                    }
                    Some(Value::Array(mut ts)) => {
                        if !ts.contains(&json!("null")) {
                            ts.push(json!("null"));
                        }
                        out.insert("type".into(), Value::Array(ts));
                    }
                    _ => {}
                }
                if let Some(Value::Array(values)) = out.get_mut("enum")
                    && !values.contains(&Value::Null)
                {
                    values.push(Value::Null);
                }
                if out.contains_key("$ref") || out.contains_key("allOf") || out.contains_key("oneOf") {
                    let inner = Value::Object(std::mem::take(&mut out));
                    return json!({"anyOf": [{"type": "null"}, inner]});
                }
            }
            for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
                if let Some(Value::Bool(b)) = out.get(flag).cloned() {
                    out.remove(flag);
                    if b && let Some(n) = out.remove(bound) {
                        out.insert(flag.into(), n);
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The effective lower and upper bounds of a numeric schema as
/// `(min, min_exclusive, max, max_exclusive)`, for 3.0 (boolean
/// exclusives) and 3.1 (numeric exclusives) alike.
pub fn numeric_bounds(schema: &Value) -> (Option<f64>, bool, Option<f64>, bool) {
    let mut min = schema.get("minimum").and_then(Value::as_f64);
    let mut max = schema.get("maximum").and_then(Value::as_f64);
    let mut min_ex = false;
    let mut max_ex = false;
    match schema.get("exclusiveMinimum") {
        Some(Value::Bool(true)) => min_ex = true,
        Some(v) if v.is_number() => {
            let x = v.as_f64().unwrap_or_default();
            if min.is_none_or(|m| x >= m) {
                min = Some(x);
                min_ex = true;
            }
        }
        _ => {}
    }
    match schema.get("exclusiveMaximum") {
        Some(Value::Bool(true)) => max_ex = true,
        Some(v) if v.is_number() => {
            let x = v.as_f64().unwrap_or_default();
            if max.is_none_or(|m| x <= m) {
                max = Some(x);
                max_ex = true;
            }
        }
        _ => {}
    }
    (min, min_ex, max, max_ex)
}

/// Whether an integer field carries money (USD cents): its description
/// says "cents", or its name is a budget, price, amount, balance or fee.
pub fn is_cents(name: &str, schema: &Value) -> bool {
    let described = schema
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| d.to_ascii_lowercase().contains("cents"));
    let lower = name.to_ascii_lowercase();
    let named = ["budget", "price", "amount", "cents", "balance", "fee"]
        .iter()
        .any(|w| lower.contains(w));
    described || named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Value {
        json!({"components": {"schemas": {
            "Base": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
            "Ext": {"allOf": [{"$ref": "#/components/schemas/Base"},
                               {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer", "minimum": 1}}}]},
            "Either": {"oneOf": [{"$ref": "#/components/schemas/Base"}, {"type": "string"}]}
        }}})
    }

    #[test]
    fn flattens_all_of_through_refs() {
        let r = root();
        let flat = flatten(&json!({"$ref": "#/components/schemas/Ext"}), &r);
        assert_eq!(flat["required"], json!(["a", "b"]));
        assert_eq!(flat["properties"]["b"]["minimum"], json!(1));
        assert_eq!(flat["type"], json!("object"));
    }

    #[test]
    fn expands_branches() {
        let r = root();
        let b = branches(&json!({"$ref": "#/components/schemas/Either"}), &r);
        assert_eq!(b.len(), 2);
        assert_eq!(types_of(&b[0]), ["object"]);
        assert_eq!(types_of(&b[1]), ["string"]);
    }

    #[test]
    fn nullable_and_type_arrays() {
        assert_eq!(
            types_of(&json!({"type": "string", "nullable": true})),
            ["string", "null"]
        );
        assert_eq!(types_of(&json!({"type": ["integer", "null"]})), ["integer", "null"]);
        let converted = to_json_schema(&json!({"type": "string", "nullable": true, "enum": ["a"]}));
        assert_eq!(converted, json!({"type": ["string", "null"], "enum": ["a", null]}));
    }

    #[test]
    fn bounds_of_both_dialects() {
        assert_eq!(
            numeric_bounds(&json!({"minimum": 1, "exclusiveMinimum": true})),
            (Some(1.0), true, None, false)
        );
        assert_eq!(
            numeric_bounds(&json!({"exclusiveMaximum": 5})),
            (None, false, Some(5.0), true)
        );
    }
}
