//! A scrape pool: one job's targets. It turns discovered groups into
//! targets, starts a loop per new target, keeps unchanged ones running,
//! stops vanished ones (which write staleness markers about two intervals
//! later unless the target comes back first) and enforces `target_limit`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::ScrapeConfig;
use crate::http_client::HttpClientError;
use crate::model::Labels;
use crate::model::rfc3339_or_zero;
use crate::selfmetrics::Counter;
use crate::tsdb::Storage;

use super::append::ScrapeOptions;
use super::client::ScrapeClient;
use super::discovery::{FILE_POLL_INTERVAL, FileDiscovery, TargetGroup, static_groups};
use super::metadata::MetricMetadata;
use super::metrics::ScrapeMetrics;
use super::scrape_loop::{JobContext, LoopHandle, StopMode};
use super::status::{ActiveTarget, DroppedTarget, TargetStatus, global_url, prom_duration};
use super::target::{Populated, populate};

pub type TargetKey = (Labels, String);

/// Loops that were told to stop and may still be writing staleness markers.
pub type Stopping = Arc<Mutex<Vec<LoopHandle>>>;

pub struct ScrapePool {
    pub job: ScrapeConfig,
    ctx: Arc<JobContext>,
    state: Mutex<PoolState>,
    stopping: Stopping,
    sd_cancel: CancellationToken,
    sd_task: Mutex<Option<JoinHandle<()>>>,
    target_limit_exceeded: Arc<Counter>,
}

struct PoolState {
    static_groups: Vec<TargetGroup>,
    file_groups: Vec<TargetGroup>,
    loops: HashMap<TargetKey, LoopHandle>,
    /// Loops of vanished targets waiting to write their staleness markers;
    /// a target that comes back meanwhile takes its loop's series over.
    fading: HashMap<TargetKey, LoopHandle>,
    dropped: Vec<Labels>,
    /// Set once the loops were taken away: a late discovery update must
    /// not start loops nobody would stop.
    closed: bool,
}

/// A pool whose client is built and whose files are read, not yet running.
pub struct PreparedPool {
    job: ScrapeConfig,
    ctx: Arc<JobContext>,
    file_sd: Vec<FileDiscovery>,
    file_groups: Vec<TargetGroup>,
    target_limit_exceeded: Arc<Counter>,
}

impl PreparedPool {
    /// Does everything that can fail (TLS files) or read files, so a bad
    /// config is refused before anything running is touched.
    pub fn new(
        job: &ScrapeConfig,
        storage: Arc<dyn Storage>,
        metrics: Arc<ScrapeMetrics>,
        target_limit_exceeded: Arc<Counter>,
        exemplars: Option<Arc<dyn crate::tsdb::ExemplarAppender>>,
    ) -> Result<Self, HttpClientError> {
        let client = ScrapeClient::new(job)?;
        let mut file_sd: Vec<FileDiscovery> = job
            .file_sd_configs
            .iter()
            .map(|c| FileDiscovery::new(c.clone(), metrics.sd_file_read_errors.clone()))
            .collect();
        for sd in &mut file_sd {
            sd.refresh();
        }
        let file_groups = file_sd.iter().flat_map(FileDiscovery::groups).collect();
        Ok(PreparedPool {
            job: job.clone(),
            ctx: Arc::new(JobContext {
                storage,
                client,
                options: ScrapeOptions::from_job(job),
                metrics,
                exemplars,
            }),
            file_sd,
            file_groups,
            target_limit_exceeded,
        })
    }

