//! One fuzz request: its parts and credentials, the wire form it is sent
//! in, the placeholder form it is stored in (`{{job_id}}`,
//! `{{agent.api_key}}`), and the curl command that replays it.
//!
//! The curl command and the stored form never hold a credential: the curl
//! command reads `$AGENTGIGS_<ROLE>_API_KEY` / `$AGENTGIGS_<ROLE>_JWT` from
//! the environment. No network here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fixtures::Fixtures;
use super::mutate::{Expectation, Refusal, RequestParts};
use crate::scenario::Role;

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "role", rename_all = "snake_case")]
pub enum Credential {
    /// No credentials (public operations).
    None,
    /// `X-API-Key` of an actor.
    ApiKey(Role),
    /// `Authorization: Bearer` with an actor's session JWT.
    Jwt(Role),
}

/// How the body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// `application/json`.
    Json,
    /// `multipart/form-data`; the fields named in `files` are file parts.
    Multipart,
}

/// What a conforming target must answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// A valid request: a documented 2xx or documented 4xx, never a 5xx.
    Documented,
    /// An invalid request: a 4xx, never a 5xx; a 2xx is a failure when the
    /// docs require the refusal, a departure when only our reference
    /// server makes it (see [`Refusal`]).
    Reject,
    /// Not known to be invalid: a documented status, never a 5xx.
    NoServerError,
}

impl From<Expectation> for Expect {
    fn from(e: Expectation) -> Self {
        match e {
            Expectation::Reject => Expect::Reject,
            Expectation::NoServerError => Expect::NoServerError,
        }
    }
}

impl Expect {
    /// In words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Expect::Documented => "a documented 2xx or 4xx status (never 5xx)",
            Expect::Reject => "a 4xx status (the request is invalid; never 2xx or 5xx)",
            Expect::NoServerError => "a documented status other than 5xx",
        }
    }
}

/// A generated request.
#[derive(Debug, Clone, PartialEq)]
pub struct FuzzRequest {
    /// The operationId (or `METHOD /path` without one).
    pub operation: String,
    /// Upper-case method.
    pub method: String,
    /// The path template (`/api/jobs/{id}/apply`).
    pub path_template: String,
    /// Who sends it and how.
    pub credential: Credential,
    /// How the body travels (`None`: the operation has no body).
    pub format: Option<BodyFormat>,
    /// Multipart fields sent as file parts.
    pub files: Vec<String>,
    /// Path parameters, query and body.
    pub parts: RequestParts,
    /// The mutation that made it invalid, if any.
    pub mutation: Option<String>,
    /// Why the mutated request deserves a refusal, and who says so.
    pub refusal: Option<Refusal>,
    /// What a conforming target must answer.
    pub expect: Expect,
}

/// A body as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum WireBody {
    /// A JSON document.
    Json { value: Value },
    /// Form fields; those named in `files` are file parts.
    Multipart {
        fields: Map<String, Value>,
        files: Vec<String>,
    },
}

/// A request ready to send (or, with placeholders, to store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRequest {
    /// Upper-case method.
    pub method: String,
    /// Concrete path, percent-encoded, no query.
    pub path: String,
    /// Query pairs (not encoded).
    pub query: Vec<(String, String)>,
    /// Header names and values (credentials as placeholders until sent).
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<WireBody>,
}

/// Placeholder of a credential in stored requests (`{{agent.api_key}}`).
pub fn credential_placeholder(role: Role, jwt: bool) -> String {
    format!(
        "{{{{{}.{}}}}}",
        role.as_str(),
        if jwt { "access_token" } else { "api_key" }
    )
}

/// Environment variable a curl command reads a credential from.
pub fn credential_env(role: Role, jwt: bool) -> String {
    format!(
        "AGENTGIGS_{}_{}",
        role.as_str().to_ascii_uppercase(),
        if jwt { "JWT" } else { "API_KEY" }
    )
}

impl FuzzRequest {
    /// The concrete path, parameters percent-encoded.
    pub fn concrete_path(&self) -> String {
        let mut out = self.path_template.clone();
        for (name, value) in &self.parts.path_params {
            out = out.replace(&format!("{{{name}}}"), &encode_segment(value));
        }
        out
    }

    /// The request with placeholders for credentials (`{{agent.api_key}}`)
    /// and nothing else replaced. Ids stay real; [`Fixtures::templatize`]
    /// turns them into placeholders for storage.
    pub fn to_wire_template(&self) -> WireRequest {
        let mut headers = Vec::new();
        match self.credential {
            Credential::None => {}
            Credential::ApiKey(role) => headers.push(("X-API-Key".to_string(), credential_placeholder(role, false))),
            Credential::Jwt(role) => headers.push((
                "Authorization".to_string(),
                format!("Bearer {}", credential_placeholder(role, true)),
            )),
        }
        let body = match (self.format, &self.parts.body) {
            (Some(BodyFormat::Json), Some(v)) => {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                Some(WireBody::Json { value: v.clone() })
            }
            (Some(BodyFormat::Multipart), Some(v)) => Some(WireBody::Multipart {
                fields: v.as_object().cloned().unwrap_or_default(),
                files: self.files.clone(),
            }),
            _ => None,
        };
        WireRequest {
            method: self.method.clone(),
            path: self.concrete_path(),
            query: self.parts.query.clone(),
            headers,
            body,
        }
    }
}

