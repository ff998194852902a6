//! OpenAPI Overlay 1.0 documents: a list of actions, each a JSONPath
//! `target` with an `update` (merged in) or `remove: true`, applied in
//! order to a copy of an OpenAPI document.
//!
//! The reference layer of the contract is written this way: the documented
//! contract (`specs/agentgigs.openapi.yaml`) plus the choices our reference
//! server makes where the docs are silent (`specs/reference.overlay.yaml`),
//! one described action per choice.
//!
//! Merge rules (those of the Overlay specification): an object update is
//! merged into an object target key by key, recursively for objects; any
//! other value (array, scalar) in the update replaces the target's; when
//! the target itself is an array, the update is appended to it (each
//! element of an array update, unless already present). An action whose
//! target selects nothing is an error naming the action, so an overlay
//! that no longer fits its document fails to load instead of silently
//! doing nothing.

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::yaml;

/// One action of an overlay, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayAction {
    /// 0-based position in `actions`.
    pub index: usize,
    /// The JSONPath as written.
    pub target: String,
    /// The action's `description` (why the reference server chose this).
    pub description: Option<String>,
    /// `file:line:column` of the action, when known.
    pub place: String,
}

/// Why an overlay could not be read or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverlayError {
    /// The text is not YAML/JSON, or not an overlay document.
    #[error("{place}: {message}")]
    Invalid { place: String, message: String },
    /// An action's target selects nothing in the document.
    #[error(
        "{place}: action {index} targets `{target}`, which selects nothing in the document (the overlay no longer fits it)"
    )]
    NoTarget {
        place: String,
        index: usize,
        target: String,
    },
}

/// An overlay document, parsed.
#[derive(Debug, Clone)]
pub struct Overlay {
    origin: String,
    doc: Value,
    locations: Option<yaml::Document>,
}

impl Overlay {
    /// Parses an overlay (YAML or JSON); checks `overlay: 1.x` and the
    /// shape of `actions`.
    pub fn from_text(text: &str, origin: &str) -> Result<Overlay, OverlayError> {
        let d = yaml::parse(text).map_err(|e| OverlayError::Invalid {
            place: format!("{origin}:{}:{}", e.line, e.column),
            message: format!("invalid YAML: {}", e.message),
        })?;
        let mut locations = d;
        let doc = std::mem::take(&mut locations.value);
        let overlay = Overlay {
            origin: origin.to_string(),
            doc,
            locations: Some(locations),
        };
        overlay.validate()?;
        Ok(overlay)
    }

    fn place(&self, pointer: &str) -> String {
        match &self.locations {
            Some(d) => {
                let l = d.location(pointer).unwrap_or_else(|| d.nearest_location(pointer));
                format!("{}:{}:{}", self.origin, l.line, l.column)
            }
            None => self.origin.clone(),
        }
    }

