//! Release-health items as SDKs send them: a `session` item is one update
//! of one session (`sid`, `did`, `init`, `started`, `timestamp`, `status`,
//! `errors`, `attrs.release`, `attrs.environment`); a `sessions` item is
//! pre-aggregated counts (`aggregates: [{started, did?, exited, errored,
//! abnormal, crashed}]`, `attrs`), which server-mode SDKs send. Relay's
//! rules: a session needs a release; counts are non-negative integers;
//! the status is one of Sentry's five. A refusal names the field.

use serde_json::{Map, Value};

use super::ErrorsError;
use super::event::timestamp_secs;

/// Most aggregate rows one `sessions` item may hold (an SDK flushes a
/// minute's worth, one row per started minute).
pub const MAX_AGGREGATES: usize = 1_000;

/// How bad a session ended, ordered: a later update can only make it
/// worse (a crashed session stays crashed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionOutcome {
    /// Still running (`ok`) or ended without errors (`exited`).
    Healthy = 0,
    /// Had handled errors (`errored`, or `errors` > 0).
    Errored = 1,
    /// Ended without being closed (the app was killed).
    Abnormal = 2,
    Crashed = 3,
}

impl SessionOutcome {
    pub fn from_rank(rank: u8) -> SessionOutcome {
        match rank {
            0 => SessionOutcome::Healthy,
            1 => SessionOutcome::Errored,
            2 => SessionOutcome::Abnormal,
            _ => SessionOutcome::Crashed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SessionOutcome::Healthy => "healthy",
            SessionOutcome::Errored => "errored",
            SessionOutcome::Abnormal => "abnormal",
            SessionOutcome::Crashed => "crashed",
        }
    }
}

/// The release and environment a session counts towards.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReleaseKey {
    pub release: String,
    /// Empty when the SDK sent none.
    pub environment: String,
}

/// One update of one session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionUpdate {
    pub sid: String,
    /// The distinct id (a user) as sent; hashed before it is kept.
    pub did: Option<String>,
    pub init: bool,
    /// Seconds since the epoch.
    pub started: f64,
    pub timestamp: f64,
    pub outcome: SessionOutcome,
    pub errors: u64,
    pub key: ReleaseKey,
}

/// One row of a `sessions` item: sessions started in one period.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateRow {
    pub started: f64,
    pub did: Option<String>,
    pub exited: u64,
    pub errored: u64,
    pub abnormal: u64,
    pub crashed: u64,
}

impl AggregateRow {
    pub fn total(&self) -> u64 {
        self.exited
            .saturating_add(self.errored)
            .saturating_add(self.abnormal)
            .saturating_add(self.crashed)
    }

    /// The worst outcome with a non-zero count (what one `did` suffered).
    pub fn worst(&self) -> SessionOutcome {
        if self.crashed > 0 {
            SessionOutcome::Crashed
        } else if self.abnormal > 0 {
            SessionOutcome::Abnormal
        } else if self.errored > 0 {
            SessionOutcome::Errored
        } else {
            SessionOutcome::Healthy
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionAggregates {
    pub key: ReleaseKey,
    pub rows: Vec<AggregateRow>,
}

/// A parsed `session` or `sessions` item.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionItem {
    Update(SessionUpdate),
    Aggregates(SessionAggregates),
}

fn bad(item: &'static str, message: impl Into<String>) -> ErrorsError {
    ErrorsError::BadItem {
        item,
        message: message.into(),
    }
}

fn object(item: &'static str, payload: &[u8]) -> Result<Map<String, Value>, ErrorsError> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad(item, "the payload is not a JSON object")),
        Err(e) => Err(bad(item, format!("the payload is not JSON: {e}"))),
    }
}

fn release_key(item: &'static str, body: &Map<String, Value>) -> Result<ReleaseKey, ErrorsError> {
    let attrs = match body.get("attrs") {
        Some(Value::Object(a)) => a,
        Some(_) => return Err(bad(item, "\"attrs\" is not an object")),
        None => {
            return Err(bad(
                item,
                "\"attrs.release\" is missing (a session counts towards a release)",
            ));
        }
    };
    let release = match attrs.get("release") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(bad(
                item,
                "\"attrs.release\" is missing (a session counts towards a release)",
            ));
        }
        Some(_) => return Err(bad(item, "\"attrs.release\" is not a string")),
    };
    let environment = match attrs.get("environment") {
        Some(Value::String(s)) => s.trim().to_string(),
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err(bad(item, "\"attrs.environment\" is not a string")),
    };
    if release.len() > 200 || environment.len() > 64 {
        return Err(bad(
            item,
            "\"attrs.release\" or \"attrs.environment\" is too long (200 and 64 bytes)",
        ));
    }
    Ok(ReleaseKey { release, environment })
}

