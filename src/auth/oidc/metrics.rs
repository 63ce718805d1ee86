//! `belfry_auth_oidc_*`: single sign-ons completed and refused by reason,
//! and pending logins dropped because too many were waiting.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Registry};

pub struct OidcMetrics {
    pub logins: Arc<Counter>,
    pub failures: Arc<CounterVec>,
    pub pending_evicted: Arc<Counter>,
}

impl OidcMetrics {
    pub fn new(registry: &Registry) -> Self {
        OidcMetrics {
            logins: registry.counter(
                "belfry_auth_oidc_logins_total",
                "Sign-ins completed through the OpenID Provider of auth.oidc.",
            ),
            failures: registry.counter_vec(
                "belfry_auth_oidc_login_failures_total",
                "Sign-ins through auth.oidc refused, by reason (provider_unreachable, provider_error, unknown_state, bad_callback, exchange, invalid_token, claim, no_role, local_user).",
                &["reason"],
            ),
            pending_evicted: registry.counter(
                "belfry_auth_oidc_pending_evicted_total",
                "Begun sign-ins forgotten before their callback because too many were pending at once.",
            ),
        }
    }
}
