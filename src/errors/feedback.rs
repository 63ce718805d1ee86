//! User feedback, attached to the issue of the event it names: the new
//! SDKs' `feedback` item (an event whose `contexts.feedback` holds
//! `message`, `contact_email`, `name`, `associated_event_id`, `url`) and
//! the older `user_report` item (`{event_id, name, email, comments}`).
//!
//! The reporter's e-mail address and name never reach the disk: like an
//! event's user they become the user token (the keyed hash logs use), and
//! the message is scrubbed like an event's strings.
//!
//! Feedback naming a stored event is kept under that event's issue
//! (`error_feedback`, `ISSUE/TIMESTAMP_MS/FEEDBACK_ID`); feedback that
//! arrives first waits in `error_feedback_pending`
//! (`PROJECT/EVENT_ID/FEEDBACK_ID`) and moves to the issue when the event
//! lands.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::state::{StateStore, StateWriter, WriteOp, tables};

use super::ErrorsError;
use super::event::{normalize_id, timestamp_secs};
use super::scrub::EventScrubber;

/// Feedback waiting for its event, across projects; past it new
/// feedback naming an unknown event is refused (and counted).
pub const MAX_PENDING: usize = 10_000;
/// Longest message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 4_096;

/// One piece of feedback, scrubbed, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct Feedback {
    pub id: String,
    /// The event it is about (32 hex digits), if it names one.
    pub event_id: Option<String>,
    pub body: Map<String, Value>,
    pub timestamp: f64,
}

fn bad(item: &'static str, message: impl Into<String>) -> ErrorsError {
    ErrorsError::BadItem {
        item,
        message: message.into(),
    }
}

fn field<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn random_id() -> String {
    let b: [u8; 16] = rand::random();
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses and scrubs a `feedback` or `user_report` item.
pub fn parse_feedback(
    item: &'static str,
    payload: &[u8],
    scrubber: &EventScrubber,
    now: f64,
) -> Result<Feedback, ErrorsError> {
    let body = match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad(item, "the payload is not a JSON object")),
        Err(e) => return Err(bad(item, format!("the payload is not JSON: {e}"))),
    };
    let (fields, event_id, id) = if item == "user_report" {
        let event_id = field(&body, "event_id").ok_or_else(|| bad(item, "\"event_id\" is missing"))?;
        let event_id = normalize_id(event_id)
            .ok_or_else(|| bad(item, format!("\"event_id\": {event_id:?} is not an event id")))?;
        let fields = (
            field(&body, "comments").ok_or_else(|| bad(item, "\"comments\" is missing"))?,
            field(&body, "email"),
            field(&body, "name"),
            None,
        );
        (fields, Some(event_id), random_id())
    } else {
        let fb = body
            .get("contexts")
            .and_then(|c| c.get("feedback"))
            .and_then(Value::as_object)
            .ok_or_else(|| bad(item, "\"contexts.feedback\" is missing"))?;
        let event_id = match field(fb, "associated_event_id") {
            Some(e) => Some(normalize_id(e).ok_or_else(|| {
                bad(
                    item,
                    format!("\"contexts.feedback.associated_event_id\": {e:?} is not an event id"),
                )
            })?),
            None => None,
        };
        let fields = (
            field(fb, "message").ok_or_else(|| bad(item, "\"contexts.feedback.message\" is missing"))?,
            field(fb, "contact_email"),
            field(fb, "name"),
            field(fb, "url"),
        );
        let id = field(&body, "event_id")
            .and_then(normalize_id)
            .unwrap_or_else(random_id);
        (fields, event_id, id)
    };
    let (message, email, name, url) = fields;
    let timestamp = body.get("timestamp").and_then(timestamp_secs).unwrap_or(now);
    let mut message = Value::String(message.chars().take(MAX_MESSAGE_CHARS).collect());
    scrubber.scrub_text(&mut message);
    let mut url = url.map(|u| Value::String(u.chars().take(2_048).collect()));
    if let Some(u) = &mut url {
        scrubber.scrub_text(u);
    }
    let mut out = Map::new();
    out.insert("id".into(), Value::String(id.clone()));
    out.insert("source".into(), Value::String(item.to_string()));
    out.insert(
        "event_id".into(),
        event_id.clone().map(Value::String).unwrap_or(Value::Null),
    );
    out.insert("message".into(), message);
    out.insert("url".into(), url.unwrap_or(Value::Null));
    // The e-mail address names the reporter best, as it does an event's user.
    let user = email
        .or(name)
        .map(|who| json!({ "id": scrubber.user_token(who) }))
        .unwrap_or(Value::Null);
    out.insert("user".into(), user);
    out.insert("timestamp".into(), Value::from(timestamp));
    Ok(Feedback {
        id,
        event_id,
        body: out,
        timestamp,
    })
}

