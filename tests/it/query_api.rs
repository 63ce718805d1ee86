//! The PromQL HTTP API at the HTTP level: `/api/v1/query`,
//! `/api/v1/query_range`, `/api/v1/format_query` and `/api/v1/parse_query`
//! by GET and form POST, Prometheus's error shapes and `errorType`s, the
//! `warnings`/`infos` fields and the `timeout`, `limit` and `stats`
//! parameters, and the limits' error texts. The router runs in this process
//! (over `MemStorage`) so each test can set its own engine limits.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};

use belfry::ingest::{IngestLimits, IngestMetrics};
use belfry::model::Labels;
use belfry::promql::EngineOptions;
use belfry::selfmetrics::Registry;
use belfry::tsdb::{MemStorage, Storage};
use belfry::web::{AppState, Lifecycle, ReloadHandle, WebMetrics};

/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000;

struct Api {
    rt: tokio::runtime::Runtime,
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn start(options: EngineOptions) -> Api {
        Api::start_with(options, |_| {})
    }

    /// As `start`, with more series appended by `extra`.
    fn start_with(options: EngineOptions, extra: impl FnOnce(&dyn Storage)) -> Api {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let registry = Registry::new();
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        load(storage.as_ref());
        extra(storage.as_ref());
        let _guard = rt.enter();
        let (reload_tx, _reload_rx) = tokio::sync::mpsc::channel(1);
        let lifecycle = Arc::new(Lifecycle::default());
        lifecycle.set_ready();
        let alerting =
            belfry::alerting::Dispatcher::new(None, Default::default(), &registry).expect("dispatcher");
        let rules = belfry::rules::RuleManager::new(storage.clone(), None, &registry, Default::default());
        let state = Arc::new(AppState {
            storage: storage.clone(),
            exemplars: Arc::new(belfry::tsdb::ExemplarStore::new(0, &registry)),
            scrape: belfry::scrape::ScrapeManager::new(storage, &registry),
            rules,
            alerting,
            flood: None,
            registry: registry.clone(),
            lifecycle,
            reload: ReloadHandle::new(reload_tx),
            external_labels: Default::default(),
            max_request_body_bytes: 1 << 20,
            ingest_limits: IngestLimits::default(),
            ingest_metrics: IngestMetrics::new(&registry),
            metrics: WebMetrics::new(&registry),
            query_options: options,
            guard: belfry::web::Guard::new(Default::default(), &registry),
            access: belfry::web::AccessControl::open(),
            transport: belfry::web::Transport::plain(),
            status: belfry::web::StatusInfo::new(
                Default::default(),
                Default::default(),
                "127.0.0.1:0".parse().unwrap(),
                Default::default(),
            ),
            logs: None,
            logql: None,
            errors: None,
            dashboards: std::sync::Arc::new(belfry::dashboards::Dashboards::in_memory()),
            runbooks: std::sync::Arc::new(belfry::runbooks::Runbooks::in_memory(
                &belfry::selfmetrics::Registry::new(),
            )),
            backup: None,
            reports: None,
        });
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = belfry::web::router(state);
        rt.spawn(async move { axum::serve(listener, app).await });
        Api {
            rt,
            base,
            client: crate::support::http_client(),
        }
    }

    fn get(&self, path: &str, params: &[(&str, &str)]) -> (u16, Json) {
        let url = format!("{}{path}?{}", self.base, encode(params));
        self.send(self.client.get(url))
    }

    fn post_form(&self, path: &str, params: &[(&str, &str)]) -> (u16, Json) {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(params));
        self.send(req)
    }

    fn send(&self, req: reqwest::RequestBuilder) -> (u16, Json) {
        self.rt.block_on(async {
            let resp = req.timeout(Duration::from_secs(30)).send().await.unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
            (status, json)
        })
    }

    /// An error answer: its HTTP status, `errorType` and `error`.
    fn error(&self, path: &str, params: &[(&str, &str)]) -> (u16, String, String) {
        let (status, body) = self.get(path, params);
        assert_eq!(body["status"], "error", "{body}");
        (
            status,
            body["errorType"].as_str().unwrap_or_default().to_string(),
            body["error"].as_str().unwrap_or_default().to_string(),
        )
    }
}

