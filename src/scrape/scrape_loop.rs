//! One target's loop: wait for its (deterministically jittered) slot,
//! scrape every interval, store, and when its target goes away write
//! staleness markers as Prometheus's end-of-run staleness does — unless
//! its state is handed over to a replacement loop (reload, or the target
//! came back) or the server shuts down.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::model::now_millis;
use crate::tsdb::{ExemplarAppender, Storage};

use super::append::{ScrapeOptions, Sink, store_end_of_run, store_scrape};
use super::client::ScrapeClient;
use super::error::ScrapeFailure;
use super::metadata::MetricMetadata;
use super::metrics::ScrapeMetrics;
use super::series_cache::SeriesCache;
use super::status::{Health, TargetHealth};
use super::target::Target;

/// What every loop of one job shares.
pub struct JobContext {
    pub storage: Arc<dyn Storage>,
    pub client: ScrapeClient,
    pub options: ScrapeOptions,
    pub metrics: Arc<ScrapeMetrics>,
    pub exemplars: Option<Arc<dyn ExemplarAppender>>,
}

/// A target and what its loop last observed, readable by the APIs.
pub struct TargetShared {
    pub target: Target,
    pub health: Mutex<TargetHealth>,
    pub metadata: Mutex<Vec<MetricMetadata>>,
    /// Set while the job has more targets than its `target_limit`: the
    /// loop then fails every scrape with this error instead of fetching.
    pub forced_error: Mutex<Option<String>>,
}

/// How a loop should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMode {
    /// The target is gone: after about two intervals (time for it to come
    /// back) its series are marked stale at the time of the scrape that
    /// did not happen.
    Stale,
    /// A replacement loop takes over its series (config reload, or the
    /// target came back before its markers were written).
    HandOver,
    /// The server stops: no markers, so a restart continues the series
    /// without a gap, as Prometheus does.
    Shutdown,
}

/// A running loop, or one waiting to write its end-of-run markers.
pub struct LoopHandle {
    pub shared: Arc<TargetShared>,
    /// `None` while running; the requested end once stopped.
    control: watch::Sender<Option<StopMode>>,
    join: JoinHandle<SeriesCache>,
}

impl LoopHandle {
    /// Starts a loop; `inherited` is the loop it replaces, whose series
    /// state it takes over once that loop has finished. `forced_error`
    /// fails every scrape (see [`TargetShared::forced_error`]).
    pub fn spawn(
        ctx: Arc<JobContext>,
        target: Target,
        inherited: Option<LoopHandle>,
        forced_error: Option<String>,
    ) -> LoopHandle {
        let shared = Arc::new(TargetShared {
            target,
            health: Mutex::new(TargetHealth::default()),
            metadata: Mutex::new(Vec::new()),
            forced_error: Mutex::new(forced_error),
        });
        if let Some(old) = &inherited {
            *shared.health.lock() = old.shared.health.lock().clone();
            *shared.metadata.lock() = old.shared.metadata.lock().clone();
        }
        let (control, control_rx) = watch::channel(None);
        let join = tokio::spawn(run(ctx, shared.clone(), control_rx, inherited));
        LoopHandle {
            shared,
            control,
            join,
        }
    }

    /// Asks the loop to end; await [`LoopHandle::finished`] for completion.
    /// `Stale` can still turn into a hand-over or a shutdown while the loop
    /// waits to write its markers; those two are final.
    pub fn stop(&self, mode: StopMode) {
        self.control.send_if_modified(|current| {
            if matches!(current, Some(StopMode::HandOver | StopMode::Shutdown)) || *current == Some(mode) {
                return false;
            }
            *current = Some(mode);
            true
        });
    }

    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Waits for the loop to end and returns its series state.
    pub async fn finished(self) -> SeriesCache {
        self.join.await.unwrap_or_else(|e| {
            tracing::error!("scrape loop task failed: {e}");
            SeriesCache::default()
        })
    }
}

async fn run(
    ctx: Arc<JobContext>,
    shared: Arc<TargetShared>,
    mut control: watch::Receiver<Option<StopMode>>,
    inherited: Option<LoopHandle>,
) -> SeriesCache {
    let mut cache = match inherited {
        Some(old) => {
            old.stop(StopMode::HandOver);
            old.finished().await
        }
        None => SeriesCache::default(),
    };
    let target = &shared.target;
    let interval = target.interval;
    let mut next =
        tokio::time::Instant::now() + first_delay(target.offset_seed(), interval, SystemTime::now());
    let mode = loop {
        tokio::select! {
            mode = stop_requested(&mut control) => break mode,
            _ = tokio::time::sleep_until(next) => {}
        }
        cache = scrape_once(&ctx, &shared, cache).await;
        // Keep the slot; skip missed ticks instead of bursting after a stall.
        let now = tokio::time::Instant::now();
        next += interval;
        while next <= now {
            next += interval;
        }
    };
    let scraped = shared.health.lock().last_scrape.is_some();
    if mode != StopMode::Stale || !scraped {
        return cache;
    }
    let Some(stale_at) = end_of_run_wait(&mut control, next, interval).await else {
        return cache;
    };
    let labels = target.labels.clone();
    let result = tokio::task::spawn_blocking(move || {
        store_end_of_run(ctx.storage.as_ref(), &labels, &cache, stale_at, &ctx.metrics);
        cache
    })
    .await;
    result.unwrap_or_default()
}

