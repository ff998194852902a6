//! Small helpers over JSON schemas as `serde_json::Value`: `$ref` lookup,
//! `allOf` merging, branch expansion of `oneOf`/`anyOf`, the set of types a
//! schema allows (OpenAPI 3.0 `nullable` and 3.1 type arrays alike), and
//! the 3.0 → JSON Schema conversion used to validate generated bodies;
//! and, over the document as written, where a constraint sits and which
//! documentation it cites (`x-doc`, see [`doc_refs`]).
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

/// The extension naming the documentation a part of the spec rests on:
/// a list of references (`[llms.txt#browse-and-apply, "openapi:POST /api/jobs/{id}/apply"]`)
/// or one string.
pub const X_DOC: &str = "x-doc";
/// The extension saying that a query parameter's `enum` is closed: a value
/// outside it must be refused. Without it, an enum of a query parameter
/// only lists the values the docs name.
pub const X_REFUSE_OTHERS: &str = "x-refuse-others";

/// Looks up a `#/...` pointer in the document.
pub fn at_pointer<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let p = pointer.strip_prefix('#').unwrap_or(pointer);
    doc.pointer(p)
}

/// `pointer` extended by one (unescaped) token.
pub fn child_pointer(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// The parent of a `#/...` pointer (`None` for the root `#`).
fn parent_pointer(pointer: &str) -> Option<&str> {
    let i = pointer.rfind('/')?;
    Some(&pointer[..i])
}

/// The `x-doc` of one node: a list of strings, or one string.
fn own_refs(node: &Value) -> Option<Vec<String>> {
    match node.get(X_DOC)? {
        Value::String(s) if !s.trim().is_empty() => Some(vec![s.trim().to_string()]),
        Value::Array(items) => {
            let refs: Vec<String> = items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            (!refs.is_empty()).then_some(refs)
        }
        _ => None,
    }
}

/// The documentation references of the place at `pointer`: the `x-doc` of
/// the node there or, failing that, of its nearest ancestor that has one
/// (a property's schema, its object schema, the parameter, the operation,
/// the path item...). Empty when no node on the way up cites any.
///
/// A `$ref` is not followed backwards: a schema in `components` reaches
/// only its own ancestors. To continue from the place that uses it, see
/// [`doc_refs_along`].
pub fn doc_refs(doc: &Value, pointer: &str) -> Vec<String> {
    let mut current = Some(pointer.trim_end_matches('/'));
    while let Some(p) = current {
        if let Some(refs) = at_pointer(doc, p).and_then(own_refs) {
            return refs;
        }
        current = parent_pointer(p);
    }
    Vec::new()
}

/// The first non-empty [`doc_refs`] of `chain`, a list of pointers from
/// the innermost place out (a property, the schema that `$ref`s it, the
/// request body, the operation...).
pub fn doc_refs_along<S: AsRef<str>>(doc: &Value, chain: &[S]) -> Vec<String> {
    chain
        .iter()
        .map(|p| doc_refs(doc, p.as_ref()))
        .find(|r| !r.is_empty())
        .unwrap_or_default()
}

/// The schema nodes visited from the schema at `start` down to the
/// property at `path` (property names), outermost first: every `$ref` hop
/// and every `allOf`/`oneOf`/`anyOf` part on the way, ending at the
/// property's schema (its `$ref` followed). `None` when the document does
/// not lead there.
pub fn schema_trail(doc: &Value, start: &str, path: &[String]) -> Option<Vec<String>> {
    let mut trail = Vec::new();
    walk_trail(doc, start, path, &mut trail, 0).then_some(trail)
}

fn walk_trail(doc: &Value, pointer: &str, path: &[String], trail: &mut Vec<String>, depth: usize) -> bool {
    if depth > 4 * MAX_REF_HOPS {
        return false;
    }
    let Some(node) = at_pointer(doc, pointer) else {
        return false;
    };
    trail.push(pointer.to_string());
    if let Some(target) = node.get("$ref").and_then(Value::as_str).filter(|r| r.starts_with('#')) {
        if walk_trail(doc, target, path, trail, depth + 1) {
            return true;
        }
        if path.is_empty() {
            return true;
        }
    } else if path.is_empty() {
        return true;
    } else {
        if node.get("properties").and_then(|p| p.get(&path[0])).is_some() {
            let next = child_pointer(&child_pointer(pointer, "properties"), &path[0]);
            if walk_trail(doc, &next, &path[1..], trail, depth + 1) {
                return true;
            }
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            let n = node.get(key).and_then(Value::as_array).map_or(0, Vec::len);
            for i in 0..n {
                let part = child_pointer(&child_pointer(pointer, key), &i.to_string());
                if walk_trail(doc, &part, path, trail, depth + 1) {
                    return true;
                }
            }
        }
    }
    trail.pop();
    false
}

/// True when some node of `trail` says `x-refuse-others: true`.
pub fn refuses_others<S: AsRef<str>>(doc: &Value, trail: &[S]) -> bool {
    trail.iter().any(|p| {
        at_pointer(doc, p.as_ref())
            .and_then(|n| n.get(X_REFUSE_OTHERS))
            .and_then(Value::as_bool)
            == Some(true)
    })
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

    fn documented() -> Value {
        json!({
            "paths": {"/api/jobs/{id}/apply": {"post": {
                "x-doc": ["openapi:POST /api/jobs/{id}/apply"],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Apply"}}}}
            }}},
            "components": {"schemas": {
                "Apply": {"type": "object", "x-doc": "llms.txt#apply", "properties": {
                    "message": {"type": "string", "minLength": 10, "x-doc": ["llms.txt#message", 7]},
                    "price": {"type": "integer"},
                    "meta": {"$ref": "#/components/schemas/Meta"}
                }},
                "Meta": {"allOf": [{"type": "object", "properties": {"note": {"type": "string", "x-refuse-others": true}}}]},
                "Bare": {"type": "object", "properties": {"a/b": {"type": "string"}}}
            }}
        })
    }

    #[test]
    fn nearest_doc_reference_up_the_ancestors() {
        let d = documented();
        assert_eq!(
            doc_refs(&d, "#/components/schemas/Apply/properties/message/minLength"),
            ["llms.txt#message"]
        );
        assert_eq!(
            doc_refs(&d, "#/components/schemas/Apply/properties/price"),
            ["llms.txt#apply"]
        );
        assert!(doc_refs(&d, "#/components/schemas/Bare/properties/a~1b").is_empty());
        assert!(doc_refs(&d, "#/nowhere/at/all").is_empty());
        let chain = [
            "#/components/schemas/Bare",
            "#/paths/~1api~1jobs~1{id}~1apply/post/requestBody",
        ];
        assert_eq!(doc_refs_along(&d, &chain), ["openapi:POST /api/jobs/{id}/apply"]);
    }

    #[test]
    fn trails_follow_refs_and_all_of() {
        let d = documented();
        let start = "#/paths/~1api~1jobs~1{id}~1apply/post/requestBody/content/application~1json/schema";
        let trail = schema_trail(&d, start, &["meta".into(), "note".into()]).unwrap();
        assert_eq!(
            trail,
            [
                start,
                "#/components/schemas/Apply",
                "#/components/schemas/Apply/properties/meta",
                "#/components/schemas/Meta",
                "#/components/schemas/Meta/allOf/0",
                "#/components/schemas/Meta/allOf/0/properties/note",
            ]
        );
        assert!(refuses_others(&d, &trail));
        assert!(schema_trail(&d, start, &["nothing".into()]).is_none());
        let bare = schema_trail(&d, "#/components/schemas/Bare", &["a/b".into()]).unwrap();
        assert_eq!(bare.last().unwrap(), "#/components/schemas/Bare/properties/a~1b");
        assert!(!refuses_others(&d, &bare));
    }
}
