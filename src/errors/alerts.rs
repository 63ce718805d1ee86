//! Error alerts into the alerting pipeline through `model::AlertSink`, so
//! routes, silences, inhibitions and receivers apply as to metric alerts.
//!
//! Lifetimes, the Alertmanager way: an active alert is sent with an
//! `endsAt` four re-send intervals ahead and sent again every interval;
//! resolving sends it once with `endsAt` now. If Belfry stops, the
//! dispatcher resolves them itself when `endsAt` passes.
//! - `ErrorIssueNew`: for `errors.alerts.new_issue_for` after it started
//!   (the news of a first event, not a lasting condition), or less by the
//!   rules of the next one.
//! - `ErrorIssueRegressed`: until the issue is resolved or ignored, or
//!   has been quiet for `errors.alerts.quiet_period`.
//! - `ErrorIssueSpike`: until the issue's current window is no longer a
//!   spike (at the latest when the window ends without a new spike).
//! - `CronMonitorMissed`, `CronMonitorFailed`, `CronMonitorTimeout`: from
//!   the failure that opened the monitor's incident until its recovery.
//!
//! Sending never blocks: the sink queues (the dispatcher drops and counts
//! when its queue is full), and this module only takes short locks.
//!
//! Between sends an issue alert is kept as its packed labels and start
//! (about 150 bytes): its annotations are made from the issue at each
//! send. A burst of new issues raises an alert each, and the dispatcher
//! keeps its own copy of every one; this side need not keep another.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::config::ErrorAlertsConfig;
use crate::model::{Alert, AlertSink, Label, Labels, PackedLabels};
use crate::selfmetrics::{CounterVec, Registry};

use super::check_in::CheckInStatus;
use super::monitor::Monitor;
use super::monitor_store::MonitorChange;
use super::spike::SpikeTracker;
use super::{EventEffect, Issue, IssueStatus};

pub const ISSUE_NEW: &str = "ErrorIssueNew";
pub const ISSUE_REGRESSED: &str = "ErrorIssueRegressed";
pub const ISSUE_SPIKE: &str = "ErrorIssueSpike";
pub const MONITOR_MISSED: &str = "CronMonitorMissed";
pub const MONITOR_FAILED: &str = "CronMonitorFailed";
pub const MONITOR_TIMEOUT: &str = "CronMonitorTimeout";

/// At most this many alerts are resolved or re-sent by one `tick`, so a
/// burst of new issues (each raising an alert) is re-sent in slices
/// rather than as one batch of every alert, which the dispatcher would
/// unpack, merge and write at once. At the default check interval of
/// 5 s that is 12,000 a minute, and an alert's `endsAt` is four re-send
/// intervals ahead: a backlog is caught up long before one lapses.
const MAX_SENT_PER_TICK: usize = 1000;

/// What an active alert is about, to know when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Subject {
    Issue { kind: &'static str, issue: u64 },
    Monitor { project: u64, slug: String },
}

struct Active {
    held: Held,
    last_sent: f64,
}

/// What is kept of an active alert between sends.
enum Held {
    /// An issue alert: its labels but `alertname` and `issue` (which its
    /// [`Subject`] gives), shared by all alerts of the same project,
    /// level, environment and release; its annotations come from the
    /// issue at each send.
    Issue {
        labels: Arc<PackedLabels>,
        starts_at: SystemTime,
    },
    /// A cron monitor's alert, whole (one per failing monitor; boxed, so
    /// the many issue alerts do not take its size).
    Whole(Box<Alert>),
}

impl Held {
    fn starts_at(&self) -> SystemTime {
        match self {
            Held::Issue { starts_at, .. } => *starts_at,
            Held::Whole(a) => a.starts_at,
        }
    }
}

/// The event's labels an issue alert carries besides its name and issue.
#[derive(Clone, Debug, Default)]
pub struct EventLabels {
    pub project: String,
    pub level: String,
    pub environment: String,
    pub release: String,
}

