//! When each report was last sent, in table `report_runs` of
//! `state.redb`, so a restart neither skips a report that fell due while
//! Belfry was down nor sends one twice: a scheduled report's slot is
//! written once its mail is accepted.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ReportError;
use crate::state::{StateStore, WriteOp, tables};

/// What is kept per report (JSON, by report name). Version 1.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRun {
    #[serde(default = "version")]
    pub version: u32,
    /// When the report was first seen on its schedule (Unix ms): slots
    /// before are not sent, so turning a report on does not send the
    /// last period's at once.
    pub since_ms: i64,
    /// The latest scheduled slot sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_ms: Option<i64>,
    /// The last send, on the schedule or by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_receiver: String,
    /// The last attempt's failure, cleared by a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

fn version() -> u32 {
    1
}

/// The slot due at `now_ms`, if any: the schedule's latest slot, when it is
/// after both the last one sent and the time the report was first seen.
pub fn due_slot(latest_slot_ms: i64, run: &ReportRun) -> Option<i64> {
    let floor = run.slot_ms.unwrap_or(i64::MIN).max(run.since_ms);
    (latest_slot_ms > floor).then_some(latest_slot_ms)
}

pub struct ReportRuns {
    store: Option<Arc<StateStore>>,
}

impl ReportRuns {
    /// `None`: a server without a state store keeps them in memory only
    /// (tests), which the callers do not see.
    pub fn new(store: Option<Arc<StateStore>>) -> ReportRuns {
        ReportRuns { store }
    }

    /// Blocking.
    pub fn get(&self, name: &str) -> Result<Option<ReportRun>, ReportError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let Some(bytes) = store.get(tables::REPORT_RUNS, name)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ReportError::Corrupt {
                key: name.to_string(),
                message: e.to_string(),
            })
    }

    /// Durable when it returns. Blocking.
    pub fn put(&self, name: &str, run: &ReportRun) -> Result<(), ReportError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(run).expect("a report run serializes");
        Ok(store.write(&[WriteOp::put(tables::REPORT_RUNS, name, bytes)])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_due_once_and_not_before_the_report_was_seen() {
        let mut run = ReportRun {
            version: 1,
            since_ms: 1_000,
            ..Default::default()
        };
        assert_eq!(due_slot(900, &run), None, "a slot before the report was on");
        assert_eq!(due_slot(1_500, &run), Some(1_500));
        run.slot_ms = Some(1_500);
        assert_eq!(due_slot(1_500, &run), None, "sent already");
        assert_eq!(due_slot(2_500, &run), Some(2_500));
    }

    #[test]
    fn runs_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let run = ReportRun {
            version: 1,
            since_ms: 5,
            slot_ms: Some(10),
            last_sent_ms: Some(11),
            last_receiver: "team".into(),
            last_error: None,
        };
        {
            let runs = ReportRuns::new(Some(StateStore::open(dir.path()).unwrap()));
            assert_eq!(runs.get("daily").unwrap(), None);
            runs.put("daily", &run).unwrap();
        }
        let runs = ReportRuns::new(Some(StateStore::open(dir.path()).unwrap()));
        assert_eq!(runs.get("daily").unwrap(), Some(run));
    }
}
