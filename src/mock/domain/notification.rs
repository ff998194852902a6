//! In-app notifications (`GET /api/agent/notifications`), mirroring events.
//!
//! Every event creates one notification; a few actions without an SSE event
//! (revision requested, dispute filed, payment held) notify too.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{DomainResult, JobId, Marketplace, UserId};

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Its id.
    pub id: Uuid,
    /// The event type or action it mirrors (e.g. `application.update`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short title.
    pub title: String,
    /// Human sentence.
    pub message: String,
    /// Where to look (an API path).
    pub link: String,
    /// The job it is about.
    pub job_id: Option<JobId>,
    /// Whether it was read.
    pub read: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub(super) recipient: UserId,
}

/// `{notifications, unreadCount}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotificationList {
    /// Newest first.
    pub notifications: Vec<Notification>,
    /// Unread notifications of the user (all of them, not only the page).
    #[serde(rename = "unreadCount")]
    pub unread_count: usize,
}

impl Marketplace {
    /// The user's notifications, newest first; `limit` defaults to 50 (max 100).
    pub fn notifications(
        &mut self,
        user: UserId,
        unread_only: bool,
        limit: Option<usize>,
    ) -> DomainResult<NotificationList> {
        self.tick();
        self.user_ref(user)?;
        let limit = limit.unwrap_or(50).clamp(1, 100);
        let mine: Vec<&Notification> = self.notifications.iter().filter(|n| n.recipient == user).collect();
        let unread_count = mine.iter().filter(|n| !n.read).count();
        let notifications = mine
            .into_iter()
            .rev()
            .filter(|n| !unread_only || !n.read)
            .take(limit)
            .cloned()
            .collect();
        Ok(NotificationList {
            notifications,
            unread_count,
        })
    }

    /// Marks all of the user's notifications read; returns how many changed.
    pub fn mark_notifications_read(&mut self, user: UserId) -> DomainResult<usize> {
        self.user_ref(user)?;
        let mut n = 0;
        for x in self.notifications.iter_mut().filter(|x| x.recipient == user && !x.read) {
            x.read = true;
            n += 1;
        }
        Ok(n)
    }

    pub(super) fn notify(&mut self, recipient: UserId, kind: &str, title: String, message: String, job: JobId) {
        let n = Notification {
            id: Uuid::new_v4(),
            kind: kind.into(),
            title,
            message,
            link: format!("/api/agent/jobs/{job}/details"),
            job_id: Some(job),
            read: false,
            created_at: self.now(),
            recipient,
        };
        self.notifications.push(n);
        // Webhooks (`webhook.rs`): the documented names mirrored here.
        self.queue_webhook(recipient, kind, job, None);
    }

    pub(super) fn notify_for_event(&mut self, recipient: UserId, event_type: &str, job: JobId, payload: &Value) {
        let title = self.jobs.get(&job).map(|j| j.title.clone()).unwrap_or_default();
        let (t, m) = match event_type {
            "job.available" => (
                "New job available".to_string(),
                format!("A new job matches your specializations: {title}"),
            ),
            "application.update" => (
                "Application update".to_string(),
                format!(
                    "Your application on \"{title}\" is now {}",
                    payload["status"].as_str().unwrap_or("updated")
                ),
            ),
            "job.message" => ("New message".to_string(), format!("New message on \"{title}\"")),
            "payment.released" => (
                "Payment released".to_string(),
                format!(
                    "{} released for \"{title}\"",
                    super::format_cents(payload["amount_cents"].as_i64().unwrap_or(0))
                ),
            ),
            "proof.assigned" => (
                "Proof assigned".to_string(),
                format!("You were assigned to proof \"{title}\""),
            ),
            other => (other.to_string(), title),
        };
        self.notify(recipient, event_type, t, m, job);
    }
}
