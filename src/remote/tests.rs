//! The queue against a local sink: retries and drops by status, every
//! sample arriving exactly once across an outage, a checkpoint and a
//! restart, relabeling and external labels, and the bounded WAL hold.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::{Config, RemoteWriteConfig};
use crate::model::{Labels, PromDuration};
use crate::prompb;
use crate::selfmetrics::Registry;
use crate::tsdb::wal::{CheckpointKeep, SyncPolicy, Wal, WalOptions, WalRecord};

/// A remote-write endpoint answering a scripted status per request
/// (then `fallback`), keeping the requests it accepted.
#[derive(Clone, Default)]
struct Sink {
    script: Arc<Mutex<VecDeque<u16>>>,
    fallback: Arc<AtomicU16>,
    accepted: Arc<Mutex<Vec<prompb::WriteRequest>>>,
    attempts: Arc<Mutex<usize>>,
    bad_headers: Arc<Mutex<Vec<String>>>,
}

async fn receive(State(sink): State<Sink>, headers: HeaderMap, body: Bytes) -> StatusCode {
    *sink.attempts.lock() += 1;
    for (name, want) in [
        ("content-encoding", "snappy"),
        ("content-type", "application/x-protobuf"),
        ("x-prometheus-remote-write-version", "0.1.0"),
    ] {
        if headers.get(name).and_then(|v| v.to_str().ok()) != Some(want) {
            sink.bad_headers.lock().push(name.to_string());
        }
    }
    if !headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Belfry/"))
    {
        sink.bad_headers.lock().push("user-agent".into());
    }
    let status = sink
        .script
        .lock()
        .pop_front()
        .unwrap_or_else(|| sink.fallback.load(Ordering::SeqCst));
    if status == 200 {
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&body)
            .expect("snappy body");
        sink.accepted
            .lock()
            .push(prompb::WriteRequest::decode(raw.as_slice()).expect("protobuf body"));
    }
    StatusCode::from_u16(status).expect("status")
}

