//! The parser: walks a body line by line, dispatching to the metadata and
//! sample-line grammars of its format, and yields entries until the end (or
//! the first error).

use std::borrow::Cow;

use super::cursor::Cursor;
use super::entry::Entry;
use super::error::ParseError;
use super::family::Family;
use super::format::Format;
use crate::model::MetricType;

/// Parses one exposition body. Iterate it for [`Entry`] values; after an
/// error it yields nothing more.
pub struct Parser<'a> {
    pub(super) cur: Cursor<'a>,
    pub(super) format: Format,
    pub(super) family: Option<Family<'a>>,
    pub(super) skip_created: bool,
    finished: bool,
    /// Label count of the previous sample: the next one usually has as many.
    pub(super) label_capacity: usize,
    /// Reused buffer for `le`/`quantile` normalisation.
    pub(super) scratch: String,
    /// `le`/`quantile` spellings seen so far and their normal form (`None`:
    /// already normal).
    pub(super) float_label_cache: Vec<(&'a str, Option<String>)>,
}

/// What a comment line turned out to be.
pub(super) enum Comment<'a> {
    Entry(Entry<'a>),
    /// A plain comment (text format only): nothing to yield.
    Skip,
    /// OpenMetrics `# EOF`: the body is complete.
    Eof,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a [u8], format: Format) -> Parser<'a> {
        Parser {
            cur: Cursor::new(input),
            format,
            family: None,
            skip_created: false,
            finished: false,
            label_capacity: 4,
            scratch: String::new(),
            float_label_cache: Vec::new(),
        }
    }

    /// Whether OpenMetrics `_created` samples of counters, histograms and
    /// summaries are yielded as ordinary samples (default: kept).
    ///
    /// Prometheus stores them as plain series unless created-timestamp
    /// ingestion is on, so users' queries over `x_created` work the same
    /// here by default. Skipping them (`false`) halves the series of every
    /// OpenMetrics counter for a value few dashboards use.
    pub fn keep_created_series(mut self, keep: bool) -> Parser<'a> {
        self.skip_created = !keep;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The family the parser is in (named by the last metadata line) and its
    /// declared type. Each sample also carries its own
    /// [`ParsedSample::metric_type`](super::ParsedSample::metric_type).
    pub fn current_family(&self) -> Option<(&str, MetricType)> {
        self.family.as_ref().map(|f| (f.name.as_ref(), f.kind))
    }

    /// The 1-based line the parser has reached.
    pub fn line(&self) -> usize {
        self.cur.line
    }

    /// Starts a new family unless `name` continues the current one.
    pub(super) fn enter_family(&mut self, name: &Cow<'a, str>) -> &mut Family<'a> {
        if self.family.as_ref().is_none_or(|f| f.name != *name) {
            self.family = Some(Family {
                name: name.clone(),
                kind: MetricType::Unknown,
            });
        }
        self.family.get_or_insert_with(|| Family {
            name: name.clone(),
            kind: MetricType::Unknown,
        })
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        match self.format {
            Format::PrometheusText => self.next_text_entry(),
            Format::OpenMetrics => self.next_openmetrics_entry(),
        }
    }

    fn next_text_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        loop {
            self.cur.skip_blanks();
            match self.cur.peek() {
                None => return Ok(None),
                Some(b'\n') => self.cur.consume_newline(),
                Some(b'#') => match self.text_comment()? {
                    Comment::Entry(entry) => return Ok(Some(entry)),
                    Comment::Skip | Comment::Eof => {}
                },
                Some(_) => {
                    if let Some(sample) = self.sample_line()? {
                        return Ok(Some(Entry::Sample(sample)));
                    }
                }
            }
        }
    }

    fn next_openmetrics_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        loop {
            match self.cur.peek() {
                None => return Err(self.missing_eof()),
                Some(b'\n') => {
                    return Err(self
                        .cur
                        .error("blank lines are not allowed in OpenMetrics".to_string()));
                }
                Some(b'#') => match self.openmetrics_comment()? {
                    Comment::Entry(entry) => return Ok(Some(entry)),
                    Comment::Eof => return Ok(None),
                    Comment::Skip => {}
                },
                Some(_) => {
                    if let Some(sample) = self.sample_line()? {
                        return Ok(Some(Entry::Sample(sample)));
                    }
                }
            }
        }
    }

    /// The error for an OpenMetrics body that stops before `# EOF`.
    pub(super) fn missing_eof(&self) -> ParseError {
        self.cur
            .error("unexpected end of input: an OpenMetrics body must end with \"# EOF\"".to_string())
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for Parser<'_> {}
