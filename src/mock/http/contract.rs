//! The documented contract as the `documented_fields_only` and
//! `renamed_fields` choices read it: a small walker over an OpenAPI 3.0
//! document held as a `serde_json::Value`.
//!
//! It finds the response schema of an answer (operation by method and route
//! template, response by status: exact, then a `4XX`-style range, then
//! `default`), follows local `$ref`s, takes the union of the properties of
//! `allOf`/`oneOf`/`anyOf` branches and follows `items` into arrays. With it
//! an answer can be pruned to the declared fields, or have its undeclared
//! fields renamed to camelCase.
//!
//! It must not use the harness (`crate::spec` and the rest): the reference
//! server is an independent oracle and only embeds the spec file. It never
//! fails on a strange document: what it cannot read declares nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use saphyr::LoadableYamlNode;
use serde_json::{Map, Value};

/// The embedded documented contract.
const EMBEDDED: &str = include_str!("../../../specs/agentgigs.openapi.yaml");

/// How deep `$ref`/`allOf` chains are followed (a guard against cycles).
const MAX_DEPTH: usize = 32;

/// A key every answer keeps when pruned.
const ALWAYS_KEPT: &str = "id";

/// An OpenAPI document to read response schemas from.
#[derive(Debug, Clone)]
pub(crate) struct Contract {
    doc: Value,
}

static EMBEDDED_CONTRACT: LazyLock<Result<Arc<Contract>, String>> =
    LazyLock::new(|| Contract::parse(EMBEDDED).map(Arc::new));

/// What a schema (or a union of schemas) declares about an object or array.
#[derive(Debug, Default)]
struct Declared<'a> {
    /// Property name → the schemas declaring it.
    properties: BTreeMap<&'a str, Vec<&'a Value>>,
    /// `additionalProperties` schemas (any key is then declared).
    additional: Vec<&'a Value>,
    /// `items` schemas.
    items: Vec<&'a Value>,
}

impl Contract {
    /// Reads an OpenAPI document (YAML or JSON). It must be a mapping with a
    /// `paths` mapping; nothing else is checked.
    pub(crate) fn parse(text: &str) -> Result<Contract, String> {
        let docs = saphyr::Yaml::load_from_str(text).map_err(|e| format!("not YAML or JSON: {e}"))?;
        let [doc] = docs.as_slice() else {
            return Err(format!("expected one document, found {}", docs.len()));
        };
        let doc = yaml_to_json(doc, 0).ok_or("the document nests too deeply or holds an unresolvable node")?;
        if !doc.get("paths").is_some_and(Value::is_object) {
            return Err("not an OpenAPI document: no `paths` mapping".into());
        }
        Ok(Contract { doc })
    }

    /// The contract embedded in the binary (`specs/agentgigs.openapi.yaml`).
    pub(crate) fn embedded() -> Result<Arc<Contract>, String> {
        EMBEDDED_CONTRACT.clone()
    }