pub struct ErrorAlerts {
    sink: Arc<dyn AlertSink>,
    config: ErrorAlertsConfig,
    /// Where links point: Belfry's own address.
    external_url: String,
    active: Mutex<HashMap<Subject, Active>>,
    /// The label sets `Held::Issue` shares; locked after `active`.
    shared_labels: Mutex<HashSet<Arc<PackedLabels>>>,
    spikes: Option<Mutex<SpikeTracker>>,
    sent: Arc<CounterVec>,
}

fn system_time(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0))
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| Label::new(*n, *v))
            .collect(),
    )
}

impl ErrorAlerts {
    pub fn new(
        sink: Arc<dyn AlertSink>,
        config: ErrorAlertsConfig,
        external_url: String,
        registry: &Registry,
    ) -> ErrorAlerts {
        let spikes = config.spike.clone().map(|s| Mutex::new(SpikeTracker::new(s)));
        ErrorAlerts {
            sink,
            config,
            external_url: external_url.trim_end_matches('/').to_string(),
            active: Mutex::new(HashMap::new()),
            shared_labels: Mutex::new(HashSet::new()),
            spikes,
            sent: registry.counter_vec(
                "belfry_error_alerts_sent_total",
                "Alerts from errors and cron monitors handed to the alert dispatcher, by alert name and state (firing, resolved); re-sends included.",
                &["alertname", "state"],
            ),
        }
    }

    fn ends_at(&self, now: f64) -> SystemTime {
        system_time(now + 4.0 * self.config.resend_interval.0.as_secs_f64())
    }

    fn send(&self, alerts: Vec<Alert>, now: f64) {
        for a in &alerts {
            let state = if a.is_resolved_at(system_time(now)) {
                "resolved"
            } else {
                "firing"
            };
            self.sent
                .with(&[a.labels.get("alertname").unwrap_or_default(), state])
                .inc();
        }
        self.sink.send(alerts);
    }

    fn issue_link(&self, issue: u64) -> String {
        format!("{}/api/belfry/errors/issues/{issue}", self.external_url)
    }

    /// An issue alert as sent: `issue` gives the annotations (none but
    /// the link when it is gone).
    fn issue_alert(
        &self,
        labels: Labels,
        starts_at: SystemTime,
        issue: Option<&Issue>,
        ends_at: SystemTime,
    ) -> Alert {
        let id = labels.get("issue").and_then(|i| i.parse::<u64>().ok());
        let link = id.map(|id| self.issue_link(id)).unwrap_or_default();
        let (title, culprit) = issue.map_or(("", ""), |i| (i.title.as_str(), i.culprit.as_str()));
        Alert {
            annotations: self::labels(&[("summary", title), ("culprit", culprit), ("link", link.as_str())]),
            labels,
            starts_at,
            ends_at,
            generator_url: link,
        }
    }

    /// `labels` but `alertname` and `issue`, packed, shared with the
    /// alerts that have the same.
    fn share(&self, labels: &Labels) -> Arc<PackedLabels> {
        let rest = Labels::from_sorted_unchecked(
            labels
                .iter()
                .filter(|l| l.name != "alertname" && l.name != "issue")
                .cloned()
                .collect(),
        );
        let packed = PackedLabels::new(&rest);
        let mut shared = self.shared_labels.lock();
        if let Some(found) = shared.get(&packed) {
            return found.clone();
        }
        let packed = Arc::new(packed);
        shared.insert(packed.clone());
        packed
    }

    /// Forgets shared label sets no alert holds any more.
    fn unshare_unused(&self) {
        self.shared_labels.lock().retain(|l| Arc::strong_count(l) > 1);
    }

    /// The labels of `subject`'s alert, `rest` being the shared ones.
    fn subject_labels(subject: &Subject, rest: &PackedLabels) -> Labels {
        let mut labels = rest.to_labels().into_vec();
        if let Subject::Issue { kind, issue } = subject {
            labels.push(Label::new("alertname", *kind));
            labels.push(Label::new("issue", issue.to_string()));
        }
        Labels::new(labels)
    }