    fn invalid(&self, pointer: &str, message: impl Into<String>) -> OverlayError {
        OverlayError::Invalid {
            place: self.place(pointer),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<(), OverlayError> {
        match self.doc.get("overlay").and_then(Value::as_str) {
            Some(v) if v.starts_with("1.") => {}
            Some(v) => return Err(self.invalid("/overlay", format!("`overlay: {v}` is not 1.x"))),
            None => {
                return Err(self.invalid(
                    "",
                    "not an overlay document: missing string field `overlay` (e.g. `overlay: 1.0.0`)",
                ));
            }
        }
        let Some(actions) = self.doc.get("actions").and_then(Value::as_array) else {
            return Err(self.invalid("", "missing list `actions`"));
        };
        for (i, a) in actions.iter().enumerate() {
            let at = format!("/actions/{i}");
            let Some(obj) = a.as_object() else {
                return Err(self.invalid(&at, "an action is a mapping with `target` and `update` or `remove`"));
            };
            for key in obj.keys() {
                if !["target", "description", "update", "remove"].contains(&key.as_str()) && !key.starts_with("x-") {
                    return Err(self.invalid(
                        &format!("{at}/{key}"),
                        format!("unknown key `{key}` (expected target, description, update, remove)"),
                    ));
                }
            }
            let Some(target) = obj.get("target").and_then(Value::as_str) else {
                return Err(self.invalid(&at, "an action needs a string `target` (a JSONPath)"));
            };
            if let Err(e) = JsonPath::parse(target) {
                return Err(self.invalid(&format!("{at}/target"), format!("`{target}` is not a JSONPath: {e}")));
            }
            let remove = obj.get("remove").and_then(Value::as_bool).unwrap_or(false);
            match (obj.get("update"), remove) {
                (Some(_), true) => return Err(self.invalid(&at, "an action has `update` or `remove: true`, not both")),
                (None, false) => return Err(self.invalid(&at, "an action needs `update` or `remove: true`")),
                _ => {}
            }
        }
        Ok(())
    }

    /// The actions, in order.
    pub fn actions(&self) -> Vec<OverlayAction> {
        let list = self
            .doc
            .get("actions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.iter()
            .enumerate()
            .map(|(index, a)| OverlayAction {
                index,
                target: a.get("target").and_then(Value::as_str).unwrap_or_default().to_string(),
                description: a.get("description").and_then(Value::as_str).map(str::to_string),
                place: self.place(&format!("/actions/{index}")),
            })
            .collect()
    }

    /// Applies every action in order to `doc`.
    pub fn apply(&self, doc: &mut Value) -> Result<(), OverlayError> {
        let list = self
            .doc
            .get("actions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (index, action) in list.iter().enumerate() {
            let target = action.get("target").and_then(Value::as_str).unwrap_or_default();
            let place = self.place(&format!("/actions/{index}"));
            let path = JsonPath::parse(target).map_err(|e| OverlayError::Invalid {
                place: place.clone(),
                message: e.to_string(),
            })?;
            let pointers: Vec<String> = path
                .query_located(doc)
                .into_iter()
                .map(|n| n.location().to_json_pointer())
                .collect();
            if pointers.is_empty() {
                return Err(OverlayError::NoTarget {
                    place,
                    index,
                    target: target.to_string(),
                });
            }
            let remove = action.get("remove").and_then(Value::as_bool).unwrap_or(false);
            if remove {
                // Deepest first and array elements from the end, so earlier
                // removals do not shift later pointers.
                let mut ordered = pointers;
                ordered.sort_by(|a, b| b.cmp(a));
                for p in ordered {
                    remove_at(doc, &p);
                }
            } else if let Some(update) = action.get("update") {
                for p in pointers {
                    if let Some(node) = doc.pointer_mut(&p) {
                        merge(node, update);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Merges `update` into `target` by the overlay rules.
fn merge(target: &mut Value, update: &Value) {
    match (target, update) {
        (Value::Object(t), Value::Object(u)) => {
            for (k, v) in u {
                match t.get_mut(k) {
                    Some(existing @ Value::Object(_)) if v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(u)) => {
            for v in u {
                if !t.contains(v) {
                    t.push(v.clone());
                }
            }
        }
        (Value::Array(t), v) => {
            if !t.contains(v) {
                t.push(v.clone());
            }
        }
        (t, v) => *t = v.clone(),
    }
}

/// Removes the node at a JSON pointer (from its parent object or array).
fn remove_at(doc: &mut Value, pointer: &str) {
    let Some(cut) = pointer.rfind('/') else {
        return;
    };
    let (parent, last) = (&pointer[..cut], &pointer[cut + 1..]);
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.shift_remove(&key);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn overlay(text: &str) -> Overlay {
        Overlay::from_text(text, "o.yaml").expect("overlay parses")
    }

    #[test]
    fn update_merges_objects_replaces_scalars_and_appends_to_arrays() {
        let mut doc = json!({
            "components": {"schemas": {"Job": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}
        });
        let o = overlay(
            r#"
overlay: 1.0.0
info: {title: t, version: "1"}
actions:
  - target: $.components.schemas.Job
    description: our server always sends the status
    update:
      properties: {status: {type: string}}
      description: a job
  - target: $.components.schemas.Job.required
    update: [status, id]
"#,
        );
        o.apply(&mut doc).unwrap();
        assert_eq!(
            doc["components"]["schemas"]["Job"],
            json!({"type": "object", "required": ["id", "status"], "description": "a job",
                   "properties": {"id": {"type": "string"}, "status": {"type": "string"}}})
        );
        assert_eq!(
            o.actions()[0].description.as_deref(),
            Some("our server always sends the status")
        );
        assert_eq!(o.actions()[1].place, "o.yaml:10:5");
    }

    #[test]
    fn remove_deletes_every_selected_node() {
        let mut doc = json!({"paths": {"/a": {"post": {"responses": {"2XX": {}, "4XX": {}, "401": {}}}}}});
        let o = overlay(
            r#"
overlay: 1.0.0
actions:
  - target: $.paths['/a'].post.responses['2XX','4XX']
    remove: true
  - target: $.paths['/a'].post.responses
    update: {"201": {description: created}}
"#,
        );
        o.apply(&mut doc).unwrap();
        assert_eq!(
            doc["paths"]["/a"]["post"]["responses"],
            json!({"401": {}, "201": {"description": "created"}})
        );
    }

    #[test]
    fn an_action_that_selects_nothing_is_an_error_naming_it() {
        let mut doc = json!({"paths": {}});
        let o = overlay("overlay: 1.0.0\nactions:\n  - target: $.paths['/gone']\n    remove: true\n");
        let e = o.apply(&mut doc).unwrap_err();
        assert!(matches!(e, OverlayError::NoTarget { index: 0, .. }), "{e}");
        assert!(e.to_string().contains("o.yaml:3:5"), "{e}");
    }

    #[test]
    fn malformed_overlays_are_refused_with_their_place() {
        for (text, want) in [
            ("openapi: 3.0.3\n", "missing string field `overlay`"),
            ("overlay: 2.0.0\nactions: []\n", "is not 1.x"),
            (
                "overlay: 1.0.0\nactions:\n  - target: $.a\n",
                "needs `update` or `remove: true`",
            ),
            (
                "overlay: 1.0.0\nactions:\n  - target: \"$[\"\n    remove: true\n",
                "is not a JSONPath",
            ),
            (
                "overlay: 1.0.0\nactions:\n  - target: $.a\n    remove: true\n    updat: {}\n",
                "unknown key `updat`",
            ),
        ] {
            let e = Overlay::from_text(text, "o.yaml").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.starts_with("o.yaml:"), "{e}");
        }
    }
}
