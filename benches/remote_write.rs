//! Remote write out: samples per second a queue's sending side gets
//! through on one core — batches of `max_samples_per_send` (2,000)
//! node-exporter-like samples encoded as protobuf, snappy-compressed and
//! POSTed to a loopback sink that decompresses and answers 204. The sender
//! runs on a single-threaded runtime; the sink has its own thread, as a
//! separate receiver would. `encode` is the CPU part alone.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use belfry::config::RemoteWriteConfig;
use belfry::prompb;
use belfry::remote::{QueuedSample, SendResult, Sender, encode_batch};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::sync::CancellationToken;

const BATCH: usize = 2_000;

fn batch(round: i64) -> Vec<QueuedSample> {
    (0..BATCH as u64)
        .map(|i| {
            let labels: Vec<prompb::Label> = vec![
                prompb::Label::new("__name__", "node_cpu_seconds_total"),
                prompb::Label::new("cpu", &(i % 64).to_string()),
                prompb::Label::new("instance", &format!("web-{}.lms.example:9100", i / 64)),
                prompb::Label::new("job", "node"),
                prompb::Label::new("mode", ["idle", "user", "system", "iowait"][(i % 4) as usize]),
            ];
            QueuedSample {
                series_ref: i,
                labels: Arc::from(labels),
                t: 1_700_000_000_000 + round * 15_000,
                v: (i as f64) * 1.5 + round as f64,
            }
        })
        .collect()
}

fn start_sink() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/write",
                axum::routing::post(|body: Bytes| async move {
                    match snap::raw::Decoder::new().decompress_vec(&body) {
                        Ok(_) => StatusCode::NO_CONTENT,
                        Err(_) => StatusCode::BAD_REQUEST,
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn bench_remote_write(c: &mut Criterion) {
    belfry::install_crypto_provider();
    let addr = start_sink();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cfg = RemoteWriteConfig::new(format!("http://{addr}/write"));
    let sender = rt.block_on(async { Sender::new(&cfg).unwrap() });
    let cancel = CancellationToken::new();
    let samples = batch(1);

    let mut group = c.benchmark_group("remote_write");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("encode", |b| b.iter(|| encode_batch(&samples).unwrap()));
    group.bench_function("encode_compress_send", |b| {
        b.iter(|| {
            rt.block_on(async {
                let body = encode_batch(&samples).unwrap();
                let r = sender
                    .send(body, &cancel, || panic!("the sink accepts everything"))
                    .await;
                assert_eq!(r, SendResult::Accepted);
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench_remote_write);
criterion_main!(benches);
