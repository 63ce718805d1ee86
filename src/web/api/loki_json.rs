//! Loki's JSON shapes: streams with `[ns string, line]` values, matrix
//! and vector samples as `[seconds, "value"]`, and the `stats` object.

use serde_json::{Value, json};

use crate::logql::{ExecStats, QueryData, Stream};
use crate::model::Labels;
use crate::promql::format_float;

pub fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.clone(), Value::String(x.value.clone())))
            .collect(),
    )
}

/// Seconds as Loki writes sample times: a number with millisecond precision.
fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

pub fn streams_json(streams: &[Stream]) -> Value {
    Value::Array(
        streams
            .iter()
            .map(|s| {
                json!({
                    "stream": labels_json(&s.labels),
                    "values": s.entries.iter().map(|(ts, line)| json!([ts.to_string(), line])).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

pub fn result_json(data: &QueryData) -> (&'static str, Value) {
    match data {
        QueryData::Streams(s) => ("streams", streams_json(s)),
        QueryData::Matrix(m) => (
            "matrix",
            Value::Array(
                m.iter()
                    .map(|s| {
                        json!({
                            "metric": labels_json(&s.labels),
                            "values": s.points.iter().map(|(t, v)| json!([secs(*t), format_float(*v)])).collect::<Vec<_>>(),
                        })
                    })
                    .collect(),
            ),
        ),
        QueryData::Vector(v) => (
            "vector",
            Value::Array(
                v.iter()
                    .map(|s| json!({"metric": labels_json(&s.labels), "value": [secs(s.t), format_float(s.v)]}))
                    .collect(),
            ),
        ),
        QueryData::Scalar(t, v) => ("scalar", json!([secs(*t), format_float(*v)])),
    }
}

/// Loki's `stats`: the summary Grafana shows, and the querier, ingester
/// and cache parts with what Belfry has (everything is read by the one
/// process from its own index: no ingesters, chunks or caches).
pub fn stats_json(s: &ExecStats) -> Value {
    let secs = s.exec_time.as_secs_f64();
    let per_sec = |n: u64| if secs > 0.0 { (n as f64 / secs) as u64 } else { 0 };
    let lines = s.lines_read + s.lines_counted;
    json!({
        "summary": {
            "bytesProcessedPerSecond": per_sec(s.bytes_read),
            "linesProcessedPerSecond": per_sec(lines),
            "totalBytesProcessed": s.bytes_read,
            "totalLinesProcessed": lines,
            "execTime": secs,
            "queueTime": 0,
            "subqueries": 0,
            "totalEntriesReturned": s.entries_returned,
            "splits": 0,
            "shards": 0,
            "totalPostFilterLines": s.lines_read,
            "totalStructuredMetadataBytesProcessed": 0,
        },
        "querier": {"store": {
            "totalChunksRef": 0, "totalChunksDownloaded": 0, "chunksDownloadTime": 0,
            "chunk": {"headChunkBytes": 0, "headChunkLines": 0, "decompressedBytes": s.bytes_read,
                      "decompressedLines": s.lines_read, "compressedBytes": 0, "totalDuplicates": 0},
        }},
        "ingester": {
            "totalReached": 0, "totalChunksMatched": 0, "totalBatches": 0, "totalLinesSent": 0,
            "store": {"chunk": {"headChunkBytes": 0, "headChunkLines": 0, "decompressedBytes": 0,
                                "decompressedLines": 0, "compressedBytes": 0, "totalDuplicates": 0}},
        },
        "cache": {},
    })
}
