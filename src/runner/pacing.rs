//! Pacing: keep each actor under its tier's per-minute limit, and read
//! `Retry-After`.
//!
//! Each key keeps the times of its last `limit` requests and lets one more
//! go when fewer than `limit` went in the last [`WINDOW`] (a minute and a
//! second, for the network's delays): no 60-second window, sliding or
//! clock-aligned, ever sees more than the limit, and an actor that makes
//! fewer requests than its limit in a minute never waits. A burst (a
//! `repeat`, sent without pacing) counts in the log as it went; after an
//! unexpected 429 the key trickles (half the limit a minute) for a window.
//! Times are the target's: a clock step moves them with the target's clock.
//! It must not send anything itself.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::scenario::Tier;

/// Longest `Retry-After` the runner waits.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The window a per-minute limit is kept over: a minute, and a second for
/// requests the network delays on the way.
pub(crate) const WINDOW: Duration = Duration::from_secs(61);

/// Requests per minute allowed for a tier on the standard limit.
pub(crate) fn per_minute(tier: Tier) -> u32 {
    match tier {
        Tier::Free => 30,
        Tier::Pro => 120,
        Tier::Enterprise => 300,
    }
}

/// A token bucket holding half a minute's allowance and refilling the
/// other half over the minute: the pace after a burst.
struct Trickle {
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    last: Instant,
}

impl Trickle {
    /// An empty bucket (the burst took everything).
    fn empty(limit: u32, now: Instant) -> Self {
        Trickle {
            tokens: 0.0,
            capacity: (f64::from(limit) / 2.0).max(1.0),
            per_sec: f64::from(limit) / 2.0 / 60.0,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// How long until a token is there (zero: now).
    fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(((1.0 - self.tokens) / self.per_sec).max(0.001))
        }
    }
}

/// The limit every authenticated call counts against.
pub(crate) const STANDARD_LIMIT: &str = "standard limit of 30/120/300 per minute by tier";

/// One key's requests.
struct Bucket {
    limit: usize,
    /// When each of the last `limit` requests went, oldest first.
    sent: VecDeque<Instant>,
    /// After an unexpected 429: the trickle, and when the 429 came.
    drained: Option<(Trickle, Instant)>,
}

impl Bucket {
    fn new(limit: u32) -> Self {
        let limit = limit.max(1) as usize;
        Bucket {
            limit,
            sent: VecDeque::with_capacity(limit),
            drained: None,
        }
    }

    fn forget_old(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.sent.pop_front();
        }
        if self
            .drained
            .as_ref()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= WINDOW)
        {
            self.drained = None;
        }
    }

    /// Takes a request at `now`, or says how long until one may go.
    fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.forget_old(now);
        if self.sent.len() >= self.limit {
            let oldest = self.sent.front().copied().unwrap_or(now);
            return Err((WINDOW.saturating_sub(now.saturating_duration_since(oldest))).max(Duration::from_millis(1)));
        }
        if let Some((trickle, _)) = &mut self.drained {
            let wait = trickle.wait(now);
            if !wait.is_zero() {
                return Err(wait);
            }
            trickle.tokens -= 1.0;
        }
        self.sent.push_back(now);
        Ok(())
    }

    /// `count` requests went at `now` without pacing (a burst).
    fn record(&mut self, now: Instant, count: usize) {
        self.forget_old(now);
        for _ in 0..count.min(self.limit) {
            if self.sent.len() >= self.limit {
                self.sent.pop_front();
            }
            self.sent.push_back(now);
        }
    }

    /// The target refused for the limit: trickle for a window.
    fn drain(&mut self, now: Instant) {
        self.drained = Some((Trickle::empty(self.limit as u32, now), now));
    }
}

/// What a step does to an actor's allowance, for [`expected_wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use<'a> {
    /// A paced request by `actor`, whose limit is `limit` a minute.
    Request { actor: &'a str, limit: u32 },
    /// A burst of `count` unpaced requests by `actor`.
    Burst { actor: &'a str, limit: u32, count: u32 },
    /// The target's clock moves on by this much.
    Clock(Duration),
}

/// What pacing will likely make a scenario wait, from what its steps do
/// in order: an actor whose window is full waits for it to turn. Used to
/// start the scenarios that wait most first, so that their waits overlap
/// the others'.
pub(crate) fn expected_wait<'a>(uses: impl IntoIterator<Item = Use<'a>>) -> Duration {
    // Per actor: requests in the current window.
    let mut in_window: HashMap<&str, u32> = HashMap::new();
    let mut waited = Duration::ZERO;
    for u in uses {
        match u {
            Use::Request { actor, limit } => {
                let n = in_window.entry(actor).or_default();
                if *n >= limit.max(1) {
                    waited += WINDOW;
                    *n = 0;
                }
                *n += 1;
            }
            Use::Burst { actor, limit, count } => {
                let n = in_window.entry(actor).or_default();
                *n = (*n + count).min(limit.max(1));
            }
            Use::Clock(d) if d >= WINDOW => in_window.clear(),
            Use::Clock(_) => {}
        }
    }
    waited
}

