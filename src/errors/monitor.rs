//! One cron monitor's state machine, as Sentry's: every check-in that
//! starts a run moves the next expected time on by the schedule; no
//! check-in by that time plus the margin is a **missed** check-in; an
//! `in_progress` run not finished within `max_runtime` is a **timeout**;
//! `error` is a failed run. `failure_issue_threshold` failures in a row
//! open an incident (an alert), `recovery_threshold` good runs in a row
//! close it. Time is passed in (seconds since the epoch), so tests drive
//! it; `minute` is how long a schedule minute lasts (60 outside tests).

use serde::{Deserialize, Serialize};

use super::check_in::{CheckIn, CheckInStatus};
use super::monitor_config::{MonitorConfig, Schedule};

/// Runs waiting for their closing check-in, per monitor; the oldest are
/// forgotten past it (a job that starts runs and never ends them).
const MAX_OPEN_RUNS: usize = 100;
/// Missed schedule times counted in one step after a long silence: one
/// missed check-in stands for them all.
const MAX_SKIPPED_TIMES: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorStatus {
    /// Made, no run finished yet.
    Active,
    Ok,
    Error,
}

impl MonitorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorStatus::Active => "active",
            MonitorStatus::Ok => "ok",
            MonitorStatus::Error => "error",
        }
    }
}

/// An open incident: what failed first, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub kind: CheckInStatus,
    pub started: f64,
}

impl Incident {
    /// What opened it: `missed`, `error` or `timeout`.
    pub fn status_name(&self) -> &'static str {
        self.kind.as_str()
    }
}

/// A check-in as kept, real or made by the monitor (missed, timeout).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckInRecord {
    /// Orders a monitor's check-ins; part of the stored key.
    pub seq: u64,
    pub check_in_id: String,
    pub status: CheckInStatus,
    /// When it arrived (for a missed one: when it was expected).
    pub date: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Monitor {
    pub project: u64,
    /// The project's name, for alert labels.
    pub project_name: String,
    pub slug: String,
    pub config: MonitorConfig,
    pub status: MonitorStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checkin: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<CheckInStatus>,
    /// When the next run should start; missed after this plus the margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_expected: Option<f64>,
    pub failures_in_row: u32,
    pub oks_in_row: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<Incident>,
    /// `(check_in_id, started)` of runs still `in_progress`.
    #[serde(default)]
    pub open_runs: Vec<(String, f64)>,
    pub next_seq: u64,
}

/// What a step did: check-ins to store (new or changed) and the
/// incident's change.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    pub records: Vec<CheckInRecord>,
    /// Changed records, found among the stored ones by `check_in_id`
    /// (their `seq` is the store's to keep).
    pub changed: Vec<CheckInRecord>,
    pub opened: Option<Incident>,
    pub resolved: bool,
}

impl Monitor {
    pub fn new(project: u64, project_name: &str, slug: &str, config: MonitorConfig) -> Monitor {
        Monitor {
            project,
            project_name: project_name.to_string(),
            slug: slug.to_string(),
            config,
            status: MonitorStatus::Active,
            environment: None,
            release: None,
            last_checkin: None,
            last_status: None,
            next_expected: None,
            failures_in_row: 0,
            oks_in_row: 0,
            incident: None,
            open_runs: Vec::new(),
            next_seq: 0,
        }
    }

    fn record(&mut self, check_in_id: &str, status: CheckInStatus, date: f64) -> CheckInRecord {
        let seq = self.next_seq;
        self.next_seq += 1;
        CheckInRecord {
            seq,
            check_in_id: check_in_id.to_string(),
            status,
            date,
            duration: None,
            environment: self.environment.clone(),
            release: self.release.clone(),
        }
    }

    /// A check-in arrived at `now`. `existing` is the stored record with
    /// the same id, if any (the run this check-in closes).
    pub fn check_in(
        &mut self,
        check_in: &CheckIn,
        schedule: &Schedule,
        existing: Option<&CheckInRecord>,
        now: f64,
        minute: f64,
    ) -> Step {
        let mut step = Step::default();
        if check_in.environment.is_some() {
            self.environment = check_in.environment.clone();
        }
        if check_in.release.is_some() {
            self.release = check_in.release.clone();
        }
        self.last_checkin = Some(now);
        if let Some(existing) = existing {
            // The end of a run: a timed-out run keeps its verdict, as in Sentry.
            let mut updated = existing.clone();
            updated.duration = check_in.duration.or(updated.duration);
            let was_open = self.open_runs.iter().any(|(id, _)| *id == existing.check_in_id);
            if was_open && check_in.status != CheckInStatus::InProgress {
                self.open_runs.retain(|(id, _)| *id != existing.check_in_id);
                updated.status = check_in.status;
                self.last_status = Some(check_in.status);
                self.outcome(check_in.status, now, &mut step);
            }
            step.changed.push(updated);
            return step;
        }
        let mut record = self.record(&check_in.check_in_id, check_in.status, now);
        record.duration = check_in.duration;
        self.last_status = Some(check_in.status);
        self.next_expected = schedule.next_after(now, minute);
        if check_in.status == CheckInStatus::InProgress {
            self.open_runs.push((check_in.check_in_id.clone(), now));
            if self.open_runs.len() > MAX_OPEN_RUNS {
                self.open_runs.remove(0);
            }
        } else {
            self.outcome(check_in.status, now, &mut step);
        }
        step.records.push(record);
        step
    }

