//! Event streams: an actor's `GET /api/agent/events` followed in a
//! background task (SSE, streamed frame by frame and never buffered whole,
//! or WebSocket), its events parsed into a channel, and waits for
//! matching events. Streams close when their [`Stream`] is dropped.
//! It must not judge events (the event steps do).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Events kept waiting for a later step, at most.
const MAX_BUFFERED: usize = 1000;

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
    Unparseable { event_type: String, raw: String },
    Closed(String),
}

/// An open stream and what it has received but no step consumed yet.
pub(crate) struct Stream {
    rx: mpsc::UnboundedReceiver<Item>,
    buffer: VecDeque<Event>,
    problems: Vec<String>,
    closed: Option<String>,
    seen: Vec<String>,
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

/// The event type: the frame's `event:` name, else the payload's `type`.
fn event_type(name: &str, data: &Value) -> String {
    if !name.is_empty() && name != "message" {
        return name.to_string();
    }
    data.get("type").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| "message".to_string())
}

impl Stream {
    fn spawn<F>(f: impl FnOnce(mpsc::UnboundedSender<Item>) -> F) -> Stream
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(f(tx));
        Stream { rx, buffer: VecDeque::new(), problems: Vec::new(), closed: None, seen: Vec::new(), task }
    }

    /// Follows an SSE response.
    pub fn sse(resp: reqwest::Response) -> Stream {
        Stream::spawn(|tx| async move {
            let mut events = resp.bytes_stream().eventsource();
            while let Some(frame) = events.next().await {
                match frame {
                    Ok(ev) => {
                        let item = match serde_json::from_str::<Value>(&ev.data) {
                            Ok(data) => Item::Event(Event { event_type: event_type(&ev.event, &data), data, received_at: now() }),
                            Err(_) => Item::Unparseable { event_type: ev.event.clone(), raw: ev.data.clone() },
                        };
                        if tx.send(item).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Item::Closed(format!("the stream broke: {e}")));
                        return;
                    }
                }
            }
            let _ = tx.send(Item::Closed("the server closed the stream".into()));
        })
    }

    /// Follows a WebSocket (`{"event": type, "data": payload}` text frames).
    pub fn websocket<S>(ws: S) -> Stream
    where
        S: futures::Stream<Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>>
            + Send
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
                        let why = frame.map(|f| format!(" ({} {})", u16::from(f.code), f.reason)).unwrap_or_default();
                        let _ = tx.send(Item::Closed(format!("the server closed the WebSocket{why}")));
                        return;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        let _ = tx.send(Item::Closed(format!("the WebSocket broke: {e}")));
                        return;
                    }
                };
                let item = match serde_json::from_str::<Value>(&text) {
                    Ok(frame) => match (frame.get("event").and_then(Value::as_str), frame.get("data")) {
                        (Some(name), Some(data)) => {
                            Item::Event(Event { event_type: event_type(name, data), data: data.clone(), received_at: now() })
                        }
                        _ => Item::Unparseable { event_type: String::new(), raw: text },
                    },
                    Err(_) => Item::Unparseable { event_type: String::new(), raw: text },
                };
                if tx.send(item).is_err() {
                    return;
                }
            }
            let _ = tx.send(Item::Closed("the server closed the WebSocket".into()));
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
                let name = if event_type.is_empty() { "an event".to_string() } else { format!("event `{event_type}`") };
                self.problems.push(format!(
                    "{name} arrived with data that is not JSON: {}",
                    super::record::truncate_text(&raw, 200)
                ));
                None
            }
            Item::Closed(why) => {
                self.closed = Some(why);
                None
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
                if self.buffer.len() >= MAX_BUFFERED {
                    self.buffer.pop_front();
                }
                self.buffer.push_back(e);
            }
        }
    }

    /// Takes (and clears) the notes about unparseable events.
    pub fn take_problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
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

/// A rustls configuration that accepts any certificate (`--insecure` only).
pub(crate) fn insecure_tls() -> Arc<rustls::ClientConfig> {
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
        .map(|b| b.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAll(provider))).with_no_client_auth());
    match config {
        Ok(c) => Arc::new(c),
        // Cannot happen with the ring provider's defaults; fall back to an empty root store.
        Err(_) => Arc::new(
            rustls::ClientConfig::builder().with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth(),
        ),
    }
}
