//! Events older than `errors.retention` are deleted by a background task,
//! a bounded batch per transaction, oldest first through the time index
//! (so a pass that finds nothing old reads one key). Issues keep their
//! counts, first and last seen; only events and their index entries go.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::selfmetrics::{Counter, Registry};
use crate::state::{WriteOp, tables};

use super::attachments::AttachmentStore;
use super::store::ErrorStore;
use super::{ErrorsError, event_index};

/// Events deleted per transaction: keeps each commit short, so ingest
/// waits little behind it.
pub const RETENTION_BATCH: usize = 1_000;

/// An event retention deleted: what holds data keyed by event (such as
/// attachments) deletes its part from these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedEvent {
    pub project: u64,
    pub issue: u64,
    pub event_id: String,
}

impl ErrorStore {
    /// Deletes up to `limit` events older than `cutoff_ms` (milliseconds
    /// since the epoch), oldest first, in one durable transaction.
    /// Blocking.
    pub fn delete_events_before(
        &self,
        cutoff_ms: u64,
        limit: usize,
    ) -> Result<Vec<DeletedEvent>, ErrorsError> {
        let rows = self.state.scan_range(
            tables::ERROR_EVENT_TIMES,
            "",
            &event_index::time_bound(cutoff_ms),
            limit,
        )?;
        let mut ops = Vec::with_capacity(rows.len() * 4);
        let mut deleted = Vec::with_capacity(rows.len());
        for (time_key, request_id) in rows {
            ops.push(WriteOp::delete(tables::ERROR_EVENT_TIMES, time_key.as_str()));
            let Some((issue, event_key)) = event_index::event_key_of_time_key(&time_key) else {
                tracing::warn!(
                    key = time_key,
                    "cannot read an error event time key; it is dropped"
                );
                continue;
            };
            let event_id = event_index::event_id_of_event_key(&event_key).to_string();
            let request_id = String::from_utf8_lossy(&request_id);
            if !request_id.is_empty() {
                ops.push(WriteOp::delete(
                    tables::ERROR_REQUEST_EVENTS,
                    event_index::request_key(&request_id, &event_key),
                ));
            }
            let project = self.issue_project(issue).unwrap_or_default();
            ops.push(WriteOp::delete(
                tables::ERROR_EVENT_IDS,
                event_index::event_id_key(project, &event_id),
            ));
            ops.push(WriteOp::delete(tables::ERROR_EVENTS, event_key));
            deleted.push(DeletedEvent {
                project,
                issue,
                event_id,
            });
        }
        if !ops.is_empty() {
            self.writer.write_blocking(ops)?;
        }
        let ids: Vec<(u64, &str)> = deleted.iter().map(|d| (d.project, d.event_id.as_str())).collect();
        self.forget_recent(&ids);
        Ok(deleted)
    }
}

/// Deletes everything older than `retention` now, a batch at a time.
/// Blocking.
pub fn expire_events(
    store: &ErrorStore,
    attachments: Option<&AttachmentStore>,
    retention: Duration,
    expired: &Counter,
) -> Result<u64, ErrorsError> {
    let cutoff_ms = crate::model::now_millis().max(0) as u64;
    let cutoff_ms = cutoff_ms.saturating_sub(retention.as_millis() as u64);
    let mut total = 0;
    loop {
        let deleted = store.delete_events_before(cutoff_ms, RETENTION_BATCH)?;
        // An event's attachments go with it; a failure leaves them for
        // nothing to find, so it is reported but does not stop the pass.
        for d in deleted.iter().filter(|_| attachments.is_some()) {
            if let Err(e) = attachments.map_or(Ok(0), |a| a.delete_event(d.project, &d.event_id)) {
                tracing::warn!(event = %d.event_id, error = %e, "cannot delete an expired event's attachments");
            }
        }
        total += deleted.len() as u64;
        expired.add(deleted.len() as u64);
        if deleted.len() < RETENTION_BATCH {
            return Ok(total);
        }
    }
}

