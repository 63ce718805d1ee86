//! `belfry backup DIR` against a running server while samples and log
//! lines keep arriving, then a second server on DIR: it holds a prefix of
//! each stream — everything acknowledged before the backup began and
//! nothing acknowledged after it ended, without holes — along with the
//! backfilled chunks in redb, the user (who can sign in), the silence and
//! the error issue; and it opened without repairing anything.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use belfry::auth::{Actor, Role, Scope};
use belfry::ingest::prompb::{Label, Sample, TimeSeries, WriteRequest, encode_snappy};
use serde_json::{Value, json};

use crate::support::{BelfryServer, block, http_client, wait_for, with_accounts};

const ADMIN_PW: &str = "backups are for mondays";
const KEY: &str = "0123456789abcdef0123456789abcdef";

/// Requests with the admin token.
struct Api {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Api {
    fn new(server: &BelfryServer, token: &str) -> Api {
        Api {
            base: server.url(""),
            token: token.to_string(),
            client: http_client(),
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        block(async {
            let r = self
                .client
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }

    fn get_json(&self, path: &str) -> Value {
        let (status, text) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    fn post(&self, path: &str, content_type: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, String) {
        block(async {
            let mut req = self
                .client
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .header("Content-Type", content_type)
                .timeout(Duration::from_secs(10))
                .body(body);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            match req.send().await {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(e) => (0, e.to_string()),
            }
        })
    }

    /// One series' value as the server's self-metrics say.
    fn self_metric(&self, series: &str) -> f64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }
}

/// A writer acknowledged one item after another, numbered from 0; `acked`
/// is how many were acknowledged so far.
struct Feed {
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    fn start(mut send: impl FnMut(u64) -> bool + Send + 'static) -> Feed {
        let acked = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (acked.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !s.load(Ordering::Acquire) {
                if send(n) {
                    n += 1;
                    a.store(n, Ordering::Release);
                }
                std::thread::sleep(Duration::from_millis(3));
            }
        });
        Feed {
            acked,
            stop,
            thread: Some(thread),
        }
    }

    fn acked(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.acked()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("belfry.yml");
    // Small WAL segments so the copy spans several; index commits every
    // 200 ms so lines are both committed and waiting when it is taken.
    std::fs::write(
        &path,
        format!(
            "scrape_configs: []\n\
             storage:\n  wal:\n    segment_size: 64KB\n\
             logs:\n  commit:\n    interval: 200ms\n\
             errors:\n  projects: [{{id: 1, name: lms, keys: [{KEY}]}}]\n"
        ),
    )
    .unwrap();
    path
}

fn belfry(args: &[&str], token: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_belfry"))
        .args(args)
        .env("BELFRY_TOKEN", token)
        .env_remove("BELFRY_CONFIG")
        .env_remove("BELFRY_DATA_DIR")
        .output()
        .unwrap()
}

fn said(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_backup_taken_during_ingest_opens_with_everything_it_held() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = config(dir.path());

    // Old samples straight into chunks.redb, as `belfry import` writes them.
    let import = dir.path().join("old.prom");
    let old_start = now_ms() - 3 * 3600 * 1000;
    let text: String = (0..500)
        .map(|i| format!("backup_old_total {i} {}\n", old_start + i * 15_000))
        .collect();
    std::fs::write(&import, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .arg("import")
        .arg(&import)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));

    let token = with_accounts(&data, |a| {
        a.users.add(&Actor::cli(), "ada", Role::Admin, ADMIN_PW).unwrap();
        a.tokens
            .add(&Actor::cli(), "ops", &Scope::ALL, None)
            .unwrap()
            .secret
    });
    let log_a = dir.path().join("a.log");
    let a = BelfryServer::start_with(&data, Some(&config), &[], Some(&log_a));
    let api_a = Api::new(&a, &token);

    // State: a silence and an error issue.
    let silence = json!({
        "matchers": [{"name": "alertname", "value": "BackupProbe", "isRegex": false, "isEqual": true}],
        "startsAt": "2020-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "ada",
        "comment": "backup probe silence",
    });
    let (status, body) = api_a.post(
        "/api/v2/silences",
        "application/json",
        silence.to_string().into_bytes(),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    let event = json!({
        "event_id": "0123456789abcdef0123456789abcdef",
        "level": "error",
        "platform": "python",
        "exception": {"values": [{"type": "BackupProbeError", "value": "disk on fire"}]},
    });
    let payload = event.to_string();
    let envelope = format!(
        "{{\"event_id\":\"0123456789abcdef0123456789abcdef\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{payload}",
        payload.len()
    );
    let auth = format!("Sentry sentry_version=7, sentry_key={KEY}");
    let (status, body) = api_a.post(
        "/api/1/envelope/",
        "application/x-sentry-envelope",
        envelope.into_bytes(),
        &[("X-Sentry-Auth", auth.as_str())],
    );
    assert_eq!(status, 200, "{body}");

    // Ingest that keeps going through the backup.
    let samples = {
        let api = Api::new(&a, &token);
        let base = now_ms() - 60_000;
        Feed::start(move |n| {
            let req = WriteRequest {
                timeseries: vec![TimeSeries {
                    labels: vec![Label::new("__name__", "backup_probe_total")],
                    samples: vec![Sample {
                        value: n as f64,
                        timestamp: base + n as i64,
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            let body = encode_snappy(&req).unwrap();
            let (status, _) = api.post(
                "/api/v1/write",
                "application/x-protobuf",
                body,
                &[("Content-Encoding", "snappy")],
            );
            status == 204 || status == 200
        })
    };
    let lines = {
        let api = Api::new(&a, &token);
        Feed::start(move |n| {
            let line = json!({"message": format!("backupprobe number {n}"), "service": "probe", "n": n});
            let (status, _) = api.post(
                "/api/belfry/logs",
                "application/x-ndjson",
                format!("{line}\n").into_bytes(),
                &[],
            );
            status == 200 || status == 204
        })
    };
    wait_for(Duration::from_secs(30), "ingest to get going", || {
        (samples.acked() >= 200 && lines.acked() >= 200).then_some(())
    });

    let backup_dir = dir.path().join("backup");
    let url = a.url("");
    let (samples_before, lines_before) = (samples.acked(), lines.acked());
    let out = belfry(&["backup", "--url", &url, backup_dir.to_str().unwrap()], &token);
    let (samples_after, lines_after) = (samples.acked(), lines.acked());
    assert!(out.status.success(), "{}", said(&out));
    let report = said(&out);
    assert!(report.contains("writers never waited"), "{report}");
    assert!(
        report.contains("not copied: remote_write/") || !data.join("remote_write").exists(),
        "{report}"
    );

    // A second backup into the same directory is refused before asking.
    let again = belfry(&["backup", "--url", &url, backup_dir.to_str().unwrap()], &token);
    assert!(!again.status.success());
    assert!(said(&again).contains("is not empty"), "{}", said(&again));
    // And without an admin's token the server refuses.
    let other = dir.path().join("other");
    let refused = belfry(&["backup", "--url", &url, other.to_str().unwrap()], "not-a-token");
    assert!(!refused.status.success());
    assert!(said(&refused).contains("401"), "{}", said(&refused));
    assert!(!other.exists(), "a refused backup leaves nothing behind");

    // Ingest went on; the source keeps running throughout.
    std::thread::sleep(Duration::from_millis(300));
    let samples_total = samples.stop();
    let lines_total = lines.stop();
    assert!(samples_total > samples_after && lines_total > lines_after);

    assert_eq!(api_a.self_metric("belfry_backups_total{result=\"ok\"}"), 1.0);
    let audit = api_a.get_json("/api/belfry/audit");
    let entry = audit["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "data.backup")
        .unwrap_or_else(|| panic!("no data.backup entry: {audit}"));
    assert_eq!(entry["actor"], "token:ops", "{entry}");
    assert!(entry["detail"].as_str().unwrap().contains(" files, "), "{entry}");
    assert!(
        !data.join(".backup-staging").exists(),
        "the staging directory is removed"
    );

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("backup-manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for want in ["state.redb", "privacy.key", "metrics/chunks.redb"] {
        assert!(files.contains(&want), "{want} missing: {files:?}");
    }
    assert!(files.iter().any(|f| f.starts_with("metrics/wal/")), "{files:?}");
    assert!(files.iter().any(|f| f.starts_with("logs/wal/")), "{files:?}");
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("logs/index/") && f.ends_with("/meta.json")),
        "{files:?}"
    );
    assert_eq!(manifest["belfry_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        manifest["logs_index_commit_pause_ms"].as_f64().is_some(),
        "{manifest}"
    );

    // The copy, opened by a second server while the first runs on.
    let log_b = dir.path().join("b.log");
    let b = BelfryServer::start_with(&backup_dir, Some(&config), &[], Some(&log_b));
    let api_b = Api::new(&b, &token);
    // The image's health check: 0 once ready, 1 where nothing answers.
    let health = belfry(&["health", "--url", &b.url("")], "");
    assert!(health.status.success(), "{}", said(&health));
    let nobody = format!("http://127.0.0.1:{}", crate::support::free_port());
    let health = belfry(&["health", "--url", &nobody], "");
    assert!(
        !health.status.success() && said(&health).contains("cannot reach"),
        "{}",
        said(&health)
    );

    // The user signs in with the password set before the backup.
    let (status, body) = block(async {
        let r = http_client()
            .post(b.url("/api/belfry/login"))
            .header("Content-Type", "application/json")
            .body(json!({"user": "ada", "password": ADMIN_PW}).to_string())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");

    let silences = api_b.get_json("/api/v2/silences");
    assert!(
        silences
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["comment"] == "backup probe silence"),
        "{silences}"
    );
    let issues = api_b.get_json("/api/belfry/errors/issues?project=1");
    assert!(issues.to_string().contains("BackupProbeError"), "{issues}");

    // Samples: a prefix of what was written, holding all acknowledged
    // before the backup began and none acknowledged after it ended.
    let query = form_urlencoded::byte_serialize(b"backup_probe_total[1h]").collect::<String>();
    let result = api_b.get_json(&format!("/api/v1/query?query={query}"));
    let values: Vec<u64> = result["data"]["result"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("no samples: {result}"))
        .iter()
        .map(|v| v[1].as_str().unwrap().parse::<f64>().unwrap() as u64)
        .collect();
    let expected: Vec<u64> = (0..values.len() as u64).collect();
    assert_eq!(values, expected, "the samples have a hole");
    let held = values.len() as u64;
    assert!(
        held >= samples_before && held <= samples_after,
        "{held} samples, {samples_before} acknowledged before the backup, {samples_after} after"
    );
    // The backfilled chunks came through chunks.redb.
    let query = form_urlencoded::byte_serialize(b"count_over_time(backup_old_total[4h])").collect::<String>();
    let result = api_b.get_json(&format!("/api/v1/query?query={query}"));
    assert_eq!(result["data"]["result"][0]["value"][1], "500", "{result}");

    // Log lines: the same, searched in the restored index.
    let search = api_b.get_json("/api/belfry/logs/search?query=backupprobe&start=0&limit=1");
    let total = search["data"]["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("{search}"));
    let newest = search["data"]["lines"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{search}"));
    assert_eq!(
        newest,
        format!("backupprobe number {}", total - 1),
        "the lines have a hole"
    );
    assert!(
        total >= lines_before && total <= lines_after,
        "{total} lines, {lines_before} acknowledged before the backup, {lines_after} after"
    );
    let first = api_b.get_json("/api/belfry/logs/search?query=backupprobe%20number%200&start=0");
    assert!(first.to_string().contains("backupprobe number 0\""), "{first}");

    // Nothing torn: both WALs ended on a whole record and nothing was
    // repaired or skipped.
    for series in [
        "belfry_logs_wal_repairs_total",
        "belfry_wal_corruptions_total",
        "belfry_wal_truncations_total",
        "belfry_tsdb_wal_replay_unknown_series_samples_total",
    ] {
        assert_eq!(api_b.self_metric(series), 0.0, "{series}");
    }
    let b_log = std::fs::read_to_string(&log_b).unwrap();
    assert!(b_log.contains("repaired_segments=0"), "{b_log}");
    for bad in ["repairing", "corrupt", "WARN", "ERROR"] {
        let found: Vec<&str> = b_log.lines().filter(|l| l.contains(bad)).collect();
        assert!(found.is_empty(), "the restored server logged {bad}: {found:#?}");
    }
    let a_log = std::fs::read_to_string(&log_a).unwrap();
    assert!(a_log.contains("backup staged"), "{a_log}");
    assert!(!a_log.contains("backup failed"), "{a_log}");
    drop(b);
    drop(a);
}
