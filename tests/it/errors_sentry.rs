//! Error ingest driven by the real Python `sentry-sdk`: events become
//! grouped issues with counts, custom fingerprints hold, a resolved issue
//! seen again is a regression, and nothing personal reaches the data
//! directory. Then the bad input a Sentry SDK may meet, answered with the
//! statuses and headers it understands.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::log_shippers_support::{python_with, run_python};
use crate::support::{BelfryServer, block, grep_dir, http_client, issue};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const SCRIPT: &str = include_str!("py/sentry_app.py");

fn write_config(dir: &Path, errors: &str) -> std::path::PathBuf {
    let path = dir.join("belfry.yml");
    std::fs::write(&path, format!("errors:\n{errors}")).unwrap();
    path
}

fn get(url: &str) -> Value {
    let (status, body) = get_status(url);
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn get_status(url: &str) -> (u16, String) {
    block(async {
        let resp = http_client().get(url).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn put(url: &str, body: &str) -> (u16, String) {
    let body = body.to_string();
    block(async {
        let resp = http_client().put(url).body(body).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

#[test]
fn sentry_sdk_events_become_scrubbed_grouped_issues() {
    let Some(python) = python_with("sentry_sdk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        &format!("  projects: [{{id: 1, name: lms, keys: [{KEY}]}}]\n"),
    );
    let server = BelfryServer::start(&data, Some(&config));
    let dsn = format!("http://{KEY}@{}/1", server.addr);
    run_python(python, SCRIPT, std::slice::from_ref(&dsn));

    let list = get(&server.url("/api/belfry/errors/issues?project=1&sort=count"));
    let issues = list["data"].as_array().unwrap().clone();
    assert_eq!(issues.len(), 4, "{issues:#?}");
    let key_error = issue(&issues, "KeyError");
    assert_eq!(key_error["count"], 3);
    assert_eq!(key_error["user_count"], 1);
    assert_eq!(key_error["level"], "error");
    assert_eq!(key_error["status"], "unresolved");
    assert_eq!(key_error["culprit"], "__main__ in grade_submission");
    assert_eq!(key_error["first_release"], "lms@1.4.2");
    assert_eq!(key_error["environments"], json!(["production"]));
    assert_eq!(issue(&issues, "ValueError")["count"], 2);
    // The e-mail address is gone from the message, hence from the title.
    let message = issue(&issues, "quiz export failed");
    assert_eq!(message["count"], 1);
    assert_eq!(message["level"], "info");
    assert!(
        message["title"].as_str().unwrap().contains("[email]"),
        "{message}"
    );
    // Two messages with different numbers, one custom fingerprint.
    assert_eq!(issue(&issues, "quiz export timed out")["count"], 2);
    // Sorted by count, largest first.
    let counts: Vec<u64> = issues.iter().map(|i| i["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [3, 2, 2, 1]);

    let id = key_error["id"].as_str().unwrap().to_string();
    let detail = get(&server.url(&format!("/api/belfry/errors/issues/{id}")))["data"].clone();
    let latest = &detail["latest_event"];
    let exception = &latest["exception"]["values"][0];
    assert_eq!(exception["type"], "KeyError");
    let frames = exception["stacktrace"]["frames"].as_array().unwrap();
    let frame = frames
        .iter()
        .find(|f| f["function"] == "grade_submission")
        .unwrap();
    assert_eq!(frame["vars"]["password"], "[redacted]");
    assert_eq!(latest["request"]["headers"]["Cookie"], "[redacted]");
    assert_eq!(latest["request"]["cookies"], "[redacted]");
    assert!(
        latest["user"]["id"].as_str().unwrap().starts_with("u_"),
        "{}",
        latest["user"]
    );
    assert_eq!(latest["release"], "lms@1.4.2");
    assert!(latest["contexts"].is_object());

    let page = get(&server.url(&format!("/api/belfry/errors/issues/{id}/events?limit=2")));
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = get(&server.url(&format!(
        "/api/belfry/errors/issues/{id}/events?limit=2&cursor={cursor}"
    )));
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    // Resolve, then the same crash again: a regression.
    let (status, body) = put(
        &server.url(&format!("/api/belfry/errors/issues/{id}")),
        r#"{"status": "resolved"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let resolved: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(resolved["data"]["status"], "resolved");
    run_python(python, SCRIPT, &[dsn, "regression".to_string()]);
    let after = get(&server.url(&format!("/api/belfry/errors/issues/{id}")))["data"].clone();
    assert_eq!(after["status"], "unresolved");
    assert_eq!(after["is_regression"], true);
    assert_eq!(after["count"], 4);
    let filtered = get(&server.url("/api/belfry/errors/issues?project=1&query=grade_submission"));
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);

    let metrics = crate::support::http_get(&server.url("/metrics")).unwrap().1;
    assert!(
        metrics.contains(
            r#"belfry_error_events_total{project="lms",level="error",environment="production",release="lms@1.4.2"} 6"#
        ),
        "{}",
        metrics.lines().filter(|l| l.contains("belfry_error")).collect::<Vec<_>>().join("\n")
    );

    // One user is one token across errors and logs.
    let (status, body) = block(async {
        let resp = http_client()
            .post(server.url("/api/belfry/logs"))
            .header("content-type", "application/x-ndjson")
            .body(r#"{"service":"lms","level":"error","msg":"grade export failed","user_id":"student-4711"}"#)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    let line = crate::support::wait_for(std::time::Duration::from_secs(20), "the log line indexed", || {
        let found = get(&server.url("/api/belfry/logs/search?query=export&start=0"));
        found["data"]["lines"].as_array().and_then(|l| l.first().cloned())
    });
    assert_eq!(line["user"], latest["user"]["id"], "{line}");

    server.stop();
    let leaks = grep_dir(
        &data,
        &[
            "hunter2-SECRET",
            "mail.teacher@uni.example",
            "COOKIE_VALUE_77",
            "student4711",
            "student-4711",
        ],
    );
    assert!(leaks.is_empty(), "personal data reached the disk: {leaks:?}");
}

/// An envelope as Sentry's SDKs write it: the header line, then each
/// item's header with its `length`, its payload and a newline.
pub(crate) fn envelope(header: &str, items: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = format!("{header}\n").into_bytes();
    for (ty, payload) in items {
        out.extend_from_slice(format!(r#"{{"type":"{ty}","length":{}}}"#, payload.len()).as_bytes());
        out.push(b'\n');
        out.extend_from_slice(payload);
        out.push(b'\n');
    }
    out
}

struct Answer {
    status: u16,
    error: String,
    headers: reqwest::header::HeaderMap,
    body: String,
}

fn post(url: &str, auth: Option<&str>, encoding: Option<&str>, body: Vec<u8>) -> Answer {
    block(post_async(url, auth, encoding, body))
}

async fn post_async(url: &str, auth: Option<&str>, encoding: Option<&str>, body: Vec<u8>) -> Answer {
    let mut req = http_client().post(url).body(body);
    if let Some(key) = auth {
        req = req.header(
            "X-Sentry-Auth",
            format!("Sentry sentry_key={key}, sentry_version=7"),
        );
    }
    if let Some(e) = encoding {
        req = req.header("Content-Encoding", e);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let error = headers
        .get("x-sentry-error")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Answer {
        status,
        error,
        headers,
        body: resp.text().await.unwrap(),
    }
}

#[test]
fn bad_input_gets_the_answers_sentry_sdks_understand() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "  projects:\n    - {{id: 1, name: lms, keys: [{KEY}]}}\n    - {{id: 2, name: quiz, keys: [quizkey], max_events_per_second: 3}}\n  \
             limits: {{max_envelope_bytes: 1MiB, max_decompressed_bytes: 2MiB, max_event_bytes: 8KiB}}\n"
        ),
    );
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let url = server.url("/api/1/envelope/");
    let event = br#"{"message":"ok event","level":"error"}"#;
    let good = envelope(
        r#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}"#,
        &[("event", event)],
    );

    let wrong = post(&url, Some("ffffffffffffffffffffffffffffffff"), None, good.clone());
    assert_eq!(wrong.status, 401);
    assert!(wrong.error.contains("not a key of project 1"), "{}", wrong.error);
    let missing = post(&url, None, None, good.clone());
    assert_eq!(missing.status, 401);
    assert!(
        missing.error.contains("missing authentication"),
        "{}",
        missing.error
    );
    let unknown = post(&server.url("/api/99/envelope/"), Some(KEY), None, good.clone());
    assert_eq!(unknown.status, 403);
    assert!(
        unknown.error.contains("project 99 does not exist"),
        "{}",
        unknown.error
    );
    let malformed = post(&url, Some(KEY), None, b"this is not an envelope\n".to_vec());
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.error.contains("malformed envelope"),
        "{}",
        malformed.error
    );
    let truncated = post(
        &url,
        Some(KEY),
        None,
        b"{}\n{\"type\":\"event\",\"length\":500}\n{\"message\":\"cut\"}".to_vec(),
    );
    assert_eq!(truncated.status, 400);
    assert!(truncated.error.contains("truncated"), "{}", truncated.error);
    let big = format!(r#"{{"message":"{}"}}"#, "x".repeat(20_000));
    let oversized = post(
        &url,
        Some(KEY),
        None,
        envelope("{}", &[("event", big.as_bytes())]),
    );
    assert_eq!(oversized.status, 413);
    assert!(oversized.error.contains("max_event_bytes"), "{}", oversized.error);
    let bad_event = post(&url, Some(KEY), None, envelope("{}", &[("event", b"{not json")]));
    assert_eq!(bad_event.status, 400);
    assert!(bad_event.error.contains("malformed event"), "{}", bad_event.error);

    // A zip bomb: 100 MiB of zeros in about 100 KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 100 << 20]).unwrap();
    let bomb = post(&url, Some(KEY), Some("gzip"), gz.finish().unwrap());
    assert_eq!(bomb.status, 413);
    assert!(bomb.error.contains("max_decompressed_bytes"), "{}", bomb.error);

    // Unknown item types are skipped, the event beside them is stored.
    let mixed = envelope(
        r#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}"#,
        &[("hologram", b"{}"), ("event", event), ("client_report", b"{}")],
    );
    let ok = post(&url, Some(KEY), None, mixed);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        serde_json::from_str::<Value>(&ok.body).unwrap()["id"],
        "9ec79c33ec9942ab8353589fcb2e04dc"
    );
    // The other ways to authenticate and encode.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&good).unwrap();
    let by_query = post(
        &format!("{url}?sentry_key={KEY}&sentry_version=7"),
        None,
        Some("gzip"),
        gz.finish().unwrap(),
    );
    assert_eq!(by_query.status, 200, "{}", by_query.body);
    let with_dsn = envelope(
        &format!(r#"{{"dsn":"http://{KEY}@{}/1"}}"#, server.addr),
        &[("event", event)],
    );
    let by_dsn = post(
        &url,
        None,
        Some("zstd"),
        zstd::encode_all(&with_dsn[..], 3).unwrap(),
    );
    assert_eq!(by_dsn.status, 200, "{}", by_dsn.body);
    let store = post(&server.url("/api/1/store/"), Some(KEY), None, event.to_vec());
    assert_eq!(store.status, 200, "{}", store.body);
    let issues = get(&server.url("/api/belfry/errors/issues?project=1"));
    assert_eq!(issues["data"].as_array().unwrap().len(), 1);
    // The gzip body repeats the event_id of the mixed envelope: a retry,
    // answered and stored once.
    assert_eq!(issues["data"][0]["count"], 3);

    // Project 2 takes 3 events a second.
    let quiz = server.url("/api/2/envelope/");
    let mut limited = None;
    for _ in 0..10 {
        let a = post(&quiz, Some("quizkey"), None, good.clone());
        if a.status == 429 {
            limited = Some(a);
            break;
        }
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let limited = limited.expect("a project over its rate gets 429");
    assert_eq!(limited.headers["retry-after"], "1");
    assert_eq!(limited.headers["x-sentry-rate-limits"], "1::project");

    let (status, body) = put(
        &server.url("/api/belfry/errors/issues/1"),
        r#"{"status": "fixed"}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not a status"), "{body}");
    assert_eq!(get_status(&server.url("/api/belfry/errors/issues/777")).0, 404);

    let metrics = crate::support::http_get(&server.url("/metrics")).unwrap().1;
    for line in [
        r#"belfry_error_events_rejected_total{reason="wrong_key"} 1"#,
        r#"belfry_error_events_rejected_total{reason="missing_auth"} 1"#,
        r#"belfry_error_events_rejected_total{reason="unknown_project"} 1"#,
        r#"belfry_error_events_rejected_total{reason="malformed_envelope"} 2"#,
        r#"belfry_error_events_rejected_total{reason="event_too_large"} 1"#,
        r#"belfry_error_events_rejected_total{reason="malformed_event"} 1"#,
        r#"belfry_error_events_rejected_total{reason="decompressed_too_large"} 1"#,
        r#"belfry_error_events_rejected_total{reason="rate_limited"} 1"#,
        r#"belfry_error_envelope_items_skipped_total{type="unknown"} 1"#,
        r#"belfry_error_envelope_items_skipped_total{type="client_report"} 1"#,
    ] {
        assert!(
            metrics.contains(line),
            "{line} missing from\n{}",
            metrics
                .lines()
                .filter(|l| l.contains("belfry_error"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn a_project_added_on_the_command_line_takes_events() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(
        dir.path(),
        &format!("  projects: [{{id: 7, name: lms, keys: [{KEY}]}}]\n"),
    );
    let add = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_belfry"))
            .args(["errors", "project", "add", name, "--data-dir"])
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .args(["--listen", "127.0.0.1:9911"])
            .env_remove("BELFRY_CONFIG")
            .output()
            .unwrap()
    };
    let out = add("quiz");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dsn = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // One above the configured ids; a fresh 32-hex-digit key.
    let key = dsn
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("@127.0.0.1:9911/8"))
        .unwrap_or_else(|| panic!("unexpected DSN {dsn:?}"))
        .to_string();
    assert!(
        key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    let again = add("quiz");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    let server = BelfryServer::start(&data, Some(&config));
    let body = envelope("{}", &[("event", br#"{"message":"from quiz"}"#)]);
    let ok = post(&server.url("/api/8/envelope/"), Some(&key), None, body.clone());
    assert_eq!(ok.status, 200, "{}", ok.body);
    // The configured project's key is not the added project's.
    assert_eq!(
        post(&server.url("/api/8/envelope/"), Some(KEY), None, body).status,
        401
    );
    let issues = get(&server.url("/api/belfry/errors/issues?project=8"));
    assert_eq!(issues["data"][0]["title"], "from quiz");
}