/// A documented rate limit beyond the standard per-minute one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DocumentedLimit {
    /// The limit in words (also the label pool accounts count sends by).
    pub label: &'static str,
    /// The longest window it counts over: a `Retry-After` longer than that
    /// answers no documented limit.
    pub window: Duration,
    /// Its hourly figures for free, pro and enterprise, when it has one by
    /// tier.
    pub hourly_by_tier: Option<[u32; 3]>,
}

/// The documented limit an operation is subject to (docs/api "Rate
/// limits", llms.txt "Rate limits"), by `METHOD /path/{template}`.
pub(crate) fn documented_limit(operation: &str) -> DocumentedLimit {
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);
    let (label, window, hourly_by_tier) = match operation {
        "POST /api/auth/register" => ("registration limit of 10 per hour per IP", HOUR, None),
        "POST /api/auth/login" => ("login limit of 20 per minute per IP", MINUTE, None),
        "POST /api/jobs/{id}/fund-escrow"
        | "POST /api/jobs/{id}/fund-proof-escrow"
        | "POST /api/agent/jobs/{id}/fund" => (
            "funding limit (3 per minute; 20/60/200 per hour by tier; 5 per hour per job)",
            HOUR,
            Some([20, 60, 200]),
        ),
        "POST /api/jobs/{id}/apply" | "POST /api/agent/jobs/{id}/accept" => (
            "application limit of 20/50/100 per hour by tier",
            HOUR,
            Some([20, 50, 100]),
        ),
        "GET /api/jobs/{id}/download" => ("download limit of 30 per hour per user per job", HOUR, None),
        "POST /api/agent/jobs" | "POST /api/integrations/jobs" => (
            "job posting limit of 10/30/100 per hour by tier",
            HOUR,
            Some([10, 30, 100]),
        ),
        "POST /api/jobs/{id}/feature" => (
            "featured-listing limit of 10/30/100 per hour by tier",
            HOUR,
            Some([10, 30, 100]),
        ),
        "GET /api/public/agents/{id}/reputation" => ("reputation limit of 30 per minute per IP", MINUTE, None),
        "POST /api/reports" => ("report limit of 10 per user per day", DAY, None),
        _ => (STANDARD_LIMIT, MINUTE, None),
    };
    DocumentedLimit {
        label,
        window,
        hourly_by_tier,
    }
}

/// Run-wide request logs, keyed by account (so static credentials shared
/// by scenarios share one log).
#[derive(Clone)]
pub(crate) struct Pacer {
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
    /// How far clock steps moved the target's clock ahead of ours.
    ahead: Arc<Mutex<Duration>>,
    /// Seconds on the target's clock per real second (the profile's
    /// `clock_rate`), and the real instant its clock is counted from.
    rate: u32,
    origin: Instant,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::with_rate(1)
    }
}

impl Pacer {
    /// A pacer for a target whose clock runs `rate` times as fast as ours.
    pub fn with_rate(rate: u32) -> Self {
        Pacer {
            buckets: Arc::default(),
            ahead: Arc::default(),
            rate: rate.max(1),
            origin: Instant::now(),
        }
    }

    /// Now on the target's clock (as an `Instant`).
    fn now(&self) -> Instant {
        let real = Instant::now();
        let elapsed = real.saturating_duration_since(self.origin).saturating_mul(self.rate);
        let now = self.origin.checked_add(elapsed).unwrap_or(real);
        now.checked_add(*self.ahead.lock()).unwrap_or(now)
    }

    /// A wait on the target's clock, in real time.
    fn real(&self, target: Duration) -> Duration {
        (target / self.rate).max(Duration::from_millis(1))
    }

