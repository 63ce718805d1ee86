//! Remote write end to end: durability across `kill -9`, and Debian's
//! `prometheus` as a real remote-write client.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use belfry::ingest::prompb::{Label, Sample, TimeSeries, WriteRequest, encode_snappy};
use belfry::model::{Labels, Matcher};
use belfry::selfmetrics::Registry;
use belfry::tsdb::{Storage, Tsdb, TsdbOptions};

use crate::support::{
    BelfryServer, ChildGuard, block, free_port, get_json, http_client, http_get, peer_binary, wait_for,
    with_accounts,
};

fn write_request(batch: u64, series: u64, t: i64) -> WriteRequest {
    WriteRequest {
        timeseries: (0..series)
            .map(|s| TimeSeries {
                labels: vec![
                    Label::new("__name__", "crash_test_value"),
                    Label::new("series", &s.to_string()),
                ],
                samples: vec![Sample {
                    value: batch as f64,
                    timestamp: t,
                }],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

async fn post_write(client: &reqwest::Client, url: &str, req: &WriteRequest) -> Result<u16, String> {
    let body = encode_snappy(req).map_err(|e| e.to_string())?;
    let resp = client
        .post(url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(resp.status().as_u16())
}

/// Every batch that got a 2xx before a `kill -9` is there after restart.
#[test]
fn acknowledged_samples_survive_kill_9() {
    const SERIES: u64 = 50;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = BelfryServer::start(&data, None);
    let url = server.url("/api/v1/write");

    // A writer keeps sending batches; the main thread kills the server while
    // it does. Only batches that were answered 2xx are owed.
    let acked: Arc<Mutex<Vec<(u64, i64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, url) = (acked.clone(), stop.clone(), url.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let client = crate::support::http_client();
            let t0 = belfry::model::now_millis() - 60_000;
            for batch in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let t = t0 + batch as i64 * 10;
                match rt.block_on(post_write(&client, &url, &write_request(batch, SERIES, t))) {
                    Ok(code) if (200..300).contains(&code) => acked.lock().unwrap().push((batch, t)),
                    Ok(code) => panic!("remote write answered {code} before the crash"),
                    Err(_) => return, // the server is gone
                }
            }
        })
    };
    wait_for(Duration::from_secs(30), "200 acknowledged batches", || {
        (acked.lock().unwrap().len() >= 200).then_some(())
    });
    server.kill_hard();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();

    // The server starts again on the crashed data dir and serves the series.
    let server = BelfryServer::start(&data, None);
    let v = get_json(&server.url("/api/v1/series?match[]=crash_test_value"));
    assert_eq!(v["data"].as_array().unwrap().len(), SERIES as usize);
    server.kill_hard();

    // Read every sample back through the storage engine itself.
    let registry = Registry::new();
    let tsdb = Tsdb::open(&data.join("metrics"), TsdbOptions::default(), &registry).unwrap();
    let querier = tsdb.querier();
    let selected = querier
        .select(
            &[Matcher::equal("__name__", "crash_test_value")],
            i64::MIN,
            i64::MAX,
        )
        .unwrap();
    assert_eq!(selected.len(), SERIES as usize);
    for mut s in selected {
        let mut stored = Vec::new();
        while let Some(sample) = s.samples.next() {
            stored.push(sample);
        }
        for (batch, t) in &acked {
            assert!(
                stored.contains(&(*t, *batch as f64)),
                "{}: acknowledged batch {batch} at {t} is missing after kill -9",
                s.labels
            );
        }
    }
    let _: &dyn Storage = tsdb.as_ref();
    tsdb.close().unwrap();
    let _ = Labels::default();
}

/// Debian's Prometheus scrapes itself and remote-writes to Belfry with
/// HTTP Basic auth (an ingest token as the password, as `remote_write`'s
/// `basic_auth` sends it); what it scraped arrives, with its labels, and
/// is read back with a read token.
#[test]
fn prometheus_remote_writes_into_belfry() {
    let Some(prometheus) = peer_binary("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let belfry_config = dir.path().join("belfry.yml");
    std::fs::write(&belfry_config, "scrape_configs: []\n").unwrap();
    let data = dir.path().join("data");
    let (ingest, read) = with_accounts(&data, |accounts| {
        let cli = belfry::auth::Actor::cli();
        let add = |name: &str, scope| accounts.tokens.add(&cli, name, &[scope], None).unwrap().secret;
        (
            add("prometheus", belfry::auth::Scope::Ingest),
            add("reader", belfry::auth::Scope::Read),
        )
    });
    let server = BelfryServer::start(&data, Some(&belfry_config));
    let get_json = |url: &str| get_json_with_token(url, &read);
    // Without the read token, nothing is read.
    assert_eq!(http_get(&server.url("/api/v1/series?match[]=up")).unwrap().0, 401);

    let prom_port = free_port();
    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{prom_port}']\nremote_write:\n  - url: {}\n    basic_auth: {{username: prometheus, password: {ingest}}}\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n",
            server.url("/api/v1/write")
        ),
    )
    .unwrap();
    let _prom = ChildGuard(
        std::process::Command::new(prometheus)
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("prom").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );

    let series = wait_for(
        Duration::from_secs(60),
        "prometheus's scraped series in belfry",
        || {
            let v = get_json(&server.url("/api/v1/series?match[]=up{job=\"prometheus\"}"));
            let data = v["data"].as_array().cloned().unwrap_or_default();
            (!data.is_empty()).then_some(data)
        },
    );
    assert_eq!(series[0]["instance"], format!("127.0.0.1:{prom_port}"));
    let v = get_json(&server.url("/api/v1/series?match[]=prometheus_build_info"));
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    let names = get_json(&server.url("/api/v1/label/__name__/values?match[]={job=\"prometheus\"}"));
    assert!(names["data"].as_array().unwrap().len() > 100, "{names}");
    let fed = block(async {
        http_client()
            .get(server.url("/federate?match[]=up{job=\"prometheus\"}"))
            .bearer_auth(&read)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        fed.lines().any(|l| l.starts_with("up{") && l.contains(" 1 ")),
        "{fed}"
    );
}

/// A GET with a bearer token that must answer 200, parsed as JSON.
fn get_json_with_token(url: &str, token: &str) -> serde_json::Value {
    block(async {
        let resp = http_client().get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET {url}");
        serde_json::from_str(&resp.text().await.unwrap()).unwrap()
    })
}
