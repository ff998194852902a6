//! The marketplace rules: state, money, lifecycle, proofs, rate limits, clock. No HTTP here.
//!
//! [`Marketplace`] holds all state in memory. The HTTP layer keeps one behind a
//! `parking_lot::Mutex` and calls one method per request, so every operation
//! is atomic (two racing accepts hire one agent, escrow is funded once, slots
//! never over-fill). Methods take the acting user's id and return
//! `Result<T, DomainError>`; the `T`s derive `Serialize` with the JSON field
//! names of `docs/api-decisions.md`. Every operation first runs [`Marketplace::tick`]
//! (due payment releases). This module must not know about HTTP, axum or tokio.
//!
//! Map of the operations (all on [`Marketplace`]; `u` = acting user id):
//! - accounts (`account.rs`): `register(email, pw, name, ip)`, `login(email, pw, ip)`, `create_actor(ActorSpec)`,
//!   `user_view`, `user_by_email`, `issue_api_key`, `authenticate_api_key`, `wallet`, `deposit`,
//!   `verify_email`, `set_user_flags`, `register_proofer(u, categories)`.
//! - profiles (`profile.rs`): `create_profile(u, ProfileInput)`, `update_profile(u, ProfilePatch)`,
//!   `profile`, `profile_view`.
//! - rate limits (`ratelimit.rs`): `check_standard_rate(u)` on every authenticated call,
//!   `check_rate(rule, subject, job)`; fund/apply/download/login/register limits are applied
//!   inside the operations; `set_rate_limits(false)` lifts them all (load benchmarks).
//! - jobs (`job.rs`): `create_job(u, NewJob)`, `get_job`, `list_available(u, AvailableQuery)`,
//!   `list_posted(u, status, limit)`, `job_details`, `acknowledge_nda`, `nda_status`, `require_nda`,
//!   `find_job_by_ref` (fault hook only).
//! - applications (`application.rs`): `apply(u, job, ApplyInput)`, `list_applications`,
//!   `my_applications(u, status, limit)`, `accept_application(u, job, app)`.
//! - money (`payment.rs`): `fund_escrow(u, job, app, use_wallet)`, `fund_proof_escrow`,
//!   `approve(u, job, override_proof)`, `hold_payment(u, job, reason)`, `tick`,
//!   `release_now` (fault hook only).
//! - lifecycle (`lifecycle.rs`): `deliver(u, job, DeliverInput)`, `cancel`, `request_revision`,
//!   `dispute(u, job, DisputeInput)`, `review(u, job, ReviewInput)`.
//! - files (`file.rs`): `upload_deliverable(u, job, name, bytes)`, `add_attachment`,
//!   `list_attachments`, `deliverables`, `download_link(u, job, path)`, `resolve_download(token)`.
//! - proofs (`proof.rs`, `verdict.rs`, `proof_view.rs`): `proof_needed`, `accept_proofer`,
//!   `proof_settings`, `update_proof_settings(u, job, ProofSettingsPatch)`,
//!   `submit_verdict(u, job, &Value)`, `consensus(job, round)`, `proofs_view`, `improvement_trends(u, period)`.
//! - alternative job paths (`alternative.rs`): `fund_by_card(u, job, app, pm)`,
//!   `DeliverInput::from_submit_json`; earnings and referrals (`earnings.rs`): `earnings(u, calculate)`,
//!   `referrals(u)`, `apply_referral(u, code)`.
//! - beyond the lifecycle (`growth.rs`): `proofs_available`, `subscription`, `subscribe`,
//!   `cancel_subscription`, `job_templates`, `reputation(agent, ip)`, `proofer_leaderboard`,
//!   `create_integration_job`, `integration_jobs`, `feature_status`, `feature_job`,
//!   `report_content`, `register_webhook`; message uploads (`file.rs`): `upload_message_file`.
//! - messages, notifications, events: `list_messages`, `post_message(u, job, MessageInput)`,
//!   `notifications(u, unread_only, limit)`, `mark_notifications_read`, `drain_events`.
//! - clock and invariants: `now`, `advance_clock(secs)`, `set_base_url`, `total_money`,
//!   `total_deposits`, `platform_fees`, `check_invariants`.
//! - deliberate rule-breaks (`fault.rs`): `set_faults`; off unless a test asks.
//! - other choices where the docs are silent or conflict (`choice.rs`): `set_choices`; off
//!   unless asked (the reference server's own decisions are the default).
//!
//! Request bodies: every input struct has `from_json(&Value) -> DomainResult<Self>` that
//! reports type and range problems as `VALIDATION_FAILED` with `details`. Errors:
//! [`DomainError::code`], [`DomainError::status`], [`DomainError::body`], [`DomainError::retry_after`].

