//! The server clock: real time plus an offset the control API advances.
//!
//! Everything in the domain reads time through [`Clock::now`]; nothing here
//! sleeps or schedules work (the marketplace's `tick` does that).

use chrono::{DateTime, Duration, Utc};

/// Real time (or a fixed base, for tests) plus an adjustable offset.
#[derive(Debug, Clone)]
pub struct Clock {
    base: Option<DateTime<Utc>>,
    offset: Duration,
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
        }
    }

    /// A clock that reads `at` now and then runs at the speed of wall time
    /// (a server started far from today, to prove nothing depends on the date).
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self {
            base: None,
            offset: at - Utc::now(),
        }
    }

    /// A clock frozen at `at` that moves only when advanced (deterministic tests).
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            base: Some(at),
            offset: Duration::zero(),
        }
    }

    /// The current server time.
    pub fn now(&self) -> DateTime<Utc> {
        self.base.unwrap_or_else(Utc::now) + self.offset
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
    fn a_started_clock_runs_from_its_start() {
        let t0 = DateTime::parse_from_rfc3339("2031-12-31T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Clock::starting_at(t0);
        let drift = (c.now() - t0).num_milliseconds();
        assert!((0..5_000).contains(&drift), "{drift} ms from the start");
    }
}
