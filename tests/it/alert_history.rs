//! The alert history on a real server: a rule over a pushed metric goes
//! pending, firing and back to inactive; every change is in
//! `/api/belfry/alerts/history` (searchable by words and range) and on the
//! Alerts page, and is still there after a restart. Alerts received from
//! elsewhere — posted to `/api/v2/alerts` by `amtool`, and an error
//! alert — are listed on the page and their changes kept the same way.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::{BelfryServer, block, get_json, html_page, http_client, peer_binary, wait_for};

fn push(server: &BelfryServer, value: u32) {
    let body = format!("lms_queue_depth{{queue=\"grading\"}} {value}\n");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        http_client()
            .post(server.url("/api/v1/import/prometheus"))
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
}

fn changes(server: &BelfryServer, query: &str) -> Vec<(String, String)> {
    let url = server.url(&format!("/api/belfry/alerts/history?query={query}"));
    let body = get_json(&url);
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .rev()
        .map(|t: &Value| {
            (
                t["from"].as_str().unwrap().to_string(),
                t["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_state_change_is_kept_searchable_and_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("rules.yml"),
        "groups:\n  - name: queues\n    interval: 1s\n    rules:\n      - alert: GradingQueueDeep\n        expr: lms_queue_depth > 100\n        for: 2s\n        labels: {severity: warning}\n        annotations: {summary: 'grading queue is {{ $value }} deep'}\n",
    )
    .unwrap();
    let cfg = tmp.path().join("belfry.yml");
    std::fs::write(&cfg, "rule_files: ['rules.yml']\n").unwrap();
    let data = tmp.path().join("data");
    let server = BelfryServer::start(&data, Some(&cfg));

    push(&server, 500);
    wait_for(Duration::from_secs(20), "the alert to fire", || {
        let seen = changes(&server, "GradingQueueDeep");
        seen.contains(&("pending".into(), "firing".into())).then_some(())
    });
    // Pushed samples go stale after five minutes; a low value ends it now.
    push(&server, 3);
    wait_for(Duration::from_secs(20), "the alert to resolve", || {
        let seen = changes(&server, "GradingQueueDeep");
        seen.contains(&("firing".into(), "inactive".into())).then_some(())
    });
    let seen = changes(&server, "GradingQueueDeep");
    assert_eq!(
        seen,
        vec![
            ("inactive".to_string(), "pending".to_string()),
            ("pending".to_string(), "firing".to_string()),
            ("firing".to_string(), "inactive".to_string()),
        ]
    );
    let body = get_json(&server.url("/api/belfry/alerts/history?query=queue=grading%20firing"));
    let first = &body["data"][0];
    assert_eq!(first["group"], "queues");
    assert_eq!(first["labels"]["severity"], "warning");
    assert!(
        first["summary"].as_str().unwrap().contains("grading queue is"),
        "{body}"
    );
    assert!(changes(&server, "NoSuchAlert").is_empty());
    let future = get_json(&server.url("/api/belfry/alerts/history?start=4102444800"));
    assert_eq!(future["data"].as_array().unwrap().len(), 0);
    let (code, text) = crate::support::http_get(&server.url("/api/belfry/alerts/history?limit=0")).unwrap();
    assert_eq!(code, 400, "{text}");
    server.stop();

    let server = BelfryServer::start(&data, Some(&cfg));
    assert!(changes(&server, "GradingQueueDeep").len() >= 3);
    let page = html_page(
        &http_client(),
        &server.url("/alerts?hq=GradingQueueDeep&from=now-1h"),
    );
    assert!(
        page.contains("GradingQueueDeep") && page.contains("state-firing"),
        "{page}"
    );
    server.stop();
}

const SENTRY_KEY: &str = "0123456789abcdef0123456789abcdef";

/// Posts `BackupFailed`-style alert `name` (critical, job `backup`) to
/// `/api/v2/alerts` as `amtool alert add` does — with Debian's amtool when
/// installed, else as the same JSON over HTTP. `end`: its `endsAt`, none
/// (the dispatcher's `resolve_timeout`) when `None`.
fn post_alert(server: &BelfryServer, amtool: Option<&Path>, name: &str, end: Option<SystemTime>) {
    let end = end.map(belfry::model::rfc3339);
    match amtool {
        Some(amtool) => {
            let mut cmd = std::process::Command::new(amtool);
            cmd.arg(format!("--alertmanager.url={}", server.url("")))
                .args(["alert", "add", name, "severity=critical", "job=backup"])
                .arg("--annotation=summary=nightly backup failed");
            if let Some(end) = &end {
                cmd.arg(format!("--end={end}"));
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "amtool alert add: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        None => {
            let mut alert = serde_json::json!({
                "labels": {"alertname": name, "severity": "critical", "job": "backup"},
                "annotations": {"summary": "nightly backup failed"},
            });
            if let Some(end) = end {
                alert["endsAt"] = Value::String(end);
            }
            let status = block(async {
                http_client()
                    .post(server.url("/api/v2/alerts"))
                    .header("Content-Type", "application/json")
                    .body(serde_json::json!([alert]).to_string())
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            assert!(status.is_success(), "{status}");
        }
    }
}

/// An alert's changes, oldest first: (group, from, to).
fn history_of(server: &BelfryServer, alertname: &str) -> Vec<(String, String, String)> {
    let body = get_json(&server.url(&format!("/api/belfry/alerts/history?query={alertname}")));
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .rev()
        .filter(|t| t["alertname"] == alertname)
        .map(|t| {
            let field = |k: &str| t[k].as_str().unwrap().to_string();
            (field("group"), field("from"), field("to"))
        })
        .collect()
}

fn change(group: &str, from: &str, to: &str) -> (String, String, String) {
    (group.to_string(), from.to_string(), to.to_string())
}

/// The Alerts page's section of received alerts, as HTML.
fn received_section(server: &BelfryServer) -> String {
    let page = html_page(&http_client(), &server.url("/alerts"));
    let start = page
        .find(r#"id="received""#)
        .unwrap_or_else(|| panic!("no received section: {page}"));
    let end = page[start..]
        .find(r#"id="history""#)
        .map_or(page.len(), |e| start + e);
    page[start..end].to_string()
}

fn start_server(dir: &Path) -> (BelfryServer, PathBuf) {
    let cfg = dir.join("belfry.yml");
    std::fs::write(
        &cfg,
        format!("errors:\n  projects: [{{id: 1, name: lms, keys: [{SENTRY_KEY}]}}]\n"),
    )
    .unwrap();
    (BelfryServer::start(&dir.join("data"), Some(&cfg)), cfg)
}

#[test]
fn received_alerts_are_listed_and_every_change_is_kept_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let amtool = peer_binary("amtool");
    let amtool = amtool.as_deref();
    let (server, cfg) = start_server(tmp.path());
    let api = "alertmanager-api";

    post_alert(&server, amtool, "BackupFailed", None);
    wait_for(
        Duration::from_secs(20),
        "BackupFailed firing in the history",
        || (history_of(&server, "BackupFailed") == vec![change(api, "inactive", "firing")]).then_some(()),
    );
    let section = received_section(&server);
    assert!(
        section.contains("<strong>BackupFailed</strong>")
            && section.contains("Alertmanager API")
            && section.contains("nightly backup failed")
            && section.contains("/silences?m=alertname%3D%22BackupFailed%22")
            && section.contains("service=backup"),
        "{section}"
    );
    // Prometheus re-sends a firing alert every evaluation: nothing is
    // recorded, as the resolution recorded after it shows.
    post_alert(&server, amtool, "BackupFailed", None);
    let past = SystemTime::now() - Duration::from_secs(60);
    post_alert(&server, amtool, "BackupFailed", Some(past));
    wait_for(
        Duration::from_secs(20),
        "BackupFailed resolved in the history",
        || (history_of(&server, "BackupFailed").len() >= 2).then_some(()),
    );
    assert_eq!(
        history_of(&server, "BackupFailed"),
        vec![
            change(api, "inactive", "firing"),
            change(api, "firing", "inactive")
        ]
    );
    let section = received_section(&server);
    assert!(
        !section.contains("BackupFailed") && section.contains("No alert was received"),
        "{section}"
    );
    // It comes back: firing again.
    post_alert(&server, amtool, "BackupFailed", None);
    wait_for(Duration::from_secs(20), "BackupFailed firing again", || {
        (history_of(&server, "BackupFailed").len() >= 3).then_some(())
    });
    server.stop();

    // After a restart the held alert is known as firing: its re-send
    // records nothing, as the marker's change recorded after it shows.
    let server = BelfryServer::start(&tmp.path().join("data"), Some(&cfg));
    post_alert(&server, amtool, "BackupFailed", None);
    post_alert(&server, amtool, "RestartMarker", None);
    wait_for(Duration::from_secs(20), "RestartMarker in the history", || {
        (!history_of(&server, "RestartMarker").is_empty()).then_some(())
    });
    assert_eq!(
        history_of(&server, "BackupFailed"),
        vec![
            change(api, "inactive", "firing"),
            change(api, "firing", "inactive"),
            change(api, "inactive", "firing"),
        ]
    );
    assert!(
        received_section(&server).contains("<strong>BackupFailed</strong>"),
        "the restored alert is listed"
    );

    // A Sentry event makes a new issue, whose error alert is received too.
    let event = serde_json::json!({
        "message": "grade export failed for course 42",
        "level": "error",
        "environment": "production",
    })
    .to_string();
    let envelope = crate::errors_sentry::envelope(
        r#"{"event_id":"7c1f4e2a9b3d4c5e8f6a7b8c9d0e1f2a"}"#,
        &[("event", event.as_bytes())],
    );
    let status = block(async {
        http_client()
            .post(server.url(&format!("/api/1/envelope/?sentry_key={SENTRY_KEY}")))
            .header("Content-Type", "application/x-sentry-envelope")
            .body(envelope)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
    wait_for(Duration::from_secs(20), "ErrorIssueNew in the history", || {
        (history_of(&server, "ErrorIssueNew") == vec![change("errors", "inactive", "firing")]).then_some(())
    });
    let body = get_json(&server.url("/api/belfry/alerts/history?query=ErrorIssueNew%20project=lms"));
    let entry = &body["data"][0];
    assert_eq!(entry["labels"]["level"], "error", "{body}");
    assert_eq!(entry["summary"], "grade export failed for course 42", "{body}");
    let section = received_section(&server);
    assert!(
        section.contains("<strong>ErrorIssueNew</strong>")
            && section.contains("error alerts")
            && section.contains("sev-error")
            && section.contains(r#"href="/errors/issues/"#),
        "{section}"
    );
    server.stop();
}
