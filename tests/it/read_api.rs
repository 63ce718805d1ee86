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

/// Imports `body` (text format, may carry timestamps) into `server`.
fn import(server: &BelfryServer, body: &str) {
    let (status, text) = post(&server.url("/api/v1/import/prometheus"), body.into(), &[]);
    assert_eq!(status, 204, "{text}");
}

fn names_of(v: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {v}"))
        .iter()
        .map(|s| s["__name__"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// `start`/`end` pick series by the time of their samples, and `limit`
/// truncates with Prometheus's warning, on `/api/v1/series` and
/// `/api/v1/labels` alike.
#[test]
fn series_and_labels_honour_start_end_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), None);
    let now_s = belfry::model::now_millis() / 1000;
    let hour_ago_ms = (now_s - 3600) * 1000;
    let now_ms = now_s * 1000;
    import(
        &server,
        &format!(
            "early_metric{{only_early=\"x\"}} 1 {hour_ago_ms}\n\
             late_metric{{only_late=\"y\",n=\"1\"}} 2 {now_ms}\n\
             late_metric{{only_late=\"y\",n=\"2\"}} 3 {now_ms}\n\
             late_metric{{only_late=\"y\",n=\"3\"}} 4 {now_ms}\n"
        ),
    );
    let sel = "match[]={__name__=~\"early_metric|late_metric\"}";
    let series = |range: &str| get_json(&server.url(&format!("/api/v1/series?{sel}{range}")));
    let labels = |range: &str| get_json(&server.url(&format!("/api/v1/labels?{sel}{range}")));

    // Around an hour ago: only the early series.
    let early = format!("&start={}&end={}", now_s - 3660, now_s - 3540);
    assert_eq!(names_of(&series(&early)), ["early_metric"]);
    assert_eq!(
        labels(&early)["data"],
        serde_json::json!(["__name__", "only_early"])
    );
    // The last minute: only the late ones.
    let late = format!("&start={}&end={}", now_s - 60, now_s + 60);
    assert_eq!(names_of(&series(&late)), ["late_metric"; 3]);
    assert_eq!(
        labels(&late)["data"],
        serde_json::json!(["__name__", "n", "only_late"])
    );
    // RFC 3339 times work as well as Unix seconds.
    let rfc = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let late_rfc = format!("&start={}&end={}", rfc(now_s - 60), rfc(now_s + 60));
    assert_eq!(names_of(&series(&late_rfc)), ["late_metric"; 3]);
    // Between the two: nothing, and no warning.
    let gap = format!("&start={}&end={}", now_s - 3000, now_s - 600);
    let v = series(&gap);
    assert_eq!(v["data"], serde_json::json!([]), "{v}");
    assert!(
        v.get("warnings").is_none_or(|w| w.as_array().unwrap().is_empty()),
        "{v}"
    );
    // Both: everything.
    let both = format!("&start={}&end={}", now_s - 7200, now_s + 60);
    assert_eq!(names_of(&series(&both)).len(), 4);

    // limit below the count truncates and warns as Prometheus does.
    let v = series(&format!("{both}&limit=2"));
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        v["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
    let v = labels(&format!("{both}&limit=2"));
    assert_eq!(v["data"], serde_json::json!(["__name__", "n"]));
    assert_eq!(
        v["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
    // limit equal to the count, or 0 (no limit): all of it, no warning.
    for limit in ["4", "0"] {
        let v = series(&format!("{both}&limit={limit}"));
        assert_eq!(v["data"].as_array().unwrap().len(), 4, "limit={limit}: {v}");
        assert!(
            v.get("warnings").is_none_or(|w| w.as_array().unwrap().is_empty()),
            "{v}"
        );
    }
    let v = labels(&format!("{both}&limit=4"));
    assert_eq!(v["data"].as_array().unwrap().len(), 4, "{v}");
    assert!(
        v.get("warnings").is_none_or(|w| w.as_array().unwrap().is_empty()),
        "{v}"
    );
    // A negative limit is bad data.
    let (status, text) = http_get(&server.url(&format!("/api/v1/series?{sel}&limit=-1"))).unwrap();
    assert_eq!(status, 400, "{text}");
    server.stop();
}

/// A series pushed with quoted UTF-8 names comes out of `/federate` in a
/// form Belfry's own text parser reads back to the same series and value.
#[test]
fn federate_output_with_utf8_names_parses_back() {
    use belfry::exposition::{Entry, Format, Parser};

    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), None);
    import(
        &server,
        "{\"my.metric\",\"label.x\"=\"v\"} 1\n{\"my.metric\",\"label.x\"=\"w \\\"q\\\" \\\\ \\n\"} 2\nplain{a=\"b\"} 3\n",
    );
    let (status, fed) =
        http_get(&server.url("/federate?match[]={__name__=\"my.metric\"}&match[]=plain")).unwrap();
    assert_eq!(status, 200, "{fed}");
    assert!(fed.contains("# TYPE \"my.metric\" untyped\n"), "{fed}");
    assert!(fed.contains("{\"my.metric\",\"label.x\"=\"v\"} 1 "), "{fed}");
    assert!(fed.contains("plain{a=\"b\"} 3 "), "{fed}");
    let mut read: Vec<(Vec<(String, String)>, f64)> = Parser::new(fed.as_bytes(), Format::PrometheusText)
        .filter_map(|e| {
            match e.unwrap_or_else(|err| panic!("federate output does not parse: {err}\n{fed}")) {
                Entry::Sample(s) => {
                    let mut labels: Vec<(String, String)> = s
                        .labels
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect();
                    labels.push(("__name__".into(), s.name.to_string()));
                    labels.sort();
                    Some((labels, s.value))
                }
                _ => None,
            }
        })
        .collect();
    read.sort_by(|a, b| a.0.cmp(&b.0));
    let series = |pairs: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    };
    let mut want = vec![
        (series(&[("__name__", "my.metric"), ("label.x", "v")]), 1.0),
        (
            series(&[("__name__", "my.metric"), ("label.x", "w \"q\" \\ \n")]),
            2.0,
        ),
        (series(&[("__name__", "plain"), ("a", "b")]), 3.0),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(read, want, "{fed}");
    server.stop();
}
