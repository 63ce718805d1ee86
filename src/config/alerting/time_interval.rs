//! `time_intervals:`: named sets of periods (e.g. exam weeks, nights) that
//! routes mute or are active in. Compiled into `TimeInterval`
//! (`time_interval_periods.rs`), which the alerting dispatcher consults.

use serde::Deserialize;

use super::Invalid;
use super::time_interval_periods::TimeInterval;

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalSpec>,
}

/// One period: every given field must match (an absent field matches all).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpec {
    #[serde(default)]
    pub times: Vec<TimeRangeConfig>,
    /// `monday`, `monday:friday`.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// `1`, `1:5`, `-1` (last day), `-7:-1`.
    #[serde(default)]
    pub days_of_month: Vec<String>,
    /// `january`, `1:3`, `may:august`.
    #[serde(default)]
    pub months: Vec<String>,
    /// `2025`, `2025:2027`.
    #[serde(default)]
    pub years: Vec<String>,
    /// An IANA time zone name (`Europe/Berlin`) or `Local`; UTC when unset.
    #[serde(default)]
    pub location: Option<String>,
}

/// `start_time`/`end_time` as `HH:MM`, end exclusive, `24:00` allowed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeConfig {
    pub start_time: String,
    pub end_time: String,
}

impl TimeIntervalConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.name.is_empty() {
            return Err(Invalid::near(
                "time interval with empty name".into(),
                "time_intervals",
            ));
        }
        TimeInterval::compile(self)
            .map(|_| ())
            .map_err(|e| Invalid::near(format!("time interval {:?}: {e}", self.name), &self.name))
    }
}
