//! Verdicts: validation of the scorecard and legacy formats, storage, consensus.
//!
//! Consensus is the majority of a round's assignments (2 of 3, 2 of 2, 1 of 1)
//! with the same verdict; when everyone voted without a majority it is
//! `needs_revision`. Consensus never changes the job status by itself.
//! Under the `alternatives` choice there is no consensus before every
//! assigned proofer voted (HELP); under `statuses` a `needs_revision`
//! consensus sends the job back to `in_progress` and a `rejected` one makes
//! it `disputed`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::choice::{Choice, approved_unreleased};
use super::input::Fields;
use super::{DomainError, DomainResult, Fault, JobId, JobStatus, Marketplace, UserId};

/// The five scorecard sections.
pub const SECTIONS: [&str; 5] = ["completeness", "accuracy", "methodology", "quality", "summary"];
/// Allowed `revision_items[].category`.
pub const REVISION_CATEGORIES: [&str; 6] = [
    "completeness",
    "accuracy",
    "methodology",
    "quality",
    "formatting",
    "other",
];
/// Allowed `revision_items[].priority`.
pub const PRIORITIES: [&str; 3] = ["high", "medium", "low"];

/// A proofer's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Good to pay.
    Approved,
    /// Not acceptable.
    Rejected,
    /// Fix and redeliver.
    NeedsRevision,
}

impl Verdict {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            "needs_revision" => Some(Self::NeedsRevision),
            _ => None,
        }
    }
}

/// The outcome of a round.
pub type Consensus = Verdict;

/// A structured fix request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionItem {
    /// One of [`REVISION_CATEGORIES`].
    pub category: String,
    /// ≥ 10 chars.
    pub description: String,
    /// high|medium|low.
    pub priority: String,
}

/// A submitted verdict (the full record; views hide parts of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proof {
    /// Id.
    pub id: Uuid,
    /// Job.
    pub job_id: JobId,
    /// Round.
    pub round: u32,
    /// The assignment it answers.
    pub assignment_id: Uuid,
    /// Proofer.
    pub proofer_agent_id: UserId,
    /// Proofer's name.
    pub proofer_name: String,
    /// Verdict.
    pub verdict: Verdict,
    /// 1..100 (scorecard: mean rating × 20).
    pub score: i64,
    /// Legacy feedback, or the summary section's comments.
    pub feedback: String,
    /// The scorecard as sent (sections only), or null for legacy.
    pub scorecard: Option<Value>,
    /// Evidence (scorecard format).
    pub evidence_summary: Option<String>,
    /// Answers to the poster's questions.
    pub custom_answers: Vec<Value>,
    /// Fix list.
    pub revision_items: Vec<RevisionItem>,
    /// Coaching for the agent (hidden from the poster; absent when hidden).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_feedback: Option<String>,
    /// `scorecard` or `legacy`.
    pub format: &'static str,
    /// Submitted at.
    pub created_at: DateTime<Utc>,
}

/// Answer of `POST /api/jobs/{id}/proof`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictResult {
    /// Always true.
    pub success: bool,
    /// The stored proof.
    pub proof: Proof,
    /// The round's consensus so far, or null.
    pub consensus: Option<Consensus>,
}

/// The checked content of a verdict body.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedVerdict {
    /// Verdict.
    pub verdict: Verdict,
    /// Score.
    pub score: i64,
    /// Feedback.
    pub feedback: String,
    /// Scorecard.
    pub scorecard: Option<Value>,
    /// Evidence.
    pub evidence_summary: Option<String>,
    /// Answers.
    pub custom_answers: Vec<Value>,
    /// Items.
    pub revision_items: Vec<RevisionItem>,
    /// Coaching.
    pub agent_feedback: Option<String>,
}

fn revision_items(f: &mut Fields<'_>) -> Vec<RevisionItem> {
    let mut out = Vec::new();
    match f.raw("revision_items") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                let mut g = Fields::nested(it, &f.name(&format!("revision_items[{i}]")));
                if !it.is_object() {
                    f.fail(
                        &format!("revision_items[{i}]"),
                        "must be {category, description, priority}",
                    );
                    continue;
                }
                let c = g.one_of("category", true, &REVISION_CATEGORIES);
                let d = g.string("description", true, 10, 2000);
                let p = g.one_of("priority", true, &PRIORITIES);
                f.details.append(&mut g.details);
                if let (Some(category), Some(description), Some(priority)) = (c, d, p) {
                    out.push(RevisionItem {
                        category,
                        description,
                        priority,
                    });
                }
            }
        }
        Some(_) => f.fail(
            "revision_items",
            "must be an array of {category, description, priority}",
        ),
    }
    out
}

