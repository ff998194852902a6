//! Variable references in scenario strings: `{{name}}`, `{{actor.field}}`.
//!
//! Job: find the references in a string ([`variables_in`]), know the
//! built-ins and actor fields, and walk every string of a step (for lint
//! and for the renaming of actors when a flow is included).
//!
//! It must not: interpolate (the runner does, with real values).

use serde_json::Value;

use super::model::Step;

/// Names always defined by the runner.
pub const BUILTINS: &[&str] = &["uuid", "run_id", "random_email", "now"];

/// The fields of an actor usable as `{{actor.field}}`.
pub const ACTOR_FIELDS: &[&str] = &["user_id", "email", "api_key", "access_token", "password"];

/// Other names the runner accepts for actor fields (`id` = `user_id`,
/// `jwt` = `access_token`).
pub const ACTOR_FIELD_ALIASES: &[&str] = &["id", "jwt"];

/// Filters a reference may apply: `{{job_id|ref}}`, several in a row.
pub const FILTERS: &[&str] = &["ref", "ref_uuid", "path", "upper", "lower", "plus:N", "minus:N"];

/// The references in `s`, in order, trimmed: `"/jobs/{{ job_id }}"` →
/// `["job_id"]`, `"{{alice.email}}"` → `["alice.email"]`. An opening
/// `{{` without a closing `}}` is not a reference.
pub fn variables_in(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                // `{{{{x}}` : the reference is the innermost one.
                let name = name.rsplit("{{").next().unwrap_or(name).trim();
                out.push(name.to_string());
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    out
}

/// `s` with each complete `{{...}}` reference replaced by `with`.
pub fn replace_references(s: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        match rest[start + 2..].find("}}") {
            Some(end) => {
                out.push_str(&rest[..start]);
                out.push_str(with);
                rest = &rest[start + 2 + end + 2..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// Is `name` a valid variable name (`[A-Za-z_][A-Za-z0-9_]*`)?
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every string of a JSON value, object keys included (the runner
/// interpolates both), depth first.
pub fn strings_in(v: &Value, out: &mut Vec<String>) {
    // Iterative: the value may be deep.
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => stack.extend(a.iter().rev()),
            Value::Object(m) => {
                out.extend(m.keys().filter(|k| k.contains("{{")).cloned());
                stack.extend(m.values().rev());
            }
            _ => {}
        }
    }
}

/// Every reference used by a step (in any string of it, keys included).
pub fn step_references(step: &Step) -> Vec<String> {
    let mut strings = Vec::new();
    if let Ok(v) = serde_json::to_value(step) {
        strings_in(&v, &mut strings);
    }
    let mut out = Vec::new();
    for s in &strings {
        for name in variables_in(s) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// Replace, in every string of `v`, `{{from.` by `{{to.` for each pair
/// (and `{{ from.` likewise). Keys are left alone.
pub fn rename_actor_refs(v: &mut Value, renames: &[(String, String)]) {
    if renames.is_empty() {
        return;
    }
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.contains("{{") => *s = rename_in_str(s, renames),
            Value::Array(a) => stack.extend(a.iter_mut()),
            Value::Object(m) => stack.extend(m.values_mut()),
            _ => {}
        }
    }
}

fn rename_in_str(s: &str, renames: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start + 2]);
        rest = &rest[start + 2..];
        let ws = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..ws]);
        rest = &rest[ws..];
        for (from, to) in renames {
            if let Some(tail) = rest.strip_prefix(from.as_str())
                && tail.starts_with('.')
            {
                out.push_str(to);
                rest = tail;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references() {
        assert_eq!(
            variables_in("/api/jobs/{{job_id}}/x/{{ alice.email }}"),
            vec!["job_id", "alice.email"]
        );
        assert_eq!(variables_in("{{a"), Vec::<String>::new());
        assert_eq!(variables_in("{{{{x}}"), vec!["x"]);
        assert_eq!(variables_in("{{}}"), vec![""]);
    }

    #[test]
    fn renames_actor_refs() {
        let r = vec![("poster".to_string(), "alice".to_string())];
        assert_eq!(
            rename_in_str("{{poster.email}} {{ poster.api_key }} {{posterx.a}} {{poster}}", &r),
            "{{alice.email}} {{ alice.api_key }} {{posterx.a}} {{poster}}"
        );
    }

    #[test]
    fn variable_names() {
        assert!(is_variable_name("job_id"));
        assert!(!is_variable_name("job.id"));
        assert!(!is_variable_name("1x"));
    }
}
