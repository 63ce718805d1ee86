//! `POST /api/belfry/logs`: newline-delimited JSON, one object per line,
//! for anything that can write JSON. Each object is a record as the
//! schema reads it (`message`/`msg`, `timestamp`/`ts`, `level`, …); an
//! optional `labels` object of strings names the stream. A line that is
//! not a JSON object is reported by number and the others are kept.

use serde_json::Value;

use super::{Entry, json_kind, string_labels};

/// A line refused, numbered from 1.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

/// The entries of a body with their line numbers, in order, and the
/// lines refused. Blank lines are skipped.
pub fn parse_ndjson(body: &[u8]) -> (Vec<(usize, Entry)>, Vec<LineError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(raw) {
            Ok(e) => entries.push((i + 1, e)),
            Err(reason) => errors.push(LineError { line: i + 1, reason }),
        }
    }
    (entries, errors)
}

fn parse_line(raw: &[u8]) -> Result<Entry, String> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(mut fields) = value else {
        return Err(format!("expected a JSON object, got {}", json_kind(&value)));
    };
    let labels = match fields.remove("labels") {
        None => Vec::new(),
        Some(Value::Object(m)) => {
            string_labels(m).map_err(|(k, found)| format!("label {k:?} must be a string, got {found}"))?
        }
        Some(other) => {
            return Err(format!(
                "\"labels\" must be an object of strings, got {}",
                json_kind(&other)
            ));
        }
    };
    Ok(Entry {
        labels,
        fields,
        ..Entry::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn good_lines_are_kept_and_bad_ones_numbered() {
        let body = b"{\"msg\":\"a\",\"labels\":{\"app\":\"lms\"}}\n\nnot json\r\n[1]\n{\"msg\":\"b\"}\r\n{\"labels\":{\"x\":1}}";
        let (entries, errors) = parse_ndjson(body);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0, 1);
        assert_eq!(entries[0].1.labels, vec![("app".to_string(), "lms".to_string())]);
        assert_eq!(entries[1].1.fields.get("msg"), Some(&Value::from("b")));
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 6]);
        assert!(errors[0].reason.contains("not valid JSON"), "{:?}", errors[0]);
        assert!(errors[1].reason.contains("an array"), "{:?}", errors[1]);
        assert!(errors[2].reason.contains("label \"x\""), "{:?}", errors[2]);
    }

    proptest! {
        #[test]
        fn every_nonblank_line_is_an_entry_or_an_error(body in prop::collection::vec(any::<u8>(), 0..300)) {
            let (entries, errors) = parse_ndjson(&body);
            let nonblank = body
                .split(|b| *b == b'\n')
                .filter(|l| !l.strip_suffix(b"\r").unwrap_or(l).iter().all(u8::is_ascii_whitespace))
                .count();
            prop_assert_eq!(entries.len() + errors.len(), nonblank);
        }
    }
}
