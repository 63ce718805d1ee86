//! An alert as it travels from whatever raised it (rule evaluation, the
//! Alertmanager API, error and log rules) to the dispatcher. The same shape
//! as Alertmanager's API alert, so every source maps onto it directly.
//! Beside it, what the dispatcher and the alert history share: which
//! source handed an alert over, and the state changes of the alerts that
//! no rule keeps a history of.

use std::time::SystemTime;

use super::Labels;

#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Identity: two alerts with equal labels are the same alert.
    pub labels: Labels,
    /// Human text (`summary`, `description`, …); not part of identity.
    pub annotations: Labels,
    pub starts_at: SystemTime,
    /// In the future while the alert fires (the source re-sends it before
    /// then); in the past once it is resolved.
    pub ends_at: SystemTime,
    /// Where the alert came from, e.g. the rule's expression page.
    pub generator_url: String,
}

impl Alert {
    pub fn is_resolved_at(&self, now: SystemTime) -> bool {
        self.ends_at <= now
    }
}

/// Where alert sources deliver alerts: the dispatcher implements it, tests
/// implement it with a recorder. Sources call it from async or blocking
/// code, so it must not block for long.
pub trait AlertSink: Send + Sync {
    fn send(&self, alerts: Vec<Alert>);

    /// Shows `visit` each unresolved alert the sink holds, so a source
    /// that keeps its active alerts in memory can take its own back after
    /// a restart instead of letting them lapse at their `ends_at`. One at
    /// a time, borrowed: after a burst the sink may hold many thousands,
    /// and the source keeps only a little of each. A sink that holds none
    /// (a test recorder) shows none. `visit` must be quick: the sink may
    /// hold a lock meanwhile.
    fn each_firing(&self, visit: &mut dyn FnMut(&Alert)) {
        let _ = visit;
    }
}

/// Which source handed alerts to the dispatcher. Routing ignores it; it
/// says whose history an alert's state changes belong to (the rule
/// manager records its own alerts' changes, the dispatcher those of every
/// other source) and where the Alerts page says an alert came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertSource {
    /// Belfry's own alerting rules.
    Rules,
    /// `POST /api/v2/alerts`: an external Prometheus, `amtool`, scripts.
    Api,
    /// The errors subsystem: new and regressed issues, spikes, cron monitors.
    Errors,
    /// Unusual login patterns found in the logs' login events.
    Logins,
}

impl AlertSource {
    /// The name kept with a held alert and written as the history's group.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Rules => "rules",
            AlertSource::Api => "alertmanager-api",
            AlertSource::Errors => "errors",
            AlertSource::Logins => "logins",
        }
    }

    pub fn parse(name: &str) -> Option<AlertSource> {
        [
            AlertSource::Rules,
            AlertSource::Api,
            AlertSource::Errors,
            AlertSource::Logins,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// One state change of an alert received from a source that keeps no
/// history of its own: `inactive → firing` or `firing → inactive`.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertChange {
    pub at: SystemTime,
    pub source: AlertSource,
    pub labels: Labels,
    /// `true`: it began firing; `false`: it stopped.
    pub firing: bool,
    /// Its `summary` annotation, else its `description`.
    pub summary: String,
}

/// Where the dispatcher hands the state changes of received alerts (the
/// alert history implements it, tests with a recorder). Called from async
/// code: it must queue, not write. Changes handed over one call after
/// another are kept in that order.
pub trait AlertHistorySink: Send + Sync {
    fn keep(&self, changes: Vec<AlertChange>);
}

/// Where alert flood mode swaps rule expressions: the rule manager
/// implements it. Each pair is a rule (`ALERTNAME` or `GROUP/ALERTNAME`)
/// and the expression it evaluates instead of its own until the next
/// call; an empty list puts every rule back.
pub trait RuleOverrideSink: Send + Sync {
    fn set_overrides(&self, overrides: Vec<(String, String)>);
}
