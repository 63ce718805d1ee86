//! The per-series label limits of a scrape job. Its own file because the
//! appender enforces them, the failure reports which one was hit and the
//! metrics count each by name: all three name the limit, none owns it.

/// The per-series label limits of a scrape job, named as in the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelLimit {
    Count,
    NameLength,
    ValueLength,
}

impl LabelLimit {
    pub const ALL: [LabelLimit; 3] = [LabelLimit::Count, LabelLimit::NameLength, LabelLimit::ValueLength];

    /// The config key, also the `limit` label of the counter.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelLimit::Count => "label_limit",
            LabelLimit::NameLength => "label_name_length_limit",
            LabelLimit::ValueLength => "label_value_length_limit",
        }
    }
}
