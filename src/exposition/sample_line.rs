//! Sample lines: `name{labels} value [timestamp]`, plus OpenMetrics
//! exemplars (` # {labels} value [timestamp]`), checked as strictly as
//! Prometheus does and handed on with their sample.
//!
//! The text format allows spaces and tabs between any two tokens, a
//! missing comma between labels (as Prometheus does) and raw line breaks
//! inside quoted strings; OpenMetrics allows exactly one space before the
//! value, the timestamp and the exemplar, and none elsewhere.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use super::cursor::{describe, is_label_name_start};
use super::entry::{ParsedExemplar, ParsedSample};
use super::error::ParseError;
use super::float::{self, NumberError};
use super::format::Format;
use super::parser::Parser;
use crate::model::MetricType;

type LabelPair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Above this many labels, repeats are found with a hash set instead of a
/// scan, so a hostile line of 100k labels stays linear.
const LINEAR_DUPLICATE_SCAN_MAX: usize = 16;

/// Distinct `le`/`quantile` spellings remembered per body.
const FLOAT_LABEL_CACHE_MAX: usize = 64;

fn number_problem(e: NumberError) -> &'static str {
    match e {
        NumberError::Syntax => "not a number",
        NumberError::OutOfRange => "out of range",
        NumberError::NotFinite => "not finite",
    }
}

/// `invalid {what} "{token}": {problem}`, with a hint for CRLF line ends.
fn invalid(what: &str, token: &[u8], e: NumberError) -> String {
    let text = String::from_utf8_lossy(token);
    let hint = if token.ends_with(b"\r") {
        " (lines must end with \\n, not \\r\\n)"
    } else {
        ""
    };
    format!("invalid {what} {text:?}: {}{hint}", number_problem(e))
}

impl<'a> Parser<'a> {
    /// Parses the sample line at `pos`. `None` when the sample is parsed but
    /// skipped (an OpenMetrics `_created` series).
    pub(super) fn sample_line(&mut self) -> Result<Option<ParsedSample<'a>>, ParseError> {
        let om = self.format == Format::OpenMetrics;
        let line_begin = self.cur.pos;
        let mut name: Option<Cow<'a, str>> = None;
        if self.cur.peek() != Some(b'{') {
            let Some(n) = self.cur.metric_name() else {
                return Err(self
                    .cur
                    .expected("a metric name, '{' or '#' at the start of a line"));
            };
            name = Some(Cow::Borrowed(n));
            if !om {
                self.cur.skip_blanks();
            }
        }
        let mut labels: Vec<LabelPair<'a>> = Vec::with_capacity(self.label_capacity);
        if self.cur.peek() == Some(b'{') {
            self.cur.pos += 1;
            self.label_list(Some(&mut name), &mut labels)?;
        }
        self.label_capacity = labels.len();
        let Some(name) = name else {
            return Err(self.cur.error_at(
                line_begin,
                "metric name missing: put it before '{' or as a quoted string inside the braces".to_string(),
            ));
        };

        let value = self.value(om)?;
        let (timestamp_ms, exemplar) = if om {
            self.openmetrics_line_end()?
        } else {
            (self.text_line_end()?, None)
        };

