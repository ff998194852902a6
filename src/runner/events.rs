//! Event streams: an actor's `GET /api/agent/events` followed in a
//! background task (SSE, streamed frame by frame and never buffered whole,
//! or WebSocket), its events parsed into a channel, and waits for
//! matching events. Streams close when their [`Stream`] is dropped.
//! It must not judge events (the event steps do).
//!
//! Keepalives are not events: an SSE comment line (`: keepalive`), an
//! event named `keepalive`, `ping` or `heartbeat`, or a WebSocket ping
//! only records the time it arrived (the docs give the interval, 30 s,
//! but not the form), for the `event` step with `type: keepalive`.
//!
//! Memory stays bounded whatever the server sends: one frame (SSE) or
//! message (WebSocket) larger than the run's `max_body_bytes` ends the
//! stream with a note; the channel is bounded (a flood waits on the
//! socket), as are the buffered events and the notes kept.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::RunnerError;
use super::exec::{Prepared, Received, header_list};
use crate::target::{Capped, read_capped};
use crate::target::{EventsTransport, FLUSH_EVENT};

/// Events kept waiting for a later step, at most.
const MAX_BUFFERED: usize = 1000;
/// Items in flight between the reading task and the steps.
const CHANNEL: usize = 256;
/// Notes about unparseable events kept, at most (then one says how many more).
const MAX_PROBLEMS: usize = 20;
/// Flush markers' tokens kept unclaimed, at most (on a shared target every
/// scenario's markers reach every stream).
const MAX_FLUSHES: usize = 64;

/// The pseudo-type an `event` step names to wait for a keepalive.
pub(crate) const KEEPALIVE: &str = crate::scenario::validate::KEEPALIVE_TYPE;
/// Event names taken as a keepalive rather than an event.
const KEEPALIVE_NAMES: &[&str] = &[KEEPALIVE, "ping", "heartbeat"];

fn is_keepalive_name(name: &str) -> bool {
    KEEPALIVE_NAMES.iter().any(|k| name.eq_ignore_ascii_case(k))
}

/// One parsed event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub event_type: String,
    pub data: Value,
    /// RFC 3339 time of arrival.
    pub received_at: String,
}

enum Item {
    Event(Event),
    /// The flush marker ([`FLUSH_EVENT`]) with its token.
    Flush(String),
    Unparseable {
        event_type: String,
        raw: String,
    },
    Keepalive(Instant),
    Closed(String),
}

/// An open stream and what it has received but no step consumed yet.
pub(crate) struct Stream {
    rx: mpsc::Receiver<Item>,
    buffer: VecDeque<Event>,
    problems: Vec<String>,
    /// Unparseable events not described in `problems`.
    more_problems: usize,
    closed: Option<String>,
    seen: Vec<String>,
    /// When the latest keepalive arrived.
    last_keepalive: Option<Instant>,
    /// Tokens of flush markers received and not yet awaited.
    flushes: VecDeque<String>,
    task: JoinHandle<()>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What a parsed frame is: an event, or the flush marker.
fn item_of(event_type: String, data: Value) -> Item {
    if event_type == FLUSH_EVENT {
        let token = data.get("token").and_then(Value::as_str).unwrap_or_default();
        return Item::Flush(token.to_string());
    }
    Item::Event(Event {
        event_type,
        data,
        received_at: now(),
    })
}

/// The event type: the frame's `event:` name, else the payload's `type`.
fn event_type(name: &str, data: &Value) -> String {
    if !name.is_empty() && name != "message" {
        return name.to_string();
    }
    data.get("type")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| "message".to_string())
}

