//! Check 6 (with `--send-test`): every receiver of the running alerting
//! configuration delivers. Each receiver's test notification
//! (`POST /api/belfry/receivers/{name}/test`, an alert named
//! `BelfryVerifyTest` that says it is a test) goes through every one of
//! its integrations; one that is not delivered fails, named with the
//! service's error. Without `--send-test` nothing is sent — the test
//! reaches people — and the check is skipped.

use serde_json::Value;

use super::api::Api;
use super::report::{CheckOutcome, count};

pub const NAME: &str = "receivers";

pub async fn check(api: &Api, send_test: bool) -> CheckOutcome {
    if !send_test {
        return CheckOutcome::skip(
            NAME,
            "no test notification sent: pass --send-test to send one through every receiver (it reaches people; the token needs the write scope)",
        );
    }
    let names: Vec<String> = match api.get("/api/v2/receivers", &[]).await {
        Ok(Value::Array(list)) => list
            .iter()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect(),
        Ok(other) => return CheckOutcome::fail(NAME, format!("the receivers list is not a list: {other}")),
        Err(e) => return CheckOutcome::fail(NAME, format!("cannot list the receivers: {e}")),
    };
    let mut failures = Vec::new();
    let mut delivered = Vec::new();
    let mut empty = Vec::new();
    for name in &names {
        let request = api
            .client()
            .post(api.url_of(&format!("/api/belfry/receivers/{}/test", path_segment(name))));
        let outcome = match api.send(request).await {
            Ok(v) => v["data"].clone(),
            Err(e) => {
                failures.push(format!("receiver {name:?}: cannot send the test: {e}"));
                continue;
            }
        };
        let integrations = outcome["integrations"].as_array().cloned().unwrap_or_default();
        if integrations.is_empty() {
            empty.push(format!("receiver {name:?} has no integrations: nothing to send"));
            continue;
        }
        for i in &integrations {
            let kind = i["integration"].as_str().unwrap_or("?");
            let index = i["index"].as_u64().unwrap_or(0);
            if i["delivered"] == true {
                delivered.push(format!("{name}/{kind}"));
            } else {
                failures.push(format!(
                    "receiver {name:?}, integration {index} ({kind}): {}",
                    i["error"].as_str().unwrap_or("not delivered")
                ));
            }
        }
    }
    if !failures.is_empty() {
        let failed = failures.len();
        failures.extend(empty);
        return CheckOutcome::fail(
            NAME,
            format!(
                "{} did not take the test notification ({} did)",
                count(failed, "integration"),
                delivered.len()
            ),
        )
        .with_details(failures);
    }
    if delivered.is_empty() {
        return CheckOutcome::fail(NAME, "no receiver has an integration: alerts reach nobody")
            .with_details(empty);
    }
    CheckOutcome::pass(
        NAME,
        format!(
            "{} of {} took the test notification: {}",
            count(delivered.len(), "integration"),
            count(names.len() - empty.len(), "receiver"),
            delivered.join(", ")
        ),
    )
    .with_details(empty)
}

/// A receiver's name as one URL path segment.
fn path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
