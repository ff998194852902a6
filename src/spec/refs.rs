//! JSON pointers and `$ref`s over the whole OpenAPI document.
//!
//! Job: follow local `#/...` references (with cycle protection), list the
//! references that point nowhere, refuse external references, and inline
//! schemas for consumers that want a self-contained value (the fuzzer).
//! It must not convert schemas (that is `convert`) or validate anything.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::yaml::escape_token;

/// Keys whose children are names (of properties, components, ...), not
/// keywords: a child called `example` or `default` there is a name.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "schemas",
    "responses",
    "parameters",
    "headers",
    "securitySchemes",
    "requestBodies",
    "callbacks",
    "links",
    "pathItems",
    "paths",
    "webhooks",
    "content",
    "encoding",
];

/// Keys holding literal data (never references).
const LITERAL_KEYS: &[&str] = &["example", "default", "enum", "const", "value"];

/// Join a `#/...` pointer and one unescaped token.
pub(crate) fn child(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_token(token))
}

/// Look up a `#/...` (or `/...`, or `""`) pointer in the document.
pub(crate) fn get<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let p = pointer.strip_prefix('#').unwrap_or(pointer);
    doc.pointer(p)
}

/// Percent-decode a URI fragment (invalid escapes are kept as written).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode a JSON pointer for use as a URI fragment.
pub(crate) fn percent_encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for b in pointer.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `$ref` string of a reference object, if `v` is one.
pub(crate) fn ref_of(v: &Value) -> Option<&str> {
    v.as_object()?.get("$ref")?.as_str()
}

/// Follow `$ref`s from `pointer` until a non-reference node. Returns the
/// pointer of that node and the node. `None` if a reference is external,
/// dangling, or the chain loops.
pub(crate) fn follow<'a>(doc: &'a Value, pointer: &str) -> Option<(String, &'a Value)> {
    let mut p = pointer.to_string();
    let mut v = get(doc, &p)?;
    let mut seen = 0;
    while let Some(r) = ref_of(v) {
        if !r.starts_with('#') {
            return None;
        }
        seen += 1;
        if seen > 64 {
            return None;
        }
        p = percent_decode(r);
        v = get(doc, &p)?;
    }
    Some((p, v))
}

/// Like [`follow`] but starting from a value found at `pointer`.
pub(crate) fn follow_value<'a>(doc: &'a Value, pointer: &str, v: &'a Value) -> Option<(String, &'a Value)> {
    match ref_of(v) {
        None => Some((pointer.to_string(), v)),
        Some(_) => follow(doc, pointer),
    }
}

/// A `$ref` found in the document: the reference and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefSite {
    pub reference: String,
    /// Pointer of the object holding the `$ref`.
    pub site: String,
}

/// Every `$ref` string in the document (no sites: cheap), skipping
/// literal data like [`all_refs`].
pub(crate) fn ref_strings(doc: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack: Vec<(&Value, bool)> = vec![(doc, false)];
    while let Some((v, names)) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, child_v) in m {
                    if !names {
                        if k == "$ref" {
                            if let Value::String(s) = child_v {
                                out.push(s.as_str());
                            }
                            continue;
                        }
                        if LITERAL_KEYS.contains(&k.as_str()) || (k == "examples" && child_v.is_array()) {
                            continue;
                        }
                    }
                    stack.push((child_v, NAME_MAPS.contains(&k.as_str())));
                }
            }
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, false))),
            _ => {}
        }
    }
    out
}

