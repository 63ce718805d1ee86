//! LogQL rule groups end to end: python-logging-loki pushes failed logins
//! into a real `belfry serve`; a `type: logql` alerting rule fires through
//! the alert routes (a webhook receives it, Debian's `amtool` lists it), and
//! a recording rule's series is read back through the Prometheus API. Then
//! `belfry check rules` and `belfry test rules` over LogQL groups.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::log_shippers_support::{python_with, run_python};
use crate::support::{BelfryServer, get_json, peer_binary, wait_for};

const RULES: &str = r#"
groups:
  - name: auth-logs
    type: logql
    interval: 1s
    rules:
      - alert: FailedLoginBurst
        expr: sum by (service) (count_over_time({service="lms-auth"} |= "login failed" [1m])) > 5
        labels: {severity: warning}
        annotations:
          summary: '{{ $value }} failed logins on {{ $labels.service }}'
      - record: service_level:log_lines:count1m
        expr: sum by (service, level) (count_over_time({service="lms-auth"}[1m]))
"#;

const PUSH_SCRIPT: &str = r#"
import logging, sys
import logging_loki
log = logging.getLogger("auth"); log.setLevel(logging.INFO)
log.addHandler(logging_loki.LokiHandler(url=sys.argv[1] + "/loki/api/v1/push", tags={"service": "lms-auth"}, version="1"))
for i in range(8):
    log.warning("login failed for stu-%d from 203.0.113.9", i)
log.info("login ok for stu-100")
"#;

