//! Proofing set-up: the proof-needed feed, accepting proofers into slots, and proof settings.
//!
//! Funding the proof escrow is in `payment.rs`, verdicts and consensus in
//! `verdict.rs`, the blind-review views in `proof_view.rs`.

use serde::Serialize;
use serde_json::Value;

use super::application::{ApplicationStatus, ApplicationType};
use super::choice::{Choice, approved_unreleased};
use super::fault::Fault;
use super::input::Fields;
use super::{ApplicationId, DomainError, DomainResult, JobId, JobStatus, Marketplace, UserId};

/// One job in `GET /api/jobs/proof-needed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofNeededJob {
    /// Id.
    pub id: JobId,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// The hired agent's name (there is always one in `pending_proof`).
    /// Absent under `alternatives`: the docs' scorecard section hides the
    /// agent's identity from proofers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Budget min (cents).
    pub budget_min: i64,
    /// Budget max (a bid may be at most half of it).
    pub budget_max: i64,
    /// Current round.
    pub current_round: u32,
    /// `proofer_count`.
    pub slots_total: u32,
    /// Accepted proofers.
    pub slots_filled: u32,
    /// `slots_total - slots_filled`.
    pub slots_available: u32,
    /// Proof applications in the current round.
    pub applications: usize,
    /// Whether the caller applied in the current round.
    pub already_applied: bool,
}

/// `{jobs, count, registered_categories}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofNeeded {
    /// Oldest first.
    pub jobs: Vec<ProofNeededJob>,
    /// Count.
    pub count: usize,
    /// The caller's proofer categories.
    pub registered_categories: Vec<String>,
}

/// Answer of `accept-proofer`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotsResult {
    /// Always true.
    pub success: bool,
    /// Sentence.
    pub message: String,
    /// Accepted proofers.
    pub slots_filled: u32,
    /// `proofer_count`.
    pub slots_total: u32,
    /// `slots_filled == slots_total`.
    pub all_filled: bool,
}

/// `GET /api/jobs/{id}/proof-settings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofSettings {
    /// Proofing on.
    pub proof_required: bool,
    /// Slots.
    pub proofer_count: u32,
    /// Job status.
    pub status: JobStatus,
    /// True only in `open`/`pending_escrow`.
    #[serde(rename = "canModify")]
    pub can_modify: bool,
}

/// Body of `PATCH /api/jobs/{id}/proof-settings`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProofSettingsPatch {
    /// Required.
    pub proof_required: bool,
    /// 0..3; required (1..3) when `proof_required`.
    pub proofer_count: Option<u32>,
}

impl ProofSettingsPatch {
    /// Reads and checks a JSON body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let proof_required = f.boolean("proof_required", true);
        let on = proof_required.unwrap_or(false);
        let proofer_count = f.int("proofer_count", on, if on { 1 } else { 0 }, 3);
        f.finish()?;
        Ok(ProofSettingsPatch {
            proof_required: on,
            proofer_count: proofer_count.map(|c| c as u32),
        })
    }
}