    /// The documented response of `method path` (a concrete path or a route
    /// template) for `status`: `None` when the status is not documented;
    /// `Some(None)` when it is but has no JSON schema.
    pub(crate) fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<Option<&Value>> {
        let item = self.path_item(path)?;
        let op = self.deref(item)?.get(method.to_ascii_lowercase())?;
        let responses = op.get("responses")?.as_object()?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let response = responses
            .get(&exact)
            .or_else(|| {
                responses
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&range))
                    .map(|(_, v)| v)
            })
            .or_else(|| responses.get("default"))?;
        let response = self.deref(response)?;
        let content = response.get("content").and_then(Value::as_object);
        let media = content.and_then(|c| {
            c.iter()
                .find(|(k, _)| is_json_media(k))
                .or_else(|| c.get_key_value("*/*"))
                .map(|(_, v)| v)
        });
        Some(media.and_then(|m| m.get("schema")))
    }

    /// Keeps in `value` only what `schema` declares (and any `id`),
    /// recursively. A node whose schema declares no property at all is left
    /// as it is.
    pub(crate) fn prune(&self, schema: &Value, value: &mut Value) {
        self.prune_with(&self.flatten(&[schema]), value);
    }

    fn prune_with(&self, schemas: &[&Value], value: &mut Value) {
        let declared = self.declared(schemas);
        match value {
            Value::Object(obj) => {
                if declared.properties.is_empty() && declared.additional.is_empty() {
                    return;
                }
                let open = !declared.additional.is_empty();
                obj.retain(|k, _| k == ALWAYS_KEPT || open || declared.properties.contains_key(k.as_str()));
                for (k, v) in obj.iter_mut() {
                    let sub = declared.properties.get(k.as_str()).unwrap_or(&declared.additional);
                    if !sub.is_empty() {
                        self.prune_with(&self.flatten(sub), v);
                    }
                }
            }
            Value::Array(items) if !declared.items.is_empty() => {
                let sub = self.flatten(&declared.items);
                for it in items {
                    self.prune_with(&sub, it);
                }
            }
            _ => {}
        }
    }

    /// Renames to camelCase every key of `value` that `schema` does not
    /// declare (all of them below an undeclared key, or when `schema` is
    /// `None`); declared keys keep their names.
    pub(crate) fn rename(&self, schema: Option<&Value>, value: &mut Value) {
        match schema {
            Some(s) => self.rename_with(Some(&self.flatten(&[s])), value),
            None => rename_all(value),
        }
    }

    fn rename_with(&self, schemas: Option<&[&Value]>, value: &mut Value) {
        let Some(schemas) = schemas else {
            rename_all(value);
            return;
        };
        let declared = self.declared(schemas);
        match value {
            Value::Object(obj) => {
                let old = std::mem::take(obj);
                let taken: Vec<String> = old.keys().cloned().collect();
                for (k, mut v) in old {
                    let sub = declared
                        .properties
                        .get(k.as_str())
                        .or((!declared.additional.is_empty()).then_some(&declared.additional));
                    let key = match sub {
                        Some(sub) => {
                            self.rename_with(Some(&self.flatten(sub)), &mut v);
                            k
                        }
                        None => {
                            rename_all(&mut v);
                            let new = camel(&k);
                            if new != k && !taken.contains(&new) && !obj.contains_key(&new) {
                                new
                            } else {
                                k
                            }
                        }
                    };
                    obj.insert(key, v);
                }
            }
            Value::Array(items) => {
                let sub = (!declared.items.is_empty()).then(|| self.flatten(&declared.items));
                for it in items {
                    self.rename_with(sub.as_deref(), it);
                }
            }
            _ => {}
        }
    }

    /// The path item whose template matches `path` (a concrete path or a
    /// template); the one with the most literal segments wins.
    fn path_item(&self, path: &str) -> Option<&Value> {
        let paths = self.doc.get("paths")?.as_object()?;
        let want: Vec<&str> = path.split('/').collect();
        paths
            .iter()
            .filter_map(|(template, item)| {
                let segs: Vec<&str> = template.split('/').collect();
                if segs.len() != want.len() {
                    return None;
                }
                let mut literal = 0;
                for (t, w) in segs.iter().zip(&want) {
                    if t.starts_with('{') && t.ends_with('}') {
                        continue;
                    }
                    if t != w {
                        return None;
                    }
                    literal += 1;
                }
                Some((literal, item))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, item)| item)
    }

    /// A node with its `$ref` chain followed (`None` for a dangling or remote ref).
    fn deref<'a>(&'a self, mut node: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_DEPTH {
            match node.get("$ref").and_then(Value::as_str) {
                Some(r) => node = self.resolve(r)?,
                None => return Some(node),
            }
        }
        None
    }

    /// A local reference (`#/a/b`).
    fn resolve(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.doc.pointer(pointer)
    }

    /// The schemas with their `$ref`s followed and `allOf`/`oneOf`/`anyOf`
    /// branches added (each node once).
    fn flatten<'a>(&'a self, schemas: &[&'a Value]) -> Vec<&'a Value> {
        let mut out = Vec::new();
        for s in schemas {
            self.flatten_into(s, &mut out, 0);
        }
        out
    }

    fn flatten_into<'a>(&'a self, node: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
        if depth > MAX_DEPTH || out.iter().any(|n| std::ptr::eq(*n, node)) {
            return;
        }
        let Some(obj) = node.as_object() else { return };
        out.push(node);
        if let Some(target) = obj.get("$ref").and_then(Value::as_str).and_then(|r| self.resolve(r)) {
            self.flatten_into(target, out, depth + 1);
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            for branch in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
                self.flatten_into(branch, out, depth + 1);
            }
        }
    }

    /// What a flattened set of schemas declares.
    fn declared<'a>(&self, schemas: &[&'a Value]) -> Declared<'a> {
        let mut d = Declared::default();
        for s in schemas {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    d.properties.entry(name.as_str()).or_default().push(sub);
                }
            }
            if let Some(extra) = s.get("additionalProperties").filter(|v| v.is_object()) {
                d.additional.push(extra);
            }
            if let Some(items) = s.get("items").filter(|v| v.is_object()) {
                d.items.push(items);
            }
        }
        d
    }
}

/// Whether a media type is JSON (`application/json`, `application/*+json`).
fn is_json_media(media: &str) -> bool {
    let m = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
}

