//! A FastAPI app with the real `sentry-sdk` FastAPI integration, driven by
//! HTTP requests, carrying every SDK feature Belfry takes: exceptions and
//! messages become grouped issues with counts and tags, a resolved issue
//! seen again is a regression (alerted at a webhook), a request's events
//! and log lines find each other by `request_id` both ways, feedback from
//! the error page lands on its issue, the course page's sampled
//! transactions become TSDB series, the grade-sync job's monitor (upserted
//! by its first check-in) alerts when a run is missed and when one fails,
//! and the request-mode sessions give the release's health. A password in
//! a frame's local variable, an e-mail address in a message or feedback
//! and a `Cookie` header never reach the data directory. A schedule minute
//! lasts 2 s here (`errors.monitors.minute`), so the test takes seconds.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::log_rules::start_webhook;
use crate::log_shippers_support::python_with;
use crate::support::{
    BelfryServer, ChildGuard, alert_at_hook, assert_grade_sync_recovered, free_port, get_json, grep_dir,
    http_client, issue, query_value, release, start_errors_server, wait_for, wait_value,
};

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

/// The FastAPI app in a Python process of its own.
struct App {
    url: String,
    child: ChildGuard,
}

impl App {
    fn start(python: &str, dsn: &str, logs_url: &str) -> App {
        let port = free_port();
        let child = Command::new(python)
            .arg("-c")
            .arg(SCRIPT)
            .args([dsn, &port.to_string(), logs_url])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the FastAPI app");
        let app = App {
            url: format!("http://127.0.0.1:{port}"),
            child: ChildGuard(child),
        };
        // One request answered, hence one session: the test counts them.
        wait_for(Duration::from_secs(30), "the FastAPI app", || {
            (request("GET", &format!("{}/ok", app.url), &[], None).0 == 200).then_some(())
        });
        app
    }

    /// One request, as a browser of the LMS would send it.
    fn visit(&self, method: &str, path: &str, request_id: &str, body: Option<&str>) -> u16 {
        let headers = [
            ("X-Request-ID", request_id),
            ("Cookie", "sessionid=COOKIE_VALUE_77"),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"),
            ("Content-Type", "application/json"),
        ];
        request(method, &format!("{}{path}", self.url), &headers, body).0
    }

    fn get(&self, path: &str, request_id: &str) -> u16 {
        self.visit("GET", path, request_id, None)
    }

    /// SIGTERM, as a deploy stops it: its shutdown flushes the SDK.
    fn stop(mut self) {
        self.child.terminate(Duration::from_secs(30));
    }
}

