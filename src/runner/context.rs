//! What every scenario of a run shares: the contract, the HTTP client, the
//! resolved target (`target::Target`: control API, features, account
//! pool), the secrets, the pacer, the money ledger, the deadlines. Built
//! once per run (or per test harness). It must not run scenarios itself.

use std::sync::Arc;
use std::time::Instant;

use super::money::Ledger;
use super::pacing::Pacer;
use super::{RunOptions, RunnerError};
use crate::redact::Secrets;
use crate::report::model::{MoneyMoved, TargetInfo};
use crate::scenario::Tier;
use crate::spec::Contract;
use crate::target::{ClientOptions, EventsTransport, Target, TargetSpec, build_client};

/// Everything a scenario needs from its run. Cheap to clone.
#[derive(Clone)]
pub struct ScenarioContext {
    pub(crate) contract: Contract,
    pub(crate) http: reqwest::Client,
    pub(crate) target: Arc<Target>,
    pub(crate) options: Arc<RunOptions>,
    pub(crate) secrets: Secrets,
    pub(crate) run_id: String,
    pub(crate) pacer: Pacer,
    pub(crate) ledger: Ledger,
    /// Limits the target said were spent during this run.
    pub(crate) spent: Arc<parking_lot::Mutex<Vec<crate::report::model::SpentLimit>>>,
    pub(crate) run_deadline: Option<Instant>,
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
        let target = Arc::new(Target::resolve(target, &http, &secrets, options.request_timeout).await);
        let run_deadline = options.run_timeout.map(|d| Instant::now() + d);
        let pacer = Pacer::with_rate(target.clock_rate());
        let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
        Ok(ScenarioContext {
            contract: contract.into(),
            http,
            target,
            options: Arc::new(options),
            secrets,
            run_id,
            pacer,
            ledger: Ledger::default(),
            spent: Arc::default(),
            run_deadline,
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

    /// Limits the target said were spent, so far.
    pub fn spent_limits(&self) -> Vec<crate::report::model::SpentLimit> {
        self.spent.lock().clone()
    }

    /// Money committed so far, per scenario and actor.
    pub fn money(&self) -> Vec<MoneyMoved> {
        self.ledger.moved()
    }

    /// What the run points at, for the report.
    pub fn target_info(&self) -> TargetInfo {
        self.target.info(&self.secrets)
    }

    /// The resolved target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    pub(crate) fn sandbox(&self) -> bool {
        self.target.sandbox()
    }

    pub(crate) fn pace(&self) -> bool {
        self.target.pace()
    }

    /// Seconds on the target's clock per real second.
    pub(crate) fn clock_rate(&self) -> u32 {
        self.target.clock_rate()
    }

    pub(crate) fn events_transport(&self) -> EventsTransport {
        self.target.events_transport()
    }

    pub(crate) fn default_tier(&self) -> Tier {
        self.target.default_tier()
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