fn time(item: &'static str, body: &Map<String, Value>, field: &str) -> Result<Option<f64>, ErrorsError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => timestamp_secs(v).map(Some).ok_or_else(|| {
            bad(
                item,
                format!("\"{field}\" is not a timestamp (RFC 3339 or seconds)"),
            )
        }),
    }
}

fn count(item: &'static str, body: &Map<String, Value>, field: &str) -> Result<u64, ErrorsError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            bad(
                item,
                format!("\"{field}\" must be a non-negative integer, got {n}"),
            )
        }),
        Some(other) => Err(bad(
            item,
            format!("\"{field}\" must be a non-negative integer, got {other}"),
        )),
    }
}

fn did(item: &'static str, body: &Map<String, Value>) -> Result<Option<String>, ErrorsError> {
    match body.get("did") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(bad(item, "\"did\" is not a string")),
    }
}

/// Parses a `session` item. `now` stands in for a missing `timestamp`.
pub fn parse_session(payload: &[u8], now: f64) -> Result<SessionUpdate, ErrorsError> {
    const ITEM: &str = "session";
    let body = object(ITEM, payload)?;
    let sid = match body.get("sid") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 128 => s.clone(),
        Some(Value::String(_)) => return Err(bad(ITEM, "\"sid\" must be 1 to 128 characters")),
        None => return Err(bad(ITEM, "\"sid\" is missing")),
        Some(_) => return Err(bad(ITEM, "\"sid\" is not a string")),
    };
    let init = match body.get("init") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad(ITEM, "\"init\" is not a boolean")),
    };
    let started = time(ITEM, &body, "started")?.ok_or_else(|| bad(ITEM, "\"started\" is missing"))?;
    let timestamp = time(ITEM, &body, "timestamp")?.unwrap_or(now);
    let errors = count(ITEM, &body, "errors")?;
    let status = match body.get("status") {
        None | Some(Value::Null) => "ok",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(bad(ITEM, "\"status\" is not a string")),
    };
    let outcome = match status {
        "ok" | "exited" if errors > 0 => SessionOutcome::Errored,
        "ok" | "exited" => SessionOutcome::Healthy,
        "errored" => SessionOutcome::Errored,
        "abnormal" => SessionOutcome::Abnormal,
        "crashed" => SessionOutcome::Crashed,
        other => {
            return Err(bad(
                ITEM,
                format!(
                    "\"status\": {other:?} is not a session status (ok, exited, crashed, abnormal, errored)"
                ),
            ));
        }
    };
    Ok(SessionUpdate {
        sid,
        did: did(ITEM, &body)?,
        init,
        started,
        timestamp,
        outcome,
        errors,
        key: release_key(ITEM, &body)?,
    })
}

