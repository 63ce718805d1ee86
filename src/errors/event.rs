//! An error event as the SDKs send it, kept whole as JSON (every field we
//! do not use is stored as it came) and normalized where SDKs differ:
//! `event_id` as 32 lower-case hex digits, `timestamp` as seconds (SDKs
//! send numbers or RFC 3339 strings), `level` as one of Sentry's five,
//! `message` as `logentry`, `exception` as `{"values": […]}`, `tags` as an
//! object. Accessors read the fields grouping and issues use.
//!
//! The bulk of an event — the frames with their local variables and
//! source lines, breadcrumbs, modules — is read by no one at ingest, so it
//! stays JSON text ([`BULKY_FIELDS`]), scrubbed and stored without ever
//! becoming a `Value`; of the exception chain only what grouping reads is
//! parsed (types, values, modules and each frame's place).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::privacy::object_members;

use super::ErrorsError;

pub const LEVELS: &[&str] = &["fatal", "error", "warning", "info", "debug"];

/// Top-level fields kept as JSON text.
pub const BULKY_FIELDS: &[&str] = &[
    "exception",
    "breadcrumbs",
    "modules",
    "extra",
    "threads",
    "debug_meta",
    "spans",
    "stacktrace",
    "measurements",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Every top-level field but the bulky ones, parsed and normalized;
    /// `exception` here holds only what grouping reads.
    pub body: Map<String, Value>,
    /// The bulky fields' JSON text (scrubbed once `EventScrubber::scrub`
    /// ran), in the order they came.
    texts: Vec<(String, String)>,
}

/// One exception of the chain, as grouping reads it.
#[derive(Debug, Default)]
pub struct ExceptionView<'a> {
    pub ty: Option<&'a str>,
    pub value: Option<&'a str>,
    pub module: Option<&'a str>,
    pub frames: Vec<FrameView<'a>>,
}

/// One stack frame (oldest call first, as Sentry orders them).
#[derive(Debug, Default)]
pub struct FrameView<'a> {
    pub module: Option<&'a str>,
    pub function: Option<&'a str>,
    pub filename: Option<&'a str>,
    pub abs_path: Option<&'a str>,
    pub package: Option<&'a str>,
    pub lineno: Option<u64>,
    pub in_app: Option<bool>,
}