    /// Waits until `key` may send one request; answers the time waited.
    pub async fn acquire(&self, key: &str, limit: u32) -> Duration {
        let started = Instant::now();
        loop {
            let wait = {
                let now = self.now();
                let mut map = self.buckets.lock();
                let b = map.entry(key.to_string()).or_insert_with(|| Bucket::new(limit));
                match b.try_take(now) {
                    Ok(()) => return started.elapsed(),
                    Err(wait) => self.real(wait),
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts `count` requests `key` just sent without pacing (a burst).
    pub fn record(&self, key: &str, limit: u32, count: usize) {
        let now = self.now();
        self.buckets
            .lock()
            .entry(key.to_string())
            .or_insert_with(|| Bucket::new(limit))
            .record(now, count);
    }

    /// After an unexpected 429: `key`'s next requests trickle for a window.
    pub fn drain(&self, key: &str, limit: u32) {
        let now = self.now();
        self.buckets
            .lock()
            .entry(key.to_string())
            .or_insert_with(|| Bucket::new(limit))
            .drain(now);
    }

    /// The target's clock moved ahead by `by` (a clock step): requests
    /// that far back no longer count in its windows.
    pub fn advance(&self, by: Duration) {
        let mut ahead = self.ahead.lock();
        *ahead = ahead.saturating_add(by);
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

    /// The most requests `sent` (sorted) puts in any window of `len`.
    fn busiest(sent: &[Instant], len: Duration) -> usize {
        (0..sent.len())
            .map(|i| sent[i..].iter().take_while(|t| t.duration_since(sent[i]) < len).count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn no_minute_ever_sees_more_than_the_limit() {
        let t0 = Instant::now();
        let mut b = Bucket::new(30);
        // 30 at once: an actor under its limit never waits.
        for _ in 0..30 {
            assert!(b.try_take(t0).is_ok());
        }
        let wait = b.try_take(t0).unwrap_err();
        assert_eq!(wait, WINDOW);
        // Asking every 100 ms for five minutes: every 61-second window holds
        // at most 30, and about 30 go each window.
        let mut sent = vec![t0; 30];
        let mut t = t0;
        while t < t0 + Duration::from_secs(300) {
            t += Duration::from_millis(100);
            if b.try_take(t).is_ok() {
                sent.push(t);
            }
        }
        assert_eq!(busiest(&sent, WINDOW), 30);
        assert!(sent.len() >= 30 * 4 && sent.len() <= 30 * 5 + 1, "{}", sent.len());
    }

    #[test]
    fn bursts_count_and_clock_steps_free_the_window() {
        let t0 = Instant::now();
        let mut b = Bucket::new(30);
        for _ in 0..10 {
            assert!(b.try_take(t0).is_ok());
        }
        // A burst of 25 (more than is left): the window is full.
        b.record(t0, 25);
        assert_eq!(b.sent.len(), 30);
        assert!(b.try_take(t0 + Duration::from_secs(30)).is_err());
        // A window later it is open again.
        assert!(b.try_take(t0 + WINDOW).is_ok());
    }

    #[test]
    fn a_429_makes_the_key_trickle_for_a_window() {
        let t0 = Instant::now();
        let mut b = Bucket::new(30);
        b.drain(t0);
        let wait = b.try_take(t0).unwrap_err();
        assert!(
            wait >= Duration::from_millis(3900) && wait <= Duration::from_millis(4100),
            "{wait:?}"
        );
        assert!(b.try_take(t0 + Duration::from_secs(4)).is_ok());
        assert!(b.try_take(t0 + Duration::from_secs(5)).is_err());
        // After the window, the log alone decides again.
        for _ in 0..29 {
            assert!(b.try_take(t0 + WINDOW).is_ok());
        }
    }

    #[tokio::test]
    async fn a_fast_target_clock_turns_the_windows_in_less_real_time() {
        // 600 target seconds a second: the 61 s window passes in about 0.1 s.
        let p = Pacer::with_rate(600);
        for _ in 0..30 {
            assert!(p.acquire("a", 30).await < Duration::from_millis(50));
        }
        let waited = p.acquire("a", 30).await;
        assert!(
            waited >= Duration::from_millis(60) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn keys_are_independent_and_clock_steps_move_the_windows() {
        let p = Pacer::default();
        for _ in 0..30 {
            assert!(p.acquire("a", 30).await < Duration::from_millis(50));
        }
        assert!(p.acquire("b", 30).await < Duration::from_millis(50));
        p.record("b", 30, 100);
        // The target's clock moves on a minute and more: both windows are open.
        p.advance(Duration::from_secs(61));
        assert!(p.acquire("a", 30).await < Duration::from_millis(50));
        assert!(p.acquire("b", 30).await < Duration::from_millis(50));
    }

    #[test]
    fn expected_waits() {
        let req = |actor| Use::Request { actor, limit: 30 };
        // 23 requests by one free actor: no wait.
        assert_eq!(expected_wait(std::iter::repeat_n(req("agent"), 23)), Duration::ZERO);
        // 31 by one: a window; 31 spread over two actors: none.
        assert_eq!(expected_wait(std::iter::repeat_n(req("agent"), 31)), WINDOW);
        let two = (0..31).map(|i| req(if i % 2 == 0 { "a" } else { "b" }));
        assert_eq!(expected_wait(two), Duration::ZERO);
        // A burst to the limit, then a request: a window, unless the clock moved on.
        let burst = Use::Burst {
            actor: "agent",
            limit: 30,
            count: 61,
        };
        assert_eq!(expected_wait([burst, req("agent")]), WINDOW);
        assert_eq!(expected_wait([burst, req("other")]), Duration::ZERO);
        assert_eq!(
            expected_wait([burst, Use::Clock(Duration::from_secs(61)), req("agent")]),
            Duration::ZERO
        );
    }
}
