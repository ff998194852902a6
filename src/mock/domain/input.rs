//! Body checking helpers: read typed fields out of a JSON object and collect
//! every problem as a `details` entry of `VALIDATION_FAILED`.
//!
//! Used by the `from_json` constructors of the input structs. It knows no
//! business rules beyond types and ranges.

use serde_json::{Map, Value};

use super::{DomainError, DomainResult, FieldError};

/// A reader over one JSON object that accumulates field errors.
#[derive(Debug)]
pub struct Fields<'a> {
    obj: Option<&'a Map<String, Value>>,
    prefix: String,
    /// Problems found so far.
    pub details: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Starts reading `body`; a non-object body is one error on `body`.
    pub fn new(body: &'a Value) -> Self {
        let mut f = Fields {
            obj: body.as_object(),
            prefix: String::new(),
            details: Vec::new(),
        };
        if f.obj.is_none() && !body.is_null() {
            f.details.push(FieldError::new("body", "must be a JSON object"));
        }
        f
    }

    /// Reads a nested object, prefixing its field names with `prefix.`.
    pub fn nested(body: &'a Value, prefix: &str) -> Self {
        Fields {
            obj: body.as_object(),
            prefix: format!("{prefix}."),
            details: Vec::new(),
        }
    }

    /// The full dotted name of a field.
    pub fn name(&self, field: &str) -> String {
        format!("{}{}", self.prefix, field)
    }

    /// Records an error on `field`.
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        let name = self.name(field);
        self.details.push(FieldError::new(name, message));
    }

    /// The raw value of a field (absent and `null` are `None`).
    pub fn raw(&self, field: &str) -> Option<&'a Value> {
        self.obj.and_then(|o| o.get(field)).filter(|v| !v.is_null())
    }

    /// A string of `min..=max` characters (after trimming for the length check).
    pub fn string(&mut self, field: &str, required: bool, min: usize, max: usize) -> Option<String> {
        match self.raw(field) {
            None => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::String(s)) => {
                let n = s.trim().chars().count();
                if n < min || s.chars().count() > max {
                    if max == usize::MAX {
                        self.fail(field, format!("must be at least {min} characters"));
                    } else if min == 0 {
                        self.fail(field, format!("must be at most {max} characters"));
                    } else {
                        self.fail(field, format!("must be {min} to {max} characters"));
                    }
                    None
                } else {
                    Some(s.clone())
                }
            }
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// An integer (JSON integer, not a float or string) within `min..=max`.
    pub fn int(&mut self, field: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        match self.raw(field) {
            None => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
                Some(v) if v >= min && v <= max => Some(v),
                _ => {
                    self.fail(field, format!("must be an integer from {min} to {max}"));
                    None
                }
            },
            Some(_) => {
                self.fail(field, format!("must be an integer from {min} to {max}"));
                None
            }
        }
    }

    /// A boolean.
    pub fn boolean(&mut self, field: &str, required: bool) -> Option<bool> {
        match self.raw(field) {
            None => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.fail(field, "must be a boolean");
                None
            }
        }
    }

    /// A string that must be one of `allowed`.
    pub fn one_of(&mut self, field: &str, required: bool, allowed: &[&str]) -> Option<String> {
        match self.raw(field) {
            None => {
                if required {
                    self.fail(field, format!("is required (one of {})", allowed.join(", ")));
                }
                None
            }
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Some(s.clone()),
            Some(_) => {
                self.fail(field, format!("must be one of {}", allowed.join(", ")));
                None
            }
        }
    }

    /// An array of strings with at most `max_items` items.
    pub fn strings(&mut self, field: &str, required: bool, max_items: usize) -> Option<Vec<String>> {
        match self.raw(field) {
            None => {
                if required {
                    self.fail(field, "is required");
                }
                None
            }
            Some(Value::Array(items)) => {
                if items.len() > max_items {
                    self.fail(field, format!("must have at most {max_items} items"));
                    return None;
                }
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match v.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => {
                            self.fail(&format!("{field}[{i}]"), "must be a string");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                self.fail(field, "must be an array of strings");
                None
            }
        }
    }

    /// `Ok(())` when no problem was found, else `VALIDATION_FAILED`.
    pub fn finish(self) -> DomainResult<()> {
        if self.details.is_empty() {
            Ok(())
        } else {
            Err(DomainError::validation(self.details))
        }
    }
}

/// Parses a file name's extension, lower-cased.
pub fn extension(file_name: &str) -> Option<String> {
    file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_type_and_range_errors() {
        let body = json!({"a": 1.5, "b": "7", "c": -1, "d": "hi", "e": [1]});
        let mut f = Fields::new(&body);
        assert_eq!(f.int("a", true, 0, 10), None);
        assert_eq!(f.int("b", true, 0, 10), None);
        assert_eq!(f.int("c", true, 0, 10), None);
        assert_eq!(f.string("d", true, 5, 10), None);
        assert_eq!(f.strings("e", false, 10), None);
        assert_eq!(f.string("missing", true, 1, 10), None);
        let e = f.finish().unwrap_err();
        let DomainError::ValidationFailed { details, .. } = e else {
            panic!()
        };
        let fields: Vec<_> = details.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["a", "b", "c", "d", "e[0]", "missing"]);
    }
}
