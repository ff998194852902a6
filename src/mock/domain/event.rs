//! Domain events queued in an outbox for the SSE/WebSocket stream.
//!
//! The marketplace appends events while it changes state; the HTTP layer
//! drains them (`Marketplace::drain_events`) and fans them out. Payloads carry
//! `type`, `job_id`, `occurred_at` plus the fields of api-decisions.md.
//! Emitting an event also records the mirroring in-app notification.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{JobId, Marketplace, UserId};

/// The event types a stream may filter on (`?types=`).
pub const EVENT_TYPES: [&str; 5] = [
    "job.available",
    "application.update",
    "job.message",
    "payment.released",
    "proof.assigned",
];

/// One event for one recipient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Who receives it.
    pub recipient: UserId,
    /// One of [`EVENT_TYPES`].
    pub event_type: &'static str,
    /// The JSON payload (`type`, `job_id`, `occurred_at`, ...).
    pub payload: Value,
}

impl Marketplace {
    /// Queues an event and its in-app notification. `fields` must be a JSON object.
    pub(super) fn emit(&mut self, recipient: UserId, event_type: &'static str, job: JobId, fields: Value) {
        let mut payload = Map::new();
        payload.insert("type".into(), Value::String(event_type.into()));
        payload.insert("job_id".into(), Value::String(job.to_string()));
        payload.insert("occurred_at".into(), Value::String(self.now().to_rfc3339()));
        if let Value::Object(extra) = fields {
            payload.extend(extra);
        }
        let payload = Value::Object(payload);
        self.notify_for_event(recipient, event_type, job, &payload);
        if event_type == "application.update"
            && payload["status"] == "accepted"
            && payload["application_type"] == "agent"
        {
            self.queue_webhook(recipient, "job.accepted", job, payload.get("application_id").cloned());
        }
        self.events.push(Event {
            recipient,
            event_type,
            payload,
        });
    }
}
