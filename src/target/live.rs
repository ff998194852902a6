//! A target resolved for a run: what it is, its control API and the
//! features it offers, and (without a control API) its account pool.
//!
//! This is the one place that answers "is it a sandbox?", "does it offer
//! `clock`?", "pace requests?", "which tier by default?": the runner and
//! the CLI ask it and never look at a profile themselves.

use std::sync::Arc;
use std::time::Duration;

use super::pool::Pool;
use super::{ControlClient, ControlInfo, EventsTransport, Profile, Secret, TargetSpec};
use crate::mock::{CONTROL_FEATURES, MockConfig};
use crate::redact::Secrets;
use crate::report::model::TargetInfo;
use crate::scenario::Tier;

/// A target, resolved.
#[derive(Debug)]
pub struct Target {
    spec: TargetSpec,
    remote: Option<Remote>,
}

#[derive(Debug)]
struct Remote {
    profile: Profile,
    control: Option<ControlClient>,
    /// The features, or why they could not be read (then nothing runs).
    features: Result<ControlInfo, String>,
    /// How long an event may take to reach a stream after the answer to
    /// the request that caused it, when the target declares
    /// [`EVENTS_SYNC`](super::EVENTS_SYNC).
    event_lag: Option<Duration>,
    pool: Arc<Pool>,
}

