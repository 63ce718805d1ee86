//! Differential test against Debian's `prometheus` (2.42): both servers get
//! the same generated data (an OpenMetrics file loaded into Prometheus with
//! `promtool tsdb create-blocks-from openmetrics` and into Belfry with
//! `belfry import`, then served by `belfry serve`), then the compliance queries of
//! `../shared/conformance/compliance/expanded-queries.jsonl` and our own go
//! to both HTTP APIs (`/api/v1/query` and `/api/v1/query_range`) and the
//! answers must agree within 1e-6 relative, except for the entries of
//! [`KNOWN_DIFFERENCES`], where Prometheus 3 (whose semantics Belfry
//! follows) deliberately differs from 2.x.
//!
//! Sample timestamps sit at 250/500/750 ms past a second and every query
//! time, range and step is a whole number of seconds, so no sample ever
//! lies on a range boundary: 2.x closes ranges on the left, 3.x does not.
//! Those fractions are also exact in binary, so both parsers read the same
//! millisecond from `1700000000.25`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::support::{self, BelfryServer, ChildGuard};

/// Queries whose answers legitimately differ between Prometheus 2.42 and
/// Prometheus 3 (whose semantics Belfry implements), each with the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "demo_num_cpus atan2 demo_num_cpus",
        "2.x keeps the metric name on `atan2` results; Prometheus 3 drops it as for every arithmetic operator (promqltest operators.test: `trigy atan2 trigx` gives `{}`)",
    ),
    (
        "holt_winters(demo_disk_usage_bytes[10m], 0.5, 0.5)",
        "Prometheus 3 removed `holt_winters` (it became the experimental `double_exponential_smoothing`), so the query fails to parse there",
    ),
    (
        r#"label_replace(demo_num_cpus, "~invalid", "", "src", "(.*)")"#,
        "Prometheus 3 accepts any UTF-8 label name, so `~invalid` is a valid destination; 2.x refuses it",
    ),
    (
        r#"label_join(demo_num_cpus, "~invalid", "-", "instance")"#,
        "Prometheus 3 accepts any UTF-8 label name, so `~invalid` is a valid destination; 2.x refuses it",
    ),
];

