//! The Prometheus read APIs and ingest error paths, against a real server:
//! shapes, parameters, limits and the metrics that count limit hits.

use belfry::ingest::prompb::{Label, Sample, TimeSeries, WriteRequest, encode_snappy};

use crate::support::{BelfryServer, get_json, http_client, http_get};

fn post(url: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = http_client().post(url).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn remote_write_headers() -> [(&'static str, &'static str); 3] {
    [
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ]
}

fn metric_value(server: &BelfryServer, line_prefix: &str) -> f64 {
    let (_, text) = http_get(&server.url("/metrics")).unwrap();
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn start_with_data() -> (tempfile::TempDir, BelfryServer) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        "global:\n  external_labels:\n    site: campus\nserver:\n  request_body_limit: 64KB\nscrape_configs: []\n",
    )
    .unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let mut body = String::from("# TYPE lms_logins_total counter\n# HELP lms_logins_total Logins.\n");
    for course in ["math", "art", "bio"] {
        body.push_str(&format!(
            "lms_logins_total{{course=\"{course}\",comma=\"a,b\"}} 5\n"
        ));
    }
    body.push_str("lms_active_users{course=\"math\"} 42\n");
    let (status, text) = post(
        &server.url("/api/v1/import/prometheus?extra_label=env=test"),
        body.into(),
        &[],
    );
    assert_eq!(status, 204, "{text}");
    (dir, server)
}

#[test]
fn series_labels_values_federate_and_status() {
    let (_dir, server) = start_with_data();

    let v = get_json(&server.url("/api/v1/series?match[]=lms_logins_total&match[]=lms_active_users"));
    let series = v["data"].as_array().unwrap();
    assert_eq!(series.len(), 4, "{v}");
    assert!(series.iter().all(|s| s["env"] == "test"));
    assert!(
        series.iter().any(|s| s["comma"] == "a,b"),
        "a label value with a comma survives: {v}"
    );

    let v = get_json(&server.url("/api/v1/label/course/values?match[]=lms_logins_total&limit=2"));
    assert_eq!(v["data"], serde_json::json!(["art", "bio"]));
    assert_eq!(v["warnings"][0], "results truncated due to limit");

    let v = get_json(&server.url("/api/v1/labels?match[]=lms_active_users"));
    assert_eq!(v["data"], serde_json::json!(["__name__", "course", "env"]));

    // POST with a form body works like GET.
    let (status, text) = post(
        &server.url("/api/v1/series"),
        b"match[]=lms_active_users".to_vec(),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"course\":\"math\""), "{text}");

    // Bad parameters get Prometheus's error shape.
    let (status, text) = http_get(&server.url("/api/v1/series")).unwrap();
    assert_eq!(status, 400);
    let err: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(err["status"], "error");
    assert_eq!(err["errorType"], "bad_data");
    let (status, text) = http_get(&server.url("/api/v1/series?match[]=up&start=yesterday")).unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("start"), "{text}");

    let (_, fed) = http_get(&server.url("/federate?match[]=lms_active_users")).unwrap();
    assert!(fed.contains("# TYPE lms_active_users untyped"), "{fed}");
    assert!(
        fed.contains("lms_active_users{course=\"math\",env=\"test\",site=\"campus\"} 42 "),
        "{fed}"
    );

    let v = get_json(&server.url("/api/v1/status/tsdb"));
    assert!(v["data"]["headStats"]["numSeries"].as_u64().unwrap() >= 4, "{v}");
    let top = &v["data"]["seriesCountByMetricName"];
    assert!(
        top.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "lms_logins_total" && e["value"] == 3),
        "{v}"
    );

    let v = get_json(&server.url("/api/v1/status/buildinfo"));
    assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));
    server.stop();
}

#[test]
fn bad_ingest_is_refused_clearly_and_counted_and_stores_nothing() {
    let (_dir, server) = start_with_data();

    // A body over server.request_body_limit: 413, counted.
    let big = vec![b'a'; 100 * 1024];
    let (status, text) = post(&server.url("/api/v1/import/prometheus"), big, &[]);
    assert_eq!(status, 413, "{text}");
    assert!(
        text.contains("request_body_limit") || text.contains("limit"),
        "{text}"
    );
    assert_eq!(
        metric_value(&server, "belfry_http_request_body_limit_exceeded_total"),
        1.0
    );

    // A malformed text body names the line; nothing of it is stored.
    let (status, text) = post(
        &server.url("/api/v1/import/prometheus"),
        b"good_metric 1\nbad_metric{x=\"1\" 2\n".to_vec(),
        &[],
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("line 2"), "{text}");
    let v = get_json(&server.url("/api/v1/series?match[]=good_metric"));
    assert_eq!(v["data"].as_array().unwrap().len(), 0);

    // Garbage where a snappy protobuf belongs.
    let (status, text) = post(
        &server.url("/api/v1/write"),
        b"\x00\x01not snappy".to_vec(),
        &remote_write_headers(),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.to_lowercase().contains("snappy"), "{text}");

    // A series with too many labels is refused and counted; the good one lands.
    let mut labels = vec![Label::new("__name__", "too_many")];
    for i in 0..200 {
        labels.push(Label::new(&format!("l{i}"), "v"));
    }
    let now = belfry::model::now_millis();
    let req = WriteRequest {
        timeseries: vec![
            TimeSeries {
                labels,
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: now,
                }],
                ..Default::default()
            },
            TimeSeries {
                labels: vec![Label::new("__name__", "fine")],
                samples: vec![Sample {
                    value: 2.0,
                    timestamp: now,
                }],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let (status, text) = post(
        &server.url("/api/v1/write"),
        encode_snappy(&req).unwrap(),
        &remote_write_headers(),
    );
    assert_eq!(status, 400, "{text}");
    let v = get_json(&server.url("/api/v1/series?match[]=fine"));
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    let v = get_json(&server.url("/api/v1/series?match[]=too_many"));
    assert_eq!(v["data"].as_array().unwrap().len(), 0, "{v}");
    let (_, metrics) = http_get(&server.url("/metrics")).unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("belfry_ingest_limit_hits_total{") && l.contains("remote_write")),
        "{metrics}"
    );

    // What was stored before all this is intact.
    let v = get_json(&server.url("/api/v1/series?match[]=lms_logins_total"));
    assert_eq!(v["data"].as_array().unwrap().len(), 3);
    server.stop();
}
