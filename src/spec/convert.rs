//! OpenAPI Schema Objects → JSON Schema 2020-12, over the whole document.
//!
//! Job: rewrite every schema in a copy of the document so that a JSON
//! Schema validator reads it as OpenAPI means it: `nullable: true` adds
//! `"null"` to the type (and to an enum), boolean `exclusiveMinimum` /
//! `exclusiveMaximum` become the numeric form, `discriminator`, `xml`,
//! `example` and `externalDocs` are dropped, and a property that is
//! `writeOnly` (in responses) or `readOnly` (in requests) is no longer
//! required. The layout of the document is kept, so a pointer into the
//! copy is a pointer into the original, except below a nullable schema
//! without a `type` (for example `nullable` next to `allOf` or `$ref`),
//! which is wrapped; [`Converted::original_pointer`] undoes that.
//!
//! It must not resolve references (they keep pointing into the copy) or
//! validate anything. The same rules apply to 3.0 and 3.1 documents
//! (3.1 schemas are JSON Schema already, a stray `nullable` is accepted).

use serde_json::{Map, Value, json};

use super::refs::{child, follow};

/// Which direction a schema describes: decides which of `readOnly` /
/// `writeOnly` properties stop being required, and how a nullable schema
/// without `type` is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// Responses: `writeOnly` properties are not required; wrap with
    /// `if: {type: null}, else: ...` so errors stay detailed.
    Response,
    /// Requests: `readOnly` properties are not required; wrap with
    /// `anyOf: [{type: null}, ...]` (friendlier to generators).
    Request,
}

/// The converted document and the pointer rewrites done while wrapping.
#[derive(Debug, Clone)]
pub(crate) struct Converted {
    pub doc: Value,
    /// (pointer in the copy, pointer in the original), for wrapped schemas.
    remaps: Vec<(String, String)>,
}

impl Converted {
    /// Map a `#/...` pointer into the copy back to the original document.
    pub(crate) fn original_pointer(&self, pointer: &str) -> String {
        let best = self
            .remaps
            .iter()
            .filter(|(conv, _)| {
                pointer == conv
                    || (pointer.starts_with(conv.as_str()) && pointer.as_bytes().get(conv.len()) == Some(&b'/'))
            })
            .max_by_key(|(conv, _)| conv.len());
        match best {
            Some((conv, orig)) => format!("{orig}{}", &pointer[conv.len()..]),
            None => pointer.to_string(),
        }
    }
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const DROPPED: &[&str] = &["discriminator", "xml", "example", "externalDocs", "nullable"];

/// Convert every schema of the document.
pub(crate) fn convert_document(original: &Value, view: View) -> Converted {
    let mut doc = original.clone();
    let mut cx = Cx {
        original,
        view,
        remaps: Vec::new(),
        budget: 200_000,
    };
    let root = "#".to_string();
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        let base = child(&root, "components");
        for_each_entry(components.get_mut("schemas"), &child(&base, "schemas"), |v, p| {
            cx.schema(v, p, p, 0)
        });
        for_each_entry(components.get_mut("responses"), &child(&base, "responses"), |v, p| {
            cx.response(v, p)
        });
        for_each_entry(components.get_mut("parameters"), &child(&base, "parameters"), |v, p| {
            cx.param(v, p)
        });
        for_each_entry(components.get_mut("headers"), &child(&base, "headers"), |v, p| {
            cx.param(v, p)
        });
        for_each_entry(
            components.get_mut("requestBodies"),
            &child(&base, "requestBodies"),
            |v, p| cx.content_holder(v, p),
        );
        for_each_entry(components.get_mut("pathItems"), &child(&base, "pathItems"), |v, p| {
            cx.path_item(v, p, 0)
        });
    }
    for_each_entry(doc.get_mut("paths"), &child(&root, "paths"), |v, p| {
        cx.path_item(v, p, 0)
    });
    for_each_entry(doc.get_mut("webhooks"), &child(&root, "webhooks"), |v, p| {
        cx.path_item(v, p, 0)
    });
    Converted { doc, remaps: cx.remaps }
}

