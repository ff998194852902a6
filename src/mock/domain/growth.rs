//! The documented operations beyond the core job lifecycle, other than
//! earnings and referrals (`earnings.rs`): a proofer's assignments
//! (`GET /api/agent/proofs/available`), subscriptions, the public job
//! templates, agent reputation and proofer leaderboard, integration jobs,
//! featured jobs, content reports and webhook registration.
//!
//! What the docs state is named on each method; the rest is ours (listed in
//! `docs/api-decisions.md` §Resources).

use std::net::IpAddr;

use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

use super::choice::Choice;
use super::extras::{ContentReport, IntegrationJob, Subscription, Webhook};
use super::job::NewJob;
use super::money::{Tier, format_cents, proofer_fee};
use super::ratelimit::{RateRule, RateSubject};
use super::{DomainError, DomainResult, JobId, JobStatus, Marketplace, PaymentStatus, UserId};

/// Price of featuring a job for 48 hours, cents (DOCS: $5 from the wallet).
pub const FEATURE_PRICE_CENTS: i64 = 500;
/// How long a job stays featured (DOCS: 48 hours).
pub const FEATURE_HOURS: i64 = 48;
/// Content types a report may name (DOCS).
pub const REPORT_CONTENT_TYPES: [&str; 5] = ["job", "review", "message", "agent_profile", "deliverable"];
/// Reasons a report may give (DOCS).
pub const REPORT_REASONS: [&str; 8] = [
    "illegal_content",
    "harassment",
    "fraud",
    "spam",
    "inappropriate",
    "copyright",
    "malware",
    "other",
];
/// Webhook event names (DOCS).
pub const WEBHOOK_EVENTS: [&str; 5] = [
    "job.available",
    "job.accepted",
    "job.revision_requested",
    "job.approved",
    "payment.released",
];
/// Leaderboard sort keys (DOCS).
pub const LEADERBOARD_SORTS: [&str; 4] = ["total_proofs", "consensus_rate", "total_earnings", "avg_score_given"];

/// The monthly price of a tier, cents (DOCS: Free $0, Pro $29, Enterprise $99).
fn tier_price(t: Tier) -> i64 {
    match t {
        Tier::Free => 0,
        Tier::Pro => 2900,
        Tier::Enterprise => 9900,
    }
}

fn tier_info(t: Tier) -> Value {
    let keeps = 100 - t.commission_bps() / 100;
    json!({
        "name": t.as_str(),
        "price": tier_price(t),
        "formatted_price": format!("{}/mo", format_cents(tier_price(t))),
        "commission_rate": t.commission_bps() as f64 / 10_000.0,
        "agent_keeps": format!("{keeps}%"),
    })
}

/// Why a webhook URL is refused, if it is: not http(s), no host, localhost,
/// or an IP literal in a loopback, private, link-local, unspecified, CGNAT
/// or unique-local range (DOCS SSRF protection). Names are not resolved
/// (our choice); `.local`/`.internal`/`.localhost` names are refused.
pub fn webhook_url_problem(raw: &str) -> Option<&'static str> {
    let Ok(url) = url::Url::parse(raw.trim()) else {
        return Some("must be an absolute http(s) URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some("must be an http(s) URL");
    }
    let blocked = "must not point at localhost or a private network address (SSRF protection)";
    match url.host() {
        None => Some("must name a host"),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let local = d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || d.ends_with(".internal")
                || d.parse::<IpAddr>().is_ok_and(ip_blocked);
            local.then_some(blocked)
        }
        Some(url::Host::Ipv4(ip)) => ip_blocked(IpAddr::V4(ip)).then_some(blocked),
        Some(url::Host::Ipv6(ip)) => ip_blocked(IpAddr::V6(ip)).then_some(blocked),
    }
}

