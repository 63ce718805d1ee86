//! The scrape manager: owns one pool per scrape job, applies new
//! configurations (unchanged jobs keep running, changed ones take over
//! their targets' series, removed ones go stale) and stops everything on
//! shutdown, writing staleness markers for every target's last series.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::selfmetrics::Registry;
use crate::tsdb::Storage;

use super::error::ScrapeError;
use super::metadata::MetricMetadata;
use super::metrics::ScrapeMetrics;
use super::pool::{PreparedPool, ScrapePool, Stopping};
use super::scrape_loop::StopMode;
use super::status::TargetStatus;

pub struct ScrapeManager {
    storage: Arc<dyn Storage>,
    metrics: Arc<ScrapeMetrics>,
    pools: Mutex<HashMap<String, Arc<ScrapePool>>>,
    stopping: Stopping,
    stopped: AtomicBool,
}

impl ScrapeManager {
    pub fn new(storage: Arc<dyn Storage>, registry: &Registry) -> Arc<Self> {
        let manager = Arc::new(ScrapeManager {
            storage,
            metrics: Arc::new(ScrapeMetrics::new(registry)),
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

    /// Applies the `scrape_configs` of `cfg`. Must run inside a tokio
    /// runtime. Either every job is applied or, on error, nothing changes.
    pub fn apply_config(&self, cfg: &Config) -> Result<(), ScrapeError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ScrapeError::NoRuntime);
        }
        if self.stopped.load(Ordering::SeqCst) {
            return Err(ScrapeError::Stopped);
        }
        let mut pools = self.pools.lock();
        // First everything that can fail, before touching what runs.
        let mut prepared = Vec::new();
        for job in &cfg.scrape_configs {
            if pools.get(&job.job_name).is_some_and(|p| p.job == *job) {
                continue;
            }
            let pool =
                PreparedPool::new(job, self.storage.clone(), self.metrics.clone()).map_err(|message| {
                    ScrapeError::Job {
                        job: job.job_name.clone(),
                        message,
                    }
                })?;
            prepared.push((job.job_name.clone(), pool));
        }
        let mut old_pools = std::mem::take(&mut *pools);
        for job in &cfg.scrape_configs {
            if let Some(p) = old_pools.remove(&job.job_name)
                && p.job == *job
            {
                pools.insert(job.job_name.clone(), p);
            }
        }
        for (name, prep) in prepared {
            let inherited = match old_pools.remove(&name) {
                Some(old) => old.take_loops(),
                None => HashMap::new(),
            };
            let (pool, leftover) = prep.start(inherited, self.stopping.clone());
            self.stop_loops(leftover.into_values());
            tracing::info!(job = %name, targets = pool.active_count(), "scrape pool started");
            pools.insert(name, pool);
        }
        for (name, old) in old_pools {
            self.stop_loops(old.take_loops().into_values());
            tracing::info!(job = %name, "scrape pool removed");
        }
        Ok(())
    }

    /// Waits for `shutdown`, then stops every loop (each writes staleness
    /// markers for its series) and waits until they are done.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        shutdown.cancelled().await;
        self.stop().await;
    }

    /// Stops scraping now: all loops end and mark their series stale.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let pools: Vec<_> = self.pools.lock().drain().map(|(_, p)| p).collect();
        let mut sd_tasks = Vec::new();
        for pool in pools {
            sd_tasks.extend(pool.take_sd_task());
            self.stop_loops(pool.take_loops().into_values());
        }
        for t in sd_tasks {
            let _ = t.await;
        }
        let stopping: Vec<_> = std::mem::take(&mut *self.stopping.lock());
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

    pub fn active_targets(&self) -> usize {
        self.pools.lock().values().map(|p| p.active_count()).sum()
    }

    fn stop_loops(&self, loops: impl Iterator<Item = super::scrape_loop::LoopHandle>) {
        let mut stopping = self.stopping.lock();
        stopping.retain(|h| !h.is_finished());
        for h in loops {
            h.stop(StopMode::Stale);
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
