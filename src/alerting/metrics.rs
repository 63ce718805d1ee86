//! Self-metrics of alert dispatch and notification.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Gauge, Registry};

pub struct AlertingMetrics {
    /// Delivery attempts per receiver and integration.
    pub notifications: Arc<CounterVec>,
    /// Failed delivery attempts per receiver and integration.
    pub notifications_failed: Arc<CounterVec>,
    /// Notification texts cut to a service's limit, per receiver,
    /// integration and field.
    pub notifications_truncated: Arc<CounterVec>,
    /// Test notifications (`receiver_test.rs`) per receiver, integration
    /// and outcome; apart from the delivery counters, which real alerts own.
    pub receiver_tests: Arc<CounterVec>,
    /// Test notifications refused because the limit was in flight.
    pub receiver_tests_refused: Arc<Counter>,
    pub alerts_received: Arc<Counter>,
    pub alerts_invalid: Arc<Counter>,
    /// Alerts refused because the dispatcher queue was full.
    pub alerts_dropped: Arc<Counter>,
    /// New alerts refused because the store held its maximum.
    pub alerts_limited: Arc<Counter>,
    pub silences_limited: Arc<Counter>,
    pub alerts_active: Arc<Gauge>,
    pub aggregation_groups: Arc<Gauge>,
    pub silences_active: Arc<Gauge>,
    pub nflog_entries: Arc<Gauge>,
}

impl AlertingMetrics {
    pub fn new(r: &Registry) -> Self {
        AlertingMetrics {
            notifications: r.counter_vec(
                "belfry_notifications_total",
                "Notification delivery attempts, by receiver and integration.",
                &["receiver", "integration"],
            ),
            notifications_failed: r.counter_vec(
                "belfry_notifications_failed_total",
                "Failed notification delivery attempts, by receiver and integration.",
                &["receiver", "integration"],
            ),
            notifications_truncated: r.counter_vec(
                "belfry_notifications_truncated_total",
                "Notification fields cut to the receiving service's length limit, by receiver, integration and field.",
                &["receiver", "integration", "field"],
            ),
            receiver_tests: r.counter_vec(
                "belfry_notification_tests_total",
                "Test notifications sent, by receiver, integration and outcome (delivered, failed).",
                &["receiver", "integration", "outcome"],
            ),
            receiver_tests_refused: r.counter(
                "belfry_notification_tests_refused_total",
                "Test notifications refused because the most allowed at once were being sent.",
            ),
            alerts_received: r.counter(
                "belfry_alerts_received_total",
                "Alerts received by the dispatcher.",
            ),
            alerts_invalid: r.counter("belfry_alerts_invalid_total", "Alerts refused as invalid."),
            alerts_dropped: r.counter(
                "belfry_alerts_dropped_total",
                "Alerts dropped because the dispatcher queue was full.",
            ),
            alerts_limited: r.counter(
                "belfry_alerts_limit_reached_total",
                "New alerts refused because the dispatcher already holds its maximum number of alerts.",
            ),
            silences_limited: r.counter(
                "belfry_silences_limit_reached_total",
                "Silences refused because the maximum number of silences exists.",
            ),
            alerts_active: r.gauge(
                "belfry_alerts",
                "Alerts held by the dispatcher that are not resolved.",
            ),
            aggregation_groups: r.gauge("belfry_alert_aggregation_groups", "Active aggregation groups."),
            silences_active: r.gauge("belfry_silences_active", "Silences in force now."),
            nflog_entries: r.gauge(
                "belfry_notification_log_entries",
                "Entries in the notification log.",
            ),
        }
    }
}
