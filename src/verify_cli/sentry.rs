//! Check 4: Sentry error reporting works end to end. A real envelope (as
//! an SDK sends it, to the DSN's own address) carries one event with a
//! unique marker; the issues API is polled until an issue with the marker
//! exists. The event says it is a verification event — level info,
//! environment `verification`, tag `belfry_verify`, logger `belfry.verify`
//! — and its fingerprint is the marker, so each run makes an issue of its
//! own that is resolved afterwards (with a token that may write) and never
//! regresses. Its `ErrorIssueNew` alert carries `environment="verification"`
//! for a route to send nowhere.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::time::Instant;

use super::api::{Api, error_chain};
use super::report::CheckOutcome;

pub const NAME: &str = "errors";

const POLL: Duration = Duration::from_millis(500);

/// The test event's environment, which routes and the Errors page filter on.
pub const ENVIRONMENT: &str = "verification";

/// Where a DSN sends envelopes, and its key.
#[derive(Debug, PartialEq)]
pub struct Dsn {
    pub envelope_url: String,
    pub key: String,
}

/// `SCHEME://KEY@HOST[:PORT][/PREFIX]/PROJECT`, as Sentry's SDKs read it.
pub fn parse_dsn(dsn: &str) -> Result<Dsn, String> {
    let url = reqwest::Url::parse(dsn).map_err(|e| format!("--dsn {dsn:?} is not a URL: {e}"))?;
    let key = url.username();
    if key.is_empty() {
        return Err(format!("--dsn {dsn:?} has no key (SCHEME://KEY@HOST/PROJECT)"));
    }
    let path = url.path().trim_end_matches('/');
    let (prefix, project) = path.rsplit_once('/').unwrap_or(("", path));
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("--dsn {dsn:?} does not end in a project id"));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("--dsn {dsn:?} has no host"))?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(Dsn {
        envelope_url: format!("{}://{host}{port}{prefix}/api/{project}/envelope/", url.scheme()),
        key: key.to_string(),
    })
}

/// The envelope of one event: header, item header, event.
fn envelope(dsn: &str, event_id: &str, marker: &str, now: SystemTime) -> String {
    let event = json!({
        "event_id": event_id,
        "timestamp": now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64(),
        "platform": "other",
        "level": "info",
        "logger": "belfry.verify",
        "environment": ENVIRONMENT,
        "message": format!("belfry verify: test event {marker}, checking error reporting; safe to ignore"),
        "fingerprint": ["belfry-verify", marker],
        "tags": {"belfry_verify": "true"},
        "sdk": {"name": "belfry.verify", "version": env!("CARGO_PKG_VERSION")},
    })
    .to_string();
    let header = json!({"event_id": event_id, "dsn": dsn, "sent_at": belfry::model::rfc3339(now)});
    let item = json!({"type": "event", "length": event.len(), "content_type": "application/json"});
    format!("{header}\n{item}\n{event}\n")
}

pub async fn check(api: &Api, dsn: Option<&str>, marker: &str, timeout: Duration) -> CheckOutcome {
    let Some(dsn) = dsn else {
        return CheckOutcome::skip(
            NAME,
            "no test DSN: pass --dsn (a project of errors.projects, or one `belfry errors project add NAME` printed)",
        );
    };
    let target = match parse_dsn(dsn) {
        Ok(t) => t,
        Err(e) => return CheckOutcome::fail(NAME, e),
    };
    let event_id = format!("{:032x}", rand::random::<u128>());
    let body = envelope(dsn, &event_id, marker, SystemTime::now());
    // Sent as an SDK sends it: the DSN key in X-Sentry-Auth, no token.
    let sent = api
        .client()
        .post(&target.envelope_url)
        .header("Content-Type", "application/x-sentry-envelope")
        .header(
            "X-Sentry-Auth",
            format!(
                "Sentry sentry_version=7, sentry_key={}, sentry_client=belfry.verify/{}",
                target.key,
                env!("CARGO_PKG_VERSION")
            ),
        )
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            return CheckOutcome::fail(
                NAME,
                format!(
                    "{} refused the test event: {status}: {}",
                    target.envelope_url,
                    text.trim()
                ),
            );
        }
        Err(e) => {
            return CheckOutcome::fail(
                NAME,
                format!(
                    "cannot send the test event to {}: {}",
                    target.envelope_url,
                    error_chain(&e)
                ),
            );
        }
    }
    let sent_at = Instant::now();
    let deadline = sent_at + timeout;
    let issue = loop {
        match api
            .get("/api/belfry/errors/issues", &[("query", marker), ("limit", "1")])
            .await
        {
            Ok(v) => {
                if let Some(issue) = v["data"].as_array().and_then(|a| a.first()).cloned() {
                    break issue;
                }
            }
            Err(e) => return CheckOutcome::fail(NAME, format!("cannot list the issues: {e}")),
        }
        if Instant::now() >= deadline {
            return CheckOutcome::fail(
                NAME,
                format!(
                    "the test event {event_id} ({marker}) was accepted but became no issue within {}",
                    belfry::model::PromDuration(timeout)
                ),
            );
        }
        tokio::time::sleep(POLL).await;
    };
    let id = issue["id"].as_str().unwrap_or("").to_string();
    let waited = sent_at.elapsed().as_secs_f64();
    let resolve = api
        .client()
        .put(api.url_of(&format!("/api/belfry/errors/issues/{id}")))
        .header("Content-Type", "application/json")
        .body(json!({"status": "resolved"}).to_string());
    let cleanup = match api.send(resolve).await {
        Ok(_) => "resolved it".to_string(),
        Err(e) => format!("left it unresolved ({e})"),
    };
    CheckOutcome::pass(
        NAME,
        format!("a test event ({marker}) became issue {id} after {waited:.1}s; {cleanup}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_names_its_envelope_endpoint() {
        assert_eq!(
            parse_dsn("http://abc123@127.0.0.1:9900/7").unwrap(),
            Dsn {
                envelope_url: "http://127.0.0.1:9900/api/7/envelope/".into(),
                key: "abc123".into()
            }
        );
        assert_eq!(
            parse_dsn("https://k@belfry.example/sentry/12/")
                .unwrap()
                .envelope_url,
            "https://belfry.example/sentry/api/12/envelope/"
        );
        assert!(
            parse_dsn("http://127.0.0.1:9900/7")
                .unwrap_err()
                .contains("no key")
        );
        assert!(parse_dsn("http://k@h/").unwrap_err().contains("project id"));
        assert!(parse_dsn("not a url").unwrap_err().contains("not a URL"));
    }

    #[test]
    fn the_envelope_frames_one_event_by_length() {
        let text = envelope("http://k@h/1", "e1", "m1", UNIX_EPOCH);
        let lines: Vec<&str> = text.lines().collect();
        let item: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(item["length"].as_u64().unwrap() as usize, lines[2].len());
        let event: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
        assert_eq!(event["fingerprint"], json!(["belfry-verify", "m1"]));
        assert_eq!(event["environment"], ENVIRONMENT);
    }
}
