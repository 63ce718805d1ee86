//! The lock around each head series' state: a spin-then-yield lock whose
//! release is a plain store.
//!
//! A commit locks and unlocks every series it writes — a thousand per
//! scrape of a large target — and with a parking mutex each of those is a
//! locked read-modify-write that also fences the cache misses around it
//! (about an eighth of append time). Every holder of a series lock keeps it
//! for a short, bounded step (an append, a copy of chunk handles, a merge
//! of one series' backfill), so a waiter spins briefly and then yields its
//! core instead of parking, and nobody ever has to be woken.
//!
//! A module that may use `unsafe`: `lock_api::RawMutex` is an unsafe
//! trait (its implementor promises mutual exclusion), and its `unlock` is an
//! unsafe fn. Each use carries a `SAFETY:` comment.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

/// Spins this many times before yielding the core.
const SPINS_BEFORE_YIELD: u32 = 64;

pub(crate) struct RawSeriesLock {
    locked: AtomicBool,
}

/// The guard type of [`SeriesMutex`].
pub(crate) type SeriesGuard<'a, T> = lock_api::MutexGuard<'a, RawSeriesLock, T>;
/// A mutex over one series' state.
pub(crate) type SeriesMutex<T> = lock_api::Mutex<RawSeriesLock, T>;

// SAFETY: `locked` is only set by a successful compare-exchange from false,
// so one holder at a time; acquire on locking and release on unlocking
// order the protected data's accesses between holders.
unsafe impl lock_api::RawMutex for RawSeriesLock {
    const INIT: RawSeriesLock = RawSeriesLock {
        locked: AtomicBool::new(false),
    };

    type Guard = lock_api::GuardSend;

    #[inline]
    fn lock(&self) -> Self::Guard {
        if self.try_acquire() {
            return lock_api::GuardSend::new();
        }
        self.lock_contended();
        lock_api::GuardSend::new()
    }

    #[inline]
    fn try_lock(&self) -> Option<Self::Guard> {
        self.try_acquire().then(lock_api::GuardSend::new)
    }

    #[inline]
    unsafe fn unlock(&self, _guard: Self::Guard) {
        self.locked.store(false, Ordering::Release);
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

impl RawSeriesLock {
    #[inline]
    fn try_acquire(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[cold]
    fn lock_contended(&self) {
        loop {
            for _ in 0..SPINS_BEFORE_YIELD {
                // Read-only spinning keeps the line shared until it frees.
                if !self.locked.load(Ordering::Relaxed) && self.try_acquire() {
                    return;
                }
                std::hint::spin_loop();
            }
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn excludes_concurrent_holders() {
        let m = Arc::new(SeriesMutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*m.lock(), 400_000);
    }

    #[test]
    fn try_lock_fails_while_held() {
        let m = SeriesMutex::new(());
        let g = m.lock();
        assert!(m.try_lock().is_none());
        drop(g);
        assert!(m.try_lock().is_some());
    }
}
