//! The ingest paths end to end through their public API, into a `Storage`
//! and back out through its `Querier`.

use std::fmt::Write as _;
use std::io::Write as _;

use belfry::exposition::Format;
use belfry::ingest::prompb::{self, Label, Sample, TimeSeries, WriteRequest};
use belfry::ingest::{
    ImportOptions, IngestError, IngestLimits, IngestMetrics, RejectReason, RemoteWriteHeaders, import_file,
    parse_extra_label, push_text, remote_write,
};
use belfry::model::now_millis;
use belfry::selfmetrics::Registry;
use belfry::tsdb::MemStorage;

use crate::support::read_all;

fn new_storage() -> MemStorage {
    MemStorage::new()
}

fn v1_headers() -> RemoteWriteHeaders<'static> {
    RemoteWriteHeaders {
        content_type: Some("application/x-protobuf"),
        content_encoding: Some("snappy"),
        version: Some("0.1.0"),
    }
}

#[test]
fn remote_write_round_trips_through_storage() {
    let storage = new_storage();
    let registry = Registry::new();
    let metrics = IngestMetrics::new(&registry);
    let now = now_millis();
    let timeseries = (0..50)
        .map(|i| TimeSeries {
            labels: vec![
                Label::new("__name__", "rw_metric"),
                Label::new("instance", &format!("host-{i}")),
                Label::new("job", "node"),
            ],
            samples: (0..20)
                .map(|k| Sample {
                    value: (i * 100 + k) as f64,
                    timestamp: now - 60_000 + k * 1000,
                })
                .collect(),
            ..TimeSeries::default()
        })
        .collect();
    let body = prompb::encode_snappy(&WriteRequest {
        timeseries,
        metadata: vec![],
    })
    .unwrap();
    let outcome =
        remote_write::receive(&storage, &v1_headers(), &body, &IngestLimits::default(), &metrics).unwrap();
    assert_eq!(outcome.samples_appended, 1000);
    assert_eq!(outcome.series_created, 50);

    let stored = read_all(&storage, "rw_metric");
    assert_eq!(stored.len(), 50);
    for (labels, samples) in &stored {
        let i: i64 = labels.get("instance").unwrap()["host-".len()..].parse().unwrap();
        let want: Vec<(i64, f64)> = (0..20)
            .map(|k| (now - 60_000 + k * 1000, (i * 100 + k) as f64))
            .collect();
        assert_eq!(samples, &want, "{labels}");
    }
    assert!(
        registry
            .render()
            .contains("belfry_ingest_samples_appended_total{source=\"remote_write\"} 1000")
    );
}

#[test]
fn remote_write_refusals_keep_good_samples_and_map_to_statuses() {
    let storage = new_storage();
    let metrics = IngestMetrics::new(&Registry::new());
    let now = now_millis();
    let series = |name: &str, t: i64| TimeSeries {
        labels: vec![Label::new("__name__", name)],
        samples: vec![Sample {
            value: 1.0,
            timestamp: t,
        }],
        ..TimeSeries::default()
    };
    let send = |ts: Vec<TimeSeries>| {
        let body = prompb::encode_snappy(&WriteRequest {
            timeseries: ts,
            metadata: vec![],
        })
        .unwrap();
        remote_write::receive(&storage, &v1_headers(), &body, &IngestLimits::default(), &metrics)
    };
    send(vec![series("a", now)]).unwrap();
    let err = send(vec![series("a", now - 1000), series("b", now)]).unwrap_err();
    assert_eq!(err.http_status(), 400);
    let outcome = err.partial_outcome().unwrap();
    assert_eq!(outcome.rejections.samples(RejectReason::OutOfOrder), 1);
    assert_eq!(read_all(&storage, "b").len(), 1, "the good series was committed");

    let v2 = RemoteWriteHeaders {
        content_type: Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
        content_encoding: Some("snappy"),
        version: Some("2.0.0"),
    };
    let err = remote_write::receive(&storage, &v2, b"", &IngestLimits::default(), &metrics).unwrap_err();
    assert_eq!(err.http_status(), 415);
    let err = remote_write::receive(
        &storage,
        &v1_headers(),
        b"garbage",
        &IngestLimits::default(),
        &metrics,
    )
    .unwrap_err();
    assert_eq!(err.http_status(), 400);
}

#[test]
fn text_push_round_trips_with_extra_labels() {
    let storage = new_storage();
    let metrics = IngestMetrics::new(&Registry::new());
    let t = now_millis() - 5000;
    let body = format!(
        "# TYPE lms_logins_total counter\nlms_logins_total{{method=\"sso\"}} 17 {t}\nlms_logins_total{{method=\"password\"}} 3\n"
    );
    let extra = [parse_extra_label("job=lms").unwrap()];
    let outcome = push_text(
        &storage,
        body.as_bytes(),
        Some("text/plain; version=0.0.4"),
        None,
        &extra,
        &IngestLimits::default(),
        &metrics,
    )
    .unwrap();
    assert_eq!(outcome.samples_appended, 2);
    let stored = read_all(&storage, "lms_logins_total");
    assert_eq!(stored.len(), 2);
    let sso = stored
        .iter()
        .find(|(l, _)| l.get("method") == Some("sso"))
        .unwrap();
    assert_eq!(sso.0.get("job"), Some("lms"));
    assert_eq!(sso.1, vec![(t, 17.0)]);

    let err = push_text(
        &storage,
        b"broken{ 1\n",
        None,
        None,
        &[],
        &IngestLimits::default(),
        &metrics,
    )
    .unwrap_err();
    assert!(matches!(err, IngestError::Parse { line: 1, .. }), "{err}");
}

#[test]
fn import_backfills_a_large_openmetrics_file_in_batches() {
    let storage = new_storage();
    let metrics = IngestMetrics::new(&Registry::new());
    // 40 series x 250 points, two hours of 30 s data a day ago.
    let start_s = now_millis() / 1000 - 86_400;
    let mut body = String::from("# HELP old_requests_total Requests.\n# TYPE old_requests_total counter\n");
    for s in 0..40 {
        for p in 0..250 {
            let _ = writeln!(
                body,
                "old_requests_total{{route=\"/r{s}\"}} {} {}",
                p * s,
                start_s + p * 30
            );
        }
    }
    body.push_str("# EOF\n");
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(body.as_bytes()).unwrap();
    let options = ImportOptions {
        batch_samples: 3000,
        block_bytes: 64 * 1024,
        ..ImportOptions::default()
    };
    let report = import_file(file.path(), None, &storage, &options, &metrics).unwrap();
    assert_eq!(report.format, Format::OpenMetrics);
    assert_eq!((report.samples_read, report.samples_written), (10_000, 10_000));
    assert_eq!(report.series, 40);
    assert!(report.batches >= 4, "{report:?}");

    let stored = read_all(&storage, "old_requests_total");
    assert_eq!(stored.len(), 40);
    let r7 = stored
        .iter()
        .find(|(l, _)| l.get("route") == Some("/r7"))
        .unwrap();
    assert_eq!(r7.1.len(), 250);
    assert_eq!(r7.1[10], ((start_s + 300) * 1000, 70.0));

    // A second import of the same file changes nothing.
    let again = import_file(
        file.path(),
        Some(Format::OpenMetrics),
        &storage,
        &options,
        &metrics,
    )
    .unwrap();
    assert_eq!((again.samples_written, again.samples_skipped), (0, 10_000));
}
