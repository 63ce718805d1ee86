//! Prometheus's status endpoints on a running server, and that no GET
//! answer of any route shows a secret from the configuration.

use std::time::Duration;

use serde_json::Value;

use crate::support::{BelfryServer, get_json, http_get, wait_for};

/// Each secret is distinct, so a leak names which one.
const SECRETS: &[&str] = &[
    "smtp-pa55word-global",
    "smtp-pa55word-receiver",
    "hook-t0ken-in-path",
    "webhook-basic-pa55",
    "webhook-bearer-t0ken",
    "scrape-basic-pa55",
    "scrape-bearer-t0ken",
    "proxy-pa55word",
    "slack-hook-t0ken",
    "teams-hook-t0ken",
    "discord-hook-t0ken",
    "telegram-b0t-token",
    "pagerduty-r0uting-key",
    "remote-basic-pa55",
];

const CONFIG: &str = r#"
global:
  scrape_interval: 1h
scrape_configs:
  - job_name: basic-job
    basic_auth: {username: scraper, password: scrape-basic-pa55}
    proxy_url: http://proxyuser:proxy-pa55word@127.0.0.1:1
    static_configs: [{targets: ["127.0.0.1:1"]}]
  - job_name: bearer-job
    authorization: {credentials: scrape-bearer-t0ken}
    static_configs: [{targets: ["127.0.0.1:2"]}]
alerting:
  global:
    smtp_smarthost: 127.0.0.1:1
    smtp_from: belfry@example.org
    smtp_auth_username: mailer
    smtp_auth_password: smtp-pa55word-global
    smtp_require_tls: false
  route:
    receiver: team
  receivers:
    - name: team
      email_configs:
        - to: team@example.org
          auth_username: other
          auth_password: smtp-pa55word-receiver
      webhook_configs:
        - url: http://127.0.0.1:1/hooks/hook-t0ken-in-path
          http_config:
            basic_auth: {username: hook, password: webhook-basic-pa55}
        - url: http://127.0.0.1:1/second
          http_config:
            bearer_token: webhook-bearer-t0ken
      slack_configs:
        - api_url: http://127.0.0.1:1/services/slack-hook-t0ken
          channel: lms-alerts
      msteamsv2_configs:
        - webhook_url: http://127.0.0.1:1/workflows/teams-hook-t0ken
      discord_configs:
        - webhook_url: http://127.0.0.1:1/api/webhooks/discord-hook-t0ken
      telegram_configs:
        - bot_token: telegram-b0t-token
          chat_id: 42
      pagerduty_configs:
        - routing_key: pagerduty-r0uting-key
remote_write:
  - url: http://127.0.0.1:1/api/v1/write
    basic_auth: {username: remote, password: remote-basic-pa55}
"#;

/// Every GET route of the route table, read from its source so a route
/// added later is checked without anyone adding it here.
fn get_routes() -> Vec<String> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/router.rs")).unwrap();
    let mut routes = Vec::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let end = rest.find(".route(").unwrap_or(rest.len());
        let call = &rest[..end];
        let path = call.split('"').nth(1).unwrap().to_string();
        if call.contains("get(") {
            routes.push(path);
        }
    }
    assert!(routes.len() > 20, "route table not read: {routes:?}");
    routes
}

/// A URL for a route pattern, with parameters that make it answer data.
fn concrete(path: &str) -> String {
    let path = path
        .replace("{name}", "job")
        .replace("{id}", "00000000-0000-0000-0000-000000000000");
    let query = match path.as_str() {
        "/federate" | "/api/v1/series" => "?match[]=%7B__name__%3D~%22.%2B%22%7D",
        "/api/v1/query" => "?query=up",
        "/api/v1/query_range" => "?query=up&start=0&end=100&step=10",
        "/api/v1/format_query" | "/api/v1/parse_query" => "?query=up",
        _ => "",
    };
    format!("{path}{query}")
}