/// A webhook receiver on a free port: every request body it gets, in order.
pub fn start_webhook() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_ok() {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

#[test]
fn logql_rules_alert_through_the_routes_and_record_into_the_tsdb() {
    let Some(python) = python_with("logging_loki") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("auth-logs.yml");
    std::fs::write(&rules, RULES).unwrap();
    let (hook_url, hook_bodies) = start_webhook();
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            r#"
global:
  evaluation_interval: 1s
rule_files: ['{}']
logs:
  commit:
    interval: 200ms
alerting:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 200ms
    group_interval: 1s
    repeat_interval: 1h
  receivers:
    - name: hook
      webhook_configs:
        - url: '{hook_url}'
"#,
            rules.display()
        ),
    )
    .unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    run_python(python, PUSH_SCRIPT, &[server.url("")]);

    // The webhook gets the alert the rule raised, in Alertmanager's JSON.
    let alert = wait_for(Duration::from_secs(30), "the log alert at the webhook", || {
        let bodies = hook_bodies.lock().unwrap();
        bodies.iter().find_map(|b| {
            let v: Value = serde_json::from_str(b).ok()?;
            v["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == "FailedLoginBurst")
                .cloned()
        })
    });
    assert_eq!(alert["status"], "firing", "{alert}");
    assert_eq!(alert["labels"]["service"], "lms-auth", "{alert}");
    assert_eq!(alert["labels"]["severity"], "warning", "{alert}");
    assert_eq!(
        alert["annotations"]["summary"], "8 failed logins on lms-auth",
        "{alert}"
    );

    // amtool, pointed at Belfry as at an Alertmanager, lists it.
    if let Some(amtool) = peer_binary("amtool") {
        let out = Command::new(amtool)
            .arg(format!("--alertmanager.url={}", server.url("")))
            .args(["alert", "query", "-o", "json", "alertname=FailedLoginBurst"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(listed[0]["labels"]["service"], "lms-auth", "{listed}");
    }

    // The recording rule's series is in the TSDB, by level: the Loki
    // handler's `severity` label names each line's level.
    let result = wait_for(Duration::from_secs(30), "the recorded log counts", || {
        let v = get_json(&server.url("/api/v1/query?query=service_level:log_lines:count1m"));
        let r = v["data"]["result"].as_array()?.clone();
        let warning = r.iter().find(|s| s["metric"]["level"] == "warning")?;
        (warning["value"][1] == "8" && r.len() == 2).then_some(r)
    });
    let info = result.iter().find(|s| s["metric"]["level"] == "info").unwrap();
    assert_eq!(info["value"][1], "1", "{result:?}");
    assert_eq!(info["metric"]["service"], "lms-auth");

    // Both rules evaluate cleanly. Loki's ruler API lists the LogQL group,
    // Prometheus's does not (Grafana would run its rules as PromQL).
    let promql = get_json(&server.url("/api/v1/rules"))["data"]["groups"].clone();
    assert_eq!(promql, serde_json::json!([]), "{promql}");
    let groups = get_json(&server.url("/prometheus/api/v1/rules"))["data"]["groups"].clone();
    let rules = groups[0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{groups}");
    for r in rules {
        assert_eq!(r["health"], "ok", "{r}");
    }
    assert_eq!(rules[0]["state"], "firing", "{groups}");
    let alerts = get_json(&server.url("/prometheus/api/v1/alerts"))["data"]["alerts"].clone();
    assert_eq!(alerts[0]["labels"]["alertname"], "FailedLoginBurst", "{alerts}");
    let promql_alerts = get_json(&server.url("/api/v1/alerts"))["data"]["alerts"].clone();
    assert_eq!(promql_alerts, serde_json::json!([]), "{promql_alerts}");
    server.stop();
}

fn belfry() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_belfry"));
    cmd.env_remove("BELFRY_CONFIG");
    cmd
}

#[test]
fn check_and_test_rules_read_logql_groups() {
    let pack = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/lms/logs.yml");
    let out = belfry().args(["check", "rules", pack]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("SUCCESS: 4 rules found"), "{said}");

    let tests = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/lms/tests/logs_test.yml");
    let out = belfry().args(["test", "rules", tests]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let dir = tempfile::tempdir().unwrap();
    // A LogQL syntax error is placed inside the expression; a log query
    // (no range aggregation) is refused as a rule; a PromQL group still
    // refuses LogQL's line filters.
    let cases = [
        (
            "groups:\n  - name: g\n    type: logql\n    rules:\n      - alert: A\n        expr: |\n          sum(count_over_time({service=\"a\"}\n            |= [5m])) > 1\n",
            "bad.yml:8:",
        ),
        (
            "groups:\n  - name: g\n    type: logql\n    rules:\n      - record: r\n        expr: '{service=\"a\"} |= \"x\"'\n",
            "needs a metric query",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: 'count_over_time({service=\"a\"} |= \"x\" [5m]) > 1'\n",
            "could not parse expression",
        ),
        (
            "groups:\n  - name: g\n    type: sql\n    rules: []\n",
            "unknown group type \"sql\"",
        ),
    ];
    for (text, want) in cases {
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, text).unwrap();
        let out = belfry().args(["check", "rules"]).arg(&bad).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains(want), "want {want:?} in {said}");
    }

    // A failing LogQL expectation fails the run and says what it got.
    let rules = dir.path().join("r.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    type: logql\n    rules:\n      - record: errors:count5m\n        expr: 'sum(count_over_time({level=\"error\"}[5m]))'\n",
    )
    .unwrap();
    let test = dir.path().join("t.yml");
    std::fs::write(
        &test,
        "rule_files: [r.yml]\ntests:\n  - interval: 1m\n    input_logs:\n      - stream: '{service=\"api\", level=\"error\"}'\n        lines: [{line: boom, times: 3}]\n    promql_expr_test:\n      - expr: errors:count5m\n        eval_time: 2m\n        exp_samples: [{labels: 'errors:count5m', value: 4}]\n",
    )
    .unwrap();
    let out = belfry().args(["test", "rules"]).arg(&test).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("exp: [{Labels:errors:count5m{} Value:4}]"),
        "{said}"
    );
    assert!(
        said.contains("got: [{Labels:errors:count5m{} Value:3}]"),
        "{said}"
    );
}
