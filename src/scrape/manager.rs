//! The scrape manager: owns one pool per scrape job and applies new
//! configurations in two steps — [`ScrapeManager::prepare`] builds every
//! changed job (HTTP client, TLS files, target files) without touching
//! what runs, [`ScrapeManager::install`] swaps them in and cannot fail on
//! a bad config. Unchanged jobs keep running, changed ones take over their
//! targets' series, removed targets go stale about two intervals later.
//! On shutdown every loop ends without staleness markers, as Prometheus's.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ScrapeConfig};
use crate::model::Labels;
use crate::selfmetrics::{Counter, Registry};
use crate::tsdb::{ExemplarAppender, Storage};

use super::client::ScrapeClient;
use super::error::ScrapeError;
use super::metadata::MetricMetadata;
use super::metrics::ScrapeMetrics;
use super::pool::{PreparedPool, ScrapePool, Stopping, TargetKey};
use super::scrape_loop::{LoopHandle, StopMode};
use super::status::TargetStatus;

pub struct ScrapeManager {
    storage: Arc<dyn Storage>,
    exemplars: Option<Arc<dyn ExemplarAppender>>,
    metrics: Arc<ScrapeMetrics>,
    target_limit_exceeded: Arc<Counter>,
    pools: Mutex<HashMap<String, Arc<ScrapePool>>>,
    stopping: Stopping,
    stopped: AtomicBool,
}

/// A scrape configuration whose changed jobs are built, not yet running.
pub struct PreparedScrape {
    jobs: Vec<ScrapeConfig>,
    pools: HashMap<String, PreparedPool>,
}

impl ScrapeManager {
    /// A manager that drops scraped exemplars.
    pub fn new(storage: Arc<dyn Storage>, registry: &Registry) -> Arc<Self> {
        Self::with_exemplars(storage, None, registry)
    }

    /// A manager that hands scraped exemplars to `exemplars`.
    pub fn with_exemplars(
        storage: Arc<dyn Storage>,
        exemplars: Option<Arc<dyn ExemplarAppender>>,
        registry: &Registry,
    ) -> Arc<Self> {
        let manager = Arc::new(ScrapeManager {
            storage,
            exemplars,
            metrics: Arc::new(ScrapeMetrics::new(registry)),
            target_limit_exceeded: registry.counter(
                "belfry_scrape_target_limit_exceeded_total",
                "Target syncs of a job that found more targets than its target_limit (none of them is scraped).",
            ),
            pools: Mutex::new(HashMap::new()),
            stopping: Arc::default(),
            stopped: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&manager);
        registry.gauge_fn(
            "belfry_scrape_targets_active",
            "Targets being scraped.",
            move || weak.upgrade().map_or(0.0, |m| m.active_targets() as f64),
        );
        manager
    }

    /// Builds every job's HTTP client (reading its TLS and credential
    /// settings) without starting anything: what `belfry check config`
    /// and a reload refuse a configuration for.
    pub fn check_config(cfg: &Config) -> Result<(), ScrapeError> {
        for job in &cfg.scrape_configs {
            ScrapeClient::new(job).map_err(|source| ScrapeError::Job {
                job: job.job_name.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Applies the `scrape_configs` of `cfg`. Must run inside a tokio
    /// runtime. Either every job is applied or, on error, nothing changes.
    pub fn apply_config(&self, cfg: &Config) -> Result<(), ScrapeError> {
        let prepared = self.prepare(cfg)?;
        self.install(prepared)
    }

    /// Does everything of applying `cfg` that can fail, changing nothing.
    /// Install the result before any other configuration is prepared.
    pub fn prepare(&self, cfg: &Config) -> Result<PreparedScrape, ScrapeError> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(ScrapeError::Stopped);
        }
        let pools = self.pools.lock();
        let mut prepared = HashMap::new();
        for job in &cfg.scrape_configs {
            if pools.get(&job.job_name).is_some_and(|p| p.job == *job) {
                continue;
            }
            prepared.insert(job.job_name.clone(), self.prepare_job(job)?);
        }
        Ok(PreparedScrape {
            jobs: cfg.scrape_configs.clone(),
            pools: prepared,
        })
    }

    fn prepare_job(&self, job: &ScrapeConfig) -> Result<PreparedPool, ScrapeError> {
        PreparedPool::new(
            job,
            self.storage.clone(),
            self.metrics.clone(),
            self.target_limit_exceeded.clone(),
            self.exemplars.clone(),
        )
        .map_err(|source| ScrapeError::Job {
            job: job.job_name.clone(),
            source,
        })
    }

    /// Swaps a prepared configuration in. Fails only outside a runtime or
    /// after [`ScrapeManager::stop`].
    pub fn install(&self, mut prepared: PreparedScrape) -> Result<(), ScrapeError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ScrapeError::NoRuntime);
        }
        if self.stopped.load(Ordering::SeqCst) {
            return Err(ScrapeError::Stopped);
        }
        let mut pools = self.pools.lock();
        let mut old_pools = std::mem::take(&mut *pools);
        // Loops that may hand their series to a new pool: those of changed
        // and removed jobs, and those still waiting to write markers.
        let mut spare: HashMap<TargetKey, LoopHandle> = HashMap::new();
        {
            let mut stopping = self.stopping.lock();
            for h in std::mem::take(&mut *stopping) {
                if h.is_finished() {
                    continue;
                }
                if let Some(other) = spare.insert(h.shared.target.key(), h) {
                    stopping.push(other);
                }
            }
        }
        let mut started = Vec::new();
        for job in &prepared.jobs {
            if let Some(p) = old_pools.remove(&job.job_name) {
                if p.job == *job {
                    pools.insert(job.job_name.clone(), p);
                    continue;
                }
                spare.extend(p.take_loops());
            }
            let prep = match prepared.pools.remove(&job.job_name) {
                Some(prep) => prep,
                // Only when another configuration was installed since this
                // one was prepared; build it now rather than lose the job.
                None => match self.prepare_job(job) {
                    Ok(prep) => prep,
                    Err(e) => {
                        tracing::error!("cannot start a scrape job: {e}");
                        continue;
                    }
                },
            };
            started.push((job.job_name.clone(), prep));
        }
        for (name, old) in old_pools {
            spare.extend(old.take_loops());
            tracing::info!(job = %name, "scrape pool removed");
        }
        for (name, prep) in started {
            let pool = prep.start(&mut spare, self.stopping.clone());
            tracing::info!(job = %name, targets = pool.active_count(), "scrape pool started");
            pools.insert(name, pool);
        }
        self.stop_loops(spare.into_values(), StopMode::Stale);
        Ok(())
    }

