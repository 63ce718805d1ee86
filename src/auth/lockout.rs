//! The lockout rule, apart from storage and clocks so it is tested alone:
//! after `max_failures` failed logins in a row a user is locked for
//! `duration`, whatever password is tried; a success resets the count; an
//! admin's unlock ends the lock early.

use std::time::Duration;

use crate::config::LockoutConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub duration: Duration,
}

impl From<&LockoutConfig> for LockoutPolicy {
    fn from(c: &LockoutConfig) -> Self {
        LockoutPolicy {
            max_failures: c.max_failures.max(1),
            duration: c.lockout_duration(),
        }
    }
}

/// A user's login history as the rule needs it (unix seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginState {
    pub failed_logins: u32,
    pub locked_until: Option<i64>,
}

/// What a failed login did to the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    Counted,
    /// This failure locked the user.
    LockedOut {
        until: i64,
    },
}

impl LockoutPolicy {
    /// Seconds until the lock lifts, when the user is locked at `now`.
    pub fn locked_for(&self, state: &LoginState, now: i64) -> Option<u64> {
        state
            .locked_until
            .filter(|until| *until > now)
            .map(|until| u64::try_from(until - now).unwrap_or(0))
    }

    /// Counts a failure at `now`. A lock that has run out starts a new
    /// count, so an expired lock does not relock on the next mistake.
    pub fn fail(&self, state: &mut LoginState, now: i64) -> AfterFailure {
        if state.locked_until.is_some_and(|until| until <= now) {
            state.locked_until = None;
            state.failed_logins = 0;
        }
        state.failed_logins = state.failed_logins.saturating_add(1);
        if state.failed_logins >= self.max_failures {
            let until = now.saturating_add(i64::try_from(self.duration.as_secs()).unwrap_or(i64::MAX));
            state.locked_until = Some(until);
            state.failed_logins = 0;
            return AfterFailure::LockedOut { until };
        }
        AfterFailure::Counted
    }

    /// A successful login: the count starts again. Returns whether the
    /// state changed (and so needs writing).
    pub fn succeed(&self, state: &mut LoginState) -> bool {
        let changed = state.failed_logins != 0 || state.locked_until.is_some();
        *state = LoginState::default();
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LockoutPolicy = LockoutPolicy {
        max_failures: 3,
        duration: Duration::from_secs(900),
    };

    #[test]
    fn locks_after_the_last_allowed_failure_and_lifts_after_the_duration() {
        let mut s = LoginState::default();
        assert_eq!(POLICY.fail(&mut s, 100), AfterFailure::Counted);
        assert_eq!(POLICY.fail(&mut s, 101), AfterFailure::Counted);
        assert_eq!(POLICY.locked_for(&s, 101), None);
        assert_eq!(POLICY.fail(&mut s, 102), AfterFailure::LockedOut { until: 1002 });
        assert_eq!(POLICY.locked_for(&s, 102), Some(900));
        assert_eq!(POLICY.locked_for(&s, 1001), Some(1));
        assert_eq!(POLICY.locked_for(&s, 1002), None);
        // After the lock, one mistake is one mistake again.
        assert_eq!(POLICY.fail(&mut s, 2000), AfterFailure::Counted);
        assert_eq!(
            s,
            LoginState {
                failed_logins: 1,
                locked_until: None
            }
        );
    }

    #[test]
    fn success_resets_the_count() {
        let mut s = LoginState::default();
        POLICY.fail(&mut s, 1);
        POLICY.fail(&mut s, 2);
        assert!(POLICY.succeed(&mut s));
        assert!(!POLICY.succeed(&mut s));
        assert_eq!(POLICY.fail(&mut s, 3), AfterFailure::Counted);
    }

    #[test]
    fn from_config_defaults() {
        let p = LockoutPolicy::from(&LockoutConfig::default());
        assert_eq!(p.max_failures, 5);
        assert_eq!(p.duration, Duration::from_secs(900));
    }
}
