//! Starting and stopping the configured listeners. Each binds its UDP
//! socket and TCP listener on its address before anything runs, so a port
//! in use fails the start with the key to change; stopping ends the
//! sockets, lets every connection hand over what it read, and waits until
//! the queues are stored — before the store closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::metrics::ListenerMetrics;
use super::protocol::Protocol;
use super::queue::{IngestQueue, QUEUE_BYTES, QueueOptions};
use super::tcp::{TcpOptions, serve_tcp};
use super::udp::{UdpOptions, serve_udp};
use crate::config::{LogsConfig, Transport};
use crate::logs::LogStore;
use crate::logs::ingest::gelf::{ChunkAssembler, ChunkLimits};
use crate::selfmetrics::Registry;

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("{key}: cannot listen on {transport} {addr}: {source}")]
    Bind {
        key: &'static str,
        transport: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{key}: {message}")]
    Config { key: &'static str, message: String },
    #[error("cannot start the {0} ingest thread: {1}")]
    Thread(&'static str, std::io::Error),
}

/// What one listener needs, whichever protocol it speaks.
struct Plan {
    protocol: Protocol,
    key: &'static str,
    listen: Result<SocketAddr, String>,
    transports: Vec<Transport>,
    max_message_bytes: usize,
    max_connections: usize,
    idle_timeout: Duration,
    chunk_limits: ChunkLimits,
}

/// The running listeners.
pub struct Listeners {
    stop: CancellationToken,
    queues: Vec<IngestQueue>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Bound addresses, by source and transport (a configured port 0
    /// becomes a real one).
    addrs: Vec<(&'static str, Transport, SocketAddr)>,
}

impl Listeners {
    /// Binds and starts every listener `config` names. Call inside the
    /// tokio runtime.
    pub async fn start(
        config: &LogsConfig,
        store: Arc<LogStore>,
        registry: &Registry,
    ) -> Result<Listeners, ListenerError> {
        let usize_of = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let mut plans = Vec::new();
        if let Some(g) = &config.gelf {
            plans.push(Plan {
                protocol: Protocol::Gelf,
                key: "logs.gelf",
                listen: g.listen_addr(),
                transports: g.protocols.clone(),
                max_message_bytes: usize_of(g.max_message_bytes.0),
                max_connections: usize_of(g.max_connections),
                idle_timeout: g.idle_timeout.0,
                chunk_limits: ChunkLimits {
                    timeout_ns: i64::try_from(g.chunk_timeout.0.as_nanos()).unwrap_or(i64::MAX),
                    max_bytes: usize_of(g.max_chunk_bytes.0),
                },
            });
        }
        if let Some(s) = &config.syslog {
            plans.push(Plan {
                protocol: Protocol::Syslog,
                key: "logs.syslog",
                listen: s.listen_addr(),
                transports: s.protocols.clone(),
                max_message_bytes: usize_of(s.max_message_bytes.0),
                max_connections: usize_of(s.max_connections),
                idle_timeout: s.idle_timeout.0,
                chunk_limits: ChunkLimits::default(),
            });
        }
        let metrics = Arc::new(ListenerMetrics::new(registry));
        let mut listeners = Listeners {
            stop: CancellationToken::new(),
            queues: Vec::new(),
            tasks: Vec::new(),
            addrs: Vec::new(),
        };
        let max_batch = usize_of(config.limits.max_batch_lines);
        for plan in plans {
            if let Err(e) = listeners
                .start_one(plan, max_batch, &store, &metrics, registry)
                .await
            {
                listeners.stop().await;
                return Err(e);
            }
        }
        Ok(listeners)
    }

    async fn start_one(
        &mut self,
        plan: Plan,
        max_batch: usize,
        store: &Arc<LogStore>,
        metrics: &Arc<ListenerMetrics>,
        registry: &Registry,
    ) -> Result<(), ListenerError> {
        let key = plan.key;
        let addr = plan
            .listen
            .map_err(|message| ListenerError::Config { key, message })?;
        let bind_error = |transport, source| ListenerError::Bind {
            key,
            transport,
            addr,
            source,
        };
        // Both sockets first, so a port in use starts nothing.
        let udp = if plan.transports.contains(&Transport::Udp) {
            Some(
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .map_err(|e| bind_error("udp", e))?,
            )
        } else {
            None
        };
        let tcp = if plan.transports.contains(&Transport::Tcp) {
            Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| bind_error("tcp", e))?,
            )
        } else {
            None
        };
        let source = plan.protocol.source();
        let (queue, sender) = IngestQueue::start(
            QueueOptions {
                protocol: plan.protocol,
                max_message_bytes: plan.max_message_bytes,
                max_batch,
                queue_bytes: QUEUE_BYTES,
            },
            store.clone(),
            metrics.clone(),
        )
        .map_err(|e| ListenerError::Thread(source, e))?;
        self.queues.push(queue);
        if let Some(socket) = udp {
            let local = socket.local_addr().unwrap_or(addr);
            self.addrs.push((source, Transport::Udp, local));
            let assembler =
                (plan.protocol == Protocol::Gelf).then(|| ChunkAssembler::new(plan.chunk_limits, registry));
            let opts = UdpOptions {
                protocol: plan.protocol,
                assembler,
            };
            self.tasks.push(tokio::spawn(serve_udp(
                socket,
                opts,
                sender.clone(),
                store.clone(),
                metrics.clone(),
                self.stop.clone(),
            )));
        }
        if let Some(listener) = tcp {
            let local = listener.local_addr().unwrap_or(addr);
            self.addrs.push((source, Transport::Tcp, local));
            let opts = Arc::new(TcpOptions {
                protocol: plan.protocol,
                max_frame: plan.max_message_bytes,
                max_connections: plan.max_connections,
                idle_timeout: plan.idle_timeout,
            });
            self.tasks.push(tokio::spawn(serve_tcp(
                listener,
                opts,
                sender,
                store.clone(),
                metrics.clone(),
                self.stop.clone(),
            )));
        }
        for (s, t, a) in self.addrs.iter().filter(|(s, _, _)| *s == source) {
            tracing::info!(source = s, transport = super::protocol::transport_name(*t), address = %a, "log listener started");
        }
        Ok(())
    }

    /// Where each listener listens: `(source, transport, address)`.
    pub fn addresses(&self) -> &[(&'static str, Transport, SocketAddr)] {
        &self.addrs
    }

    /// Stops accepting and reading, then waits until every message read
    /// is in the store.
    pub async fn stop(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        // Connection tasks hold the queues' senders; each queue's thread
        // ends once the last one is gone and its queue is stored.
        let queues = self.queues;
        let joined = tokio::task::spawn_blocking(move || {
            for q in queues {
                q.join();
            }
        })
        .await;
        if joined.is_err() {
            tracing::error!("the log listeners' stop task failed");
        }
    }
}
