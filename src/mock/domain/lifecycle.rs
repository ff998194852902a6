//! Job lifecycle after hiring: deliver, request revision, cancel, dispute, review.
//!
//! Money moves in `payment.rs`; proof rounds in `proof.rs`. This module only
//! changes statuses, counters and notifications.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::application::{ApplicationStatus, ApplicationType};
use super::choice::approved_unreleased;
use super::fault::Fault;
use super::input::Fields;
use super::{ApplicationId, DomainError, DomainResult, JobId, JobStatus, Marketplace, UserId};

/// A generic success answer: `{success, message, job_id, status}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionOk {
    /// Always true.
    pub success: bool,
    /// Sentence.
    pub message: String,
    /// Job.
    pub job_id: JobId,
    /// The job's status after the action.
    pub status: JobStatus,
}

impl ActionOk {
    /// Builds one.
    pub fn new(job_id: JobId, status: JobStatus, message: &str) -> Self {
        ActionOk {
            success: true,
            message: message.into(),
            job_id,
            status,
        }
    }
}

/// Body of `POST /api/jobs/{id}/deliver` (`deliverableUrl`, `message`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeliverInput {
    /// http(s) URL.
    pub deliverable_url: String,
    /// ≥ 10 chars.
    pub message: String,
}

impl DeliverInput {
    /// Reads and checks a JSON body (camelCase `deliverableUrl`, or `deliverable_url`).
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let key = if f.raw("deliverableUrl").is_none() && f.raw("deliverable_url").is_some() {
            "deliverable_url"
        } else {
            "deliverableUrl"
        };
        let url = f.string(key, true, 1, 2000);
        if let Some(u) = &url
            && url::Url::parse(u)
                .map(|p| !matches!(p.scheme(), "http" | "https"))
                .unwrap_or(true)
        {
            f.fail(key, "must be an http(s) URL");
        }
        let message = f.string("message", true, 10, 5000);
        f.finish()?;
        Ok(DeliverInput {
            deliverable_url: url.unwrap_or_default(),
            message: message.unwrap_or_default(),
        })
    }
}

/// Body of `POST /api/jobs/{id}/dispute`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DisputeInput {
    /// quality|incomplete|late|fraud|other.
    pub reason: String,
    /// ≥ 20 chars.
    pub description: String,
}

/// Allowed dispute reasons.
pub const DISPUTE_REASONS: [&str; 5] = ["quality", "incomplete", "late", "fraud", "other"];

impl DisputeInput {
    /// Reads and checks a JSON body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let reason = f.one_of("reason", true, &DISPUTE_REASONS);
        let description = f.string("description", true, 20, 5000);
        f.finish()?;
        Ok(DisputeInput {
            reason: reason.unwrap_or_default(),
            description: description.unwrap_or_default(),
        })
    }
}

/// Body of `POST /api/jobs/{id}/review`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewInput {
    /// 1..5.
    pub rating: i64,
    /// ≤ 2000 chars.
    pub comment: Option<String>,
}

impl ReviewInput {
    /// Reads and checks a JSON body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let rating = f.int("rating", true, 1, 5);
        let comment = f.string("comment", false, 0, 2000);
        f.finish()?;
        Ok(ReviewInput {
            rating: rating.unwrap_or_default(),
            comment,
        })
    }
}

/// A poster's review of the hired agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Id.
    pub id: Uuid,
    /// Job.
    pub job_id: JobId,
    /// Poster.
    pub reviewer_id: UserId,
    /// Reviewed agent.
    pub agent_id: UserId,
    /// 1..5.
    pub rating: i64,
    /// Comment.
    pub comment: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

impl Marketplace {
    /// Delivers: `in_progress` → `delivered`, or `pending_proof` when proof is on.
    /// In a proof job every delivery after the first opens a new round, and
    /// proofers funded earlier are re-assigned (`proof.assigned`).
    pub fn deliver(&mut self, agent: UserId, job: JobId, input: DeliverInput) -> DomainResult<ActionOk> {
        self.tick();
        self.user_ref(agent)?;
        self.require_nda(agent, job)?;
        let j = self.job_ref(job)?.clone();
        if j.assigned_agent_id != Some(agent) {
            return Err(DomainError::NotAssignedAgent(
                "Only the hired agent can deliver this job.".into(),
            ));
        }
        if j.status != JobStatus::InProgress {
            return Err(DomainError::invalid_state("deliver", j.status.as_str()));
        }
        if input.message.trim().chars().count() < 10 {
            return Err(DomainError::invalid_field("message", "must be at least 10 characters"));
        }
        if url::Url::parse(&input.deliverable_url)
            .map(|p| !matches!(p.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            return Err(DomainError::invalid_field("deliverableUrl", "must be an http(s) URL"));
        }
        let to = if j.proof_required {
            JobStatus::PendingProof
        } else {
            JobStatus::Delivered
        };
        let round_fixed = self.breaks(Fault::RoundNotAdvanced);
        let jm = self.job_mut(job)?;
        jm.deliverable_url = Some(input.deliverable_url);
        jm.delivery_message = Some(input.message);
        jm.delivery_count += 1;
        if j.proof_required && jm.delivery_count > 1 && !round_fixed {
            jm.current_round += 1;
        }
        self.set_status(job, to);
        if to == JobStatus::PendingProof && j.proof_escrow_funded {
            self.assign_round(job);
        }
        self.notify(
            j.poster_id,
            "job.delivered",
            "Deliverable submitted".into(),
            format!("\"{}\" was delivered", j.title),
            job,
        );
        Ok(ActionOk::new(job, to, "Deliverable submitted"))
    }

    /// Cancels in `open`/`pending_escrow`; open applications become `rejected`.
    pub fn cancel(&mut self, poster: UserId, job: JobId) -> DomainResult<ActionOk> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        let funded_but_allowed = self.breaks(Fault::CancelAfterFunding)
            && matches!(
                j.status,
                JobStatus::InProgress | JobStatus::Delivered | JobStatus::PendingProof
            );
        if !matches!(j.status, JobStatus::Open | JobStatus::PendingEscrow) && !funded_but_allowed {
            return Err(DomainError::InvalidState(format!(
                "Cannot cancel a job that is `{}`: after funding, file a dispute with POST /api/jobs/{job}/dispute.",
                j.status.as_str()
            )));
        }
        self.set_status(job, JobStatus::Cancelled);
        let open: Vec<ApplicationId> = self
            .job_applications(job)
            .into_iter()
            .filter(|a| matches!(a.status, ApplicationStatus::Pending | ApplicationStatus::Accepted))
            .map(|a| a.id)
            .collect();
        for a in open {
            self.set_application_status(a, ApplicationStatus::Rejected);
        }
        Ok(ActionOk::new(job, JobStatus::Cancelled, "Job cancelled"))
    }

