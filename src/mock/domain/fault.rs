//! Deliberate rule-breaks the marketplace can be told to make, so tests can
//! prove that the scenario library catches a server that gets a rule wrong.
//!
//! Every fault is off unless switched on with [`Marketplace::set_faults`];
//! the reference server never turns one on by itself. Each is checked at
//! exactly one place in the rules (named on its variant). Faults that only
//! change the HTTP shape of answers live in the HTTP layer instead.

use std::collections::BTreeSet;

use super::{JobId, Marketplace};

/// A rule the marketplace breaks on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// `cancel_after_funding`: the poster may cancel a funded job (`cancel`).
    CancelAfterFunding,
    /// `commission_ignored`: the agent is paid the whole price at release (`release`).
    CommissionIgnored,
    /// `deliverables_public`: anyone with the NDA gets deliverable links (`download_link`).
    DeliverablesPublic,
    /// `messages_open`: anyone with the NDA reads and writes a job's messages.
    MessagesOpen,
    /// `slots_unbounded`: accept-proofer accepts beyond `proofer_count` (`accept_proofer`).
    SlotsUnbounded,
    /// `short_password`: registration takes a password shorter than 8 characters (`register`).
    ShortPassword,
    /// `proofer_bid_uncapped`: a proofer may bid more than 50% of `budget_max` (`apply`).
    ProoferBidUncapped,
    /// `proof_escrow_unguarded`: fund-proof-escrow with no accepted proofer, or outside `pending_proof`, answers 200 with a fee of 0 (`fund_proof_escrow`).
    ProofEscrowUnguarded,
    /// `card_without_client_secret`: the card path of fund-escrow answers no `clientSecret` (`fund_escrow`).
    CardWithoutClientSecret,
    /// `cooldown_ends_early`: a payment is released an hour before its cooldown ends (`tick`).
    CooldownEndsEarly,
    /// `payout_without_stripe`: an agent without Stripe Connect is paid out at the end of the cooldown (`tick`).
    PayoutWithoutStripe,
    /// `settings_below_accepted`: in `pending_proof`, `proofer_count` may drop below the accepted proofers (`update_proof_settings`).
    SettingsBelowAccepted,
    /// `round_not_advanced`: a delivery after a revision stays in the same proof round (`deliver`).
    RoundNotAdvanced,
    /// `custom_answers_refused`: a verdict carrying `custom_answers` is refused (`parse_verdict`).
    CustomAnswersRefused,
    /// `agent_shown_to_proofers`: the proofs view names the hired agent to proofers (`proofs_view`).
    AgentShownToProofers,
    /// `no_funded_update`: funding the escrow sends the hired agent no `application.update` (`fund_escrow`).
    NoFundedUpdate,
    /// `proofers_locked_out`: accepted proofers are not participants: no messages, deliverables or proofer details (`is_participant`, `job_details`).
    ProofersLockedOut,
    /// `posting_unlimited`: job posting is not held to its hourly limit (`create_job`).
    PostingUnlimited,
    /// `applications_unlimited`: applications are not held to their hourly limit (`apply`).
    ApplicationsUnlimited,
    /// `funding_unlimited`: escrow funding is not held to its hourly limit by tier (`check_fund_rate`; the burst and per-job limits stay).
    FundingUnlimited,
    /// `commission_twice`: the agent's commission is taken twice at release (`release`).
    CommissionTwice,
    /// `race_fund_escrow`: two fund-escrow calls that overlap both fund (`fund_escrow`).
    RaceFundEscrow,
    /// `race_accept_application`: two overlapping accept-application calls both hire (`accept_application`).
    RaceAcceptApplication,
    /// `race_accept_proofer`: overlapping accept-proofer calls overfill the slots (`accept_proofer`).
    RaceAcceptProofer,
    /// `race_verdict`: one proofer's overlapping verdicts are both recorded (`submit_verdict`).
    RaceVerdict,
    /// `race_approve`: two overlapping approvals both schedule a release (`approve`).
    RaceApprove,
    /// `race_nda`: of two overlapping NDA acknowledgments, the second fails on a duplicate key (`acknowledge_nda`).
    RaceNda,
    /// `callback_never_sent`: an integration job's `callback_url` is never called (`set_status`).
    CallbackNeverSent,
    /// `funding_per_job_unlimited`: escrow funding is not held to its 5 per hour per job (`check_fund_rate`).
    FundingPerJobUnlimited,
    /// `funding_one_tier`: every poster's hourly funding limit is the free tier's 20, whatever its tier (`counted_tier`; the burst and per-job limits stay).
    FundingOneTier,
    /// `enterprise_as_pro`: enterprise accounts get the pro tier's hourly figures for applications (50) and funding (60) (`counted_tier`; every other limit keeps its enterprise figure).
    EnterpriseAsPro,
    /// `posting_one_tier`: every poster's hourly job-posting limit is the free tier's 10, whatever its tier (`counted_tier`).
    PostingOneTier,
    /// `applications_one_tier`: every agent's hourly application limit is the free tier's 20, whatever its tier (`counted_tier`).
    ApplicationsOneTier,
}

