//! One listener's ingest queue: sockets put raw messages in, a thread
//! takes whatever has gathered, decodes it and writes it to the store as
//! one batch — one fsync for many datagrams. The queue is bounded in
//! bytes: UDP messages that do not fit are dropped and counted (UDP has no
//! way to slow a sender), TCP readers wait, which slows their senders
//! through TCP's own flow control. When the index is behind, UDP messages
//! are dropped and counted and TCP ones retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::selfmetrics::Counter;

use super::metrics::ListenerMetrics;
use super::protocol::{Protocol, Refused};
use crate::config::Transport;
use crate::logs::{Entry, LogStore, LogsError};

/// Bytes the queue holds at most (at least two of the largest messages).
pub const QUEUE_BYTES: usize = 32 << 20;
/// Most messages written in one batch.
const MAX_BATCH: usize = 4096;
/// How long the batch thread waits before retrying TCP messages the
/// store refused for backpressure, at most: the index may catch up
/// sooner than the `Retry-After` the store suggests to HTTP senders.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(1);

struct Message {
    transport: Transport,
    bytes: Vec<u8>,
    /// Its bytes' share of the queue, given back once it is decoded.
    _permit: OwnedSemaphorePermit,
}

/// The sockets' end of the queue; cloned into every socket task. The
/// thread ends once every clone is dropped and the queue is drained.
#[derive(Clone)]
pub struct QueueSender {
    tx: mpsc::UnboundedSender<Message>,
    room: Arc<Semaphore>,
    max_message: usize,
    /// `belfry_logs_dropped_total{source, reason="queue_full"}`, looked up once.
    queue_full: Arc<Counter>,
    /// `belfry_logs_dropped_total{source, reason="store_error"}`.
    closed: Arc<Counter>,
}

impl QueueSender {
    /// A UDP message: queued if there is room, else dropped and counted.
    pub fn offer(&self, bytes: Vec<u8>) {
        let Some(n) = self.permits(bytes.len()) else {
            return;
        };
        match self.room.clone().try_acquire_many_owned(n) {
            Ok(permit) => self.send(Transport::Udp, bytes, permit),
            Err(_) => self.queue_full.inc(),
        }
    }

    /// A TCP message: waits for room.
    pub async fn put(&self, bytes: Vec<u8>) {
        let Some(n) = self.permits(bytes.len()) else {
            return;
        };
        if let Ok(permit) = self.room.clone().acquire_many_owned(n).await {
            self.send(Transport::Tcp, bytes, permit);
        }
    }

    fn permits(&self, len: usize) -> Option<u32> {
        // Framers and the chunk assembler bound messages already; this
        // only guards the conversion.
        let len = len.min(self.max_message).max(1);
        u32::try_from(len).ok()
    }

    fn send(&self, transport: Transport, bytes: Vec<u8>, permit: OwnedSemaphorePermit) {
        let message = Message {
            transport,
            bytes,
            _permit: permit,
        };
        if self.tx.send(message).is_err() {
            self.closed.inc();
        }
    }
}

/// The batch thread and what it needs.
pub struct IngestQueue {
    thread: Option<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
}

pub struct QueueOptions {
    pub protocol: Protocol,
    pub max_message_bytes: usize,
    pub max_batch: usize,
    /// [`QUEUE_BYTES`] but in tests.
    pub queue_bytes: usize,
}

impl IngestQueue {
    pub fn start(
        opts: QueueOptions,
        store: Arc<LogStore>,
        metrics: Arc<ListenerMetrics>,
    ) -> std::io::Result<(IngestQueue, QueueSender)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let capacity = opts.queue_bytes.max(2 * opts.max_message_bytes);
        let room = Arc::new(Semaphore::new(capacity.min(Semaphore::MAX_PERMITS)));
        let source = opts.protocol.source();
        let sender = QueueSender {
            tx,
            room,
            max_message: capacity / 2,
            queue_full: metrics.dropped.with(&[source, "queue_full"]),
            closed: metrics.dropped.with(&[source, "store_error"]),
        };
        let stopping = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            opts,
            store,
            metrics,
            stopping: stopping.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("logs-{}", worker.opts.protocol.source()))
            .spawn(move || worker.run(rx))?;
        Ok((
            IngestQueue {
                thread: Some(thread),
                stopping,
            },
            sender,
        ))
    }

    /// Waits until every sender is gone and what they queued is stored.
    /// Blocks: call it off the async executor.
    pub fn join(mut self) {
        self.stopping.store(true, Ordering::Release);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("a log listener's ingest thread panicked");
        }
    }
}

struct Worker {
    opts: QueueOptions,
    store: Arc<LogStore>,
    metrics: Arc<ListenerMetrics>,
    stopping: Arc<AtomicBool>,
}

