//! What one query may spend: lines and bytes read, series held, time.
//! Every check that stops a query says which limit and counts the hit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::error::LogqlError;
use crate::logs::index::{BudgetStop, ReadBudget};

#[derive(Debug, Clone, PartialEq)]
pub struct QueryLimits {
    /// Most series a metric query may produce (and hold while it runs).
    pub max_series: usize,
    /// Most lines a query may read and run through its pipeline.
    pub max_lines_read: u64,
    /// Most line bytes a query may read.
    pub max_bytes_read: u64,
    /// Most lines (entries) a log query may return.
    pub max_entries: usize,
    pub timeout: Duration,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_series: 10_000,
            max_lines_read: 20_000_000,
            max_bytes_read: 4 << 30,
            max_entries: 5000,
            timeout: Duration::from_secs(60),
        }
    }
}

/// The spending of one query so far. Lines and time are counted by the
/// logs index's [`ReadBudget`], which the index's own checks of stored
/// lines draw from too, so one limit covers every line the query reads.
pub struct Budget {
    pub limits: QueryLimits,
    read: Arc<ReadBudget>,
    bytes: AtomicU64,
    /// Lines the index matched without reading them (fast-field counts).
    pub lines_counted: AtomicU64,
}

impl Budget {
    pub fn new(limits: QueryLimits) -> Budget {
        Budget {
            read: ReadBudget::new(limits.max_lines_read, limits.timeout),
            limits,
            bytes: AtomicU64::new(0),
            lines_counted: AtomicU64::new(0),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.read.elapsed()
    }

    pub fn lines_read(&self) -> u64 {
        self.read.lines()
    }

    /// What the index's checks of stored lines draw from.
    pub fn reads(&self) -> &Arc<ReadBudget> {
        &self.read
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn check_time(&self) -> Result<(), LogqlError> {
        if !self.read.check_time() {
            return Err(self.stopped_error(BudgetStop::Time));
        }
        Ok(())
    }

    /// After the index has run a query: whether its checks of stored
    /// lines spent the budget (then what it found is incomplete).
    pub fn check_index_reads(&self) -> Result<(), LogqlError> {
        match self.read.stopped() {
            Some(stop) => Err(self.stopped_error(stop)),
            None => Ok(()),
        }
    }

    fn stopped_error(&self, stop: BudgetStop) -> LogqlError {
        match stop {
            BudgetStop::Time => LogqlError::Timeout(self.limits.timeout),
            BudgetStop::Lines => LogqlError::Limit {
                limit: "max_lines_read",
                message: format!(
                    "the query would read more than {} lines (logs.query.max_lines_read); narrow the time range or the stream selector, or add a line filter",
                    self.limits.max_lines_read
                ),
            },
        }
    }

    /// Accounts for one line read from the store.
    pub fn read_line(&self, bytes: usize) -> Result<(), LogqlError> {
        if !self.read.take_line() {
            return Err(self.stopped_error(self.read.stopped().unwrap_or(BudgetStop::Lines)));
        }
        let total = self.bytes.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        if total > self.limits.max_bytes_read {
            return Err(LogqlError::Limit {
                limit: "max_bytes_read",
                message: format!(
                    "the query would read more than {} bytes of lines (logs.query.max_bytes_read); narrow the time range or the stream selector",
                    self.limits.max_bytes_read
                ),
            });
        }
        Ok(())
    }

    /// Accounts for lines counted from the index alone (cheap, but still
    /// bounded: ten times the lines a query may read).
    pub fn count_lines(&self, n: u64) -> Result<(), LogqlError> {
        let total = self.lines_counted.fetch_add(n, Ordering::Relaxed) + n;
        if total > self.limits.max_lines_read.saturating_mul(10) {
            return Err(LogqlError::Limit {
                limit: "max_lines_read",
                message: format!(
                    "the query would count more than {} lines (10 × logs.query.max_lines_read); narrow the time range or the stream selector",
                    self.limits.max_lines_read.saturating_mul(10)
                ),
            });
        }
        self.check_time()
    }

    pub fn check_series(&self, n: usize) -> Result<(), LogqlError> {
        if n > self.limits.max_series {
            return Err(LogqlError::Limit {
                limit: "max_series",
                message: format!(
                    "maximum number of series ({}) reached for a single query (logs.query.max_series); aggregate with sum by (...) or narrow the selector",
                    self.limits.max_series
                ),
            });
        }
        Ok(())
    }
}

impl QueryLimits {
    pub fn from_config(c: &crate::config::LogQueryConfig) -> Self {
        QueryLimits {
            max_series: c.max_series,
            max_lines_read: c.max_lines_read,
            max_bytes_read: c.max_bytes_read.0,
            max_entries: c.max_entries,
            timeout: c.timeout.0,
        }
    }
}