/// Checks a verdict body (scorecard or legacy format) and lists every problem.
pub fn parse_verdict(body: &Value) -> DomainResult<ParsedVerdict> {
    let mut f = Fields::new(body);
    let verdict = f
        .one_of("verdict", true, &["approved", "rejected", "needs_revision"])
        .and_then(|v| Verdict::parse(&v));
    let legacy = f.raw("scorecard").is_none()
        && f.raw("evidence_summary").is_none()
        && (f.raw("feedback").is_some() || f.raw("score").is_some());
    let items = revision_items(&mut f);
    let agent_feedback = f.string("agent_feedback", false, 0, 2000);
    let mut out = ParsedVerdict {
        verdict: verdict.unwrap_or(Verdict::Approved),
        score: 0,
        feedback: String::new(),
        scorecard: None,
        evidence_summary: None,
        custom_answers: Vec::new(),
        revision_items: items,
        agent_feedback,
    };
    if legacy {
        out.feedback = f.string("feedback", true, 10, 10_000).unwrap_or_default();
        out.score = f.int("score", true, 1, 100).unwrap_or_default();
    } else {
        let mut sum = 0;
        match f.raw("scorecard") {
            None => f.fail(
                "scorecard",
                "is required (sections completeness, accuracy, methodology, quality, summary)",
            ),
            Some(sc) if !sc.is_object() => f.fail("scorecard", "must be an object with the five sections"),
            Some(sc) => {
                let mut clean = serde_json::Map::new();
                for s in SECTIONS {
                    match sc.get(s) {
                        None | Some(Value::Null) => f.fail(
                            &format!("scorecard.{s}"),
                            "is required ({rating 1..5, comments ≥ 50 chars})",
                        ),
                        Some(sec) if !sec.is_object() => {
                            f.fail(&format!("scorecard.{s}"), "must be {rating, comments}")
                        }
                        Some(sec) => {
                            let mut g = Fields::nested(sec, &format!("scorecard.{s}"));
                            let r = g.int("rating", true, 1, 5);
                            let c = g.string("comments", true, 50, 5000);
                            f.details.append(&mut g.details);
                            if let (Some(r), Some(c)) = (r, c) {
                                sum += r;
                                if s == "summary" {
                                    out.feedback = c.clone();
                                }
                                clean.insert(s.into(), serde_json::json!({"rating": r, "comments": c}));
                            }
                        }
                    }
                }
                out.scorecard = Some(Value::Object(clean));
            }
        }
        out.score = sum * 4;
        out.evidence_summary = f.string("evidence_summary", true, 200, 20_000);
        match f.raw("custom_answers") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, it) in items.iter().enumerate() {
                    let mut g = Fields::nested(it, &format!("custom_answers[{i}]"));
                    if !it.is_object() {
                        f.fail(&format!("custom_answers[{i}]"), "must be {question, rating, answer}");
                        continue;
                    }
                    let q = g.string("question", true, 1, 1000);
                    let r = g.int("rating", true, 1, 5);
                    let a = g.string("answer", true, 1, 5000);
                    f.details.append(&mut g.details);
                    if let (Some(q), Some(r), Some(a)) = (q, r, a) {
                        out.custom_answers
                            .push(serde_json::json!({"question": q, "rating": r, "answer": a}));
                    }
                }
            }
            Some(_) => f.fail("custom_answers", "must be an array of {question, rating, answer}"),
        }
        if verdict == Some(Verdict::NeedsRevision)
            && out.revision_items.is_empty()
            && f.raw("revision_items")
                .is_none_or(|v| v.as_array().is_some_and(|a| a.is_empty()))
        {
            f.fail(
                "revision_items",
                "needs at least one item when the verdict is needs_revision",
            );
        }
    }
    f.finish()?;
    Ok(out)
}

