//! Release health, transactions, user feedback and attachments driven by
//! the real Python `sentry-sdk`: crash-free rates and adoption computed by
//! hand, transaction series queried through `/api/v1/query`, feedback on
//! its issue with the reporter's address gone from the disk, attachments
//! downloaded byte for byte (and an oversized one refused and counted).
//! Then bad session items, refused alone and counted.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::errors_sentry::envelope;
use crate::log_shippers_support::{python_with, run_python};
use crate::support::{
    BelfryServer, block, get_json, grep_dir, http_client, http_get, query_value, release, wait_for,
    wait_value,
};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const SCRIPT: &str = include_str!("py/sentry_health_app.py");

fn start(dir: &Path) -> BelfryServer {
    let config = dir.join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            "errors:\n  projects: [{{id: 1, name: lms, keys: [{KEY}]}}]\n  \
             limits: {{max_attachment_bytes: 64KiB, max_transaction_names: 2}}\n"
        ),
    )
    .unwrap();
    BelfryServer::start(&dir.join("data"), Some(&config))
}

fn metrics(server: &BelfryServer) -> String {
    http_get(&server.url("/metrics")).unwrap().1
}

fn issue_titled(server: &BelfryServer, text: &str) -> Value {
    wait_for(Duration::from_secs(20), text, || {
        let list = get_json(&server.url(&format!("/api/belfry/errors/issues?project=1&query={text}")));
        list["data"].as_array().and_then(|a| a.first().cloned())
    })
}