    /// Waits for `shutdown`, then stops every loop and waits until they
    /// are done.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        shutdown.cancelled().await;
        self.stop().await;
    }

    /// Stops scraping now. No staleness markers are written (also none
    /// still pending for removed targets): the series simply continue
    /// when the server starts again, as with Prometheus.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let pools: Vec<_> = self.pools.lock().drain().map(|(_, p)| p).collect();
        let mut sd_tasks = Vec::new();
        for pool in pools {
            sd_tasks.extend(pool.take_sd_task());
            self.stop_loops(pool.take_loops().into_values(), StopMode::Shutdown);
        }
        for t in sd_tasks {
            let _ = t.await;
        }
        let stopping: Vec<_> = std::mem::take(&mut *self.stopping.lock());
        for h in &stopping {
            h.stop(StopMode::Shutdown);
        }
        for h in stopping {
            h.finished().await;
        }
    }

    /// Every target, active and dropped, for `/api/v1/targets`.
    pub fn targets(&self) -> Vec<TargetStatus> {
        let pools: Vec<_> = self.pools.lock().values().cloned().collect();
        let mut out: Vec<TargetStatus> = pools.iter().flat_map(|p| p.statuses()).collect();
        out.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        out
    }

    /// Metric metadata from every target, deduplicated, sorted by metric.
    pub fn metadata(&self) -> Vec<MetricMetadata> {
        let pools: Vec<_> = self.pools.lock().values().cloned().collect();
        let mut out: Vec<MetricMetadata> = pools.iter().flat_map(|p| p.metadata()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Each active target's labels and metadata, for
    /// `/api/v1/targets/metadata`, in target label order.
    pub fn target_metadata(&self) -> Vec<(Labels, Vec<MetricMetadata>)> {
        let pools: Vec<_> = self.pools.lock().values().cloned().collect();
        let mut out: Vec<_> = pools.iter().flat_map(|p| p.target_metadata()).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn active_targets(&self) -> usize {
        self.pools.lock().values().map(|p| p.active_count()).sum()
    }

    fn stop_loops(&self, loops: impl Iterator<Item = LoopHandle>, mode: StopMode) {
        let mut stopping = self.stopping.lock();
        stopping.retain(|h| !h.is_finished());
        for h in loops {
            h.stop(mode);
            stopping.push(h);
        }
    }
}

fn sort_key(t: &TargetStatus) -> (u8, &str, String) {
    match t {
        TargetStatus::Active(a) => (0, a.scrape_pool.as_str(), a.scrape_url.clone()),
        TargetStatus::Dropped(d) => (1, d.scrape_pool.as_str(), format!("{:?}", d.discovered_labels)),
    }
}
