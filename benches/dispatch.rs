//! Dispatch throughput: alerts in, webhook notifications out to a loopback
//! receiver, each alert in its own aggregation group (`group_by: ['...']`,
//! `group_wait: 0s`), with the notification log persisted in a real
//! `state.redb`. The dispatcher runs on a single-threaded runtime, so the
//! figure is notifications per second per core.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::routing::post;
use belfry::alerting::{Dispatcher, DispatcherOptions};
use belfry::config::Config;
use belfry::model::{Alert, AlertSource, Labels};
use belfry::selfmetrics::Registry;
use belfry::state::StateStore;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 500;

fn bench_dispatch(c: &mut Criterion) {
    belfry::install_crypto_provider();
    // The receiver gets its own runtime thread, as a separate process would.
    let received = Arc::new(AtomicUsize::new(0));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let counter = received.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/hook",
                post(move || {
                    let c = counter.clone();
                    async move {
                        c.fetch_add(1, Ordering::Relaxed);
                        "ok"
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    let yaml = format!(
        "alerting:\n  route:\n    receiver: hook\n    group_by: ['...']\n    group_wait: 0s\n    group_interval: 1h\n  receivers:\n    - name: hook\n      webhook_configs: [{{url: 'http://{addr}/hook'}}]\n"
    );
    let config = Config::from_yaml_with_env(&yaml, "bench.yml", |_| None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let registry = Registry::new();
    let dispatcher = rt.block_on(async {
        let d = Dispatcher::new(
            config.alerting.as_ref(),
            DispatcherOptions {
                state: Some(StateStore::open(dir.path()).unwrap()),
                max_alerts: usize::MAX,
                ..Default::default()
            },
            &registry,
        )
        .unwrap();
        tokio::spawn(d.clone().run(tokio_util::sync::CancellationToken::new()));
        // As the rules deliver: nothing for the alert history to keep.
        d.sink(AlertSource::Rules)
    });
    let mut next_id = 0usize;
    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.bench_function("webhook_notifications", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let now = SystemTime::now();
                let alerts: Vec<Alert> = (0..BATCH)
                    .map(|i| Alert {
                        labels: Labels::from_pairs(&[
                            ("alertname", "Bench"),
                            ("id", &(next_id + i).to_string()),
                        ]),
                        annotations: Labels::default(),
                        starts_at: now,
                        ends_at: now + Duration::from_secs(3600),
                        generator_url: String::new(),
                    })
                    .collect();
                next_id += BATCH;
                let target = received.load(Ordering::Relaxed) + BATCH;
                let start = Instant::now();
                rt.block_on(async {
                    dispatcher.send(alerts);
                    while received.load(Ordering::Relaxed) < target {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_dispatch);
criterion_main!(benches);