/// Every `$ref` string in the document with where it was written,
/// skipping literal data (examples, defaults, enums).
pub(crate) fn all_refs(doc: &Value) -> Vec<RefSite> {
    let mut out = Vec::new();
    // Explicit stack: (value, pointer, parent key).
    let mut stack: Vec<(&Value, String, Option<&str>)> = vec![(doc, "#".to_string(), None)];
    while let Some((v, p, parent)) = stack.pop() {
        match v {
            Value::Object(m) => {
                let names = parent.is_some_and(|k| NAME_MAPS.contains(&k));
                for (k, child_v) in m {
                    if !names {
                        if k == "$ref" {
                            if let Value::String(s) = child_v {
                                out.push(RefSite {
                                    reference: s.clone(),
                                    site: p.clone(),
                                });
                            }
                            continue;
                        }
                        if LITERAL_KEYS.contains(&k.as_str()) {
                            continue;
                        }
                        if k == "examples" && child_v.is_array() {
                            continue;
                        }
                    }
                    stack.push((child_v, child(&p, k), Some(k.as_str())));
                }
            }
            Value::Array(a) => {
                for (i, child_v) in a.iter().enumerate() {
                    stack.push((child_v, format!("{p}/{i}"), None));
                }
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.site.cmp(&b.site));
    out
}

/// Local references that do not resolve, as "`REF` (at SITE)".
pub(crate) fn unresolved(doc: &Value) -> Vec<String> {
    let dangling = |r: &str| r.starts_with('#') && get(doc, &percent_decode(r)).is_none();
    if !ref_strings(doc).into_iter().any(dangling) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for r in all_refs(doc) {
        if dangling(&r.reference) {
            out.push(format!("{} (at {})", r.reference, r.site));
        }
    }
    out
}

/// Inline local `$ref`s in a schema, for a self-contained value. A
/// reference already being expanded (a cycle) is replaced by
/// `{"x-recursive-ref": REF}` (an always-true schema); once `budget` nodes
/// have been produced, remaining references stay as `$ref`.
pub(crate) fn inline(doc: &Value, v: &Value, budget: &mut usize) -> Value {
    let mut active = BTreeSet::new();
    inline_rec(doc, v, &mut active, budget, 0)
}

fn inline_rec(doc: &Value, v: &Value, active: &mut BTreeSet<String>, budget: &mut usize, depth: usize) -> Value {
    *budget = budget.saturating_sub(1);
    if depth > 64 {
        return v.clone();
    }
    match v {
        Value::Object(m) => {
            if let Some(r) = ref_of(v) {
                let decoded = percent_decode(r);
                if r.starts_with('#') && *budget > 0 {
                    if active.contains(&decoded) {
                        let mut cut = Map::new();
                        cut.insert("x-recursive-ref".into(), Value::String(r.to_string()));
                        return Value::Object(cut);
                    }
                    if let Some(target) = get(doc, &decoded) {
                        active.insert(decoded.clone());
                        let mut out = inline_rec(doc, target, active, budget, depth + 1);
                        active.remove(&decoded);
                        // Siblings of `$ref` (3.1, or `nullable` in 3.0) stay
                        // beside an `allOf` of the target.
                        if m.len() > 1 {
                            let mut all = Map::new();
                            for (k, x) in m {
                                if k != "$ref" {
                                    let keep_literal = LITERAL_KEYS.contains(&k.as_str());
                                    let nv = if keep_literal {
                                        x.clone()
                                    } else {
                                        inline_rec(doc, x, active, budget, depth + 1)
                                    };
                                    all.insert(k.clone(), nv);
                                }
                            }
                            all.insert("allOf".into(), Value::Array(vec![out]));
                            out = Value::Object(all);
                        }
                        return out;
                    }
                }
                return v.clone();
            }
            let mut out = Map::new();
            for (k, x) in m {
                let keep_literal = LITERAL_KEYS.contains(&k.as_str());
                let nv = if keep_literal {
                    x.clone()
                } else {
                    inline_rec(doc, x, active, budget, depth + 1)
                };
                out.insert(k.clone(), nv);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| inline_rec(doc, x, active, budget, depth + 1))
                .collect(),
        ),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_and_fragments() {
        assert_eq!(child("#/paths", "/api/jobs/{id}"), "#/paths/~1api~1jobs~1{id}");
        assert_eq!(percent_encode_fragment("/paths/~1a~1{id}"), "/paths/~1a~1%7Bid%7D");
        assert_eq!(percent_decode("/paths/~1a~1%7Bid%7D"), "/paths/~1a~1{id}");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn follow_and_cycles() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/c"}, "c": 1, "x": {"$ref": "#/x"}});
        assert_eq!(follow(&doc, "#/a").unwrap().0, "#/c");
        assert!(follow(&doc, "#/x").is_none());
        let doc = json!({"s": {"properties": {"me": {"$ref": "#/s"}, "example": {"$ref": "#/nope"}}}, "example": {"$ref": "#/nope2"}});
        let un = unresolved(&doc);
        assert_eq!(un, vec!["#/nope (at #/s/properties/example)".to_string()]);
        let mut budget = 1000;
        let v = inline(&doc, &json!({"$ref": "#/s"}), &mut budget);
        assert_eq!(v["properties"]["me"], json!({"x-recursive-ref": "#/s"}));
    }
}
