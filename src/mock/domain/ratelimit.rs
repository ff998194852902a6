//! Rate limits: sliding-window logs keyed by (rule, user or IP, job), reading the server clock.
//!
//! A request that is allowed is recorded in every window it was checked
//! against; a refused (429) request consumes nothing. `Retry-After` is the
//! number of seconds until the oldest counted request leaves the window (≥ 1).
//! Under the `fixed_window_limits` choice the windows are fixed instead,
//! aligned on the clock's minutes and hours (a minute window runs from
//! `hh:mm:00` to the next minute): only the requests of the current window
//! count, and `Retry-After` is the number of seconds to the next window.
//! This module decides nothing about which call uses which rule.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::{DomainError, DomainResult, JobId, Marketplace, Tier, UserId};

/// A named limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateRule {
    /// Every authenticated `/api` call: 30/120/300 per minute by tier.
    Standard,
    /// fund-escrow and fund-proof-escrow: 3 per minute.
    FundBurst,
    /// fund-escrow and fund-proof-escrow: 20/60/200 per hour by tier.
    FundHourly,
    /// fund-escrow and fund-proof-escrow: 5 per hour per job.
    FundPerJob,
    /// Applications: 20/50/100 per hour by tier.
    Applications,
    /// Signed-URL downloads: 30 per hour per user per job.
    Downloads,
    /// Login: 20 per minute per IP.
    Login,
    /// Registration: 10 per hour per IP.
    Register,
    /// The public reputation API: 30 per minute per IP.
    Reputation,
    /// Featured listings: 10/30/100 per hour by tier.
    FeatureListing,
    /// Content reports: 10 per user per day.
    Reports,
    /// Job posting: 10/30/100 per hour by tier (docs/api "Rate limits").
    JobPosting,
}

impl RateRule {
    /// `(limit, window in seconds)` for a tier.
    pub fn limit(self, tier: Tier) -> (usize, i64) {
        let by_tier = |f: usize, p: usize, e: usize| match tier {
            Tier::Free => f,
            Tier::Pro => p,
            Tier::Enterprise => e,
        };
        match self {
            RateRule::Standard => (by_tier(30, 120, 300), 60),
            RateRule::FundBurst => (3, 60),
            RateRule::FundHourly => (by_tier(20, 60, 200), 3600),
            RateRule::FundPerJob => (5, 3600),
            RateRule::Applications => (by_tier(20, 50, 100), 3600),
            RateRule::Downloads => (30, 3600),
            RateRule::Login => (20, 60),
            RateRule::Register => (10, 3600),
            RateRule::Reputation => (30, 60),
            RateRule::FeatureListing => (by_tier(10, 30, 100), 3600),
            RateRule::Reports => (10, 86_400),
            RateRule::JobPosting => (by_tier(10, 30, 100), 3600),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            RateRule::Standard => "API requests",
            RateRule::FundBurst | RateRule::FundHourly | RateRule::FundPerJob => "escrow-funding attempts",
            RateRule::Applications => "applications",
            RateRule::Downloads => "downloads for this job",
            RateRule::Login => "login attempts from this IP",
            RateRule::Register => "registrations from this IP",
            RateRule::Reputation => "reputation lookups from this IP",
            RateRule::FeatureListing => "featured listings",
            RateRule::Reports => "content reports today",
            RateRule::JobPosting => "job postings",
        }
    }
}

/// Who a limit is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateSubject {
    /// A user (per user, whatever credential it used).
    User(UserId),
    /// A client IP (login, registration).
    Ip(String),
}

type Key = (RateRule, RateSubject, Option<JobId>);

/// The window logs.
#[derive(Debug, Default, Clone)]
pub struct RateLimiter {
    windows: HashMap<Key, VecDeque<DateTime<Utc>>>,
    /// Fixed clock-aligned windows instead of sliding ones.
    fixed: bool,
}