/// Parses a `sessions` item.
pub fn parse_aggregates(payload: &[u8]) -> Result<SessionAggregates, ErrorsError> {
    const ITEM: &str = "sessions";
    let body = object(ITEM, payload)?;
    let key = release_key(ITEM, &body)?;
    let rows = match body.get("aggregates") {
        Some(Value::Array(rows)) => rows,
        None => return Err(bad(ITEM, "\"aggregates\" is missing")),
        Some(_) => return Err(bad(ITEM, "\"aggregates\" is not an array")),
    };
    if rows.len() > MAX_AGGREGATES {
        return Err(bad(
            ITEM,
            format!("{} aggregate rows, more than {MAX_AGGREGATES}", rows.len()),
        ));
    }
    let mut parsed = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let Value::Object(row) = row else {
            return Err(bad(ITEM, format!("aggregates[{i}] is not an object")));
        };
        let at = |e: ErrorsError| match e {
            ErrorsError::BadItem { item, message } => ErrorsError::BadItem {
                item,
                message: format!("aggregates[{i}]: {message}"),
            },
            other => other,
        };
        let started = time(ITEM, row, "started")
            .map_err(at)?
            .ok_or_else(|| at(bad(ITEM, "\"started\" is missing")))?;
        parsed.push(AggregateRow {
            started,
            did: did(ITEM, row).map_err(at)?,
            exited: count(ITEM, row, "exited").map_err(at)?,
            errored: count(ITEM, row, "errored").map_err(at)?,
            abnormal: count(ITEM, row, "abnormal").map_err(at)?,
            crashed: count(ITEM, row, "crashed").map_err(at)?,
        });
    }
    Ok(SessionAggregates { key, rows: parsed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ErrorsError) -> String {
        e.to_string()
    }

    #[test]
    fn parses_what_the_python_sdk_sends() {
        let u = parse_session(
            br#"{"sid":"3c8f","did":"u1","init":true,"started":"2026-12-07T03:00:00.5Z",
                "timestamp":"2026-12-07T03:00:01Z","status":"exited","errors":2,
                "attrs":{"release":"lms@1.2","environment":"production"}}"#,
            0.0,
        )
        .unwrap();
        assert_eq!(u.outcome, SessionOutcome::Errored);
        assert!(u.init);
        assert_eq!(u.key.release, "lms@1.2");
        assert_eq!(u.did.as_deref(), Some("u1"));
        let a = parse_aggregates(
            br#"{"attrs":{"release":"lms@1.2"},"aggregates":[
                {"started":"2026-12-07T03:00:00Z","exited":3,"crashed":1},
                {"started":"2026-12-07T03:01:00Z","did":"u9","errored":2}]}"#,
        )
        .unwrap();
        assert_eq!(a.key.environment, "");
        assert_eq!(a.rows[0].total(), 4);
        assert_eq!(a.rows[0].worst(), SessionOutcome::Crashed);
        assert_eq!(a.rows[1].worst(), SessionOutcome::Errored);
    }

    #[test]
    fn refusals_name_the_problem() {
        let e = message(
            parse_session(
                br#"{"sid":"a","started":1,"status":"exploded","attrs":{"release":"r"}}"#,
                0.0,
            )
            .unwrap_err(),
        );
        assert!(e.contains("\"exploded\" is not a session status"), "{e}");
        let e = message(
            parse_session(
                br#"{"sid":"a","started":1,"errors":-1,"attrs":{"release":"r"}}"#,
                0.0,
            )
            .unwrap_err(),
        );
        assert!(e.contains("\"errors\" must be a non-negative integer"), "{e}");
        let e = message(parse_session(br#"{"sid":"a","started":1}"#, 0.0).unwrap_err());
        assert!(e.contains("attrs.release"), "{e}");
        let e = message(parse_session(b"{not json", 0.0).unwrap_err());
        assert!(e.contains("malformed session item"), "{e}");
        let e = message(
            parse_aggregates(br#"{"attrs":{"release":"r"},"aggregates":[{"started":1,"exited":-3}]}"#)
                .unwrap_err(),
        );
        assert!(e.contains("aggregates[0]: \"exited\""), "{e}");
        let e = message(
            parse_aggregates(br#"{"attrs":{"release":"r"},"aggregates":[{"exited":1}]}"#).unwrap_err(),
        );
        assert!(e.contains("aggregates[0]: \"started\" is missing"), "{e}");
        assert_eq!(
            parse_aggregates(br#"{"attrs":{"release":"r"}}"#)
                .unwrap_err()
                .reason(),
            "malformed_session"
        );
    }
}
