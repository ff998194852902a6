//! The server clock: real time plus an offset the control API advances,
//! optionally running faster than real time (`mock --clock-rate`).
//!
//! Everything in the domain reads time through [`Clock::now`]; nothing here
//! sleeps or schedules work (the marketplace's `tick` does that).

use chrono::{DateTime, Duration, Utc};

/// Real time (or a fixed base, for tests) plus an adjustable offset.
#[derive(Debug, Clone)]
pub struct Clock {
    base: Option<DateTime<Utc>>,
    offset: Duration,
    /// Server seconds per real second (1: real time); with `anchor`, the
    /// real instant from which the faster time is counted.
    rate: u32,
    anchor: DateTime<Utc>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::real()
    }
}

impl Clock {
    /// A clock following wall time (offset 0).
    pub fn real() -> Self {
        Self {
            base: None,
            offset: Duration::zero(),
            rate: 1,
            anchor: Utc::now(),
        }
    }

    /// This clock, running `rate` times as fast as real time from now on
    /// (a server whose documented windows of a minute or an hour pass in
    /// seconds, for long-window tests; 0 counts as 1).
    pub fn with_rate(mut self, rate: u32) -> Self {
        self.rate = rate.max(1);
        self.anchor = Utc::now();
        self
    }

    /// Server seconds per real second.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// `server_secs` of server time as real seconds (rounded up, at least 1
    /// where `server_secs` is): what a `Retry-After` must say, since HTTP
    /// counts it in real seconds.
    pub fn real_secs(&self, server_secs: u64) -> u64 {
        if server_secs == 0 {
            return 0;
        }
        server_secs.div_ceil(u64::from(self.rate)).max(1)
    }

    /// A clock that reads `at` now and then runs at the speed of wall time
    /// (a server started far from today, to prove nothing depends on the date).
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self {
            base: None,
            offset: at - Utc::now(),
            rate: 1,
            anchor: Utc::now(),
        }
    }

    /// A clock frozen at `at` that moves only when advanced (deterministic tests).
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            base: Some(at),
            offset: Duration::zero(),
            rate: 1,
            anchor: Utc::now(),
        }
    }

    /// The current server time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.base {
            Some(base) => base + self.offset,
            None if self.rate == 1 => Utc::now() + self.offset,
            None => {
                let real = Utc::now() - self.anchor;
                self.anchor + real * i32::try_from(self.rate).unwrap_or(i32::MAX) + self.offset
            }
        }
    }

    /// Moves the clock forward (or back, with a negative value) by `secs` seconds.
    pub fn advance_secs(&mut self, secs: i64) {
        self.offset += Duration::seconds(secs);
    }

    /// The total offset applied so far, in seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset.num_seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_advanced() {
        let t0 = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut c = Clock::fixed(t0);
        assert_eq!(c.now(), t0);
        c.advance_secs(3600);
        assert_eq!(c.now(), t0 + Duration::hours(1));
        assert_eq!(c.offset_secs(), 3600);
    }

    #[test]
    fn a_faster_clock_runs_at_its_rate_and_converts_waits_to_real_seconds() {
        let c = Clock::real().with_rate(60);
        let before = c.now();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let ran = (c.now() - before).num_milliseconds();
        assert!((5_000..30_000).contains(&ran), "100 ms at 60x ran {ran} ms");
        assert_eq!(c.real_secs(3600), 60);
        assert_eq!(c.real_secs(41), 1);
        assert_eq!(c.real_secs(0), 0);
        assert_eq!(Clock::real().real_secs(41), 41);
    }

    #[test]
    fn a_started_clock_runs_from_its_start() {
        let t0 = DateTime::parse_from_rfc3339("2031-12-31T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Clock::starting_at(t0);
        let drift = (c.now() - t0).num_milliseconds();
        assert!((0..5_000).contains(&drift), "{drift} ms from the start");
    }
}
