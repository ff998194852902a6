//! Variables of a running scenario and `{{...}}` interpolation.
//!
//! Names: scenario `vars`, `set`, captures; actors' fields
//! (`{{poster.api_key}}`, `user_id`, `email`, `password`, `access_token`);
//! built-ins `{{uuid}}`, `{{run_id}}`, `{{random_email}}`, `{{now}}`;
//! and dotted access into an object or array variable (`{{job.id}}`,
//! `{{jobs.0.id}}`). Filters after `|`: `ref` (the 8-character REF code
//! of an id: its first 8 characters, upper-cased), `ref_uuid` (a UUID
//! rebuilt from that REF code, the way a careless client would), `upper`,
//! `lower`. An undefined name or filter is an error naming it. It must
//! not guess a value for an undefined name.

use std::collections::BTreeMap;

use serde_json::Value;

use super::RunnerError;
use crate::target::ActorCredentials;

/// The variables and actors of one scenario.
#[derive(Debug, Default)]
pub(crate) struct Vars {
    values: BTreeMap<String, Value>,
    actors: BTreeMap<String, ActorCredentials>,
    run_id: String,
}

impl Vars {
    pub fn new(run_id: &str) -> Self {
        Vars {
            run_id: run_id.to_string(),
            ..Default::default()
        }
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    /// The value of a variable itself (no actor fields, built-ins or filters).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn add_actor(&mut self, name: &str, creds: ActorCredentials) {
        self.actors.insert(name.to_string(), creds);
    }

    pub fn actor(&self, name: &str) -> Option<&ActorCredentials> {
        self.actors.get(name)
    }

    pub fn actor_names(&self) -> Vec<String> {
        self.actors.keys().cloned().collect()
    }

    /// The value of one reference (already trimmed), filters applied, or `None`.
    pub fn lookup(&self, reference: &str) -> Option<Value> {
        let mut parts = reference.split('|').map(str::trim);
        let mut value = self.lookup_name(parts.next().unwrap_or_default())?;
        for filter in parts {
            // Integer arithmetic (cents): `|plus:N`, `|minus:N`, N a number or a variable.
            if let Some((op, operand)) = filter.split_once(':') {
                let n = match operand.trim().parse::<i64>() {
                    Ok(n) => n,
                    Err(_) => self.lookup_name(operand.trim()).and_then(|v| integer_of(&v))?,
                };
                let base = integer_of(&value)?;
                value = Value::from(match op.trim() {
                    "plus" => base.checked_add(n)?,
                    "minus" => base.checked_sub(n)?,
                    _ => return None,
                });
                continue;
            }
            value = apply_filter(filter, &value)?;
        }
        Some(value)
    }

