//! The shared vocabulary every subsystem speaks: label sets, label matchers,
//! samples (floats and native histograms) and timestamps. Nothing here knows about storage, HTTP or PromQL.

mod alert;
mod histogram;
mod labels;
mod matcher;
mod packed_labels;
mod sample;

pub use alert::{Alert, AlertSink};
pub use histogram::{
    Bucket, CUSTOM_BUCKETS_SCHEMA, CounterResetHint, FloatHistogram, HistogramError, Span, upper_bound,
};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use packed_labels::PackedLabels;
pub use sample::{STALE_NAN, STALE_NAN_BITS, Sample, is_stale_nan, now_millis};