/// Our own queries, beyond the compliance set: the benchmark shapes,
/// operators and functions the compliance set leaves out.
const OWN_QUERIES: &[&str] = &[
    r#"sum by (instance) (rate(demo_cpu_usage_seconds_total[5m]))"#,
    r#"histogram_quantile(0.99, sum by (le) (rate(demo_api_request_duration_seconds_bucket[5m])))"#,
    r#"histogram_quantile(0.5, sum by (le, method) (rate(demo_api_request_duration_seconds_bucket[10m])))"#,
    r#"max_over_time(demo_memory_usage_bytes[1h])"#,
    r#"count({job="demo"})"#,
    r#"count by (__name__) ({job="demo"})"#,
    r#"topk(2, demo_memory_usage_bytes) by (instance)"#,
    r#"sort_desc(sum by (instance) (demo_memory_usage_bytes))"#,
    r#"sort(demo_num_cpus)"#,
    r#"demo_num_cpus and on(instance) demo_disk_usage_bytes > 0"#,
    r#"demo_memory_usage_bytes unless on(instance) demo_num_cpus > 4"#,
    r#"demo_num_cpus or demo_disk_usage_bytes"#,
    r#"demo_cpu_usage_seconds_total / on(instance) group_left demo_num_cpus"#,
    r#"demo_num_cpus * on(instance) group_right demo_cpu_usage_seconds_total"#,
    r#"rate(demo_cpu_usage_seconds_total[5m] offset 10m)"#,
    r#"demo_memory_usage_bytes @ end()"#,
    r#"demo_memory_usage_bytes @ start()"#,
    r#"rate(demo_cpu_usage_seconds_total[5m] @ end())"#,
    r#"max_over_time(deriv(demo_disk_usage_bytes[5m])[30m:1m])"#,
    r#"min_over_time(sum by (instance) (rate(demo_cpu_usage_seconds_total[1m]))[10m:])"#,
    r#"changes(demo_batch_last_success_timestamp_seconds[1h])"#,
    r#"resets(demo_cpu_usage_seconds_total[1h])"#,
    r#"absent_over_time(demo_intermittent_metric[1m])"#,
    r#"present_over_time(demo_intermittent_metric[1m])"#,
    r#"count_over_time(demo_intermittent_metric[10m])"#,
    r#"absent(demo_num_cpus{instance="nope"})"#,
    r#"scalar(sum(demo_num_cpus))"#,
    r#"vector(time())"#,
    r#"timestamp(demo_num_cpus)"#,
    r#"sgn(deriv(demo_disk_usage_bytes[5m]))"#,
    r#"clamp_max(demo_memory_usage_bytes, 3e9)"#,
    r#"abs(-demo_num_cpus)"#,
    r#"sin(demo_num_cpus) + cos(demo_num_cpus) + tan(demo_num_cpus)"#,
    r#"asinh(demo_num_cpus) + acosh(demo_num_cpus) + atanh(demo_num_cpus / 100)"#,
    r#"deg(pi()) + rad(180)"#,
    r#"demo_num_cpus atan2 demo_num_cpus"#,
    r#"group by (instance) (demo_memory_usage_bytes)"#,
    r#"stddev_over_time(demo_disk_usage_bytes[10m])"#,
    r#"quantile by (type) (0.25, demo_memory_usage_bytes)"#,
    r#"count_values by (instance) ("cpus", demo_num_cpus)"#,
    r#"label_join(demo_num_cpus, "both", "/", "instance", "job")"#,
    r#"label_replace(rate(demo_cpu_usage_seconds_total[5m]), "m", "$1", "mode", "(.).*")"#,
    r#"increase(demo_api_request_duration_seconds_count[10m]) > 100"#,
    r#"demo_api_request_duration_seconds_sum / demo_api_request_duration_seconds_count"#,
    r#"rate(demo_api_request_duration_seconds_sum[5m]) / rate(demo_api_request_duration_seconds_count[5m])"#,
    r#"holt_winters(demo_disk_usage_bytes[10m], 0.5, 0.5)"#,
    r#"last_over_time(demo_batch_last_success_timestamp_seconds[10m]) - time()"#,
    r#"demo_memory_usage_bytes offset 1h30m"#,
    r#"sum(demo_memory_usage_bytes) without (type) / ignoring(type) group_left sum without (type) (demo_memory_usage_bytes)"#,
    r#"1 - demo_num_cpus % 3 ^ 2"#,
    r#"-demo_num_cpus ^ 2"#,
    r#"demo_num_cpus > bool 4"#,
    r#"(demo_num_cpus > 4) * 2"#,
    r#"sum(rate(demo_cpu_usage_seconds_total{mode=~"user|system"}[5m])) by (instance)"#,
    r#"rate(demo_cpu_usage_seconds_total{mode!~"id.*"}[2m])"#,
    r#"{__name__=~"demo_num_cpus|demo_disk_usage_bytes"}"#,
    r#"sum by (instance) ({__name__=~"demo_(num_cpus|disk_usage_bytes)"})"#,
    r#"time() - demo_batch_last_success_timestamp_seconds > 300"#,
    r#"day_of_year(demo_batch_last_success_timestamp_seconds)"#,
    r#"sum(nonexistent) or vector(0)"#,
    r#"no_such_function(demo_num_cpus)"#,
    r#"rate(demo_num_cpus)"#,
    r#"sum(demo_num_cpus"#,
    r#"demo_num_cpus[5m] + 1"#,
    r#"rate(demo_cpu_usage_seconds_total[5x])"#,
    // Bad input: both must refuse with `bad_data` at the same position.
    r#"sum(rate(demo_num_cpus[5m]"#,
    r#"demo_num_cpus{instance"#,
    r#"demo_num_cpus +"#,
    r#"abs("x")"#,
    r#"topk(demo_num_cpus, demo_num_cpus)"#,
    r#"label_replace(demo_num_cpus, 1, "", "", "")"#,
    r#"rate(demo_num_cpus[5m:1m] [1m])"#,
    r#"demo_num_cpus[0s]"#,
    r#"demo_num_cpus[5m:0s]"#,
    r#"{}"#,
    r#"demo_num_cpus @ bar"#,
    r#"sum by (job) (demo_num_cpus) without (job)"#,
    r#"demo_num_cpus[9999999999999y]"#,
    r#"demo_num_cpus offset 99999999999999999y"#,
    r#"demo_num_cpus @ 1e300"#,
    r#"demo_num_cpus{instance="x"#,
    r#"demo_num_cpus offset 1m offset 2m"#,
    r#"1 + "a""#,
    "sum(\n  rate(demo_num_cpus)\n)",
];

