//! The reference server: a stateful, in-memory AgentGigs.
//!
//! `domain/` holds the rules in plain Rust (no HTTP); `http/` maps requests
//! onto them. It shares nothing with the harness but the spec. This module is
//! the public handle: configure, start, get the URL, shut down. It never
//! prints (the CLI does).
//!
//! (The crate has no doctests, each of which is a separate compile: this
//! example runs as the unit test `mock::doc_example::starts_and_stops`.)
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentgigs_conformance::mock::MockError> {
//! use agentgigs_conformance::mock::{MockConfig, MockServer};
//! let server = MockServer::start(MockConfig::default()).await?;
//! let base = server.url(); // e.g. "http://127.0.0.1:41234"
//! # let _ = base;
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod domain;
pub mod http;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use http::{AppState, CONTROL_FEATURES, KNOWN_CHOICES, KNOWN_FAULTS, router};

/// How long [`MockServer::shutdown`] waits for open connections before it
/// aborts the server task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Settings of one reference server.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Address to bind (default `127.0.0.1`). A non-loopback address needs a
    /// `control_token`.
    pub host: IpAddr,
    /// Port to bind; `0` picks a free one.
    pub port: u16,
    /// When set, every `/__conformance` call must carry it in `X-Conformance-Token`.
    pub control_token: Option<String>,
    /// Interval of the `: keepalive` comment on an idle event stream.
    /// The default is 100 ms, so that a test or a run against the bundled
    /// server sees one at once: `events.keepalive` waits for three in a row,
    /// the longest wait of the library against it (the docs ask for one at least every 30 s;
    /// `agentgigs-conformance mock` sends one every 30 s unless told
    /// otherwise).
    pub keepalive: Duration,
    /// Deliberate rule-breaks (see [`KNOWN_FAULTS`]); empty by default.
    pub faults: BTreeSet<String>,
    /// Decisions made the other way where the docs are silent or conflict
    /// (see [`KNOWN_CHOICES`]); empty by default. Unlike a fault, a choice
    /// breaks no documented rule.
    pub choices: BTreeSet<String>,
    /// The documented contract (an OpenAPI 3.0 document, YAML or JSON) that
    /// the `documented_fields_only` and `renamed_fields` choices read.
    /// Default: the embedded `specs/agentgigs.openapi.yaml`.
    pub contract: Option<String>,
    /// Whether rate limits apply (default `true`). `false` lifts every limit
    /// (standard per-minute, funding, applications, downloads, login,
    /// registration): for load benchmarks only, the server then breaks the
    /// rate-limit rules of the spec.
    pub rate_limits: bool,
    /// Where the server clock starts (default: wall time). The clock then
    /// runs at wall speed and the control API moves it as usual; a reset
    /// keeps it.
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// How many server seconds pass per real second (default 1). Above 1
    /// the documented windows (a minute, an hour, a day) pass in seconds,
    /// for tests and demos of long flows; `Retry-After` stays in real
    /// seconds, as HTTP counts it.
    pub clock_rate: u32,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            control_token: None,
            keepalive: Duration::from_millis(100),
            faults: BTreeSet::new(),
            choices: BTreeSet::new(),
            contract: None,
            rate_limits: true,
            clock_start: None,
            clock_rate: 1,
        }
    }
}

impl MockConfig {
    /// The default settings with every choice of [`KNOWN_CHOICES`] on.
    pub fn all_choices() -> Self {
        MockConfig::default().with_choices(KNOWN_CHOICES.iter().map(|(name, _)| *name))
    }