/// The background task: a pass every `every`, until `shutdown`.
pub async fn run_retention(
    store: Arc<ErrorStore>,
    attachments: Option<Arc<AttachmentStore>>,
    retention: Duration,
    every: Duration,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) {
    let expired = registry.counter(
        "belfry_error_events_expired_total",
        "Error events deleted for being older than errors.retention (their issues keep their counts).",
    );
    let failures = registry.counter(
        "belfry_error_retention_failures_total",
        "Passes of the error events' retention that failed (retried at the next pass).",
    );
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let store = store.clone();
        let attachments = attachments.clone();
        let expired = expired.clone();
        let pass = tokio::task::spawn_blocking(move || {
            expire_events(&store, attachments.as_deref(), retention, &expired)
        })
        .await;
        match pass {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(events = n, "deleted error events past their retention"),
            Ok(Err(e)) => {
                failures.inc();
                tracing::warn!(error = %e, "cannot delete error events past their retention");
            }
            Err(e) => {
                failures.inc();
                tracing::warn!(error = %e, "the error retention task failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Event;
    use crate::errors::grouping::group;
    use crate::state::{StateStore, StateWriter};

    fn event(json: &str) -> Event {
        Event::parse(json.as_bytes(), None, 0.0).unwrap()
    }

    #[tokio::test]
    async fn deletes_old_events_in_batches_and_keeps_counts() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateStore::open(dir.path()).unwrap();
        let store = Arc::new(ErrorStore::open(state.clone(), StateWriter::start(state.clone())).unwrap());
        for (i, ts) in [100, 200, 300, 5_000].into_iter().enumerate() {
            let e = event(&format!(
                r#"{{"event_id":"{i:032x}","message":"m","timestamp":{ts},"tags":{{"request_id":"r{i}"}}}}"#
            ));
            let g = group(&e, &[]);
            store.record(1, &g, e).await.unwrap();
        }
        // A retry of a stored event is recognized, from memory and disk.
        let again = event(&format!(r#"{{"event_id":"{:032x}","message":"m"}}"#, 1));
        assert!(
            store
                .record(1, &group(&again, &[]), again)
                .await
                .unwrap()
                .duplicate
        );
        assert_eq!(
            store.stored_event_issue(1, &format!("{:032x}", 1)).unwrap(),
            Some(1)
        );
        assert_eq!(store.stored_event_issue(2, &format!("{:032x}", 1)).unwrap(), None);

        let s = store.clone();
        let deleted = tokio::task::spawn_blocking(move || s.delete_events_before(1_000_000, 2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(deleted.len(), 2);
        assert_eq!(deleted[0].event_id, format!("{:032x}", 0));
        assert_eq!((deleted[0].project, deleted[0].issue), (1, 1));
        let s = store.clone();
        let rest = tokio::task::spawn_blocking(move || s.delete_events_before(1_000_000, 10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rest.len(), 1);
        let issue = store.issue(1).unwrap();
        assert_eq!((issue.count, issue.first_seen), (4, 100.0));
        let s = store.clone();
        let (page, ids, by_request, kept) = tokio::task::spawn_blocking(move || {
            (
                s.events(1, None, 10).unwrap(),
                s.stored_event_issue(1, &format!("{:032x}", 0)).unwrap(),
                s.request_events("r0", None, 10).unwrap(),
                s.request_events("r3", Some(1), 10).unwrap(),
            )
        })
        .await
        .unwrap();
        assert_eq!(page.events.len(), 1);
        assert_eq!(page.events[0]["timestamp"], 5_000.0);
        assert_eq!(ids, None);
        assert!(by_request.is_empty());
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0]["request_id"], "r3");
        assert!(state.scan(tables::ERROR_EVENT_TIMES).unwrap().len() == 1);
        assert!(state.scan(tables::ERROR_REQUEST_EVENTS).unwrap().len() == 1);
    }
}