    /// Looks for missed check-ins and timed-out runs at `now`.
    pub fn tick(&mut self, schedule: &Schedule, now: f64, minute: f64) -> Step {
        let mut step = Step::default();
        let max_runtime = self.config.max_runtime as f64 * minute;
        let (timed_out, open): (Vec<_>, Vec<_>) = std::mem::take(&mut self.open_runs)
            .into_iter()
            .partition(|(_, started)| started + max_runtime <= now);
        self.open_runs = open;
        for (id, started) in timed_out {
            step.changed.push(CheckInRecord {
                seq: u64::MAX,
                check_in_id: id,
                status: CheckInStatus::Timeout,
                date: started,
                duration: Some(now - started),
                environment: self.environment.clone(),
                release: self.release.clone(),
            });
            self.last_status = Some(CheckInStatus::Timeout);
            self.outcome(CheckInStatus::Timeout, now, &mut step);
        }
        let margin = self.config.checkin_margin as f64 * minute;
        if let Some(expected) = self.next_expected
            && expected + margin <= now
        {
            let id = format!("{:032x}", self.next_seq);
            let record = self.record(&id, CheckInStatus::Missed, expected);
            step.records.push(record);
            self.last_status = Some(CheckInStatus::Missed);
            self.outcome(CheckInStatus::Missed, now, &mut step);
            let mut next = schedule.next_after(expected, minute);
            for _ in 0..MAX_SKIPPED_TIMES {
                match next {
                    Some(t) if t + margin <= now => next = schedule.next_after(t, minute),
                    _ => break,
                }
            }
            self.next_expected = next;
        }
        step
    }

