//! Sending metric metadata (`# TYPE`, `# HELP`, `# UNIT` as last scraped)
//! every `metadata_config.send_interval`, in requests of at most
//! `max_samples_per_send` entries, retried like samples.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::metrics::QueueMetrics;
use super::sender::{SendResult, Sender};
use crate::config::MetadataConfig;
use crate::model::MetricType;
use crate::prompb;

/// What one metric family is, as a scrape said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataEntry {
    pub family: String,
    pub kind: MetricType,
    pub help: String,
    pub unit: String,
}

/// Where metadata comes from (the scrape manager, wired by the binary).
pub trait MetadataSource: Send + Sync {
    fn metadata(&self) -> Vec<MetadataEntry>;
}

pub(super) async fn run(
    cfg: MetadataConfig,
    source: Arc<dyn MetadataSource>,
    sender: Arc<Sender>,
    metrics: Arc<QueueMetrics>,
    cancel: CancellationToken,
) {
    let mut every = tokio::time::interval(cfg.send_interval.as_duration());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = every.tick() => {}
        }
        let entries = source.metadata();
        for chunk in entries.chunks(cfg.max_samples_per_send.max(1)) {
            let Some(body) = encode_metadata(chunk) else {
                metrics.metadata_failed.add(chunk.len() as u64);
                continue;
            };
            let n = chunk.len() as u64;
            let len = body.len() as u64;
            let started = Instant::now();
            let result = sender
                .send(body, &cancel, || metrics.metadata_retried.add(n))
                .await;
            tracing::debug!(entries = n, took = ?started.elapsed(), ?result, "metadata sent");
            match result {
                SendResult::Accepted => {
                    metrics.metadata.add(n);
                    metrics.metadata_bytes.add(len);
                }
                SendResult::Refused { .. } => metrics.metadata_failed.add(n),
                SendResult::Cancelled => return,
            }
        }
    }
}

pub fn encode_metadata(entries: &[MetadataEntry]) -> Option<Bytes> {
    let req = prompb::WriteRequest {
        timeseries: Vec::new(),
        metadata: entries
            .iter()
            .map(|e| prompb::MetricMetadata {
                r#type: e.kind.remote_write_code(),
                metric_family_name: e.family.as_bytes().to_vec(),
                help: e.help.as_bytes().to_vec(),
                unit: e.unit.as_bytes().to_vec(),
            })
            .collect(),
    };
    prompb::encode_snappy(&req).ok().map(Bytes::from)
}
