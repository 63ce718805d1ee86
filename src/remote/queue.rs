//! One remote's loop: read a round of samples from the WAL (up to
//! `capacity`, or what arrived within `batch_send_deadline`), record it as
//! in flight, send it over the shards until every batch is accepted or
//! refused, then persist the position after it and hold the WAL from
//! there. A round that is cancelled (shutdown, reload) is not marked
//! done, so it is read and sent again at the next start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::RemoteError;
use super::manager::{RemoteOptions, WalAccess};
use super::metrics::QueueMetrics;
use super::position::{PositionStore, SavedPosition};
use super::sender::{SendResult, Sender, encode_batch};
use super::shards::{shard_batches, shards_for};
use super::watcher::{QueuedSample, WalWatcher};
use crate::config::RemoteWriteConfig;
use crate::model::Labels;
use crate::tsdb::wal::{WalPosition, segment_bytes_from};

/// Series-only progress (no samples to send) is persisted this often.
const IDLE_PERSIST_EVERY: Duration = Duration::from_secs(5);

pub(super) struct Queue {
    pub cfg: RemoteWriteConfig,
    pub external: Labels,
    pub sender: Arc<Sender>,
    pub store: Arc<PositionStore>,
    pub wal: WalAccess,
    pub metrics: Arc<QueueMetrics>,
    pub options: RemoteOptions,
    /// When the queue was configured (ms): a remote without a saved
    /// position sends samples from then on.
    pub created_ms: i64,
}

/// Whether the queue holds the WAL, and since when sends have failed.
struct Hold {
    last_success: Instant,
    released: bool,
    last_size_check: Option<Instant>,
}

impl Queue {
    pub async fn run(self, cancel: CancellationToken) {
        let name = self.cfg.name.clone();
        if let Err(e) = self.run_inner(&cancel).await {
            tracing::error!(remote = %name, error = %e, "remote write queue stopped");
        }
    }

