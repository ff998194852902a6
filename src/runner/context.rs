//! What every scenario of a run shares: the spec, the HTTP client, the
//! target (and its control API), the secrets, the pacer, the money ledger,
//! the deadlines. Built once per run (or per test harness). It must not
//! run scenarios itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use url::Url;

use super::money::Ledger;
use super::pacing::Pacer;
use super::{RunOptions, RunnerError};
use crate::mock::{MockConfig, MockServer};
use crate::redact::Secrets;
use crate::report::model::{MoneyMoved, TargetInfo};
use crate::scenario::Tier;
use crate::spec::Contract;
use crate::target::{
    ClientOptions, ControlClient, ControlInfo, EventsTransport, Profile, StaticActor, TargetSpec, build_client,
};

/// The target as the runner uses it.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A fresh reference server per scenario, with this configuration.
    Bundled(MockConfig),
    /// One shared deployment.
    Remote(Arc<RemoteTarget>),
}

/// A remote target, resolved.
#[derive(Debug)]
pub(crate) struct RemoteTarget {
    pub profile: Profile,
    pub control: Option<ControlClient>,
    /// The features, or why they could not be read (then every scenario errors).
    pub features: Result<ControlInfo, String>,
}

/// Everything a scenario needs from its run. Cheap to clone.
#[derive(Clone)]
pub struct ScenarioContext {
    pub(crate) contract: Contract,
    pub(crate) http: reqwest::Client,
    pub(crate) target: Target,
    pub(crate) options: Arc<RunOptions>,
    pub(crate) secrets: Secrets,
    pub(crate) run_id: String,
    pub(crate) pacer: Pacer,
    pub(crate) ledger: Ledger,
    pub(crate) run_deadline: Option<Instant>,
    /// Features of the bundled server (learnt once, for the report).
    pub(crate) bundled_features: Vec<String>,
    /// Accept invalid TLS certificates (option or profile).
    pub(crate) insecure: bool,
}

impl std::fmt::Debug for ScenarioContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioContext")
            .field("run_id", &self.run_id)
            .field("target", &self.target)
            .finish()
    }
}

impl ScenarioContext {
    /// Sets up a run against `target`: builds the client, and for a remote
    /// target reads the control API's features (a failure there is kept
    /// and makes every scenario errored, naming it).
    pub async fn new(
        contract: impl Into<Contract>,
        target: &TargetSpec,
        options: RunOptions,
    ) -> Result<Self, RunnerError> {
        Self::with_secrets(contract, target, options, Secrets::new()).await
    }

    /// Like [`ScenarioContext::new`], filling the caller's secrets registry
    /// (keep a clone to scan written artifacts after the run).
    pub async fn with_secrets(
        contract: impl Into<Contract>,
        target: &TargetSpec,
        options: RunOptions,
        secrets: Secrets,
    ) -> Result<Self, RunnerError> {
        let insecure = options.insecure || matches!(target, TargetSpec::Remote(p) if p.insecure);
        let http = build_client(&ClientOptions {
            insecure,
            ..ClientOptions::default()
        })
        .map_err(|e| RunnerError::Setup(e.to_string()))?;
        let mut bundled_features = Vec::new();
        let target = match target {
            TargetSpec::Bundled => Target::Bundled(bundled_config(MockConfig::default(), &secrets)),
            TargetSpec::BundledWith(c) => Target::Bundled(bundled_config(c.clone(), &secrets)),
            TargetSpec::Remote(profile) => {
                // A password in a URL (`https://user:pw@host`) is a secret too.
                for url in std::iter::once(&profile.base_url).chain(profile.control.as_ref().map(|c| &c.url)) {
                    if let Some(pw) = url.password() {
                        secrets.add("URL_PASSWORD", pw);
                        let decoded: String = url::form_urlencoded::parse(format!("p={pw}").as_bytes())
                            .map(|(_, v)| v.into_owned())
                            .next()
                            .unwrap_or_default();
                        secrets.add("URL_PASSWORD", &decoded);
                    }
                }
                let control = profile.control.as_ref().map(|c| {
                    if let Some(t) = &c.token {
                        secrets.add("CONTROL_TOKEN", t.expose());
                    }
                    ControlClient::new(http.clone(), c.url.clone(), c.token.clone())
                        .with_timeout(options.request_timeout)
                });
                let features = match &control {
                    Some(c) => c.features().await.map_err(|e| secrets.redact_str(&e.to_string())),
                    None => Ok(ControlInfo::default()),
                };
                Target::Remote(Arc::new(RemoteTarget {
                    profile: profile.clone(),
                    control,
                    features,
                }))
            }
        };
        if let Target::Bundled(config) = &target {
            // Learn the features once, from a throwaway server.
            if let Ok(server) = MockServer::start(config.clone()).await {
                let url = Url::parse(&server.url().to_string()).ok();
                if let Some(url) = url {
                    let token = config.control_token.clone().map(crate::target::Secret);
                    let control = ControlClient::new(http.clone(), url, token).with_timeout(options.request_timeout);
                    if let Ok(info) = control.features().await {
                        bundled_features = info.features;
                    }
                }
                server.shutdown().await;
            }
        }
        let run_deadline = options.run_timeout.map(|d| Instant::now() + d);
        let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
        Ok(ScenarioContext {
            contract: contract.into(),
            http,
            target,
            options: Arc::new(options),
            secrets,
            run_id,
            pacer: Pacer::default(),
            ledger: Ledger::default(),
            run_deadline,
            bundled_features,
            insecure,
        })
    }

