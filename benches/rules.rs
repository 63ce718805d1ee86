//! Rule evaluation throughput: 1,000 rules (500 recording, 500 alerting,
//! in 10 groups of 100) over 10,000 series in MemStorage, each rule
//! reading one metric of 100 series; 3 of each alerting rule's 100 series
//! cross its threshold. Criterion reports elements/s, where
//! an element is one rule evaluated (rules/s).
//!
//! `cargo bench --bench rules -- --quick`

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;

use belfry::config::Config;
use belfry::model::Labels;
use belfry::rules::{RuleManager, RuleManagerOptions};
use belfry::selfmetrics::Registry;
use belfry::tsdb::{MemStorage, Storage};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const METRICS: usize = 100;
const INSTANCES: usize = 100;
const RULES: usize = 1000;
const STEP_MS: i64 = 15_000;
const SAMPLES: i64 = 40;

fn setup() -> (Arc<RuleManager>, i64, tempfile::TempDir) {
    let storage = Arc::new(MemStorage::new());
    let mut series = Vec::with_capacity(METRICS * INSTANCES);
    for m in 0..METRICS {
        for i in 0..INSTANCES {
            let labels = Labels::from_pairs(&[
                ("__name__", &format!("bench_requests_{m}_total")),
                ("instance", &format!("host-{i}:9100")),
                ("job", &format!("job-{}", i % 10)),
            ]);
            let samples = (0..SAMPLES)
                .map(|k| (k * STEP_MS, (k * (i as i64 + 1)) as f64))
                .collect();
            series.push((labels, samples));
        }
    }
    storage.backfill(series).expect("backfill");
    let mut text = String::from("groups:\n");
    for g in 0..10 {
        let _ = writeln!(text, "  - name: bench-{g}\n    rules:");
        for r in 0..RULES / 10 {
            let n = g * (RULES / 10) + r;
            let m = n % METRICS;
            if n.is_multiple_of(2) {
                let _ = writeln!(
                    text,
                    "      - record: job:bench_requests_{m}:rate5m_{n}\n        expr: sum by (job) (rate(bench_requests_{m}_total[5m]))"
                );
            } else {
                let _ = writeln!(
                    text,
                    "      - alert: BenchHigh{n}\n        expr: rate(bench_requests_{m}_total[5m]) > 6.5\n        for: 5m\n        labels: {{severity: warning}}\n        annotations: {{summary: '{{{{ $labels.instance }}}} at {{{{ $value | humanize }}}}'}}"
                );
            }
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bench.yml"), text).expect("write rules");
    let cfg = Config::from_yaml(
        &format!("rule_files: ['{}/bench.yml']\n", dir.path().display()),
        "bench.yml",
    )
    .expect("config");
    let manager = RuleManager::new(storage, None, &Registry::new(), RuleManagerOptions::default());
    manager.apply_config(&cfg).expect("rules load");
    (manager, (SAMPLES - 1) * STEP_MS, dir)
}

fn bench(c: &mut Criterion) {
    let (manager, t, _dir) = setup();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(RULES as u64));
    g.sample_size(10);
    g.bench_function("eval_1000_rules_10k_series", |b| {
        b.iter(|| manager.eval_all(black_box(t)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