pub struct FeedbackStore {
    state: Arc<StateStore>,
    writer: StateWriter,
    /// (project, event id) → how many pieces wait for it.
    pending: Mutex<HashMap<(u64, String), usize>>,
}

fn pending_prefix(project: u64, event_id: &str) -> String {
    format!("{project:020}/{event_id}/")
}

fn issue_prefix(issue: u64) -> String {
    format!("{issue:020}/")
}

fn issue_key(issue: u64, f: &Map<String, Value>) -> String {
    let ts_ms = (f.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0) * 1000.0).max(0.0) as u64;
    let id = f.get("id").and_then(Value::as_str).unwrap_or_default();
    format!("{issue:020}/{ts_ms:020}/{id}")
}

impl FeedbackStore {
    /// Loads which events have feedback waiting. Blocking.
    pub fn open(state: Arc<StateStore>, writer: StateWriter) -> Result<FeedbackStore, ErrorsError> {
        let mut pending: HashMap<(u64, String), usize> = HashMap::new();
        for (key, _) in state.scan(tables::ERROR_FEEDBACK_PENDING)? {
            let mut parts = key.splitn(3, '/');
            if let (Some(p), Some(e)) = (parts.next(), parts.next())
                && let Ok(p) = p.parse::<u64>()
            {
                *pending.entry((p, e.to_string())).or_default() += 1;
            }
        }
        Ok(FeedbackStore {
            state,
            writer,
            pending: Mutex::new(pending),
        })
    }

    /// Stores `feedback` under `issue` (the issue of its event, when that
    /// is stored), else as waiting for its event; returns once durable.
    pub async fn record(
        &self,
        project: u64,
        feedback: Feedback,
        issue: Option<u64>,
    ) -> Result<(), ErrorsError> {
        let mut body = feedback.body;
        body.insert("project".into(), Value::from(project));
        let op = match issue {
            Some(issue) => {
                body.insert("issue_id".into(), Value::from(issue));
                WriteOp::put(tables::ERROR_FEEDBACK, issue_key(issue, &body), to_json(&body))
            }
            None => {
                let event = feedback.event_id.unwrap_or_else(|| "-".to_string());
                let mut pending = self.pending.lock();
                let total: usize = pending.values().sum();
                if total >= MAX_PENDING {
                    return Err(ErrorsError::TooLarge {
                        what: "feedback waiting for its event",
                        size: total as u64 + 1,
                        limit: MAX_PENDING as u64,
                        key: "feedback_pending",
                    });
                }
                *pending.entry((project, event.clone())).or_default() += 1;
                let key = format!("{}{}", pending_prefix(project, &event), feedback.id);
                WriteOp::put(tables::ERROR_FEEDBACK_PENDING, key, to_json(&body))
            }
        };
        self.writer.write(vec![op]).await?;
        Ok(())
    }

