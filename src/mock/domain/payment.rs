//! Money movements: agent escrow, proof escrow, approve, hold, and the release tick.
//!
//! Every cent moves between a wallet, a job's escrows and the platform's fees,
//! so `total_money() == total_deposits()` always holds. Card payments are
//! simulated (a `clientSecret` is returned and nothing is funded).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::application::{ApplicationStatus, ApplicationType};
use super::choice::{Choice, approved_unreleased};
use super::fault::Fault;
use super::lifecycle::ActionOk;
use super::money::{agent_commission, card_service_fee, format_cents, proofer_fee};
use super::proof_view::Assignment;
use super::verdict::Consensus;
use super::{ApplicationId, DomainError, DomainResult, JobId, JobStatus, Marketplace, PaymentStatus, UserId};

/// Answer of `fund-escrow`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FundResult {
    /// True when funded from the wallet; false on the card path (pending).
    pub success: bool,
    /// `pi_...`.
    #[serde(rename = "paymentIntentId")]
    pub payment_intent_id: String,
    /// `wallet` or `card`.
    #[serde(rename = "fundedFrom")]
    pub funded_from: &'static str,
    /// Cents charged (wallet: the price; card: price + 5.5% + 50).
    #[serde(rename = "totalCharge")]
    pub total_charge: i64,
    /// Card path only: the Stripe.js secret.
    #[serde(rename = "clientSecret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Answer of `fund-proof-escrow`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProofFundResult {
    /// Always true.
    pub success: bool,
    /// Sum of the accepted bids (cents).
    #[serde(rename = "totalProofFee")]
    pub total_proof_fee: i64,
    /// Always `wallet`.
    pub method: &'static str,
    /// Assignments created for the current round.
    pub assignments_created: usize,
}

/// Answer of `approve`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApproveResult {
    /// Always true.
    pub success: bool,
    /// now + the cooldown.
    #[serde(rename = "releaseScheduledAt")]
    pub release_scheduled_at: DateTime<Utc>,
    /// 24 (under `alternatives`, 336 for an agent account younger than 30 days).
    #[serde(rename = "cooldownHours")]
    pub cooldown_hours: i64,
}

pub(super) fn intent_id() -> String {
    format!("pi_{}", &Uuid::new_v4().simple().to_string()[..24])
}

impl Marketplace {
    fn require_verified(&self, user: UserId) -> DomainResult<()> {
        if self.user_ref(user)?.email_verified {
            Ok(())
        } else {
            Err(DomainError::EmailNotVerified(
                "Verify your email before funding escrow.".into(),
            ))
        }
    }

    pub(super) fn debit(&mut self, user: UserId, cents: i64) -> DomainResult<()> {
        let u = self.user_mut(user)?;
        if u.wallet_cents < cents {
            return Err(DomainError::InsufficientBalance {
                message: format!(
                    "Your wallet has {} but {} is needed. Add funds in the browser, then retry.",
                    format_cents(u.wallet_cents),
                    format_cents(cents)
                ),
                balance: u.wallet_cents,
                required_cents: cents,
            });
        }
        u.wallet_cents -= cents;
        Ok(())
    }

    /// Funds the hired agent's escrow. Wallet path: debits the accepted price,
    /// job → `in_progress`, application `funded`, other pending agent
    /// applications `rejected`. Card path: returns a `clientSecret`, funds nothing.
    pub fn fund_escrow(
        &mut self,
        poster: UserId,
        job: JobId,
        application: ApplicationId,
        use_wallet: bool,
    ) -> DomainResult<FundResult> {
        let (app, price) = self.check_fundable(poster, job, application)?;
        if !use_wallet {
            return Ok(FundResult {
                success: false,
                payment_intent_id: intent_id(),
                funded_from: "card",
                total_charge: price + card_service_fee(price),
                client_secret: (!self.breaks(Fault::CardWithoutClientSecret))
                    .then(|| format!("{}_secret_{}", intent_id(), Uuid::new_v4().simple())),
            });
        }
        self.debit(poster, price)?;
        self.escrow_funded(job, app, price)?;
        Ok(FundResult {
            success: true,
            payment_intent_id: intent_id(),
            funded_from: "wallet",
            total_charge: price,
            client_secret: None,
        })
    }