    fn outcome(&mut self, status: CheckInStatus, now: f64, step: &mut Step) {
        if status.is_failure() {
            self.oks_in_row = 0;
            self.failures_in_row = self.failures_in_row.saturating_add(1);
            if self.incident.is_none() && self.failures_in_row >= self.config.failure_issue_threshold {
                let incident = Incident {
                    kind: status,
                    started: now,
                };
                self.incident = Some(incident.clone());
                step.opened = Some(incident);
            }
            if self.incident.is_some() {
                self.status = MonitorStatus::Error;
            }
            return;
        }
        self.failures_in_row = 0;
        self.oks_in_row = self.oks_in_row.saturating_add(1);
        if self.incident.is_some() && self.oks_in_row >= self.config.recovery_threshold {
            self.incident = None;
            step.resolved = true;
        }
        if self.incident.is_none() {
            self.status = MonitorStatus::Ok;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MINUTE: f64 = 60.0;

    fn config(extra: serde_json::Value) -> MonitorConfig {
        let mut v = json!({"schedule": {"type": "interval", "value": 10, "unit": "minute"}, "checkin_margin": 2, "max_runtime": 5});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        MonitorConfig::from_json(&v).unwrap()
    }

    fn check_in(id: u8, status: CheckInStatus) -> CheckIn {
        CheckIn {
            check_in_id: format!("{id:032x}"),
            monitor_slug: "grades".into(),
            status,
            duration: None,
            environment: Some("production".into()),
            release: None,
            monitor_config: None,
        }
    }

    /// A monitor and its stored check-ins, as the store keeps them.
    struct Harness {
        monitor: Monitor,
        schedule: Schedule,
        stored: Vec<CheckInRecord>,
    }

    impl Harness {
        fn new(extra: serde_json::Value) -> Harness {
            let c = config(extra);
            let schedule = c.compile().unwrap();
            Harness {
                monitor: Monitor::new(1, "lms", "grades", c),
                schedule,
                stored: Vec::new(),
            }
        }

        fn send(&mut self, c: CheckIn, now: f64) -> Step {
            let existing = self
                .stored
                .iter()
                .find(|r| r.check_in_id == c.check_in_id)
                .cloned();
            let step = self
                .monitor
                .check_in(&c, &self.schedule, existing.as_ref(), now, MINUTE);
            self.keep(&step);
            step
        }

        fn tick(&mut self, now: f64) -> Step {
            let step = self.monitor.tick(&self.schedule, now, MINUTE);
            self.keep(&step);
            step
        }

        fn keep(&mut self, step: &Step) {
            self.stored.extend(step.records.iter().cloned());
            for c in &step.changed {
                if let Some(r) = self.stored.iter_mut().find(|r| r.check_in_id == c.check_in_id) {
                    r.status = c.status;
                }
            }
        }
    }

    #[test]
    fn missed_then_recovered() {
        let mut h = Harness::new(json!({}));
        let t0 = 1_000_000.0;
        assert!(h.send(check_in(1, CheckInStatus::Ok), t0).opened.is_none());
        assert_eq!(h.monitor.status, MonitorStatus::Ok);
        assert_eq!(h.monitor.next_expected, Some(t0 + 600.0));
        // Within the margin nothing is missed yet.
        assert_eq!(h.tick(t0 + 600.0 + 119.0), Step::default());
        let step = h.tick(t0 + 600.0 + 120.0);
        assert_eq!(step.records[0].status, CheckInStatus::Missed);
        assert_eq!(step.records[0].date, t0 + 600.0);
        assert_eq!(step.opened.unwrap().kind, CheckInStatus::Missed);
        assert_eq!(h.monitor.status, MonitorStatus::Error);
        assert_eq!(h.monitor.next_expected, Some(t0 + 1200.0));
        // One missed check-in per expected time, not one per tick.
        assert!(h.tick(t0 + 721.0).records.is_empty());
        let step = h.send(check_in(2, CheckInStatus::Ok), t0 + 800.0);
        assert!(step.resolved);
        assert_eq!(h.monitor.status, MonitorStatus::Ok);
        assert!(h.monitor.incident.is_none());
    }

    #[test]
    fn a_long_silence_is_one_missed_check_in() {
        let mut h = Harness::new(json!({}));
        h.send(check_in(1, CheckInStatus::Ok), 0.0);
        let step = h.tick(100_000.0);
        assert_eq!(step.records.len(), 1);
        let next = h.monitor.next_expected.unwrap();
        assert!(next + 120.0 > 100_000.0 && next <= 100_000.0 + 600.0, "{next}");
    }

    #[test]
    fn in_progress_runs_time_out_and_a_late_end_keeps_the_verdict() {
        let mut h = Harness::new(json!({}));
        h.send(check_in(1, CheckInStatus::InProgress), 0.0);
        assert_eq!(h.monitor.status, MonitorStatus::Active);
        assert!(h.tick(299.0).changed.is_empty());
        let step = h.tick(300.0);
        assert_eq!(step.changed[0].status, CheckInStatus::Timeout);
        assert_eq!(step.opened.unwrap().kind, CheckInStatus::Timeout);
        // The run ends later: recorded, still a timeout, no recovery.
        let step = h.send(check_in(1, CheckInStatus::Ok), 320.0);
        assert_eq!(step.changed[0].status, CheckInStatus::Timeout);
        assert!(!step.resolved);
        assert_eq!(h.monitor.status, MonitorStatus::Error);
        // A run that starts and ends in time recovers.
        h.send(check_in(2, CheckInStatus::InProgress), 600.0);
        let step = h.send(check_in(2, CheckInStatus::Ok), 630.0);
        assert!(step.resolved);
        assert_eq!(step.changed[0].status, CheckInStatus::Ok);
    }

    #[test]
    fn thresholds_count_runs_in_a_row() {
        let mut h = Harness::new(json!({"failure_issue_threshold": 2, "recovery_threshold": 2}));
        assert!(h.send(check_in(1, CheckInStatus::Error), 0.0).opened.is_none());
        assert!(h.send(check_in(2, CheckInStatus::Ok), 10.0).opened.is_none());
        assert!(h.send(check_in(3, CheckInStatus::Error), 20.0).opened.is_none());
        let opened = h.send(check_in(4, CheckInStatus::Error), 30.0).opened.unwrap();
        assert_eq!(opened.kind, CheckInStatus::Error);
        assert!(!h.send(check_in(5, CheckInStatus::Ok), 40.0).resolved);
        assert_eq!(h.monitor.status, MonitorStatus::Error);
        assert!(h.send(check_in(6, CheckInStatus::Ok), 50.0).resolved);
        assert_eq!(h.monitor.status, MonitorStatus::Ok);
    }

    #[test]
    fn crontab_next_expected_follows_the_time_zone() {
        let c = MonitorConfig::from_json(&json!({
            "schedule": {"type": "crontab", "value": "0 2 * * *"}, "timezone": "Europe/Berlin"
        }))
        .unwrap();
        let schedule = c.compile().unwrap();
        let mut m = Monitor::new(1, "lms", "nightly", c);
        // 2026-06-01T00:00:00Z: the next 02:00 in Berlin is 00:00Z the next day.
        m.check_in(
            &check_in(1, CheckInStatus::Ok),
            &schedule,
            None,
            1_780_272_000.0,
            MINUTE,
        );
        assert_eq!(m.next_expected, Some(1_780_272_000.0 + 86_400.0));
    }
}
