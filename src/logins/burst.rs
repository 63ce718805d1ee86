//! Failed logins counted per key (a client address, a user's token) in a
//! sliding window: a key keeps only its `threshold` most recent failure
//! times, and bursts when those fit in the window. Memory is at most
//! `threshold` times per key and `cap` keys; a new key at the cap is not
//! counted (old keys expire a window after their last failure).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

#[derive(Default)]
struct Failures {
    /// Ascending Unix ms, at most `threshold` of them.
    times: VecDeque<i64>,
    /// When this key's alert was last sent (now, not event time).
    alerted_ms: Option<i64>,
}

/// What recording one failure found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// Counted: `burst` when the key's last `threshold` failures fit in
    /// the window; `alert` when its alert is due (first, or re-sent).
    Tracked { burst: bool, alert: bool },
    /// The key is new and the cap is reached: not counted.
    Full,
}

pub struct BurstCounter<K> {
    keys: HashMap<K, Failures>,
    /// When the cap last made a scan for expired keys, so a flood of new
    /// keys at the cap scans at most once a second.
    last_scan_ms: i64,
}

impl<K: Hash + Eq + Clone> Default for BurstCounter<K> {
    fn default() -> Self {
        BurstCounter {
            keys: HashMap::new(),
            last_scan_ms: i64::MIN,
        }
    }
}

/// How a counter is set: `threshold` failures in `window_ms`; an alert is
/// re-sent at most every `resend_ms` while the burst goes on.
#[derive(Clone, Copy, Debug)]
pub struct BurstRule {
    pub threshold: usize,
    pub window_ms: i64,
    pub resend_ms: i64,
    pub cap: usize,
}

impl<K: Hash + Eq + Clone> BurstCounter<K> {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Records a failure of `key` at `at_ms` (event time); `now_ms` is the
    /// clock for expiry and alert pacing.
    pub fn record(&mut self, key: &K, at_ms: i64, now_ms: i64, rule: BurstRule) -> Counted {
        if rule.threshold == 0 {
            return Counted::Tracked {
                burst: false,
                alert: false,
            };
        }
        if !self.keys.contains_key(key) && self.keys.len() >= rule.cap {
            if now_ms.saturating_sub(self.last_scan_ms) >= 1000 {
                self.last_scan_ms = now_ms;
                self.expire(now_ms, rule.window_ms);
            }
            if self.keys.len() >= rule.cap {
                return Counted::Full;
            }
        }
        let f = self.keys.entry(key.clone()).or_default();
        // Records mostly arrive in order: the search is at the end.
        let at = f.times.partition_point(|t| *t <= at_ms);
        f.times.insert(at, at_ms);
        while f.times.len() > rule.threshold {
            f.times.pop_front();
        }
        let burst = f.times.len() == rule.threshold
            && f.times.back().copied().unwrap_or(0) - f.times.front().copied().unwrap_or(0) <= rule.window_ms;
        let alert = burst && f.alerted_ms.is_none_or(|sent| now_ms - sent >= rule.resend_ms);
        if alert {
            f.alerted_ms = Some(now_ms);
        }
        Counted::Tracked { burst, alert }
    }

    /// Forgets keys whose last failure is more than a window before `now_ms`.
    pub fn expire(&mut self, now_ms: i64, window_ms: i64) {
        self.keys.retain(|_, f| {
            f.times
                .back()
                .is_some_and(|t| *t >= now_ms.saturating_sub(window_ms))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RULE: BurstRule = BurstRule {
        threshold: 3,
        window_ms: 60_000,
        resend_ms: 600_000,
        cap: 2,
    };

    fn burst(c: Counted) -> bool {
        matches!(c, Counted::Tracked { burst: true, .. })
    }

    #[test]
    fn three_failures_in_a_minute_burst_and_alert_once_until_the_resend() {
        let mut b = BurstCounter::default();
        let k = "203.0.113.9".to_string();
        assert!(!burst(b.record(&k, 0, 0, RULE)));
        assert!(!burst(b.record(&k, 30_000, 30_000, RULE)));
        assert_eq!(
            b.record(&k, 60_000, 60_000, RULE),
            Counted::Tracked {
                burst: true,
                alert: true
            }
        );
        assert_eq!(
            b.record(&k, 61_000, 61_000, RULE),
            Counted::Tracked {
                burst: true,
                alert: false
            }
        );
        // Spread out: no burst.
        assert!(!burst(b.record(&k, 200_000, 200_000, RULE)));
        // Re-sent once the resend interval passed and it bursts again.
        b.record(&k, 700_000, 700_000, RULE);
        b.record(&k, 700_001, 700_001, RULE);
        assert_eq!(
            b.record(&k, 700_002, 700_002, RULE),
            Counted::Tracked {
                burst: true,
                alert: true
            }
        );
    }

    #[test]
    fn the_cap_refuses_new_keys_until_old_ones_expire() {
        let mut b = BurstCounter::default();
        b.record(&"a", 0, 0, RULE);
        b.record(&"b", 0, 0, RULE);
        assert_eq!(b.record(&"c", 1_000, 1_000, RULE), Counted::Full);
        // Known keys are still counted.
        assert!(matches!(
            b.record(&"a", 2_000, 2_000, RULE),
            Counted::Tracked { .. }
        ));
        // A window after "b"'s last failure it is gone and "c" fits.
        assert!(matches!(
            b.record(&"c", 61_001, 61_001, RULE),
            Counted::Tracked { .. }
        ));
        assert_eq!(b.len(), 2);
    }

    proptest! {
        #[test]
        fn bursts_match_counting_all_failures(times in prop::collection::vec(0i64..600_000, 1..60),
                                               threshold in 1usize..6, window in 1i64..200_000) {
            let rule = BurstRule { threshold, window_ms: window, resend_ms: 0, cap: 10 };
            let mut b = BurstCounter::default();
            let mut all: Vec<i64> = Vec::new();
            for t in times {
                let got = b.record(&"k", t, t, rule);
                all.push(t);
                all.sort_unstable();
                // The latest `threshold` failures seen so far fit in the window.
                let last = &all[all.len().saturating_sub(threshold)..];
                let want = last.len() == threshold && last[last.len() - 1] - last[0] <= window;
                prop_assert_eq!(burst(got), want);
            }
        }
    }
}
