//! The background task of cron monitors and error alerts: every
//! `errors.monitors.check_interval` it marks missed and timed-out
//! check-ins, resolves alerts whose cause has ended and re-sends the
//! active ones. Each round is a walk over in-memory maps under short
//! locks; the writes it causes are not waited for.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::ErrorIngest;
use crate::model::now_seconds;

/// Runs until `shutdown`.
pub async fn run_monitor_task(ingest: Arc<ErrorIngest>, interval: Duration, shutdown: CancellationToken) {
    if let Some(alerts) = ingest.alerts() {
        alerts.adopt_issue_alerts(now_seconds());
    }
    if let (Some(monitors), Some(alerts)) = (ingest.monitors(), ingest.alerts()) {
        alerts.restore_monitor_incidents(monitors.open_incidents(), now_seconds());
    }
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now = now_seconds();
        let changes = ingest.monitors().map(|m| m.tick(now)).unwrap_or_default();
        if let Some(alerts) = ingest.alerts() {
            alerts.monitor_changes(changes, now);
            let store = ingest.store().clone();
            alerts.tick(now, |id| store.issue(id));
        }
    }
}
