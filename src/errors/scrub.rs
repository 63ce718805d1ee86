//! Server-side privacy for events, before anything is stored: the user
//! becomes a token (the same keyed hash as the logs', so one user is one
//! token across both), cookies go, and every string of the event — the
//! message, exception values, frames' local variables and source lines,
//! breadcrumbs, request headers, query and body, extra, contexts, tags —
//! goes through the logs' scrubbers, with values under sensitive keys
//! (`password`, `secret`, `token`, `api_key`, `cookie`, `authorization`,
//! …) replaced whole. Errors turn on the `ip_address` scrubber too, which
//! logs leave off.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::{ErrorScrubConfig, PrivacyConfig};
use crate::privacy::{Scrubber, UserIdHasher};

use super::Event;

/// What replaces a removed value (the privacy scrubbers' own marker).
const REDACTED: &str = "[redacted]";

/// Fields that hold no personal data and that grouping, issues and the
/// API read as sent.
const KEPT_AS_SENT: &[&str] = &[
    "event_id",
    "timestamp",
    "level",
    "platform",
    "sdk",
    "user",
    "fingerprint",
];

/// The user fields Sentry identifies a user by, in its order.
const USER_ID_FIELDS: &[&str] = &["id", "username", "email", "ip_address"];

/// The privacy configuration errors scrub with: `logs.privacy`'s scrubbers
/// with `ip_address` on (unless disabled there) and `errors.scrub`'s keys.
pub fn errors_privacy_config(logs: &PrivacyConfig, scrub: &ErrorScrubConfig) -> PrivacyConfig {
    let mut config = logs.clone();
    let s = &mut config.scrubbers;
    if !s.disable.iter().any(|d| d == "ip_address") && !s.enable.iter().any(|e| e == "ip_address") {
        s.enable.push("ip_address".to_string());
    }
    s.sensitive_keys.extend(scrub.sensitive_keys.iter().cloned());
    config
}

pub struct EventScrubber {
    /// `None` when `errors.scrub.enabled` is off: user ids still become
    /// tokens, nothing else changes.
    scrubber: Option<Arc<Scrubber>>,
    hasher: UserIdHasher,
}

impl EventScrubber {
    pub fn new(scrubber: Option<Arc<Scrubber>>, hasher: UserIdHasher) -> Self {
        EventScrubber { scrubber, hasher }
    }

    pub fn scrub(&self, event: &mut Event) {
        let body = &mut event.body;
        self.tokenize_user(body);
        let Some(scrubber) = &self.scrubber else { return };
        if let Some(Value::Object(request)) = body.get_mut("request") {
            scrub_request(scrubber, request);
        }
        for (key, value) in body.iter_mut() {
            if KEPT_AS_SENT.contains(&key.as_str()) {
                continue;
            }
            if !value.is_null() && scrubber.is_sensitive_key(key) {
                *value = Value::String(REDACTED.to_string());
                continue;
            }
            scrubber.scrub_value(value);
        }
        for (key, text) in event.texts_mut() {
            if KEPT_AS_SENT.contains(&key) {
                continue;
            }
            if text.as_str() != "null" && scrubber.is_sensitive_key(key) {
                *text = format!("\"{REDACTED}\"");
                continue;
            }
            let mut scrubbed = String::with_capacity(text.len());
            if let Err(e) = scrubber.scrub_json_text(text, &mut scrubbed) {
                // `Event::parse` checked the text already; should a field
                // still not read, it goes rather than unscrubbed.
                tracing::warn!(field = key, error = %e, "cannot scrub an event field; it is dropped");
                scrubbed = format!("\"{REDACTED}\"");
            }
            *text = scrubbed;
        }
    }

    /// The user token of an id, a name or an e-mail address.
    pub(super) fn user_token(&self, id: &str) -> String {
        self.hasher.token(id)
    }

    /// Scrubs free text (a feedback message) as an event's strings are.
    pub(super) fn scrub_text(&self, value: &mut Value) {
        if let Some(scrubber) = &self.scrubber {
            scrubber.scrub_value(value);
        }
    }