/// Convert one self-contained schema (one with its `$ref`s inlined).
pub(crate) fn convert_schema(mut schema: Value, view: View) -> Value {
    let original = schema.clone();
    let mut cx = Cx {
        original: &original,
        view,
        remaps: Vec::new(),
        budget: 200_000,
    };
    cx.schema(&mut schema, "#", "#", 0);
    schema
}

fn for_each_entry(v: Option<&mut Value>, base: &str, mut f: impl FnMut(&mut Value, &str)) {
    if let Some(Value::Object(m)) = v {
        for (k, x) in m.iter_mut() {
            f(x, &child(base, k));
        }
    }
}

fn is_ref(v: &Value) -> bool {
    v.get("$ref").is_some_and(Value::is_string)
}

struct Cx<'a> {
    original: &'a Value,
    view: View,
    remaps: Vec<(String, String)>,
    /// Schema nodes left to visit (a guard against pathological inputs).
    budget: usize,
}

impl Cx<'_> {
    fn path_item(&mut self, v: &mut Value, p: &str, depth: usize) {
        if is_ref(v) || depth > 8 {
            return;
        }
        let Some(m) = v.as_object_mut() else { return };
        if let Some(Value::Array(params)) = m.get_mut("parameters") {
            let base = child(p, "parameters");
            for (i, x) in params.iter_mut().enumerate() {
                self.param(x, &format!("{base}/{i}"));
            }
        }
        for method in METHODS {
            if let Some(op) = m.get_mut(*method) {
                self.operation(op, &child(p, method), depth);
            }
        }
    }

    fn operation(&mut self, v: &mut Value, p: &str, depth: usize) {
        let Some(m) = v.as_object_mut() else { return };
        if let Some(Value::Array(params)) = m.get_mut("parameters") {
            let base = child(p, "parameters");
            for (i, x) in params.iter_mut().enumerate() {
                self.param(x, &format!("{base}/{i}"));
            }
        }
        if let Some(body) = m.get_mut("requestBody") {
            self.content_holder(body, &child(p, "requestBody"));
        }
        for_each_entry(m.get_mut("responses"), &child(p, "responses"), |v, p| {
            self.response(v, p)
        });
        if let Some(Value::Object(callbacks)) = m.get_mut("callbacks") {
            let base = child(p, "callbacks");
            for (name, cb) in callbacks.iter_mut() {
                if is_ref(cb) {
                    continue;
                }
                for_each_entry(Some(cb), &child(&base, name), |v, p| self.path_item(v, p, depth + 1));
            }
        }
    }

    fn response(&mut self, v: &mut Value, p: &str) {
        if is_ref(v) {
            return;
        }
        self.content_holder(v, p);
        if let Some(m) = v.as_object_mut() {
            for_each_entry(m.get_mut("headers"), &child(p, "headers"), |v, p| self.param(v, p));
        }
    }

    /// A parameter or header: `schema`, or `content`.
    fn param(&mut self, v: &mut Value, p: &str) {
        if is_ref(v) {
            return;
        }
        if let Some(s) = v.get_mut("schema") {
            let sp = child(p, "schema");
            self.schema(s, &sp, &sp, 0);
        }
        self.content_holder(v, p);
    }

    /// An object with `content: {media type: {schema}}`.
    fn content_holder(&mut self, v: &mut Value, p: &str) {
        if is_ref(v) {
            return;
        }
        let Some(Value::Object(content)) = v.get_mut("content") else {
            return;
        };
        let base = child(p, "content");
        for (ct, media) in content.iter_mut() {
            if let Some(s) = media.get_mut("schema") {
                let sp = child(&child(&base, ct), "schema");
                self.schema(s, &sp, &sp, 0);
            }
        }
    }

    /// Convert one schema in place. `conv` is its pointer in the copy,
    /// `orig` in the original document.
    fn schema(&mut self, v: &mut Value, conv: &str, orig: &str, depth: usize) {
        if depth > 128 || self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let Some(m) = v.as_object_mut() else { return };

        let nullable = m.get("nullable").and_then(Value::as_bool) == Some(true);
        for k in DROPPED {
            m.remove(*k);
        }
        fix_exclusive(m, "exclusiveMinimum", "minimum");
        fix_exclusive(m, "exclusiveMaximum", "maximum");
        self.relax_required(m);

        let mut wrap = false;
        if nullable {
            match m.get_mut("type") {
                Some(Value::String(t)) => {
                    if t != "null" {
                        let t = std::mem::take(t);
                        m.insert("type".into(), json!([t, "null"]));
                    }
                    add_null_to_enum(m);
                }
                Some(Value::Array(types)) => {
                    if !types.iter().any(|t| t == "null") {
                        types.push(json!("null"));
                    }
                    add_null_to_enum(m);
                }
                _ => {
                    let composite = ["allOf", "anyOf", "oneOf", "not", "$ref", "const"]
                        .iter()
                        .any(|k| m.contains_key(*k));
                    if composite {
                        wrap = true;
                    } else {
                        add_null_to_enum(m);
                    }
                }
            }
        }

        let (inner_conv, wrap_key) = match (wrap, self.view) {
            (false, _) => (conv.to_string(), ""),
            (true, View::Response) => (format!("{conv}/else"), "else"),
            (true, View::Request) => (format!("{conv}/anyOf/1"), "anyOf"),
        };
        if wrap {
            self.remaps.push((inner_conv.clone(), orig.to_string()));
        }

        for key in [
            "items",
            "additionalProperties",
            "not",
            "contains",
            "propertyNames",
            "if",
            "then",
            "else",
            "unevaluatedItems",
            "unevaluatedProperties",
            "additionalItems",
        ] {
            if let Some(s) = m.get_mut(key) {
                if s.is_object() {
                    self.schema(s, &child(&inner_conv, key), &child(orig, key), depth + 1);
                } else if let Value::Array(items) = s {
                    for (i, x) in items.iter_mut().enumerate() {
                        self.schema(
                            x,
                            &format!("{inner_conv}/{key}/{i}"),
                            &format!("{orig}/{key}/{i}"),
                            depth + 1,
                        );
                    }
                }
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
            if let Some(Value::Array(items)) = m.get_mut(key) {
                for (i, x) in items.iter_mut().enumerate() {
                    self.schema(
                        x,
                        &format!("{inner_conv}/{key}/{i}"),
                        &format!("{orig}/{key}/{i}"),
                        depth + 1,
                    );
                }
            }
        }
        for key in [
            "properties",
            "patternProperties",
            "$defs",
            "definitions",
            "dependentSchemas",
        ] {
            if let Some(Value::Object(props)) = m.get_mut(key) {
                let (cb, ob) = (child(&inner_conv, key), child(orig, key));
                for (name, x) in props.iter_mut() {
                    self.schema(x, &child(&cb, name), &child(&ob, name), depth + 1);
                }
            }
        }

        if wrap {
            let rest = std::mem::take(m);
            let wrapped = match wrap_key {
                "else" => json!({"if": {"type": "null"}, "else": Value::Object(rest)}),
                _ => json!({"anyOf": [{"type": "null"}, Value::Object(rest)]}),
            };
            *v = wrapped;
        }
    }

    /// Drop from `required` the properties this view does not require.
    fn relax_required(&self, m: &mut Map<String, Value>) {
        let flag = match self.view {
            View::Response => "writeOnly",
            View::Request => "readOnly",
        };
        let Some(Value::Array(required)) = m.get("required") else {
            return;
        };
        let Some(Value::Object(props)) = m.get("properties") else {
            return;
        };
        let drop: Vec<String> = required
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| {
                props.get(*name).is_some_and(|p| {
                    let target = match p.get("$ref").and_then(Value::as_str) {
                        Some(r) => follow(self.original, r).map(|(_, t)| t),
                        None => Some(p),
                    };
                    target.and_then(|t| t.get(flag)).and_then(Value::as_bool) == Some(true)
                })
            })
            .map(str::to_string)
            .collect();
        if drop.is_empty() {
            return;
        }
        if let Some(Value::Array(required)) = m.get_mut("required") {
            required.retain(|r| !r.as_str().is_some_and(|s| drop.iter().any(|d| d == s)));
        }
    }
}

