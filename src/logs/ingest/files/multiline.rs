//! Joining continuation lines into one record: a `start` regex (a line
//! matching it begins a record, any other continues the one before), and
//! the built-in rule for Python tracebacks, so that `logger.exception()`
//! output — the message line, `Traceback (most recent call last):`, the
//! indented frames, chained exceptions and the final `XError: message` —
//! is one record. A record is closed by the next start, by `max_lines` or
//! `max_bytes`, or after `flush_after` without a new line.

use std::time::{Duration, Instant};

use regex::Regex;

use super::line::FileLine;
use crate::config::MultilineConfig;

const TRACEBACK: &str = "Traceback (most recent call last):";
const CHAINED: [&str; 2] = [
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
];

/// Where in a Python traceback the last line was.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Traceback {
    Outside,
    /// After `Traceback …:`: indented frames until the exception line.
    Frames,
    /// After the exception line: blank lines and a chained-exception
    /// sentence still belong to the record.
    AfterException,
}

struct Held {
    record: FileLine,
    lines: usize,
    last_line: Instant,
}

pub struct Multiline {
    start: Option<Regex>,
    python_tracebacks: bool,
    max_lines: usize,
    max_bytes: usize,
    flush_after: Duration,
    held: Option<Held>,
    traceback: Traceback,
}

/// What one line did.
#[derive(Debug, Default, PartialEq)]
pub struct Pushed {
    /// The record the line closed, if it closed one.
    pub done: Option<FileLine>,
    /// That record was closed by `max_lines` or `max_bytes`.
    pub cut: bool,
}

impl Multiline {
    /// From a validated configuration (the regex compiled there already).
    pub fn new(c: &MultilineConfig) -> Result<Self, regex::Error> {
        Ok(Multiline {
            start: c.start.as_deref().map(Regex::new).transpose()?,
            python_tracebacks: c.python_tracebacks,
            max_lines: usize::try_from(c.max_lines).unwrap_or(usize::MAX),
            max_bytes: usize::try_from(c.max_bytes.0).unwrap_or(usize::MAX),
            flush_after: c.flush_after.0,
            held: None,
            traceback: Traceback::Outside,
        })
    }

    pub fn push(&mut self, line: FileLine, now: Instant) -> Pushed {
        let continues = self.continues(&line.text);
        let Some(held) = &mut self.held else {
            self.hold(line, now);
            return Pushed::default();
        };
        let full =
            held.lines >= self.max_lines || held.record.text.len() + 1 + line.text.len() > self.max_bytes;
        if continues && !full {
            held.record.text.push('\n');
            held.record.text.push_str(&line.text);
            held.record.end = line.end;
            held.record.truncated |= line.truncated;
            held.lines += 1;
            held.last_line = now;
            return Pushed::default();
        }
        let done = self.take();
        self.hold(line, now);
        Pushed {
            done,
            cut: continues && full,
        }
    }

    /// The held record, once it has waited `flush_after` for more lines.
    pub fn flush_due(&mut self, now: Instant) -> Option<FileLine> {
        let held = self.held.as_ref()?;
        if now.duration_since(held.last_line) < self.flush_after {
            return None;
        }
        self.take()
    }

    /// Where the held record starts: nothing from there on is sent yet.
    pub fn held_start(&self) -> Option<u64> {
        self.held.as_ref().map(|h| h.record.start)
    }

    /// The held record, whatever follows (the file ended or was cut).
    pub fn take(&mut self) -> Option<FileLine> {
        let mut record = self.held.take()?.record;
        // Blank lines kept in case a chained exception followed.
        let kept = record.text.trim_end_matches(['\n', '\r', ' ', '\t']).len();
        record.text.truncate(kept);
        Some(record)
    }

    fn hold(&mut self, line: FileLine, now: Instant) {
        self.held = Some(Held {
            record: line,
            lines: 1,
            last_line: now,
        });
    }

    /// Whether `text` continues the record before it.
    fn continues(&mut self, text: &str) -> bool {
        if self.python_tracebacks && self.in_traceback(text) {
            return true;
        }
        match &self.start {
            Some(re) => !re.is_match(text),
            None => false,
        }
    }