    /// `held` (the alert of `subject`) as sent now, ending at `ends_at`.
    fn alert_of(&self, subject: &Subject, held: &Held, issue: Option<&Issue>, ends_at: SystemTime) -> Alert {
        match held {
            Held::Issue { labels, starts_at } => {
                self.issue_alert(Self::subject_labels(subject, labels), *starts_at, issue, ends_at)
            }
            Held::Whole(a) => Alert {
                ends_at,
                ..Alert::clone(a)
            },
        }
    }

    /// An event was stored in issue `issue_id` with `effect`; raises what
    /// it calls for. `issue` looks the issue up, only when an alert is due.
    pub fn issue_event(
        &self,
        issue_id: u64,
        effect: EventEffect,
        event: &EventLabels,
        now: f64,
        issue: impl FnOnce(u64) -> Option<Issue>,
    ) {
        let mut kinds = Vec::with_capacity(2);
        if effect.new_issue && self.config.new_issue {
            kinds.push(ISSUE_NEW);
        }
        if effect.regression && self.config.regression {
            kinds.push(ISSUE_REGRESSED);
        }
        if let Some(spikes) = &self.spikes
            && spikes.lock().count(issue_id, now)
        {
            kinds.push(ISSUE_SPIKE);
        }
        if kinds.is_empty() {
            return;
        }
        let Some(issue) = issue(issue_id) else { return };
        let mut fresh = Vec::new();
        {
            let mut active = self.active.lock();
            for kind in kinds {
                let subject = Subject::Issue {
                    kind,
                    issue: issue.id,
                };
                if active.contains_key(&subject) {
                    continue;
                }
                let id = issue.id.to_string();
                let labels = labels(&[
                    ("alertname", kind),
                    ("project", event.project.as_str()),
                    ("level", event.level.as_str()),
                    ("environment", event.environment.as_str()),
                    ("release", event.release.as_str()),
                    ("issue", id.as_str()),
                ]);
                let packed = self.share(&labels);
                fresh.push(self.issue_alert(labels, system_time(now), Some(&issue), self.ends_at(now)));
                active.insert(
                    subject,
                    Active {
                        held: Held::Issue {
                            labels: packed,
                            starts_at: system_time(now),
                        },
                        last_sent: now,
                    },
                );
            }
        }
        if !fresh.is_empty() {
            self.send(fresh, now);
        }
    }

    /// Incidents of cron monitors opened or closed.
    pub fn monitor_changes(&self, changes: Vec<MonitorChange>, now: f64) {
        let mut out = Vec::new();
        {
            let mut active = self.active.lock();
            for change in changes {
                match change {
                    MonitorChange::Opened { monitor, incident } => {
                        let subject = Subject::Monitor {
                            project: monitor.project,
                            slug: monitor.slug.clone(),
                        };
                        let alert = self.monitor_alert(&monitor, incident.kind, incident.started, now);
                        out.push(alert.clone());
                        active.insert(
                            subject,
                            Active {
                                held: Held::Whole(Box::new(alert)),
                                last_sent: now,
                            },
                        );
                    }
                    MonitorChange::Resolved { monitor } => {
                        let subject = Subject::Monitor {
                            project: monitor.project,
                            slug: monitor.slug,
                        };
                        if let Some(a) = active.remove(&subject) {
                            out.push(self.alert_of(&subject, &a.held, None, system_time(now)));
                        }
                    }
                }
            }
        }
        if !out.is_empty() {
            self.send(out, now);
        }
    }

