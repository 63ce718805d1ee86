//! A listener's TCP side: connections up to `max_connections` (more are
//! closed at once and counted), each read into its protocol's framer and
//! closed after `idle_timeout` of silence. Nothing is acknowledged — GELF
//! and syslog over TCP have no acknowledgement — but a connection that
//! closes cleanly hands over its last, unterminated message too.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::metrics::ListenerMetrics;
use super::protocol::{Protocol, Refused};
use super::queue::QueueSender;
use crate::logs::LogStore;

const READ_BUFFER: usize = 64 << 10;

pub struct TcpOptions {
    pub protocol: Protocol,
    pub max_frame: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// Accepts until `stop`; each connection then ends at its next read.
pub async fn serve_tcp(
    listener: TcpListener,
    opts: Arc<TcpOptions>,
    queue: QueueSender,
    store: Arc<LogStore>,
    metrics: Arc<ListenerMetrics>,
    stop: CancellationToken,
) {
    let source = opts.protocol.source();
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(source, error = %e, "cannot accept a log connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if open.load(Ordering::Acquire) >= opts.max_connections {
            metrics.connections_refused.with(&[source]).inc();
            tracing::warn!(source, %peer, limit = opts.max_connections, "log connection refused: too many open");
            drop(stream);
            continue;
        }
        let connection = Connection {
            open: OpenGuard::new(open.clone(), metrics.clone(), source),
            received: metrics.received.with(&[source, "tcp"]),
            opts: opts.clone(),
            queue: queue.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
        };
        tokio::spawn(connection.run(stream, stop.clone()));
    }
}

/// Counts a connection open for as long as it lives.
struct OpenGuard {
    open: Arc<AtomicUsize>,
    metrics: Arc<ListenerMetrics>,
    source: &'static str,
}

impl OpenGuard {
    fn new(open: Arc<AtomicUsize>, metrics: Arc<ListenerMetrics>, source: &'static str) -> Self {
        open.fetch_add(1, Ordering::AcqRel);
        metrics.connections.with(&[source]).add(1.0);
        OpenGuard {
            open,
            metrics,
            source,
        }
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.metrics.connections.with(&[self.source]).add(-1.0);
    }
}

struct Connection {
    open: OpenGuard,
    /// `belfry_logs_listener_messages_total{source, transport="tcp"}`.
    received: Arc<crate::selfmetrics::Counter>,
    opts: Arc<TcpOptions>,
    queue: QueueSender,
    store: Arc<LogStore>,
    metrics: Arc<ListenerMetrics>,
}

impl Connection {
    async fn run(self, mut stream: TcpStream, stop: CancellationToken) {
        let source = self.opts.protocol.source();
        let mut framer = self.opts.protocol.framer(self.opts.max_frame);
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let read = tokio::select! {
                () = stop.cancelled() => break,
                r = tokio::time::timeout(self.opts.idle_timeout, stream.read(&mut buf)) => r,
            };
            let n = match read {
                Err(_) => {
                    self.metrics.idle_closed.with(&[source]).inc();
                    break;
                }
                Ok(Err(e)) => {
                    tracing::debug!(source, error = %e, "log connection failed");
                    break;
                }
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => n,
            };
            for frame in framer.push(&buf[..n]) {
                self.hand_over(frame).await;
            }
        }
        if let Some(last) = framer.finish() {
            self.hand_over(last).await;
        }
        drop(self.open);
    }

    async fn hand_over(&self, frame: Result<Vec<u8>, Refused>) {
        let source = self.opts.protocol.source();
        match frame {
            Ok(bytes) => {
                self.received.inc();
                self.queue.put(bytes).await;
            }
            Err(Refused { reason, message }) => {
                self.store.count_rejected(reason, 1);
                tracing::debug!(source, reason, error = %message, "log frame refused");
            }
        }
    }
}
