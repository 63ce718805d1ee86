//! Error alerts and cron monitors end to end with the real Python
//! `sentry-sdk`: a new issue and its regression reach a webhook receiver
//! through the alert routes (and `amtool` lists them); a monitor upserted
//! by a check-in misses its next check-in, recovers, fails and recovers
//! again, each change at the webhook. A schedule minute lasts 2 s here
//! (`errors.monitors.minute`), so the test takes seconds, not minutes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

use crate::log_rules::start_webhook;
use crate::log_shippers_support::python_with;
use crate::support::{
    alert_at_hook, assert_grade_sync_recovered, block, get_json, http_client, http_get, peer_binary,
    start_errors_server,
};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const SCRIPT: &str = include_str!("py/sentry_alerts.py");

/// The SDK in a long-lived Python process, one command at a time.
struct Sdk {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sdk {
    fn start(python: &str, dsn: &str) -> Sdk {
        let mut child = Command::new(python)
            .arg("-c")
            .arg(SCRIPT)
            .arg(dsn)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Sdk { child, stdin, stdout }
    }

    fn run(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "done", "the SDK script failed on {command:?}");
    }
}

impl Drop for Sdk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(method: reqwest::Method, url: &str, body: String) -> (u16, String) {
    block(async {
        let resp = http_client()
            .request(method, url)
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn metric_line(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn new_and_regressed_issues_and_cron_monitors_alert_through_the_routes() {
    let Some(python) = python_with("sentry_sdk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (hook_url, bodies) = start_webhook();
    let server = start_errors_server(dir.path(), KEY, "alerts: {resend_interval: 1s}", &hook_url);
    let mut sdk = Sdk::start(python, &format!("http://{KEY}@{}/1", server.addr));

    // A new issue.
    sdk.run("exception");
    let new = alert_at_hook(&bodies, "ErrorIssueNew", "firing");
    let labels = &new["labels"];
    assert_eq!(labels["project"], "lms", "{new}");
    assert_eq!(labels["level"], "error", "{new}");
    assert_eq!(labels["environment"], "production", "{new}");
    assert_eq!(labels["release"], "lms@2.0.1", "{new}");
    let issue = labels["issue"].as_str().unwrap().to_string();
    let summary = new["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("RuntimeError: grade export for course"),
        "{new}"
    );
    assert!(
        new["annotations"]["culprit"]
            .as_str()
            .unwrap()
            .contains("export_grades"),
        "{new}"
    );
    assert!(
        new["annotations"]["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/belfry/errors/issues/{issue}")),
        "{new}"
    );

    // Resolving the issue resolves its alert; seeing it again is a regression.
    let (status, body) = send(
        reqwest::Method::PUT,
        &server.url(&format!("/api/belfry/errors/issues/{issue}")),
        r#"{"status": "resolved"}"#.into(),
    );
    assert_eq!(status, 200, "{body}");
    alert_at_hook(&bodies, "ErrorIssueNew", "resolved");
    sdk.run("exception");
    let regressed = alert_at_hook(&bodies, "ErrorIssueRegressed", "firing");
    assert_eq!(regressed["labels"]["issue"], issue.as_str(), "{regressed}");
    assert_eq!(regressed["labels"]["release"], "lms@2.0.1", "{regressed}");

    // amtool, pointed at Belfry as at an Alertmanager, lists it.
    match peer_binary("amtool") {
        Some(amtool) => {
            let out = Command::new(amtool)
                .arg(format!("--alertmanager.url={}", server.url("")))
                .args(["alert", "query", "-o", "json", "alertname=ErrorIssueRegressed"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(listed[0]["labels"]["issue"], issue.as_str(), "{listed}");
            assert_eq!(listed[0]["labels"]["project"], "lms", "{listed}");
        }
        None => eprintln!("skipping the amtool listing: amtool is not installed"),
    }

    // A monitor made by its first check-in, then silent past its margin.
    sdk.run("checkin ok");
    let monitors = get_json(&server.url("/api/belfry/errors/monitors?project=1"))["data"].clone();
    let monitor = &monitors[0];
    assert_eq!(monitor["slug"], "grade-sync", "{monitors}");
    assert_eq!(monitor["status"], "ok", "{monitor}");
    assert_eq!(monitor["schedule"]["type"], "interval", "{monitor}");
    assert_eq!(monitor["schedule"]["unit"], "minute", "{monitor}");
    assert_eq!(monitor["timezone"], "Europe/Berlin", "{monitor}");
    assert!(monitor["next_expected"].is_string(), "{monitor}");
    let missed = alert_at_hook(&bodies, "CronMonitorMissed", "firing");
    assert_eq!(missed["labels"]["monitor"], "grade-sync", "{missed}");
    assert_eq!(missed["labels"]["project"], "lms", "{missed}");
    assert_eq!(missed["labels"]["environment"], "production", "{missed}");
    // A good run recovers it; a failed one right after alerts again.
    sdk.run("checkin ok");
    sdk.run("checkin error");
    alert_at_hook(&bodies, "CronMonitorMissed", "resolved");
    let failed = alert_at_hook(&bodies, "CronMonitorFailed", "firing");
    assert_eq!(failed["labels"]["monitor"], "grade-sync", "{failed}");
    sdk.run("checkin ok");
    alert_at_hook(&bodies, "CronMonitorFailed", "resolved");

    assert_grade_sync_recovered(&server);
    let (status, body) =
        http_get(&server.url("/api/belfry/errors/monitors/nope/checkins?project=1")).unwrap();
    assert_eq!(status, 404, "{body}");

    // A check-in with a bad monitor_config is refused and counted; the
    // event beside it in the envelope is stored.
    let envelope = format!(
        "{{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}}\n{{\"type\":\"event\"}}\n{}\n{{\"type\":\"check_in\"}}\n{}\n",
        r#"{"message":"quiz import stalled","level":"warning","environment":"production"}"#,
        r#"{"check_in_id":"0f6b5d5a8c2e4e4b9c0d1a2b3c4d5e6f","monitor_slug":"quiz-import","status":"ok","monitor_config":{"schedule":{"type":"interval","value":1,"unit":"fortnight"}}}"#
    );
    let (status, body) = send(
        reqwest::Method::POST,
        &server.url(&format!("/api/1/envelope/?sentry_key={KEY}")),
        envelope,
    );
    assert_eq!(status, 200, "{body}");
    let issues = get_json(&server.url("/api/belfry/errors/issues?project=1&query=quiz"))["data"].clone();
    assert_eq!(issues[0]["title"], "quiz import stalled", "{issues}");
    let monitors = get_json(&server.url("/api/belfry/errors/monitors?project=1"))["data"].clone();
    assert_eq!(monitors.as_array().unwrap().len(), 1, "{monitors}");

    let metrics = http_get(&server.url("/metrics")).unwrap().1;
    let value =
        |prefix: &str| metric_line(&metrics, prefix).unwrap_or_else(|| panic!("no {prefix} in /metrics"));
    assert_eq!(
        value(r#"belfry_error_events_rejected_total{reason="invalid_monitor_config"}"#),
        1.0
    );
    assert!(
        value(r#"belfry_error_monitor_checkins_total{project="lms",monitor="grade-sync",status="missed"}"#)
            >= 1.0
    );
    assert_eq!(
        value(r#"belfry_error_monitor_checkins_total{project="lms",monitor="grade-sync",status="error"}"#),
        1.0
    );
    assert!(value(r#"belfry_error_alerts_sent_total{alertname="ErrorIssueNew",state="firing"}"#) >= 1.0);
    assert_eq!(
        value(r#"belfry_error_alerts_sent_total{alertname="CronMonitorFailed",state="resolved"}"#),
        1.0
    );
    drop(sdk);
    server.stop();
}
