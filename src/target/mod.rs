//! Targets: where a run points (the bundled reference server or a remote
//! deployment), its profile, its control API, and actor credentials.
//!
//! This room knows how to reach a target and provision actors; it must
//! not run scenarios or judge responses (the runner and `check` do).

mod control;
mod http;
mod live;
pub mod pool;
mod profile;

pub use control::{ActorCredentials, ControlClient, ControlInfo};
pub use http::{Capped, ClientOptions, build_client, describe_error, install_crypto_provider, read_capped, too_large};
pub use live::{Target, bundled_token};
pub use pool::{HourlyUse, Lease, Leased, Need, Pool, PoolAccount};
pub use profile::{Account, ControlConfig, EventsTransport, Profile, Secret, StaticActor, is_loopback, role_name};

use crate::mock::MockConfig;

/// The longest a bundled server's event takes to reach a subscriber's
/// stream after the response to the request that caused it.
///
/// The bundled server publishes every event while it handles the request
/// that causes it, before it answers (`AppState::run_at` in
/// `src/mock/http/server.rs`; clock-control calls go through it too, and
/// nothing else publishes: no timer, no background task). What is left is
/// the hop from its broadcast channel through the SSE or WebSocket writer
/// and the loopback socket to the runner's reader task: under a
/// millisecond on an idle machine, tens of milliseconds when a loaded
/// 2-core machine runs 32 scenarios at once. So against it a `no_event`
/// window, and the watch for a duplicate after an `exactly_once` event,
/// last at most this long. A remote target gets the same promise only by
/// declaring [`EVENTS_SYNC`]; any other keeps the scenario's windows.
pub const BUNDLED_EVENT_LAG: std::time::Duration = std::time::Duration::from_millis(100);

/// The control-API feature by which a target declares what the bundled
/// server does: every event is published while the request that causes it
/// is handled, before its answer, and nothing publishes later (no timer,
/// no background task; keepalives excepted). The reference server started
/// with `mock` declares it when its clock runs at real speed. Against such a target a quiet window lasts
/// [`BUNDLED_EVENT_LAG`] plus twice the round trip of the control API's
/// first answer (the network between the two), when that is shorter than
/// the scenario's window.
pub const EVENTS_SYNC: &str = "events_sync";

/// The control-API feature by which a target sends, on request
/// (`POST /__conformance/events/flush`), a marker on every open event stream
/// after every event published before it. With [`EVENTS_SYNC`] a quiet window,
/// or the wait for an event that never came, ends when the marker arrives
/// (the bundled server and `mock` offer both): exact, where a lag is a guess.
pub const EVENTS_FLUSH: &str = "events_flush";

/// The type of the flush marker's frame ([`EVENTS_FLUSH`]); its payload is
/// `{"type": "conformance.flush", "token": ...}`.
pub const FLUSH_EVENT: &str = "conformance.flush";

/// What a run is pointed at.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// The in-process reference server with the default configuration:
    /// each scenario gets its own fresh server (always a sandbox).
    Bundled,
    /// Like [`TargetSpec::Bundled`], with a chosen configuration (faults,
    /// keepalive). `host`/`port` are ignored: each server binds a free
    /// loopback port.
    BundledWith(MockConfig),
    /// A deployment reached over HTTP.
    Remote(Profile),
}

impl TargetSpec {
    /// True for the in-process reference server.
    pub fn is_bundled(&self) -> bool {
        !matches!(self, TargetSpec::Remote(_))
    }

    /// True when money moved on this target is not real.
    pub fn is_sandbox(&self) -> bool {
        match self {
            TargetSpec::Remote(p) => p.sandbox,
            _ => true,
        }
    }

    /// `bundled` or `remote`, as recorded in reports.
    pub fn kind(&self) -> &'static str {
        if self.is_bundled() { "bundled" } else { "remote" }
    }

    /// The target a profile file or a URL names (the profile wins), else
    /// the bundled server. `insecure` accepts invalid TLS certificates.
    pub fn from_sources(
        profile: Option<&std::path::Path>,
        url: Option<&str>,
        insecure: bool,
    ) -> Result<TargetSpec, TargetError> {
        let mut profile = match (profile, url) {
            (Some(path), _) => Profile::load(path)?,
            (None, Some(url)) => Profile::from_url(url)?,
            (None, None) => return Ok(TargetSpec::Bundled),
        };
        profile.insecure |= insecure;
        Ok(TargetSpec::Remote(profile))
    }

    /// The target named by `AGENTGIGS_PROFILE` (a profile file) or
    /// `AGENTGIGS_TARGET` (a URL), else the bundled server.
    pub fn from_env() -> Result<TargetSpec, TargetError> {
        let profile = std::env::var_os("AGENTGIGS_PROFILE").map(std::path::PathBuf::from);
        let url = std::env::var("AGENTGIGS_TARGET").ok();
        TargetSpec::from_sources(profile.as_deref(), url.as_deref(), false)
    }
}

/// Why a target could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A profile file could not be read.
    #[error("cannot read profile `{file}`: {source}")]
    ReadProfile {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A profile file is malformed or has a bad field.
    #[error("{file}:{line}:{column}: field `{field}`: {message}")]
    Profile {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    /// A `--target` URL (or a URL field) that does not parse.
    #[error("invalid URL `{url}`: {message}")]
    Url { url: String, message: String },
    /// An environment variable a profile names is not set.
    #[error("environment variable `{var}` (named by `{field}`) is not set")]
    MissingEnv { var: String, field: String },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The control API could not be reached.
    #[error("control API `{endpoint}` unreachable: {message}")]
    ControlUnreachable { endpoint: String, message: String },
    /// The control API answered with an error.
    #[error("control API `{endpoint}` answered {status}: {body}")]
    Control {
        endpoint: String,
        status: u16,
        body: String,
    },
    /// The control API answered something unreadable.
    #[error("control API `{endpoint}` answered an unexpected body: {message}")]
    ControlBody { endpoint: String, message: String },
    /// A scenario actor cannot be mapped to a profile's static credentials.
    #[error("no credentials for actor `{actor}`: {message}")]
    NoCredentials { actor: String, message: String },
}