impl Sink {
    async fn start() -> (Sink, String) {
        let sink = Sink::default();
        sink.fallback.store(200, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/write", axum::routing::post(receive))
            .with_state(sink.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (sink, format!("http://{addr}/write"))
    }

    /// (series `i` label, t, v) of every accepted sample, in arrival order.
    fn samples(&self) -> Vec<(String, i64, f64)> {
        let mut out = Vec::new();
        for req in self.accepted.lock().iter() {
            for ts in &req.timeseries {
                let i = ts
                    .labels
                    .iter()
                    .find(|l| l.name == b"i")
                    .map(|l| String::from_utf8_lossy(&l.value).into_owned())
                    .unwrap_or_default();
                for s in &ts.samples {
                    out.push((i.clone(), s.timestamp, s.value));
                }
            }
        }
        out
    }
}

fn rw_config(url: &str) -> RemoteWriteConfig {
    let mut cfg = RemoteWriteConfig::new(url);
    cfg.name = "sink".into();
    let q = &mut cfg.queue_config;
    q.min_backoff = PromDuration(Duration::from_millis(5));
    q.max_backoff = PromDuration(Duration::from_millis(20));
    q.batch_send_deadline = PromDuration(Duration::from_millis(50));
    q.max_samples_per_send = 7;
    q.capacity = 50;
    q.max_shards = 3;
    cfg.metadata_config.send = false;
    cfg
}

fn config_with(rw: RemoteWriteConfig) -> Config {
    Config {
        remote_write: vec![rw],
        ..Default::default()
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn open_wal(dir: &Path, registry: &Registry) -> Wal {
    let opts = WalOptions {
        segment_size: 1 << 10,
        sync: SyncPolicy::Always,
    };
    Wal::open(&dir.join("wal"), opts, registry).unwrap()
}

fn manager(wal: &Wal, dir: &Path, registry: &Registry, lookup: SeriesLookup) -> Arc<RemoteManager> {
    let mut options = RemoteOptions::new(dir.to_path_buf());
    options.poll_interval = Duration::from_millis(10);
    let access = WalAccess {
        dir: wal.dir().to_path_buf(),
        holds: wal.holds(),
        lookup,
    };
    RemoteManager::new(access, None, registry, options)
}

fn no_lookup() -> SeriesLookup {
    Arc::new(|_| None)
}

/// The store's answer for the series `write` logs.
fn store_lookup() -> SeriesLookup {
    Arc::new(|r| Some(Labels::from_pairs(&[("__name__", "m"), ("i", &r.to_string())])))
}

/// Sample times: after any queue's creation, so none is skipped as older.
static T0: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| crate::model::now_millis() + 3_600_000);

/// Logs series `from..to` (each its first time) and one sample each at
/// `T0 + t`.
fn write(wal: &Wal, series: std::ops::Range<u64>, t: i64, new: bool) {
    let mut records = Vec::new();
    if new {
        records.push(WalRecord::Series(
            series
                .clone()
                .map(|i| (i, Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())])))
                .collect(),
        ));
    }
    let t = *T0 + t;
    records.push(WalRecord::Samples(series.map(|i| (i, t, i as f64)).collect()));
    wal.log(&records).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_5xx_and_429_when_asked_and_drops_other_4xx() {
    let (sink, url) = Sink::start().await;
    let cancel = CancellationToken::new();
    let body = || Bytes::from_static(b"");
    let send = |retry_429: bool| {
        let mut cfg = rw_config(&url);
        cfg.queue_config.retry_on_http_429 = retry_429;
        Sender::new(&cfg).unwrap()
    };

    sink.script.lock().extend([500, 503, 429, 200]);
    let mut retries = 0;
    let r = send(true).send(encoded(), &cancel, || retries += 1).await;
    assert_eq!(r, SendResult::Accepted);
    assert_eq!(retries, 3);

    sink.script.lock().extend([429]);
    let r = send(false).send(encoded(), &cancel, || panic!("no retry")).await;
    assert!(matches!(r, SendResult::Refused { status: 429, .. }), "{r:?}");

    sink.script.lock().extend([400]);
    let r = send(true).send(encoded(), &cancel, || panic!("no retry")).await;
    assert!(matches!(r, SendResult::Refused { status: 400, .. }), "{r:?}");

    // A send that keeps failing stops when cancelled.
    sink.fallback.store(503, Ordering::SeqCst);
    let sender = send(true);
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.cancel();
    });
    assert_eq!(sender.send(body(), &cancel, || {}).await, SendResult::Cancelled);
    assert!(
        sink.bad_headers.lock().is_empty(),
        "{:?}",
        sink.bad_headers.lock()
    );
}