/// 1e-6 relative; values within 1e-12 of zero (cancellation leftovers
/// such as `x - x` summed in a different order) count as equal too.
fn close(a: f64, b: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let diff = (a - b).abs();
    diff <= 1e-6 * a.abs().max(b.abs()) || diff <= 1e-12
}

// ---------------------------------------------------------------- data

/// A small deterministic generator (xorshift64*), so the data is the same
/// on every run without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn float(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const INTERVAL_MS: i64 = 5_000;
const INSTANCES: [&str; 3] = [
    "demo.promlabs.com:10000",
    "demo.promlabs.com:10001",
    "demo.promlabs.com:10002",
];
const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf",
];

/// One metric family's lines, series by series.
struct Family {
    header: String,
    series: BTreeMap<String, Vec<(i64, f64)>>,
}

impl Family {
    fn new(name: &str, kind: &str) -> Family {
        Family {
            header: format!("# TYPE {name} {kind}\n"),
            series: BTreeMap::new(),
        }
    }
    fn push(&mut self, series: String, t: i64, v: f64) {
        self.series.entry(series).or_default().push((t, v));
    }
}

/// Data shaped like PromLabs' demo service (the one the compliance queries
/// were written for), `hours` long from `start_ms`, scraped every 5 s.
fn write_demo_openmetrics(path: &Path, start_ms: i64, hours: i64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cpus = Family::new("demo_num_cpus", "gauge");
    let mut mem = Family::new("demo_memory_usage_bytes", "gauge");
    let mut cpu = Family::new("demo_cpu_usage_seconds", "counter");
    let mut disk = Family::new("demo_disk_usage_bytes", "gauge");
    let mut inter = Family::new("demo_intermittent_metric", "gauge");
    let mut batch = Family::new("demo_batch_last_success_timestamp_seconds", "gauge");
    let mut hist = Family::new("demo_api_request_duration_seconds", "histogram");
    let steps = hours * 3_600_000 / INTERVAL_MS;
    for (i, inst) in INSTANCES.iter().enumerate() {
        let base = format!("instance=\"{inst}\",job=\"demo\"");
        let phase = i as i64 * 1250 + 1250; // 250/500/750 ms past a second
        let mut cpu_total = [1000.0 * (i + 1) as f64, 50.0, 80.0];
        let mut disk_bytes = 5.0e10 + 1.0e9 * i as f64;
        let mut last_batch = (start_ms / 1000) as f64;
        let mut buckets = vec![[0.0f64; 12]; 8];
        let mut sums = [0.0f64; 8];
        for k in 0..steps {
            let t = start_ms + k * INTERVAL_MS + phase;
            let secs = t as f64 / 1000.0;
            cpus.push(format!("demo_num_cpus{{{base}}}"), t, [4.0, 8.0, 6.0][i]);
            for (j, ty) in ["buffers", "cached", "free", "used"].iter().enumerate() {
                let level = [1.5e8, 9.0e8, 2.2e9, 4.1e9][j];
                let wave = (secs / 600.0 + j as f64 + i as f64).sin() * 0.1;
                let v = (level * (1.0 + wave + 0.02 * rng.float())).round();
                mem.push(format!("demo_memory_usage_bytes{{{base},type=\"{ty}\"}}"), t, v);
            }
            // Instance 1's counters restart half-way through (a reset).
            if i == 1 && k == steps / 2 {
                cpu_total = [3.0, 0.5, 0.25];
            }
            for (j, mode) in ["idle", "system", "user"].iter().enumerate() {
                cpu_total[j] += [3.5, 0.4, 1.1][j] * (0.5 + rng.float());
                let v = (cpu_total[j] * 1000.0).round() / 1000.0;
                cpu.push(
                    format!("demo_cpu_usage_seconds_total{{{base},mode=\"{mode}\"}}"),
                    t,
                    v,
                );
            }
            disk_bytes += 40_000.0 * (i as f64 + 1.0) * rng.float();
            if k % 2000 == 1999 {
                disk_bytes -= 2.0e8; // a clean-up
            }
            disk.push(format!("demo_disk_usage_bytes{{{base}}}"), t, disk_bytes.round());
            // Present for 10 minutes, then gone for 10 (longer than the
            // 5 m lookback, so it really disappears).
            if (k / 120) % 2 == 0 {
                inter.push(format!("demo_intermittent_metric{{{base}}}"), t, (k % 7) as f64);
            }
            if rng.float() < 0.01 {
                last_batch = (t / 1000) as f64;
            }
            batch.push(
                format!("demo_batch_last_success_timestamp_seconds{{{base}}}"),
                t,
                last_batch,
            );
            for (h, (method, path, status)) in hist_label_sets().into_iter().enumerate() {
                let requests = (rng.float() * 20.0 * (h + 1) as f64).floor() as usize;
                for _ in 0..requests {
                    let latency = -rng.float().max(1e-9).ln() * [0.05, 0.2, 0.8][h % 3];
                    sums[h] += latency;
                    for (b, le) in BUCKETS.iter().enumerate() {
                        let bound: f64 = le.parse().unwrap_or(f64::INFINITY);
                        if latency <= bound {
                            buckets[h][b] += 1.0;
                        }
                    }
                }
                let labels = format!("{base},method=\"{method}\",path=\"{path}\",status=\"{status}\"");
                for (b, le) in BUCKETS.iter().enumerate() {
                    hist.push(
                        format!("demo_api_request_duration_seconds_bucket{{{labels},le=\"{le}\"}}"),
                        t,
                        buckets[h][b],
                    );
                }
                hist.push(
                    format!("demo_api_request_duration_seconds_sum{{{labels}}}"),
                    t,
                    (sums[h] * 1e6).round() / 1e6,
                );
                hist.push(
                    format!("demo_api_request_duration_seconds_count{{{labels}}}"),
                    t,
                    buckets[h][11],
                );
            }
        }
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for fam in [cpus, mem, cpu, disk, inter, batch, hist] {
        out.write_all(fam.header.as_bytes()).unwrap();
        for (series, samples) in &fam.series {
            let mut buf = String::new();
            for (t, v) in samples {
                writeln!(buf, "{series} {v} {}.{:03}", t / 1000, t % 1000).unwrap();
            }
            out.write_all(buf.as_bytes()).unwrap();
        }
    }
    out.write_all(b"# EOF\n").unwrap();
    out.flush().unwrap();
}

fn hist_label_sets() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut v = Vec::new();
    for method in ["GET", "POST"] {
        for path in ["/api/bar", "/api/foo"] {
            for status in ["200", "500"] {
                v.push((method, path, status));
            }
        }
    }
    v
}

