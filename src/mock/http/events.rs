//! The event stream: a hub keyed by user id fed from the domain outbox, and
//! `GET /api/agent/events` as Server-Sent Events or, on upgrade, WebSocket.
//!
//! Each user has one bounded broadcast channel; a slow subscriber lags and
//! loses the oldest events instead of blocking others or growing memory.
//! Only events published while a connection is open are sent (no replay).
//!
//! SSE frames are `event: <type>`, `id: <n>`, `data: <json>`, with a
//! `: keepalive` comment on an idle stream. Under the `sse_type_in_data`
//! choice a frame has no `event:` line (the type is the payload's `type`)
//! and the keepalive is an `event: ping` with empty data. An unknown type in
//! `?types=` is 400, or ignored under `unknown_types_ignored`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{QueryMap, query_error};
use super::server::AppState;
use crate::mock::domain::{DomainError, EVENT_TYPES, Event};

/// Events buffered per user before the slowest subscriber starts losing them.
const CHANNEL_CAPACITY: usize = 256;

/// The type of the flush marker (control feature `events_flush`): sent on
/// every open stream, whatever its `?types=` filter, when the control API
/// asks, with the payload `{"type": "conformance.flush", "token": ...}`.
/// Not an AgentGigs event: only a harness asks for it.
pub(crate) const FLUSH_EVENT: &str = "conformance.flush";

/// One published event.
#[derive(Debug)]
pub(crate) struct HubEvent {
    pub(crate) event_type: &'static str,
    pub(crate) payload: Value,
}

/// Subscribers by user id.
#[derive(Debug, Default)]
pub(crate) struct EventHub {
    subs: Mutex<HashMap<Uuid, broadcast::Sender<Arc<HubEvent>>>>,
}

