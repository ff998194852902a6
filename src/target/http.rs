//! The HTTP client every request of a run goes through, and plain-words
//! descriptions of transport failures. It must not know scenarios, and
//! never accepts invalid certificates unless asked (`insecure`).

use std::error::Error as _;
use std::sync::Once;
use std::time::Duration;

use super::TargetError;

/// How to build the client.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Accept invalid TLS certificates (command line only).
    pub insecure: bool,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions { insecure: false, connect_timeout: Duration::from_secs(10), max_redirects: 5 }
    }
}

/// Installs rustls' `ring` crypto provider once per process (an already
/// installed provider is kept).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the run's client. It has no overall timeout, so event streams
/// can stay open: callers set one per request (`RequestBuilder::timeout`).
pub fn build_client(options: &ClientOptions) -> Result<reqwest::Client, TargetError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("agentgigs-conformance/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(options.max_redirects))
        .connect_timeout(options.connect_timeout)
        .tls_danger_accept_invalid_certs(options.insecure)
        .build()
        .map_err(|e| TargetError::Client(describe_error(&e)))
}

/// What went wrong with a request, in plain words: connection refused,
/// DNS, TLS, timeout, reset, redirects, or the underlying message.
pub fn describe_error(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    let lower = chain.to_ascii_lowercase();
    let mut io_kind = None;
    let mut src: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        src = s.source();
    }
    use std::io::ErrorKind as K;
    let what = if e.is_timeout() || matches!(io_kind, Some(K::TimedOut)) {
        "timed out"
    } else if matches!(io_kind, Some(K::ConnectionRefused)) || lower.contains("connection refused") {
        "connection refused"
    } else if lower.contains("dns error") || lower.contains("failed to lookup") || lower.contains("name resolution") {
        "DNS lookup failed"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        "TLS failed"
    } else if matches!(io_kind, Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof))
        || lower.contains("reset")
        || lower.contains("connection closed")
        || lower.contains("incomplete message")
    {
        "connection reset"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "body could not be read"
    } else {
        "request failed"
    };
    format!("{what} ({chain})")
}

/// The error and its sources, joined with `: ` (duplicates dropped).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        src = s.source();
    }
    parts.join(": ")
}
