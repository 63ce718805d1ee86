//! PromQL range-query speed on node-exporter-like data: 20,000 series with
//! `job="node"` (2,560 `node_cpu_seconds_total`, 2,400
//! `http_request_duration_seconds_bucket`, the rest other node gauges) over
//! 24 h at 15 s, in `MemStorage`; the four queries of issue 3 as range
//! queries with a 60 s step over the last 23 h (so every window is full).
//!
//! `cargo bench --bench promql -- --quick` runs it (loading takes a while
//! and about 2 GB); `BELFRY_PROMQL_BENCH_HOURS=2` shrinks the data.
//! `cargo bench --bench promql -- --write-openmetrics FILE [--hours H]`
//! writes the same data as an OpenMetrics file instead (for
//! `benches/compare-promql.sh`, which loads it into both servers).

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use belfry::model::Labels;
use belfry::promql::{Engine, EngineOptions, QueryControl};
use belfry::selfmetrics::Registry;
use belfry::tsdb::{MemStorage, Storage};
use criterion::Criterion;

const HOSTS: usize = 40;
const CPUS: usize = 8;
const MODES: [(&str, f64); 8] = [
    ("idle", 0.82),
    ("iowait", 0.01),
    ("irq", 0.001),
    ("nice", 0.001),
    ("softirq", 0.005),
    ("steal", 0.002),
    ("system", 0.05),
    ("user", 0.11),
];
const HANDLERS: [&str; 5] = ["/", "/api/courses", "/api/grades", "/login", "/metrics"];
const BUCKETS: [f64; 12] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    f64::INFINITY,
];
/// Other node-exporter gauges, each per host and per one of 8 devices, so
/// that with the two families above there are 20,000 series.
const FILLER_FAMILIES: usize = 47;
const DEVICES: usize = 8;
const STEP_MS: i64 = 15_000;

