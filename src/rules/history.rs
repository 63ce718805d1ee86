//! The alert history: every state change of every rule's alert
//! (inactive → pending → firing → inactive), kept in table
//! `alert_history` of `state.redb` so it outlives restarts and can be
//! searched — which Alertmanager does not keep. Transitions are found by
//! comparing a rule's alerts before and after an evaluation
//! (`transitions`), and written by the rule manager after each group.
//! The alerts the dispatcher receives from elsewhere (the Alertmanager
//! API, error alerts) are kept here too: the dispatcher finds their
//! changes and hands them over as `model::AlertChange`s through
//! [`HistoryQueue`], their source as the group.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::model::{AlertChange, AlertHistorySink, Labels};
use crate::state::{StateError, StateStore, WriteOp, tables};

use super::alerting::{AlertState, AlertingRule};

/// Entries older than this are deleted as new ones are written.
pub const HISTORY_RETENTION_MS: i64 = 90 * 24 * 3600 * 1000;
/// How many entries one search reads at most, whatever its filter.
const MAX_SCANNED: usize = 200_000;
const PAGE: usize = 2_000;

/// One state change of one alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    /// When the evaluation that saw it ran (Unix ms).
    pub at_ms: i64,
    pub group: String,
    pub alertname: String,
    pub labels: BTreeMap<String, String>,
    pub from: String,
    pub to: String,
    /// The expression's value (NaN when the alert went inactive).
    #[serde(with = "value_text")]
    pub value: f64,
    pub summary: String,
}

/// Values as text, so NaN and infinities survive JSON.
mod value_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::promql::format_sample_value(*v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        Ok(text.parse::<f64>().unwrap_or(f64::NAN))
    }
}

/// The states of a rule's alerts, before an evaluation.
pub fn states(rule: &AlertingRule) -> HashMap<Labels, AlertState> {
    rule.active.iter().map(|(k, a)| (k.clone(), a.state)).collect()
}

