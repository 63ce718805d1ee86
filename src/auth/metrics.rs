//! `belfry_auth_*`: failed logins by reason, lockouts, logins refused
//! because the password checks' queue was full, token refusals by reason.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Registry};

pub struct AuthMetrics {
    pub login_failures: Arc<CounterVec>,
    pub lockouts: Arc<Counter>,
    pub password_queue_full: Arc<Counter>,
    pub token_refusals: Arc<CounterVec>,
    /// The children of `token_refusals`, taken once: a flood of bad
    /// tokens then costs an atomic add each, not a lock and a lookup.
    pub token_malformed: Arc<Counter>,
    pub token_unknown: Arc<Counter>,
    pub token_expired: Arc<Counter>,
}

impl AuthMetrics {
    pub fn new(registry: &Registry) -> Self {
        let token_refusals = registry.counter_vec(
            "belfry_auth_token_refusals_total",
            "API tokens refused, by reason (malformed, unknown, expired).",
            &["reason"],
        );
        AuthMetrics {
            token_malformed: token_refusals.with(&["malformed"]),
            token_unknown: token_refusals.with(&["unknown"]),
            token_expired: token_refusals.with(&["expired"]),
            token_refusals,
            login_failures: registry.counter_vec(
                "belfry_auth_login_failures_total",
                "Failed logins by reason (invalid_credentials, locked, busy, directory, error).",
                &["reason"],
            ),
            lockouts: registry.counter(
                "belfry_auth_lockouts_total",
                "Users locked after repeated failed logins.",
            ),
            password_queue_full: registry.counter(
                "belfry_auth_password_queue_full_total",
                "Password checks refused because the password hashing queue was full (auth.password_hashing).",
            ),
        }
    }
}