impl Target {
    /// Resolves `spec`: for a remote target, reads the control API's
    /// features (a failure is kept, and makes every scenario errored) and
    /// checks the profile's accounts. Registers every secret it reads.
    pub async fn resolve(spec: &TargetSpec, http: &reqwest::Client, secrets: &Secrets, timeout: Duration) -> Target {
        let remote = match spec {
            TargetSpec::Bundled | TargetSpec::BundledWith(_) => {
                if let TargetSpec::BundledWith(c) = spec
                    && let Some(t) = &c.control_token
                {
                    secrets.add("CONTROL_TOKEN", t);
                }
                None
            }
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
                    ControlClient::new(http.clone(), c.url.clone(), c.token.clone()).with_timeout(timeout)
                });
                let asked = std::time::Instant::now();
                let features = match &control {
                    Some(c) => c.features().await.map_err(|e| secrets.redact_str(&e.to_string())),
                    None => Ok(ControlInfo::default()),
                };
                // The hop of an event, as for the bundled server, plus the
                // network: twice the round trip of this first answer.
                let event_lag = features
                    .as_ref()
                    .is_ok_and(|f| f.has(super::EVENTS_SYNC))
                    .then(|| super::BUNDLED_EVENT_LAG + 2 * asked.elapsed());
                let pool = Pool::new(&profile.accounts, profile.tier);
                for a in pool.accounts() {
                    if let Ok(c) = &a.credentials {
                        register(secrets, &a.account.label, c);
                    }
                }
                if !pool.is_empty() {
                    pool.probe(http, &profile.base_url).await;
                }
                Some(Remote {
                    profile: profile.clone(),
                    control,
                    features,
                    event_lag,
                    pool,
                })
            }
        };
        Target {
            spec: spec.clone(),
            remote,
        }
    }

    /// What the run was pointed at.
    pub fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    /// True for the in-process reference server.
    pub fn is_bundled(&self) -> bool {
        self.remote.is_none()
    }

    /// True when money moved here is not real.
    pub fn sandbox(&self) -> bool {
        self.spec.is_sandbox()
    }

    /// The bundled server's settings (each scenario starts its own server).
    pub fn bundled_config(&self) -> Option<MockConfig> {
        match &self.spec {
            TargetSpec::Bundled => Some(bundled(MockConfig::default())),
            TargetSpec::BundledWith(c) => Some(bundled(c.clone())),
            TargetSpec::Remote(_) => None,
        }
    }

    /// The remote profile, if any.
    pub fn profile(&self) -> Option<&Profile> {
        self.remote.as_ref().map(|r| &r.profile)
    }

    /// The remote control API, if the profile has one.
    pub fn control(&self) -> Option<&ControlClient> {
        self.remote.as_ref().and_then(|r| r.control.as_ref())
    }

    /// The control features offered (`Err` when they could not be read).
    pub fn features(&self) -> Result<ControlInfo, String> {
        match &self.remote {
            // As the bundled server's `GET /__conformance` answers:
            // `events_sync` only on a clock at real speed.
            None => Ok(ControlInfo {
                version: 1,
                features: CONTROL_FEATURES
                    .iter()
                    .filter(|f| **f != super::EVENTS_SYNC || !self.bundled_fast_clock())
                    .map(|f| f.to_string())
                    .collect(),
            }),
            Some(r) => r.features.clone(),
        }
    }

    /// True when the target offers a control feature.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features().is_ok_and(|f| f.has(feature))
    }

    /// The account pool (empty for the bundled server).
    pub fn pool(&self) -> Option<&Arc<Pool>> {
        self.remote.as_ref().map(|r| &r.pool)
    }

    /// Keep each actor under its tier's rate limit.
    pub fn pace(&self) -> bool {
        self.remote.as_ref().is_some_and(|r| r.profile.pace)
    }

    /// Seconds on the target's clock per real second (1 for the bundled
    /// server and, unless its profile says otherwise, any deployment).
    pub fn clock_rate(&self) -> u32 {
        self.remote.as_ref().map_or(1, |r| r.profile.clock_rate.max(1))
    }

    /// How event streams are opened.
    pub fn events_transport(&self) -> EventsTransport {
        self.remote.as_ref().map_or(EventsTransport::Sse, |r| r.profile.events)
    }

    /// The longest delay between a response and an event it caused
    /// reaching the stream, when the target guarantees one
    /// ([`BUNDLED_EVENT_LAG`](super::BUNDLED_EVENT_LAG) for the bundled
    /// server; a little more for a remote one that declares
    /// [`EVENTS_SYNC`](super::EVENTS_SYNC)); `None`: unknown, event windows
    /// are watched in full.
    pub fn event_lag(&self) -> Option<std::time::Duration> {
        match &self.remote {
            None => (!self.bundled_fast_clock()).then_some(super::BUNDLED_EVENT_LAG),
            Some(r) => r.event_lag,
        }
    }

    /// True when the bundled server's clock runs faster than real time: it
    /// then releases payments between requests, and its events need not
    /// come while the request that caused them is answered.
    fn bundled_fast_clock(&self) -> bool {
        match &self.spec {
            TargetSpec::BundledWith(c) => c.clock_rate > 1,
            TargetSpec::Bundled | TargetSpec::Remote(_) => false,
        }
    }

    /// The tier of an actor that does not say.
    pub fn default_tier(&self) -> Tier {
        self.remote.as_ref().map_or(Tier::Free, |r| r.profile.tier)
    }

    /// True when scenarios share the target (it is not started per scenario).
    pub fn shared(&self) -> bool {
        self.remote.is_some()
    }

    /// What the run points at, for reports.
    pub fn info(&self, secrets: &Secrets) -> TargetInfo {
        TargetInfo {
            base_url: match &self.remote {
                None => "bundled".into(),
                Some(r) => secrets.redact_str(&r.profile.display_url()),
            },
            kind: self.spec.kind().into(),
            sandbox: self.sandbox(),
            features: self.features().map(|f| f.features).unwrap_or_default(),
        }
    }
}

/// A bundled server's configuration: always a free loopback port.
fn bundled(mut c: MockConfig) -> MockConfig {
    c.host = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    c.port = 0;
    c
}

/// Registers an account's secrets under its label.
fn register(secrets: &Secrets, label: &str, c: &super::ActorCredentials) {
    if let Some(k) = &c.api_key {
        secrets.add(&format!("API_KEY:{label}"), k);
    }
    if let Some(t) = &c.access_token {
        secrets.add(&format!("JWT:{label}"), t);
    }
    if let Some(p) = &c.password {
        secrets.add(&format!("PASSWORD:{label}"), p);
    }
}

/// The control token of a bundled configuration, as a [`Secret`].
pub fn bundled_token(c: &MockConfig) -> Option<Secret> {
    c.control_token.clone().map(Secret)
}
