//! The keys an event is stored under besides its own: by project and
//! event id (retries are stored once), by time (retention), and by
//! request id (correlation with logs), and which request id an event
//! belongs to.

use serde_json::Value;

use super::Event;

/// Longer request ids are not indexed: ids are short tokens, and a key
/// must stay small.
const MAX_REQUEST_ID_LEN: usize = 200;

/// `ISSUE/TIMESTAMP_MS/EVENT_ID` in `error_events`.
pub fn event_key(issue: u64, ts_ms: u64, event_id: &str) -> String {
    format!("{issue:020}/{ts_ms:020}/{event_id}")
}

/// `PROJECT/EVENT_ID` in `error_event_ids`.
pub fn event_id_key(project: u64, event_id: &str) -> String {
    format!("{project:020}/{event_id}")
}

/// `TIMESTAMP_MS/ISSUE/EVENT_ID` in `error_event_times`.
pub fn event_time_key(issue: u64, ts_ms: u64, event_id: &str) -> String {
    format!("{ts_ms:020}/{issue:020}/{event_id}")
}

/// The lower bound of times at or after `ts_ms`.
pub fn time_bound(ts_ms: u64) -> String {
    format!("{ts_ms:020}/")
}

/// The `error_events` key of an `error_event_times` key.
pub fn event_key_of_time_key(time_key: &str) -> Option<(u64, String)> {
    let mut parts = time_key.splitn(3, '/');
    let ts: u64 = parts.next()?.parse().ok()?;
    let issue: u64 = parts.next()?.parse().ok()?;
    let id = parts.next()?;
    Some((issue, event_key(issue, ts, id)))
}

/// The issue an `error_events` key belongs to.
pub fn issue_of_event_key(key: &str) -> Option<u64> {
    key.split('/').next()?.parse().ok()
}

/// The event id at the end of an `error_events` key.
pub fn event_id_of_event_key(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or_default()
}

/// `REQUEST_ID` newline `EVENT_KEY` in `error_request_events`; a newline
/// cannot be in a usable request id, so one id's keys are one range.
pub fn request_key(request_id: &str, event_key: &str) -> String {
    format!("{request_id}\n{event_key}")
}

pub fn request_prefix(request_id: &str) -> String {
    format!("{request_id}\n")
}

/// Whether `id` can be a request id we index and look up.
pub fn usable_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && !id.chars().any(char::is_control)
}

/// The request an event came from: its `request_id` tag, else the
/// `X-Request-ID` header of its request, else its trace id.
pub fn request_id(event: &Event) -> Option<String> {
    let header = || {
        match event.body.get("request")?.get("headers")? {
            Value::Object(h) => h
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-request-id"))
                .and_then(|(_, v)| v.as_str()),
            // Some SDKs send headers as `[name, value]` pairs.
            Value::Array(pairs) => pairs.iter().find_map(|p| {
                let [k, v] = p.as_array()?.as_slice() else {
                    return None;
                };
                k.as_str()?
                    .eq_ignore_ascii_case("x-request-id")
                    .then(|| v.as_str())?
            }),
            _ => None,
        }
    };
    let trace = || {
        event
            .body
            .get("contexts")?
            .get("trace")?
            .get("trace_id")?
            .as_str()
    };
    [event.tag("request_id"), header(), trace()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|id| usable_request_id(id))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        Event::parse(json.as_bytes(), None, 0.0).unwrap()
    }

    #[test]
    fn request_id_from_tag_header_or_trace() {
        let trace = r#""contexts":{"trace":{"trace_id":"771a43a4192642f0b136d5159a501700"}}"#;
        let e = event(&format!(
            r#"{{"tags":{{"request_id":"r-1"}},"request":{{"headers":{{"X-Request-Id":"h-1"}}}},{trace}}}"#
        ));
        assert_eq!(request_id(&e).as_deref(), Some("r-1"));
        let e = event(&format!(
            r#"{{"request":{{"headers":[["x-request-id","h-1"]]}},{trace}}}"#
        ));
        assert_eq!(request_id(&e).as_deref(), Some("h-1"));
        let e = event(&format!("{{{trace}}}"));
        assert_eq!(
            request_id(&e).as_deref(),
            Some("771a43a4192642f0b136d5159a501700")
        );
        assert_eq!(request_id(&event(r#"{"tags":{"request_id":"a\nb"}}"#)), None);
    }

    #[test]
    fn keys_round_trip() {
        let time = event_time_key(7, 1_000, "abc");
        let (issue, key) = event_key_of_time_key(&time).unwrap();
        assert_eq!((issue, key.as_str()), (7, event_key(7, 1_000, "abc").as_str()));
        assert_eq!(issue_of_event_key(&key), Some(7));
        assert_eq!(event_id_of_event_key(&key), "abc");
        assert!(time < time_bound(1_001) && time >= time_bound(1_000));
        assert!(request_key("r", &key).starts_with(&request_prefix("r")));
        assert!(!request_key("r2", &key).starts_with(&request_prefix("r")));
    }
}
