//! An alert as it travels from whatever raised it (rule evaluation, the
//! Alertmanager API, error and log rules) to the dispatcher. The same shape
//! as Alertmanager's API alert, so every source maps onto it directly.

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
