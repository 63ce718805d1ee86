//! Per-issue event rates for spike alerts: counts in windows aligned to
//! `window`, the current one against the average of the
//! `baseline_windows` before it. Only issues with events in that span
//! are tracked, so memory follows recent activity.

use std::collections::{HashMap, VecDeque};

use crate::config::SpikeConfig;

/// Issues tracked at most; past it the quietest are dropped.
const MAX_TRACKED: usize = 100_000;

struct Counts {
    /// Index (time / window) of the newest bucket.
    newest: i64,
    /// Newest last; at most `baseline_windows + 1` buckets.
    buckets: VecDeque<u64>,
}

pub struct SpikeTracker {
    config: SpikeConfig,
    issues: HashMap<u64, Counts>,
}

impl SpikeTracker {
    pub fn new(config: SpikeConfig) -> SpikeTracker {
        SpikeTracker {
            config,
            issues: HashMap::new(),
        }
    }

    fn index(&self, now: f64) -> i64 {
        (now / self.config.window.0.as_secs_f64()).floor() as i64
    }

    fn span(&self) -> usize {
        self.config.baseline_windows as usize + 1
    }

    /// Counts one event of `issue` at `now`; returns whether the issue
    /// spikes.
    pub fn count(&mut self, issue: u64, now: f64) -> bool {
        let index = self.index(now);
        let span = self.span();
        if self.issues.len() >= MAX_TRACKED && !self.issues.contains_key(&issue) {
            self.prune(now);
            if self.issues.len() >= MAX_TRACKED {
                return false;
            }
        }
        let counts = self.issues.entry(issue).or_insert_with(|| Counts {
            newest: index,
            buckets: VecDeque::from([0]),
        });
        advance(counts, index, span);
        if let Some(last) = counts.buckets.back_mut() {
            *last += 1;
        }
        self.spiking(issue, now)
    }

    /// Whether `issue`'s current window is a spike at `now`.
    pub fn spiking(&self, issue: u64, now: f64) -> bool {
        let Some(counts) = self.issues.get(&issue) else {
            return false;
        };
        let index = self.index(now);
        let age = index - counts.newest;
        if age != 0 {
            // The current window has no events yet.
            return false;
        }
        let current = *counts.buckets.back().unwrap_or(&0);
        let before: u64 = counts.buckets.iter().rev().skip(1).sum();
        let baseline = before as f64 / self.config.baseline_windows as f64;
        current >= self.config.min_events && current as f64 >= self.config.factor * baseline
    }

    /// Forgets issues without events in the tracked span.
    pub fn prune(&mut self, now: f64) {
        let index = self.index(now);
        let span = self.span() as i64;
        self.issues.retain(|_, c| index - c.newest < span);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.issues.len()
    }
}

fn advance(counts: &mut Counts, index: i64, span: usize) {
    if index <= counts.newest {
        return;
    }
    let gap = (index - counts.newest).min(span as i64) as usize;
    for _ in 0..gap {
        counts.buckets.push_back(0);
    }
    while counts.buckets.len() > span {
        counts.buckets.pop_front();
    }
    counts.newest = index;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PromDuration;

    fn tracker() -> SpikeTracker {
        SpikeTracker::new(SpikeConfig {
            window: PromDuration::from_secs(60),
            factor: 5.0,
            min_events: 10,
            baseline_windows: 4,
        })
    }

    #[test]
    fn a_jump_over_the_baseline_spikes_and_falls_back() {
        let mut t = tracker();
        // Four windows of 4 events: a baseline of 4 a window.
        for w in 0..4 {
            for i in 0..4 {
                assert!(!t.count(7, (w * 60 + i) as f64));
            }
        }
        // 19 events is under 5 × 4; the 20th spikes.
        for i in 0..19 {
            assert!(!t.count(7, 240.0 + i as f64));
        }
        assert!(t.count(7, 260.0));
        assert!(t.spiking(7, 299.0));
        // The next window has no events: the spike is over.
        assert!(!t.spiking(7, 300.0));
        t.prune(300.0);
        assert_eq!(t.tracked(), 1);
        t.prune(600.0);
        assert_eq!(t.tracked(), 0);
    }

    #[test]
    fn a_new_issue_needs_min_events() {
        let mut t = tracker();
        for i in 0..9 {
            assert!(!t.count(1, i as f64));
        }
        assert!(t.count(1, 9.0));
        // Another issue is counted apart.
        assert!(!t.count(2, 10.0));
    }
}
