//! `belfry serve --demo`: an in-process synthetic LMS, so every page has
//! something to show on a newcomer's first run. It writes what a real LMS
//! deployment would send — the exporters' and the application's metrics
//! (`metrics.rs`) through the storage, JSON log lines (`logs.rs`) into
//! the logs store, Sentry events (`errors.rs`) through the errors ingest
//! — with a scripted incident every few minutes (`incident.rs`). At start
//! `backfill.rs` writes a day of history; `live.rs` then adds a step
//! every 15 s. Everything is drawn from one seed (`rng.rs`), so a test
//! sees the same LMS each time.
//!
//! Demo data lives in a data directory of its own, marked by
//! [`MARKER_FILE`]; [`claim_data_dir`] refuses a directory holding
//! anything else.

mod backfill;
mod errors;
mod incident;
mod live;
mod logs;
mod metrics;
mod rng;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::errors::{ErrorIngest, ErrorsError};
use crate::logs::{Entry, LogStore, LogsError};
use crate::tsdb::{SeriesRef, Storage, StorageError};

pub use backfill::BackfillReport;
pub use incident::{Conditions, IncidentSchedule};
pub use live::LiveLoop;
pub use metrics::API_JOB;

/// The file that marks a data directory as the demo's.
pub const MARKER_FILE: &str = "belfry-demo";

/// Lines per `LogStore::ingest` call (below the default batch limit).
const LOG_BATCH: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "{dir} holds data that is not the demo's (no {MARKER_FILE} file in it); the demo never writes into a real \
         data directory: give --demo an empty or new --data-dir (the default is ./data-demo)"
    )]
    NotADemoDir { dir: PathBuf },
    #[error("cannot prepare the demo data directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the demo cannot write its samples: {0}")]
    Storage(#[from] StorageError),
    #[error("the demo cannot write its log lines: {0}")]
    Logs(#[from] LogsError),
    #[error("the demo cannot send its error events: {0}")]
    Errors(#[from] ErrorsError),
    #[error("the demo's step task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Makes `dir` the demo's: creates it with the marker, or checks that an
/// existing one is empty or already marked.
pub fn claim_data_dir(dir: &Path) -> Result<(), DemoError> {
    let io = |source| DemoError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let marker = dir.join(MARKER_FILE);
    if marker.exists() {
        return Ok(());
    }
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io)?;
        if entries.next().is_some() {
            return Err(DemoError::NotADemoDir {
                dir: dir.to_path_buf(),
            });
        }
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(
        &marker,
        "This directory holds the synthetic data of `belfry serve --demo`; \
         never point a real server at it.\n",
    )
    .map_err(io)
}

/// What the demo generates and how.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub seed: u64,
    /// Between two samples of a series (a scrape interval).
    pub step: Duration,
    /// How much history `backfill` writes.
    pub history: Duration,
    /// How often an incident starts.
    pub incident_every: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 0x00be_1f4e,
            step: Duration::from_secs(15),
            history: Duration::from_secs(24 * 3600),
            incident_every: Duration::from_secs(30 * 60),
        }
    }
}

/// Where the demo writes: the stores and ingest paths a real LMS's data
/// would reach.
pub struct Sinks {
    pub storage: Arc<dyn Storage>,
    pub logs: Arc<LogStore>,
    pub errors: Arc<ErrorIngest>,
    /// The errors project the events go to, and its DSN key.
    pub project_id: u64,
    pub project_key: String,
    /// To wait for error commits from the demo's blocking steps.
    pub runtime: tokio::runtime::Handle,
}

/// The synthetic LMS and where it writes.
pub struct Demo {
    opts: DemoOptions,
    sinks: Sinks,
    model: metrics::LmsModel,
    logs: logs::LogGenerator,
    errors: errors::ErrorEvents,
    schedule: IncidentSchedule,
    /// The series' refs in the storage, once appended live.
    refs: Vec<Option<SeriesRef>>,
    /// The last step written.
    last_ms: i64,
}

impl Demo {
    /// A demo starting at `start_ms`: the first incident begins then.
    pub fn new(opts: DemoOptions, sinks: Sinks, start_ms: i64) -> Demo {
        let model = metrics::LmsModel::new(opts.seed);
        let n = model.series().labels().len();
        let step = step_ms(&opts);
        Demo {
            schedule: IncidentSchedule::new(start_ms.div_euclid(step) * step, opts.incident_every),
            model,
            logs: logs::LogGenerator::new(opts.seed),
            errors: errors::ErrorEvents::new(opts.seed),
            refs: vec![None; n],
            last_ms: i64::MIN,
            opts,
            sinks,
        }
    }

