//! Real objects for generation to aim at: three actors provisioned through
//! the control API (a poster with a wallet, an agent, a proofer; all
//! verified, enterprise tier so rate limits bite late), a job posted by the
//! poster, the agent's and the proofer's NDA on it, and the agent's
//! application. Also the mapping between their values and the
//! placeholders stored in corpus files.
//!
//! Credentials live only here and in the requests sent; they are
//! registered with [`Secrets`] and never rendered.

use serde_json::{Value, json};

use super::FuzzError;
use super::strategy::Hints;
use crate::redact::Secrets;
use crate::scenario::{ActorSpec, Role, Tier};
use crate::target::ControlClient;
use crate::target::{Capped, read_capped, too_large};

/// Wallet of the fixture poster, USD cents ($1,000,000).
const POSTER_WALLET_CENTS: i64 = 100_000_000;
/// Timeout of one provisioning request.
const PROVISION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// One provisioned account.
#[derive(Clone)]
pub struct FuzzActor {
    /// The role it was created for.
    pub role: Role,
    /// Its user id (empty when the control API gave none).
    pub user_id: String,
    /// Its `age_<32 hex>` key (secret).
    pub api_key: String,
    /// Its session JWT (secret).
    pub access_token: String,
}

impl std::fmt::Debug for FuzzActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuzzActor")
            .field("role", &self.role)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The objects of one fuzzing round.
#[derive(Debug, Clone)]
pub struct Fixtures {
    /// Has a wallet; posted the job.
    pub poster: FuzzActor,
    /// Acknowledged the NDA and applied.
    pub agent: FuzzActor,
    /// Acknowledged the NDA.
    pub proofer: FuzzActor,
    /// The poster's job (status `open`).
    pub job_id: String,
    /// The agent's application to it (status `pending`).
    pub application_id: String,
    /// The job's category.
    pub category: String,
    /// Every category of `GET /api/categories`.
    pub categories: Vec<String>,
}

impl Fixtures {
    /// The actor of a role.
    pub fn actor(&self, role: Role) -> &FuzzActor {
        match role {
            Role::Poster => &self.poster,
            Role::Agent => &self.agent,
            Role::Proofer => &self.proofer,
        }
    }

    /// (placeholder, real value) pairs, credentials first.
    fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for role in Role::ALL {
            let a = self.actor(role);
            let r = role.as_str();
            out.push((format!("{{{{{r}.api_key}}}}"), a.api_key.clone()));
            out.push((format!("{{{{{r}.access_token}}}}"), a.access_token.clone()));
            out.push((format!("{{{{{r}.user_id}}}}"), a.user_id.clone()));
        }
        out.push(("{{job_id}}".to_string(), self.job_id.clone()));
        out.push(("{{application_id}}".to_string(), self.application_id.clone()));
        out.retain(|(_, real)| !real.is_empty());
        out
    }

    /// Real ids and credentials in `s` replaced by their placeholders.
    pub fn templatize(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (placeholder, real) in self.pairs() {
            out = out.replace(&real, &placeholder);
        }
        out
    }

    /// Credentials in `s` replaced by their placeholders (ids kept).
    pub fn hide_credentials(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (placeholder, real) in self.pairs() {
            if placeholder.ends_with(".api_key}}") || placeholder.ends_with(".access_token}}") {
                out = out.replace(&real, &placeholder);
            }
        }
        out
    }

    /// Placeholders in `s` replaced by these fixtures' values.
    pub fn instantiate(&self, s: &str) -> String {
        if !s.contains("{{") {
            return s.to_string();
        }
        let mut out = s.to_string();
        for (placeholder, real) in self.pairs() {
            out = out.replace(&placeholder, &real);
        }
        out
    }

    /// Registers every credential with `secrets`.
    pub fn register_secrets(&self, secrets: &Secrets) {
        for role in Role::ALL {
            let a = self.actor(role);
            secrets.add(&format!("API_KEY:{}", role.as_str()), &a.api_key);
            secrets.add(&format!("JWT:{}", role.as_str()), &a.access_token);
        }
    }

    /// Generation hints: the real application id, real categories.
    pub fn hints(&self) -> Hints {
        let mut h = Hints::default();
        h.set("applicationId", vec![json!(self.application_id)]);
        h.set("application_id", vec![json!(self.application_id)]);
        let cats: Vec<Value> = self.categories.iter().map(|c| json!(c)).collect();
        for name in ["category", "categories", "specializations"] {
            h.set(name, cats.clone());
        }
        h
    }
}