fn ip_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..=127).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return ip_blocked(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback() || v6.is_unspecified() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Body of `POST /api/integrations/jobs`: a job plus `source`,
/// `external_id` and `callback_url`.
#[derive(Debug, Clone)]
pub struct IntegrationJobInput {
    /// The job fields (as `POST /api/agent/jobs`).
    pub job: NewJob,
    /// `source` (e.g. `zapier`), 1..50 chars; `api` when left out.
    pub source: String,
    /// `external_id`, up to 200 chars.
    pub external_id: Option<String>,
    /// `callback_url`: an http(s) URL that passes the SSRF checks.
    pub callback_url: Option<String>,
}

impl IntegrationJobInput {
    /// Reads and checks a JSON body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut extra = super::input::Fields::new(body);
        let source = extra.string("source", false, 1, 50);
        let external_id = extra.string("external_id", false, 1, 200);
        // Checked against the SSRF rule by the marketplace, which may let
        // a test sink's loopback URL through.
        let callback_url = extra.string("callback_url", false, 1, 2000);
        let mut stripped = body.clone();
        if let Some(m) = stripped.as_object_mut() {
            for k in ["source", "external_id", "callback_url"] {
                m.remove(k);
            }
        }
        let job = NewJob::from_json(&stripped);
        extra.finish()?;
        Ok(IntegrationJobInput {
            job: job?,
            source: source.unwrap_or_else(|| "api".into()),
            external_id,
            callback_url,
        })
    }
}

impl Marketplace {
    fn subscription_of(&self, user: UserId) -> Subscription {
        self.extras.subscriptions.get(&user).cloned().unwrap_or(Subscription {
            tier: self.user_tier(user),
            status: "active",
            pending_tier: None,
            period_end: None,
        })
    }

    /// `GET /api/agent/proofs/available`: the caller's active proof
    /// assignments, its verdict history and stats (DOCS shape `{active,
    /// history, stats{categories, total_earned_cents, global{consensus_rate}}}`).
    /// A fee counts as earned once the job's payment is released (the fee
    /// minus 10%, or the whole bid under `alternatives`).
    pub fn proofs_available(&mut self, user: UserId) -> DomainResult<Value> {
        self.tick();
        let categories = self.user_ref(user)?.proofer_categories.clone();
        let mut active = Vec::new();
        for a in self
            .assignments
            .iter()
            .filter(|a| a.proofer_agent_id == user && a.status == "assigned")
        {
            if let Some(j) = self.jobs.get(&a.job_id) {
                active.push(json!({
                    "assignment_id": a.id,
                    "job_id": j.id,
                    "round": a.round,
                    "job": {"id": j.id, "title": j.title, "category": j.category, "status": j.status.as_str()},
                    "fee_cents": a.bid_cents,
                    "assigned_at": a.assigned_at,
                }));
            }
        }
        let keep_all = self.chooses(Choice::Alternatives);
        let mut history = Vec::new();
        let (mut earned, mut matched, mut decided) = (0i64, 0u32, 0u32);
        for p in self.proofs.iter().filter(|p| p.proofer_agent_id == user) {
            let bid = self
                .assignments
                .iter()
                .find(|a| a.id == p.assignment_id)
                .map(|a| a.bid_cents)
                .unwrap_or(0);
            let released = self
                .jobs
                .get(&p.job_id)
                .is_some_and(|j| j.payment_status == PaymentStatus::Released);
            let fee = if released {
                if keep_all { bid } else { bid - proofer_fee(bid) }
            } else {
                0
            };
            earned += fee;
            let consensus = self.consensus(p.job_id, p.round);
            if let Some(c) = consensus {
                decided += 1;
                if c == p.verdict {
                    matched += 1;
                }
            }
            history.push(json!({
                "job_id": p.job_id,
                "round": p.round,
                "verdict": p.verdict,
                "score": p.score,
                "fee_earned": fee,
                "consensus": consensus,
                "submitted_at": p.created_at,
            }));
        }
        let rate = if decided == 0 {
            Value::Null
        } else {
            json!((matched as f64 * 1000.0 / decided as f64).round() / 10.0)
        };
        Ok(json!({
            "active": active,
            "history": history,
            "stats": {
                "categories": categories,
                "total_earned_cents": earned,
                "total_proofs": history.len(),
                "global": {"consensus_rate": rate},
            },
        }))
    }

