//! `Reports`: building a report for a period, sending it through a
//! receiver's e-mail integrations, the list with schedules and last
//! sends, and the task that sends each report when its slot comes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::alerting::Dispatcher;
use crate::alerting::notify::ReportMail;
use crate::config::{REPORT_NAMES, ReportsConfig};
use crate::model::now_millis;
use crate::selfmetrics::Registry;
use crate::state::StateStore;

use super::metrics::ReportMetrics;
use super::model::{Period, Report};
use super::runs::{ReportRun, ReportRuns, due_slot};
use super::schedule::Schedule;
use super::sources::Sources;
use super::{ReportError, capacity, daily, render, security};

/// How often the schedule is looked at.
const TICK: Duration = Duration::from_secs(15);
/// After a failed scheduled send, the next try.
const RETRY: Duration = Duration::from_secs(300);
/// One integration's delivery at most.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// The report's title.
pub fn title(name: &str) -> Option<&'static str> {
    Some(match name {
        "daily" => "Daily summary",
        "weekly" => "Weekly capacity",
        "monthly" => "Monthly security summary",
        _ => return None,
    })
}

/// Builds report `name` over `period`. Blocking: every query runs here.
pub fn build_report(
    src: &Sources,
    cfg: &ReportsConfig,
    name: &str,
    period: Period,
    external_url: &str,
) -> Result<Report, ReportError> {
    let title = title(name).ok_or_else(|| ReportError::UnknownReport(name.to_string()))?;
    let report_cfg = cfg
        .report(name)
        .ok_or_else(|| ReportError::UnknownReport(name.to_string()))?;
    let base = external_url.trim_end_matches('/');
    let sections = match name {
        "daily" => daily::sections(src, period, base),
        "weekly" => capacity::sections(src, period, &cfg.capacity),
        _ => security::sections(src, period, base),
    };
    Ok(Report {
        name: name.to_string(),
        title: title.to_string(),
        period,
        timezone: cfg.timezone_of(report_cfg).name().to_string(),
        generated_ms: now_millis(),
        url: format!(
            "{base}/reports/{name}?from={}&to={}",
            period.start_ms, period.end_ms
        ),
        sections,
    })
}

/// One integration's delivery.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    pub integration: &'static str,
    pub destination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a send did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendOutcome {
    pub report: String,
    pub receiver: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub subject: String,
    pub deliveries: Vec<Delivery>,
    /// Integrations that carry no report (webhooks, chat, paging).
    pub skipped: Vec<String>,
    /// Sections sent marked failed.
    pub failed_sections: Vec<String>,
}

/// A report as the list shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportStatus {
    pub name: String,
    pub title: String,
    pub enabled: bool,
    pub schedule: String,
    pub receiver: Option<String>,
    /// The next slot, when enabled.
    pub next_due_ms: Option<i64>,
    pub last_sent_ms: Option<i64>,
    pub last_receiver: String,
    pub last_error: Option<String>,
    /// The last scheduled slot sent.
    pub last_slot_ms: Option<i64>,
}

pub struct Reports {
    sources: Sources,
    dispatcher: Arc<Dispatcher>,
    config: RwLock<ReportsConfig>,
    runs: Arc<ReportRuns>,
    external_url: String,
    metrics: ReportMetrics,
    /// Sends one at a time, so a scheduled and a manual send never both
    /// rewrite a report's record.
    sending: tokio::sync::Mutex<()>,
    /// When a failed scheduled send is tried again, by report.
    retry_at: Mutex<HashMap<String, i64>>,
}

impl Reports {
    pub fn new(
        mut sources: Sources,
        dispatcher: Arc<Dispatcher>,
        config: &ReportsConfig,
        state: Option<Arc<StateStore>>,
        external_url: &str,
        registry: &Registry,
    ) -> Reports {
        let metrics = ReportMetrics::new(registry);
        sources.limit_hits = Some(metrics.limit_hits.clone());
        Reports {
            sources,
            dispatcher,
            config: RwLock::new(config.clone()),
            runs: Arc::new(ReportRuns::new(state)),
            external_url: external_url.trim_end_matches('/').to_string(),
            metrics,
            sending: tokio::sync::Mutex::new(()),
            retry_at: Mutex::new(HashMap::new()),
        }
    }

    /// A reload's new (validated) section.
    pub fn reconfigure(&self, config: &ReportsConfig) {
        *self.config.write() = config.clone();
        self.retry_at.lock().clear();
    }

    pub fn schedule(&self, name: &str) -> Result<Schedule, ReportError> {
        let cfg = self.config.read();
        let r = cfg
            .report(name)
            .ok_or_else(|| ReportError::UnknownReport(name.to_string()))?;
        Ok(Schedule::of(name, r, &cfg))
    }