    /// Sends the job back to `in_progress` from `delivered`/`pending_proof`; at
    /// most 3 times (under `alternatives`, 5 for an enterprise agent).
    pub fn request_revision(&mut self, poster: UserId, job: JobId, message: Option<&str>) -> DomainResult<ActionOk> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        if !matches!(j.status, JobStatus::Delivered | JobStatus::PendingProof) || approved_unreleased(&j) {
            return Err(DomainError::invalid_state("request a revision", j.status.as_str()));
        }
        let max = self.revision_limit(&j);
        if j.revision_count >= max {
            return Err(DomainError::RevisionLimitReached(format!(
                "This job already had {max} revisions, the maximum. Approve it or file a dispute."
            )));
        }
        self.job_mut(job)?.revision_count += 1;
        self.set_status(job, JobStatus::InProgress);
        if let Some(agent) = j.assigned_agent_id {
            let text = message.map(|m| format!(": {m}")).unwrap_or_default();
            self.notify(
                agent,
                "job.revision_requested",
                "Revision requested".into(),
                format!("The poster asked for a revision of \"{}\"{text}", j.title),
                job,
            );
        }
        Ok(ActionOk::new(job, JobStatus::InProgress, "Revision requested"))
    }

    /// Files a dispute (poster or hired agent; NDA for the agent) in `in_progress`/`delivered`.
    pub fn dispute(&mut self, user: UserId, job: JobId, input: DisputeInput) -> DomainResult<ActionOk> {
        self.tick();
        self.user_ref(user)?;
        self.require_nda(user, job)?;
        let j = self.job_ref(job)?.clone();
        if j.poster_id != user && j.assigned_agent_id != Some(user) {
            return Err(DomainError::NotParticipant(
                "Only the poster or the hired agent can dispute this job.".into(),
            ));
        }
        if !DISPUTE_REASONS.contains(&input.reason.as_str()) || input.description.trim().chars().count() < 20 {
            let mut d = Vec::new();
            if !DISPUTE_REASONS.contains(&input.reason.as_str()) {
                d.push(super::FieldError::new(
                    "reason",
                    format!("must be one of {}", DISPUTE_REASONS.join(", ")),
                ));
            }
            if input.description.trim().chars().count() < 20 {
                d.push(super::FieldError::new("description", "must be at least 20 characters"));
            }
            return Err(DomainError::validation(d));
        }
        if !matches!(j.status, JobStatus::InProgress | JobStatus::Delivered) || approved_unreleased(&j) {
            return Err(DomainError::invalid_state("dispute", j.status.as_str()));
        }
        self.set_status(job, JobStatus::Disputed);
        let other = if j.poster_id == user {
            j.assigned_agent_id
        } else {
            Some(j.poster_id)
        };
        if let Some(o) = other {
            self.notify(
                o,
                "job.disputed",
                "Dispute filed".into(),
                format!("A dispute ({}) was filed on \"{}\"", input.reason, j.title),
                job,
            );
        }
        Ok(ActionOk::new(
            job,
            JobStatus::Disputed,
            "Dispute filed; an admin will review it.",
        ))
    }

    /// Reviews the hired agent once, on a `completed` job.
    pub fn review(&mut self, poster: UserId, job: JobId, input: ReviewInput) -> DomainResult<Review> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        if !(1..=5).contains(&input.rating) {
            return Err(DomainError::invalid_field("rating", "must be an integer from 1 to 5"));
        }
        if input.comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
            return Err(DomainError::invalid_field("comment", "must be at most 2000 characters"));
        }
        if j.status != JobStatus::Completed {
            return Err(DomainError::invalid_state("review", j.status.as_str()));
        }
        if j.reviewed {
            return Err(DomainError::AlreadyReviewed("You already reviewed this job.".into()));
        }
        let agent = j
            .assigned_agent_id
            .ok_or_else(|| DomainError::invalid_state("review", "completed"))?;
        self.job_mut(job)?.reviewed = true;
        let a = self.user_mut(agent)?;
        a.rating_sum += input.rating as f64;
        a.total_reviews += 1;
        let r = Review {
            id: Uuid::new_v4(),
            job_id: job,
            reviewer_id: poster,
            agent_id: agent,
            rating: input.rating,
            comment: input.comment,
            created_at: self.now(),
        };
        self.reviews.push(r.clone());
        Ok(r)
    }

    /// Whether the user has any application of `ty` on the job (helper for views).
    pub(super) fn has_application(&self, user: UserId, job: JobId, ty: ApplicationType) -> bool {
        self.applications
            .values()
            .any(|a| a.job_id == job && a.agent_id == user && a.application_type == ty)
    }
}
