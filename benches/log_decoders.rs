//! Decoding throughput of each log protocol on a batch of 1,000 LMS-like
//! records (request line, service, request id, status, duration, user):
//! Loki JSON and snappy protobuf, Elasticsearch bulk, OTLP protobuf and
//! JSON, GELF (plain JSON), syslog RFC 5424. Decoding is the first step of
//! the ≥ 25 MB/s/core logs ingest budget.
//!
//! `cargo bench --bench log_decoders -- --quick`; criterion reports bytes/s
//! of the body as received.

use std::hint::black_box;

use belfry::logs::ingest::{bulk, gelf, loki, otlp, syslog};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use serde_json::json;

const N: usize = 1000;

fn message(i: usize) -> String {
    format!(
        "GET /api/v1/courses/{}/modules 200 {}ms request_id=8f1c2a9e-{i:04} user=u_3fa94c0d1e2b7a88",
        1000 + i % 50,
        i % 300
    )
}

fn loki_json() -> Vec<u8> {
    let values: Vec<_> = (0..N)
        .map(|i| json!([format!("{}", 1_714_557_600_000_000_000i64 + i as i64), message(i), {"request_id": format!("r-{i}")}]))
        .collect();
    json!({"streams": [{"stream": {"service": "lms-api", "env": "prod"}, "values": values}]})
        .to_string()
        .into_bytes()
}

fn loki_snappy() -> Vec<u8> {
    let entries = (0..N)
        .map(|i| loki::EntryAdapter {
            timestamp: Some(loki::Timestamp {
                seconds: 1_714_557_600 + i as i64,
                nanos: 0,
            }),
            line: message(i).into_bytes(),
            structured_metadata: vec![loki::LabelPairAdapter {
                name: b"request_id".to_vec(),
                value: format!("r-{i}").into_bytes(),
            }],
        })
        .collect();
    let req = loki::PushRequest {
        streams: vec![loki::StreamAdapter {
            labels: br#"{service="lms-api", env="prod"}"#.to_vec(),
            entries,
            hash: 0,
        }],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn bulk_body() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..N {
        out.push_str("{\"create\":{\"_index\":\"lms-logs\"}}\n");
        out.push_str(&json!({"@timestamp": "2024-05-01T10:00:00.123Z", "message": message(i), "log.level": "info", "service": {"name": "lms-api"}, "http": {"response": {"status_code": 200}}, "event": {"duration": 12_000_000}}).to_string());
        out.push('\n');
    }
    out.into_bytes()
}

fn otlp_request() -> otlp::ExportLogsServiceRequest {
    let kv = |k: &str, v: otlp::any_value::Value| otlp::KeyValue {
        key: k.into(),
        value: Some(otlp::AnyValue { value: Some(v) }),
    };
    let records = (0..N)
        .map(|i| otlp::LogRecord {
            time_unix_nano: 1_714_557_600_000_000_000 + i as u64,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(otlp::AnyValue {
                value: Some(otlp::any_value::Value::StringValue(message(i))),
            }),
            attributes: vec![
                kv(
                    "request_id",
                    otlp::any_value::Value::StringValue(format!("r-{i}")),
                ),
                kv("http.status_code", otlp::any_value::Value::IntValue(200)),
            ],
            trace_id: vec![7; 16],
            span_id: vec![9; 8],
            ..Default::default()
        })
        .collect();
    otlp::ExportLogsServiceRequest {
        resource_logs: vec![otlp::ResourceLogs {
            resource: Some(otlp::Resource {
                attributes: vec![kv(
                    "service.name",
                    otlp::any_value::Value::StringValue("lms-worker".into()),
                )],
                dropped_attributes_count: 0,
            }),
            scope_logs: vec![otlp::ScopeLogs {
                scope: None,
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn otlp_json() -> Vec<u8> {
    let records: Vec<_> = (0..N)
        .map(|i| json!({"timeUnixNano": format!("{}", 1_714_557_600_000_000_000u64 + i as u64), "severityNumber": 9, "severityText": "INFO",
            "body": {"stringValue": message(i)}, "traceId": "07070707070707070707070707070707", "spanId": "0909090909090909",
            "attributes": [{"key": "request_id", "value": {"stringValue": format!("r-{i}")}}, {"key": "http.status_code", "value": {"intValue": "200"}}]}))
        .collect();
    json!({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "lms-worker"}}]}, "scopeLogs": [{"logRecords": records}]}]})
        .to_string()
        .into_bytes()
}

fn gelf_messages() -> Vec<Vec<u8>> {
    (0..N)
        .map(|i| json!({"version": "1.1", "host": "web-1", "short_message": message(i), "timestamp": 1_714_557_600.123, "level": 6, "_request_id": format!("r-{i}"), "_status": 200}).to_string().into_bytes())
        .collect()
}

fn syslog_messages() -> Vec<Vec<u8>> {
    (0..N)
        .map(|i| {
            format!(
                "<134>1 2024-05-01T10:00:00.123Z web-1 lms-api 42 - [req@32473 id=\"r-{i}\"] {}",
                message(i)
            )
            .into_bytes()
        })
        .collect()
}

fn decoders(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    let body = loki_json();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("loki_json", |b| {
        b.iter(|| loki::decode_json(black_box(&body)).unwrap().entries.len())
    });
    let body = loki_snappy();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("loki_snappy_protobuf", |b| {
        b.iter(|| {
            loki::decode_snappy(black_box(&body), 1 << 26)
                .unwrap()
                .entries
                .len()
        })
    });
    let body = bulk_body();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("elasticsearch_bulk", |b| {
        b.iter(|| bulk::decode_bulk(black_box(&body), None).unwrap().items.len())
    });
    let body = otlp_request().encode_to_vec();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("otlp_protobuf", |b| {
        b.iter(|| {
            otlp::entries(otlp::decode_protobuf(black_box(&body)).unwrap())
                .entries
                .len()
        })
    });
    let body = otlp_json();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("otlp_json", |b| {
        b.iter(|| {
            otlp::entries(otlp::decode_json(black_box(&body)).unwrap())
                .entries
                .len()
        })
    });
    let msgs = gelf_messages();
    g.throughput(Throughput::Bytes(msgs.iter().map(Vec::len).sum::<usize>() as u64));
    g.bench_function("gelf_json", |b| {
        b.iter(|| {
            msgs.iter()
                .map(|m| gelf::decode_payload(black_box(m), 1 << 20).unwrap().line.len())
                .sum::<usize>()
        })
    });
    let msgs = syslog_messages();
    g.throughput(Throughput::Bytes(msgs.iter().map(Vec::len).sum::<usize>() as u64));
    g.bench_function("syslog_rfc5424", |b| {
        b.iter(|| {
            msgs.iter()
                .map(|m| syslog::decode_datagram(black_box(m), 0).unwrap().line.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, decoders);
criterion_main!(benches);
