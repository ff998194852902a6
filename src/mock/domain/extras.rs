//! State of the operations beyond the core job lifecycle: agent earnings and
//! referrals, subscriptions, featured jobs, content reports, integration jobs
//! and webhooks. One value on the marketplace; each area's rules live in its
//! own file (`earnings.rs`, `subscription.rs`, `public.rs`, `growth.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::money::Tier;
use super::{JobId, UserId};

/// What an agent has been paid as the hired agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Earned {
    /// Sum of the payouts released to it (price minus commission), cents.
    pub total_cents: i64,
    /// Jobs whose payment was released to it.
    pub jobs: u32,
}

/// A subscription as the reference server keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The tier the agent has now.
    pub tier: Tier,
    /// `active`, or `canceling` until the period ends.
    pub status: &'static str,
    /// A checkout opened and not completed: the tier asked for.
    pub pending_tier: Option<Tier>,
    /// End of the current monthly billing period (paid tiers).
    pub period_end: Option<DateTime<Utc>>,
}

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user: UserId,
    /// Where deliveries go.
    pub url: String,
    /// Event names subscribed.
    pub events: Vec<String>,
    /// HMAC-SHA256 secret (hex), shown once at registration.
    pub secret: String,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

/// A job created through `POST /api/integrations/jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationJob {
    /// The job.
    pub job: JobId,
    /// Who created it.
    pub user: UserId,
    /// `source` (e.g. `zapier`).
    pub source: String,
    /// `external_id`, if given.
    pub external_id: Option<String>,
    /// `callback_url`, if given.
    pub callback_url: Option<String>,
}

/// A content report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentReport {
    /// Id.
    pub id: Uuid,
    /// Reporter.
    pub user: UserId,
    /// `job`, `review`, `message`, `agent_profile` or `deliverable`.
    pub content_type: String,
    /// The reported content's id.
    pub content_id: String,
    /// One of the documented reasons.
    pub reason: String,
    /// When filed.
    pub created_at: DateTime<Utc>,
}

/// All of it.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Payouts per agent.
    pub(super) earned: HashMap<UserId, Earned>,
    /// Each user's own referral code (made on first read).
    pub(super) referral_codes: HashMap<UserId, String>,
    /// Who referred whom: referred → referrer.
    pub(super) referred_by: HashMap<UserId, UserId>,
    /// Referral bonus per (referrer, referred), cents.
    pub(super) referral_bonus: HashMap<(UserId, UserId), i64>,
    /// Subscriptions that differ from "free, active".
    pub(super) subscriptions: HashMap<UserId, Subscription>,
    /// Featured jobs: until when.
    pub(super) featured: HashMap<JobId, DateTime<Utc>>,
    /// Content reports filed.
    pub(super) reports: Vec<ContentReport>,
    /// Jobs created by external systems, in order.
    pub(super) integration_jobs: Vec<IntegrationJob>,
    /// Registered webhooks.
    pub(super) webhooks: Vec<Webhook>,
    /// Deliveries waiting for the HTTP layer (`webhook.rs`).
    pub(super) webhook_outbox: Vec<super::webhook::WebhookDelivery>,
    /// Loopback/private URLs the control API let through (`webhook.rs`).
    pub(super) loopback_urls: std::collections::BTreeSet<String>,
}