    /// Starts the pool. Loops of `spare` (the previous pool's, and loops
    /// still waiting to write markers) whose target is present hand their
    /// series over; of the rest, this job's own wait in the new pool for
    /// their target to come back. What is left stays in `spare`.
    pub fn start(self, spare: &mut HashMap<TargetKey, LoopHandle>, stopping: Stopping) -> Arc<ScrapePool> {
        let poll = self
            .job
            .file_sd_configs
            .iter()
            .map(|c| c.refresh_interval.as_duration())
            .min()
            .map_or(FILE_POLL_INTERVAL, |r| r.min(FILE_POLL_INTERVAL));
        let pool = Arc::new(ScrapePool {
            ctx: self.ctx,
            state: Mutex::new(PoolState {
                static_groups: static_groups(&self.job),
                file_groups: self.file_groups,
                loops: HashMap::new(),
                fading: HashMap::new(),
                dropped: Vec::new(),
                closed: false,
            }),
            job: self.job,
            stopping,
            sd_cancel: CancellationToken::new(),
            sd_task: Mutex::new(None),
            target_limit_exceeded: self.target_limit_exceeded,
        });
        pool.sync(spare);
        pool.adopt_fading(spare);
        if !self.file_sd.is_empty() {
            let task = tokio::spawn(watch_files(pool.clone(), self.file_sd, poll));
            *pool.sd_task.lock() = Some(task);
        }
        pool
    }
}

impl ScrapePool {
    /// Recomputes targets from the current groups and starts/stops loops.
    /// A new target takes over the series of a loop of `spare` or of a
    /// fading loop with the same identity.
    fn sync(&self, spare: &mut HashMap<TargetKey, LoopHandle>) {
        let mut state = self.state.lock();
        if state.closed {
            return;
        }
        let groups: Vec<TargetGroup> = state
            .static_groups
            .iter()
            .chain(&state.file_groups)
            .cloned()
            .collect();
        let mut wanted = HashMap::new();
        let mut dropped = Vec::new();
        for group in &groups {
            for address in &group.targets {
                match populate(group, address, &self.job) {
                    Ok(Populated::Active(t)) => {
                        wanted.insert(t.key(), t);
                    }
                    Ok(Populated::Dropped(d)) => dropped.push(d),
                    Err(e) => {
                        tracing::warn!(job = %self.job.job_name, source = %group.source, address, "skipping target: {e}")
                    }
                }
            }
        }
        let forced = self.target_limit_error(wanted.len());
        state.fading.retain(|_, h| !h.is_finished());
        let mut old = std::mem::take(&mut state.loops);
        for (key, target) in wanted {
            let handle = match old.remove(&key) {
                Some(running) if running.shared.target == target => {
                    *running.shared.forced_error.lock() = forced.clone();
                    running
                }
                // Same series, new settings (interval, discovered labels).
                Some(running) => LoopHandle::spawn(self.ctx.clone(), target, Some(running), forced.clone()),
                None => {
                    let previous = state.fading.remove(&key).or_else(|| spare.remove(&key));
                    LoopHandle::spawn(self.ctx.clone(), target, previous, forced.clone())
                }
            };
            state.loops.insert(key, handle);
        }
        let mut evicted = Vec::new();
        for (key, gone) in old {
            gone.stop(StopMode::Stale);
            if let Some(replaced) = state.fading.insert(key, gone) {
                evicted.push(replaced);
            }
        }
        // As Prometheus's keep_dropped_targets: the API lists the first ones.
        if self.job.keep_dropped_targets > 0 {
            dropped.truncate(usize::try_from(self.job.keep_dropped_targets).unwrap_or(usize::MAX));
        }
        state.dropped = dropped;
        drop(state);
        self.keep_stopping(evicted);
    }

    /// Prometheus's `target_limit`: with more targets than the limit, every
    /// target of the job fails with this error until there are fewer.
    fn target_limit_error(&self, targets: usize) -> Option<String> {
        let limit = self.job.target_limit;
        if limit == 0 || targets as u64 <= limit {
            return None;
        }
        self.target_limit_exceeded.inc();
        tracing::warn!(job = %self.job.job_name, targets, limit, "target_limit exceeded; no target of the job is scraped");
        Some(format!(
            "target_limit exceeded (number of targets: {targets}, limit: {limit})"
        ))
    }