#[test]
fn no_get_answer_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    std::fs::write(&config, CONFIG).unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let mut checked = 0;
    for route in get_routes() {
        let url = server.url(&concrete(&route));
        let (status, body) = http_get(&url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
        for secret in SECRETS {
            assert!(
                !body.contains(secret),
                "GET {url} ({status}) shows {secret:?}: {body}"
            );
        }
        checked += 1;
    }
    assert!(checked > 20);

    // The configurations are shown, with every secret redacted.
    let yaml = get_json(&server.url("/api/v1/status/config"))["data"]["yaml"]
        .as_str()
        .unwrap()
        .to_string();
    let parsed: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    let job = &parsed["scrape_configs"][0];
    assert_eq!(job["job_name"], "basic-job");
    assert_eq!(job["basic_auth"]["username"], "scraper");
    assert_eq!(job["basic_auth"]["password"], "<secret>");
    assert_eq!(job["proxy_url"], "http://proxyuser:<secret>@127.0.0.1:1/");
    let original = get_json(&server.url("/api/v2/status"))["config"]["original"]
        .as_str()
        .unwrap()
        .to_string();
    let am: serde_norway::Value = serde_norway::from_str(&original).unwrap();
    assert_eq!(am["global"]["smtp_auth_password"], "<secret>");
    assert_eq!(am["receivers"][0]["webhook_configs"][0]["url"], "<secret>");
    assert_eq!(
        am["receivers"][0]["email_configs"][0]["auth_password"],
        "<secret>"
    );
    assert_eq!(am["route"]["receiver"], "team");
}

#[test]
fn status_endpoints_in_prometheus_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(dir.path(), None);

    let flags = get_json(&server.url("/api/v1/status/flags"));
    assert_eq!(flags["status"], "success");
    assert_eq!(flags["data"]["listen"], server.addr.to_string());
    assert_eq!(flags["data"]["data-dir"], dir.path().display().to_string());

    let info = &get_json(&server.url("/api/v1/status/runtimeinfo"))["data"];
    assert_eq!(info["reloadConfigSuccess"], true);
    // Printed as Prometheus prints durations: 15d is two weeks and a day.
    assert_eq!(info["storageRetention"], "2w1d");
    assert!(info["GOMAXPROCS"].as_u64().unwrap() >= 1);
    assert!(info["goroutineCount"].as_u64().unwrap() >= 1);
    assert_eq!(info["corruptionCount"], 0);
    belfry::model::parse_rfc3339(info["startTime"].as_str().unwrap()).unwrap();
    belfry::model::parse_rfc3339(info["lastConfigTime"].as_str().unwrap()).unwrap();
    assert!(info["CWD"].as_str().is_some_and(|c| !c.is_empty()));

    let wal = &get_json(&server.url("/api/v1/status/walreplay"))["data"];
    for key in ["min", "max", "current"] {
        assert!(wal[key].is_u64(), "{wal}");
    }
    assert_eq!(wal["current"], wal["max"]);

    let ams = &get_json(&server.url("/api/v1/alertmanagers"))["data"];
    assert_eq!(
        ams["activeAlertmanagers"][0]["url"],
        format!("http://{}/api/v2/alerts", server.addr)
    );
    assert_eq!(ams["droppedAlertmanagers"], serde_json::json!([]));

    let pools = &get_json(&server.url("/api/v1/scrape_pools"))["data"];
    assert_eq!(pools["scrapePools"], serde_json::json!(["belfry"]));

    // The embedded default scrapes Belfry itself; its metadata arrives
    // with the first scrape.
    let entries: Vec<Value> = wait_for(Duration::from_secs(60), "the first self-scrape", || {
        let body = get_json(&server.url("/api/v1/targets/metadata?match_target=%7Bjob%3D%22belfry%22%7D"));
        let data = body["data"].as_array().unwrap().clone();
        (!data.is_empty()).then_some(data)
    });
    let requests = entries
        .iter()
        .find(|e| e["metric"] == "belfry_http_requests_total")
        .unwrap_or_else(|| panic!("no belfry_http_requests_total in {entries:?}"));
    assert_eq!(requests["type"], "counter");
    assert_eq!(requests["target"]["job"], "belfry");
    assert!(requests["help"].as_str().unwrap().contains("HTTP requests"));

    let one = get_json(&server.url("/api/v1/targets/metadata?metric=belfry_http_requests_total"));
    let one = one["data"].as_array().unwrap();
    assert_eq!(one.len(), 1, "{one:?}");
    assert!(one[0].get("metric").is_none(), "{one:?}");
    let none = get_json(&server.url("/api/v1/targets/metadata?match_target=%7Bjob%3D%22other%22%7D"));
    assert_eq!(none["data"], serde_json::json!([]));
    let limited = get_json(&server.url("/api/v1/targets/metadata?limit=0"));
    assert_eq!(limited["data"], serde_json::json!([]));
    let (status, body) = http_get(&server.url("/api/v1/targets/metadata?match_target=%7B")).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("match_target"), "{body}");
}

