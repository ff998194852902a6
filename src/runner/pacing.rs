//! Pacing: keep each actor under its tier's per-minute limit with a token
//! bucket, and read `Retry-After`.
//!
//! The bucket holds half a minute's allowance and refills the other half
//! over the minute, so no 60-second window (fixed or sliding) ever sees
//! more than the limit. It must not send anything itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::scenario::Tier;

/// Longest `Retry-After` the runner waits.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Requests per minute allowed for a tier on the standard limit.
pub(crate) fn per_minute(tier: Tier) -> u32 {
    match tier {
        Tier::Free => 30,
        Tier::Pro => 120,
        Tier::Enterprise => 300,
    }
}

struct Bucket {
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(limit: u32) -> Self {
        let capacity = (f64::from(limit) / 2.0).max(1.0);
        Bucket {
            tokens: capacity,
            capacity,
            per_sec: f64::from(limit) / 2.0 / 60.0,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// Takes a token at `now`, or says how long until one is there.
    fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(((1.0 - self.tokens) / self.per_sec).max(0.001)))
        }
    }
}

/// The limit every authenticated call counts against.
pub(crate) const STANDARD_LIMIT: &str = "standard limit of 30/120/300 per minute by tier";

/// The documented limit an operation is subject to (docs/api "Rate
/// limits", llms.txt "Rate limits"), by `METHOD /path/{template}`, with the
/// longest window it counts over: a `Retry-After` longer than that window
/// answers no documented limit.
pub(crate) fn documented_limit(operation: &str) -> (&'static str, Duration) {
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);
    match operation {
        "POST /api/auth/register" => ("registration limit of 10 per hour per IP", HOUR),
        "POST /api/auth/login" => ("login limit of 20 per minute per IP", MINUTE),
        "POST /api/jobs/{id}/fund-escrow"
        | "POST /api/jobs/{id}/fund-proof-escrow"
        | "POST /api/agent/jobs/{id}/fund" => (
            "funding limit (3 per minute; 20/60/200 per hour by tier; 5 per hour per job)",
            HOUR,
        ),
        "POST /api/jobs/{id}/apply" | "POST /api/agent/jobs/{id}/accept" => {
            ("application limit of 20/50/100 per hour by tier", HOUR)
        }
        "GET /api/jobs/{id}/download" => ("download limit of 30 per hour per user per job", HOUR),
        "POST /api/agent/jobs" | "POST /api/integrations/jobs" => {
            ("job posting limit of 10/30/100 per hour by tier", HOUR)
        }
        "POST /api/jobs/{id}/feature" => ("featured-listing limit of 10/30/100 per hour by tier", HOUR),
        "GET /api/public/agents/{id}/reputation" => ("reputation limit of 30 per minute per IP", MINUTE),
        "POST /api/reports" => ("report limit of 10 per user per day", DAY),
        _ => (STANDARD_LIMIT, MINUTE),
    }
}

/// Run-wide buckets, keyed by account (so static credentials shared by
/// scenarios share one bucket).
#[derive(Clone, Default)]
pub(crate) struct Pacer {
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl Pacer {
    /// Waits until `key` may send one request; answers the time waited.
    pub async fn acquire(&self, key: &str, limit: u32) -> Duration {
        let started = Instant::now();
        loop {
            let wait = {
                let mut map = self.buckets.lock();
                let b = map.entry(key.to_string()).or_insert_with(|| Bucket::new(limit));
                match b.try_take(Instant::now()) {
                    Ok(()) => return started.elapsed(),
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Empties `key`'s bucket (after an unexpected 429).
    pub fn drain(&self, key: &str) {
        if let Some(b) = self.buckets.lock().get_mut(key) {
            b.tokens = 0.0;
            b.last = Instant::now();
        }
    }
}

/// Parses `Retry-After`: integer seconds or an HTTP date; a malformed
/// value counts as 1 s, and every value is capped at [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(value: Option<&str>) -> Duration {
    match requested_wait(value) {
        Ok(Some(d)) => d.min(MAX_RETRY_AFTER),
        Ok(None) | Err(()) => Duration::from_secs(1),
    }
}

/// What a `Retry-After` value asks for, uncapped (huge values saturate):
/// `Ok(None)` when absent, `Err(())` when it is neither seconds nor an
/// HTTP date.
pub(crate) fn requested_wait(value: Option<&str>) -> Result<Option<Duration>, ()> {
    let Some(v) = value.map(str::trim) else { return Ok(None) };
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Some(v.parse::<u64>().map(Duration::from_secs).unwrap_or(Duration::MAX)));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)));
        }
        return Err(());
    }
    if let Ok(date) = chrono::DateTime::parse_from_rfc2822(v) {
        let millis = (date.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .num_milliseconds()
            .max(0) as u64;
        return Ok(Some(Duration::from_millis(millis)));
    }
    Err(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values() {
        assert_eq!(retry_after(Some("3")), Duration::from_secs(3));
        assert_eq!(retry_after(Some("999999999999")), MAX_RETRY_AFTER);
        assert_eq!(retry_after(Some("99999999999999999999999")), Duration::from_secs(60));
        assert_eq!(retry_after(Some("soon")), Duration::from_secs(1));
        assert_eq!(retry_after(Some("-5")), Duration::from_secs(1));
        assert_eq!(retry_after(None), Duration::from_secs(1));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), Duration::ZERO);
        assert_eq!(
            requested_wait(Some("999999999")),
            Ok(Some(Duration::from_secs(999_999_999)))
        );
        assert_eq!(requested_wait(Some("99999999999999999999999")), Ok(Some(Duration::MAX)));
        assert_eq!(requested_wait(Some("1e300")), Ok(Some(Duration::MAX)));
        assert_eq!(requested_wait(Some("soon")), Err(()));
        assert_eq!(requested_wait(Some("")), Err(()));
        assert_eq!(requested_wait(None), Ok(None));
    }

    #[test]
    fn bucket_keeps_every_minute_under_the_limit() {
        let t0 = Instant::now();
        let mut b = Bucket::new(30);
        b.last = t0;
        // 15 at once, then one every 4 s: 30 in any 60 s window.
        for _ in 0..15 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).unwrap_err();
        assert!(
            wait >= Duration::from_millis(3900) && wait <= Duration::from_millis(4100),
            "{wait:?}"
        );
        let mut sent = 15;
        let mut t = t0;
        while t < t0 + Duration::from_secs(60) {
            t += Duration::from_millis(100);
            if b.try_take(t).is_ok() {
                sent += 1;
            }
        }
        assert!(sent <= 30, "{sent} requests in the first minute");
        assert!(sent >= 28, "{sent} requests in the first minute");
    }

    #[tokio::test]
    async fn keys_are_independent() {
        let p = Pacer::default();
        for _ in 0..15 {
            assert!(p.acquire("a", 30).await < Duration::from_millis(50));
        }
        assert!(p.acquire("b", 30).await < Duration::from_millis(50));
    }
}
