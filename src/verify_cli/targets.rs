//! Check 3: every active scrape target is up. Targets not scraped yet
//! (`health: unknown`) or down are waited for up to the timeout, since
//! just after a deployment services and their exporters are still
//! starting; what is still not up then fails, named with its last error.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::api::Api;
use super::report::{CheckOutcome, count};

pub const NAME: &str = "targets";

const POLL: Duration = Duration::from_secs(1);

fn describe(t: &Value) -> String {
    format!(
        "job {:?} target {}",
        t["scrapePool"].as_str().unwrap_or(""),
        t["scrapeUrl"].as_str().unwrap_or("")
    )
}

pub async fn check(api: &Api, timeout: Duration) -> CheckOutcome {
    let deadline = Instant::now() + timeout;
    let targets = loop {
        let targets = match api.get("/api/v1/targets", &[("state", "active")]).await {
            Ok(v) => v["data"]["activeTargets"].as_array().cloned().unwrap_or_default(),
            Err(e) => return CheckOutcome::fail(NAME, format!("cannot read the targets: {e}")),
        };
        let all_up = targets.iter().all(|t| t["health"] == "up");
        if all_up || Instant::now() >= deadline {
            break targets;
        }
        tokio::time::sleep(POLL).await;
    };
    if targets.is_empty() {
        return CheckOutcome::skip(NAME, "no scrape targets are configured (scrape_configs)");
    }
    let mut failures = Vec::new();
    for t in &targets {
        match t["health"].as_str() {
            Some("up") => {}
            Some("down") => failures.push(format!(
                "{}: down: {}",
                describe(t),
                t["lastError"]
                    .as_str()
                    .filter(|e| !e.is_empty())
                    .unwrap_or("(no error text)")
            )),
            _ => failures.push(format!(
                "{}: not scraped within {}",
                describe(t),
                belfry::model::PromDuration(timeout)
            )),
        }
    }
    if failures.is_empty() {
        CheckOutcome::pass(NAME, format!("{} up", count(targets.len(), "target")))
    } else {
        CheckOutcome::fail(
            NAME,
            format!("{} of {} not up", failures.len(), count(targets.len(), "target")),
        )
        .with_details(failures)
    }
}
