//! Jobs: the resource, its status machine, creation rules, browsing, details and the NDA gate.
//!
//! Money moves elsewhere (`payment.rs`); state changes after hiring are in
//! `lifecycle.rs`. Lookups are by full UUID only.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::application::{ApplicationRow, ApplicationType};
use super::file::DeliverableFile;
use super::input::Fields;
use super::ratelimit::{RateRule, RateSubject};
use super::{ApplicationId, DomainError, DomainResult, Fault, JobId, Marketplace, UserId};

/// The 13 categories of `GET /api/categories`.
pub const CATEGORIES: [&str; 13] = [
    "Research",
    "Coding",
    "Content Writing",
    "Data Analysis",
    "SDR",
    "Lead Generation",
    "Web Scraping",
    "Design",
    "Automation",
    "Social Media",
    "Customer Service",
    "Testing",
    "Other",
];

/// Job status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepting agent applications.
    Open,
    /// Agent accepted, escrow not funded.
    PendingEscrow,
    /// Funded, agent working.
    InProgress,
    /// Delivered (no proof).
    Delivered,
    /// Delivered, waiting for proofers.
    PendingProof,
    /// Dispute filed.
    Disputed,
    /// Approved.
    Completed,
    /// Cancelled before funding.
    Cancelled,
}

impl JobStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [JobStatus; 8] = [
        JobStatus::Open,
        JobStatus::PendingEscrow,
        JobStatus::InProgress,
        JobStatus::Delivered,
        JobStatus::PendingProof,
        JobStatus::Disputed,
        JobStatus::Completed,
        JobStatus::Cancelled,
    ];

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Open => "open",
            JobStatus::PendingEscrow => "pending_escrow",
            JobStatus::InProgress => "in_progress",
            JobStatus::Delivered => "delivered",
            JobStatus::PendingProof => "pending_proof",
            JobStatus::Disputed => "disputed",
            JobStatus::Completed => "completed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Whether `self → to` is a legal transition. `pending_proof → disputed`
    /// happens only under the `statuses` choice (a `rejected` consensus).
    pub fn can_become(self, to: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, to),
            (Open, PendingEscrow)
                | (Open, Cancelled)
                | (PendingEscrow, Cancelled)
                | (PendingEscrow, InProgress)
                | (InProgress, Delivered)
                | (InProgress, PendingProof)
                | (InProgress, Disputed)
                | (Delivered, InProgress)
                | (Delivered, Disputed)
                | (Delivered, Completed)
                | (PendingProof, InProgress)
                | (PendingProof, Completed)
                | (PendingProof, Delivered)
                | (PendingProof, Disputed)
        )
    }
}

/// Payment status of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Nothing funded.
    None,
    /// Escrow held.
    Held,
    /// Approved, in cooldown.
    PendingRelease,
    /// Held by the poster during cooldown.
    OnHold,
    /// Paid out.
    Released,
    /// Returned to the poster.
    Refunded,
}

/// A poster question proofers answer in `custom_answers`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofRequirement {
    /// The question.
    pub question: String,
    /// Whether an answer is required.
    pub required: bool,
}

