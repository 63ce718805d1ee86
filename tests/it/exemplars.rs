//! Exemplars end to end: a Python app instrumented with PyPI's
//! `prometheus_client` serves OpenMetrics with histogram exemplars; Belfry
//! scrapes it, Debian's Prometheus (with exemplar storage) scrapes the same
//! app and remote-writes to a second Belfry. `/api/v1/query_exemplars`
//! must find the same exemplars on the same bucket series in all three.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{BelfryServer, ChildGuard, free_port, http_get, peer_binary, wait_for};

const QUERY: &str = "histogram_quantile(0.99, rate(lms_request_duration_seconds_bucket[5m]))";

/// python3 with prometheus_client; None (the test skips) where missing.
fn python_with_prometheus_client() -> Option<&'static str> {
    let python = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import prometheus_client"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if python.is_none() {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!(
                "BELFRY_REQUIRE_PEERS is set but python3 with prometheus_client is missing (scripts/install-test-deps)"
            );
        }
        eprintln!(
            "skipping: python3 with prometheus_client is not installed (scripts/install-test-deps installs it)"
        );
    }
    python
}

fn start_app(python: &str, port: u16) -> ChildGuard {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/py/exemplar_app.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the python app");
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    ChildGuard(child)
}

/// (series labels, exemplar labels, value, timestamp in ms) of every
/// exemplar in a `query_exemplars` answer.
type Found = BTreeSet<(String, String, String, i64)>;

/// `None` while the server does not answer yet: a peer started just
/// before may still be opening its storage on a loaded machine.
fn query_exemplars(base: &str) -> Option<Found> {
    let url = format!("{base}/api/v1/query_exemplars?query={}", urlencode(QUERY));
    let (status, body) = http_get(&url).ok()?;
    assert_eq!(status, 200, "GET {url}: {body}");
    let v: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"));
    assert_eq!(v["status"], "success", "{v}");
    let mut out = Found::new();
    for series in v["data"].as_array().cloned().unwrap_or_default() {
        for e in series["exemplars"].as_array().unwrap() {
            let ts = e["timestamp"].as_f64().expect("timestamp is a JSON number");
            out.insert((
                series["seriesLabels"].to_string(),
                e["labels"].to_string(),
                e["value"].as_str().expect("value is a string").to_string(),
                (ts * 1000.0).round() as i64,
            ));
        }
    }
    Some(out)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until `base` reports both of the app's exemplars.
fn wait_for_exemplars(base: &str, what: &str) -> Found {
    wait_for(Duration::from_secs(90), what, || {
        let found = query_exemplars(base)?;
        (found.len() == 2).then_some(found)
    })
}

/// Exemplar timestamps are written in seconds with microseconds; Go's
/// float conversion may land a millisecond below the exact decimal, so
/// timestamps are compared to within that millisecond.
fn same_exemplars(a: &Found, b: &Found) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1 == y.1 && x.2 == y.2 && (x.3 - y.3).abs() <= 1)
}

#[test]
fn scraped_and_remote_written_exemplars_match_prometheus() {
    let Some(python) = python_with_prometheus_client() else {
        return;
    };
    let Some(prometheus) = peer_binary("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app_port = free_port();
    let _app = start_app(python, app_port);

    let scrape_job = format!(
        "scrape_configs:\n  - job_name: lms\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{app_port}']\n"
    );
    let scraper_config = dir.path().join("scraper.yml");
    std::fs::write(&scraper_config, &scrape_job).unwrap();
    let scraper = BelfryServer::start(&dir.path().join("scraper"), Some(&scraper_config));
    let receiver_config = dir.path().join("receiver.yml");
    std::fs::write(&receiver_config, "scrape_configs: []\n").unwrap();
    let receiver = BelfryServer::start(&dir.path().join("receiver"), Some(&receiver_config));

    let prom_port = free_port();
    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "{scrape_job}remote_write:\n  - url: {}\n    send_exemplars: true\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n",
            receiver.url("/api/v1/write")
        ),
    )
    .unwrap();
    let _prom = ChildGuard(
        Command::new(prometheus)
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("prom").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .arg("--enable-feature=exemplar-storage")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );

    let scraped = wait_for_exemplars(&scraper.url(""), "exemplars scraped by belfry");
    let expected = [
        ("0.1", "req-7", "0af7651916cd43dd", "0.05"),
        ("0.5", "req-42", "4bf92f3577b34da6", "0.3"),
    ];
    for ((series, labels, value, _), (le, request_id, trace_id, v)) in scraped.iter().zip(expected) {
        let series: Value = serde_json::from_str(series).unwrap();
        assert_eq!(series["__name__"], "lms_request_duration_seconds_bucket");
        assert_eq!(series["le"], le, "exemplar on the bucket it fell into");
        assert_eq!(series["job"], "lms");
        assert_eq!(series["instance"], format!("127.0.0.1:{app_port}"));
        let labels: Value = serde_json::from_str(labels).unwrap();
        assert_eq!(labels["request_id"], request_id);
        assert_eq!(labels["trace_id"], trace_id);
        assert_eq!(value, v);
    }

    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let by_prometheus = wait_for_exemplars(&prom_url, "exemplars scraped by prometheus");
    assert!(
        same_exemplars(&scraped, &by_prometheus),
        "belfry: {scraped:#?}\nprometheus: {by_prometheus:#?}"
    );
    let remote_written = wait_for_exemplars(&receiver.url(""), "exemplars remote-written by prometheus");
    assert!(
        same_exemplars(&remote_written, &by_prometheus),
        "belfry (remote write): {remote_written:#?}\nprometheus: {by_prometheus:#?}"
    );

    // A query without selectors has nothing to select, and a bad one is
    // refused in Prometheus's error shape, as Prometheus does both.
    for base in [scraper.url(""), prom_url.clone()] {
        let (status, body) = http_get(&format!("{base}/api/v1/query_exemplars?query=1%2B1")).unwrap();
        assert_eq!((status, body.as_str()), (204, ""), "{base}");
        let (status, body) = http_get(&format!("{base}/api/v1/query_exemplars?query=rate(")).unwrap();
        assert_eq!(status, 400, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["status"].as_str(), v["errorType"].as_str()),
            (Some("error"), Some("bad_data"))
        );
    }
    let (_, metrics) = http_get(&scraper.url("/metrics")).unwrap();
    assert!(
        metrics.contains("belfry_tsdb_exemplar_series_with_exemplars_in_storage 2"),
        "{metrics}"
    );
}
