//! Check 2: every rule loaded and has evaluated without error. The PromQL
//! groups (`/api/v1/rules`) and the LogQL ones (`/prometheus/api/v1/rules`)
//! each must show a first evaluation — waited for up to the timeout, since
//! a server that just started evaluates each group within its interval —
//! and no rule with `health: err`. A configuration reload that failed
//! (`/api/v1/status/runtimeinfo`) is a failure too: the rules running are
//! then not the files on disk.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::api::Api;
use super::report::{CheckOutcome, count};

pub const NAME: &str = "rules";

const POLL: Duration = Duration::from_secs(1);

/// Go's zero time, which the API shows for a group never evaluated.
fn evaluated(group: &Value) -> bool {
    group["lastEvaluation"]
        .as_str()
        .is_some_and(|t| !t.is_empty() && !t.starts_with("0001-"))
}

fn group_name(g: &Value) -> String {
    format!(
        "group {:?} ({})",
        g["name"].as_str().unwrap_or(""),
        g["file"].as_str().unwrap_or("")
    )
}

async fn groups(api: &Api) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for path in ["/api/v1/rules", "/prometheus/api/v1/rules"] {
        let body = api.get(path, &[]).await.map_err(|e| e.to_string())?;
        out.extend(body["data"]["groups"].as_array().cloned().unwrap_or_default());
    }
    Ok(out)
}

pub async fn check(api: &Api, timeout: Duration) -> CheckOutcome {
    let deadline = Instant::now() + timeout;
    let all = loop {
        let all = match groups(api).await {
            Ok(g) => g,
            Err(e) => return CheckOutcome::fail(NAME, format!("cannot read the rules: {e}")),
        };
        // A rule in error stays named; the wait is for the groups that
        // have not run yet, so the report covers every group.
        if all.iter().all(evaluated) || Instant::now() >= deadline {
            break all;
        }
        tokio::time::sleep(POLL).await;
    };
    let mut failures = Vec::new();
    match api.get("/api/v1/status/runtimeinfo", &[]).await {
        Ok(info) if info["data"]["reloadConfigSuccess"] == false => failures.push(format!(
            "the last configuration reload failed (the configuration in effect is from {}): the rules running may not be the files on disk; the server's log says why, and `belfry check config FILE` shows it",
            info["data"]["lastConfigTime"].as_str().unwrap_or("an earlier load")
        )),
        Ok(_) => {}
        Err(e) => failures.push(format!("cannot read the reload status: {e}")),
    }
    let mut rules = 0usize;
    for g in &all {
        let group_rules = g["rules"].as_array().cloned().unwrap_or_default();
        rules += group_rules.len();
        for r in &group_rules {
            if r["health"] == "err" {
                failures.push(format!(
                    "{}: {} rule {:?}: {}",
                    group_name(g),
                    if r["type"] == "alerting" {
                        "alerting"
                    } else {
                        "recording"
                    },
                    r["name"].as_str().unwrap_or(""),
                    r["lastError"].as_str().unwrap_or("(no error text)"),
                ));
            }
        }
        if !evaluated(g) {
            failures.push(format!(
                "{} has not evaluated within {} (interval {}s)",
                group_name(g),
                belfry::model::PromDuration(timeout),
                g["interval"].as_f64().unwrap_or(0.0)
            ));
        }
    }
    if !failures.is_empty() {
        return CheckOutcome::fail(
            NAME,
            format!(
                "{} with {} in {}",
                count(failures.len(), "problem"),
                count(rules, "rule"),
                count(all.len(), "group")
            ),
        )
        .with_details(failures);
    }
    if all.is_empty() {
        return CheckOutcome::skip(NAME, "no rule files are loaded (rule_files in the configuration)");
    }
    CheckOutcome::pass(
        NAME,
        format!(
            "{} in {} loaded and evaluated without error",
            count(rules, "rule"),
            count(all.len(), "group")
        ),
    )
}