/// The mode a stop asks for; a dropped handle counts as a shutdown.
async fn stop_requested(control: &mut watch::Receiver<Option<StopMode>>) -> StopMode {
    match control.wait_for(Option::is_some).await {
        Ok(mode) => mode.unwrap_or(StopMode::Shutdown),
        Err(_) => StopMode::Shutdown,
    }
}

/// Prometheus's end-of-run staleness timing: the markers carry the time of
/// the next scrape that would have happened (`next`), and are written one
/// more interval plus 10% later, so a target that comes back has been
/// scraped again first. `None` when, meanwhile, the loop was handed over
/// (the target came back) or the server is stopping.
async fn end_of_run_wait(
    control: &mut watch::Receiver<Option<StopMode>>,
    next: tokio::time::Instant,
    interval: Duration,
) -> Option<i64> {
    let cancelled = async {
        let _ = control.wait_for(|m| !matches!(m, Some(StopMode::Stale))).await;
    };
    tokio::pin!(cancelled);
    tokio::select! {
        _ = &mut cancelled => return None,
        _ = tokio::time::sleep_until(next) => {}
    }
    let stale_at = now_millis();
    tokio::select! {
        _ = &mut cancelled => return None,
        _ = tokio::time::sleep_until(next + interval + interval / 10) => {}
    }
    Some(stale_at)
}

async fn scrape_once(
    ctx: &Arc<JobContext>,
    shared: &Arc<TargetShared>,
    mut cache: SeriesCache,
) -> SeriesCache {
    let target = &shared.target;
    let started = SystemTime::now();
    let ts = started
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let clock = std::time::Instant::now();
    let forced = shared.forced_error.lock().clone();
    let fetched = match forced {
        // As Prometheus: no request; the scrape fails with the pool's error.
        Some(message) => Err(ScrapeFailure::TargetLimit(message)),
        None => ctx.client.fetch(&target.url, target.timeout).await,
    };
    let duration = clock.elapsed();

    let job_ctx = ctx.clone();
    let labels = target.labels.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let sink = Sink {
            storage: job_ctx.storage.as_ref(),
            target: &labels,
            opts: &job_ctx.options,
            metrics: &job_ctx.metrics,
            exemplars: job_ctx.exemplars.as_deref(),
        };
        let result = store_scrape(&sink, fetched, ts, duration, &mut cache);
        (result, cache)
    })
    .await;
    let (result, cache) = match stored {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(url = %target.url, "storing a scrape failed: {e}");
            return SeriesCache::default();
        }
    };
    let mut health = shared.health.lock();
    health.last_scrape = Some(started);
    health.last_scrape_duration = duration;
    match &result.error {
        None => {
            health.health = Health::Up;
            health.last_error.clear();
        }
        Some(e) => {
            health.health = Health::Down;
            health.last_error = e.to_string();
            tracing::debug!(url = %target.url, "scrape failed: {e}");
        }
    }
    drop(health);
    if let Some(md) = result.metadata {
        *shared.metadata.lock() = md;
    }
    cache
}

/// Delay until the target's slot: scrapes of a target happen when
/// `unix_time % interval == seed % interval`, spreading targets over the
/// interval the same way on every restart, as Prometheus does.
fn first_delay(seed: u64, interval: Duration, now: SystemTime) -> Duration {
    let interval_ns = interval.as_nanos().max(1);
    let now_ns = now.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let offset = seed as u128 % interval_ns;
    let phase = now_ns % interval_ns;
    let wait = (offset + interval_ns - phase) % interval_ns;
    Duration::from_nanos(wait as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_delay_is_within_the_interval_and_deterministic() {
        let interval = Duration::from_secs(15);
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let a = first_delay(12345, interval, now);
        assert!(a < interval);
        assert_eq!(a, first_delay(12345, interval, now));
        // The slot is fixed in wall-clock time: later starts land on it too.
        let later = now + Duration::from_secs(4);
        let b = first_delay(12345, interval, later);
        assert_eq!(
            (a.as_nanos() + 15_000_000_000 - b.as_nanos()) % 15_000_000_000,
            4_000_000_000
        );
    }
}