impl Fault {
    /// Every domain fault.
    pub const ALL: [Fault; 33] = [
        Fault::CancelAfterFunding,
        Fault::CommissionIgnored,
        Fault::DeliverablesPublic,
        Fault::MessagesOpen,
        Fault::SlotsUnbounded,
        Fault::ShortPassword,
        Fault::ProoferBidUncapped,
        Fault::ProofEscrowUnguarded,
        Fault::CardWithoutClientSecret,
        Fault::CooldownEndsEarly,
        Fault::PayoutWithoutStripe,
        Fault::SettingsBelowAccepted,
        Fault::RoundNotAdvanced,
        Fault::CustomAnswersRefused,
        Fault::AgentShownToProofers,
        Fault::NoFundedUpdate,
        Fault::ProofersLockedOut,
        Fault::PostingUnlimited,
        Fault::ApplicationsUnlimited,
        Fault::FundingUnlimited,
        Fault::CommissionTwice,
        Fault::RaceFundEscrow,
        Fault::RaceAcceptApplication,
        Fault::RaceAcceptProofer,
        Fault::RaceVerdict,
        Fault::RaceApprove,
        Fault::RaceNda,
        Fault::CallbackNeverSent,
        Fault::FundingPerJobUnlimited,
        Fault::FundingOneTier,
        Fault::EnterpriseAsPro,
        Fault::PostingOneTier,
        Fault::ApplicationsOneTier,
    ];

    /// The race faults: each drops the exactly-once guard of one operation
    /// for requests that overlap in time (see [`Marketplace::enter_race`]).
    pub const RACES: [Fault; 6] = [
        Fault::RaceFundEscrow,
        Fault::RaceAcceptApplication,
        Fault::RaceAcceptProofer,
        Fault::RaceVerdict,
        Fault::RaceApprove,
        Fault::RaceNda,
    ];

    /// The name used in `MockConfig::faults`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::CancelAfterFunding => "cancel_after_funding",
            Fault::CommissionIgnored => "commission_ignored",
            Fault::DeliverablesPublic => "deliverables_public",
            Fault::MessagesOpen => "messages_open",
            Fault::SlotsUnbounded => "slots_unbounded",
            Fault::ShortPassword => "short_password",
            Fault::ProoferBidUncapped => "proofer_bid_uncapped",
            Fault::ProofEscrowUnguarded => "proof_escrow_unguarded",
            Fault::CardWithoutClientSecret => "card_without_client_secret",
            Fault::CooldownEndsEarly => "cooldown_ends_early",
            Fault::PayoutWithoutStripe => "payout_without_stripe",
            Fault::SettingsBelowAccepted => "settings_below_accepted",
            Fault::RoundNotAdvanced => "round_not_advanced",
            Fault::CustomAnswersRefused => "custom_answers_refused",
            Fault::AgentShownToProofers => "agent_shown_to_proofers",
            Fault::NoFundedUpdate => "no_funded_update",
            Fault::ProofersLockedOut => "proofers_locked_out",
            Fault::PostingUnlimited => "posting_unlimited",
            Fault::ApplicationsUnlimited => "applications_unlimited",
            Fault::FundingUnlimited => "funding_unlimited",
            Fault::CommissionTwice => "commission_twice",
            Fault::RaceFundEscrow => "race_fund_escrow",
            Fault::RaceAcceptApplication => "race_accept_application",
            Fault::RaceAcceptProofer => "race_accept_proofer",
            Fault::RaceVerdict => "race_verdict",
            Fault::RaceApprove => "race_approve",
            Fault::RaceNda => "race_nda",
            Fault::CallbackNeverSent => "callback_never_sent",
            Fault::FundingPerJobUnlimited => "funding_per_job_unlimited",
            Fault::FundingOneTier => "funding_one_tier",
            Fault::EnterpriseAsPro => "enterprise_as_pro",
            Fault::PostingOneTier => "posting_one_tier",
            Fault::ApplicationsOneTier => "applications_one_tier",
        }
    }

    /// The fault of a name, if it is a domain fault.
    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl Marketplace {
    /// Switches the given faults on (and every other one off).
    pub fn set_faults(&mut self, faults: impl IntoIterator<Item = Fault>) {
        self.faults = faults.into_iter().collect::<BTreeSet<_>>();
    }

    /// Whether the marketplace breaks the rule of `fault`.
    pub(super) fn breaks(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// Whether the race fault `fault` is on (the HTTP layer then opens a
    /// race window around the operation's requests).
    pub fn race_fault_on(&self, fault: Fault) -> bool {
        Fault::RACES.contains(&fault) && self.breaks(fault)
    }

    /// A request of the raced operation of `fault` on `job` starts: the
    /// check-then-act race of a server that reads the state, releases its
    /// lock, then writes. Requests that overlap in time (one enters while
    /// another is still in its window) all read the state from before
    /// either wrote, so the operation's state guard lets every one of them
    /// through; a request alone meets the guard as usual. Answers the ticket
    /// to give back with [`Marketplace::leave_race`].
    pub fn enter_race(&mut self, fault: Fault, job: JobId) -> u64 {
        self.race_seq += 1;
        let id = self.race_seq;
        let mut overlapped = false;
        for t in self.races.iter_mut().filter(|t| t.fault == fault && t.job == job) {
            t.overlapped = true;
            overlapped = true;
        }
        self.races.push(RaceTicket {
            id,
            fault,
            job,
            overlapped,
        });
        id
    }

    /// The request holding `ticket` has been answered.
    pub fn leave_race(&mut self, ticket: u64) {
        self.races.retain(|t| t.id != ticket);
    }

    /// Whether the guard of `fault`'s operation on `job` is skipped: the
    /// fault is on and the request overlaps another of the same operation
    /// on the same job (it read the state before the other one wrote).
    pub(super) fn racing(&self, fault: Fault, job: JobId) -> bool {
        self.breaks(fault)
            && self
                .races
                .iter()
                .any(|t| t.fault == fault && t.job == job && t.overlapped)
    }
}

/// A request inside the race window of a race fault.
#[derive(Debug, Clone)]
pub(in crate::mock) struct RaceTicket {
    id: u64,
    fault: Fault,
    job: JobId,
    /// Another request of the same operation on the same job was in its
    /// window at the same time.
    overlapped: bool,
}