/// A job. Serialises to the `Job` resource of api-decisions.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// Status.
    pub status: JobStatus,
    /// Cents.
    pub budget_min: i64,
    /// Cents.
    pub budget_max: i64,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Poster.
    pub poster_id: UserId,
    /// Hired agent (null until hired).
    pub assigned_agent_id: Option<UserId>,
    /// Whether proofing is on.
    pub proof_required: bool,
    /// 1..3 when proofing is on, else 0.
    pub proofer_count: u32,
    /// Optional deadline (a date is stored as midnight UTC).
    pub deadline: Option<DateTime<Utc>>,
    /// Tags (≤ 20).
    pub tags: Vec<String>,
    /// Revisions requested so far.
    pub revision_count: u32,
    /// Proof round (starts at 1, +1 per delivery after a revision).
    pub current_round: u32,
    /// Payment status.
    pub payment_status: PaymentStatus,
    /// When the release is due (after approve).
    pub release_scheduled_at: Option<DateTime<Utc>>,
    /// Last deliverable URL.
    pub deliverable_url: Option<String>,
    /// Updated at.
    pub updated_at: DateTime<Utc>,
    /// Poster's proof questions (present only when set at creation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proof_requirements: Vec<ProofRequirement>,
    /// Agent escrow held (cents).
    #[serde(skip)]
    pub escrow_cents: i64,
    /// Proof escrow held (cents).
    #[serde(skip)]
    pub proof_escrow_cents: i64,
    /// The funded price of the hired agent.
    #[serde(skip)]
    pub agent_price: i64,
    /// The accepted agent application.
    #[serde(skip)]
    pub accepted_application_id: Option<ApplicationId>,
    /// Whether the proof escrow was funded.
    #[serde(skip)]
    pub proof_escrow_funded: bool,
    /// Times the agent escrow was funded (must stay ≤ 1).
    #[serde(skip)]
    pub escrow_fund_count: u32,
    /// Second releases scheduled by overlapping approvals (`race_approve` fault only).
    #[serde(skip)]
    pub duplicate_releases: u32,
    /// Whether the poster reviewed.
    #[serde(skip)]
    pub reviewed: bool,
    /// Every status change `(from, to)`.
    #[serde(skip)]
    pub history: Vec<(JobStatus, JobStatus)>,
    /// Delivery message.
    #[serde(skip)]
    pub delivery_message: Option<String>,
    /// Number of deliveries so far.
    #[serde(skip)]
    pub delivery_count: u32,
}

/// Title length bounds (characters).
pub const TITLE_CHARS: std::ops::RangeInclusive<usize> = 1..=200;
/// Description length bounds (characters).
pub const DESCRIPTION_CHARS: std::ops::RangeInclusive<usize> = 20..=10_000;
/// Most tags on a job, and the length of each.
pub const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 50;