pub mod account;
pub mod alternative;
pub mod application;
pub mod choice;
pub mod clock;
pub mod earnings;
pub mod error;
pub mod event;
pub mod extras;
pub mod fault;
pub mod file;
pub mod growth;
pub mod input;
pub mod job;
pub mod lifecycle;
pub mod message;
pub mod money;
pub mod notification;
pub mod payment;
pub mod profile;
pub mod proof;
pub mod proof_view;
pub mod ratelimit;
pub mod verdict;
pub mod webhook;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use account::{ActorRole, ActorSpec, CreatedActor, ProoferRegistration, User, UserFlags, UserView, Wallet};
pub use application::{
    AgentSummary, Application, ApplicationList, ApplicationRow, ApplicationStatus, ApplicationType, ApplyInput,
    MyApplication, MyApplicationCounts, MyApplications,
};
pub use choice::Choice;
pub use clock::Clock;
pub use error::{DomainError, DomainResult, FieldError};
pub use event::{EVENT_TYPES, Event};
pub use fault::Fault;
pub use file::{AttachmentList, DeliverableFile, Download, DownloadLink, FileKind, FileView};
pub use job::{
    AvailableJob, AvailableJobs, AvailableQuery, CATEGORIES, Job, JobDetails, JobStatus, MyApplicationRef, NdaAck,
    NdaStatus, NewJob, PaymentStatus, PostedJobs, ProofRequirement,
};
pub use lifecycle::{ActionOk, DeliverInput, DisputeInput, Review, ReviewInput};
pub use message::{Message, MessageInput, MessageList};
pub use money::{Tier, format_cents};
pub use notification::{Notification, NotificationList};
pub use payment::{ApproveResult, FundResult, ProofFundResult};
pub use profile::{Profile, ProfileInput, ProfilePatch, ProfileView};
pub use proof::{ProofNeeded, ProofNeededJob, ProofSettings, ProofSettingsPatch, SlotsResult};
pub use proof_view::{
    Assignment, AssignmentView, FeedbackItem, ImprovementTrends, ProofSummary, ProofView, ProofsView, RevisionIssue,
    TrendPoint, VerdictCounts,
};
pub use ratelimit::{RateRule, RateSubject};
pub use verdict::{Consensus, Proof, RevisionItem, Verdict, VerdictResult};

/// A user's id (poster, agent or proofer; one account can be all three).
pub type UserId = Uuid;
/// A job's id.
pub type JobId = Uuid;
/// An application's id (agent or proof application).
pub type ApplicationId = Uuid;

/// Cooldown between approve and payment release.
pub const RELEASE_COOLDOWN_HOURS: i64 = 24;
/// Lifetime of a signed download URL, in seconds.
pub const DOWNLOAD_TTL_SECS: i64 = 3600;
/// Maximum number of revision requests per job.
pub const MAX_REVISIONS: u32 = 3;

/// All marketplace state. Cheap to create; one per mock server (reset = new one).
#[derive(Debug)]
pub struct Marketplace {
    pub(super) clock: Clock,
    pub(super) base_url: String,
    pub(super) users: HashMap<UserId, User>,
    pub(super) emails: HashMap<String, UserId>,
    pub(super) api_keys: HashMap<String, UserId>,
    pub(super) jobs: HashMap<JobId, Job>,
    pub(super) job_order: Vec<JobId>,
    pub(super) applications: HashMap<ApplicationId, Application>,
    pub(super) app_order: Vec<ApplicationId>,
    pub(super) ndas: HashMap<(UserId, JobId), DateTime<Utc>>,
    pub(super) assignments: Vec<Assignment>,
    pub(super) proofs: Vec<Proof>,
    pub(super) messages: Vec<Message>,
    pub(super) files: Vec<file::StoredFile>,
    pub(super) download_tokens: HashMap<String, file::DownloadToken>,
    pub(super) reviews: Vec<Review>,
    pub(super) notifications: Vec<Notification>,
    pub(super) events: Vec<Event>,
    pub(super) limiter: ratelimit::RateLimiter,
    /// Whether rate limits apply (off only for load benchmarks).
    pub(super) rate_limits: bool,
    /// Rules broken on purpose (empty unless a test asks).
    pub(super) faults: BTreeSet<Fault>,
    /// Decisions made the other way (empty unless asked).
    pub(super) choices: BTreeSet<Choice>,
    pub(super) platform_fees: i64,
    pub(super) total_deposits: i64,
    /// Earnings, referrals, subscriptions, featured jobs, reports, integrations, webhooks.
    pub(super) extras: extras::Extras,
    /// Requests inside a race fault's window (empty unless a race fault is on).
    pub(super) races: Vec<fault::RaceTicket>,
    pub(super) race_seq: u64,
}

impl Default for Marketplace {
    fn default() -> Self {
        Self::new(Clock::real())
    }
}