impl EventHub {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A receiver of `user`'s future events.
    pub(crate) fn subscribe(&self, user: Uuid) -> broadcast::Receiver<Arc<HubEvent>> {
        self.subs
            .lock()
            .entry(user)
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Sends each event to its recipient's subscribers (or to everyone, under
    /// the `events_to_everyone` fault). Never blocks.
    pub(crate) fn publish(&self, events: Vec<Event>, to_everyone: bool) {
        if events.is_empty() {
            return;
        }
        let mut subs = self.subs.lock();
        for ev in events {
            let item = Arc::new(HubEvent {
                event_type: ev.event_type,
                payload: ev.payload,
            });
            if to_everyone {
                for tx in subs.values() {
                    let _ = tx.send(item.clone());
                }
            } else if let Some(tx) = subs.get(&ev.recipient) {
                let _ = tx.send(item);
            }
        }
        subs.retain(|_, tx| tx.receiver_count() > 0);
    }

    /// Sends the flush marker carrying `token` on every open stream; answers
    /// how many streams it reached. A stream's events go out in the order
    /// they were published, so once a client reads the marker it has read
    /// every event published before this call.
    pub(crate) fn flush(&self, token: &str) -> usize {
        let item = Arc::new(HubEvent {
            event_type: FLUSH_EVENT,
            payload: json!({"type": FLUSH_EVENT, "token": token}),
        });
        let subs = self.subs.lock();
        subs.values().map(|tx| tx.send(item.clone()).unwrap_or(0)).sum()
    }

    /// Drops every channel: open streams end.
    pub(crate) fn close_all(&self) {
        self.subs.lock().clear();
    }
}

/// Parses `?types=a,b` (absent = all; unknown or empty = 400). With
/// `ignore_unknown`, unknown values are dropped and a filter left without a
/// known type filters nothing.
fn parse_types(q: &QueryMap, ignore_unknown: bool) -> Result<Option<Vec<&'static str>>, ApiError> {
    let Some(raw) = q.get("types") else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim) {
        match EVENT_TYPES.iter().find(|t| **t == part) {
            Some(t) => out.push(*t),
            None if ignore_unknown => {}
            None => {
                return Err(query_error(
                    "types",
                    &format!("`{part}` is not an event type (one of {})", EVENT_TYPES.join(", ")),
                ));
            }
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// `GET /api/agent/events`: SSE, or WebSocket when the request asks to upgrade.
pub(crate) async fn stream(State(st): State<AppState>, caller: Caller, q: QueryMap, req: Request) -> Response {
    let types = match parse_types(&q, st.choice("unknown_types_ignored")) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let wants_ws = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let rx = st.hub().subscribe(caller.user);
    if wants_ws {
        let (mut parts, _body) = req.into_parts();
        return match WebSocketUpgrade::from_request_parts(&mut parts, &st).await {
            Ok(ws) => {
                let keepalive = st.keepalive();
                ws.on_upgrade(move |socket| websocket(socket, rx, types, keepalive))
                    .into_response()
            }
            Err(rej) => ApiError::from(DomainError::invalid_field(
                "upgrade",
                &format!("WebSocket upgrade refused: {}", rej.body_text()),
            ))
            .into_response(),
        };
    }
    let events = BroadcastStream::new(rx)
        .filter_map(move |item| {
            let keep = match item {
                Ok(ev) if ev.event_type == FLUSH_EVENT || types.as_ref().is_none_or(|t| t.contains(&ev.event_type)) => {
                    Some(ev)
                }
                _ => None, // filtered out, or lost by a lagging subscriber
            };
            futures::future::ready(keep)
        })
        .enumerate();
    if st.choice("sse_type_in_data") {
        return typeless_sse(events, st.keepalive());
    }
    let events = events.map(|(i, ev)| {
        let frame = SseEvent::default()
            .event(ev.event_type)
            .id((i + 1).to_string())
            .data(serde_json::to_string(&ev.payload).unwrap_or_else(|_| "{}".into()));
        Ok::<_, Infallible>(frame)
    });
    if st.fault("keepalive_once") {
        // One keepalive after the first interval, then none ever again.
        let keepalive = st.keepalive();
        let once = futures::stream::once(async move {
            tokio::time::sleep(keepalive).await;
            Ok::<_, Infallible>(SseEvent::default().comment("keepalive"))
        });
        return Sse::new(futures::stream::select(events, once)).into_response();
    }
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(st.keepalive()).text("keepalive"))
        .into_response()
}

/// The keepalive of `sse_type_in_data`: an event named `ping` whose data is
/// the empty string (a client's event parser dispatches it).
const PING_FRAME: &str = "event: ping\ndata: \n\n";

/// The SSE stream of the `sse_type_in_data` choice: `id:` and `data:` lines
/// only, and a ping event after each idle `keepalive`.
fn typeless_sse(
    events: impl futures::Stream<Item = (usize, Arc<HubEvent>)> + Send + 'static,
    keepalive: Duration,
) -> Response {
    let frames = futures::stream::unfold(Box::pin(events), move |mut events| async move {
        let frame = match tokio::time::timeout(keepalive, events.next()).await {
            Ok(Some((i, ev))) => format!(
                "id: {}\ndata: {}\n\n",
                i + 1,
                serde_json::to_string(&ev.payload).unwrap_or_else(|_| "{}".into())
            ),
            Ok(None) => return None,
            Err(_) => PING_FRAME.to_string(),
        };
        Some((Ok::<_, Infallible>(Bytes::from(frame)), events))
    });
    let mut resp = Body::from_stream(frames).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn websocket(
    socket: WebSocket,
    mut rx: broadcast::Receiver<Arc<HubEvent>>,
    types: Option<Vec<&'static str>>,
    keepalive: std::time::Duration,
) {
    let (mut tx, mut incoming) = socket.split();
    let mut ping = tokio::time::interval(keepalive);
    ping.tick().await;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if ev.event_type != FLUSH_EVENT && types.as_ref().is_some_and(|t| !t.contains(&ev.event_type)) {
                        continue;
                    }
                    let text = json!({"event": ev.event_type, "data": ev.payload}).to_string();
                    if tx.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = tx.send(Message::Close(None)).await;
                    break;
                }
            },
            msg = incoming.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if tx.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(to: Uuid, n: usize) -> Event {
        Event {
            recipient: to,
            event_type: "job.message",
            payload: json!({"n": n}),
        }
    }

    #[test]
    fn a_slow_subscriber_lags_without_blocking_or_growing() {
        let hub = EventHub::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut slow = hub.subscribe(a);
        let mut other = hub.subscribe(b);
        hub.publish((0..CHANNEL_CAPACITY * 3).map(|n| ev(a, n)).collect(), false);
        hub.publish(vec![ev(b, 0)], false);
        assert!(matches!(
            slow.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
        assert_eq!(slow.len(), CHANNEL_CAPACITY, "the buffer is bounded");
        assert_eq!(other.try_recv().unwrap().payload["n"], 0, "others are not held up");
    }

    #[test]
    fn events_go_to_their_recipient_unless_the_fault_is_on() {
        let hub = EventHub::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (mut ra, mut rb) = (hub.subscribe(a), hub.subscribe(b));
        hub.publish(vec![ev(a, 1)], false);
        assert!(ra.try_recv().is_ok());
        assert!(rb.try_recv().is_err());
        hub.publish(vec![ev(a, 2)], true);
        assert!(rb.try_recv().is_ok());
        assert!(ra.try_recv().is_ok(), "the recipient too");
        hub.close_all();
        assert!(matches!(ra.try_recv(), Err(broadcast::error::TryRecvError::Closed)));
    }

    #[test]
    fn the_flush_marker_reaches_every_stream_after_the_events_before_it() {
        let hub = EventHub::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (mut ra, mut rb) = (hub.subscribe(a), hub.subscribe(b));
        hub.publish(vec![ev(a, 1), ev(a, 2)], false);
        assert_eq!(hub.flush("t1"), 2, "both streams");
        let types: Vec<&str> = std::iter::from_fn(|| ra.try_recv().ok())
            .map(|e| e.event_type)
            .collect();
        assert_eq!(types, ["job.message", "job.message", FLUSH_EVENT]);
        let marker = rb.try_recv().unwrap();
        assert_eq!(marker.payload, json!({"type": FLUSH_EVENT, "token": "t1"}));
    }
}
