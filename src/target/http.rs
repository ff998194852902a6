//! The HTTP client every request of a run goes through, the one capped
//! read of an answer's body ([`read_capped`]: the runner, the fuzzer,
//! `replay`, the pool's probes and the control client all read bodies
//! through it, so a hostile target cannot exhaust memory), and
//! plain-words descriptions of transport failures. It must not know
//! scenarios, and never accepts invalid certificates unless asked
//! (`insecure`).
//!
//! Redirects are followed only within the same origin (scheme, host and
//! port): credentials such as `X-API-Key` must never travel to another
//! host, so a redirect elsewhere is not followed and its 3xx answer is what
//! the runner judges.

use std::error::Error as _;
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use futures::StreamExt;

use super::TargetError;

/// How to build the client.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Accept invalid TLS certificates (command line only).
    pub insecure: bool,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Same-origin redirects followed at most (redirects to another origin
    /// are never followed).
    pub max_redirects: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            insecure: false,
            connect_timeout: Duration::from_secs(10),
            max_redirects: 5,
        }
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
///
/// The system's root certificates are read at the first TLS handshake,
/// not here: a run against an `http://` target never reads them.
pub fn build_client(options: &ClientOptions) -> Result<reqwest::Client, TargetError> {
    install_crypto_provider();
    let builder = reqwest::Client::builder()
        .user_agent(concat!("agentgigs-conformance/", env!("CARGO_PKG_VERSION")))
        .redirect(same_origin_redirects(options.max_redirects))
        .connect_timeout(options.connect_timeout);
    let builder = if options.insecure {
        // Verification off: no roots are ever needed.
        builder.tls_danger_accept_invalid_certs(true)
    } else {
        builder.tls_backend_preconfigured(lazy_roots_tls()?)
    };
    builder.build().map_err(|e| TargetError::Client(describe_error(&e)))
}

/// The TLS configuration reqwest builds for rustls (all protocol versions
/// of the provider, SNI, ALPN `h2` then `http/1.1`), with a verifier that
/// loads the platform's roots when first used.
fn lazy_roots_tls() -> Result<rustls::ClientConfig, TargetError> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| TargetError::Client(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(LazyPlatformVerifier {
            provider,
            verifier: OnceLock::new(),
        }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The platform's certificate verifier (the one reqwest uses), created
/// at the first certificate it has to check. Signatures are checked with
/// the provider's algorithms, as that verifier does, without the roots.
#[derive(Debug)]
struct LazyPlatformVerifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyPlatformVerifier {
    fn verifier(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.verifier
            .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl rustls::client::danger::ServerCertVerifier for LazyPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.verifier()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A redirect policy that follows at most `max` redirects, all within the
/// origin of the first request; a redirect to another origin (or from
/// https to http) is not followed: the 3xx answer is returned as is.
fn same_origin_redirects(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_none_or(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > max {
            attempt.error(TooManyRedirects(max))
        } else {
            attempt.follow()
        }
    })
}

/// The error a redirect chain longer than the limit ends with.
#[derive(Debug)]
struct TooManyRedirects(usize);

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} redirects (a redirect loop?)", self.0)
    }
}

impl std::error::Error for TooManyRedirects {}

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
    } else if e.is_redirect() || lower.contains("redirect loop") {
        "too many redirects"
    } else if matches!(io_kind, Some(K::ConnectionRefused)) || lower.contains("connection refused") {
        "connection refused"
    } else if lower.contains("dns error") || lower.contains("failed to lookup") || lower.contains("name resolution") {
        "DNS lookup failed"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        "TLS failed"
    } else if lower.contains("end of file before message length") || lower.contains("incomplete") {
        "the connection closed before the answer was complete"
    } else if matches!(
        io_kind,
        Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof)
    ) || lower.contains("reset")
        || lower.contains("connection closed")
    {
        "connection reset"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "body could not be read"
    } else {
        "request failed"
    };
    format!("{what} ({chain})")
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum Capped {
    /// The body is larger than the cap (announced by `Content-Length`, or
    /// found while streaming); the rest is not read.
    TooLarge,
    /// The connection failed while the body was read.
    Broken(reqwest::Error),
}

/// Reads a body as a stream, stopping as soon as it passes `max` bytes:
/// a body announced larger is not read at all, and one that grows past
/// the cap is dropped at the chunk that crosses it (at most `max` bytes
/// are ever held). Callers bound the time with their own timeout.
pub async fn read_capped(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, Capped> {
    if resp.content_length().is_some_and(|len| len > max as u64) {
        return Err(Capped::TooLarge);
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Capped::Broken)?;
        if body.len() + chunk.len() > max {
            return Err(Capped::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The words of a transport problem for a body over the cap.
pub fn too_large(max: usize) -> String {
    format!("the answer is larger than {max} bytes; not read")
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An answer whose body is `body`, sent in 1000-byte chunks, with or
    /// without a `Content-Length`.
    fn response(body: Vec<u8>, announce: bool) -> reqwest::Response {
        let len = body.len();
        let mut builder = axum::http::Response::builder().status(200);
        if announce {
            builder = builder.header("content-length", len.to_string());
        }
        let stream = futures::stream::iter(
            body.chunks(1000)
                .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        reqwest::Response::from(builder.body(reqwest::Body::wrap_stream(stream)).unwrap())
    }

    #[tokio::test]
    async fn the_cap_holds_with_and_without_a_length() {
        for announce in [true, false] {
            let ok = read_capped(response(vec![b'x'; 5000], announce), 5000).await;
            assert_eq!(ok.ok().map(|b| b.len()), Some(5000));
            let over = read_capped(response(vec![b'x'; 5001], announce), 5000).await;
            assert!(matches!(over, Err(Capped::TooLarge)));
        }
        assert_eq!(too_large(10), "the answer is larger than 10 bytes; not read");
    }

    /// A hostile target: an endless body with no `Content-Length`. The
    /// read stops at the chunk that crosses the cap, having pulled only
    /// that much from the connection.
    #[tokio::test]
    async fn an_endless_body_is_cut_at_the_cap_not_read_whole() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = pulled.clone();
        let endless = futures::stream::repeat_with(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'x'; 1024]))
        });
        let resp = reqwest::Response::from(
            axum::http::Response::builder()
                .status(200)
                .body(reqwest::Body::wrap_stream(endless))
                .unwrap(),
        );
        let cap = 64 * 1024;
        let read = tokio::time::timeout(Duration::from_secs(5), read_capped(resp, cap)).await;
        assert!(matches!(read, Ok(Err(Capped::TooLarge))), "{read:?}");
        // 64 chunks fill the cap, the 65th crosses it; nothing after.
        assert_eq!(pulled.load(Ordering::SeqCst), 65);
    }
}

#[cfg(test)]
mod lazy_roots_tests {
    use rustls::client::danger::ServerCertVerifier;

    use super::*;

    #[test]
    fn roots_are_loaded_at_the_first_certificate_not_before() {
        install_crypto_provider();
        let v = LazyPlatformVerifier {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            verifier: OnceLock::new(),
        };
        // Building a client and offering schemes needs no roots.
        assert!(build_client(&ClientOptions::default()).is_ok());
        assert!(!v.supported_verify_schemes().is_empty());
        assert!(v.verifier.get().is_none());
        // A certificate to check loads them, and a bogus one is refused.
        let bogus = rustls::pki_types::CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let name = rustls::pki_types::ServerName::try_from("example.test").unwrap();
        let checked = v.verify_server_cert(&bogus, &[], &name, &[], rustls::pki_types::UnixTime::now());
        assert!(checked.is_err());
        assert!(v.verifier.get().is_some());
    }
}
