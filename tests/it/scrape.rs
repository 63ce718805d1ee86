//! The scrape manager end to end: a local HTTP server serves bodies the test
//! controls, and a `MemStorage` shows what was appended.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::get;
use parking_lot::Mutex;

use belfry::config::Config;
use belfry::model::{Labels, is_stale_nan};
use belfry::scrape::{Health, ScrapeManager, TargetStatus};
use belfry::selfmetrics::Registry;
use belfry::tsdb::MemStorage;

use crate::support::read_all;

/// What the scrape manager stored, read back through the querier.
struct Stored(Arc<MemStorage>);

impl Stored {
    /// Every stored sample of the series named `name`, oldest first.
    fn series(&self, name: &str) -> Vec<(Labels, i64, f64)> {
        let mut samples: Vec<(Labels, i64, f64)> = read_all(self.0.as_ref(), name)
            .into_iter()
            .flat_map(|(l, s)| s.into_iter().map(move |(t, v)| (l.clone(), t, v)))
            .collect();
        samples.sort_by_key(|s| s.1);
        samples
    }

    fn has(&self, name: &str, pred: impl Fn(&Labels, f64) -> bool) -> bool {
        self.series(name).iter().any(|(l, _, v)| pred(l, *v))
    }
}

/// What the test server answers, changeable while it runs.
#[derive(Clone)]
struct Reply {
    status: StatusCode,
    body: String,
    content_type: &'static str,
    gzip: bool,
    /// Expected `Authorization` header; others get 401.
    auth: Option<String>,
}

impl Reply {
    fn text(body: &str) -> Self {
        Reply {
            status: StatusCode::OK,
            body: body.to_string(),
            content_type: "text/plain; version=0.0.4",
            gzip: false,
            auth: None,
        }
    }
}

