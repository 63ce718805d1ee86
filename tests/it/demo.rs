//! `belfry serve --demo`: the synthetic LMS makes every page alive — every
//! query of the four built-in dashboards answers data over the last 6 h,
//! the overview shows issues and error lines, error events find their log
//! lines by request id, and the scripted incident fires an LMS alert.

use std::path::Path;
use std::time::Duration;

use crate::support::{BelfryServer, get_json, http_client, wait_for};

/// The incident's period in this test: short, so the first incident (which
/// starts with the demo) ends and the next comes while the test runs. The
/// incident outlasts the pack's `for: 5m`, which bounds how quick this is.
const INCIDENT_EVERY: &str = "10m";

#[test]
fn demo_mode_feeds_every_dashboard_and_fires_an_incident_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data-demo");
    let server = BelfryServer::start_demo(&data_dir, &[("BELFRY_DEMO_INCIDENT_EVERY", INCIDENT_EVERY)], None);
    assert!(
        data_dir.join(belfry::demo::MARKER_FILE).exists(),
        "the demo marks its data directory"
    );

    // Every PromQL and LogQL query of the built-in dashboards answers data.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-dashboards");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(server.url(""))
        .arg("--require-data")
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
    let issues = get_json(&server.url("/api/belfry/errors/issues?sort=count"));
    let list = issues["data"].as_array().expect("issues list");
    assert!(list.len() >= 2, "the demo's errors group into issues: {issues}");
    let id = list[0]["id"].as_str().expect("issue id").to_string();
    let detail = get_json(&server.url(&format!("/api/belfry/errors/issues/{id}")));
    let latest = &detail["data"]["latest_event"];
    let request_id = latest["request_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no request id on the latest event: {latest}"))
        .to_string();
    let correlated = get_json(&server.url(&format!("/api/belfry/correlate?request_id={request_id}")));
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
    let page = overview(&server, "/?from=now-2d");
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

    // The incident that started with the demo fires an LMS alert once its
    // `for:` has passed.
    let firing = wait_for(Duration::from_secs(9 * 60), "an LMS alert firing", || {
        let alerts = get_json(&server.url("/api/v1/alerts"));
        alerts["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| {
                a["state"] == "firing"
                    && a["labels"]["alertname"].as_str().is_some_and(|n| {
                        [
                            "LMSDBConnectionPoolExhausted",
                            "LMSCeleryQueueHigh",
                            "LMSAPIHighErrorRate",
                            "LMSDBSlowQueries",
                        ]
                        .contains(&n)
                    })
            })
            .cloned()
    });
    assert_eq!(firing["state"], "firing", "{firing}");
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

fn overview(server: &BelfryServer, path: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        http_client()
            .get(server.url(path))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
}
