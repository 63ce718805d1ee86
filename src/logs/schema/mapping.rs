//! `Entry → LogRecord`: the one place where what a sender said becomes
//! Belfry's record. A line that is a JSON object is read for fields; the
//! guide's fields are taken from the first alias present (and removed
//! from the rest, so nothing is stored twice); levels are normalized; long
//! texts are cut with a marker; the user id and error text pass through
//! privacy before anything is stored.

use serde_json::{Map, Value};

use super::aliases;
use super::values::{duration_seconds, status_code, timestamp_ns};
use super::{Level, LogRecord};
use crate::logs::Entry;
use crate::privacy::{Privacy, names_a_user_id};

/// What the mapping needs from outside.
#[derive(Debug, Clone, Copy)]
pub struct MappingOptions<'a> {
    /// Texts (message, error) longer than this are cut.
    pub max_line_bytes: usize,
    /// Used when neither the protocol nor a field gave a timestamp.
    pub now_ns: i64,
    /// Tokens for user ids and the scrubbers; `None` stores as received
    /// (tests of the mapping's other parts).
    pub privacy: Option<&'a Privacy>,
}

/// What happened while mapping, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct MappingNotes {
    /// Message or error text was cut to `max_line_bytes`.
    pub truncated: bool,
}

/// Appended to a cut text so a reader knows it was cut.
pub const TRUNCATION_MARKER: &str = "…[truncated]";

pub fn map_entry(entry: Entry, opts: &MappingOptions<'_>) -> (LogRecord, MappingNotes) {
    let Entry {
        timestamp_ns: sent_ts,
        mut labels,
        line,
        level: hint,
        mut fields,
    } = entry;
    let mut notes = MappingNotes::default();

    // A line that is itself a JSON object (structlog, python-json-logger,
    // zap, pino, Docker's json-file `log`) carries the fields; what the
    // protocol attached wins a name clash, being the sender's own frame.
    let mut line_was_json = false;
    let trimmed = line.trim();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(parsed)) = serde_json::from_str::<Value>(trimmed)
    {
        line_was_json = true;
        for (k, v) in parsed {
            fields.entry(k).or_insert(v);
        }
    }
    // Most aliases are absent from any one record: the filter answers
    // most of those lookups without searching the map.
    let keys = KeyFilter::of(&fields);
    let message = match take_text(&mut fields, &keys, aliases::MESSAGE) {
        Some(m) => m,
        None if line_was_json => String::new(),
        None => line,
    };

    let timestamp_ns = sent_ts
        .or_else(|| take_parsed(&mut fields, &keys, aliases::TIMESTAMP, timestamp_ns))
        .unwrap_or(opts.now_ns);
    let level = hint
        .as_ref()
        .and_then(Level::from_hint)
        .or_else(|| take_parsed(&mut fields, &keys, aliases::LEVEL, level_value))
        // A stream labelled `level="error"` (Promtail, python-logging-loki's
        // `severity`) selects as `{level="error"}` in LogQL, as in Loki.
        .or_else(|| {
            aliases::LEVEL.iter().find_map(|name| {
                labels
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| Level::from_word(v))
            })
        })
        .unwrap_or(Level::Info);
    let service = take_text(&mut fields, &keys, aliases::SERVICE)
        .or_else(|| {
            aliases::SERVICE_LABELS.iter().find_map(|name| {
                labels
                    .iter()
                    .find(|(k, v)| k == name && !v.is_empty())
                    .map(|(_, v)| v.clone())
            })
        })
        .unwrap_or_default();
    let request_id = take_text(&mut fields, &keys, aliases::REQUEST_ID);
    let user = take_text(&mut fields, &keys, aliases::USER_ID);
    let path = take_text(&mut fields, &keys, aliases::PATH);
    let status = take_parsed(&mut fields, &keys, aliases::STATUS, status_code);
    let duration = aliases::DURATION
        .iter()
        .filter(|(name, _)| keys.may_hold(name))
        .find_map(|(name, unit)| take_if(&mut fields, name, |v| duration_seconds(v, *unit)));
    let error = take_error(&mut fields, &keys);

    labels.sort();
    labels.dedup_by(|a, b| a.0 == b.0);

    let mut record = LogRecord {
        timestamp_ns,
        level,
        service,
        request_id,
        user,
        path,
        status,
        duration,
        message,
        error,
        labels,
        fields,
    };

    // ── privacy ─────────────────────────────────────────────────────────
    // The one place the raw user id and the free texts pass before being
    // stored: the user id becomes its keyed token, and the scrubbers run
    // over the message, the error details, the stream labels and every
    // other field.
    // ────────────────────────────────────────────────────────────────────
    if let Some(privacy) = opts.privacy {
        if let Some(user) = &mut record.user {
            *user = privacy.hasher.token(user);
        }
        // A user id can also arrive where the aliases above do not look:
        // as a stream label, or under a prefix (a syslog structured-data
        // param `req@32473.user_id`, a nested object). Each becomes a
        // token too, so no raw id reaches the disk by a side door.
        for (name, v) in record.labels.iter_mut() {
            if names_a_user_id(name) {
                *v = privacy.hasher.token(v);
            }
        }
        tokenize_user_ids(&mut record.fields, &|raw| privacy.hasher.token(raw));
        // Free text may name a user too (`user_id=42` in a message or a
        // traceback): the pair's value gets the same token.
        privacy.clean_text(&mut record.message);
        if let Some(e) = &mut record.error {
            privacy.clean_text(e);
        }
        for (_, v) in record.labels.iter_mut() {
            privacy.clean_text(v);
        }
        privacy.clean_map(&mut record.fields);
    }

    notes.truncated |= truncate(&mut record.message, opts.max_line_bytes);
    if let Some(e) = &mut record.error {
        notes.truncated |= truncate(e, opts.max_line_bytes);
    }
    (record, notes)
}

