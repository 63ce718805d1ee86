//! A FastAPI app with the real `sentry-sdk` FastAPI integration, driven by
//! HTTP requests: exceptions and messages become grouped issues with
//! counts and tags, a resolved issue seen again is a regression, a
//! request's events and log lines find each other by `request_id` both
//! ways, and a password in a frame's local variable, an e-mail address in
//! a message and a `Cookie` header never reach the data directory.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::log_shippers_support::python_with;
use crate::support::{BelfryServer, ChildGuard, free_port, grep_dir, http_client, wait_for};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const SCRIPT: &str = include_str!("py/errors_fastapi_app.py");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, String) {
    runtime().block_on(async {
        let mut req = http_client().request(method.parse().unwrap(), url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        match req.send().await {
            Ok(resp) => (resp.status().as_u16(), resp.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    })
}

fn get(url: &str) -> Value {
    let (status, body) = request("GET", url, &[], None);
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// One request to the app, as a browser of the LMS would send it.
fn visit(app: &str, path: &str, request_id: &str) -> u16 {
    let headers = [
        ("X-Request-ID", request_id),
        ("Cookie", "sessionid=COOKIE_VALUE_77"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"),
    ];
    request("GET", &format!("{app}{path}"), &headers, None).0
}

fn issues(server: &BelfryServer, query: &str) -> Vec<Value> {
    let q: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    get(&server.url(&format!(
        "/api/belfry/errors/issues?project=1&sort=count&query={q}"
    )))["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn issue<'a>(issues: &'a [Value], title_prefix: &str) -> &'a Value {
    issues
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with(title_prefix))
        .unwrap_or_else(|| panic!("no issue titled {title_prefix}…: {issues:#?}"))
}

/// Waits until the issues' counts (largest first) are `counts`.
fn wait_counts(server: &BelfryServer, counts: &[u64]) -> Vec<Value> {
    wait_for(Duration::from_secs(30), "the SDK's events", || {
        let found = issues(server, "");
        let have: Vec<u64> = found.iter().map(|i| i["count"].as_u64().unwrap()).collect();
        (have == counts).then_some(found)
    })
}

fn start_app(python: &str, dsn: &str, logs_url: &str) -> (ChildGuard, String) {
    let port = free_port();
    let child = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .args([dsn, &port.to_string(), logs_url])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the FastAPI app");
    let guard = ChildGuard(child);
    let app = format!("http://127.0.0.1:{port}");
    wait_for(Duration::from_secs(30), "the FastAPI app", || {
        (request("GET", &format!("{app}/ok"), &[], None).0 == 200).then_some(())
    });
    (guard, app)
}

#[test]
fn fastapi_app_errors_group_tag_correlate_and_scrub() {
    let Some(python) = python_with("sentry_sdk, fastapi, uvicorn") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        format!("errors:\n  projects: [{{id: 1, name: lms, keys: [{KEY}]}}]\n"),
    )
    .unwrap();
    let server = BelfryServer::start(&data, Some(&config));
    let dsn = format!("http://{KEY}@{}/1", server.addr);
    let (_app_guard, app) = start_app(python, &dsn, &server.url("/api/belfry/logs"));

    for n in 1..=3 {
        assert_eq!(
            visit(&app, &format!("/grade/{n}"), &format!("req-grade-{n}")),
            500
        );
    }
    for course in ["MATH101", "BIO200"] {
        assert_eq!(
            visit(&app, &format!("/enrol/{course}"), &format!("req-enrol-{course}")),
            500
        );
    }
    assert_eq!(
        visit(&app, "/export?teacher=mail.teacher@uni.example", "req-export"),
        200
    );
    assert_eq!(visit(&app, "/quiz/30", "req-quiz-30"), 200);
    assert_eq!(visit(&app, "/quiz/45", "req-quiz-45"), 200);

    let found = wait_counts(&server, &[3, 2, 2, 1]);
    let key_error = issue(&found, "KeyError");
    assert_eq!(key_error["first_release"], "lms@3.1.0");
    assert_eq!(key_error["environments"], serde_json::json!(["staging"]));
    assert_eq!(issue(&found, "ValueError")["count"], 2);
    assert_eq!(issue(&found, "quiz export timed out")["count"], 2);
    let message = issue(&found, "quiz export failed");
    assert_eq!(message["level"], "info");
    assert!(
        message["title"].as_str().unwrap().contains("[email]"),
        "{message}"
    );

    // Tags: the summary in the detail, and the search syntax.
    let key_id = key_error["id"].as_str().unwrap().to_string();
    let detail = get(&server.url(&format!("/api/belfry/errors/issues/{key_id}")))["data"].clone();
    let tags = detail["tags"].as_array().unwrap();
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t["key"] == key)
            .unwrap_or_else(|| panic!("no tag {key}: {tags:#?}"))
    };
    assert_eq!(
        tag("release")["values"][0],
        serde_json::json!({"value": "lms@3.1.0", "count": 3})
    );
    assert_eq!(tag("environment")["total"], 3);
    assert_eq!(tag("transaction")["values"][0]["value"], "/grade/{submission}");
    assert_eq!(tag("request_id")["values"].as_array().unwrap().len(), 3);
    let only_key_error = issues(&server, "transaction:\"/grade/{submission}\" release:lms@3.1.0");
    assert_eq!(only_key_error.len(), 1);
    assert_eq!(only_key_error[0]["id"], key_id.as_str());
    assert_eq!(issues(&server, "environment:staging level:error").len(), 2);
    assert_eq!(issues(&server, "!level:error").len(), 2);
    assert_eq!(issues(&server, "is:unresolved course").len(), 1);

    // Correlation, from the error to its logs...
    let latest = &detail["latest_event"];
    let request_id = latest["request_id"].as_str().unwrap().to_string();
    assert!(request_id.starts_with("req-grade-"), "{latest}");
    let logs_link = latest["links"]["logs"].as_str().unwrap();
    // Log lines are searchable once the logs store commits them.
    let lines = wait_for(Duration::from_secs(30), "the request's log line", || {
        let logs = get(&server.url(logs_link));
        let lines = logs["data"]["lines"].as_array().unwrap().clone();
        (!lines.is_empty()).then_some(lines)
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].to_string().contains("/grade/"), "{lines:?}");
    let both = wait_for(Duration::from_secs(30), "the correlated log line", || {
        let both = get(&server.url("/api/belfry/correlate?request_id=req-enrol-BIO200"))["data"].clone();
        (!both["logs"].as_array().unwrap().is_empty()).then_some(both)
    });
    assert_eq!(both["logs"].as_array().unwrap().len(), 1, "{both}");
    assert_eq!(both["events"].as_array().unwrap().len(), 1, "{both}");
    assert_eq!(both["events"][0]["exception"]["values"][0]["type"], "ValueError");
    // ...and from a log line to its request's errors.
    let line_request = lines[0].to_string();
    assert!(line_request.contains(&request_id), "{line_request}");
    let events = get(&server.url(&format!(
        "/api/belfry/errors/events?project=1&request_id={request_id}"
    )));
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events["data"][0]["issue_id"].to_string(), key_id);

    // Resolved, then raised again: a regression.
    let (status, body) = request(
        "PUT",
        &server.url(&format!("/api/belfry/errors/issues/{key_id}")),
        &[],
        Some(r#"{"status":"resolved"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(visit(&app, "/grade/9", "req-grade-9"), 500);
    let found = wait_counts(&server, &[4, 2, 2, 1]);
    let key_error = issue(&found, "KeyError");
    assert_eq!(key_error["status"], "unresolved");
    assert_eq!(key_error["is_regression"], true);
    assert_eq!(issues(&server, "is:regressed").len(), 1);

    // Scrubbed before anything was stored.
    let latest =
        get(&server.url(&format!("/api/belfry/errors/issues/{key_id}")))["data"]["latest_event"].clone();
    let frames = latest["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    let frame = frames.iter().find(|f| f["function"] == "grade").unwrap();
    assert_eq!(frame["vars"]["password"], "[redacted]");
    let leaks = grep_dir(
        &data,
        &["hunter2-SECRET", "mail.teacher@uni.example", "COOKIE_VALUE_77"],
    );
    assert!(
        leaks.is_empty(),
        "personal data reached the data directory: {leaks:?}"
    );
}
