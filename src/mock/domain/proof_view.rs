//! What each viewer sees of a job's proofing (blind review), and the agent's improvement trends.
//!
//! Views follow the table of api-decisions.md: the poster sees everything but
//! `agent_feedback`; a proofer who has not voted sees only its own assignment;
//! a proofer who voted sees everything but other proofers' `agent_feedback`;
//! the hired agent sees counts before consensus and everything after.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::application::ApplicationType;
use super::verdict::{Consensus, Proof, SECTIONS, Verdict};
use super::{ApplicationId, DomainError, DomainResult, Fault, JobId, Marketplace, UserId};

/// A proofer's assignment for one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Id (`assignment_id` in `proof.assigned`).
    pub id: Uuid,
    /// Job.
    pub job_id: JobId,
    /// The funded proof application behind it.
    pub application_id: ApplicationId,
    /// Round.
    pub round: u32,
    /// Proofer.
    pub proofer_agent_id: UserId,
    /// Name.
    pub proofer_name: String,
    /// `assigned`, `completed` or `cancelled` (cancelled ones are never shown).
    pub status: String,
    /// The funded bid (cents).
    #[serde(skip)]
    pub bid_cents: i64,
    /// Assigned at.
    pub assigned_at: DateTime<Utc>,
    /// Verdict time (null until the proofer submits).
    pub submitted_at: Option<DateTime<Utc>>,
}

/// An assignment as shown in `GET /proofs` (the stored record).
pub type AssignmentView = Assignment;
/// A proof as shown in `GET /proofs` (`agent_feedback` absent when hidden).
pub type ProofView = Proof;

/// `{approved, needs_revision, rejected}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    /// Approved.
    pub approved: usize,
    /// Needs revision.
    pub needs_revision: usize,
    /// Rejected.
    pub rejected: usize,
}

/// `summary` of `GET /proofs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofSummary {
    /// Assignments in the round.
    pub total_assigned: usize,
    /// Verdicts in the round (null when blind).
    pub total_submitted: Option<usize>,
    /// Null when blind.
    pub verdict_counts: Option<VerdictCounts>,
    /// Mean score rounded (null when blind or no verdicts).
    pub avg_score: Option<i64>,
    /// Every assignment voted.
    pub complete: bool,
}

/// `GET /api/jobs/{id}/proofs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofsView {
    /// Proofing on.
    pub proof_required: bool,
    /// Round shown.
    pub current_round: u32,
    /// `poster`, `proofer_pending`, `proofer_submitted` or `agent`.
    pub viewer_role: &'static str,
    /// True for `proofer_pending`.
    pub blind_review_active: bool,
    /// The round's consensus (null when undecided or hidden).
    pub consensus: Option<Consensus>,
    /// Counts.
    pub summary: ProofSummary,
    /// Assignments visible to the viewer.
    pub assignments: Vec<AssignmentView>,
    /// Verdicts visible to the viewer.
    pub proofs: Vec<ProofView>,
    /// The hired agent, named to proofers only by the `agent_shown_to_proofers` fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<serde_json::Value>,
}

/// One point of the score trend: the verdicts of one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The UTC day.
    pub date: NaiveDate,
    /// Mean score of the day's verdicts, two decimals.
    pub avg_score: f64,
    /// Verdicts that day (≥ 1).
    pub count: usize,
}

/// A recurring revision category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionIssue {
    /// Category.
    pub category: String,
    /// Items in it.
    pub count: usize,
    /// Of which high priority.
    pub high_priority: usize,
}

/// Recent proofer feedback for the agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackItem {
    /// Job.
    pub job_id: JobId,
    /// The job's title.
    pub job_title: String,
    /// Round.
    pub round: u32,
    /// Verdict.
    pub verdict: Verdict,
    /// Score.
    pub score: i64,
    /// Coaching text (or null).
    pub agent_feedback: Option<String>,
    /// Fix list.
    pub revision_items: Vec<super::RevisionItem>,
    /// When the verdict was submitted.
    pub created_at: DateTime<Utc>,
}