    /// `user` becomes `{"id": TOKEN}` from the first identifying field:
    /// the count of affected users needs one stable value per user and
    /// nothing that names them.
    fn tokenize_user(&self, body: &mut Map<String, Value>) {
        let Some(Value::Object(user)) = body.get("user") else {
            body.remove("user");
            return;
        };
        let id = USER_ID_FIELDS.iter().find_map(|f| match user.get(*f) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
        match id {
            Some(id) => {
                let mut user = Map::new();
                user.insert("id".into(), Value::String(self.hasher.token(&id)));
                body.insert("user".into(), Value::Object(user));
            }
            None => {
                body.remove("user");
            }
        }
    }
}

/// Cookies are dropped whole whatever their names; headers may come as an
/// object or as `[name, value]` pairs.
fn scrub_request(scrubber: &Scrubber, request: &mut Map<String, Value>) {
    if request.get("cookies").is_some_and(|c| !c.is_null()) {
        request.insert("cookies".into(), Value::String(REDACTED.to_string()));
    }
    if let Some(Value::Array(pairs)) = request.get_mut("headers") {
        for pair in pairs.iter_mut() {
            if let Some([name, value]) = pair.as_array_mut().map(Vec::as_mut_slice)
                && name.as_str().is_some_and(|n| scrubber.is_sensitive_key(n))
            {
                *value = Value::String(REDACTED.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ScrubbersConfig, Secret};
    use crate::privacy::{ScrubMetrics, UserIdKey};
    use crate::selfmetrics::Registry;

    fn scrubber() -> EventScrubber {
        let config = errors_privacy_config(&PrivacyConfig::default(), &ErrorScrubConfig::default());
        let s = Scrubber::new(&config.scrubbers, &ScrubMetrics::new(Registry::new()));
        EventScrubber::new(
            Some(Arc::new(s)),
            UserIdHasher::new(&UserIdKey::from_secret(&Secret::new("k".repeat(20)))),
        )
    }

    #[test]
    fn nothing_personal_is_left() {
        let mut e = Event::parse(
            br#"{"message":"mail alice@uni.example from 10.1.2.3",
                "user":{"id":"4711","email":"alice@uni.example","ip_address":"10.1.2.3"},
                "exception":{"values":[{"type":"E","value":"card 4111 1111 1111 1111",
                  "stacktrace":{"frames":[{"function":"login","vars":{"password":"'hunter2'","course":"m101",
                    "db_url":"postgres://lms:s3cret@db/lms"}}]}}]},
                "request":{"url":"https://lms.example/login?token=abc","cookies":{"sessionid":"c00kie"},
                  "headers":{"Cookie":"sessionid=c00kie","Authorization":"Bearer xyz","Accept":"*/*"},
                  "env":{"REMOTE_ADDR":"192.168.1.9"}},
                "breadcrumbs":{"values":[{"message":"sent to bob@uni.example","data":{"api_key":"k1"}}]},
                "extra":{"secret":"s","note":"ok"},"contexts":{"app":{"auth_token":"t"}}}"#,
            None,
            0.0,
        )
        .unwrap();
        scrubber().scrub(&mut e);
        let text = String::from_utf8(e.to_json()).unwrap();
        for secret in [
            "alice", "bob@", "10.1.2.3", "4111", "hunter2", "s3cret", "c00kie", "xyz", "192.168", "\"k1\"",
            "abc", "4711",
        ] {
            assert!(!text.contains(secret), "{secret} left in {text}");
        }
        assert!(
            text.contains("m101") && text.contains("*/*") && text.contains("\"note\":\"ok\""),
            "{text}"
        );
        assert!(e.user_id().unwrap().starts_with("u_"));
    }

    #[test]
    fn the_user_token_is_the_logs_token() {
        let key = UserIdKey::from_secret(&Secret::new("k".repeat(20)));
        let hasher = UserIdHasher::new(&key);
        let mut e = Event::parse(br#"{"user":{"id":42}}"#, None, 0.0).unwrap();
        scrubber().scrub(&mut e);
        assert_eq!(e.user_id(), Some(hasher.token("42").as_str()));
    }

    #[test]
    fn disabled_scrubbing_still_tokenizes_users() {
        let s = EventScrubber::new(
            None,
            UserIdHasher::new(&UserIdKey::from_secret(&Secret::new("k".repeat(20)))),
        );
        let mut e = Event::parse(
            br#"{"message":"a@b.example","user":{"email":"a@b.example"}}"#,
            None,
            0.0,
        )
        .unwrap();
        s.scrub(&mut e);
        assert_eq!(e.message(), Some("a@b.example"));
        assert!(!serde_json::to_string(&e.body["user"]).unwrap().contains("a@b"));
        let _ = ScrubbersConfig::default();
    }
}
