//! What the listeners count: messages read, dropped (with why),
//! connections open, refused and closed for idleness.

use std::sync::Arc;

use crate::selfmetrics::{CounterVec, GaugeVec, Registry};

pub struct ListenerMetrics {
    /// `{source, transport}`: messages (datagrams, frames) read.
    pub received: Arc<CounterVec>,
    /// `{source, reason}`.
    pub dropped: Arc<CounterVec>,
    /// `{source}`.
    pub connections: Arc<GaugeVec>,
    /// `{source}`.
    pub connections_refused: Arc<CounterVec>,
    /// `{source}`.
    pub idle_closed: Arc<CounterVec>,
}

impl ListenerMetrics {
    pub fn new(r: &Registry) -> Self {
        ListenerMetrics {
            received: r.counter_vec(
                "belfry_logs_listener_messages_total",
                "Messages the GELF and syslog listeners read (UDP datagrams, whole chunked GELF messages, \
                 TCP frames), by source and transport, before decoding.",
                &["source", "transport"],
            ),
            dropped: r.counter_vec(
                "belfry_logs_dropped_total",
                "Log messages a listener read but did not store: reason is queue_full (UDP while the \
                 ingest queue is full), backpressure (UDP while the index is behind), store_error, or \
                 udp_receive_buffer (datagrams the kernel dropped before the listener read them).",
                &["source", "reason"],
            ),
            connections: r.gauge_vec(
                "belfry_logs_listener_connections",
                "Open TCP connections of a log listener.",
                &["source"],
            ),
            connections_refused: r.counter_vec(
                "belfry_logs_listener_connections_refused_total",
                "TCP connections a log listener closed at once because max_connections were open.",
                &["source"],
            ),
            idle_closed: r.counter_vec(
                "belfry_logs_listener_idle_closed_total",
                "TCP connections a log listener closed after idle_timeout without data.",
                &["source"],
            ),
        }
    }
}
