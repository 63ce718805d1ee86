//! Belfry remote-writing into Debian's Prometheus (started with
//! `--web.enable-remote-write-receiver`): everything Belfry stored arrives,
//! compared series by series and sample by sample through both query
//! APIs, and still arrives after a two-minute receiver outage during which
//! Belfry is killed with `kill -9` and started again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BelfryServer, ChildGuard, free_port, get_json, http_get, peer_binary, wait_for};

/// The receiver's outage: real time, not shortened.
const OUTAGE: Duration = Duration::from_secs(120);

struct Receiver {
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<ChildGuard>,
}

impl Receiver {
    fn start(binary: &Path, port: u16, dir: &Path) -> Receiver {
        let mut r = Receiver {
            binary: binary.to_path_buf(),
            port,
            dir: dir.to_path_buf(),
            child: None,
        };
        r.restart();
        r
    }

    fn restart(&mut self) {
        let config = self.dir.join("prometheus.yml");
        std::fs::write(&config, "scrape_configs: []\n").unwrap();
        let child = Command::new(&self.binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", self.dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        self.child = Some(ChildGuard(child));
        wait_for(Duration::from_secs(60), "prometheus to be ready", || {
            matches!(http_get(&self.url("/-/ready")), Ok((200, _))).then_some(())
        });
    }

    /// SIGTERM and wait, so its own WAL is closed cleanly.
    fn stop(&mut self) {
        let Some(mut c) = self.child.take() else { return };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.0.id().to_string())
            .status();
        let _ = c.0.wait();
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn query_url(base: &str, params: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params(base, params).unwrap().to_string()
}

type Samples = BTreeMap<String, BTreeSet<(i64, u64)>>;

/// Every sample of every series in `(end - window, end]`, keyed by the
/// series' labels, from one server's `/api/v1/query` (a range selector
/// returns raw samples).
fn raw_samples(base: &str, end: f64, window_s: u64) -> Samples {
    let url = query_url(
        &format!("{base}/api/v1/query"),
        &[
            ("query", &format!("{{__name__=~\".+\"}}[{window_s}s]")),
            ("time", &format!("{end:.3}")),
        ],
    );
    let v = get_json(&url);
    let mut out = Samples::new();
    for series in v["data"]["result"].as_array().expect("a matrix") {
        let labels: BTreeMap<String, String> = serde_json::from_value(series["metric"].clone()).unwrap();
        let key = format!("{labels:?}");
        let set = out.entry(key).or_default();
        for p in series["values"].as_array().unwrap() {
            let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            let value: f64 = p[1].as_str().unwrap().parse().unwrap_or(f64::NAN);
            set.insert((t, value.to_bits()));
        }
    }
    out
}

/// Label sets from `/api/v1/series` over a time range.
fn series_set(base: &str, start: f64, end: f64) -> BTreeSet<String> {
    let url = query_url(
        &format!("{base}/api/v1/series"),
        &[
            ("match[]", "{__name__=~\".+\"}"),
            ("start", &format!("{start:.3}")),
            ("end", &format!("{end:.3}")),
        ],
    );
    get_json(&url)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels: BTreeMap<String, String> = serde_json::from_value(s.clone()).unwrap();
            format!("{labels:?}")
        })
        .collect()
}

/// What Belfry holds in the window and the receiver lacks.
fn missing(belfry: &Samples, receiver: &Samples) -> Vec<String> {
    let mut out = Vec::new();
    for (series, samples) in belfry {
        let there = receiver.get(series);
        let lacking: Vec<_> = samples
            .iter()
            .filter(|s| there.is_none_or(|t| !t.contains(s)))
            .map(|(t, _)| *t)
            .collect();
        if !lacking.is_empty() {
            out.push(format!(
                "{series}: {} samples, first at {}",
                lacking.len(),
                lacking[0]
            ));
        }
    }
    out
}

fn now_s() -> f64 {
    belfry::model::now_millis() as f64 / 1000.0
}

