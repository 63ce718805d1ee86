//! Cron monitors per project in `state.redb`: each monitor's state in
//! `error_monitors`, its newest check-ins in `error_monitor_checkins`
//! (`errors.monitors.max_checkins_per_monitor` of them; older ones are
//! deleted as new ones come). Everything is also held in memory, which
//! the limits bound; a check-in is durable before the ingest answers.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::ErrorMonitorsConfig;
use crate::selfmetrics::{CounterVec, Registry};
use crate::state::{StateStore, StateWriter, WriteOp, tables};

use super::ErrorsError;
use super::check_in::{CheckIn, CheckInError};
use super::monitor::{CheckInRecord, Incident, Monitor, Step};
use super::monitor_config::Schedule;

/// A monitor's incident opened or closed: what alerts are made of.
#[derive(Clone, Debug, PartialEq)]
pub enum MonitorChange {
    Opened { monitor: Monitor, incident: Incident },
    Resolved { monitor: Monitor },
}

struct Entry {
    monitor: Monitor,
    schedule: Schedule,
    /// Oldest first.
    checkins: VecDeque<CheckInRecord>,
}

pub struct MonitorStore {
    writer: StateWriter,
    config: ErrorMonitorsConfig,
    monitors: Mutex<HashMap<(u64, String), Entry>>,
    checkins_total: Arc<CounterVec>,
}

fn monitor_key(project: u64, slug: &str) -> String {
    format!("{project:020}/{slug}")
}

fn checkin_key(project: u64, slug: &str, seq: u64) -> String {
    format!("{project:020}/{slug}/{seq:020}")
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("monitors and check-ins serialize")
}