fn add_null_to_enum(m: &mut Map<String, Value>) {
    if let Some(Value::Array(e)) = m.get_mut("enum")
        && !e.iter().any(Value::is_null)
    {
        e.push(Value::Null);
    }
}

/// OpenAPI 3.0 `exclusiveMinimum: true` + `minimum: m` → `exclusiveMinimum: m`.
fn fix_exclusive(m: &mut Map<String, Value>, exclusive: &str, bound: &str) {
    match m.get(exclusive) {
        Some(Value::Bool(true)) => match m.remove(bound) {
            Some(b) if b.is_number() => {
                m.insert(exclusive.to_string(), b);
            }
            _ => {
                m.remove(exclusive);
            }
        },
        Some(Value::Bool(false)) => {
            m.remove(exclusive);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(schema: Value, view: View) -> (Value, Converted) {
        let doc = json!({"components": {"schemas": {"S": schema}}});
        let c = convert_document(&doc, view);
        (c.doc["components"]["schemas"]["S"].clone(), c)
    }

    #[test]
    fn nullable_with_type_and_enum() {
        let (s, _) = conv(
            json!({"type": "string", "nullable": true, "enum": ["a"], "example": "a", "xml": {}}),
            View::Response,
        );
        assert_eq!(s, json!({"type": ["string", "null"], "enum": ["a", null]}));
        let (s, _) = conv(json!({"type": ["integer"], "nullable": true}), View::Response);
        assert_eq!(s, json!({"type": ["integer", "null"]}));
        let (s, _) = conv(json!({"type": "string", "nullable": false}), View::Response);
        assert_eq!(s, json!({"type": "string"}));
    }

    #[test]
    fn nullable_without_type_is_wrapped_and_remapped() {
        let (s, c) = conv(
            json!({"nullable": true, "allOf": [{"$ref": "#/x"}], "description": "d"}),
            View::Response,
        );
        assert_eq!(
            s,
            json!({"if": {"type": "null"}, "else": {"allOf": [{"$ref": "#/x"}], "description": "d"}})
        );
        assert_eq!(
            c.original_pointer("#/components/schemas/S/else/allOf/0"),
            "#/components/schemas/S/allOf/0"
        );
        assert_eq!(
            c.original_pointer("#/components/schemas/S/elsewhere"),
            "#/components/schemas/S/elsewhere"
        );
        let (s, _) = conv(json!({"nullable": true, "$ref": "#/x"}), View::Request);
        assert_eq!(s, json!({"anyOf": [{"type": "null"}, {"$ref": "#/x"}]}));
    }

    #[test]
    fn nested_wraps_map_back() {
        let (_, c) = conv(
            json!({"nullable": true, "allOf": [{"properties": {"p": {"nullable": true, "$ref": "#/x"}}}]}),
            View::Response,
        );
        let p = "#/components/schemas/S/else/allOf/0/properties/p/else/$ref";
        assert_eq!(
            c.original_pointer(p),
            "#/components/schemas/S/allOf/0/properties/p/$ref"
        );
    }

    #[test]
    fn exclusive_bounds_and_property_names() {
        let (s, _) = conv(
            json!({"type": "object", "properties": {"example": {"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}}}),
            View::Response,
        );
        assert_eq!(
            s["properties"]["example"],
            json!({"type": "integer", "exclusiveMinimum": 0, "maximum": 9})
        );
    }

    #[test]
    fn read_and_write_only_required() {
        let schema = json!({"type": "object", "required": ["id", "password", "name"], "properties": {
            "id": {"type": "string", "readOnly": true},
            "password": {"type": "string", "writeOnly": true},
            "name": {"type": "string"}}});
        let (s, _) = conv(schema.clone(), View::Response);
        assert_eq!(s["required"], json!(["id", "name"]));
        let (s, _) = conv(schema, View::Request);
        assert_eq!(s["required"], json!(["password", "name"]));
    }
}
