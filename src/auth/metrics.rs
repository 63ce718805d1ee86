//! `belfry_auth_*`: failed logins by reason, lockouts, logins refused
//! because the password checks' queue was full, token refusals by reason.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Registry};

pub struct AuthMetrics {
    pub login_failures: Arc<CounterVec>,
    pub lockouts: Arc<Counter>,
    pub password_queue_full: Arc<Counter>,
    pub token_refusals: Arc<CounterVec>,
}

impl AuthMetrics {
    pub fn new(registry: &Registry) -> Self {
        AuthMetrics {
            login_failures: registry.counter_vec(
                "belfry_auth_login_failures_total",
                "Failed logins by reason (invalid_credentials, locked, busy, error).",
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
            token_refusals: registry.counter_vec(
                "belfry_auth_token_refusals_total",
                "API tokens refused, by reason (malformed, unknown, expired).",
                &["reason"],
            ),
        }
    }
}