    /// Moves feedback that waited for `event_id` to its issue, now that
    /// the event is stored. Cheap when nothing waits (one map lookup).
    pub async fn attach_pending(&self, project: u64, event_id: &str, issue: u64) -> Result<(), ErrorsError> {
        if self
            .pending
            .lock()
            .remove(&(project, event_id.to_string()))
            .is_none()
        {
            return Ok(());
        }
        let prefix = pending_prefix(project, event_id);
        let state = self.state.clone();
        let rows = tokio::task::spawn_blocking(move || {
            state.scan_prefix_rev(tables::ERROR_FEEDBACK_PENDING, &prefix, None, MAX_PENDING)
        })
        .await
        .map_err(|e| ErrorsError::BadRequest(format!("feedback task failed: {e}")))??;
        let mut ops = Vec::with_capacity(rows.len() * 2);
        for (key, value) in rows {
            let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&value) else {
                continue;
            };
            body.insert("issue_id".into(), Value::from(issue));
            ops.push(WriteOp::delete(tables::ERROR_FEEDBACK_PENDING, key));
            ops.push(WriteOp::put(
                tables::ERROR_FEEDBACK,
                issue_key(issue, &body),
                to_json(&body),
            ));
        }
        self.writer.write(ops).await?;
        Ok(())
    }

    /// An issue's feedback, newest first. Blocking.
    pub fn for_issue(&self, issue: u64, limit: usize) -> Result<Vec<Value>, ErrorsError> {
        let rows = self
            .state
            .scan_prefix_rev(tables::ERROR_FEEDBACK, &issue_prefix(issue), None, limit)?;
        Ok(rows
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice::<Value>(&v).ok())
            .collect())
    }

    /// Feedback that names no event, or an event not stored (yet), of
    /// one project. Blocking.
    pub fn pending(&self, project: u64, limit: usize) -> Result<Vec<Value>, ErrorsError> {
        let rows = self.state.scan_prefix_rev(
            tables::ERROR_FEEDBACK_PENDING,
            &format!("{project:020}/"),
            None,
            limit,
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice::<Value>(&v).ok())
            .collect())
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("feedback serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PrivacyConfig, Secret};
    use crate::privacy::{UserIdHasher, UserIdKey};

    fn scrubber() -> EventScrubber {
        let config =
            super::super::scrub::errors_privacy_config(&PrivacyConfig::default(), &Default::default());
        let metrics = crate::privacy::ScrubMetrics::new(crate::selfmetrics::Registry::new());
        let scrubber = crate::privacy::Scrubber::new(&config.scrubbers, &metrics);
        let hasher = UserIdHasher::new(&UserIdKey::from_secret(&Secret::new("key-for-tests-0123456789")));
        EventScrubber::new(Some(Arc::new(scrubber)), hasher)
    }

    #[test]
    fn both_shapes_lose_the_address_and_the_name() {
        let s = scrubber();
        let f = parse_feedback(
            "feedback",
            br#"{"event_id":"0123456789abcdef0123456789abcdef","contexts":{"feedback":{
                "message":"the quiz page broke, write to ana@example.org","contact_email":"ana@example.org",
                "name":"Ana Lima","associated_event_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","url":"https://lms/quiz"}}}"#,
            &s,
            1.0,
        )
        .unwrap();
        assert_eq!(f.event_id.as_deref(), Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        let text = serde_json::to_string(&f.body).unwrap();
        assert!(
            !text.contains("ana@example.org") && !text.contains("Ana Lima"),
            "{text}"
        );
        assert!(f.body["user"]["id"].as_str().is_some());
        let r = parse_feedback(
            "user_report",
            br#"{"event_id":"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb","name":"Bo","email":"bo@example.org","comments":"slow"}"#,
            &s,
            1.0,
        )
        .unwrap();
        assert_eq!(r.event_id.as_deref(), Some("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
        assert!(!serde_json::to_string(&r.body).unwrap().contains("bo@example.org"));
        let e = parse_feedback("user_report", br#"{"event_id":"x","comments":"c"}"#, &s, 1.0).unwrap_err();
        assert!(e.to_string().contains("\"event_id\""), "{e}");
        assert_eq!(e.reason(), "malformed_feedback");
    }

    #[tokio::test]
    async fn feedback_before_its_event_waits_then_attaches() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateStore::open(dir.path()).unwrap();
        let store = FeedbackStore::open(state.clone(), StateWriter::start(state.clone())).unwrap();
        let s = scrubber();
        let f = parse_feedback(
            "user_report",
            br#"{"event_id":"cccccccccccccccccccccccccccccccc","name":"C","comments":"broken"}"#,
            &s,
            5.0,
        )
        .unwrap();
        store.record(1, f, None).await.unwrap();
        assert_eq!(store.pending(1, 10).unwrap().len(), 1);
        let full = ErrorsError::TooLarge {
            what: "feedback waiting for its event",
            size: 1,
            limit: 1,
            key: "feedback_pending",
        };
        assert_eq!(full.reason(), "feedback_pending_full");
        store
            .attach_pending(1, "cccccccccccccccccccccccccccccccc", 7)
            .await
            .unwrap();
        assert!(store.pending(1, 10).unwrap().is_empty());
        let attached = store.for_issue(7, 10).unwrap();
        assert_eq!(attached[0]["message"], "broken");
        assert_eq!(attached[0]["issue_id"], 7);
    }
}
