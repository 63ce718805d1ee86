//! Logins begun and not yet finished, by their `state`: the PKCE verifier
//! and nonce to finish with, and where to go afterwards. Held in memory
//! only (a restart asks the person to start again), bounded (past the
//! bound the oldest is forgotten and counted, so a flood of begun logins
//! costs memory it cannot grow), short-lived, and taken out by the first
//! callback that names it, so a replayed callback finds nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::selfmetrics::Counter;

/// What a callback needs of the login it finishes.
#[derive(Debug, Clone)]
pub struct Pending {
    pub verifier: String,
    pub nonce: String,
    /// Digest of the cookie value the beginning browser was given.
    pub binding: String,
    pub next: Option<String>,
    begun: Instant,
}

pub struct PendingLogins {
    by_state: Mutex<HashMap<String, Pending>>,
    max: usize,
    ttl: Duration,
    evicted: Arc<Counter>,
}

impl PendingLogins {
    pub fn new(max: usize, ttl: Duration, evicted: Arc<Counter>) -> Self {
        PendingLogins {
            by_state: Mutex::new(HashMap::new()),
            max: max.max(1),
            ttl,
            evicted,
        }
    }

    pub fn insert(
        &self,
        state: String,
        verifier: String,
        nonce: String,
        binding: String,
        next: Option<String>,
    ) {
        self.insert_at(state, verifier, nonce, binding, next, Instant::now());
    }

    fn insert_at(
        &self,
        state: String,
        verifier: String,
        nonce: String,
        binding: String,
        next: Option<String>,
        now: Instant,
    ) {
        let mut map = self.by_state.lock();
        let ttl = self.ttl;
        map.retain(|_, p| now.duration_since(p.begun) < ttl);
        if map.len() >= self.max
            && let Some(oldest) = map.iter().min_by_key(|(_, p)| p.begun).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
            self.evicted.inc();
        }
        map.insert(
            state,
            Pending {
                verifier,
                nonce,
                binding,
                next,
                begun: now,
            },
        );
    }

    /// The login `state` names, removed; None when unknown, used or expired.
    pub fn take(&self, state: &str) -> Option<Pending> {
        self.take_at(state, Instant::now())
    }

    fn take_at(&self, state: &str, now: Instant) -> Option<Pending> {
        let pending = self.by_state.lock().remove(state)?;
        (now.duration_since(pending.begun) < self.ttl).then_some(pending)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_state.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logins(max: usize) -> (PendingLogins, Arc<Counter>) {
        let registry = crate::selfmetrics::Registry::new();
        let evicted = registry.counter("t_evicted_total", "t");
        (
            PendingLogins::new(max, Duration::from_secs(600), evicted.clone()),
            evicted,
        )
    }

    #[test]
    fn a_state_is_taken_once() {
        let (p, _) = logins(10);
        p.insert(
            "s1".into(),
            "v1".into(),
            "n1".into(),
            "b1".into(),
            Some("/d/x".into()),
        );
        let got = p.take("s1").unwrap();
        assert_eq!((got.verifier.as_str(), got.nonce.as_str()), ("v1", "n1"));
        assert_eq!(got.next.as_deref(), Some("/d/x"));
        assert!(p.take("s1").is_none(), "a replayed callback finds nothing");
        assert!(p.take("forged").is_none());
    }

    #[test]
    fn expired_logins_are_refused_and_pruned() {
        let (p, _) = logins(10);
        let t0 = Instant::now();
        p.insert_at("old".into(), "v".into(), "n".into(), "b".into(), None, t0);
        assert!(p.take_at("old", t0 + Duration::from_secs(600)).is_none());
        p.insert_at("a".into(), "v".into(), "n".into(), "b".into(), None, t0);
        p.insert_at(
            "b".into(),
            "v".into(),
            "n".into(),
            "b".into(),
            None,
            t0 + Duration::from_secs(601),
        );
        assert_eq!(p.len(), 1, "the expired one went when the next was added");
    }

    #[test]
    fn the_bound_forgets_the_oldest_and_counts_it() {
        let (p, evicted) = logins(2);
        let t0 = Instant::now();
        for (i, s) in ["a", "b", "c"].into_iter().enumerate() {
            p.insert_at(
                s.into(),
                "v".into(),
                "n".into(),
                "b".into(),
                None,
                t0 + Duration::from_secs(i as u64),
            );
        }
        assert_eq!(p.len(), 2);
        assert_eq!(evicted.get(), 1);
        let now = t0 + Duration::from_secs(3);
        assert!(p.take_at("a", now).is_none());
        assert!(p.take_at("b", now).is_some() && p.take_at("c", now).is_some());
    }
}