fn encode(params: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A counter per (instance, code) and one gauge, every 15 s for an hour.
fn load(storage: &dyn Storage) {
    let series = [
        Labels::from_pairs(&[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("instance", "a"),
            ("job", "api"),
        ]),
        Labels::from_pairs(&[
            ("__name__", "http_requests_total"),
            ("code", "500"),
            ("instance", "a"),
            ("job", "api"),
        ]),
        Labels::from_pairs(&[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("instance", "b"),
            ("job", "api"),
        ]),
        Labels::from_pairs(&[("__name__", "temperature"), ("room", "lab")]),
    ];
    let mut app = storage.appender();
    for k in 0..=240i64 {
        let t = T0 + k * 15_000;
        for (i, l) in series.iter().enumerate() {
            app.append(l, t, (k * (i as i64 + 1)) as f64).unwrap();
        }
    }
    app.commit().unwrap();
}

fn secs(ms: i64) -> String {
    (ms as f64 / 1000.0).to_string()
}

#[test]
fn instant_query_by_get_and_form_post() {
    let api = Api::start(EngineOptions::default());
    let t = secs(T0 + 600_000);
    let params = [
        ("query", "http_requests_total{code=\"500\"}"),
        ("time", t.as_str()),
    ];
    let (status, get) = api.get("/api/v1/query", &params);
    assert_eq!(status, 200, "{get}");
    assert_eq!(
        get,
        json!({"status": "success", "data": {"resultType": "vector", "result": [{
            "metric": {"__name__": "http_requests_total", "code": "500", "instance": "a", "job": "api"},
            "value": [1_700_000_600, "80"],
        }]}})
    );
    let (status, post) = api.post_form("/api/v1/query", &params);
    assert_eq!(status, 200);
    assert_eq!(post, get);

    // RFC 3339 time, scalar and string results.
    let (_, body) = api.get(
        "/api/v1/query",
        &[("query", "1 + 1"), ("time", "2023-11-14T22:23:20Z")],
    );
    assert_eq!(
        body["data"],
        json!({"resultType": "scalar", "result": [1_700_000_600, "2"]})
    );
    let (_, body) = api.get("/api/v1/query", &[("query", "\"hello\""), ("time", "1700000600")]);
    assert_eq!(
        body["data"],
        json!({"resultType": "string", "result": [1_700_000_600, "hello"]})
    );
}

#[test]
fn range_query_by_get_and_form_post() {
    let api = Api::start(EngineOptions::default());
    let (start, end) = (secs(T0 + 300_000), secs(T0 + 420_000));
    let params = [
        ("query", "sum by (instance) (rate(http_requests_total[1m]))"),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("step", "1m"),
    ];
    let (status, get) = api.get("/api/v1/query_range", &params);
    assert_eq!(status, 200, "{get}");
    assert_eq!(get["data"]["resultType"], "matrix");
    let result = get["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    assert_eq!(result[0]["metric"], json!({"instance": "a"}));
    assert_eq!(result[1]["metric"], json!({"instance": "b"}));
    // a: counters rising 1 and 2 per 15 s → 3/15 per second.
    let first = &result[0]["values"][0];
    assert_eq!(first[0].as_f64(), Some(1_700_000_300.0));
    let rate: f64 = first[1].as_str().unwrap().parse().unwrap();
    assert!((rate - 0.2).abs() < 1e-9, "{first}");
    assert_eq!(result[0]["values"].as_array().unwrap().len(), 3);
    let (_, post) = api.post_form("/api/v1/query_range", &params);
    assert_eq!(post, get);
    // A float step means the same as a duration.
    let mut float_step = params;
    float_step[3] = ("step", "60");
    assert_eq!(api.get("/api/v1/query_range", &float_step).1, get);
}

/// (path, parameters, the expected `error` text)
type BadRequest = (&'static str, Vec<(&'static str, &'static str)>, &'static str);

#[test]
fn bad_requests_are_bad_data_with_prometheus_texts() {
    let api = Api::start(EngineOptions::default());
    let range = |q: &'static str, step: &'static str| {
        [
            ("query", q),
            ("start", "1700000000"),
            ("end", "1700000600"),
            ("step", step),
        ]
    };
    let cases: Vec<BadRequest> = vec![
        (
            "/api/v1/query",
            vec![],
            "invalid parameter \"query\": query must not be empty",
        ),
        (
            "/api/v1/query",
            vec![("query", "sum(")],
            "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis",
        ),
        (
            "/api/v1/query",
            vec![("query", "rate(temperature)")],
            "invalid parameter \"query\": 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ),
        (
            "/api/v1/query",
            vec![("query", "nope(temperature)")],
            "invalid parameter \"query\": 1:1: parse error: unknown function with name \"nope\"",
        ),
        (
            "/api/v1/query",
            vec![("query", "temperature[5x]")],
            "invalid parameter \"query\": 1:13: parse error: bad number or duration syntax: \"5x\"",
        ),
        (
            "/api/v1/query",
            vec![("query", "temperature[1000y:1s]")],
            "invalid parameter \"query\": 1:13: parse error: duration out of range",
        ),
        (
            "/api/v1/query",
            vec![("query", "temperature"), ("time", "yesterday")],
            "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp",
        ),
        (
            "/api/v1/query_range",
            range("temperature", "abc").to_vec(),
            "invalid parameter \"step\": cannot parse \"abc\" to a valid duration",
        ),
        (
            "/api/v1/query_range",
            range("temperature", "0").to_vec(),
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "/api/v1/query_range",
            range("temperature", "1e300").to_vec(),
            "invalid parameter \"step\": cannot parse \"1e300\" to a valid duration. It overflows int64",
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "temperature"),
                ("start", "1700000600"),
                ("end", "1700000000"),
                ("step", "15"),
            ],
            "invalid parameter \"end\": end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range",
            range("temperature", "0.001").to_vec(),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "/api/v1/query_range",
            range("temperature[5m]", "15").to_vec(),
            "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
        ),
        (
            "/api/v1/query",
            vec![("query", "temperature"), ("limit", "-1")],
            "invalid parameter \"limit\": limit must be a non-negative integer, got \"-1\"",
        ),
        (
            "/api/v1/query",
            vec![("query", "temperature"), ("timeout", "soon")],
            "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration",
        ),
    ];
    for (path, params, want) in cases {
        let (status, kind, text) = api.error(path, &params);
        assert_eq!(
            (status, kind.as_str()),
            (400, "bad_data"),
            "{path} {params:?}: {text}"
        );
        assert_eq!(text, want, "{path} {params:?}");
    }
}

#[test]
fn execution_errors_are_422() {
    let api = Api::start(EngineOptions::default());
    // Both sides have two series per `job`: many-to-many.
    let (status, kind, text) = api.error(
        "/api/v1/query",
        &[
            ("query", "http_requests_total + on(job) http_requests_total"),
            ("time", "1700000600"),
        ],
    );
    assert_eq!((status, kind.as_str()), (422, "execution"));
    assert!(text.contains("many-to-many matching not allowed"), "{text}");
    let (status, kind, text) = api.error(
        "/api/v1/query",
        &[
            (
                "query",
                "label_replace(temperature, \"x\", \"\", \"room\", \"(\")",
            ),
            ("time", "1700000600"),
        ],
    );
    assert_eq!((status, kind.as_str()), (422, "execution"));
    assert_eq!(text, "invalid regular expression in label_replace(): (");
}

#[test]
fn max_samples_fails_with_prometheus_text() {
    let api = Api::start(EngineOptions {
        max_samples: 100,
        ..Default::default()
    });
    let (status, kind, text) = api.error(
        "/api/v1/query",
        &[
            ("query", "count_over_time(http_requests_total[1h])"),
            ("time", "1700003600"),
        ],
    );
    assert_eq!((status, kind.as_str()), (422, "execution"));
    assert_eq!(
        text,
        "query processing would load too many samples into memory in query execution"
    );
    // A query within the limit still runs.
    let (status, _) = api.get(
        "/api/v1/query",
        &[("query", "temperature"), ("time", "1700003600")],
    );
    assert_eq!(status, 200);
}

#[test]
fn timeout_parameter_stops_the_query() {
    let api = Api::start(EngineOptions::default());
    // 10,001 steps over a subquery: far more than a millisecond of work.
    let (status, kind, text) = api.error(
        "/api/v1/query_range",
        &[
            ("query", "max_over_time(rate(http_requests_total[1m])[10m:15s])"),
            ("start", "1700000000"),
            ("end", "1700010000"),
            ("step", "1"),
            ("timeout", "1ms"),
        ],
    );
    assert_eq!((status, kind.as_str()), (503, "timeout"), "{text}");
    assert_eq!(text, "query timed out in query execution");
}

#[test]
fn warnings_and_infos_are_reported() {
    let api = Api::start(EngineOptions::default());
    let (_, body) = api.get(
        "/api/v1/query",
        &[("query", "rate(temperature[5m])"), ("time", "1700000600")],
    );
    assert_eq!(body["status"], "success");
    let infos = body["infos"].as_array().expect("infos");
    assert!(
        infos.iter().any(|i| i.as_str().unwrap().contains(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temperature\""
        )),
        "{body}"
    );
    assert!(body.get("warnings").is_none(), "{body}");

    let (_, body) = api.get(
        "/api/v1/query",
        &[
            ("query", "quantile(2, http_requests_total)"),
            ("time", "1700000600"),
        ],
    );
    let warnings = body["warnings"].as_array().expect("warnings");
    assert_eq!(
        warnings[0],
        "PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)"
    );
    assert_eq!(body["data"]["result"][0]["value"][1], "+Inf");
}

#[test]
fn limit_truncates_with_a_warning() {
    let api = Api::start(EngineOptions::default());
    let (_, body) = api.get(
        "/api/v1/query",
        &[
            ("query", "http_requests_total"),
            ("time", "1700000600"),
            ("limit", "2"),
        ],
    );
    assert_eq!(body["data"]["result"].as_array().unwrap().len(), 2);
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
    let (_, body) = api.get(
        "/api/v1/query_range",
        &[
            ("query", "http_requests_total"),
            ("start", "1700000000"),
            ("end", "1700000600"),
            ("step", "60"),
            ("limit", "1"),
        ],
    );
    assert_eq!(body["data"]["result"].as_array().unwrap().len(), 1);
    assert_eq!(body["warnings"], json!(["results truncated due to limit"]));
    // At or above the number of series: no truncation, no warning.
    let (_, body) = api.get(
        "/api/v1/query",
        &[
            ("query", "http_requests_total"),
            ("time", "1700000600"),
            ("limit", "3"),
        ],
    );
    assert_eq!(body["data"]["result"].as_array().unwrap().len(), 3);
    assert!(body.get("warnings").is_none(), "{body}");
}

#[test]
fn stats_are_returned_on_request() {
    let api = Api::start(EngineOptions::default());
    let (_, body) = api.get(
        "/api/v1/query",
        &[
            ("query", "sum_over_time(temperature[5m])"),
            ("time", "1700000600"),
            ("stats", "all"),
        ],
    );
    let stats = &body["data"]["stats"];
    assert!(stats["timings"]["evalTotalTime"].as_f64().is_some(), "{body}");
    // 20 samples lie in (t-5m, t] at 15 s spacing.
    assert!(
        stats["samples"]["totalQueryableSamples"].as_u64().unwrap() >= 20,
        "{body}"
    );
    assert!(stats["samples"]["peakSamples"].as_u64().unwrap() >= 20, "{body}");
    let (_, body) = api.get(
        "/api/v1/query",
        &[("query", "temperature"), ("time", "1700000600")],
    );
    assert!(body["data"].get("stats").is_none());
}

#[test]
fn format_and_parse_query() {
    let api = Api::start(EngineOptions::default());
    let (status, body) = api.get("/api/v1/format_query", &[("query", "sum(rate(x[5m]))by(job)")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], "sum by (job) (rate(x[5m]))");
    let (status, body) = api.post_form("/api/v1/parse_query", &[("query", "up == 1")]);
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].is_object(), "{body}");
    let (status, kind, text) = api.error("/api/v1/format_query", &[("query", "sum(")]);
    assert_eq!((status, kind.as_str()), (400, "bad_data"));
    assert_eq!(text, "1:5: parse error: unclosed left parenthesis");
}

