//! The web UI in a real browser: Debian's Chromium, headless, driven by
//! npm's `playwright-core` (tests/it/js/ui_pages.mjs, installed with
//! `axe-core` by scripts/install-test-deps) against a Belfry with
//! something on every page — its own scrape and a target that is down,
//! the LMS rule pack, log lines of every level and an error event. The
//! script signs in through the login form, follows an expired session
//! back to a deep page, imports dashboards through the import form, then
//! opens every page and every dashboard the API lists in the light and
//! dark themes at 1366×768 and 390×844; any console error, uncaught
//! exception, CSP violation, failed request, panel in error or serious or
//! critical axe-core violation fails the test with the page named, as do
//! sideways scrolling of the overview on a phone and a keyboard that
//! cannot reach the search (`/`) or the navigation (Tab, focus visible).
//! Before the loads it goes through what a person does on the pages
//! (tests/it/js/flows.mjs): a PromQL and a LogQL query on Explore, a log
//! search and a line's context, the error issue resolved and its
//! request's log lines, an alert (the down target's) silenced and the
//! silence expired; a flow that does not reach its outcome fails the test
//! naming the flow and its step.
//!
//! Screenshots (`<page>-<light|dark>-<laptop|phone>.png`) are kept in
//! `ui-screenshots/` of the cargo target directory (`target/ui-screenshots/`
//! by default, `$CARGO_TARGET_DIR/ui-screenshots/` when that is set), for CI
//! to keep as artifacts and for a person to look at after every change to
//! a page.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use belfry::auth::{Actor, Role, Scope};
use serde_json::{Value, json};

use crate::support::{BelfryServer, free_port, wait_for, with_accounts};

const ADMIN: &str = "ada";
const ADMIN_PW: &str = "admin-pw-ui-5d0c2e";
const SENTRY_KEY: &str = "0f5e1c2d3b4a69788796a5b4c3d2e1f0";
const CHROMIUM: &str = "/usr/bin/chromium";

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/js")
}

/// `ui-screenshots/` beside the build's own directories: the parent of
/// the integration tests' scratch directory is the target directory,
/// wherever `CARGO_TARGET_DIR` put it.
fn screenshot_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_TMPDIR").and_then(|t| Path::new(t).parent()) {
        Some(target) => target.join("ui-screenshots"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots"),
    }
}

/// What the browser test needs beyond Rust: node with the pinned
/// packages, and Debian's Chromium. A missing piece skips the test with
/// the reason, or fails it where `BELFRY_REQUIRE_PEERS` is set (CI).
fn peers_missing() -> Option<String> {
    let mut missing = Vec::new();
    for module in ["playwright-core", "axe-core"] {
        if !js_dir().join("node_modules").join(module).is_dir() {
            missing.push(format!("npm's {module} (tests/it/js/node_modules)"));
        }
    }
    if !Path::new(CHROMIUM).is_file() {
        missing.push(CHROMIUM.to_string());
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node".to_string());
    }
    if missing.is_empty() {
        return None;
    }
    let why = format!("{} not installed (scripts/install-test-deps)", missing.join(", "));
    if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
        panic!("BELFRY_REQUIRE_PEERS is set but {why}");
    }
    Some(why)
}

/// A loopback port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn config(dir: &Path, addr: SocketAddr, down: u16) -> PathBuf {
    let path = dir.join("belfry.yml");
    std::fs::write(
        &path,
        format!(
            r#"
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: belfry
    static_configs: [{{targets: ['{addr}']}}]
  - job_name: lms-api
    static_configs: [{{targets: ['127.0.0.1:{down}']}}]
rule_files: [builtin:lms]
logs:
  commit: {{interval: 200ms}}
errors:
  projects: [{{id: 1, name: lms, keys: [{SENTRY_KEY}]}}]
"#
        ),
    )
    .unwrap();
    path
}

