//! When to write a token's or a session's last use: every check records
//! it in memory, but the table is written at most once per resolution, so
//! a busy token costs no write per request; of concurrent checks, one
//! writes.

use std::sync::atomic::{AtomicI64, Ordering};

/// Whether the check at `now` should write the last use held in `last`
/// (unix seconds): true for exactly one caller once `last` is
/// `resolution_secs` old, after moving it to `now`.
pub(super) fn claim_write(last: &AtomicI64, now: i64, resolution_secs: i64) -> bool {
    let seen = last.load(Ordering::Relaxed);
    now - seen >= resolution_secs
        && last
            .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_per_resolution() {
        let last = AtomicI64::new(0);
        assert!(claim_write(&last, 100, 60));
        assert!(!claim_write(&last, 130, 60));
        assert!(claim_write(&last, 160, 60));
        assert_eq!(last.load(Ordering::Relaxed), 160);
    }
}