/// FastAPI's route names as `prometheus-fastapi-instrumentator` labels them.
fn load_routes(storage: &dyn Storage) {
    let mut app = storage.appender();
    for (i, handler) in [
        "/api/courses/{course_id}",
        "/api/courses/7",
        "/api/users/{user_id}/grades",
    ]
    .iter()
    .enumerate()
    {
        let l = Labels::from_pairs(&[("__name__", "lms_requests_total"), ("handler", handler)]);
        app.append(&l, T0, (i + 1) as f64).unwrap();
    }
    app.commit().unwrap();
}

/// The handlers an instant query's vector holds, sorted.
fn handlers(api: &Api, query: &str) -> Vec<String> {
    let (status, body) = api.get("/api/v1/query", &[("query", query), ("time", &secs(T0))]);
    assert_eq!(status, 200, "{query}: {body}");
    let mut out: Vec<String> = body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metric"]["handler"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// A `{` that opens no repetition is a literal, as in Prometheus (Go's
/// RE2), so route names with placeholders select their series; Go's other
/// syntax (`\Q…\E`, `[[]`) too, and what Go refuses is refused with the
/// pattern named.
#[test]
fn regex_matchers_read_gos_syntax() {
    let api = Api::start_with(EngineOptions::default(), load_routes);
    assert_eq!(
        handlers(&api, r#"lms_requests_total{handler=~"/api/courses/{course_id}"}"#),
        ["/api/courses/{course_id}"]
    );
    assert_eq!(
        handlers(&api, r#"lms_requests_total{handler!~"/api/courses/{course_id}"}"#),
        ["/api/courses/7", "/api/users/{user_id}/grades"]
    );
    assert_eq!(
        handlers(
            &api,
            r#"lms_requests_total{handler=~"/api/(courses|users)/{[a-z_]+}.*"}"#
        ),
        ["/api/courses/{course_id}", "/api/users/{user_id}/grades"]
    );
    // A real repetition is still one: `{1,3}` digits.
    assert_eq!(
        handlers(&api, r#"lms_requests_total{handler=~"/api/courses/[0-9]{1,3}"}"#),
        ["/api/courses/7"]
    );
    // promql-parser refuses these at parse time; Go reads them as literals.
    assert_eq!(
        handlers(
            &api,
            r#"lms_requests_total{handler=~"\\Q/api/courses/{course_id}\\E"}"#
        ),
        ["/api/courses/{course_id}"]
    );
    assert_eq!(
        handlers(&api, r#"lms_requests_total{handler=~"/api/[[a-z]+/.*"}"#),
        [
            "/api/courses/7",
            "/api/courses/{course_id}",
            "/api/users/{user_id}/grades"
        ]
    );
    // label_replace's regex reads the same syntax.
    let (_, body) = api.get(
        "/api/v1/query",
        &[
            (
                "query",
                r#"label_replace(lms_requests_total, "param", "$1", "handler", "/api/courses/{(.*)}")"#,
            ),
            ("time", &secs(T0)),
        ],
    );
    let params: Vec<&str> = body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["metric"]["param"].as_str())
        .collect();
    assert_eq!(params, ["course_id"], "{body}");

    // Go refuses counts over 1000; the error names the pattern.
    let (status, kind, error) = api.error(
        "/api/v1/query",
        &[
            ("query", r#"lms_requests_total{handler=~"x{1001}"}"#),
            ("time", &secs(T0)),
        ],
    );
    assert_eq!((status, kind.as_str()), (400, "bad_data"), "{error}");
    assert!(
        error.contains("x{1001}") && error.contains("invalid repeat count"),
        "{error}"
    );
}