/// The keys of a JSON object with each value's JSON type.
fn shape(v: &Value) -> std::collections::BTreeMap<String, &'static str> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .iter()
        .map(|(k, v)| (k.clone(), kind(v)))
        .collect()
}

/// The same endpoints of Debian's Prometheus, side by side: every key
/// Belfry answers is one Prometheus answers, with the same JSON type.
#[test]
fn status_shapes_match_debian_prometheus() {
    let Some(prometheus) = crate::support::peer_binary("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prom_port = crate::support::free_port();
    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prom\n    static_configs:\n      - targets: ['127.0.0.1:{prom_port}']\n"
        ),
    )
    .unwrap();
    let _prom = crate::support::ChildGuard(
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
    // Belfry scrapes the same Prometheus, so both hold its metadata.
    let belfry_config = dir.path().join("belfry.yml");
    std::fs::write(
        &belfry_config,
        format!("scrape_configs:\n  - job_name: prom\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{prom_port}']\n"),
    )
    .unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&belfry_config));
    let prom = |path: &str| format!("http://127.0.0.1:{prom_port}{path}");
    let metadata_path = "/api/v1/targets/metadata?match_target=%7Bjob%3D%22prom%22%7D";
    let first_entry = |url: String| {
        wait_for(Duration::from_secs(60), "target metadata", || {
            let body = http_get(&url).ok().filter(|(s, _)| *s == 200)?.1;
            let v: Value = serde_json::from_str(&body).ok()?;
            v["data"].as_array()?.first().cloned()
        })
    };
    let theirs = first_entry(prom(metadata_path));
    let ours = first_entry(server.url(metadata_path));
    assert_eq!(shape(&ours), shape(&theirs), "ours {ours}, theirs {theirs}");

    for path in [
        "/api/v1/status/runtimeinfo",
        "/api/v1/status/walreplay",
        "/api/v1/status/config",
        "/api/v1/alertmanagers",
        "/api/v1/scrape_pools",
    ] {
        let theirs = get_json(&prom(path));
        let ours = get_json(&server.url(path));
        let (theirs, ours) = (shape(&theirs["data"]), shape(&ours["data"]));
        for (key, kind) in &ours {
            assert_eq!(
                theirs.get(key),
                Some(kind),
                "{path}: {key} is {kind}; Prometheus: {theirs:?}"
            );
        }
    }
    let pools = get_json(&server.url("/api/v1/scrape_pools"));
    assert_eq!(pools["data"], get_json(&prom("/api/v1/scrape_pools"))["data"]);
    let flags = get_json(&server.url("/api/v1/status/flags"));
    assert!(flags["data"].as_object().unwrap().values().all(Value::is_string));
}
