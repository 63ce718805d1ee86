//! What one query may read from the stored documents, shared by every
//! place that reads them: the caller's own line reads and the checks a
//! [`super::verified_query::VerifiedQuery`] makes inside tantivy's
//! search, where no error can be returned. There a spent budget ends the
//! scorer early and records why; the caller turns that into its own
//! limit error once the search returns, so a query stopped half-way is
//! refused, never answered with a partial count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often (in lines) the clock is read: `Instant::now` costs more than
/// the counting.
const TIME_CHECK_EVERY: u64 = 1024;

/// Why a budget stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetStop {
    /// More lines than `max_lines` would be read.
    Lines,
    /// The query ran past its timeout.
    Time,
}

const RUNNING: u8 = 0;
const STOPPED_LINES: u8 = 1;
const STOPPED_TIME: u8 = 2;

#[derive(Debug)]
pub struct ReadBudget {
    max_lines: u64,
    timeout: Duration,
    started: Instant,
    lines: AtomicU64,
    stop: AtomicU8,
}

impl ReadBudget {
    pub fn new(max_lines: u64, timeout: Duration) -> Arc<ReadBudget> {
        Arc::new(ReadBudget {
            max_lines,
            timeout,
            started: Instant::now(),
            lines: AtomicU64::new(0),
            stop: AtomicU8::new(RUNNING),
        })
    }

    /// For callers that bound their reads another way (tests, rule unit
    /// tests over a few lines).
    pub fn unlimited() -> Arc<ReadBudget> {
        ReadBudget::new(u64::MAX, Duration::MAX)
    }

    pub fn max_lines(&self) -> u64 {
        self.max_lines
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// Accounts for one stored line about to be read; `false` once the
    /// budget is spent (then and on every later call).
    pub fn take_line(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) != RUNNING {
            return false;
        }
        let lines = self.lines.fetch_add(1, Ordering::Relaxed) + 1;
        if lines > self.max_lines {
            self.stop_for(STOPPED_LINES);
            return false;
        }
        if lines.is_multiple_of(TIME_CHECK_EVERY) {
            return self.check_time();
        }
        true
    }

    /// `false` (and the budget stopped) once the timeout has passed.
    pub fn check_time(&self) -> bool {
        if self.started.elapsed() <= self.timeout {
            return true;
        }
        self.stop_for(STOPPED_TIME);
        false
    }

    fn stop_for(&self, why: u8) {
        // The first reason wins: a later one is a consequence.
        let _ = self
            .stop
            .compare_exchange(RUNNING, why, Ordering::Relaxed, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> Option<BudgetStop> {
        match self.stop.load(Ordering::Relaxed) {
            STOPPED_LINES => Some(BudgetStop::Lines),
            STOPPED_TIME => Some(BudgetStop::Time),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_limit_stop_it_for_good() {
        let b = ReadBudget::new(2, Duration::from_secs(60));
        assert!(b.take_line());
        assert!(b.take_line());
        assert_eq!(b.stopped(), None);
        assert!(!b.take_line());
        assert_eq!(b.stopped(), Some(BudgetStop::Lines));
        assert!(!b.take_line());
    }

    #[test]
    fn a_passed_timeout_stops_it() {
        let b = ReadBudget::new(u64::MAX, Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert!(!b.check_time());
        assert_eq!(b.stopped(), Some(BudgetStop::Time));
        assert!(!b.take_line());
    }

    #[test]
    fn the_first_reason_is_kept() {
        let b = ReadBudget::new(0, Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert!(!b.take_line());
        assert!(!b.check_time());
        assert_eq!(b.stopped(), Some(BudgetStop::Lines));
    }
}
