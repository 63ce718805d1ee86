//! The shared vocabulary every subsystem speaks: label sets, label matchers,
//! samples (floats and native histograms), timestamps, Go's regex syntax, Prometheus durations
//! and the rules for label and metric names. Nothing here knows about storage, HTTP or PromQL.

mod alert;
#[cfg(test)]
pub mod alert_recorder;
mod duration;
mod go_regex;
mod histogram;
mod labels;
mod login;
mod matcher;
mod matcher_syntax;
mod metric_type;
mod names;
mod packed_labels;
mod sample;
mod time;

pub use alert::{Alert, AlertChange, AlertHistorySink, AlertSink, AlertSource, RuleOverrideSink};
pub use duration::{DurationError, PromDuration};
pub use go_regex::{GoRegexError, compile_go_regex, compile_go_regex_anchored, translate_go_regex};
pub use histogram::{
    Bucket, CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, HistogramError, Span, upper_bound,
};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use login::{LoginEvent, LoginEventSink};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use matcher_syntax::{MatcherProblem, MatcherSyntaxError, matches_all, parse_matchers};
pub use metric_type::MetricType;
pub use names::{is_legacy_label_name, is_legacy_metric_name, is_utf8_label_name};
pub use packed_labels::PackedLabels;
pub use sample::{STALE_NAN, STALE_NAN_BITS, Sample, is_stale_nan, now_millis, now_seconds};
pub use time::{GO_ZERO_TIME, TimeParseError, parse_rfc3339, rfc3339, rfc3339_or_zero};
