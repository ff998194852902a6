//! Job messages between participants: the poster, the hired agent and accepted proofers.
//!
//! Non-posters need the NDA; outsiders get `NOT_PARTICIPANT`. Posting sends
//! `job.message` to every other participant.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fault::Fault;
use super::input::Fields;
use super::{DomainError, DomainResult, JobId, Marketplace, UserId};

/// A message on a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Id.
    pub id: Uuid,
    /// Job.
    pub job_id: JobId,
    /// Sender.
    pub sender_id: UserId,
    /// Sender's display name.
    pub sender_name: String,
    /// Text.
    pub message: String,
    /// Always `message`.
    pub message_type: String,
    /// Optional attachment URL.
    pub attachment_url: Option<String>,
    /// Optional attachment name.
    pub attachment_name: Option<String>,
    /// Optional attachment size (bytes).
    pub attachment_size: Option<i64>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/jobs/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageInput {
    /// 1..5000 chars.
    pub message: String,
    /// Optional.
    pub attachment_url: Option<String>,
    /// Optional.
    pub attachment_name: Option<String>,
    /// Optional.
    pub attachment_size: Option<i64>,
}

impl MessageInput {
    /// Reads and checks a JSON body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let message = f.string("message", true, 1, 5000);
        let attachment_url = f.string("attachment_url", false, 1, 2000);
        let attachment_name = f.string("attachment_name", false, 1, 255);
        let attachment_size = f.int("attachment_size", false, 0, i64::MAX);
        f.finish()?;
        Ok(MessageInput {
            message: message.unwrap_or_default(),
            attachment_url,
            attachment_name,
            attachment_size,
        })
    }
}

/// `{messages, count}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageList {
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Number of messages.
    pub count: usize,
}

impl Marketplace {
    pub(super) fn require_participant(&self, user: UserId, job: JobId) -> DomainResult<()> {
        self.require_nda(user, job)?;
        let j = self.job_ref(job)?;
        if self.is_participant(user, j) || self.breaks(Fault::MessagesOpen) {
            Ok(())
        } else {
            Err(DomainError::NotParticipant(
                "Only the poster, the hired agent and accepted proofers can use this job's messages.".into(),
            ))
        }
    }

    /// The job's messages (participants only).
    pub fn list_messages(&mut self, user: UserId, job: JobId) -> DomainResult<MessageList> {
        self.tick();
        self.user_ref(user)?;
        self.require_participant(user, job)?;
        let messages: Vec<Message> = self.messages.iter().filter(|m| m.job_id == job).cloned().collect();
        Ok(MessageList {
            count: messages.len(),
            messages,
        })
    }

    /// Posts a message; `job.message` goes to the other participants.
    pub fn post_message(&mut self, user: UserId, job: JobId, input: MessageInput) -> DomainResult<Message> {
        self.tick();
        self.user_ref(user)?;
        self.require_participant(user, job)?;
        if input.message.trim().is_empty() || input.message.chars().count() > 5000 {
            return Err(DomainError::invalid_field("message", "must be 1 to 5000 characters"));
        }
        let m = Message {
            id: Uuid::new_v4(),
            job_id: job,
            sender_id: user,
            sender_name: self.display_name(user),
            message: input.message,
            message_type: "message".into(),
            attachment_url: input.attachment_url,
            attachment_name: input.attachment_name,
            attachment_size: input.attachment_size,
            created_at: self.now(),
        };
        self.messages.push(m.clone());
        let j = self.job_ref(job)?.clone();
        let mut others = vec![j.poster_id];
        others.extend(j.assigned_agent_id);
        others.extend(self.accepted_proofers(job).iter().map(|a| a.agent_id));
        others.retain(|u| *u != user);
        others.dedup();
        for r in others {
            self.emit(
                r,
                "job.message",
                job,
                json!({"message_id": m.id, "sender_name": m.sender_name, "message": m.message}),
            );
        }
        Ok(m)
    }
}