fn issues(server: &BelfryServer, query: &str) -> Vec<Value> {
    let q: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    get_json(&server.url(&format!(
        "/api/belfry/errors/issues?project=1&sort=count&query={q}"
    )))["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the issues' counts (largest first) are `counts`.
fn wait_counts(server: &BelfryServer, counts: &[u64]) -> Vec<Value> {
    wait_for(Duration::from_secs(30), "the SDK's events", || {
        let found = issues(server, "");
        let have: Vec<u64> = found.iter().map(|i| i["count"].as_u64().unwrap()).collect();
        (have == counts).then_some(found)
    })
}

fn start_server(dir: &std::path::Path, hook_url: &str) -> BelfryServer {
    start_errors_server(dir, KEY, "", hook_url)
}

#[test]
fn fastapi_app_errors_feedback_transactions_crons_and_release_health() {
    let Some(python) = python_with("sentry_sdk, fastapi, uvicorn") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (hook_url, bodies) = start_webhook();
    let server = start_server(dir.path(), &hook_url);
    let data = server.data_dir.clone();
    let dsn = format!("http://{KEY}@{}/1", server.addr);
    let app = App::start(python, &dsn, &server.url("/api/belfry/logs"));

    for n in 1..=3 {
        assert_eq!(app.get(&format!("/grade/{n}"), &format!("req-grade-{n}")), 500);
    }
    for course in ["MATH101", "BIO200"] {
        assert_eq!(
            app.get(&format!("/enrol/{course}"), &format!("req-enrol-{course}")),
            500
        );
    }
    assert_eq!(
        app.get("/export?teacher=mail.teacher@uni.example", "req-export"),
        200
    );
    assert_eq!(app.get("/quiz/30", "req-quiz-30"), 200);
    assert_eq!(app.get("/quiz/45", "req-quiz-45"), 200);

    let found = wait_counts(&server, &[3, 2, 2, 1]);
    let key_error = issue(&found, "KeyError");
    assert_eq!(key_error["first_release"], "lms@3.1.0");
    assert_eq!(key_error["environments"], json!(["staging"]));
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
    let detail = get_json(&server.url(&format!("/api/belfry/errors/issues/{key_id}")))["data"].clone();
    let tags = detail["tags"].as_array().unwrap();
    let tag = |key: &str| {
        tags.iter()
            .find(|t| t["key"] == key)
            .unwrap_or_else(|| panic!("no tag {key}: {tags:#?}"))
    };
    assert_eq!(
        tag("release")["values"][0],
        json!({"value": "lms@3.1.0", "count": 3})
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
        let logs = get_json(&server.url(logs_link));
        let lines = logs["data"]["lines"].as_array().unwrap().clone();
        (!lines.is_empty()).then_some(lines)
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].to_string().contains("/grade/"), "{lines:?}");
    let both = wait_for(Duration::from_secs(30), "the correlated log line", || {
        let both = get_json(&server.url("/api/belfry/correlate?request_id=req-enrol-BIO200"))["data"].clone();
        (!both["logs"].as_array().unwrap().is_empty()).then_some(both)
    });
    assert_eq!(both["logs"].as_array().unwrap().len(), 1, "{both}");
    assert_eq!(both["events"].as_array().unwrap().len(), 1, "{both}");
    assert_eq!(both["events"][0]["exception"]["values"][0]["type"], "ValueError");
    // ...and from a log line to its request's errors.
    let line_request = lines[0].to_string();
    assert!(line_request.contains(&request_id), "{line_request}");
    let events = get_json(&server.url(&format!(
        "/api/belfry/errors/events?project=1&request_id={request_id}"
    )));
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events["data"][0]["issue_id"].to_string(), key_id);

    // Resolved, then raised again: a regression, at the webhook too.
    let (status, body) = request(
        "PUT",
        &server.url(&format!("/api/belfry/errors/issues/{key_id}")),
        &[],
        Some(r#"{"status":"resolved"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get("/grade/9", "req-grade-9"), 500);
    let found = wait_counts(&server, &[4, 2, 2, 1]);
    let key_error = issue(&found, "KeyError");
    assert_eq!(key_error["status"], "unresolved");
    assert_eq!(key_error["is_regression"], true);
    assert_eq!(issues(&server, "is:regressed").len(), 1);
    let regressed = alert_at_hook(&bodies, "ErrorIssueRegressed", "firing");
    assert_eq!(regressed["labels"]["issue"], key_id.as_str(), "{regressed}");
    assert_eq!(regressed["labels"]["release"], "lms@3.1.0", "{regressed}");
    assert_eq!(regressed["labels"]["environment"], "staging", "{regressed}");

    // Scrubbed before anything was stored.
    let latest =
        get_json(&server.url(&format!("/api/belfry/errors/issues/{key_id}")))["data"]["latest_event"].clone();
    let frames = latest["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    let frame = frames.iter().find(|f| f["function"] == "grade").unwrap();
    assert_eq!(frame["vars"]["password"], "[redacted]");

    // Feedback from the error page, naming the event the user was shown.
    let event_id = latest["event_id"].as_str().unwrap().to_string();
    let form = json!({
        "event_id": event_id,
        "name": "Ana Lima",
        "email": "ana.lima@uni.example",
        "comments": "My grade page breaks, write to ana.lima@uni.example",
    });
    assert_eq!(
        app.visit("POST", "/feedback", "req-feedback", Some(&form.to_string())),
        200
    );
    let feedback_url = server.url(&format!("/api/belfry/errors/issues/{key_id}/feedback"));
    let feedback = wait_for(Duration::from_secs(20), "the feedback on its issue", || {
        let f = get_json(&feedback_url);
        f["data"].as_array().filter(|a| !a.is_empty()).cloned()
    });
    assert_eq!(feedback.len(), 1, "{feedback:#?}");
    assert_eq!(feedback[0]["event_id"], event_id.as_str());
    assert_eq!(feedback[0]["source"], "feedback");
    assert_eq!(feedback[0]["message"], "My grade page breaks, write to [email]");
    assert!(
        feedback[0]["user"]["id"].as_str().unwrap().starts_with("u_"),
        "{feedback:#?}"
    );

    // Transactions: the course page is always sampled; three found (one
    // slow), one not found.
    for (path, want) in [
        ("/courses/101?slow=0.5", 200),
        ("/courses/101", 200),
        ("/courses/101", 200),
        ("/courses/999", 404),
    ] {
        assert_eq!(app.get(path, "req-course"), want, "{path}");
    }
    let course = r#"transaction="/courses/{course_id}""#;
    wait_value(
        &server,
        &format!(r#"belfry_transactions_total{{project="lms",{course},status="ok"}}"#),
        3.0,
    );
    wait_value(
        &server,
        &format!(r#"belfry_transactions_total{{{course},status="not_found"}}"#),
        1.0,
    );
    wait_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_count{{{course}}}"#),
        4.0,
    );
    wait_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_bucket{{{course},le="+Inf"}}"#),
        4.0,
    );
    // The slow one slept half a second: never in the 0.25 s bucket.
    let fast = query_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_bucket{{{course},le="0.25"}}"#),
    )
    .unwrap();
    assert!(fast <= 3.0, "{fast}");
    let sum = query_value(
        &server,
        &format!(r#"belfry_transaction_duration_seconds_sum{{{course}}}"#),
    )
    .unwrap();
    assert!(sum >= 0.5, "{sum}");

    // Crons: the job's first run upserts its monitor, then no run comes.
    assert_eq!(app.visit("POST", "/jobs/grade-sync", "req-sync-1", None), 200);
    let monitors_url = server.url("/api/belfry/errors/monitors?project=1");
    let monitor = wait_for(Duration::from_secs(20), "the monitor upserted", || {
        let monitors = get_json(&monitors_url)["data"].clone();
        (monitors[0]["status"] == "ok").then(|| monitors[0].clone())
    });
    assert_eq!(monitor["slug"], "grade-sync", "{monitor}");
    assert_eq!(monitor["schedule"]["type"], "interval", "{monitor}");
    assert_eq!(monitor["timezone"], "Europe/Berlin", "{monitor}");
    let missed = alert_at_hook(&bodies, "CronMonitorMissed", "firing");
    assert_eq!(missed["labels"]["monitor"], "grade-sync", "{missed}");
    assert_eq!(missed["labels"]["project"], "lms", "{missed}");
    assert_eq!(missed["labels"]["environment"], "staging", "{missed}");
    // A good run recovers it; a failed one right after alerts again.
    assert_eq!(app.visit("POST", "/jobs/grade-sync", "req-sync-2", None), 200);
    assert_eq!(
        app.visit("POST", "/jobs/grade-sync?fail=true", "req-sync-3", None),
        503
    );
    alert_at_hook(&bodies, "CronMonitorMissed", "resolved");
    let failed = alert_at_hook(&bodies, "CronMonitorFailed", "firing");
    assert_eq!(failed["labels"]["monitor"], "grade-sync", "{failed}");
    assert_eq!(app.visit("POST", "/jobs/grade-sync", "req-sync-4", None), 200);
    alert_at_hook(&bodies, "CronMonitorFailed", "resolved");
    assert_grade_sync_recovered(&server);

    // Release health: one request-mode session a request, flushed when
    // the app stops. 19 requests: /ok, 4 KeyErrors and 2 ValueErrors
    // (unhandled, so crashed), 3 messages, the feedback, 4 course pages
    // and 4 job runs. Aggregated sessions carry no user.
    app.stop();
    let releases_url = server.url("/api/belfry/errors/releases?project=1");
    let list = wait_for(Duration::from_secs(20), "the app's sessions", || {
        let list = get_json(&releases_url);
        let sessions = list["data"]
            .as_array()?
            .iter()
            .find(|r| r["version"] == "lms@3.1.0")?["sessions"]
            .clone();
        (sessions == 19).then_some(list)
    });
    let health = release(&list, "lms@3.1.0");
    assert_eq!(health["environment"], "staging");
    assert_eq!(
        (
            &health["sessions_crashed"],
            &health["sessions_errored"],
            &health["sessions_healthy"]
        ),
        (&json!(6), &json!(0), &json!(13)),
        "{health}"
    );
    assert_eq!(health["crash_free_sessions"], 68.421, "{health}");
    assert_eq!(health["users"], 0, "{health}");
    assert_eq!(health["crash_free_users"], Value::Null, "{health}");
    assert_eq!(health["adoption"], 100.0, "{health}");
    assert_eq!(health["issues"], 4, "{health}");
    wait_value(
        &server,
        r#"sum(belfry_error_sessions_total{project="lms",release="lms@3.1.0",status="init"})"#,
        19.0,
    );
    wait_value(
        &server,
        r#"sum(belfry_error_sessions_total{release="lms@3.1.0",status="crashed"})"#,
        6.0,
    );

    let leaks = grep_dir(
        &data,
        &[
            "hunter2-SECRET",
            "mail.teacher@uni.example",
            "COOKIE_VALUE_77",
            "ana.lima@uni.example",
            "Ana Lima",
        ],
    );
    assert!(
        leaks.is_empty(),
        "personal data reached the data directory: {leaks:?}"
    );
}
