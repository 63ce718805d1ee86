//! Events a second per project: a fixed one-second window, enough to
//! shed a crash loop before it fills the disk. The answer tells the SDK
//! when to come back (`Retry-After`, `X-Sentry-Rate-Limits`).

use std::collections::HashMap;

use parking_lot::Mutex;

#[derive(Default)]
pub struct RateLimiter {
    /// Project → (the current second, events taken in it).
    windows: Mutex<HashMap<u64, (u64, u32)>>,
}

impl RateLimiter {
    /// Takes `n` events for `project` at `now_secs`; false when that
    /// would pass `limit` in this second (nothing is taken then).
    pub fn take(&self, project: u64, n: u32, limit: u32, now_secs: u64) -> bool {
        let mut windows = self.windows.lock();
        let (second, taken) = windows.entry(project).or_insert((now_secs, 0));
        if *second != now_secs {
            *second = now_secs;
            *taken = 0;
        }
        if taken.saturating_add(n) > limit {
            return false;
        }
        *taken += n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_per_project_and_second() {
        let r = RateLimiter::default();
        assert!(r.take(1, 1, 2, 100));
        assert!(r.take(1, 1, 2, 100));
        assert!(!r.take(1, 1, 2, 100));
        assert!(r.take(2, 1, 2, 100));
        assert!(r.take(1, 2, 2, 101));
    }
}