    /// `GET /api/agent/subscription`: `{subscription{tier, status}, tiers}`.
    pub fn subscription(&mut self, user: UserId) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        let s = self.subscription_of(user);
        Ok(json!({
            "subscription": {
                "tier": s.tier.as_str(),
                "status": s.status,
                "pending_tier": s.pending_tier.map(Tier::as_str),
                "current_period_end": s.period_end,
            },
            "tiers": {
                "free": tier_info(Tier::Free),
                "pro": tier_info(Tier::Pro),
                "enterprise": tier_info(Tier::Enterprise),
            },
        }))
    }

    /// `POST /api/agent/subscription {tier}`: a Stripe Checkout URL to pay
    /// in a browser (DOCS); the tier changes only once paid, which this
    /// server never sees, so it stays. The current tier, or `free`, is 400.
    pub fn subscribe(&mut self, user: UserId, tier: Tier) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        let mut s = self.subscription_of(user);
        if tier == Tier::Free {
            return Err(DomainError::invalid_field(
                "tier",
                "must be `pro` or `enterprise`; cancel with DELETE /api/agent/subscription to return to free",
            ));
        }
        if tier == s.tier && s.status == "active" {
            return Err(DomainError::InvalidState(format!(
                "You are already on the {} tier.",
                tier.as_str()
            )));
        }
        s.pending_tier = Some(tier);
        self.extras.subscriptions.insert(user, s);
        let session = Uuid::new_v4().simple().to_string();
        Ok(json!({
            "success": true,
            "checkoutUrl": format!("https://checkout.stripe.com/c/pay/cs_{session}"),
            "tier": tier.as_str(),
        }))
    }

    /// `DELETE /api/agent/subscription`: cancels at the end of the billing
    /// period (DOCS); the tier is kept until then. Nothing to cancel on free
    /// is 400.
    pub fn cancel_subscription(&mut self, user: UserId) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        let mut s = self.subscription_of(user);
        if s.tier == Tier::Free {
            return Err(DomainError::InvalidState(
                "You are on the free tier: there is no subscription to cancel.".into(),
            ));
        }
        if s.status == "canceling" {
            return Err(DomainError::InvalidState(
                "The subscription is already canceled at the end of the period.".into(),
            ));
        }
        let end = s.period_end.unwrap_or_else(|| self.now() + Duration::days(30));
        s.status = "canceling";
        s.period_end = Some(end);
        self.extras.subscriptions.insert(user, s.clone());
        Ok(json!({
            "success": true,
            "subscription": {"tier": s.tier.as_str(), "status": s.status, "current_period_end": end},
        }))
    }

    /// `GET /api/job-templates` (no auth): the preset templates, with
    /// suggested budgets in cents.
    pub fn job_templates(&self) -> Value {
        let t = |id: &str,
                 name: &str,
                 category: &str,
                 title: &str,
                 desc: &str,
                 min: i64,
                 max: i64,
                 proof: bool,
                 tags: &[&str]| {
            json!({
                "id": id,
                "name": name,
                "category": category,
                "title_format": title,
                "description_template": desc,
                "suggested_budget": {
                    "min": min,
                    "max": max,
                    "formatted": format!("${} - ${}", min / 100, max / 100),
                },
                "suggested_proof": proof,
                "tags": tags,
            })
        };
        let templates = vec![
            t(
                "research-report",
                "Research Report",
                "Research",
                "Research: [Topic]",
                "Research and compile a report on [topic] with sources.",
                2500,
                7500,
                false,
                &["research", "report"],
            ),
            t(
                "lead-list",
                "Lead List",
                "Lead Generation",
                "Leads: [Segment]",
                "Build a list of [number] qualified leads in [segment] with contact details.",
                5000,
                15000,
                true,
                &["leads", "sales"],
            ),
            t(
                "sdr-outreach",
                "SDR Outreach",
                "SDR",
                "Outreach: [Campaign]",
                "Write and send a personalised outreach sequence to [audience].",
                5000,
                20000,
                true,
                &["sdr", "outreach"],
            ),
            t(
                "data-analysis",
                "Data Analysis",
                "Data Analysis",
                "Analysis: [Dataset]",
                "Analyse [dataset] and summarise the findings with charts.",
                5000,
                15000,
                false,
                &["data", "analysis"],
            ),
            t(
                "code-task",
                "Coding Task",
                "Coding",
                "Build: [Feature]",
                "Implement [feature] with tests and a short README.",
                10000,
                50000,
                true,
                &["coding"],
            ),
            t(
                "blog-post",
                "Blog Post",
                "Content Writing",
                "Write: [Title]",
                "Write a [length]-word article on [topic] for [audience].",
                2500,
                10000,
                false,
                &["content", "writing"],
            ),
            t(
                "web-scrape",
                "Web Scraping",
                "Web Scraping",
                "Scrape: [Site]",
                "Extract [fields] from [site] into CSV.",
                2500,
                10000,
                false,
                &["scraping", "data"],
            ),
            t(
                "workflow-automation",
                "Workflow Automation",
                "Automation",
                "Automate: [Workflow]",
                "Automate [workflow] between [tools] and document it.",
                5000,
                25000,
                true,
                &["automation"],
            ),
            t(
                "qa-testing",
                "QA Testing",
                "Testing",
                "Test: [Product]",
                "Test [product] against [checklist] and report the defects found.",
                2500,
                10000,
                true,
                &["testing", "qa"],
            ),
        ];
        let count = templates.len();
        json!({"templates": templates, "count": count})
    }

    /// `GET /api/public/agents/{id}/reputation` (no auth, 30 per minute per
    /// IP): a public view of an agent with a profile; anyone else is 404.
    pub fn reputation(&mut self, agent: UserId, ip: &str) -> DomainResult<Value> {
        self.tick();
        self.check_rate(RateRule::Reputation, RateSubject::Ip(ip.to_string()), None)?;
        let u = self.users.get(&agent).ok_or_else(|| DomainError::not_found("agent"))?;
        let profile = u.profile.as_ref().ok_or_else(|| DomainError::not_found("agent"))?;
        let hired = self
            .jobs
            .values()
            .filter(|j| j.assigned_agent_id == Some(agent) && j.status != JobStatus::PendingEscrow)
            .count();
        let completed = self.extras.earned.get(&agent).map(|e| e.jobs as usize).unwrap_or(0);
        let completion_rate = if hired == 0 {
            Value::Null
        } else {
            json!(((completed.min(hired) as f64) * 100.0 / hired as f64).round() as i64)
        };
        let rating = u.rating_view();
        let trust = match (rating, completed) {
            (Some(r), c) if r >= 4.5 && c >= 10 => "high",
            (Some(r), c) if r >= 4.0 && c >= 1 => "medium",
            _ => "new",
        };
        let mut reviews: Vec<_> = self.reviews.iter().filter(|r| r.agent_id == agent).collect();
        reviews.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        let recent: Vec<Value> = reviews
            .iter()
            .take(10)
            .map(|r| json!({"rating": r.rating, "comment": r.comment, "created_at": r.created_at}))
            .collect();
        Ok(json!({
            "agent": {
                "id": agent,
                "name": profile.name,
                "specializations": profile.specializations,
                "verified": u.tier != Tier::Free,
            },
            "reputation": {
                "rating": rating,
                "completedJobs": completed,
                "completionRate": completion_rate,
                "trustLevel": trust,
                "totalReviews": u.total_reviews,
            },
            "recentReviews": recent,
        }))
    }

    /// `GET /api/proofs/leaderboard?sort=&limit=` (no auth): proofers with
    /// at least one verdict, best first by `sort` (default
    /// `consensus_rate`), at most `limit` (default 20).
    pub fn proofer_leaderboard(&mut self, sort: &str, limit: usize) -> DomainResult<Value> {
        self.tick();
        if !LEADERBOARD_SORTS.contains(&sort) {
            return Err(DomainError::invalid_field(
                "sort",
                "must be one of total_proofs, consensus_rate, total_earnings, avg_score_given",
            ));
        }
        let mut proofers: Vec<UserId> = self.proofs.iter().map(|p| p.proofer_agent_id).collect();
        proofers.sort();
        proofers.dedup();
        let mut rows: Vec<(Value, f64)> = Vec::new();
        for p in proofers {
            let stats = self.proofs_available(p)?;
            let mine: Vec<_> = self.proofs.iter().filter(|x| x.proofer_agent_id == p).collect();
            let total = mine.len();
            let avg = mine.iter().map(|x| x.score as f64).sum::<f64>() / total.max(1) as f64;
            let rate = stats["stats"]["global"]["consensus_rate"].as_f64();
            let earned = stats["stats"]["total_earned_cents"].as_i64().unwrap_or(0);
            let key = match sort {
                "total_proofs" => total as f64,
                "total_earnings" => earned as f64,
                "avg_score_given" => avg,
                _ => rate.unwrap_or(-1.0),
            };
            rows.push((
                json!({
                    "proofer_id": p,
                    "proofer_name": self.display_name(p),
                    "total_proofs": total,
                    "consensus_rate": rate,
                    "total_earnings": earned,
                    "avg_score_given": (avg * 10.0).round() / 10.0,
                }),
                key,
            ));
        }
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        let leaderboard: Vec<Value> = rows
            .into_iter()
            .take(limit)
            .enumerate()
            .map(|(i, (mut v, _))| {
                v["rank"] = json!(i + 1);
                v
            })
            .collect();
        Ok(json!({"leaderboard": leaderboard, "sort": sort, "count": leaderboard.len()}))
    }

    /// `POST /api/integrations/jobs`: creates an open job as
    /// `POST /api/agent/jobs` does and remembers its source, external id and
    /// callback URL → `{success, job{id, title, status, url}, integration}`.
    pub fn create_integration_job(&mut self, user: UserId, input: IntegrationJobInput) -> DomainResult<Value> {
        if let Some(u) = &input.callback_url
            && let Some(problem) = webhook_url_problem(u).filter(|_| !self.webhook_url_allowed(u))
        {
            return Err(DomainError::invalid_field("callback_url", problem));
        }
        let job = self.create_job(user, input.job)?;
        let rec = IntegrationJob {
            job: job.id,
            user,
            source: input.source,
            external_id: input.external_id,
            callback_url: input.callback_url,
        };
        let out = self.integration_view(&rec);
        self.extras.integration_jobs.push(rec);
        Ok(out)
    }

    fn integration_view(&self, rec: &IntegrationJob) -> Value {
        let j = self.jobs.get(&rec.job);
        json!({
            "success": true,
            "job": {
                "id": rec.job,
                "title": j.map(|j| j.title.clone()),
                "status": j.map(|j| j.status.as_str()),
                "url": format!("https://www.agentgigs.io/jobs/{}", rec.job),
            },
            "integration": {
                "source": rec.source,
                "external_id": rec.external_id,
                "callback_url": rec.callback_url,
            },
        })
    }

    /// `GET /api/integrations/jobs`: the caller's integration jobs, newest
    /// first → `{jobs: [{id, title, status, url, integration}], count}`.
    pub fn integration_jobs(&mut self, user: UserId) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        let jobs: Vec<Value> = self
            .extras
            .integration_jobs
            .iter()
            .rev()
            .filter(|r| r.user == user)
            .map(|r| {
                let v = self.integration_view(r);
                let mut job = v["job"].clone();
                job["integration"] = v["integration"].clone();
                job
            })
            .collect();
        let count = jobs.len();
        Ok(json!({"jobs": jobs, "count": count}))
    }

    /// `GET /api/jobs/{id}/feature`: `{featured, featured_until, price: 500,
    /// duration_hours: 48}` (DOCS). Anyone signed in may look.
    pub fn feature_status(&mut self, user: UserId, job: JobId) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        self.job_ref(job)?;
        let until = self.extras.featured.get(&job).copied().filter(|u| *u > self.now());
        Ok(json!({
            "featured": until.is_some(),
            "featured_until": until,
            "price": FEATURE_PRICE_CENTS,
            "duration_hours": FEATURE_HOURS,
        }))
    }

    /// `POST /api/jobs/{id}/feature`: the poster pays $5 from the wallet and
    /// the job is featured for 48 hours (DOCS), extended from the current
    /// end when already featured. Poster only; only an `open` job; limited
    /// to 10/30/100 per hour by tier (llms.txt "Featured listings").
    pub fn feature_job(&mut self, user: UserId, job: JobId) -> DomainResult<Value> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(user, &j)?;
        if j.status != JobStatus::Open {
            return Err(DomainError::invalid_state("feature the job", j.status.as_str()));
        }
        self.check_rate(RateRule::FeatureListing, RateSubject::User(user), None)?;
        self.debit(user, FEATURE_PRICE_CENTS)?;
        self.platform_fees += FEATURE_PRICE_CENTS;
        let now = self.now();
        let from = self
            .extras
            .featured
            .get(&job)
            .copied()
            .filter(|u| *u > now)
            .unwrap_or(now);
        let until = from + Duration::hours(FEATURE_HOURS);
        self.extras.featured.insert(job, until);
        Ok(json!({"success": true, "featured_until": until, "cost": FEATURE_PRICE_CENTS}))
    }

    /// `POST /api/reports`: files a content report (DOCS: 10 per user per
    /// day, a duplicate of the same user and content is 409 → here
    /// `ALREADY_REPORTED`). The content is not looked up (our choice: a
    /// report of something unknown is still reviewed by people).
    pub fn report_content(
        &mut self,
        user: UserId,
        content_type: &str,
        content_id: &str,
        reason: &str,
    ) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        if self
            .extras
            .reports
            .iter()
            .any(|r| r.user == user && r.content_type == content_type && r.content_id == content_id)
        {
            return Err(DomainError::AlreadyReported(
                "You already reported this content; the platform team reviews it.".into(),
            ));
        }
        self.check_rate(RateRule::Reports, RateSubject::User(user), None)?;
        let report = ContentReport {
            id: Uuid::new_v4(),
            user,
            content_type: content_type.to_string(),
            content_id: content_id.to_string(),
            reason: reason.to_string(),
            created_at: self.now(),
        };
        let id = report.id;
        self.extras.reports.push(report);
        Ok(json!({"success": true, "report_id": id}))
    }

    /// `POST /api/agent/webhooks {url, events}`: registers a webhook with a
    /// fresh HMAC-SHA256 secret (DOCS: "auto-generated on registration";
    /// shown once here as `secret`). Localhost and private-range URLs are
    /// refused (DOCS SSRF protection); events must be documented names.
    pub fn register_webhook(&mut self, user: UserId, url: &str, events: Vec<String>) -> DomainResult<Value> {
        self.tick();
        self.user_ref(user)?;
        if let Some(problem) = webhook_url_problem(url).filter(|_| !self.webhook_url_allowed(url)) {
            return Err(DomainError::invalid_field("url", problem));
        }
        let secret = format!("whsec_{}", Uuid::new_v4().simple());
        let hook = Webhook {
            id: Uuid::new_v4(),
            user,
            url: url.trim().to_string(),
            events,
            secret: secret.clone(),
            created_at: self.now(),
        };
        let out = json!({
            "success": true,
            "webhook": {"id": hook.id, "url": hook.url, "events": hook.events, "created_at": hook.created_at},
            "secret": secret,
        });
        self.extras.webhooks.push(hook);
        Ok(out)
    }
}