        let (metric_type, suffix) = match &self.family {
            Some(family) => match family.member_suffix(&name) {
                Some(suffix) => (family.kind, suffix),
                None => (MetricType::Unknown, ""),
            },
            None => (MetricType::Unknown, ""),
        };
        // OpenMetrics `_created` series carry a creation time, not a
        // measurement; see `Parser::keep_created_series` for when they are
        // skipped.
        if om && self.skip_created && suffix == "_created" && metric_type.has_created_series() {
            return Ok(None);
        }
        let float_label = match metric_type {
            MetricType::Histogram => Some("le"),
            MetricType::Summary => Some("quantile"),
            _ => None,
        };
        if let Some(float_label) = float_label {
            for (label, value) in labels.iter_mut() {
                if label == float_label {
                    let v = std::mem::take(value);
                    *value = self.normalize_float_label(v);
                }
            }
        }
        Ok(Some(ParsedSample {
            name,
            labels,
            value,
            timestamp_ms,
            metric_type,
            exemplar,
        }))
    }

    /// The label list after `{` up to and including `}`. `name` is `None`
    /// for exemplars, whose braces cannot hold a metric name.
    fn label_list(
        &mut self,
        mut name: Option<&mut Option<Cow<'a, str>>>,
        labels: &mut Vec<LabelPair<'a>>,
    ) -> Result<(), ParseError> {
        let om = self.format == Format::OpenMetrics;
        let open = self.cur.pos - 1;
        let mut hashes: Option<(RandomState, HashSet<u64>)> = None;
        loop {
            if !om {
                self.cur.skip_blanks();
            }
            let item_start = self.cur.pos;
            let label: Cow<'a, str> = match self.cur.peek() {
                Some(b'}') => {
                    self.cur.pos += 1;
                    return Ok(());
                }
                Some(b'"') => {
                    let quoted = self.cur.quoted(!om, "quoted name")?;
                    if !om {
                        self.cur.skip_blanks();
                    }
                    if let Some(b',' | b'}') = self.cur.peek() {
                        let Some(name) = name.as_deref_mut() else {
                            return Err(self.cur.error_at(
                                item_start,
                                "an exemplar's labels cannot include a metric name".to_string(),
                            ));
                        };
                        if let Some(first) = name.as_ref() {
                            return Err(self.cur.error_at(
                                item_start,
                                format!("metric name given twice: {first:?} and {quoted:?}"),
                            ));
                        }
                        if quoted.is_empty() {
                            return Err(self.cur.error_at(item_start, "metric name is empty".to_string()));
                        }
                        *name = Some(quoted);
                        if self.cur.peek() == Some(b',') {
                            self.cur.pos += 1;
                        }
                        continue;
                    }
                    if quoted.is_empty() {
                        return Err(self.cur.error_at(item_start, "label name is empty".to_string()));
                    }
                    quoted
                }
                Some(b) if is_label_name_start(b) => match self.cur.label_name() {
                    Some(label) => Cow::Borrowed(label),
                    None => return Err(self.cur.expected("a label name or '}'")),
                },
                Some(_) => return Err(self.cur.expected("a label name or '}'")),
                None => {
                    return Err(self
                        .cur
                        .error_at(open, "label list has no closing '}'".to_string()));
                }
            };
            if !om {
                self.cur.skip_blanks();
            }
            if self.cur.peek() != Some(b'=') {
                return Err(self.cur.expected(&format!("'=' after label name {label:?}")));
            }
            self.cur.pos += 1;
            if !om {
                self.cur.skip_blanks();
            }
            if self.cur.peek() != Some(b'"') {
                return Err(self
                    .cur
                    .expected(&format!("'\"' to start the value of label {label:?}")));
            }
            let value = self.cur.quoted(!om, "label value")?;
            if name.is_some() && label == "__name__" {
                return Err(self.cur.error_at(
                    item_start,
                    "label \"__name__\" is not allowed: give the metric name before '{' or as a quoted string"
                        .to_string(),
                ));
            }
            // Repeated names: a scan while the list is short, hashes after.
            let repeated = if labels.len() < LINEAR_DUPLICATE_SCAN_MAX {
                labels.iter().any(|(l, _)| *l == label)
            } else {
                let (hasher, hashes) = hashes.get_or_insert_with(|| {
                    let hasher = RandomState::new();
                    let hashes = labels.iter().map(|(l, _)| hasher.hash_one(l.as_ref())).collect();
                    (hasher, hashes)
                });
                let h = hasher.hash_one(label.as_ref());
                !hashes.insert(h) && labels.iter().any(|(l, _)| *l == label)
            };
            if repeated {
                return Err(self
                    .cur
                    .error_at(item_start, format!("duplicate label name {label:?}")));
            }
            labels.push((label, value));
            if om {
                match self.cur.peek() {
                    Some(b',') => self.cur.pos += 1,
                    Some(b'}') => {}
                    _ => return Err(self.cur.expected("',' or '}' after a label value")),
                }
            } else {
                self.cur.skip_blanks();
                if self.cur.peek() == Some(b',') {
                    self.cur.pos += 1;
                }
            }
        }
    }

    /// The sample value after the name or labels.
    fn value(&mut self, om: bool) -> Result<f64, ParseError> {
        if om {
            if self.cur.peek() != Some(b' ') {
                return Err(self.cur.expected("' ' before the value"));
            }
            self.cur.pos += 1;
        } else {
            self.cur.skip_blanks();
        }
        let start = self.cur.pos;
        let token = if om {
            self.cur.token(|b| b == b' ' || b == b'\n')
        } else {
            self.cur.token(|b| matches!(b, b' ' | b'\t' | b'\n' | b'{'))
        };
        if token.is_empty() {
            return Err(self.cur.expected("a value"));
        }
        float::parse_value(token).map_err(|e| self.cur.error_at(start, invalid("value", token, e)))
    }

    /// After a text-format value: an optional integer millisecond timestamp,
    /// blanks, then the end of the line.
    fn text_line_end(&mut self) -> Result<Option<i64>, ParseError> {
        self.cur.skip_blanks();
        let timestamp = match self.cur.peek() {
            None | Some(b'\n') => None,
            Some(b) if b.is_ascii_digit() => {
                let start = self.cur.pos;
                let token = self.cur.take_while(|b| b.is_ascii_digit());
                let ts = float::parse_text_timestamp(token)
                    .map_err(|e| self.cur.error_at(start, invalid("timestamp", token, e)))?;
                self.cur.skip_blanks();
                Some(ts)
            }
            Some(_) => {
                return Err(self
                    .cur
                    .expected("a timestamp (integer milliseconds) or the end of the line after the value"));
            }
        };
        match self.cur.peek() {
            None => {}
            Some(b'\n') => self.cur.consume_newline(),
            Some(_) => return Err(self.cur.expected("the end of the line after the timestamp")),
        }
        Ok(timestamp)
    }

    /// After an OpenMetrics value: ` timestamp`, ` # {exemplar}`, both, or
    /// nothing, then `\n`.
    fn openmetrics_line_end(&mut self) -> Result<(Option<i64>, Option<ParsedExemplar<'a>>), ParseError> {
        let mut timestamp = None;
        if self.cur.peek() == Some(b' ') && self.cur.peek_at(1) != Some(b'#') {
            self.cur.pos += 1;
            let start = self.cur.pos;
            let token = self.cur.token(|b| b == b' ' || b == b'\n');
            if token.is_empty() {
                return Err(self.cur.expected("a timestamp"));
            }
            let ts = float::parse_openmetrics_timestamp(token)
                .map_err(|e| self.cur.error_at(start, invalid("timestamp", token, e)))?;
            timestamp = Some(ts);
        }
        let exemplar = if self.cur.peek() == Some(b' ') {
            Some(self.exemplar()?)
        } else {
            None
        };
        match self.cur.peek() {
            Some(b'\n') => self.cur.consume_newline(),
            None => return Err(self.missing_eof()),
            Some(_) => {
                let what = if timestamp.is_some() {
                    "the end of the line or an exemplar after the timestamp"
                } else {
                    "a timestamp, an exemplar or the end of the line after the value"
                };
                return Err(self.cur.expected(what));
            }
        }
        Ok((timestamp, exemplar))
    }

    /// ` # {labels} value [timestamp]`, checked as strictly as Prometheus
    /// does.
    fn exemplar(&mut self) -> Result<ParsedExemplar<'a>, ParseError> {
        if !self.cur.rest().starts_with(b" # {") {
            return Err(self.cur.error(format!(
                "expected \" # {{\" to start an exemplar, found {}",
                describe(self.cur.rest().get(1..).unwrap_or(b""))
            )));
        }
        self.cur.pos += 4;
        let mut labels = Vec::new();
        self.label_list(None, &mut labels)?;
        if self.cur.peek() != Some(b' ') {
            return Err(self.cur.expected("' ' before the exemplar value"));
        }
        self.cur.pos += 1;
        let start = self.cur.pos;
        let token = self.cur.token(|b| b == b' ' || b == b'\n');
        if token.is_empty() {
            return Err(self.cur.expected("an exemplar value"));
        }
        let value = float::parse_value(token)
            .map_err(|e| self.cur.error_at(start, invalid("exemplar value", token, e)))?;
        let mut timestamp_ms = None;
        if self.cur.peek() == Some(b' ') {
            self.cur.pos += 1;
            let start = self.cur.pos;
            let token = self.cur.token(|b| b == b' ' || b == b'\n');
            if token.is_empty() {
                return Err(self.cur.expected("an exemplar timestamp"));
            }
            let ts = float::parse_openmetrics_timestamp(token)
                .map_err(|e| self.cur.error_at(start, invalid("exemplar timestamp", token, e)))?;
            timestamp_ms = Some(ts);
        }
        match self.cur.peek() {
            Some(b'\n') | None => Ok(ParsedExemplar {
                labels,
                value,
                timestamp_ms,
            }),
            Some(_) => Err(self.cur.expected("the end of the line after the exemplar")),
        }
    }

    /// Prometheus 3 rewrites histogram `le` and summary `quantile` values
    /// into one spelling (`"1"` → `"1.0"`), so series from the text format,
    /// OpenMetrics and protobuf agree. Borrowed when already canonical.
    ///
    /// Bucket bounds repeat for every series of a histogram, so results are
    /// remembered (a few dozen distinct spellings at most).
    fn normalize_float_label(&mut self, value: Cow<'a, str>) -> Cow<'a, str> {
        let Cow::Borrowed(raw) = value else {
            return self.normalize_float_text(value);
        };
        if let Some((_, normalized)) = self.float_label_cache.iter().find(|(k, _)| *k == raw) {
            return match normalized {
                None => Cow::Borrowed(raw),
                Some(s) => Cow::Owned(s.clone()),
            };
        }
        let out = self.normalize_float_text(Cow::Borrowed(raw));
        if self.float_label_cache.len() < FLOAT_LABEL_CACHE_MAX {
            let remembered = match &out {
                Cow::Borrowed(_) => None,
                Cow::Owned(s) => Some(s.clone()),
            };
            self.float_label_cache.push((raw, remembered));
        }
        out
    }

    fn normalize_float_text(&mut self, value: Cow<'a, str>) -> Cow<'a, str> {
        let Ok(v) = float::parse_value(value.as_bytes()) else {
            return value;
        };
        self.scratch.clear();
        float::write_openmetrics_float(&mut self.scratch, v);
        if self.scratch == value {
            return value;
        }
        Cow::Owned(self.scratch.clone())
    }
}