fn encoded() -> Bytes {
    let sample = QueuedSample {
        series_ref: 1,
        labels: Arc::from(vec![prompb::Label::new("__name__", "up")]),
        t: 1000,
        v: 1.0,
    };
    encode_batch(&[sample]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_arrives_once_across_outage_checkpoint_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let wal = open_wal(dir.path(), &registry);
    let (sink, url) = Sink::start().await;

    // Written before the queue exists, with times after its creation:
    // sent, as everything in the WAL from the queue's start on.
    write(&wal, 0..5, 1_000, true);
    let mut expected: Vec<(String, i64)> = (0..5).map(|i| (i.to_string(), *T0 + 1_000)).collect();
    let m = manager(&wal, dir.path(), &registry, store_lookup());
    m.apply_config(&config_with(rw_config(&url))).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for t in 2..12 {
        write(&wal, 0..5, t * 1_000, false);
        expected.extend((0..5).map(|i| (i.to_string(), *T0 + t * 1_000)));
    }
    wait_for("the first samples", || sink.samples().len() == expected.len()).await;

    // Outage: every request fails; more samples, new series, segments
    // roll; a checkpoint runs and must keep what the queue still needs.
    sink.fallback.store(503, Ordering::SeqCst);
    for t in 12..40 {
        write(&wal, 0..8, t * 1_000, t == 12);
        expected.extend((0..8).map(|i| (i.to_string(), *T0 + t * 1_000)));
    }
    wait_for("retries", || *sink.attempts.lock() > expected.len() / 7 + 3).await;
    // The checkpoint keeps no series records (the store has them all).
    wal.checkpoint(&CheckpointKeep::refs(&|_| false, i64::MAX))
        .unwrap();

    // A restart during the outage: the queue resumes from its position.
    m.stop().await;
    let m = manager(&wal, dir.path(), &registry, store_lookup());
    m.apply_config(&config_with(rw_config(&url))).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    sink.fallback.store(200, Ordering::SeqCst);
    wait_for("the backlog", || sink.samples().len() >= expected.len()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut got: Vec<(String, i64)> = sink.samples().into_iter().map(|(i, t, _)| (i, t)).collect();
    // Per series, in order and exactly once.
    let mut by_series: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for (i, t) in &got {
        by_series.entry(i.clone()).or_default().push(*t);
    }
    for (i, ts) in &by_series {
        assert!(
            ts.windows(2).all(|w| w[0] < w[1]),
            "series {i} out of order or repeated: {ts:?}"
        );
    }
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    let metrics = registry.render();
    assert!(
        metrics.contains("belfry_remote_storage_samples_retried_total{remote_name=\"sink\""),
        "{metrics}"
    );
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabels_adds_external_labels_and_resolves_refs_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let wal = open_wal(dir.path(), &registry);
    let (sink, url) = Sink::start().await;
    let mut rw = rw_config(&url);
    rw.write_relabel_configs =
        serde_norway::from_str("- {source_labels: [i], regex: '3', action: drop}").unwrap();
    let mut config = config_with(rw);
    config
        .global
        .external_labels
        .insert("site".into(), "campus".into());
    // Series 100 has no series record in the WAL (a checkpoint dropped
    // it, the store has it).
    let lookup: SeriesLookup = Arc::new(|r| {
        (r == 100).then(|| Labels::from_pairs(&[("__name__", "m"), ("i", "100"), ("site", "own")]))
    });
    let m = manager(&wal, dir.path(), &registry, lookup);
    m.apply_config(&config).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    write(&wal, 0..5, 1_000, true);
    wal.log(&[WalRecord::Samples(vec![(100, *T0, 1.0), (101, *T0, 1.0)])])
        .unwrap();
    wait_for("samples", || sink.samples().len() == 5).await;
    let reqs = sink.accepted.lock().clone();
    let series: Vec<&prompb::TimeSeries> = reqs.iter().flat_map(|r| &r.timeseries).collect();
    for ts in &series {
        let site = ts.labels.iter().find(|l| l.name == b"site").unwrap();
        let own = ts.labels.iter().any(|l| l.name == b"i" && l.value == b"100");
        assert_eq!(site.value, if own { b"own".to_vec() } else { b"campus".to_vec() });
        assert!(!ts.labels.iter().any(|l| l.name == b"i" && l.value == b"3"));
        let names: Vec<&Vec<u8>> = ts.labels.iter().map(|l| &l.name).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "labels sorted");
    }
    // Dropped by relabeling (series 3) and unknown (ref 101).
    let metrics = registry.render();
    assert!(
        metrics.contains("belfry_remote_storage_samples_dropped_total{remote_name=\"sink\",url=\""),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("belfry_remote_storage_samples_dropped_total") && l.ends_with(" 2")),
        "{metrics}"
    );
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_down_past_the_limit_stops_holding_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let wal = open_wal(dir.path(), &registry);
    let (sink, url) = Sink::start().await;
    sink.fallback.store(503, Ordering::SeqCst);
    let mut options = RemoteOptions::new(dir.path().to_path_buf());
    options.poll_interval = Duration::from_millis(10);
    options.max_hold_time = Duration::from_millis(100);
    let access = WalAccess {
        dir: wal.dir().to_path_buf(),
        holds: wal.holds(),
        lookup: no_lookup(),
    };
    let m = RemoteManager::new(access, None, &registry, options);
    m.apply_config(&config_with(rw_config(&url))).unwrap();
    wait_for("the hold", || wal.holds().lowest().is_some()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for t in 0..20 {
        write(&wal, 0..8, t * 1_000, t == 0);
    }
    wait_for("the release", || wal.holds().lowest().is_none()).await;
    assert!(
        registry
            .render()
            .contains("belfry_remote_storage_wal_holds_released_total{remote_name=\"sink\""),
    );
    m.stop().await;
}