/// Reads a deadline: an RFC 3339 date-time, or a date (midnight UTC).
pub fn parse_deadline(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Body of `POST /api/agent/jobs`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewJob {
    /// 1..200 chars.
    pub title: String,
    /// 20..10,000 chars.
    pub description: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// ≥ 100.
    pub budget_min: i64,
    /// ≥ budget_min, ≤ 10,000,000.
    pub budget_max: i64,
    /// Optional.
    pub deadline: Option<DateTime<Utc>>,
    /// ≤ 20, each 1..50 chars.
    pub tags: Vec<String>,
    /// Default false.
    pub proof_required: bool,
    /// Required 1..3 when `proof_required`.
    pub proofer_count: Option<u32>,
    /// Optional questions.
    pub proof_requirements: Vec<ProofRequirement>,
}

impl NewJob {
    /// Reads and checks a JSON body (types, ranges, cross-field rules).
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let title = f.string("title", true, *TITLE_CHARS.start(), *TITLE_CHARS.end());
        let description = f.string(
            "description",
            true,
            *DESCRIPTION_CHARS.start(),
            *DESCRIPTION_CHARS.end(),
        );
        let category = f.one_of("category", true, &CATEGORIES);
        let budget_min = f.int("budget_min", true, 100, 10_000_000);
        let budget_max = f.int("budget_max", true, 100, 10_000_000);
        let deadline = match f.string("deadline", false, 1, 64) {
            None => None,
            Some(d) => {
                let t = parse_deadline(&d);
                if t.is_none() {
                    f.fail("deadline", "must be an ISO date (YYYY-MM-DD) or date-time");
                }
                t
            }
        };
        let tags = f.strings("tags", false, MAX_TAGS);
        if let Some((i, _)) = tags
            .iter()
            .flatten()
            .enumerate()
            .find(|(_, t)| t.is_empty() || t.chars().count() > MAX_TAG_CHARS)
        {
            f.fail(
                &format!("tags[{i}]"),
                format!("must be 1 to {MAX_TAG_CHARS} characters"),
            );
        }
        let proof_required = f.boolean("proof_required", false).unwrap_or(false);
        let proofer_count = f.int("proofer_count", proof_required, if proof_required { 1 } else { 0 }, 3);
        let mut proof_requirements = Vec::new();
        match f.raw("proof_requirements") {
            None => {}
            Some(Value::Array(items)) if items.len() <= 10 => {
                for (i, it) in items.iter().enumerate() {
                    match (it.get("question").and_then(Value::as_str), it.get("required")) {
                        (Some(q), r)
                            if !q.trim().is_empty() && q.chars().count() <= 500 && r.is_none_or(|r| r.is_boolean()) =>
                        {
                            proof_requirements.push(ProofRequirement {
                                question: q.to_string(),
                                required: r.and_then(Value::as_bool).unwrap_or(true),
                            })
                        }
                        _ => f.fail(
                            &format!("proof_requirements[{i}]"),
                            "must be {question: 1 to 500 characters, required: boolean}",
                        ),
                    }
                }
            }
            Some(_) => f.fail(
                "proof_requirements",
                "must be an array of at most 10 {question, required}",
            ),
        }
        if let (Some(lo), Some(hi)) = (budget_min, budget_max)
            && hi < lo
        {
            f.fail("budget_max", "must be ≥ budget_min");
        }
        f.finish()?;
        Ok(NewJob {
            title: title.unwrap_or_default(),
            description: description.unwrap_or_default(),
            category: category.unwrap_or_default(),
            budget_min: budget_min.unwrap_or_default(),
            budget_max: budget_max.unwrap_or_default(),
            deadline,
            tags: tags.unwrap_or_default(),
            proof_required,
            proofer_count: proofer_count.map(|c| c as u32),
            proof_requirements,
        })
    }

    /// Re-checks the rules on an already-typed value (for direct callers).
    pub fn validate(&self) -> DomainResult<()> {
        let mut d = Vec::new();
        let n = self.title.trim().chars().count();
        if !TITLE_CHARS.contains(&n) {
            d.push(super::FieldError::new("title", "must be 1 to 200 characters"));
        }
        if !DESCRIPTION_CHARS.contains(&self.description.trim().chars().count()) {
            d.push(super::FieldError::new("description", "must be 20 to 10000 characters"));
        }
        if !CATEGORIES.contains(&self.category.as_str()) {
            d.push(super::FieldError::new(
                "category",
                format!("must be one of {}", CATEGORIES.join(", ")),
            ));
        }
        if !(100..=10_000_000).contains(&self.budget_min) {
            d.push(super::FieldError::new(
                "budget_min",
                "must be an integer from 100 to 10000000",
            ));
        }
        if self.budget_max < self.budget_min || self.budget_max > 10_000_000 {
            d.push(super::FieldError::new(
                "budget_max",
                "must be ≥ budget_min and ≤ 10000000",
            ));
        }
        if self.tags.len() > MAX_TAGS {
            d.push(super::FieldError::new(
                "tags",
                format!("must have at most {MAX_TAGS} items"),
            ));
        }
        if self.proof_required && !matches!(self.proofer_count, Some(1..=3)) {
            d.push(super::FieldError::new(
                "proofer_count",
                "is required (1 to 3) when proof_required is true",
            ));
        }
        if d.is_empty() {
            Ok(())
        } else {
            Err(DomainError::validation(d))
        }
    }
}

/// Query of `GET /api/agent/jobs/available`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AvailableQuery {
    /// Exact category.
    pub category: Option<String>,
    /// `budget_max ≥ min_budget`.
    pub min_budget: Option<i64>,
    /// `budget_min ≤ max_budget`.
    pub max_budget: Option<i64>,
    /// Case-insensitive text in title or description.
    pub search: Option<String>,
    /// 1..100, default 50.
    pub limit: Option<usize>,
    /// Ignore the caller's specializations (only the `list_all_categories`
    /// fault sets it: a server that breaks the listing rule).
    pub all_categories: bool,
}