    /// The run's secrets registry (to scan written artifacts afterwards).
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The run's identifier (`{{run_id}}`).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Money committed so far, per scenario and actor.
    pub fn money(&self) -> Vec<MoneyMoved> {
        self.ledger.moved()
    }

    /// What the run points at, for the report.
    pub fn target_info(&self) -> TargetInfo {
        match &self.target {
            Target::Bundled(_) => TargetInfo {
                base_url: "bundled".into(),
                kind: "bundled".into(),
                sandbox: true,
                features: self.bundled_features.clone(),
            },
            Target::Remote(r) => TargetInfo {
                base_url: self.secrets.redact_str(&r.profile.display_url()),
                kind: "remote".into(),
                sandbox: r.profile.sandbox,
                features: r.features.as_ref().map(|f| f.features.clone()).unwrap_or_default(),
            },
        }
    }

    /// True when several scenarios share one target (remote).
    pub(crate) fn shared_target(&self) -> bool {
        matches!(self.target, Target::Remote(_))
    }

    pub(crate) fn sandbox(&self) -> bool {
        match &self.target {
            Target::Bundled(_) => true,
            Target::Remote(r) => r.profile.sandbox,
        }
    }

    pub(crate) fn pace(&self) -> bool {
        match &self.target {
            Target::Bundled(_) => false,
            Target::Remote(r) => r.profile.pace,
        }
    }

    pub(crate) fn events_transport(&self) -> EventsTransport {
        match &self.target {
            Target::Bundled(_) => EventsTransport::Sse,
            Target::Remote(r) => r.profile.events,
        }
    }

    pub(crate) fn default_tier(&self) -> Tier {
        match &self.target {
            Target::Bundled(_) => Tier::Free,
            Target::Remote(r) => r.profile.tier,
        }
    }

    pub(crate) fn static_actors(&self) -> BTreeMap<String, StaticActor> {
        match &self.target {
            Target::Bundled(_) => BTreeMap::new(),
            Target::Remote(r) => r.profile.actors.clone(),
        }
    }

    /// The spending cap: the option, else 0 off sandboxes, else none.
    pub(crate) fn spend_cap(&self) -> Option<i64> {
        match self.options.max_spend_cents {
            Some(c) => Some(c),
            None if !self.sandbox() => Some(0),
            None => None,
        }
    }
}

/// A bundled server's configuration: always a free loopback port.
fn bundled_config(mut c: MockConfig, secrets: &Secrets) -> MockConfig {
    c.host = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    c.port = 0;
    if let Some(t) = &c.control_token {
        secrets.add("CONTROL_TOKEN", t);
    }
    c
}
