//! The alert history on a real server: a rule over a pushed metric goes
//! pending, firing and back to inactive; every change is in
//! `/api/belfry/alerts/history` (searchable by words and range) and on the
//! Alerts page, and is still there after a restart.

use std::time::Duration;

use serde_json::Value;

use crate::support::{BelfryServer, get_json, http_client, wait_for};

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
    let client = http_client();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let page = rt.block_on(async {
        client
            .get(server.url("/alerts?hq=GradingQueueDeep&from=now-1h"))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        page.contains("GradingQueueDeep") && page.contains("state-firing"),
        "{page}"
    );
    server.stop();
}
