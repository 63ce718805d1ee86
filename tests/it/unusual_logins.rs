//! Unusual login patterns end to end: an LMS's login events posted to a
//! real Belfry (NDJSON and Loki push) raise the new-country, impossible
//! travel and failed-login burst alerts at `/api/v2/alerts` and at a
//! webhook, with the user's token and never the raw id (which no file of
//! the data dir holds either); a user's history survives a restart; a
//! damaged geo database turns off the country checks only, says so in the
//! log and the metrics, and a reload with a good file brings them back.

#[path = "../../src/logins/test_mmdb.rs"]
mod mmdb;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::log_rules::start_webhook;
use crate::support::{
    BelfryServer, alert_at_hook, block, get_json, grep_dir, http_client, http_get, wait_for,
};
use mmdb::{MmdbWriter, city_record};

const GB: &str = "81.2.69.160";
const US: &str = "216.160.83.56";
const SE: &str = "89.160.20.112";
const SE_OTHER: &str = "89.160.20.200";
/// In no network of the database.
const ATTACKER: &str = "203.0.113.9";

fn write_geo_db(path: &Path) {
    let mut w = MmdbWriter::new("GeoLite2-City");
    w.insert(
        "81.2.69.0".parse().unwrap(),
        24,
        &city_record("GB", Some((51.5142, -0.0931, 10))),
    );
    w.insert(
        "216.160.83.0".parse().unwrap(),
        24,
        &city_record("US", Some((47.2513, -122.3149, 20))),
    );
    w.insert(
        "89.160.20.0".parse().unwrap(),
        24,
        &city_record("SE", Some((58.4167, 15.6167, 50))),
    );
    std::fs::write(path, w.to_bytes()).unwrap();
}

fn write_config(dir: &Path, hook_url: &str, resolve_after: &str) -> PathBuf {
    let config = dir.join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            r#"
logins:
  geoip_database: GeoLite2-City.mmdb
  failed_bursts:
    per_source: {{threshold: 4, window: 5m}}
    per_user: {{threshold: 3, window: 5m}}
  resolve_after: {resolve_after}
alerting:
  route:
    receiver: hook
    group_by: [alertname, user, source]
    group_wait: 100ms
    group_interval: 500ms
    repeat_interval: 1h
  receivers:
    - name: hook
      webhook_configs:
        - url: '{hook_url}'
          send_resolved: true
"#
        ),
    )
    .unwrap();
    config
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// One login line as the example LMS writes it, `ago` seconds ago.
fn login(user: &str, success: bool, ip: &str, ago: i64) -> Value {
    json!({
        "timestamp": now_secs() - ago,
        "level": if success { "info" } else { "warning" },
        "service": "lms-api",
        "message": if success { "login succeeded" } else { "login failed" },
        "event": "login",
        "outcome": if success { "success" } else { "failure" },
        "user_id": user,
        "client_ip": ip,
        "path": "/api/auth/login",
        "status": if success { 200 } else { 401 },
    })
}

