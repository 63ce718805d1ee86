//! Comment lines: `# HELP`, `# TYPE`, `# UNIT`, `# EOF` and (text format
//! only) free comments.

use std::borrow::Cow;

use super::cursor::{Escapes, decode};
use super::entry::Entry;
use super::error::ParseError;
use super::parser::{Comment, Parser};
use crate::model::MetricType;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Help,
    Type,
    Unit,
}

impl Keyword {
    fn as_str(self) -> &'static str {
        match self {
            Keyword::Help => "HELP",
            Keyword::Type => "TYPE",
            Keyword::Unit => "UNIT",
        }
    }
}

fn text_type(s: &str) -> Option<MetricType> {
    Some(match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" => MetricType::Unknown,
        _ => return None,
    })
}

fn openmetrics_type(s: &str) -> Option<MetricType> {
    Some(match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "gaugehistogram" => MetricType::GaugeHistogram,
        "summary" => MetricType::Summary,
        "info" => MetricType::Info,
        "stateset" => MetricType::StateSet,
        "unknown" => MetricType::Unknown,
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    /// A text-format line starting with `#` (at `pos`).
    pub(super) fn text_comment(&mut self) -> Result<Comment<'a>, ParseError> {
        self.cur.pos += 1;
        // Only "#", blanks, then HELP/TYPE and a blank make a metadata line;
        // anything else is a comment.
        let keyword = if let Some(b' ' | b'\t') = self.cur.peek() {
            self.cur.skip_blanks();
            let rest = self.cur.rest();
            let blank_after = matches!(rest.get(4), Some(b' ' | b'\t'));
            match &rest[..rest.len().min(4)] {
                b"HELP" if blank_after => Some(Keyword::Help),
                b"TYPE" if blank_after => Some(Keyword::Type),
                _ => None,
            }
        } else {
            None
        };
        let Some(keyword) = keyword else {
            self.cur.take_line();
            self.end_line_text();
            return Ok(Comment::Skip);
        };
        self.cur.pos += 4;
        self.cur.skip_blanks();
        let family = self.metadata_name(keyword)?;
        let mut text_start = self.cur.pos;
        let text: &'a [u8] = match self.cur.peek() {
            None | Some(b'\n') => b"",
            Some(b' ' | b'\t') => {
                self.cur.pos += 1;
                text_start = self.cur.pos;
                self.cur.take_line()
            }
            Some(_) => {
                return Err(self.cur.expected(&format!(
                    "a space after the metric name in # {}",
                    keyword.as_str()
                )));
            }
        };
        self.end_line_text();
        match keyword {
            Keyword::Help => {
                let text = decode(text, true, Escapes::Help)
                    .map_err(|_| self.text_error(text_start, "help text is not valid UTF-8"))?;
                self.enter_family(&family);
                Ok(Comment::Entry(Entry::Help { family, text }))
            }
            _ => {
                let word = std::str::from_utf8(text).unwrap_or("").trim_matches([' ', '\t']);
                let Some(kind) = text_type(word) else {
                    let shown = String::from_utf8_lossy(text);
                    return Err(self.text_error(
                        text_start,
                        &format!(
                            "unknown metric type {:?} (the text format knows counter, gauge, histogram, summary and untyped)",
                            shown.trim_matches([' ', '\t'])
                        ),
                    ));
                };
                self.enter_family(&family).kind = kind;
                Ok(Comment::Entry(Entry::Type { family, kind }))
            }
        }
    }

    /// An OpenMetrics line starting with `#` (at `pos`).
    pub(super) fn openmetrics_comment(&mut self) -> Result<Comment<'a>, ParseError> {
        let rest = self.cur.rest();
        if rest.starts_with(b"# EOF") {
            self.cur.pos += 5;
            if self.cur.peek() == Some(b'\n') {
                self.cur.consume_newline();
            }
            if self.cur.peek().is_some() {
                return Err(self.cur.error("unexpected data after \"# EOF\"".to_string()));
            }
            return Ok(Comment::Eof);
        }
        let keyword = match rest.get(..7) {
            Some(b"# HELP ") => Keyword::Help,
            Some(b"# TYPE ") => Keyword::Type,
            Some(b"# UNIT ") => Keyword::Unit,
            _ => {
                return Err(self.cur.error(
                    "unknown comment line: OpenMetrics allows only \"# HELP\", \"# TYPE\", \"# UNIT\" and \"# EOF\""
                        .to_string(),
                ));
            }
        };
        self.cur.pos += 7;
        let family = self.metadata_name(keyword)?;
        if self.cur.peek() != Some(b' ') {
            return Err(self
                .cur
                .expected(&format!("' ' after the metric name in # {}", keyword.as_str())));
        }
        self.cur.pos += 1;
        let text_start = self.cur.pos;
        let text = self.cur.take_line();
        if self.cur.peek().is_none() {
            return Err(self.missing_eof());
        }
        self.cur.consume_newline();
        match keyword {
            Keyword::Help => {
                let text = decode(text, true, Escapes::Quoted)
                    .map_err(|_| self.text_error(text_start, "help text is not valid UTF-8"))?;
                self.enter_family(&family);
                Ok(Comment::Entry(Entry::Help { family, text }))
            }
            Keyword::Type => {
                let word = String::from_utf8_lossy(text);
                let Some(kind) = openmetrics_type(&word) else {
                    return Err(self.text_error(
                        text_start,
                        &format!(
                            "unknown metric type {word:?} (OpenMetrics knows counter, gauge, histogram, \
                             gaugehistogram, summary, info, stateset and unknown)"
                        ),
                    ));
                };
                self.enter_family(&family).kind = kind;
                Ok(Comment::Entry(Entry::Type { family, kind }))
            }
            Keyword::Unit => {
                let unit = decode(text, false, Escapes::Quoted)
                    .map_err(|_| self.text_error(text_start, "unit is not valid UTF-8"))?;
                // The unit must be the name's last "_"-separated part(s).
                let suffix_ok = unit.is_empty()
                    || family
                        .strip_suffix(unit.as_ref())
                        .is_some_and(|head| head.ends_with('_'));
                if !suffix_ok {
                    return Err(self.text_error(
                        text_start,
                        &format!("unit {unit:?} is not a suffix of metric name {family:?}"),
                    ));
                }
                self.enter_family(&family);
                Ok(Comment::Entry(Entry::Unit { family, unit }))
            }
        }
    }

    /// The family name after `# HELP` / `# TYPE` / `# UNIT`: a metric name
    /// or a quoted UTF-8 name.
    fn metadata_name(&mut self, keyword: Keyword) -> Result<Cow<'a, str>, ParseError> {
        let start = self.cur.pos;
        if self.cur.peek() == Some(b'"') {
            let name = self.cur.quoted(false, "quoted metric name")?;
            if name.is_empty() {
                return Err(self.cur.error_at(start, "metric name is empty".to_string()));
            }
            return Ok(name);
        }
        match self.cur.metric_name() {
            Some(name) => Ok(Cow::Borrowed(name)),
            None => Err(self
                .cur
                .expected(&format!("a metric name after # {}", keyword.as_str()))),
        }
    }

    /// Consumes the `\n` ending a text-format line, if there is one.
    fn end_line_text(&mut self) {
        if self.cur.peek() == Some(b'\n') {
            self.cur.consume_newline();
        }
    }

    /// An error about text that started at `start` (possibly on the line
    /// the cursor has just left).
    fn text_error(&self, start: usize, message: &str) -> ParseError {
        self.cur.error_at(start, message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_words() {
        assert_eq!(text_type("untyped"), Some(MetricType::Unknown));
        assert_eq!(text_type("unknown"), None);
        assert_eq!(text_type("info"), None);
        assert_eq!(openmetrics_type("info"), Some(MetricType::Info));
        assert_eq!(openmetrics_type("stateset"), Some(MetricType::StateSet));
        assert_eq!(
            openmetrics_type("gaugehistogram"),
            Some(MetricType::GaugeHistogram)
        );
        assert_eq!(openmetrics_type("untyped"), None);
        assert_eq!(openmetrics_type("Counter"), None);
    }
}