/// Start of the fixed window of `window` seconds that holds `now`, in epoch milliseconds.
fn window_start_ms(now: DateTime<Utc>, window: i64) -> i64 {
    now.timestamp_millis().div_euclid(window * 1000) * (window * 1000)
}

impl RateLimiter {
    /// Counts in fixed windows aligned on the clock (`true`) or in sliding
    /// windows (`false`, the default).
    pub fn set_fixed_windows(&mut self, fixed: bool) {
        self.fixed = fixed;
    }

    /// Checks every `(rule, subject, job)` against its limit at `now`; when all
    /// pass, records one hit in each. Otherwise refuses with the largest wait.
    pub fn check_all(
        &mut self,
        checks: &[(RateRule, RateSubject, Option<JobId>)],
        tier: Tier,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let mut wait: Option<(i64, RateRule)> = None;
        for (rule, subject, job) in checks {
            let (limit, window) = rule.limit(tier);
            let key = (*rule, subject.clone(), *job);
            let log = self.windows.entry(key).or_default();
            let start = window_start_ms(now, window);
            while let Some(front) = log.front() {
                let gone = if self.fixed {
                    front.timestamp_millis() < start
                } else {
                    (now - *front).num_milliseconds() >= window * 1000
                };
                if gone {
                    log.pop_front();
                } else {
                    break;
                }
            }
            if log.len() >= limit {
                let ms_left = if self.fixed {
                    start + window * 1000 - now.timestamp_millis()
                } else {
                    let oldest = *log.front().expect("non-empty when at limit");
                    window * 1000 - (now - oldest).num_milliseconds()
                };
                let secs = ((ms_left + 999) / 1000).max(1);
                if wait.is_none_or(|(w, _)| secs > w) {
                    wait = Some((secs, *rule));
                }
            }
        }
        if let Some((secs, rule)) = wait {
            let (limit, window) = rule.limit(tier);
            let per = if window == 60 { "minute" } else { "hour" };
            return Err(DomainError::RateLimited {
                message: format!(
                    "Too many {} (limit {limit} per {per}). Retry after {secs} seconds.",
                    rule.describe()
                ),
                retry_after_secs: secs as u64,
            });
        }
        for (rule, subject, job) in checks {
            self.windows
                .entry((*rule, subject.clone(), *job))
                .or_default()
                .push_back(now);
        }
        Ok(())
    }

    /// Like [`RateLimiter::check_all`] but records nothing.
    pub fn peek(
        &self,
        rule: RateRule,
        subject: &RateSubject,
        job: Option<JobId>,
        tier: Tier,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let mut copy = RateLimiter {
            fixed: self.fixed,
            ..RateLimiter::default()
        };
        if let Some(log) = self.windows.get(&(rule, subject.clone(), job)) {
            copy.windows.insert((rule, subject.clone(), job), log.clone());
        }
        copy.check_all(&[(rule, subject.clone(), job)], tier, now)
    }
}

impl Marketplace {
    /// Turns every rate limit on (the default) or off. Off is for load
    /// benchmarks only: no request is counted or refused.
    pub fn set_rate_limits(&mut self, on: bool) {
        self.rate_limits = on;
    }

    /// Whether rate limits apply.
    pub fn rate_limits(&self) -> bool {
        self.rate_limits
    }

    /// Counts one request against `rule` for `subject` (and `job`, for per-job
    /// rules), using the subject's tier (free for IPs). Refused → `RATE_LIMITED`.
    pub fn check_rate(&mut self, rule: RateRule, subject: RateSubject, job: Option<JobId>) -> DomainResult<()> {
        if !self.rate_limits {
            return Ok(());
        }
        let tier = self.counted_tier(rule, self.subject_tier(&subject));
        let now = self.now();
        let checked = self.limiter.check_all(&[(rule, subject, job)], tier, now);
        self.in_real_seconds(checked)
    }

    /// A refusal's `Retry-After` in real seconds (the clock may run fast).
    fn in_real_seconds(&self, checked: DomainResult<()>) -> DomainResult<()> {
        checked.map_err(|e| match e {
            DomainError::RateLimited {
                message,
                retry_after_secs,
            } if self.clock().rate() > 1 => DomainError::RateLimited {
                message,
                retry_after_secs: self.clock().real_secs(retry_after_secs),
            },
            other => other,
        })
    }