/// Replaces every string or number under a user-id name, at any depth,
/// by its token.
fn tokenize_user_ids(fields: &mut Map<String, Value>, token: &dyn Fn(&str) -> String) {
    for (name, v) in fields.iter_mut() {
        if names_a_user_id(name) {
            match v {
                Value::String(raw) => *raw = token(raw),
                Value::Number(n) => *v = Value::String(token(&n.to_string())),
                Value::Object(inner) => tokenize_user_ids(inner, token),
                _ => {}
            }
            continue;
        }
        match v {
            Value::Object(inner) => tokenize_user_ids(inner, token),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        tokenize_user_ids(inner, token);
                    }
                }
            }
            _ => {}
        }
    }
}

fn level_value(v: &Value) -> Option<Level> {
    match v {
        Value::String(s) => Level::from_word(s),
        Value::Number(n) => n.as_i64().and_then(Level::from_number),
        _ => None,
    }
}

/// Cuts `text` to at most `limit` bytes including the marker, on a
/// character boundary. Returns whether it cut.
pub fn truncate(text: &mut String, limit: usize) -> bool {
    if text.len() <= limit {
        return false;
    }
    let mut keep = limit.saturating_sub(TRUNCATION_MARKER.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    text.truncate(keep);
    text.push_str(TRUNCATION_MARKER);
    true
}

/// The first alias holding a scalar, as text; removed from `fields`.
fn take_text(fields: &mut Map<String, Value>, keys: &KeyFilter, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter(|name| keys.may_hold(name))
        .find_map(|name| take_owned(fields, name, scalar_text))
}

/// Moves the string out, where [`take_if`] would copy it.
fn scalar_text(v: Value) -> Result<String, Value> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(other),
    }
}

fn take_parsed<T>(
    fields: &mut Map<String, Value>,
    keys: &KeyFilter,
    names: &[&str],
    parse: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    names
        .iter()
        .filter(|name| keys.may_hold(name))
        .find_map(|name| take_if(fields, name, &parse))
}

/// Error details may be a string, or an object or array (a structured
/// exception), which is kept as its JSON text.
fn take_error(fields: &mut Map<String, Value>, keys: &KeyFilter) -> Option<String> {
    aliases::ERROR
        .iter()
        .filter(|name| keys.may_hold(name))
        .find_map(|name| {
            take_owned(fields, name, |v| match v {
                Value::Null | Value::Bool(false) => Err(v),
                Value::String(s) if s.is_empty() => Err(Value::String(s)),
                Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            })
        })
}

/// A 64-bit summary of the top-level keys of a record's fields: a name
/// whose bit is clear is not a key, so its lookup can be skipped. A
/// dotted alias (`service.name`) may also be found through its first part
/// (`{"service": {"name": …}}`), so either part's bit lets it through.
/// Removing keys leaves their bits set, which only costs a lookup.
struct KeyFilter(u64);