/// The range queries of issue 3.
pub const QUERIES: [(&str, &str); 4] = [
    ("sum_rate", "sum by (cluster) (rate(node_cpu_seconds_total[5m]))"),
    ("max_over_time", "max_over_time(node_cpu_seconds_total[1h])"),
    ("count_20k", "count({job=\"node\"})"),
    (
        "histogram_quantile",
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
];

struct Rng(u64);

impl Rng {
    fn float(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One series: labels (name first, then sorted) and how its value moves.
enum Model {
    Counter { rate: f64 },
    Bucket { le: f64, handler: usize },
    Gauge { level: f64 },
}

fn catalog() -> Vec<(Vec<(String, String)>, Model)> {
    let mut out = Vec::new();
    for h in 0..HOSTS {
        let base = |name: &str| {
            vec![
                ("__name__".to_string(), name.to_string()),
                ("cluster".to_string(), format!("c{}", h % 5)),
                ("instance".to_string(), format!("host-{h:02}:9100")),
                ("job".to_string(), "node".to_string()),
            ]
        };
        for cpu in 0..CPUS {
            for (mode, share) in MODES {
                let mut l = base("node_cpu_seconds_total");
                l.push(("cpu".into(), cpu.to_string()));
                l.push(("mode".into(), mode.into()));
                out.push((l, Model::Counter { rate: share }));
            }
        }
        for (hi, handler) in HANDLERS.iter().enumerate() {
            for le in BUCKETS {
                let mut l = base("http_request_duration_seconds_bucket");
                l.push(("handler".into(), handler.to_string()));
                let le_text = if le.is_infinite() {
                    "+Inf".to_string()
                } else {
                    format!("{le}")
                };
                l.push(("le".into(), le_text));
                out.push((l, Model::Bucket { le, handler: hi }));
            }
        }
        for f in 0..FILLER_FAMILIES {
            for d in 0..DEVICES {
                let mut l = base(&format!("node_gauge_{f:02}"));
                l.push(("device".into(), format!("dev{d}")));
                out.push((
                    l,
                    Model::Gauge {
                        level: 1000.0 * (f + 1) as f64,
                    },
                ));
            }
        }
    }
    for (l, _) in &mut out {
        l[1..].sort();
    }
    out
}

/// Every series' samples from `start` for `hours`, handed to `sink` one
/// series at a time.
fn generate(start: i64, hours: i64, mut sink: impl FnMut(&[(String, String)], &[(i64, f64)])) {
    let steps = hours * 3_600_000 / STEP_MS;
    let mut samples = Vec::with_capacity(steps as usize);
    for (i, (labels, model)) in catalog().into_iter().enumerate() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
        // Hosts scrape a few ms apart.
        let jitter = (i / (20_000 / HOSTS)) as i64 * 7 % 1000;
        samples.clear();
        let mut v = 0.0f64;
        for k in 0..steps {
            let t = start + k * STEP_MS + jitter;
            v = match model {
                Model::Counter { rate } => v + rate * 15.0 * (0.8 + 0.4 * rng.float()),
                Model::Bucket { le, handler } => {
                    // Requests with exponential latency (mean 50 ms × handler).
                    let p = 1.0 - (-le / (0.05 * (handler + 1) as f64)).exp();
                    v + (20.0 * rng.float() * p).round()
                }
                Model::Gauge { level } => level * (1.0 + 0.1 * (k as f64 / 240.0).sin()) + rng.float(),
            };
            samples.push((t, (v * 1000.0).round() / 1000.0));
        }
        sink(&labels, &samples);
    }
}

fn load(storage: &MemStorage, start: i64, hours: i64) -> usize {
    let mut batch = Vec::new();
    let mut total = 0;
    generate(start, hours, |labels, samples| {
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        batch.push((Labels::from_pairs(&pairs), samples.to_vec()));
        total += samples.len();
        if batch.len() == 500 {
            storage.backfill(std::mem::take(&mut batch)).expect("backfill");
        }
    });
    storage.backfill(batch).expect("backfill");
    total
}

fn write_openmetrics(path: &str, start: i64, hours: i64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create file"));
    // No TYPE lines: a family's series are spread over the hosts, and
    // OpenMetrics allows each family's metadata only once.
    generate(start, hours, |labels, samples| {
        let name = &labels[0].1;
        let body: Vec<String> = labels[1..].iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let series = format!("{name}{{{}}}", body.join(","));
        for (t, v) in samples {
            writeln!(out, "{series} {v} {}.{:03}", t / 1000, t % 1000).expect("write");
        }
    });
    writeln!(out, "# EOF").expect("write");
    out.flush().expect("flush");
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Data ends at the last whole hour before now, like a server's recent past.
fn data_start(hours: i64) -> i64 {
    let hour = 3_600_000;
    (belfry::model::now_millis() / hour - hours) * hour
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hours: i64 = arg_value(&args, "--hours")
        .or_else(|| std::env::var("BELFRY_PROMQL_BENCH_HOURS").ok())
        .and_then(|h| h.parse().ok())
        // `cargo test` runs bench targets once as a smoke test (without
        // `--bench`): two hours (one of warm-up for the 1 h windows, one
        // queried) exercise every query.
        .unwrap_or(if args.iter().any(|a| a == "--bench") {
            24
        } else {
            2
        });
    if let Some(path) = arg_value(&args, "--write-openmetrics") {
        let start = arg_value(&args, "--start-ms")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| data_start(hours));
        write_openmetrics(&path, start, hours);
        println!("{start}");
        return;
    }

    let start = data_start(hours);
    let storage = MemStorage::new();
    let began = Instant::now();
    let samples = load(&storage, start, hours);
    eprintln!(
        "loaded {samples} samples of 20000 series in {:.1}s",
        began.elapsed().as_secs_f64()
    );
    let engine = Engine::new(
        EngineOptions {
            timeout: Duration::from_secs(600),
            ..Default::default()
        },
        &Registry::new(),
    );
    let end = start + hours * 3_600_000 - 60_000;
    let from = start + 3_600_000;
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    let mut group = c.benchmark_group(format!("promql_range_{hours}h_step60s"));
    for (name, query) in QUERIES {
        let querier = storage.querier();
        // Fail loudly rather than time an error.
        engine
            .range_query(
                querier.as_ref(),
                query,
                from,
                end,
                60_000,
                &QueryControl::default(),
            )
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = engine
                    .range_query(
                        querier.as_ref(),
                        query,
                        from,
                        end,
                        60_000,
                        &QueryControl::default(),
                    )
                    .expect("query");
                black_box(out.value)
            })
        });
    }
    group.finish();
    c.final_summary();
}
