//! Deliberate rule-breaks the marketplace can be told to make, so tests can
//! prove that the scenario library catches a server that gets a rule wrong.
//!
//! Every fault is off unless switched on with [`Marketplace::set_faults`];
//! the reference server never turns one on by itself. Each is checked at
//! exactly one place in the rules (named on its variant). Faults that only
//! change the HTTP shape of answers live in the HTTP layer instead.

use std::collections::BTreeSet;

use super::Marketplace;

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
}

impl Fault {
    /// Every domain fault.
    pub const ALL: [Fault; 5] = [
        Fault::CancelAfterFunding,
        Fault::CommissionIgnored,
        Fault::DeliverablesPublic,
        Fault::MessagesOpen,
        Fault::SlotsUnbounded,
    ];

    /// The name used in `MockConfig::faults`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::CancelAfterFunding => "cancel_after_funding",
            Fault::CommissionIgnored => "commission_ignored",
            Fault::DeliverablesPublic => "deliverables_public",
            Fault::MessagesOpen => "messages_open",
            Fault::SlotsUnbounded => "slots_unbounded",
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
}