    /// Takes the loops of `spare` that belong to this job and are not
    /// running here: they wait in this pool for their target to come back.
    fn adopt_fading(&self, spare: &mut HashMap<TargetKey, LoopHandle>) {
        let mut state = self.state.lock();
        if state.closed {
            return;
        }
        let mine: Vec<TargetKey> = spare
            .iter()
            .filter(|(_, h)| h.shared.target.job == self.job.job_name)
            .map(|(k, _)| k.clone())
            .collect();
        let mut evicted = Vec::new();
        for key in mine {
            let Some(h) = spare.remove(&key) else { continue };
            h.stop(StopMode::Stale);
            if let Some(replaced) = state.fading.insert(key, h) {
                evicted.push(replaced);
            }
        }
        drop(state);
        self.keep_stopping(evicted);
    }

    fn keep_stopping(&self, loops: Vec<LoopHandle>) {
        if loops.is_empty() {
            return;
        }
        let mut stopping = self.stopping.lock();
        stopping.retain(|h| !h.is_finished());
        stopping.extend(loops);
    }

    fn set_file_groups(&self, groups: Vec<TargetGroup>) {
        self.state.lock().file_groups = groups;
        self.sync(&mut HashMap::new());
    }

    /// Stops discovery and hands back the loops, still running, and those
    /// waiting to write their markers.
    pub fn take_loops(&self) -> HashMap<TargetKey, LoopHandle> {
        self.sd_cancel.cancel();
        let mut state = self.state.lock();
        state.closed = true;
        state.dropped.clear();
        let mut loops = std::mem::take(&mut state.fading);
        loops.retain(|_, h| !h.is_finished());
        loops.extend(std::mem::take(&mut state.loops));
        loops
    }

    /// The discovery task, to await at shutdown.
    pub fn take_sd_task(&self) -> Option<JoinHandle<()>> {
        self.sd_task.lock().take()
    }

    pub fn active_count(&self) -> usize {
        self.state.lock().loops.len()
    }

    pub fn statuses(&self) -> Vec<TargetStatus> {
        let state = self.state.lock();
        let mut out = Vec::with_capacity(state.loops.len() + state.dropped.len());
        for handle in state.loops.values() {
            let t = &handle.shared.target;
            let h = handle.shared.health.lock().clone();
            out.push(TargetStatus::Active(ActiveTarget {
                discovered_labels: t.discovered.to_map(),
                labels: t.labels.to_map(),
                scrape_pool: self.job.job_name.clone(),
                scrape_url: t.url.clone(),
                global_url: global_url(&t.url),
                last_error: h.last_error,
                last_scrape: rfc3339_or_zero(h.last_scrape),
                last_scrape_duration: h.last_scrape_duration.as_secs_f64(),
                health: h.health,
                scrape_interval: prom_duration(t.interval),
                scrape_timeout: prom_duration(t.timeout),
            }));
        }
        for d in &state.dropped {
            out.push(TargetStatus::Dropped(DroppedTarget {
                discovered_labels: d.to_map(),
                scrape_pool: self.job.job_name.clone(),
            }));
        }
        out
    }

    /// Each active target's labels with what it last said about its metrics.
    pub fn target_metadata(&self) -> Vec<(Labels, Vec<MetricMetadata>)> {
        let state = self.state.lock();
        state
            .loops
            .values()
            .map(|h| (h.shared.target.labels.clone(), h.shared.metadata.lock().clone()))
            .collect()
    }

    pub fn metadata(&self) -> Vec<MetricMetadata> {
        let state = self.state.lock();
        state
            .loops
            .values()
            .flat_map(|h| h.shared.metadata.lock().clone())
            .collect()
    }
}

/// Polls the job's target files and resyncs the pool when they change.
async fn watch_files(pool: Arc<ScrapePool>, mut sds: Vec<FileDiscovery>, poll: Duration) {
    let cancel = pool.sd_cancel.clone();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(poll) => {}
        }
        let refreshed = tokio::task::spawn_blocking(move || {
            let mut changed = false;
            for sd in &mut sds {
                changed |= sd.refresh();
            }
            (sds, changed)
        })
        .await;
        let changed;
        (sds, changed) = match refreshed {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(job = %pool.job.job_name, "file discovery task failed: {e}");
                return;
            }
        };
        if changed && !cancel.is_cancelled() {
            pool.set_file_groups(sds.iter().flat_map(FileDiscovery::groups).collect());
        }
    }
}