impl KeyFilter {
    fn of(fields: &Map<String, Value>) -> KeyFilter {
        KeyFilter(fields.keys().fold(0, |bits, k| bits | key_bit(k)))
    }

    fn may_hold(&self, name: &str) -> bool {
        let hit = |n: &str| self.0 & key_bit(n) != 0;
        hit(name) || name.split_once('.').is_some_and(|(head, _)| hit(head))
    }
}

/// One of 64 bits, from a key's length and its first and last bytes
/// (the aliases of one field mostly differ in those).
fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let (first, last) = (b.first().copied().unwrap_or(0), b.last().copied().unwrap_or(0));
    let h = (b.len() as u32).wrapping_mul(0x9e37_79b1)
        ^ u32::from(first).wrapping_mul(0x85eb_ca6b)
        ^ u32::from(last).wrapping_mul(0xc2b2_ae35);
    1 << (h.wrapping_mul(0x27d4_eb2f) >> 26)
}

/// [`take_if`] for a conversion that consumes the value: `convert` gives
/// the value back when it refuses it, and it is put back in its place.
fn take_owned<T>(
    fields: &mut Map<String, Value>,
    name: &str,
    convert: impl Fn(Value) -> Result<T, Value>,
) -> Option<T> {
    if let Some(v) = fields.get_mut(name) {
        return match convert(std::mem::take(v)) {
            Ok(t) => {
                fields.remove(name);
                Some(t)
            }
            Err(back) => {
                *v = back;
                None
            }
        };
    }
    let (head, rest) = name.split_once('.')?;
    let Some(Value::Object(inner)) = fields.get_mut(head) else {
        return None;
    };
    let taken = take_owned(inner, rest, convert)?;
    if inner.is_empty() {
        fields.remove(head);
    }
    Some(taken)
}