impl Marketplace {
    /// Jobs in `pending_proof` in the caller's registered categories (not its own
    /// jobs, not jobs it was hired for, not jobs whose proof escrow is funded).
    pub fn proof_needed(&mut self, user: UserId) -> DomainResult<ProofNeeded> {
        self.tick();
        let cats = self.user_ref(user)?.proofer_categories.clone();
        let hide_agent = self.chooses(Choice::Alternatives);
        let jobs: Vec<ProofNeededJob> = self
            .job_order
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| j.status == JobStatus::PendingProof && cats.contains(&j.category))
            .filter(|j| j.poster_id != user && j.assigned_agent_id != Some(user) && !j.proof_escrow_funded)
            .filter(|j| !approved_unreleased(j))
            .map(|j| {
                let filled = self.accepted_proofers(j.id).len() as u32;
                let apps: Vec<_> = self
                    .applications
                    .values()
                    .filter(|a| {
                        a.job_id == j.id && a.application_type == ApplicationType::Proof && a.round == j.current_round
                    })
                    .collect();
                ProofNeededJob {
                    id: j.id,
                    title: j.title.clone(),
                    category: j.category.clone(),
                    agent_name: j
                        .assigned_agent_id
                        .filter(|_| !hide_agent)
                        .map(|a| self.display_name(a)),
                    budget_min: j.budget_min,
                    budget_max: j.budget_max,
                    current_round: j.current_round,
                    slots_total: j.proofer_count,
                    slots_filled: filled,
                    slots_available: j.proofer_count.saturating_sub(filled),
                    applications: apps.len(),
                    already_applied: self.applications.values().any(|a| {
                        a.job_id == j.id
                            && a.agent_id == user
                            && a.application_type == ApplicationType::Proof
                            && (a.round == j.current_round || a.status != ApplicationStatus::Rejected)
                    }),
                }
            })
            .collect();
        Ok(ProofNeeded {
            count: jobs.len(),
            jobs,
            registered_categories: cats,
        })
    }

    /// Accepts a proof application into a slot (job `pending_proof`; `SLOTS_FULL`
    /// beyond `proofer_count`).
    pub fn accept_proofer(
        &mut self,
        poster: UserId,
        job: JobId,
        application: ApplicationId,
    ) -> DomainResult<SlotsResult> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        let a = self.application_of(job, application)?;
        if a.application_type != ApplicationType::Proof {
            return Err(DomainError::WrongApplicationType(
                "This is an agent application. Hire agents with POST /api/agent/jobs/{id}/accept-application.".into(),
            ));
        }
        if j.status != JobStatus::PendingProof || approved_unreleased(&j) {
            return Err(DomainError::invalid_state("accept a proofer", j.status.as_str()));
        }
        if a.status != ApplicationStatus::Pending {
            return Err(DomainError::ApplicationNotPending(format!(
                "This application is already `{}`.",
                a.status.as_str()
            )));
        }
        if a.agent_id == j.poster_id || Some(a.agent_id) == j.assigned_agent_id {
            return Err(DomainError::ConflictOfInterest(
                "This proofer has a conflict of interest with the job.".into(),
            ));
        }
        let filled = self.accepted_proofers(job).len() as u32;
        // `race_accept_proofer`: overlapping accepts all counted the slots before either wrote.
        if filled >= j.proofer_count
            && !self.breaks(Fault::SlotsUnbounded)
            && !self.racing(Fault::RaceAcceptProofer, job)
        {
            return Err(DomainError::SlotsFull("All proofer slots are filled".into()));
        }
        self.set_application_status(a.id, ApplicationStatus::Accepted);
        let filled = filled + 1;
        let all = filled >= j.proofer_count;
        Ok(SlotsResult {
            success: true,
            message: if all {
                "Proofer accepted; all slots are filled. Fund them with POST /api/jobs/{id}/fund-proof-escrow.".into()
            } else {
                format!(
                    "Proofer accepted; {} slot(s) left.",
                    j.proofer_count.saturating_sub(filled)
                )
            },
            slots_filled: filled,
            slots_total: j.proofer_count,
            all_filled: all,
        })
    }

    /// The job's proof settings (poster only).
    pub fn proof_settings(&mut self, poster: UserId, job: JobId) -> DomainResult<ProofSettings> {
        self.tick();
        let j = self.job_ref(job)?;
        self.require_owner(poster, j)?;
        Ok(ProofSettings {
            proof_required: j.proof_required,
            proofer_count: j.proofer_count,
            status: j.status,
            can_modify: matches!(j.status, JobStatus::Open | JobStatus::PendingEscrow),
        })
    }

    /// Changes proof settings: anything in `open`/`pending_escrow`; in
    /// `pending_proof` only lowering `proofer_count` (not below the accepted
    /// count) or turning proof off (job → `delivered`, proofers released and the
    /// proof escrow refunded); otherwise `PROOF_SETTINGS_LOCKED`. Under
    /// `alternatives` nothing changes in `pending_proof` either (HELP, `canModify`).
    pub fn update_proof_settings(
        &mut self,
        poster: UserId,
        job: JobId,
        patch: ProofSettingsPatch,
    ) -> DomainResult<ProofSettings> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        let count = patch.proofer_count;
        if patch.proof_required && !matches!(count, Some(1..=3)) {
            return Err(DomainError::invalid_field(
                "proofer_count",
                "is required (1 to 3) when proof_required is true",
            ));
        }
        match j.status {
            JobStatus::Open | JobStatus::PendingEscrow => {
                let jm = self.job_mut(job)?;
                jm.proof_required = patch.proof_required;
                jm.proofer_count = if patch.proof_required { count.unwrap_or(1) } else { 0 };
            }
            JobStatus::PendingProof if self.chooses(Choice::Alternatives) || approved_unreleased(&j) => {
                return Err(DomainError::ProofSettingsLocked(
                    "Proof settings can change only while the job is `open` or `pending_escrow`. Use approve with override_proof instead.".into(),
                ));
            }
            JobStatus::PendingProof if !patch.proof_required => self.turn_proof_off(job)?,
            JobStatus::PendingProof => {
                let c = count.unwrap_or(j.proofer_count);
                let accepted = self.accepted_proofers(job).len() as u32;
                if c > j.proofer_count {
                    return Err(DomainError::ProofSettingsLocked(
                        "While proofing is under way proofer_count can only be lowered.".into(),
                    ));
                }
                if c < accepted && !self.breaks(Fault::SettingsBelowAccepted) {
                    return Err(DomainError::ProofSettingsLocked(format!(
                        "proofer_count cannot go below the {accepted} proofer(s) already accepted."
                    )));
                }
                self.job_mut(job)?.proofer_count = c;
            }
            s => {
                return Err(DomainError::ProofSettingsLocked(format!(
                    "Proof settings cannot change while the job is `{}`. Use approve with override_proof instead.",
                    s.as_str()
                )));
            }
        }
        let now = self.now();
        self.job_mut(job)?.updated_at = now;
        self.proof_settings(poster, job)
    }

    fn turn_proof_off(&mut self, job: JobId) -> DomainResult<()> {
        let j = self.job_ref(job)?.clone();
        let apps: Vec<(ApplicationId, ApplicationStatus)> = self
            .job_applications(job)
            .into_iter()
            .filter(|a| a.application_type == ApplicationType::Proof && a.status != ApplicationStatus::Rejected)
            .map(|a| (a.id, a.status))
            .collect();
        for (id, _) in &apps {
            self.set_application_status(*id, ApplicationStatus::Rejected);
        }
        let refund = j.proof_escrow_cents;
        self.user_mut(j.poster_id)?.wallet_cents += refund;
        for a in self
            .assignments
            .iter_mut()
            .filter(|a| a.job_id == job && a.status == "assigned")
        {
            a.status = "cancelled".into();
        }
        let jm = self.job_mut(job)?;
        jm.proof_escrow_cents = 0;
        jm.proof_escrow_funded = false;
        jm.proof_required = false;
        jm.proofer_count = 0;
        self.set_status(job, JobStatus::Delivered);
        Ok(())
    }
}
