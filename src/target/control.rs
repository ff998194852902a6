//! The control-API client (`specs/control.openapi.yaml`): features,
//! actors, clock, reset, with `X-Conformance-Token` when configured.
//!
//! It returns credentials to the caller; it must not record or print them.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::http::{Capped, read_capped};
use super::{Secret, TargetError, describe_error};
use crate::scenario::ActorSpec;

/// Default timeout of one control call (see [`ControlClient::with_timeout`]).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest control-API answer read; a larger one is an error.
const MAX_CONTROL_BODY: usize = 1024 * 1024;

/// What `GET /__conformance` answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlInfo {
    /// Control API version; 0 when the target has none.
    pub version: u32,
    /// Features offered (`actors`, `clock`, `reset`).
    pub features: Vec<String>,
}

impl ControlInfo {
    /// True when the feature is offered.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// Credentials of one provisioned (or statically configured) account.
/// Secrets: never store these in a report (register them with `Secrets`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ActorCredentials {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    /// A session JWT (`Authorization: Bearer`).
    pub access_token: Option<String>,
    /// An `age_<32 hex>` key (`X-API-Key`).
    pub api_key: Option<String>,
}

impl std::fmt::Debug for ActorCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorCredentials")
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ActorBody {
    #[serde(alias = "userId", alias = "id")]
    user_id: Option<String>,
    email: Option<String>,
    password: Option<String>,
    #[serde(alias = "accessToken", alias = "jwt")]
    access_token: Option<String>,
    #[serde(alias = "apiKey")]
    api_key: Option<String>,
}

/// A client for one target's control API.
#[derive(Debug, Clone)]
pub struct ControlClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    timeout: Duration,
}

impl ControlClient {
    /// A client for the control API at `base` (paths `/__conformance...`),
    /// each call limited to 15 s.
    pub fn new(http: reqwest::Client, base: Url, token: Option<Secret>) -> Self {
        ControlClient {
            http,
            base,
            token,
            timeout: CONTROL_TIMEOUT,
        }
    }