    /// The time zone report `name`'s times are read in.
    pub fn timezone(&self, name: &str) -> Result<chrono_tz::Tz, ReportError> {
        let cfg = self.config.read();
        let r = cfg
            .report(name)
            .ok_or_else(|| ReportError::UnknownReport(name.to_string()))?;
        Ok(cfg.timezone_of(r))
    }

    /// One period of report `name`'s schedule, ending at `end_ms`: what a
    /// report sent by hand, or previewed without a period, covers.
    pub fn period_ending(&self, name: &str, end_ms: i64) -> Result<Period, ReportError> {
        let s = self.schedule(name)?;
        let slot = s.latest_at_or_before(end_ms);
        let length = slot - s.previous(slot);
        Ok(Period {
            start_ms: end_ms - length,
            end_ms,
        })
    }

    /// The periods of the last `n` scheduled slots, newest first.
    pub fn recent_periods(&self, name: &str, now_ms: i64, n: usize) -> Result<Vec<Period>, ReportError> {
        let s = self.schedule(name)?;
        let mut end = s.latest_at_or_before(now_ms);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let start = s.previous(end);
            out.push(Period {
                start_ms: start,
                end_ms: end,
            });
            end = start;
        }
        Ok(out)
    }

    /// Builds report `name` over `period` on a blocking thread.
    pub async fn build(&self, name: &str, period: Period) -> Result<Report, ReportError> {
        let sources = self.sources.clone();
        let cfg = self.config.read().clone();
        let (name, url) = (name.to_string(), self.external_url.clone());
        tokio::task::spawn_blocking(move || build_report(&sources, &cfg, &name, period, &url))
            .await
            .map_err(|e| ReportError::Task(e.to_string()))?
    }

    /// Builds and sends report `name` over `period` to `receiver` (the
    /// configured one when None): through every e-mail integration of the
    /// receiver; the others are skipped. Fails when none delivered it.
    async fn deliver(
        &self,
        name: &str,
        receiver: Option<&str>,
        period: Period,
    ) -> Result<SendOutcome, ReportError> {
        let configured = {
            let cfg = self.config.read();
            cfg.report(name)
                .ok_or_else(|| ReportError::UnknownReport(name.to_string()))?
                .receiver
                .clone()
        };
        let receiver = receiver
            .map(str::to_string)
            .or(configured)
            .ok_or_else(|| ReportError::NoReceiver(name.to_string()))?;
        let runtime = self.dispatcher.runtime();
        let integrations = runtime
            .receivers
            .get(&receiver)
            .ok_or_else(|| ReportError::UnknownReceiver {
                report: name.to_string(),
                receiver: receiver.clone(),
            })?
            .integrations
            .clone();
        drop(runtime);
        let report = self.build(name, period).await?;
        let failed_sections: Vec<String> = report.failed_sections().into_iter().map(str::to_string).collect();
        let mail = ReportMail {
            subject: render::subject(&report),
            html: render::html_mail(&report),
            text: render::text(&report),
        };
        let mut deliveries = Vec::new();
        let mut skipped = Vec::new();
        for i in &integrations {
            let Some(sending) = i.send_report(&mail) else {
                skipped.push(i.integration().to_string());
                continue;
            };
            let error = match tokio::time::timeout(DELIVERY_TIMEOUT, sending).await {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e.message),
                Err(_) => Some(format!("no answer within {}s", DELIVERY_TIMEOUT.as_secs())),
            };
            deliveries.push(Delivery {
                integration: i.integration(),
                destination: i.describe(),
                error,
            });
        }
        if deliveries.is_empty() {
            return Err(ReportError::NoEmail(receiver));
        }
        if deliveries.iter().all(|d| d.error.is_some()) {
            let errors: Vec<String> = deliveries.iter().filter_map(|d| d.error.clone()).collect();
            return Err(ReportError::Delivery {
                report: name.to_string(),
                receiver,
                errors: errors.join("; "),
            });
        }
        if !failed_sections.is_empty() {
            self.metrics
                .sections_failed
                .with(&[name])
                .add(failed_sections.len() as u64);
        }
        Ok(SendOutcome {
            report: name.to_string(),
            receiver,
            start_ms: period.start_ms,
            end_ms: period.end_ms,
            subject: mail.subject,
            deliveries,
            skipped,
            failed_sections,
        })
    }

    async fn run_record(&self, name: &str) -> Result<Option<ReportRun>, ReportError> {
        let (runs, name) = (self.runs.clone(), name.to_string());
        tokio::task::spawn_blocking(move || runs.get(&name))
            .await
            .map_err(|e| ReportError::Task(e.to_string()))?
    }

    async fn put_record(&self, name: &str, run: ReportRun) -> Result<(), ReportError> {
        let (runs, name) = (self.runs.clone(), name.to_string());
        tokio::task::spawn_blocking(move || runs.put(&name, &run))
            .await
            .map_err(|e| ReportError::Task(e.to_string()))?
    }

    /// Sends report `name` now, covering one period of its schedule up to
    /// now, to `receiver` or the configured one; the last send is recorded
    /// (the schedule's own slot is not: it still goes out).
    pub async fn send_now(&self, name: &str, receiver: Option<&str>) -> Result<SendOutcome, ReportError> {
        let period = self.period_ending(name, now_millis())?;
        let _one = self.sending.lock().await;
        let result = self.deliver(name, receiver, period).await;
        self.count(name, "manual", &result);
        let mut run = self
            .run_record(name)
            .await?
            .unwrap_or_else(|| fresh(now_millis()));
        match &result {
            Ok(o) => {
                run.last_sent_ms = Some(now_millis());
                run.last_receiver = o.receiver.clone();
                run.last_error = None;
            }
            Err(e) => run.last_error = Some(e.to_string()),
        }
        self.put_record(name, run).await?;
        result
    }

    fn count(&self, name: &str, trigger: &str, result: &Result<SendOutcome, ReportError>) {
        let outcome = if result.is_ok() { "sent" } else { "failed" };
        self.metrics.sent.with(&[name, trigger, outcome]).inc();
    }

    /// Every report with its schedule and last send.
    pub async fn list(&self) -> Result<Vec<ReportStatus>, ReportError> {
        let now = now_millis();
        let mut out = Vec::new();
        for name in REPORT_NAMES {
            let (enabled, receiver, schedule) = {
                let cfg = self.config.read();
                let r = cfg.report(name).expect("every name has a report");
                (r.is_enabled(), r.receiver.clone(), Schedule::of(name, r, &cfg))
            };
            let run = self.run_record(name).await?.unwrap_or_default();
            out.push(ReportStatus {
                name: name.to_string(),
                title: title(name).unwrap_or(name).to_string(),
                enabled,
                schedule: schedule.describe(),
                receiver,
                next_due_ms: enabled.then(|| schedule.next_after(now)),
                last_sent_ms: run.last_sent_ms,
                last_receiver: run.last_receiver,
                last_error: run.last_error,
                last_slot_ms: run.slot_ms,
            });
        }
        Ok(out)
    }

    /// Sends each enabled report when its slot comes, until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            for name in REPORT_NAMES {
                if let Err(e) = self.tick(name, now_millis()).await {
                    tracing::error!(report = name, error = %e, "cannot check the report's schedule");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Sends report `name`'s due slot, if one is due at `now`.
    async fn tick(&self, name: &str, now: i64) -> Result<(), ReportError> {
        let schedule = {
            let cfg = self.config.read();
            let r = cfg.report(name).expect("every name has a report");
            if !r.is_enabled() || r.receiver.is_none() {
                return Ok(());
            }
            Schedule::of(name, r, &cfg)
        };
        if self.retry_at.lock().get(name).is_some_and(|t| *t > now) {
            return Ok(());
        }
        let _one = self.sending.lock().await;
        let Some(mut run) = self.run_record(name).await? else {
            // First seen on a schedule: from now on.
            return self.put_record(name, fresh(now)).await;
        };
        let Some(slot) = due_slot(schedule.latest_at_or_before(now), &run) else {
            return Ok(());
        };
        let period = Period {
            start_ms: schedule.previous(slot),
            end_ms: slot,
        };
        let result = self.deliver(name, None, period).await;
        self.count(name, "schedule", &result);
        match &result {
            Ok(o) => {
                tracing::info!(report = name, receiver = %o.receiver, slot_ms = slot, failed_sections = o.failed_sections.len(), "report sent");
                run.slot_ms = Some(slot);
                run.last_sent_ms = Some(now_millis());
                run.last_receiver = o.receiver.clone();
                run.last_error = None;
                self.retry_at.lock().remove(name);
            }
            Err(e) => {
                tracing::warn!(report = name, error = %e, retry_in_s = RETRY.as_secs(), "report not sent");
                run.last_error = Some(e.to_string());
                self.retry_at
                    .lock()
                    .insert(name.to_string(), now + RETRY.as_millis() as i64);
            }
        }
        self.put_record(name, run).await
    }
}

fn fresh(now: i64) -> ReportRun {
    ReportRun {
        version: 1,
        since_ms: now,
        ..Default::default()
    }
}