#[test]
fn sentry_sdk_release_health_transactions_feedback_and_attachments() {
    let Some(python) = python_with("sentry_sdk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let dsn = format!("http://{KEY}@{}/1", server.addr);
    let run = |mode: &str| -> Value {
        let out = run_python(python, SCRIPT, &[dsn.clone(), mode.to_string()]);
        serde_json::from_str(out.trim().lines().last().unwrap()).unwrap()
    };
    run("app");
    run("server");

    // lms@2.0: four sessions — one crashed, one errored, two healthy;
    // users student-1 (healthy once, crashed once), student-2 (errored),
    // student-3. lms@2.1: six aggregated sessions, one crashed, no users.
    let releases_url = server.url("/api/belfry/errors/releases?project=1");
    let list = wait_for(Duration::from_secs(20), "both releases' sessions", || {
        let list = get_json(&releases_url);
        let total: u64 = list["data"]
            .as_array()?
            .iter()
            .map(|r| r["sessions"].as_u64().unwrap())
            .sum();
        (total == 10).then_some(list)
    });
    let r20 = release(&list, "lms@2.0");
    assert_eq!(r20["environment"], "production");
    assert_eq!(r20["sessions"], 4);
    assert_eq!(
        (
            &r20["sessions_crashed"],
            &r20["sessions_errored"],
            &r20["sessions_healthy"]
        ),
        (&json!(1), &json!(1), &json!(2))
    );
    assert_eq!(r20["crash_free_sessions"], 75.0);
    assert_eq!(r20["users"], 3);
    assert_eq!(r20["crash_free_users"], 66.667);
    assert_eq!(r20["adoption"], 40.0);
    assert_eq!(r20["users_adoption"], 100.0);
    assert!(r20["issues"].as_u64().unwrap() >= 1, "{r20}");
    let r21 = release(&list, "lms@2.1");
    assert_eq!(r21["sessions"], 6);
    assert_eq!(r21["crash_free_sessions"], 83.333);
    assert_eq!(r21["crash_free_users"], Value::Null);
    assert_eq!(r21["adoption"], 60.0);
    let detail = get_json(&server.url("/api/belfry/errors/releases/lms@2.0?project=1"))["data"].clone();
    assert_eq!(detail["environments"][0]["sessions"], 4);
    let hourly: u64 = detail["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sessions_crashed"].as_u64().unwrap())
        .sum();
    assert_eq!(hourly, 1);
    let (status, _) = http_get(&server.url("/api/belfry/errors/releases/lms@9?project=1")).unwrap();
    assert_eq!(status, 404);

    // The same counts as TSDB series, for rules and dashboards.
    wait_value(
        &server,
        r#"sum(belfry_error_sessions_total{project="lms",release="lms@2.0",status="init"})"#,
        4.0,
    );
    wait_value(
        &server,
        r#"sum(belfry_error_sessions_total{release="lms@2.0",status="crashed"}) / sum(belfry_error_sessions_total{release="lms@2.0",status="init"})"#,
        0.25,
    );
    // Transactions: five ok, one internal_error; one took 0.3 s.
    let courses = r#"transaction="/courses/{id}""#;
    wait_value(
        &server,
        &format!(r#"belfry_transactions_total{{{courses},status="ok"}}"#),
        5.0,
    );
    wait_value(
        &server,
        &format!(r#"belfry_transactions_total{{{courses},status="internal_error"}}"#),
        1.0,
    );
    wait_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_count{{{courses}}}"#),
        6.0,
    );
    wait_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_bucket{{{courses},le="0.25"}}"#),
        5.0,
    );
    wait_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_bucket{{{courses},le="+Inf"}}"#),
        6.0,
    );
    let sum = query_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_sum{{{courses}}}"#),
    )
    .unwrap();
    assert!((0.4..5.0).contains(&sum), "{sum}");
    // Two names allowed: /export is the third.
    wait_value(
        &server,
        r#"belfry_transactions_total{transaction="__other__"}"#,
        1.0,
    );
    assert!(
        metrics(&server).contains(r#"belfry_error_transaction_names_overflow_total{project="lms"} 1"#),
        "{}",
        metrics(&server)
    );

    // Feedback: on the issue of the event it names, also when it came
    // before the event.
    let ids = run("feedback");
    let gradebook = issue_titled(&server, "could+not+save");
    let id = gradebook["id"].as_str().unwrap();
    let detail = get_json(&server.url(&format!("/api/belfry/errors/issues/{id}")))["data"].clone();
    let feedback = detail["feedback"].as_array().unwrap();
    assert_eq!(feedback.len(), 1, "{detail:#}");
    assert_eq!(feedback[0]["message"], "Saving grades fails every time");
    assert_eq!(feedback[0]["event_id"], ids["gradebook_event"]);
    assert!(feedback[0]["user"]["id"].as_str().unwrap().starts_with("u_"));
    let late = issue_titled(&server, "export+hung");
    let late_id = late["id"].as_str().unwrap();
    let listed = wait_for(Duration::from_secs(20), "the early report attached", || {
        let f = get_json(&server.url(&format!("/api/belfry/errors/issues/{late_id}/feedback")));
        f["data"].as_array().filter(|a| !a.is_empty()).cloned()
    });
    assert_eq!(listed[0]["message"], "The export hangs");
    assert_eq!(listed[0]["source"], "user_report");

    // Attachments: listed with the event, downloadable as sent; the one
    // over max_attachment_bytes refused and counted.
    let ids = run("attachments");
    let event_id = ids["attachment_event"].as_str().unwrap();
    let import = issue_titled(&server, "grade+import+failed");
    let import_id = import["id"].as_str().unwrap();
    let events = get_json(&server.url(&format!("/api/belfry/errors/issues/{import_id}/events")));
    let attachments = &events["data"][0]["attachments"];
    assert_eq!(
        attachments,
        &json!([{"name": "grades.csv", "content_type": "text/csv", "attachment_type": "event.attachment", "size": 24}]),
        "{events:#}"
    );
    let url = server.url(&format!(
        "/api/belfry/errors/events/{event_id}/attachments/grades.csv?project=1"
    ));
    let (status, ty, bytes) = block(async {
        let resp = http_client().get(url).send().await.unwrap();
        let ty = resp.headers()["content-type"].to_str().unwrap().to_string();
        (resp.status().as_u16(), ty, resp.bytes().await.unwrap())
    });
    assert_eq!((status, ty.as_str()), (200, "text/csv"));
    assert_eq!(&bytes[..], b"student,grade\ns1,A\ns2,B\n");
    let missing = server.url(&format!(
        "/api/belfry/errors/events/{event_id}/attachments/dump.bin?project=1"
    ));
    assert_eq!(http_get(&missing).unwrap().0, 404);
    assert!(
        metrics(&server).contains(r#"belfry_error_events_rejected_total{reason="attachment_too_large"} 1"#),
        "{}",
        metrics(&server)
    );

    // A restart answers the same release health.
    let data = server.data_dir.clone();
    server.stop();
    let server = start(dir.path());
    let again = get_json(&server.url("/api/belfry/errors/releases?project=1"));
    assert_eq!(release(&again, "lms@2.0")["crash_free_users"], 66.667);
    assert_eq!(release(&again, "lms@2.1")["sessions"], 6);
    server.stop();

    let leaks = grep_dir(
        &data,
        &[
            "ana.lima@uni.example",
            "Ana Lima",
            "bo.chen@uni.example",
            "Bo Chen",
        ],
    );
    assert!(leaks.is_empty(), "personal data reached the disk: {leaks:?}");
}

#[test]
fn bad_session_items_are_refused_alone_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let good = format!(
        r#"{{"sid":"s1","init":true,"started":{now},"status":"exited","attrs":{{"release":"r1","environment":"prod"}}}}"#
    );
    let unknown = format!(r#"{{"sid":"s2","started":{now},"status":"exploded","attrs":{{"release":"r1"}}}}"#);
    let negative =
        format!(r#"{{"attrs":{{"release":"r1"}},"aggregates":[{{"started":{now},"exited":-2}}]}}"#);
    let body = envelope(
        r#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}"#,
        &[
            ("session", b"{not json"),
            ("session", unknown.as_bytes()),
            ("sessions", negative.as_bytes()),
            ("event", br#"{"message":"still stored","level":"error"}"#),
            ("session", good.as_bytes()),
        ],
    );
    let (status, answer) = block(async {
        let resp = http_client()
            .post(server.url("/api/1/envelope/"))
            .header(
                "X-Sentry-Auth",
                format!("Sentry sentry_key={KEY}, sentry_version=7"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    });
    assert_eq!(status, 200, "{answer}");
    let issues = get_json(&server.url("/api/belfry/errors/issues?project=1"));
    assert_eq!(issues["data"][0]["title"], "still stored");
    let list = get_json(&server.url("/api/belfry/errors/releases?project=1"));
    assert_eq!(release(&list, "r1")["sessions"], 1);
    assert!(
        metrics(&server).contains(r#"belfry_error_events_rejected_total{reason="malformed_session"} 3"#),
        "{}",
        metrics(&server)
    );
    let (status, body) = http_get(&server.url("/api/belfry/errors/releases")).unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("project"), "{body}");
    server.stop();
}