struct Server {
    addr: SocketAddr,
    reply: Arc<Mutex<Reply>>,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Server {
    async fn start(reply: Reply) -> Server {
        let reply = Arc::new(Mutex::new(reply));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (reply.clone(), seen.clone());
        let app = axum::Router::new().route(
            "/metrics",
            get(move |headers: HeaderMap| {
                let (r, s) = (r.clone(), s.clone());
                async move { answer(&r.lock().clone(), headers, &s) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { addr, reply, seen }
    }

    fn set(&self, f: impl FnOnce(&mut Reply)) {
        f(&mut self.reply.lock());
    }
}

fn answer(reply: &Reply, headers: HeaderMap, seen: &Mutex<Vec<HeaderMap>>) -> Response<Body> {
    let authorized = reply
        .auth
        .as_ref()
        .is_none_or(|want| headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str()));
    seen.lock().push(headers);
    if !authorized {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .body(Body::empty())
            .unwrap();
    }
    let mut resp = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type);
    let body = if reply.gzip {
        resp = resp.header("content-encoding", "gzip");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(reply.body.as_bytes()).unwrap();
        enc.finish().unwrap()
    } else {
        reply.body.clone().into_bytes()
    };
    resp.body(Body::from(body)).unwrap()
}

fn setup() -> (Stored, Arc<ScrapeManager>, Arc<Registry>) {
    let storage = Arc::new(MemStorage::new());
    let registry = Registry::new();
    let manager = ScrapeManager::new(storage.clone(), &registry);
    (Stored(storage), manager, registry)
}

/// The value of a self-metric without labels.
fn counter(registry: &Registry, name: &str) -> f64 {
    let text = registry.render();
    let line = text
        .lines()
        .find(|l| l.split_once(' ').is_some_and(|(n, _)| n == name))
        .unwrap_or_else(|| panic!("{name} is not registered"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

fn config(yaml: &str) -> Config {
    Config::from_yaml_with_env(yaml, "scrape-test.yml", |_| None).unwrap()
}

async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn active(manager: &ScrapeManager, job: &str) -> Vec<belfry::scrape::ActiveTarget> {
    manager
        .targets()
        .into_iter()
        .filter_map(|t| match t {
            TargetStatus::Active(a) if a.scrape_pool == job => Some(a),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_report_series_status_and_metadata() {
    let server = Server::start(Reply::text(
        "# HELP lms_requests_total Requests served.\n# TYPE lms_requests_total counter\n\
         lms_requests_total{path=\"/a\"} 7\n",
    ))
    .await;
    let (stored, manager, registry) = setup();
    let cfg = config(&format!(
        "scrape_configs:\n  - job_name: lms\n    scrape_interval: 200ms\n    static_configs:\n      - targets: ['{}']\n        labels: {{env: test}}\n",
        server.addr
    ));
    manager.apply_config(&cfg).unwrap();
    wait_until("a first scrape", || !stored.series("up").is_empty()).await;

    let instance = server.addr.to_string();
    let want = Labels::from_pairs(&[
        ("__name__", "lms_requests_total"),
        ("env", "test"),
        ("instance", &instance),
        ("job", "lms"),
        ("path", "/a"),
    ]);
    assert!(stored.has("lms_requests_total", |l, v| *l == want && v == 7.0));
    for name in belfry::scrape::REPORT_SERIES {
        assert!(
            stored.has(name, |l, _| l.get("job") == Some("lms")
                && l.get("env") == Some("test")),
            "{name}"
        );
    }
    assert!(stored.has("up", |_, v| v == 1.0));
    assert!(stored.has("scrape_samples_scraped", |_, v| v == 1.0));

    let t = &active(&manager, "lms")[0];
    assert_eq!(t.health, Health::Up);
    assert_eq!(t.last_error, "");
    assert_eq!(t.scrape_url, format!("http://{}/metrics", server.addr));
    assert_eq!(t.scrape_interval, "200ms");
    assert_eq!(t.labels["instance"], instance);
    assert_eq!(t.discovered_labels["__address__"], instance);
    let json = serde_json::to_value(t).unwrap();
    for key in [
        "discoveredLabels",
        "labels",
        "scrapePool",
        "scrapeUrl",
        "globalUrl",
        "lastError",
        "lastScrape",
        "lastScrapeDuration",
        "health",
        "scrapeInterval",
        "scrapeTimeout",
    ] {
        assert!(json.get(key).is_some(), "targets JSON lacks {key}: {json}");
    }
    assert_eq!(json["health"], "up");
    assert!(json["lastScrape"].as_str().unwrap().ends_with('Z'));

    let md = manager.metadata();
    let m = md
        .iter()
        .find(|m| m.metric == "lms_requests_total")
        .expect("metadata");
    assert_eq!(
        (m.kind.as_str(), m.help.as_str()),
        ("counter", "Requests served.")
    );

    let headers = server.seen.lock()[0].clone();
    let accept = headers["accept"].to_str().unwrap();
    assert!(
        accept.starts_with("application/openmetrics-text;version=1.0.0"),
        "{accept}"
    );
    assert!(headers["user-agent"].to_str().unwrap().starts_with("Belfry/"));
    assert_eq!(headers["x-prometheus-scrape-timeout-seconds"], "0.2");
    assert!(headers["accept-encoding"].to_str().unwrap().contains("gzip"));
    assert!(registry.render().contains("belfry_scrapes_total"));
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honor_labels_both_ways_and_metric_relabel_drop() {
    let server = Server::start(Reply::text("m{job=\"inner\"} 1\ngo_gc_seconds 2\n")).await;
    let (stored, manager, _) = setup();
    let cfg = config(&format!(
        "scrape_configs:\n\
         \x20 - job_name: honored\n    honor_labels: true\n    scrape_interval: 200ms\n    static_configs: [{{targets: ['{a}']}}]\n\
         \x20 - job_name: exported\n    scrape_interval: 200ms\n    static_configs: [{{targets: ['{a}']}}]\n\
         \x20   metric_relabel_configs:\n      - {{source_labels: [__name__], regex: 'go_.*', action: drop}}\n",
        a = server.addr
    ));
    manager.apply_config(&cfg).unwrap();
    wait_until("both jobs", || {
        stored
            .series("up")
            .iter()
            .map(|s| s.0.get("job").map(str::to_string))
            .collect::<std::collections::HashSet<_>>()
            .len()
            == 2
    })
    .await;
    // honor_labels: the scraped job wins.
    assert!(stored.has("m", |l, _| l.get("job") == Some("inner")
        && l.get("exported_job").is_none()));
    // Default: the target's job wins and the scraped one is kept as exported_job.
    assert!(stored.has("m", |l, _| l.get("job") == Some("exported")
        && l.get("exported_job") == Some("inner")));
    assert!(stored.has("go_gc_seconds", |l, _| l.get("job") == Some("honored")));
    assert!(
        !stored.has("go_gc_seconds", |l, _| l.get("job") == Some("exported")),
        "dropped by metric_relabel_configs"
    );
    assert!(
        stored.has("scrape_samples_post_metric_relabeling", |l, v| l.get("job")
            == Some("exported")
            && v == 1.0)
    );
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_limit_and_malformed_body_fail_the_scrape() {
    let server = Server::start(Reply::text("a 1\nb 2\nc 3\n")).await;
    let (stored, manager, registry) = setup();
    let cfg = config(&format!(
        "scrape_configs:\n  - job_name: limited\n    scrape_interval: 200ms\n    sample_limit: 2\n    static_configs: [{{targets: ['{}']}}]\n",
        server.addr
    ));
    manager.apply_config(&cfg).unwrap();
    wait_until("a failed scrape", || {
        active(&manager, "limited")[0].health == Health::Down
    })
    .await;
    let t = &active(&manager, "limited")[0];
    assert!(t.last_error.contains("sample limit exceeded"), "{}", t.last_error);
    assert!(stored.has("up", |_, v| v == 0.0));
    assert!(
        stored.series("a").is_empty(),
        "nothing of an over-limit scrape is stored"
    );
    assert!(counter(&registry, "belfry_scrape_sample_limit_exceeded_total") >= 1.0);
    assert!(counter(&registry, "belfry_scrape_failures_total") >= 1.0);

    // Under the limit it recovers; then a malformed body fails again.
    server.set(|r| r.body = "a 1\nb 2\n".into());
    wait_until("recovery", || active(&manager, "limited")[0].health == Health::Up).await;
    assert!(!stored.series("a").is_empty());
    let stored_before = stored.series("b").len();
    server.set(|r| r.body = "b 5\na{x=\"1\" 2\n".into());
    wait_until("a parse failure", || {
        active(&manager, "limited")[0].last_error.contains("parse error")
    })
    .await;
    let t = &active(&manager, "limited")[0];
    assert!(t.last_error.contains("line 2"), "{}", t.last_error);
    assert_eq!(t.health, Health::Down);
    assert!(
        !stored.has("b", |_, v| v == 5.0),
        "the line before the error is not stored either"
    );
    assert!(stored.series("b").len() >= stored_before);
    // The failure marked the last series stale.
    assert!(stored.has("a", |_, v| is_stale_nan(v)));
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staleness_on_disappearance_failure_and_removal() {
    let server = Server::start(Reply::text("keep 1\ngoes 2\n")).await;
    let (stored, manager, _) = setup();
    let yaml = format!(
        "scrape_configs:\n  - job_name: s\n    scrape_interval: 200ms\n    static_configs: [{{targets: ['{}']}}]\n",
        server.addr
    );
    manager.apply_config(&config(&yaml)).unwrap();
    wait_until("first scrape", || !stored.series("goes").is_empty()).await;
    server.set(|r| r.body = "keep 1\n".into());
    wait_until("stale marker for the vanished series", || {
        stored.has("goes", |_, v| is_stale_nan(v))
    })
    .await;
    assert!(!stored.has("keep", |_, v| is_stale_nan(v)));

    server.set(|r| r.status = StatusCode::INTERNAL_SERVER_ERROR);
    wait_until("stale marker after a failed scrape", || {
        stored.has("keep", |_, v| is_stale_nan(v))
    })
    .await;
    let t = &active(&manager, "s")[0];
    assert!(t.last_error.contains("500"), "{}", t.last_error);

    server.set(|r| r.status = StatusCode::OK);
    let stale_count = || stored.series("up").iter().filter(|s| is_stale_nan(s.2)).count();
    wait_until("recovery", || active(&manager, "s")[0].health == Health::Up).await;
    assert_eq!(stale_count(), 0);
    // The job disappears from the config: its target's series go stale.
    manager.apply_config(&config("scrape_configs: []\n")).unwrap();
    assert!(manager.targets().is_empty());
    wait_until("end-of-run staleness", || stale_count() == 1).await;
    wait_until("end-of-run staleness of series", || {
        stored.series("keep").last().is_some_and(|s| is_stale_nan(s.2))
    })
    .await;
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_jobs_keep_running_across_reloads_and_stop_writes_no_markers() {
    let server = Server::start(Reply::text("x 1\n")).await;
    let (stored, manager, _) = setup();
    let yaml = format!(
        "scrape_configs:\n  - job_name: r\n    scrape_interval: 200ms\n    static_configs: [{{targets: ['{}']}}]\n",
        server.addr
    );
    manager.apply_config(&config(&yaml)).unwrap();
    wait_until("first scrape", || !stored.series("x").is_empty()).await;
    manager.apply_config(&config(&yaml)).unwrap();
    // A changed job (new label) hands its series over: no stale marker for
    // a target that is still there under the same labels.
    let changed = yaml.replace("scrape_interval: 200ms", "scrape_interval: 300ms");
    manager.apply_config(&config(&changed)).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !stored.has("x", |_, v| is_stale_nan(v)),
        "reload must not mark a kept target stale"
    );
    assert_eq!(active(&manager, "r")[0].scrape_interval, "300ms");
    // As Prometheus: a shutdown writes no staleness markers, so a restart
    // continues the series without a gap.
    manager.stop().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !stored.has("x", |_, v| is_stale_nan(v)),
        "stop marked series stale"
    );
    assert!(!stored.has("up", |_, v| is_stale_nan(v)), "stop marked up stale");
    assert!(
        manager.apply_config(&config(&yaml)).is_err(),
        "a stopped manager refuses configs"
    );
}

/// A job scraping the servers at `addrs` every 200ms.
fn two_target_job(addrs: &[SocketAddr]) -> Config {
    let targets: Vec<String> = addrs.iter().map(|a| format!("'{a}'")).collect();
    config(&format!(
        "scrape_configs:\n  - job_name: d\n    scrape_interval: 200ms\n    static_configs: [{{targets: [{}]}}]\n",
        targets.join(", ")
    ))
}

/// Samples of `name` from the target at `addr`.
fn of_target(stored: &Stored, name: &str, addr: SocketAddr) -> Vec<(i64, f64)> {
    let instance = addr.to_string();
    stored
        .series(name)
        .into_iter()
        .filter(|(l, _, _)| l.get("instance") == Some(instance.as_str()))
        .map(|(_, t, v)| (t, v))
        .collect()
}

/// Prometheus's end-of-run staleness: a removed target's series are marked
/// stale only after the next scrape would have happened plus one more
/// interval and 10%, at the time of that missed scrape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_target_goes_stale_about_two_intervals_later() {
    let a = Server::start(Reply::text("m 1\n")).await;
    let b = Server::start(Reply::text("m 2\n")).await;
    let (stored, manager, _) = setup();
    manager.apply_config(&two_target_job(&[a.addr, b.addr])).unwrap();
    wait_until("both targets scraped", || {
        !of_target(&stored, "m", a.addr).is_empty() && !of_target(&stored, "m", b.addr).is_empty()
    })
    .await;
    manager.apply_config(&two_target_job(&[a.addr])).unwrap();
    let removed_at = Instant::now();
    let removed_ms = belfry::model::now_millis();
    let stale_b = || of_target(&stored, "m", b.addr).iter().any(|s| is_stale_nan(s.1));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!stale_b(), "markers written before the next scrape was due");
    wait_until("delayed staleness markers", stale_b).await;
    let waited = removed_at.elapsed();
    // The next slot (0..200ms away), then 200ms + 20ms more.
    assert!(
        waited >= Duration::from_millis(220),
        "markers after only {waited:?}"
    );
    let samples = of_target(&stored, "m", b.addr);
    let (marker_ts, _) = *samples.last().unwrap();
    assert!(is_stale_nan(samples.last().unwrap().1));
    let (last_ts, _) = samples[samples.len() - 2];
    // Stamped with the time of the scrape that did not happen.
    assert!(
        marker_ts > last_ts && marker_ts >= removed_ms,
        "{last_ts} {marker_ts}"
    );
    assert!(
        marker_ts - removed_ms <= 200 + 100,
        "marker at {marker_ts}, removed at {removed_ms}"
    );
    assert!(
        of_target(&stored, "up", b.addr)
            .last()
            .is_some_and(|s| is_stale_nan(s.1))
    );
    // The remaining target is untouched.
    assert!(!of_target(&stored, "m", a.addr).iter().any(|s| is_stale_nan(s.1)));
    manager.stop().await;
}

/// A target that comes back before its markers are written takes its
/// series over: no marker, and scraping goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_comes_back_in_time_is_not_marked_stale() {
    let a = Server::start(Reply::text("m 1\n")).await;
    let b = Server::start(Reply::text("m 2\n")).await;
    let (stored, manager, _) = setup();
    manager.apply_config(&two_target_job(&[a.addr, b.addr])).unwrap();
    wait_until("both targets scraped", || {
        !of_target(&stored, "m", b.addr).is_empty()
    })
    .await;
    manager.apply_config(&two_target_job(&[a.addr])).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    manager.apply_config(&two_target_job(&[a.addr, b.addr])).unwrap();
    let back = of_target(&stored, "m", b.addr).len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let samples = of_target(&stored, "m", b.addr);
    assert!(!samples.iter().any(|s| is_stale_nan(s.1)), "{samples:?}");
    assert!(samples.len() >= back + 3, "scraping did not go on: {samples:?}");
    assert_eq!(active(&manager, "d").len(), 2);
    manager.stop().await;
}

/// Prometheus's `target_limit`: more targets than the limit fail every
/// target of the job, with the reason on the targets API, and are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_limit_fails_every_target_of_the_job() {
    let a = Server::start(Reply::text("m 1\n")).await;
    let b = Server::start(Reply::text("m 2\n")).await;
    let (stored, manager, registry) = setup();
    let limited = |limit: u32| {
        config(&format!(
            "scrape_configs:\n  - job_name: l\n    scrape_interval: 200ms\n    target_limit: {limit}\n\
             \x20   static_configs: [{{targets: ['{}', '{}']}}]\n",
            a.addr, b.addr
        ))
    };
    manager.apply_config(&limited(1)).unwrap();
    wait_until("both targets report down", || {
        let t = active(&manager, "l");
        t.len() == 2 && t.iter().all(|t| t.health == Health::Down)
    })
    .await;
    for t in active(&manager, "l") {
        assert_eq!(
            t.last_error, "target_limit exceeded (number of targets: 2, limit: 1)",
            "{t:?}"
        );
    }
    assert!(
        stored.series("m").is_empty(),
        "a target over the limit was scraped"
    );
    assert!(stored.has("up", |_, v| v == 0.0));
    assert!(counter(&registry, "belfry_scrape_target_limit_exceeded_total") >= 1.0);
    assert!(
        a.seen.lock().is_empty() && b.seen.lock().is_empty(),
        "no request is sent"
    );

    manager.apply_config(&limited(2)).unwrap();
    wait_until("both targets up under a higher limit", || {
        active(&manager, "l").iter().all(|t| t.health == Health::Up)
    })
    .await;
    assert!(!stored.series("m").is_empty());
    manager.stop().await;
}

/// `enable_compression: false` asks for an uncompressed body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_compression_asks_for_identity() {
    let server = Server::start(Reply::text("m 1\n")).await;
    let (stored, manager, _) = setup();
    manager
        .apply_config(&config(&format!(
            "scrape_configs:\n  - job_name: c\n    scrape_interval: 200ms\n    enable_compression: false\n\
             \x20   static_configs: [{{targets: ['{}']}}]\n",
            server.addr
        )))
        .unwrap();
    wait_until("a scrape", || !stored.series("m").is_empty()).await;
    let seen = server.seen.lock().clone();
    assert_eq!(seen[0]["accept-encoding"], "identity");
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_basic_auth_and_body_limit() {
    let server = Server::start(Reply {
        gzip: true,
        auth: Some("Basic dXNlcjpzM2NyM3Q=".into()), // user:s3cr3t
        ..Reply::text("zipped 42\n")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "wrong\n").unwrap();
    let (stored, manager, _) = setup();
    let cfg = config(&format!(
        "scrape_configs:\n  - job_name: z\n    scrape_interval: 200ms\n    basic_auth: {{username: user, password_file: '{}'}}\n    static_configs: [{{targets: ['{}']}}]\n",
        pw.display(),
        server.addr
    ));
    manager.apply_config(&cfg).unwrap();
    wait_until("a 401", || active(&manager, "z")[0].last_error.contains("401")).await;
    // The password file is read on every scrape.
    std::fs::write(&pw, "s3cr3t\n").unwrap();
    wait_until("the gzipped sample", || stored.has("zipped", |_, v| v == 42.0)).await;

    let limited = config(&format!(
        "scrape_configs:\n  - job_name: z\n    scrape_interval: 200ms\n    body_size_limit: 5B\n    basic_auth: {{username: user, password: s3cr3t}}\n    static_configs: [{{targets: ['{}']}}]\n",
        server.addr
    ));
    manager.apply_config(&limited).unwrap();
    wait_until("the body limit", || {
        active(&manager, "z")[0]
            .last_error
            .contains("body size limit exceeded")
    })
    .await;
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sd_picks_up_new_targets_and_survives_broken_files() {
    let a = Server::start(Reply::text("from_a 1\n")).await;
    let b = Server::start(Reply::text("from_b 1\n")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.json");
    std::fs::write(
        &file,
        format!(r#"[{{"targets": ["{}"], "labels": {{"team": "x"}}}}]"#, a.addr),
    )
    .unwrap();
    let (stored, manager, registry) = setup();
    let cfg = config(&format!(
        "scrape_configs:\n  - job_name: f\n    scrape_interval: 200ms\n    file_sd_configs:\n      - files: ['{}/*.json']\n        refresh_interval: 1s\n    relabel_configs:\n      - {{source_labels: [__meta_filepath], regex: '.*', action: keep}}\n",
        dir.path().display()
    ));
    manager.apply_config(&cfg).unwrap();
    wait_until("target a", || {
        stored.has("from_a", |l, _| l.get("team") == Some("x"))
    })
    .await;
    let t = &active(&manager, "f")[0];
    assert_eq!(t.discovered_labels["__meta_filepath"], file.display().to_string());

    std::fs::write(&file, "[{broken").unwrap();
    wait_until("the read error to be counted", || {
        counter(&registry, "belfry_sd_file_read_errors_total") >= 1.0
    })
    .await;
    assert_eq!(
        active(&manager, "f").len(),
        1,
        "a broken file keeps the last good targets"
    );

    std::fs::write(&file, format!(r#"[{{"targets": ["{}", "{}"]}}]"#, a.addr, b.addr)).unwrap();
    wait_until("target b", || !stored.series("from_b").is_empty()).await;
    assert_eq!(active(&manager, "f").len(), 2);
    let jobs: HashMap<String, usize> = manager.targets().iter().fold(HashMap::new(), |mut m, t| {
        if let TargetStatus::Active(a) = t {
            *m.entry(a.scrape_pool.clone()).or_default() += 1;
        }
        m
    });
    assert_eq!(jobs["f"], 2);
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_targets_are_listed() {
    let (_, manager, _) = setup();
    let cfg = config(
        "scrape_configs:\n  - job_name: d\n    static_configs: [{targets: ['a:1', 'b:2']}]\n    relabel_configs:\n      - {source_labels: [__address__], regex: 'a:1', action: drop}\n",
    );
    manager.apply_config(&cfg).unwrap();
    let targets = manager.targets();
    let dropped: Vec<_> = targets
        .iter()
        .filter(|t| matches!(t, TargetStatus::Dropped(_)))
        .collect();
    assert_eq!(dropped.len(), 1);
    let json = serde_json::to_value(dropped[0]).unwrap();
    assert_eq!(json["discoveredLabels"]["__address__"], "a:1");
    assert_eq!(active(&manager, "d")[0].health, Health::Unknown);
    assert_eq!(active(&manager, "d")[0].last_scrape, "0001-01-01T00:00:00Z");
    manager.stop().await;
}
