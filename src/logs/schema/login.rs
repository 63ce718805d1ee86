//! What a login event is: a stored record whose `event` (or ECS's
//! `event.action`) names a login, with an outcome (`outcome`,
//! `event.outcome`) of success or failure, the user's token and the
//! client's address. `login_failed` and `login_succeeded` carry their
//! outcome in the name (the LMS's existing `login_failed` lines count).
//!
//! Read from the record after mapping and privacy, so the user is the
//! keyed token the record stores. Most records are not logins: the first
//! lookup (`event`) turns those away.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::LogRecord;
use super::aliases;
use crate::model::LoginEvent;

/// The login event `record` is, if it is one.
pub fn login_event(record: &LogRecord) -> Option<LoginEvent> {
    let event = aliases::EVENT
        .iter()
        .find_map(|name| text_at(&record.fields, name))?;
    let success = match login_kind(event)? {
        Some(implied) => implied,
        None => aliases::OUTCOME
            .iter()
            .find_map(|name| field_at(&record.fields, name).and_then(outcome))?,
    };
    let source = aliases::CLIENT_IP
        .iter()
        .find_map(|name| text_at(&record.fields, name).and_then(parse_address));
    let at = UNIX_EPOCH + Duration::from_nanos(u64::try_from(record.timestamp_ns).unwrap_or(0));
    Some(LoginEvent {
        at,
        success,
        user: record.user.clone().filter(|u| !u.is_empty()),
        source,
    })
}

/// `Some(None)`: a login whose outcome is a field of its own;
/// `Some(Some(success))`: one whose name says it; `None`: not a login.
fn login_kind(event: &str) -> Option<Option<bool>> {
    let e = event.trim().to_ascii_lowercase();
    match e.as_str() {
        "login" | "user_login" | "logon" | "log_in" | "signin" | "sign_in" | "sign-in" => Some(None),
        "login_failed" | "login_failure" | "login-failed" => Some(Some(false)),
        "login_succeeded" | "login_success" | "login-succeeded" => Some(Some(true)),
        _ => None,
    }
}

fn outcome(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "success" | "succeeded" | "successful" | "ok" => Some(true),
            "failure" | "failed" | "fail" | "denied" | "error" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An address as applications log it: bare, with a port (`1.2.3.4:5678`,
/// `[::1]:443`) or a forwarded-for list (the first is the client). An
/// IPv4 address written as IPv6 (`::ffff:1.2.3.4`) is the IPv4 one.
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let first = text.split(',').next()?.trim();
    let ip = first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_canonical())
}

/// The value at `name`: a key written with dots, or a path through nested
/// objects (`{"event": {"action": …}}`).
fn field_at<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = fields.get(name) {
        return Some(v);
    }
    let (head, rest) = name.split_once('.')?;
    match fields.get(head)? {
        Value::Object(inner) => field_at(inner, rest),
        _ => None,
    }
}

fn text_at<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    field_at(fields, name)?.as_str().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Entry;
    use crate::logs::schema::{MappingOptions, map_entry};
    use serde_json::json;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn record(line: Value) -> LogRecord {
        let entry = Entry {
            line: line.to_string(),
            ..Entry::default()
        };
        let opts = MappingOptions {
            max_line_bytes: 4096,
            now_ns: NOW,
            privacy: None,
        };
        map_entry(entry, &opts).0
    }

    #[test]
    fn the_lms_shape_is_a_login_event() {
        let r = record(json!({"event": "login", "outcome": "success", "user_id": "u_1",
            "client_ip": "203.0.113.7", "service": "lms-api", "message": "login succeeded"}));
        let e = login_event(&r).unwrap();
        assert!(e.success);
        assert_eq!(e.user.as_deref(), Some("u_1"));
        assert_eq!(e.source, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(e.at, UNIX_EPOCH + Duration::from_nanos(NOW as u64));
        let failed = record(json!({"event": "login", "outcome": "failure", "user_id": "u_1"}));
        assert!(!login_event(&failed).unwrap().success);
        assert_eq!(login_event(&failed).unwrap().source, None);
    }

    #[test]
    fn ecs_documents_and_names_with_the_outcome_count_too() {
        let ecs = record(json!({"event": {"action": "user_login", "outcome": "failure"},
            "source": {"ip": "2001:db8::1"}, "user": {"id": "u_2"}}));
        let e = login_event(&ecs).unwrap();
        assert!(!e.success);
        assert_eq!(e.source, Some("2001:db8::1".parse().unwrap()));
        let dotted = record(json!({"event.action": "login", "event.outcome": "success",
            "client.ip": "198.51.100.4"}));
        assert!(login_event(&dotted).unwrap().success);
        let lms = record(json!({"event": "login_failed", "reason": "bad_password",
            "client_ip": "203.0.113.7:5512"}));
        let e = login_event(&lms).unwrap();
        assert!(!e.success && e.user.is_none());
        assert_eq!(e.source, Some("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn other_records_and_unknown_outcomes_are_not_login_events() {
        for line in [
            json!({"message": "GET /courses", "status": 200}),
            json!({"event": "rate_limited", "outcome": "failure"}),
            json!({"event": "login"}),
            json!({"event": "login", "outcome": "unknown"}),
        ] {
            assert_eq!(login_event(&record(line.clone())), None, "{line}");
        }
    }

    #[test]
    fn addresses_are_read_as_applications_log_them() {
        assert_eq!(
            parse_address("::ffff:192.0.2.1"),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_address("[2001:db8::2]:443"),
            Some("2001:db8::2".parse().unwrap())
        );
        assert_eq!(
            parse_address("203.0.113.9, 10.0.0.1"),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(parse_address("[ip]"), None);
        assert_eq!(parse_address("lms.example.org"), None);
    }
}
