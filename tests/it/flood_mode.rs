//! Alert flood mode on a real server with two webhook receivers — the
//! team's (every route) and on-call's (flood mode's secondary receiver):
//! turned on with `belfry flood on`, a critical alert reaches both while a
//! warning of its group is muted by flood mode's silence, an override
//! raises a rule's threshold so its alert resolves, the banner is on the
//! Alerts page, the audit log has each change; flood mode survives a
//! restart, `belfry flood off` restores everything, a short flood mode
//! ends by itself, and bad requests are refused naming the problem.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::log_rules::start_webhook;
use crate::support::{BelfryServer, alert_at_hook, block, get_json, http_client, wait_for};

const RULES: &str = r#"groups:
  - name: lms
    interval: 1s
    rules:
      - alert: LmsDown
        expr: flood_lms_up == 0
        labels: {severity: critical}
      - alert: ErrorsHigh
        expr: flood_error_rate > 5
        labels: {severity: warning}
"#;

fn push(server: &BelfryServer, body: &str) {
    let status = block(async {
        http_client()
            .post(server.url("/api/v1/import/prometheus"))
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
}

/// A JSON request to `path`: (status, body).
fn call(server: &BelfryServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    block(async {
        let mut req = http_client().request(method, server.url(path));
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    })
}

fn flood_on(server: &BelfryServer, body: Value) -> (u16, Value) {
    call(server, reqwest::Method::POST, "/api/belfry/flood", Some(body))
}

fn flood_status(server: &BelfryServer) -> Value {
    get_json(&server.url("/api/belfry/flood"))["data"].clone()
}

/// `belfry flood ARGS --url URL`: its standard output; fails the test
/// when the command fails.
fn cli(server: &BelfryServer, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .arg("flood")
        .args(args)
        .args(["--url", &server.url("")])
        .env_remove("BELFRY_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "belfry flood {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The names of the alerts in each notification a webhook got, in order.
fn notified(bodies: &Arc<Mutex<Vec<String>>>) -> Vec<Vec<(String, String)>> {
    bodies
        .lock()
        .unwrap()
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .map(|v| {
            v["alerts"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|a| {
                            (
                                a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                                a["status"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn firing_rule_alerts(server: &BelfryServer) -> Vec<String> {
    get_json(&server.url("/api/v1/alerts"))["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
        .collect()
}

/// The audit log's flood mode entries, oldest first: (action, actor, detail).
fn audited(server: &BelfryServer) -> Vec<(String, String, String)> {
    let body = get_json(&server.url("/api/belfry/audit?limit=100"));
    let entries = body["data"]["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    entries
        .iter()
        .rev()
        .filter(|e| e["action"].as_str().unwrap_or("").starts_with("flood."))
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (f("action"), f("actor"), f("detail"))
        })
        .collect()
}

fn alerts_page(server: &BelfryServer) -> String {
    crate::support::html_page(&http_client(), &server.url("/alerts"))
}

fn metric_line(server: &BelfryServer, prefix: &str) -> Option<String> {
    let (_, text) = crate::support::http_get(&server.url("/metrics")).unwrap();
    text.lines().find(|l| l.starts_with(prefix)).map(str::to_string)
}

#[test]
fn flood_mode_silences_warnings_doubles_criticals_raises_thresholds_and_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let (team_url, team) = start_webhook();
    let (oncall_url, oncall) = start_webhook();
    std::fs::write(tmp.path().join("rules.yml"), RULES).unwrap();
    let cfg = tmp.path().join("belfry.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"
global:
  evaluation_interval: 1s
rule_files: ['rules.yml']
alerting:
  route:
    receiver: team
    group_by: [job]
    group_wait: 200ms
    group_interval: 1s
    repeat_interval: 1h
  receivers:
    - name: team
      webhook_configs: [{{url: '{team_url}'}}]
    - name: oncall
      webhook_configs: [{{url: '{oncall_url}'}}]
alerting_flood:
  secondary_receiver: oncall
  max_duration: 1h
  overrides:
    - name: errors-raised
      rule: ErrorsHigh
      expr: flood_error_rate > 50
"#
        ),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let server = BelfryServer::start(&data, Some(&cfg));
    push(&server, "flood_lms_up 0\nflood_error_rate 20\n");
    alert_at_hook(&team, "LmsDown", "firing");
    alert_at_hook(&team, "ErrorsHigh", "firing");
    assert!(notified(&oncall).is_empty(), "{:?}", notified(&oncall));

    // Bad requests, each refused naming its problem and counted.
    let refused = |body: Value, needle: &str| {
        let (status, answer) = flood_on(&server, body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{body}: {answer}");
    };
    refused(json!({"until": "2020-01-01T00:00:00Z"}), "not in the future");
    refused(json!({"duration": "0s"}), "greater than 0");
    refused(json!({"duration": "2h"}), "max_duration");
    refused(json!({"duration": "10m", "overrides": ["nope"]}), "\"nope\"");
    refused(json!({"reason": "no end"}), "exactly one of until");
    let (status, answer) = call(&server, reqwest::Method::DELETE, "/api/belfry/flood", None);
    assert_eq!(status, 409, "{answer}");
    for reason in [
        "end_in_past",
        "duration_not_positive",
        "beyond_max_duration",
        "unknown_override",
        "no_end",
    ] {
        let line = metric_line(
            &server,
            &format!("belfry_flood_mode_refusals_total{{reason=\"{reason}\"}}"),
        );
        assert_eq!(
            line.as_deref().and_then(|l| l.rsplit(' ').next()),
            Some("1"),
            "{reason}: {line:?}"
        );
    }
    assert_eq!(flood_status(&server)["active"], false);
    assert!(!alerts_page(&server).contains("Alert flood mode until"));

    // On, from the command line.
    let out = cli(
        &server,
        &[
            "on",
            "--for",
            "30m",
            "--reason",
            "LMS outage",
            "--override",
            "errors-raised",
        ],
    );
    assert!(
        out.contains("alert flood mode is on until") && out.contains("errors-raised"),
        "{out}"
    );
    let status = flood_status(&server);
    assert_eq!(status["active"], true, "{status}");
    assert_eq!(status["current"]["reason"], "LMS outage");
    let silence_id = status["current"]["silenceId"].as_str().unwrap().to_string();
    assert_eq!(
        metric_line(&server, "belfry_flood_mode_active ").as_deref(),
        Some("belfry_flood_mode_active 1")
    );

    // The firing critical alert now also reaches on-call.
    alert_at_hook(&oncall, "LmsDown", "firing");
    // A critical and a warning of one group: the team hears of the
    // critical one only, on-call too.
    let posted = json!([
        {"labels": {"alertname": "BackupFailed", "severity": "critical", "job": "backup"}},
        {"labels": {"alertname": "BackupSlow", "severity": "warning", "job": "backup"}},
    ]);
    let (status, answer) = call(&server, reqwest::Method::POST, "/api/v2/alerts", Some(posted));
    assert_eq!(status, 200, "{answer}");
    alert_at_hook(&team, "BackupFailed", "firing");
    alert_at_hook(&oncall, "BackupFailed", "firing");
    for n in notified(&team).iter().chain(notified(&oncall).iter()) {
        assert!(!n.iter().any(|(name, _)| name == "BackupSlow"), "{n:?}");
    }
    let held = get_json(&server.url("/api/v2/alerts?filter=alertname%3D%22BackupSlow%22"));
    assert_eq!(held[0]["status"]["silencedBy"], json!([silence_id]), "{held}");
    assert_eq!(held[0]["status"]["state"], "suppressed", "{held}");
    // The override's threshold (50) is above the rate (20): it resolves.
    wait_for(
        Duration::from_secs(20),
        "ErrorsHigh to resolve under the override",
        || (!firing_rule_alerts(&server).contains(&"ErrorsHigh".to_string())).then_some(()),
    );
    assert!(firing_rule_alerts(&server).contains(&"LmsDown".to_string()));

    let page = alerts_page(&server);
    assert!(
        page.contains("Alert flood mode until")
            && page.contains("critical also to oncall")
            && page.contains("overrides: errors-raised")
            && page.contains("role=\"status\""),
        "{page}"
    );
    let entries = audited(&server);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].0, "flood.on");
    assert!(
        entries[0].2.contains("LMS outage") && entries[0].2.contains("errors-raised"),
        "{entries:?}"
    );
    server.stop();

    // A restart keeps it on: the state, its silence, the override.
    let server = BelfryServer::start(&data, Some(&cfg));
    let status = flood_status(&server);
    assert_eq!(status["active"], true, "{status}");
    assert_eq!(status["current"]["silenceId"], json!(silence_id));
    let silences = get_json(&server.url("/api/v2/silences"));
    let ours = silences
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(silence_id))
        .unwrap_or_else(|| panic!("{silences}"));
    assert_eq!(ours["status"]["state"], "active");
    assert_eq!(ours["matchers"][0]["name"], "severity");
    assert!(alerts_page(&server).contains("Alert flood mode until"));
    assert!(cli(&server, &["status"]).contains("reason: LMS outage"));
    // Evaluations after the restart keep the raised threshold: the rule's
    // health says it ran, and ErrorsHigh is not firing.
    wait_for(
        Duration::from_secs(20),
        "the rules to evaluate after the restart",
        || {
            let rules = get_json(&server.url("/api/v1/rules"));
            rules["data"]["groups"][0]["rules"]
                .as_array()?
                .iter()
                .all(|r| r["health"] == "ok")
                .then_some(())
        },
    );
    assert!(!firing_rule_alerts(&server).contains(&"ErrorsHigh".to_string()));

    // Off: the warning is heard, the override is gone.
    let out = cli(&server, &["off"]);
    assert!(out.contains("alert flood mode is off"), "{out}");
    assert_eq!(flood_status(&server)["active"], false);
    alert_at_hook(&team, "BackupSlow", "firing");
    wait_for(Duration::from_secs(20), "ErrorsHigh to fire again", || {
        firing_rule_alerts(&server)
            .contains(&"ErrorsHigh".to_string())
            .then_some(())
    });
    assert!(!alerts_page(&server).contains("Alert flood mode until"));
    let silences = get_json(&server.url("/api/v2/silences"));
    let ours = silences
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(silence_id))
        .unwrap();
    assert_eq!(ours["status"]["state"], "expired");

    // A short flood mode ends by itself.
    let (status, answer) = flood_on(&server, json!({"duration": "3s", "reason": "brief"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["active"], true);
    wait_for(Duration::from_secs(20), "flood mode to end by itself", || {
        (flood_status(&server)["active"] == false).then_some(())
    });
    let actions: Vec<(String, String)> = audited(&server).into_iter().map(|(a, who, _)| (a, who)).collect();
    assert_eq!(
        actions,
        [
            ("flood.on".to_string(), "open".to_string()),
            ("flood.off".to_string(), "open".to_string()),
            ("flood.on".to_string(), "open".to_string()),
            ("flood.expire".to_string(), "belfry".to_string()),
        ]
    );
    assert_eq!(
        metric_line(&server, "belfry_flood_mode_active ").as_deref(),
        Some("belfry_flood_mode_active 0")
    );
    assert!(cli(&server, &["status"]).contains("alert flood mode is off"));
    server.stop();
}

/// `belfry check config` holds the overrides to the rule files: a rule
/// they do not have, or an expression that does not parse, is refused
/// naming the override.
#[test]
fn check_config_refuses_an_override_the_rules_cannot_take() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("rules.yml"), RULES).unwrap();
    let check = |rule: &str, expr: &str| {
        let cfg = tmp.path().join("belfry.yml");
        std::fs::write(
            &cfg,
            format!(
                "rule_files: ['rules.yml']\nalerting:\n  route: {{receiver: team}}\n  receivers: [{{name: team}}]\nalerting_flood:\n  secondary_receiver: team\n  overrides:\n    - {{name: raised, rule: {rule}, expr: '{expr}'}}\n"
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
            .args(["check", "config"])
            .arg(&cfg)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(check("ErrorsHigh", "flood_error_rate > 50").0);
    assert!(check("lms/ErrorsHigh", "flood_error_rate > 50").0);
    let (ok, err) = check("Gone", "flood_error_rate > 50");
    assert!(
        !ok && err.contains("override \"raised\"") && err.contains("\"Gone\""),
        "{err}"
    );
    let (ok, err) = check("ErrorsHigh", "flood_error_rate >");
    assert!(
        !ok && err.contains("override \"raised\"") && err.contains("not a valid promql"),
        "{err}"
    );
}