// ---------------------------------------------------------------- servers

/// Debian's `prometheus`, started on blocks that `promtool` made from the
/// OpenMetrics file.
struct PrometheusServer {
    base: String,
    _child: ChildGuard,
}

fn start_prometheus(prometheus: &Path, dir: &Path, openmetrics: &Path) -> PrometheusServer {
    let promtool = prometheus.with_file_name("promtool");
    let data = dir.join("prometheus-data");
    let status = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(openmetrics)
        .arg(&data)
        .stdout(Stdio::null())
        .status()
        .expect("run promtool");
    assert!(status.success(), "promtool create-blocks-from failed");
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\nscrape_configs: []\n").unwrap();
    let port = support::free_port();
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=100y")
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn prometheus");
    let server = PrometheusServer {
        base: format!("http://127.0.0.1:{port}"),
        _child: ChildGuard(child),
    };
    support::wait_for(Duration::from_secs(60), "prometheus to become ready", || {
        matches!(
            support::http_get(&format!("{}/-/ready", server.base)),
            Ok((200, _))
        )
        .then_some(())
    });
    server
}

/// `belfry serve` on a data dir that `belfry import` filled from the same
/// OpenMetrics file, scraping nothing (so only the imported series exist).
fn start_belfry(dir: &Path, openmetrics: &Path) -> BelfryServer {
    let data = dir.join("belfry-data");
    let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .arg("import")
        .arg(openmetrics)
        .arg("--data-dir")
        .arg(&data)
        .env_remove("BELFRY_CONFIG")
        .output()
        .expect("run belfry import");
    assert!(
        out.status.success(),
        "belfry import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join("belfry.yml");
    std::fs::write(&config, "scrape_configs: []\n").unwrap();
    BelfryServer::start(&data, Some(&config))
}

// ---------------------------------------------------------------- queries

#[derive(Debug, Clone)]
enum Eval {
    Instant(i64),
    Range { start: i64, end: i64, step: i64 },
}

impl Eval {
    fn path_and_params(&self, query: &str) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("query", query);
        let path = match self {
            Eval::Instant(t) => {
                s.append_pair("time", &(t / 1000).to_string());
                "/api/v1/query"
            }
            Eval::Range { start, end, step } => {
                s.append_pair("start", &(start / 1000).to_string());
                s.append_pair("end", &(end / 1000).to_string());
                s.append_pair("step", &(step / 1000).to_string());
                "/api/v1/query_range"
            }
        };
        format!("{path}?{}", s.finish())
    }
}