    fn lookup_name(&self, reference: &str) -> Option<Value> {
        if let Some(v) = self.values.get(reference) {
            return Some(v.clone());
        }
        match reference {
            "uuid" => return Some(Value::String(uuid::Uuid::new_v4().to_string())),
            "run_id" => return Some(Value::String(self.run_id.clone())),
            "random_email" => {
                let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
                return Some(Value::String(format!("conformance+{}-{tag}@example.com", self.run_id)));
            }
            "now" => {
                return Some(Value::String(
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                ));
            }
            _ => {}
        }
        let (head, rest) = reference.split_once('.')?;
        if let Some(creds) = self.actors.get(head) {
            let field = match rest {
                "user_id" | "id" => &creds.user_id,
                "email" => &creds.email,
                "password" => &creds.password,
                "access_token" | "jwt" => &creds.access_token,
                "api_key" => &creds.api_key,
                _ => return None,
            };
            return field.clone().map(Value::String);
        }
        let mut cur = self.values.get(head)?;
        for part in rest.split('.') {
            cur = match cur {
                Value::Object(m) => m.get(part)?,
                Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur.clone())
    }

    /// Interpolates every `{{name}}` in a string; `place` names the field
    /// for the error.
    pub fn interpolate_str(&self, s: &str, place: &str) -> Result<String, RunnerError> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            // The innermost `{{` before the closing `}}` opens the reference;
            // anything before it is literal text.
            let inner = &after[..end];
            let (literal, name) = match inner.rfind("{{") {
                Some(i) => (&rest[..start + 2 + i], inner[i + 2..].trim()),
                None => (&rest[..start], inner.trim()),
            };
            out.push_str(literal);
            let value = self.lookup(name).ok_or_else(|| RunnerError::UndefinedVariable {
                name: name.to_string(),
                place: place.to_string(),
            })?;
            out.push_str(&text_of(&value));
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Interpolates every string in a JSON value; a string that is exactly
    /// one `{{name}}` becomes the variable's JSON value, type and all.
    pub fn interpolate_value(&self, v: &Value, place: &str) -> Result<Value, RunnerError> {
        Ok(match v {
            Value::String(s) => {
                if let Some(name) = sole_reference(s) {
                    self.lookup(name).ok_or_else(|| RunnerError::UndefinedVariable {
                        name: name.to_string(),
                        place: place.to_string(),
                    })?
                } else {
                    Value::String(self.interpolate_str(s, place)?)
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.interpolate_value(i, place))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((self.interpolate_str(k, place)?, self.interpolate_value(v, place)?)))
                    .collect::<Result<_, RunnerError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// A JSON integer, or a string holding one.
fn integer_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Applies one filter to a value; `None` for an unknown filter.
fn apply_filter(filter: &str, v: &Value) -> Option<Value> {
    let text = text_of(v);
    Some(Value::String(match filter {
        "ref" => text.chars().take(8).collect::<String>().to_uppercase(),
        "ref_uuid" => {
            let head: String = text.chars().take(8).collect::<String>().to_lowercase();
            format!("{head:0<8}-0000-4000-8000-000000000000")
        }
        // The path and query of a URL (a signed download URL served by the
        // target itself), so a step can request it relative to the target.
        "path" => match url::Url::parse(&text) {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            },
            Err(_) => text,
        },
        "upper" => text.to_uppercase(),
        "lower" => text.to_lowercase(),
        _ => return None,
    }))
}

/// The name when `s` is exactly `{{ name }}` and nothing else.
fn sole_reference(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    Some(inner.trim())
}

/// A value as text inside a string: strings as they are, others as JSON.
pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::new("run1");
        v.set("job_id", json!("j-1"));
        v.set("price", json!(1500));
        v.set("job", json!({"id": "j-2", "tags": ["a", "b"]}));
        v.add_actor(
            "poster",
            ActorCredentials {
                api_key: Some("age_x".into()),
                user_id: Some("u1".into()),
                ..Default::default()
            },
        );
        v
    }

    #[test]
    fn integer_arithmetic_in_cents() {
        let mut v = vars();
        v.set("fee", json!(250));
        v.set("balance", json!("10000"));
        let plain = |s: &str| v.interpolate_value(&json!(s), "x").unwrap();
        assert_eq!(plain("{{price|minus:500}}"), json!(1000));
        assert_eq!(plain("{{price|plus:fee}}"), json!(1750));
        assert_eq!(plain("{{balance|minus:price|minus:fee}}"), json!(8250));
        assert!(v.interpolate_value(&json!("{{job_id|minus:1}}"), "x").is_err());
        assert!(v.interpolate_value(&json!("{{price|times:2}}"), "x").is_err());
    }

    #[test]
    fn strings_and_types() {
        let v = vars();
        assert_eq!(
            v.interpolate_str("/api/jobs/{{job_id}}/apply", "path").unwrap(),
            "/api/jobs/j-1/apply"
        );
        assert_eq!(
            v.interpolate_str("{{ poster.api_key }}-{{price}}", "x").unwrap(),
            "age_x-1500"
        );
        assert_eq!(v.interpolate_str("{{job.tags.1}}", "x").unwrap(), "b");
        assert_eq!(v.interpolate_str("a {{ b", "x").unwrap(), "a {{ b");
        assert_eq!(v.interpolate_str("{{{{job_id}}", "x").unwrap(), "{{j-1");
        let j = v
            .interpolate_value(&json!({"p": "{{price}}", "s": "n={{price}}", "o": "{{job}}"}), "json")
            .unwrap();
        assert_eq!(
            j,
            json!({"p": 1500, "s": "n=1500", "o": {"id": "j-2", "tags": ["a", "b"]}})
        );
        assert_eq!(v.interpolate_str("{{run_id}}", "x").unwrap(), "run1");
        let mut w = Vars::new("r");
        w.set("id", json!("3f2b8c1e-9a4d-4e2f-8b1a-0c5d6e7f8a9b"));
        assert_eq!(w.interpolate_str("{{id|ref}}", "x").unwrap(), "3F2B8C1E");
        assert_eq!(
            w.interpolate_str("{{ id | ref_uuid }}", "x").unwrap(),
            "3f2b8c1e-0000-4000-8000-000000000000"
        );
        assert!(w.interpolate_str("{{id|nope}}", "x").is_err());
        assert!(
            v.interpolate_str("{{random_email}}", "x")
                .unwrap()
                .contains("@example.com")
        );
        assert_eq!(v.interpolate_str("{{uuid}}", "x").unwrap().len(), 36);
    }

    #[test]
    fn undefined_names_error() {
        let v = vars();
        let e = v.interpolate_str("/x/{{nope}}", "path").unwrap_err();
        assert_eq!(e.to_string(), "undefined variable `nope` in path");
        assert!(v.interpolate_value(&json!(["{{poster.password}}"]), "json").is_err());
        assert!(v.interpolate_str("{{job.missing}}", "x").is_err());
    }
}
