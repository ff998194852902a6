//! Preflight (`agentgigs-conformance doctor`): what a target offers and what
//! of the library it can run, found without running any scenario.
//!
//! It resolves the target once (control features, the account pool and
//! each account's check), opens the event stream with the first usable
//! account, and asks [`can_run`](super::can_run) of every scenario. It
//! returns data; the CLI prints it.

use std::time::Duration;

use super::events;
use super::exec::{Body, Prepared};
use super::{PlannedScenario, RunOptions};
use crate::redact::Secrets;
use crate::scenario::Level;
use crate::target::{ClientOptions, EventsTransport, Target, TargetSpec, build_client, role_name};

/// One account of the pool, as the check found it.
#[derive(Debug, Clone)]
pub struct AccountReport {
    pub label: String,
    /// `poster`, `agent`, `proofer`, or `actor <name>` for the older form.
    pub role: String,
    pub tier: String,
    /// `Err(why)` when the account cannot be used.
    pub usable: Result<(), String>,
    pub wallet_cents: Option<i64>,
    pub specializations: Option<Vec<String>>,
    pub proofer_categories: Option<Vec<String>>,
    pub email_verified: bool,
}

/// What preflight found.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The base URL (redacted), or `bundled`.
    pub target: String,
    pub sandbox: bool,
    /// The control features, or why they could not be read.
    pub features: Result<Vec<String>, String>,
    pub accounts: Vec<AccountReport>,
    /// Whether an event stream opened (`Ok(what answered)`), or why not.
    pub events: Result<String, String>,
    /// Per scenario: its id, level, and why it cannot run (`None`: it can).
    pub plan: Vec<(String, Level, Option<String>)>,
}

impl Preflight {
    /// Scenarios that can run, and how many there are, at must level.
    pub fn must_runnable(&self) -> (usize, usize) {
        let must: Vec<_> = self.plan.iter().filter(|(_, l, _)| *l == Level::Must).collect();
        (must.iter().filter(|(_, _, why)| why.is_none()).count(), must.len())
    }

    /// True when no scenario at all can run.
    pub fn nothing_runs(&self) -> bool {
        self.plan.iter().all(|(_, _, why)| why.is_some())
    }
}

/// Probes `target` and plans `scenarios` on it.
pub async fn preflight(target: &TargetSpec, scenarios: &[PlannedScenario], options: &RunOptions) -> Preflight {
    let secrets = Secrets::new();
    let http = match build_client(&ClientOptions {
        insecure: options.insecure || matches!(target, TargetSpec::Remote(p) if p.insecure),
        ..ClientOptions::default()
    }) {
        Ok(c) => c,
        Err(e) => {
            return Preflight {
                target: String::new(),
                sandbox: target.is_sandbox(),
                features: Err(e.to_string()),
                accounts: Vec::new(),
                events: Err("no HTTP client".into()),
                plan: Vec::new(),
            };
        }
    };
    let resolved = Target::resolve(target, &http, &secrets, options.request_timeout).await;
    let accounts = resolved
        .pool()
        .map(|pool| {
            pool.accounts()
                .iter()
                .map(|a| {
                    let check = a.check.lock().clone();
                    AccountReport {
                        label: a.account.label.clone(),
                        role: match (a.account.role, &a.account.actor) {
                            (Some(r), _) => role_name(r).to_string(),
                            (None, Some(actor)) => format!("actor `{actor}`"),
                            (None, None) => "any".into(),
                        },
                        tier: format!("{:?}", a.tier).to_lowercase(),
                        usable: a
                            .credentials
                            .as_ref()
                            .map(|_| ())
                            .map_err(Clone::clone)
                            .and(check.usable),
                        wallet_cents: check.wallet_cents,
                        specializations: a.account.specializations.clone(),
                        proofer_categories: check.proofer_categories,
                        email_verified: a.account.email_verified.unwrap_or(true),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let events = probe_events(&resolved, &http, options).await;
    let plan = scenarios
        .iter()
        .map(|p| {
            (
                p.scenario.id.clone(),
                p.scenario.level,
                super::can_run(p, &resolved, options).err(),
            )
        })
        .collect();
    Preflight {
        target: resolved.info(&secrets).base_url,
        sandbox: resolved.sandbox(),
        features: resolved.features().map(|f| f.features),
        accounts,
        events,
        plan,
    }
}

/// Opens `GET /api/agent/events` with the first usable account (or the
/// bundled server's own actor) and reports what answered.
async fn probe_events(target: &Target, http: &reqwest::Client, options: &RunOptions) -> Result<String, String> {
    let Some(profile) = target.profile() else {
        return Ok("the bundled server's stream (started per scenario)".into());
    };
    let creds = target
        .pool()
        .and_then(|p| {
            p.accounts()
                .iter()
                .find(|a| a.check.lock().usable.is_ok())
                .and_then(|a| a.credentials.clone().ok())
        })
        .ok_or_else(|| "no usable account to open it with".to_string())?;
    let url = super::state::join_url(&profile.base_url, "/api/agent/events").map_err(|e| e.to_string())?;
    let mut headers = Vec::new();
    if let Some(k) = &creds.api_key {
        headers.push(("X-API-Key".to_string(), k.clone()));
    } else if let Some(t) = &creds.access_token {
        headers.push(("Authorization".to_string(), format!("Bearer {t}")));
    }
    if target.events_transport() == EventsTransport::Sse {
        headers.push(("Accept".into(), "text/event-stream".into()));
    }
    let prepared = Prepared {
        method: reqwest::Method::GET,
        url,
        path: "/api/agent/events".into(),
        headers,
        body: Body::None,
    };
    let limit = options.request_timeout.min(Duration::from_secs(10));
    let (stream, received) = events::open(
        http,
        target.events_transport(),
        &prepared,
        limit,
        "preflight time limit",
        options.max_body_bytes,
        options.insecure,
    )
    .await
    .map_err(|e| e.to_string())?;
    let ct = received
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match stream {
        Some(_) => Ok(format!("connects ({} {ct})", received.status)),
        None => Err(format!("refused with {} {ct}", received.status)),
    }
}
