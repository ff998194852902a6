//! Applications: agent and proof applications, listing them, and hiring an agent.
//!
//! One endpoint applies both ways: an `open` job takes agent applications, a
//! `pending_proof` job takes proof applications. Accepting proofers lives in
//! `proof.rs`; funding in `payment.rs`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::choice::{Choice, approved_unreleased};
use super::input::Fields;
use super::ratelimit::{RateRule, RateSubject};
use super::{ApplicationId, DomainError, DomainResult, Fault, JobId, JobStatus, Marketplace, Tier, UserId};

/// `agent` or `proof`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationType {
    /// To do the job.
    Agent,
    /// To proof the delivery.
    Proof,
}

/// Application status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationStatus {
    /// Waiting.
    Pending,
    /// Accepted, not funded.
    Accepted,
    /// Escrow funded.
    Funded,
    /// Rejected (another was funded, or the job was cancelled).
    Rejected,
}

impl ApplicationStatus {
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "funded" => Some(Self::Funded),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Funded => "funded",
            Self::Rejected => "rejected",
        }
    }
}

/// The `Application` resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    /// Id.
    pub id: ApplicationId,
    /// Job.
    pub job_id: JobId,
    /// Applicant (agent or proofer).
    pub agent_id: UserId,
    /// `agent` or `proof`.
    pub application_type: ApplicationType,
    /// Cents (a proofer's bid for proof applications).
    pub proposed_price: i64,
    /// Cover message.
    pub message: String,
    /// Free text, e.g. `1 day`.
    pub estimated_delivery: String,
    /// Status.
    pub status: ApplicationStatus,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Proof round it was made in (agent applications: 1).
    #[serde(skip)]
    pub round: u32,
}

/// Body of `POST /api/jobs/{id}/apply`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApplyInput {
    /// ≥ 10 chars.
    pub message: String,
    /// 1..10,000,000 cents.
    pub proposed_price: i64,
    /// Non-empty.
    pub estimated_delivery: String,
}

impl ApplyInput {
    /// Reads and checks a JSON body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let message = f.string("message", true, 10, 5000);
        let proposed_price = f.int("proposed_price", true, 1, 10_000_000);
        let estimated_delivery = f.string("estimated_delivery", true, 1, 100);
        f.finish()?;
        Ok(ApplyInput {
            message: message.unwrap_or_default(),
            proposed_price: proposed_price.unwrap_or_default(),
            estimated_delivery: estimated_delivery.unwrap_or_default(),
        })
    }

    fn validate(&self) -> DomainResult<()> {
        let mut d = Vec::new();
        if self.message.trim().chars().count() < 10 {
            d.push(super::FieldError::new("message", "must be at least 10 characters"));
        }
        if !(1..=10_000_000).contains(&self.proposed_price) {
            d.push(super::FieldError::new(
                "proposed_price",
                "must be an integer from 1 to 10000000",
            ));
        }
        if self.estimated_delivery.trim().is_empty() {
            d.push(super::FieldError::new("estimated_delivery", "is required"));
        }
        if d.is_empty() {
            Ok(())
        } else {
            Err(DomainError::validation(d))
        }
    }
}

/// `agents` block on an application row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSummary {
    /// Id.
    pub id: UserId,
    /// Name.
    pub name: String,
    /// Mean review rating (two decimals); null without reviews.
    pub rating: Option<f64>,
    /// Reviews.
    pub total_reviews: u32,
    /// Completed jobs.
    pub completed_jobs: u32,
    /// Tier.
    pub tier: Tier,
}

/// One row of `GET /api/agent/jobs/{id}/applications`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationRow {
    /// The application.
    #[serde(flatten)]
    pub application: Application,
    /// The applicant.
    pub agents: AgentSummary,
}

/// `{jobId, jobTitle, applications, count}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationList {
    /// Job.
    #[serde(rename = "jobId")]
    pub job_id: JobId,
    /// Title.
    #[serde(rename = "jobTitle")]
    pub job_title: String,
    /// Oldest first.
    pub applications: Vec<ApplicationRow>,
    /// Count.
    pub count: usize,
}

/// Job summary on `my applications` rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MyApplicationJob {
    /// Id.
    pub id: JobId,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Status.
    pub status: JobStatus,
}

/// One row of `GET /api/agent/applications`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MyApplication {
    /// Id.
    pub id: ApplicationId,
    /// Job.
    pub job_id: JobId,
    /// The applicant (the caller).
    pub agent_id: UserId,
    /// Cover message.
    pub message: String,
    /// `agent` or `proof`.
    pub application_type: ApplicationType,
    /// Status.
    pub status: ApplicationStatus,
    /// Cents.
    pub proposed_price: i64,
    /// Free text.
    pub estimated_delivery: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// The job.
    pub job: MyApplicationJob,
}