    fn in_traceback(&mut self, text: &str) -> bool {
        if text.starts_with(TRACEBACK) {
            self.traceback = Traceback::Frames;
            return true;
        }
        let indented = text.starts_with([' ', '\t']);
        match self.traceback {
            Traceback::Outside => false,
            Traceback::Frames => {
                if !indented && !text.is_empty() {
                    self.traceback = Traceback::AfterException;
                }
                true
            }
            Traceback::AfterException => {
                if text.trim().is_empty() || indented || CHAINED.contains(&text.trim_end()) {
                    return true;
                }
                self.traceback = Traceback::Outside;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<FileLine> {
        let mut at = 0u64;
        text.split_terminator('\n')
            .map(|t| {
                let l = FileLine {
                    text: t.to_string(),
                    start: at,
                    end: at + t.len() as u64 + 1,
                    ..FileLine::default()
                };
                at = l.end;
                l
            })
            .collect()
    }

    fn join(c: &MultilineConfig, text: &str) -> (Vec<FileLine>, usize) {
        let mut m = Multiline::new(c).unwrap();
        let now = Instant::now();
        let mut out = Vec::new();
        let mut cuts = 0;
        for l in lines(text) {
            let p = m.push(l, now);
            cuts += usize::from(p.cut);
            out.extend(p.done);
        }
        out.extend(m.take());
        (out, cuts)
    }

    /// A traceback as python3 writes it through `logging`, chained
    /// exception included.
    fn python_traceback() -> String {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/logs/grading_traceback.py"
        );
        let out = std::process::Command::new("python3")
            .arg(script)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn a_real_python_traceback_is_one_record() {
        let text = python_traceback();
        assert!(text.contains(TRACEBACK) && text.contains(CHAINED[1]), "{text}");
        let (records, _) = join(&MultilineConfig::default(), &text);
        assert_eq!(records.len(), 3, "{records:#?}");
        assert!(records[0].text.ends_with("grading started"));
        let error = &records[1];
        assert!(
            error
                .text
                .contains("ERROR lms.grading grading failed for course CS101\nTraceback")
        );
        assert!(error.text.contains("ZeroDivisionError: division by zero"));
        assert!(
            error.text.ends_with("ValueError: no submissions to grade"),
            "{}",
            error.text
        );
        assert!(records[2].text.ends_with("WARNING lms.grading grading finished"));
        // The ranges tile the input: positions can be saved at any record's end.
        assert_eq!(records[0].end, records[1].start);
        assert_eq!(records[1].end, records[2].start);
        assert_eq!(records[2].end, text.len() as u64);
    }

    #[test]
    fn a_start_pattern_joins_what_does_not_match() {
        let c = MultilineConfig {
            start: Some(r"^\d{4}-".into()),
            python_tracebacks: false,
            ..MultilineConfig::default()
        };
        let (records, _) = join(
            &c,
            "2026-01-01 a\n  more\nstill more\n2026-01-02 b\n2026-01-03 c\n tail\n",
        );
        let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "2026-01-01 a\n  more\nstill more",
                "2026-01-02 b",
                "2026-01-03 c\n tail"
            ]
        );
    }

    #[test]
    fn limits_close_a_record_and_are_reported() {
        let c = MultilineConfig {
            start: Some("^S".into()),
            max_lines: 3,
            ..MultilineConfig::default()
        };
        let (records, cuts) = join(&c, "S1\nc\nc\nc\nc\nS2\n");
        let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["S1\nc\nc", "c\nc", "S2"]);
        assert_eq!(cuts, 1);
        let c = MultilineConfig {
            start: Some("^S".into()),
            max_bytes: crate::config::ByteSize(256),
            ..MultilineConfig::default()
        };
        let long = "c".repeat(200);
        let (records, cuts) = join(&c, &format!("S1\n{long}\n{long}\n"));
        assert_eq!(records.len(), 2);
        assert_eq!(cuts, 1);
    }

    #[test]
    fn a_quiet_record_is_flushed_after_the_timeout() {
        let c = MultilineConfig {
            flush_after: crate::model::PromDuration(Duration::from_millis(100)),
            ..MultilineConfig::default()
        };
        let mut m = Multiline::new(&c).unwrap();
        let t0 = Instant::now();
        let mut ls = lines("ERROR boom\nTraceback (most recent call last):\n");
        m.push(ls.remove(0), t0);
        m.push(ls.remove(0), t0);
        assert_eq!(m.held_start(), Some(0));
        assert_eq!(m.flush_due(t0 + Duration::from_millis(50)), None);
        let r = m.flush_due(t0 + Duration::from_millis(100)).unwrap();
        assert_eq!(r.text, "ERROR boom\nTraceback (most recent call last):");
        assert_eq!(m.held_start(), None);
    }
}
