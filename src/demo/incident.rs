//! The scripted incident: every `every`, starting at the demo's start, the
//! LMS goes through a bad patch — a burst of 5xx answers, slow responses,
//! PostgreSQL connections near `max_connections`, slow queries and a
//! Celery queue backing up — for long enough that the LMS pack's alerts
//! pass their `for:` durations and fire, then it recovers. The same
//! schedule runs backwards over the backfilled history, so the graphs
//! show earlier incidents and their recoveries.
//!
//! This module only says how bad things are at a time ([`Conditions`]);
//! the series model, the log lines and the error events each read it.

use std::time::Duration;

/// How often an incident starts and how long it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentSchedule {
    /// An incident starts here and every `every_ms` before and after.
    anchor_ms: i64,
    every_ms: i64,
    length_ms: i64,
}

/// The longest pending time in the LMS pack among the alerts an incident
/// drives (`LMSAPILatencyHigh`'s `for: 10m`), plus the 5 minute rate
/// window filling and two evaluation intervals, so every one of them fires.
const FULL_LENGTH: Duration = Duration::from_secs(17 * 60);

/// The shortest incident that still fires the `for: 5m` alerts (the
/// connection pool, the queue, the error rate, slow queries).
const MIN_LENGTH: Duration = Duration::from_secs(6 * 60 + 30);

impl IncidentSchedule {
    /// Incidents from `anchor_ms` on, every `every`: each lasts long
    /// enough to fire the pack's alerts and leaves at least a third of
    /// the period quiet, so the recovery shows too.
    pub fn new(anchor_ms: i64, every: Duration) -> IncidentSchedule {
        let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(60_000);
        let quiet_share = every_ms * 2 / 3;
        let length_ms = (FULL_LENGTH.as_millis() as i64)
            .min(quiet_share)
            .max(MIN_LENGTH.as_millis() as i64)
            .min(every_ms);
        IncidentSchedule {
            anchor_ms,
            every_ms,
            length_ms,
        }
    }

    pub fn length(&self) -> Duration {
        Duration::from_millis(self.length_ms as u64)
    }

    /// How bad things are at `t_ms`.
    pub fn at(&self, t_ms: i64) -> Conditions {
        let into = (t_ms - self.anchor_ms).rem_euclid(self.every_ms);
        if into >= self.length_ms {
            return Conditions::NORMAL;
        }
        // The last minute recovers gradually, as a fix rolls out.
        let left = self.length_ms - into;
        let severity = if left < 60_000 {
            left as f64 / 60_000.0
        } else {
            1.0
        };
        Conditions {
            severity,
            number: (t_ms - self.anchor_ms).div_euclid(self.every_ms),
        }
    }
}

/// The state of the synthetic LMS at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// 0 (normal) … 1 (the incident at its worst).
    pub severity: f64,
    /// Which incident this is (counting from the demo's start), so its
    /// error events and log lines can vary from one incident to the next.
    pub number: i64,
}

impl Conditions {
    pub const NORMAL: Conditions = Conditions {
        severity: 0.0,
        number: 0,
    };

    pub fn in_incident(&self) -> bool {
        self.severity > 0.0
    }

    /// The share of API requests answered 5xx: well under the pack's 5%
    /// normally, a quarter at the worst.
    pub fn error_ratio(&self) -> f64 {
        0.002 + 0.25 * self.severity
    }

    /// How much slower requests are: at the worst, the typical request
    /// takes ten times as long, so p99 passes `LMSAPILatencyHigh`'s 2 s.
    pub fn latency_factor(&self) -> f64 {
        1.0 + 11.0 * self.severity
    }

    /// The share of `max_connections` in use: above the pack's 95% at
    /// the worst.
    pub fn db_connection_share(&self, normal: f64) -> f64 {
        normal + (0.985 - normal) * self.severity
    }

    /// Tasks waiting in the busiest queue, on top of the normal backlog:
    /// well above `LMSCeleryQueueHigh`'s 1000 at the worst.
    pub fn queue_backlog(&self) -> f64 {
        2600.0 * self.severity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_repeat_and_recover() {
        let s = IncidentSchedule::new(1_000_000, Duration::from_secs(1800));
        assert_eq!(s.length(), Duration::from_secs(17 * 60));
        assert_eq!(s.at(1_000_000).severity, 1.0);
        assert!(s.at(1_000_000 + 16 * 60_000 + 30_000).severity < 1.0);
        assert!(!s.at(1_000_000 + 20 * 60_000).in_incident());
        // The schedule runs backwards over the history too.
        assert!(s.at(1_000_000 - 1_800_000 + 60_000).in_incident());
        assert_eq!(s.at(1_000_000 - 1_800_000 + 60_000).number, -1);
        assert!(!s.at(1_000_000 - 60_000).in_incident());
    }

    #[test]
    fn a_short_period_still_outlasts_the_five_minute_alerts() {
        let s = IncidentSchedule::new(0, Duration::from_secs(8 * 60));
        assert!(s.length() >= Duration::from_secs(6 * 60));
        assert!(s.length() <= Duration::from_secs(8 * 60));
    }

    #[test]
    fn the_worst_of_an_incident_crosses_the_pack_thresholds() {
        let worst = Conditions {
            severity: 1.0,
            number: 0,
        };
        assert!(worst.error_ratio() > 0.05);
        assert!(worst.db_connection_share(0.3) > 0.95);
        assert!(worst.queue_backlog() > 1000.0);
        assert!(Conditions::NORMAL.error_ratio() < 0.05);
    }
}