    pub fn schedule(&self) -> IncidentSchedule {
        self.schedule
    }

    /// Series the demo writes.
    pub fn series_count(&self) -> usize {
        self.refs.len()
    }

    /// Moves the LMS to `t_ms`: metrics, and the lines and events of the
    /// step, returned for the caller to write.
    fn advance(&mut self, t_ms: i64) -> (Vec<Entry>, Vec<serde_json::Value>) {
        let dt_s = step_ms(&self.opts) as f64 / 1000.0;
        let c = self.schedule.at(t_ms);
        self.model.advance(t_ms, dt_s, &c);
        let load = self.model.load_at(t_ms);
        let (lines, failures) = self.logs.step(t_ms, dt_s, load, &c);
        let events = self.errors.events(&failures);
        self.last_ms = t_ms;
        (lines, events)
    }

    /// Appends the model's current values at `t_ms` through an appender.
    fn append_now(&mut self, t_ms: i64) -> Result<(), DemoError> {
        let mut app = self.sinks.storage.appender();
        let table = self.model.series();
        for (i, (labels, v)) in table.labels().iter().zip(table.values()).enumerate() {
            let appended = match self.refs[i] {
                Some(r) => app.append_ref(r, t_ms, *v).map(|()| r),
                None => app.append(labels, t_ms, *v),
            };
            match appended {
                Ok(r) => self.refs[i] = Some(r),
                // A stale ref (retention removed the series): by labels.
                Err(crate::tsdb::AppendError::UnknownSeriesRef) => {
                    if let Ok(r) = app.append(labels, t_ms, *v) {
                        self.refs[i] = Some(r);
                    }
                }
                // Out of order or too old: a restart within a step of the
                // last run; the next step goes in.
                Err(_) => {}
            }
        }
        app.commit()?;
        Ok(())
    }

    fn write_logs(&self, mut lines: Vec<Entry>) -> Result<(), DemoError> {
        while !lines.is_empty() {
            let rest = lines.split_off(lines.len().min(LOG_BATCH));
            loop {
                match self.sinks.logs.ingest("demo", lines.clone()) {
                    Ok(_) => break,
                    // The committer is behind: wait as a shipper would.
                    Err(LogsError::Backpressure { .. }) => std::thread::sleep(Duration::from_millis(200)),
                    Err(e) => return Err(e.into()),
                }
            }
            lines = rest;
        }
        Ok(())
    }

    fn send_events(&self, events: Vec<serde_json::Value>) -> Result<(), DemoError> {
        use crate::errors::{Endpoint, IngestRequest};
        for event in events {
            let request = IngestRequest {
                project: self.sinks.project_id.to_string(),
                endpoint: Endpoint::Store,
                auth_header: Some(format!(
                    "Sentry sentry_key={}, sentry_version=7, sentry_client=sentry.python/2.19.2",
                    self.sinks.project_key
                )),
                query: None,
                content_encoding: None,
                body: event.to_string().into(),
            };
            let prepared = self.sinks.errors.prepare(request)?;
            self.sinks.runtime.block_on(self.sinks.errors.commit(prepared))?;
        }
        Ok(())
    }
}

fn step_ms(opts: &DemoOptions) -> i64 {
    i64::try_from(opts.step.as_millis()).unwrap_or(15_000).max(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_dir_is_claimed_once_and_a_real_one_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let fresh = tmp.path().join("data-demo");
        claim_data_dir(&fresh).unwrap();
        assert!(fresh.join(MARKER_FILE).exists());
        std::fs::create_dir_all(fresh.join("metrics")).unwrap();
        claim_data_dir(&fresh).unwrap();

        let real = tmp.path().join("data");
        std::fs::create_dir_all(real.join("metrics")).unwrap();
        let err = claim_data_dir(&real).unwrap_err();
        assert!(matches!(err, DemoError::NotADemoDir { .. }), "{err}");
        assert!(!real.join(MARKER_FILE).exists());

        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        claim_data_dir(&empty).unwrap();
    }
}
