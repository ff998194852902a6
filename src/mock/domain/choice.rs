//! Choices the marketplace can make differently where the AgentGigs docs are
//! silent or contradict each other, so tests can prove that the scenario
//! library never fails a faithful server that chose otherwise.
//!
//! Unlike a [`Fault`](super::Fault), a choice breaks no documented rule: each
//! swaps the reference server's own decision (docs/api-decisions.md) for
//! another one the docs allow. Every choice is off unless switched on with
//! [`Marketplace::set_choices`]. Choices that only change the HTTP shape of
//! answers (status codes, field names, framing) live in the HTTP layer; the
//! `alternatives` choice has parts on both sides.

use std::collections::BTreeSet;

use super::{Job, JobStatus, Marketplace, PaymentStatus, Tier, UserId};

/// A decision of the reference server the marketplace can make the other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Choice {
    /// `alternatives`: the other documented version where the docs conflict
    /// (api-facts §9). In the rules: consensus only once every accepted
    /// proofer voted (HELP); proof settings editable only in
    /// `open`/`pending_escrow` (HELP, `canModify`); 3 revision rounds for
    /// free and pro agents, 5 for enterprise (REFUND); proofers keep their
    /// whole bid (docs fee box); file limits by the uploader's tier (docs
    /// rate table); no `agent_name` in `proof-needed` (docs scorecard
    /// section); a 14-day release cooldown for agents whose account is
    /// younger than 30 days (REFUND).
    Alternatives,
    /// `statuses`: an approved job keeps its status (`delivered` or
    /// `pending_proof`) until the payment is released, then becomes
    /// `completed`; a `needs_revision` consensus sends the job back to
    /// `in_progress`; a `rejected` consensus makes it `disputed`.
    Statuses,
    /// `fixed_window_limits`: rate limits count in fixed windows aligned on
    /// the server clock's minutes and hours instead of sliding windows.
    FixedWindowLimits,
    /// `reject_others_on_hire`: accept-application rejects the job's other
    /// pending agent applications at once instead of at funding.
    RejectOthersOnHire,
}

impl Choice {
    /// Every domain choice.
    pub const ALL: [Choice; 4] = [
        Choice::Alternatives,
        Choice::Statuses,
        Choice::FixedWindowLimits,
        Choice::RejectOthersOnHire,
    ];

    /// The name used in `MockConfig::choices`.
    pub fn name(self) -> &'static str {
        match self {
            Choice::Alternatives => "alternatives",
            Choice::Statuses => "statuses",
            Choice::FixedWindowLimits => "fixed_window_limits",
            Choice::RejectOthersOnHire => "reject_others_on_hire",
        }
    }

    /// The choice of a name, if it is (also) a domain choice.
    pub fn parse(name: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Age below which an account's payments wait the long cooldown under `alternatives`.
pub const YOUNG_ACCOUNT_DAYS: i64 = 30;
/// The long release cooldown of young accounts under `alternatives` (14 calendar days,
/// the "10 business days" of REFUND).
pub const YOUNG_ACCOUNT_COOLDOWN_HOURS: i64 = 14 * 24;

impl Marketplace {
    /// Switches the given choices on (and every other one off).
    pub fn set_choices(&mut self, choices: impl IntoIterator<Item = Choice>) {
        self.choices = choices.into_iter().collect::<BTreeSet<_>>();
        self.limiter
            .set_fixed_windows(self.choices.contains(&Choice::FixedWindowLimits));
    }

    /// Whether the marketplace makes `choice` the other way.
    pub fn chooses(&self, choice: Choice) -> bool {
        self.choices.contains(&choice)
    }

    /// How many revisions a job allows: 3 (api-decisions), or under
    /// `alternatives` 3 for free and pro agents and 5 for enterprise (REFUND).
    pub(super) fn revision_limit(&self, job: &Job) -> u32 {
        if !self.chooses(Choice::Alternatives) {
            return super::MAX_REVISIONS;
        }
        match job.assigned_agent_id.map(|a| self.user_tier(a)) {
            Some(Tier::Enterprise) => 5,
            _ => 3,
        }
    }

    /// Hours between approve and release: 24, or under `alternatives` 14
    /// days when the hired agent's account is younger than 30 days.
    pub(super) fn release_cooldown_hours(&self, agent: Option<UserId>) -> i64 {
        let young = agent
            .and_then(|a| self.users.get(&a))
            .is_some_and(|u| (self.now() - u.created_at).num_days() < YOUNG_ACCOUNT_DAYS);
        if self.chooses(Choice::Alternatives) && young {
            YOUNG_ACCOUNT_COOLDOWN_HOURS
        } else {
            super::RELEASE_COOLDOWN_HOURS
        }
    }

    /// Largest file a user may upload: 50 MB, or under `alternatives`
    /// 10/50/200 MB by the uploader's tier (docs rate table).
    pub fn max_file_bytes(&self, user: UserId) -> usize {
        const MB: usize = 1024 * 1024;
        if !self.chooses(Choice::Alternatives) {
            return super::file::MAX_FILE_BYTES;
        }
        match self.user_tier(user) {
            Tier::Free => 10 * MB,
            Tier::Pro => 50 * MB,
            Tier::Enterprise => 200 * MB,
        }
    }

    /// Most deliverable files per job: 20, or under `alternatives`
    /// 20/50/100 by the uploader's tier (docs rate table).
    pub(super) fn max_deliverables(&self, user: UserId) -> usize {
        if !self.chooses(Choice::Alternatives) {
            return super::file::MAX_DELIVERABLES;
        }
        match self.user_tier(user) {
            Tier::Free => 20,
            Tier::Pro => 50,
            Tier::Enterprise => 100,
        }
    }
}

/// Whether a job was approved and its payment not yet released while it
/// still shows `delivered`/`pending_proof` (only under `statuses`; by default
/// an approved job is `completed` at once). Actions of a delivered job are
/// then refused as they are on a `completed` one.
pub(super) fn approved_unreleased(job: &Job) -> bool {
    matches!(job.status, JobStatus::Delivered | JobStatus::PendingProof)
        && matches!(
            job.payment_status,
            PaymentStatus::PendingRelease | PaymentStatus::OnHold | PaymentStatus::Released
        )
}