/// Creates the actors and objects on the target, reading at most
/// `max_body` bytes of each answer body.
pub async fn provision(
    http: &reqwest::Client,
    base_url: &str,
    control: &ControlClient,
    max_body: usize,
) -> Result<Fixtures, FuzzError> {
    let base = base_url.trim_end_matches('/');
    let categories = categories(http, base, max_body).await;
    let post = |step: &'static str, path: String, who: FuzzActor, body: Option<Value>| async move {
        call(http, base, step, &path, &who, body, max_body).await
    };
    let category = categories
        .iter()
        .find(|c| c.as_str() == "Research")
        .or_else(|| categories.first())
        .cloned()
        .unwrap_or_else(|| "Research".to_string());
    let poster = actor(control, Role::Poster, &category, POSTER_WALLET_CENTS).await?;
    let agent = actor(control, Role::Agent, &category, POSTER_WALLET_CENTS / 10).await?;
    let proofer = actor(control, Role::Proofer, &category, 0).await?;

    let job = post(
        "post the fixture job",
        "/api/agent/jobs".to_string(),
        poster.clone(),
        Some(json!({
            "title": "Fuzz fixture job",
            "description": "A job posted by the fuzzer so that path ids are real.",
            "category": category,
            "budget_min": 1000,
            "budget_max": 50000
        })),
    )
    .await?;
    let job_id = job
        .pointer("/job/id")
        .or_else(|| job.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| FuzzError::Provision {
            step: "post the fixture job".into(),
            message: "the answer has no `job.id`".into(),
        })?
        .to_string();
    let nda = format!("/api/jobs/{job_id}/nda");
    post("acknowledge the NDA as the agent", nda.clone(), agent.clone(), None).await?;
    post("acknowledge the NDA as the proofer", nda, proofer.clone(), None).await?;
    let application = post(
        "apply to the fixture job",
        format!("/api/jobs/{job_id}/apply"),
        agent.clone(),
        Some(
            json!({"message": "I can deliver this job well.", "proposed_price": 20000, "estimated_delivery": "2 days"}),
        ),
    )
    .await?;
    let application_id = application
        .pointer("/application/id")
        .or_else(|| application.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| FuzzError::Provision {
            step: "apply to the fixture job".into(),
            message: "the answer has no `application.id`".into(),
        })?
        .to_string();
    Ok(Fixtures {
        poster,
        agent,
        proofer,
        job_id,
        application_id,
        category,
        categories,
    })
}

async fn categories(http: &reqwest::Client, base: &str, max_body: usize) -> Vec<String> {
    let fallback = vec!["Research".to_string()];
    let Ok(resp) = http
        .get(format!("{base}/api/categories"))
        .timeout(PROVISION_TIMEOUT)
        .send()
        .await
    else {
        return fallback;
    };
    let Ok(Ok(bytes)) = tokio::time::timeout(PROVISION_TIMEOUT, read_capped(resp, max_body)).await else {
        return fallback;
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return fallback;
    };
    let list: Vec<String> = v
        .get("categories")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    if list.is_empty() { fallback } else { list }
}

async fn actor(control: &ControlClient, role: Role, category: &str, wallet: i64) -> Result<FuzzActor, FuzzError> {
    let spec = ActorSpec {
        role,
        specializations: Some(vec![category.to_string()]),
        wallet_cents: Some(wallet),
        email_verified: Some(true),
        stripe_connected: Some(true),
        tier: Some(Tier::Enterprise),
        fresh: None,
    };
    let step = format!("create the {} actor", role.as_str());
    let creds = control
        .create_actor(&spec, &format!("fuzz {}", role.as_str()))
        .await
        .map_err(|e| FuzzError::Provision {
            step: step.clone(),
            message: e.to_string(),
        })?;
    let missing = |what: &str| FuzzError::Provision {
        step: step.clone(),
        message: format!("the control API gave no `{what}`"),
    };
    Ok(FuzzActor {
        role,
        user_id: creds.user_id.clone().unwrap_or_default(),
        api_key: creds.api_key.clone().ok_or_else(|| missing("api_key"))?,
        access_token: creds.access_token.clone().ok_or_else(|| missing("access_token"))?,
    })
}

/// POST `path` as `who` (API key), expecting a 2xx JSON answer.
async fn call(
    http: &reqwest::Client,
    base: &str,
    step: &str,
    path: &str,
    who: &FuzzActor,
    body: Option<Value>,
    max_body: usize,
) -> Result<Value, FuzzError> {
    let mut req = http
        .post(format!("{base}{path}"))
        .timeout(PROVISION_TIMEOUT)
        .header("X-API-Key", &who.api_key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let fail = |message: String| FuzzError::Provision {
        step: step.to_string(),
        message,
    };
    let resp = req.send().await.map_err(|e| fail(crate::target::describe_error(&e)))?;
    let status = resp.status().as_u16();
    let text = match tokio::time::timeout(PROVISION_TIMEOUT, read_capped(resp, max_body)).await {
        Err(_) => return Err(fail(format!("the body of POST {path} did not arrive in time"))),
        Ok(Err(Capped::TooLarge)) => return Err(fail(format!("POST {path}: {}", too_large(max_body)))),
        Ok(Err(Capped::Broken(e))) => return Err(fail(crate::target::describe_error(&e))),
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
    };
    if !(200..300).contains(&status) {
        let excerpt: String = text.chars().take(300).collect();
        return Err(fail(format!("POST {path} answered {status}: {excerpt}")));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
