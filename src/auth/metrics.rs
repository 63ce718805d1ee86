//! `belfry_auth_*`: failed logins by reason, lockouts, logins refused
//! because the password checks' queue was full, token refusals by reason,
//! sessions held and evicted, logins throttled per source address, and
//! requests refused by the access layer.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Gauge, Registry};

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
    pub sessions: Arc<Gauge>,
    pub sessions_evicted: Arc<Counter>,
    pub logins_throttled: Arc<Counter>,
    pub throttle_table_full: Arc<Counter>,
    /// Requests the access layer refused, by reason (unauthenticated,
    /// forbidden, csrf).
    pub access_refusals: Arc<CounterVec>,
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
            sessions: registry.gauge("belfry_auth_sessions", "Sessions of signed-in people held."),
            sessions_evicted: registry.counter(
                "belfry_auth_sessions_evicted_total",
                "Sessions ended early to make room for a new one (auth.session.max_sessions).",
            ),
            logins_throttled: registry.counter(
                "belfry_auth_logins_throttled_total",
                "Logins refused because their source address failed too often (auth.login_throttle).",
            ),
            throttle_table_full: registry.counter(
                "belfry_auth_throttle_table_full_total",
                "Failed logins from an address that could not be tracked because auth.login_throttle.max_sources addresses already were.",
            ),
            access_refusals: registry.counter_vec(
                "belfry_auth_access_refusals_total",
                "Requests refused by access control, by reason (unauthenticated, forbidden, csrf).",
                &["reason"],
            ),
            password_queue_full: registry.counter(
                "belfry_auth_password_queue_full_total",
                "Password checks refused because the password hashing queue was full (auth.password_hashing).",
            ),
        }
    }
}