impl Stream {
    fn spawn<F>(f: impl FnOnce(mpsc::Sender<Item>) -> F) -> Stream
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(CHANNEL);
        let task = tokio::spawn(f(tx));
        Stream {
            rx,
            buffer: VecDeque::new(),
            problems: Vec::new(),
            more_problems: 0,
            closed: None,
            seen: Vec::new(),
            last_keepalive: None,
            flushes: VecDeque::new(),
            task,
        }
    }

    /// Follows an SSE response; a frame larger than `max_frame` bytes ends it.
    pub fn sse(resp: reqwest::Response, max_frame: usize) -> Stream {
        Stream::spawn(move |tx| async move {
            let mut guard = FrameGuard::new(max_frame, tx.clone());
            let too_large = guard.tripped.clone();
            let bytes = resp.bytes_stream().map(move |chunk| chunk.map(|c| guard.check(c)));
            let bytes = bytes.take_while(|chunk| futures::future::ready(!matches!(chunk, Ok(None))));
            let mut events = bytes.map(|chunk| chunk.map(Option::unwrap_or_default)).eventsource();
            while let Some(frame) = events.next().await {
                match frame {
                    // Already counted from its `event:` line.
                    Ok(ev) if is_keepalive_name(&ev.event) => {}
                    Ok(ev) => {
                        let item = match serde_json::from_str::<Value>(&ev.data) {
                            Ok(data) => item_of(event_type(&ev.event, &data), data),
                            Err(_) => Item::Unparseable {
                                event_type: ev.event.clone(),
                                raw: ev.data.clone(),
                            },
                        };
                        if tx.send(item).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Item::Closed(format!("the stream broke: {e}"))).await;
                        return;
                    }
                }
            }
            let why = if too_large.load(std::sync::atomic::Ordering::SeqCst) {
                format!("an event frame was larger than {max_frame} bytes (`max_body_bytes`); the stream was closed")
            } else {
                "the server closed the stream".to_string()
            };
            let _ = tx.send(Item::Closed(why)).await;
        })
    }

    /// Follows a WebSocket (`{"event": type, "data": payload}` text frames).
    pub fn websocket<S>(ws: S) -> Stream
    where
        S: futures::Stream<
                Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>,
            > + Send
            + Unpin
            + 'static,
    {
        use tokio_tungstenite::tungstenite::Message;
        Stream::spawn(|tx| async move {
            let mut ws = ws;
            while let Some(msg) = ws.next().await {
                let text = match msg {
                    Ok(Message::Text(t)) => t.as_str().to_string(),
                    Ok(Message::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
                    Ok(Message::Close(frame)) => {
                        let why = frame
                            .map(|f| format!(" ({} {})", u16::from(f.code), f.reason))
                            .unwrap_or_default();
                        let _ = tx
                            .send(Item::Closed(format!("the server closed the WebSocket{why}")))
                            .await;
                        return;
                    }
                    Ok(Message::Ping(_)) => {
                        if tx.send(Item::Keepalive(Instant::now())).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        let _ = tx.send(Item::Closed(format!("the WebSocket broke: {e}"))).await;
                        return;
                    }
                };
                let item = match serde_json::from_str::<Value>(&text) {
                    Ok(frame)
                        if frame
                            .get("event")
                            .and_then(Value::as_str)
                            .is_some_and(is_keepalive_name) =>
                    {
                        Item::Keepalive(Instant::now())
                    }
                    Ok(frame) => match (frame.get("event").and_then(Value::as_str), frame.get("data")) {
                        (Some(name), Some(data)) => item_of(event_type(name, data), data.clone()),
                        _ => Item::Unparseable {
                            event_type: String::new(),
                            raw: text,
                        },
                    },
                    Err(_) => Item::Unparseable {
                        event_type: String::new(),
                        raw: text,
                    },
                };
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(Item::Closed("the server closed the WebSocket".into())).await;
        })
    }

    fn absorb(&mut self, item: Item) -> Option<Event> {
        match item {
            Item::Event(e) => {
                if self.seen.len() < 50 {
                    self.seen.push(e.event_type.clone());
                }
                Some(e)
            }
            Item::Unparseable { event_type, raw } => {
                if self.problems.len() >= MAX_PROBLEMS {
                    self.more_problems += 1;
                    return None;
                }
                let name = if event_type.is_empty() {
                    "an event".to_string()
                } else {
                    format!("event `{event_type}`")
                };
                self.problems.push(format!(
                    "{name} arrived with data that is not JSON: {}",
                    super::record::truncate_text(&raw, 200)
                ));
                None
            }
            Item::Flush(token) => {
                if self.flushes.len() >= MAX_FLUSHES {
                    self.flushes.pop_front();
                }
                self.flushes.push_back(token);
                None
            }
            Item::Keepalive(at) => {
                self.last_keepalive = Some(self.last_keepalive.map_or(at, |l| l.max(at)));
                None
            }
            Item::Closed(why) => {
                self.closed = Some(why);
                None
            }
        }
    }

    /// When a keepalive arrived at or after `since`, waiting until
    /// `deadline` for one. Events read meanwhile stay buffered.
    pub async fn keepalive_since(&mut self, since: Instant, deadline: Instant) -> Option<Instant> {
        loop {
            if let Some(at) = self.last_keepalive.filter(|at| *at >= since) {
                return Some(at);
            }
            let item = match tokio::time::timeout_at(deadline.into(), self.rx.recv()).await {
                Err(_) | Ok(None) => return None,
                Ok(Some(item)) => item,
            };
            if let Some(e) = self.absorb(item) {
                self.keep(e);
            }
        }
    }

    /// Keeps an event for a later step (the oldest goes when full).
    fn keep(&mut self, e: Event) {
        if self.buffer.len() >= MAX_BUFFERED {
            self.buffer.pop_front();
        }
        self.buffer.push_back(e);
    }

    /// Waits for the flush marker carrying `token` ([`EVENTS_FLUSH`](crate::target::EVENTS_FLUSH)):
    /// true when it arrived before `deadline`. Every event the stream
    /// delivered before it is then buffered.
    pub async fn await_flush(&mut self, token: &str, deadline: Instant) -> bool {
        loop {
            if let Some(pos) = self.flushes.iter().position(|t| t == token) {
                self.flushes.remove(pos);
                return true;
            }
            let item = match tokio::time::timeout_at(deadline.into(), self.rx.recv()).await {
                Err(_) | Ok(None) => return false,
                Ok(Some(item)) => item,
            };
            if let Some(e) = self.absorb(item) {
                self.keep(e);
            }
        }
    }

    /// The first event (already received or arriving before `deadline`)
    /// for which `pred` holds; it is consumed. Others stay buffered.
    pub async fn take(&mut self, deadline: Instant, pred: &(dyn Fn(&Event) -> bool + Sync)) -> Option<Event> {
        if let Some(pos) = self.buffer.iter().position(pred) {
            return self.buffer.remove(pos);
        }
        loop {
            let item = match tokio::time::timeout_at(deadline.into(), self.rx.recv()).await {
                Err(_) | Ok(None) => return None,
                Ok(Some(item)) => item,
            };
            if let Some(e) = self.absorb(item) {
                if pred(&e) {
                    return Some(e);
                }
                self.keep(e);
            }
        }
    }

    /// Takes (and clears) the notes about unparseable events.
    pub fn take_problems(&mut self) -> Vec<String> {
        let mut out = std::mem::take(&mut self.problems);
        if self.more_problems > 0 {
            out.push(format!(
                "{} more events arrived with data that is not JSON",
                self.more_problems
            ));
            self.more_problems = 0;
        }
        out
    }

    /// Why the stream ended, if it did.
    pub fn closed(&self) -> Option<&str> {
        self.closed.as_deref()
    }

    /// Types received so far (the first 50), for messages.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Buffered events of a type (for explaining a miss).
    pub fn buffered_of(&self, event_type: &str) -> Vec<&Event> {
        self.buffer.iter().filter(|e| e.event_type == event_type).collect()
    }
}

/// Watches the bytes of an SSE stream: the size of the frame being read
/// (bytes since the last blank line), and comment lines (a keepalive,
/// which the SSE parser drops). `check` answers `None` once a frame
/// passes the limit, which ends the stream.
struct FrameGuard {
    max: usize,
    frame: usize,
    line: usize,
    after_cr: bool,
    /// The first bytes of the line being read.
    head: Vec<u8>,
    keepalives: mpsc::Sender<Item>,
    tripped: Arc<std::sync::atomic::AtomicBool>,
}

impl FrameGuard {
    fn new(max: usize, keepalives: mpsc::Sender<Item>) -> Self {
        FrameGuard {
            max,
            frame: 0,
            line: 0,
            after_cr: false,
            head: Vec::with_capacity(HEAD),
            keepalives,
            tripped: Arc::default(),
        }
    }

    fn check<B: AsRef<[u8]>>(&mut self, chunk: B) -> Option<B> {
        for &b in chunk.as_ref() {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    if self.line == 0 {
                        self.frame = 0;
                    }
                    if is_keepalive_line(&self.head) {
                        // A full channel means a flood of items: one keepalive less does not matter.
                        let _ = self.keepalives.try_send(Item::Keepalive(Instant::now()));
                    }
                    self.head.clear();
                    self.line = 0;
                }
                _ => {
                    if self.head.len() < HEAD {
                        self.head.push(b);
                    }
                    self.after_cr = false;
                    self.line += 1;
                    self.frame += 1;
                }
            }
            if self.frame > self.max {
                self.tripped.store(true, std::sync::atomic::Ordering::SeqCst);
                return None;
            }
        }
        Some(chunk)
    }
}