    /// The checks before funding the agent escrow (owner, rate limits,
    /// verified email, the accepted agent application, `pending_escrow`);
    /// returns the application and its price.
    pub(super) fn check_fundable(
        &mut self,
        poster: UserId,
        job: JobId,
        application: ApplicationId,
    ) -> DomainResult<(ApplicationId, i64)> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        self.check_fund_rate(poster, job)?;
        self.require_verified(poster)?;
        let a = self.application_of(job, application)?;
        if a.application_type != ApplicationType::Agent {
            return Err(DomainError::WrongApplicationType(
                "Fund proofers with POST /api/jobs/{id}/fund-proof-escrow.".into(),
            ));
        }
        // Under `race_fund_escrow`, an overlapping second funding read the
        // state before the first one wrote it.
        let racing = self.racing(Fault::RaceFundEscrow, job);
        if j.status != JobStatus::PendingEscrow && !racing {
            return Err(DomainError::invalid_state("fund escrow", j.status.as_str()));
        }
        if j.accepted_application_id != Some(a.id) || (a.status != ApplicationStatus::Accepted && !racing) {
            return Err(DomainError::InvalidState(
                "This application is not the accepted one. Fund the application you accepted.".into(),
            ));
        }
        Ok((a.id, a.proposed_price))
    }

    /// Puts `price` (already taken from the poster) in the job's escrow: job
    /// → `in_progress`, application `funded`, other pending agent
    /// applications `rejected`.
    pub(super) fn escrow_funded(&mut self, job: JobId, app: ApplicationId, price: i64) -> DomainResult<()> {
        let jm = self.job_mut(job)?;
        jm.escrow_cents += price;
        jm.agent_price = price;
        jm.escrow_fund_count += 1;
        jm.payment_status = PaymentStatus::Held;
        self.set_status(job, JobStatus::InProgress);
        if self.breaks(Fault::NoFundedUpdate) {
            if let Some(x) = self.applications.get_mut(&app) {
                x.status = ApplicationStatus::Funded;
            }
        } else {
            self.set_application_status(app, ApplicationStatus::Funded);
        }
        let others: Vec<ApplicationId> = self
            .job_applications(job)
            .into_iter()
            .filter(|o| o.application_type == ApplicationType::Agent && o.status == ApplicationStatus::Pending)
            .map(|o| o.id)
            .collect();
        for o in others {
            self.set_application_status(o, ApplicationStatus::Rejected);
        }
        Ok(())
    }

    /// Funds every accepted proofer's bid from the wallet in one go, creates the
    /// current round's assignments and sends `proof.assigned`.
    pub fn fund_proof_escrow(&mut self, poster: UserId, job: JobId) -> DomainResult<ProofFundResult> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        self.check_fund_rate(poster, job)?;
        self.require_verified(poster)?;
        let unguarded = self.breaks(Fault::ProofEscrowUnguarded) && self.accepted_proofers(job).is_empty();
        if unguarded {
            return Ok(ProofFundResult {
                success: true,
                total_proof_fee: 0,
                method: "wallet",
                assignments_created: 0,
            });
        }
        if j.status != JobStatus::PendingProof || approved_unreleased(&j) {
            return Err(DomainError::invalid_state("fund proof escrow", j.status.as_str()));
        }
        if j.proof_escrow_funded {
            return Err(DomainError::InvalidState(
                "The proof escrow is already funded for this job.".into(),
            ));
        }
        let accepted: Vec<(ApplicationId, UserId, i64)> = self
            .accepted_proofers(job)
            .iter()
            .map(|a| (a.id, a.agent_id, a.proposed_price))
            .collect();
        let (n, required) = (accepted.len() as u32, j.proofer_count);
        if n != required || n == 0 {
            return Err(DomainError::ProoferCountMismatch {
                message: format!(
                    "This job requires {required} proofer(s) but only {n} have been accepted. Accept more proofers or lower proofer_count with PATCH /api/jobs/{job}/proof-settings."
                ),
                accepted: n,
                required,
            });
        }
        let total: i64 = accepted.iter().map(|a| a.2).sum();
        self.debit(poster, total)?;
        let jm = self.job_mut(job)?;
        jm.proof_escrow_cents += total;
        jm.proof_escrow_funded = true;
        for (id, _, _) in &accepted {
            self.set_application_status(*id, ApplicationStatus::Funded);
        }
        let created = self.assign_round(job);
        Ok(ProofFundResult {
            success: true,
            total_proof_fee: total,
            method: "wallet",
            assignments_created: created,
        })
    }

    /// Creates assignments for the job's current round for every funded proofer
    /// not yet assigned in it; sends `proof.assigned`. Returns how many.
    pub(super) fn assign_round(&mut self, job: JobId) -> usize {
        let Ok(j) = self.job_ref(job) else { return 0 };
        let round = j.current_round;
        let funded: Vec<(ApplicationId, UserId, i64)> = self
            .accepted_proofers(job)
            .iter()
            .filter(|a| a.status == ApplicationStatus::Funded)
            .map(|a| (a.id, a.agent_id, a.proposed_price))
            .collect();
        let now = self.now();
        let mut n = 0;
        for (application_id, p, bid) in funded {
            if self
                .assignments
                .iter()
                .any(|a| a.job_id == job && a.round == round && a.proofer_agent_id == p)
            {
                continue;
            }
            let a = Assignment {
                id: Uuid::new_v4(),
                job_id: job,
                application_id,
                round,
                proofer_agent_id: p,
                proofer_name: self.display_name(p),
                status: "assigned".into(),
                bid_cents: bid,
                assigned_at: now,
                submitted_at: None,
            };
            let id = a.id;
            self.assignments.push(a);
            self.emit(p, "proof.assigned", job, json!({"assignment_id": id, "round": round}));
            n += 1;
        }
        n
    }

    /// Approves: from `delivered`, or from `pending_proof` with an `approved`
    /// consensus or `override_proof`. Job `completed`, payment `pending_release`,
    /// release in 24 h. Under `statuses` the job keeps its status until the
    /// release; under `alternatives` an agent account younger than 30 days
    /// waits 14 days.
    pub fn approve(&mut self, poster: UserId, job: JobId, override_proof: bool) -> DomainResult<ApproveResult> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        if j.payment_status == PaymentStatus::PendingRelease && self.racing(Fault::RaceApprove, job) {
            // The fault: an overlapping second approval read the job before
            // the first one wrote it, and schedules a second release.
            let jm = self.job_mut(job)?;
            jm.duplicate_releases += 1;
            let at = jm.release_scheduled_at.unwrap_or_else(|| self.now());
            let hours = self.release_cooldown_hours(j.assigned_agent_id);
            return Ok(ApproveResult {
                success: true,
                release_scheduled_at: at,
                cooldown_hours: hours,
            });
        }
        if approved_unreleased(&j) {
            return Err(DomainError::InvalidState(
                "This job is already approved; its payment is in the release cooldown.".into(),
            ));
        }
        match j.status {
            JobStatus::Delivered => {}
            JobStatus::PendingProof => {
                if !override_proof && self.consensus(job, j.current_round) != Some(Consensus::Approved) {
                    return Err(DomainError::ProofIncomplete(
                        "Proofing has not reached an `approved` consensus. Wait for the verdicts or send {\"override_proof\": true}.".into(),
                    ));
                }
            }
            s => return Err(DomainError::invalid_state("approve", s.as_str())),
        }
        let hours = self.release_cooldown_hours(j.assigned_agent_id);
        let at = self.now() + Duration::hours(hours);
        if !self.chooses(Choice::Statuses) {
            self.set_status(job, JobStatus::Completed);
        }
        let jm = self.job_mut(job)?;
        jm.payment_status = PaymentStatus::PendingRelease;
        jm.release_scheduled_at = Some(at);
        if let Some(agent) = j.assigned_agent_id {
            self.user_mut(agent)?.completed_jobs += 1;
            self.notify(
                agent,
                "job.approved",
                "Job approved".into(),
                format!("\"{}\" was approved; payment releases in {hours} hours", j.title),
                job,
            );
        }
        Ok(ApproveResult {
            success: true,
            release_scheduled_at: at,
            cooldown_hours: hours,
        })
    }

    /// Holds a payment in cooldown (`pending_release` → `on_hold`); reason 10..1000 chars.
    pub fn hold_payment(&mut self, poster: UserId, job: JobId, reason: &str) -> DomainResult<ActionOk> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        let n = reason.trim().chars().count();
        if !(10..=1000).contains(&n) {
            return Err(DomainError::invalid_field("reason", "must be 10 to 1000 characters"));
        }
        if j.payment_status != PaymentStatus::PendingRelease {
            return Err(DomainError::InvalidState(
                "The payment can be held only during its release cooldown (`pending_release`).".into(),
            ));
        }
        self.job_mut(job)?.payment_status = PaymentStatus::OnHold;
        if let Some(agent) = j.assigned_agent_id {
            self.notify(
                agent,
                "payment.held",
                "Payment held".into(),
                format!("The poster held the payment for \"{}\"", j.title),
                job,
            );
        }
        Ok(ActionOk::new(job, j.status, "Hold requested; an admin will review it."))
    }

    /// Processes due releases (agents without Stripe Connect wait). Runs at the
    /// start of every operation and after the clock moves.
    pub fn tick(&mut self) {
        let now = self.now();
        let early = if self.breaks(Fault::CooldownEndsEarly) {
            chrono::Duration::hours(1)
        } else {
            chrono::Duration::zero()
        };
        let any_agent = self.breaks(Fault::PayoutWithoutStripe);
        let due: Vec<JobId> = self
            .job_order
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| {
                j.payment_status == PaymentStatus::PendingRelease
                    && j.release_scheduled_at.is_some_and(|t| t - early <= now)
            })
            .filter(|j| {
                j.assigned_agent_id
                    .is_some_and(|a| self.users.get(&a).is_some_and(|u| u.stripe_connected || any_agent))
            })
            .map(|j| j.id)
            .collect();
        for job in due {
            self.release(job);
        }
    }

    /// Releases a payment in cooldown at once, skipping the 24 h wait (an
    /// agent without Stripe Connect still waits). Only the `early_release`
    /// fault uses it. Returns whether the payment was released.
    pub fn release_now(&mut self, job: JobId) -> DomainResult<bool> {
        let j = self.job_ref(job)?;
        let stripe = j
            .assigned_agent_id
            .is_some_and(|a| self.users.get(&a).is_some_and(|u| u.stripe_connected));
        if j.payment_status != PaymentStatus::PendingRelease || !stripe {
            return Ok(false);
        }
        self.release(job);
        Ok(true)
    }

    fn release(&mut self, job: JobId) {
        let Some(j) = self.jobs.get(&job).cloned() else { return };
        let Some(agent) = j.assigned_agent_id else { return };
        let tier = self.user_tier(agent);
        let price = j.escrow_cents;
        let commission = if self.breaks(Fault::CommissionIgnored) {
            0
        } else if self.breaks(Fault::CommissionTwice) {
            2 * agent_commission(price, tier)
        } else {
            agent_commission(price, tier)
        };
        self.record_payout(agent, price - commission);
        let mut events = vec![(agent, price - commission, "agent")];
        let mut platform = commission;
        let mut refund = 0;
        let funded: Vec<(UserId, i64)> = self
            .accepted_proofers(job)
            .iter()
            .filter(|a| a.status == ApplicationStatus::Funded)
            .map(|a| (a.agent_id, a.proposed_price))
            .collect();
        let mut proof_paid = 0;
        for (p, bid) in funded {
            proof_paid += bid;
            if self.proofs.iter().any(|x| x.job_id == job && x.proofer_agent_id == p) {
                // The docs' fee box says both "keep 90%" and "100% of bid (no commission)".
                let fee = if self.chooses(Choice::Alternatives) {
                    0
                } else {
                    proofer_fee(bid)
                };
                platform += fee;
                events.push((p, bid - fee, "proofer"));
            } else {
                refund += bid;
            }
        }
        // anything left in the proof escrow (should be nothing) goes back to the poster
        refund += j.proof_escrow_cents - proof_paid;
        for (u, amount, _) in &events {
            if let Some(user) = self.users.get_mut(u) {
                user.wallet_cents += amount;
            }
        }
        if let Some(p) = self.users.get_mut(&j.poster_id) {
            p.wallet_cents += refund;
        }
        self.platform_fees += platform;
        if let Some(jm) = self.jobs.get_mut(&job) {
            jm.escrow_cents = 0;
            jm.proof_escrow_cents = 0;
            jm.payment_status = PaymentStatus::Released;
            jm.updated_at = self.clock.now();
        }
        // Under `statuses` the approved job becomes `completed` only now.
        if matches!(j.status, JobStatus::Delivered | JobStatus::PendingProof) {
            self.set_status(job, JobStatus::Completed);
        }
        for (u, amount, role) in events {
            self.emit(
                u,
                "payment.released",
                job,
                json!({"amount_cents": amount, "role": role}),
            );
        }
        // `race_approve`: each duplicate approval releases the price again,
        // taken from the poster's wallet as if the escrow still held it.
        for _ in 0..j.duplicate_releases {
            let Some(p) = self.users.get_mut(&j.poster_id) else {
                break;
            };
            if p.wallet_cents < price {
                break;
            }
            p.wallet_cents -= price;
            let commission = agent_commission(price, tier);
            if let Some(user) = self.users.get_mut(&agent) {
                user.wallet_cents += price - commission;
            }
            self.platform_fees += commission;
            self.emit(
                agent,
                "payment.released",
                job,
                json!({"amount_cents": price - commission, "role": "agent"}),
            );
        }
        if let Some(jm) = self.jobs.get_mut(&job) {
            jm.duplicate_releases = 0;
        }
    }
}
