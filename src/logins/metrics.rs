//! `belfry_logins_*`.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Gauge, GaugeVec, Registry};

pub struct LoginMetrics {
    pub events: Arc<CounterVec>,
    pub alerts: Arc<CounterVec>,
    pub limit_hits: Arc<CounterVec>,
    pub tracked: Arc<GaugeVec>,
    pub geo_ok: Arc<Gauge>,
    pub geo_loaded: Arc<Gauge>,
    pub geo_errors: Arc<Counter>,
    pub lookups: Arc<CounterVec>,
    pub state_errors: Arc<Counter>,
}

/// The limits `limit_hits` counts, and the kinds `tracked` shows.
pub const USERS: &str = "users";
pub const SOURCES: &str = "sources";
pub const FAILING_USERS: &str = "failing_users";

impl LoginMetrics {
    pub fn new(registry: &Registry) -> LoginMetrics {
        let m = LoginMetrics {
            events: registry.counter_vec(
                "belfry_logins_events_total",
                "Login events found in stored log records, by outcome (success, failure).",
                &["outcome"],
            ),
            alerts: registry.counter_vec(
                "belfry_logins_alerts_total",
                "Unusual-login alerts handed to the alert dispatcher, by alert name; re-sends of a going burst included.",
                &["alertname"],
            ),
            limit_hits: registry.counter_vec(
                "belfry_logins_limit_hits_total",
                "Times a cap of logins was reached: users (a user's history forgotten for logins.max_users), sources (a client address not counted for logins.max_sources), failing_users (a user's failures not counted for logins.max_users).",
                &["limit"],
            ),
            tracked: registry.gauge_vec(
                "belfry_logins_tracked",
                "What the login checks hold in memory: users (login histories), sources and failing_users (failure counters).",
                &["kind"],
            ),
            geo_ok: registry.gauge(
                "belfry_logins_geoip_database_ok",
                "0 while logins.geoip_database names a file that cannot be used (the country and travel checks are off); 1 otherwise.",
            ),
            geo_loaded: registry.gauge(
                "belfry_logins_geoip_database_loaded",
                "1 while a geo database is loaded, 0 without one.",
            ),
            geo_errors: registry.counter(
                "belfry_logins_geoip_database_errors_total",
                "Times the geo database of logins.geoip_database could not be opened (at start and at each reload).",
            ),
            lookups: registry.counter_vec(
                "belfry_logins_geoip_lookups_total",
                "Geo lookups of login events' addresses, by result (found, not_found, error).",
                &["result"],
            ),
            state_errors: registry.counter(
                "belfry_logins_state_rows_skipped_total",
                "Stored login histories that could not be read at start (damaged, or of another format) and were skipped.",
            ),
        };
        for outcome in ["success", "failure"] {
            m.events.with(&[outcome]);
        }
        for kind in [USERS, SOURCES, FAILING_USERS] {
            m.limit_hits.with(&[kind]);
            m.tracked.with(&[kind]);
        }
        for result in ["found", "not_found", "error"] {
            m.lookups.with(&[result]);
        }
        m.geo_ok.set(1.0);
        m
    }
}