impl Worker {
    fn run(self, mut rx: mpsc::UnboundedReceiver<Message>) {
        let max_batch = self.opts.max_batch.clamp(1, MAX_BATCH);
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            self.write(batch);
        }
    }

    fn write(&self, batch: Vec<Message>) {
        let source = self.opts.protocol.source();
        let now_ns = now_ns();
        let mut entries = Vec::with_capacity(batch.len());
        let mut transports = Vec::with_capacity(batch.len());
        for m in batch {
            match self
                .opts
                .protocol
                .decode(&m.bytes, self.opts.max_message_bytes, now_ns)
            {
                Ok(e) => {
                    entries.push(e);
                    transports.push(m.transport);
                }
                Err(Refused { reason, message }) => {
                    self.store.count_rejected(reason, 1);
                    tracing::debug!(source, reason, error = %message, "log message refused");
                }
            }
        }
        self.store_entries(entries, transports);
    }

    /// Writes, retrying TCP messages while the index is behind.
    fn store_entries(&self, mut entries: Vec<Entry>, mut transports: Vec<Transport>) {
        let source = self.opts.protocol.source();
        while !entries.is_empty() {
            // What is retried if the store refuses for backpressure: the
            // TCP messages only.
            let retry: Vec<Entry> = entries
                .iter()
                .zip(&transports)
                .filter(|(_, t)| **t == Transport::Tcp)
                .map(|(e, _)| e.clone())
                .collect();
            let n_udp = entries.len() - retry.len();
            match self.store.ingest(source, entries) {
                Ok(report) => {
                    for (_, reason) in &report.rejected {
                        tracing::debug!(source, reason = %reason, "log message refused by the store");
                    }
                    return;
                }
                Err(LogsError::Backpressure { retry_after_secs, .. }) => {
                    self.drop_count("backpressure", n_udp);
                    if retry.is_empty() {
                        return;
                    }
                    if self.stopping.load(Ordering::Acquire) {
                        // Shutting down: one more try after a pause, then
                        // the messages are given up and counted.
                        std::thread::sleep(Duration::from_secs(retry_after_secs).min(MAX_RETRY_WAIT));
                        let n = retry.len();
                        if let Err(e) = self.store.ingest(source, retry) {
                            tracing::warn!(source, error = %e, "cannot store log messages at shutdown");
                            self.drop_count("backpressure", n);
                        }
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(retry_after_secs).min(MAX_RETRY_WAIT));
                    transports = vec![Transport::Tcp; retry.len()];
                    entries = retry;
                }
                Err(e) => {
                    tracing::error!(source, error = %e, "cannot store log messages; they are dropped");
                    self.drop_count("store_error", n_udp + retry.len());
                    return;
                }
            }
        }
    }

    fn drop_count(&self, reason: &str, n: usize) {
        if n > 0 {
            self.metrics
                .dropped
                .with(&[self.opts.protocol.source(), reason])
                .add(n as u64);
        }
    }
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogStoreOptions;
    use crate::logs::index::{ReadBudget, SearchQuery};
    use crate::selfmetrics::Registry;

    fn messages(store: &LogStore) -> Vec<String> {
        let q = SearchQuery {
            text: String::new(),
            start_ns: 0,
            end_ns: i64::MAX,
            filters: Vec::new(),
            limit: 100,
            offset: 0,
            buckets: 1,
        };
        let mut m: Vec<String> = store
            .search(&q, &ReadBudget::unlimited())
            .unwrap()
            .lines
            .into_iter()
            .map(|l| l.message)
            .collect();
        m.sort();
        m
    }

    fn syslog(text: &str) -> Vec<u8> {
        format!("<14>1 - lms-1 app - - - {text}").into_bytes()
    }

    /// While the index is behind, UDP messages are dropped and counted
    /// and TCP ones wait and are stored once it catches up; while the
    /// queue is full, UDP messages are dropped and counted; what was
    /// queued is stored before `join` returns.
    #[test]
    fn udp_drops_and_tcp_waits_under_backpressure_and_a_full_queue() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new();
        let store = Arc::new(
            LogStore::open(
                dir.path(),
                LogStoreOptions {
                    commit_interval: Duration::from_secs(3600),
                    retention_interval: None,
                    max_pending_bytes: 4096,
                    ..LogStoreOptions::default()
                },
                &registry,
            )
            .unwrap(),
        );
        let metrics = Arc::new(ListenerMetrics::new(&registry));
        let (queue, sender) = IngestQueue::start(
            QueueOptions {
                protocol: Protocol::Syslog,
                max_message_bytes: 100,
                max_batch: 1000,
                queue_bytes: 300,
            },
            store.clone(),
            metrics.clone(),
        )
        .unwrap();
        let dropped = |reason: &str| metrics.dropped.with(&["syslog", reason]).get();
        // The index is behind: most of max_pending_bytes waits.
        let big = Entry {
            line: "x".repeat(4000),
            ..Entry::default()
        };
        store.ingest("test", vec![big]).unwrap();

        sender.offer(syslog("udp while behind"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while dropped("backpressure") == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the udp message was not dropped"
            );
            std::thread::sleep(Duration::from_millis(20));
        }

        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(sender.put(syslog("tcp waits")));
        // Once the writer has taken the TCP message (its bytes are given
        // back), it retries it while the queue fills.
        while sender.room.available_permits() < 300 {
            assert!(
                std::time::Instant::now() < deadline,
                "the tcp message was not taken"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        for i in 0..10 {
            sender.offer(syslog(&format!("udp {i} {}", "p".repeat(60))));
        }
        let full = dropped("queue_full");
        assert!((1..10).contains(&full), "{full} of 10 dropped for a full queue");

        store.flush().unwrap();
        drop(sender);
        queue.join();
        store.flush().unwrap();
        let stored = messages(&store);
        assert!(stored.contains(&"tcp waits".to_string()), "{stored:?}");
        assert!(!stored.contains(&"udp while behind".to_string()));
        let udp = stored.iter().filter(|m| m.starts_with("udp ")).count() as u64;
        assert_eq!(udp + full, 10, "{stored:?}");
        assert_eq!(dropped("backpressure"), 1);
    }
}