/// Counts over all of the caller's applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyApplicationCounts {
    /// All.
    pub total: usize,
    /// Pending.
    pub pending: usize,
    /// Accepted.
    pub accepted: usize,
    /// Funded.
    pub funded: usize,
    /// Rejected.
    pub rejected: usize,
}

/// `{applications, counts}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MyApplications {
    /// Newest first.
    pub applications: Vec<MyApplication>,
    /// Counts (ignoring the filter and limit).
    pub counts: MyApplicationCounts,
}

impl Marketplace {
    pub(super) fn job_applications(&self, job: JobId) -> Vec<Application> {
        self.app_order
            .iter()
            .filter_map(|id| self.applications.get(id))
            .filter(|a| a.job_id == job)
            .cloned()
            .collect()
    }

    /// An application with its applicant summary (`agents`), as the poster sees it.
    pub(super) fn application_row(&self, a: Application) -> ApplicationRow {
        let u = self.users.get(&a.agent_id);
        let agents = AgentSummary {
            id: a.agent_id,
            name: self.display_name(a.agent_id),
            rating: u.and_then(|u| u.rating_view()),
            total_reviews: u.map(|u| u.total_reviews).unwrap_or(0),
            completed_jobs: u.map(|u| u.completed_jobs).unwrap_or(0),
            tier: u.map(|u| u.tier).unwrap_or_default(),
        };
        ApplicationRow { application: a, agents }
    }

    pub(super) fn application_of(&self, job: JobId, id: ApplicationId) -> DomainResult<Application> {
        self.applications
            .get(&id)
            .filter(|a| a.job_id == job)
            .cloned()
            .ok_or_else(|| DomainError::not_found("application"))
    }

    pub(super) fn set_application_status(&mut self, id: ApplicationId, status: ApplicationStatus) {
        let Some(a) = self.applications.get_mut(&id) else {
            return;
        };
        a.status = status;
        let (recipient, job, ty) = (a.agent_id, a.job_id, a.application_type);
        self.emit(
            recipient,
            "application.update",
            job,
            json!({"application_id": id, "status": status.as_str(), "application_type": ty}),
        );
    }

    /// Applies to a job: an agent application while `open`, a proof application
    /// while `pending_proof`. Order of checks: email, own job, NDA, state,
    /// duplicate, proof rules, rate limit (only successful applications count).
    pub fn apply(&mut self, user: UserId, job: JobId, input: ApplyInput) -> DomainResult<Application> {
        self.tick();
        let u = self.user_ref(user)?.clone();
        let j = self.job_ref(job)?.clone();
        if !u.email_verified {
            return Err(DomainError::EmailNotVerified(
                "Verify your email before applying (follow the link sent to your inbox).".into(),
            ));
        }
        if j.poster_id == user {
            return Err(DomainError::CannotApplyOwnJob(
                "You cannot apply to a job you posted.".into(),
            ));
        }
        self.require_nda(user, job)?;
        input.validate()?;
        let ty = match j.status {
            JobStatus::Open => ApplicationType::Agent,
            JobStatus::PendingProof if approved_unreleased(&j) => {
                return Err(DomainError::InvalidState(
                    "This job was approved; it takes no more proof applications.".into(),
                ));
            }
            JobStatus::PendingProof => ApplicationType::Proof,
            s => return Err(DomainError::invalid_state("apply", s.as_str())),
        };
        let duplicate = self.job_applications(job).into_iter().any(|a| {
            a.agent_id == user
                && a.application_type == ty
                && (ty == ApplicationType::Agent
                    || a.round == j.current_round
                    || a.status != ApplicationStatus::Rejected)
        });
        if duplicate {
            return Err(DomainError::AlreadyApplied(
                "You already applied to this job. Check it with GET /api/agent/applications.".into(),
            ));
        }
        if ty == ApplicationType::Proof {
            if j.assigned_agent_id == Some(user) {
                return Err(DomainError::ConflictOfInterest(
                    "The hired agent cannot proof its own delivery.".into(),
                ));
            }
            if !u.proofer_categories.contains(&j.category) {
                return Err(DomainError::ProoferNotRegistered(format!(
                    "You are not registered to proof `{}`. Register with POST /api/agent/proofs/register.",
                    j.category
                )));
            }
            if input.proposed_price * 2 > j.budget_max && !self.breaks(Fault::ProoferBidUncapped) {
                return Err(DomainError::invalid_field(
                    "proposed_price",
                    &format!(
                        "a proofer's bid must be at most 50% of budget_max ({})",
                        j.budget_max / 2
                    ),
                ));
            }
        }
        let now = self.now();
        if !self.breaks(Fault::ApplicationsUnlimited) {
            self.check_rate(RateRule::Applications, RateSubject::User(user), None)?;
        }
        let app = Application {
            id: Uuid::new_v4(),
            job_id: job,
            agent_id: user,
            application_type: ty,
            proposed_price: input.proposed_price,
            message: input.message,
            estimated_delivery: input.estimated_delivery,
            status: ApplicationStatus::Pending,
            created_at: now,
            round: j.current_round,
        };
        self.applications.insert(app.id, app.clone());
        self.app_order.push(app.id);
        Ok(app)
    }

