//! `belfry serve --demo`, with accounts, as staff meet it: the synthetic
//! LMS makes every page alive — every query of the four built-in
//! dashboards answers data over the last 6 h, the overview shows issues
//! and error lines, error events find their log lines by request id, a
//! real browser (ui_pages.rs) opens every page and sees every panel draw
//! data, and the scripted incident fires an LMS alert that the alert
//! history keeps. One server serves all of it: the browser's few minutes
//! run while the incident's alert waits out the pack's `for: 5m`.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use belfry::auth::{Actor, Role, Scope};
use serde_json::Value;

use crate::support::{BelfryServer, free_port, get_with, http_client, wait_for, with_accounts};

/// The incident's period in this test: short, so the first incident (which
/// starts with the demo) ends and the next comes while the test runs. The
/// incident outlasts the pack's `for: 5m`, which bounds how quick this is.
const INCIDENT_EVERY: &str = "10m";

const ADMIN: &str = "ada";
const ADMIN_PW: &str = "admin-pw-ui-5d0c2e";

/// The alerts the demo's incident drives.
const INCIDENT_ALERTS: [&str; 4] = [
    "LMSDBConnectionPoolExhausted",
    "LMSCeleryQueueHigh",
    "LMSAPIHighErrorRate",
    "LMSDBSlowQueries",
];

/// A loopback port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Beside the demo's own data: Belfry's self-scrape, and one target that
/// is down, so the Targets page and the overview have one of each.
fn config(dir: &Path, addr: SocketAddr) -> PathBuf {
    let path = dir.join("belfry.yml");
    let down = closed_port();
    std::fs::write(
        &path,
        format!(
            r#"
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: belfry
    static_configs: [{{targets: ['{addr}']}}]
  - job_name: lms-reports
    static_configs: [{{targets: ['127.0.0.1:{down}']}}]
"#
        ),
    )
    .unwrap();
    path
}

/// The API as a program calls it: with a read token.
struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: String, token: &str) -> Api {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        http_client(); // installs the crypto provider
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        Api { client, base }
    }

    fn get(&self, path: &str) -> (u16, String) {
        get_with(&self.client, &format!("{}{path}", self.base)).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// A page as the server renders it for a browser.
    fn page(&self, path: &str) -> String {
        crate::support::html_page(&self.client, &format!("{}{path}", self.base))
    }
}

#[test]
fn demo_mode_feeds_every_page_and_dashboard_and_fires_an_incident_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data-demo");
    // Accounts go in before the server starts; the directory is the
    // demo's from the first file.
    belfry::demo::claim_data_dir(&data_dir).unwrap();
    let token = with_accounts(&data_dir, |accounts| {
        let cli = Actor::cli();
        accounts.users.add(&cli, ADMIN, Role::Admin, ADMIN_PW).unwrap();
        accounts
            .tokens
            .add(&cli, "demo-test", &[Scope::Read], None)
            .unwrap()
            .secret
    });
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = config(tmp.path(), addr);
    let server = BelfryServer::start_demo(
        addr,
        &data_dir,
        Some(&config),
        &[("BELFRY_DEMO_INCIDENT_EVERY", INCIDENT_EVERY)],
        None,
    );
    assert!(
        data_dir.join(belfry::demo::MARKER_FILE).exists(),
        "the demo marks its data directory"
    );
    let api = Api::new(server.url(""), &token);

    // Every PromQL and LogQL query of the built-in dashboards answers data.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-dashboards");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(server.url(""))
        .args(["--token", &token, "--require-data"])
        .output()
        .expect("run python3");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "check-dashboards --require-data failed:\n{report}"
    );

    // Error issues exist, and an event's request id finds its log lines.
    let issues = api.get_json("/api/belfry/errors/issues?sort=count");
    let list = issues["data"].as_array().expect("issues list");
    assert!(list.len() >= 2, "the demo's errors group into issues: {issues}");
    let id = list[0]["id"].as_str().expect("issue id").to_string();
    let detail = api.get_json(&format!("/api/belfry/errors/issues/{id}"));
    let latest = &detail["data"]["latest_event"];
    let request_id = latest["request_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no request id on the latest event: {latest}"))
        .to_string();
    let correlated = api.get_json(&format!("/api/belfry/correlate?request_id={request_id}"));
    let logs = correlated["data"]["logs"].as_array().expect("logs");
    assert!(
        !logs.is_empty(),
        "no log line for request {request_id}: {correlated}"
    );
    assert!(
        correlated["data"]["events"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "{correlated}"
    );

    // The overview shows the issues and the error lines. Its issues are
    // those first seen in its range, and the demo's were first seen at the
    // start of its day of history: hence a range reaching further back.
    let page = api.page("/?from=now-2d");
    assert!(page.contains("Firing alerts"), "not the overview: {page}");
    assert!(page.contains("TimeoutError"), "no demo issue on the overview");
    assert!(
        !page.contains("No new or regressed error issue"),
        "no issue on the overview"
    );
    assert!(
        !page.contains("No error line was logged"),
        "no error line on the overview"
    );

    // Both targets scraped, one up and one down, before the browser looks.
    wait_for(Duration::from_secs(30), "both targets scraped", || {
        let t = api.get_json("/api/v1/targets");
        let active = t["data"]["activeTargets"].as_array()?.clone();
        let health = |job: &str| {
            active
                .iter()
                .find(|a| a["labels"]["job"] == job)
                .map(|a| a["health"].as_str().unwrap_or("").to_string())
        };
        (health("belfry")? == "up" && health("lms-reports")? == "down").then_some(())
    });

    // Every page and dashboard in a real browser, on this data.
    match crate::ui_pages::peers_missing() {
        Some(why) => eprintln!("skipping the browser part: {why}"),
        None => crate::ui_pages::run_in_browser(&server.url(""), ADMIN, ADMIN_PW),
    }

    // The incident that started with the demo fires an LMS alert once its
    // `for:` has passed, and the alert history keeps each step of it.
    let firing = wait_for(Duration::from_secs(9 * 60), "an LMS alert firing", || {
        let alerts = api.get_json("/api/v1/alerts");
        alerts["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| {
                a["state"] == "firing"
                    && a["labels"]["alertname"]
                        .as_str()
                        .is_some_and(|n| INCIDENT_ALERTS.contains(&n))
            })
            .cloned()
    });
    let name = firing["labels"]["alertname"].as_str().unwrap().to_string();
    let history = api.get_json(&format!("/api/belfry/alerts/history?query={name}"));
    let steps: Vec<&str> = history["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no history list: {history}"))
        .iter()
        .filter(|e| e["alertname"] == name.as_str())
        .filter_map(|e| e["to"].as_str())
        .collect();
    assert!(
        steps.contains(&"pending") && steps.contains(&"firing"),
        "the alert history of {name} lacks its pending and firing steps: {history}"
    );
    // The overview lists it with its runbook, on-call's first read.
    let runbook = format!("/runbooks/{name}\"");
    wait_for(
        Duration::from_secs(60),
        "the firing alert's runbook on the overview",
        || api.page("/").contains(&runbook).then_some(()),
    );
    server.stop();

    // A data directory that holds real data is refused.
    let real = tmp.path().join("data");
    std::fs::create_dir_all(real.join("metrics")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_belfry"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&real)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not the demo's"), "{err}");
}