fn post_ndjson(server: &BelfryServer, lines: &[Value]) {
    let body: Vec<String> = lines.iter().map(Value::to_string).collect();
    let (status, text) = block(async {
        let resp = http_client()
            .post(server.url("/api/belfry/logs"))
            .header("Content-Type", "application/x-ndjson")
            .body(body.join("\n"))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    });
    assert_eq!(status, 200, "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["accepted"], lines.len(), "{text}");
}

/// The same lines through Loki's push API, as python-logging-loki sends.
fn post_loki(server: &BelfryServer, lines: &[Value]) {
    let values: Vec<Value> = lines
        .iter()
        .map(|l| {
            let ns = l["timestamp"].as_i64().unwrap() * 1_000_000_000;
            json!([ns.to_string(), l.to_string()])
        })
        .collect();
    let body = json!({"streams": [{"stream": {"service": "lms-api"}, "values": values}]});
    let status = block(async {
        http_client()
            .post(server.url("/loki/api/v1/push"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 204);
}

fn alerts(server: &BelfryServer) -> Vec<Value> {
    get_json(&server.url("/api/v2/alerts"))
        .as_array()
        .unwrap()
        .clone()
}

fn find_alert(server: &BelfryServer, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
    wait_for(Duration::from_secs(20), what, || {
        alerts(server).into_iter().find(|a| matches(a))
    })
}

fn named<'a>(name: &'a str, label: &'a str, value: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |a: &Value| a["labels"]["alertname"] == name && a["labels"][label] == value
}

fn metric(server: &BelfryServer, series: &str) -> Option<f64> {
    let (_, text) = http_get(&server.url("/metrics")).unwrap();
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn new_country_travel_and_bursts_alert_with_the_token_and_history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    write_geo_db(&dir.path().join("GeoLite2-City.mmdb"));
    let (hook_url, bodies) = start_webhook();
    let config = write_config(dir.path(), &hook_url, "1h");
    let data = dir.path().join("data");
    let server = BelfryServer::start(&data, Some(&config));

    // Two logins from London, the first ever raising nothing; then one
    // near Seattle ten minutes later: a new country and impossible travel.
    post_ndjson(&server, &[login("student-4711", true, GB, 3 * 3600)]);
    post_ndjson(&server, &[login("student-4711", true, GB, 2 * 3600)]);
    post_ndjson(&server, &[login("student-4711", true, US, 2 * 3600 - 600)]);
    let country = find_alert(
        &server,
        "LMSUnusualLoginCountry for US",
        named("LMSUnusualLoginCountry", "country", "US"),
    );
    let token = country["labels"]["user"].as_str().unwrap().to_string();
    assert!(token.starts_with("u_") && token.len() > 10, "{token}");
    assert_eq!(country["labels"]["severity"], "warning");
    assert_eq!(country["labels"]["source"], US);
    assert_eq!(
        country["annotations"]["runbook_url"],
        server.url("/runbooks/LMSUnusualLoginCountry")
    );
    let travel = find_alert(
        &server,
        "LMSImpossibleTravel",
        named("LMSImpossibleTravel", "user", &token),
    );
    assert_eq!(travel["labels"]["country"], "US");
    assert!(
        travel["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("after a login in GB"),
        "{travel}"
    );
    // Through the routes to a receiver, like any alert.
    let notified = alert_at_hook(&bodies, "LMSUnusualLoginCountry", "firing");
    assert_eq!(notified["labels"]["user"], token.as_str());
    // The runbook the alert links to is there.
    let (status, page) = http_get(&server.url("/runbooks/LMSUnusualLoginCountry")).unwrap();
    assert_eq!(status, 200, "{page}");

    // Password guessing: one address against four users (over Loki's
    // push API), and one user from three addresses in the LMS's own
    // `login_failed` shape.
    let from_one: Vec<Value> = (1..=4)
        .map(|i| login(&format!("guessed-{i}"), false, ATTACKER, 60 - i))
        .collect();
    post_loki(&server, &from_one);
    let burst = find_alert(
        &server,
        "LMSFailedLoginBurstSource",
        named("LMSFailedLoginBurstSource", "source", ATTACKER),
    );
    assert!(burst["labels"].get("user").is_none(), "{burst}");
    let mut on_one = Vec::new();
    for (i, ip) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let mut line = login("student-9", false, ip, 30 - i as i64);
        line["event"] = json!("login_failed");
        line.as_object_mut().unwrap().remove("outcome");
        on_one.push(line);
    }
    post_ndjson(&server, &on_one);
    let user_burst = find_alert(&server, "LMSFailedLoginBurstUser", |a| {
        a["labels"]["alertname"] == "LMSFailedLoginBurstUser"
    });
    let burst_token = user_burst["labels"]["user"].as_str().unwrap();
    assert!(burst_token.starts_with("u_") && burst_token != token);
    // Below the per-user threshold, the four guessed users raised nothing.
    assert_eq!(
        alerts(&server)
            .iter()
            .filter(|a| a["labels"]["alertname"] == "LMSFailedLoginBurstUser")
            .count(),
        1
    );

    let raw = ["student-4711", "student-9", "guessed-1", "guessed-4"];
    let everything = serde_json::to_string(&alerts(&server)).unwrap();
    for id in raw {
        assert!(!everything.contains(id), "{id} in the alerts: {everything}");
    }
    assert_eq!(
        metric(&server, r#"belfry_logins_events_total{outcome="success"}"#),
        Some(3.0)
    );
    assert_eq!(
        metric(&server, r#"belfry_logins_events_total{outcome="failure"}"#),
        Some(7.0)
    );
    assert_eq!(metric(&server, "belfry_logins_geoip_database_ok"), Some(1.0));
    server.stop();
    let found = grep_dir(&data, &raw);
    assert!(found.is_empty(), "raw user ids stored: {found:?}");

    // After a restart the user's countries are still known: Sweden is new
    // to them. A user never seen before logs in from Sweden first (same
    // batch, so processed by the time the other alert shows): no alert.
    let server = BelfryServer::start(&data, Some(&config));
    post_ndjson(
        &server,
        &[
            login("student-new", true, SE_OTHER, 3000),
            login("student-4711", true, SE, 3000),
        ],
    );
    let sweden = find_alert(
        &server,
        "LMSUnusualLoginCountry for SE",
        named("LMSUnusualLoginCountry", "country", "SE"),
    );
    assert_eq!(sweden["labels"]["user"], token.as_str());
    assert_eq!(sweden["labels"]["source"], SE);
    let all = alerts(&server);
    assert!(
        !all.iter().any(|a| a["labels"]["source"] == SE_OTHER),
        "a first login raised an alert: {all:?}"
    );
    // The alerts from before the restart are still held.
    assert!(all.iter().any(named("LMSUnusualLoginCountry", "country", "US")));
    server.stop();
}

#[test]
fn a_damaged_geo_database_leaves_bursts_working_and_a_reload_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("GeoLite2-City.mmdb");
    std::fs::write(&db, b"\x00\x01 this is not a MaxMind database").unwrap();
    let (hook_url, bodies) = start_webhook();
    let config = write_config(dir.path(), &hook_url, "2s");
    let log = dir.path().join("belfry.log");
    let server = BelfryServer::start_with(&dir.path().join("data"), Some(&config), &[], Some(&log));

    let text = std::fs::read_to_string(&log).unwrap();
    let warning = text
        .lines()
        .find(|l| l.contains("logins.geoip_database cannot be used"))
        .unwrap_or_else(|| panic!("no warning in the log:\n{text}"));
    assert!(warning.contains(db.to_str().unwrap()), "{warning}");
    assert!(warning.contains("WARN"), "{warning}");
    assert_eq!(metric(&server, "belfry_logins_geoip_database_ok"), Some(0.0));
    assert_eq!(
        metric(&server, "belfry_logins_geoip_database_errors_total"),
        Some(1.0)
    );

    // A country change and a burst in one batch: only the burst alerts.
    let mut lines = vec![
        login("student-1", true, GB, 2 * 86_400),
        login("student-1", true, US, 86_400),
    ];
    lines.extend((1..=4).map(|i| login(&format!("other-{i}"), false, ATTACKER, 10 - i)));
    post_ndjson(&server, &lines);
    let burst = find_alert(
        &server,
        "LMSFailedLoginBurstSource",
        named("LMSFailedLoginBurstSource", "source", ATTACKER),
    );
    assert!(burst["labels"].get("country").is_none(), "{burst}");
    let all = alerts(&server);
    assert!(
        !all.iter()
            .any(|a| a["labels"]["alertname"] == "LMSUnusualLoginCountry"),
        "{all:?}"
    );
    // It resolves `resolve_after` (2 s) after its detection.
    alert_at_hook(&bodies, "LMSFailedLoginBurstSource", "firing");
    alert_at_hook(&bodies, "LMSFailedLoginBurstSource", "resolved");

    // A good file and a reload: the checks are back.
    write_geo_db(&db);
    let status = block(async {
        http_client()
            .post(server.url("/-/reload"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 200);
    assert_eq!(metric(&server, "belfry_logins_geoip_database_ok"), Some(1.0));
    assert_eq!(metric(&server, "belfry_logins_geoip_database_loaded"), Some(1.0));
    post_ndjson(
        &server,
        &[
            login("student-2", true, GB, 2 * 86_400),
            login("student-2", true, SE, 86_400),
        ],
    );
    find_alert(
        &server,
        "LMSUnusualLoginCountry after the reload",
        named("LMSUnusualLoginCountry", "country", "SE"),
    );
    server.stop();
}
