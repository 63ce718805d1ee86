//! LogQL and the Loki HTTP API through `belfry serve`: NDJSON posted over
//! HTTP, then every Loki endpoint in Loki's response shapes — log queries
//! with line filters, parsers and formats, metric queries with known
//! answers, metadata, index statistics, Grafana's health check, errors as
//! plain text, a limit hit, and a tail over a real WebSocket client.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{BelfryServer, http_client, wait_for};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ingest(rt: &tokio::runtime::Runtime, server: &BelfryServer, lines: &[Value]) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    rt.block_on(async {
        let resp = http_client()
            .post(server.url("/api/belfry/logs"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap());
    });
}

/// GET `path` with `params`: (status, content type, body).
fn get(
    rt: &tokio::runtime::Runtime,
    server: &BelfryServer,
    path: &str,
    params: &[(&str, String)],
) -> (u16, String, String) {
    rt.block_on(async {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let resp = http_client()
            .get(format!("{}?{query}", server.url(path)))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, resp.text().await.unwrap())
    })
}

fn get_ok(
    rt: &tokio::runtime::Runtime,
    server: &BelfryServer,
    path: &str,
    params: &[(&str, String)],
) -> Value {
    let (status, _, body) = get(rt, server, path, params);
    assert_eq!(status, 200, "GET {path} {params:?}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

const NS: i64 = 1_000_000_000;

/// Every line of a streams result, newest first across streams.
fn lines(v: &Value) -> Vec<String> {
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "streams", "{v}");
    let mut all: Vec<(i64, String)> = Vec::new();
    for s in v["data"]["result"].as_array().unwrap() {
        assert!(s["stream"].is_object());
        for e in s["values"].as_array().unwrap() {
            let ts: i64 = e[0].as_str().expect("timestamps are ns strings").parse().unwrap();
            all.push((ts, e[1].as_str().unwrap().to_string()));
        }
    }
    all.sort_by_key(|a| std::cmp::Reverse(a.0));
    all.into_iter().map(|(_, l)| l).collect()
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    server: BelfryServer,
    base: i64,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn range(&self, query: &str, extra: &[(&str, String)]) -> Value {
        let mut p = vec![
            ("query", query.to_string()),
            ("start", (self.base * NS).to_string()),
            ("end", ((self.base + 120) * NS).to_string()),
        ];
        p.extend(extra.iter().cloned());
        get_ok(&self.rt, &self.server, "/loki/api/v1/query_range", &p)
    }

    fn instant(&self, query: &str, t: i64) -> Value {
        get_ok(
            &self.rt,
            &self.server,
            "/loki/api/v1/query",
            &[("query", query.to_string()), ("time", t.to_string())],
        )
    }
}

fn start(config: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config.map(|c| {
        let p = dir.path().join("belfry.yml");
        std::fs::write(&p, c).unwrap();
        p
    });
    let data = dir.path().join("data");
    let server = BelfryServer::start(&data, cfg.as_deref());
    let rt = runtime();
    // Minute-aligned, ten minutes back: the windows below have known contents.
    let base = now_secs() / 60 * 60 - 600;
    let t = |s: i64| (base + s) as f64;
    ingest(
        &rt,
        &server,
        &[
            json!({"ts": t(1), "level": "info", "service": "api", "msg": "GET /login 200", "status": 200,
                   "path": "/login", "duration_ms": 12, "labels": {"env": "prod"}}),
            json!({"ts": t(2), "level": "error", "service": "api", "msg": "db timeout after 5s", "status": 503,
                   "path": "/grades", "course": "CS101"}),
            json!({"ts": t(3), "level": "info", "service": "api", "msg": "method=POST took=250ms who=ann"}),
            json!({"ts": t(61), "level": "warning", "service": "api", "msg": "{\"event\":\"slow\",\"took_ms\":900}"}),
            json!({"ts": t(62), "level": "error", "service": "api", "msg": "connection refused by db"}),
            json!({"ts": t(70), "level": "info", "service": "worker", "msg": "queue backlog"}),
        ],
    );
    let f = Fixture {
        rt,
        server,
        base,
        _dir: dir,
    };
    // Counted from the index's columns, so a test's small limits do
    // not stop the wait.
    wait_for(Duration::from_secs(30), "the lines to be indexed", || {
        let v = get_ok(
            &f.rt,
            &f.server,
            "/api/belfry/logs/search",
            &[("limit", "1".into())],
        );
        (v["data"]["total"] == 6).then_some(())
    });
    f
}

#[test]
fn log_queries_filter_parse_and_format_lines() {
    let f = start(None);
    let v = f.range(r#"{service="api"}"#, &[]);
    assert_eq!(
        lines(&v),
        [
            "connection refused by db",
            "{\"event\":\"slow\",\"took_ms\":900}",
            "method=POST took=250ms who=ann",
            "db timeout after 5s",
            "GET /login 200"
        ]
    );
    // Streams are grouped by label set: service, level and stream labels.
    let streams = v["data"]["result"].as_array().unwrap();
    assert!(
        streams
            .iter()
            .any(|s| s["stream"] == json!({"service": "api", "level": "info", "env": "prod"}))
    );
    assert!(
        v["data"]["stats"]["summary"]["totalLinesProcessed"]
            .as_u64()
            .unwrap()
            >= 5
    );

    // Direction and limit.
    let v = f.range(
        r#"{service="api"}"#,
        &[("direction", "forward".into()), ("limit", "2".into())],
    );
    assert_eq!(lines(&v), ["db timeout after 5s", "GET /login 200"]);

    let q = |query: &str| lines(&f.range(query, &[]));
    assert_eq!(
        q(r#"{service="api"} |= "db""#),
        ["connection refused by db", "db timeout after 5s"]
    );
    // A substring inside a word, found through the index and checked on the line.
    assert_eq!(q(r#"{service="api"} |= "efuse""#), ["connection refused by db"]);
    assert_eq!(q(r#"{service="api"} |= "timeout" or "refused""#).len(), 2);
    assert_eq!(q(r#"{service="api"} != "db" |~ "^(GET|method)""#).len(), 2);
    assert_eq!(q(r#"{service="api"} |~ "(?i)DB TIME""#), ["db timeout after 5s"]);
    assert_eq!(
        q(r#"{service="api", level=~"warn.*|error"} !~ "refused""#).len(),
        2
    );
    assert_eq!(q(r#"{service="api"} | status >= 500"#), ["db timeout after 5s"]);
    assert_eq!(
        q(r#"{service="api"} | path="/login" and duration < 20ms"#),
        ["GET /login 200"]
    );
    assert_eq!(
        q(r#"{service="api"} | logfmt | took > 200ms and who="ann""#),
        ["method=POST took=250ms who=ann"]
    );
    assert_eq!(
        q(r#"{service="api"} | json | took_ms >= 900"#),
        ["{\"event\":\"slow\",\"took_ms\":900}"]
    );
    // `| json` also sees the record's stored fields.
    assert_eq!(
        q(r#"{service="api"} | json | course="CS101""#),
        ["db timeout after 5s"]
    );
    assert_eq!(
        q(r#"{service="api"} | pattern "<method> <path> <code>" | code="200""#),
        ["GET /login 200"]
    );
    assert_eq!(
        q(r#"{service="api"} | regexp "took=(?P<took>\\d+)ms" | took > 100"#),
        ["method=POST took=250ms who=ann"]
    );
    assert_eq!(
        q(r#"{service="api", level="error"} | line_format "{{.path}}|{{ __line__ | toUpper }}""#),
        ["|CONNECTION REFUSED BY DB", "/grades|DB TIMEOUT AFTER 5S"]
    );
    // Labels a pipeline adds join the stream's label set.
    let v = f.range(
        r#"{service="api"} | logfmt | label_format verb=method | drop took, who | keep service, verb"#,
        &[],
    );
    let labelled: Vec<&Value> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["stream"])
        .collect();
    assert!(
        labelled.contains(&&json!({"service": "api", "verb": "POST"})),
        "{labelled:?}"
    );
    assert_eq!(q(r#"{service_name="worker"}"#), ["queue backlog"]);
    assert_eq!(q(r#"{env="prod"}"#), ["GET /login 200"]);
    assert!(q(r#"{service="nobody"}"#).is_empty());
}

/// Stream matchers, line filters and the `regexp` stage read Go's syntax,
/// as Loki does: a `{` that opens no repetition is a literal.
#[test]
fn regexes_take_braces_as_go_does() {
    let f = start(None);
    let t = |s: i64| (f.base + s) as f64;
    ingest(
        &f.rt,
        &f.server,
        &[
            json!({"ts": t(5), "level": "info", "service": "lms", "msg": "GET /api/courses/{id} 200",
                   "labels": {"route": "/api/courses/{course_id}"}}),
            json!({"ts": t(6), "level": "info", "service": "lms", "msg": "GET /api/courses/7 200",
                   "labels": {"route": "/api/courses/7"}}),
        ],
    );
    wait_for(Duration::from_secs(30), "the lines to be indexed", || {
        let v = get_ok(
            &f.rt,
            &f.server,
            "/api/belfry/logs/search",
            &[("limit", "1".into())],
        );
        (v["data"]["total"] == 8).then_some(())
    });
    let q = |query: &str| lines(&f.range(query, &[]));
    assert_eq!(
        q(r#"{route=~"/api/courses/{course_id}"}"#),
        ["GET /api/courses/{id} 200"]
    );
    assert_eq!(q(r#"{service="lms"} |~ "{id}""#), ["GET /api/courses/{id} 200"]);
    assert_eq!(
        q(r#"{service="lms"} !~ "courses/{id}""#),
        ["GET /api/courses/7 200"]
    );
    assert_eq!(
        q(r#"{service="lms"} | regexp "courses/(?P<course>{[a-z]+}|[0-9]{1,3})" | course="{id}""#),
        ["GET /api/courses/{id} 200"]
    );
    // What Go refuses is refused, naming the pattern.
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query_range",
        &[
            ("query", r#"{service="lms"} |~ "a{2}{3}""#.to_string()),
            ("start", (f.base * NS).to_string()),
            ("end", ((f.base + 120) * NS).to_string()),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("a{2}{3}") && body.contains("invalid nested repetition operator"),
        "{body}"
    );
}

fn matrix(v: &Value) -> Vec<(Value, Vec<(f64, f64)>)> {
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "matrix", "{v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let points = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().parse().unwrap()))
                .collect();
            (s["metric"].clone(), points)
        })
        .collect()
}

fn scalar_of_vector(v: &Value) -> f64 {
    assert_eq!(v["data"]["resultType"], "vector", "{v}");
    let r = v["data"]["result"].as_array().unwrap();
    assert_eq!(r.len(), 1, "{v}");
    r[0]["value"][1].as_str().unwrap().parse().unwrap()
}

#[test]
fn metric_queries_have_known_answers() {
    let f = start(None);
    let b = f.base;
    let step = [("step", "60".to_string())];
    let v = f.range(r#"sum by (level) (count_over_time({service="api"}[1m]))"#, &step);
    let m = matrix(&v);
    let at = |level: &str| -> Vec<(f64, f64)> {
        m.iter()
            .find(|(l, _)| l == &json!({"level": level}))
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };
    // Windows (b, b+60] and (b+60, b+120].
    assert_eq!(at("info"), [((b + 60) as f64, 2.0)]);
    assert_eq!(at("error"), [((b + 60) as f64, 1.0), ((b + 120) as f64, 1.0)]);
    assert_eq!(at("warning"), [((b + 120) as f64, 1.0)]);

    let t = (b + 120) * NS;
    assert_eq!(
        scalar_of_vector(&f.instant(r#"sum(count_over_time({service="api"}[2m]))"#, t)),
        5.0
    );
    assert_eq!(
        scalar_of_vector(&f.instant(r#"sum(count_over_time({service="api"}[2m])) * 2"#, t)),
        10.0
    );
    assert_eq!(
        scalar_of_vector(&f.instant(r#"sum(rate({service="api"}[1m]))"#, (b + 60) * NS)),
        0.05
    );
    assert_eq!(
        scalar_of_vector(&f.instant(r#"sum(count_over_time({service="api"} |= "db" [2m]))"#, t)),
        2.0
    );
    assert_eq!(
        scalar_of_vector(&f.instant(r#"sum(bytes_over_time({service="api", level="error"}[2m]))"#, t)),
        ("db timeout after 5s".len() + "connection refused by db".len()) as f64
    );
    assert_eq!(
        scalar_of_vector(&f.instant(
            r#"sum_over_time({service="api"} | logfmt | unwrap duration(took) | __error__="" [2m])"#,
            t
        )),
        0.25
    );
    assert_eq!(
        scalar_of_vector(&f.instant(
            r#"max_over_time({service="api"} | unwrap status [2m]) by (service)"#,
            t
        )),
        503.0
    );
    assert_eq!(
        scalar_of_vector(&f.instant(
            r#"avg_over_time({service="api"} | unwrap status [2m]) by (service)"#,
            t
        )),
        351.5
    );
    assert_eq!(
        scalar_of_vector(&f.instant(
            r#"quantile_over_time(0.5, {service="api"} | unwrap status [2m]) by (service)"#,
            t
        )),
        351.5
    );
    // `offset` moves the window back: (b, b+60] seen from b+120.
    assert_eq!(
        scalar_of_vector(&f.instant(r#"sum(count_over_time({service="api"}[1m] offset 1m))"#, t)),
        3.0
    );
    let top = f.instant(
        r#"topk(1, sum by (level) (count_over_time({service="api"} != "GET" [2m])))"#,
        t,
    );
    assert_eq!(top["data"]["result"][0]["metric"], json!({"level": "error"}));
    let absent = f.instant(r#"absent_over_time({service="nobody"}[1m])"#, t);
    assert_eq!(
        absent["data"]["result"][0]["metric"],
        json!({"service": "nobody"})
    );
    assert_eq!(scalar_of_vector(&absent), 1.0);
    // Grafana's "Save & test".
    assert_eq!(scalar_of_vector(&f.instant("vector(1)+vector(1)", 4 * NS)), 2.0);

    // Errors are Loki's: 400 with a plain-text message.
    let (status, ct, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query_range",
        &[("query", r#"{service="api""#.into())],
    );
    assert_eq!(status, 400);
    assert!(ct.starts_with("text/plain"), "{ct}");
    assert!(body.starts_with("parse error at line 1, col "), "{body}");
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query",
        &[("query", r#"{service="api"}"#.into())],
    );
    assert_eq!(status, 400);
    assert!(body.contains("instant query"), "{body}");
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query",
        &[("query", r#"sum_over_time({service="api"}[1m])"#.into())],
    );
    assert_eq!(status, 400);
    assert!(body.contains("unwrap"), "{body}");
}

#[test]
fn pipeline_errors_mark_lines_and_fail_metric_queries_as_loki_does() {
    let f = start(None);
    let t = (f.base + 120) * NS;
    // A log query keeps the lines `| json` failed on, marked.
    let v = f.range(r#"{service="api"} | json"#, &[]);
    assert_eq!(lines(&v).len(), 5, "{v}");
    let marked: Vec<&Value> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stream"]["__error__"] == "JSONParserErr")
        .collect();
    assert!(!marked.is_empty(), "{v}");
    assert!(
        marked
            .iter()
            .all(|s| s["stream"]["__error_details__"].is_string())
    );
    let q = |query: &str| lines(&f.range(query, &[]));
    let failed = q(r#"{service="api"} | json | __error__="JSONParserErr""#);
    assert!(
        failed.contains(&"connection refused by db".to_string()),
        "{failed:?}"
    );
    let parsed = q(r#"{service="api"} | json | __error__="""#);
    assert!(parsed.contains(&"{\"event\":\"slow\",\"took_ms\":900}".to_string()));
    assert_eq!(failed.len() + parsed.len(), 5);
    assert_eq!(
        q(r#"{service="api"} | json | __error__!="JSONParserErr""#),
        parsed
    );
    // A numeric filter on a value that is no number keeps the line, marked.
    let v = f.range(r#"{service="api"} | logfmt | took > 100"#, &[]);
    let streams = v["data"]["result"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "{v}");
    assert_eq!(streams[0]["stream"]["__error__"], "LabelFilterErr");

    // A metric query over marked lines fails with Loki's message …
    let fails = |query: &str, error: &str| {
        let (status, ct, body) = get(
            &f.rt,
            &f.server,
            "/loki/api/v1/query",
            &[("query", query.to_string()), ("time", t.to_string())],
        );
        assert_eq!(status, 400, "{query}: {body}");
        assert!(ct.starts_with("text/plain"), "{ct}");
        let head = format!("pipeline error: '{error}' for series: '{{");
        assert!(body.starts_with(&head), "{query}: {body}");
        assert!(body.contains(&format!("__error__=\"{error}\"")), "{body}");
        assert!(
            body.contains("Use a label filter to intentionally skip this error."),
            "{body}"
        );
    };
    fails(
        r#"sum(count_over_time({service="api"} | json [2m]))"#,
        "JSONParserErr",
    );
    fails(
        r#"sum(count_over_time({service="api"} | logfmt | took > 100 [2m]))"#,
        "LabelFilterErr",
    );
    fails(
        r#"sum(sum_over_time({service="api"} | logfmt | unwrap took [2m]))"#,
        "SampleExtractionErr",
    );
    // … and filtering the errors out answers.
    assert_eq!(
        scalar_of_vector(&f.instant(
            r#"sum(count_over_time({service="api"} | json | __error__="" [2m]))"#,
            t
        )),
        parsed.len() as f64
    );
    assert_eq!(
        scalar_of_vector(&f.instant(
            r#"sum(count_over_time({service="api"} | json | __error__!="JSONParserErr" [2m]))"#,
            t
        )),
        parsed.len() as f64
    );
    let v = f.instant(
        r#"sum(sum_over_time({service="api"} | logfmt | unwrap took | __error__="" [2m]))"#,
        t,
    );
    assert_eq!(v["data"]["result"], json!([]), "{v}");
}

#[test]
fn ip_filters_pattern_filters_unpack_and_rate_counter() {
    let f = start(None);
    let t = |s: i64| (f.base + s) as f64;
    ingest(
        &f.rt,
        &f.server,
        &[
            json!({"ts": t(5), "service": "edge", "msg": "GET /a from 10.1.2.3 200"}),
            json!({"ts": t(6), "service": "edge", "msg": "GET /b from 192.168.7.7 404"}),
            json!({"ts": t(7), "service": "edge", "msg": "{\"client\":\"10.9.9.9\",\"_entry\":\"POST /c 201\"}"}),
            json!({"ts": t(10), "service": "meter", "msg": "bytes_total=100"}),
            json!({"ts": t(40), "service": "meter", "msg": "bytes_total=160"}),
            json!({"ts": t(70), "service": "meter", "msg": "bytes_total=40"}),
        ],
    );
    wait_for(Duration::from_secs(30), "the new lines to be indexed", || {
        let v = f.range(r#"{service=~"edge|meter"}"#, &[]);
        (lines(&v).len() == 6).then_some(())
    });
    let q = |query: &str| lines(&f.range(query, &[]));
    let packed = "{\"client\":\"10.9.9.9\",\"_entry\":\"POST /c 201\"}";
    assert_eq!(
        q(r#"{service="edge"} |= ip("10.0.0.0/8")"#),
        [packed, "GET /a from 10.1.2.3 200"]
    );
    assert_eq!(
        q(r#"{service="edge"} != ip("10.0.0.0/8")"#),
        ["GET /b from 192.168.7.7 404"]
    );
    assert_eq!(
        q(r#"{service="edge"} |= ip("192.168.7.1-192.168.7.9")"#),
        ["GET /b from 192.168.7.7 404"]
    );
    assert_eq!(
        q(r#"{service="edge"} |> "GET <_> 404""#),
        ["GET /b from 192.168.7.7 404"]
    );
    assert_eq!(q(r#"{service="edge"} !> "<_> 200" or "<_> 404""#), [packed]);
    assert_eq!(
        q(r#"{service="edge"} | unpack | client = ip("10.9.0.0/16")"#),
        ["POST /c 201"]
    );
    assert_eq!(
        q(r#"{service="edge"} | regexp "from (?P<addr>\\S+)" | addr != ip("192.168.0.0/16")"#),
        ["GET /a from 10.1.2.3 200"]
    );
    // A bad pattern is a parse error naming it.
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query_range",
        &[("query", r#"{service="edge"} |= ip("10.0.0.0/99")"#.into())],
    );
    assert_eq!(status, 400);
    assert!(body.contains("ip: invalid pattern"), "{body}");

    // 100 → 160 → 40: a reset, an increase of 100 over 60 s; the counter's
    // zero is 60 s before the first sample, so half a gap (15 s) is added:
    // 100 × 75/60 per 120 s.
    let v = f.instant(
        r#"sum(rate_counter({service="meter"} | logfmt | unwrap bytes_total [2m]))"#,
        (f.base + 120) * NS,
    );
    let got = scalar_of_vector(&v);
    assert!((got - 100.0 * 75.0 / 60.0 / 120.0).abs() < 1e-9, "{got}");
}

#[test]
fn metadata_endpoints_answer_in_lokis_shapes() {
    let f = start(None);
    let range = || {
        vec![
            ("start", (f.base * NS).to_string()),
            ("end", ((f.base + 120) * NS).to_string()),
        ]
    };
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/labels", &range());
    assert_eq!(v["status"], "success");
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for n in ["env", "level", "path", "service", "status"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/label/service/values", &range());
    assert_eq!(v["data"], json!(["api", "worker"]));
    let mut p = range();
    p.push(("query", r#"{service="api"}"#.into()));
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/label/level/values", &p);
    assert_eq!(v["data"], json!(["error", "info", "warning"]));

    let mut p = range();
    p.push(("match[]", r#"{service="worker"}"#.into()));
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/series", &p);
    assert_eq!(v["data"], json!([{"level": "info", "service": "worker"}]));

    let mut p = range();
    p.push(("query", r#"{service="api"}"#.into()));
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/index/stats", &p);
    assert_eq!(v["entries"], 5);
    assert_eq!(v["streams"], 4);
    assert!(
        v["bytes"].as_u64().unwrap() > 0 && v["chunks"].as_u64().unwrap() > 0,
        "{v}"
    );

    let mut p = range();
    p.push(("query", r#"{service=~".+"}"#.into()));
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/index/volume", &p);
    assert_eq!(v["data"]["resultType"], "vector");
    let metrics: Vec<&Value> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["metric"])
        .collect();
    assert_eq!(
        metrics,
        [&json!({"service": "api"}), &json!({"service": "worker"})]
    );
    let mut p = range();
    p.push(("query", r#"{service=~".+"}"#.into()));
    p.push(("targetLabels", "level".into()));
    p.push(("step", "60".into()));
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/index/volume_range", &p);
    assert_eq!(v["data"]["resultType"], "matrix");
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 3);

    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/status/buildinfo", &[]);
    assert!(v["version"].as_str().unwrap().starts_with('3'));
    let (status, _, body) = get(&f.rt, &f.server, "/ready", &[]);
    assert_eq!((status, body.trim()), (200, "ready"));
}

#[test]
fn limits_stop_a_query_with_a_clear_error_and_are_counted() {
    let f = start(Some("logs:\n  query:\n    max_series: 1\n    max_entries: 150\n"));
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query",
        &[
            ("query", r#"count_over_time({service=~".+"}[1h])"#.into()),
            ("time", ((f.base + 120) * NS).to_string()),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("max_series"), "{body}");
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query_range",
        &[("query", r#"{service="api"}"#.into()), ("limit", "151".into())],
    );
    assert_eq!(status, 400);
    assert!(body.contains("max_entries"), "{body}");
    let (_, _, metrics) = get(&f.rt, &f.server, "/metrics", &[]);
    assert!(
        metrics.contains("belfry_logql_query_limit_hits_total{limit=\"max_series\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("belfry_logql_query_limit_hits_total{limit=\"max_entries\"} 1"));
}

/// Request ids, users and words the index holds only approximately are
/// checked on each candidate's stored line inside the search: those
/// reads count against `max_lines_read` like any other, in LogQL and in
/// the search API, and a query that runs out is refused, never answered
/// with a partial count.
#[test]
fn checks_of_stored_lines_count_against_max_lines_read() {
    let f = start(Some("logs:\n  query:\n    max_lines_read: 2\n"));
    let range = [
        ("start", (f.base * NS).to_string()),
        ("end", ((f.base + 120) * NS).to_string()),
    ];
    // None of the five api lines has a request id: each is read to know.
    let mut params = vec![("query", r#"{service="api", request_id=~".+"}"#.to_string())];
    params.extend(range.iter().cloned());
    let (status, _, body) = get(&f.rt, &f.server, "/loki/api/v1/query_range", &params);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("logs.query.max_lines_read"), "{body}");
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/loki/api/v1/query",
        &[
            (
                "query",
                r#"count_over_time({service="api", request_id=~".+"}[1h])"#.into(),
            ),
            ("time", ((f.base + 120) * NS).to_string()),
        ],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("max_lines_read"), "{body}");
    // Excluding an id the index keeps only as a mark checks every line.
    let (status, _, body) = get(
        &f.rt,
        &f.server,
        "/api/belfry/logs/search",
        &[("query", "-5e6f7a8b".into())],
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("logs.query.max_lines_read"), "{body}");
    let (_, _, metrics) = get(&f.rt, &f.server, "/metrics", &[]);
    assert!(
        metrics.contains("belfry_logql_query_limit_hits_total{limit=\"max_lines_read\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("belfry_logs_search_limit_hits_total{limit=\"max_lines_read\"} 1"),
        "{metrics}"
    );
    // An equality reads only the lines whose hash matches: none here.
    let mut params = vec![(
        "query",
        r#"{service="api", request_id="5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"}"#.to_string(),
    )];
    params.extend(range.iter().cloned());
    let (status, _, body) = get(&f.rt, &f.server, "/loki/api/v1/query_range", &params);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn tail_sends_new_lines_over_a_websocket() {
    use futures_util::{SinkExt, StreamExt};

    let f = start(None);
    let url = format!(
        "ws://{}/loki/api/v1/tail?query={}",
        f.server.addr,
        form_urlencoded::byte_serialize(br#"{service="tailed"} |= "hello""#).collect::<String>()
    );
    f.rt.block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connects");
        let line = json!({"level": "info", "service": "tailed", "msg": "hello from the tail"});
        let other = json!({"level": "info", "service": "tailed", "msg": "filtered out"});
        let body = format!("{other}\n{line}\n");
        let resp = http_client()
            .post(f.server.url("/api/belfry/logs"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a tail message within 20 s")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        assert_eq!(v["dropped_entries"], Value::Null);
        let streams = v["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 1, "{v}");
        assert_eq!(
            streams[0]["stream"],
            json!({"service": "tailed", "level": "info"})
        );
        assert_eq!(streams[0]["values"][0][1], "hello from the tail");
        assert!(
            streams[0]["values"][0][0]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .is_ok()
        );
        ws.send(tokio_tungstenite::tungstenite::Message::Close(None))
            .await
            .unwrap();
    });
}

/// Words the index does not hold as terms — ids inside a message, a word
/// longer than the tokenizer's limit, request ids and users (kept as
/// hashes) — are still found exactly: the index narrows to candidates
/// and each is checked on the line.
#[test]
fn ids_and_long_words_the_index_does_not_hold_are_found_exactly() {
    let f = start(None);
    let t = |s: i64| (f.base + s) as f64;
    let long = "supercalifragilisticexpialidociousandthensomemore";
    ingest(
        &f.rt,
        &f.server,
        &[
            json!({"ts": t(5), "level": "info", "service": "jobs", "request_id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
                   "user_id": "u_00112233aabbccdd",
                   "msg": "task grades.export[5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b] succeeded"}),
            json!({"ts": t(6), "level": "error", "service": "jobs", "request_id": "0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d",
                   "msg": format!("upload {long} failed")}),
            json!({"ts": t(7), "level": "info", "service": "jobs", "request_id": "0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d",
                   "msg": "task grades.export[0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d] succeeded"}),
            json!({"ts": t(8), "level": "info", "service": "queue", "msg": "queued ref=job5e6f7a8b99"}),
        ],
    );
    wait_for(Duration::from_secs(30), "the job lines to be indexed", || {
        (lines(&f.range(r#"{service=~"jobs|queue"}"#, &[])).len() == 4).then_some(())
    });
    let q = |query: &str| lines(&f.range(query, &[]));
    let a = "task grades.export[5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b] succeeded";
    let b = format!("upload {long} failed");
    let c = "task grades.export[0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d] succeeded";
    assert_eq!(q(r#"{service="jobs"} |= "5e6f7a8b-9c0d""#), [a]);
    assert_eq!(q(r#"{service="jobs"} |= "3c4d5e6f7a8b]""#), [a]);
    // A piece of an id inside a word the index holds (not hex).
    assert_eq!(q(r#"{service="jobs"} |= "6f7a8b-9""#), [a]);
    assert_eq!(q(r#"{service="jobs"} |= "port[5e6f""#), [a]);
    // An id-like piece of a word that is not hex, which the index holds.
    assert_eq!(
        q(r#"{service="queue"} |= "5e6f7a8b99""#),
        ["queued ref=job5e6f7a8b99"]
    );
    // A piece of a word longer than the tokenizer keeps, and the word.
    assert_eq!(q(r#"{service="jobs"} |= "fragilistic""#), [b.as_str()]);
    assert_eq!(q(&format!(r#"{{service="jobs"}} |= "{long}""#)), [b.as_str()]);
    assert_eq!(q(r#"{service="jobs"} |= "export" |= "succeeded""#), [c, a]);
    // Request ids and users, by matcher and by label filter.
    assert_eq!(
        q(r#"{service="jobs", request_id="0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d"}"#),
        [c.to_string(), b.clone()]
    );
    assert_eq!(q(r#"{request_id="5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"}"#), [a]);
    assert_eq!(
        q(r#"{service="jobs"} | request_id="5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b""#),
        [a]
    );
    assert_eq!(q(r#"{service="jobs", request_id=~"5e6f.*"}"#), [a]);
    assert_eq!(
        q(r#"{service="jobs", request_id!~"5e6f.*"}"#),
        [c.to_string(), b.clone()]
    );
    // The user id is stored as its token; the token finds the line.
    let token = q(r#"{service="jobs"} |= "5e6f7a8b-9c0d" | line_format "{{.user}}""#);
    assert_eq!(token.len(), 1);
    assert!(token[0].starts_with("u_"), "{token:?}");
    assert_eq!(q(&format!(r#"{{service="jobs", user="{}"}}"#, token[0])), [a]);
    assert_eq!(q(&format!(r#"{{service="jobs"}} | user="{}""#, token[0])), [a]);
    assert!(q(r#"{request_id="ffffffff-0000-4000-8000-000000000000"}"#).is_empty());
    let v = f.instant(
        r#"sum(count_over_time({request_id="0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d"}[10m]))"#,
        f.base + 60,
    );
    assert_eq!(scalar_of_vector(&v), 2.0);
    // Their names are listed; their values (one per line) are not.
    let range = vec![
        ("start", (f.base * NS).to_string()),
        ("end", ((f.base + 120) * NS).to_string()),
    ];
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/labels", &range);
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"request_id") && names.contains(&"user"),
        "{names:?}"
    );
    let v = get_ok(&f.rt, &f.server, "/loki/api/v1/label/request_id/values", &range);
    assert_eq!(v["data"], json!([]));
}
