//! The logs store through `belfry serve`: NDJSON posted over HTTP is
//! searched back with filters, counts and context; `kill -9` during
//! ingest loses no acknowledged record; a lagging index answers 429 with
//! `Retry-After`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::support::{BelfryServer, get_json, http_client, wait_for};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn post(rt: &tokio::runtime::Runtime, url: &str, body: String) -> (u16, Option<String>, Value) {
    rt.block_on(async {
        let resp = http_client()
            .post(url)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        (status, retry, body)
    })
}

fn search(server: &BelfryServer, params: &str) -> Value {
    get_json(&server.url(&format!("/api/belfry/logs/search?start=0&{params}")))["data"].clone()
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn ndjson_is_searchable_with_filters_counts_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(dir.path(), None);
    let rt = runtime();
    let t = now_secs() - 60.0;
    let lines = [
        json!({"ts": t, "level": "INFO", "service": "api", "msg": "login ok", "user_id": "u1", "path": "/login", "status": 200, "duration_ms": 12}),
        json!({"ts": t + 1.0, "levelname": "ERROR", "service": "api", "message": "gradebook export failed",
               "error": "TimeoutError: db", "request_id": "r-9", "course": "CS101"}),
        json!({"@timestamp": "not a time", "level": "warn", "app": "worker", "log": "queue backlog growing"}),
        json!({"ts": t + 3.0, "level": "debug", "service": "api", "msg": "cache miss", "labels": {"env": "prod"}}),
    ];
    let mut body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    body.push_str("this is not json\n");
    let (status, _, answer) = post(&rt, &server.url("/api/belfry/logs"), body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 4);
    assert_eq!(answer["rejected"][0]["line"], 5);
    assert!(
        answer["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    // Searchable after the next index commit (2 s by default).
    let data = wait_for(Duration::from_secs(20), "the lines to be indexed", || {
        let d = search(&server, "limit=10");
        (d["total"] == 4).then_some(d)
    });
    let messages: Vec<&str> = data["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages[0], "queue backlog growing",
        "no usable timestamp: arrival time, newest"
    );
    assert_eq!(
        &messages[1..],
        ["cache miss", "gradebook export failed", "login ok"]
    );

    let d = search(&server, "query=gradebook&level=error&service=api");
    assert_eq!(d["total"], 1);
    let line = &d["lines"][0];
    assert_eq!(line["error"], "TimeoutError: db");
    assert_eq!(line["request_id"], "r-9");
    assert_eq!(line["fields"]["course"], "CS101");
    let id = line["id"].as_u64().unwrap();

    assert_eq!(search(&server, "filters=course%3DCS101")["total"], 1);
    assert_eq!(search(&server, "filters=env%3Dprod")["total"], 1);
    assert_eq!(
        search(&server, "status=200&path=/login")["lines"][0]["duration"],
        0.012
    );
    assert_eq!(search(&server, "service=worker&level=warning")["total"], 1);

    let d = search(&server, "buckets=1");
    assert_eq!(d["histogram"][0]["counts"], json!([1, 1, 1, 1, 0]));

    let c =
        get_json(&server.url(&format!("/api/belfry/logs/context?id={id}&before=5&after=5")))["data"].clone();
    let around: Vec<&str> = c["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(around, ["login ok", "gradebook export failed", "cache miss"]);

    let (status, body) = crate::support::http_get(&server.url("/api/belfry/logs/search?level=loud")).unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("unknown level"), "{body}");
    let (status, _) = crate::support::http_get(&server.url("/api/belfry/logs/context?id=999999")).unwrap();
    assert_eq!(status, 404);

    // Shippers compress: a gzip body is read the same way.
    let gz = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(format!("{}\n", json!({"msg": "compressed line", "level": "critical"})).as_bytes())
            .unwrap();
        enc.finish().unwrap()
    };
    let status = rt.block_on(async {
        http_client()
            .post(server.url("/api/belfry/logs"))
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(gz)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 200);
    wait_for(Duration::from_secs(20), "the gzip line", || {
        (search(&server, "level=critical")["total"] == 1).then_some(())
    });

    let metrics = crate::support::http_get(&server.url("/metrics")).unwrap().1;
    assert!(
        metrics.contains("belfry_logs_ingested_total{source=\"ndjson\",level=\"error\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("belfry_logs_rejected_total{reason=\"malformed\"} 1"),
        "{metrics}"
    );
    server.stop();
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(dir.path(), None);
    let url = server.url("/api/belfry/logs");
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    const PER_BATCH: usize = 50;
    let writers: Vec<_> = (0..3u64)
        .map(|w| {
            let (url, acked, stop) = (url.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let rt = runtime();
                let client = http_client();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let batch = w * 1_000_000 + n;
                    n += 1;
                    let body: String = (0..PER_BATCH)
                        .map(|i| format!("{}\n", json!({"level": "info", "service": "load", "msg": format!("batch{batch} line {i}")})))
                        .collect();
                    let sent = rt.block_on(async {
                        client
                            .post(&url)
                            .header("content-type", "application/x-ndjson")
                            .body(body)
                            .send()
                            .await
                    });
                    match sent {
                        Ok(r) if r.status().as_u16() == 200 => acked.lock().push(batch),
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    wait_for(Duration::from_secs(30), "acknowledged batches", || {
        (acked.lock().len() >= 60).then_some(())
    });
    server.kill_hard();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().clone();

    let server = BelfryServer::start(dir.path(), None);
    // Replay commits the WAL's tail before the server is ready.
    let total = search(&server, "limit=1")["total"].as_u64().unwrap();
    assert!(
        total >= (acked.len() * PER_BATCH) as u64,
        "{total} lines for {} acknowledged batches",
        acked.len()
    );
    for batch in &acked {
        let d = search(&server, &format!("query=batch{batch}&limit=1"));
        assert_eq!(
            d["total"], PER_BATCH as u64,
            "batch {batch} after the restart: {d}"
        );
    }
    server.stop();
}

#[test]
fn a_lagging_index_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        "logs:\n  limits:\n    max_line_bytes: 1KB\n    max_pending_bytes: 2KB\n  commit:\n    interval: 1h\n    max_records: 1000000\n",
    )
    .unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let rt = runtime();
    let line = format!("{}\n", json!({"msg": "x".repeat(900)}));
    for _ in 0..2 {
        let (status, _, body) = post(&rt, &server.url("/api/belfry/logs"), line.clone());
        assert_eq!(status, 200, "{body}");
    }
    let (status, retry, body) = post(&rt, &server.url("/api/belfry/logs"), line);
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry.as_deref(), Some("3600"));
    assert!(
        body["error"].as_str().unwrap().contains("max_pending_bytes"),
        "{body}"
    );
    server.stop();
}
