//! The notification log: for each aggregation group and integration, which
//! alerts were firing and resolved when it was last notified, and when.
//! Persisted in `state.redb` before a notification counts as done, so a
//! restart neither repeats a notification nor forgets a pending one.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::error::AlertingError;
use crate::state::{StateWriter, WriteOp, tables};

/// Entries are kept this long after their last notification (as
/// Alertmanager's default), longer than any sensible repeat_interval.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(120 * 3600);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Sorted fingerprints.
    pub firing: Vec<u64>,
    pub resolved: Vec<u64>,
    pub timestamp: SystemTime,
}

impl LogEntry {
    /// Whether every alert in `firing` was already firing when notified.
    pub fn is_firing_subset(&self, firing: &[u64]) -> bool {
        firing.iter().all(|f| self.firing.binary_search(f).is_ok())
    }

    pub fn is_resolved_subset(&self, resolved: &[u64]) -> bool {
        resolved.iter().all(|f| self.resolved.binary_search(f).is_ok())
    }
}

pub struct NotificationLog {
    entries: Mutex<HashMap<String, LogEntry>>,
    writer: Option<StateWriter>,
    retention: Duration,
}

/// The log key of one integration of one receiver for one group.
pub fn key(group_key: &str, receiver: &str, integration: &str, index: usize) -> String {
    format!("{group_key}\u{1f}{receiver}\u{1f}{integration}\u{1f}{index}")
}

impl NotificationLog {
    pub fn new(stored: Vec<(String, Vec<u8>)>, writer: Option<StateWriter>) -> NotificationLog {
        let mut entries = HashMap::new();
        for (k, bytes) in stored {
            match serde_json::from_slice::<LogEntry>(&bytes) {
                Ok(e) => {
                    entries.insert(k, e);
                }
                Err(e) => tracing::warn!(key = k, error = %e, "skipping unreadable notification log entry"),
            }
        }
        NotificationLog {
            entries: Mutex::new(entries),
            writer,
            retention: DEFAULT_RETENTION,
        }
    }

    pub fn get(&self, key: &str) -> Option<LogEntry> {
        self.entries.lock().get(key).cloned()
    }

    /// Records a notification and waits until it is durable.
    pub async fn log(&self, key: String, entry: LogEntry) -> Result<(), AlertingError> {
        let bytes = serde_json::to_vec(&entry)
            .map_err(|e| AlertingError::Internal(format!("encoding nflog entry: {e}")))?;
        self.entries.lock().insert(key.clone(), entry);
        match &self.writer {
            Some(w) => w
                .write(vec![WriteOp::put(tables::NFLOG, key, bytes)])
                .await
                .map_err(AlertingError::State),
            None => Ok(()),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops entries older than the retention.
    pub async fn gc(&self, now: SystemTime) -> Result<usize, AlertingError> {
        let old: Vec<String> = {
            let mut entries = self.entries.lock();
            let old: Vec<String> = entries
                .iter()
                .filter(|(_, e)| e.timestamp + self.retention <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &old {
                entries.remove(k);
            }
            old
        };
        let n = old.len();
        if n > 0
            && let Some(w) = &self.writer
        {
            w.write(
                old.into_iter()
                    .map(|k| WriteOp::delete(tables::NFLOG, k))
                    .collect(),
            )
            .await
            .map_err(AlertingError::State)?;
        }
        Ok(n)
    }
}

/// Alertmanager's dedup decision: notify when new alerts fire, when all
/// alerts resolved after a firing notification, when alerts resolved and
/// the integration wants resolved notifications, or when the repeat
/// interval has passed.
pub fn needs_update(
    entry: Option<&LogEntry>,
    firing: &[u64],
    resolved: &[u64],
    send_resolved: bool,
    repeat: Duration,
    now: SystemTime,
) -> bool {
    let Some(entry) = entry else {
        return !firing.is_empty();
    };
    if !entry.is_firing_subset(firing) {
        return true;
    }
    if firing.is_empty() {
        // Everything resolved: tell the receiver if it heard of any firing.
        return !entry.firing.is_empty();
    }
    if send_resolved && !entry.is_resolved_subset(resolved) {
        return true;
    }
    entry.timestamp + repeat <= now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(firing: &[u64], resolved: &[u64], at: SystemTime) -> LogEntry {
        LogEntry {
            firing: firing.to_vec(),
            resolved: resolved.to_vec(),
            timestamp: at,
        }
    }

    #[test]
    fn dedup_follows_alertmanager() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        assert!(needs_update(None, &[1], &[], false, hour, now));
        assert!(!needs_update(None, &[], &[1], true, hour, now));
        let e = entry(&[1, 2], &[], now);
        assert!(!needs_update(Some(&e), &[1, 2], &[], false, hour, now));
        assert!(!needs_update(Some(&e), &[1], &[2], false, hour, now));
        assert!(needs_update(Some(&e), &[1], &[2], true, hour, now));
        assert!(needs_update(Some(&e), &[1, 3], &[], false, hour, now));
        assert!(needs_update(Some(&e), &[], &[1, 2], false, hour, now));
        assert!(needs_update(Some(&e), &[1, 2], &[], false, hour, now + hour));
        let done = entry(&[], &[1], now);
        assert!(!needs_update(Some(&done), &[], &[1], true, hour, now));
    }

    #[tokio::test]
    async fn survives_restart_and_gc() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::state::StateStore::open(dir.path()).unwrap();
        let now = SystemTime::now();
        {
            let log = NotificationLog::new(Vec::new(), Some(StateWriter::start(store.clone())));
            log.log(key("g", "r", "webhook", 0), entry(&[7], &[], now))
                .await
                .unwrap();
        }
        let log = NotificationLog::new(store.scan(tables::NFLOG).unwrap(), None);
        assert_eq!(log.get(&key("g", "r", "webhook", 0)).unwrap().firing, vec![7]);
        assert_eq!(log.gc(now + DEFAULT_RETENTION).await.unwrap(), 1);
        assert!(log.is_empty());
    }
}