/// The server's API as a program calls it: with a token.
struct Api {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn send(&self, req: reqwest::RequestBuilder) -> (u16, String) {
        self.rt.block_on(async {
            let resp = req
                .bearer_auth(&self.token)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    }

    fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.send(self.client.get(format!("{}{path}", self.base)));
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
    }
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// Log lines of the LMS's API at every level through Loki's push API,
/// spread over the last minutes so the overview's strip has bars.
fn push_logs(api: &Api) {
    let now = now_ns();
    let minute = 60_000_000_000_i64;
    let mut values = Vec::new();
    for (i, (level, msg)) in [
        ("info", "GET /api/courses 200"),
        ("warning", "slow query on enrollments"),
        ("error", "grade sync failed: connection reset"),
        ("info", "POST /api/quiz/submit 201"),
        ("error", "upload to storage timed out"),
        ("critical", "database pool exhausted"),
    ]
    .into_iter()
    .enumerate()
    {
        let ts = now - (6 - i as i64) * minute;
        let line = json!({"level": level, "msg": msg, "request_id": format!("req-ui-{i}")}).to_string();
        values.push(json!([ts.to_string(), line]));
    }
    let body = json!({"streams": [{"stream": {"service": "lms-api", "env": "test"}, "values": values}]});
    let (status, text) = api.post(
        "/loki/api/v1/push",
        "application/json",
        body.to_string().into_bytes(),
    );
    assert_eq!(status, 204, "Loki push: {text}");
}

/// One error event through the Sentry envelope endpoint, as an SDK sends it:
/// of the request whose "grade sync failed" line `push_logs` wrote, with
/// its request and breadcrumbs, so the issue page has every section and
/// the browser flows can follow the request id to that line.
fn send_error_event(server: &BelfryServer) {
    let event = json!({
        "event_id": "5d9e4c3b2a1f40e8b7c6d5e4f3a2b1c0",
        "level": "error",
        "platform": "python",
        "environment": "production",
        "release": "lms@2.4.1",
        "tags": {"request_id": "req-ui-2"},
        "request": {
            "method": "POST",
            "url": "https://lms.example.edu/api/grades/sync",
            "headers": {"X-Request-ID": "req-ui-2"}
        },
        "breadcrumbs": {"values": [
            {"category": "http", "level": "info", "message": "POST /api/grades/sync"},
            {"category": "query", "level": "info", "message": "SELECT score FROM grades WHERE course_id = $1"}
        ]},
        "exception": {"values": [{
            "type": "ZeroDivisionError",
            "value": "division by zero",
            "stacktrace": {"frames": [{
                "filename": "lms/grades.py",
                "function": "average",
                "module": "lms.grades",
                "lineno": 42,
                "in_app": true
            }]}
        }]}
    })
    .to_string();
    let envelope = crate::errors_sentry::envelope(
        r#"{"event_id":"5d9e4c3b2a1f40e8b7c6d5e4f3a2b1c0"}"#,
        &[("event", event.as_bytes())],
    );
    let url = server.url(&format!("/api/1/envelope/?sentry_key={SENTRY_KEY}"));
    let (status, body) = crate::support::block(async {
        let resp = crate::support::http_client()
            .post(url)
            .body(envelope)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    });
    assert_eq!(status, 200, "envelope: {body}");
}

#[test]
fn every_page_in_a_real_browser() {
    if let Some(why) = peers_missing() {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = with_accounts(&data, |accounts| {
        let cli = Actor::cli();
        accounts.users.add(&cli, ADMIN, Role::Admin, ADMIN_PW).unwrap();
        accounts
            .tokens
            .add(&cli, "ui-test", &[Scope::Read, Scope::Ingest], None)
            .unwrap()
            .secret
    });
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = config(dir.path(), addr, closed_port());
    let server = BelfryServer::start_at(addr, &data, Some(&config), &[], None);
    let api = Api {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        client: crate::support::http_client(),
        base: server.url(""),
        token,
    };

    push_logs(&api);
    send_error_event(&server);

    // Every page has something to show before the browser opens it: both
    // targets scraped (one up, one down), the error issue stored, the
    // error lines searchable.
    wait_for(Duration::from_secs(30), "both targets scraped", || {
        let t = api.get_json("/api/v1/targets");
        let active = t["data"]["activeTargets"].as_array()?.clone();
        let health = |job: &str| {
            active
                .iter()
                .find(|a| a["labels"]["job"] == job)
                .map(|a| a["health"].as_str().unwrap_or("").to_string())
        };
        (health("belfry")? == "up" && health("lms-api")? == "down").then_some(())
    });
    wait_for(Duration::from_secs(30), "the error issue", || {
        let issues = api.get_json("/api/belfry/errors/issues?project=1");
        (!issues["data"].as_array()?.is_empty()).then_some(())
    });
    wait_for(Duration::from_secs(30), "the error lines searchable", || {
        let r = api.get_json("/api/belfry/logs/search?level=error,critical&service=lms-api");
        (r["data"]["total"].as_u64()? >= 3).then_some(())
    });

    let shots = screenshot_dir();
    // Last run's pictures would pass for this run's.
    let _ = std::fs::remove_dir_all(&shots);
    let started = Instant::now();
    let out = Command::new("node")
        .arg("ui_pages.mjs")
        .arg(server.url(""))
        .arg(ADMIN)
        .arg(ADMIN_PW)
        .arg(&shots)
        .current_dir(js_dir())
        .output()
        .expect("run node");
    let report = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "ui_pages.mjs ran {:.1} s, exit {:?}:\n{report}{errors}",
        started.elapsed().as_secs_f64(),
        out.status.code()
    );
    drop(stderr);
    assert!(
        out.status.success(),
        "the browser test failed (report above; screenshots in {})",
        shots.display()
    );
    assert!(
        report.contains("no failure"),
        "the browser test exited 0 without its summary line"
    );
    server.stop();
}