/// Bytes of a line kept to recognise a keepalive.
const HEAD: usize = 32;

/// A comment line (`: keepalive`, or any `:` line), or the `event:` line
/// of an event named like a keepalive (caught here because a frame with
/// no data is never dispatched by the SSE parser).
fn is_keepalive_line(head: &[u8]) -> bool {
    if head.first() == Some(&b':') {
        return true;
    }
    head.strip_prefix(b"event:")
        .and_then(|v| std::str::from_utf8(v).ok())
        .is_some_and(|v| is_keepalive_name(v.trim()))
}

/// A rustls configuration that accepts any certificate (`--insecure` only).
fn insecure_tls() -> Arc<rustls::ClientConfig> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    struct AcceptAll(Arc<rustls::crypto::CryptoProvider>);
    impl ServerCertVerifier for AcceptAll {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    crate::target::install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAll(provider)))
                .with_no_client_auth()
        });
    match config {
        Ok(c) => Arc::new(c),
        // Cannot happen with the ring provider's defaults; fall back to an empty root store.
        Err(_) => Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    }
}

/// Opens an event stream as `prepared` says (SSE, or a WebSocket upgrade of
/// the same URL): the stream when the target accepted, and the answer as
/// received (its status and headers; the capped body of a refusal).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn open(
    http: &reqwest::Client,
    transport: EventsTransport,
    prepared: &Prepared,
    limit: Duration,
    label: &str,
    max_body: usize,
    insecure: bool,
) -> Result<(Option<Stream>, Received), RunnerError> {
    let started = Instant::now();
    let refused = |e: String| RunnerError::Transport {
        what: "cannot open the event stream".into(),
        method: "GET".into(),
        url: prepared.url.to_string(),
        message: e,
    };
    let timed_out = || RunnerError::Timeout(format!("opening the event stream timed out ({label})"));
    let opened = match transport {
        EventsTransport::Sse => {
            let mut rb = http.get(prepared.url.clone());
            for (k, v) in &prepared.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            let resp = match tokio::time::timeout(limit, rb.send()).await {
                Err(_) => return Err(timed_out()),
                Ok(Err(e)) => return Err(refused(crate::target::describe_error(&e))),
                Ok(Ok(r)) => r,
            };
            let status = resp.status().as_u16();
            let headers = header_list(resp.headers());
            if (200..300).contains(&status) {
                let r = Received {
                    status,
                    headers,
                    body: Vec::new(),
                    elapsed: started.elapsed(),
                };
                (Some(Stream::sse(resp, max_body)), r)
            } else {
                let body = match tokio::time::timeout(limit, read_capped(resp, max_body)).await {
                    Err(_) => return Err(timed_out()),
                    Ok(Err(Capped::TooLarge)) => {
                        return Err(RunnerError::BodyTooLarge { limit: max_body });
                    }
                    Ok(Err(Capped::Broken(e))) => return Err(refused(crate::target::describe_error(&e))),
                    Ok(Ok(b)) => b,
                };
                (
                    None,
                    Received {
                        status,
                        headers,
                        body,
                        elapsed: started.elapsed(),
                    },
                )
            }
        }
        EventsTransport::WebSocket => {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut ws_url = prepared.url.clone();
            let scheme = if ws_url.scheme() == "https" { "wss" } else { "ws" };
            let _ = ws_url.set_scheme(scheme);
            let mut request = ws_url
                .as_str()
                .into_client_request()
                .map_err(|e| RunnerError::BadRequest(e.to_string()))?;
            for (k, v) in &prepared.headers {
                let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                    .map_err(|e| RunnerError::BadRequest(format!("header `{k}`: {e}")))?;
                let value = reqwest::header::HeaderValue::from_str(v)
                    .map_err(|e| RunnerError::BadRequest(format!("header `{k}`: {e}")))?;
                request.headers_mut().insert(name, value);
            }
            let connector = if insecure {
                Some(tokio_tungstenite::Connector::Rustls(insecure_tls()))
            } else {
                None
            };
            crate::target::install_crypto_provider();
            // One message or frame larger than the body cap ends the stream.
            let max = max_body;
            let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .max_message_size(Some(max))
                .max_frame_size(Some(max));
            let connect = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), false, connector);
            match tokio::time::timeout(limit, connect).await {
                Err(_) => return Err(timed_out()),
                Ok(Ok((ws, resp))) => {
                    let headers = resp
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect();
                    let r = Received {
                        status: resp.status().as_u16(),
                        headers,
                        body: Vec::new(),
                        elapsed: started.elapsed(),
                    };
                    (Some(Stream::websocket(ws)), r)
                }
                Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
                    let headers = resp
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect();
                    let body = resp.body().clone().unwrap_or_default();
                    (
                        None,
                        Received {
                            status: resp.status().as_u16(),
                            headers,
                            body,
                            elapsed: started.elapsed(),
                        },
                    )
                }
                Ok(Err(e)) => return Err(refused(e.to_string())),
            }
        }
    };
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> Item {
        Item::Event(Event {
            event_type: "job.message".into(),
            data: serde_json::json!({ "n": n }),
            received_at: now(),
        })
    }

    /// A stream fed by hand: the items, then nothing (never closed).
    fn fed(items: Vec<Item>) -> Stream {
        Stream::spawn(|tx| async move {
            for item in items {
                let _ = tx.send(item).await;
            }
            std::future::pending::<()>().await;
        })
    }

    #[tokio::test]
    async fn a_flush_marker_ends_the_wait_with_every_event_before_it_buffered() {
        let mut s = fed(vec![
            event(1),
            item_of(
                FLUSH_EVENT.into(),
                serde_json::json!({"type": FLUSH_EVENT, "token": "other"}),
            ),
            event(2),
            item_of(
                FLUSH_EVENT.into(),
                serde_json::json!({"type": FLUSH_EVENT, "token": "mine"}),
            ),
            event(3),
        ]);
        let far = Instant::now() + Duration::from_secs(30);
        assert!(s.await_flush("mine", far).await, "another run's marker is not ours");
        let got: Vec<Value> = s
            .buffered_of("job.message")
            .into_iter()
            .map(|e| e.data["n"].clone())
            .collect();
        assert_eq!(
            got,
            [1, 2],
            "the events before the marker are buffered; markers are not events"
        );
        assert!(s.seen().iter().all(|t| t == "job.message"));
        // A marker that never comes: the wait ends at its deadline.
        assert!(!s.await_flush("never", Instant::now() + Duration::from_millis(20)).await);
    }
}
