//! Agent earnings (`GET /api/agent/earnings`) and the referral program
//! (`GET/POST /api/agent/referrals`).
//!
//! Documented (docs/api "Discovery, Earnings & Referrals", "Platform Fee"):
//! the commission by tier (Free keeps 90%, Pro 93%, Enterprise 95%), the
//! calculator for `?calculate=<cents>` (5000 → commission 500, payout 4500 on
//! Free), referral bonuses of 1/2/3% by the referrer's tier on the referred
//! agent's job earnings, a referral code applied within 7 days of signup.
//! Our choices: earnings count the payouts released to the agent as the
//! hired agent (what the agent keeps); the bonus is a share of that payout,
//! rounded half up, recorded (the docs pay it to Stripe, not to the wallet).

use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

use super::money::{Tier, agent_commission, apply_bps, format_cents};
use super::{DomainError, DomainResult, Marketplace, UserId};

/// Largest `calculate` amount accepted: $100,000.00 (our choice).
pub const MAX_CALCULATE_CENTS: i64 = 10_000_000;

/// Days after signup during which a referral code may be applied (DOCS).
pub const REFERRAL_WINDOW_DAYS: i64 = 7;

/// The referral bonus rate of a referrer's tier, in basis points (1/2/3%).
pub fn referral_bps(tier: Tier) -> i64 {
    match tier {
        Tier::Free => 100,
        Tier::Pro => 200,
        Tier::Enterprise => 300,
    }
}

fn percent(bps: i64) -> String {
    if bps % 100 == 0 {
        format!("{}%", bps / 100)
    } else {
        format!("{}%", bps as f64 / 100.0)
    }
}

impl Marketplace {
    /// Records a payout released to `agent` as the hired agent, and the
    /// referral bonus its referrer earns on it.
    pub(super) fn record_payout(&mut self, agent: UserId, payout_cents: i64) {
        let e = self.extras.earned.entry(agent).or_default();
        e.total_cents += payout_cents;
        e.jobs += 1;
        if let Some(referrer) = self.extras.referred_by.get(&agent).copied() {
            let bonus = apply_bps(payout_cents, referral_bps(self.user_tier(referrer)));
            *self.extras.referral_bonus.entry((referrer, agent)).or_default() += bonus;
        }
    }

    /// `GET /api/agent/earnings[?calculate=<cents>]`: the tier, its commission
    /// rate, what the agent was paid, and (with `calculate`) the payout of a
    /// job of that amount.
    pub fn earnings(&mut self, user: UserId, calculate: Option<i64>) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        if let Some(c) = calculate
            && !(0..=MAX_CALCULATE_CENTS).contains(&c)
        {
            return Err(DomainError::invalid_field(
                "calculate",
                "must be an integer number of cents between 0 and 10000000",
            ));
        }
        let tier = self.user_tier(user);
        let earned = self.extras.earned.get(&user).copied().unwrap_or_default();
        let referral = self.referral_earnings(user);
        let calculator = calculate.map(|amount| {
            let commission = agent_commission(amount, tier);
            json!({
                "jobAmount": amount,
                "commissionAmount": commission,
                "agentPayout": amount - commission,
                "formatted": {
                    "payout": format_cents(amount - commission),
                    "commission": format!("{} ({})", format_cents(commission), percent(tier.commission_bps())),
                },
            })
        });
        Ok(json!({
            "tier": tier.as_str(),
            "commissionRate": tier.commission_bps() as f64 / 10_000.0,
            "earnings": {
                "totalEarnings": earned.total_cents,
                "completedJobs": earned.jobs,
                "referralEarnings": referral,
                "formatted": {
                    "totalEarnings": format_cents(earned.total_cents),
                    "grandTotal": format_cents(earned.total_cents + referral),
                },
            },
            "calculator": calculator,
        }))
    }

    fn referral_earnings(&self, user: UserId) -> i64 {
        self.extras
            .referral_bonus
            .iter()
            .filter(|((r, _), _)| *r == user)
            .map(|(_, b)| *b)
            .sum()
    }

    /// The user's referral code, made on first use: `ref_` and 16 hex digits.
    fn referral_code(&mut self, user: UserId) -> String {
        self.extras
            .referral_codes
            .entry(user)
            .or_insert_with(|| format!("ref_{}", &Uuid::new_v4().simple().to_string()[..16]))
            .clone()
    }

    /// `GET /api/agent/referrals`: the caller's code, the program and the
    /// agents it referred.
    pub fn referrals(&mut self, user: UserId) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        let code = self.referral_code(user);
        let tier = self.user_tier(user);
        let mut referred: Vec<(UserId, i64)> = self
            .extras
            .referred_by
            .iter()
            .filter(|(_, r)| **r == user)
            .map(|(a, _)| (*a, self.extras.referral_bonus.get(&(user, *a)).copied().unwrap_or(0)))
            .collect();
        referred.sort_by_key(|(a, _)| self.users.get(a).map(|u| u.created_at));
        let agents: Vec<Value> = referred
            .iter()
            .map(|(a, bonus)| {
                json!({
                    "agent_name": self.display_name(*a),
                    "total_bonus": bonus,
                    "active": self.users.get(a).is_some_and(|u| u.profile.is_some()),
                })
            })
            .collect();
        let total = self.referral_earnings(user);
        Ok(json!({
            "referral_code": code,
            "program": {
                "bonus_rate": percent(referral_bps(tier)),
                "tier": tier.as_str(),
                "rates": {"free": "1%", "pro": "2%", "enterprise": "3%"},
            },
            "referred_agents": agents,
            "total_referral_earnings": total,
            "formatted_earnings": format_cents(total),
        }))
    }

    /// `POST /api/agent/referrals {referral_code}`: the caller was referred
    /// by the code's owner. Allowed once, within 7 days of signup, never
    /// with one's own code; an unknown code is `404`.
    pub fn apply_referral(&mut self, user: UserId, code: &str) -> DomainResult<Value> {
        self.tick();
        let created = self.user_ref(user)?.created_at;
        let code = code.trim();
        if !code.starts_with("ref_") || code.len() < 5 {
            return Err(DomainError::invalid_field(
                "referral_code",
                "must be a referral code such as `ref_abc123` (GET /api/agent/referrals shows yours)",
            ));
        }
        let referrer = self
            .extras
            .referral_codes
            .iter()
            .find(|(_, c)| c.as_str() == code)
            .map(|(u, _)| *u)
            .ok_or_else(|| DomainError::not_found("referral code"))?;
        if referrer == user {
            return Err(DomainError::InvalidState(
                "You cannot apply your own referral code.".into(),
            ));
        }
        if self.extras.referred_by.contains_key(&user) {
            return Err(DomainError::InvalidState(
                "A referral code was already applied to this account.".into(),
            ));
        }
        if self.now() - created > Duration::days(REFERRAL_WINDOW_DAYS) {
            return Err(DomainError::InvalidState(
                "Referral codes can only be applied within 7 days of signup.".into(),
            ));
        }
        self.extras.referred_by.insert(user, referrer);
        Ok(json!({"success": true, "referred_by": self.display_name(referrer)}))
    }
}