    /// Issue alerts the sink still holds from before a restart (the
    /// dispatcher keeps its alerts in the state store), taken back with
    /// their labels unchanged: `tick` then re-sends the ones still due and
    /// resolves the rest, as if the process had never stopped. Rebuilding
    /// them from the issues instead could not tell an old issue's first
    /// alert from one long resolved, and would notify again.
    pub fn adopt_issue_alerts(&self, now: f64) {
        let resend = self.config.resend_interval.0.as_secs_f64();
        let mut active = self.active.lock();
        self.sink.each_firing(&mut |alert| {
            let kind = match alert.labels.get("alertname") {
                Some(ISSUE_NEW) => ISSUE_NEW,
                Some(ISSUE_REGRESSED) => ISSUE_REGRESSED,
                Some(ISSUE_SPIKE) => ISSUE_SPIKE,
                _ => return,
            };
            let Some(issue) = alert.labels.get("issue").and_then(|i| i.parse::<u64>().ok()) else {
                return;
            };
            // Sent last with `endsAt` four intervals ahead: re-sent an
            // interval after that, as if the process had not stopped.
            let ends = alert
                .ends_at
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            active.entry(Subject::Issue { kind, issue }).or_insert(Active {
                held: Held::Issue {
                    labels: self.share(&alert.labels),
                    starts_at: alert.starts_at,
                },
                last_sent: (ends - 4.0 * resend).min(now),
            });
        });
    }

    /// Open incidents found at start-up, so their alerts go on.
    pub fn restore_monitor_incidents(&self, incidents: Vec<(Monitor, super::monitor::Incident)>, now: f64) {
        let changes = incidents
            .into_iter()
            .map(|(monitor, incident)| MonitorChange::Opened { monitor, incident })
            .collect();
        self.monitor_changes(changes, now);
    }

    fn monitor_alert(&self, monitor: &Monitor, kind: CheckInStatus, started: f64, now: f64) -> Alert {
        let (name, what) = match kind {
            CheckInStatus::Missed => (MONITOR_MISSED, "missed a check-in"),
            CheckInStatus::Timeout => (MONITOR_TIMEOUT, "ran past its max_runtime"),
            _ => (MONITOR_FAILED, "reported a failed run"),
        };
        let link = format!(
            "{}/api/belfry/errors/monitors/{}/checkins?project={}",
            self.external_url, monitor.slug, monitor.project
        );
        let summary = format!("cron monitor {} {what}", monitor.slug);
        let schedule = monitor.config.schedule_text();
        Alert {
            labels: labels(&[
                ("alertname", name),
                ("project", monitor.project_name.as_str()),
                ("monitor", monitor.slug.as_str()),
                ("environment", monitor.environment.as_deref().unwrap_or_default()),
                ("release", monitor.release.as_deref().unwrap_or_default()),
            ]),
            annotations: labels(&[
                ("summary", summary.as_str()),
                ("schedule", schedule.as_str()),
                ("link", link.as_str()),
            ]),
            starts_at: system_time(started),
            ends_at: self.ends_at(started.max(now)),
            generator_url: link,
        }
    }