/// Removes the value at `name` (a literal key, or a dotted path through
/// nested objects) when `parse` accepts it; a value it refuses stays in
/// place as an ordinary field.
fn take_if<T>(fields: &mut Map<String, Value>, name: &str, parse: impl Fn(&Value) -> Option<T>) -> Option<T> {
    if let Some(v) = fields.get(name) {
        let parsed = parse(v)?;
        fields.remove(name);
        return Some(parsed);
    }
    let (head, rest) = name.split_once('.')?;
    let Some(Value::Object(inner)) = fields.get_mut(head) else {
        return None;
    };
    let parsed = take_if(inner, rest, parse)?;
    if inner.is_empty() {
        fields.remove(head);
    }
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LevelHint;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn opts() -> MappingOptions<'static> {
        MappingOptions {
            max_line_bytes: 1024,
            now_ns: NOW,
            privacy: None,
        }
    }

    fn default_privacy(dir: &std::path::Path) -> Privacy {
        Privacy::open(
            &crate::config::PrivacyConfig::default(),
            dir,
            crate::selfmetrics::Registry::new(),
        )
        .unwrap()
    }

    fn line(text: &str) -> Entry {
        Entry {
            line: text.to_string(),
            ..Entry::default()
        }
    }

    #[test]
    fn user_ids_become_tokens_and_secrets_are_scrubbed_before_storing() {
        let dir = tempfile::tempdir().unwrap();
        let privacy = default_privacy(dir.path());
        let mut fields = Map::new();
        fields.insert("user_id".into(), Value::from("student-4711"));
        fields.insert("error".into(), Value::from("login failed for ada@example.org"));
        fields.insert("password".into(), Value::from("hunter2"));
        let entry = Entry {
            timestamp_ns: Some(NOW),
            labels: vec![("service".into(), "api".into())],
            line: "token Bearer abcdefghijklmnop1234 refused".into(),
            level: None,
            fields,
        };
        let o = MappingOptions {
            privacy: Some(&privacy),
            ..opts()
        };
        let (record, _) = map_entry(entry, &o);
        let stored = serde_json::to_string(&(
            &record.user,
            &record.message,
            &record.error,
            &record.fields,
            &record.labels,
        ))
        .unwrap();
        for raw in [
            "student-4711",
            "ada@example.org",
            "hunter2",
            "abcdefghijklmnop1234",
        ] {
            assert!(!stored.contains(raw), "{raw} stored: {stored}");
        }
        assert_eq!(record.user, Some(privacy.hasher.token("student-4711")));
    }

    #[test]
    fn user_ids_under_prefixes_labels_and_nesting_become_tokens_too() {
        let dir = tempfile::tempdir().unwrap();
        let privacy = default_privacy(dir.path());
        let fields = json!({
            "req@32473.user_id": "student-1",
            "ctx": {"userId": 4242, "course": "c-9"},
            "actors": [{"username": "student-3"}],
        });
        let entry = Entry {
            timestamp_ns: Some(NOW),
            labels: vec![
                ("service".into(), "api".into()),
                ("user_id".into(), "student-2".into()),
            ],
            line: "login".into(),
            level: None,
            fields: fields.as_object().unwrap().clone(),
        };
        let o = MappingOptions {
            privacy: Some(&privacy),
            ..opts()
        };
        let (record, _) = map_entry(entry, &o);
        let stored = serde_json::to_string(&(&record.fields, &record.labels)).unwrap();
        for raw in ["student-1", "student-2", "student-3", "4242"] {
            assert!(!stored.contains(raw), "{raw} stored: {stored}");
        }
        assert_eq!(
            record.fields["req@32473.user_id"],
            json!(privacy.hasher.token("student-1"))
        );
        assert_eq!(
            record.fields["ctx"]["userId"],
            json!(privacy.hasher.token("4242"))
        );
        // Other fields beside them are kept as sent.
        assert_eq!(record.fields["ctx"]["course"], json!("c-9"));
    }

    #[test]
    fn user_ids_written_in_free_text_get_the_fields_token() {
        let dir = tempfile::tempdir().unwrap();
        let privacy = default_privacy(dir.path());
        let fields = json!({
            "user_id": "student-5",
            "exc_info": "KeyError: {'username': 'student-6'}",
        });
        let mut entry = line(r#"login failed user_id=student-5 after "userId": "student-7""#);
        entry.fields = fields.as_object().unwrap().clone();
        let (record, _) = map_entry(
            entry,
            &MappingOptions {
                privacy: Some(&privacy),
                ..opts()
            },
        );
        let token = privacy.hasher.token("student-5");
        assert_eq!(record.user.as_deref(), Some(token.as_str()));
        assert_eq!(
            record.message,
            format!(
                r#"login failed user_id={token} after "userId": "{}""#,
                privacy.hasher.token("student-7")
            )
        );
        let stored = serde_json::to_string(&(&record.message, &record.error, &record.fields)).unwrap();
        for raw in ["student-5", "student-6", "student-7"] {
            assert!(!stored.contains(raw), "{raw} stored: {stored}");
        }
    }

    #[test]
    fn a_json_line_is_read_for_the_guides_fields() {
        let (r, notes) = map_entry(
            line(
                r#"{"@timestamp":"2023-11-14T22:13:20Z","levelname":"ERROR","service":{"name":"api"},
                "requestId":"r-1","user_id":"u42","url":{"path":"/courses/7"},"http":{"status_code":503},
                "duration_ms":250,"msg":"upstream failed","exc_info":"Traceback ...","course":7}"#,
            ),
            &opts(),
        );
        assert_eq!(r.timestamp_ns, NOW);
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.service, "api");
        assert_eq!(r.request_id.as_deref(), Some("r-1"));
        assert_eq!(r.user.as_deref(), Some("u42"));
        assert_eq!(r.path.as_deref(), Some("/courses/7"));
        assert_eq!(r.status, Some(503));
        assert_eq!(r.duration, Some(0.25));
        assert_eq!(r.message, "upstream failed");
        assert_eq!(r.error.as_deref(), Some("Traceback ..."));
        // Taken fields are gone (and emptied parents with them); the rest stays.
        assert_eq!(Value::Object(r.fields), json!({"course": 7}));
        assert!(!notes.truncated);
    }

    #[test]
    fn a_stream_level_label_is_the_level_when_nothing_else_says() {
        let mut e = line("login failed");
        e.labels = vec![
            ("service".into(), "auth".into()),
            ("severity".into(), "warning".into()),
        ];
        assert_eq!(map_entry(e.clone(), &opts()).0.level, Level::Warning);
        e.fields.insert("level".into(), json!("error"));
        assert_eq!(
            map_entry(e.clone(), &opts()).0.level,
            Level::Error,
            "the record's own level wins"
        );
        e.fields.clear();
        e.labels[1].1 = "not-a-level".into();
        assert_eq!(map_entry(e, &opts()).0.level, Level::Info);
    }

    #[test]
    fn a_plain_line_is_the_message_and_the_protocol_hint_wins() {
        let mut e = line("disk almost full");
        e.level = Some(LevelHint::Syslog(4));
        e.labels = vec![("job".into(), "node".into()), ("app".into(), "lms".into())];
        e.fields.insert("level".into(), json!("debug"));
        let (r, _) = map_entry(e, &opts());
        assert_eq!(r.message, "disk almost full");
        assert_eq!(r.level, Level::Warning);
        assert_eq!(r.service, "lms", "labels name the service in alias order");
        assert_eq!(r.timestamp_ns, NOW);
        assert_eq!(r.labels[0].0, "app", "labels are sorted");
        assert_eq!(r.fields.get("level"), Some(&json!("debug")));
    }

    #[test]
    fn values_an_alias_cannot_hold_stay_as_fields() {
        let (r, _) = map_entry(
            line(r#"{"status":"active","level":"loud","message":"x"}"#),
            &opts(),
        );
        assert_eq!(r.status, None);
        assert_eq!(r.level, Level::Info);
        assert_eq!(r.fields.get("status"), Some(&json!("active")));
        assert_eq!(r.fields.get("level"), Some(&json!("loud")));
    }

    #[test]
    fn long_texts_are_cut_with_a_marker() {
        let mut o = opts();
        o.max_line_bytes = 300;
        let (r, notes) = map_entry(line(&"é".repeat(400)), &o);
        assert!(notes.truncated);
        assert!(r.message.len() <= 300);
        assert!(r.message.ends_with(TRUNCATION_MARKER));
    }

    #[test]
    fn the_key_filter_lets_every_present_key_through() {
        let v = json!({"message": "m", "service": {"name": "api"}, "http.status_code": 200, "x": 1});
        let keys = KeyFilter::of(v.as_object().unwrap());
        for name in ["message", "service", "service.name", "http.status_code", "x"] {
            assert!(keys.may_hold(name), "{name}");
        }
        let none = KeyFilter::of(&Map::new());
        assert!(!none.may_hold("message") && !none.may_hold("service.name"));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            ".{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop::collection::btree_map(
                prop_oneof![
                    Just("level".to_string()),
                    Just("msg".to_string()),
                    Just("ts".to_string()),
                    Just("status".to_string()),
                    Just("service".to_string()),
                    Just("user".to_string()),
                    Just("error".to_string()),
                    Just("duration".to_string()),
                    "[a-z.]{1,8}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    proptest! {
        #[test]
        fn any_json_object_maps_within_limits(v in arb_json(), limit in 256usize..2048) {
            let text = v.to_string();
            let o = MappingOptions { max_line_bytes: limit, now_ns: NOW, privacy: None };
            let (r, _) = map_entry(line(&text), &o);
            prop_assert!(r.message.len() <= limit);
            prop_assert!(r.error.as_ref().is_none_or(|e| e.len() <= limit));
            prop_assert!(r.status.is_none_or(|s| (100..=599).contains(&s)));
            prop_assert!(r.duration.is_none_or(|d| d >= 0.0 && d.is_finite()));
        }

        #[test]
        fn a_plain_line_under_the_limit_is_kept_whole(text in "[^{][^\n]{0,200}") {
            let (r, notes) = map_entry(line(&text), &opts());
            prop_assert_eq!(r.message, text);
            prop_assert!(!notes.truncated);
        }

        #[test]
        fn every_timestamp_alias_is_read(i in 0usize..aliases::TIMESTAMP.len(), secs in 1_000_000_000i64..4_000_000_000) {
            let name = aliases::TIMESTAMP[i];
            let (r, _) = map_entry(line(&json!({name: secs, "msg": "m"}).to_string()), &opts());
            prop_assert_eq!(r.timestamp_ns, secs * 1_000_000_000);
            prop_assert!(r.fields.is_empty());
        }

        #[test]
        fn every_status_alias_is_read(i in 0usize..aliases::STATUS.len(), code in 100u16..600) {
            let mut fields = Map::new();
            fields.insert(aliases::STATUS[i].to_string(), json!(code));
            let e = Entry { line: "x".into(), fields, ..Entry::default() };
            let (r, _) = map_entry(e, &opts());
            prop_assert_eq!(r.status, Some(code));
        }
    }
}
