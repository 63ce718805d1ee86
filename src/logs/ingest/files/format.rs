//! A record read from a file, in its `format`, as the [`Entry`] the
//! schema maps: JSON lines and Docker's JSON `log` are left for the
//! schema to read as JSON; logfmt pairs become fields; plain text gets
//! the level its first line names.

use serde_json::Value;

use super::line::FileLine;
use super::logfmt::parse_logfmt;
use super::plain::detect_level;
use crate::config::FileFormat;
use crate::logs::schema::aliases;
use crate::logs::{Entry, LevelHint};

/// `labels` are the entry's static labels plus `filename`.
pub fn to_entry(format: FileFormat, record: FileLine, labels: &[(String, String)]) -> Entry {
    let mut entry = Entry {
        labels: labels.to_vec(),
        ..Entry::default()
    };
    if let Some(stream) = record.stream {
        entry.labels.push(("stream".into(), stream));
    }
    let is_json = record.text.trim_start().starts_with('{');
    match format {
        FileFormat::Json => {
            if !is_json {
                entry.level = plain_level(&record.text);
            }
            entry.line = record.text;
        }
        FileFormat::Logfmt => logfmt_entry(&mut entry, record.text),
        FileFormat::Plain => {
            entry.level = plain_level(&record.text);
            entry.line = record.text;
        }
        FileFormat::Docker => {
            // The application's own time, when its JSON has one, is nearer
            // the event than the time Docker read the line.
            let own_time = is_json && json_has_time(&record.text);
            if !own_time {
                entry.timestamp_ns = record.time_ns;
            }
            if !is_json {
                entry.level = plain_level(&record.text);
            }
            entry.line = record.text;
        }
    }
    entry
}

fn plain_level(text: &str) -> Option<LevelHint> {
    let first = text.lines().next().unwrap_or("");
    detect_level(first).map(|w| LevelHint::Text(w.to_string()))
}

fn json_has_time(text: &str) -> bool {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => aliases::TIMESTAMP.iter().any(|k| m.contains_key(*k)),
        _ => false,
    }
}

/// Pairs of the first line become fields; continuation lines (a joined
/// traceback) extend the message.
fn logfmt_entry(entry: &mut Entry, text: String) {
    let (first, rest) = match text.split_once('\n') {
        Some((first, rest)) => (first, Some(rest)),
        None => (text.as_str(), None),
    };
    let mut fields = parse_logfmt(first);
    let message_key = ["msg", "message"].into_iter().find(|k| fields.contains_key(*k));
    match (message_key, rest) {
        (Some(key), Some(rest)) => {
            if let Some(Value::String(m)) = fields.get_mut(key) {
                m.push('\n');
                m.push_str(rest);
            }
        }
        (None, _) if fields.is_empty() => entry.level = plain_level(first),
        _ => {}
    }
    entry.fields = fields;
    entry.line = text;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Level;
    use crate::logs::schema::{MappingOptions, map_entry};

    fn map(format: FileFormat, text: &str, time_ns: Option<i64>) -> crate::logs::LogRecord {
        let record = FileLine {
            text: text.into(),
            time_ns,
            stream: (format == FileFormat::Docker).then(|| "stdout".to_string()),
            ..FileLine::default()
        };
        let labels = vec![
            ("service".to_string(), "lms-api".to_string()),
            ("filename".into(), "/x.log".into()),
        ];
        let opts = MappingOptions {
            max_line_bytes: 1 << 20,
            now_ns: 7,
            privacy: None,
        };
        map_entry(to_entry(format, record, &labels), &opts).0
    }

    #[test]
    fn json_lines_are_read_by_the_schema() {
        let r = map(
            FileFormat::Json,
            r#"{"ts": 1700000000, "level": "warning", "msg": "slow", "course": 7}"#,
            None,
        );
        assert_eq!(r.level, Level::Warning);
        assert_eq!(r.message, "slow");
        assert_eq!(r.timestamp_ns, 1_700_000_000_000_000_000);
        assert_eq!(r.service, "lms-api");
        assert_eq!(r.fields["course"], 7);
        assert!(r.labels.contains(&("filename".into(), "/x.log".into())));
        let r = map(FileFormat::Json, "ERROR not json after all", None);
        assert_eq!(
            (r.level, r.message.as_str(), r.timestamp_ns),
            (Level::Error, "ERROR not json after all", 7)
        );
    }

    #[test]
    fn logfmt_pairs_are_fields() {
        let r = map(
            FileFormat::Logfmt,
            "level=error msg=\"export failed\" request_id=r-1 course=CS101",
            None,
        );
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.message, "export failed");
        assert_eq!(r.request_id.as_deref(), Some("r-1"));
        assert_eq!(r.fields["course"], "CS101");
        let r = map(
            FileFormat::Logfmt,
            "level=error msg=boom\nTraceback (most recent call last):\n  x",
            None,
        );
        assert_eq!(r.message, "boom\nTraceback (most recent call last):\n  x");
    }

    #[test]
    fn plain_lines_keep_their_text_and_level_word() {
        let r = map(
            FileFormat::Plain,
            "2026-12-06 10:00:00 CRITICAL db down\nmore",
            None,
        );
        assert_eq!(r.level, Level::Critical);
        assert_eq!(r.message, "2026-12-06 10:00:00 CRITICAL db down\nmore");
        assert_eq!(map(FileFormat::Plain, "all good", None).level, Level::Info);
    }

    #[test]
    fn docker_logs_use_the_app_time_when_it_has_one() {
        let r = map(
            FileFormat::Docker,
            r#"{"level":"error","msg":"x","time":"2026-12-06T10:00:00Z"}"#,
            Some(5),
        );
        assert_eq!(r.level, Level::Error);
        assert_eq!(r.timestamp_ns, 1_796_551_200_000_000_000);
        assert!(r.labels.contains(&("stream".into(), "stdout".into())));
        let r = map(FileFormat::Docker, "WARN plain output", Some(5));
        assert_eq!((r.level, r.timestamp_ns), (Level::Warning, 5));
    }
}
