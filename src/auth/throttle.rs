//! Failed logins per source address. The per-user lockout stops one
//! password being guessed; this stops one address trying many user names,
//! and refuses it before any password work is done.
//!
//! A fixed window per address: its first failure opens the window, and
//! past `max_failures` failures inside it, logins from the address are
//! refused until it closes. A success clears nothing: otherwise one valid
//! account would let an address keep guessing the others. The table is bounded (`max_sources`); full of
//! live windows, a new address goes untracked and is counted, since
//! forgetting a live window would free exactly the address being stopped.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::metrics::AuthMetrics;
use crate::config::LoginThrottleConfig;

#[derive(Clone, Copy, Debug)]
struct Window {
    opened: i64,
    failures: u32,
}

pub struct LoginThrottle {
    max_failures: u32,
    window_secs: i64,
    max_sources: usize,
    sources: Mutex<HashMap<String, Window>>,
    metrics: Arc<AuthMetrics>,
}

impl LoginThrottle {
    pub(super) fn new(config: &LoginThrottleConfig, metrics: Arc<AuthMetrics>) -> LoginThrottle {
        LoginThrottle {
            max_failures: config.max_failures.max(1),
            window_secs: i64::try_from(config.window.0.as_secs())
                .unwrap_or(i64::MAX)
                .max(1),
            max_sources: config.max_sources.max(1),
            sources: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// Ok when `source` may try a login at `now`; else the seconds until
    /// it may, counted and logged.
    pub fn check(&self, source: &str, now: i64) -> Result<(), u64> {
        let sources = self.sources.lock();
        let Some(w) = sources.get(source) else {
            return Ok(());
        };
        let closes = w.opened.saturating_add(self.window_secs);
        if w.failures < self.max_failures || now >= closes {
            return Ok(());
        }
        drop(sources);
        self.metrics.logins_throttled.inc();
        tracing::warn!(source, "login refused: too many failed logins from this address");
        Err(u64::try_from(closes - now).unwrap_or(1).max(1))
    }

    /// Counts a failed login from `source` at `now`.
    pub fn fail(&self, source: &str, now: i64) {
        let mut sources = self.sources.lock();
        if let Some(w) = sources.get_mut(source) {
            if now >= w.opened.saturating_add(self.window_secs) {
                *w = Window {
                    opened: now,
                    failures: 1,
                };
            } else {
                w.failures = w.failures.saturating_add(1);
            }
            return;
        }
        if sources.len() >= self.max_sources {
            let window = self.window_secs;
            sources.retain(|_, w| now < w.opened.saturating_add(window));
        }
        if sources.len() >= self.max_sources {
            self.metrics.throttle_table_full.inc();
            return;
        }
        sources.insert(
            source.to_string(),
            Window {
                opened: now,
                failures: 1,
            },
        );
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.sources.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PromDuration;
    use crate::selfmetrics::Registry;

    fn throttle(max_failures: u32, window: u64, max_sources: usize) -> LoginThrottle {
        LoginThrottle::new(
            &LoginThrottleConfig {
                max_failures,
                window: PromDuration::from_secs(window),
                max_sources,
            },
            Arc::new(AuthMetrics::new(&Registry::new())),
        )
    }

    #[test]
    fn an_address_is_refused_past_its_failures_until_the_window_closes() {
        let t = throttle(3, 60, 10);
        for _ in 0..3 {
            assert_eq!(t.check("10.0.0.1", 100), Ok(()));
            t.fail("10.0.0.1", 100);
        }
        assert_eq!(t.check("10.0.0.1", 110), Err(50));
        assert_eq!(
            t.check("10.0.0.2", 110),
            Ok(()),
            "other addresses are not affected"
        );
        assert_eq!(t.metrics.logins_throttled.get(), 1);
        assert_eq!(t.check("10.0.0.1", 160), Ok(()));
        // A failure after the window opens a new one.
        t.fail("10.0.0.1", 160);
        assert_eq!(t.check("10.0.0.1", 161), Ok(()));
    }

    #[test]
    fn the_table_is_bounded_and_a_full_one_is_counted() {
        let t = throttle(1, 60, 2);
        t.fail("a", 0);
        t.fail("b", 0);
        t.fail("c", 10);
        assert_eq!(t.tracked(), 2);
        assert_eq!(t.metrics.throttle_table_full.get(), 1);
        assert_eq!(t.check("a", 10), Err(50), "live windows are kept");
        // Closed windows make room.
        t.fail("c", 70);
        assert_eq!(t.tracked(), 1);
        assert_eq!(t.check("c", 70), Err(60));
    }
}