    async fn run_inner(self, cancel: &CancellationToken) -> Result<(), RemoteError> {
        let name = self.cfg.name.clone();
        let q = &self.cfg.queue_config;
        self.metrics.shards_min.set(q.min_shards as f64);
        self.metrics.shards_max.set(q.max_shards as f64);
        let saved = {
            let store = self.store.clone();
            blocking(move || store.load()).await?
        };
        let saved = saved.unwrap_or_else(|e| {
            tracing::error!(remote = %name, error = %e, "cannot read the saved position; starting at the end of the wal");
            None
        });
        if let Some(s) = saved {
            self.wal.holds.hold(&name, s.done.segment);
        }
        let mut watcher = WalWatcher::new(
            &name,
            self.wal.dir.clone(),
            self.wal.lookup.clone(),
            self.cfg.write_relabel_configs.clone(),
            self.external.clone(),
            self.metrics.clone(),
        );
        let start = saved.map(|s| s.done);
        if saved.is_none() {
            watcher.not_before = Some(self.created_ms);
        }
        let (w, started) = blocking(move || {
            let r = watcher.start(start);
            (watcher, r)
        })
        .await?;
        watcher = w;
        let mut done = started?;
        self.wal.holds.hold(&name, done.segment);
        tracing::info!(remote = %name, url = %self.cfg.url, segment = done.segment, offset = done.offset, "remote write queue started");
        let hold = Mutex::new(Hold {
            last_success: Instant::now(),
            released: false,
            last_size_check: None,
        });
        // A new remote's first position is written once its first round
        // is done; until then a restart starts it afresh.
        if saved.is_some_and(|s| s.done != done) {
            self.persist(done, None).await?;
        }

        // A round whose outcome a crash left unknown goes out again as it was.
        if let Some(s) = saved
            && s.done == done
            && let Some((end, shards)) = s.in_flight
        {
            let (w, samples) = self.read_round(watcher, usize::MAX, Some(end)).await?;
            watcher = w;
            if !self.send_round(samples, shards, cancel, &hold).await {
                return Ok(());
            }
            done = watcher.position();
            self.round_done(done, &hold).await?;
        }

        let mut last_persist = Instant::now();
        loop {
            let mut samples: Vec<QueuedSample> = Vec::new();
            let mut first_at: Option<Instant> = None;
            loop {
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let before = samples.len();
                let (w, more) = self.read_more(watcher, samples).await?;
                watcher = w;
                samples = more.0;
                let progressed = more.1;
                if samples.len() > before && first_at.is_none() {
                    first_at = Some(Instant::now());
                }
                if samples.len() >= q.capacity {
                    break;
                }
                if progressed {
                    continue;
                }
                let due = first_at.is_some_and(|f| f.elapsed() >= q.batch_send_deadline.as_duration());
                if samples.len() >= q.max_samples_per_send || due {
                    break;
                }
                if samples.is_empty()
                    && watcher.position() != done
                    && last_persist.elapsed() >= IDLE_PERSIST_EVERY
                {
                    done = watcher.position();
                    self.round_done(done, &hold).await?;
                    last_persist = Instant::now();
                }
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(self.options.poll_interval) => {}
                }
            }
            let end = watcher.position();
            let shards = shards_for(samples.len(), q.max_samples_per_send, q.min_shards, q.max_shards);
            self.persist(done, Some((end, shards))).await?;
            if !self.send_round(samples, shards, cancel, &hold).await {
                return Ok(());
            }
            done = end;
            self.round_done(done, &hold).await?;
            last_persist = Instant::now();
        }
    }

    /// Reads on from the watcher's position into `samples`.
    async fn read_more(
        &self,
        mut watcher: WalWatcher,
        mut samples: Vec<QueuedSample>,
    ) -> Result<(WalWatcher, (Vec<QueuedSample>, bool)), RemoteError> {
        let capacity = self.cfg.queue_config.capacity;
        watcher.min_t = self.min_t();
        let (watcher, r) = blocking(move || {
            let r = watcher.read(&mut samples, capacity, None);
            (watcher, r.map(|p| (samples, p)))
        })
        .await?;
        Ok((watcher, r?))
    }

    /// Reads exactly up to `until` (a round read again).
    async fn read_round(
        &self,
        mut watcher: WalWatcher,
        max: usize,
        until: Option<WalPosition>,
    ) -> Result<(WalWatcher, Vec<QueuedSample>), RemoteError> {
        watcher.min_t = self.min_t();
        let (watcher, r) = blocking(move || {
            let mut samples = Vec::new();
            let r = loop {
                match watcher.read(&mut samples, max, until) {
                    Ok(true) => continue,
                    Ok(false) => break Ok(samples),
                    Err(e) => break Err(e),
                }
            };
            (watcher, r)
        })
        .await?;
        Ok((watcher, r?))
    }

    fn min_t(&self) -> Option<i64> {
        let limit = self.cfg.queue_config.sample_age_limit.as_duration();
        if limit.is_zero() {
            return None;
        }
        Some(crate::model::now_millis() - limit.as_millis() as i64)
    }

    async fn persist(
        &self,
        done: WalPosition,
        in_flight: Option<(WalPosition, usize)>,
    ) -> Result<(), RemoteError> {
        let store = self.store.clone();
        blocking(move || store.store(&SavedPosition { done, in_flight })).await?
    }

    async fn round_done(&self, done: WalPosition, hold: &Mutex<Hold>) -> Result<(), RemoteError> {
        self.persist(done, None).await?;
        self.wal.holds.hold(&self.cfg.name, done.segment);
        let mut h = hold.lock();
        if h.released {
            tracing::info!(remote = %self.cfg.name, "remote storage accepts samples again; holding the wal from here");
        }
        h.released = false;
        h.last_success = Instant::now();
        Ok(())
    }

    /// Sends a round; false when cancelled before every batch was settled.
    async fn send_round(
        &self,
        samples: Vec<QueuedSample>,
        shards: usize,
        cancel: &CancellationToken,
        hold: &Mutex<Hold>,
    ) -> bool {
        let m = &self.metrics;
        m.pending.set(samples.len() as f64);
        m.shards.set(shards as f64);
        let per_shard = shard_batches(samples, shards, self.cfg.queue_config.max_samples_per_send);
        let sends = per_shard.into_iter().map(|batches| async move {
            for batch in batches {
                let n = batch.samples.len() as u64;
                let highest = batch.samples.iter().map(|s| s.t).max().unwrap_or(i64::MIN);
                let body = match encode_batch(&batch.samples) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::error!(remote = %self.cfg.name, error = %e, "cannot encode a batch; dropping it");
                        m.samples_failed.add(n);
                        m.pending.add(-(n as f64));
                        continue;
                    }
                };
                let len = body.len() as u64;
                let started = Instant::now();
                let result = self
                    .sender
                    .send(body, cancel, || {
                        m.samples_retried.add(n);
                        self.check_hold(hold);
                    })
                    .await;
                m.batch_seconds_sum.add(started.elapsed().as_secs_f64());
                m.batch_seconds_count.inc();
                match result {
                    SendResult::Accepted => {
                        m.samples.add(n);
                        m.bytes.add(len);
                        let secs = highest as f64 / 1000.0;
                        if secs > m.highest_sent.get() {
                            m.highest_sent.set(secs);
                        }
                    }
                    SendResult::Refused { .. } => m.samples_failed.add(n),
                    SendResult::Cancelled => return false,
                }
                m.pending.add(-(n as f64));
            }
            true
        });
        let settled = join_all(sends).await.into_iter().all(|ok| ok);
        if !settled {
            m.pending.set(0.0);
        }
        settled
    }

    /// Stops holding the WAL once sends have failed for longer than the
    /// limit, or the held segments pass the size limit, so a remote that
    /// stays down cannot fill the disk.
    fn check_hold(&self, hold: &Mutex<Hold>) {
        let mut h = hold.lock();
        if h.released {
            return;
        }
        let too_long = h.last_success.elapsed() > self.options.max_hold_time;
        let check_size = h
            .last_size_check
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10));
        let too_big = check_size && {
            h.last_size_check = Some(Instant::now());
            self.held_bytes() > self.options.max_hold_bytes
        };
        if !(too_long || too_big) {
            return;
        }
        h.released = true;
        self.wal.holds.release(&self.cfg.name);
        self.metrics.holds_released.inc();
        tracing::warn!(
            remote = %self.cfg.name, url = %self.cfg.url,
            failing_for = ?h.last_success.elapsed(), too_big,
            "remote storage has failed past the hold limit; the wal is no longer kept for it and samples may be lost"
        );
    }

    /// Bytes of the WAL segments from the one this queue reads.
    fn held_bytes(&self) -> u64 {
        let from = self.metrics.segment.get() as u32;
        segment_bytes_from(&self.wal.dir, from).unwrap_or(0)
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, RemoteError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RemoteError::Task(e.to_string()))
}
