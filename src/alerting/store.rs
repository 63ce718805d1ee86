//! The alerts the dispatcher knows, by fingerprint, merged as Alertmanager
//! merges a re-sent alert with the one it has: earliest start wins, and an
//! explicit end beats one guessed from `resolve_timeout`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::{Alert, AlertSource, Label, Labels, PackedLabels};

/// An alert as the dispatcher holds it: labels and annotations packed
/// into one allocation each (an alert of six labels and three
/// annotations is a dozen and a half small strings as an [`Alert`], a
/// third of the bytes packed). After a burst of new error issues the
/// dispatcher holds thousands; an [`Alert`] is made back for the moment
/// one is matched, notified or shown.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldAlert {
    labels: PackedLabels,
    annotations: PackedLabels,
    pub starts_at: SystemTime,
    pub ends_at: SystemTime,
    generator_url: Box<str>,
}

impl HeldAlert {
    pub fn new(a: &Alert) -> HeldAlert {
        HeldAlert {
            labels: PackedLabels::new(&a.labels),
            annotations: PackedLabels::new(&a.annotations),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            generator_url: a.generator_url.as_str().into(),
        }
    }

    pub fn labels(&self) -> Labels {
        self.labels.to_labels()
    }

    /// The `(name, value)` label pairs, in name order.
    pub fn label_pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.labels.pairs()
    }

    pub fn to_alert(&self) -> Alert {
        Alert {
            labels: self.labels.to_labels(),
            annotations: self.annotations.to_labels(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            generator_url: self.generator_url.to_string(),
        }
    }

    pub fn is_resolved_at(&self, now: SystemTime) -> bool {
        self.ends_at <= now
    }

    /// Its `summary` annotation, else its `description`, else "".
    pub fn summary(&self) -> &str {
        let mut summary = "";
        for (name, value) in self.annotations.pairs() {
            match name {
                "summary" => return value,
                "description" => summary = value,
                _ => {}
            }
        }
        summary
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlertEntry {
    /// Shared with the aggregation groups the alert is routed to, so a
    /// held alert is one copy however many routes match it.
    pub alert: Arc<HeldAlert>,
    pub updated_at: SystemTime,
    /// `ends_at` was not given by the source but set from `resolve_timeout`.
    pub timeout: bool,
    /// Who sent it last; `None` for an alert kept before sources were
    /// (it is not known whose history it belongs to).
    pub source: Option<AlertSource>,
    /// The alert history's last word on it is `firing` (see
    /// `received.rs`): its end, when it comes, is recorded.
    pub recorded_firing: bool,
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
    /// The alerts recorded as firing whose end has passed by `now`, marked
    /// as recorded inactive; returns them as they are now held.
    pub fn take_lapsed(&mut self, now: SystemTime) -> Vec<(u64, AlertEntry)> {
        let mut out = Vec::new();
        for (fp, e) in self.alerts.iter_mut() {
            if e.recorded_firing && e.alert.is_resolved_at(now) {
                e.recorded_firing = false;
                out.push((*fp, e.clone()));
            }
        }
        out
    }

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
    /// `AlertSource::as_str`; absent in alerts kept before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    /// The history's last word on it is `firing`; absent means no.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    recorded_firing: bool,
}

impl From<&AlertEntry> for StoredAlert {
    fn from(e: &AlertEntry) -> Self {
        let pairs = |l: &PackedLabels| l.pairs().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        StoredAlert {
            labels: pairs(&e.alert.labels),
            annotations: pairs(&e.alert.annotations),
            starts_at: e.alert.starts_at,
            ends_at: e.alert.ends_at,
            generator_url: e.alert.generator_url.to_string(),
            updated_at: e.updated_at,
            timeout: e.timeout,
            source: e.source.map(|s| s.as_str().to_string()),
            recorded_firing: e.recorded_firing,
        }
    }
}

impl From<StoredAlert> for AlertEntry {
    fn from(s: StoredAlert) -> Self {
        let (updated_at, timeout, recorded_firing) = (s.updated_at, s.timeout, s.recorded_firing);
        // A source this build does not know is kept as unknown.
        let source = s.source.as_deref().and_then(AlertSource::parse);
        AlertEntry {
            alert: Arc::new(HeldAlert::new(&s.into_alert())),
            updated_at,
            timeout,
            source,
            recorded_firing,
        }
    }
}

impl StoredAlert {
    /// The alert as it was sent (its entry's bookkeeping aside).
    pub fn into_alert(self) -> Alert {
        let labels =
            |p: Vec<(String, String)>| Labels::new(p.into_iter().map(|(n, v)| Label::new(n, v)).collect());
        Alert {
            labels: labels(self.labels),
            annotations: labels(self.annotations),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            generator_url: self.generator_url,
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
            alert: Arc::new(HeldAlert::new(&Alert {
                labels: Labels::from_pairs(&[("alertname", "x")]),
                annotations: Labels::default(),
                starts_at: t(start),
                ends_at: t(end),
                generator_url: String::new(),
            })),
            updated_at: t(updated),
            timeout,
            source: Some(AlertSource::Api),
            recorded_firing: false,
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
    fn held_alert_gives_back_the_alert() {
        let a = Alert {
            labels: Labels::from_pairs(&[("alertname", "ErrorIssueNew"), ("issue", "7"), ("ünï", "ç")]),
            annotations: Labels::from_pairs(&[("summary", "KeyError: 'grade'"), ("link", "http://b/7")]),
            starts_at: SystemTime::UNIX_EPOCH + Duration::from_secs(5),
            ends_at: SystemTime::UNIX_EPOCH + Duration::from_secs(9),
            generator_url: "http://b/7".into(),
        };
        let held = HeldAlert::new(&a);
        assert_eq!(held.to_alert(), a);
        assert_eq!(held.labels(), a.labels);
        assert!(held.is_resolved_at(a.ends_at));
        let entry = AlertEntry {
            alert: Arc::new(held),
            updated_at: a.starts_at,
            timeout: false,
            source: Some(AlertSource::Errors),
            recorded_firing: true,
        };
        let bytes = serde_json::to_vec(&StoredAlert::from(&entry)).unwrap();
        let stored: StoredAlert = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(AlertEntry::from(stored), entry);
        let stored: StoredAlert = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(stored.into_alert(), a);
    }

    #[test]
    fn an_alert_stored_before_sources_were_kept_is_read_as_unknown_and_unrecorded() {
        let old = br#"{"labels":[["alertname","x"]],"annotations":[],
            "starts_at":{"secs_since_epoch":5,"nanos_since_epoch":0},
            "ends_at":{"secs_since_epoch":9,"nanos_since_epoch":0},
            "generator_url":"","updated_at":{"secs_since_epoch":5,"nanos_since_epoch":0},"timeout":false}"#;
        let e = AlertEntry::from(serde_json::from_slice::<StoredAlert>(old).unwrap());
        assert_eq!(e.source, None);
        assert!(!e.recorded_firing);
        assert_eq!(e.alert.labels(), Labels::from_pairs(&[("alertname", "x")]));
    }

    #[test]
    fn summary_is_the_summary_else_the_description() {
        let held = |pairs: &[(&str, &str)]| {
            HeldAlert::new(&Alert {
                labels: Labels::from_pairs(&[("alertname", "x")]),
                annotations: Labels::from_pairs(pairs),
                starts_at: SystemTime::UNIX_EPOCH,
                ends_at: SystemTime::UNIX_EPOCH,
                generator_url: String::new(),
            })
        };
        assert_eq!(held(&[("description", "d"), ("summary", "s")]).summary(), "s");
        assert_eq!(held(&[("description", "d"), ("runbook", "r")]).summary(), "d");
        assert_eq!(held(&[]).summary(), "");
    }

    #[test]
    fn lapsed_alerts_are_taken_once() {
        let mut s = AlertStore::new(10);
        let mut firing = entry(100, 200, 100, false);
        firing.recorded_firing = true;
        s.upsert(1, firing.clone()).unwrap();
        s.upsert(2, entry(100, 150, 100, false)).unwrap();
        let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        assert!(s.take_lapsed(at(199)).is_empty());
        let lapsed = s.take_lapsed(at(200));
        assert_eq!(lapsed.len(), 1);
        assert_eq!(lapsed[0].0, 1);
        assert!(!lapsed[0].1.recorded_firing);
        assert!(!s.get(1).unwrap().recorded_firing);
        assert!(s.take_lapsed(at(300)).is_empty());
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