/// `GET /api/agent/improvement-trends`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImprovementTrends {
    /// 30, 90 or 365.
    pub period_days: i64,
    /// Verdicts counted in the period.
    pub proofs_received: usize,
    /// Mean score, two decimals (null without proofs).
    pub average_score: Option<f64>,
    /// One point per UTC day with verdicts, oldest first.
    pub score_trend: Vec<TrendPoint>,
    /// Mean rating per scorecard section (null without scorecards).
    pub section_averages: BTreeMap<String, Option<f64>>,
    /// Verdicts counted, by verdict.
    pub verdict_counts: VerdictCounts,
    /// Most frequent first.
    pub common_revision_issues: Vec<RevisionIssue>,
    /// Newest first, at most 10.
    pub recent_feedback: Vec<FeedbackItem>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Marketplace {
    /// The proofing view for the caller's role (`NOT_PARTICIPANT` for outsiders).
    pub fn proofs_view(&mut self, user: UserId, job: JobId) -> DomainResult<ProofsView> {
        self.tick();
        self.user_ref(user)?;
        let j = self.job_ref(job)?.clone();
        let round = j.current_round;
        let assignments: Vec<Assignment> = self
            .assignments
            .iter()
            .filter(|a| a.job_id == job && a.round == round && a.status != "cancelled")
            .cloned()
            .collect();
        let proofs: Vec<Proof> = self
            .proofs
            .iter()
            .filter(|p| p.job_id == job && p.round == round)
            .cloned()
            .collect();
        let consensus = self.consensus(job, round);
        let counts = VerdictCounts {
            approved: proofs.iter().filter(|p| p.verdict == Verdict::Approved).count(),
            needs_revision: proofs.iter().filter(|p| p.verdict == Verdict::NeedsRevision).count(),
            rejected: proofs.iter().filter(|p| p.verdict == Verdict::Rejected).count(),
        };
        let avg = (!proofs.is_empty())
            .then(|| (proofs.iter().map(|p| p.score).sum::<i64>() as f64 / proofs.len() as f64).round() as i64);
        let complete = !assignments.is_empty() && proofs.len() >= assignments.len();
        let full = ProofSummary {
            total_assigned: assignments.len(),
            total_submitted: Some(proofs.len()),
            verdict_counts: Some(counts),
            avg_score: avg,
            complete,
        };
        let is_proofer = assignments.iter().any(|a| a.proofer_agent_id == user)
            || self.accepted_proofers(job).iter().any(|a| a.agent_id == user)
            || (self.has_application(user, job, ApplicationType::Proof)
                && self
                    .assignments
                    .iter()
                    .any(|a| a.job_id == job && a.proofer_agent_id == user));
        let view = |role, blind, consensus, summary, assignments, proofs| ProofsView {
            proof_required: j.proof_required,
            current_round: round,
            viewer_role: role,
            blind_review_active: blind,
            consensus,
            summary,
            assignments,
            proofs,
            agent: None,
        };
        // The `agent_shown_to_proofers` fault: proofers learn who did the work.
        let shown_agent = self
            .breaks(Fault::AgentShownToProofers)
            .then_some(j.assigned_agent_id)
            .flatten()
            .map(|a| {
                let name = self.users.get(&a).and_then(|u| u.name.clone());
                serde_json::json!({"agent_id": a, "agent_name": name})
            });
        if j.poster_id == user {
            let proofs = proofs.into_iter().map(|mut p| {
                p.agent_feedback = None;
                p
            });
            return Ok(view("poster", false, consensus, full, assignments, proofs.collect()));
        }
        if j.assigned_agent_id == Some(user) {
            if consensus.is_some() {
                return Ok(view("agent", false, consensus, full, assignments, proofs));
            }
            let summary = ProofSummary {
                verdict_counts: None,
                avg_score: None,
                complete: false,
                ..full
            };
            return Ok(view("agent", false, None, summary, Vec::new(), Vec::new()));
        }
        if is_proofer {
            if proofs.iter().any(|p| p.proofer_agent_id == user) {
                let proofs = proofs.into_iter().map(|mut p| {
                    if p.proofer_agent_id != user {
                        p.agent_feedback = None;
                    }
                    p
                });
                let mut v = view(
                    "proofer_submitted",
                    false,
                    consensus,
                    full,
                    assignments,
                    proofs.collect(),
                );
                v.agent = shown_agent;
                return Ok(v);
            }
            let own: Vec<Assignment> = assignments.into_iter().filter(|a| a.proofer_agent_id == user).collect();
            let summary = ProofSummary {
                total_assigned: full.total_assigned,
                total_submitted: None,
                verdict_counts: None,
                avg_score: None,
                complete: false,
            };
            let mut v = view("proofer_pending", true, None, summary, own, Vec::new());
            v.agent = shown_agent;
            return Ok(v);
        }
        Err(DomainError::NotParticipant(
            "Only the poster, the hired agent and this job's proofers can see its proofs.".into(),
        ))
    }

    /// The agent's proof-score trends over the last `period` days (30, 90 or 365),
    /// from verdicts on its jobs whose round reached consensus.
    pub fn improvement_trends(&mut self, agent: UserId, period: i64) -> DomainResult<ImprovementTrends> {
        self.tick();
        self.user_ref(agent)?;
        if ![30, 90, 365].contains(&period) {
            return Err(DomainError::invalid_field("period", "must be 30, 90 or 365"));
        }
        let since = self.now() - Duration::days(period);
        let mut proofs: Vec<&Proof> = self
            .proofs
            .iter()
            .filter(|p| p.created_at >= since)
            .filter(|p| {
                self.jobs
                    .get(&p.job_id)
                    .is_some_and(|j| j.assigned_agent_id == Some(agent))
            })
            .filter(|p| self.consensus(p.job_id, p.round).is_some())
            .collect();
        proofs.sort_by_key(|p| p.created_at);
        let average_score = (!proofs.is_empty())
            .then(|| round2(proofs.iter().map(|p| p.score).sum::<i64>() as f64 / proofs.len() as f64));
        let mut section_averages = BTreeMap::new();
        for s in SECTIONS {
            let ratings: Vec<f64> = proofs
                .iter()
                .filter_map(|p| p.scorecard.as_ref()?.get(s)?.get("rating")?.as_f64())
                .collect();
            let avg = (!ratings.is_empty()).then(|| round2(ratings.iter().sum::<f64>() / ratings.len() as f64));
            section_averages.insert(s.to_string(), avg);
        }
        let mut issues: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for p in &proofs {
            for it in &p.revision_items {
                let e = issues.entry(it.category.clone()).or_default();
                e.0 += 1;
                if it.priority == "high" {
                    e.1 += 1;
                }
            }
        }
        let mut common_revision_issues: Vec<RevisionIssue> = issues
            .into_iter()
            .map(|(category, (count, high_priority))| RevisionIssue {
                category,
                count,
                high_priority,
            })
            .collect();
        common_revision_issues.sort_by(|a, b| b.count.cmp(&a.count).then(a.category.cmp(&b.category)));
        let mut days: BTreeMap<NaiveDate, (i64, usize)> = BTreeMap::new();
        for p in &proofs {
            let day = days.entry(p.created_at.date_naive()).or_default();
            day.0 += p.score;
            day.1 += 1;
        }
        let score_trend = days
            .into_iter()
            .map(|(date, (sum, count))| TrendPoint {
                date,
                avg_score: round2(sum as f64 / count as f64),
                count,
            })
            .collect();
        let count = |v: Verdict| proofs.iter().filter(|p| p.verdict == v).count();
        let verdict_counts = VerdictCounts {
            approved: count(Verdict::Approved),
            needs_revision: count(Verdict::NeedsRevision),
            rejected: count(Verdict::Rejected),
        };
        let title = |job: JobId| self.jobs.get(&job).map(|j| j.title.clone()).unwrap_or_default();
        Ok(ImprovementTrends {
            period_days: period,
            proofs_received: proofs.len(),
            average_score,
            score_trend,
            section_averages,
            verdict_counts,
            common_revision_issues,
            recent_feedback: proofs
                .iter()
                .rev()
                .take(10)
                .map(|p| FeedbackItem {
                    job_id: p.job_id,
                    job_title: title(p.job_id),
                    round: p.round,
                    verdict: p.verdict,
                    score: p.score,
                    agent_feedback: p.agent_feedback.clone(),
                    revision_items: p.revision_items.clone(),
                    created_at: p.created_at,
                })
                .collect(),
        })
    }
}
