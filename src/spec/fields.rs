//! What a spec says of one place in an answer: is the field there at all,
//! and which values does it name (an `enum`, or `x-documented-codes` for
//! an open field whose documented values are listed)?
//!
//! Used by the scenario lint to refuse a `must` assertion on something the
//! documented contract does not contain. It reads the document only.

use serde_json::Value;

use super::Operation;
use super::refs::{child, follow_value, get};

/// What the spec says of a place in an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Described {
    /// The spec cannot tell (no such operation or status, or a path the
    /// walk does not follow, such as a recursive descent).
    Unknown,
    /// The answer's schema does not declare the place.
    No,
    /// Declared; `values` lists the values the spec names for it, if any
    /// (its `enum`, else its `x-documented-codes`).
    Yes { values: Option<Vec<Value>> },
}

/// Deepest schema nesting followed.
const MAX_DEPTH: usize = 64;

/// What the JSON answer of `op` for `status` says of `segments` (property
/// names; `*` for any array item or any key; an index for an item).
pub(crate) fn describe(doc: &Value, op: &Operation, status: u16, segments: &[String]) -> Described {
    let Some(resp) = op.response_for(status) else {
        return Described::Unknown;
    };
    let json = resp
        .content
        .iter()
        .find(|m| super::validate::is_json(&m.content_type) || m.content_type == "*/*");
    let Some(pointer) = json.and_then(|m| m.schema_pointer.as_deref()) else {
        return Described::No;
    };
    let Some(schema) = get(doc, pointer) else {
        return Described::Unknown;
    };
    walk(doc, pointer, schema, segments, 0)
}

fn walk(doc: &Value, pointer: &str, schema: &Value, segments: &[String], depth: usize) -> Described {
    if depth > MAX_DEPTH {
        return Described::Unknown;
    }
    let Some((pointer, schema)) = follow_value(doc, pointer, schema) else {
        return Described::Unknown;
    };
    let Some(obj) = schema.as_object() else {
        // `true` (anything) or a broken schema: it declares nothing.
        return Described::No;
    };
    let mut branches = Vec::new();
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = obj.get(key).and_then(Value::as_array) {
            for (i, b) in list.iter().enumerate() {
                let p = child(&child(&pointer, key), &i.to_string());
                branches.push(walk(doc, &p, b, segments, depth + 1));
            }
        }
    }
    let here = match segments.split_first() {
        None => Described::Yes {
            values: obj
                .get("enum")
                .or_else(|| obj.get("x-documented-codes"))
                .and_then(Value::as_array)
                .cloned(),
        },
        Some((seg, rest)) => step(doc, &pointer, obj, seg, rest, depth),
    };
    branches.push(here);
    // Declared in any branch wins; then "cannot tell"; else not declared.
    let mut unknown = false;
    let mut found: Option<Described> = None;
    for b in branches {
        match b {
            Described::Yes { values } => {
                let merged = match found {
                    Some(Described::Yes { values: Some(mut old) }) => {
                        old.extend(values.unwrap_or_default());
                        Some(old)
                    }
                    Some(Described::Yes { values: None }) => None,
                    _ => values,
                };
                found = Some(Described::Yes { values: merged });
            }
            Described::Unknown => unknown = true,
            Described::No => {}
        }
    }
    match found {
        Some(f) => f,
        None if unknown => Described::Unknown,
        None => Described::No,
    }
}

fn step(
    doc: &Value,
    pointer: &str,
    obj: &serde_json::Map<String, Value>,
    seg: &str,
    rest: &[String],
    depth: usize,
) -> Described {
    let is_item = seg == "*" || seg.parse::<usize>().is_ok();
    if let Some(p) = obj.get("properties").and_then(|p| p.get(seg)) {
        let ptr = child(&child(pointer, "properties"), seg);
        let found = walk(doc, &ptr, p, rest, depth + 1);
        // An error schema may list its documented codes beside its properties.
        if seg == "code"
            && rest.is_empty()
            && let (Described::Yes { values: None }, Some(codes)) =
                (&found, obj.get("x-documented-codes").and_then(Value::as_array))
        {
            return Described::Yes {
                values: Some(codes.clone()),
            };
        }
        return found;
    }
    if is_item && let Some(items) = obj.get("items") {
        return walk(doc, &child(pointer, "items"), items, rest, depth + 1);
    }
    match obj.get("additionalProperties") {
        Some(extra @ Value::Object(m)) if !m.is_empty() => {
            walk(doc, &child(pointer, "additionalProperties"), extra, rest, depth + 1)
        }
        _ => Described::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    const DOC: &str = r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /jobs:
    get:
      responses:
        '200':
          description: jobs
          content:
            application/json:
              schema:
                type: object
                properties:
                  jobs: {type: array, items: {$ref: '#/components/schemas/Job'}}
                  by_id: {type: object, additionalProperties: {$ref: '#/components/schemas/Job'}}
        '4XX':
          description: error
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Error'}
        '204': {description: nothing}
components:
  schemas:
    Job:
      allOf:
        - type: object
          properties: {id: {type: string}}
        - type: object
          properties: {status: {type: string, enum: [open, closed]}}
    Error:
      type: object
      properties:
        error: {type: string}
        code: {type: string, nullable: true, x-documented-codes: [ACKNOWLEDGMENT_REQUIRED]}
    OtherError:
      type: object
      x-documented-codes: [ACKNOWLEDGMENT_REQUIRED]
      properties:
        code: {type: string, nullable: true}
"#;

    fn seg(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn declared_places_their_values_and_the_rest() {
        let spec = Spec::from_text(DOC, "t.yaml").unwrap();
        let op = spec.find_operation("GET", "/jobs").unwrap();
        let d = |status: u16, p: &[&str]| spec.describe(op, status, &seg(p));
        assert_eq!(d(200, &["jobs", "*", "id"]), Described::Yes { values: None });
        assert_eq!(d(200, &["jobs", "0", "id"]), Described::Yes { values: None });
        assert_eq!(
            d(200, &["jobs", "*", "status"]),
            Described::Yes {
                values: Some(vec!["open".into(), "closed".into()])
            }
        );
        assert_eq!(d(200, &["by_id", "anything", "id"]), Described::Yes { values: None });
        assert_eq!(d(200, &["jobs", "*", "poster_id"]), Described::No);
        assert_eq!(d(200, &["count"]), Described::No);
        assert_eq!(
            d(403, &["code"]),
            Described::Yes {
                values: Some(vec!["ACKNOWLEDGMENT_REQUIRED".into()])
            }
        );
        assert_eq!(d(409, &["docs"]), Described::No);
        // Codes listed on the schema beside its properties.
        let other = spec.document().pointer("/components/schemas/OtherError").unwrap();
        assert_eq!(
            walk(
                spec.document(),
                "#/components/schemas/OtherError",
                other,
                &seg(&["code"]),
                0
            ),
            Described::Yes {
                values: Some(vec!["ACKNOWLEDGMENT_REQUIRED".into()])
            }
        );
        assert_eq!(d(204, &["anything"]), Described::No);
        assert_eq!(d(500, &["error"]), Described::Unknown);
    }
}