    /// Applications on the caller's job (`NOT_JOB_OWNER` otherwise), oldest first.
    pub fn list_applications(&mut self, poster: UserId, job: JobId) -> DomainResult<ApplicationList> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        let applications: Vec<ApplicationRow> = self
            .job_applications(job)
            .into_iter()
            .map(|a| self.application_row(a))
            .collect();
        Ok(ApplicationList {
            job_id: job,
            job_title: j.title,
            count: applications.len(),
            applications,
        })
    }

    /// The caller's applications, newest first, optionally filtered; limit 1..100 (default 50).
    pub fn my_applications(
        &mut self,
        user: UserId,
        status: Option<ApplicationStatus>,
        limit: Option<usize>,
    ) -> DomainResult<MyApplications> {
        self.tick();
        self.user_ref(user)?;
        let mine: Vec<&Application> = self
            .app_order
            .iter()
            .rev()
            .filter_map(|id| self.applications.get(id))
            .filter(|a| a.agent_id == user)
            .collect();
        let count = |s| mine.iter().filter(|a| a.status == s).count();
        let counts = MyApplicationCounts {
            total: mine.len(),
            pending: count(ApplicationStatus::Pending),
            accepted: count(ApplicationStatus::Accepted),
            funded: count(ApplicationStatus::Funded),
            rejected: count(ApplicationStatus::Rejected),
        };
        let applications = mine
            .iter()
            .filter(|a| status.is_none_or(|s| a.status == s))
            .take(limit.unwrap_or(50).clamp(1, 100))
            .filter_map(|a| {
                let j = self.jobs.get(&a.job_id)?;
                Some(MyApplication {
                    id: a.id,
                    job_id: a.job_id,
                    agent_id: a.agent_id,
                    message: a.message.clone(),
                    application_type: a.application_type,
                    status: a.status,
                    proposed_price: a.proposed_price,
                    estimated_delivery: a.estimated_delivery.clone(),
                    created_at: a.created_at,
                    job: MyApplicationJob {
                        id: j.id,
                        title: j.title.clone(),
                        category: j.category.clone(),
                        status: j.status,
                    },
                })
            })
            .collect();
        Ok(MyApplications { applications, counts })
    }

    /// Hires an agent: job `open` → `pending_escrow`, application `accepted`,
    /// `assigned_agent_id` set, `application.update` to the applicant. The
    /// other pending agent applications stay `pending` (funding rejects
    /// them); under the `reject_others_on_hire` choice they are `rejected`
    /// here, each with its `application.update`.
    pub fn accept_application(
        &mut self,
        poster: UserId,
        job: JobId,
        application: ApplicationId,
    ) -> DomainResult<Application> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        let a = self.application_of(job, application)?;
        if a.application_type != ApplicationType::Agent {
            return Err(DomainError::WrongApplicationType(
                "This is a proof application. Accept it with POST /api/jobs/{id}/accept-proofer.".into(),
            ));
        }
        // Under `race_accept_application`, an overlapping second hire read
        // the application and the job before the first one wrote them.
        let racing = self.racing(Fault::RaceAcceptApplication, job);
        if a.status != ApplicationStatus::Pending && !racing {
            return Err(DomainError::ApplicationNotPending(format!(
                "This application is already `{}`.",
                a.status.as_str()
            )));
        }
        if j.status != JobStatus::Open && !racing {
            return Err(DomainError::invalid_state("accept an application", j.status.as_str()));
        }
        self.set_status(job, JobStatus::PendingEscrow);
        let jm = self.job_mut(job)?;
        jm.assigned_agent_id = Some(a.agent_id);
        jm.accepted_application_id = Some(a.id);
        self.set_application_status(a.id, ApplicationStatus::Accepted);
        if self.chooses(Choice::RejectOthersOnHire) {
            let others: Vec<ApplicationId> = self
                .job_applications(job)
                .into_iter()
                .filter(|o| o.application_type == ApplicationType::Agent && o.status == ApplicationStatus::Pending)
                .map(|o| o.id)
                .collect();
            for o in others {
                self.set_application_status(o, ApplicationStatus::Rejected);
            }
        }
        Ok(self.applications[&a.id].clone())
    }
}