impl WireRequest {
    /// Path and encoded query (`/api/x?limit=5`).
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter())
            .finish();
        format!("{}?{q}", self.path)
    }

    /// The full URL against `base_url`.
    pub fn url(&self, base_url: &str) -> String {
        format!("{}{}", base_url.trim_end_matches('/'), self.path_and_query())
    }

    /// Replaces placeholders (credentials and ids) with the fixtures' values.
    pub fn instantiate(&self, fx: &Fixtures) -> WireRequest {
        self.map_strings(&|s| fx.instantiate(s))
    }

    /// Replaces real ids (and any credential) with placeholders.
    pub fn templatize(&self, fx: &Fixtures) -> WireRequest {
        self.map_strings(&|s| fx.templatize(s))
    }

    /// Applies `f` to every string of the request (path, query values,
    /// header values, body strings).
    pub fn map_strings(&self, f: &dyn Fn(&str) -> String) -> WireRequest {
        WireRequest {
            method: self.method.clone(),
            path: f(&self.path),
            query: self.query.iter().map(|(k, v)| (k.clone(), f(v))).collect(),
            headers: self.headers.iter().map(|(k, v)| (k.clone(), f(v))).collect(),
            body: self.body.as_ref().map(|b| match b {
                WireBody::Json { value } => WireBody::Json {
                    value: map_json_strings(value, f),
                },
                WireBody::Multipart { fields, files } => WireBody::Multipart {
                    fields: fields
                        .iter()
                        .map(|(k, v)| (k.clone(), map_json_strings(v, f)))
                        .collect(),
                    files: files.clone(),
                },
            }),
        }
    }

    /// A ready-to-run curl command against `base_url`. Credential
    /// placeholders become `$AGENTGIGS_<ROLE>_API_KEY` / `_JWT` variables;
    /// other `{{...}}` placeholders are left as they are.
    pub fn curl(&self, base_url: &str) -> String {
        self.curl_with(base_url, None)
    }

    /// Like [`WireRequest::curl`]; a JSON body is read from `body_file`
    /// (`--data-binary @file`) when one is given.
    pub fn curl_with(&self, base_url: &str, body_file: Option<&std::path::Path>) -> String {
        let mut prelude = Vec::new();
        let mut lines = vec![format!("curl -sS -i -X {} {}", self.method, sq(&self.url(base_url)))];
        for (name, value) in &self.headers {
            let (value, env) = env_for_placeholders(value);
            if env {
                lines.push(format!("-H {}", dq(&format!("{name}: {value}"))));
            } else {
                lines.push(format!("-H {}", sq(&format!("{name}: {value}"))));
            }
        }
        match &self.body {
            None => {}
            Some(WireBody::Json { value }) => match body_file {
                Some(file) => lines.push(format!("--data-binary {}", sq(&format!("@{}", file.display())))),
                None => lines.push(format!("--data-raw {}", sq(&value.to_string()))),
            },
            Some(WireBody::Multipart { fields, files }) => {
                for (name, value) in fields {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    if files.contains(name) {
                        let file = format!("fuzz-{name}.txt");
                        prelude.push(format!("printf '%s' {} > {file}", sq(&text)));
                        lines.push(format!("-F {}", sq(&format!("{name}=@{file}"))));
                    } else {
                        lines.push(format!("--form-string {}", sq(&format!("{name}={text}"))));
                    }
                }
            }
        }
        let command = lines.join(" \\\n  ");
        if prelude.is_empty() {
            command
        } else {
            format!("{} && \\\n{command}", prelude.join(" && "))
        }
    }
}

/// Applies `f` to every string (and object key is left alone) in a JSON value.
pub fn map_json_strings(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| map_json_strings(x, f)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), map_json_strings(x, f))).collect()),
        other => other.clone(),
    }
}

/// Replaces `{{role.api_key}}` / `{{role.access_token}}` with `$ENV`
/// references; true when any was replaced.
fn env_for_placeholders(value: &str) -> (String, bool) {
    let mut out = value.to_string();
    let mut any = false;
    for role in Role::ALL {
        for jwt in [false, true] {
            let p = credential_placeholder(role, jwt);
            if out.contains(&p) {
                out = out.replace(&p, &format!("${}", credential_env(role, jwt)));
                any = true;
            }
        }
    }
    (out, any)
}

/// Single-quotes for a POSIX shell.
pub fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Double-quotes for a POSIX shell, leaving `$VAR` references live.
fn dq(s: &str) -> String {
    let escaped: String = s
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' | '`' => vec!['\\', c],
            _ => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// Percent-encodes one path segment (everything but unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req() -> FuzzRequest {
        let mut parts = RequestParts::default();
        parts
            .path_params
            .insert("id".into(), "0b6f7f4e-0000-4000-8000-000000000001".into());
        parts.query.push(("limit".into(), "5 & more".into()));
        parts.body = Some(json!({"message": "it's fine"}));
        FuzzRequest {
            operation: "applyToJob".into(),
            method: "POST".into(),
            path_template: "/api/jobs/{id}/apply".into(),
            credential: Credential::ApiKey(Role::Agent),
            format: Some(BodyFormat::Json),
            files: vec![],
            parts,
            mutation: None,
            refusal: None,
            expect: Expect::Documented,
        }
    }

    #[test]
    fn curl_uses_env_placeholders_and_quotes() {
        let wire = req().to_wire_template();
        let curl = wire.curl("http://127.0.0.1:9/");
        assert!(curl.contains("-H \"X-API-Key: $AGENTGIGS_AGENT_API_KEY\""), "{curl}");
        assert!(
            curl.contains("'http://127.0.0.1:9/api/jobs/0b6f7f4e-0000-4000-8000-000000000001/apply?limit=5+%26+more'"),
            "{curl}"
        );
        assert!(curl.contains(r#"--data-raw '{"message":"it'\''s fine"}'"#), "{curl}");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }
}