impl Marketplace {
    /// An empty marketplace reading time from `clock`.
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            base_url: String::new(),
            users: HashMap::new(),
            emails: HashMap::new(),
            api_keys: HashMap::new(),
            jobs: HashMap::new(),
            job_order: Vec::new(),
            applications: HashMap::new(),
            app_order: Vec::new(),
            ndas: HashMap::new(),
            assignments: Vec::new(),
            proofs: Vec::new(),
            messages: Vec::new(),
            files: Vec::new(),
            download_tokens: HashMap::new(),
            reviews: Vec::new(),
            notifications: Vec::new(),
            events: Vec::new(),
            limiter: ratelimit::RateLimiter::default(),
            rate_limits: true,
            faults: BTreeSet::new(),
            choices: BTreeSet::new(),
            platform_fees: 0,
            total_deposits: 0,
            extras: extras::Extras::default(),
            races: Vec::new(),
            race_seq: 0,
        }
    }

    /// Sets the absolute base (e.g. `http://127.0.0.1:8080`) put in front of
    /// `/files/{token}` in signed URLs. Default: empty (relative URLs).
    pub fn set_base_url(&mut self, base: impl Into<String>) {
        self.base_url = base.into().trim_end_matches('/').to_string();
    }

    /// The current server time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The clock (read-only).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves the server clock forward by `secs` and processes what became due.
    pub fn advance_clock(&mut self, secs: i64) {
        self.clock.advance_secs(secs);
        self.tick();
    }

    /// Takes every queued domain event (oldest first).
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Sum of every wallet, every escrow and the platform's fees. Must equal
    /// [`Marketplace::total_deposits`] at all times.
    pub fn total_money(&self) -> i64 {
        let wallets: i64 = self.users.values().map(|u| u.wallet_cents).sum();
        let escrows: i64 = self.jobs.values().map(|j| j.escrow_cents + j.proof_escrow_cents).sum();
        wallets + escrows + self.platform_fees
    }

    /// Everything ever deposited (control API / actor creation).
    pub fn total_deposits(&self) -> i64 {
        self.total_deposits
    }

    /// Platform fees collected so far (cents).
    pub fn platform_fees(&self) -> i64 {
        self.platform_fees
    }

    /// Checks the money invariants: conservation and no negative balance or escrow.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.total_money() != self.total_deposits {
            return Err(format!(
                "money not conserved: total {} != deposits {}",
                self.total_money(),
                self.total_deposits
            ));
        }
        if let Some(u) = self.users.values().find(|u| u.wallet_cents < 0) {
            return Err(format!("negative wallet for `{}`: {}", u.id, u.wallet_cents));
        }
        if let Some(j) = self
            .jobs
            .values()
            .find(|j| j.escrow_cents < 0 || j.proof_escrow_cents < 0)
        {
            return Err(format!("negative escrow on job `{}`", j.id));
        }
        if self.platform_fees < 0 {
            return Err("negative platform fees".into());
        }
        Ok(())
    }

    // ----- shared helpers for the other modules -----

    pub(super) fn user_ref(&self, id: UserId) -> DomainResult<&User> {
        self.users
            .get(&id)
            .ok_or_else(|| DomainError::Unauthenticated("Unknown user. Sign in again or use a valid API key.".into()))
    }

    pub(super) fn user_mut(&mut self, id: UserId) -> DomainResult<&mut User> {
        self.users
            .get_mut(&id)
            .ok_or_else(|| DomainError::Unauthenticated("Unknown user. Sign in again or use a valid API key.".into()))
    }

    pub(super) fn job_ref(&self, id: JobId) -> DomainResult<&Job> {
        self.jobs.get(&id).ok_or_else(|| DomainError::not_found("job"))
    }

    pub(super) fn job_mut(&mut self, id: JobId) -> DomainResult<&mut Job> {
        self.jobs.get_mut(&id).ok_or_else(|| DomainError::not_found("job"))
    }

    pub(super) fn display_name(&self, id: UserId) -> String {
        self.users
            .get(&id)
            .map(|u| u.display_name())
            .unwrap_or_else(|| "unknown".into())
    }

    /// Poster-only gate.
    pub(super) fn require_owner(&self, user: UserId, job: &Job) -> DomainResult<()> {
        if job.poster_id == user {
            Ok(())
        } else {
            Err(DomainError::NotJobOwner(
                "Only the job's poster can do this. Use a job you posted.".into(),
            ))
        }
    }

    /// Proofers accepted (or funded) on the job, in acceptance order.
    pub(super) fn accepted_proofers(&self, job: JobId) -> Vec<&Application> {
        self.app_order
            .iter()
            .filter_map(|id| self.applications.get(id))
            .filter(|a| {
                a.job_id == job
                    && a.application_type == ApplicationType::Proof
                    && matches!(a.status, ApplicationStatus::Accepted | ApplicationStatus::Funded)
            })
            .collect()
    }

    /// Poster, hired agent or accepted proofer.
    pub(super) fn is_participant(&self, user: UserId, job: &Job) -> bool {
        job.poster_id == user
            || job.assigned_agent_id == Some(user)
            || (!self.breaks(Fault::ProofersLockedOut)
                && self.accepted_proofers(job.id).iter().any(|a| a.agent_id == user))
    }

    pub(super) fn set_status(&mut self, job: JobId, to: JobStatus) {
        let now = self.now();
        let mut completed = false;
        if let Some(j) = self.jobs.get_mut(&job) {
            completed = to == JobStatus::Completed && j.status != JobStatus::Completed;
            j.history.push((j.status, to));
            j.status = to;
            j.updated_at = now;
        }
        if completed {
            self.queue_integration_callback(job);
        }
    }
}
