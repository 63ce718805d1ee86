//! The queues of the `remote_write` section: built from the configuration,
//! replaced on reload when their entry (or the external labels) changed —
//! the new queue waits for the old one to stop, then resumes from the
//! persisted position — and stopped at shutdown. Reload is two steps like
//! scraping's: `prepare` builds every changed queue's HTTP client (TLS
//! files, headers) without touching what runs, `install` swaps them in.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::RemoteError;
pub use super::metadata::{MetadataEntry, MetadataSource};
use super::metrics::RemoteMetrics;
use super::position::PositionStore;
use super::queue::Queue;
use super::sender::Sender;
use super::watcher::SeriesLookup;
use crate::config::{Config, RemoteWriteConfig};
use crate::model::{Label, Labels};
use crate::selfmetrics::Registry;
use crate::tsdb::wal::WalHolds;

/// What the queues need of the store.
#[derive(Clone)]
pub struct WalAccess {
    pub dir: PathBuf,
    pub holds: Arc<WalHolds>,
    pub lookup: SeriesLookup,
}

#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// Position files go in `remote_write/` under this directory.
    pub data_dir: PathBuf,
    /// A remote failing for longer than this stops holding the WAL.
    pub max_hold_time: Duration,
    /// A remote whose unsent WAL segments pass this size stops holding them.
    pub max_hold_bytes: u64,
    /// How often an idle queue looks for new WAL records.
    pub poll_interval: Duration,
}

impl RemoteOptions {
    pub fn new(data_dir: PathBuf) -> Self {
        RemoteOptions {
            data_dir,
            max_hold_time: Duration::from_secs(6 * 3600),
            max_hold_bytes: 8 << 30,
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// What a queue runs from; a change restarts it.
#[derive(Clone, PartialEq)]
struct Spec {
    cfg: RemoteWriteConfig,
    external: Labels,
}

struct Running {
    spec: Spec,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// Queues built by [`RemoteManager::prepare`], not yet running.
pub struct PreparedRemote {
    specs: Vec<(Spec, Option<Arc<Sender>>)>,
}

pub struct RemoteManager {
    wal: WalAccess,
    metadata: Option<Arc<dyn MetadataSource>>,
    metrics: RemoteMetrics,
    options: RemoteOptions,
    runtime: tokio::runtime::Handle,
    running: Mutex<HashMap<String, Running>>,
}

impl RemoteManager {
    /// Must be called within a tokio runtime, which runs the queues.
    pub fn new(
        wal: WalAccess,
        metadata: Option<Arc<dyn MetadataSource>>,
        registry: &Registry,
        options: RemoteOptions,
    ) -> Arc<RemoteManager> {
        Arc::new(RemoteManager {
            wal,
            metadata,
            metrics: RemoteMetrics::new(registry),
            options,
            runtime: tokio::runtime::Handle::current(),
            running: Mutex::new(HashMap::new()),
        })
    }

    /// Builds the HTTP client of every entry, as a start would, without
    /// starting anything (`belfry check config`).
    pub fn check_config(config: &Config) -> Result<(), RemoteError> {
        for rw in &config.remote_write {
            Sender::new(rw)?;
        }
        Ok(())
    }

    /// Builds the senders of new and changed entries.
    pub fn prepare(&self, config: &Config) -> Result<PreparedRemote, RemoteError> {
        let external = external_labels(config);
        let running = self.running.lock();
        let mut specs = Vec::new();
        for rw in &config.remote_write {
            let spec = Spec {
                cfg: rw.clone(),
                external: external.clone(),
            };
            let unchanged = running.get(&rw.name).is_some_and(|r| r.spec == spec);
            let sender = if unchanged {
                None
            } else {
                Some(Arc::new(Sender::new(rw)?))
            };
            specs.push((spec, sender));
        }
        Ok(PreparedRemote { specs })
    }

    /// Stops removed and changed queues and starts new and changed ones.
    pub fn install(&self, prepared: PreparedRemote) -> Result<(), RemoteError> {
        let mut running = self.running.lock();
        let wanted: Vec<&str> = prepared.specs.iter().map(|(s, _)| s.cfg.name.as_str()).collect();
        let removed: Vec<String> = running
            .keys()
            .filter(|n| !wanted.contains(&n.as_str()))
            .cloned()
            .collect();
        for name in removed {
            if let Some(r) = running.remove(&name) {
                r.cancel.cancel();
                // Its position stays on disk for a later return; the WAL
                // is no longer held for it.
                tracing::info!(remote = %name, "remote write queue removed");
                let holds = self.wal.holds.clone();
                self.runtime.spawn(async move {
                    let _ = r.task.await;
                    holds.release(&name);
                });
            }
        }
        for (spec, sender) in prepared.specs {
            let Some(sender) = sender else { continue };
            let name = spec.cfg.name.clone();
            let previous = running.remove(&name).map(|r| {
                r.cancel.cancel();
                r.task
            });
            let store = Arc::new(PositionStore::new(
                &self.options.data_dir.join("remote_write"),
                &name,
            )?);
            let cancel = CancellationToken::new();
            let metrics = Arc::new(self.metrics.queue(&name, &spec.cfg.url));
            if spec.cfg.metadata_config.send
                && let Some(source) = &self.metadata
            {
                self.runtime.spawn(super::metadata::run(
                    spec.cfg.metadata_config.clone(),
                    source.clone(),
                    sender.clone(),
                    metrics.clone(),
                    cancel.clone(),
                ));
            }
            let queue = Queue {
                cfg: spec.cfg.clone(),
                external: spec.external.clone(),
                sender,
                store,
                wal: self.wal.clone(),
                metrics,
                options: self.options.clone(),
                created_ms: crate::model::now_millis(),
            };
            let run_cancel = cancel.clone();
            let task = self.runtime.spawn(async move {
                // One queue per position file at a time.
                if let Some(p) = previous {
                    let _ = p.await;
                }
                queue.run(run_cancel).await;
            });
            running.insert(name, Running { spec, cancel, task });
        }
        let live: Vec<(String, String)> = running
            .values()
            .map(|r| (r.spec.cfg.name.clone(), r.spec.cfg.url.clone()))
            .collect();
        self.metrics
            .retain_queues(|name, url| live.iter().any(|(n, u)| n == name && u == url));
        Ok(())
    }

    /// `prepare` then `install`.
    pub fn apply_config(&self, config: &Config) -> Result<(), RemoteError> {
        let prepared = self.prepare(config)?;
        self.install(prepared)
    }

    /// Stops every queue (a round in flight is sent again at the next
    /// start) and waits for them; their WAL holds stay for the store's
    /// final checkpoint.
    pub async fn stop(&self) {
        let all: Vec<Running> = self.running.lock().drain().map(|(_, r)| r).collect();
        for r in &all {
            r.cancel.cancel();
        }
        for r in all {
            let _ = r.task.await;
        }
    }
}

fn external_labels(config: &Config) -> Labels {
    Labels::new(
        config
            .external_labels()
            .iter()
            .map(|(k, v)| Label::new(k, v))
            .collect(),
    )
}
