//! The alerts the dispatcher knows, by fingerprint, merged as Alertmanager
//! merges a re-sent alert with the one it has: earliest start wins, and an
//! explicit end beats one guessed from `resolve_timeout`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::{Alert, Label, Labels};

#[derive(Clone, Debug, PartialEq)]
pub struct AlertEntry {
    /// Shared with the aggregation groups the alert is routed to, so a
    /// held alert is one copy however many routes match it.
    pub alert: Arc<Alert>,
    pub updated_at: SystemTime,
    /// `ends_at` was not given by the source but set from `resolve_timeout`.
    pub timeout: bool,
}

impl AlertEntry {
    /// Alertmanager's `Alert.Merge`, `self` being the one already held.
    fn merge(&self, newer: &AlertEntry) -> AlertEntry {
        let (old, new) = if newer.updated_at < self.updated_at {
            (newer, self)
        } else {
            (self, newer)
        };
        let mut res = new.clone();
        if old.alert.starts_at < new.alert.starts_at {
            Arc::make_mut(&mut res.alert).starts_at = old.alert.starts_at;
        }
        let now = new.updated_at;
        if new.alert.is_resolved_at(now) {
            if old.alert.is_resolved_at(now) && old.alert.ends_at > new.alert.ends_at {
                Arc::make_mut(&mut res.alert).ends_at = old.alert.ends_at;
            }
        } else if old.alert.ends_at > new.alert.ends_at && !old.timeout {
            Arc::make_mut(&mut res.alert).ends_at = old.alert.ends_at;
            res.timeout = false;
        }
        res
    }
}

/// Refused: the store is full.
#[derive(Debug)]
pub struct StoreFull;

pub struct AlertStore {
    alerts: HashMap<u64, AlertEntry>,
    max: usize,
}

impl AlertStore {
    pub fn new(max: usize) -> AlertStore {
        AlertStore {
            alerts: HashMap::new(),
            max,
        }
    }

    /// Adds or merges an alert; returns the entry now held.
    pub fn upsert(&mut self, fp: u64, entry: AlertEntry) -> Result<AlertEntry, StoreFull> {
        let merged = match self.alerts.get(&fp) {
            // Overlapping lifetimes are the same incident; otherwise the
            // new alert replaces a finished one.
            Some(old)
                if old.alert.ends_at >= entry.alert.starts_at
                    && entry.alert.ends_at >= old.alert.starts_at =>
            {
                old.merge(&entry)
            }
            Some(_) => entry,
            None if self.alerts.len() >= self.max => return Err(StoreFull),
            None => entry,
        };
        self.alerts.insert(fp, merged.clone());
        Ok(merged)
    }

    pub fn get(&self, fp: u64) -> Option<&AlertEntry> {
        self.alerts.get(&fp)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&u64, &AlertEntry)> {
        self.alerts.iter()
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Removes alerts that resolved before `cutoff`; returns their fingerprints.
    pub fn remove_resolved_before(&mut self, cutoff: SystemTime) -> Vec<u64> {
        let gone: Vec<u64> = self
            .alerts
            .iter()
            .filter(|(_, e)| e.alert.ends_at < cutoff)
            .map(|(fp, _)| *fp)
            .collect();
        for fp in &gone {
            self.alerts.remove(fp);
        }
        gone
    }
}

/// How an alert is kept in `state.redb`.
#[derive(Serialize, Deserialize)]
pub struct StoredAlert {
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    starts_at: SystemTime,
    ends_at: SystemTime,
    generator_url: String,
    updated_at: SystemTime,
    timeout: bool,
}

impl From<&AlertEntry> for StoredAlert {
    fn from(e: &AlertEntry) -> Self {
        let pairs = |l: &Labels| l.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
        StoredAlert {
            labels: pairs(&e.alert.labels),
            annotations: pairs(&e.alert.annotations),
            starts_at: e.alert.starts_at,
            ends_at: e.alert.ends_at,
            generator_url: e.alert.generator_url.clone(),
            updated_at: e.updated_at,
            timeout: e.timeout,
        }
    }
}

impl From<StoredAlert> for AlertEntry {
    fn from(s: StoredAlert) -> Self {
        let labels =
            |p: Vec<(String, String)>| Labels::new(p.into_iter().map(|(n, v)| Label::new(n, v)).collect());
        AlertEntry {
            alert: Arc::new(Alert {
                labels: labels(s.labels),
                annotations: labels(s.annotations),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                generator_url: s.generator_url,
            }),
            updated_at: s.updated_at,
            timeout: s.timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn entry(start: u64, end: u64, updated: u64, timeout: bool) -> AlertEntry {
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        AlertEntry {
            alert: Arc::new(Alert {
                labels: Labels::from_pairs(&[("alertname", "x")]),
                annotations: Labels::default(),
                starts_at: t(start),
                ends_at: t(end),
                generator_url: String::new(),
            }),
            updated_at: t(updated),
            timeout,
        }
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let mut s = AlertStore::new(10);
        s.upsert(1, entry(100, 400, 100, false)).unwrap();
        let m = s.upsert(1, entry(150, 300, 150, true)).unwrap();
        assert_eq!(
            m.alert.starts_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(100)
        );
        assert_eq!(m.alert.ends_at, SystemTime::UNIX_EPOCH + Duration::from_secs(400));
        // A later, non-overlapping alert replaces the finished one.
        let m = s.upsert(1, entry(1000, 2000, 1000, false)).unwrap();
        assert_eq!(
            m.alert.starts_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1000)
        );
    }

    #[test]
    fn store_is_bounded() {
        let mut s = AlertStore::new(1);
        s.upsert(1, entry(1, 2, 1, false)).unwrap();
        assert!(s.upsert(2, entry(1, 2, 1, false)).is_err());
        assert!(s.upsert(1, entry(1, 3, 2, false)).is_ok());
        assert_eq!(
            s.remove_resolved_before(SystemTime::UNIX_EPOCH + Duration::from_secs(10)),
            vec![1]
        );
        assert!(s.is_empty());
    }
}
