//! The ingest paths end to end through their public API, into a `Storage`
//! and back out through its `Querier`.

use std::fmt::Write as _;
use std::io::Write as _;

use belfry::ingest::prompb::{self, Label, Sample, TimeSeries, WriteRequest};
use belfry::ingest::{
    ImportOptions, IngestError, IngestLimits, IngestMetrics, RejectReason, RemoteWriteHeaders, import_file,
    parse_extra_label, push_text, remote_write,
};
use belfry::model::{Labels, Matcher, now_millis};
use belfry::scrape::parse::Format;
use belfry::selfmetrics::Registry;
use belfry::tsdb::Storage;

fn new_storage() -> stand_in::TestStorage {
    stand_in::TestStorage::default()
}

fn read_all(storage: &dyn Storage, metric: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let querier = storage.querier();
    let mut out = Vec::new();
    for mut s in querier
        .select(&[Matcher::equal("__name__", metric)], i64::MIN, i64::MAX)
        .unwrap()
    {
        let mut samples = Vec::new();
        while let Some(p) = s.samples.next() {
            samples.push(p);
        }
        out.push((s.labels, samples));
    }
    out
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

/// A stand-in for `tsdb::MemStorage` until the engine lands on main, with
/// the engine's order rules (same time and value: accepted silently; same
/// time, other value: duplicate; earlier: out of order) and a backfill that
/// skips collisions. Swap `new_storage` to `MemStorage::new()` then.
mod stand_in {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use parking_lot::Mutex;

    use belfry::model::{Labels, Matcher};
    use belfry::tsdb::{
        AppendError, Appender, BackfillReport, CommitReport, Querier, SampleIter, SelectedSeries, Storage,
        StorageError, TsdbStats,
    };

    type Series = BTreeMap<Labels, Vec<(i64, f64)>>;

    #[derive(Default, Clone)]
    pub struct TestStorage {
        series: Arc<Mutex<Series>>,
    }

    struct TestAppender {
        storage: TestStorage,
        pending: Vec<(Labels, i64, f64)>,
    }

    impl Appender for TestAppender {
        fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
            let stored = self.storage.series.lock();
            let last_stored = stored.get(labels).and_then(|s| s.last().copied());
            let last_pending = self
                .pending
                .iter()
                .rev()
                .find(|(l, _, _)| l == labels)
                .map(|(_, t, v)| (*t, *v));
            if let Some((lt, lv)) = last_pending.or(last_stored) {
                if t < lt {
                    return Err(AppendError::OutOfOrder);
                }
                if t == lt {
                    return if v.to_bits() == lv.to_bits() {
                        Ok(())
                    } else {
                        Err(AppendError::Duplicate)
                    };
                }
            }
            drop(stored);
            self.pending.push((labels.clone(), t, v));
            Ok(())
        }

        fn commit(self: Box<Self>) -> Result<CommitReport, StorageError> {
            let mut series = self.storage.series.lock();
            let mut report = CommitReport::default();
            for (labels, t, v) in self.pending {
                let s = series.entry(labels).or_insert_with(|| {
                    report.series_created += 1;
                    Vec::new()
                });
                s.push((t, v));
                report.samples_appended += 1;
            }
            Ok(report)
        }

        fn rollback(self: Box<Self>) {}
    }

    struct TestQuerier(Series);

    struct VecIter(std::vec::IntoIter<(i64, f64)>);

    impl SampleIter for VecIter {
        fn next(&mut self) -> Option<(i64, f64)> {
            self.0.next()
        }
    }

    impl Querier for TestQuerier {
        fn select(
            &self,
            matchers: &[Matcher],
            mint: i64,
            maxt: i64,
        ) -> Result<Vec<SelectedSeries>, StorageError> {
            Ok(self
                .0
                .iter()
                .filter(|(l, _)| matchers.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
                .map(|(l, s)| {
                    let in_range: Vec<_> = s
                        .iter()
                        .copied()
                        .filter(|(t, _)| (mint..=maxt).contains(t))
                        .collect();
                    (l, in_range)
                })
                .filter(|(_, s)| !s.is_empty())
                .map(|(l, s)| SelectedSeries {
                    labels: l.clone(),
                    samples: Box::new(VecIter(s.into_iter())),
                })
                .collect())
        }

        fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, StorageError> {
            let mut names: Vec<String> = self
                .0
                .keys()
                .flat_map(|l| l.iter().map(|l| l.name.clone()))
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        }

        fn label_values(
            &self,
            name: &str,
            _: &[Matcher],
            _: i64,
            _: i64,
        ) -> Result<Vec<String>, StorageError> {
            let mut values: Vec<String> = self
                .0
                .keys()
                .filter_map(|l| l.get(name).map(str::to_string))
                .collect();
            values.sort();
            values.dedup();
            Ok(values)
        }
    }

    impl Storage for TestStorage {
        fn appender(&self) -> Box<dyn Appender> {
            Box::new(TestAppender {
                storage: self.clone(),
                pending: Vec::new(),
            })
        }

        fn querier(&self) -> Box<dyn Querier> {
            Box::new(TestQuerier(self.series.lock().clone()))
        }

        fn stats(&self, _top_n: usize) -> TsdbStats {
            TsdbStats {
                num_series: self.series.lock().len() as u64,
                ..TsdbStats::default()
            }
        }

        fn backfill(&self, batch: Vec<(Labels, Vec<(i64, f64)>)>) -> Result<BackfillReport, StorageError> {
            let mut report = BackfillReport::default();
            let mut series = self.series.lock();
            for (labels, samples) in batch {
                let s = series.entry(labels).or_insert_with(|| {
                    report.series_created += 1;
                    Vec::new()
                });
                for (t, v) in samples {
                    match s.binary_search_by_key(&t, |(st, _)| *st) {
                        Ok(_) => report.samples_skipped += 1,
                        Err(i) => {
                            s.insert(i, (t, v));
                            report.samples_written += 1;
                        }
                    }
                }
            }
            Ok(report)
        }
    }
}