fn metric(base: &str, name: &str) -> f64 {
    let (_, body) = http_get(&format!("{base}/metrics")).unwrap();
    body.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until every sample Belfry has up to `end` is in the receiver.
fn assert_all_arrived(belfry: &str, receiver: &str, start: f64, end: f64, what: &str) -> usize {
    let window = (end - start).ceil() as u64;
    let mut last = Vec::new();
    let caught_up = wait_for(Duration::from_secs(120), what, || {
        let ours = raw_samples(belfry, end, window);
        let theirs = raw_samples(receiver, end, window);
        last = missing(&ours, &theirs);
        if last.is_empty() && !ours.is_empty() {
            return Some(ours);
        }
        eprintln!(
            "{what}: {} series still incomplete, e.g. {:?}",
            last.len(),
            last.first()
        );
        None
    });
    let ours = series_set(belfry, start, end);
    let theirs = series_set(receiver, start, end);
    let absent: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        absent.is_empty(),
        "{what}: series missing in the receiver: {absent:?}"
    );
    caught_up.values().map(BTreeSet::len).sum()
}

#[test]
fn belfry_remote_writes_into_prometheus_without_a_gap_across_outage_and_kill_9() {
    let (Some(prometheus), Some(exporter)) =
        (peer_binary("prometheus"), peer_binary("prometheus-node-exporter"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exporter_port = free_port();
    let _exporter = ChildGuard(
        Command::new(exporter)
            .arg(format!("--web.listen-address=127.0.0.1:{exporter_port}"))
            .arg("--collector.disable-defaults")
            .args([
                "--collector.cpu",
                "--collector.meminfo",
                "--collector.loadavg",
                "--collector.stat",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node exporter"),
    );
    let receiver_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let mut receiver = Receiver::start(&prometheus, free_port(), &receiver_dir);

    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n\
             remote_write:\n  - url: {}\n    name: receiver\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 2s\n    metadata_config:\n      send_interval: 5s\n",
            receiver.url("/api/v1/write")
        ),
    )
    .unwrap();
    let data = dir.path().join("belfry");
    let server = BelfryServer::start(&data, Some(&config));
    let belfry = format!("http://{}", server.addr);
    let receiver_base = receiver.url("");
    let start = now_s() - 5.0;

    // Everything stored so far arrives.
    std::thread::sleep(Duration::from_secs(10));
    let cut = now_s() - 3.0;
    let n = assert_all_arrived(&belfry, &receiver_base, start, cut, "samples before the outage");
    assert!(n > 100, "only {n} samples compared");
    // Prometheus 2.42's receiver keeps no metadata; that it was
    // accepted is what can be checked.
    wait_for(Duration::from_secs(30), "metadata sent", || {
        (metric(&belfry, "belfry_remote_storage_metadata_total") > 0.0).then_some(())
    });

    // A real two-minute outage; Belfry is killed hard half way through
    // and started again on the same data directory.
    receiver.stop();
    let down_at = now_s();
    let outage = Instant::now();
    std::thread::sleep(OUTAGE / 2);
    let retried = metric(&belfry, "belfry_remote_storage_samples_retried_total");
    assert!(retried > 0.0, "sends are retried during the outage");
    server.kill_hard();
    let server = BelfryServer::start(&data, Some(&config));
    let belfry = format!("http://{}", server.addr);
    std::thread::sleep(OUTAGE.saturating_sub(outage.elapsed()));
    receiver.restart();
    let up_at = now_s();

    // No gap: every sample Belfry has, before, during and after the
    // outage and across its own restart, is in the receiver.
    std::thread::sleep(Duration::from_secs(5));
    let cut = now_s() - 3.0;
    let n = assert_all_arrived(&belfry, &receiver_base, start, cut, "samples across the outage");
    let during = raw_samples(&belfry, up_at, (up_at - down_at).floor() as u64);
    let during_count: usize = during.values().map(BTreeSet::len).sum();
    assert!(
        during_count > 1000,
        "Belfry scraped during the outage ({during_count} samples)"
    );
    assert!(n > during_count);
    assert!(metric(&belfry, "belfry_remote_storage_samples_total") > 0.0);
    server.stop();
    receiver.stop();
}
