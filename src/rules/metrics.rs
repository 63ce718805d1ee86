//! `belfry_rule_*` self-metrics: evaluations, failures, limit hits, missed
//! iterations, reloads, and group durations.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Gauge, GaugeVec, Registry};

pub struct RuleMetrics {
    pub evaluations: Arc<CounterVec>,
    pub failures: Arc<CounterVec>,
    pub group_iterations: Arc<CounterVec>,
    pub missed_iterations: Arc<CounterVec>,
    pub limit_exceeded: Arc<Counter>,
    pub samples_refused: Arc<Counter>,
    pub group_duration_micros: Arc<CounterVec>,
    pub last_duration: Arc<GaugeVec>,
    pub group_rules: Arc<GaugeVec>,
    pub reloads_failed: Arc<Counter>,
    pub last_reload_ok: Arc<Gauge>,
    pub alerts_sent: Arc<Counter>,
    pub history_failures: Arc<Counter>,
}

impl RuleMetrics {
    pub fn new(registry: &Registry) -> Self {
        let group = &["rule_group"];
        RuleMetrics {
            evaluations: registry.counter_vec(
                "belfry_rule_evaluations_total",
                "Rule evaluations, by rule group (file;group).",
                group,
            ),
            failures: registry.counter_vec(
                "belfry_rule_evaluation_failures_total",
                "Rule evaluations that failed, by rule group.",
                group,
            ),
            group_iterations: registry.counter_vec(
                "belfry_rule_group_iterations_total",
                "Scheduled evaluations of each rule group.",
                group,
            ),
            missed_iterations: registry.counter_vec(
                "belfry_rule_group_iterations_missed_total",
                "Rule group evaluations skipped because the previous one ran longer than the interval.",
                group,
            ),
            limit_exceeded: registry.counter(
                "belfry_rule_limit_exceeded_total",
                "Rule evaluations refused because they produced more series or alerts than the group's limit.",
            ),
            samples_refused: registry.counter(
                "belfry_rule_samples_refused_total",
                "Rule results the storage refused (out of order, duplicate, too old).",
            ),
            group_duration_micros: registry.counter_vec(
                "belfry_rule_group_duration_microseconds_total",
                "Total time spent evaluating each rule group, in microseconds.",
                group,
            ),
            // Named and labelled as Prometheus's prometheus_rule_group_last_duration_seconds
            // and prometheus_rule_group_rules, so the two compare directly.
            last_duration: registry.gauge_vec(
                "belfry_rule_group_last_duration_seconds",
                "Duration of the most recent evaluation of each rule group (file;group), in seconds.",
                group,
            ),
            group_rules: registry.gauge_vec(
                "belfry_rule_group_rules",
                "Rules in each rule group (file;group).",
                group,
            ),
            reloads_failed: registry.counter(
                "belfry_rule_config_reloads_failed_total",
                "Rule reloads refused because a rule file was bad.",
            ),
            last_reload_ok: registry.gauge(
                "belfry_rule_config_last_reload_successful",
                "1 if the last rule reload succeeded, 0 if it was refused.",
            ),
            alerts_sent: registry.counter(
                "belfry_rule_alerts_sent_total",
                "Alerts (firing and resolved) handed to the alert dispatcher.",
            ),
            history_failures: registry.counter(
                "belfry_rule_alert_history_write_failures_total",
                "Rounds whose alert state changes could not be written to the alert history.",
            ),
        }
    }
}