impl Marketplace {
    /// The consensus of a round, or `None` while undecided.
    pub fn consensus(&self, job: JobId, round: u32) -> Option<Consensus> {
        let n = self
            .assignments
            .iter()
            .filter(|a| a.job_id == job && a.round == round && a.status != "cancelled")
            .count();
        if n == 0 {
            return None;
        }
        let votes: Vec<Verdict> = self
            .proofs
            .iter()
            .filter(|p| p.job_id == job && p.round == round)
            .map(|p| p.verdict)
            .collect();
        if self.chooses(Choice::Alternatives) && votes.len() < n {
            return None;
        }
        let need = n / 2 + 1;
        for v in [Verdict::Approved, Verdict::Rejected, Verdict::NeedsRevision] {
            if votes.iter().filter(|x| **x == v).count() >= need {
                return Some(v);
            }
        }
        (votes.len() >= n).then_some(Verdict::NeedsRevision)
    }

    /// Submits an assigned proofer's verdict for the current round.
    pub fn submit_verdict(&mut self, proofer: UserId, job: JobId, body: &Value) -> DomainResult<VerdictResult> {
        self.tick();
        self.user_ref(proofer)?;
        self.require_nda(proofer, job)?;
        let j = self.job_ref(job)?.clone();
        let not_assigned =
            || DomainError::NotAssignedProofer("Only a proofer assigned to this job can submit a verdict.".into());
        if !self
            .assignments
            .iter()
            .any(|a| a.job_id == job && a.proofer_agent_id == proofer && a.status != "cancelled")
        {
            return Err(not_assigned());
        }
        if j.status != JobStatus::PendingProof || approved_unreleased(&j) {
            return Err(DomainError::invalid_state("submit a verdict", j.status.as_str()));
        }
        if self.breaks(Fault::CustomAnswersRefused) && body.get("custom_answers").is_some() {
            return Err(DomainError::invalid_field("custom_answers", "is not a known field"));
        }
        let round = j.current_round;
        let idx = self
            .assignments
            .iter()
            .position(|a| {
                a.job_id == job && a.round == round && a.proofer_agent_id == proofer && a.status != "cancelled"
            })
            .ok_or_else(not_assigned)?;
        // `race_verdict`: an overlapping second verdict read the assignment before the first completed it.
        if self.assignments[idx].status == "completed" && !self.racing(Fault::RaceVerdict, job) {
            return Err(DomainError::VerdictAlreadySubmitted(
                "You already submitted a verdict for this round.".into(),
            ));
        }
        let before = self.consensus(job, round);
        let v = parse_verdict(body)?;
        let now = self.now();
        let a = &mut self.assignments[idx];
        a.status = "completed".into();
        a.submitted_at = Some(now);
        let proof = Proof {
            id: Uuid::new_v4(),
            job_id: job,
            round,
            assignment_id: a.id,
            proofer_agent_id: proofer,
            proofer_name: a.proofer_name.clone(),
            verdict: v.verdict,
            score: v.score,
            feedback: v.feedback,
            scorecard: v.scorecard,
            evidence_summary: v.evidence_summary,
            custom_answers: v.custom_answers,
            revision_items: v.revision_items,
            agent_feedback: v.agent_feedback,
            format: if body.get("scorecard").is_some()
                || body.get("evidence_summary").is_some()
                || (body.get("feedback").is_none() && body.get("score").is_none())
            {
                "scorecard"
            } else {
                "legacy"
            },
            created_at: now,
        };
        self.proofs.push(proof.clone());
        let consensus = self.consensus(job, round);
        if before.is_none()
            && let Some(c) = consensus
        {
            let name = serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let text = format!("Proofers reached a consensus on \"{}\": {name}", j.title);
            self.notify(
                j.poster_id,
                "proof.consensus",
                "Proof consensus".into(),
                text.clone(),
                job,
            );
            if let Some(agent) = j.assigned_agent_id {
                self.notify(agent, "proof.consensus", "Proof consensus".into(), text, job);
            }
            if self.chooses(Choice::Statuses) {
                match c {
                    Verdict::NeedsRevision => self.set_status(job, JobStatus::InProgress),
                    Verdict::Rejected => self.set_status(job, JobStatus::Disputed),
                    Verdict::Approved => {}
                }
            }
        }
        Ok(VerdictResult {
            success: true,
            proof,
            consensus,
        })
    }
}
