//! The errors' store over HTTP: an SDK's retry of an event is stored and
//! counted once (also after a restart), events past `errors.retention`
//! are deleted while their issue keeps its counts, the issue list's
//! Sentry search syntax, and `kill -9` in the middle of ingest losing no
//! acknowledged event.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::{BelfryServer, http_client, wait_for};

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn get(url: &str) -> (u16, Value) {
    runtime().block_on(async {
        let resp = http_client().get(url).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    })
}

fn get_ok(url: &str) -> Value {
    let (status, body) = get(url);
    assert_eq!(status, 200, "{url}: {body}");
    body
}

fn envelope(event: &Value) -> Vec<u8> {
    let payload = serde_json::to_vec(event).unwrap();
    let mut body = format!(
        "{{\"event_id\":\"{}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n",
        event["event_id"].as_str().unwrap_or_default(),
        payload.len()
    )
    .into_bytes();
    body.extend_from_slice(&payload);
    body
}

async fn post_envelope(
    client: &reqwest::Client,
    server_url: &str,
    event: &Value,
) -> Result<(u16, Value), String> {
    let resp = client
        .post(format!("{server_url}/api/1/envelope/"))
        .header(
            "X-Sentry-Auth",
            format!("Sentry sentry_version=7, sentry_key={KEY}"),
        )
        .body(envelope(event))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

fn post(server: &BelfryServer, event: &Value) -> (u16, Value) {
    let base = server.url("");
    runtime()
        .block_on(post_envelope(&http_client(), &base, event))
        .unwrap()
}

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("belfry.yml");
    std::fs::write(
        &path,
        format!(
            "errors:\n  projects: [{{id: 1, name: lms, keys: [{KEY}], max_events_per_second: 100000}}]\n{extra}"
        ),
    )
    .unwrap();
    path
}

