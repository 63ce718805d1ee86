//! Check 5: log collection works end to end: a line with a unique marker
//! pushed to `POST /api/belfry/logs` (NDJSON) is found by a search,
//! polled up to the timeout (lines reach the index a moment after the
//! push is acknowledged). The line says it is a verification line, from
//! service `belfry-verify`, at level info.

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::time::Instant;

use super::api::Api;
use super::report::CheckOutcome;

pub const NAME: &str = "logs";

const POLL: Duration = Duration::from_millis(500);

/// The test line's service, which staff can filter away.
pub const SERVICE: &str = "belfry-verify";

pub async fn check(api: &Api, marker: &str, timeout: Duration) -> CheckOutcome {
    let sent_at = SystemTime::now();
    let line = json!({
        "timestamp": belfry::model::rfc3339(sent_at),
        "level": "info",
        "service": SERVICE,
        "message": format!("belfry verify: test log line {marker}, checking log collection; safe to ignore"),
        "labels": {"service": SERVICE},
    });
    let push = api
        .client()
        .post(api.url_of("/api/belfry/logs"))
        .header("Content-Type", "application/x-ndjson")
        .body(format!("{line}\n"));
    match api.send(push).await {
        Ok(answer) if answer["accepted"].as_u64() == Some(1) => {}
        Ok(answer) => {
            return CheckOutcome::fail(NAME, format!("the test line was not accepted: {answer}"));
        }
        Err(e) => return CheckOutcome::fail(NAME, format!("cannot push the test line: {e}")),
    }
    let pushed = Instant::now();
    let deadline = pushed + timeout;
    let since = (sent_at - Duration::from_secs(60))
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        .to_string();
    loop {
        match api
            .get(
                "/api/belfry/logs/search",
                &[
                    ("query", marker),
                    ("service", SERVICE),
                    ("start", &since),
                    ("limit", "1"),
                ],
            )
            .await
        {
            Ok(found) if found["data"]["total"].as_u64().unwrap_or(0) > 0 => {
                return CheckOutcome::pass(
                    NAME,
                    format!(
                        "a test line ({marker}) pushed to /api/belfry/logs was found by a search after {:.1}s",
                        pushed.elapsed().as_secs_f64()
                    ),
                );
            }
            Ok(_) => {}
            Err(e) => return CheckOutcome::fail(NAME, format!("cannot search the logs: {e}")),
        }
        if Instant::now() >= deadline {
            return CheckOutcome::fail(
                NAME,
                format!(
                    "the test line ({marker}) was accepted but no search found it within {}",
                    belfry::model::PromDuration(timeout)
                ),
            );
        }
        tokio::time::sleep(POLL).await;
    }
}