/// `snake_case` → `camelCase` (`poster_id` → `posterId`); a key without `_`
/// is unchanged, and so is one that would become empty.
pub(crate) fn camel(key: &str) -> String {
    if !key.contains('_') {
        return key.to_string();
    }
    let mut parts = key.split('_');
    let mut out = parts.next().unwrap_or("").to_string();
    for part in parts {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() { key.to_string() } else { out }
}

/// Renames every key of `value`, recursively, to camelCase (for answers and
/// event payloads the contract does not describe).
pub(crate) fn rename_all(value: &mut Value) {
    match value {
        Value::Object(obj) => {
            let old = std::mem::take(obj);
            let taken: Vec<String> = old.keys().cloned().collect();
            let mut out = Map::new();
            for (k, mut v) in old {
                rename_all(&mut v);
                let new = camel(&k);
                let key = if new != k && !taken.contains(&new) && !out.contains_key(&new) {
                    new
                } else {
                    k
                };
                out.insert(key, v);
            }
            *obj = out;
        }
        Value::Array(items) => items.iter_mut().for_each(rename_all),
        _ => {}
    }
}

/// A loaded YAML node as JSON (mapping keys as their text; `None` for
/// what JSON cannot hold, or past the depth guard).
fn yaml_to_json(node: &saphyr::Yaml<'_>, depth: usize) -> Option<Value> {
    use saphyr::{Scalar, Yaml};
    if depth > 256 {
        return None;
    }
    Some(match node {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => Value::from(*i),
        Yaml::Value(Scalar::FloatingPoint(f)) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
        }
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Representation(s, _, _) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .map(|i| yaml_to_json(i, depth + 1))
                .collect::<Option<Vec<_>>>()?,
        ),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::Value(Scalar::String(s)) => s.to_string(),
                    Yaml::Value(Scalar::Integer(i)) => i.to_string(),
                    Yaml::Value(Scalar::Boolean(b)) => b.to_string(),
                    Yaml::Value(Scalar::Null) => "null".into(),
                    Yaml::Representation(s, _, _) => s.to_string(),
                    _ => return None,
                };
                out.insert(key, yaml_to_json(v, depth + 1)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(_, inner) => yaml_to_json(inner, depth + 1)?,
        Yaml::Alias(_) | Yaml::BadValue => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DOC: &str = r##"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /api/things/{id}:
    get:
      responses:
        200:
          description: a thing
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Envelope'}
        4XX: {$ref: '#/components/responses/Err'}
        default:
          description: anything
  /api/things/special:
    get:
      responses:
        '201':
          description: created, no schema
  /api/list:
    get:
      responses:
        '200':
          description: a list
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: '#/components/schemas/Thing'}}
                  tags: {type: object, additionalProperties: {type: object, properties: {weight_kg: {type: number}}}}
                  loose: {type: object}
components:
  responses:
    Err:
      description: an error
      content:
        application/json; charset=utf-8:
          schema:
            type: object
            properties: {error: {type: string}, code: {type: string}}
  schemas:
    Envelope:
      allOf:
        - type: object
          properties:
            thing: {$ref: '#/components/schemas/Thing'}
        - oneOf:
            - {type: object, properties: {success: {type: boolean}}}
            - {type: object, properties: {warning_text: {type: string}}}
    Thing:
      type: object
      properties:
        title: {type: string}
        budget_min: {type: integer}
        owner: {$ref: '#/components/schemas/Owner'}
    Owner:
      type: object
      properties:
        display_name: {type: string}