/// A job in `jobs/available`: the job plus `match_score` (a decimal string).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailableJob {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// e.g. `"0.85"`.
    pub match_score: String,
}

/// `{jobs, count}` of `jobs/available`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailableJobs {
    /// Newest first.
    pub jobs: Vec<AvailableJob>,
    /// Number returned.
    pub count: usize,
}

/// `{jobs, count}` of `GET /api/agent/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostedJobs {
    /// Newest first.
    pub jobs: Vec<Job>,
    /// Number returned.
    pub count: usize,
}

/// `myApplication` in details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MyApplicationRef {
    /// Id.
    pub id: ApplicationId,
    /// `agent` or `proof`.
    pub application_type: ApplicationType,
    /// Price.
    pub proposed_price: i64,
    /// Status.
    pub status: super::ApplicationStatus,
    /// Cover message.
    pub message: String,
    /// Free text, e.g. `1 day`.
    pub estimated_delivery: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// `GET /api/agent/jobs/{id}/details`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobDetails {
    /// The job.
    pub job: Job,
    /// Caller is the poster.
    #[serde(rename = "isOwner")]
    pub is_owner: bool,
    /// Caller is the hired agent.
    #[serde(rename = "isAssigned")]
    pub is_assigned: bool,
    /// Caller is an accepted proofer.
    #[serde(rename = "isProofer")]
    pub is_proofer: bool,
    /// Poster only (each row with its applicant summary `agents`), else null.
    pub applications: Option<Vec<ApplicationRow>>,
    /// The caller's latest application, or null.
    #[serde(rename = "myApplication")]
    pub my_application: Option<MyApplicationRef>,
    /// Deliverables with a signed `download_url` (null without access or files).
    pub deliverable_files: Option<Vec<DeliverableFile>>,
}

/// Answer of `POST /api/jobs/{id}/nda`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NdaAck {
    /// Always true.
    pub success: bool,
    /// Always true.
    pub accepted: bool,
    /// First acknowledgment time (unchanged on repeats).
    pub accepted_at: DateTime<Utc>,
}

/// Answer of `GET /api/jobs/{id}/nda`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NdaStatus {
    /// Whether acknowledged (always true for the poster).
    pub accepted: bool,
    /// When, or null.
    pub accepted_at: Option<DateTime<Utc>>,
}

impl Marketplace {
    /// Posts a job (`open`) and sends `job.available` to every other user whose
    /// specializations contain the category.
    pub fn create_job(&mut self, poster: UserId, input: NewJob) -> DomainResult<Job> {
        self.tick();
        self.user_ref(poster)?;
        input.validate()?;
        if !self.breaks(Fault::PostingUnlimited) {
            self.check_rate(RateRule::JobPosting, RateSubject::User(poster), None)?;
        }
        let now = self.now();
        let job = Job {
            id: Uuid::new_v4(),
            title: input.title,
            description: input.description,
            category: input.category,
            status: JobStatus::Open,
            budget_min: input.budget_min,
            budget_max: input.budget_max,
            created_at: now,
            poster_id: poster,
            assigned_agent_id: None,
            proof_required: input.proof_required,
            proofer_count: if input.proof_required {
                input.proofer_count.unwrap_or(1)
            } else {
                0
            },
            deadline: input.deadline,
            tags: input.tags,
            revision_count: 0,
            current_round: 1,
            payment_status: PaymentStatus::None,
            release_scheduled_at: None,
            deliverable_url: None,
            updated_at: now,
            proof_requirements: input.proof_requirements,
            escrow_cents: 0,
            proof_escrow_cents: 0,
            agent_price: 0,
            accepted_application_id: None,
            proof_escrow_funded: false,
            escrow_fund_count: 0,
            duplicate_releases: 0,
            reviewed: false,
            history: Vec::new(),
            delivery_message: None,
            delivery_count: 0,
        };
        let id = job.id;
        self.jobs.insert(id, job.clone());
        self.job_order.push(id);
        let mut recipients: Vec<UserId> = self
            .users
            .values()
            .filter(|u| u.id != poster && u.specializations().contains(&job.category))
            .map(|u| u.id)
            .collect();
        recipients.sort();
        for r in recipients {
            self.emit(
                r,
                "job.available",
                id,
                json!({"title": job.title, "category": job.category, "budget_min": job.budget_min, "budget_max": job.budget_max}),
            );
        }
        Ok(job)
    }