fn metric(server: &BelfryServer, series: &str) -> f64 {
    let (_, text) = get(&server.url("/metrics"));
    let text = text.as_str().unwrap_or_default().to_string();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn issues(server: &BelfryServer, query: &str) -> Vec<Value> {
    let url = server.url(&format!(
        "/api/belfry/errors/issues?project=1&query={}",
        urlencode(query)
    ));
    get_ok(&url)["data"].as_array().unwrap().clone()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn retries_are_stored_once_and_old_events_expire() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path(), "  retention: 1h\n  retention_check_interval: 1s\n");
    let server = BelfryServer::start(&data, Some(&config));
    let id = "5f1c0a8e2b9d4c7e8a6b3f2e1d0c9b8a";
    let event = serde_json::json!({
        "event_id": id,
        "message": "grade export failed",
        "timestamp": now(),
        "release": "lms@2.0",
        "tags": {"request_id": "req-42", "course": "MATH 101"},
        "contexts": {"browser": {"name": "Chrome", "version": "120"}},
    });
    for _ in 0..3 {
        let (status, body) = post(&server, &event);
        assert_eq!((status, body["id"].as_str()), (200, Some(id)));
    }
    let found = issues(&server, "");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["count"], 1, "{found:?}");
    assert_eq!(metric(&server, "belfry_error_events_duplicate_total "), 2.0);
    let issue_id = found[0]["id"].as_str().unwrap().to_string();

    // The request's events, and the event's links to its logs.
    let by_request = get_ok(&server.url("/api/belfry/errors/events?project=1&request_id=req-42"));
    let events = by_request["data"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event_id"], id);
    assert_eq!(events[0]["request_id"], "req-42");
    assert!(
        events[0]["links"]["logs"]
            .as_str()
            .unwrap()
            .contains("request_id=req-42"),
        "{by_request}"
    );
    let none = get_ok(&server.url("/api/belfry/errors/events?request_id=req-43"));
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    let (status, body) = get(&server.url("/api/belfry/errors/events?project=1"));
    assert_eq!(status, 400, "{body}");

    // Tags in the detail and in the search syntax.
    let detail = get_ok(&server.url(&format!("/api/belfry/errors/issues/{issue_id}")))["data"].clone();
    let tags = detail["tags"].as_array().unwrap();
    let browser = tags.iter().find(|t| t["key"] == "browser").unwrap();
    assert_eq!(browser["total"], 1);
    assert_eq!(browser["values"][0]["value"], "Chrome");
    assert_eq!(
        issues(&server, "browser:Chrome release:lms@2.0 is:unresolved").len(),
        1
    );
    assert_eq!(issues(&server, "course:\"MATH 101\" grade").len(), 1);
    assert_eq!(issues(&server, "!browser:Chrome").len(), 0);
    assert_eq!(issues(&server, "level:warning").len(), 0);
    let (status, body) = get(&server.url("/api/belfry/errors/issues?query=is%3Asleeping"));
    assert_eq!(status, 400);
    assert!(body.to_string().contains("is:sleeping"), "{body}");

    // A retry after a restart is still recognized.
    server.stop();
    let server = BelfryServer::start(&data, Some(&config));
    let (status, body) = post(&server, &event);
    assert_eq!((status, body["id"].as_str()), (200, Some(id)));
    assert_eq!(issues(&server, "")[0]["count"], 1);

    // An event two hours old is past the hour of retention: the next
    // pass deletes it, and the issue keeps its count and first seen.
    let mut old = event.clone();
    old["event_id"] = Value::from("00000000000000000000000000000002");
    old["timestamp"] = Value::from(now() - 7200.0);
    assert_eq!(post(&server, &old).0, 200);
    let events_url = server.url(&format!("/api/belfry/errors/issues/{issue_id}/events"));
    wait_for(Duration::from_secs(20), "the old event to expire", || {
        let events = get_ok(&events_url)["data"].as_array().unwrap().clone();
        (events.len() == 1).then_some(())
    });
    let events = get_ok(&events_url)["data"].clone();
    assert_eq!(events[0]["event_id"], id);
    let issue = &issues(&server, "")[0];
    assert_eq!(issue["count"], 2);
    assert!(
        issue["first_seen"].as_str().unwrap() < found[0]["first_seen"].as_str().unwrap(),
        "{issue}"
    );
    assert_eq!(metric(&server, "belfry_error_events_expired_total "), 1.0);
    // Its id is forgotten with it: sent again, it is a new event.
    old["timestamp"] = Value::from(now());
    assert_eq!(post(&server, &old).0, 200);
    assert_eq!(issues(&server, "")[0]["count"], 3);
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path(), "");
    let server = BelfryServer::start(&data, Some(&config));
    let base = server.url("");
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|thread| {
            let base = base.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let rt = runtime();
                let client = http_client();
                let mut acknowledged = Vec::new();
                for n in 0u64.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("{thread:08x}{n:024x}");
                    let event = serde_json::json!({
                        "event_id": id,
                        "message": format!("grade sync failed for course {n}"),
                        "fingerprint": ["grade-sync"],
                        "timestamp": now(),
                    });
                    match rt.block_on(post_envelope(&client, &base, &event)) {
                        Ok((200, body)) => {
                            assert_eq!(body["id"], id.as_str());
                            acknowledged.push(id);
                        }
                        Ok((status, body)) => panic!("{status}: {body}"),
                        // The server is gone.
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill_hard();
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<String> = senders.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(
        acknowledged.len() > 20,
        "only {} events were sent",
        acknowledged.len()
    );

    let server = BelfryServer::start(&data, Some(&config));
    let found = issues(&server, "");
    assert_eq!(found.len(), 1, "{found:?}");
    let issue_id = found[0]["id"].as_str().unwrap();
    let mut stored = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.url(&format!("/api/belfry/errors/issues/{issue_id}/events?limit=1000"));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let page = get_ok(&url);
        for e in page["data"].as_array().unwrap() {
            assert!(
                stored.insert(e["event_id"].as_str().unwrap().to_string()),
                "stored twice: {e}"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let missing: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost: {missing:?}",
        missing.len()
    );
    // Counted once each: the issue's count is its stored events (those
    // in flight at the kill may be stored without an answer).
    assert_eq!(found[0]["count"].as_u64().unwrap(), stored.len() as u64);
    eprintln!(
        "kill -9: {} acknowledged, {} stored",
        acknowledged.len(),
        stored.len()
    );
}
