//! Docker's `json-file` logging driver: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2026-12-06T10:00:00.123456789Z"}`.
//! Docker splits a line longer than 16 KiB into several objects; every
//! part but the last has a `log` without the trailing newline, so parts
//! are joined per stream until a part ends the line.

use serde::Deserialize;

/// One object of a `json-file` log.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerLine {
    /// The text, without its trailing newline.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// `time`, in nanoseconds since the epoch.
    pub time_ns: Option<i64>,
    /// The text continues in the next part of the same stream.
    pub partial: bool,
}

#[derive(Deserialize)]
struct Raw {
    log: String,
    #[serde(default)]
    stream: String,
    #[serde(default)]
    time: Option<String>,
}

/// One line of a `json-file` log; the error says what is wrong with it.
pub fn parse_docker_line(raw: &str) -> Result<DockerLine, String> {
    let r: Raw = serde_json::from_str(raw).map_err(|e| format!("not a docker json-file line: {e}"))?;
    let time_ns = match &r.time {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| format!("docker time {t:?} is not RFC 3339: {e}"))?
                .timestamp_nanos_opt()
                .ok_or_else(|| format!("docker time {t:?} is out of range"))?,
        ),
    };
    let mut log = r.log;
    let partial = !log.ends_with('\n');
    if !partial {
        log.pop();
        if log.ends_with('\r') {
            log.pop();
        }
    }
    Ok(DockerLine {
        log,
        stream: r.stream,
        time_ns,
        partial,
    })
}

/// A line joined from its parts: its first part's time and file offset.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinedLine {
    pub line: DockerLine,
    /// Offset of the first part in the file.
    pub start: u64,
    /// Offset just after the last part.
    pub end: u64,
    /// Parts beyond `max_bytes` were dropped.
    pub truncated: bool,
}

/// Joins split lines, per stream, up to `max_bytes` each.
pub struct PartialJoiner {
    max_bytes: usize,
    /// At most one open line per stream (stdout, stderr).
    open: Vec<JoinedLine>,
}

impl PartialJoiner {
    pub fn new(max_bytes: usize) -> Self {
        PartialJoiner {
            max_bytes,
            open: Vec::new(),
        }
    }

    /// Adds one part read at `[start, end)`; returns the line it completes.
    pub fn push(&mut self, part: DockerLine, start: u64, end: u64) -> Option<JoinedLine> {
        let slot = self.open.iter().position(|j| j.line.stream == part.stream);
        let mut joined = match slot {
            None => JoinedLine {
                line: DockerLine {
                    log: String::new(),
                    ..part.clone()
                },
                start,
                end,
                truncated: false,
            },
            Some(i) => self.open.swap_remove(i),
        };
        joined.end = end;
        let room = self.max_bytes.saturating_sub(joined.line.log.len());
        if part.log.len() > room {
            let mut cut = room;
            while !part.log.is_char_boundary(cut) {
                cut -= 1;
            }
            joined.line.log.push_str(&part.log[..cut]);
            joined.truncated = true;
        } else {
            joined.line.log.push_str(&part.log);
        }
        if part.partial {
            joined.line.partial = true;
            self.open.push(joined);
            return None;
        }
        joined.line.partial = false;
        Some(joined)
    }

    /// Where the oldest line still waiting for parts starts.
    pub fn held_start(&self) -> Option<u64> {
        self.open.iter().map(|j| j.start).min()
    }

    /// The lines still waiting, as they are (the file ended or was cut).
    pub fn take_all(&mut self) -> Vec<JoinedLine> {
        let mut all: Vec<JoinedLine> = self.open.drain(..).collect();
        all.sort_by_key(|j| j.start);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_line_and_its_time() {
        let l = parse_docker_line(
            r#"{"log":"hello\n","stream":"stderr","time":"2026-12-06T10:00:00.123456789Z"}"#,
        )
        .unwrap();
        assert_eq!(l.log, "hello");
        assert_eq!(l.stream, "stderr");
        assert!(!l.partial);
        assert_eq!(l.time_ns, Some(1_796_551_200_123_456_789));
        assert!(
            parse_docker_line("{\"stream\":\"stdout\"}")
                .unwrap_err()
                .contains("docker")
        );
        assert!(parse_docker_line("plain text").is_err());
        assert!(
            parse_docker_line(r#"{"log":"x\n","time":"yesterday"}"#)
                .unwrap_err()
                .contains("RFC 3339")
        );
    }

    #[test]
    fn split_lines_are_joined_per_stream() {
        let mut j = PartialJoiner::new(1 << 20);
        let part = |log: &str, stream: &str| {
            parse_docker_line(&serde_json::json!({"log": log, "stream": stream}).to_string()).unwrap()
        };
        assert_eq!(j.push(part("{\"msg\":\"a", "stdout"), 0, 10), None);
        let err = j.push(part("oops\n", "stderr"), 10, 20).unwrap();
        assert_eq!(err.line.log, "oops");
        assert_eq!(j.held_start(), Some(0));
        assert_eq!(j.push(part("bc", "stdout"), 20, 30), None);
        let done = j.push(part("\"}\n", "stdout"), 30, 40).unwrap();
        assert_eq!(done.line.log, "{\"msg\":\"abc\"}");
        assert_eq!((done.start, done.end), (0, 40));
        assert_eq!(j.held_start(), None);
    }

    #[test]
    fn a_runaway_split_line_is_capped() {
        let mut j = PartialJoiner::new(8);
        let part = |log: &str| DockerLine {
            log: log.into(),
            stream: "stdout".into(),
            time_ns: None,
            partial: !log.ends_with('\n'),
        };
        assert_eq!(j.push(part("123456"), 0, 1), None);
        assert_eq!(j.push(part("789é"), 1, 2), None);
        let mut last = part("x\n");
        last.log = "x".into();
        last.partial = false;
        let done = j.push(last, 2, 3).unwrap();
        assert_eq!(done.line.log, "12345678");
        assert!(done.truncated);
    }

    proptest! {
        #[test]
        fn never_panics(raw in ".{0,200}") {
            let _ = parse_docker_line(&raw);
        }

        #[test]
        fn parts_join_back_to_the_line(text in "[^\n\r]{0,100}", cuts in prop::collection::vec(0usize..100, 0..5)) {
            let mut bounds: Vec<usize> = cuts.into_iter().filter(|c| *c < text.len() && text.is_char_boundary(*c)).collect();
            bounds.sort_unstable();
            bounds.dedup();
            let mut parts = Vec::new();
            let mut from = 0;
            for b in bounds.into_iter().chain([text.len()]) {
                parts.push(text[from..b].to_string());
                from = b;
            }
            let n = parts.len();
            let mut j = PartialJoiner::new(1 << 20);
            let mut out = None;
            for (i, p) in parts.into_iter().enumerate() {
                let log = if i + 1 == n { format!("{p}\n") } else { p };
                let raw = serde_json::json!({"log": log, "stream": "stdout", "time": "2026-12-06T10:00:00Z"}).to_string();
                let line = parse_docker_line(&raw).unwrap();
                out = j.push(line, i as u64, i as u64 + 1);
                prop_assert_eq!(out.is_some(), i + 1 == n);
            }
            prop_assert_eq!(out.unwrap().line.log, text);
        }
    }
}