    /// The standard per-minute limit; the HTTP layer calls it on every authenticated `/api` call.
    pub fn check_standard_rate(&mut self, user: UserId) -> DomainResult<()> {
        self.check_rate(RateRule::Standard, RateSubject::User(user), None)
    }

    pub(super) fn subject_tier(&self, subject: &RateSubject) -> Tier {
        match subject {
            RateSubject::User(u) => self.users.get(u).map(|u| u.tier).unwrap_or_default(),
            RateSubject::Ip(_) => Tier::Free,
        }
    }

    /// The tier whose figures `rule` is counted with for an account of
    /// `tier`: its own, unless a fault (`funding_one_tier`,
    /// `enterprise_as_pro`, `posting_one_tier`, `applications_one_tier`)
    /// counts it with another tier's.
    fn counted_tier(&self, rule: RateRule, tier: Tier) -> Tier {
        use super::Fault;
        match rule {
            RateRule::FundHourly if self.breaks(Fault::FundingOneTier) => Tier::Free,
            RateRule::JobPosting if self.breaks(Fault::PostingOneTier) => Tier::Free,
            RateRule::Applications if self.breaks(Fault::ApplicationsOneTier) => Tier::Free,
            RateRule::FundHourly | RateRule::Applications
                if tier == Tier::Enterprise && self.breaks(Fault::EnterpriseAsPro) =>
            {
                Tier::Pro
            }
            _ => tier,
        }
    }

