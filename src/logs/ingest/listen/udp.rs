//! A listener's UDP side: one message per datagram (GELF's chunks are
//! put back together first); nothing waits on the store here, so a full
//! queue drops the datagram and counts it. Once a second the datagrams the
//! kernel dropped for a full receive buffer are counted too.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::metrics::ListenerMetrics;
use super::protocol::Protocol;
use super::queue::{QueueSender, now_ns};
use super::udp_drops::KernelDrops;
use crate::logs::LogStore;
use crate::logs::ingest::gelf::ChunkAssembler;

/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// How often incomplete GELF messages are checked for expiry when no
/// datagram arrives to do it.
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

pub struct UdpOptions {
    pub protocol: Protocol,
    /// GELF's chunks, put back together.
    pub assembler: Option<ChunkAssembler>,
}

pub async fn serve_udp(
    socket: UdpSocket,
    opts: UdpOptions,
    queue: QueueSender,
    store: Arc<LogStore>,
    metrics: Arc<ListenerMetrics>,
    stop: CancellationToken,
) {
    let source = opts.protocol.source();
    let mut assembler = opts.assembler;
    // Looked up once: a label lookup per datagram costs more than the rest.
    let received = metrics.received.with(&[source, "udp"]);
    let overflowed = metrics.dropped.with(&[source, "udp_receive_buffer"]);
    let mut kernel_drops = KernelDrops::of(&socket);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut tick = tokio::time::interval(EXPIRE_EVERY);
    loop {
        let result = tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Some(a) = assembler.as_mut() {
                    a.expire(now_ns());
                }
                if let Some(k) = kernel_drops.as_mut() {
                    overflowed.add(k.new_drops().await);
                }
                continue;
            }
            r = socket.recv_from(&mut buf) => r,
        };
        let n = match result {
            Ok((n, _)) => n,
            Err(e) => {
                // An ICMP error of an earlier send and the like: not fatal.
                tracing::debug!(source, error = %e, "log datagram receive failed");
                continue;
            }
        };
        let datagram = &buf[..n];
        let message = match assembler.as_mut() {
            None => Some(datagram.to_vec()),
            Some(a) => match a.accept(datagram, now_ns()) {
                Ok(whole) => whole,
                Err(e) => {
                    store.count_rejected("malformed", 1);
                    tracing::debug!(source, error = %e, "gelf chunk refused");
                    None
                }
            },
        };
        if let Some(message) = message {
            received.inc();
            queue.offer(message);
        }
    }
}
