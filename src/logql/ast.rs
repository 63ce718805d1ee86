//! The parsed form of a LogQL query: stream selectors, pipelines and the
//! range aggregations that turn lines into numbers.

use regex::Regex;

use crate::model::Matcher;
use crate::template::Template;

use super::ip_filter::IpPattern;
use super::pattern::Pattern;

/// A log query: which streams, and what each line goes through.
#[derive(Debug, Clone)]
pub struct LogSelector {
    pub matchers: Vec<Matcher>,
    pub pipeline: Vec<Stage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`: contains.
    Contains,
    /// `!=`: does not contain.
    NotContains,
    /// `|~`: matches the regex (unanchored).
    Matches,
    /// `!~`: does not match.
    NotMatches,
    /// `|>`: matches the pattern (`<_>` for any text), the whole line.
    PatternMatches,
    /// `!>`: does not match the pattern.
    PatternNotMatches,
    /// `|= ip("…")`: holds an address in the range.
    Ip,
    /// `!= ip("…")`: holds none.
    NotIp,
}

impl LineFilterOp {
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            LineFilterOp::NotContains
                | LineFilterOp::NotMatches
                | LineFilterOp::PatternNotMatches
                | LineFilterOp::NotIp
        )
    }
}

/// `|= "a" or "b"`: a positive chain keeps lines matching any value, a
/// negative one lines matching none.
#[derive(Debug, Clone)]
pub struct LineFilter {
    pub op: LineFilterOp,
    pub values: Vec<String>,
    /// Compiled for `|~`/`!~`.
    pub regexes: Vec<Regex>,
    /// Compiled for `|>`/`!>`.
    pub patterns: Vec<Pattern>,
    /// The range of `|= ip("…")` / `!= ip("…")`.
    pub ip: Option<IpPattern>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
        }
    }
}

/// What a numeric label filter reads the label's value as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Number,
    /// A Go/Prometheus duration (`250ms`, `1m30s`), compared in seconds.
    Duration,
    /// A byte size (`10KB`, `1MiB`), compared in bytes.
    Bytes,
}

impl NumberKind {
    /// What a value of this kind is called in an error.
    pub fn noun(self) -> &'static str {
        match self {
            NumberKind::Number => "number",
            NumberKind::Duration => "duration",
            NumberKind::Bytes => "byte size",
        }
    }
}

#[derive(Debug, Clone)]
pub enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// `name = "v"`, `!=`, `=~`, `!~`.
    Text(Matcher),
    /// `name > 5`, `name <= 1s`, `name == 10MB`.
    Number {
        name: String,
        op: CmpOp,
        kind: NumberKind,
        value: f64,
    },
    /// `name = ip("10.0.0.0/8")`, `name != ip("…")`.
    Ip {
        name: String,
        negated: bool,
        pattern: IpPattern,
    },
}

/// One `name` or `name="expr"` of `| json` / `| logfmt`.
#[derive(Debug, Clone)]
pub struct Extraction {
    pub label: String,
    /// The JSON path or logfmt key; `None` takes the key named `label`.
    pub expr: Option<String>,
}

/// One `dst=src` (rename) or `dst="{{template}}"` of `| label_format`.
#[derive(Debug, Clone)]
pub enum LabelFormat {
    Rename { dst: String, src: String },
    Template { dst: String, template: Template },
}

/// A `| drop` / `| keep` operand: a name, or a name whose value must match.
#[derive(Debug, Clone)]
pub enum LabelSpec {
    Name(String),
    Matcher(Matcher),
}

impl LabelSpec {
    pub fn name(&self) -> &str {
        match self {
            LabelSpec::Name(n) => n,
            LabelSpec::Matcher(m) => &m.name,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Stage {
    LineFilter(LineFilter),
    Json(Vec<Extraction>),
    Logfmt {
        strict: bool,
        keep_empty: bool,
        extractions: Vec<Extraction>,
    },
    Pattern(Pattern),
    Regexp(Regex),
    LabelFilter(LabelFilter),
    LineFormat(Template),
    LabelFormat(Vec<LabelFormat>),
    Drop(Vec<LabelSpec>),
    Keep(Vec<LabelSpec>),
    /// Strips ANSI colour escapes from the line.
    Decolorize,
    /// Promtail's packed lines: a JSON object's string values become
    /// labels and its `_entry` the line.
    Unpack,
}

impl Stage {
    /// Whether the stage reads or writes the line's text or labels other
    /// than the stream's (anything but nothing: every stage does).
    pub fn is_line_filter(&self) -> bool {
        matches!(self, Stage::LineFilter(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwrapConversion {
    /// The value as a float.
    Plain,
    /// `duration(x)` / `duration_seconds(x)`: a duration, in seconds.
    Duration,
    /// `bytes(x)`: a byte size.
    Bytes,
}

#[derive(Debug, Clone)]
pub struct Unwrap {
    pub label: String,
    pub conversion: UnwrapConversion,
    /// Label filters after the unwrap (`| __error__=""`).
    pub post_filters: Vec<LabelFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFn {
    CountOverTime,
    Rate,
    BytesOverTime,
    BytesRate,
    SumOverTime,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    FirstOverTime,
    LastOverTime,
    AbsentOverTime,
    /// `rate_counter`: unwrapped values read as a counter (resets
    /// allowed), extrapolated per second as Loki does.
    RateCounter,
}

impl RangeFn {
    pub const ALL: [RangeFn; 15] = [
        RangeFn::CountOverTime,
        RangeFn::Rate,
        RangeFn::BytesOverTime,
        RangeFn::BytesRate,
        RangeFn::SumOverTime,
        RangeFn::AvgOverTime,
        RangeFn::MinOverTime,
        RangeFn::MaxOverTime,
        RangeFn::StddevOverTime,
        RangeFn::StdvarOverTime,
        RangeFn::QuantileOverTime,
        RangeFn::FirstOverTime,
        RangeFn::LastOverTime,
        RangeFn::AbsentOverTime,
        RangeFn::RateCounter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RangeFn::CountOverTime => "count_over_time",
            RangeFn::Rate => "rate",
            RangeFn::BytesOverTime => "bytes_over_time",
            RangeFn::BytesRate => "bytes_rate",
            RangeFn::SumOverTime => "sum_over_time",
            RangeFn::AvgOverTime => "avg_over_time",
            RangeFn::MinOverTime => "min_over_time",
            RangeFn::MaxOverTime => "max_over_time",
            RangeFn::StddevOverTime => "stddev_over_time",
            RangeFn::StdvarOverTime => "stdvar_over_time",
            RangeFn::QuantileOverTime => "quantile_over_time",
            RangeFn::FirstOverTime => "first_over_time",
            RangeFn::LastOverTime => "last_over_time",
            RangeFn::AbsentOverTime => "absent_over_time",
            RangeFn::RateCounter => "rate_counter",
        }
    }

    pub fn from_name(name: &str) -> Option<RangeFn> {
        RangeFn::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the function reads unwrapped values (and needs `| unwrap`).
    pub fn needs_unwrap(self) -> bool {
        !matches!(
            self,
            RangeFn::CountOverTime
                | RangeFn::Rate
                | RangeFn::BytesOverTime
                | RangeFn::BytesRate
                | RangeFn::AbsentOverTime
        )
    }

    /// Whether the function may take an unwrap at all.
    pub fn allows_unwrap(self) -> bool {
        self.needs_unwrap() || self == RangeFn::Rate
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    By(Vec<String>),
    Without(Vec<String>),
}

/// `fn([param,] {selector} | pipeline [| unwrap x] [range] [offset o]) [by (…)]`.
#[derive(Debug, Clone)]
pub struct RangeAggregation {
    pub func: RangeFn,
    /// `quantile_over_time`'s φ.
    pub param: Option<f64>,
    pub selector: LogSelector,
    pub unwrap: Option<Unwrap>,
    pub range_ns: i64,
    pub offset_ns: i64,
    pub grouping: Option<Grouping>,
}