    /// The three fund limits at once (burst, hourly by tier, per job).
    pub(super) fn check_fund_rate(&mut self, user: UserId, job: JobId) -> DomainResult<()> {
        if !self.rate_limits {
            return Ok(());
        }
        // The burst and per-job limits have one figure for every tier, so the
        // tier the hourly limit is counted with serves the three checks.
        let tier = self.counted_tier(RateRule::FundHourly, self.subject_tier(&RateSubject::User(user)));
        let now = self.now();
        let s = RateSubject::User(user);
        let mut checks = vec![
            (RateRule::FundBurst, s.clone(), None),
            (RateRule::FundHourly, s.clone(), None),
            (RateRule::FundPerJob, s, Some(job)),
        ];
        if self.breaks(super::Fault::FundingUnlimited) {
            checks.retain(|(rule, _, _)| *rule != RateRule::FundHourly);
        }
        if self.breaks(super::Fault::FundingPerJobUnlimited) {
            checks.retain(|(rule, _, _)| *rule != RateRule::FundPerJob);
        }
        let checked = self.limiter.check_all(&checks, tier, now);
        self.in_real_seconds(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn window_fills_refuses_and_reopens() {
        let mut rl = RateLimiter::default();
        let s = RateSubject::Ip("1.2.3.4".into());
        let now = t0();
        for i in 0..20 {
            rl.check_all(
                &[(RateRule::Login, s.clone(), None)],
                Tier::Free,
                now + Duration::seconds(i),
            )
            .unwrap();
        }
        let e = rl
            .check_all(
                &[(RateRule::Login, s.clone(), None)],
                Tier::Free,
                now + Duration::seconds(30),
            )
            .unwrap_err();
        assert_eq!(e.retry_after(), Some(30));
        // a refused attempt does not consume a slot: at t=60 the first hit left
        rl.check_all(
            &[(RateRule::Login, s.clone(), None)],
            Tier::Free,
            now + Duration::seconds(60),
        )
        .unwrap();
        assert!(
            rl.check_all(
                &[(RateRule::Login, s.clone(), None)],
                Tier::Free,
                now + Duration::seconds(60)
            )
            .is_err()
        );
        rl.check_all(&[(RateRule::Login, s, None)], Tier::Free, now + Duration::seconds(61))
            .unwrap();
    }

    #[test]
    fn tiers_scale_standard_limit() {
        assert_eq!(RateRule::Standard.limit(Tier::Free).0, 30);
        assert_eq!(RateRule::Standard.limit(Tier::Pro).0, 120);
        assert_eq!(RateRule::Standard.limit(Tier::Enterprise).0, 300);
        assert_eq!(RateRule::Applications.limit(Tier::Pro).0, 50);
        assert_eq!(RateRule::FundHourly.limit(Tier::Enterprise).0, 200);
    }

    #[test]
    fn combined_check_records_nothing_when_refused() {
        let mut rl = RateLimiter::default();
        let u = RateSubject::User(uuid::Uuid::new_v4());
        let j1 = uuid::Uuid::new_v4();
        let checks = |j| {
            vec![
                (RateRule::FundBurst, u.clone(), None),
                (RateRule::FundPerJob, u.clone(), Some(j)),
            ]
        };
        for _ in 0..3 {
            rl.check_all(&checks(j1), Tier::Free, t0()).unwrap();
        }
        let e = rl.check_all(&checks(j1), Tier::Free, t0()).unwrap_err();
        assert_eq!(e.retry_after(), Some(60));
        // after a minute the burst reopens; the per-job count is 3, not 4
        let later = t0() + Duration::seconds(60);
        rl.check_all(&checks(j1), Tier::Free, later).unwrap();
        rl.check_all(&checks(j1), Tier::Free, later).unwrap();
        let e = rl
            .check_all(&checks(j1), Tier::Free, later + Duration::seconds(1))
            .unwrap_err();
        // per-job: 5 used; the oldest leaves at t0 + 3600
        assert_eq!(e.retry_after(), Some(3539));
    }

    #[test]
    fn fixed_windows_reset_on_the_clock_and_wait_for_the_next_one() {
        let s = RateSubject::Ip("1.2.3.4".into());
        let login = |rl: &mut RateLimiter, at: DateTime<Utc>| {
            rl.check_all(&[(RateRule::Login, s.clone(), None)], Tier::Free, at)
        };
        // 20 logins from 00:00:40 to 00:00:59: the minute is full.
        let (mut sliding, mut fixed) = (RateLimiter::default(), RateLimiter::default());
        fixed.set_fixed_windows(true);
        for i in 0..20 {
            login(&mut sliding, t0() + Duration::seconds(40 + i)).unwrap();
            login(&mut fixed, t0() + Duration::seconds(40 + i)).unwrap();
        }
        let at = t0() + Duration::milliseconds(59_500);
        // Sliding: the oldest (00:00:40) leaves at 00:01:40; fixed: the next window opens at 00:01:00.
        assert_eq!(login(&mut sliding, at).unwrap_err().retry_after(), Some(41));
        assert_eq!(login(&mut fixed, at).unwrap_err().retry_after(), Some(1));
        // At 00:01:00 the fixed window is empty again; the sliding one still holds 20.
        let next = t0() + Duration::seconds(60);
        assert!(login(&mut sliding, next).is_err());
        for _ in 0..20 {
            login(&mut fixed, next).unwrap();
        }
        let e = login(&mut fixed, next + Duration::seconds(15)).unwrap_err();
        assert_eq!(e.retry_after(), Some(45), "seconds to 00:02:00");
        // An hour window is aligned on the hour.
        let mut hourly = RateLimiter::default();
        hourly.set_fixed_windows(true);
        let u = RateSubject::User(uuid::Uuid::new_v4());
        let late = t0() + Duration::minutes(50);
        for _ in 0..10 {
            hourly
                .check_all(&[(RateRule::Register, u.clone(), None)], Tier::Free, late)
                .unwrap();
        }
        let e = hourly
            .check_all(&[(RateRule::Register, u.clone(), None)], Tier::Free, late)
            .unwrap_err();
        assert_eq!(e.retry_after(), Some(600));
        hourly
            .check_all(&[(RateRule::Register, u, None)], Tier::Free, t0() + Duration::hours(1))
            .unwrap();
    }
}