    /// The same client with each call (connect, headers and body) limited
    /// to `timeout` (at least 1 ms).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    fn url(&self, path: &str) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), TargetError> {
        let endpoint = format!("{method} {path}");
        let mut req = self.http.request(method, self.url(path)).timeout(self.timeout);
        if let Some(t) = &self.token {
            req = req.header("X-Conformance-Token", t.expose());
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let unreachable = |e: &reqwest::Error| TargetError::ControlUnreachable {
            endpoint: endpoint.clone(),
            message: describe_error(e),
        };
        let limit = self.timeout;
        let work = async {
            let resp = req.send().await.map_err(|e| unreachable(&e))?;
            let status = resp.status().as_u16();
            let bytes = read_capped(resp, MAX_CONTROL_BODY).await.map_err(|e| match e {
                Capped::TooLarge => TargetError::ControlBody {
                    endpoint: endpoint.clone(),
                    message: format!("the answer is larger than {MAX_CONTROL_BODY} bytes"),
                },
                Capped::Broken(e) => unreachable(&e),
            })?;
            Ok::<_, TargetError>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(limit, work).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(TargetError::ControlUnreachable {
                    endpoint: endpoint.clone(),
                    message: format!("timed out: no complete answer within {} ms", limit.as_millis()),
                });
            }
        };
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if !(200..300).contains(&status) {
            let full = String::from_utf8_lossy(&bytes);
            let mut text: String = full.chars().take(300).collect();
            if text.len() < full.len() {
                // The marker lets redaction recognise a secret cut in two.
                text.push('…');
            }
            return Err(TargetError::Control {
                endpoint,
                status,
                body: text,
            });
        }
        Ok((status, value))
    }

    /// `GET /__conformance`. A target without a control API (404 or 405)
    /// answers `ControlInfo::default()` (no features).
    pub async fn features(&self) -> Result<ControlInfo, TargetError> {
        match self.call(reqwest::Method::GET, "/__conformance", None).await {
            Ok((_, v)) => {
                let version = v.get("version").and_then(Value::as_u64).unwrap_or(0) as u32;
                let Some(features) = v.get("features").and_then(Value::as_array) else {
                    return Err(TargetError::ControlBody {
                        endpoint: "GET /__conformance".into(),
                        message: "expected `{version, features: [...]}`".into(),
                    });
                };
                let features = features.iter().filter_map(Value::as_str).map(str::to_string).collect();
                Ok(ControlInfo { version, features })
            }
            Err(TargetError::Control { status: 404 | 405, .. }) => Ok(ControlInfo::default()),
            Err(e) => Err(e),
        }
    }

    /// `POST /__conformance/actors`: a ready account for `spec`, named `name`.
    pub async fn create_actor(&self, spec: &ActorSpec, name: &str) -> Result<ActorCredentials, TargetError> {
        let mut body = serde_json::to_value(spec).unwrap_or_else(|_| json!({}));
        if let Value::Object(m) = &mut body {
            // Every account the control API creates is fresh.
            m.remove("fresh");
            if !name.is_empty() {
                m.insert("name".into(), Value::String(name.chars().take(100).collect()));
            }
        }
        let (_, v) = self
            .call(reqwest::Method::POST, "/__conformance/actors", Some(body))
            .await?;
        let v = match v.get("actor") {
            Some(inner @ Value::Object(_)) => inner.clone(),
            _ => v,
        };
        let b: ActorBody = serde_json::from_value(v).map_err(|e| TargetError::ControlBody {
            endpoint: "POST /__conformance/actors".into(),
            message: format!("expected `{{user_id, email, password, access_token, api_key}}`: {e}"),
        })?;
        Ok(ActorCredentials {
            user_id: b.user_id,
            email: b.email,
            password: b.password,
            access_token: b.access_token,
            api_key: b.api_key,
        })
    }

    /// `POST /__conformance/clock`: moves the server clock; answers its new time.
    pub async fn advance_clock(&self, seconds: i64) -> Result<String, TargetError> {
        let (_, v) = self
            .call(
                reqwest::Method::POST,
                "/__conformance/clock",
                Some(json!({ "advance_seconds": seconds })),
            )
            .await?;
        Ok(v.get("now").and_then(Value::as_str).unwrap_or_default().to_string())
    }

    /// `POST /__conformance/attachments`: an attachment on a job, as its
    /// poster would have added it; answers the control API's JSON.
    pub async fn seed_attachment(&self, job: &str, file_name: &str, content: &str) -> Result<Value, TargetError> {
        let (_, v) = self
            .call(
                reqwest::Method::POST,
                "/__conformance/attachments",
                Some(json!({ "job_id": job, "file_name": file_name, "content": content })),
            )
            .await?;
        Ok(v)
    }

    /// `POST /__conformance/webhook-loopback`: lets this loopback URL (a
    /// webhook sink) be registered as a webhook.
    pub async fn allow_webhook_url(&self, url: &str) -> Result<(), TargetError> {
        self.call(
            reqwest::Method::POST,
            "/__conformance/webhook-loopback",
            Some(json!({ "url": url })),
        )
        .await
        .map(|_| ())
    }

    /// `POST /__conformance/events/flush` (feature
    /// [`EVENTS_FLUSH`](super::EVENTS_FLUSH)): the flush marker carrying
    /// `token` on every open event stream.
    pub async fn flush_events(&self, token: &str) -> Result<(), TargetError> {
        self.call(
            reqwest::Method::POST,
            "/__conformance/events/flush",
            Some(json!({ "token": token })),
        )
        .await
        .map(|_| ())
    }

    /// `POST /__conformance/reset`: forgets all state on the target.
    pub async fn reset(&self) -> Result<(), TargetError> {
        self.call(reqwest::Method::POST, "/__conformance/reset", None)
            .await
            .map(|_| ())
    }
}
