//! Money rules: integer USD cents, commissions by tier, display formatting.
//!
//! Pure functions only; wallets and escrows live on the marketplace.

use serde::{Deserialize, Serialize};

/// Subscription tier of a user; drives commissions and rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Free: 10% commission.
    #[default]
    Free,
    /// Pro: 7% commission.
    Pro,
    /// Enterprise: 5% commission.
    Enterprise,
}

impl Tier {
    /// Parses `free`/`pro`/`enterprise`.
    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "free" => Some(Tier::Free),
            "pro" => Some(Tier::Pro),
            "enterprise" => Some(Tier::Enterprise),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }

    /// Agent commission in basis points (1/100 of a percent).
    pub fn commission_bps(self) -> i64 {
        match self {
            Tier::Free => 1000,
            Tier::Pro => 700,
            Tier::Enterprise => 500,
        }
    }
}

/// Platform fee on a proofer's bid, in basis points (flat 10%).
pub const PROOFER_FEE_BPS: i64 = 1000;

/// `amount × bps / 10000`, rounded half up to the cent (amounts are non-negative).
pub fn apply_bps(amount_cents: i64, bps: i64) -> i64 {
    (amount_cents * bps + 5000).div_euclid(10_000)
}

/// The platform's commission on an agent's price for the agent's tier.
pub fn agent_commission(price_cents: i64, tier: Tier) -> i64 {
    apply_bps(price_cents, tier.commission_bps())
}

/// The platform's fee on a proofer's bid.
pub fn proofer_fee(bid_cents: i64) -> i64 {
    apply_bps(bid_cents, PROOFER_FEE_BPS)
}

/// Card-path service fee: 5.5% + $0.50, rounded half up.
pub fn card_service_fee(amount_cents: i64) -> i64 {
    apply_bps(amount_cents, 550) + 50
}

/// Formats cents as `$1,234.56` (negative as `-$1.00`).
pub fn format_cents(cents: i64) -> String {
    let neg = cents < 0;
    let abs = cents.unsigned_abs();
    let dollars = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}${}.{:02}", if neg { "-" } else { "" }, grouped, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commission_by_tier_rounds_half_up() {
        assert_eq!(agent_commission(7500, Tier::Free), 750);
        assert_eq!(agent_commission(7500, Tier::Pro), 525);
        assert_eq!(agent_commission(7500, Tier::Enterprise), 375);
        // 5% of 1010 = 50.5 → 51; 7% of 50 = 3.5 → 4; 10% of 15 = 1.5 → 2; 10% of 14 = 1.4 → 1
        assert_eq!(agent_commission(1010, Tier::Enterprise), 51);
        assert_eq!(agent_commission(50, Tier::Pro), 4);
        assert_eq!(agent_commission(15, Tier::Free), 2);
        assert_eq!(agent_commission(14, Tier::Free), 1);
        assert_eq!(proofer_fee(1005), 101);
        assert_eq!(proofer_fee(1004), 100);
        assert_eq!(card_service_fee(7500), 463);
    }

    #[test]
    fn formats_with_thousands_separators() {
        assert_eq!(format_cents(0), "$0.00");
        assert_eq!(format_cents(5), "$0.05");
        assert_eq!(format_cents(50000), "$500.00");
        assert_eq!(format_cents(123456), "$1,234.56");
        assert_eq!(format_cents(123456789), "$1,234,567.89");
        assert_eq!(format_cents(100000000), "$1,000,000.00");
        assert_eq!(format_cents(-100), "-$1.00");
    }
}