    /// These settings with the given choices on (and no other).
    pub fn with_choices<'a>(mut self, choices: impl IntoIterator<Item = &'a str>) -> Self {
        self.choices = choices.into_iter().map(str::to_string).collect();
        self
    }

    /// Checks the binding rule, the fault and choice names and the contract
    /// document without binding anything.
    pub fn validate(&self) -> Result<(), MockError> {
        let loopback = match self.host {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => v6.to_canonical().is_loopback(),
        };
        let has_token = self.control_token.as_deref().is_some_and(|t| !t.is_empty());
        if !loopback && !has_token {
            return Err(MockError::TokenRequired { host: self.host });
        }
        if let Some(bad) = self.faults.iter().find(|f| !KNOWN_FAULTS.contains(&f.as_str())) {
            return Err(MockError::UnknownFault {
                name: bad.clone(),
                known: KNOWN_FAULTS.join(", "),
            });
        }
        if let Some(bad) = self
            .choices
            .iter()
            .find(|c| !KNOWN_CHOICES.iter().any(|(name, _)| name == c))
        {
            return Err(MockError::UnknownChoice {
                name: bad.clone(),
                known: KNOWN_CHOICES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            });
        }
        let reads_contract = ["documented_fields_only", "renamed_fields"]
            .iter()
            .any(|c| self.choices.contains(*c));
        if reads_contract || self.contract.is_some() {
            http::check_contract(self.contract.as_deref()).map_err(|reason| MockError::BadContract { reason })?;
        }
        Ok(())
    }
}

/// Why the reference server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// A non-loopback host was asked for without a control token.
    #[error(
        "refusing to bind `{host}` without a control token (the control API would be open on the network; set a token or bind 127.0.0.1)"
    )]
    TokenRequired {
        /// The requested host.
        host: IpAddr,
    },
    /// A fault name that the server does not know.
    #[error("unknown fault `{name}` (known: {known})")]
    UnknownFault {
        /// The unknown name.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A choice name that the server does not know.
    #[error("unknown choice `{name}` (known: {known})")]
    UnknownChoice {
        /// The unknown name.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The documented contract given for the choices cannot be read.
    #[error("cannot read the documented contract ({reason})")]
    BadContract {
        /// Why.
        reason: String,
    },
    /// The socket could not be bound.
    #[error("cannot bind `{addr}`")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed after the bind.
    #[error("the reference server stopped with an error")]
    Serve(#[source] std::io::Error),
}

/// A running reference server. Drop only signals shutdown; call
/// [`MockServer::shutdown`] to wait for it.
#[derive(Debug)]
pub struct MockServer {
    url: String,
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockServer {
    /// Binds, spawns the server on the current tokio runtime and returns at
    /// once. Refuses a non-loopback host without a control token
    /// ([`MockError::TokenRequired`]).
    pub async fn start(config: MockConfig) -> Result<MockServer, MockError> {
        config.validate()?;
        let want = SocketAddr::new(config.host, config.port);
        let listener = tokio::net::TcpListener::bind(want)
            .await
            .map_err(|source| MockError::Bind { addr: want, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MockError::Bind { addr: want, source })?;
        let url = match addr {
            SocketAddr::V4(a) => format!("http://{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("http://[{}]:{}", a.ip(), a.port()),
        };
        let state = AppState::new(&config, &url);
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let (stop, stopped) = oneshot::channel::<()>();
        let hub_state = state.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                    // Long-lived event streams would hold the graceful shutdown open.
                    hub_state.close_streams();
                })
                .await
        });
        Ok(MockServer {
            url,
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (for in-process checks such as [`AppState::check_invariants`]).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, closes event streams and waits for open requests (at
    /// most a few seconds, then the server task is aborted).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.close_streams();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.close_streams();
    }
}

/// Runs a server until Ctrl-C (for `agentgigs-conformance mock`). `on_ready`
/// receives the base URL once bound; nothing is printed here.
pub async fn serve_until_ctrl_c(config: MockConfig, on_ready: impl FnOnce(&str)) -> Result<(), MockError> {
    let server = MockServer::start(config).await?;
    on_ready(&server.url());
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    Ok(())
}

/// The example at the top of this module, run (doctests are off: see
/// `doctest = false` in `Cargo.toml`).
#[cfg(test)]
mod doc_example {
    use super::{MockConfig, MockError, MockServer};

    async fn demo() -> Result<String, MockError> {
        let server = MockServer::start(MockConfig::default()).await?;
        let base = server.url(); // e.g. "http://127.0.0.1:41234"
        server.shutdown().await;
        Ok(base)
    }

    #[tokio::test]
    async fn starts_and_stops() {
        let base = demo().await.expect("the server starts");
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    }
}