impl Event {
    /// Parses and normalizes an event. `fallback_id` is the envelope's
    /// `event_id`; `now` (seconds) stands in for a missing timestamp.
    pub fn parse(bytes: &[u8], fallback_id: Option<&str>, now: f64) -> Result<Event, ErrorsError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ErrorsError::BadEvent(format!("the event is not UTF-8: {e}")))?;
        let members = object_members(text).map_err(|e| match e.offset == 0 {
            true if !text.trim_start().starts_with('{') => {
                ErrorsError::BadEvent("the event is not a JSON object".into())
            }
            _ => ErrorsError::BadEvent(e.to_string()),
        })?;
        let mut event = Event {
            body: Map::new(),
            texts: Vec::new(),
        };
        for (key, raw) in members {
            if BULKY_FIELDS.contains(&key.as_ref()) {
                event.texts.retain(|(k, _)| *k != key);
                event.texts.push((key.into_owned(), raw.to_string()));
                continue;
            }
            let value = serde_json::from_str(raw).map_err(|e| ErrorsError::BadEvent(e.to_string()))?;
            event.body.insert(key.into_owned(), value);
        }
        event.normalize(fallback_id, now);
        Ok(event)
    }

    /// The bulky fields' JSON text, to scrub in place.
    pub(super) fn texts_mut(&mut self) -> impl Iterator<Item = (&str, &mut String)> {
        self.texts.iter_mut().map(|(k, t)| (k.as_str(), t))
    }

    /// The whole event as JSON, as it is stored.
    pub fn to_json(&self) -> Vec<u8> {
        let bulk: usize = self.texts.iter().map(|(k, t)| k.len() + t.len() + 4).sum();
        let mut out = Vec::with_capacity(bulk + 2048);
        out.push(b'{');
        for (key, value) in &self.body {
            if key == "exception" && self.text("exception").is_some() {
                continue;
            }
            serde_json::to_writer(&mut out, key).expect("writing to a Vec");
            out.push(b':');
            serde_json::to_writer(&mut out, value).expect("writing to a Vec");
            out.push(b',');
        }
        for (key, text) in &self.texts {
            serde_json::to_writer(&mut out, key).expect("writing to a Vec");
            out.push(b':');
            out.extend_from_slice(text.as_bytes());
            out.push(b',');
        }
        if out.last() == Some(&b',') {
            out.pop();
        }
        out.push(b'}');
        out
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.texts.iter().find(|(k, _)| k == key).map(|(_, t)| t.as_str())
    }

    /// `exception` as `{"values": […]}` in its text, and what grouping
    /// reads of it in `body`.
    fn normalize_exception(&mut self) {
        let Some(i) = self.texts.iter().position(|(k, _)| k == "exception") else {
            return;
        };
        let text = &mut self.texts[i].1;
        if text.trim_start().starts_with('[') {
            *text = format!("{{\"values\":{text}}}");
        }
        let chain = match serde_json::from_str::<ChainIn>(text) {
            Ok(chain) => chain.into_value(),
            // A shape of its own: parsed whole, read as before.
            Err(_) => serde_json::from_str(text).unwrap_or(Value::Null),
        };
        self.body.insert("exception".into(), chain);
    }

    fn normalize(&mut self, fallback_id: Option<&str>, now: f64) {
        let b = &mut self.body;
        let id = [b.get("event_id").and_then(Value::as_str), fallback_id]
            .into_iter()
            .flatten()
            .find_map(normalize_id)
            .unwrap_or_else(random_id);
        b.insert("event_id".into(), Value::String(id));
        let ts = b.get("timestamp").and_then(timestamp_secs).unwrap_or(now);
        b.insert("timestamp".into(), Value::from(ts));
        let level = b
            .get("level")
            .and_then(Value::as_str)
            .map(|l| match l.to_ascii_lowercase().as_str() {
                "warn" => "warning".to_string(),
                "critical" => "fatal".to_string(),
                "log" => "info".to_string(),
                l if LEVELS.contains(&l) => l.to_string(),
                _ => "error".to_string(),
            })
            .unwrap_or_else(|| "error".to_string());
        b.insert("level".into(), Value::String(level));
        match b.remove("message") {
            Some(Value::String(s)) if !b.contains_key("logentry") => {
                b.insert("logentry".into(), serde_json::json!({ "formatted": s }));
            }
            Some(m @ Value::Object(_)) if !b.contains_key("logentry") => {
                b.insert("logentry".into(), m);
            }
            Some(Value::String(s)) => {
                // Both given: Sentry keeps logentry and the message as text.
                b.insert("message".into(), Value::String(s));
            }
            _ => {}
        }
        if let Some(Value::Array(pairs)) = b.get("tags") {
            let mut tags = Map::new();
            for pair in pairs {
                if let Some([k, v]) = pair.as_array().map(Vec::as_slice)
                    && let Some(k) = k.as_str()
                {
                    tags.insert(k.to_string(), Value::String(text(v)));
                }
            }
            b.insert("tags".into(), Value::Object(tags));
        }
        self.normalize_exception();
    }

    pub fn event_id(&self) -> &str {
        self.str("event_id").unwrap_or_default()
    }

    pub fn timestamp(&self) -> f64 {
        self.body.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0)
    }

    pub fn level(&self) -> &str {
        self.str("level").unwrap_or("error")
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.body
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn release(&self) -> Option<&str> {
        self.str("release")
    }

    pub fn environment(&self) -> Option<&str> {
        self.str("environment")
    }

    pub fn transaction(&self) -> Option<&str> {
        self.str("transaction")
    }

    /// The formatted log message, else its template.
    pub fn message(&self) -> Option<&str> {
        let entry = self.body.get("logentry");
        entry
            .and_then(|e| e.get("formatted"))
            .and_then(Value::as_str)
            .or_else(|| entry.and_then(|e| e.get("message")).and_then(Value::as_str))
            .or_else(|| self.str("message"))
            .filter(|s| !s.is_empty())
    }

    pub fn tag(&self, name: &str) -> Option<&str> {
        self.body.get("tags")?.get(name)?.as_str()
    }

    /// The user's id as the SDK sent it (after scrubbing: its token).
    pub fn user_id(&self) -> Option<&str> {
        self.body.get("user")?.get("id")?.as_str()
    }

    /// The event's own fingerprint, when it sent one.
    pub fn fingerprint(&self) -> Option<Vec<String>> {
        let parts: Vec<String> = self
            .body
            .get("fingerprint")?
            .as_array()?
            .iter()
            .map(text)
            .collect();
        (!parts.is_empty()).then_some(parts)
    }

    /// The exception chain, oldest first (the last one is what was raised).
    pub fn exceptions(&self) -> Vec<ExceptionView<'_>> {
        let Some(values) = self
            .body
            .get("exception")
            .and_then(|e| e.get("values"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        values
            .iter()
            .filter_map(Value::as_object)
            .map(|e| ExceptionView {
                ty: e.get("type").and_then(Value::as_str),
                value: e.get("value").and_then(Value::as_str),
                module: e.get("module").and_then(Value::as_str),
                frames: e
                    .get("stacktrace")
                    .and_then(|s| s.get("frames"))
                    .and_then(Value::as_array)
                    .map(|frames| frames.iter().filter_map(Value::as_object).map(frame).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// What grouping reads of `exception`; serde skips the rest (local
/// variables, source lines) without building it.
#[derive(Deserialize)]
struct ChainIn {
    values: Option<Vec<ExceptionIn>>,
}

#[derive(Deserialize)]
struct ExceptionIn {
    #[serde(rename = "type")]
    ty: Option<Value>,
    value: Option<Value>,
    module: Option<Value>,
    stacktrace: Option<StacktraceIn>,
}

#[derive(Deserialize)]
struct StacktraceIn {
    frames: Option<Vec<FrameIn>>,
}

#[derive(Deserialize)]
struct FrameIn {
    module: Option<Value>,
    function: Option<Value>,
    filename: Option<Value>,
    abs_path: Option<Value>,
    package: Option<Value>,
    lineno: Option<Value>,
    in_app: Option<Value>,
}

/// The fields that were sent, as an object.
fn object<const N: usize>(fields: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?)))
            .collect(),
    )
}

impl ChainIn {
    fn into_value(self) -> Value {
        let values = self.values.unwrap_or_default().into_iter().map(|e| {
            let frames = e.stacktrace.and_then(|s| s.frames).map(|frames| {
                let frames = frames.into_iter().map(|f| {
                    object([
                        ("module", f.module),
                        ("function", f.function),
                        ("filename", f.filename),
                        ("abs_path", f.abs_path),
                        ("package", f.package),
                        ("lineno", f.lineno),
                        ("in_app", f.in_app),
                    ])
                });
                object([("frames", Some(Value::Array(frames.collect())))])
            });
            object([
                ("type", e.ty),
                ("value", e.value),
                ("module", e.module),
                ("stacktrace", frames),
            ])
        });
        object([("values", Some(Value::Array(values.collect())))])
    }
}

fn frame(f: &Map<String, Value>) -> FrameView<'_> {
    let s = |k: &str| f.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    FrameView {
        module: s("module"),
        function: s("function"),
        filename: s("filename"),
        abs_path: s("abs_path"),
        package: s("package"),
        lineno: f.get("lineno").and_then(Value::as_u64),
        in_app: f.get("in_app").and_then(Value::as_bool),
    }
}

/// A string as is, anything else as its JSON text.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// 32 lower-case hex digits, from a UUID with or without dashes.
pub(super) fn normalize_id(id: &str) -> Option<String> {
    let hex: String = id
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

fn random_id() -> String {
    let b: [u8; 16] = rand::random();
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the epoch from a number or an RFC 3339 string.
pub(super) fn timestamp_secs(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|t| t.is_finite() && *t >= 0.0),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = s.parse::<f64>() {
                return Some(t).filter(|t| t.is_finite() && *t >= 0.0);
            }
            // SDKs write RFC 3339 with or without the zone (then UTC).
            let parsed = chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_micros())
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        .map(|d| d.and_utc().timestamp_micros())
                });
            parsed.ok().map(|us| us as f64 / 1e6)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_what_sdks_send_differently() {
        let e = Event::parse(
            br#"{"event_id":"9EC79C33-EC99-42AB-8353-589FCB2E04DC","timestamp":"2024-01-02T03:04:05.5Z",
                "level":"warn","message":"hello","exception":[{"type":"ValueError","value":"bad"}],
                "tags":[["course","m101"],["n",3]],"extra":{"kept":true}}"#,
            None,
            1.0,
        )
        .unwrap();
        assert_eq!(e.event_id(), "9ec79c33ec9942ab8353589fcb2e04dc");
        assert_eq!(e.timestamp(), 1_704_164_645.5);
        assert_eq!(e.level(), "warning");
        assert_eq!(e.message(), Some("hello"));
        assert_eq!(e.exceptions()[0].ty, Some("ValueError"));
        assert_eq!(e.tag("course"), Some("m101"));
        assert_eq!(e.tag("n"), Some("3"));
        let stored: Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(stored["extra"]["kept"], true);
        assert_eq!(stored["exception"]["values"][0]["value"], "bad");
    }

    #[test]
    fn defaults_and_fallbacks() {
        let e = Event::parse(
            b"{\"timestamp\": 1700000000.25}",
            Some("0123456789abcdef0123456789abcdef"),
            5.0,
        )
        .unwrap();
        assert_eq!(e.event_id(), "0123456789abcdef0123456789abcdef");
        assert_eq!(e.timestamp(), 1_700_000_000.25);
        assert_eq!(e.level(), "error");
        let e = Event::parse(
            b"{\"event_id\":\"short\",\"timestamp\":\"2024-01-02T03:04:05\"}",
            None,
            5.0,
        )
        .unwrap();
        assert_eq!(e.event_id().len(), 32);
        assert_eq!(e.timestamp(), 1_704_164_645.0);
        assert!(matches!(
            Event::parse(b"[1]", None, 0.0),
            Err(ErrorsError::BadEvent(_))
        ));
        assert!(matches!(
            Event::parse(b"{", None, 0.0),
            Err(ErrorsError::BadEvent(_))
        ));
    }

    #[test]
    fn frames_and_fingerprint() {
        let e = Event::parse(
            br#"{"fingerprint":["{{ default }}","x",1],"exception":{"values":[{"type":"E","stacktrace":{"frames":[
                {"module":"lms.views","function":"grade","lineno":12,"in_app":true},{"function":"f"}]}}]}}"#,
            None,
            0.0,
        )
        .unwrap();
        assert_eq!(e.fingerprint().unwrap(), vec!["{{ default }}", "x", "1"]);
        let ex = e.exceptions();
        assert_eq!(ex[0].frames.len(), 2);
        assert_eq!(ex[0].frames[0].module, Some("lms.views"));
        assert_eq!(ex[0].frames[0].in_app, Some(true));
        assert_eq!(ex[0].frames[1].in_app, None);
    }
}