impl MonitorStore {
    /// Loads the monitors and their check-ins. Blocking.
    pub fn open(
        state: Arc<StateStore>,
        writer: StateWriter,
        config: ErrorMonitorsConfig,
        registry: &Registry,
    ) -> Result<MonitorStore, ErrorsError> {
        let mut monitors = HashMap::new();
        for (key, value) in state.scan(tables::ERROR_MONITORS)? {
            let monitor = match serde_json::from_slice::<Monitor>(&value) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(key, error = %e, "cannot read a stored cron monitor; it is skipped");
                    continue;
                }
            };
            let schedule = match monitor.config.compile() {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(key, error = %e, "a stored cron monitor has a bad schedule; it is skipped");
                    continue;
                }
            };
            monitors.insert(
                (monitor.project, monitor.slug.clone()),
                Entry {
                    monitor,
                    schedule,
                    checkins: VecDeque::new(),
                },
            );
        }
        let mut stale = Vec::new();
        for (key, value) in state.scan(tables::ERROR_MONITOR_CHECKINS)? {
            let Some((owner, _seq)) = key.rsplit_once('/') else {
                continue;
            };
            let Some((project, slug)) = owner.split_once('/') else {
                continue;
            };
            let entry = project
                .parse::<u64>()
                .ok()
                .and_then(|p| monitors.get_mut(&(p, slug.to_string())));
            match (entry, serde_json::from_slice::<CheckInRecord>(&value)) {
                (Some(entry), Ok(record)) => entry.checkins.push_back(record),
                _ => stale.push(WriteOp::delete(tables::ERROR_MONITOR_CHECKINS, key)),
            }
        }
        for entry in monitors.values_mut() {
            while entry.checkins.len() > config.max_checkins_per_monitor {
                let old = entry.checkins.pop_front().expect("longer than the limit");
                stale.push(WriteOp::delete(
                    tables::ERROR_MONITOR_CHECKINS,
                    checkin_key(entry.monitor.project, &entry.monitor.slug, old.seq),
                ));
            }
        }
        if !stale.is_empty() {
            writer.write_blocking(stale)?;
        }
        Ok(MonitorStore {
            writer,
            config,
            monitors: Mutex::new(monitors),
            checkins_total: registry.counter_vec(
                "belfry_error_monitor_checkins_total",
                "Cron monitor check-ins, by project, monitor and status (missed and timeout ones made by Belfry).",
                &["project", "monitor", "status"],
            ),
        })
    }

    fn minute(&self) -> f64 {
        self.config.minute.0.as_secs_f64()
    }

    /// Applies a project's check-ins at `now`; returns once they are
    /// durable, with the incidents they opened or closed and the
    /// check-ins refused (a monitor past the limit).
    pub async fn record(
        &self,
        project: u64,
        project_name: &str,
        check_ins: Vec<CheckIn>,
        now: f64,
    ) -> Result<(Vec<MonitorChange>, Vec<CheckInError>), ErrorsError> {
        let mut changes = Vec::new();
        let mut refused = Vec::new();
        let pending = {
            let mut monitors = self.monitors.lock();
            let mut ops = Vec::new();
            for c in check_ins {
                let key = (project, c.monitor_slug.clone());
                if !monitors.contains_key(&key) {
                    let Some(config) = c.monitor_config.clone() else {
                        // Sentry, too, drops check-ins for monitors it does not know.
                        refused.push(CheckInError::Malformed(format!(
                            "monitor {:?} does not exist and the check-in brings no monitor_config to create it",
                            c.monitor_slug
                        )));
                        continue;
                    };
                    let count = monitors.keys().filter(|(p, _)| *p == project).count();
                    if count >= self.config.max_monitors_per_project {
                        refused.push(CheckInError::TooManyMonitors {
                            project,
                            limit: self.config.max_monitors_per_project,
                            slug: c.monitor_slug.clone(),
                        });
                        continue;
                    }
                    let schedule = config
                        .compile()
                        .map_err(|e| ErrorsError::BadRequest(e.to_string()))?;
                    let monitor = Monitor::new(project, project_name, &c.monitor_slug, config);
                    monitors.insert(
                        key.clone(),
                        Entry {
                            monitor,
                            schedule,
                            checkins: VecDeque::new(),
                        },
                    );
                }
                let entry = monitors.get_mut(&key).expect("inserted above");
                if let Some(config) = &c.monitor_config
                    && *config != entry.monitor.config
                {
                    match config.compile() {
                        Ok(s) => {
                            entry.monitor.config = config.clone();
                            entry.schedule = s;
                        }
                        Err(e) => {
                            refused.push(CheckInError::BadMonitorConfig {
                                slug: c.monitor_slug.clone(),
                                source: e,
                            });
                            continue;
                        }
                    }
                }
                entry.monitor.project_name = project_name.to_string();
                let existing = entry
                    .checkins
                    .iter()
                    .find(|r| r.check_in_id == c.check_in_id)
                    .cloned();
                let step = entry
                    .monitor
                    .check_in(&c, &entry.schedule, existing.as_ref(), now, self.minute());
                self.apply(entry, step, &mut ops, &mut changes);
            }
            if ops.is_empty() {
                None
            } else {
                Some(self.writer.enqueue(ops))
            }
        };
        if let Some(p) = pending {
            p.durable().await?;
        }
        Ok((changes, refused))
    }

    /// Marks missed check-ins and timed-out runs at `now`. The writes are
    /// not waited for: they restate what memory already holds.
    pub fn tick(&self, now: f64) -> Vec<MonitorChange> {
        let mut changes = Vec::new();
        let mut ops = Vec::new();
        let minute = self.minute();
        let mut monitors = self.monitors.lock();
        for entry in monitors.values_mut() {
            let step = entry.monitor.tick(&entry.schedule, now, minute);
            if step != Step::default() {
                self.apply(entry, step, &mut ops, &mut changes);
            }
        }
        drop(monitors);
        if !ops.is_empty() {
            self.writer.write_detached(ops);
        }
        changes
    }

    /// Keeps a step's check-ins (in memory and as write operations) and
    /// notes its incident change.
    fn apply(&self, entry: &mut Entry, step: Step, ops: &mut Vec<WriteOp>, changes: &mut Vec<MonitorChange>) {
        let (project, slug) = (entry.monitor.project, entry.monitor.slug.clone());
        for changed in step.changed {
            if let Some(r) = entry
                .checkins
                .iter_mut()
                .find(|r| r.check_in_id == changed.check_in_id)
            {
                let status_changed = r.status != changed.status;
                r.status = changed.status;
                r.duration = changed.duration.or(r.duration);
                if status_changed {
                    self.count(&entry.monitor, r.status.as_str());
                }
                ops.push(WriteOp::put(
                    tables::ERROR_MONITOR_CHECKINS,
                    checkin_key(project, &slug, r.seq),
                    to_json(r),
                ));
            }
        }
        for record in step.records {
            self.count(&entry.monitor, record.status.as_str());
            ops.push(WriteOp::put(
                tables::ERROR_MONITOR_CHECKINS,
                checkin_key(project, &slug, record.seq),
                to_json(&record),
            ));
            entry.checkins.push_back(record);
            if entry.checkins.len() > self.config.max_checkins_per_monitor {
                let old = entry.checkins.pop_front().expect("longer than the limit");
                ops.push(WriteOp::delete(
                    tables::ERROR_MONITOR_CHECKINS,
                    checkin_key(project, &slug, old.seq),
                ));
            }
        }
        ops.push(WriteOp::put(
            tables::ERROR_MONITORS,
            monitor_key(project, &slug),
            to_json(&entry.monitor),
        ));
        if let Some(incident) = step.opened {
            changes.push(MonitorChange::Opened {
                monitor: entry.monitor.clone(),
                incident,
            });
        }
        if step.resolved {
            changes.push(MonitorChange::Resolved {
                monitor: entry.monitor.clone(),
            });
        }
    }

    fn count(&self, monitor: &Monitor, status: &str) {
        self.checkins_total
            .with(&[&monitor.project_name, &monitor.slug, status])
            .inc();
    }

    /// A project's monitors (all projects' with `None`), by slug.
    pub fn monitors(&self, project: Option<u64>) -> Vec<Monitor> {
        let monitors = self.monitors.lock();
        let mut found: Vec<Monitor> = monitors
            .values()
            .filter(|e| project.is_none_or(|p| e.monitor.project == p))
            .map(|e| e.monitor.clone())
            .collect();
        drop(monitors);
        found.sort_by(|a, b| (a.project, &a.slug).cmp(&(b.project, &b.slug)));
        found
    }

    /// A monitor's check-ins, newest first; `None` for an unknown monitor.
    pub fn checkins(&self, project: u64, slug: &str) -> Option<Vec<CheckInRecord>> {
        let monitors = self.monitors.lock();
        let entry = monitors.get(&(project, slug.to_string()))?;
        Some(entry.checkins.iter().rev().cloned().collect())
    }

    /// The monitor's open incident, for re-sending alerts after a restart.
    pub fn open_incidents(&self) -> Vec<(Monitor, Incident)> {
        let monitors = self.monitors.lock();
        monitors
            .values()
            .filter_map(|e| e.monitor.incident.clone().map(|i| (e.monitor.clone(), i)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::check_in::CheckInStatus;

    fn open(dir: &std::path::Path, max_checkins: usize) -> MonitorStore {
        let mut tries = 0;
        let state = loop {
            match StateStore::open(dir) {
                Ok(s) => break s,
                Err(_) if tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("{e}"),
            }
        };
        let config = ErrorMonitorsConfig {
            max_checkins_per_monitor: max_checkins,
            max_monitors_per_project: 2,
            ..ErrorMonitorsConfig::default()
        };
        MonitorStore::open(state.clone(), StateWriter::start(state), config, &Registry::new()).unwrap()
    }

    fn check_in(slug: &str, id: u32, status: &str, config: bool) -> CheckIn {
        let config = if config {
            r#","monitor_config":{"schedule":{"type":"interval","value":5,"unit":"minute"}}"#
        } else {
            ""
        };
        CheckIn::parse(
            format!(r#"{{"monitor_slug":"{slug}","check_in_id":"{id:032x}","status":"{status}"{config}}}"#)
                .as_bytes(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn check_ins_persist_bounded_and_incidents_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 3);
        let mut batch = vec![check_in("grades", 1, "in_progress", true)];
        batch.extend((2..6).map(|i| check_in("grades", i, "ok", false)));
        let (changes, refused) = store.record(1, "lms", batch, 1000.0).await.unwrap();
        assert!(changes.is_empty() && refused.is_empty());
        let (_, refused) = store
            .record(
                1,
                "lms",
                vec![
                    check_in("unknown", 9, "ok", false),
                    check_in("b", 10, "ok", true),
                    check_in("c", 11, "ok", true),
                ],
                1000.0,
            )
            .await
            .unwrap();
        let reasons: Vec<&str> = refused.iter().map(|e| e.reason()).collect();
        assert_eq!(reasons, ["malformed_check_in", "too_many_monitors"]);
        // 10 minutes later: the run timed out (30 minutes is the default, so not yet) and the 5-minute schedule was missed.
        let changes = store.tick(1000.0 + 5.0 * 60.0 + 60.0);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            matches!(&changes[0], MonitorChange::Opened { incident, .. } if incident.kind == CheckInStatus::Missed)
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(store);

        let store = open(dir.path(), 3);
        let checkins = store.checkins(1, "grades").unwrap();
        assert_eq!(checkins.len(), 3);
        assert_eq!(checkins[0].status, CheckInStatus::Missed);
        assert_eq!(store.open_incidents().len(), 2);
        assert_eq!(store.monitors(Some(1)).len(), 2);
        let (changes, _) = store
            .record(1, "lms", vec![check_in("grades", 12, "ok", false)], 1400.0)
            .await
            .unwrap();
        assert!(matches!(&changes[0], MonitorChange::Resolved { .. }));
    }
}