async fn fetch(client: &reqwest::Client, base: &str, path: &str) -> Json {
    let url = format!("{base}{path}");
    let resp = client
        .get(&url)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = resp.text().await.unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"))
}

/// Whether the query's own result order counts (Prometheus keeps the
/// order of `sort`/`sort_desc` results; every other instant vector's order
/// is unspecified).
fn ordered(query: &str) -> bool {
    query.trim_start().starts_with("sort")
}

fn value_str(v: &Json) -> Option<&str> {
    v.get(1).and_then(Json::as_str)
}

fn same_point(a: &Json, b: &Json) -> Result<(), String> {
    let (ta, tb) = (a.get(0).and_then(Json::as_f64), b.get(0).and_then(Json::as_f64));
    if ta.is_none() || ta != tb {
        return Err(format!("timestamps differ: belfry {a}, prometheus {b}"));
    }
    let (Some(va), Some(vb)) = (value_str(a), value_str(b)) else {
        return Err(format!("malformed point: belfry {a}, prometheus {b}"));
    };
    if va == vb {
        return Ok(());
    }
    let (fa, fb) = (parse_go_float(va), parse_go_float(vb));
    match (fa, fb) {
        (Some(x), Some(y)) if x == y => Err(format!(
            "same value, formatted differently: belfry {va:?}, prometheus {vb:?}"
        )),
        (Some(x), Some(y)) if close(x, y) => Ok(()),
        _ => Err(format!("values differ: belfry {va}, prometheus {vb} at {}", a[0])),
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// The series of a vector/matrix result, keyed by their labels.
fn series_list(result: &Json, sort: bool) -> Vec<(String, Json)> {
    let mut out: Vec<(String, Json)> = result
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let metric: BTreeMap<String, String> =
                        serde_json::from_value(s["metric"].clone()).unwrap_or_default();
                    (format!("{metric:?}"), s.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    if sort {
        out.sort_by(|a, b| a.0.cmp(&b.0));
    }
    out
}

fn compare(query: &str, belfry: &Json, prom: &Json) -> Result<(), String> {
    let (sb, sp) = (belfry["status"].as_str(), prom["status"].as_str());
    if sb != sp {
        return Err(format!(
            "status differs: belfry {sb:?} ({}), prometheus {sp:?} ({})",
            belfry["error"], prom["error"]
        ));
    }
    if sp == Some("error") {
        if belfry["errorType"] != prom["errorType"] {
            return Err(format!(
                "errorType differs: belfry {} ({}), prometheus {} ({})",
                belfry["errorType"], belfry["error"], prom["errorType"], prom["error"]
            ));
        }
        // Parse errors must point at the same place (`1:7: parse error`).
        let position = |j: &Json| {
            let msg = j["error"].as_str().unwrap_or("").to_string();
            msg.split_once(": parse error:")
                .map(|(p, _)| p.rsplit(' ').next().unwrap_or("").to_string())
        };
        if position(belfry) != position(prom) {
            return Err(format!(
                "parse error positions differ: belfry {}, prometheus {}",
                belfry["error"], prom["error"]
            ));
        }
        return Ok(());
    }
    let (db, dp) = (&belfry["data"], &prom["data"]);
    if db["resultType"] != dp["resultType"] {
        return Err(format!(
            "resultType differs: belfry {}, prometheus {}",
            db["resultType"], dp["resultType"]
        ));
    }
    match dp["resultType"].as_str() {
        Some("scalar") | Some("string") => same_point(&db["result"], &dp["result"]),
        Some(kind @ ("vector" | "matrix")) => {
            // Matrices come sorted by labels from both; vectors are only
            // ordered under `sort*`.
            let sort = kind == "vector" && !ordered(query);
            let (lb, lp) = (series_list(&db["result"], sort), series_list(&dp["result"], sort));
            if lb.len() != lp.len() || lb.iter().zip(&lp).any(|(a, b)| a.0 != b.0) {
                let names = |l: &[(String, Json)]| {
                    let mut v: Vec<String> = l.iter().take(5).map(|s| s.0.clone()).collect();
                    if l.len() > 5 {
                        v.push(format!("... {} in all", l.len()));
                    }
                    v
                };
                return Err(format!(
                    "series differ:\n    belfry     {:?}\n    prometheus {:?}",
                    names(&lb),
                    names(&lp)
                ));
            }
            for ((labels, a), (_, b)) in lb.iter().zip(&lp) {
                if kind == "vector" {
                    same_point(&a["value"], &b["value"]).map_err(|e| format!("{labels}: {e}"))?;
                    continue;
                }
                let (pa, pb) = (a["values"].as_array(), b["values"].as_array());
                let (pa, pb) = (
                    pa.map(Vec::as_slice).unwrap_or(&[]),
                    pb.map(Vec::as_slice).unwrap_or(&[]),
                );
                if pa.len() != pb.len() {
                    return Err(format!(
                        "{labels}: {} points from belfry, {} from prometheus",
                        pa.len(),
                        pb.len()
                    ));
                }
                for (x, y) in pa.iter().zip(pb) {
                    same_point(x, y).map_err(|e| format!("{labels}: {e}"))?;
                }
            }
            Ok(())
        }
        other => Err(format!("unexpected resultType {other:?}")),
    }
}

fn load_queries(conformance: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(conformance.join("compliance/expanded-queries.jsonl"))
        .expect("read expanded-queries.jsonl");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let q: Json = serde_json::from_str(line).expect("a JSON line");
        if q["skip_comparison"].as_bool() == Some(true) {
            continue;
        }
        out.push((
            q["query"].as_str().expect("query").to_string(),
            q["should_fail"].as_bool().unwrap_or(false),
        ));
    }
    out
}

#[test]
fn promql_matches_prometheus_2() {
    let Some(prometheus) = support::peer_binary("prometheus") else {
        return;
    };
    let Some(conformance) = support::shared_conformance_dir() else {
        return;
    };
    belfry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    // Three hours ending at the last whole hour; whole hours keep every
    // query time below a whole second.
    let hour = 3_600_000;
    let start = (belfry::model::now_millis() / hour - 3) * hour;
    let openmetrics: PathBuf = dir.path().join("demo.om.txt");
    write_demo_openmetrics(&openmetrics, start, 3);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let belfry_server = start_belfry(dir.path(), &openmetrics);
    let belfry = belfry_server.url("");
    let prom = start_prometheus(&prometheus, dir.path(), &openmetrics);

    let mut queries = load_queries(&conformance);
    let compliance_count = queries.len();
    queries.extend(OWN_QUERIES.iter().map(|q| (q.to_string(), false)));
    // Every time is a whole second but never a multiple of 10 s, so a
    // subquery's step times (multiples of its step) never sit on the left
    // edge of its range either: 2.x would include such a step, 3.x not.
    let evals = [
        Eval::Instant(start + 2 * hour + 30 * 60_000 + 3_000),
        Eval::Instant(start + hour + 7_000),
        Eval::Range {
            start: start + hour + 30 * 60_000 + 3_000,
            end: start + 2 * hour + 30 * 60_000 + 3_000,
            step: 60_000,
        },
        Eval::Range {
            start: start + 2 * hour + 1_000,
            end: start + 2 * hour + 10 * 60_000 + 1_000,
            step: 30_000,
        },
    ];

    let client = reqwest::Client::new();
    let began = Instant::now();
    let (mut matched, mut total) = (0usize, 0usize);
    let mut failures = Vec::new();
    let mut known_seen = Vec::new();
    let mut should_fail_passed = Vec::new();
    for (query, should_fail) in &queries {
        let known = KNOWN_DIFFERENCES.iter().find(|(q, _)| q == query);
        let mut query_ok = true;
        for eval in &evals {
            let path = eval.path_and_params(query);
            let (b, p) = rt.block_on(async {
                tokio::join!(fetch(&client, &belfry, &path), fetch(&client, &prom.base, &path))
            });
            total += 1;
            if *should_fail && p["status"] == "success" {
                should_fail_passed.push(query.clone());
            }
            match compare(query, &b, &p) {
                Ok(()) => matched += 1,
                Err(e) => {
                    if known.is_none() {
                        failures.push(format!("{query}\n  {eval:?}\n  {e}"));
                    } else if query_ok {
                        eprintln!("known difference: {query}\n  {e}");
                    }
                    query_ok = false;
                }
            }
        }
        if let Some((q, _)) = known {
            known_seen.push((q.to_string(), query_ok));
        }
    }
    eprintln!(
        "promql differential: {matched}/{total} evaluations match ({} compliance + {} own queries, {} evaluations each, {:.1}s); {} known 2.x/3.x differences",
        compliance_count,
        OWN_QUERIES.len(),
        evals.len(),
        began.elapsed().as_secs_f64(),
        KNOWN_DIFFERENCES.len()
    );
    for (q, ok) in &known_seen {
        if *ok {
            eprintln!("note: known difference no longer differs: {q}");
        }
    }
    if !should_fail_passed.is_empty() {
        eprintln!("note: prometheus 2.42 accepted should_fail queries: {should_fail_passed:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} evaluations differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