    /// Resolves issue alerts whose issue is resolved, ignored, quiet or no
    /// longer spiking, and new-issue alerts past `new_issue_for`, and
    /// re-sends the active ones that are due; at most
    /// [`MAX_SENT_PER_TICK`], the rest at the next ticks. `issue` looks an
    /// issue up.
    pub fn tick(&self, now: f64, issue: impl Fn(u64) -> Option<Issue>) {
        let quiet = self.config.quiet_period.0.as_secs_f64();
        let resend = self.config.resend_interval.0.as_secs_f64();
        let new_for = self.config.new_issue_for.0;
        if let Some(spikes) = &self.spikes {
            spikes.lock().prune(now);
        }
        let mut active = self.active.lock();
        // What is over (to resolve) and what is due (to re-send), ...
        let mut work: Vec<(bool, f64, Subject)> = Vec::new();
        for (subject, a) in active.iter() {
            let over = match subject {
                Subject::Issue { kind, issue: id } if *kind == ISSUE_SPIKE => {
                    !self.spikes.as_ref().is_some_and(|t| t.lock().spiking(*id, now))
                }
                Subject::Issue { kind, issue: id } => match issue(*id) {
                    None => true,
                    Some(i) => {
                        i.status != IssueStatus::Unresolved
                            || now - i.last_seen >= quiet
                            || (*kind == ISSUE_NEW && a.held.starts_at() + new_for <= system_time(now))
                    }
                },
                Subject::Monitor { .. } => false,
            };
            if over || now - a.last_sent >= resend {
                work.push((over, a.last_sent, subject.clone()));
            }
        }
        // ... at most MAX_SENT_PER_TICK of them, resolutions first, then
        // the longest unsent.
        work.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)));
        work.truncate(MAX_SENT_PER_TICK);
        let mut out = Vec::with_capacity(work.len());
        let mut ended = false;
        for (over, _, subject) in work {
            let found = match &subject {
                Subject::Issue { issue: id, .. } => issue(*id),
                Subject::Monitor { .. } => None,
            };
            if over {
                if let Some(a) = active.remove(&subject) {
                    out.push(self.alert_of(&subject, &a.held, found.as_ref(), system_time(now)));
                    ended = true;
                }
            } else if let Some(a) = active.get_mut(&subject) {
                a.last_sent = now;
                out.push(self.alert_of(&subject, &a.held, found.as_ref(), self.ends_at(now)));
            }
        }
        if ended {
            self.unshare_unused();
        }
        drop(active);
        if !out.is_empty() {
            self.send(out, now);
        }
    }

    /// Alerts active now (for tests and the status page); an issue
    /// alert's annotations are made at each send, so these have none.
    pub fn active(&self) -> Vec<Alert> {
        self.active
            .lock()
            .iter()
            .map(|(subject, a)| match &a.held {
                Held::Issue { labels, starts_at } => Alert {
                    labels: Self::subject_labels(subject, labels),
                    annotations: Labels::default(),
                    starts_at: *starts_at,
                    ends_at: self.ends_at(a.last_sent),
                    generator_url: String::new(),
                },
                Held::Whole(alert) => Alert::clone(alert),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SpikeConfig;
    use crate::errors::check_in::{CheckIn, CheckInStatus};
    use crate::errors::monitor::Incident;
    use crate::errors::monitor_config::MonitorConfig;
    use crate::errors::{Event, Grouping, StatusChange};
    use crate::model::PromDuration;
    use crate::model::alert_recorder::AlertRecorder;

    fn issue(last_seen: f64) -> Issue {
        let event = Event::parse(br#"{"message":"disk full","timestamp":0}"#, None, 0.0).unwrap();
        let grouping = Grouping {
            hash: "h".into(),
            title: "OperationalError: disk full".into(),
            culprit: "grades in export".into(),
            basis: "message",
        };
        let mut i = Issue::new(7, 1, &grouping, &event);
        i.last_seen = last_seen;
        i
    }

    fn effect(new_issue: bool, regression: bool) -> EventEffect {
        EventEffect {
            new_issue,
            regression,
            new_user: false,
        }
    }

    fn alerts(config: ErrorAlertsConfig) -> (Arc<AlertRecorder>, ErrorAlerts) {
        let rec = Arc::new(AlertRecorder::default());
        let a = ErrorAlerts::new(
            rec.clone(),
            config,
            "http://belfry:9090/".into(),
            &Registry::new(),
        );
        (rec, a)
    }

    fn labels_of(a: &Alert) -> String {
        a.labels.to_string()
    }

    /// A sink that still holds alerts from before a restart.
    struct Holding(Mutex<Vec<Alert>>, Vec<Alert>);

    impl AlertSink for Holding {
        fn send(&self, alerts: Vec<Alert>) {
            self.0.lock().extend(alerts);
        }
        fn each_firing(&self, visit: &mut dyn FnMut(&Alert)) {
            self.1.iter().for_each(visit);
        }
    }

    #[test]
    fn issue_alerts_held_by_the_sink_are_taken_back_after_a_restart() {
        let now = 1_000.0;
        let held = |alertname: &str, issue: &str| Alert {
            labels: labels(&[("alertname", alertname), ("issue", issue), ("project", "lms")]),
            annotations: labels(&[]),
            starts_at: system_time(now - 120.0),
            ends_at: system_time(now + 60.0),
            generator_url: String::new(),
        };
        let sink = Arc::new(Holding(
            Mutex::new(Vec::new()),
            vec![
                held(ISSUE_NEW, "7"),
                held(ISSUE_REGRESSED, "8"),
                held("HighLatency", "7"),
                held(MONITOR_MISSED, "7"),
            ],
        ));
        let alerts = ErrorAlerts::new(
            sink.clone(),
            ErrorAlertsConfig::default(),
            "http://belfry:9090/".into(),
            &Registry::new(),
        );
        alerts.adopt_issue_alerts(now);
        assert_eq!(alerts.active().len(), 2, "only the issue alerts are its own");
        // Issue 7 still gets events: its alert is re-sent with the same
        // labels. Issue 8 is gone: its alert resolves.
        alerts.tick(now, |id| (id == 7).then(|| issue(now - 10.0)));
        let sent = std::mem::take(&mut *sink.0.lock());
        assert_eq!(sent.len(), 2, "{sent:?}");
        let again = sent.iter().find(|a| a.labels.get("issue") == Some("7")).unwrap();
        assert_eq!(again.labels, held(ISSUE_NEW, "7").labels);
        assert!(!again.is_resolved_at(system_time(now)));
        let ended = sent.iter().find(|a| a.labels.get("issue") == Some("8")).unwrap();
        assert!(ended.is_resolved_at(system_time(now)));
        assert_eq!(alerts.active().len(), 1);
    }

    #[test]
    fn new_issue_alert_carries_labels_and_resolves_with_the_issue() {
        let (rec, alerts) = alerts(ErrorAlertsConfig::default());
        let now = 1_000.0;
        let event = EventLabels {
            project: "lms".into(),
            level: "error".into(),
            environment: "production".into(),
            release: "lms@1.0".into(),
        };
        let mut i = issue(now);
        alerts.issue_event(7, effect(true, false), &event, now, |_| Some(i.clone()));
        let sent = rec.0.lock().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            labels_of(&sent[0]),
            r#"{alertname="ErrorIssueNew", environment="production", issue="7", level="error", project="lms", release="lms@1.0"}"#
        );
        assert_eq!(
            sent[0].annotations.get("summary"),
            Some("OperationalError: disk full")
        );
        assert_eq!(
            sent[0].annotations.get("link"),
            Some("http://belfry:9090/api/belfry/errors/issues/7")
        );
        assert_eq!(sent[0].ends_at, system_time(now + 240.0));
        rec.0.lock().clear();
        // A second event of the same issue does not re-raise it.
        alerts.issue_event(7, effect(false, false), &event, now + 1.0, |_| Some(i.clone()));
        assert!(rec.0.lock().is_empty());
        // Re-sent after the interval with a later end.
        alerts.tick(now + 60.0, |_| Some(i.clone()));
        let resent = rec.0.lock().clone();
        assert_eq!(resent.len(), 1);
        assert_eq!(resent[0].ends_at, system_time(now + 60.0 + 240.0));
        rec.0.lock().clear();
        i.set_status(&StatusChange {
            status: IssueStatus::Resolved,
            ignore_count: None,
        });
        alerts.tick(now + 61.0, |_| Some(i.clone()));
        let resolved = rec.0.lock().clone();
        assert_eq!(resolved[0].ends_at, system_time(now + 61.0));
        assert!(alerts.active().is_empty());
    }

    #[test]
    fn new_issue_alerts_end_after_new_issue_for_while_the_issue_goes_on() {
        let (rec, alerts) = alerts(ErrorAlertsConfig::default());
        let i = issue(0.0);
        alerts.issue_event(7, effect(true, false), &EventLabels::default(), 0.0, |_| {
            Some(i.clone())
        });
        let busy = |now: f64| issue(now - 1.0);
        alerts.tick(299.0, |_| Some(busy(299.0)));
        assert_eq!(alerts.active().len(), 1);
        rec.0.lock().clear();
        alerts.tick(300.0, |_| Some(busy(300.0)));
        assert!(alerts.active().is_empty());
        let sent = rec.0.lock().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].ends_at, system_time(300.0));
        assert_eq!(sent[0].starts_at, system_time(0.0));
        // Made from the issue as it is at the send.
        assert_eq!(
            sent[0].annotations.get("summary"),
            Some("OperationalError: disk full")
        );
        // A regression of the same issue is a condition: it stays.
        alerts.issue_event(7, effect(false, true), &EventLabels::default(), 400.0, |_| {
            Some(busy(400.0))
        });
        alerts.tick(1000.0, |_| Some(busy(1000.0)));
        assert_eq!(alerts.active().len(), 1);
    }

    #[test]
    fn issue_alerts_share_their_label_sets_until_they_end() {
        let (rec, alerts) = alerts(ErrorAlertsConfig::default());
        let event = EventLabels {
            project: "lms".into(),
            level: "error".into(),
            environment: "production".into(),
            release: "lms@1.0".into(),
        };
        for id in [7, 8] {
            alerts.issue_event(id, effect(true, false), &event, 0.0, |id| {
                let mut i = issue(0.0);
                i.id = id;
                Some(i)
            });
        }
        assert_eq!(alerts.shared_labels.lock().len(), 1);
        let sent = std::mem::take(&mut *rec.0.lock());
        let mut held: Vec<String> = alerts.active().iter().map(labels_of).collect();
        let mut sent: Vec<String> = sent.iter().map(labels_of).collect();
        held.sort();
        sent.sort();
        assert_eq!(held, sent);
        assert_eq!(
            held[0],
            r#"{alertname="ErrorIssueNew", environment="production", issue="7", level="error", project="lms", release="lms@1.0"}"#
        );
        alerts.tick(300.0, |_| None);
        assert!(alerts.active().is_empty());
        assert!(alerts.shared_labels.lock().is_empty());
    }

    #[test]
    fn a_tick_sends_a_bounded_slice_resolutions_first() {
        let (rec, alerts) = alerts(ErrorAlertsConfig::default());
        let n = MAX_SENT_PER_TICK as u64 + 10;
        for id in 1..=n {
            alerts.issue_event(id, effect(true, false), &EventLabels::default(), 0.0, |id| {
                let mut i = issue(0.0);
                i.id = id;
                Some(i)
            });
        }
        rec.0.lock().clear();
        // Issue 1 is resolved; every other alert is due again.
        let lookup = |id: u64| {
            let mut i = issue(59.0);
            i.id = id;
            if id == 1 {
                i.set_status(&StatusChange {
                    status: IssueStatus::Resolved,
                    ignore_count: None,
                });
            }
            Some(i)
        };
        alerts.tick(60.0, lookup);
        let sent = std::mem::take(&mut *rec.0.lock());
        assert_eq!(sent.len(), MAX_SENT_PER_TICK);
        assert!(
            sent.iter()
                .any(|a| a.labels.get("issue") == Some("1") && a.is_resolved_at(system_time(60.0)))
        );
        assert_eq!(alerts.active().len(), n as usize - 1);
        // The rest at the next tick, and nothing twice.
        alerts.tick(61.0, lookup);
        let rest = std::mem::take(&mut *rec.0.lock());
        assert_eq!(rest.len(), n as usize - MAX_SENT_PER_TICK);
        assert!(rest.iter().all(|r| !sent.iter().any(|s| s.labels == r.labels)));
    }

    #[test]
    fn quiet_issues_resolve_and_regressions_raise_their_own_alert() {
        let (rec, alerts) = alerts(ErrorAlertsConfig {
            new_issue_for: PromDuration::from_secs(36_000),
            ..ErrorAlertsConfig::default()
        });
        let event = EventLabels::default();
        let i = issue(0.0);
        alerts.issue_event(7, effect(true, false), &event, 0.0, |_| Some(i.clone()));
        alerts.tick(3599.0, |_| Some(i.clone()));
        assert_eq!(alerts.active().len(), 1);
        alerts.tick(3600.0, |_| Some(i.clone()));
        assert!(alerts.active().is_empty());
        rec.take();
        alerts.issue_event(7, effect(false, true), &event, 4000.0, |_| Some(i.clone()));
        assert_eq!(rec.take(), ["ErrorIssueRegressed"]);
        let off = ErrorAlertsConfig {
            regression: false,
            ..ErrorAlertsConfig::default()
        };
        let (rec, alerts) = self::alerts(off);
        alerts.issue_event(7, effect(false, true), &event, 0.0, |_| Some(i.clone()));
        assert!(rec.take().is_empty());
    }

    #[test]
    fn spikes_fire_and_fall_back() {
        let config = ErrorAlertsConfig {
            new_issue: false,
            spike: Some(SpikeConfig {
                window: PromDuration::from_secs(60),
                factor: 5.0,
                min_events: 3,
                baseline_windows: 2,
            }),
            ..ErrorAlertsConfig::default()
        };
        let (rec, alerts) = alerts(config);
        let i = issue(0.0);
        for t in 0..3 {
            alerts.issue_event(
                7,
                effect(t == 0, false),
                &EventLabels::default(),
                t as f64,
                |_| Some(i.clone()),
            );
        }
        assert_eq!(alerts.active()[0].labels.get("alertname"), Some(ISSUE_SPIKE));
        alerts.tick(30.0, |_| Some(i.clone()));
        assert_eq!(alerts.active().len(), 1);
        alerts.tick(60.0, |_| Some(i.clone()));
        assert!(alerts.active().is_empty());
        assert_eq!(rec.0.lock().last().unwrap().ends_at, system_time(60.0));
    }

    #[test]
    fn monitor_incidents_fire_and_recover() {
        let (rec, alerts) = alerts(ErrorAlertsConfig::default());
        let config = MonitorConfig::from_json(
            &serde_json::json!({"schedule": {"type": "crontab", "value": "*/5 * * * *"}}),
        )
        .unwrap();
        let mut m = Monitor::new(1, "lms", "nightly-grades", config);
        let c = CheckIn::parse(br#"{"monitor_slug":"nightly-grades","check_in_id":"00000000000000000000000000000001","status":"error","environment":"production"}"#).unwrap();
        m.environment = c.environment.clone();
        alerts.monitor_changes(
            vec![MonitorChange::Opened {
                monitor: m.clone(),
                incident: Incident {
                    kind: CheckInStatus::Error,
                    started: 100.0,
                },
            }],
            100.0,
        );
        let sent = rec.0.lock().clone();
        assert_eq!(
            labels_of(&sent[0]),
            r#"{alertname="CronMonitorFailed", environment="production", monitor="nightly-grades", project="lms"}"#
        );
        assert_eq!(sent[0].annotations.get("schedule"), Some("*/5 * * * *"));
        // Monitor alerts outlive the issue checks: only recovery ends them.
        alerts.tick(100_000.0, |_| None);
        assert_eq!(alerts.active().len(), 1);
        alerts.monitor_changes(vec![MonitorChange::Resolved { monitor: m }], 100_001.0);
        assert!(alerts.active().is_empty());
        assert_eq!(rec.0.lock().last().unwrap().ends_at, system_time(100_001.0));
    }
}