/// What changed between `before` and the rule's alerts now.
pub fn transitions(
    rule: &AlertingRule,
    before: &HashMap<Labels, AlertState>,
    group: &str,
    at_ms: i64,
) -> Vec<AlertTransition> {
    let make =
        |labels: &Labels, from: AlertState, to: AlertState, value: f64, summary: &str| AlertTransition {
            at_ms,
            group: group.to_string(),
            alertname: rule.name.clone(),
            labels: labels
                .iter()
                .filter(|l| l.name != "alertname")
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect(),
            from: from.as_str().to_string(),
            to: to.as_str().to_string(),
            value,
            summary: summary.to_string(),
        };
    let summary = |a: &super::alerting::ActiveAlert| {
        a.annotations
            .get("summary")
            .or_else(|| a.annotations.get("description"))
            .unwrap_or_default()
            .to_string()
    };
    let mut out = Vec::new();
    for (labels, a) in &rule.active {
        let was = before.get(labels).copied().unwrap_or(AlertState::Inactive);
        if was != a.state {
            let value = if a.state == AlertState::Inactive {
                f64::NAN
            } else {
                a.value
            };
            out.push(make(labels, was, a.state, value, &summary(a)));
        }
    }
    // Pending alerts that stopped are dropped from the rule at once.
    for (labels, was) in before {
        if *was != AlertState::Inactive && !rule.active.contains_key(labels) {
            out.push(make(labels, *was, AlertState::Inactive, f64::NAN, ""));
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}

/// The history in the state store.
pub struct AlertHistory {
    store: Arc<StateStore>,
    /// Orders, and keeps apart, entries of the same millisecond. It starts
    /// at the process's start in nanoseconds, so it only grows across
    /// restarts too: a change recorded after a restart at a time already
    /// in the table (a received alert's end can lie in the past) neither
    /// overwrites an entry of the run before nor sorts before it.
    seq: AtomicU64,
    last_pruned_ms: AtomicU64,
}

fn key(at_ms: i64, seq: u64) -> String {
    format!("{:020}/{seq:020}", at_ms.max(0))
}

impl AlertHistory {
    pub fn new(store: Arc<StateStore>) -> AlertHistory {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2));
        AlertHistory {
            store,
            seq: AtomicU64::new(started),
            last_pruned_ms: AtomicU64::new(0),
        }
    }

    /// Writes transitions in one durable transaction, and deletes entries
    /// past the retention at most once an hour. Blocking.
    pub fn record(&self, transitions: &[AlertTransition]) -> Result<(), StateError> {
        if transitions.is_empty() {
            return Ok(());
        }
        let mut ops: Vec<WriteOp> = transitions
            .iter()
            .filter_map(|t| {
                let bytes = serde_json::to_vec(t).ok()?;
                let seq = self.seq.fetch_add(1, Ordering::Relaxed);
                Some(WriteOp::put(tables::ALERT_HISTORY, key(t.at_ms, seq), bytes))
            })
            .collect();
        let now = transitions.iter().map(|t| t.at_ms).max().unwrap_or_default();
        let last = self.last_pruned_ms.load(Ordering::Relaxed) as i64;
        if now - last > 3_600_000 {
            self.last_pruned_ms.store(now.max(0) as u64, Ordering::Relaxed);
            let cutoff = key(now - HISTORY_RETENTION_MS, 0);
            for (k, _) in self
                .store
                .scan_range(tables::ALERT_HISTORY, "", &cutoff, 10_000)?
            {
                ops.push(WriteOp::delete(tables::ALERT_HISTORY, k));
            }
        }
        self.store.write(&ops)
    }

    /// Transitions in `[start_ms, end_ms]`, newest first, whose alert
    /// name, labels, states or summary contain every word of `query`
    /// (case-insensitive); at most `limit`. Blocking.
    pub fn search(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<Vec<AlertTransition>, StateError> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let start_key = key(start_ms, 0);
        let mut before = Some(key(end_ms.saturating_add(1), 0));
        let mut out = Vec::new();
        let mut scanned = 0;
        while out.len() < limit && scanned < MAX_SCANNED {
            let page = self
                .store
                .scan_prefix_rev(tables::ALERT_HISTORY, "", before.as_deref(), PAGE)?;
            let Some((last, _)) = page.last() else { break };
            before = Some(last.clone());
            let done = page.len() < PAGE;
            for (k, bytes) in page {
                scanned += 1;
                if k < start_key {
                    return Ok(out);
                }
                let Ok(t) = serde_json::from_slice::<AlertTransition>(&bytes) else {
                    continue;
                };
                if words.is_empty() || matches_words(&t, &words) {
                    out.push(t);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
            if done {
                break;
            }
        }
        Ok(out)
    }
}

/// A received alert's change as the history keeps it: its source as the
/// group, no value (no expression made it).
fn received(change: AlertChange) -> AlertTransition {
    let state = |firing| if firing { "firing" } else { "inactive" };
    AlertTransition {
        at_ms: change
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        group: change.source.as_str().to_string(),
        alertname: change.labels.get("alertname").unwrap_or_default().to_string(),
        labels: change
            .labels
            .iter()
            .filter(|l| l.name != "alertname")
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
        from: state(!change.firing).to_string(),
        to: state(change.firing).to_string(),
        value: f64::NAN,
        summary: change.summary,
    }
}

/// The history as the dispatcher's `AlertHistorySink`: changes are queued
/// to a thread of their own that records them (one durable write per
/// batch, in the order handed over), so the dispatcher never waits on the
/// disk. The thread ends when the queue is dropped.
pub struct HistoryQueue {
    tx: std::sync::mpsc::Sender<Vec<AlertTransition>>,
}

impl AlertHistory {
    /// Starts the thread that writes what the returned queue is handed.
    pub fn queue(self: &Arc<Self>) -> HistoryQueue {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<AlertTransition>>();
        let history = self.clone();
        std::thread::Builder::new()
            .name("belfry-alert-history".into())
            .spawn(move || {
                while let Ok(mut batch) = rx.recv() {
                    for more in rx.try_iter() {
                        batch.extend(more);
                    }
                    if let Err(e) = history.record(&batch) {
                        tracing::warn!(
                            changes = batch.len(),
                            error = %e,
                            "received alerts' state changes could not be written to the history"
                        );
                    }
                }
            })
            .expect("spawning the alert history thread");
        HistoryQueue { tx }
    }
}

impl AlertHistorySink for HistoryQueue {
    fn keep(&self, changes: Vec<AlertChange>) {
        if self.tx.send(changes.into_iter().map(received).collect()).is_err() {
            tracing::error!("the alert history thread has stopped; received alerts' changes were not kept");
        }
    }
}

fn matches_words(t: &AlertTransition, words: &[String]) -> bool {
    let mut text = format!("{} {} {} {} {}", t.alertname, t.group, t.from, t.to, t.summary);
    for (k, v) in &t.labels {
        text.push_str(&format!(" {k}={v}"));
    }
    let text = text.to_lowercase();
    words.iter().all(|w| text.contains(w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(at_ms: i64, name: &str, to: &str) -> AlertTransition {
        AlertTransition {
            at_ms,
            group: "g".into(),
            alertname: name.into(),
            labels: BTreeMap::from([("job".to_string(), "api".to_string())]),
            from: "pending".into(),
            to: to.into(),
            value: if to == "inactive" { f64::NAN } else { 1.5 },
            summary: "API is slow".into(),
        }
    }

    #[test]
    fn recorded_transitions_are_found_newest_first_by_words_and_range() {
        let dir = tempfile::tempdir().unwrap();
        let history = AlertHistory::new(StateStore::open(dir.path()).unwrap());
        history
            .record(&[t(1_000, "HighLatency", "firing"), t(2_000, "DiskFull", "firing")])
            .unwrap();
        history.record(&[t(3_000, "HighLatency", "inactive")]).unwrap();
        let all = history.search("", 0, 10_000, 10).unwrap();
        assert_eq!(
            all.iter().map(|t| t.at_ms).collect::<Vec<_>>(),
            vec![3_000, 2_000, 1_000]
        );
        assert!(all[0].value.is_nan());
        let latency = history.search("highlatency JOB=API", 0, 10_000, 10).unwrap();
        assert_eq!(latency.len(), 2);
        assert_eq!(history.search("inactive", 0, 10_000, 10).unwrap().len(), 1);
        assert_eq!(history.search("", 1_500, 2_500, 10).unwrap().len(), 1);
        assert_eq!(history.search("", 0, 10_000, 1).unwrap()[0].at_ms, 3_000);
    }

    #[test]
    fn received_changes_are_kept_under_their_source_in_order() {
        use crate::model::AlertSource;
        use std::time::{Duration, UNIX_EPOCH};

        let dir = tempfile::tempdir().unwrap();
        let history = Arc::new(AlertHistory::new(StateStore::open(dir.path()).unwrap()));
        let queue = history.queue();
        let change = |secs, firing| AlertChange {
            at: UNIX_EPOCH + Duration::from_secs(secs),
            source: AlertSource::Api,
            labels: Labels::from_pairs(&[("alertname", "BackupFailed"), ("host", "db-1")]),
            firing,
            summary: "nightly backup failed".into(),
        };
        queue.keep(vec![change(100, true)]);
        queue.keep(vec![change(160, false)]);
        // Dropping the queue ends the thread once it has written them.
        drop(queue);
        let mut found = Vec::new();
        for _ in 0..500 {
            found = history
                .search("backupfailed host=db-1", 0, 1_000_000, 10)
                .unwrap();
            if found.len() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let states: Vec<_> = found
            .iter()
            .map(|t| (t.at_ms, t.from.as_str(), t.to.as_str(), t.group.as_str()))
            .collect();
        assert_eq!(
            states,
            vec![
                (160_000, "firing", "inactive", "alertmanager-api"),
                (100_000, "inactive", "firing", "alertmanager-api"),
            ]
        );
        assert_eq!(found[1].summary, "nightly backup failed");
        assert!(!found[1].labels.contains_key("alertname"));
        assert!(found[1].value.is_nan());
        assert_eq!(
            history
                .search("alertmanager-api", 0, 1_000_000, 10)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn an_entry_written_after_a_restart_at_the_same_time_is_kept_after_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        AlertHistory::new(store.clone())
            .record(&[t(5_000, "BackupFailed", "firing")])
            .unwrap();
        // The next run's history, recording at the very same millisecond.
        let history = AlertHistory::new(store);
        history.record(&[t(5_000, "BackupFailed", "inactive")]).unwrap();
        let found = history.search("backupfailed", 0, 10_000, 10).unwrap();
        let states: Vec<_> = found.iter().map(|t| t.to.as_str()).collect();
        assert_eq!(states, vec!["inactive", "firing"]);
    }

    #[test]
    fn old_entries_go_when_new_ones_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let history = AlertHistory::new(StateStore::open(dir.path()).unwrap());
        history.record(&[t(1_000, "Old", "firing")]).unwrap();
        let later = 1_000 + HISTORY_RETENTION_MS + 7_200_000;
        history.record(&[t(later, "New", "firing")]).unwrap();
        let names: Vec<_> = history
            .search("", 0, i64::MAX / 2, 10)
            .unwrap()
            .into_iter()
            .map(|t| t.alertname)
            .collect();
        assert_eq!(names, vec!["New"]);
    }
}