"##;

    fn contract() -> Contract {
        Contract::parse(DOC).expect("the inline document parses")
    }

    #[test]
    fn responses_are_found_by_exact_status_then_range_then_default() {
        let c = contract();
        let s = c.response_schema("GET", "/api/things/6f1c2a3b", 200).unwrap().unwrap();
        assert_eq!(s["$ref"], "#/components/schemas/Envelope");
        let s = c.response_schema("get", "/api/things/{id}", 404).unwrap().unwrap();
        assert!(
            s["properties"]["code"].is_object(),
            "4XX through a $ref'd response, JSON media with parameters"
        );
        assert_eq!(
            c.response_schema("GET", "/api/things/x", 500),
            Some(None),
            "default, no content"
        );
        assert_eq!(
            c.response_schema("GET", "/api/things/special", 201),
            Some(None),
            "literal path wins"
        );
        assert_eq!(c.response_schema("GET", "/api/things/special", 200), None);
        assert_eq!(
            c.response_schema("POST", "/api/things/x", 200),
            None,
            "no such operation"
        );
        assert_eq!(c.response_schema("GET", "/api/nothing", 200), None, "no such path");
    }

    #[test]
    fn pruning_keeps_declared_fields_through_refs_unions_and_items() {
        let c = contract();
        let schema = c.response_schema("GET", "/api/things/1", 200).unwrap().unwrap();
        let mut v = json!({
            "success": true, "warning_text": "w", "extra": 1, "id": "kept",
            "thing": {"id": "t", "title": "x", "budget_min": 100, "poster_id": "gone",
                      "owner": {"display_name": "n", "email": "gone", "id": "o"}},
        });
        c.prune(schema, &mut v);
        assert_eq!(
            v,
            json!({
                "success": true, "warning_text": "w", "id": "kept",
                "thing": {"id": "t", "title": "x", "budget_min": 100, "owner": {"display_name": "n", "id": "o"}},
            })
        );
        let list = c.response_schema("GET", "/api/list", 200).unwrap().unwrap();
        let mut v = json!({
            "items": [{"title": "a", "secret": 1}, {"budget_min": 2, "owner": null}],
            "tags": {"red": {"weight_kg": 1, "colour": "r"}},
            "loose": {"anything": {"goes": 1}},
            "count": 2,
        });
        c.prune(list, &mut v);
        assert_eq!(
            v,
            json!({
                "items": [{"title": "a"}, {"budget_min": 2, "owner": null}],
                "tags": {"red": {"weight_kg": 1}},
                "loose": {"anything": {"goes": 1}},
            })
        );
    }

    #[test]
    fn a_schema_that_declares_nothing_leaves_the_body_alone() {
        let c = contract();
        let mut v = json!({"a_b": 1, "nested": {"c_d": 2}});
        c.prune(&json!({}), &mut v);
        c.prune(&json!({"type": "object"}), &mut v);
        c.prune(&json!({"$ref": "#/nowhere"}), &mut v);
        assert_eq!(v, json!({"a_b": 1, "nested": {"c_d": 2}}));
    }

    #[test]
    fn renaming_touches_only_undeclared_keys() {
        let c = contract();
        let schema = c.response_schema("GET", "/api/things/1", 200).unwrap().unwrap();
        let mut v = json!({
            "warning_text": "declared in a oneOf branch",
            "retry_after": 3,
            "thing": {"budget_min": 1, "poster_id": "p", "owner": {"display_name": "d", "last_seen_at": "t"},
                      "extra_info": {"deep_key": 1, "items": [{"x_y": 1}]}},
        });
        c.rename(Some(schema), &mut v);
        assert_eq!(
            v,
            json!({
                "warning_text": "declared in a oneOf branch",
                "retryAfter": 3,
                "thing": {"budget_min": 1, "posterId": "p", "owner": {"display_name": "d", "lastSeenAt": "t"},
                          "extraInfo": {"deepKey": 1, "items": [{"xY": 1}]}},
            })
        );
        let list = c.response_schema("GET", "/api/list", 200).unwrap().unwrap();
        let mut v =
            json!({"items": [{"budget_min": 1, "job_id": 2}], "tags": {"red_one": {"weight_kg": 1, "in_stock": true}}});
        c.rename(Some(list), &mut v);
        assert_eq!(
            v,
            json!({"items": [{"budget_min": 1, "jobId": 2}], "tags": {"red_one": {"weight_kg": 1, "inStock": true}}})
        );
        let mut v = json!({"job_id": 1, "jobId": 2, "a": [{"occurred_at": 1}]});
        c.rename(None, &mut v);
        assert_eq!(
            v,
            json!({"job_id": 1, "jobId": 2, "a": [{"occurredAt": 1}]}),
            "no clobbering"
        );
    }

    #[test]
    fn camel_case() {
        assert_eq!(camel("poster_id"), "posterId");
        assert_eq!(camel("retry_after"), "retryAfter");
        assert_eq!(camel("release_scheduled_at"), "releaseScheduledAt");
        assert_eq!(camel("type"), "type");
        assert_eq!(camel("signedUrl"), "signedUrl");
        assert_eq!(camel("a__b"), "aB");
        assert_eq!(camel("_"), "_");
    }

    #[test]
    fn documents_that_are_not_openapi_are_refused() {
        assert!(Contract::parse("just: text").is_err());
        assert!(Contract::parse("[1, 2").is_err());
        assert!(Contract::parse("{\"paths\": {}}").is_ok(), "JSON is YAML");
    }

    #[test]
    fn the_embedded_contract_loads_and_describes_the_wallet() {
        let c = Contract::embedded().expect("the embedded spec parses");
        let s = c.response_schema("GET", "/api/wallet", 200).unwrap().unwrap();
        let mut v = json!({"balance": 1, "formatted": "$0.01", "undocumented_field": true});
        c.prune(s, &mut v);
        assert_eq!(v, json!({"balance": 1, "formatted": "$0.01"}));
    }
}