    /// A job by id (no access rule; for the HTTP layer and tests).
    pub fn get_job(&self, job: JobId) -> DomainResult<Job> {
        self.job_ref(job).cloned()
    }

    /// Open jobs in the caller's specializations, not its own, newest first.
    pub fn list_available(&mut self, user: UserId, q: AvailableQuery) -> DomainResult<AvailableJobs> {
        self.tick();
        let specs: Vec<String> = if q.all_categories {
            CATEGORIES.map(String::from).to_vec()
        } else {
            self.user_ref(user)?.specializations().to_vec()
        };
        if let Some(l) = q.limit
            && !(1..=100).contains(&l)
        {
            return Err(DomainError::invalid_field("limit", "must be an integer from 1 to 100"));
        }
        let limit = q.limit.unwrap_or(50);
        let search = q.search.as_ref().map(|s| s.to_lowercase());
        let jobs: Vec<AvailableJob> = self
            .job_order
            .iter()
            .rev()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| j.status == JobStatus::Open && j.poster_id != user && specs.contains(&j.category))
            .filter(|j| q.category.as_ref().is_none_or(|c| &j.category == c))
            .filter(|j| q.min_budget.is_none_or(|m| j.budget_max >= m))
            .filter(|j| q.max_budget.is_none_or(|m| j.budget_min <= m))
            .filter(|j| {
                search
                    .as_ref()
                    .is_none_or(|s| j.title.to_lowercase().contains(s) || j.description.to_lowercase().contains(s))
            })
            .take(limit)
            .map(|j| AvailableJob {
                job: j.clone(),
                match_score: match_score(j, &specs, search.as_deref()),
            })
            .collect();
        Ok(AvailableJobs {
            count: jobs.len(),
            jobs,
        })
    }

    /// Jobs the caller posted, newest first, optionally only those in
    /// `status`; `limit` 1..100 (default 50).
    pub fn list_posted(
        &mut self,
        user: UserId,
        status: Option<JobStatus>,
        limit: Option<usize>,
    ) -> DomainResult<PostedJobs> {
        self.tick();
        self.user_ref(user)?;
        if let Some(l) = limit
            && !(1..=100).contains(&l)
        {
            return Err(DomainError::invalid_field("limit", "must be an integer from 1 to 100"));
        }
        let jobs: Vec<Job> = self
            .job_order
            .iter()
            .rev()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| j.poster_id == user && status.is_none_or(|s| j.status == s))
            .take(limit.unwrap_or(50))
            .cloned()
            .collect();
        Ok(PostedJobs {
            count: jobs.len(),
            jobs,
        })
    }

    /// The job whose id begins with an 8-hex-digit REF code, if exactly one
    /// does. The API never resolves REF codes (they are not ids); only the
    /// `refs_resolve` fault uses this.
    pub fn find_job_by_ref(&self, code: &str) -> Option<JobId> {
        if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let code = code.to_ascii_lowercase();
        let mut hits = self
            .job_order
            .iter()
            .filter(|id| id.simple().to_string().starts_with(&code));
        match (hits.next(), hits.next()) {
            (Some(id), None) => Some(*id),
            _ => None,
        }
    }

    /// The NDA gate: the poster is exempt on its own job, everyone else needs an
    /// acknowledgment (`ACKNOWLEDGMENT_REQUIRED`). `NOT_FOUND` for unknown jobs.
    pub fn require_nda(&self, user: UserId, job: JobId) -> DomainResult<()> {
        let j = self.job_ref(job)?;
        if j.poster_id == user || self.ndas.contains_key(&(user, job)) {
            Ok(())
        } else {
            Err(DomainError::AcknowledgmentRequired(format!(
                "Acknowledge the job's data-privacy terms first: POST /api/jobs/{job}/nda, then retry."
            )))
        }
    }

    /// Acknowledges the NDA (idempotent; keeps the first time).
    pub fn acknowledge_nda(&mut self, user: UserId, job: JobId) -> DomainResult<NdaAck> {
        self.tick();
        self.user_ref(user)?;
        self.job_ref(job)?;
        let now = self.now();
        if self.racing(Fault::RaceNda, job) && self.ndas.contains_key(&(user, job)) {
            // The fault: check-then-insert; the overlapping second insert
            // hits the unique key the first one just wrote.
            return Err(DomainError::InvalidState(
                "duplicate key value violates unique constraint \"nda_acknowledgments_pkey\"".into(),
            ));
        }
        let at = *self.ndas.entry((user, job)).or_insert(now);
        Ok(NdaAck {
            success: true,
            accepted: true,
            accepted_at: at,
        })
    }

    /// Whether the caller acknowledged the NDA (the poster counts as accepted,
    /// with `accepted_at` null unless it acknowledged explicitly).
    pub fn nda_status(&mut self, user: UserId, job: JobId) -> DomainResult<NdaStatus> {
        self.tick();
        let j = self.job_ref(job)?;
        match self.ndas.get(&(user, job)) {
            Some(at) => Ok(NdaStatus {
                accepted: true,
                accepted_at: Some(*at),
            }),
            // The poster is exempt: accepted, with no time unless it acknowledged explicitly.
            None if j.poster_id == user => Ok(NdaStatus {
                accepted: true,
                accepted_at: None,
            }),
            None => Ok(NdaStatus {
                accepted: false,
                accepted_at: None,
            }),
        }
    }

    /// Job details by the caller's role (NDA needed unless poster).
    pub fn job_details(&mut self, user: UserId, job: JobId) -> DomainResult<JobDetails> {
        self.tick();
        self.user_ref(user)?;
        self.require_nda(user, job)?;
        let j = self.job_ref(job)?.clone();
        let is_owner = j.poster_id == user;
        let is_assigned = j.assigned_agent_id == Some(user);
        let is_proofer =
            !self.breaks(Fault::ProofersLockedOut) && self.accepted_proofers(job).iter().any(|a| a.agent_id == user);
        let applications = is_owner.then(|| {
            self.job_applications(job)
                .into_iter()
                .map(|a| self.application_row(a))
                .collect()
        });
        let my_application = self
            .app_order
            .iter()
            .rev()
            .filter_map(|id| self.applications.get(id))
            .find(|a| a.job_id == job && a.agent_id == user)
            .map(|a| MyApplicationRef {
                id: a.id,
                application_type: a.application_type,
                proposed_price: a.proposed_price,
                status: a.status,
                message: a.message.clone(),
                estimated_delivery: a.estimated_delivery.clone(),
                created_at: a.created_at,
            });
        let deliverable_files = if is_owner || is_assigned || is_proofer {
            let files = self.deliverable_files_with_links(job);
            (!files.is_empty()).then_some(files)
        } else {
            None
        };
        Ok(JobDetails {
            job: j,
            is_owner,
            is_assigned,
            is_proofer,
            applications,
            my_application,
            deliverable_files,
        })
    }
}

/// 0.85 for a category match, +0.10 when the search text is in the title, +0.05 with tags; two decimals.
fn match_score(job: &Job, specs: &[String], search: Option<&str>) -> String {
    let mut score: f64 = if specs.contains(&job.category) { 0.85 } else { 0.5 };
    if let Some(s) = search
        && job.title.to_lowercase().contains(s)
    {
        score += 0.1;
    }
    if !job.tags.is_empty() {
        score += 0.05;
    }
    format!("{:.2}", score.min(1.0))
}
